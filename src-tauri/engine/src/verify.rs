//! The verify runner: the project's verify command in its own PTY, streamed line by line,
//! PASSED when it exits 0 and FAILED otherwise, with its duration.
//!
//! The command runs through `sh -c` in the project's directory (so `sh verify.sh`, `cargo test &&
//! npm test` and pipes work as typed). Its pane lives in the caller's [`Panes`] registry so the UI
//! can show it like an agent's pane; it acks on delivery (nobody has to read it).
//!
//! ```text
//! spawn_verify(&panes, &VerifySpec, on_line, on_done) -> Result<PaneId, String>
//!   on_line(String)        output lines, escape sequences removed, as they come, paced
//!   on_done(VerifyOutcome) once, when the command has exited
//! run_verify(&VerifySpec) -> Result<VerifyOutcome, String>   (blocking: `leap`, tests)
//! ```
//!
//! Bounded under a flood (a verify printing 300 MB): lines are cut at [`MAX_LINE_BYTES`], at most
//! [`PACE_LINES`] lines per [`PACE_WINDOW`] reach `on_line` (the rest are counted and said so in
//! one line), and the whole output goes to [`VerifySpec::log`], a file rotated at
//! [`LOG_ROTATE_BYTES`] that keeps one older part. Memory stays flat however much it prints.

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
    /// Where the whole output goes (visible lines), truncated when the verify starts and rotated
    /// at [`LOG_ROTATE_BYTES`] to `<log>.1`. `None`: only the paced lines and the tail.
    pub log: Option<PathBuf>,
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

/// The longest verify output line kept; the rest of a longer line is dropped (and said so).
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// At most this many lines per [`PACE_WINDOW`] reach `on_line` (the UI's log, `leap run`).
pub const PACE_LINES: usize = 200;
/// See [`PACE_LINES`].
pub const PACE_WINDOW: Duration = Duration::from_millis(250);
/// The verify log is rotated when it reaches this size; one older part is kept.
pub const LOG_ROTATE_BYTES: u64 = 8 * 1024 * 1024;

/// Lets at most [`PACE_LINES`] lines through per [`PACE_WINDOW`] and counts the rest; the first
/// line let through after some were held back says how many (and where the whole output is).
#[derive(Debug)]
struct LinePacer {
    window_start: Option<Instant>,
    sent: usize,
    held: u64,
    log_hint: String,
}

impl LinePacer {
    fn new(log: Option<&std::path::Path>) -> LinePacer {
        LinePacer {
            window_start: None,
            sent: 0,
            held: 0,
            log_hint: log
                .map(|p| format!(" (the whole output is in {})", p.display()))
                .unwrap_or_default(),
        }
    }

    /// The lines to pass on now for `line` arriving at `now`: none, the line, or a count of the
    /// held-back lines then the line.
    fn pace(&mut self, line: String, now: Instant) -> Vec<String> {
        let fresh = self
            .window_start
            .is_none_or(|start| now.duration_since(start) >= PACE_WINDOW);
        if fresh {
            self.window_start = Some(now);
            self.sent = 0;
        }
        if self.sent >= PACE_LINES {
            self.held += 1;
            return Vec::new();
        }
        let mut out = Vec::with_capacity(2);
        if let Some(note) = self.held_note() {
            out.push(note);
        }
        out.push(line);
        self.sent += out.len();
        out
    }

    /// At the end: the count of lines still held back, if any.
    fn held_note(&mut self) -> Option<String> {
        (self.held > 0).then(|| {
            let n = std::mem::take(&mut self.held);
            format!(
                "… {n} line{} not shown here{}",
                if n == 1 { "" } else { "s" },
                self.log_hint
            )
        })
    }
}

/// The verify's whole output, as visible lines, in a file that never grows past
/// [`LOG_ROTATE_BYTES`] (plus one older part, `<path>.1`).
struct RotatingLog {
    path: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
    written: u64,
}

impl RotatingLog {
    fn create(path: PathBuf) -> RotatingLog {
        let _ = std::fs::remove_file(rotated(&path));
        let file = open_log(&path);
        RotatingLog {
            path,
            file,
            written: 0,
        }
    }

    fn line(&mut self, line: &str) {
        use std::io::Write;
        if self.written + line.len() as u64 + 1 > LOG_ROTATE_BYTES && self.written > 0 {
            if let Some(mut f) = self.file.take() {
                let _ = f.flush();
            }
            let _ = std::fs::rename(&self.path, rotated(&self.path));
            self.file = open_log(&self.path);
            self.written = 0;
        }
        if let Some(f) = self.file.as_mut() {
            // A full disk or a removed folder stops the log, never the verify.
            if f.write_all(line.as_bytes())
                .and_then(|()| f.write_all(b"\n"))
                .is_err()
            {
                self.file = None;
            }
        }
        self.written += line.len() as u64 + 1;
    }

    fn finish(&mut self) {
        use std::io::Write;
        if let Some(f) = self.file.as_mut() {
            let _ = f.flush();
        }
    }
}

fn rotated(path: &std::path::Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

fn open_log(path: &std::path::Path) -> Option<std::io::BufWriter<std::fs::File>> {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::File::create(path)
        .ok()
        .map(|f| std::io::BufWriter::with_capacity(64 * 1024, f))
}

/// Splits a byte stream into visible lines (escape sequences removed), keeping the unfinished
/// last line until more bytes or the end arrive. Linear in the bytes fed: each byte is looked at
/// once, and a line longer than [`MAX_LINE_BYTES`] is cut there (a verify printing one 50 MB line
/// made the old splitter rescan its whole buffer on every chunk).
#[derive(Debug, Default)]
struct LineSplitter {
    pending: Vec<u8>,
    /// The current line was cut: drop bytes up to its newline.
    cut: bool,
}

impl LineSplitter {
    fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let (part, ended) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..=i], true),
                None => (rest, false),
            };
            rest = &rest[part.len()..];
            if !self.cut {
                let room = MAX_LINE_BYTES - self.pending.len();
                if part.len() > room {
                    self.pending.extend_from_slice(&part[..room]);
                    let mut lines = visible_lines(&std::mem::take(&mut self.pending));
                    if let Some(last) = lines.last_mut() {
                        last.push_str(&format!(" … (line cut at {} KiB)", MAX_LINE_BYTES / 1024));
                    }
                    out.extend(lines);
                    self.cut = !ended;
                    continue;
                }
                self.pending.extend_from_slice(part);
            }
            if ended {
                if self.cut {
                    self.cut = false;
                } else {
                    out.extend(visible_lines(&std::mem::take(&mut self.pending)));
                }
            }
        }
        out
    }

    fn finish(&mut self) -> Vec<String> {
        self.cut = false;
        let done = std::mem::take(&mut self.pending);
        visible_lines(&done)
    }
}

/// Where each visible line goes: the log file, the tail kept for the outcome, and (paced) `on_line`.
struct Collector {
    tail: std::collections::VecDeque<String>,
    log: Option<RotatingLog>,
    pacer: LinePacer,
}

impl Collector {
    fn line(&mut self, line: String, on_line: &mut impl FnMut(String)) {
        if let Some(log) = self.log.as_mut() {
            log.line(&line);
        }
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line.clone());
        for l in self.pacer.pace(line, Instant::now()) {
            on_line(l);
        }
    }

    fn end(&mut self, on_line: &mut impl FnMut(String)) {
        if let Some(log) = self.log.as_mut() {
            log.finish();
        }
        if let Some(note) = self.pacer.held_note() {
            on_line(note);
        }
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
    let mut on_done = Some(on_done);
    let mut out = Collector {
        tail: Default::default(),
        log: spec.log.clone().map(RotatingLog::create),
        pacer: LinePacer::new(spec.log.as_deref()),
    };
    let sink = move |event: PaneEvent| match event {
        PaneEvent::Output(bytes) => {
            for line in splitter.feed(&bytes) {
                out.line(line, &mut on_line);
            }
        }
        PaneEvent::Exit(exit) => {
            for line in splitter.finish() {
                out.line(line, &mut on_line);
            }
            out.end(&mut on_line);
            let outcome = VerifyOutcome {
                passed: exit.success(),
                code: exit.code,
                duration_ms: started.elapsed().as_millis() as u64,
                tail: std::mem::take(&mut out.tail).into(),
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
            (&[b"a\nb\nc"], &["a", "b", "c"]),
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

    /// The pacer lets a window's budget through, counts the rest, and says the count with the
    /// first line of a later window, or at the end.
    #[test]
    fn the_pacer_passes_a_budget_per_window_and_counts_the_rest() {
        let t0 = Instant::now();
        let mut p = LinePacer::new(Some(std::path::Path::new("/d/verify.log")));
        let mut got = Vec::new();
        for i in 0..(PACE_LINES + 50) {
            got.extend(p.pace(format!("l{i}"), t0));
        }
        assert_eq!(got.len(), PACE_LINES);
        // The next window: the count first, then the line, within the budget.
        let later = t0 + PACE_WINDOW;
        let next = p.pace("again".into(), later);
        assert_eq!(
            next,
            vec![
                "… 50 lines not shown here (the whole output is in /d/verify.log)".to_string(),
                "again".to_string()
            ]
        );
        for i in 0..PACE_LINES {
            got.extend(p.pace(format!("m{i}"), later));
        }
        assert_eq!(
            p.held_note().as_deref(),
            Some("… 2 lines not shown here (the whole output is in /d/verify.log)")
        );
        assert_eq!(p.held_note(), None);
        // Slow output is never held back.
        let mut p = LinePacer::new(None);
        for i in 0..1000u32 {
            let at = t0 + PACE_WINDOW * i;
            assert_eq!(p.pace(format!("{i}"), at), vec![format!("{i}")]);
        }
    }

    #[test]
    fn the_log_rotates_at_its_cap_and_keeps_one_older_part() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("verify.log");
        let mut log = RotatingLog::create(path.clone());
        let line = "x".repeat(1023);
        let n = 3 * LOG_ROTATE_BYTES / 1024 + 10;
        for _ in 0..n {
            log.line(&line);
        }
        log.finish();
        let part = std::fs::metadata(&path).unwrap().len();
        let older = std::fs::metadata(rotated(&path)).unwrap().len();
        assert_eq!(older, LOG_ROTATE_BYTES);
        assert_eq!(part, (n * 1024) % LOG_ROTATE_BYTES);
    }

    /// One 50 MB line (the case that never finished): cut at the cap, the rest of it dropped, the
    /// next line whole. Linear: each chunk is looked at once.
    #[test]
    fn a_huge_line_is_cut_and_the_next_line_kept() {
        let mut s = LineSplitter::default();
        let chunk = vec![b'y'; 64 * 1024];
        let mut got: Vec<String> = Vec::new();
        for _ in 0..(50 * 16) {
            got.extend(s.feed(&chunk));
        }
        got.extend(s.feed(b"yyy\nnext line\n"));
        got.extend(s.finish());
        assert_eq!(
            got.len(),
            2,
            "{:?}",
            got.iter().map(|l| l.len()).collect::<Vec<_>>()
        );
        assert!(got[0].starts_with("yyyy"));
        assert!(
            got[0].ends_with(" … (line cut at 16 KiB)"),
            "{}",
            &got[0][got[0].len() - 40..]
        );
        assert!(got[0].len() < MAX_LINE_BYTES + 64);
        assert_eq!(got[1].trim_end(), "next line");
    }
}
