//! Benchmark (not a test): the window attaching to a project that runs in the Leapfrog service
//! with eight agents whose panes each hold 3 000 lines, until every pane is painted.
//!
//! ```text
//! bash .ci/ui-build && cargo build --release -p leapfrog -p leapfrog-cli \
//!   && cargo run --release -p leapfrog-e2e --example app_attach_bench -- [--runs 3]
//! ```
//!
//! `leap run --detach` starts project `eight` in the service (its own `LEAPFROG_DATA_DIR` and
//! `LEAPFROG_RUNTIME_DIR`): each of its eight agents prints 3 000 numbered lines and an end
//! marker, then waits. The window is launched on a small second project; then, for each run, an
//! animation-frame loop in the page waits for all eight panes to show their end markers, and
//! `leap start eight` switches the window to it. Measured: from just before `leap start` to the
//! first frame in which every pane shows its marker (the switch, the service's screens, xterm.js
//! painting them), and to the first frame in which every pane also holds the 1 000 lines of
//! scrollback it asks for once its screen is drawn. The window then goes back to the small
//! project before the next run. Then the window shows the eight idle panes and the CPU of the app
//! and its web processes is read over 10 s, then what the page does over another 10 s (terminal
//! renders and DOM changes, to tell the page's work from WebKit's own). At the end,
//! `leap serve --stop`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use leapfrog_e2e::procs::cpu_by_name;
use leapfrog_e2e::{app_binary, App, Launch};
use serde_json::{json, Value};

const AGENTS: usize = 8;
const LINES: usize = 3000;
const LONG: Duration = Duration::from_secs(120);
/// Counts the panes' terminal renders and the DOM's changes from now on.
const PAGE_ACTIVITY: &str = r#"
const w = { renders: 0, mutations: 0 };
window.__pageActivity = w;
for (const p of Object.values(window.__leapfrog.panes)) p.onRender(() => { w.renders++; });
new MutationObserver((ms) => { w.mutations += ms.length; })
  .observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
"#;

/// How long the idle window is watched.
const IDLE: Duration = Duration::from_secs(10);

fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// A project in `dir` with `agents` (id, shell script), approved in `data`.
fn project(dir: &Path, data: &Path, name: &str, agents: &[(String, String)]) -> Result<()> {
    std::fs::create_dir_all(dir.join(".leapfrog"))?;
    std::fs::write(
        dir.join("TICKETS.md"),
        "# Tickets\n\n## Batch 1: One\n\n### T-001: First\n- **Status:** todo\n",
    )?;
    let roles = |i: usize| match i {
        0 => json!(["design", "review"]),
        1 => json!(["build", "fix"]),
        _ => json!(["qa"]),
    };
    let config = json!({
        "name": name,
        "pattern": "leapfrog",
        "agents": agents.iter().enumerate().map(|(i, (id, script))| json!({
            "id": id, "cli": "custom", "roles": roles(i),
            "command": format!("sh -c \"{}\"", script.replace('"', "\\\"")),
        })).collect::<Vec<_>>(),
    });
    std::fs::write(
        dir.join(".leapfrog/project.json"),
        serde_json::to_string_pretty(&config)?,
    )?;
    leapfrog_e2e::agent_clis::approve_project(dir, data)
}

fn leap(leap: &Path, env: &[(String, String)], args: &[&str]) -> Result<String> {
    let out = Command::new(leap)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()?;
    if !out.status.success() {
        bail!(
            "leap {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Every frame, until each pane in `ids` exists and shows its marker (`seen`), then until each
/// also holds the scrollback the window attaches with above its screen (`full`): records
/// `Date.now()`.
const WATCH: &str = r#"
const [ids, markers, scrollback] = arguments;
const w = { seen: null, full: null, mounted: null, frames: 0 };
window.__attachWatch = w;
function step() {
  w.frames++;
  const panes = window.__leapfrog ? window.__leapfrog.panes : {};
  if (w.mounted === null && ids.every((id) => panes[id])) w.mounted = Date.now();
  if (w.seen === null && ids.every((id, i) => panes[id] && panes[id].screen().includes(markers[i]))) {
    w.seen = Date.now();
  }
  if (w.seen !== null && ids.every((id) => panes[id].lines() >= panes[id].rows() + scrollback)) {
    w.full = Date.now();
    return;
  }
  requestAnimationFrame(step);
}
requestAnimationFrame(step);
"#;

/// The lines above the screen a pane attached in the window gets (`ATTACH_SCROLLBACK` in
/// `src-tauri/src/live.rs`).
const SCROLLBACK: usize = 1000;

/// Waits until the page has mounted pane `id`.
async fn pane_mounted(app: &App, id: &str) -> Result<()> {
    let script = format!("return !!(window.__leapfrog && window.__leapfrog.panes['{id}'])");
    app.wait_until(&format!("pane {id} mounted"), LONG, |app| {
        let script = script.clone();
        async move { Ok(app.exec(&script, vec![]).await? == json!(true)) }
    })
    .await
}

struct Stop<'a>(&'a Path, &'a [(String, String)]);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        if let Err(e) = leap(self.0, self.1, &["serve", "--stop"]) {
            eprintln!("{e}");
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let mut runs = 3usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().context("--runs N")?.parse()?,
            other => bail!("unknown argument {other} (--runs N)"),
        }
    }
    let leap_bin: PathBuf = app_binary()?.with_file_name("leap");
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let run = root.path().join("run");
    std::fs::create_dir(&run)?;
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    let env = vec![
        ("LEAPFROG_DATA_DIR".to_string(), data.display().to_string()),
        (
            "LEAPFROG_RUNTIME_DIR".to_string(),
            run.display().to_string(),
        ),
    ];
    let eight = root.path().join("eight");
    let small = root.path().join("small");
    let ids: Vec<String> = (1..=AGENTS).map(|i| format!("a{i}")).collect();
    let markers: Vec<String> = ids.iter().map(|id| format!("PANE-END-{id}")).collect();
    let agents: Vec<(String, String)> = ids
        .iter()
        .map(|id| {
            (
                id.clone(),
                format!(
                    "seq 1 {LINES} | sed 's/^/{id} line /'; printf '%s-%s\\n' PANE-END {id}; stty -echo; exec cat >/dev/null"
                ),
            )
        })
        .collect();
    project(&eight, &data, "eight", &agents)?;
    let idle = "stty -echo; exec cat >/dev/null".to_string();
    project(
        &small,
        &data,
        "small",
        &[("b1".into(), idle.clone()), ("b2".into(), idle)],
    )?;
    let _stop = Stop(&leap_bin, &env);
    leap(
        &leap_bin,
        &env,
        &["run", "--detach", eight.to_str().unwrap_or_default()],
    )?;
    let app = App::launch(Launch {
        args: vec![small.display().to_string()],
        env: env.clone(),
        ..Launch::default()
    })
    .await?;
    let result = async {
        let mut took = Vec::new();
        let mut fulls = Vec::new();
        for i in 0..runs {
            pane_mounted(&app, "b1").await?;
            app.exec(WATCH, vec![json!(ids), json!(markers), json!(SCROLLBACK)])
                .await?;
            let asked = epoch_ms();
            leap(&leap_bin, &env, &["start", eight.to_str().unwrap_or_default()])?;
            let w: Value = loop {
                let w = app.exec("return window.__attachWatch", vec![]).await?;
                if !w["full"].is_null() {
                    break w;
                }
                if epoch_ms() - asked > LONG.as_millis() as f64 {
                    bail!("the eight panes were not all painted with their scrollback: {w}");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            let ms = w["seen"].as_f64().ok_or_else(|| anyhow!("{w}"))? - asked;
            let mounted = w["mounted"].as_f64().unwrap_or(f64::NAN) - asked;
            let full = w["full"].as_f64().unwrap_or(f64::NAN) - asked;
            println!(
                "run {}: every pane of eight painted {ms:.0} ms after leap start, with its {SCROLLBACK} lines of scrollback at {full:.0} ms (all mounted at {mounted:.0} ms; {} frames)",
                i + 1,
                w["frames"]
            );
            fulls.push(full);
            // Where the time went, pane by pane: mounted, terminal made, attach replied, first
            // output parsed (ms after `leap start`).
            let timings = app
                .exec("return window.__leapfrog.timings", vec![])
                .await?;
            let at = |id: &str, step: &str| {
                timings[id][step]
                    .as_f64()
                    .map_or("-".to_string(), |t| format!("{:.0}", t - asked))
            };
            for id in &ids {
                println!(
                    "  {id}: mount {} created {} attached {} painted {}",
                    at(id, "mount"),
                    at(id, "created"),
                    at(id, "attached"),
                    at(id, "painted")
                );
            }
            took.push(ms);
            leap(&leap_bin, &env, &["start", small.to_str().unwrap_or_default()])?;
        }
        let (lo, hi) = took
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
                (l.min(x), h.max(x))
            });
        println!("\nattach to eight panes of {LINES} lines, to every pane painted: {lo:.0}–{hi:.0} ms (target < 500 ms)");
        let (flo, fhi) = fulls
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
                (l.min(x), h.max(x))
            });
        println!("  ... and to every pane's {SCROLLBACK} lines of scrollback in place: {flo:.0}–{fhi:.0} ms");
        // The window left alone with the eight idle panes shown: what it costs.
        leap(&leap_bin, &env, &["start", eight.to_str().unwrap_or_default()])?;
        pane_mounted(&app, "a8").await?;
        tokio::time::sleep(IDLE / 2).await;
        let before = cpu_by_name(app.driver_pid())?;
        tokio::time::sleep(IDLE).await;
        let after = cpu_by_name(app.driver_pid())?;
        let mut idle: Vec<String> = after
            .iter()
            .map(|(name, t)| {
                let pct = (t - before.get(name).copied().unwrap_or(0.0)) / IDLE.as_secs_f64() * 100.0;
                format!("{name} {pct:.1} %")
            })
            .collect();
        idle.sort();
        println!(
            "the window idle with the eight panes shown, over {} s: {} of a core",
            IDLE.as_secs(),
            idle.join(", ")
        );
        // What the page itself does meanwhile: terminal renders and DOM changes.
        app.exec(PAGE_ACTIVITY, vec![]).await?;
        tokio::time::sleep(IDLE).await;
        let seen = app.exec("return window.__pageActivity", vec![]).await?;
        println!(
            "the page meanwhile, over {} s: {} terminal renders, {} DOM changes",
            IDLE.as_secs(),
            seen["renders"],
            seen["mutations"]
        );
        Ok::<_, anyhow::Error>(())
    }
    .await;
    app.close().await?;
    result
}
