//! `leap init` and `leap start` on the real binary: detection, defaults, flags, adoption, errors; start
//! talks to a running app's control socket or spawns the app.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leapfrog_engine::control::server::ServerConfig;
use leapfrog_engine::control::{
    CompleteRequest, ControlHandler, ControlServer, HandoffRequest, HookRequest,
    OpenProjectRequest, Reply,
};
use leapfrog_engine::project::ProjectFile;
use leapfrog_engine::store::{SledStore, Store};

struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Env {
    /// A PATH with only git and the given fake CLIs; a private data dir and runtime dir.
    fn new(clis: &[(&str, &str)]) -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let bin = root.join("bin");
        fs::create_dir_all(&bin).unwrap();
        let git = leapfrog_engine::agents::find_on_path("git", std::env::var_os("PATH").as_deref())
            .expect("git on PATH");
        std::os::unix::fs::symlink(git, bin.join("git")).unwrap();
        for (name, version) in clis {
            let p = bin.join(name);
            fs::write(&p, format!("#!/bin/sh\necho '{version}'\n")).unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        fs::create_dir_all(root.join("runtime")).unwrap();
        Env { _tmp: tmp, root }
    }

    fn leap(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_leap"));
        cmd.args(args)
            .env("PATH", self.root.join("bin"))
            .env("LEAPFROG_DATA_DIR", self.root.join("data"))
            .env("LEAPFROG_RUNTIME_DIR", self.root.join("runtime"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("LEAPFROG_SOCKET")
            .env_remove("LEAPFROG_TOKEN")
            .env_remove("LEAPFROG_AGENT")
            .env_remove("LEAPFROG_APP");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn project(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.root.join(name);
        for (f, t) in files {
            let p = dir.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, t).unwrap();
        }
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

struct Case {
    clis: &'static [(&'static str, &'static str)],
    files: &'static [(&'static str, &'static str)],
    args: &'static [&'static str],
    /// Lines stdout must contain, in order.
    stdout: &'static [&'static str],
    /// (agent id, cli, command) in project.json.
    agents: &'static [(&'static str, &'static str, Option<&'static str>)],
    verify: Option<&'static str>,
}

#[test]
fn init_detects_and_writes_the_project() {
    let cases = [
        Case {
            clis: &[("claude", "2.1.0 (Claude Code)"), ("codex", "codex-cli 0.50.0")],
            files: &[("package.json", r#"{"scripts": {"test": "vitest"}}"#)],
            args: &[],
            stdout: &[
                "  git: initialised a new repository",
                "  pattern: leapfrog · lookahead 1 · sync point every 2 batches",
                "  agent designer: claude-code `claude` (2.1.0 (Claude Code)) [discovery, requirements, plan, design, review, qa]",
                "  agent builder: codex `codex` (codex-cli 0.50.0) [build, fix]",
                "  verify: npm test (from package.json)",
                "  TICKETS.md: created (1 batch, 1 ticket)",
                "  registered as app in ",
            ],
            agents: &[("designer", "claude-code", None), ("builder", "codex", None)],
            verify: Some("npm test"),
        },
        Case {
            clis: &[("claude", "2.1.0")],
            files: &[("go.mod", "module x\n")],
            args: &[
                "--pattern",
                "specialist",
                "--agent",
                "build=aider --yes",
                "--agent",
                "reviewer=sh review.sh",
                "--verify",
                "make check",
                "--lookahead",
                "0",
                "--sync-every",
                "3",
            ],
            stdout: &[
                "  pattern: specialist · no lookahead limit · sync point every 3 batches",
                "  agent designer: claude-code `claude` (2.1.0) [discovery, requirements, plan, design]",
                "  agent reviewer: custom `sh review.sh` (command given) [review, qa]",
                "  agent builder: aider `aider --yes` (not installed) [build, fix]",
                "  verify: make check",
            ],
            agents: &[
                ("designer", "claude-code", None),
                ("reviewer", "custom", Some("sh review.sh")),
                ("builder", "aider", None),
            ],
            verify: Some("make check"),
        },
        Case {
            clis: &[],
            files: &[],
            args: &["--pattern", "pipeline", "--no-git"],
            stdout: &[
                "  git: not a repository",
                "  agent designer: claude-code `claude` (not installed)",
                "  agent builder: codex `codex` (not installed)",
                "  verify: none (give one with --verify CMD)",
                "  note: no agent CLI",
            ],
            agents: &[("designer", "claude-code", None), ("builder", "codex", None)],
            verify: None,
        },
    ];
    for case in cases {
        let env = Env::new(case.clis);
        let dir = env.project("app", case.files);
        let mut args = vec!["init", dir.to_str().unwrap()];
        args.extend(case.args);
        let out = env.leap(&args, &[]);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let mut rest = stdout.as_str();
        for want in case.stdout {
            let at = rest
                .find(want)
                .unwrap_or_else(|| panic!("{args:?}: {want:?} not in order in\n{stdout}"));
            rest = &rest[at + want.len()..];
        }
        let file = ProjectFile::load(&dir).unwrap().expect("project.json");
        let agents: Vec<(String, String, Option<String>)> = file
            .agents
            .iter()
            .map(|a| (a.id.clone(), a.cli.as_str().to_string(), a.command.clone()))
            .collect();
        let want: Vec<(String, String, Option<String>)> = case
            .agents
            .iter()
            .map(|(i, c, m)| (i.to_string(), c.to_string(), m.map(str::to_string)))
            .collect();
        assert_eq!(agents, want, "{args:?}");
        assert_eq!(file.verify.as_deref(), case.verify, "{args:?}");
        assert_eq!(
            dir.join(".git").exists(),
            !case.args.contains(&"--no-git"),
            "{args:?}"
        );
        assert!(fs::read_to_string(dir.join("TICKETS.md"))
            .unwrap()
            .contains("### T-001:"));
        let store = SledStore::open(env.root.join("data/db")).unwrap();
        let listed: Vec<(String, PathBuf)> = store
            .projects()
            .unwrap()
            .into_iter()
            .map(|p| (p.id, p.repo_path))
            .collect();
        assert_eq!(listed, [("app".to_string(), dir.clone())], "{args:?}");
    }
}

#[test]
fn init_adopts_an_existing_tickets_file_byte_for_byte_and_json_reports_it() {
    let env = Env::new(&[]);
    let original = "# Roadmap\r\n\r\n## Sprint 1\r\n\r\n### ABC-12 — Login  \r\nStatus: Open";
    let dir = env.project("adopt", &[("TICKETS.md", original)]);
    let out = env.leap(&["init", dir.to_str().unwrap(), "--json"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["report"]["tickets"]["action"], "adopt");
    assert_eq!(json["report"]["tickets"]["tickets"], 1);
    assert_eq!(json["report"]["registered"], true);
    assert_eq!(json["plan"]["git_init"], true);
    assert_eq!(
        fs::read_to_string(dir.join("TICKETS.md")).unwrap(),
        original
    );
    // Again: still adopted, still identical, same id.
    let out = env.leap(&["init", dir.to_str().unwrap()], &[]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("  TICKETS.md: adopted as it is (1 batch, 1 ticket)"));
    assert!(text(&out.stdout).contains("  git: repository at "));
    assert_eq!(
        fs::read_to_string(dir.join("TICKETS.md")).unwrap(),
        original
    );
}

#[test]
fn init_qa_adds_a_qa_phase_after_every_review_and_says_so() {
    let env = Env::new(&[
        ("claude", "2.1.0 (Claude Code)"),
        ("codex", "codex-cli 0.50.0"),
    ]);
    for (name, args, qa) in [("plain", &[][..], false), ("with-qa", &["--qa"][..], true)] {
        let dir = env.project(name, &[]);
        let mut argv = vec!["init", dir.to_str().unwrap()];
        argv.extend(args);
        let out = env.leap(&argv, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let line = "  pattern: leapfrog · lookahead 1 · sync point every 2 batches";
        let want = if qa {
            format!("{line} · QA after each review\n")
        } else {
            format!("{line}\n")
        };
        assert!(text(&out.stdout).contains(&want), "{}", text(&out.stdout));
        let file = ProjectFile::load(&dir).unwrap().unwrap();
        assert_eq!(file.qa, qa);
        // Written only when on, so older files and tools read the same JSON.
        let json = fs::read_to_string(dir.join(".leapfrog/project.json")).unwrap();
        assert_eq!(json.contains("\"qa\": true"), qa, "{json}");
        assert!(!json.contains("\"qa\": false"), "{json}");
    }
}

#[test]
fn init_errors_are_one_line() {
    let env = Env::new(&[]);
    let dir = env.project("bad", &[]);
    let d = dir.to_str().unwrap();
    let file = env.project("f", &[("x.txt", "x")]).join("x.txt");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["init", d, "--agent", "builder"], "leap: --agent \"builder\": write ROLE=COMMAND, e.g. builder=codex\n"),
        (
            vec!["init", d, "--agent", "tester=codex"],
            "leap: no agent slot or role named \"tester\" in this pattern (slots: designer, builder; roles: discovery, requirements, plan, design, build, review, fix, qa)\n",
        ),
        (vec!["init", d, "--agent", "builder="], "leap: the command for builder is empty\n"),
        (
            vec!["init", file.to_str().unwrap()],
            "leap: ",
        ),
    ];
    for (args, want) in cases {
        let out = env.leap(&args, &[]);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with(want) && err.lines().count() == 1,
            "{args:?}: {err}"
        );
        assert!(!dir.join(".leapfrog").exists(), "{args:?} wrote");
    }
}

#[derive(Default)]
struct App {
    opened: Mutex<Vec<PathBuf>>,
    can_open: bool,
}

impl ControlHandler for App {
    fn complete(&self, _: Option<&str>, _: CompleteRequest) -> Result<Reply, String> {
        Err("unused".into())
    }
    fn handoff(&self, _: Option<&str>, _: HandoffRequest) -> Result<Reply, String> {
        Err("unused".into())
    }
    fn status(&self, _: Option<&str>) -> Result<Reply, String> {
        Err("unused".into())
    }
    fn verify(&self, _: Option<&str>) -> Result<Reply, String> {
        Err("unused".into())
    }
    fn hook(&self, _: Option<&str>, _: HookRequest) -> Result<Reply, String> {
        Err("unused".into())
    }
    fn open_project(&self, _: Option<&str>, req: OpenProjectRequest) -> Result<Reply, String> {
        if !self.can_open {
            return Err("busy".into());
        }
        let msg = format!("opened {}", req.path.display());
        self.opened.lock().unwrap().push(req.path);
        Ok(Reply::message(msg))
    }
}

fn serve(env: &Env, can_open: bool) -> (ControlServer, Arc<App>) {
    let app = Arc::new(App {
        can_open,
        ..Default::default()
    });
    let server = ControlServer::start(
        ServerConfig {
            dir: env.root.join("runtime"),
            write_token_file: true,
        },
        app.clone(),
    )
    .unwrap();
    (server, app)
}

#[test]
fn start_asks_the_running_app_to_open_the_project() {
    let env = Env::new(&[]);
    let dir = env.project("shop", &[]);
    let (server, app) = serve(&env, true);
    // A relative path is sent absolute.
    let out = Command::new(env!("CARGO_BIN_EXE_leap"))
        .args(["start", "shop"])
        .current_dir(&env.root)
        .env("LEAPFROG_RUNTIME_DIR", env.root.join("runtime"))
        .env_remove("LEAPFROG_SOCKET")
        .env_remove("LEAPFROG_TOKEN")
        .env("LEAPFROG_APP", "/nonexistent/leapfrog")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("opened {}\n", dir.display()));
    assert_eq!(
        app.opened.lock().unwrap().as_slice(),
        std::slice::from_ref(&dir)
    );
    server.shutdown();

    // An app that says no: its answer, one line, exit 1, nothing spawned.
    let (_server, _app) = serve(&env, false);
    let out = env.leap(
        &["start", dir.to_str().unwrap()],
        &[("LEAPFROG_APP", "/nonexistent/leapfrog")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).lines().count(),
        1,
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("busy"), "{}", text(&out.stderr));
}

fn wait_for(path: &Path) -> String {
    let start = Instant::now();
    loop {
        if let Ok(t) = fs::read_to_string(path) {
            if t.ends_with('\n') {
                return t;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn start_spawns_the_app_when_none_runs() {
    let env = Env::new(&[]);
    let dir = env.project("shop", &[(".leapfrog/project.json", r#"{"name": "shop"}"#)]);
    let record = env.root.join("spawned.txt");
    let app = env.root.join("bin/fake-leapfrog");
    fs::write(
        &app,
        format!(
            "#!/bin/sh\n{{ echo \"args=$*\"; echo \"cwd=$(pwd)\"; echo \"sid=$(ps -o sid= -p $$ | tr -d ' ')\"; echo \"pid=$$\"; }} > {}.tmp && mv {}.tmp {}\n",
            record.display(),
            record.display(),
            record.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&app, fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_leap"))
        .args(["start", dir.to_str().unwrap()])
        .env("LEAPFROG_RUNTIME_DIR", env.root.join("runtime"))
        .env_remove("LEAPFROG_SOCKET")
        .env_remove("LEAPFROG_TOKEN")
        .env("LEAPFROG_APP", &app)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("starting Leapfrog on {}\n", dir.display())
    );
    let rec = wait_for(&record);
    let get = |k: &str| {
        rec.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")).map(str::to_string))
            .unwrap_or_default()
    };
    assert_eq!(get("args"), dir.display().to_string());
    assert_eq!(get("cwd"), dir.display().to_string());
    // Detached: the app leads its own session.
    assert_eq!(get("sid"), get("pid"), "{rec}");

    // No app binary anywhere: said in words. A copy of `leap` alone in its folder, so no
    // `leapfrog` built beside the original counts as "next to leap".
    let lonely = env.root.join("lonely");
    fs::create_dir_all(&lonely).unwrap();
    fs::copy(env!("CARGO_BIN_EXE_leap"), lonely.join("leap")).unwrap();
    let out = Command::new(lonely.join("leap"))
        .args(["start", dir.to_str().unwrap()])
        .env("PATH", env.root.join("bin"))
        .env("LEAPFROG_DATA_DIR", env.root.join("data"))
        .env("LEAPFROG_RUNTIME_DIR", env.root.join("runtime"))
        .env_remove("LEAPFROG_SOCKET")
        .env_remove("LEAPFROG_TOKEN")
        .env_remove("LEAPFROG_APP")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr)
        .starts_with("leap: the Leapfrog app (leapfrog) is neither next to leap nor on PATH"));
    let out = env.leap(&["start", env.root.join("nope").to_str().unwrap()], &[]);
    assert_eq!(
        text(&out.stderr),
        format!(
            "leap: {} is not a folder\n",
            env.root.join("nope").display()
        )
    );
}

/// A window with no project running serves the engine's `Lobby` on its control socket: `leap start`
/// opens the project there instead of starting a second app, and the in-agent commands say in
/// words that nothing runs.
#[test]
fn start_reuses_a_window_with_no_project_running() {
    use leapfrog_engine::control::server::Lobby;
    let env = Env::new(&[]);
    let dir = env.project("shop", &[(".leapfrog/project.json", r#"{"name": "shop"}"#)]);
    let opened: Arc<Mutex<Vec<PathBuf>>> = Arc::default();
    let server = {
        let opened = opened.clone();
        ControlServer::start(
            ServerConfig {
                dir: env.root.join("runtime"),
                write_token_file: true,
            },
            Arc::new(Lobby::new(move |path: PathBuf| {
                let msg = format!("opened {} in the running Leapfrog", path.display());
                opened.lock().unwrap().push(path);
                Ok(msg)
            })),
        )
        .unwrap()
    };
    // An app binary that would record a second start.
    let record = env.root.join("spawned.txt");
    let app = env.root.join("bin/fake-leapfrog");
    fs::write(
        &app,
        format!("#!/bin/sh\necho \"$*\" > {}\n", record.display()),
    )
    .unwrap();
    fs::set_permissions(&app, fs::Permissions::from_mode(0o755)).unwrap();
    let app = app.to_str().unwrap();
    let out = env.leap(&["start", dir.to_str().unwrap()], &[("LEAPFROG_APP", app)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("opened {} in the running Leapfrog\n", dir.display())
    );
    assert_eq!(
        opened.lock().unwrap().as_slice(),
        std::slice::from_ref(&dir)
    );
    for args in [
        vec!["status"],
        vec!["verify"],
        vec!["complete", "--batch", "1"],
    ] {
        let out = env.leap(&args, &[("LEAPFROG_APP", app)]);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            text(&out.stderr),
            "leap: no project is running in this Leapfrog window (open one: leap start DIR)\n",
            "{args:?}"
        );
    }
    server.shutdown();
    // No second app was started (the fake one writes its record at once when run).
    assert!(!record.exists(), "a second app was started");
}
