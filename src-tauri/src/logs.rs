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
