//! The engine as a service under load: what issue 13 measures, without the window.
//!
//! ```text
//! cargo run --release -p leapfrog-engine --example service_bench -- [--mb 100] [--seconds 10]
//! ```
//!
//! The service runs in this process (`Service::start`, a real socket, a real sled store in a temp
//! dir, real PTYs); clients speak the wire protocol. Measured:
//! - **drain rate**: a child writes `--mb` MB of coloured log lines into its pane and times itself;
//!   the same child under a raw PTY reader that discards (the ceiling) against the same child as
//!   a service's agent, with no client, and with a client attached that reads everything. The
//!   ratio is raw time / service time. With a client: from the child's last byte to the client
//!   having it.
//! - **eight agents**: seven flood their panes with `yes` while a client attached to all eight
//!   types into the eighth (a raw-mode `cat`): keystroke to echo, p50 / p99 / max.
//! - **memory**: PSS of this process (the service and its clients; the agents are other
//!   processes) with the eight agents running.
//! - **idle**: eight idle agents, CPU of this process over `--seconds`.
//! - **attach**: a new client attaching to eight panes that each printed 3 000 lines: until every
//!   pane's screen frame has arrived.

#[path = "common/mod.rs"]
mod common;
use common::project;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use leapfrog_engine::service::{Incoming, Service, ServiceClient};

const LINE: &str = "src/pane.rs:42:7: \x1b[1;32mok\x1b[0m frame coalesced \x1b[33m64 KiB\x1b[0m in 4 ms, mirror fed, sink called";
const PATIENCE: Duration = Duration::from_secs(600);

fn flood_script(bytes: u64) -> String {
    format!(
        "while [ ! -e go ]; do sleep 0.02; done; s=$(date +%s%N); yes '{LINE}' | head -c {bytes}; e=$(date +%s%N); printf '\\nFLOODTIME %s %s\\n' $((e-s)) $e; stty -echo; exec cat >/dev/null"
    )
}

/// `FLOODTIME <ns> <end epoch ns>` in `text`.
fn flood_time(text: &str) -> Option<(u64, u128)> {
    let at = text.rfind("FLOODTIME ")?;
    let mut it = text[at + 10..].split_whitespace();
    let ns = it.next()?.parse().ok()?;
    let end = it
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    Some((ns, end))
}

fn epoch_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The child under a raw reader that discards: its own time for the flood.
fn raw(dir: &Path, bytes: u64) -> u64 {
    std::fs::write(dir.join("go"), "").unwrap();
    let (mut child, mut reader) = common::spawn_raw(dir, &flood_script(bytes));
    let mut buf = vec![0u8; 1 << 16];
    let mut tail = Vec::new();
    loop {
        let n = reader.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 4096 {
            tail.drain(..tail.len() - 4096);
        }
        if let Some((ns, _)) = flood_time(&String::from_utf8_lossy(&tail)) {
            let _ = child.kill();
            std::fs::remove_file(dir.join("go")).unwrap();
            return ns;
        }
    }
    panic!("the raw flood ended without its time");
}

struct Bench {
    _tmp: tempfile::TempDir,
    service: Service,
    client: ServiceClient,
}

fn service(tmp: tempfile::TempDir) -> Bench {
    let service = common::start_service(tmp.path());
    let client = ServiceClient::connect(service.paths()).unwrap();
    Bench {
        _tmp: tmp,
        service,
        client,
    }
}

/// A project of agents running `commands` (the first designs, the rest build).
fn screen_text(b: &Bench, project: &str, agent: &str) -> String {
    b.client
        .screen(project, agent)
        .map(|s| s.text())
        .unwrap_or_default()
}

fn wait_for_flood_time(b: &Bench, project: &str) -> u64 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some((ns, _)) = flood_time(&screen_text(b, project, "a0")) {
            return ns;
        }
        assert!(Instant::now() < deadline, "the flood never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn pss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/smaps_rollup")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time of this process (user + system), in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = stat.rsplit(") ").next().unwrap();
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let mut mb = 100.0;
    let mut seconds = 10u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--mb" => mb = args.next().and_then(|v| v.parse().ok()).expect("--mb N"),
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--seconds N")
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let bytes = (mb * 1e6) as u64;
    let mbps = |ns: u64| bytes as f64 / (ns as f64 / 1e9) / 1e6;

    // Drain rate.
    let tmp = tempfile::tempdir().unwrap();
    let raw_dir = project(tmp.path(), "raw", &[flood_script(bytes)]);
    let raw_ns = raw(&raw_dir, bytes);
    let b = service(tmp);
    let dir = project(
        b._tmp.path(),
        "drain",
        &[
            flood_script(bytes),
            "stty -echo; exec cat >/dev/null".into(),
        ],
    );
    let p = b.client.open(&dir, false, true).unwrap().project;
    std::fs::write(dir.join("go"), "").unwrap();
    let alone_ns = wait_for_flood_time(&b, &p);
    b.client
        .request(leapfrog_engine::service::ServiceRequest::Stop { project: p.clone() })
        .unwrap();
    std::fs::remove_file(dir.join("go")).unwrap();
    // Again, with a client attached that reads everything.
    let dir2 = project(
        b._tmp.path(),
        "drain2",
        &[
            flood_script(bytes),
            "stty -echo; exec cat >/dev/null".into(),
        ],
    );
    let p2 = b.client.open(&dir2, false, true).unwrap().project;
    let watcher = ServiceClient::connect(b.service.paths()).unwrap();
    let a = watcher.attach(&p2, "a0", 1000).unwrap();
    std::fs::write(dir2.join("go"), "").unwrap();
    let mut tail = Vec::new();
    let (attached_ns, latency_ms) = loop {
        match watcher.incoming().recv_timeout(PATIENCE).unwrap() {
            Incoming::Output { attachment, bytes }
            | Incoming::Screen {
                attachment, bytes, ..
            } if attachment == a => {
                tail.extend_from_slice(&bytes);
                if tail.len() > 4096 {
                    tail.drain(..tail.len() - 4096);
                }
                if let Some((ns, end)) = flood_time(&String::from_utf8_lossy(&tail)) {
                    break (ns, (epoch_ns().saturating_sub(end)) as f64 / 1e6);
                }
            }
            _ => {}
        }
    };
    b.client
        .request(leapfrog_engine::service::ServiceRequest::Stop { project: p2 })
        .unwrap();
    println!("drain rate, {mb} MB of coloured log lines (the child's own time):");
    println!("  raw PTY reader                 {:7.1} MB/s", mbps(raw_ns));
    println!(
        "  service, no client             {:7.1} MB/s  {:.2} x raw",
        mbps(alone_ns),
        raw_ns as f64 / alone_ns as f64
    );
    println!(
        "  service, a client reading all  {:7.1} MB/s  {:.2} x raw; the client had the last byte {latency_ms:.1} ms after the child wrote it",
        mbps(attached_ns),
        raw_ns as f64 / attached_ns as f64
    );

    // Eight agents: seven floods and a typist.
    let mut commands: Vec<String> = (0..7).map(|_| format!("yes '{LINE}'")).collect();
    commands.insert(0, "stty raw -echo; exec cat".into());
    let dir8 = project(b._tmp.path(), "eight", &commands);
    let p8 = b.client.open(&dir8, false, true).unwrap().project;
    let viewer = ServiceClient::connect(b.service.paths()).unwrap();
    let mut ids = HashMap::new();
    for i in 0..8 {
        ids.insert(viewer.attach(&p8, &format!("a{i}"), 1000).unwrap(), i);
    }
    let typist = *ids.iter().find(|(_, &i)| i == 0).unwrap().0;
    std::thread::sleep(Duration::from_secs(2));
    let mut echoes = Vec::new();
    let mut seen = String::new();
    for k in 0..200u32 {
        let mark = format!("<{k:04}>");
        let sent = Instant::now();
        viewer.input(typist, mark.as_bytes()).unwrap();
        loop {
            match viewer.incoming().recv_timeout(PATIENCE).unwrap() {
                Incoming::Output { attachment, bytes } if attachment == typist => {
                    seen.push_str(&String::from_utf8_lossy(&bytes));
                    if seen.contains(&mark) {
                        echoes.push(sent.elapsed().as_secs_f64() * 1e3);
                        seen.clear();
                        break;
                    }
                }
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    echoes.sort_by(f64::total_cmp);
    let pss = pss_kib();
    b.client
        .request(leapfrog_engine::service::ServiceRequest::Stop { project: p8 })
        .unwrap();
    println!("eight agents, seven flooding, a client attached to all eight:");
    println!(
        "  keystroke to echo in the eighth: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} keystrokes)",
        percentile(&echoes, 0.5),
        percentile(&echoes, 0.99),
        echoes.last().unwrap(),
        echoes.len()
    );
    println!(
        "  memory of the service and its clients (PSS): {:.0} MB",
        pss as f64 / 1024.0
    );

    // Idle, then attach.
    let printed: Vec<String> = (0..8)
        .map(|_| format!("seq 3000 | sed 's|^|{LINE} |'; stty -echo; exec cat >/dev/null"))
        .collect();
    let dir_idle = project(b._tmp.path(), "idle", &printed);
    let pi = b.client.open(&dir_idle, false, true).unwrap().project;
    std::thread::sleep(Duration::from_secs(5));
    let ticks = cpu_ticks();
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu = (cpu_ticks() - ticks) as f64 / hz / t.elapsed().as_secs_f64() * 100.0;
    println!("eight idle agents: {cpu:.2} % of a core over {seconds} s");
    let fresh = ServiceClient::connect(b.service.paths()).unwrap();
    let started = Instant::now();
    let mut pending: Vec<u32> = (0..8)
        .map(|i| fresh.attach(&pi, &format!("a{i}"), 1000).unwrap())
        .collect();
    let mut screen_bytes = 0;
    while !pending.is_empty() {
        if let Incoming::Screen {
            attachment, bytes, ..
        } = fresh.incoming().recv_timeout(PATIENCE).unwrap()
        {
            pending.retain(|&a| a != attachment);
            screen_bytes += bytes.len();
        }
    }
    println!(
        "attach to eight panes of 3 000 lines each: every screen received in {:.0} ms ({:.2} MB of screens)",
        started.elapsed().as_secs_f64() * 1e3,
        screen_bytes as f64 / 1e6
    );
    b.service.shutdown();
}
