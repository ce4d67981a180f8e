//! The orchestrator with stand-in agents (plain shell commands in real PTYs), a real control
//! socket and a real sled store in a temp dir. The full pipeline with `leap demo-agent` processes
//! is tested in `src-tauri/cli/tests/run.rs` (it needs the `leap` binary).

use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leapfrog_engine::agents::{AgentStatus, StatusSignal};
use leapfrog_engine::control::{ClientError, ControlClient, Endpoint, HookRequest, Request};
use leapfrog_engine::model::{CompletionDetection, PhaseKind, PhaseOutcome};
use leapfrog_engine::orchestrator::{
    EngineEvent, ManualClock, OpenOptions, Orchestrator, ProjectConfig,
};
use leapfrog_engine::scheduler::PhaseId;
use leapfrog_engine::store::SledStore;
use leapfrog_engine::trust::{ProjectCommands, TrustFile};
use serde_json::json;

const PATIENCE: Duration = Duration::from_secs(60);

const TICKETS: &str = "# Tickets\n\n## Batch 1: One\n\n### T-001: First\n- **Status:** todo\n\n## Batch 2: Two\n\n### T-002: Second\n- **Status:** todo\n";

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    data: PathBuf,
    runtime: PathBuf,
}

/// A project whose designer is `designer_cmd` and whose builder waits silently.
fn project(designer_cmd: &str) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    std::fs::create_dir_all(dir.join(".leapfrog")).unwrap();
    std::fs::write(dir.join("TICKETS.md"), TICKETS).unwrap();
    let config = json!({
        "name": "stand-in",
        "pattern": "leapfrog",
        "lookahead": 1,
        "agents": [
            {"id": "designer", "cli": "custom", "command": designer_cmd,
             "roles": ["design", "review"]},
            {"id": "builder", "cli": "custom", "command": "sh -c 'exec cat >/dev/null'",
             "roles": ["build", "fix"]}
        ]
    });
    std::fs::write(
        dir.join(".leapfrog/project.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    Fixture {
        data: tmp.path().join("data"),
        runtime: tmp.path().join("rt"),
        dir,
        _tmp: tmp,
    }
}

/// Records the user's approval of the project's commands as they are now (what the app's
/// "Trust and run" does).
fn approve(f: &Fixture) {
    TrustFile::in_data_dir(&f.data)
        .approve(&ProjectCommands::load(&f.dir).unwrap())
        .unwrap();
}

fn open(f: &Fixture) -> Orchestrator {
    approve(f);
    open_unapproved(f)
}

fn open_unapproved(f: &Fixture) -> Orchestrator {
    Orchestrator::open(options(f)).unwrap()
}

/// Approved, with `clock` for the run's time: it stands still until the test advances it.
fn open_on(f: &Fixture, clock: Arc<ManualClock>) -> Orchestrator {
    approve(f);
    let mut opts = options(f);
    opts.clock = clock;
    Orchestrator::open(opts).unwrap()
}

fn options(f: &Fixture) -> OpenOptions {
    let store = Arc::new(SledStore::open(f.data.join("db")).unwrap());
    let mut opts = OpenOptions::new(&f.dir, store).unwrap();
    opts.data_dir = f.data.clone();
    opts.runtime_dir = f.runtime.clone();
    opts.write_token_file = false;
    opts
}

/// Moves `clock` on in small steps until `events` shows what `f` looks for: waiting for something
/// that takes time on the run's clock (and real output of the agents' processes meanwhile).
fn step_until(
    clock: &ManualClock,
    events: &Receiver<EngineEvent>,
    what: &str,
    mut f: impl FnMut(&EngineEvent) -> bool,
) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        while let Ok(e) = events.try_recv() {
            if f(&e) {
                return;
            }
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        clock.advance(Duration::from_millis(250));
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn wait_for(events: &Receiver<EngineEvent>, what: &str, mut f: impl FnMut(&EngineEvent) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(e) if f(&e) => return,
            Ok(_) => {}
            Err(_) => panic!("gave up waiting for {what}"),
        }
    }
}

fn hook(endpoint: &Endpoint, agent: &str, event: &str, payload: serde_json::Value) {
    ControlClient::new(endpoint.clone(), Some(agent.into()))
        .request(Request::Hook(HookRequest {
            event: event.into(),
            payload,
        }))
        .unwrap();
}

#[test]
fn a_wrong_token_is_refused_and_the_right_one_answers() {
    let f = project("sh -c 'exec cat >/dev/null'");
    let orch = open(&f);
    orch.start().unwrap();
    let endpoint = orch.endpoint().unwrap();
    let cases: Vec<(String, Request, Result<(), &str>)> = vec![
        ("not-the-token".into(), Request::Status, Err("wrong token")),
        (String::new(), Request::Verify, Err("wrong token")),
        (
            "x".into(),
            Request::Hook(HookRequest {
                event: "stop".into(),
                payload: json!({}),
            }),
            Err("wrong token"),
        ),
        (endpoint.token.clone(), Request::Status, Ok(())),
    ];
    for (token, request, expect) in cases {
        let client = ControlClient::new(
            Endpoint {
                socket: endpoint.socket.clone(),
                token,
            },
            Some("designer".into()),
        );
        let got = client.request(request.clone());
        match (expect, got) {
            (Ok(()), Ok(_)) => {}
            (Err(want), Err(ClientError::Refused(msg))) => assert!(msg.contains(want), "{msg}"),
            (want, got) => panic!("{request:?}: expected {want:?}, got {got:?}"),
        }
    }
    orch.stop();
}

#[test]
fn prompts_wait_while_the_agent_needs_input_and_go_in_at_the_idle_edge() {
    // The designer records what it receives; it shows nothing, so only hooks tell its status.
    let f = project("sh -c 'exec cat > received.txt'");
    let clock = Arc::new(ManualClock::new());
    let orch = open_on(&f, clock.clone());
    let events = orch.subscribe();
    orch.start().unwrap();
    let endpoint = orch.endpoint().unwrap();
    hook(
        &endpoint,
        "designer",
        "notification",
        json!({"message": "Claude needs your permission to use Bash"}),
    );
    wait_for(&events, "needs-input from the hook", |e| {
        matches!(e, EngineEvent::AgentStatus { agent, status: AgentStatus::NeedsInput,
                 signal: StatusSignal::Hook, .. } if agent == "designer")
    });
    // Past the screen's quiet period on the run's clock, the blank screen alone reads idle...
    let quiet = leapfrog_engine::agents::screen::QUIET + Duration::from_secs(1);
    clock.advance(quiet);
    let pane = orch
        .panes()
        .get(orch.agent_pane("designer").unwrap())
        .unwrap();
    let screen = leapfrog_engine::agents::detect_screen_status(
        leapfrog_engine::model::CliKind::Custom,
        &pane.screen_text(),
        quiet,
    );
    drop(pane);
    assert_eq!(screen.status, AgentStatus::Idle, "{screen:?}");
    // ...and another hook of the same wait has the loop read that screen now; then a screen
    // reading's debounce passes (its last step): the hook wins.
    hook(
        &endpoint,
        "designer",
        "permission-request",
        json!({"tool_name": "Bash"}),
    );
    clock.advance(leapfrog_engine::orchestrator::DEBOUNCE);
    let s = orch.state();
    let designer = s.agents.iter().find(|a| a.id == "designer").unwrap();
    assert_eq!(designer.status, AgentStatus::NeedsInput, "{designer:?}");
    assert_eq!(designer.phase, None, "prompted while waiting on the user");
    assert!(read(&f.dir.join("received.txt")).is_empty());

    hook(&endpoint, "designer", "stop", json!({"session_id": "abc"}));
    wait_for(&events, "design(1) dispatched", |e| {
        matches!(e, EngineEvent::PhaseDispatched { agent, phase: PhaseId::Design { batch: 1 }, .. }
                 if agent == "designer")
    });
    // The Enter goes in a moment after the paste, on the run's clock.
    clock.advance(Duration::from_millis(200));
    let deadline = Instant::now() + PATIENCE;
    let got = loop {
        let got = read(&f.dir.join("received.txt"));
        if got.contains("\x1b[201~") || Instant::now() > deadline {
            break got;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(got.starts_with("\x1b[200~"), "{got:?}");
    assert!(got.contains("Design Batch 1 only"), "{got:?}");
    assert!(got.contains("\x1b[201~"), "{got:?}");
    orch.stop();
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[test]
fn bad_project_configs_are_one_line_errors() {
    let cases: &[(&str, &str)] = &[
        ("{", "project.json"),
        (r#"{"agents": []}"#, "no agents"),
        (
            r#"{"agents": [{"id": "a", "cli": "custom", "roles": ["build"]}]}"#,
            "agent a",
        ),
        (
            r#"{"priority": "fastest", "agents": [{"id": "a", "cli": "codex", "roles": ["build"]}]}"#,
            "unknown priority",
        ),
    ];
    for (text, expect) in cases {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join(".leapfrog")).unwrap();
        std::fs::write(tmp.path().join(".leapfrog/project.json"), text).unwrap();
        let err = ProjectConfig::load_checked(tmp.path()).unwrap_err();
        assert!(err.contains(expect), "{text}: {err}");
        assert!(!err.contains('\n'), "{text}: {err}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let err = ProjectConfig::load_checked(tmp.path()).unwrap_err();
    assert!(err.contains("leap demo init"), "{err}");
}

#[test]
fn user_commands_answer_and_refuse_in_one_line() {
    let f = project("sh -c 'exec cat >/dev/null'");
    let orch = open(&f);
    orch.start().unwrap();
    use leapfrog_engine::orchestrator::Command as C;
    let design1 = PhaseId::Design { batch: 1 };
    // In order: the designer is paused first, so nothing is dispatched behind the test's back.
    let cases: Vec<(C, Result<&str, &str>)> = vec![
        (
            C::PauseAgent {
                agent: "designer".into(),
            },
            Ok("agent designer paused"),
        ),
        (
            C::PauseAgent {
                agent: "nobody".into(),
            },
            Err("no agent \"nobody\""),
        ),
        (C::PauseBatch { batch: 1 }, Ok("batch 1 paused")),
        (C::PauseBatch { batch: 9 }, Err("unknown batch 9")),
        (C::ResumeBatch { batch: 1 }, Ok("batch 1 resumed")),
        (
            C::Reorder {
                batches: vec![2, 1],
            },
            Ok("batches re-ordered"),
        ),
        (C::Skip { phase: design1 }, Ok("design(1) skipped")),
        (C::Skip { phase: design1 }, Err("design(1) is done")),
        (
            C::MarkComplete {
                phase: PhaseId::Build { batch: 1 },
                passed: true,
            },
            Err("build(1) is not running"),
        ),
        (C::RunVerify, Err("the project has no verify command")),
        (
            C::RestartAgent {
                agent: "designer".into(),
            },
            Err("agent designer is running"),
        ),
        (
            C::ResumeAgent {
                agent: "designer".into(),
            },
            Ok("agent designer resumed"),
        ),
    ];
    for (command, expect) in cases {
        let got = orch.command(command.clone());
        match (&expect, &got) {
            (Ok(want), Ok(msg)) => assert_eq!(msg, want, "{command:?}"),
            (Err(want), Err(msg)) => {
                assert!(msg.contains(want), "{command:?}: {msg}");
                assert!(!msg.contains('\n'), "{command:?}: {msg}");
            }
            _ => panic!("{command:?}: expected {expect:?}, got {got:?}"),
        }
    }
    orch.stop();
}

#[test]
fn the_tee_feeds_an_attached_ui_which_then_acks_and_acks_itself_without_one() {
    let f = project("sh -c 'exec cat >/dev/null'");
    let orch = open(&f);
    orch.start().unwrap();
    let id = orch.agent_pane("builder").unwrap();
    let panes = orch.panes();
    let pane = panes.get(id).unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    orch.attach_ui(
        "builder",
        Box::new(move |e: leapfrog_engine::pty::PaneEvent| {
            if let leapfrog_engine::pty::PaneEvent::Output(b) = e {
                let _ = tx.send(b);
            }
        }),
    )
    .unwrap();
    let acked_before = pane.stats().bytes_acked;
    panes.write(id, b"hello\r").unwrap();
    // The terminal echoes the line: the UI sink sees it.
    let mut seen = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while !String::from_utf8_lossy(&seen).contains("hello") {
        let left = deadline.saturating_duration_since(Instant::now());
        seen.extend(rx.recv_timeout(left).expect("the UI sink got no output"));
    }
    // With a UI attached, nothing is acked until the UI says so.
    let s = pane.stats();
    assert_eq!(s.bytes_acked, acked_before, "{s:?}");
    assert!(s.unacked >= seen.len() as u64, "{s:?}");
    panes.ack(id, seen.len()).unwrap();
    assert_eq!(pane.stats().bytes_acked, acked_before + seen.len() as u64);
    // Detached, the tee acks every frame itself.
    orch.detach_ui("builder").unwrap();
    panes.write(id, b"again\r").unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let s = pane.stats();
        if s.bytes_read > acked_before + seen.len() as u64 && s.unacked == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "never acked without a UI: {s:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(orch.attach_ui("nobody", Box::new(|_e| {})).is_err());
    orch.stop();
}

#[test]
fn reports_in_the_inbox_of_sandboxed_agents_are_handled() {
    use leapfrog_engine::control::protocol::Envelope;
    let f = project("sh -c 'exec cat >/dev/null'");
    let orch = open(&f);
    let events = orch.subscribe();
    orch.start().unwrap();
    let token = orch.endpoint().unwrap().token;
    let inbox = leapfrog_engine::control::spool::project_inbox(&f.dir);
    let envelope = |token: &str, message: &str| Envelope {
        v: 1,
        token: token.into(),
        agent: Some("builder".into()),
        request: Request::Hook(HookRequest {
            event: "notification".into(),
            payload: json!({ "message": message }),
        }),
    };
    // A wrong token in the inbox is refused like on the socket (and removed).
    let bad = leapfrog_engine::control::spool::write(&inbox, &envelope("forged", "x")).unwrap();
    leapfrog_engine::control::spool::write(&inbox, &envelope(&token, "Codex needs your approval"))
        .unwrap();
    wait_for(&events, "needs-input from the inbox", |e| {
        matches!(e, EngineEvent::AgentStatus { agent, status: AgentStatus::NeedsInput,
                 signal: StatusSignal::Hook, reason } if agent == "builder"
                 && reason.contains("approval"))
    });
    assert!(!bad.exists());
    orch.stop();
}

#[test]
fn a_handoff_block_in_the_output_or_a_click_completes_the_running_phase() {
    // The designer shows a prompt, reads one line (its prompt) and prints a HANDOFF block; it
    // never calls `leap`. The builder shows a prompt and keeps whatever it gets.
    let f = project("sh designer.sh");
    std::fs::write(
        f.dir.join("designer.sh"),
        "printf '\\342\\235\\257 '\nread line\nprintf '\\n## HANDOFF \\342\\200\\224 Batch 1 Ready\\n\\nTickets: T-001\\nFiles affected: src/a.sh\\nDependencies: none\\nVerify command: true\\n\\n'\nexec cat >/dev/null\n",
    )
    .unwrap();
    let path = f.dir.join(".leapfrog/project.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["agents"][1]["command"] =
        "sh -c \"printf '\\342\\235\\257 '; exec cat >/dev/null\"".into();
    std::fs::write(&path, config.to_string()).unwrap();
    let orch = open(&f);
    let events = orch.subscribe();
    orch.start().unwrap();
    let mut design = None;
    wait_for(&events, "design(1) completed", |e| match e {
        EngineEvent::PhaseCompleted {
            phase: PhaseId::Design { batch: 1 },
            run,
            ..
        } => {
            design = Some(run.clone());
            true
        }
        _ => false,
    });
    let design = design.unwrap();
    assert_eq!(
        design.detection,
        Some(CompletionDetection::HandoffMessage),
        "{design:?}"
    );
    assert_eq!(design.outcome, PhaseOutcome::Passed);
    wait_for(&events, "build(1) dispatched", |e| {
        matches!(
            e,
            EngineEvent::PhaseDispatched {
                phase: PhaseId::Build { batch: 1 },
                ..
            }
        )
    });
    let build1 = PhaseId::Build { batch: 1 };
    let msg = orch
        .command(leapfrog_engine::orchestrator::Command::MarkComplete {
            phase: build1,
            passed: true,
        })
        .unwrap();
    assert_eq!(msg, "build(1) recorded (passed)");
    let runs = orch.state().runs;
    let build = runs.iter().find(|r| r.kind == PhaseKind::Build).unwrap();
    assert_eq!(
        (build.outcome, build.detection),
        (PhaseOutcome::Passed, Some(CompletionDetection::Manual))
    );
    assert!(build.ended_at.unwrap() >= build.started_at);
    orch.stop();
}

#[test]
fn an_agent_that_outlived_its_run_is_stopped_by_the_next_one() {
    // This designer ignores the hang-up that stopping a run sends it.
    let f = project("sh -c 'trap \"\" HUP; printf \"> \"; while :; do sleep 1; done'");
    let orch = open(&f);
    orch.start().unwrap();
    let pane = orch.agent_pane("designer").unwrap();
    let pane = orch.panes().get(pane).unwrap();
    let pid = pane.pid().unwrap() as i32;
    // Its prompt shows once the trap is set.
    assert!(pane.wait_for_screen(PATIENCE, |s| s.contents().contains('>')));
    drop(pane);
    orch.stop();
    drop(orch);
    // Its trap was set before its prompt showed: it ignores the hang-up, which cannot stop it.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let ignored = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .map(|m| u64::from_str_radix(m.trim(), 16).unwrap())
        .unwrap();
    assert_ne!(ignored & 1 << (libc::SIGHUP - 1), 0, "{status}");
    // SAFETY: kill(2) with signal 0 only checks that the process exists.
    assert_eq!(
        unsafe { libc::kill(pid, 0) },
        0,
        "the stand-in did not survive"
    );

    let orch = open(&f);
    let events = orch.subscribe();
    orch.start().unwrap();
    wait_for(&events, "the notification", |e| {
        matches!(e, EngineEvent::Notification { message }
                 if message.contains("designer") && message.contains("still running outside Leapfrog"))
    });
    let deadline = Instant::now() + PATIENCE;
    while Path::new(&format!("/proc/{pid}/cmdline")).exists()
        && !std::fs::read(format!("/proc/{pid}/cmdline"))
            .unwrap_or_default()
            .is_empty()
    {
        assert!(Instant::now() < deadline, "pid {pid} still runs");
        std::thread::sleep(Duration::from_millis(20));
    }
    orch.stop();
}

#[test]
fn an_agent_whose_cli_cannot_start_is_shown_and_notified() {
    let f = project("/nonexistent/agent-cli --flag");
    let orch = open(&f);
    let events = orch.subscribe();
    orch.start().unwrap();
    let mut status = None;
    wait_for(&events, "the designer's failure", |e| match e {
        EngineEvent::AgentStatus {
            agent, status: s, ..
        } if agent == "designer" && matches!(s, AgentStatus::Offline | AgentStatus::Exited) => {
            status = Some(*s);
            true
        }
        _ => false,
    });
    wait_for(
        &events,
        "a notification naming it",
        |e| matches!(e, EngineEvent::Notification { message } if message.contains("designer")),
    );
    // The state is published right after the events.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let s = orch.state();
        let d = s
            .agents
            .iter()
            .find(|a| a.id == "designer")
            .unwrap()
            .clone();
        if Some(d.status) == status {
            assert_eq!(d.phase, None);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "state never showed {status:?}: {d:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    orch.stop();
}

#[test]
fn the_handle_is_shareable_and_events_have_a_stable_json_shape() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Orchestrator>();
    let cases: Vec<(EngineEvent, serde_json::Value)> = vec![
        (
            EngineEvent::AgentStatus {
                agent: "builder".into(),
                status: AgentStatus::NeedsInput,
                signal: StatusSignal::SessionFile,
                reason: "r".into(),
            },
            json!({"type": "agent_status", "agent": "builder", "status": "needs-input",
                   "signal": "session-file", "reason": "r"}),
        ),
        (
            EngineEvent::PhaseDispatched {
                agent: "designer".into(),
                phase: PhaseId::Design { batch: 2 },
                run_id: 7,
                latency_ms: 1.5,
            },
            json!({"type": "phase_dispatched", "agent": "designer",
                   "phase": {"phase": "design", "batch": 2}, "run_id": 7, "latency_ms": 1.5}),
        ),
        (
            EngineEvent::VerifyFinished {
                sync: Some(1),
                passed: false,
                duration_ms: 12,
            },
            json!({"type": "verify_finished", "sync": 1, "passed": false, "duration_ms": 12}),
        ),
        (
            EngineEvent::Log {
                source: "verify".into(),
                line: "ok".into(),
            },
            json!({"type": "log", "source": "verify", "line": "ok"}),
        ),
        (EngineEvent::Finished, json!({"type": "finished"})),
    ];
    for (event, expect) in cases {
        let got = serde_json::to_value(&event).unwrap();
        assert_eq!(got, expect);
        let back: EngineEvent = serde_json::from_value(got).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn claude_code_session_file_tells_the_status_when_no_hook_does() {
    let f = project("sh -c 'exec cat >/dev/null'");
    // The designer is a Claude Code agent (a stand-in command: the launch adds Claude's flags,
    // which `sh -c` takes as positional parameters).
    let path = f.dir.join(".leapfrog/project.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["agents"][0]["cli"] = "claude-code".into();
    std::fs::write(&path, config.to_string()).unwrap();
    approve(&f);
    let home = f.data.parent().unwrap().join("home");
    let store = Arc::new(SledStore::open(f.data.join("db")).unwrap());
    let mut opts = OpenOptions::new(&f.dir, store).unwrap();
    opts.data_dir = f.data.clone();
    opts.runtime_dir = f.runtime.clone();
    opts.write_token_file = false;
    opts.home_dir = Some(home.clone());
    let orch = Orchestrator::open(opts).unwrap();
    let events = orch.subscribe();
    orch.start().unwrap();
    let mut line = String::new();
    wait_for(&events, "the designer's launch", |e| match e {
        EngineEvent::AgentStarted {
            agent,
            command_line,
            ..
        } if agent == "designer" => {
            line = command_line.clone();
            true
        }
        _ => false,
    });
    let session = line
        .split_whitespace()
        .skip_while(|w| *w != "--session-id")
        .nth(1)
        .unwrap_or_else(|| panic!("no --session-id in {line}"))
        .to_string();
    let file = leapfrog_engine::agents::status::claude_session_file(&home, &f.dir, &session);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let cases: &[(&str, AgentStatus)] = &[
        (
            r#"{"type":"user","message":{"role":"user","content":"hi"}}"#,
            AgentStatus::Working,
        ),
        (
            r#"{"type":"assistant","message":{"role":"assistant","stop_reason":"end_turn"}}"#,
            AgentStatus::Idle,
        ),
    ];
    let mut text = String::new();
    for (entry, want) in cases {
        text.push_str(entry);
        text.push('\n');
        std::fs::write(&file, &text).unwrap();
        wait_for(&events, &format!("{want:?} from the session file"), |e| {
            matches!(e, EngineEvent::AgentStatus { agent, status, signal: StatusSignal::SessionFile, .. }
                     if agent == "designer" && status == want)
        });
    }
    // Idle by its session file: it gets design(1).
    wait_for(&events, "design(1) dispatched", |e| {
        matches!(
            e,
            EngineEvent::PhaseDispatched {
                phase: PhaseId::Design { batch: 1 },
                ..
            }
        )
    });
    orch.stop();
}

/// On the run's clock: the notice comes [`UNREPORTED_AFTER`] after the agent's idle edge, not a
/// millisecond before (and the test waits neither).
#[test]
fn an_agent_back_at_its_prompt_without_reporting_is_notified_not_marked_done() {
    use leapfrog_engine::orchestrator::UNREPORTED_AFTER;
    // The designer takes its prompt and returns to its prompt without any report. It echoes
    // nothing (a TUI does not): its last output is its prompt, shown after it took the prompt.
    let f = project("sh designer.sh");
    std::fs::write(
        f.dir.join("designer.sh"),
        "stty -echo\nprintf '\\342\\235\\257 '\nread line\nprintf 'thinking...\\n\\342\\235\\257 '\nexec cat >/dev/null\n",
    )
    .unwrap();
    let clock = Arc::new(ManualClock::new());
    let orch = open_on(&f, clock.clone());
    let events = orch.subscribe();
    orch.start().unwrap();
    let pane = orch
        .panes()
        .get(orch.agent_pane("designer").unwrap())
        .unwrap();
    assert!(pane.wait_for_screen(PATIENCE, |s| s.contents().contains('❯')));
    drop(pane);
    step_until(&clock, &events, "design(1) dispatched", |e| {
        matches!(
            e,
            EngineEvent::PhaseDispatched {
                phase: PhaseId::Design { batch: 1 },
                ..
            }
        )
    });
    // It never shows that it took the prompt: idle again once its Enter presses are given up.
    step_until(&clock, &events, "the designer idle at its prompt", |e| {
        matches!(e, EngineEvent::AgentStatus { agent, status: AgentStatus::Idle, .. }
                 if agent == "designer")
    });
    // Its idle edge is now on the run's clock, which stands still until advanced.
    let unreported = |e: &EngineEvent| {
        matches!(e, EngineEvent::Notification { message }
                 if message.contains("designer is idle at its prompt but has not reported design(1)"))
    };
    clock.advance(UNREPORTED_AFTER - Duration::from_millis(1));
    let early: Vec<EngineEvent> = events.try_iter().collect();
    assert!(!early.iter().any(unreported), "notified early: {early:?}");
    clock.advance(Duration::from_millis(1));
    let due: Vec<EngineEvent> = events.try_iter().collect();
    assert_eq!(due.iter().filter(|e| unreported(e)).count(), 1, "{due:?}");
    let s = orch.state();
    let designer = s.agents.iter().find(|a| a.id == "designer").unwrap();
    assert_eq!(designer.phase, Some(PhaseId::Design { batch: 1 }));
    let run = s.runs.iter().find(|r| r.kind == PhaseKind::Design).unwrap();
    assert_eq!(run.outcome, PhaseOutcome::Running);
    assert_eq!(
        s.busy, 0,
        "an unreported phase at an idle prompt waits on the user"
    );
    orch.stop();
}

#[test]
fn a_handoff_for_a_batch_the_project_lacks_or_too_large_is_refused_and_not_stored() {
    use leapfrog_engine::control::HandoffRequest;
    use leapfrog_engine::store::Store;
    let f = project("sh -c 'exec cat >/dev/null'");
    let orch = open(&f);
    orch.start().unwrap();
    let endpoint = orch.endpoint().unwrap();
    let client = ControlClient::new(endpoint, Some("designer".into()));
    let cases = [
        (
            HandoffRequest {
                batch: 99,
                tickets: vec!["T-001".into()],
                ..Default::default()
            },
            "batch 99 is not a batch of this project",
        ),
        (
            HandoffRequest {
                batch: 1,
                tickets: (0..3000).map(|i| format!("T-{i}")).collect(),
                ..Default::default()
            },
            "is too large",
        ),
        (
            HandoffRequest {
                batch: 1,
                tickets: vec!["T-001".into()],
                notes: Some("x".repeat(100 * 1024)),
                ..Default::default()
            },
            "is too large",
        ),
    ];
    for (request, want) in cases {
        let err = match client.request(Request::Handoff(request)) {
            Err(ClientError::Refused(e)) => e,
            other => panic!("{want}: {other:?}"),
        };
        assert!(err.contains(want), "{err}");
    }
    orch.stop();
    drop(orch);
    let store = SledStore::open(f.data.join("db")).unwrap();
    let id = store.projects().unwrap().remove(0).id;
    assert!(store.handoffs(&id).unwrap().is_empty());
}

/// One agent cannot speak for another: each has its own token, which is refused for any other
/// agent's name, and an agent completes only the phase it runs itself.
#[test]
fn an_agent_cannot_complete_or_fail_another_agents_phase() {
    use leapfrog_engine::control::{agent_token, CompleteRequest, Outcome};
    let f = project("sh -c 'exec cat > received.txt'");
    let orch = open(&f);
    let events = orch.subscribe();
    orch.start().unwrap();
    let endpoint = orch.endpoint().unwrap();
    hook(&endpoint, "designer", "stop", json!({}));
    wait_for(&events, "design(1) dispatched", |e| {
        matches!(e, EngineEvent::PhaseDispatched { agent, phase: PhaseId::Design { batch: 1 }, .. }
                 if agent == "designer")
    });
    let as_agent = |token_of: &str, claim: &str| {
        ControlClient::new(
            Endpoint {
                socket: endpoint.socket.clone(),
                token: agent_token(&endpoint.token, token_of),
            },
            Some(claim.into()),
        )
    };
    let fail_design = || {
        Request::Complete(CompleteRequest {
            batch: Some(1),
            verify: Some(Outcome::Failed),
            ..Default::default()
        })
    };
    // The builder's token claiming to be the designer: not this launch's.
    match as_agent("builder", "designer").request(fail_design()) {
        Err(ClientError::Refused(e)) => assert!(e.contains("wrong token"), "{e}"),
        other => panic!("{other:?}"),
    }
    // The builder as itself: it runs nothing, so it completes nothing.
    match as_agent("builder", "builder").request(fail_design()) {
        Err(ClientError::Refused(e)) => assert!(e.contains("no running phase"), "{e}"),
        other => panic!("{other:?}"),
    }
    let s = orch.state();
    let designer = s.agents.iter().find(|a| a.id == "designer").unwrap();
    assert_eq!(
        designer.phase,
        Some(PhaseId::Design { batch: 1 }),
        "{designer:?}"
    );
    // The designer, with its own token, completes its own design.
    as_agent("designer", "designer")
        .request(Request::Complete(CompleteRequest {
            batch: Some(1),
            ..Default::default()
        }))
        .unwrap();
    wait_for(&events, "design(1) completed", |e| {
        matches!(
            e,
            EngineEvent::PhaseCompleted {
                phase: PhaseId::Design { batch: 1 },
                ..
            }
        )
    });
    orch.stop();
}

/// A folder nobody approved runs nothing: `start` refuses in words naming the commands, no agent
/// starts; once approved it runs; a changed command is refused again.
#[test]
fn an_unapproved_project_runs_nothing_until_its_commands_are_approved() {
    let f = project("sh -c 'touch designer-ran; exec cat >/dev/null'");
    let orch = open_unapproved(&f);
    let events = orch.subscribe();
    let e = orch.start().unwrap_err();
    assert!(e.contains("has commands you have not approved"), "{e}");
    assert!(e.contains("touch designer-ran"), "{e}");
    assert!(e.contains("leap trust"), "{e}");
    // Refused before anything started (agents start only in panes, spawned by the loop): no
    // pane, so no agent ran; no endpoint; not a single event.
    assert!(orch.panes().ids().is_empty(), "an agent was spawned");
    let s = orch.state();
    assert!(!s.running, "{s:?}");
    assert!(s.agents.iter().all(|a| a.pane.is_none()), "{s:?}");
    assert!(!f.dir.join("designer-ran").exists());
    assert!(events.try_recv().is_err(), "nothing started");
    assert!(orch.endpoint().is_none(), "no control endpoint either");
    // Approved as shown: the same orchestrator starts.
    assert!(!orch.trust_review().unwrap().approved);
    approve(&f);
    orch.start().unwrap();
    wait_for(
        &events,
        "the designer to start",
        |e| matches!(e, EngineEvent::AgentStarted { agent, .. } if agent == "designer"),
    );
    orch.stop();
    // The folder changes its verify: asked again, naming only what changed.
    let path = f.dir.join(".leapfrog/project.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["verify"] = "sh pwn.sh".into();
    std::fs::write(&path, config.to_string()).unwrap();
    let orch = open_unapproved(&f);
    let e = orch.start().unwrap_err();
    assert!(e.contains("changed its commands"), "{e}");
    assert!(e.contains("verify: `sh pwn.sh`"), "{e}");
    assert!(!e.contains("designer-ran"), "only what changed: {e}");
}

/// An agent printing 40 MB in a run with no window: the loop reads all of it, and what waits for
/// the loop never exceeds a pane's flow-control window (it reached hundreds of MB when the tee
/// acked frames before the loop had read them).
#[test]
fn a_flooding_agent_without_a_window_stays_within_the_flow_control_window() {
    let f = project("sh -c 'yes | head -c 40000000; exec cat >/dev/null'");
    let orch = open(&f);
    orch.start().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while orch.output_backlog().1 < 40_000_000 {
        assert!(
            Instant::now() < deadline,
            "the loop read {} bytes",
            orch.output_backlog().1
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (peak, handled) = orch.output_backlog();
    orch.stop();
    assert!(handled >= 40_000_000);
    let window = leapfrog_engine::orchestrator::AGENT_FLOW.high_watermark;
    let frame = leapfrog_engine::pty::CoalesceConfig::default().max_frame
        + leapfrog_engine::pty::PaneConfig::default().read_chunk;
    assert!(
        peak <= window + frame,
        "{peak} bytes waited for the loop (window {window}, frame and read {frame})"
    );
}

/// A phase's context pack is written again right before its prompt is pasted: a TICKETS.md
/// changed while the prompt waited (here, for the user to answer the agent's dialog) is in it.
#[test]
fn a_context_pack_follows_a_tickets_md_changed_while_its_prompt_waited() {
    let f = project("sh -c 'exec cat > received.txt'");
    let orch = open(&f);
    let events = orch.subscribe();
    orch.start().unwrap();
    let endpoint = orch.endpoint().unwrap();
    wait_for(&events, "design(1) dispatched", |e| {
        matches!(
            e,
            EngineEvent::PhaseDispatched {
                phase: PhaseId::Design { batch: 1 },
                ..
            }
        )
    });
    // The designer asks the user something, and meanwhile reports design(1) done: design(2) is
    // queued, its pack written, and its prompt waits for the answer.
    hook(
        &endpoint,
        "designer",
        "notification",
        json!({"message": "Claude needs your permission to use Bash"}),
    );
    wait_for(&events, "needs-input from the hook", |e| {
        matches!(e, EngineEvent::AgentStatus { agent, status: AgentStatus::NeedsInput, .. }
                 if agent == "designer")
    });
    ControlClient::new(endpoint.clone(), Some("designer".into()))
        .request(Request::Complete(
            leapfrog_engine::control::CompleteRequest {
                batch: Some(1),
                ..Default::default()
            },
        ))
        .unwrap();
    let pack = f.dir.join(".leapfrog/context/batch-2/design.md");
    let deadline = Instant::now() + PATIENCE;
    while !pack.exists() {
        assert!(
            Instant::now() < deadline,
            "no pack was written for design(2)"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!read(&pack).contains("T-099"));
    let mut tickets = read(&f.dir.join("TICKETS.md"));
    tickets.push_str("\n### T-099: Added while the prompt waited\n");
    std::fs::write(f.dir.join("TICKETS.md"), tickets).unwrap();
    hook(&endpoint, "designer", "stop", json!({"session_id": "abc"}));
    wait_for(&events, "design(2) dispatched", |e| {
        matches!(
            e,
            EngineEvent::PhaseDispatched {
                phase: PhaseId::Design { batch: 2 },
                ..
            }
        )
    });
    let text = read(&pack);
    assert!(
        text.contains("T-099") && text.contains("Added while the prompt waited"),
        "{text}"
    );
    orch.stop();
}
