//! Dispatch latency and idle CPU of the orchestrator, with real `leap demo-agent` processes.
//!
//! ```text
//! cargo build --release -p leapfrog-cli
//! cargo run --release -p leapfrog-engine --example dispatch_bench [BATCHES] [SPEED]
//! ```
//!
//! * Dispatch latency: from an agent's completion signal (its `leap complete` / `leap handoff`
//!   reaching the control socket, or a HANDOFF/COMPLETE block) to the next prompt written into an
//!   agent, p50/p99 over a whole run (the engine measures it: `PhaseDispatched.latency_ms`). When
//!   the next prompt goes to the agent that just finished, this includes waiting for its idle edge.
//! * Idle CPU: this process (the orchestrator, its pane threads, the control server) over 10 s
//!   with 4 idle agents, from /proc/self/stat.
//!
//! The `leap` binary: `$LEAP`, else `leap` next to this example's directory (target/release).

use std::sync::Arc;
use std::time::{Duration, Instant};

use leapfrog_engine::orchestrator::{EngineEvent, OpenOptions, Orchestrator};
use leapfrog_engine::store::SledStore;

#[path = "support/leap_binary.rs"]
mod support;
use support::leap_binary;

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here (0-based, from state).
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let batches: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);
    let speed: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20.0);
    let leap = leap_binary()?;
    let tmp = std::env::temp_dir().join(format!("leapfrog-dispatch-bench-{}", std::process::id()));
    let dir = tmp.join("project");
    let status = std::process::Command::new(&leap)
        .args(["demo", "init"])
        .arg(&dir)
        .env("LEAPFROG_DATA_DIR", tmp.join("data"))
        .arg("--leap")
        .arg(&leap)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("leap demo init failed".into());
    }
    let mut tickets = String::from("# Tickets\n");
    for b in 1..=batches {
        tickets.push_str(&format!(
            "\n## Batch {b}: Part {b}\n\n### T-{b:03}: Piece {b}\n- **Status:** todo\n\nPiece {b}.\n"
        ));
    }
    std::fs::write(dir.join("TICKETS.md"), tickets).map_err(|e| e.to_string())?;
    let agent = |id: &str, role: &str, roles: &[&str]| {
        serde_json::json!({"id": id, "cli": "custom",
            "command": format!("{} demo-agent --role {role} --speed {speed}", leap.display()),
            "roles": roles})
    };
    let config = serde_json::json!({
        "name": "dispatch-bench", "verify": "sh verify.sh", "pattern": "specialist",
        "lookahead": 1, "sync_every": 4,
        "agents": [
            agent("designer", "designer", &["design"]),
            agent("reviewer", "reviewer", &["review", "qa"]),
            agent("builder", "builder", &["build", "fix"]),
            agent("builder2", "builder", &["build", "fix"]),
        ]
    });
    std::fs::write(
        dir.join(".leapfrog/project.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .map_err(|e| e.to_string())?;

    let store = Arc::new(SledStore::open(tmp.join("data/db")).map_err(|e| e.to_string())?);
    let mut opts = OpenOptions::new(&dir, store)?;
    opts.data_dir = tmp.join("data");
    // The bench wrote this project's commands itself.
    opts.trust = leapfrog_engine::orchestrator::TrustCheck::Vouched;
    opts.runtime_dir = tmp.join("rt");
    opts.write_token_file = false;
    opts.leap_program = leap.display().to_string();
    let orch = Orchestrator::open(opts)?;
    let events = orch.subscribe();
    let started = Instant::now();
    orch.start()?;
    let mut latencies = Vec::new();
    let mut completed_once = false;
    loop {
        match events.recv_timeout(Duration::from_secs(60)) {
            Ok(EngineEvent::PhaseCompleted { .. }) => completed_once = true,
            Ok(EngineEvent::PhaseDispatched { latency_ms, .. }) if completed_once => {
                latencies.push(latency_ms)
            }
            Ok(EngineEvent::Finished) => break,
            Ok(EngineEvent::Notification { message }) if message.contains("FAILED") => {
                return Err(message)
            }
            Ok(_) => {}
            Err(_) => {
                let s = orch.state();
                return Err(format!(
                    "the run did not finish in 60 s: {}",
                    serde_json::to_string(&s.agents).unwrap_or_default()
                ));
            }
        }
    }
    let run_secs = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    println!("run: {batches} batches, 4 demo agents at speed {speed}, finished in {run_secs:.1} s");
    println!(
        "dispatch latency (completion signal -> next prompt written), {} dispatches: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    // Let the last output settle, then measure.
    std::thread::sleep(Duration::from_secs(1));
    let (c0, t0) = (cpu_seconds(), Instant::now());
    std::thread::sleep(Duration::from_secs(10));
    let (c1, t1) = (cpu_seconds(), t0.elapsed());
    let s = orch.state();
    let idle = s
        .agents
        .iter()
        .filter(|a| a.status == leapfrog_engine::agents::AgentStatus::Idle)
        .count();
    println!(
        "idle CPU of the orchestrator with {idle} idle agents over {:.1} s: {:.3}% of one core",
        t1.as_secs_f64(),
        100.0 * (c1 - c0) / t1.as_secs_f64()
    );
    orch.stop();
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
