//! What the service benches share (`#[path]`-included by `service_bench` and `drain_profile`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use leapfrog_engine::pty::PaneSize;
use leapfrog_engine::service::{Service, ServiceOptions};
use leapfrog_engine::store::SledStore;
use serde_json::json;

/// A service in `root` (its own runtime and data folders, a real sled store), panes 40x120.
pub fn start_service(root: &Path) -> Service {
    let data = root.join("data");
    let store = Arc::new(SledStore::open(data.join("db")).unwrap());
    Service::start(ServiceOptions {
        runtime_dir: root.join("rt"),
        data_dir: data,
        store,
        leap_program: "leap".into(),
        idle: None,
        home_dir: Some(root.to_path_buf()),
        pane_size: PaneSize::new(40, 120),
        clock: Arc::new(leapfrog_engine::orchestrator::SystemClock),
    })
    .unwrap()
}

/// `sh -c script` in `dir` under a raw PTY of 40x120 (no engine): the child and the PTY's reader.
pub fn spawn_raw(
    dir: &Path,
    script: &str,
) -> (
    Box<dyn portable_pty::Child + Send + Sync>,
    Box<dyn std::io::Read + Send>,
) {
    let pair = portable_pty::native_pty_system()
        .openpty(portable_pty::PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = portable_pty::CommandBuilder::new("sh");
    cmd.args(["-c", script]);
    cmd.cwd(dir);
    cmd.env("TERM", "xterm-256color");
    let child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    (child, pair.master.try_clone_reader().unwrap())
}

/// A project in `root/name` whose agents run `commands` (the first designs and reviews).
pub fn project(root: &Path, name: &str, commands: &[String]) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join(".leapfrog")).unwrap();
    std::fs::write(
        dir.join("TICKETS.md"),
        "# Tickets\n\n## Batch 1: One\n\n### T-001: First\n- **Status:** todo\n",
    )
    .unwrap();
    let agents: Vec<serde_json::Value> = commands
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "id": format!("a{i}"),
                "cli": "custom",
                "command": format!("sh -c \"{}\"", c.replace('"', "\\\"")),
                "roles": if i == 0 { json!(["design", "review"]) } else { json!(["build", "fix"]) },
            })
        })
        .collect();
    let config = json!({"name": name, "pattern": "leapfrog", "agents": agents});
    std::fs::write(
        dir.join(".leapfrog/project.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    dir
}
