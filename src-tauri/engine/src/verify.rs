//! The verify runner: the project's verify command in its own PTY, streamed line by line,
//! PASSED when it exits 0 and FAILED otherwise, with its duration.
//!
//! The command runs through `sh -c` in the project's directory (so `sh verify.sh`, `cargo test &&
//! npm test` and pipes work as typed). Its pane lives in the caller's [`Panes`] registry so the UI
//! can show it like an agent's pane; it acks on delivery (nobody has to read it).
//!
//! ```text
//! spawn_verify(&panes, &VerifySpec, on_line, on_done) -> Result<PaneId, String>
//!   on_line(String)        every output line, escape sequences removed, as it comes
//!   on_done(VerifyOutcome) once, when the command has exited
//! run_verify(&VerifySpec) -> Result<VerifyOutcome, String>   (blocking: `leap`, tests)
//! ```

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::handoff::visible_lines;
use crate::pty::{AckMode, PaneConfig, PaneEvent, PaneId, PaneSize, Panes, SpawnSpec};

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifySpec {
    /// The command line, as the user typed it in the project's settings.
    pub command: String,
    /// The project's directory.
    pub cwd: PathBuf,
    /// Extra environment.
    pub env: Vec<(String, String)>,
}

/// How a verify run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyOutcome {
    pub passed: bool,
    /// The exit code (1 when killed by a signal).
    pub code: u32,
    pub duration_ms: u64,
    /// The last lines of output (at most [`TAIL_LINES`]), for a notification.
    pub tail: Vec<String>,
}

impl VerifyOutcome {
    /// `PASSED` or `FAILED`, as the seed writes them.
    pub fn verdict(&self) -> &'static str {
        if self.passed {
            "PASSED"
        } else {
            "FAILED"
        }
    }
}

/// How many output lines [`VerifyOutcome::tail`] keeps.
pub const TAIL_LINES: usize = 20;

/// Splits a byte stream into visible lines (escape sequences removed), keeping the unfinished
/// last line until more bytes or the end arrive.
#[derive(Debug, Default)]
struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let Some(last_nl) = self.pending.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        let rest = self.pending.split_off(last_nl + 1);
        let done = std::mem::replace(&mut self.pending, rest);
        visible_lines(&done)
    }

    fn finish(&mut self) -> Vec<String> {
        let done = std::mem::take(&mut self.pending);
        visible_lines(&done)
    }
}

/// Starts the verify command in a new pane of `panes`. `on_line` gets each output line, `on_done`
/// the outcome once the command exits. Errors (one line) when the command cannot start.
pub fn spawn_verify(
    panes: &Panes,
    spec: &VerifySpec,
    mut on_line: impl FnMut(String) + Send + 'static,
    on_done: impl FnOnce(VerifyOutcome) + Send + 'static,
) -> Result<PaneId, String> {
    if spec.command.trim().is_empty() {
        return Err("the project has no verify command".into());
    }
    let mut pty = SpawnSpec::new("sh")
        .arg("-c")
        .arg(&spec.command)
        .cwd(&spec.cwd)
        .size(PaneSize::new(40, 120));
    for (k, v) in &spec.env {
        pty = pty.env(k, v);
    }
    let config = PaneConfig {
        ack: AckMode::OnDelivery,
        ..PaneConfig::default()
    };
    let started = Instant::now();
    let mut splitter = LineSplitter::default();
    let mut tail: Vec<String> = Vec::new();
    let mut on_done = Some(on_done);
    let mut keep = move |line: String, tail: &mut Vec<String>| {
        if tail.len() == TAIL_LINES {
            tail.remove(0);
        }
        tail.push(line.clone());
        on_line(line);
    };
    let sink = move |event: PaneEvent| match event {
        PaneEvent::Output(bytes) => {
            for line in splitter.feed(&bytes) {
                keep(line, &mut tail);
            }
        }
        PaneEvent::Exit(exit) => {
            for line in splitter.finish() {
                keep(line, &mut tail);
            }
            let outcome = VerifyOutcome {
                passed: exit.success(),
                code: exit.code,
                duration_ms: started.elapsed().as_millis() as u64,
                tail: std::mem::take(&mut tail),
            };
            if let Some(done) = on_done.take() {
                done(outcome);
            }
        }
    };
    let pane = panes
        .spawn(&pty, config, sink)
        .map_err(|e| format!("cannot run the verify command `{}`: {e}", spec.command))?;
    Ok(pane.id())
}

/// Runs the verify command to its end (in a PTY of a private registry) and returns the outcome.
pub fn run_verify(spec: &VerifySpec) -> Result<VerifyOutcome, String> {
    let panes = Panes::new();
    let (tx, rx) = mpsc::channel();
    spawn_verify(
        &panes,
        spec,
        |_| {},
        move |o| {
            let _ = tx.send(o);
        },
    )?;
    rx.recv_timeout(Duration::from_secs(24 * 3600))
        .map_err(|_| "the verify command never reported its exit".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_splitter_keeps_partial_lines() {
        let cases: &[(&[&[u8]], &[&str])] = &[
            (&[b"a\nb", b"c\n"], &["a", "bc"]),
            (&[b"\x1b[32mok\x1b[0m\r\n"], &["ok"]),
            (&[b"no newline"], &["no newline"]),
        ];
        for (chunks, expect) in cases {
            let mut s = LineSplitter::default();
            let mut got: Vec<String> = Vec::new();
            for c in *chunks {
                got.extend(s.feed(c));
            }
            got.extend(s.finish());
            let got: Vec<&str> = got.iter().map(|l| l.trim_end()).collect();
            assert_eq!(&got, expect, "chunks {chunks:?}");
        }
    }
}
