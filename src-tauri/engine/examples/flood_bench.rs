//! Peak memory of a headless run under floods: a verify that prints 300 MB, and an agent that
//! prints 300 MB into its pane, each in `leap run --headless` on the demo project (one batch).
//!
//! ```text
//! cargo build --release -p leapfrog-cli
//! cargo run --release -p leapfrog-engine --example flood_bench [MB]
//! ```
//!
//! Prints, for each flood, the peak RSS of the `leap run` process (VmHWM, read from /proc every
//! 20 ms until it exits) and how long the run took, next to a run with no flood. The `leap`
//! binary: `$LEAP`, else `leap` next to this example's directory (target/release).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/leap_binary.rs"]
mod support;
use support::leap_binary;

/// VmHWM of `pid` in KiB, while it runs.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A one-batch demo project in `dir`, with `change` applied to its project.json.
fn project(leap: &Path, root: &Path, change: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let dir = root.join("project");
    let ok = Command::new(leap)
        .args(["demo", "init"])
        .arg(&dir)
        .arg("--leap")
        .arg(leap)
        .env("LEAPFROG_DATA_DIR", root.join("data"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "leap demo init failed");
    let tickets = std::fs::read_to_string(dir.join("TICKETS.md")).unwrap();
    let cut = tickets.find("## Batch 2:").unwrap_or(tickets.len());
    std::fs::write(dir.join("TICKETS.md"), &tickets[..cut]).unwrap();
    let path = dir.join(".leapfrog/project.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for a in config["agents"].as_array_mut().unwrap() {
        a["args"] = serde_json::json!(["--speed", "20"]);
    }
    change(&mut config);
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    dir
}

/// Runs the project headless; (peak RSS in MiB, seconds).
fn run(leap: &Path, root: &Path, dir: &Path) -> (f64, f64) {
    let started = Instant::now();
    let mut child = Command::new(leap)
        .arg("run")
        .arg(dir)
        .args(["--headless", "--trust", "--json", "--timeout", "1800"])
        .env("LEAPFROG_DATA_DIR", root.join("data"))
        .env("LEAPFROG_RUNTIME_DIR", root.join("rt"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("leap run");
    let mut peak = 0;
    loop {
        if let Some(kib) = peak_kib(child.id()) {
            peak = peak.max(kib);
        }
        if let Ok(Some(status)) = child.try_wait() {
            assert!(status.success(), "leap run failed: {status}");
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (peak as f64 / 1024.0, started.elapsed().as_secs_f64())
}

fn main() -> Result<(), String> {
    let mb: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300);
    let leap = leap_binary()?;
    let bytes = mb * 1_000_000;
    type Change = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(String, Change)> = vec![
        ("no flood".into(), Box::new(|_| {})),
        (
            format!("verify prints {mb} MB"),
            Box::new(move |c| {
                c["verify"] = format!("yes | head -c {bytes}; sh verify.sh").into();
            }),
        ),
        (
            format!("builder prints {mb} MB into its pane"),
            Box::new(move |c| {
                let builder = c["agents"]
                    .as_array_mut()
                    .unwrap()
                    .iter_mut()
                    .find(|a| a["id"] == "builder")
                    .unwrap();
                let command = builder["command"].as_str().unwrap().to_string();
                builder["command"] =
                    format!("sh -c 'yes | head -c {bytes}; exec {command} --speed 20'").into();
                builder["args"] = serde_json::json!([]);
            }),
        ),
    ];
    println!("headless run of one demo batch (`leap run --headless`), peak RSS of leap:");
    for (name, change) in cases {
        let root = tempfile::tempdir().map_err(|e| e.to_string())?;
        let dir = project(&leap, root.path(), change);
        let (peak, secs) = run(&leap, root.path(), &dir);
        println!("  {name:<40} peak {peak:>7.1} MiB  in {secs:>6.1} s");
    }
    Ok(())
}
