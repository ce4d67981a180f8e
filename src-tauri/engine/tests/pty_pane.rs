//! Real PTYs: programs run in panes, their screens read back through the screen mirror.

use std::sync::mpsc;
use std::time::Duration;

use leapfrog_engine::pty::{
    AckMode, CoalesceConfig, Pane, PaneConfig, PaneEvent, PaneExit, PaneId, PaneSize, Panes,
    PtyError, Screen, SpawnSpec,
};

/// Generous: only there so a broken pane fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(30);

fn headless() -> PaneConfig {
    PaneConfig {
        ack: AckMode::OnDelivery,
        ..PaneConfig::default()
    }
}

fn spawn(panes: &Panes, spec: &SpawnSpec) -> (std::sync::Arc<Pane>, mpsc::Receiver<PaneEvent>) {
    let (tx, rx) = mpsc::channel();
    let pane = panes
        .spawn(spec, headless(), move |ev| {
            let _ = tx.send(ev);
        })
        .expect("spawn");
    (pane, rx)
}

/// Runs `argv` in a 10x40 pane, types `input`, waits for the exit and compares the
/// mirrored screen text and cursor.
fn check(argv: &[&str], input: &str, expect_text: &str, expect_cursor: (u16, u16)) {
    let panes = Panes::new();
    let spec = SpawnSpec::new(argv[0])
        .args(&argv[1..])
        .size(PaneSize::new(10, 40));
    let (pane, events) = spawn(&panes, &spec);
    if !input.is_empty() {
        pane.write(input.as_bytes()).expect("write");
    }
    let exit = pane
        .wait_exit(PATIENCE)
        .unwrap_or_else(|| panic!("{argv:?} did not exit; screen:\n{}", pane.screen_text()));
    assert!(exit.success(), "{argv:?} exited with {exit:?}");
    let screen = pane.screen_contents();
    assert_eq!(
        (screen.text().as_str(), screen.cursor),
        (expect_text, expect_cursor),
        "screen of {argv:?} with input {input:?}"
    );
    // The sink saw every byte, then the exit, once, last.
    let events: Vec<PaneEvent> = events.try_iter().collect();
    assert_eq!(events.last(), Some(&PaneEvent::Exit(exit)));
    let outputs = events
        .iter()
        .filter(|e| matches!(e, PaneEvent::Output(_)))
        .count();
    assert_eq!(outputs, events.len() - 1, "exactly one exit event, last");
    let delivered: usize = events
        .iter()
        .map(|e| match e {
            PaneEvent::Output(f) => f.len(),
            PaneEvent::Exit(_) => 0,
        })
        .sum();
    assert_eq!(delivered as u64, pane.stats().bytes_read);
}

#[test]
fn programs_show_on_the_mirrored_screen() {
    check(&["printf", "hello\\nworld"], "", "hello\nworld", (1, 5));
    check(&["sh", "-c", "printf 'abc\\rX'"], "", "Xbc", (0, 1));
    check(
        &["sh", "-c", "printf '\\033[2J\\033[3;5Hmid\\033[1;1Htop'"],
        "",
        "top\n\n    mid",
        (0, 3),
    );
    check(
        &["sh", "-c", "printf '%045d' 0"],
        "",
        &format!("{}\n00000", "0".repeat(40)),
        (1, 5),
    );
    // Synchronized-output markers are invisible.
    check(
        &["sh", "-c", "printf '\\033[?2026hsynced\\033[?2026l'"],
        "",
        "synced",
        (0, 6),
    );
    // A UTF-8 character split across reads (and frames) is still one character.
    check(
        &[
            "sh",
            "-c",
            "printf 'caf\\303'; sleep 0.1; printf '\\251 ok'",
        ],
        "",
        "café ok",
        (0, 7),
    );
    // Typed input: the line discipline echoes it, the program answers.
    check(&["cat"], "typed\n\x04", "typed\ntyped", (2, 0));
    check(
        &["sh", "-c", "read name; echo \"hi $name\""],
        "Ada\n",
        "Ada\nhi Ada",
        (2, 0),
    );
    check(
        &["sh", "-c", "echo $TERM $COLORTERM $EXTRA"],
        "",
        "xterm-256color truecolor",
        (1, 0),
    );
}

#[test]
fn snapshots_report_alternate_screen_and_hidden_cursor() {
    let panes = Panes::new();
    let spec = SpawnSpec::new("sh").args([
        "-c",
        "printf 'main'; printf '\\033[?1049h\\033[?25l\\033[2;3HALT'; read x",
    ]);
    let (pane, _events) = spawn(&panes, &spec);
    assert!(pane.wait_for_screen(PATIENCE, |s| s.contents().contains("ALT")));
    let snap = pane.screen_contents();
    assert_eq!(
        (
            snap.text().as_str(),
            snap.cursor,
            snap.alternate_screen,
            snap.cursor_hidden
        ),
        ("\n  ALT", (1, 5), true, true)
    );
    assert_eq!(pane.cursor_position(), (1, 5));
    assert_eq!(snap.lines.len(), 24);
    pane.write(b"\n").unwrap();
    assert!(pane.wait_exit(PATIENCE).expect("exit").success());
    // The screen of an exited pane is final: waiting for something else ends at once.
    assert!(!pane.wait_for_screen(PATIENCE, |s| s.contents().contains("never shown")));
}

#[test]
fn spawn_spec_env_and_cwd_reach_the_child() {
    let dir = tempfile::tempdir().unwrap();
    let panes = Panes::new();
    let spec = SpawnSpec::new("sh")
        .args(["-c", "echo \"$EXTRA\"; pwd"])
        .env("EXTRA", "from the spec")
        .cwd(dir.path());
    let (pane, _events) = spawn(&panes, &spec);
    assert!(pane.wait_exit(PATIENCE).expect("exit").success());
    let cwd = dir.path().canonicalize().unwrap();
    assert_eq!(
        pane.screen_text(),
        format!("from the spec\n{}", cwd.display())
    );
}

#[test]
fn stty_size_follows_resize() {
    let panes = Panes::new();
    let spec = SpawnSpec::new("sh")
        .args(["-c", "stty size; read x; stty size"])
        .size(PaneSize::new(24, 80));
    let (pane, _events) = spawn(&panes, &spec);
    assert!(
        pane.wait_for_screen(PATIENCE, |s| s.contents().contains("24 80")),
        "first stty size; screen:\n{}",
        pane.screen_text()
    );
    pane.resize(PaneSize::new(40, 120)).unwrap();
    assert_eq!(pane.size(), PaneSize::new(40, 120));
    pane.write(b"\n").unwrap();
    assert!(pane.wait_exit(PATIENCE).expect("exit").success());
    let screen = pane.screen_contents();
    assert_eq!(screen.size, PaneSize::new(40, 120));
    assert_eq!(screen.text(), "24 80\n\n40 120");
}

#[test]
fn exit_codes_and_kill_are_reported() {
    for (argv, code) in [
        (["sh", "-c", "exit 0"], 0),
        (["sh", "-c", "exit 3"], 3),
        (["sh", "-c", "kill -TERM $$"], 1),
    ] {
        let panes = Panes::new();
        let (pane, events) = spawn(&panes, &SpawnSpec::new(argv[0]).args(&argv[1..]));
        let exit = pane.wait_exit(PATIENCE).expect("exit");
        assert_eq!(exit.code, code, "{argv:?}: {exit:?}");
        let last = events.try_iter().last();
        assert_eq!(last, Some(PaneEvent::Exit(exit)));
    }

    let panes = Panes::new();
    let (pane, events) = spawn(&panes, &SpawnSpec::new("sleep").arg("1000"));
    panes.kill(pane.id()).unwrap();
    let exit = pane.wait_exit(PATIENCE).expect("killed pane exits");
    assert!(exit.signal.is_some(), "killed by a signal: {exit:?}");
    assert!(!exit.success());
    assert_eq!(events.try_iter().last(), Some(PaneEvent::Exit(exit)));
    // Killing again is harmless.
    pane.kill().unwrap();

    // A process group that ignores the hangup is killed after the grace period,
    // background jobs included (they hold the PTY open).
    let config = PaneConfig {
        kill_grace: Duration::from_millis(100),
        ..headless()
    };
    let spec = SpawnSpec::new("sh").args(["-c", "trap '' HUP; sleep 1000 & echo started; wait"]);
    let (tx, rx) = mpsc::channel();
    let pane = panes
        .spawn(&spec, config, move |ev| {
            let _ = tx.send(ev);
        })
        .unwrap();
    assert!(pane.wait_for_screen(PATIENCE, |s| s.contents().contains("started")));
    pane.kill().unwrap();
    let exit = pane.wait_exit(PATIENCE).expect("stubborn pane exits");
    assert!(exit.signal.is_some(), "killed by a signal: {exit:?}");
    assert_eq!(rx.try_iter().last(), Some(PaneEvent::Exit(exit)));
}

#[test]
fn ctrl_c_interrupts_yes_and_the_prompt_returns() {
    let panes = Panes::new();
    let spec = SpawnSpec::new("bash")
        .args(["--norc", "--noprofile", "-i"])
        .env("PS1", "READY$ ");
    let (pane, _events) = spawn(&panes, &spec);
    let last_line_is_prompt = |s: &leapfrog_engine::pty::Screen| {
        s.contents()
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.trim_end() == "READY$")
    };
    assert!(pane.wait_for_screen(PATIENCE, last_line_is_prompt));
    pane.write(b"yes\r").unwrap();
    assert!(
        pane.wait_for_screen(PATIENCE, |s| s.contents().matches("y\n").count() > 5),
        "yes floods the screen"
    );
    pane.write(&[0x03]).unwrap();
    assert!(
        pane.wait_for_screen(PATIENCE, last_line_is_prompt),
        "prompt after Ctrl+C; screen:\n{}",
        pane.screen_text()
    );
    pane.write(b"echo done-$((6*7))\r").unwrap();
    assert!(pane.wait_for_screen(PATIENCE, |s| s.contents().contains("\ndone-42")));
    pane.write(b"exit 5\r").unwrap();
    assert_eq!(pane.wait_exit(PATIENCE).expect("exit").code, 5);
}

#[test]
fn a_synchronized_frame_reaches_the_sink_as_one_frame() {
    let panes = Panes::new();
    let config = PaneConfig {
        ack: AckMode::OnDelivery,
        coalesce: CoalesceConfig {
            // Far longer than the pause below, which is far longer than the linger.
            sync_timeout: Duration::from_secs(60),
            ..CoalesceConfig::default()
        },
        ..PaneConfig::default()
    };
    let (tx, rx) = mpsc::channel();
    let spec = SpawnSpec::new("sh").args([
        "-c",
        "printf 'before\\n'; sleep 0.3; printf '\\033[?2026hpart1 '; sleep 0.3; printf 'part2\\033[?2026l'; sleep 0.3; printf ' after'",
    ]);
    let pane = panes
        .spawn(&spec, config, move |ev| {
            let _ = tx.send(ev);
        })
        .unwrap();
    pane.wait_exit(PATIENCE).expect("exit");
    let frames: Vec<String> = rx
        .try_iter()
        .filter_map(|e| match e {
            PaneEvent::Output(f) => Some(String::from_utf8_lossy(&f).into_owned()),
            PaneEvent::Exit(_) => None,
        })
        .collect();
    let whole = "\x1b[?2026hpart1 part2\x1b[?2026l";
    assert!(
        frames.iter().any(|f| f.contains(whole)),
        "the frame arrived whole: {frames:?}"
    );
    assert_eq!(frames.concat(), format!("before\r\n{whole} after"));
    assert_eq!(pane.screen_text(), "before\npart1 part2 after");
}

#[test]
fn a_synchronized_frame_that_never_ends_still_reaches_the_screen() {
    let panes = Panes::new();
    let config = PaneConfig {
        ack: AckMode::OnDelivery,
        coalesce: CoalesceConfig {
            sync_timeout: Duration::from_millis(100),
            ..CoalesceConfig::default()
        },
        ..PaneConfig::default()
    };
    // The frame is never ended and nothing follows it while the child lives.
    let spec =
        SpawnSpec::new("sh").args(["-c", "printf 'before\\n\\033[?2026hstuck frame'; read x"]);
    let started = std::time::Instant::now();
    let pane = panes.spawn(&spec, config, |_: PaneEvent| {}).unwrap();
    assert!(
        pane.wait_for_screen(PATIENCE, |s| s.contents().contains("stuck frame")),
        "screen: {}",
        pane.screen_text()
    );
    // Held by the coalescer, then by the mirror, each for about its sync timeout, not longer.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(pane.screen_text(), "before\nstuck frame");
    // A snapshot draws it too, and stands for every byte delivered.
    let snap = pane
        .formatted_screen(100, PATIENCE)
        .expect("the mirror caught up");
    assert_eq!(snap.position, pane.stats().bytes_delivered);
    let mut replay = Screen::new(snap.size, 100).unwrap();
    replay.process(&snap.bytes);
    assert_eq!(replay.contents(), "before\nstuck frame");
    pane.write(b"\n").unwrap();
    assert!(pane.wait_exit(PATIENCE).expect("exit").success());
}

#[test]
fn unknown_panes_and_bad_specs_are_errors() {
    let panes = Panes::new();
    let ghost = PaneId(42);
    let errors = [
        panes.write(ghost, b"x").unwrap_err(),
        panes.resize(ghost, PaneSize::new(10, 10)).unwrap_err(),
        panes.ack(ghost, 10).unwrap_err(),
        panes.kill(ghost).unwrap_err(),
        panes.remove(ghost).map(|_| ()).unwrap_err(),
        panes.get(ghost).map(|_| ()).unwrap_err(),
    ];
    for e in errors {
        assert!(matches!(e, PtyError::UnknownPane(PaneId(42))), "{e:?}");
        assert_eq!(e.to_string(), "no pane with id 42");
    }

    // A removed pane is gone.
    let (pane, _events) = spawn(&panes, &SpawnSpec::new("sleep").arg("1000"));
    let id = pane.id();
    assert_eq!(panes.ids(), vec![id]);
    panes.remove(id).unwrap();
    assert!(matches!(
        panes.write(id, b"x"),
        Err(PtyError::UnknownPane(_))
    ));
    assert!(
        pane.wait_exit(PATIENCE).is_some(),
        "removal kills the child"
    );
    assert!(panes.ids().is_empty());

    let bad = [
        (
            SpawnSpec::new("/no/such/program-leapfrog"),
            "cannot start `/no/such/program-leapfrog` in a terminal",
        ),
        (
            SpawnSpec::new(" "),
            "cannot start ` ` in a terminal: no program given",
        ),
        (
            SpawnSpec::new("sh").cwd("/no/such/dir"),
            "cannot start `sh` in a terminal: working directory /no/such/dir is not a directory",
        ),
        (
            SpawnSpec::new("sh").size(PaneSize::new(0, 80)),
            "invalid terminal size 0x80: rows and columns must be at least 1",
        ),
    ];
    for (spec, message) in bad {
        let err = panes
            .spawn(&spec, headless(), |_| {})
            .map(|_| ())
            .unwrap_err();
        assert!(err.to_string().starts_with(message), "{spec:?}: {err}");
    }
    let (pane, _events) = spawn(&panes, &SpawnSpec::new("sleep").arg("1000"));
    assert!(matches!(
        pane.resize(PaneSize::new(5, 0)),
        Err(PtyError::InvalidSize { rows: 5, cols: 0 })
    ));
    pane.kill().unwrap();
}

#[test]
fn login_shell_uses_shell_env_or_bash() {
    let spec = SpawnSpec::login_shell();
    let expected = std::env::var("SHELL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "/bin/bash".into());
    assert_eq!(spec.program, expected);
    assert_eq!(spec.args, vec!["-l".to_string()]);
    let panes = Panes::new();
    let (pane, _events) = spawn(&panes, &spec);
    pane.write(b"echo lf-$((20+22))\r").unwrap();
    assert!(
        pane.wait_for_screen(PATIENCE, |s| s.contents().contains("\nlf-42")),
        "login shell runs commands; screen:\n{}",
        pane.screen_text()
    );
    pane.write(b"exit 7\r").unwrap();
    assert_eq!(
        pane.wait_exit(PATIENCE),
        Some(PaneExit {
            code: 7,
            signal: None
        })
    );
}

/// A large paste to a program that does not read its input yet never blocks the caller (the UI
/// thread, the orchestrator's loop): the pane's writer thread holds it, and the program gets all
/// of it, in order, once it reads.
#[test]
fn a_large_paste_to_a_program_not_reading_yet_returns_at_once_and_arrives_whole() {
    let panes = Panes::new();
    // Raw mode (no line discipline limits), then wait for a "go" file before reading anything.
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let script = format!(
        "stty raw -echo; echo READY; while [ ! -e {go} ]; do sleep 0.05; done; head -c 4194305 | wc -c; read x",
        go = go.display()
    );
    let spec = SpawnSpec::new("sh")
        .args(["-c", &script])
        .size(PaneSize::new(5, 40));
    let (pane, _events) = spawn(&panes, &spec);
    // Raw and silent before anything is written.
    assert!(pane.wait_for_screen(PATIENCE, |s| s.contents().contains("READY")));
    // 4 MiB in 64 KiB writes, then one byte: the writes return while nothing is read.
    let (tx, rx) = mpsc::channel();
    let writer = pane.clone();
    std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 << 10];
        for _ in 0..64 {
            writer.write(&chunk).expect("queued");
        }
        writer.write(b"!").expect("queued");
        let _ = tx.send(writer.input_backlog());
    });
    let backlog = rx
        .recv_timeout(PATIENCE)
        .expect("the writes blocked on a program that does not read");
    assert!(backlog > 0, "the program read before it was let go");
    std::fs::write(&go, "").unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    while !pane.screen_text().contains("4194305") {
        assert!(
            std::time::Instant::now() < deadline,
            "the paste did not arrive whole; screen:\n{}",
            pane.screen_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(pane.input_backlog(), 0);
    pane.kill().unwrap();
}

#[test]
fn input_past_the_bound_is_refused_in_words_and_a_closed_program_says_so() {
    use leapfrog_engine::pty::MAX_QUEUED_INPUT;
    let panes = Panes::new();
    let spec = SpawnSpec::new("sh")
        .args(["-c", "stty raw -echo; echo READY; sleep 30"])
        .size(PaneSize::new(5, 40));
    let (pane, _events) = spawn(&panes, &spec);
    assert!(pane.wait_for_screen(PATIENCE, |s| s.contents().contains("READY")));
    let chunk = vec![b'y'; 1 << 20];
    let mut refused = None;
    for _ in 0..(MAX_QUEUED_INPUT >> 20) + 2 {
        if let Err(e) = pane.write(&chunk) {
            refused = Some(e.to_string());
            break;
        }
    }
    let e = refused.expect("more than the bound was queued");
    assert!(e.contains("has not read the last"), "{e}");
    pane.kill().unwrap();
    pane.wait_exit(PATIENCE).expect("exit");
    // A program that has exited: a write says so once the writer thread finds it gone.
    let spec = SpawnSpec::new("true").size(PaneSize::new(5, 40));
    let (gone, _events) = spawn(&panes, &spec);
    gone.wait_exit(PATIENCE).expect("exit");
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        match gone.write(b"z") {
            Err(e) if e.to_string().contains("no longer reads its input") => break,
            other => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "writes to a program that exited kept going: {other:?}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}
