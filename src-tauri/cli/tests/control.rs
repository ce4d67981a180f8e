//! `leap complete | handoff | status | verify | hook` against a real control socket.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use leapfrog_engine::agents::prompts::PromptPhase;
use leapfrog_engine::control::server::ServerConfig;
use leapfrog_engine::control::{
    CompleteRequest, ControlHandler, ControlServer, HandoffRequest, HookRequest, Outcome, Reply,
    Request,
};

#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(Option<String>, Request)>>,
    verify_passes: bool,
}

impl Recorder {
    fn push(&self, agent: Option<&str>, r: Request) {
        self.seen
            .lock()
            .unwrap()
            .push((agent.map(str::to_string), r));
    }
    fn seen(&self) -> Vec<(Option<String>, Request)> {
        self.seen.lock().unwrap().clone()
    }
}

impl ControlHandler for Recorder {
    fn complete(&self, agent: Option<&str>, req: CompleteRequest) -> Result<Reply, String> {
        if req.batch == Some(9) {
            return Err("batch 9 is not in TICKETS.md".into());
        }
        let msg = format!("Batch {} recorded", req.batch.unwrap_or(0));
        self.push(agent, Request::Complete(req));
        Ok(Reply::message(msg))
    }
    fn handoff(&self, agent: Option<&str>, req: HandoffRequest) -> Result<Reply, String> {
        self.push(agent, Request::Handoff(req));
        Ok(Reply::message("Batch handed off"))
    }
    fn status(&self, agent: Option<&str>) -> Result<Reply, String> {
        self.push(agent, Request::Status);
        Ok(Reply::with_data(
            "Project demo",
            serde_json::json!({"project": "demo"}),
        ))
    }
    fn verify(&self, agent: Option<&str>) -> Result<Reply, String> {
        self.push(agent, Request::Verify);
        let passed = self.verify_passes;
        Ok(Reply::with_data(
            if passed {
                "verify passed"
            } else {
                "verify failed: 1 error"
            },
            serde_json::json!({ "passed": passed }),
        ))
    }
    fn hook(&self, agent: Option<&str>, req: HookRequest) -> Result<Reply, String> {
        self.push(agent, Request::Hook(req));
        Ok(Reply::message("should never be printed"))
    }
}

struct App {
    server: ControlServer,
    rec: Arc<Recorder>,
    _dir: tempfile::TempDir,
}

fn app(verify_passes: bool) -> App {
    let dir = tempfile::tempdir().unwrap();
    let rec = Arc::new(Recorder {
        verify_passes,
        ..Default::default()
    });
    let server = ControlServer::start(
        ServerConfig {
            dir: dir.path().to_path_buf(),
            write_token_file: true,
        },
        rec.clone(),
    )
    .unwrap();
    App {
        server,
        rec,
        _dir: dir,
    }
}

/// Runs `leap` with a clean Leapfrog environment plus `env`, and `stdin`.
fn leap(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leap"));
    cmd.args(args)
        .env_remove("LEAPFROG_SOCKET")
        .env_remove("LEAPFROG_TOKEN")
        .env_remove("LEAPFROG_AGENT")
        // Never fall back to a real app's well-known socket.
        .env("LEAPFROG_RUNTIME_DIR", "/nonexistent/leapfrog-test")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // A command that does not read its stdin (a hook outside Leapfrog) may exit before the write:
    // a broken pipe then is the program's choice, not a failure.
    let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn agent_env<'a>(app: &'a App, agent: &'a str) -> Vec<(&'a str, String)> {
    let ep = app.server.endpoint();
    vec![
        ("LEAPFROG_SOCKET", ep.socket.display().to_string()),
        ("LEAPFROG_TOKEN", ep.token.clone()),
        ("LEAPFROG_AGENT", agent.to_string()),
    ]
}

fn run_as(app: &App, agent: &str, args: &[&str], stdin: &str) -> Output {
    let env = agent_env(app, agent);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    leap(args, &env, stdin)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One command: its exit code, stdout, stderr, and what the app received.
fn check(args: &[&str], code: i32, stdout: &str, stderr: &str, received: Option<Request>) {
    let app = app(false);
    let o = run_as(&app, "builder", args, "");
    assert_eq!(o.status.code(), Some(code), "{args:?}: {}", text(&o.stderr));
    assert_eq!(text(&o.stdout), stdout, "{args:?}");
    assert_eq!(text(&o.stderr), stderr, "{args:?}");
    let seen = app.rec.seen();
    match received {
        Some(r) => assert_eq!(seen, vec![(Some("builder".to_string()), r)], "{args:?}"),
        None => assert!(seen.is_empty(), "{args:?}: {seen:?}"),
    }
}

#[test]
fn commands_reach_the_app() {
    check(
        &[
            "complete",
            "--batch",
            "1",
            "--verify",
            "passed",
            "--commits",
            "a1b2c3d,e4f5a6b",
        ],
        0,
        "Batch 1 recorded\n",
        "",
        Some(Request::Complete(CompleteRequest {
            batch: Some(1),
            verify: Some(Outcome::Passed),
            commits: vec!["a1b2c3d".into(), "e4f5a6b".into()],
            ..Default::default()
        })),
    );
    check(
        &[
            "complete",
            "--batch",
            "2",
            "--phase",
            "review",
            "--verify",
            "FAILED",
            "--notes",
            "T-004 has no test",
            "--commits",
            "a1 b2",
            "c3",
        ],
        0,
        "Batch 2 recorded\n",
        "",
        Some(Request::Complete(CompleteRequest {
            batch: Some(2),
            phase: Some(PromptPhase::Review),
            verify: Some(Outcome::Failed),
            commits: vec!["a1".into(), "b2".into(), "c3".into()],
            notes: Some("T-004 has no test".into()),
        })),
    );
    check(
        &["complete", "--phase", "discovery"],
        0,
        "Batch 0 recorded\n",
        "",
        Some(Request::Complete(CompleteRequest {
            phase: Some(PromptPhase::Discovery),
            ..Default::default()
        })),
    );
    check(
        &[
            "handoff",
            "--batch",
            "2",
            "--tickets",
            "T-004,T-005",
            "--files",
            "src/a.rs",
            "--verify-command",
            "cargo test",
        ],
        0,
        "Batch handed off\n",
        "",
        Some(Request::Handoff(HandoffRequest {
            batch: 2,
            tickets: vec!["T-004".into(), "T-005".into()],
            files: vec!["src/a.rs".into()],
            verify_command: Some("cargo test".into()),
            ..Default::default()
        })),
    );
    check(&["status"], 0, "Project demo\n", "", Some(Request::Status));
    check(
        &["status", "--json"],
        0,
        "{\n  \"project\": \"demo\"\n}\n",
        "",
        Some(Request::Status),
    );
    check(
        &["verify"],
        1,
        "verify failed: 1 error\n",
        "",
        Some(Request::Verify),
    );
    // The app's refusal is one line.
    check(
        &["complete", "--batch", "9", "--verify", "passed"],
        1,
        "",
        "leap: batch 9 is not in TICKETS.md\n",
        None,
    );
}

#[test]
fn bad_arguments_are_one_line_errors() {
    check(
        &["complete", "--batch", "1", "--verify", "maybe"],
        1,
        "",
        "leap: --verify \"maybe\" must be passed or failed\n",
        None,
    );
    check(
        &["complete", "--verify", "passed"],
        1,
        "",
        "leap: --batch is required (only discovery, requirements and plan have no batch)\n",
        None,
    );
    check(
        &["complete", "--batch", "1", "--phase", "deploy"],
        1,
        "",
        "leap: --phase \"deploy\" is not a phase (one of: discovery, requirements, plan, design, build, review, fix, qa, recheck)\n",
        None,
    );
    check(
        &["handoff", "--batch", "0", "--tickets", "T-1"],
        1,
        "",
        "leap: --batch counts from 1\n",
        None,
    );
    // clap's own usage errors too: one line in leap's form, then at most the usage.
    check(
        &["simulate", "--bogus"],
        2,
        "",
        "leap: unexpected argument '--bogus' found\nUsage: leap simulate [OPTIONS] --workload <FILE>\n",
        None,
    );
    check(
        &["tickets", "parse"],
        2,
        "",
        "leap: the following required arguments were not provided: <FILE>\nUsage: leap tickets parse <FILE>\n",
        None,
    );
}

#[test]
fn an_error_wrapping_its_cause_says_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let workload = dir.path().join("w.json");
    std::fs::write(
        &workload,
        r#"{"batches":[{"design":1,"build":1,"review":1}],"agents":[{"id":"a","roles":["design"]},{"id":"a","roles":["build","review"]}]}"#,
    )
    .unwrap();
    check(
        &["simulate", "--workload", workload.to_str().unwrap()],
        1,
        "",
        "leap: duplicate agent id `a`\n",
        None,
    );
}

#[test]
fn verify_exit_code_follows_the_app() {
    let app = app(true);
    let o = run_as(&app, "builder", &["verify"], "");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stdout), "verify passed\n");
}

#[test]
fn wrong_token_and_no_app_are_clear() {
    let app = app(true);
    let sock = app.server.endpoint().socket.display().to_string();
    let o = leap(
        &["status"],
        &[
            ("LEAPFROG_SOCKET", &sock),
            ("LEAPFROG_TOKEN", "not-the-token"),
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "leap: wrong token: this request is not from this Leapfrog launch\n"
    );
    assert!(app.rec.seen().is_empty());

    let o = leap(&["status"], &[], "");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "leap: no Leapfrog app is running (nothing answers at /nonexistent/leapfrog-test/control.sock)\n"
    );
    let o = leap(
        &["complete", "--batch", "1"],
        &[("LEAPFROG_SOCKET", &sock)],
        "",
    );
    assert_eq!(
        text(&o.stderr),
        "leap: LEAPFROG_SOCKET is set but LEAPFROG_TOKEN is not\n"
    );
    let dead = tempfile::tempdir().unwrap();
    let dead_sock = dead.path().join("control.sock").display().to_string();
    let o = leap(
        &["complete", "--batch", "1"],
        &[("LEAPFROG_SOCKET", &dead_sock), ("LEAPFROG_TOKEN", "t")],
        "",
    );
    assert_eq!(
        text(&o.stderr),
        format!("leap: no Leapfrog app is running (nothing answers at {dead_sock}); start Leapfrog first\n")
    );
}

#[test]
fn well_known_socket_and_token_file_outside_agents() {
    let app = app(true);
    let dir = app.server.endpoint().socket.parent().unwrap().to_path_buf();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leap"));
    let o = cmd
        .args(["status"])
        .env_remove("LEAPFROG_SOCKET")
        .env_remove("LEAPFROG_TOKEN")
        .env_remove("LEAPFROG_AGENT")
        .env("LEAPFROG_RUNTIME_DIR", &dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "Project demo\n");
    assert_eq!(app.rec.seen(), vec![(None, Request::Status)]);
}

#[test]
fn hooks_relay_silently_and_never_fail() {
    // Whatever the arguments, a hook exits 0 (Claude Code blocks a prompt on exit 2).
    for args in [&["hook"][..], &["hook", "stop", "{}", "--extra", "x"][..]] {
        let o = leap(args, &[], "");
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert_eq!(text(&o.stdout), "", "{args:?}");
    }
    // Outside Leapfrog: nothing, exit 0, stdin ignored.
    let o = leap(&["hook", "stop"], &[], r#"{"session_id":"s1"}"#);
    assert_eq!(
        (o.status.code(), text(&o.stdout), text(&o.stderr)),
        (Some(0), String::new(), String::new())
    );

    let app = app(true);
    // Claude Code: JSON on stdin.
    let payload = r#"{"session_id":"s1","hook_event_name":"Stop","stop_hook_active":false}"#;
    let o = run_as(&app, "claude", &["hook", "stop"], payload);
    assert_eq!(
        (o.status.code(), text(&o.stdout), text(&o.stderr)),
        (Some(0), String::new(), String::new())
    );
    // Codex: JSON as the last argument.
    let notify = r#"{"type":"agent-turn-complete","thread-id":"t-9"}"#;
    let o = run_as(&app, "codex", &["hook", "codex-notify", notify], "");
    assert_eq!(o.status.code(), Some(0));
    // Aider: no payload at all; not-JSON text is passed as a string.
    let o = run_as(&app, "aider", &["hook", "aider-notify"], "");
    assert_eq!(o.status.code(), Some(0));
    let o = run_as(&app, "x", &["hook", "notification"], "plain words");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        app.rec.seen(),
        vec![
            (
                Some("claude".into()),
                Request::Hook(HookRequest {
                    event: "stop".into(),
                    payload: serde_json::from_str(payload).unwrap()
                })
            ),
            (
                Some("codex".into()),
                Request::Hook(HookRequest {
                    event: "codex-notify".into(),
                    payload: serde_json::from_str(notify).unwrap()
                })
            ),
            (
                Some("aider".into()),
                Request::Hook(HookRequest {
                    event: "aider-notify".into(),
                    payload: serde_json::Value::Null
                })
            ),
            (
                Some("x".into()),
                Request::Hook(HookRequest {
                    event: "notification".into(),
                    payload: serde_json::Value::String("plain words".into())
                })
            ),
        ]
    );

    // The app is gone: a message on stderr, still exit 0 so the agent's CLI is not disturbed.
    let env = agent_env(&app, "claude");
    let sock = env[0].1.clone();
    let token = env[1].1.clone();
    drop(app);
    let o = leap(
        &["hook", "stop"],
        &[("LEAPFROG_SOCKET", &sock), ("LEAPFROG_TOKEN", &token)],
        "{}",
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stdout), "");
    assert_eq!(
        text(&o.stderr),
        format!("leap hook stop: no Leapfrog app is running (nothing answers at {sock})\n")
    );
    assert!(!Path::new(&sock).exists());
}

#[test]
fn agents_lists_installed_clis_and_their_command_lines() {
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    for (name, body) in [
        ("claude", "echo '2.1.197 (Claude Code)'"),
        ("codex", "echo 'codex-cli 0.171.0'"),
    ] {
        let p = bin.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let o = Command::new(env!("CARGO_BIN_EXE_leap"))
        .args(["agents", "--json"])
        .current_dir(project.path())
        .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let row = |cli: &str| rows.iter().find(|r| r["cli"] == cli).unwrap().clone();
    assert_eq!(row("claude")["version"], "2.1.197 (Claude Code)");
    assert_eq!(row("codex")["version"], "codex-cli 0.171.0");
    assert!(row("aider")["path"].is_null());
    let claude_cmd = row("claude")["command"].as_str().unwrap().to_string();
    assert!(
        claude_cmd.starts_with("claude --session-id "),
        "{claude_cmd}"
    );
    assert!(
        claude_cmd.contains("/.leapfrog/agents/claude/claude-settings.json --append-system-prompt 'You are the Designer"),
        "{claude_cmd}"
    );
    let leap = std::fs::canonicalize(env!("CARGO_BIN_EXE_leap")).unwrap();
    let codex_cmd = row("codex")["command"].as_str().unwrap().to_string();
    let notify = format!(
        "codex -c 'notify=[\"{}\",\"hook\",\"codex-notify\"]' --no-daemon -c 'developer_instructions=\"You are the Builder",
        leap.display()
    );
    assert!(codex_cmd.starts_with(&notify), "{codex_cmd}");
    assert_eq!(rows.len(), 5);
}
