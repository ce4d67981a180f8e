//! The coalescer: turns a stream of small PTY reads into a few larger frames.
//!
//! A pure state machine with the clock passed in, so it is tested with a fake clock
//! (`tests/pty_coalesce.rs`). The pane's delivery thread drives it:
//! [`Coalescer::push`] on every read, [`Coalescer::poll`] to take a ready frame,
//! [`Coalescer::next_deadline`] to know how long it may sleep.
//!
//! Rules, in order:
//! - bytes up to the end of a completed synchronized-output frame (`CSI ? 2026 h` …
//!   `CSI ? 2026 l`) are flushed at once;
//! - while a synchronized-output frame is open nothing is flushed, until its end arrives,
//!   or `sync_timeout` passes since it began, or `sync_max` bytes are pending (then the
//!   frame is abandoned: everything is flushed and the end marker, if it comes, is ignored);
//! - otherwise pending bytes are flushed when `linger` has passed since the first of them
//!   arrived, or when `max_frame` bytes are pending, whichever comes first.

use std::time::{Duration, Instant};

/// When the coalescer flushes. See the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoalesceConfig {
    /// Longest time a byte waits for company (outside synchronized output). Default 4 ms.
    pub linger: Duration,
    /// Flush as soon as this many bytes are pending (outside synchronized output). Default 64 KiB.
    pub max_frame: usize,
    /// Longest time a synchronized-output frame is held without its end marker. Default 150 ms.
    pub sync_timeout: Duration,
    /// Most bytes a synchronized-output frame may hold before it is abandoned. Default 1 MiB.
    pub sync_max: usize,
}

impl Default for CoalesceConfig {
    fn default() -> Self {
        CoalesceConfig {
            linger: Duration::from_millis(4),
            max_frame: 64 * 1024,
            sync_timeout: Duration::from_millis(150),
            sync_max: 1024 * 1024,
        }
    }
}

/// `ESC [ ? 2026` — the common prefix of DEC mode 2026 set (`h`) and reset (`l`).
const SYNC_PREFIX: &[u8] = b"\x1b[?2026";
const ESC: u8 = 0x1b;

/// A synchronized-output marker found by [`SyncScanner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMarker {
    /// `CSI ? 2026 h`: the application begins a frame.
    Begin,
    /// `CSI ? 2026 l`: the frame is complete.
    End,
}

/// Finds `CSI ? 2026 h` / `CSI ? 2026 l` in a byte stream, across chunk boundaries.
#[derive(Debug, Clone, Default)]
pub struct SyncScanner {
    /// How many bytes of [`SYNC_PREFIX`] the stream currently ends with.
    matched: usize,
}

impl SyncScanner {
    /// Scans `bytes`; calls `found(marker, end)` where `end` is the index just after the
    /// marker's final byte within `bytes`.
    pub fn scan(&mut self, bytes: &[u8], mut found: impl FnMut(SyncMarker, usize)) {
        let mut i = 0;
        while i < bytes.len() {
            if self.matched == 0 {
                match find_esc(&bytes[i..]) {
                    Some(p) => {
                        i += p + 1;
                        self.matched = 1;
                        continue;
                    }
                    None => return,
                }
            }
            let b = bytes[i];
            if self.matched == SYNC_PREFIX.len() {
                match b {
                    b'h' => found(SyncMarker::Begin, i + 1),
                    b'l' => found(SyncMarker::End, i + 1),
                    _ => {}
                }
                self.matched = usize::from(b == ESC);
            } else if b == SYNC_PREFIX[self.matched] {
                self.matched += 1;
            } else {
                self.matched = usize::from(b == ESC);
            }
            i += 1;
        }
    }
}

/// The index of the first ESC in `bytes`, eight bytes at a time (a zero byte of `word ^ ESC…`,
/// found with the usual bit trick), then byte by byte in the word that has it.
fn find_esc(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let x =
            u64::from_ne_bytes(bytes[i..i + 8].try_into().expect("eight bytes")) ^ (ONES * 0x1b);
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            break;
        }
        i += 8;
    }
    bytes[i..].iter().position(|&b| b == ESC).map(|p| i + p)
}

/// Collects PTY bytes and decides when they leave as a frame. See the module doc.
#[derive(Debug)]
pub struct Coalescer {
    config: CoalesceConfig,
    pending: Vec<u8>,
    /// When the oldest pending byte arrived.
    first_at: Option<Instant>,
    /// When the open synchronized-output frame began, if one is open.
    sync_since: Option<Instant>,
    /// `pending[..complete]` ends with the end marker of a synchronized-output frame.
    complete: usize,
    scanner: SyncScanner,
}

impl Coalescer {
    pub fn new(config: CoalesceConfig) -> Self {
        Coalescer {
            config,
            pending: Vec::with_capacity(config.max_frame),
            first_at: None,
            sync_since: None,
            complete: 0,
            scanner: SyncScanner::default(),
        }
    }

    pub fn config(&self) -> &CoalesceConfig {
        &self.config
    }

    /// Bytes waiting to be flushed.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Whether a synchronized-output frame is open (begun, not ended, not abandoned).
    pub fn in_sync(&self) -> bool {
        self.sync_since.is_some()
    }

    /// Adds bytes read at `now`.
    pub fn push(&mut self, bytes: &[u8], now: Instant) {
        if bytes.is_empty() {
            return;
        }
        if self.pending.is_empty() {
            self.first_at = Some(now);
        }
        let base = self.pending.len();
        self.pending.extend_from_slice(bytes);
        let (sync_since, complete) = (&mut self.sync_since, &mut self.complete);
        self.scanner.scan(bytes, |marker, end| match marker {
            SyncMarker::Begin => {
                if sync_since.is_none() {
                    *sync_since = Some(now);
                }
            }
            SyncMarker::End => {
                if sync_since.take().is_some() {
                    *complete = base + end;
                }
            }
        });
    }

    /// Takes the frame that is ready at `now`, if any. Call again until it returns `None`.
    pub fn poll(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.pending.is_empty() {
            return None;
        }
        if self.complete > 0 {
            if self.sync_since.is_some() {
                // A frame ended and the next one began: send exactly the finished one.
                let rest = self.pending.split_off(self.complete);
                self.complete = 0;
                self.first_at = Some(now);
                return Some(std::mem::replace(&mut self.pending, rest));
            }
            return self.take_all();
        }
        if let Some(since) = self.sync_since {
            if now >= since + self.config.sync_timeout || self.pending.len() >= self.config.sync_max
            {
                // The end marker is late or missing: give up holding this frame.
                self.sync_since = None;
                return self.take_all();
            }
            return None;
        }
        let lingered = self.first_at.is_some_and(|t| now >= t + self.config.linger);
        if lingered || self.pending.len() >= self.config.max_frame {
            return self.take_all();
        }
        None
    }

    /// Whether [`Coalescer::poll`] at `now` would return a frame. (The reader wakes the delivery
    /// thread only when this turns true or bytes arrive with none pending: otherwise that thread
    /// is asleep until [`Coalescer::next_deadline`], which more input never brings forward.)
    pub fn ready(&self, now: Instant) -> bool {
        if self.pending.is_empty() {
            return false;
        }
        if self.complete > 0 {
            return true;
        }
        if let Some(since) = self.sync_since {
            return now >= since + self.config.sync_timeout
                || self.pending.len() >= self.config.sync_max;
        }
        self.first_at.is_some_and(|t| now >= t + self.config.linger)
            || self.pending.len() >= self.config.max_frame
    }

    /// When [`Coalescer::poll`] may next return a frame without more input; `None` when
    /// nothing is pending (sleep until input arrives).
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.pending.is_empty() {
            return None;
        }
        let first = self.first_at?;
        if self.complete > 0 {
            return Some(first);
        }
        match self.sync_since {
            Some(since) => Some(since + self.config.sync_timeout),
            None => Some(first + self.config.linger),
        }
    }

    /// Takes everything pending regardless of the rules (end of stream, or the reader is
    /// starved by flow control). An open synchronized-output frame stays open, its timer
    /// restarted at `now`, so its remainder is still held together.
    pub fn flush(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.sync_since.is_some() {
            self.sync_since = Some(now);
        }
        self.take_all()
    }

    fn take_all(&mut self) -> Option<Vec<u8>> {
        if self.pending.is_empty() {
            return None;
        }
        self.complete = 0;
        self.first_at = None;
        let cap = self.config.max_frame.min(self.pending.len().max(4096));
        Some(std::mem::replace(
            &mut self.pending,
            Vec::with_capacity(cap),
        ))
    }
}
