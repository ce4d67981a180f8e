//! The control endpoint over a real Unix socket in a temp dir.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use leapfrog_engine::agents::prompts::PromptPhase;
use leapfrog_engine::control::server::ServerConfig;
use leapfrog_engine::control::{
    agent_env, runtime_dir_from, AgentLine, BatchLine, ClientError, CompleteRequest, ControlClient,
    ControlHandler, ControlServer, Endpoint, HandoffRequest, HookRequest, Outcome, Reply, Request,
    StatusReport,
};

/// Records every request it gets and answers with a fixed message.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(Option<String>, Request)>>,
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
        if req.batch == Some(99) {
            return Err("batch 99 does not exist".into());
        }
        if req.batch == Some(666) {
            panic!("handler bug");
        }
        let msg = format!("batch {:?} recorded", req.batch);
        self.push(agent, Request::Complete(req));
        Ok(Reply::message(msg))
    }
    fn handoff(&self, agent: Option<&str>, req: HandoffRequest) -> Result<Reply, String> {
        self.push(agent, Request::Handoff(req));
        Ok(Reply::message("handed off"))
    }
    fn status(&self, agent: Option<&str>) -> Result<Reply, String> {
        self.push(agent, Request::Status);
        let report = report();
        Ok(Reply::with_data(report.render(), report))
    }
    fn verify(&self, agent: Option<&str>) -> Result<Reply, String> {
        self.push(agent, Request::Verify);
        Ok(Reply::with_data(
            "verify passed",
            serde_json::json!({"passed": true}),
        ))
    }
    fn hook(&self, agent: Option<&str>, req: HookRequest) -> Result<Reply, String> {
        self.push(agent, Request::Hook(req));
        Ok(Reply::message(""))
    }
}

fn report() -> StatusReport {
    StatusReport {
        project: "demo".into(),
        pattern: Some("leapfrog".into()),
        agents: vec![
            AgentLine {
                id: "designer".into(),
                cli: "custom".into(),
                status: "working".into(),
                phase: Some("design".into()),
                batch: Some(2),
            },
            AgentLine {
                id: "builder".into(),
                cli: "codex".into(),
                status: "idle".into(),
                phase: None,
                batch: None,
            },
        ],
        batches: vec![BatchLine {
            batch: 1,
            name: "Foundation".into(),
            stage: "building".into(),
            tickets: vec!["T-001".into(), "T-002".into()],
        }],
    }
}

fn start(dir: &Path) -> (ControlServer, Arc<Recorder>) {
    let rec = Arc::new(Recorder::default());
    let server = ControlServer::start(
        ServerConfig {
            dir: dir.to_path_buf(),
            write_token_file: true,
        },
        rec.clone(),
    )
    .unwrap();
    (server, rec)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn socket_and_token_are_private_and_random() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("leapfrog");
    let (server, _) = start(&dir);
    let ep = server.endpoint().clone();
    assert_eq!(ep.socket, dir.join("control.sock"));
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&ep.socket), 0o600);
    assert_eq!(mode(&dir.join("control.token")), 0o600);
    assert_eq!(
        std::fs::read_to_string(dir.join("control.token")).unwrap(),
        ep.token
    );
    assert_eq!(ep.token.len(), 64);
    assert!(ep.token.chars().all(|c| c.is_ascii_hexdigit()));
    server.shutdown();
    assert!(!ep.socket.exists());
    assert!(!dir.join("control.token").exists());

    // Each launch makes a new token.
    let (again, _) = start(&dir);
    assert_ne!(again.endpoint().token, ep.token);
}

#[test]
fn every_request_reaches_the_handler_as_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, rec) = start(tmp.path());
    let client = ControlClient::new(server.endpoint().clone(), Some("builder".into()));
    let complete = CompleteRequest {
        batch: Some(1),
        phase: Some(PromptPhase::Build),
        verify: Some(Outcome::Passed),
        commits: vec!["a1b2c3d".into(), "e4f5a6b".into()],
        notes: None,
    };
    let handoff = HandoffRequest {
        batch: 2,
        tickets: vec!["T-004".into(), "T-005".into()],
        files: vec!["src/api.rs".into()],
        dependencies: Some("none".into()),
        verify_command: Some("sh verify.sh".into()),
        notes: Some("builder: go".into()),
    };
    let hook = HookRequest {
        event: "stop".into(),
        payload: serde_json::json!({"session_id": "s1", "hook_event_name": "Stop"}),
    };
    let rendered = report().render();
    let table: Vec<(Request, &str)> = vec![
        (Request::Complete(complete), "batch Some(1) recorded"),
        (Request::Handoff(handoff), "handed off"),
        (Request::Status, &rendered),
        (Request::Verify, "verify passed"),
        (Request::Hook(hook), ""),
    ];
    let expected: Vec<Request> = table.iter().map(|(r, _)| r.clone()).collect();
    let mut status_data = serde_json::Value::Null;
    for (req, msg) in table.clone() {
        let is_status = req == Request::Status;
        let reply = client.request(req).unwrap();
        assert_eq!(reply.message, msg);
        if is_status {
            status_data = reply.data;
        }
    }
    let seen = rec.seen();
    assert_eq!(
        seen.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
        expected
    );
    assert!(seen.iter().all(|(a, _)| a.as_deref() == Some("builder")));
    let back: StatusReport = serde_json::from_value(status_data).unwrap();
    assert_eq!(back, report());
}

#[test]
fn a_wrong_token_is_refused_and_reaches_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, rec) = start(tmp.path());
    let mut ep = server.endpoint().clone();
    ep.token = "0".repeat(64);
    let err = ControlClient::new(ep.clone(), None)
        .request(Request::Status)
        .unwrap_err();
    assert_eq!(
        err,
        ClientError::Refused("wrong token: this request is not from this Leapfrog launch".into())
    );
    // A prefix of the right token is wrong too.
    ep.token = server.endpoint().token[..63].to_string();
    assert!(matches!(
        ControlClient::new(ep, None).request(Request::Verify),
        Err(ClientError::Refused(_))
    ));
    assert!(rec.seen().is_empty());
}

/// Raw lines on one connection: each gets exactly one answer line.
#[test]
fn raw_protocol_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, rec) = start(tmp.path());
    let token = server.endpoint().token.clone();
    let stream = UnixStream::connect(&server.endpoint().socket).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let table: Vec<(String, &str)> = vec![
        (
            "not json".into(),
            r#"{"ok":false,"error":"request is not JSON: expected ident at line 1 column 2"}"#,
        ),
        (
            r#"{"op":"status"}"#.into(),
            r#"{"ok":false,"error":"wrong token: this request is not from this Leapfrog launch"}"#,
        ),
        (
            format!(r#"{{"token":"{token}","op":"dance"}}"#),
            r#"{"ok":false,"error":"bad request: unknown variant `dance`, expected one of `complete`, `handoff`, `status`, `verify`, `hook`, `open_project`, `review`"}"#,
        ),
        // An app whose handler does not open projects says so (the default of ControlHandler).
        (
            format!(r#"{{"token":"{token}","op":"open_project","path":"/src/shop"}}"#),
            r#"{"ok":false,"error":"this Leapfrog cannot open another project (/src/shop); close it and run leap start again"}"#,
        ),
        (
            format!(r#"{{"token":"{token}","v":2,"op":"status"}}"#),
            r#"{"ok":false,"error":"protocol version 2 is not supported (this app speaks 1)"}"#,
        ),
        (
            format!(r#"{{"token":"{token}","op":"handoff","batch":"x","tickets":[]}}"#),
            r#"{"ok":false,"error":"bad request: invalid type: string \"x\", expected u32"}"#,
        ),
        (
            format!(r#"{{"token":"{token}","op":"complete","batch":99}}"#),
            r#"{"ok":false,"error":"batch 99 does not exist"}"#,
        ),
        (
            format!(r#"{{"token":"{token}","op":"complete","batch":666}}"#),
            r#"{"ok":false,"error":"the app failed while handling this request"}"#,
        ),
        (
            format!(
                r#"{{"token":"{token}","agent":"designer","op":"complete","phase":"review","batch":1,"verify":"failed"}}"#
            ),
            r#"{"ok":true,"message":"batch Some(1) recorded"}"#,
        ),
        (
            format!(r#"{{"token":"{token}","op":"hook","event":"stop"}}"#),
            r#"{"ok":true,"message":""}"#,
        ),
    ];
    for (line, expect) in &table {
        writer.write_all(format!("{line}\n").as_bytes()).unwrap();
        let mut answer = String::new();
        reader.read_line(&mut answer).unwrap();
        assert_eq!(answer.trim_end(), *expect, "{line}");
    }
    let seen = rec.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0],
        (
            Some("designer".into()),
            Request::Complete(CompleteRequest {
                batch: Some(1),
                phase: Some(PromptPhase::Review),
                verify: Some(Outcome::Failed),
                ..Default::default()
            })
        )
    );
    assert_eq!(
        seen[1],
        (
            None,
            Request::Hook(HookRequest {
                event: "stop".into(),
                payload: serde_json::Value::Null
            })
        )
    );
}

#[test]
fn an_oversized_request_is_refused_and_the_server_lives_on() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, _) = start(tmp.path());
    let mut stream = UnixStream::connect(&server.endpoint().socket).unwrap();
    let big = vec![b'x'; (1 << 20) + 10];
    // The server may close before reading it all; ignore the write error then.
    let _ = stream.write_all(&big);
    let _ = stream.write_all(b"\n");
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).unwrap();
    assert_eq!(
        answer.trim_end(),
        r#"{"ok":false,"error":"request longer than 1048576 bytes"}"#
    );
    let reply = ControlClient::new(server.endpoint().clone(), None)
        .request(Request::Verify)
        .unwrap();
    assert_eq!(reply.message, "verify passed");
}

#[test]
fn one_app_per_socket_and_stale_sockets_are_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, _) = start(tmp.path());
    let err = ControlServer::start(
        ServerConfig {
            dir: tmp.path().to_path_buf(),
            write_token_file: true,
        },
        Arc::new(Recorder::default()),
    )
    .err()
    .unwrap();
    assert_eq!(
        err,
        format!(
            "another Leapfrog is already running (its control socket {} answers)",
            tmp.path().join("control.sock").display()
        )
    );
    drop(server);

    // A crashed app leaves its socket file behind: nobody answers it, so a new app takes over.
    let stale = tmp.path().join("control.sock");
    let listener = std::os::unix::net::UnixListener::bind(&stale).unwrap();
    drop(listener);
    assert!(stale.exists());
    let (server, _) = start(tmp.path());
    let reply = ControlClient::new(server.endpoint().clone(), None)
        .request(Request::Verify)
        .unwrap();
    assert_eq!(reply.message, "verify passed");
}

#[test]
fn clear_errors_when_no_app_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let sock = tmp.path().join("control.sock");
    let ep = Endpoint {
        socket: sock.clone(),
        token: "t".into(),
    };
    let err = ControlClient::new(ep, None)
        .request(Request::Status)
        .unwrap_err();
    assert_eq!(err, ClientError::NotRunning(sock.clone()));
    assert_eq!(
        err.to_string(),
        format!(
            "no Leapfrog app is running (nothing answers at {})",
            sock.display()
        )
    );
    assert_eq!(
        Endpoint::well_known_in(tmp.path()).unwrap_err(),
        ClientError::NotRunning(sock.clone())
    );

    // After shutdown the well-known endpoint is gone too.
    let (server, _) = start(tmp.path());
    let ep = Endpoint::well_known_in(tmp.path()).unwrap();
    assert_eq!(&ep, server.endpoint());
    server.shutdown();
    assert_eq!(
        ControlClient::new(ep, None).request(Request::Status),
        Err(ClientError::NotRunning(sock))
    );
}

#[test]
fn runtime_dir_and_env() {
    let table: &[(Option<&str>, Option<&str>, &str)] = &[
        (Some("/x/lf"), Some("/run/user/1000"), "/x/lf"),
        (None, Some("/run/user/1000"), "/run/user/1000/leapfrog"),
        (Some(""), Some(""), "/tmp/leapfrog-1000"),
        (None, Some("relative/dir"), "/tmp/leapfrog-1000"),
        (None, None, "/tmp/leapfrog-1000"),
    ];
    for (lf, xdg, expect) in table {
        assert_eq!(
            runtime_dir_from(*lf, *xdg, 1000),
            PathBuf::from(expect),
            "{lf:?} {xdg:?}"
        );
    }
    let ep = Endpoint {
        socket: "/run/user/1000/leapfrog/control.sock".into(),
        token: "abc".into(),
    };
    assert_eq!(
        agent_env(&ep, "builder"),
        vec![
            (
                "LEAPFROG_SOCKET".to_string(),
                "/run/user/1000/leapfrog/control.sock".to_string()
            ),
            // The agent's own token, derived from the launch's: it speaks only for builder.
            (
                "LEAPFROG_TOKEN".to_string(),
                leapfrog_engine::control::agent_token("abc", "builder")
            ),
            ("LEAPFROG_AGENT".to_string(), "builder".to_string()),
        ]
    );
    assert_ne!(
        leapfrog_engine::control::agent_token("abc", "builder"),
        leapfrog_engine::control::agent_token("abc", "designer")
    );
    assert_eq!(Endpoint::from_env_values(None, Some("abc")), Ok(None));
    assert_eq!(Endpoint::from_env_values(Some(""), None), Ok(None));
    assert_eq!(
        Endpoint::from_env_values(Some("/s"), None),
        Err("LEAPFROG_SOCKET is set but LEAPFROG_TOKEN is not".into())
    );
    assert_eq!(
        Endpoint::from_env_values(Some("/s"), Some("abc")),
        Ok(Some(Endpoint {
            socket: "/s".into(),
            token: "abc".into()
        }))
    );
}

#[test]
fn status_report_renders_for_humans() {
    assert_eq!(
        report().render(),
        "Project demo (leapfrog)\n\nAgents\n  designer  custom    working  design batch 2\n  builder   codex     idle\n\nBatches\n    1  building    Foundation  [T-001, T-002]\n"
    );
}

#[test]
fn a_fifo_or_a_symlink_in_the_inbox_is_removed_unread_and_later_reports_still_count() {
    use leapfrog_engine::control::protocol::Envelope;
    use leapfrog_engine::control::spool;
    let project = tempfile::tempdir().unwrap();
    let inbox = spool::project_inbox(project.path());
    std::fs::create_dir_all(&inbox).unwrap();
    let fifo = inbox.join("za-fifo.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    std::os::unix::fs::symlink("/dev/zero", inbox.join("zb-zero.json")).unwrap();
    std::fs::write(inbox.join("zc-huge.json"), vec![b' '; 2 << 20]).unwrap();
    let report = Request::Complete(CompleteRequest {
        batch: Some(1),
        ..Default::default()
    });
    let p = spool::write(
        &inbox,
        &Envelope {
            v: 1,
            token: "tok".into(),
            agent: Some("codex".into()),
            request: report.clone(),
        },
    )
    .unwrap();
    let rec = Recorder::default();
    // Would block forever on the FIFO, or read /dev/zero without end, before the fix.
    let answers = spool::drain(&inbox, "tok", &rec);
    let by_name: Vec<(String, bool, String)> = answers
        .iter()
        .map(|(path, r)| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                r.ok,
                r.error.clone().unwrap_or_default(),
            )
        })
        .collect();
    // The report (named by its time, so first), then the three refused.
    assert_eq!(by_name.len(), 4, "{by_name:?}");
    assert!(by_name[0].1, "{by_name:?}");
    assert_eq!(p.file_name().unwrap().to_string_lossy(), by_name[0].0);
    for (name, ok, error) in &by_name[1..] {
        assert!(!ok, "{name}");
        assert!(
            error.contains("not a regular file") || error.contains("too large"),
            "{name}: {error}"
        );
    }
    assert_eq!(rec.seen(), vec![(Some("codex".into()), report)]);
    assert_eq!(std::fs::read_dir(&inbox).unwrap().count(), 0);
}

#[test]
fn the_inbox_takes_reports_a_sandbox_keeps_from_the_socket() {
    use leapfrog_engine::control::protocol::Envelope;
    use leapfrog_engine::control::spool;
    let project = tempfile::tempdir().unwrap();
    let inbox = spool::project_inbox(project.path());
    assert_eq!(inbox, project.path().join(".leapfrog/inbox"));
    let env = |token: &str, agent: &str, req: Request| Envelope {
        v: 1,
        token: token.into(),
        agent: Some(agent.into()),
        request: req,
    };
    let first = Request::Complete(CompleteRequest {
        batch: Some(1),
        verify: Some(Outcome::Passed),
        commits: vec!["abc1234".into()],
        ..Default::default()
    });
    let second = Request::Handoff(HandoffRequest {
        batch: 2,
        tickets: vec!["T-003".into()],
        ..Default::default()
    });
    let p1 = spool::write(&inbox, &env("tok", "codex", first.clone())).unwrap();
    let p2 = spool::write(&inbox, &env("tok", "codex", second.clone())).unwrap();
    let p3 = spool::write(&inbox, &env("forged", "codex", Request::Verify)).unwrap();
    assert!(p1.to_string_lossy().ends_with("-complete.json"), "{p1:?}");
    // A file still being written, and a stray file, are left alone.
    std::fs::write(inbox.join(".x-complete.json.tmp"), "{").unwrap();
    std::fs::write(inbox.join("notes.txt"), "hi").unwrap();
    std::fs::write(inbox.join("zzz-broken.json"), "{not json").unwrap();

    let rec = Recorder::default();
    let answers = spool::drain(&inbox, "tok", &rec);
    let oks: Vec<bool> = answers.iter().map(|(_, r)| r.ok).collect();
    // Oldest first: both reports, the forged one refused, the broken one answered with an error.
    let names: Vec<PathBuf> = answers.iter().map(|(p, _)| p.clone()).collect();
    let mut sorted = vec![p1, p2, p3, inbox.join("zzz-broken.json")];
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(oks.iter().filter(|o| **o).count(), 2);
    assert_eq!(
        rec.seen(),
        vec![
            (Some("codex".into()), first),
            (Some("codex".into()), second)
        ]
    );
    let mut left: Vec<String> = std::fs::read_dir(&inbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, vec![".x-complete.json.tmp", "notes.txt"]);
    // Draining a missing inbox is nothing.
    assert!(spool::drain(&project.path().join("none"), "tok", &rec).is_empty());

    let ep = Endpoint {
        socket: "/s".into(),
        token: "t".into(),
    };
    let env = leapfrog_engine::control::agent_env_for_project(&ep, "codex", project.path());
    assert_eq!(
        env.last().unwrap(),
        &("LEAPFROG_SPOOL".to_string(), inbox.display().to_string())
    );
}

#[test]
fn many_agents_report_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, rec) = start(tmp.path());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let client = ControlClient::new(server.endpoint().clone(), Some(format!("agent-{t}")));
            std::thread::spawn(move || {
                for i in 0..50u32 {
                    let reply = client
                        .request(Request::Complete(CompleteRequest {
                            batch: Some(i + 1),
                            ..Default::default()
                        }))
                        .unwrap();
                    assert_eq!(reply.message, format!("batch Some({}) recorded", i + 1));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let seen = rec.seen();
    assert_eq!(seen.len(), 400);
    // Each agent's requests arrive in its own order.
    for t in 0..8 {
        let agent = format!("agent-{t}");
        let batches: Vec<u32> = seen
            .iter()
            .filter(|(a, _)| a.as_deref() == Some(agent.as_str()))
            .map(|(_, r)| match r {
                Request::Complete(c) => c.batch.unwrap(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(batches, (1..=50).collect::<Vec<_>>(), "{agent}");
    }
}
