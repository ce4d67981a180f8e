//! Benchmark (not a test): an agent pane's drain rate with the window attached and the pane shown.
//!
//! ```text
//! bash .ci/ui-build && cargo build --release -p leapfrog -p leapfrog-cli \
//!   && cargo run --release -p leapfrog-e2e --example app_service_bench -- [--mb 100] [--runs 3] [--floods 2]
//! cargo run --release -p leapfrog-e2e --example app_service_bench -- --frames 100 [--runs 2]
//! ```
//!
//! With `--frames N` it measures what one drawn frame of a shown pane costs WebKit instead: the
//! agent draws N frames 50 ms apart of each kind (one character changed, every row changed, a
//! reset then every row), and WebKit's CPU over them is divided by N.
//!
//! Each run makes a fresh project (its own `LEAPFROG_DATA_DIR` and `LEAPFROG_RUNTIME_DIR`, its
//! commands approved) whose first agent, `flood`, floods `--floods` times: each time it says it is
//! ready, waits for a `go-<k>` file, then writes `--mb` MB of coloured log lines
//! (`yes LINE | head -c N`), timing itself (`date +%s%N` before and after; the two stamps go to a
//! file) and prints an end marker. The second agent is an idle `cat`.
//! - **window**: the built `leapfrog` opens the project under Xvfb over WebDriver (its service,
//!   `leap serve`, starts on demand and runs the agents). For each flood, once the `flood` pane is
//!   mounted, visible and shows the child waiting, and the window has settled (under 5 % of a
//!   core over half a second), a listener on the pane's renders starts watching the pane's
//!   screen, and `go-<k>` is created. Printed with each flood: where the CPU went from `go-<k>` to
//!   the final screen. The first flood is the first heavy work of a fresh page (WebKit compiles
//!   xterm.js's hot paths meanwhile); the later ones meet a page that has drawn a flood before, as
//!   in a window that has been open a while.
//! - **raw**: the same flood under a raw PTY reader in this process (`openpty`, read 64 KiB at a
//!   time, discard), from a folder of its own: the ceiling, measured right before each window
//!   flood (the window settled, its agent waiting) and again right after it (the window settled
//!   again); the flood's raw rate is the mean of the two. This VM's rate drifts by a quarter
//!   within minutes, so the ceiling is taken within seconds of the flood it is compared with.
//!
//! Figures per flood: the child's own MB/s (10^6 bytes it wrote / its own time) in the window and
//! under the raw reader, their ratio (target ≥ 0.8×), and the final-screen latency: from the
//! child's end stamp to the first render of the pane whose screen holds the end marker (target
//! ≤ 100 ms); summed up for each flood number over the runs. Each run ends with
//! `leap serve --stop` (same environment) and removes its folders.
//!
//! The app binary is the build's (`target/release/leapfrog`, beside this example) or
//! `LEAPFROG_BIN`; `leap` is taken from beside it.

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use leapfrog_e2e::procs::{CpuSnapshot, CpuUse};
use leapfrog_e2e::{app_binary, App, Launch};
use serde_json::json;

/// The same line as the engine's `pty_throughput` and `service_bench`.
const LINE: &str = "src/pane.rs:42:7: \x1b[1;32mok\x1b[0m frame coalesced \x1b[33m64 KiB\x1b[0m in 4 ms, mirror fed, sink called";
const FLOOD: &str = "flood";
const STAMPS: &str = ".flood-stamps";
const LONG: Duration = Duration::from_secs(120);
const PATIENCE: Duration = Duration::from_secs(120);

struct Args {
    bytes: u64,
    runs: usize,
    floods: usize,
    /// `--frames N`: measure what a rendered frame of the pane costs WebKit instead.
    frames: usize,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        bytes: 100_000_000,
        runs: 3,
        floods: 2,
        frames: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--mb" => args.bytes = (value.parse::<f64>().context("--mb")? * 1e6) as u64,
            "--runs" => args.runs = value.parse().context("--runs")?,
            "--floods" => args.floods = value.parse().context("--floods")?,
            "--frames" => args.frames = value.parse().context("--frames")?,
            other => bail!("unknown argument {other} (--mb N, --runs N, --floods N, --frames N)"),
        }
    }
    if args.bytes == 0 || args.runs == 0 || args.floods == 0 {
        bail!("--mb, --runs and --floods must be positive");
    }
    Ok(args)
}

/// The end marker flood `k` prints last (`FLOOD-END-<tag>-<k>`); the script only holds it in two
/// pieces, so nothing but the flood's own last line ever shows it.
fn marker(tag: &str, k: usize) -> String {
    format!("FLOOD-END-{tag}-{k}")
}

fn ready(tag: &str, k: usize) -> String {
    format!("FLOOD-READY-{tag}-{k}")
}

/// The file that starts flood `k`.
fn go(k: usize) -> String {
    format!("go-{k}")
}

/// Where flood `k` writes its stamps.
fn stamps_file(k: usize) -> String {
    format!("{STAMPS}-{k}")
}

/// The flood agent's shell script, `floods` times: says it is ready, waits for `go-<k>`, floods,
/// stamps, marks. (`head -c` may cut the flood inside an escape sequence: the marker starts with
/// CAN, which ends any, so that its first letter is not taken as the sequence's last.) The wait
/// looks for `go-<k>` five times a second: the raw reader's floods run while it waits, and a
/// tighter loop (a `sleep` started a hundred times a second) would be a load beside them.
fn flood_script(bytes: u64, tag: &str, floods: usize) -> String {
    format!(
        "for k in $(seq 1 {floods}); do \
         printf '%s-%s-%s\\n' FLOOD-READY {tag} $k; while [ ! -e go-$k ]; do sleep 0.2; done; \
         s=$(date +%s%N); yes '{LINE}' | head -c {bytes}; e=$(date +%s%N); \
         echo \"$s $e\" > {STAMPS}-$k; printf '\\030\\n%s-%s-%s\\n' FLOOD-END {tag} $k; done; \
         stty -echo; exec cat >/dev/null"
    )
}

/// Flood `k`'s own (start, end) stamps in ns since the epoch.
fn stamps(dir: &Path, k: usize) -> Result<(u128, u128)> {
    let text = std::fs::read_to_string(dir.join(stamps_file(k))).context("the flood's stamps")?;
    let mut it = text.split_whitespace().map(str::parse::<u128>);
    match (it.next(), it.next()) {
        (Some(Ok(s)), Some(Ok(e))) if e > s => Ok((s, e)),
        _ => bail!("odd stamps {text:?}"),
    }
}

fn mbps(bytes: u64, (start, end): (u128, u128)) -> f64 {
    bytes as f64 / 1e6 / ((end - start) as f64 / 1e9)
}

/// The flood under a raw reader: a PTY of its own (40×120, default termios, as the engine's
/// panes), read 64 KiB at a time and discarded until the end marker; the child's own stamps.
fn raw(dir: &Path, bytes: u64, tag: &str) -> Result<(u128, u128)> {
    let _ = std::fs::remove_file(dir.join(stamps_file(1)));
    std::fs::write(dir.join(go(1)), "")?;
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes the two fds; null name and termios are allowed.
    if unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    } != 0
    {
        bail!("openpty: {}", std::io::Error::last_os_error());
    }
    // SAFETY: both fds were just opened by openpty and are owned here only.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    // SAFETY: fcntl on an fd we own; the child must not inherit the master.
    unsafe {
        libc::fcntl(
            std::os::fd::AsRawFd::as_raw_fd(&master),
            libc::F_SETFD,
            libc::FD_CLOEXEC,
        );
    }
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &flood_script(bytes, tag, 1)])
        .current_dir(dir)
        .env("TERM", "xterm-256color")
        .stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?))
        .stderr(Stdio::from(slave));
    // SAFETY: async-signal-safe calls only: a new session with the PTY as its controlling terminal.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::ioctl(0, libc::TIOCSCTTY as _, 0);
            Ok(())
        });
    }
    let mut child = cmd.spawn().context("spawn the raw flood")?;
    drop(cmd);
    let mut reader = File::from(master);
    let want = marker(tag, 1).into_bytes();
    let mut buf = vec![0u8; 64 * 1024];
    let mut tail: Vec<u8> = Vec::new();
    let found = loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => break false,
            Ok(n) => n,
        };
        tail.extend_from_slice(&buf[..n]);
        if tail.windows(want.len()).any(|w| w == want.as_slice()) {
            break true;
        }
        let keep = want.len();
        if tail.len() > keep {
            tail.drain(..tail.len() - keep);
        }
    };
    // SAFETY: kill(2) on the session (and so process group) of the child started above.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
    let _ = child.wait();
    std::fs::remove_file(dir.join(go(1)))?;
    if !found {
        bail!("the raw flood ended without its marker");
    }
    stamps(dir, 1)
}

/// One run's folders: the project, its data and runtime directories. Dropping it stops the
/// service the app started (`leap serve --stop`, same environment), then removes the folders.
struct Run {
    root: tempfile::TempDir,
    dir: PathBuf,
    /// The raw reader's folder (its own `go-1` and stamps, apart from the agent's).
    raw_dir: PathBuf,
    env: Vec<(String, String)>,
    leap: PathBuf,
}

impl Run {
    /// A project whose `flood` agent runs `script`.
    fn new(tag: &str, script: &str) -> Result<Run> {
        let leap = app_binary()?.with_file_name("leap");
        if !leap.is_file() {
            bail!(
                "no leap beside the app ({}): cargo build --release -p leapfrog-cli",
                leap.display()
            );
        }
        let root = tempfile::tempdir()?;
        let dir = root.path().join("flood");
        let data = root.path().join("data");
        let run = root.path().join("run");
        std::fs::create_dir_all(dir.join(".leapfrog"))?;
        let raw_dir = root.path().join("raw");
        std::fs::create_dir(&raw_dir)?;
        std::fs::create_dir(&run)?;
        std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        std::fs::write(
            dir.join("TICKETS.md"),
            "# Tickets\n\n## Batch 1: One\n\n### T-001: First\n- **Status:** todo\n",
        )?;
        let sh = |script: &str| format!("sh -c \"{}\"", script.replace('"', "\\\""));
        let config = json!({
            "name": format!("flood-{tag}"),
            "pattern": "leapfrog",
            "agents": [
                {"id": FLOOD, "cli": "custom", "roles": ["design", "review"],
                 "command": sh(script)},
                {"id": "idle", "cli": "custom", "roles": ["build", "fix"],
                 "command": sh("stty -echo; exec cat >/dev/null")},
            ],
        });
        std::fs::write(
            dir.join(".leapfrog/project.json"),
            serde_json::to_string_pretty(&config)?,
        )?;
        leapfrog_e2e::agent_clis::approve_project(&dir, &data)?;
        let env = vec![
            ("LEAPFROG_DATA_DIR".into(), data.display().to_string()),
            ("LEAPFROG_RUNTIME_DIR".into(), run.display().to_string()),
        ];
        Ok(Run {
            root,
            dir,
            raw_dir,
            env,
            leap,
        })
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let out = Command::new(&self.leap)
            .args(["serve", "--stop"])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.root.path())
            .output();
        match out {
            Ok(o) if !o.status.success() => eprintln!(
                "leap serve --stop: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => eprintln!("leap serve --stop: {e}"),
            Ok(_) => {}
        }
    }
}

/// Installed right before `go`: after every render of the pane (xterm.js's `onRender`, no animation
/// frame loop of its own that would make the page draw every frame), until its screen holds the
/// marker, when it records `Date.now()`. Also counts renders and the longest gap between two of
/// them (the wait for the first is not a gap).
const WATCH: &str = r#"
const [id, marker] = arguments;
const w = { seen: null, frames: 0, maxGap: 0 };
window.__floodWatch = w;
const p = window.__leapfrog.panes[id];
let last = null;
const off = p.onRender(() => {
  const now = performance.now();
  w.frames++;
  if (last !== null) w.maxGap = Math.max(w.maxGap, now - last);
  last = now;
  if (w.seen === null && p.screen().includes(marker)) { w.seen = Date.now(); off(); }
});
"#;

/// The pane is mounted and laid out with a size, in view.
const VISIBLE: &str = r#"
const id = arguments[0];
if (!(window.__leapfrog && window.__leapfrog.panes[id])) return false;
const e = document.querySelector(`[data-testid='pane-${id}']`);
if (!e) return false;
const r = e.getBoundingClientRect();
return r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
  && r.top < innerHeight && r.left < innerWidth && getComputedStyle(e).visibility !== 'hidden';
"#;

/// The window's processes' CPU (the app and its web process), in cores, over `SETTLE_STEP`.
async fn window_cpu() -> f64 {
    let before = CpuSnapshot::take(None);
    tokio::time::sleep(SETTLE_STEP).await;
    CpuSnapshot::take(None)
        .since(&before, SETTLE_STEP.as_secs_f64())
        .cores_of(&["leapfrog", WEBKIT])
}

/// The web process's command name in `/proc` (cut at 15 bytes).
const WEBKIT: &str = "WebKitWebProces";

const SETTLE_STEP: Duration = Duration::from_millis(500);

/// Waits (up to 20 s) until the window has settled after opening (its web process compiles and
/// lays out the page for a few seconds): under 5 % of a core over half a second. The flood
/// measures an agent flooding a pane in a window that was open already, not one that is starting.
/// Returns how long it took.
async fn settle() -> Duration {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) && window_cpu().await > 0.05 {}
    start.elapsed()
}

/// One run's figures.
struct Measured {
    /// The raw reader's MB/s right before and right after the window's flood.
    raw_before: f64,
    raw_after: f64,
    app_mbps: f64,
    latency_ms: f64,
    frames: u64,
    max_gap_ms: f64,
    /// The pane's rows×cols and renderer.
    pane: String,
    /// What ran on the machine from `go` to the final screen.
    cpu: CpuUse,
    /// How long the window took to settle before `go`.
    settled: Duration,
}

impl Measured {
    /// The flood's ceiling: the raw reader's mean rate around it.
    fn raw_mbps(&self) -> f64 {
        (self.raw_before + self.raw_after) / 2.0
    }
}

/// The pid of the service this run's app started: the `leap serve` whose environment names the
/// run's runtime directory.
fn service_pid(run: &Run) -> Option<u32> {
    let runtime = run
        .env
        .iter()
        .find(|(k, _)| k == "LEAPFROG_RUNTIME_DIR")
        .map(|(k, v)| format!("{k}={v}"))?;
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid = e.file_name().to_string_lossy().parse::<u32>().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_serve = args.first()?.ends_with(b"leap") && args.get(1) == Some(&&b"serve"[..]);
        let environ = std::fs::read(e.path().join("environ")).ok()?;
        (is_serve && environ.split(|b| *b == 0).any(|v| v == runtime.as_bytes())).then_some(pid)
    })
}

/// The app on the run's project, once its `flood` pane is mounted and visible.
async fn open_window(run: &Run) -> Result<App> {
    let app = App::launch(Launch {
        args: vec![run.dir.display().to_string()],
        env: run.env.clone(),
        ..Launch::default()
    })
    .await?;
    let shown = app
        .wait_until(
            "the flood pane mounted and visible",
            LONG,
            |app| async move { Ok(app.exec(VISIBLE, vec![json!(FLOOD)]).await? == json!(true)) },
        )
        .await;
    if let Err(e) = shown {
        app.close().await?;
        return Err(e);
    }
    Ok(app)
}

/// The window's part of a run: the app on the project, `floods` floods one after the other in
/// its shown pane, each once the window has settled.
async fn window_run(bytes: u64, tag: &str, run: &Run, floods: usize) -> Result<Vec<Measured>> {
    let app = open_window(run).await?;
    let measured = async {
        let mut all = Vec::new();
        for k in 1..=floods {
            all.push(window_flood(&app, bytes, tag, run, k).await?);
        }
        Ok::<_, anyhow::Error>(all)
    }
    .await;
    app.close().await?;
    measured
}

/// What the pane showed from `go-<k>` to its end marker.
struct Drawn {
    /// The render watch ([`WATCH`]): when the marker was seen, renders, the longest gap.
    watch: serde_json::Value,
    /// What ran on the machine from `go-<k>` to the marker, with the service's threads.
    cpu: CpuUse,
    /// From `go-<k>` to the marker seen (as this process polls: up to half a second late).
    wall: Duration,
    /// How long the window took to settle before `go-<k>`.
    settled: Duration,
    /// With a raw flood of that many bytes asked for: the raw reader's MB/s right before
    /// `go-<k>` and right after the marker (the window settled both times).
    raw: Option<(f64, f64)>,
}

/// Waits for the agent to say it is ready to draw `k`, lets the window settle, watches the
/// pane's renders, creates `go-<k>` and waits until the pane shows `k`'s end marker. With
/// `raw_bytes`, a raw reader's flood of that many bytes runs right before `go-<k>` and again
/// right after the marker, each once the window has settled.
async fn drawn(app: &App, tag: &str, run: &Run, k: usize, raw_bytes: Option<u64>) -> Result<Drawn> {
    let want = ready(tag, k);
    app.wait_until("the agent waiting in its pane", LONG, |app| {
        let want = want.clone();
        async move { Ok(app.pane_screen(FLOOD).await?.contains(&want)) }
    })
    .await?;
    let mut settled = settle().await;
    let raw_before = match raw_bytes {
        Some(bytes) => {
            let rate = mbps(bytes, raw(&run.raw_dir, bytes, tag)?);
            settled += settle().await;
            Some(rate)
        }
        None => None,
    };
    app.exec(WATCH, vec![json!(FLOOD), json!(marker(tag, k))])
        .await?;
    let service = service_pid(run);
    let before = CpuSnapshot::take(service);
    std::fs::write(run.dir.join(go(k)), "")?;
    let started = Instant::now();
    let watch = loop {
        let w = app.exec("return window.__floodWatch", vec![]).await?;
        if !w["seen"].is_null() {
            break w;
        }
        if started.elapsed() > PATIENCE {
            bail!(
                "no end marker in the pane after {PATIENCE:?}; it shows:\n{}",
                app.pane_screen(FLOOD).await?
            );
        }
        // Seldom: each look is a WebDriver round trip that costs the page CPU.
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let wall = started.elapsed();
    let cpu = CpuSnapshot::take(service).since(&before, wall.as_secs_f64());
    let raw = match (raw_bytes, raw_before) {
        (Some(bytes), Some(before)) => {
            settle().await;
            Some((before, mbps(bytes, raw(&run.raw_dir, bytes, tag)?)))
        }
        _ => None,
    };
    Ok(Drawn {
        watch,
        cpu,
        wall,
        settled,
        raw,
    })
}

/// Flood `k` in the window's shown pane.
async fn window_flood(app: &App, bytes: u64, tag: &str, run: &Run, k: usize) -> Result<Measured> {
    let info = app
        .exec(
            "const p = window.__leapfrog.panes[arguments[0]]; \
             return `${p.rows()}x${p.cols()} ${p.renderer}`",
            vec![json!(FLOOD)],
        )
        .await?;
    let Drawn {
        watch,
        cpu,
        settled,
        raw,
        ..
    } = drawn(app, tag, run, k, Some(bytes)).await?;
    let (s, e) = stamps(&run.dir, k)?;
    let seen = watch["seen"].as_f64().ok_or_else(|| anyhow!("{watch}"))?;
    let (raw_before, raw_after) = raw.ok_or_else(|| anyhow!("no raw flood"))?;
    Ok(Measured {
        raw_before,
        raw_after,
        app_mbps: mbps(bytes, (s, e)),
        latency_ms: seen - e as f64 / 1e6,
        frames: watch["frames"].as_u64().unwrap_or(0),
        max_gap_ms: watch["maxGap"].as_f64().unwrap_or(f64::NAN),
        pane: info.as_str().unwrap_or_default().to_string(),
        cpu,
        settled,
    })
}

/// Min, median and max.
fn spread(v: impl Iterator<Item = f64>) -> (f64, f64, f64) {
    let mut v: Vec<f64> = v.collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (v[0], median, v[n - 1])
}

/// `--frames`: each kind of frame the agent draws, in order: its name and the shell that draws
/// frame `$i` of it (40 rows of about 70 columns; rows past the screen land on its last row).
fn frame_kinds() -> [(&'static str, String); 3] {
    let rows = "r=1; while [ $r -le 40 ]; do printf '\\033[%d;1H%d %s' $r $i 'src/pane.rs:42:7: ok frame coalesced 64 KiB in 4 ms, mirror fed'; r=$((r+1)); done";
    [
        (
            "one character changed",
            "printf '\\033[5;1H%d' $((i % 10))".to_string(),
        ),
        ("every row changed", rows.to_string()),
        (
            "a reset, then every row",
            format!("printf '\\033c'; {rows}"),
        ),
    ]
}

/// `--frames`: the agent draws `frames` frames of each of [`frame_kinds`], 50 ms apart (each its
/// own output frame and render), after `go-<k>`.
fn frames_script(tag: &str, frames: usize) -> String {
    let mut script = String::new();
    for (k, (_, draw)) in frame_kinds().iter().enumerate() {
        let k = k + 1;
        script.push_str(&format!(
            "printf '%s-%s-%s\\n' FLOOD-READY {tag} {k}; while [ ! -e go-{k} ]; do sleep 0.01; done; \
             i=0; while [ $i -lt {frames} ]; do {draw}; sleep 0.05; i=$((i+1)); done; \
             printf '\\030\\n%s-%s-%s\\n' FLOOD-END {tag} {k}; "
        ));
    }
    script.push_str("stty -echo; exec cat >/dev/null");
    script
}

/// `--frames`: what one rendered frame of a shown pane costs WebKit, for each of
/// [`frame_kinds`]: WebKit's CPU from `go-<k>` until the pane shows the end marker, over the
/// frames drawn (an idle window's share, about 1.5 % of a core, is part of it: 0.75 ms a frame).
async fn frames_main(args: &Args) -> Result<()> {
    println!(
        "app_service_bench --frames: {} frames of each kind drawn 50 ms apart in the shown `flood` pane; {} runs",
        args.frames, args.runs
    );
    let kinds = frame_kinds();
    let mut per_kind: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
    for i in 0..args.runs {
        let tag = format!("{}-{i}", std::process::id());
        let run = Run::new(&tag, &frames_script(&tag, args.frames))?;
        let app = open_window(&run).await?;
        let measured = async {
            let mut got = Vec::new();
            for k in 1..=kinds.len() {
                let Drawn { watch, cpu, wall, .. } = drawn(&app, &tag, &run, k, None).await?;
                let wall = wall.as_secs_f64();
                let ms = cpu.cores_of(&[WEBKIT]) * wall * 1000.0 / args.frames as f64;
                println!(
                    "run {} {}: WebKit {ms:.1} ms of CPU a frame ({} renders of the pane for {} frames, {wall:.1} s)",
                    i + 1,
                    kinds[k - 1].0,
                    watch["frames"],
                    args.frames
                );
                got.push(ms);
            }
            Ok::<_, anyhow::Error>(got)
        }
        .await;
        app.close().await?;
        drop(run);
        for (k, ms) in measured?.into_iter().enumerate() {
            per_kind[k].push(ms);
        }
    }
    println!();
    println!(
        "{:<40} {:>9} {:>9} {:>9}",
        "WebKit's CPU a frame, ms", "min", "median", "max"
    );
    for (k, all) in per_kind.iter().enumerate() {
        let (lo, mid, hi) = spread(all.iter().copied());
        println!("{:<40} {lo:>9.1} {mid:>9.1} {hi:>9.1}", kinds[k].0);
    }
    Ok(())
}

/// What flood `k` of a window measures.
fn flood_label(k: usize) -> &'static str {
    if k == 1 {
        "the window's first flood"
    } else {
        "a later flood"
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = parse_args()?;
    if args.frames > 0 {
        return frames_main(&args).await;
    }
    let mb = args.bytes as f64 / 1e6;
    println!(
        "app_service_bench: {mb} MB of coloured log lines in the `flood` agent's pane, window attached and the pane shown; {} runs of {} floods",
        args.runs, args.floods
    );
    // by_flood[k - 1]: flood k of every run.
    let mut by_flood: Vec<Vec<Measured>> = (0..args.floods).map(|_| Vec::new()).collect();
    for i in 0..args.runs {
        let tag = format!("{}-{i}", std::process::id());
        let run = Run::new(&tag, &flood_script(args.bytes, &tag, args.floods))?;
        let floods = window_run(args.bytes, &tag, &run, args.floods).await?;
        drop(run);
        for (k, m) in floods.into_iter().enumerate() {
            println!(
                "run {} flood {} ({}): raw {:6.1} MB/s (before {:.1}, after {:.1}), window {:6.1} MB/s, ratio {:.2}x, final screen {:6.1} ms after the child's end (pane {}; {} renders, longest gap {:.0} ms)",
                i + 1,
                k + 1,
                flood_label(k + 1),
                m.raw_mbps(),
                m.raw_before,
                m.raw_after,
                m.app_mbps,
                m.app_mbps / m.raw_mbps(),
                m.latency_ms,
                m.pane,
                m.frames,
                m.max_gap_ms
            );
            println!(
                "  window settled {:.1} s before go; cpu in cores from go to the final screen: {}",
                m.settled.as_secs_f64(),
                m.cpu
            );
            by_flood[k].push(m);
        }
    }
    println!();
    println!(
        "{:<52} {:>9} {:>9} {:>9}   target",
        "", "min", "median", "max"
    );
    for (k, all) in by_flood.iter().enumerate() {
        let label = format!("flood {} ({})", k + 1, flood_label(k + 1));
        println!("{label}");
        let raw = spread(all.iter().map(Measured::raw_mbps));
        let app = spread(all.iter().map(|m| m.app_mbps));
        let ratio = spread(all.iter().map(|m| m.app_mbps / m.raw_mbps()));
        let latency = spread(all.iter().map(|m| m.latency_ms));
        let met = all
            .iter()
            .filter(|m| m.app_mbps / m.raw_mbps() >= 0.8)
            .count();
        println!(
            "  {:<50} {:>9.1} {:>9.1} {:>9.1}",
            "raw PTY reader, child's MB/s", raw.0, raw.1, raw.2
        );
        println!(
            "  {:<50} {:>9.1} {:>9.1} {:>9.1}",
            "window attached, pane shown, child's MB/s", app.0, app.1, app.2
        );
        println!(
            "  {:<50} {:>8.2}x {:>8.2}x {:>8.2}x   >= 0.8x (met in {met} of {})",
            "ratio window / raw (around the flood)",
            ratio.0,
            ratio.1,
            ratio.2,
            all.len()
        );
        println!(
            "  {:<50} {:>6.1} ms {:>6.1} ms {:>6.1} ms   <= 100 ms",
            "child's end to the final screen in the pane", latency.0, latency.1, latency.2
        );
    }
    Ok(())
}
