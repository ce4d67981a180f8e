//! What the CLI's run tests share: a demo project in a temp folder, `leap run --headless` on it,
//! the orchestrator opened in-process, and waiting for its events.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leapfrog_engine::model::PhaseRun;
use leapfrog_engine::orchestrator::{EngineEvent, OpenOptions, Orchestrator};
use leapfrog_engine::store::{SledStore, Store};
use serde_json::Value;

pub const LEAP: &str = env!("CARGO_BIN_EXE_leap");
/// How long a run may take before the test gives up (a hang, not a speed check).
pub const PATIENCE: Duration = Duration::from_secs(240);

pub struct Project {
    pub _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub data: PathBuf,
    pub runtime: PathBuf,
}

/// `leap demo init` with `batches` batches (later ones cut from TICKETS.md) and demo agents at
/// `speed` (the builder at `builder_speed`).
pub fn demo(batches: u32, speed: f64, builder_speed: f64) -> Project {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let data = tmp.path().join("data");
    let o = Command::new(LEAP)
        .args(["demo", "init"])
        .arg(&dir)
        .args(["--leap", LEAP])
        .env("LEAPFROG_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tickets = std::fs::read_to_string(dir.join("TICKETS.md")).unwrap();
    if let Some(cut) = tickets.find(&format!("## Batch {}:", batches + 1)) {
        std::fs::write(dir.join("TICKETS.md"), &tickets[..cut]).unwrap();
    }
    let path = dir.join(".leapfrog/project.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for a in config["agents"].as_array_mut().unwrap() {
        let s = if a["id"] == "builder" {
            builder_speed
        } else {
            speed
        };
        a["args"] = serde_json::json!(["--speed", s.to_string()]);
    }
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    git(&dir, &["commit", "-qam", "test setup"]);
    // The agents' arguments changed since `demo init` approved them: approve them again.
    trust(&dir, &data);
    let runtime = tmp.path().join("rt");
    Project {
        _tmp: tmp,
        dir,
        data,
        runtime,
    }
}

/// `leap trust DIR --yes`: approves the project's commands as they are now.
pub fn trust(dir: &Path, data: &Path) {
    let o = Command::new(LEAP)
        .arg("trust")
        .arg(dir)
        .arg("--yes")
        .env("LEAPFROG_DATA_DIR", data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `git` in `dir`, which must succeed; its trimmed output.
pub fn git(dir: &Path, args: &[&str]) -> String {
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
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

pub fn leap_run(p: &Project, extra: &[&str]) -> Command {
    let mut c = Command::new(LEAP);
    c.arg("run")
        .arg(&p.dir)
        .arg("--headless")
        .args(["--timeout", &PATIENCE.as_secs().to_string()])
        .args(extra)
        .env("LEAPFROG_DATA_DIR", &p.data)
        .env("LEAPFROG_RUNTIME_DIR", &p.runtime)
        .env_remove("LEAPFROG_SOCKET")
        .env_remove("LEAPFROG_TOKEN");
    c
}

pub fn runs_in_store(p: &Project) -> Vec<PhaseRun> {
    let store = SledStore::open(p.data.join("db")).unwrap_or_else(|e| panic!("the store: {e}"));
    let project = store.projects().unwrap().remove(0);
    store.phase_runs(&project.id).unwrap()
}

pub fn wait_for(
    events: &Receiver<EngineEvent>,
    what: &str,
    mut f: impl FnMut(&EngineEvent) -> bool,
) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(e) if f(&e) => return,
            Ok(_) => {}
            Err(_) => panic!("gave up waiting for {what}"),
        }
    }
}

pub fn set_agent_args(p: &Project, agent: &str, extra: &[&str]) {
    let path = p.dir.join(".leapfrog/project.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for a in config["agents"].as_array_mut().unwrap() {
        if a["id"] == agent {
            let args = a["args"].as_array_mut().unwrap();
            args.extend(extra.iter().map(|s| Value::from(*s)));
        }
    }
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    trust(&p.dir, &p.data);
}

pub fn open_started(p: &Project) -> (Orchestrator, Receiver<EngineEvent>) {
    let store = Arc::new(SledStore::open(p.data.join("db")).unwrap());
    let mut opts = OpenOptions::new(&p.dir, store).unwrap();
    opts.data_dir = p.data.clone();
    opts.runtime_dir = p.runtime.clone();
    opts.write_token_file = false;
    opts.leap_program = LEAP.into();
    let orch = Orchestrator::open(opts).unwrap();
    let events = orch.subscribe();
    orch.start().unwrap();
    (orch, events)
}
