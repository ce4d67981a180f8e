//! PTY throughput: how much of the raw PTY ceiling the engine's pane pipeline keeps.
//!
//! ```text
//! cargo run --release -p leapfrog-engine --example pty_throughput -- [--mb 200] [--runs 3] [--xterm-mbps X]
//! ```
//!
//! A child writes `--mb` megabytes of terminal-like text (`yes '<line with colour escapes>'
//! | head -c N`, cooked mode, so the line discipline turns `\n` into `\r\n`) into a PTY. Measured:
//! - (a) a raw PTY reader that discards (the ceiling),
//! - (b) the engine's pipeline up to the sink: reader thread, coalescer, screen mirror,
//!   sink, with a consumer thread acking every frame as soon as it gets it,
//! - (b') the same with the mirror off (what the mirror costs: it runs on its own thread
//!   but counts as a second consumer in flow control, so a flood goes no faster than it),
//! - the screen mirror (`pty::Screen`, alacritty_terminal) alone, parsing the same bytes from
//!   memory (with no scrollback, the default, and with 2000 lines, as agent panes keep).
//!
//! (c) xterm.js in the running app is measured by the shell's `app_bench`
//! (`tests/src/bin/app_bench.rs`, same flood, bytes acked by xterm.js per second); pass its
//! figure as `--xterm-mbps X` and it is printed with its ratio to (a), so all figures come
//! out in one table. `.ci/bench` runs both.
//!
//! Figures are MB/s (10^6 bytes) of bytes received from the PTY; the best of `--runs`.

use std::io::Read;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use leapfrog_engine::pty::{
    AckMode, Pane, PaneConfig, PaneEvent, PaneSize, Panes, Screen, SpawnSpec,
};
use portable_pty::{native_pty_system, CommandBuilder, PtySize};

/// Kept identical to `LINE` in `tests/src/bin/app_bench.rs`, so (c) compares with (a).
const LINE: &str = "src/pane.rs:42:7: \x1b[1;32mok\x1b[0m frame coalesced \x1b[33m64 KiB\x1b[0m in 4 ms, mirror fed, sink called";
const SIZE: PaneSize = PaneSize {
    rows: 50,
    cols: 200,
};

struct Args {
    bytes: u64,
    runs: usize,
    xterm_mbps: Option<f64>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        bytes: 200_000_000,
        runs: 3,
        xterm_mbps: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--mb" => {
                let mb: f64 = value()?.parse().map_err(|e| format!("--mb: {e}"))?;
                args.bytes = (mb * 1e6) as u64;
            }
            "--runs" => args.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--xterm-mbps" => {
                args.xterm_mbps = Some(value()?.parse().map_err(|e| format!("--xterm-mbps: {e}"))?)
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.runs == 0 || args.bytes == 0 {
        return Err("--mb and --runs must be positive".into());
    }
    Ok(args)
}

fn producer(bytes: u64) -> (String, Vec<String>) {
    (
        "sh".into(),
        vec!["-c".into(), format!("yes '{LINE}' | head -c {bytes}")],
    )
}

/// (a): portable-pty directly, one thread reading into a 64 KiB buffer and discarding.
/// Returns bytes, time and the number of reads.
fn raw_reader(bytes: u64) -> (u64, Duration, u64) {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: SIZE.rows,
            cols: SIZE.cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("openpty");
    let (prog, args) = producer(bytes);
    let mut cmd = CommandBuilder::new(prog);
    cmd.args(args);
    let start = Instant::now();
    let mut child = pair.slave.spawn_command(cmd).expect("spawn");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let mut buf = vec![0u8; 64 * 1024];
    let (mut total, mut reads) = (0u64, 0u64);
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                total += n as u64;
                reads += 1;
            }
        }
    }
    child.wait().expect("wait");
    (total, start.elapsed(), reads)
}

/// (b) / (b'): the engine's pane, a consumer thread acking each frame on arrival.
fn engine(bytes: u64, mirror: bool) -> (u64, Duration, String) {
    let config = PaneConfig {
        ack: AckMode::Consumer,
        mirror,
        ..PaneConfig::default()
    };
    let (prog, args) = producer(bytes);
    let spec = SpawnSpec::new(prog).args(args).size(SIZE);
    let panes = Panes::new();
    let (tx, rx) = mpsc::channel::<PaneEvent>();
    let start = Instant::now();
    let pane = panes
        .spawn(&spec, config, move |ev| {
            let _ = tx.send(ev);
        })
        .expect("spawn");
    let (mut total, mut frames) = (0u64, 0u64);
    for ev in rx {
        match ev {
            PaneEvent::Output(frame) => {
                total += frame.len() as u64;
                frames += 1;
                pane.ack(frame.len());
            }
            PaneEvent::Exit(_) => break,
        }
    }
    let elapsed = start.elapsed();
    let stats = Pane::stats(&pane);
    let note = format!(
        "(avg read {:.0} B; {frames} frames, avg {:.1} KiB; {} pauses, peak un-acked {} B)",
        stats.bytes_read as f64 / stats.reads.max(1) as f64,
        total as f64 / frames.max(1) as f64 / 1024.0,
        stats.pauses,
        stats.peak_unacked
    );
    (total, elapsed, note)
}

/// The mirror alone: the pane's screen parsing the same stream from memory, in 64 KiB frames.
fn mirror_alone(bytes: u64, scrollback: usize) -> (u64, Duration) {
    let line = format!("{LINE}\r\n");
    let mut data = line.repeat((bytes as usize / line.len()).max(1));
    data.truncate(bytes as usize);
    let mut screen = Screen::new(SIZE, scrollback).expect("screen");
    let start = Instant::now();
    for chunk in data.as_bytes().chunks(64 * 1024) {
        screen.process(chunk);
    }
    (data.len() as u64, start.elapsed())
}

fn mbps(total: u64, elapsed: Duration) -> f64 {
    total as f64 / 1e6 / elapsed.as_secs_f64()
}

/// One measured variant over several runs.
#[derive(Default)]
struct Figure {
    rates: Vec<f64>,
    total: u64,
    note: String,
}

impl Figure {
    fn add(&mut self, (total, elapsed, note): (u64, Duration, String)) {
        let rate = mbps(total, elapsed);
        if rate > self.best() {
            self.note = note;
        }
        self.rates.push(rate);
        self.total = total;
    }

    fn best(&self) -> f64 {
        self.rates.iter().copied().fold(0.0, f64::max)
    }

    fn median(&self) -> f64 {
        let mut r = self.rates.clone();
        r.sort_by(f64::total_cmp);
        r.get(r.len() / 2).copied().unwrap_or(0.0)
    }

    fn show(&self, label: &str, ceiling: Option<f64>) {
        let ratio = ceiling.map_or(String::new(), |c| {
            format!("  {:5.1}% of (a)", self.best() / c * 100.0)
        });
        println!(
            "{label:<38} {:7.1} MB/s (median {:5.1}){ratio}  {}",
            self.best(),
            self.median(),
            self.note
        );
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("pty_throughput: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "pty_throughput: {} MB of text through a {}x{} PTY, best of {} runs (variants interleaved)",
        args.bytes as f64 / 1e6,
        SIZE.rows,
        SIZE.cols,
        args.runs
    );
    let (mut raw, mut eng, mut nom) = (Figure::default(), Figure::default(), Figure::default());
    let mut mirror = [(0, Figure::default()), (2000, Figure::default())];
    for _ in 0..args.runs {
        raw.add({
            let (t, e, reads) = raw_reader(args.bytes);
            (
                t,
                e,
                format!("(avg read {:.0} B)", t as f64 / reads.max(1) as f64),
            )
        });
        eng.add(engine(args.bytes, true));
        nom.add(engine(args.bytes, false));
        for (scrollback, fig) in &mut mirror {
            let (t, e) = mirror_alone(args.bytes, *scrollback);
            fig.add((t, e, String::new()));
        }
    }
    println!("bytes received per run: {}", raw.total);
    raw.show("(a)  raw PTY reader, discard", None);
    eng.show("(b)  engine pipeline to the sink", Some(raw.best()));
    nom.show("(b') same, mirror off", Some(raw.best()));
    for (scrollback, fig) in &mirror {
        fig.show(
            &format!("     mirror alone, memory, scrollback {scrollback}"),
            None,
        );
    }
    // (c) is measured in the running app (xterm.js rendering, acks from its write callback)
    // by the shell's end-to-end run, which passes its figure here.
    match args.xterm_mbps {
        Some(x) => println!(
            "{:<38} {x:7.1} MB/s  {:5.1}% of (a)",
            "(c)  xterm.js in the app",
            x / raw.best() * 100.0
        ),
        None => println!(
            "(c)  xterm.js in the app: pass --xterm-mbps X (measured by the app's e2e run)"
        ),
    }
}
