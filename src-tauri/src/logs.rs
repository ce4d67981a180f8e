//! The app's own log, forwarded to the Logs pane.
//!
//! A `tracing` layer turns each event into a [`LogLine`] and hands it to a [`LogHub`] over a
//! channel; a forwarding thread keeps the last lines for late subscribers and sends every new line
//! to each subscriber. Sending never happens inside the tracing callback, so a subscriber that logs
//! while sending cannot deadlock the hub.

use crate::dto::{LogLevel, LogLine};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// Lines kept for a subscriber that arrives late (the UI subscribes after the window loads).
pub const BACKLOG: usize = 1000;

/// Where log lines go: the UI's channel in the app, a vector in tests.
pub trait LogSink: Send {
    /// Returns false when the sink is gone (window closed) so the hub drops it.
    fn send(&mut self, line: &LogLine) -> bool;
}

#[derive(Default)]
struct HubState {
    backlog: VecDeque<LogLine>,
    sinks: Vec<Box<dyn LogSink>>,
}

/// Keeps the recent log and the subscribers.
#[derive(Clone, Default)]
pub struct LogHub {
    state: Arc<Mutex<HubState>>,
}

impl LogHub {
    /// Delivers one line to every sink and keeps it in the backlog.
    pub fn publish(&self, line: LogLine) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.sinks.retain_mut(|s| s.send(&line));
        if st.backlog.len() == BACKLOG {
            st.backlog.pop_front();
        }
        st.backlog.push_back(line);
    }

    /// The last `n` lines (at most [`BACKLOG`]).
    pub fn recent(&self, n: usize) -> Vec<LogLine> {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let skip = st.backlog.len().saturating_sub(n);
        st.backlog.iter().skip(skip).cloned().collect()
    }

    /// Sends the backlog to `sink`, then every later line.
    pub fn subscribe(&self, mut sink: Box<dyn LogSink>) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for line in &st.backlog {
            if !sink.send(line) {
                return;
            }
        }
        st.sinks.push(sink);
    }

    /// A tracing layer feeding this hub through a forwarding thread.
    pub fn layer(&self) -> UiLogLayer {
        let (tx, rx) = mpsc::channel::<LogLine>();
        let hub = self.clone();
        std::thread::Builder::new()
            .name("log-forward".into())
            .spawn(move || {
                for line in rx {
                    hub.publish(line);
                }
            })
            .expect("spawn the log forwarding thread");
        UiLogLayer {
            tx: Mutex::new(tx),
            seq: AtomicU64::new(0),
        }
    }
}

/// The tracing layer: formats events into [`LogLine`]s.
pub struct UiLogLayer {
    tx: Mutex<mpsc::Sender<LogLine>>,
    seq: AtomicU64,
}

impl<S: Subscriber> Layer<S> for UiLogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut visitor = MessageVisitor::default();
        event.record(&mut visitor);
        let line = LogLine {
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            time_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            level: level(*meta.level()),
            target: meta.target().to_string(),
            message: visitor.finish(),
        };
        if let Ok(tx) = self.tx.lock() {
            let _ = tx.send(line);
        }
    }
}

fn level(l: Level) -> LogLevel {
    match l {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        Level::TRACE => LogLevel::Trace,
    }
}

/// `message` first, then `key=value` for the other fields.
#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl MessageVisitor {
    fn finish(self) -> String {
        match (self.message.is_empty(), self.fields.is_empty()) {
            (_, true) => self.message,
            (true, false) => self.fields,
            (false, false) => format!("{} {}", self.message, self.fields),
        }
    }
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.field(field, format_args!("{value}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.field(field, format_args!("{value:?}"));
        }
    }
}

impl MessageVisitor {
    fn field(&mut self, field: &Field, value: std::fmt::Arguments<'_>) {
        if !self.fields.is_empty() {
            self.fields.push(' ');
        }
        let _ = write!(self.fields, "{}={}", field.name(), value);
    }
}

/// The app's log on disk: `$XDG_STATE_HOME/leapfrog/logs/leapfrog.log` (default
/// `~/.local/state/leapfrog/logs`), rotated at [`LOG_FILE_BYTES`] with [`LOG_FILES_KEPT`] older
/// parts (`leapfrog.log.1` is the newest of them).
pub struct LogFile {
    path: std::path::PathBuf,
    file: Option<std::fs::File>,
    size: u64,
    max: u64,
    kept: usize,
}

/// Size at which the log file is rotated.
pub const LOG_FILE_BYTES: u64 = 5 * 1024 * 1024;
/// Older log files kept.
pub const LOG_FILES_KEPT: usize = 3;

/// Where the app's logs go: `$XDG_STATE_HOME/leapfrog/logs`, else `~/.local/state/leapfrog/logs`.
pub fn log_dir(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<std::path::PathBuf> {
    let state = var("XDG_STATE_HOME")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|h| std::path::PathBuf::from(h).join(".local/state")))?;
    Some(state.join("leapfrog").join("logs"))
}

impl LogFile {
    /// Appends to `dir/leapfrog.log`, creating `dir` (0700) when missing.
    pub fn open(dir: &std::path::Path, max: u64, kept: usize) -> std::io::Result<LogFile> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let path = dir.join("leapfrog.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        let size = file.metadata()?.len();
        Ok(LogFile {
            path,
            file: Some(file),
            size,
            max,
            kept,
        })
    }

    fn part(&self, n: usize) -> std::path::PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(format!(".{n}"));
        p.into()
    }

    /// leapfrog.log -> .1 -> .2 ...; the oldest beyond `kept` is removed.
    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        let _ = std::fs::remove_file(self.part(self.kept));
        for n in (1..self.kept).rev() {
            let _ = std::fs::rename(self.part(n), self.part(n + 1));
        }
        if self.kept > 0 {
            std::fs::rename(&self.path, self.part(1))?;
        } else {
            std::fs::remove_file(&self.path)?;
        }
        self.file = Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?,
        );
        self.size = 0;
        Ok(())
    }
}

impl LogSink for LogFile {
    fn send(&mut self, line: &LogLine) -> bool {
        use std::io::Write;
        let text = format!(
            "{} {:?} {} {}\n",
            line.time_ms, line.level, line.target, line.message
        );
        if self.size > 0 && self.size + text.len() as u64 > self.max && self.rotate().is_err() {
            return false;
        }
        let Some(f) = self.file.as_mut() else {
            return false;
        };
        if f.write_all(text.as_bytes()).is_err() {
            return false;
        }
        self.size += text.len() as u64;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct VecSink(Arc<Mutex<Vec<LogLine>>>);

    impl LogSink for VecSink {
        fn send(&mut self, line: &LogLine) -> bool {
            self.0.lock().unwrap().push(line.clone());
            true
        }
    }

    fn line(seq: u64, message: &str) -> LogLine {
        LogLine {
            seq,
            time_ms: 0,
            level: LogLevel::Info,
            target: "t".into(),
            message: message.into(),
        }
    }

    fn messages(sink: &VecSink) -> Vec<String> {
        sink.0
            .lock()
            .unwrap()
            .iter()
            .map(|l| l.message.clone())
            .collect()
    }

    #[test]
    fn the_log_file_rotates_and_keeps_three_older_parts() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state/leapfrog/logs");
        let mut f = LogFile::open(&dir, 100, 3).unwrap();
        for i in 0..40 {
            assert!(f.send(&line(i, &format!("message number {i:02}"))));
        }
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "leapfrog.log",
                "leapfrog.log.1",
                "leapfrog.log.2",
                "leapfrog.log.3"
            ]
        );
        for n in &names {
            assert!(std::fs::metadata(dir.join(n)).unwrap().len() <= 100, "{n}");
        }
        let newest = std::fs::read_to_string(dir.join("leapfrog.log")).unwrap();
        assert!(newest.ends_with("message number 39\n"), "{newest}");
        let older = std::fs::read_to_string(dir.join("leapfrog.log.1")).unwrap();
        assert!(!older.contains("number 39"), "{older}");
        // Reopened, it appends.
        let mut again = LogFile::open(&dir, 100, 3).unwrap();
        assert!(again.send(&line(40, "after a restart")));
        assert!(std::fs::read_to_string(dir.join("leapfrog.log"))
            .unwrap()
            .contains("after a restart"));
    }

    #[test]
    fn logs_live_in_the_xdg_state_dir() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        assert_eq!(
            log_dir(env(&[("XDG_STATE_HOME", "/s"), ("HOME", "/h")])),
            Some("/s/leapfrog/logs".into())
        );
        assert_eq!(
            log_dir(env(&[("XDG_STATE_HOME", "rel"), ("HOME", "/h")])),
            Some("/h/.local/state/leapfrog/logs".into())
        );
        assert_eq!(log_dir(env(&[])), None);
    }

    #[test]
    fn late_subscriber_gets_backlog_then_new_lines_in_order() {
        let hub = LogHub::default();
        hub.publish(line(0, "a"));
        hub.publish(line(1, "b"));
        let sink = VecSink::default();
        hub.subscribe(Box::new(sink.clone()));
        hub.publish(line(2, "c"));
        assert_eq!(messages(&sink), ["a", "b", "c"]);
    }

    #[test]
    fn backlog_keeps_only_the_newest_lines() {
        let hub = LogHub::default();
        for i in 0..(BACKLOG as u64 + 5) {
            hub.publish(line(i, &i.to_string()));
        }
        let sink = VecSink::default();
        hub.subscribe(Box::new(sink.clone()));
        let got = sink.0.lock().unwrap().clone();
        assert_eq!(got.len(), BACKLOG);
        assert_eq!(got.first().unwrap().seq, 5);
        assert_eq!(got.last().unwrap().seq, BACKLOG as u64 + 4);
    }

    #[test]
    fn a_closed_sink_is_dropped() {
        struct Closed;
        impl LogSink for Closed {
            fn send(&mut self, _: &LogLine) -> bool {
                false
            }
        }
        let hub = LogHub::default();
        hub.subscribe(Box::new(Closed));
        hub.publish(line(0, "x"));
        assert!(hub.state.lock().unwrap().sinks.is_empty());
    }

    #[test]
    fn tracing_events_become_lines_with_fields() {
        let hub = LogHub::default();
        let sink = VecSink::default();
        hub.subscribe(Box::new(sink.clone()));
        let subscriber = tracing_subscriber::registry().with(hub.layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(pane = "designer", "pane started");
            tracing::warn!("plain");
            tracing::error!(code = 3);
        });
        // The forwarding thread delivers asynchronously; wait for the three lines.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while sink.0.lock().unwrap().len() < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let got = sink.0.lock().unwrap().clone();
        let summary: Vec<(LogLevel, String, u64)> = got
            .iter()
            .map(|l| (l.level, l.message.clone(), l.seq))
            .collect();
        assert_eq!(
            summary,
            [
                (LogLevel::Info, "pane started pane=designer".to_string(), 0),
                (LogLevel::Warn, "plain".to_string(), 1),
                (LogLevel::Error, "code=3".to_string(), 2),
            ]
        );
    }
}
