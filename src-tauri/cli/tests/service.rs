//! `leap serve` as a process: `leap run` starts it detached and follows a run in it; the run
//! outlives a `kill -9` of its client; a `kill -9` of the service itself is reconciled by the
//! next one, with no phase marked done or failed. Real `leap demo-agent` processes in real PTYs,
//! a real sled store in a temp dir.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use std::time::{Duration, Instant};

use leapfrog_engine::model::{PhaseKind, PhaseOutcome, PhaseRun};
use leapfrog_engine::orchestrator::EngineEvent;
use leapfrog_engine::scheduler::PhaseId;
use serde_json::Value;
use support::*;

/// `leap ARGS` with the project's data and runtime folders, outside any agent.
fn leap(p: &Project, args: &[&str]) -> Command {
    let mut c = Command::new(LEAP);
    c.args(args)
        .env("LEAPFROG_DATA_DIR", &p.data)
        .env("LEAPFROG_RUNTIME_DIR", &p.runtime)
        .env_remove("LEAPFROG_SOCKET")
        .env_remove("LEAPFROG_TOKEN")
        .env_remove("LEAPFROG_AGENT");
    c
}

/// `leap run DIR` in the service (no --headless).
fn leap_run_in_service(p: &Project, extra: &[&str]) -> Command {
    let mut c = leap(p, &["run"]);
    c.arg(&p.dir)
        .args(["--timeout", &PATIENCE.as_secs().to_string()])
        .args(extra);
    c
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stops the project's service when the test ends, however it ends.
struct StopService<'a>(&'a Project);

impl Drop for StopService<'_> {
    fn drop(&mut self) {
        let _ = leap(self.0, &["serve", "--stop"]).output();
    }
}

/// Starts `leap run DIR --events` in the service and reads its stderr until build(1) is
/// dispatched; returns the client, the service's pid (from its first line) and the rest of its
/// stderr once it ends.
fn run_until_build_1(p: &Project) -> (Child, u32, std::thread::JoinHandle<String>) {
    let mut child = leap_run_in_service(p, &["--events"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let started = Instant::now();
    let mut pid = None;
    while let Some(line) = stderr.next() {
        let line = line.unwrap();
        if let Some(rest) = line.split("Leapfrog service (pid ").nth(1) {
            pid = rest.split(')').next().and_then(|n| n.parse().ok());
        }
        if let Ok(EngineEvent::PhaseDispatched {
            phase: PhaseId::Build { batch: 1 },
            ..
        }) = serde_json::from_str::<EngineEvent>(&line)
        {
            let rest = std::thread::spawn(move || {
                stderr.map_while(Result::ok).collect::<Vec<_>>().join("\n")
            });
            return (
                child,
                pid.expect("leap run names the service's pid first"),
                rest,
            );
        }
        if started.elapsed() > PATIENCE {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("leap run ended, or took too long, before build(1) was dispatched");
}

fn service_projects(p: &Project) -> Vec<Value> {
    let out = ok(leap(p, &["serve", "--status", "--json"]).output().unwrap());
    serde_json::from_str::<Vec<Value>>(&out).unwrap()
}

fn builds_of_batch_1(runs: &[PhaseRun]) -> Vec<&PhaseRun> {
    runs.iter()
        .filter(|r| r.kind == PhaseKind::Build && r.batch == Some(1))
        .collect()
}

fn wait_gone(pid: u32) {
    let deadline = Instant::now() + PATIENCE;
    while Path::new(&format!("/proc/{pid}")).exists() {
        // A zombie (reaped by its parent's reaper thread, or by init) counts as gone.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.split(") ").nth(1).is_some_and(|s| s.starts_with('Z')) {
            return;
        }
        assert!(Instant::now() < deadline, "process {pid} never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_run_in_the_service_outlives_a_killed_client_and_is_followed_again() {
    // A slow builder, so that the run is surely in progress when its client dies.
    let p = demo(2, 8.0, 0.5);
    let _stop = StopService(&p);
    let (mut client, pid, _) = run_until_build_1(&p);
    client.kill().unwrap();
    client.wait().unwrap();

    // The run goes on in the service, which `leap status` finds from the project's folder.
    let projects = service_projects(&p);
    assert_eq!(projects.len(), 1, "{projects:?}");
    assert_eq!(projects[0]["running"], true);
    let status = ok(leap(&p, &["status", "--json"])
        .current_dir(&p.dir)
        .output()
        .unwrap());
    assert!(status.contains("builder"), "{status}");

    // `leap run` again follows the same run to its end, in the same service.
    let o = leap_run_in_service(&p, &["--json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let summary: Value = serde_json::from_str(&ok(o)).unwrap();
    assert!(stderr.contains(&format!("(pid {pid})")), "{stderr}");
    assert_eq!(summary["batches"], 2, "{summary:#}");
    let projects = service_projects(&p);
    assert_eq!(projects[0]["finished"], true, "{projects:?}");

    ok(leap(&p, &["serve", "--stop"]).output().unwrap());
    assert!(!p.runtime.join("service.sock").exists());
    // Nothing was interrupted: one build of batch 1, passed, and no run cancelled.
    let runs = runs_in_store(&p);
    let builds = builds_of_batch_1(&runs);
    assert_eq!(builds.len(), 1, "{builds:#?}");
    assert_eq!(builds[0].outcome, PhaseOutcome::Passed);
    assert!(
        runs.iter().all(|r| r.outcome == PhaseOutcome::Passed),
        "{runs:#?}"
    );
}

#[test]
fn a_killed_service_is_reconciled_by_the_next_one_without_marking_phases_done() {
    let p = demo(2, 8.0, 0.5);
    let _stop = StopService(&p);
    let (mut client, pid, rest) = run_until_build_1(&p);
    // SAFETY: kill(2) on the service's pid.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    wait_gone(pid);
    // The client says in words that the service is gone.
    assert!(!client.wait().unwrap().success());
    let stderr = rest.join().unwrap();
    assert!(stderr.contains("the Leapfrog service stopped"), "{stderr}");
    // A git commit cut off by the kill may leave its lock behind, as after any crash.
    std::thread::sleep(Duration::from_millis(500));
    let _ = std::fs::remove_file(p.dir.join(".git/index.lock"));

    let before = runs_in_store(&p);
    let interrupted: Vec<&PhaseRun> = before
        .iter()
        .filter(|r| r.outcome == PhaseOutcome::Running)
        .collect();
    assert!(
        interrupted
            .iter()
            .any(|r| r.kind == PhaseKind::Build && r.batch == Some(1)),
        "build(1) should be recorded running: {before:#?}"
    );

    // `leap run` starts a new service, which reconciles the run and finishes it.
    let o = leap_run_in_service(&p, &["--json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    ok(o);
    assert!(!stderr.contains(&format!("(pid {pid})")), "{stderr}");
    // `leap serve --stop` returns once the service has exited, its store free.
    ok(leap(&p, &["serve", "--stop"]).output().unwrap());
    assert!(!p.runtime.join("service.sock").exists());
    let after = runs_in_store(&p);
    for old in &interrupted {
        let now = after.iter().find(|r| r.id == old.id).unwrap();
        assert_eq!(now.outcome, PhaseOutcome::Cancelled, "{now:?}");
    }
    let builds = builds_of_batch_1(&after);
    assert_eq!(builds.len(), 2, "{builds:#?}");
    assert_eq!(builds[1].outcome, PhaseOutcome::Passed, "{builds:#?}");
}

/// A project the service runs whose first agent prints a marker, then copies what it is typed.
fn echo_project(p: &Project) -> std::path::PathBuf {
    one_agent_project(
        p,
        "echo",
        "echoer",
        "sh -c 'seq 1 300 | sed s/^/history-/; echo READY-MARKER; stty -echo; exec cat'",
    )
}

/// A project named `name` whose first agent, `agent`, runs `command` (the builder reads its
/// input silently).
fn one_agent_project(p: &Project, name: &str, agent: &str, command: &str) -> std::path::PathBuf {
    let dir = p._tmp.path().join(name);
    std::fs::create_dir_all(dir.join(".leapfrog")).unwrap();
    std::fs::write(
        dir.join("TICKETS.md"),
        "# Tickets\n\n## Batch 1: One\n\n### T-001: First\n- **Status:** todo\n",
    )
    .unwrap();
    let config = serde_json::json!({
        "name": name,
        "pattern": "leapfrog",
        "agents": [
            {"id": agent, "cli": "custom", "roles": ["design", "review"], "command": command},
            {"id": "builder", "cli": "custom", "roles": ["build", "fix"],
             "command": "sh -c 'stty -echo; exec cat >/dev/null'"}
        ]
    });
    std::fs::write(
        dir.join(".leapfrog/project.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    dir
}

/// `leap attach` in a terminal of its own (24×80), whose screen a thread draws from what it
/// reads while `reading` is set.
struct Attached {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn std::io::Write + Send>,
    screen: Arc<Mutex<vt100::Parser>>,
    reading: Arc<AtomicBool>,
    /// Keeps the terminal open.
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Attached {
    /// Waits until the terminal's screen shows `what`.
    fn wait_for(&self, what: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = self.screen.lock().unwrap().screen().contents();
            if text.contains(what) {
                return;
            }
            assert!(Instant::now() < deadline, "never showed {what:?}:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Ctrl+\: detaches; `leap attach` ends, the agent goes on.
    fn detach(&mut self) {
        self.writer.write_all(&[0x1c]).unwrap();
        self.writer.flush().unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}");
    }
}

/// `leap attach AGENT --scrollback N` in a terminal of its own, in the project folder `dir`.
fn attach_in_a_terminal(p: &Project, dir: &Path, agent: &str, scrollback: usize) -> Attached {
    use portable_pty::{native_pty_system, CommandBuilder, PtySize};
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(LEAP);
    cmd.args(["attach", agent, "--scrollback", &scrollback.to_string()]);
    cmd.cwd(dir);
    for k in ["LEAPFROG_SOCKET", "LEAPFROG_TOKEN", "LEAPFROG_AGENT"] {
        cmd.env_remove(k);
    }
    cmd.env("LEAPFROG_DATA_DIR", &p.data);
    cmd.env("LEAPFROG_RUNTIME_DIR", &p.runtime);
    let child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let screen = Arc::new(Mutex::new(vt100::Parser::new(
        std::num::NonZeroU16::new(24).unwrap(),
        std::num::NonZeroU16::new(80).unwrap(),
        1000,
    )));
    let reading = Arc::new(AtomicBool::new(true));
    {
        let (screen, reading) = (screen.clone(), reading.clone());
        let mut reader = pair.master.try_clone_reader().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                while !reading.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => screen.lock().unwrap().process(&buf[..n]),
                }
            }
        });
    }
    Attached {
        child,
        writer: pair.master.take_writer().unwrap(),
        screen,
        reading,
        _master: pair.master,
    }
}

#[test]
fn leap_attach_shows_an_agents_screen_types_into_it_and_detaches_leaving_it_running() {
    let p = demo(1, 8.0, 8.0);
    let _stop = StopService(&p);
    let dir = echo_project(&p);
    let out = ok(leap(&p, &["run", "--detach", "--trust"])
        .arg(&dir)
        .output()
        .unwrap());
    assert!(out.contains("runs in the Leapfrog service"), "{out}");

    let mut attached = attach_in_a_terminal(&p, &dir, "echoer", 500);
    // The agent's screen, drawn from the service's mirror.
    attached.wait_for("READY-MARKER");
    // Typing reaches the agent, whose copy comes back as its output.
    attached
        .writer
        .write_all(b"typed-through-attach\r")
        .unwrap();
    attached.writer.flush().unwrap();
    attached.wait_for("typed-through-attach");
    // Ctrl+\ detaches: the command ends, the agent goes on.
    attached.detach();
    attached.wait_for("detached from echoer");
    let projects = service_projects(&p);
    let echo = projects
        .iter()
        .find(|x| x["project"].as_str().is_some_and(|d| d.ends_with("/echo")))
        .expect("the echo project");
    assert_eq!(echo["running"], true, "{projects:?}");

    // An agent the project has not is refused in words.
    let o = leap(&p, &["attach", "nobody"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("has no agent \"nobody\""), "{err}");
}

/// `leap attach` in a terminal that stops reading while the agent floods (a slow terminal, or
/// one whose output is paused): what `leap attach` holds stays bounded, and once the terminal
/// reads again it shows the agent's last screen, not the backlog.
#[test]
fn leap_attach_in_a_terminal_that_falls_behind_a_flood_stays_bounded_and_ends_on_the_last_screen() {
    /// About 40 MB: ten times what a client queues for its consumer.
    const LINES: u32 = 1_000_000;
    let p = demo(1, 8.0, 8.0);
    let _stop = StopService(&p);
    let dir = one_agent_project(
        &p,
        "flood",
        "flooder",
        &format!(
            "sh -c 'echo READY-MARKER; while [ ! -e go ]; do sleep 0.05; done; \
             yes \"flood line: the quick brown fox\" | head -n {LINES} | cat -n; \
             echo FLOOD-DONE; touch flood-done; stty -echo; exec cat >/dev/null'"
        ),
    );
    ok(leap(&p, &["run", "--detach", "--trust"])
        .arg(&dir)
        .output()
        .unwrap());
    let mut attached = attach_in_a_terminal(&p, &dir, "flooder", 100);
    attached.wait_for("READY-MARKER");
    // The terminal stops reading once the screen has stopped coming; then the agent floods.
    std::thread::sleep(Duration::from_millis(300));
    attached.reading.store(false, Ordering::SeqCst);
    let pid = attached.child.process_id().unwrap();
    let kib = |field: &str| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in:\n{status}"))
    };
    let before = kib("VmRSS:");
    std::fs::write(dir.join("go"), "").unwrap();
    let deadline = Instant::now() + PATIENCE;
    while !dir.join("flood-done").exists() {
        assert!(Instant::now() < deadline, "the flood never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    // What the service sends meanwhile reaches leap attach (its reader never waits).
    std::thread::sleep(Duration::from_secs(1));
    let peak = kib("VmHWM:");
    eprintln!("leap attach: {before} KiB before the flood, at most {peak} KiB during it");
    assert!(
        peak < before + (16 << 10),
        "leap attach grew from {before} KiB to {peak} KiB while its terminal did not read"
    );
    attached.reading.store(true, Ordering::SeqCst);
    attached.wait_for("FLOOD-DONE");
    let text = attached.screen.lock().unwrap().screen().contents();
    assert!(
        text.contains(&format!("{LINES}\tflood line")) || text.contains(&format!("{LINES} ")),
        "the flood's last line above its end:\n{text}"
    );
    attached.detach();
}

/// A service that cannot start (here: another process has the store, as the window does) is
/// reported in words at once, with what its log says, and nothing is left running.
#[test]
fn a_service_that_cannot_start_is_reported_in_words() {
    let p = demo(1, 8.0, 8.0);
    let _stop = StopService(&p);
    let _held = leapfrog_engine::store::SledStore::open(p.data.join("db")).unwrap();
    let o = leap_run_in_service(&p, &[]).output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("leap serve stopped at once"), "{err}");
    assert!(err.contains("may have the store open"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!p.runtime.join("service.sock").exists());
}
