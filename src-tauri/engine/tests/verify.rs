//! The verify runner on real commands in real PTYs.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use leapfrog_engine::pty::Panes;
use leapfrog_engine::verify::{run_verify, spawn_verify, VerifySpec};

fn spec(dir: &std::path::Path, command: &str) -> VerifySpec {
    VerifySpec {
        command: command.into(),
        cwd: dir.to_path_buf(),
        env: vec![("VERIFY_WORD".into(), "hello".into())],
        log: None,
    }
}

#[test]
fn verdicts_codes_and_output() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("verify.sh"), "echo checking; test -f ok\n").unwrap();
    // (command, passed, exit code, last line of output)
    let cases: &[(&str, bool, u32, &str)] = &[
        ("true", true, 0, ""),
        ("echo all good", true, 0, "all good"),
        ("echo broken >&2; exit 3", false, 3, "broken"),
        ("sh verify.sh", false, 1, "checking"),
        ("touch ok && sh verify.sh", true, 0, "checking"),
        ("printf '\\033[32mgreen\\033[0m\\n'", true, 0, "green"),
        ("echo $VERIFY_WORD; false", false, 1, "hello"),
        ("no-such-command-xyz", false, 127, "not found"),
    ];
    for (command, passed, code, last) in cases {
        let o = run_verify(&spec(tmp.path(), command)).unwrap();
        assert_eq!((o.passed, o.code), (*passed, *code), "{command}: {o:?}");
        assert_eq!(o.verdict(), if *passed { "PASSED" } else { "FAILED" });
        let got = o
            .tail
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .cloned()
            .unwrap_or_default();
        assert!(
            got.contains(last),
            "{command}: last line {got:?}, tail {:?}",
            o.tail
        );
    }
}

#[test]
fn lines_stream_before_the_command_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let panes = Panes::new();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (first_tx, first_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let (go_path, seen) = (tmp.path().join("go"), lines.clone());
    // The command prints a line, then waits for the test to create `go`.
    let id = spawn_verify(
        &panes,
        &spec(
            tmp.path(),
            "echo first; while [ ! -e go ]; do sleep 0.05; done; echo second",
        ),
        move |line| {
            if line.contains("first") {
                let _ = first_tx.send(());
            }
            seen.lock().unwrap().push(line);
        },
        move |o| {
            let _ = done_tx.send(o);
        },
    )
    .unwrap();
    assert!(panes.get(id).is_ok(), "the verify pane is in the registry");
    first_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("first line streamed");
    assert!(
        done_rx.try_recv().is_err(),
        "done before the command could end"
    );
    std::fs::write(&go_path, "").unwrap();
    let o = done_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(o.passed, "{o:?}");
    let lines = lines.lock().unwrap().clone();
    let text: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(text, vec!["first", "second"]);
}

#[test]
fn an_empty_command_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let err = run_verify(&spec(tmp.path(), "  ")).unwrap_err();
    assert_eq!(err, "the project has no verify command");
}

/// A verify that prints 12 MB (6 million lines, like `yes | head -c 12M`): at most a paced
/// number of lines reach the listener, with a count of the rest naming the log; the log holds the
/// whole output in at most two rotated parts; the tail and the verdict are right.
#[test]
fn a_flood_of_output_is_paced_logged_in_rotated_parts_and_the_verdict_kept() {
    use leapfrog_engine::verify::{LOG_ROTATE_BYTES, PACE_LINES, PACE_WINDOW};
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("run/verify.log");
    let mut spec = spec(tmp.path(), "yes | head -c 12000000; echo last line; exit 4");
    spec.log = Some(log.clone());
    let panes = Panes::new();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let (tx, rx) = mpsc::channel();
    let seen = lines.clone();
    let started = std::time::Instant::now();
    spawn_verify(
        &panes,
        &spec,
        move |l| seen.lock().unwrap().push(l),
        move |o| tx.send(o).unwrap(),
    )
    .unwrap();
    let o = rx.recv_timeout(Duration::from_secs(600)).unwrap();
    let took = started.elapsed();
    assert!(!o.passed);
    assert_eq!(o.code, 4);
    assert_eq!(o.tail.last().map(|l| l.trim_end()), Some("last line"));
    let lines = lines.lock().unwrap();
    // Paced: never more than the budget of the windows the run lasted (plus the count lines).
    let windows = (took.as_millis() / PACE_WINDOW.as_millis()) as usize + 1;
    assert!(
        lines.len() <= windows * PACE_LINES + 1,
        "{} lines in {took:?}",
        lines.len()
    );
    let held: u64 = lines
        .iter()
        .filter(|l| l.starts_with("… "))
        .map(|l| {
            assert!(l.contains(&log.display().to_string()), "{l}");
            l[4..].split(' ').next().unwrap().parse::<u64>().unwrap()
        })
        .sum();
    let shown = lines.iter().filter(|l| !l.starts_with("… ")).count() as u64;
    assert_eq!(shown + held, 6_000_001, "every line is shown or counted");
    // The log: this part and the one before it, each within the cap, ending with the last line.
    let part = std::fs::metadata(&log).unwrap().len();
    let older = std::fs::metadata(tmp.path().join("run/verify.log.1"))
        .unwrap()
        .len();
    assert!(
        part <= LOG_ROTATE_BYTES && older <= LOG_ROTATE_BYTES,
        "{part} {older}"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.ends_with("last line\n"),
        "{:?}",
        &text[text.len().saturating_sub(40)..]
    );
    assert!(text.lines().all(|l| l == "y" || l == "last line"));
}

/// A new verify starts a new log: the last run's parts are gone.
#[test]
fn each_verify_starts_its_log_afresh() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("verify.log");
    std::fs::write(&log, "old run\n").unwrap();
    std::fs::write(tmp.path().join("verify.log.1"), "older run\n").unwrap();
    let mut spec = spec(tmp.path(), "echo new run");
    spec.log = Some(log.clone());
    assert!(run_verify(&spec).unwrap().passed);
    assert_eq!(std::fs::read_to_string(&log).unwrap().trim_end(), "new run");
    assert!(!tmp.path().join("verify.log.1").exists());
}
