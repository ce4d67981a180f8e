//! `leap demo init` and `leap demo-agent`, driven in real PTYs in a real git repository.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leapfrog_engine::agents::prompts::PromptPhase;
use leapfrog_engine::agents::{detect_screen_status, AgentProfile, AgentStatus};
use leapfrog_engine::control::server::ServerConfig;
use leapfrog_engine::control::{
    CompleteRequest, ControlHandler, ControlServer, HandoffRequest, HookRequest, Outcome, Reply,
    Request,
};
use leapfrog_engine::model::CliKind;
use portable_pty::{native_pty_system, CommandBuilder, PtySize};

const LEAP: &str = env!("CARGO_BIN_EXE_leap");
/// How long a condition may take before the test gives up (a hang, not a speed check).
const PATIENCE: Duration = Duration::from_secs(60);

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn demo_project() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let o = Command::new(LEAP)
        .args(["demo", "init"])
        .arg(&dir)
        .env("LEAPFROG_DATA_DIR", dir.with_file_name("data"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (tmp, dir)
}

#[test]
fn demo_init_makes_a_valid_project() {
    let (_tmp, dir) = demo_project();
    // A clean repository with one commit, its identity local to the repo.
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");
    assert_eq!(git(&dir, &["rev-list", "--count", "HEAD"]).trim(), "1");
    assert_eq!(
        git(&dir, &["config", "--local", "user.email"]).trim(),
        "demo@leapfrog.invalid"
    );
    // The verify command passes as shipped.
    let o = Command::new("sh")
        .arg("verify.sh")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "verify: ok\n");

    // TICKETS.md: batches 1..4 in order, 2-3 tickets each, ids T-001.. in order, each with a status.
    let tickets = std::fs::read_to_string(dir.join("TICKETS.md")).unwrap();
    assert!(tickets.starts_with("# Tickets\n\n> Synced with Leapfrog."));
    let mut batches: Vec<(u32, Vec<String>)> = Vec::new();
    let lines: Vec<&str> = tickets.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("## Batch ") {
            let n: u32 = rest.split(':').next().unwrap().parse().unwrap();
            batches.push((n, Vec::new()));
        } else if let Some(rest) = line.strip_prefix("### ") {
            let id = rest.split(':').next().unwrap().to_string();
            assert_eq!(lines[i + 1], "- **Status:** todo", "{id}");
            batches.last_mut().unwrap().1.push(id);
        }
    }
    assert_eq!(
        batches.iter().map(|b| b.0).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert!(batches.iter().all(|(_, t)| (2..=3).contains(&t.len())));
    let ids: Vec<String> = batches.iter().flat_map(|b| b.1.clone()).collect();
    let expected: Vec<String> = (1..=ids.len()).map(|n| format!("T-{n:03}")).collect();
    assert_eq!(ids, expected);
    assert!(tickets.ends_with('\n') && !tickets.ends_with("\n\n"));
    assert!(!tickets.lines().any(|l| l.ends_with(' ')));

    // The project config: two demo agents, leapfrog, lookahead 1, sync every 2.
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(".leapfrog/project.json")).unwrap())
            .unwrap();
    assert_eq!(config["pattern"], "leapfrog");
    assert_eq!(config["lookahead"], 1);
    assert_eq!(config["sync_every"], 2);
    assert_eq!(config["verify"], "sh verify.sh");
    let agents: Vec<AgentProfile> = serde_json::from_value(config["agents"].clone()).unwrap();
    assert_eq!(agents.len(), 2);
    for (a, role) in agents.iter().zip(["designer", "builder"]) {
        a.validate().unwrap();
        assert_eq!(a.cli, CliKind::Custom);
        assert_eq!(a.id, role);
        // The agents call the `leap` that made the project, by its absolute path: they find it
        // whether or not it is on PATH.
        let leap = std::path::Path::new(LEAP).canonicalize().unwrap();
        assert_eq!(
            a.command.as_deref(),
            Some(format!("{} demo-agent --role {role}", leap.display()).as_str())
        );
    }

    // A second init into the same directory is refused.
    let o = Command::new(LEAP)
        .args(["demo", "init"])
        .arg(&dir)
        .env("LEAPFROG_DATA_DIR", dir.with_file_name("data"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "leap: {} is not empty; give a new or empty directory\n",
            dir.display()
        )
    );
}

// ---------------------------------------------------------------------------------------------
// A demo agent in a PTY

struct PtyAgent {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    output: Arc<Mutex<Vec<u8>>>,
    screen: Arc<Mutex<vt100::Parser>>,
    last_change: Arc<Mutex<Instant>>,
}

impl PtyAgent {
    fn spawn(dir: &Path, args: &[&str], env: &[(String, String)]) -> PtyAgent {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows: 40,
                cols: 110,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(LEAP);
        cmd.arg("demo-agent");
        cmd.args(args);
        cmd.cwd(dir);
        for k in ["LEAPFROG_SOCKET", "LEAPFROG_TOKEN", "LEAPFROG_AGENT"] {
            cmd.env_remove(k);
        }
        cmd.env("LEAPFROG_RUNTIME_DIR", "/nonexistent/leapfrog-test");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(40).unwrap(),
            std::num::NonZeroU16::new(110).unwrap(),
            0,
        )));
        let last_change = Arc::new(Mutex::new(Instant::now()));
        {
            let (output, screen, last_change) =
                (output.clone(), screen.clone(), last_change.clone());
            std::thread::spawn(move || {
                let _master = pair.master;
                let mut buf = [0u8; 4096];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            output.lock().unwrap().extend_from_slice(&buf[..n]);
                            screen.lock().unwrap().process(&buf[..n]);
                            *last_change.lock().unwrap() = Instant::now();
                        }
                    }
                }
            });
        }
        PtyAgent {
            child,
            writer,
            output,
            screen,
            last_change,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    fn screen(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Waits until `pred` holds on everything printed so far.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            if pred(&self.text()) {
                return;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "gave up waiting for {what}; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn count(&self, needle: &str) -> usize {
        self.text().matches(needle).count()
    }

    fn wait_idle_prompts(&self, n: usize) {
        self.wait_for(&format!("{n} idle prompts"), |t| {
            t.matches("paste a Leapfrog prompt").count() >= n
        });
    }

    fn paste(&mut self, prompt: &str) {
        self.writer
            .write_all(format!("\x1b[200~{prompt}\x1b[201~\r").as_bytes())
            .unwrap();
        self.writer.flush().unwrap();
    }

    fn type_keys(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Status as the screen detector reads it now.
    fn screen_status(&self) -> AgentStatus {
        let since = self.last_change.lock().unwrap().elapsed();
        detect_screen_status(CliKind::Custom, &self.screen(), since).status
    }

    fn quit(mut self) {
        self.type_keys("\x04");
        let status = self.child.wait().unwrap();
        assert!(status.success(), "exit: {status:?}\n{}", self.text());
    }
}

/// The app side for the demo agents: records what they report.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(Option<String>, Request)>>,
}

impl Recorder {
    fn push(&self, agent: Option<&str>, r: Request) -> Result<Reply, String> {
        self.seen
            .lock()
            .unwrap()
            .push((agent.map(str::to_string), r));
        Ok(Reply::message("recorded by the test app"))
    }
    fn seen(&self) -> Vec<(Option<String>, Request)> {
        self.seen.lock().unwrap().clone()
    }
}

impl ControlHandler for Recorder {
    fn complete(&self, agent: Option<&str>, req: CompleteRequest) -> Result<Reply, String> {
        self.push(agent, Request::Complete(req))
    }
    fn handoff(&self, agent: Option<&str>, req: HandoffRequest) -> Result<Reply, String> {
        self.push(agent, Request::Handoff(req))
    }
    fn status(&self, agent: Option<&str>) -> Result<Reply, String> {
        self.push(agent, Request::Status)
    }
    fn verify(&self, agent: Option<&str>) -> Result<Reply, String> {
        self.push(agent, Request::Verify)
    }
    fn hook(&self, agent: Option<&str>, req: HookRequest) -> Result<Reply, String> {
        self.push(agent, Request::Hook(req))
    }
}

fn env_for(server: &ControlServer, agent: &str) -> Vec<(String, String)> {
    leapfrog_engine::control::agent_env(server.endpoint(), agent)
}

fn commits_of(dir: &Path) -> Vec<(String, String)> {
    git(dir, &["log", "--format=%h%x09%s"])
        .lines()
        .map(|l| {
            let (h, s) = l.split_once('\t').unwrap();
            (h.to_string(), s.to_string())
        })
        .collect()
}

fn hash_of(dir: &Path, subject: &str) -> String {
    commits_of(dir)
        .into_iter()
        .find(|(_, s)| s == subject)
        .unwrap_or_else(|| panic!("no commit {subject:?}"))
        .0
}

/// A real control socket in a temp runtime dir that records what agents report.
fn recording_server() -> (tempfile::TempDir, Arc<Recorder>, ControlServer) {
    let rt = tempfile::tempdir().unwrap();
    let rec = Arc::new(Recorder::default());
    let server = ControlServer::start(
        ServerConfig {
            dir: rt.path().to_path_buf(),
            write_token_file: false,
        },
        rec.clone(),
    )
    .unwrap();
    (rt, rec, server)
}

/// A leapfrog round with both demo agents side by side: the builder builds batch 1 while the designer
/// designs batch 2; the designer's first review of batch 1 fails (scripted), the builder fixes, the
/// second review passes. Everything is reported to a real control socket.
#[test]
fn two_demo_agents_leapfrog_through_a_batch() {
    let (_tmp, dir) = demo_project();
    let (_rt, rec, server) = recording_server();

    let mut builder = PtyAgent::spawn(
        &dir,
        &["--role", "builder", "--speed", "20"],
        &env_for(&server, "builder"),
    );
    let mut designer = PtyAgent::spawn(
        &dir,
        &["--role", "designer", "--speed", "20", "--fail-batches", "1"],
        &env_for(&server, "designer"),
    );
    builder.wait_idle_prompts(1);
    designer.wait_idle_prompts(1);
    assert_eq!(builder.screen_status_after_quiet(), AgentStatus::Idle);

    // Both at once, as the seed's Leapfrog pattern does.
    builder.paste("Read TICKETS.md. Execute Batch 1 only.\nWhen done, run `leap complete --batch 1 --verify passed|failed`.");
    designer.paste("Read TICKETS.md. Design Batch 2 only. Don't wait for Batch 1 to be built.");
    builder.wait_for("the builder at work", |t| t.contains("esc to interrupt"));
    builder.wait_idle_prompts(2);
    designer.wait_idle_prompts(2);

    let b = builder.text();
    assert!(b.contains("inside Leapfrog as agent builder"), "{b}");
    assert!(b.contains("## COMPLETE — Batch 1 Done"), "{b}");
    assert!(b.contains("Tickets completed: T-001, T-002"), "{b}");
    assert!(b.contains("Verify: PASSED"), "{b}");
    assert!(b.contains("recorded by the test app"), "{b}");
    let d = designer.text();
    assert!(d.contains("## HANDOFF — Batch 2 Ready"), "{d}");
    assert!(d.contains("Tickets: T-003, T-004, T-005"), "{d}");

    // The repository holds their work, committed, nothing left over.
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");
    let t1 = hash_of(&dir, "T-001: Greeting script");
    let t2 = hash_of(&dir, "T-002: Usage text");
    hash_of(&dir, "Design Batch 2: T-003, T-004, T-005");
    assert_eq!(
        std::fs::read_to_string(dir.join("src/t-001.sh")).unwrap(),
        "#!/bin/sh\n# T-001: Greeting script (Batch 1)\necho \"T-001: Greeting script\"\n"
    );
    let tickets = std::fs::read_to_string(dir.join("TICKETS.md")).unwrap();
    assert!(tickets.contains(
        "### T-004: Repeat option\n- **Status:** todo\n- **Depends on:** T-001\n- **Files:** `src/t-004.sh`\n"
    ));
    assert_eq!(tickets.matches("**Acceptance criteria**").count(), 3);
    assert!(dir.join("docs/design/batch-2.md").exists());

    // The review: fails first (scripted), the builder fixes, the second review passes.
    designer.paste("Review the Batch 1 diff against its tickets in TICKETS.md.");
    designer.wait_idle_prompts(3);
    assert!(designer.text().contains("## REVIEW — Batch 1 FAILED"));
    builder.paste("Fix Batch 1: its review failed. Findings: no usage line.");
    builder.wait_idle_prompts(3);
    designer.paste("Review the Batch 1 diff against its tickets in TICKETS.md.");
    designer.wait_idle_prompts(4);
    assert!(designer.text().contains("## REVIEW — Batch 1 PASSED"));
    let fix1 = hash_of(&dir, "T-001: fix after the review of Batch 1");
    let fix2 = hash_of(&dir, "T-002: fix after the review of Batch 1");
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");

    // What the app received, per agent, in order.
    let seen = rec.seen();
    let of = |agent: &str| -> Vec<Request> {
        seen.iter()
            .filter(|(a, _)| a.as_deref() == Some(agent))
            .map(|(_, r)| r.clone())
            .collect()
    };
    assert_eq!(
        of("builder"),
        vec![
            Request::Complete(CompleteRequest {
                batch: Some(1),
                phase: Some(PromptPhase::Build),
                verify: Some(Outcome::Passed),
                commits: vec![t1, t2],
                notes: None,
            }),
            Request::Complete(CompleteRequest {
                batch: Some(1),
                phase: Some(PromptPhase::Fix),
                verify: Some(Outcome::Passed),
                commits: vec![fix1, fix2],
                notes: None,
            }),
        ]
    );
    let designer_seen = of("designer");
    assert_eq!(designer_seen.len(), 3);
    assert_eq!(
        designer_seen[0],
        Request::Handoff(HandoffRequest {
            batch: 2,
            tickets: vec!["T-003".into(), "T-004".into(), "T-005".into()],
            files: vec![
                "src/t-003.sh".into(),
                "src/t-004.sh".into(),
                "src/t-005.sh".into()
            ],
            dependencies: Some("none".into()),
            verify_command: Some("sh verify.sh".into()),
            notes: None,
        })
    );
    let verdicts: Vec<(Option<PromptPhase>, Option<Outcome>)> = designer_seen[1..]
        .iter()
        .map(|r| match r {
            Request::Complete(c) => (c.phase, c.verify),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        verdicts,
        vec![
            (Some(PromptPhase::Review), Some(Outcome::Failed)),
            (Some(PromptPhase::Review), Some(Outcome::Passed)),
        ]
    );

    assert_eq!(designer.screen_status_after_quiet(), AgentStatus::Idle);
    builder.quit();
    designer.quit();
}

impl PtyAgent {
    /// The screen status once output has been quiet for the detector's QUIET period.
    fn screen_status_after_quiet(&self) -> AgentStatus {
        let quiet = leapfrog_engine::agents::screen::QUIET;
        self.wait_for("a quiet screen", |_| {
            self.last_change.lock().unwrap().elapsed() > quiet
        });
        self.screen_status()
    }
}

#[test]
fn typed_prompts_interrupts_and_outside_leapfrog() {
    let (_tmp, dir) = demo_project();
    // Slow enough to interrupt: a build takes minutes at this speed.
    let mut agent = PtyAgent::spawn(&dir, &["--role", "builder", "--speed", "0.01"], &[]);
    agent.wait_idle_prompts(1);
    // Typing with a typo and backspaces, then Enter.
    agent.type_keys("Read TICKETS.md. Execute Batch 2x\x7f only.\r");
    agent.wait_for("work to start", |t| {
        t.contains("Read TICKETS.md. Execute Batch 2 only.") && t.contains("esc to interrupt")
    });
    assert_eq!(agent.screen_status(), AgentStatus::Working);
    assert!(agent.screen().contains("esc to interrupt"));
    // Ctrl-C interrupts the work and returns to the prompt.
    agent.type_keys("\x03");
    agent.wait_idle_prompts(2);
    assert!(agent.text().contains("Interrupted"));
    assert_eq!(agent.count("## COMPLETE"), 0);

    // An unknown prompt is answered, not worked on.
    agent.paste("hello, who are you?");
    agent.wait_idle_prompts(3);
    assert!(agent.text().contains("I understand Leapfrog prompts"));
    agent.quit();

    // Outside Leapfrog the report is printed only, and the work is still committed.
    let mut fast = PtyAgent::spawn(&dir, &["--role", "builder", "--speed", "50"], &[]);
    fast.wait_idle_prompts(1);
    fast.paste("Read TICKETS.md. Execute Batch 3 only.");
    fast.wait_idle_prompts(2);
    let t = fast.text();
    assert!(
        t.contains("not inside Leapfrog (LEAPFROG_SOCKET unset): report printed only"),
        "{t}"
    );
    assert!(
        t.contains("leap complete --batch 3 --verify passed --commits "),
        "{t}"
    );
    hash_of(&dir, "T-006: JSON output");
    hash_of(&dir, "T-007: Quiet mode");
    assert!(t.contains("standalone (LEAPFROG_SOCKET unset)"), "{t}");
    // A preamble phase from the default template: a doc, committed.
    let discovery = leapfrog_engine::agents::prompts::PromptTemplates::default()
        .render(PromptPhase::Discovery, &Default::default())
        .unwrap();
    fast.paste(&discovery);
    fast.wait_idle_prompts(3);
    assert!(fast.text().contains("leap complete --phase discovery"));
    hash_of(&dir, "Discovery: docs/DISCOVERY.md");
    // Any agent reviews when asked: a built batch passes, an unbuilt one fails.
    fast.paste("Review the Batch 3 diff against its tickets in TICKETS.md.");
    fast.wait_idle_prompts(4);
    fast.paste("Review the Batch 4 diff against its tickets in TICKETS.md.");
    fast.wait_idle_prompts(5);
    let t = fast.text();
    assert!(t.contains("## REVIEW — Batch 3 PASSED"), "{t}");
    assert!(!t.contains("inside Leapfrog as"), "{t}");
    assert!(t.contains("## REVIEW — Batch 4 FAILED"), "{t}");
    assert!(
        t.contains("Findings: no commits found for the tickets of Batch 4"),
        "{t}"
    );
    fast.quit();
}

/// The wiring the app does, end to end: the project's agent profiles -> build_launch -> a PTY with
/// the control env -> the default prompt templates -> reports on the socket.
#[test]
fn project_profiles_launch_and_default_prompts_drive_the_demo_agents() {
    use leapfrog_engine::agents::launch::{build_launch, LaunchContext, SessionPlan};
    use leapfrog_engine::agents::prompts::{PromptContext, PromptTemplates};

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let o = Command::new(LEAP)
        .args(["demo", "init"])
        .arg(&dir)
        .env("LEAPFROG_DATA_DIR", dir.with_file_name("data"))
        .args(["--leap", LEAP])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(".leapfrog/project.json")).unwrap())
            .unwrap();
    let profiles: Vec<AgentProfile> = serde_json::from_value(config["agents"].clone()).unwrap();

    let (rt, rec, server) = recording_server();

    let templates = PromptTemplates::for_project(&dir).unwrap();
    let ctx = |agent: &str, batch| PromptContext {
        batch: Some(batch),
        agent: agent.into(),
        tickets_file: "TICKETS.md".into(),
        verify_command: config["verify"].as_str().unwrap().into(),
        leap: "leap".into(),
        tickets: None,
        notes: Some("T-001 lacks a usage line".into()),
        diff: None,
        context: None,
    };

    let mut agents = Vec::new();
    for p in &profiles {
        let spec = build_launch(
            p,
            &LaunchContext {
                project_dir: dir.clone(),
                agent_dir: rt.path().join("agents").join(&p.id),
                leap_program: LEAP.into(),
                session: SessionPlan::fresh(),
            },
        )
        .unwrap();
        spec.write_files().unwrap();
        assert_eq!(spec.program, LEAP);
        assert_eq!(spec.cwd, dir);
        // Start it as the app would: the spec's program and args, the control env; speed it up.
        let mut args: Vec<&str> = spec.args.iter().map(String::as_str).collect();
        assert_eq!(args.remove(0), "demo-agent");
        args.extend(["--speed", "25"]);
        let mut env = leapfrog_engine::control::agent_env(server.endpoint(), &p.id);
        env.extend(spec.env.clone());
        agents.push((p.id.clone(), PtyAgent::spawn(&spec.cwd, &args, &env)));
    }
    let (designer, builder) = match &mut agents[..] {
        [(d, designer), (b, builder)] if d == "designer" && b == "builder" => (designer, builder),
        _ => panic!("the demo project's agents are designer and builder"),
    };
    designer.wait_idle_prompts(1);
    builder.wait_idle_prompts(1);

    // design(1) -> build(1) while design(2) -> review(1).
    designer.paste(
        &templates
            .render(PromptPhase::Design, &ctx("designer", 1))
            .unwrap(),
    );
    designer.wait_idle_prompts(2);
    builder.paste(
        &templates
            .render(PromptPhase::Build, &ctx("builder", 1))
            .unwrap(),
    );
    designer.paste(
        &templates
            .render(PromptPhase::Design, &ctx("designer", 2))
            .unwrap(),
    );
    builder.wait_idle_prompts(2);
    designer.wait_idle_prompts(3);
    designer.paste(
        &templates
            .render(PromptPhase::Review, &ctx("designer", 1))
            .unwrap(),
    );
    designer.wait_idle_prompts(4);

    let summary: Vec<(String, String)> = rec
        .seen()
        .into_iter()
        .map(|(agent, r)| {
            let what = match r {
                Request::Handoff(h) => format!("handoff {} {}", h.batch, h.tickets.join(",")),
                Request::Complete(c) => format!(
                    "complete {} {} {} commits={}",
                    c.batch.unwrap_or(0),
                    c.phase.map(|p| p.as_str()).unwrap_or("-"),
                    c.verify.map(|v| v.as_str()).unwrap_or("-"),
                    c.commits.len()
                ),
                other => format!("{other:?}"),
            };
            (agent.unwrap_or_default(), what)
        })
        .collect();
    let of = |agent: &str| -> Vec<String> {
        summary
            .iter()
            .filter(|(a, _)| a == agent)
            .map(|(_, w)| w.clone())
            .collect()
    };
    assert_eq!(
        of("designer"),
        vec![
            "handoff 1 T-001,T-002",
            "handoff 2 T-003,T-004,T-005",
            "complete 1 review passed commits=0"
        ]
    );
    assert_eq!(of("builder"), vec!["complete 1 build passed commits=2"]);
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");
    for (_, a) in agents {
        a.quit();
    }
}

/// `--ask-before-edit`: a permission prompt before each file the builder edits. The screen reads
/// needs-input, the Notification hook reaches the app, `y` goes on, `n` stops the phase.
#[test]
fn asking_before_edits_waits_for_the_answer() {
    let (_tmp, dir) = demo_project();
    let (_rt, rec, server) = recording_server();
    let mut builder = PtyAgent::spawn(
        &dir,
        &["--role", "builder", "--speed", "20", "--ask-before-edit"],
        &env_for(&server, "builder"),
    );
    builder.wait_idle_prompts(1);
    builder.paste("Read TICKETS.md. Execute Batch 1 only.");
    let asked = |n: usize| move |t: &str| t.matches("? [y/n]").count() >= n;
    builder.wait_for("the first question", asked(1));
    assert!(
        builder
            .screen()
            .contains("Allow edit to src/t-001.sh? [y/n]"),
        "{}",
        builder.screen()
    );
    assert_eq!(builder.screen_status(), AgentStatus::NeedsInput);
    // The hook is sent before the agent waits, so it is recorded by now... once the request returns.
    builder.wait_for("the hook", |_| {
        rec.seen()
            .iter()
            .any(|(_, r)| matches!(r, Request::Hook(_)))
    });
    let hooks: Vec<(Option<String>, HookRequest)> = rec
        .seen()
        .into_iter()
        .filter_map(|(a, r)| match r {
            Request::Hook(h) => Some((a, h)),
            _ => None,
        })
        .collect();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0].0.as_deref(), Some("builder"));
    assert_eq!(hooks[0].1.event, "notification");
    let reading =
        leapfrog_engine::agents::status::status_from_hook(&hooks[0].1.event, &hooks[0].1.payload);
    assert_eq!(
        reading.observation.map(|o| o.status),
        Some(AgentStatus::NeedsInput)
    );
    // Nothing is written before the answer.
    assert!(!dir.join("src/t-001.sh").exists());

    builder.type_keys("y");
    builder.wait_for("the second question", asked(2));
    assert!(builder.text().contains("allowed: edit to src/t-001.sh"));
    hash_of(&dir, "T-001: Greeting script");
    assert!(builder
        .screen()
        .contains("Allow edit to src/t-002.sh? [y/n]"));
    assert_eq!(builder.screen_status(), AgentStatus::NeedsInput);

    // `n` stops the phase: no report, back at the prompt, the first edit kept, the second not made.
    builder.type_keys("n");
    builder.wait_idle_prompts(2);
    let t = builder.text();
    assert!(t.contains("not allowed: edit to src/t-002.sh"), "{t}");
    assert!(t.contains("Interrupted"), "{t}");
    assert_eq!(builder.count("## COMPLETE"), 0);
    assert!(!dir.join("src/t-002.sh").exists());
    // The answered question is gone from the screen: it no longer reads needs-input.
    assert!(!builder.screen().contains("[y/n]"), "{}", builder.screen());
    assert_eq!(builder.screen_status_after_quiet(), AgentStatus::Idle);
    assert!(!rec
        .seen()
        .iter()
        .any(|(_, r)| matches!(r, Request::Complete(_))));
    builder.quit();
}
