//! Figures of the running app (not a test: it prints numbers).
//!
//! ```text
//! (cd ui && npm run build) && cargo build --release -p leapfrog -p leapfrog-e2e
//! cargo run --release -p leapfrog-e2e --bin app_bench -- [--mb 200] [--starts 3]
//! ```
//! or `.ci/bench`, which also runs the engine's `pty_throughput` with this run's (c) figure.
//!
//! - start: process spawn to the first painted prompt (the UI reports its first paint),
//!   best and median of `--starts` launches;
//! - memory: PSS of every process of the app (the shell process, WebKit's web and network
//!   processes; the panes' shells listed apart) with three idle panes;
//! - (c) xterm.js throughput: a pane runs the same flood as `pty_throughput`
//!   (`yes '<line>' | head -c N`) and the figure is bytes acknowledged by xterm.js's write
//!   callback per second, with the longest gap between animation frames seen meanwhile
//!   (the window's responsiveness), and the CPU time the app's processes spent meanwhile, per
//!   MB (where the time goes; unlike MB/s it barely moves when other work loads the machine).
//!
//! Runs the `leapfrog` binary next to this one (or `LEAPFROG_BIN`) in bench mode
//! (`LEAPFROG_BENCH=1`), under Xvfb when `DISPLAY` is unset.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use leapfrog_e2e::procs::{cpu_by_name, pss_by_process};
use leapfrog_e2e::{app_binary, shell_home, Display, Group, PROMPT};
use serde_json::Value;

/// The line `pty_throughput` floods with (kept identical so (c) compares with (a)).
const LINE: &str = "src/pane.rs:42:7: \x1b[1;32mok\x1b[0m frame coalesced \x1b[33m64 KiB\x1b[0m in 4 ms, mirror fed, sink called";

struct Running {
    group: Group,
    stdin: ChildStdin,
    events: mpsc::Receiver<Value>,
    spawned: Instant,
    _home: tempfile::TempDir,
}

fn launch(display: &Display, agents: &str) -> Result<Running> {
    let home = shell_home()?;
    let spawned = Instant::now();
    let mut group = Group::spawn(
        Command::new(app_binary()?)
            .env("DISPLAY", &display.name)
            .env("HOME", home.path())
            .env("SHELL", "/bin/bash")
            .env("LEAPFROG_BENCH", "1")
            .env("LEAPFROG_AGENTS", agents)
            .env("LEAPFROG_LOG", "warn")
            .current_dir(home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    )?;
    let stdout = group.0.stdout.take().context("app stdout")?;
    let stdin = group.0.stdin.take().context("app stdin")?;
    let (tx, events) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(json) = line.strip_prefix("BENCH ") {
                if let Ok(v) = serde_json::from_str::<Value>(json) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
            }
        }
    });
    Ok(Running {
        group,
        stdin,
        events,
        spawned,
        _home: home,
    })
}

impl Running {
    fn next(&self, event: &str, timeout: Duration) -> Result<(Value, Duration)> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .events
                .recv_timeout(left)
                .map_err(|_| anyhow!("no `{event}` from the app within {timeout:?}"))?;
            if v["event"] == event {
                return Ok((v, self.spawned.elapsed()));
            }
        }
    }

    fn pid(&self) -> u32 {
        self.group.0.id()
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

struct Args {
    mb: f64,
    starts: usize,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        mb: 200.0,
        starts: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--mb" => args.mb = value.parse().context("--mb")?,
            "--starts" => args.starts = value.parse().context("--starts")?,
            other => bail!("unknown argument {other} (known: --mb, --starts)"),
        }
    }
    if args.mb <= 0.0 || args.starts == 0 {
        bail!("--mb and --starts must be positive");
    }
    Ok(args)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let display = Display::get()?;
    println!("app: {}", app_binary()?.display());

    // Start-up: spawn to first painted prompt.
    let mut starts = Vec::new();
    for _ in 0..args.starts {
        let app = launch(&display, "design:claude,build:codex")?;
        let (v, wall) = app.next("first_paint", Duration::from_secs(60))?;
        starts.push(wall.as_secs_f64() * 1000.0);
        println!(
            "  start: first prompt painted {:.0} ms after spawn (app's own clock: {} ms since main)",
            wall.as_secs_f64() * 1000.0,
            v["ms"]
        );
        drop(app);
    }
    let best = starts.iter().cloned().fold(f64::INFINITY, f64::min);
    let med = median(&mut starts);

    // Memory with three idle panes, then the flood in one of them.
    let mut app = launch(&display, "design:claude,build:codex,review:claude")?;
    let mut painted = std::collections::HashSet::new();
    while painted.len() < 3 {
        let (v, _) = app.next("first_paint", Duration::from_secs(60))?;
        painted.insert(v["pane"].as_str().unwrap_or_default().to_string());
    }
    std::thread::sleep(Duration::from_secs(3));
    let procs = pss_by_process(app.pid())?;
    let mut by_name: HashMap<String, (usize, u64)> = HashMap::new();
    for (_, comm, pss) in &procs {
        let e = by_name.entry(comm.clone()).or_default();
        e.0 += 1;
        e.1 += pss;
    }
    let shells: u64 = procs.iter().filter(|p| p.1 == "bash").map(|p| p.2).sum();
    let total: u64 = procs.iter().map(|p| p.2).sum();
    let app_total = total - shells;
    let mut names: Vec<_> = by_name.into_iter().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.1 .1));

    let bytes = (args.mb * 1e6) as u64;
    // The line discipline turns each `\n` into `\r\n`: bytes reaching xterm.js.
    let expected = bytes + bytes / (LINE.len() as u64 + 1);
    let command = format!("yes '{LINE}' | head -c {bytes}");
    let cpu_before = cpu_by_name(app.pid())?;
    writeln!(app.stdin, "flood designer {expected} {command}")?;
    app.stdin.flush()?;
    let (flood, _) = app.next("flood", Duration::from_secs(600))?;
    let c = flood["mb_per_s"].as_f64().unwrap_or(0.0);
    let cpu_after = cpu_by_name(app.pid())?;
    let mut flood_cpu: Vec<(String, f64)> = cpu_after
        .iter()
        .map(|(name, t)| {
            (
                name.clone(),
                t - cpu_before.get(name).copied().unwrap_or(0.0),
            )
        })
        .collect();
    flood_cpu.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap());

    // Ctrl+C in the middle of `yes`: time until the prompt is back.
    writeln!(app.stdin, "flood builder 50000000000 yes")?;
    app.stdin.flush()?;
    std::thread::sleep(Duration::from_secs(3));
    writeln!(app.stdin, "interrupt builder {}", PROMPT.trim_end())?;
    app.stdin.flush()?;
    let (interrupt, _) = app.next("interrupt", Duration::from_secs(120))?;

    println!();
    println!(
        "Leapfrog app figures ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!(
        "  start to first painted prompt: best {best:.0} ms, median {med:.0} ms (target < 1000 ms)"
    );
    println!(
        "  memory, three idle panes: {:.1} MB PSS for the app's processes (target < 350 MB), {:.1} MB with the panes' shells",
        app_total as f64 / 1024.0,
        total as f64 / 1024.0
    );
    for (name, (n, pss)) in &names {
        println!("    {name:<20} x{n}  {:>7.1} MB", *pss as f64 / 1024.0);
    }
    println!(
        "  (c) xterm.js in the app: {c:.1} MB/s acknowledged ({:.0} MB in {:.1} s), longest frame gap {:.0} ms",
        flood["bytes"].as_f64().unwrap_or(0.0) / 1e6,
        flood["secs"].as_f64().unwrap_or(0.0),
        flood["max_frame_gap_ms"].as_f64().unwrap_or(0.0)
    );
    let flood_mb = flood["bytes"].as_f64().unwrap_or(0.0) / 1e6;
    let flood_secs = flood["secs"].as_f64().unwrap_or(0.0);
    for (name, secs) in &flood_cpu {
        println!(
            "    CPU during the flood: {name:<16} {secs:>6.1} s ({:>3.0} % of a core, {:.1} ms per MB)",
            100.0 * secs / flood_secs.max(1e-9),
            1000.0 * secs / flood_mb.max(1e-9)
        );
    }
    println!(
        "  Ctrl+C during `yes`: prompt back after {} ms{}",
        interrupt["ms"],
        if interrupt["prompt_back"] == true {
            ""
        } else {
            " (NOT back within 60 s)"
        }
    );
    println!("XTERM_MBPS={c:.2}");
    Ok(())
}
