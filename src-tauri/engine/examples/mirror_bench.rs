//! The screen mirror's parse rate (`pty::Screen::process`), with fast-forward on and off.
//!
//! ```text
//! cargo run --release -p leapfrog-engine --example mirror_bench
//! ```
//!
//! Two streams, fed in 1 MiB batches (as the mirror thread gets them when it is behind) to a
//! 40×120 screen keeping an agent pane's scrollback (`orchestrator::AGENT_SCROLLBACK`, 1 000 lines):
//! - **log**: 600 000 coloured log lines, about 50 MB: what fast-forward skips most of;
//! - **tui**: full-screen redraws (cursor positioning, SGRs, erase, synchronized frames), 50 MB:
//!   nothing to skip, so fast-forward's scanner is pure cost there.
//!
//! Best of three, in MB/s.

use std::time::Instant;

use leapfrog_engine::orchestrator::AGENT_SCROLLBACK;
use leapfrog_engine::pty::{PaneSize, Screen, FAST_FORWARD_MIN};

fn tui() -> Vec<u8> {
    let mut out = Vec::new();
    let mut frame = 0u32;
    while out.len() < 50_000_000 {
        out.extend_from_slice(b"\x1b[?2026h\x1b[H");
        for row in 1..40 {
            out.extend_from_slice(
                format!(
                    "\x1b[{row};1H\x1b[38;5;{}m\u{2502} \x1b[1mitem {frame} {row}\x1b[0m \x1b[2mdetails of the row\x1b[K",
                    (frame + row) % 255
                )
                .as_bytes(),
            );
        }
        out.extend_from_slice(b"\x1b[?2026l");
        frame += 1;
    }
    out
}

fn log() -> Vec<u8> {
    (0..600_000)
        .flat_map(|i| {
            format!("src/pane.rs:42:{i}: \x1b[1;32mok\x1b[0m frame coalesced \x1b[33m64 KiB\x1b[0m in 4 ms\r\n")
                .into_bytes()
        })
        .collect()
}

fn main() {
    for (name, data) in [("log", log()), ("tui", tui())] {
        for fast_forward in [None, Some(FAST_FORWARD_MIN)] {
            let mut best = f64::MAX;
            for _ in 0..3 {
                let mut screen = Screen::new(PaneSize::new(40, 120), AGENT_SCROLLBACK)
                    .unwrap()
                    .with_fast_forward(fast_forward);
                let started = Instant::now();
                for batch in data.chunks(1 << 20) {
                    screen.process(batch);
                }
                best = best.min(started.elapsed().as_secs_f64());
            }
            println!(
                "{name}: {:.1} MB, fast-forward {}: {:.0} MB/s",
                data.len() as f64 / 1e6,
                if fast_forward.is_some() { "on " } else { "off" },
                data.len() as f64 / best / 1e6
            );
        }
    }
}
