//! The orchestrator with stand-in agents (plain shell commands in real PTYs), a real control
//! socket and a real sled store in a temp dir. The full pipeline with `leap demo-agent` processes
//! is tested in `src-tauri/cli/tests/run.rs` (it needs the `leap` binary).

use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leapfrog_engine::agents::{AgentStatus, StatusSignal};
use leapfrog_engine::control::{ClientError, ControlClient, Endpoint, HookRequest, Request};
use leapfrog_engine::orchestrator::{EngineEvent, OpenOptions, Orchestrator, ProjectConfig};
use leapfrog_engine::scheduler::PhaseId;
use leapfrog_engine::store::SledStore;
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

fn open(f: &Fixture) -> Orchestrator {
    let store = Arc::new(SledStore::open(f.data.join("db")).unwrap());
    let mut opts = OpenOptions::new(&f.dir, store).unwrap();
    opts.data_dir = f.data.clone();
    opts.runtime_dir = f.runtime.clone();
    opts.write_token_file = false;
    Orchestrator::open(opts).unwrap()
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
    let orch = open(&f);
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
    // Longer than the screen's quiet period: the blank screen would read idle, the hook wins.
    std::thread::sleep(Duration::from_secs(4));
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
        let err = ProjectConfig::load(tmp.path()).unwrap_err();
        assert!(err.contains(expect), "{text}: {err}");
        assert!(!err.contains('\n'), "{text}: {err}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let err = ProjectConfig::load(tmp.path()).unwrap_err();
    assert!(err.contains("leap demo init"), "{err}");
}
