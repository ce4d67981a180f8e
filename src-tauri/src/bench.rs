//! Bench mode (`LEAPFROG_BENCH=1`): figures for `tests/src/bin/app_bench.rs`, printed to stdout
//! as `BENCH {json}` lines. The bench driver writes commands on stdin:
//! `flood <pane> <bytes> <shell command>` types the command into the pane and reports, once
//! `bytes` more bytes were acknowledged by xterm.js, the rate and the longest frame gap the UI saw;
//! `interrupt <pane> <prompt>` sends Ctrl+C and reports how long until the pane's screen (the
//! engine's mirror) ends with `prompt` again.
//! Never used in a normal run.

use std::io::BufRead;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tauri::Manager;

use crate::AppState;

struct Flood {
    pane: String,
    bytes: u64,
    /// Acked bytes of the pane when the flood started; `None` until the first ack after it.
    base: Option<u64>,
    started: Instant,
    max_gap_ms: f64,
}

pub struct Bench {
    pub started: Instant,
    flood: Mutex<Option<Flood>>,
}

fn emit(json: serde_json::Value) {
    println!("BENCH {json}");
}

impl Bench {
    pub fn new(started: Instant) -> Self {
        Bench {
            started,
            flood: Mutex::new(None),
        }
    }

    pub fn first_paint(&self, pane: &str, ms: u128) {
        emit(serde_json::json!({"event": "first_paint", "pane": pane, "ms": ms as u64}));
    }

    pub fn frame_gap(&self, max_ms: f64) {
        if let Some(f) = self.flood.lock().unwrap().as_mut() {
            f.max_gap_ms = f.max_gap_ms.max(max_ms);
        }
    }

    fn start_flood(&self, pane: &str, bytes: u64, acked_now: u64) {
        *self.flood.lock().unwrap() = Some(Flood {
            pane: pane.to_string(),
            bytes,
            base: Some(acked_now),
            started: Instant::now(),
            max_gap_ms: 0.0,
        });
    }

    pub fn acked(&self, pane: &str, acked_total: u64) {
        let mut guard = self.flood.lock().unwrap();
        let Some(f) = guard.as_mut() else { return };
        if f.pane != pane {
            return;
        }
        let base = *f.base.get_or_insert(acked_total);
        let done = acked_total - base;
        if done >= f.bytes {
            let secs = f.started.elapsed().as_secs_f64();
            emit(serde_json::json!({
                "event": "flood",
                "pane": pane,
                "bytes": done,
                "secs": secs,
                "mb_per_s": done as f64 / secs / 1e6,
                "max_frame_gap_ms": f.max_gap_ms,
            }));
            *guard = None;
        }
    }
}

/// Reads bench commands from stdin on a thread of its own.
pub fn read_commands(handle: tauri::AppHandle) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            let mut parts = line.splitn(4, ' ');
            match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some("flood"), Some(pane), Some(bytes), Some(command)) => {
                    let state = handle.state::<AppState>();
                    let Some(bench) = &state.bench else { return };
                    let (Ok(route), Ok(bytes)) = (state.route(pane), bytes.parse::<u64>()) else {
                        eprintln!("bench: bad command `{line}`");
                        continue;
                    };
                    let acked = route.delivery.lock().unwrap().acked();
                    bench.start_flood(pane, bytes, acked);
                    let _ = state
                        .panes
                        .write(route.pane, format!("{command}\r").as_bytes());
                }
                (Some("interrupt"), Some(pane), Some(prompt), None) => {
                    let state = handle.state::<AppState>();
                    let Ok(route) = state.route(pane) else {
                        eprintln!("bench: bad command `{line}`");
                        continue;
                    };
                    let Ok(engine_pane) = state.panes.get(route.pane) else {
                        continue;
                    };
                    let prompt = prompt.to_string();
                    let pane = pane.to_string();
                    let started = Instant::now();
                    let _ = engine_pane.write(&[0x03]);
                    std::thread::spawn(move || {
                        let back = engine_pane.wait_for_screen(Duration::from_secs(60), |screen| {
                            screen
                                .contents()
                                .lines()
                                .rev()
                                .find(|l| !l.trim().is_empty())
                                .map(|l| l.trim_end() == prompt.trim_end())
                                .unwrap_or(false)
                        });
                        emit(serde_json::json!({
                            "event": "interrupt",
                            "pane": pane,
                            "prompt_back": back,
                            "ms": started.elapsed().as_millis() as u64,
                        }));
                    });
                }
                _ => eprintln!("bench: unknown command `{line}`"),
            }
        }
    });
}
