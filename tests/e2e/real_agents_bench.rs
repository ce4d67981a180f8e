//! Figures (not a test) of Leapfrog with the real CLIs, on the Specialist split (two Claude Code
//! sessions and Codex) against the scripted model endpoint:
//!
//! 1. Latency from an agent's turn end to its next prompt: the engine's own dispatch latency
//!    (signal to prompt written), and end to end, from the model's last answer of a turn to the
//!    next prompt reaching the model (the CLI's rendering, Leapfrog's idle detection, the paste,
//!    the Enter and the CLI's submit), where the next phase was already waiting.
//! 2. Status accuracy: the share of the run's time each agent's shown status (working or not)
//!    matches the script's ground truth (working from a prompt's first model request to the
//!    turn's final answer).
//! 3. Memory (PSS) of the app with the three real CLI sessions.
//!
//! `cargo build -p leapfrog -p leapfrog-cli && cargo run -p leapfrog-e2e --example real_agents_bench -- --batches 4`

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use leapfrog_e2e::agent_clis::{launch_team_app, leap_binary, team_of, AgentClis};
use leapfrog_e2e::model::LoggedRequest;
use leapfrog_e2e::procs::{process_tree, pss_by_process};
use serde_json::Value;

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The working intervals of each agent by the script: a prompt's first model request to the
/// request that got the turn's final answer (`text:`), in unix ms.
fn truth(requests: &[LoggedRequest]) -> BTreeMap<String, Vec<(u64, u64)>> {
    let mut turns: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for r in requests.iter().filter(|r| r.rule.is_some()) {
        let key = (r.agent.clone(), r.prompt.clone().unwrap_or_default());
        let e = turns.entry(key).or_insert((r.unix_ms, r.unix_ms));
        e.0 = e.0.min(r.unix_ms);
        e.1 = e.1.max(r.unix_ms);
    }
    let mut out: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    for ((agent, _), span) in turns {
        out.entry(agent).or_default().push(span);
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

fn main() -> Result<()> {
    let mut batches = 4u32;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--batches" => batches = args.next().context("--batches N")?.parse()?,
            other => bail!("unknown argument {other} (known: --batches N)"),
        }
    }
    let clis = AgentClis::find()?;
    println!(
        "real CLIs: {} · {}",
        AgentClis::version(&clis.claude)?,
        AgentClis::version(&clis.codex)?
    );

    // ---- 1 and 2: a headless run, its events stamped as they arrive.
    let tmp = tempfile::tempdir()?;
    let (endpoint, project, home) = team_of(tmp.path(), &clis, batches, true)?;
    let leap = leap_binary()?;
    let mut child = Command::new(&leap)
        .arg("run")
        .arg(&project)
        .args([
            "--headless",
            "--json",
            "--events",
            "--timeout",
            "900",
            "--trust",
        ])
        .env("HOME", &home)
        .env("LEAPFROG_DATA_DIR", tmp.path().join("data"))
        .env("LEAPFROG_RUNTIME_DIR", tmp.path().join("rt"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().context("stderr")?;
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| Some((unix_ms(), serde_json::from_str::<Value>(&l).ok()?)))
            .collect::<Vec<_>>()
    });
    let out = child.wait_with_output()?;
    let events = reader.join().expect("reader");
    if !out.status.success() {
        bail!("leap run failed: {:?}", events.last());
    }
    let (t0, t1) = (
        events.first().map(|e| e.0).unwrap_or(0),
        events.last().map(|e| e.0).unwrap_or(0),
    );
    println!(
        "headless run: {batches} batches in {:.1} s",
        (t1 - t0) as f64 / 1000.0
    );
    let requests = endpoint.requests();

    // Latency, the engine's: signal to prompt written.
    let mut dispatch: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (_, e) in events.iter().filter(|e| e.1["type"] == "phase_dispatched") {
        dispatch
            .entry(e["agent"].as_str().unwrap_or_default().to_string())
            .or_default()
            .push(e["latency_ms"].as_f64().unwrap_or(f64::NAN));
    }
    // End to end: a turn's final answer to the next prompt's first request, when that next
    // phase had been dispatched-ready (queued) before the turn ended: the agent's dispatch
    // latency was under 1 s, i.e. Leapfrog did not wait for work.
    let turns = truth(&requests);
    println!("\n  latency from a turn's end to the next prompt (ms)");
    println!(
        "  {:<10} {:>18} {:>26}",
        "agent", "engine p50 / max", "end to end p50 / min / max"
    );
    for (agent, spans) in &turns {
        let mut gaps: Vec<f64> = spans
            .windows(2)
            .map(|w| w[1].0.saturating_sub(w[0].1) as f64)
            .collect();
        let mut d = dispatch.get(agent).cloned().unwrap_or_default();
        let dmax = d.iter().cloned().fold(0.0, f64::max);
        let gmin = gaps.iter().cloned().fold(f64::INFINITY, f64::min);
        let gmax = gaps.iter().cloned().fold(0.0, f64::max);
        println!(
            "  {agent:<10} {:>8.1} / {:>7.1} {:>12.0} / {:>5.0} / {:>5.0}",
            median(&mut d),
            dmax,
            median(&mut gaps),
            gmin,
            gmax
        );
    }

    // Status accuracy over the run, at 10 ms steps.
    println!("\n  status accuracy (shown working-or-not vs the script's truth)");
    for (agent, spans) in &turns {
        let shown: Vec<(u64, bool)> = events
            .iter()
            .filter(|e| e.1["type"] == "agent_status" && e.1["agent"] == agent.as_str())
            .map(|e| (e.0, e.1["status"] == "working"))
            .collect();
        let (mut same, mut all) = (0u64, 0u64);
        let mut t = t0;
        while t < t1 {
            let working_truth = spans.iter().any(|(a, b)| *a <= t && t <= *b);
            let working_shown = shown
                .iter()
                .rev()
                .find(|(at, _)| *at <= t)
                .is_some_and(|s| s.1);
            same += u64::from(working_truth == working_shown);
            all += 1;
            t += 10;
        }
        println!(
            "  {agent:<10} {:>5.1} % of {:.1} s",
            100.0 * same as f64 / all.max(1) as f64,
            all as f64 / 100.0
        );
    }

    // ---- 3: the app with the three real CLI sessions.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let tmp = tempfile::tempdir()?;
        let (_endpoint, project, home) = team_of(tmp.path(), &clis, 1, true)?;
        let app = launch_team_app(tmp.path(), &project, &home).await?;
        app.client
            .wait()
            .at_most(Duration::from_secs(300))
            .for_element(fantoccini::Locator::Css("[data-testid='run-finished']"))
            .await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let mut by_name: BTreeMap<String, (usize, u64)> = BTreeMap::new();
        let tree = process_tree(app.driver_pid())?;
        for (_, comm, pss) in pss_by_process(app.driver_pid())? {
            if matches!(comm.as_str(), "tauri-driver" | "WebKitWebDriver") {
                continue;
            }
            let e = by_name.entry(comm).or_default();
            e.0 += 1;
            e.1 += pss;
        }
        let total: u64 = by_name.values().map(|v| v.1).sum();
        println!(
            "\n  memory (PSS) of the app and three real CLI sessions, idle after a run ({} processes)",
            tree.len()
        );
        for (name, (n, pss)) in &by_name {
            println!("    {name:<18} x{n} {:>8.1} MB", *pss as f64 / 1024.0);
        }
        println!("    {:<21} {:>8.1} MB", "total", total as f64 / 1024.0);
        app.close().await?;
        anyhow::Ok(())
    })?;
    Ok(())
}
