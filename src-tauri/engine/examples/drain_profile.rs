//! Where the service's CPU goes while an agent floods its pane: `service_bench`'s drain phase
//! alone, with each thread's CPU time.
//!
//! ```text
//! cargo run --release -p leapfrog-engine --example drain_profile -- [--mb 100] [--client] [--runs 1] [--wait-screen] [--raw] [--load P]
//! ```
//!
//! A child writes `--mb` MB of coloured log lines into an agent's pane in a service running in
//! this process (no client, or with `--client` one that reads everything) and times itself. Printed:
//! the child's rate, and the CPU time of each thread of this process over the flood (from
//! `/proc/self/task/*/stat`), by name (`pty-read-N`, `pty-deliver-N`, `pty-mirror-N`, the
//! orchestrator's loop, the service's client threads). Run it under `perf record` to see inside
//! the threads; the drain starts when the file `go` appears, after the service is up. With
//! `--raw`, each run first times the same child under a raw PTY reader (as `service_bench`), so
//! the ratio compares runs made seconds apart.
//!
//! With `--load P` (and `--raw`), a thread of this process keeps P % of a core busy (busy for
//! P % of every 8 ms, asleep for the rest) during the service's flood, and each run times the
//! raw reader twice: alone, then beside the same load. The second figure is what P % of a core of
//! any other work (a window drawing the pane, say) costs the child's rate on this machine even
//! with nothing of Leapfrog in the way.

#[path = "common/mod.rs"]
mod common;
use common::project;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use leapfrog_engine::service::{Incoming, ServiceClient};

const LINE: &str = "src/pane.rs:42:7: \x1b[1;32mok\x1b[0m frame coalesced \x1b[33m64 KiB\x1b[0m in 4 ms, mirror fed, sink called";

fn flood_script(bytes: u64) -> String {
    format!(
        "while [ ! -e go ]; do sleep 0.02; done; s=$(date +%s%N); yes '{LINE}' | head -c {bytes}; e=$(date +%s%N); echo $((e-s)) > floodtime; printf '\\nFLOODTIME %s\\n' $((e-s)); stty -echo; exec cat >/dev/null"
    )
}

fn flood_time(text: &str) -> Option<u64> {
    let at = text.rfind("FLOODTIME ")?;
    text[at + 10..]
        .split_whitespace()
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()
}

/// The same child under a raw PTY reader that discards (the ceiling): its own time.
fn raw(dir: &Path, bytes: u64) -> u64 {
    use std::io::Read;
    let _ = std::fs::remove_file(dir.join("floodtime"));
    std::fs::write(dir.join("go"), "").unwrap();
    let (mut child, mut reader) = common::spawn_raw(dir, &flood_script(bytes));
    let mut buf = vec![0u8; 1 << 16];
    loop {
        if reader.read(&mut buf).unwrap_or(0) == 0 {
            panic!("the raw flood ended without its time");
        }
        if let Some(ns) = std::fs::read_to_string(dir.join("floodtime"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            let _ = child.kill();
            std::fs::remove_file(dir.join("go")).unwrap();
            std::fs::remove_file(dir.join("floodtime")).unwrap();
            return ns;
        }
    }
}

/// Keeps `percent` % of a core busy until dropped (busy for that share of every [`LOAD_PERIOD`],
/// asleep for the rest), as a window drawing a pane would, in its own thread.
struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const LOAD_PERIOD: Duration = Duration::from_millis(8);

impl Load {
    fn start(percent: f64) -> Load {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let busy = LOAD_PERIOD.mul_f64(percent / 100.0);
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("load".into())
            .spawn(move || {
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    let start = Instant::now();
                    while start.elapsed() < busy {
                        std::hint::spin_loop();
                    }
                    std::thread::sleep(LOAD_PERIOD.saturating_sub(busy));
                }
            })
            .unwrap();
        Load {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// CPU ticks of each thread of this process, summed by name (digits dropped: one entry per kind).
fn thread_ticks() -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name: String = stat[open + 1..close]
            .chars()
            .filter(|c| !c.is_ascii_digit())
            .collect();
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let ticks = f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
        *out.entry(name).or_default() += ticks;
    }
    out
}

fn main() {
    let mut mb = 100.0;
    let mut client = false;
    let mut runs = 1;
    let mut wait_screen = false;
    let mut with_raw = false;
    let mut load: Option<f64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--mb" => mb = args.next().and_then(|v| v.parse().ok()).expect("--mb N"),
            "--client" => client = true,
            "--wait-screen" => wait_screen = true,
            "--raw" => with_raw = true,
            "--load" => load = Some(args.next().and_then(|v| v.parse().ok()).expect("--load P")),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let bytes = (mb * 1e6) as u64;
    let tmp = tempfile::tempdir().unwrap();
    let service = common::start_service(tmp.path());
    let c = ServiceClient::connect(service.paths()).unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    for run in 0..runs {
        let dir = project(
            tmp.path(),
            &format!("drain{run}"),
            &[
                flood_script(bytes),
                "stty -echo; exec cat >/dev/null".into(),
            ],
        );
        let raw_ns = with_raw.then(|| raw(&dir, bytes));
        let raw_loaded_ns = load.filter(|_| with_raw).map(|percent| {
            let _load = Load::start(percent);
            raw(&dir, bytes)
        });
        let p = c.open(&dir, false, true).unwrap().project;
        let watcher = ServiceClient::connect(service.paths()).unwrap();
        let attachment = client.then(|| watcher.attach(&p, "a0", 1000).unwrap());
        // The run's events, as a window gets them: counted over the flood.
        watcher.subscribe(&p).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        while watcher.incoming().try_recv().is_ok() {}
        let mut events: BTreeMap<String, usize> = BTreeMap::new();
        let mut count = |event: &leapfrog_engine::orchestrator::EngineEvent| {
            let name = format!("{event:?}");
            let kind = name.split([' ', '(', '{']).next().unwrap_or("").to_string();
            *events.entry(kind).or_default() += 1;
        };
        let load_beside = load.map(Load::start);
        let before = thread_ticks();
        let started = Instant::now();
        std::fs::write(dir.join("go"), "").unwrap();
        let mut tail = Vec::new();
        let ns = loop {
            if let Some(a) = attachment {
                match watcher.incoming().recv_timeout(Duration::from_secs(600)) {
                    Ok(Incoming::Output { attachment, bytes })
                    | Ok(Incoming::Screen {
                        attachment, bytes, ..
                    }) if attachment == a => {
                        tail.extend_from_slice(&bytes);
                        if tail.len() > 4096 {
                            tail.drain(..tail.len() - 4096);
                        }
                        if let Some(ns) = flood_time(&String::from_utf8_lossy(&tail)) {
                            break ns;
                        }
                    }
                    Ok(Incoming::Event { event, .. }) => count(&event),
                    _ => {}
                }
            } else {
                // The child's own record of its time (the pane's screen shows it too, once the
                // mirror has parsed everything: `--wait-screen` waits for that instead).
                let ns = if wait_screen {
                    let text = c.screen(&p, "a0").map(|s| s.text()).unwrap_or_default();
                    flood_time(&text)
                } else {
                    std::fs::read_to_string(dir.join("floodtime"))
                        .ok()
                        .and_then(|t| t.trim().parse().ok())
                };
                if let Some(ns) = ns {
                    break ns;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        let wall = started.elapsed().as_secs_f64();
        let after = thread_ticks();
        drop(load_beside);
        while let Ok(i) = watcher.incoming().try_recv() {
            if let Incoming::Event { event, .. } = i {
                count(&event);
            }
        }
        c.request(leapfrog_engine::service::ServiceRequest::Stop { project: p })
            .unwrap();
        println!(
            "{} MB {}: child {:.1} MB/s ({:.2} s), wall {:.2} s",
            mb,
            if client { "with a client" } else { "no client" },
            bytes as f64 / (ns as f64 / 1e9) / 1e6,
            ns as f64 / 1e9,
            wall
        );
        if let Some(raw_ns) = raw_ns {
            println!(
                "  raw PTY reader: {:.1} MB/s; service {:.2} x raw",
                bytes as f64 / (raw_ns as f64 / 1e9) / 1e6,
                raw_ns as f64 / ns as f64
            );
            if let (Some(loaded), Some(percent)) = (raw_loaded_ns, load) {
                println!(
                    "  raw PTY reader beside a {percent} % load: {:.1} MB/s, {:.2} x raw alone; service (beside it too) {:.2} x raw alone",
                    bytes as f64 / (loaded as f64 / 1e9) / 1e6,
                    raw_ns as f64 / loaded as f64,
                    raw_ns as f64 / ns as f64
                );
            }
        }
        let mut total = 0.0;
        let mut rows: Vec<(String, f64)> = after
            .iter()
            .map(|(name, t)| {
                let s = (t - before.get(name).copied().unwrap_or(0)) as f64 / hz;
                (name.clone(), s)
            })
            .filter(|(_, s)| *s > 0.0)
            .collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (name, s) in &rows {
            total += s;
            println!(
                "  {name:16} {s:6.2} s CPU  {:5.1} % of the wall",
                s / wall * 100.0
            );
        }
        println!("  {:16} {total:6.2} s CPU", "total");
        println!("  events to a subscriber during the flood: {events:?}");
    }
    service.shutdown();
}
