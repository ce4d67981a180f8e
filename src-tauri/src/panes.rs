//! Connects the engine's PTY panes to the webview: frames go out on a raw IPC channel, acks and
//! keystrokes come back through commands.
//!
//! A pane starts with the app (so the shell is already up when the window draws) and buffers its
//! output until the UI attaches; the engine's flow control bounds that buffer. When the webview
//! reloads and attaches again, bytes the old page never acknowledged are released, so the reader
//! cannot stay paused forever.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a pane's frames go once the UI is attached: a Tauri channel in the app, a vector in tests.
pub trait FrameOut: Send + 'static {
    /// Returns false when the receiver is gone.
    fn send(&mut self, frame: Vec<u8>) -> bool;
}

impl FrameOut for tauri::ipc::Channel<tauri::ipc::InvokeResponseBody> {
    fn send(&mut self, frame: Vec<u8>) -> bool {
        tauri::ipc::Channel::send(self, tauri::ipc::InvokeResponseBody::Raw(frame)).is_ok()
    }
}

/// The byte accounting of one pane between the engine and the UI.
pub struct Delivery<O> {
    out: Option<O>,
    pending: Vec<u8>,
    delivered: u64,
    acked: u64,
    /// `delivered` at the end of the last fresh screen sent.
    screen_end: u64,
}

impl<O> Default for Delivery<O> {
    fn default() -> Self {
        Delivery {
            out: None,
            pending: Vec::new(),
            delivered: 0,
            acked: 0,
            screen_end: 0,
        }
    }
}

impl<O: FrameOut> Delivery<O> {
    /// A frame from the engine: sent when attached, kept until then.
    pub fn frame(&mut self, frame: Vec<u8>) {
        match self.out.as_mut() {
            Some(out) => {
                // Counted as delivered even when the page is gone: the engine counts it as
                // un-acked either way, and the next attach releases it.
                self.delivered += frame.len() as u64;
                if !out.send(frame) {
                    self.out = None;
                }
            }
            None => self.pending.extend_from_slice(&frame),
        }
    }

    /// A fresh screen from the engine: sent as a frame, and output after it is counted apart
    /// ([`Delivery::output_backlog`]).
    pub fn screen(&mut self, screen: Vec<u8>) {
        self.frame(screen);
        if self.out.is_some() {
            self.screen_end = self.delivered;
        }
    }

    /// Connects a (new) receiver. Returns the bytes a previous receiver was sent but never
    /// acknowledged: the caller acks them to the engine so its reader is not left paused.
    pub fn attach(&mut self, mut out: O) -> u64 {
        let orphaned = self.delivered - self.acked;
        self.acked = self.delivered;
        if !self.pending.is_empty() {
            let frame = std::mem::take(&mut self.pending);
            self.delivered += frame.len() as u64;
            if !out.send(frame) {
                return orphaned;
            }
        }
        self.out = Some(out);
        orphaned
    }

    /// The UI has rendered `bytes` more bytes. Acknowledging more than was sent is an error.
    pub fn ack(&mut self, bytes: u64) -> Result<(), String> {
        let outstanding = self.delivered - self.acked;
        if bytes > outstanding {
            return Err(format!(
                "ack of {bytes} bytes exceeds the {outstanding} bytes sent and not yet acknowledged"
            ));
        }
        self.acked += bytes;
        Ok(())
    }

    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Bytes the webview has yet to render: sent and not acknowledged, plus kept for the next
    /// attach.
    pub fn backlog(&self) -> u64 {
        self.delivered - self.acked + self.pending.len() as u64
    }

    /// The part of [`Delivery::backlog`] that is output sent after the last fresh screen: what
    /// [`Catchup`] bounds. A screen replaces what is shown and costs the webview less to parse
    /// than the output it stands for (60 KB with 1 000 lines of scrollback: 10-51 ms, against
    /// 31-57 ms for 64 KiB of scrolling log lines), so output right after a big screen (an
    /// attach, a flood's end) is not taken for a flood.
    pub fn output_backlog(&self) -> u64 {
        self.delivered - self.acked.max(self.screen_end) + self.pending.len() as u64
    }
}

/// How far a pane shown in the webview may fall behind the service's output (output sent since
/// the last fresh screen and not yet rendered, [`Delivery::output_backlog`]) before its output is
/// dropped and a fresh screen asked for instead (the service never waits for the window). 64 KiB
/// of scrolling log lines take xterm.js 31-57 ms to parse here once its code is compiled (up to
/// 360 ms the first time), and the screen that replaces them 1-14 ms (10-51 ms with 1 000 lines
/// of scrollback), measured in the page during `app_service_bench`'s floods. With 256 KiB, each
/// flood began with 114-593 ms of parsing; now 40-163 ms.
pub const UI_BOUND: u64 = 64 << 10;

/// Asked for once the webview has caught up to this backlog.
pub const UI_CAUGHT_UP: u64 = 32 << 10;

/// Fresh screens a pane that falls behind is sent, at most: one per this interval (one per
/// [`FLOOD_SCREEN_INTERVAL`] while it is flooded).
pub const SCREEN_INTERVAL: Duration = Duration::from_millis(60);

/// Fresh screens a flooded pane is sent, at most: one per this interval. While an agent floods
/// its pane, the webview draws four screens a second instead of parsing the flood as fast as it
/// can, and leaves the CPU to the agent: a drawn screen costs WebKit 8-17 ms of CPU here
/// (`app_service_bench --frames`), and at one screen per [`SCREEN_INTERVAL`] WebKit took about
/// a third of a core. The flood's end is not kept waiting for the next screen: the service sends
/// a held pane's screen of its own accord once it goes quiet ([`Catchup::settled`]).
pub const FLOOD_SCREEN_INTERVAL: Duration = Duration::from_millis(250);

/// A pane that falls behind again within this long of its last fresh screen is flooded: its
/// bound drops to [`UI_FLOOD_BOUND`] and its screens come without their scrollback until the
/// flood is over.
pub const FLOOD_WINDOW: Duration = Duration::from_secs(1);

/// The bound of a flooded pane: the webview parses a little of the flood between two screens
/// (a paced stream's lines), not a whole frame of it.
pub const UI_FLOOD_BOUND: u64 = 16 << 10;

/// A flood is over once its pane has not fallen behind for this long after a screen: the screen
/// with its scrollback is asked for then.
pub const FLOOD_QUIET: Duration = Duration::from_millis(200);

/// Output of a service attachment on its way to a webview that may render slower than an agent
/// writes: past [`UI_BOUND`] bytes of output backlog the output is dropped, and once the webview has
/// caught up a fresh screen is asked for (mosh-style: the state, not the backlog), no sooner than
/// [`SCREEN_INTERVAL`] after the last one.
///
/// A pane that keeps falling behind is flooded (an agent writes faster than xterm.js parses):
/// its screens then come without the lines above them (1 000 lines take xterm.js 10-40 ms to
/// parse, every screen), after [`UI_FLOOD_BOUND`] bytes of output rather than [`UI_BOUND`], so
/// that the webview leaves the CPU to the agent. [`FLOOD_QUIET`] after a screen without a fall
/// since, the flood is over ([`Catchup::flood_over`]) and the screen with its scrollback comes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Catchup {
    behind: bool,
    asked: bool,
    /// When the last fresh screen arrived.
    screen_at: Option<Instant>,
    /// Attached with the screen alone: the lines above it are asked for once it is drawn.
    scrollback_due: bool,
    flooded: bool,
    /// Times the pane fell behind.
    falls: u64,
}

impl Catchup {
    /// A pane attached with its screen alone (eight of them paint in a fraction of the time
    /// their scrollback takes to parse): the screen with its scrollback is asked for once the
    /// webview has drawn the first.
    pub fn screen_first() -> Catchup {
        Catchup {
            scrollback_due: true,
            ..Catchup::default()
        }
    }

    /// Output of `len` bytes arrives with `backlog` bytes not yet rendered: did the pane fall
    /// behind just now? (The sender can then stop sending until a fresh screen is asked for.)
    /// While [`Catchup::is_behind`], output is dropped.
    pub fn fell_behind(&mut self, backlog: u64, len: usize, now: Instant) -> bool {
        let bound = if self.flooded {
            UI_FLOOD_BOUND
        } else {
            UI_BOUND
        };
        if !self.behind && backlog + len as u64 > bound {
            self.behind = true;
            self.asked = false;
            self.falls += 1;
            if self
                .screen_at
                .is_some_and(|at| now.saturating_duration_since(at) < FLOOD_WINDOW)
            {
                self.flooded = true;
            }
            return true;
        }
        false
    }

    /// Whether a screen asked for now is to carry the lines above it: not while flooded.
    pub fn with_scrollback(&self) -> bool {
        !self.flooded
    }

    /// Whether the pane is flooded: after each of its screens, [`Catchup::flood_over`] is to be
    /// asked [`FLOOD_QUIET`] later, with [`Catchup::falls`] as it was at the screen.
    pub fn is_flooded(&self) -> bool {
        self.flooded
    }

    /// How many times the pane fell behind so far.
    pub fn falls(&self) -> u64 {
        self.falls
    }

    /// [`FLOOD_QUIET`] after a flooded pane's screen (when it had fallen behind `falls` times):
    /// if it has not fallen behind since, the flood is over. Then `true`: ask for the screen with
    /// its scrollback.
    pub fn flood_over(&mut self, falls: u64) -> bool {
        if self.flooded && self.falls == falls && !self.behind {
            self.flooded = false;
            return true;
        }
        false
    }

    /// A screen arrived at `now`: it replaces what is shown, so everything before it is moot.
    /// Output flows again, unless the pane fell behind and has not asked for a screen yet: then
    /// the service was sent a hold that this screen came before (it sent it of its own accord,
    /// its own queue to the window having been full), so it sends nothing more until asked, and
    /// the pane stays behind until it has asked and had the answer.
    pub fn screen(&mut self, now: Instant) {
        if self.behind && !self.asked {
            return;
        }
        self.behind = false;
        self.asked = false;
        self.screen_at = Some(now);
    }

    /// The service ended the pane's hold at `now` with a screen of its own accord: the pane's
    /// output stopped (a flood ended, or stalled). Unlike a [`Catchup::screen`] that was not asked
    /// for, this one comes after the hold, so output flows again. A screen asked for meanwhile
    /// still comes, and is drawn like any other.
    pub fn settled(&mut self, now: Instant) {
        self.behind = false;
        self.asked = false;
        self.screen_at = Some(now);
    }

    /// The webview acknowledged output at `now` and `backlog` bytes are left: ask for a fresh
    /// screen? (once per falling behind, and once for the scrollback of a pane attached with its
    /// screen alone): `Some(wait)`, to ask after `wait` (zero: now). The screen carries the
    /// scrollback unless the pane is flooded ([`Catchup::with_scrollback`]).
    pub fn acked(&mut self, backlog: u64, now: Instant) -> Option<Duration> {
        if self.behind && !self.asked && backlog <= UI_CAUGHT_UP {
            self.asked = true;
            self.scrollback_due = false;
            let every = if self.flooded {
                FLOOD_SCREEN_INTERVAL
            } else {
                SCREEN_INTERVAL
            };
            let next = self.screen_at.map_or(now, |at| at + every);
            return Some(next.saturating_duration_since(now));
        }
        if self.scrollback_due && !self.behind && self.screen_at.is_some() {
            // The first screen is drawn: now the lines above it.
            self.scrollback_due = false;
            return Some(Duration::ZERO);
        }
        None
    }

    pub fn is_behind(&self) -> bool {
        self.behind
    }

    /// The screen [`Catchup::acked`] said to ask for after a wait is due: is it still owed, and
    /// with the scrollback or not (`Some(true)`: with it)? Not if a screen came meanwhile (the
    /// service's settled one): that ended the falling behind the ask was for, and a flood may
    /// even be over since, its screen with the scrollback asked for and drawn. A screen for the
    /// flood sent after it would replace it with the screen alone, for good.
    pub fn owed_screen(&self) -> Option<bool> {
        (self.behind && self.asked).then(|| self.with_scrollback())
    }
}

/// A [`Delivery`] shared between the engine's delivery thread and the commands.
pub type SharedDelivery<O> = Arc<Mutex<Delivery<O>>>;

/// Validates a terminal size from the UI.
pub fn check_size(cols: u16, rows: u16) -> Result<(), String> {
    const MAX: u16 = 4096;
    if cols == 0 || rows == 0 || cols > MAX || rows > MAX {
        return Err(format!(
            "invalid terminal size {cols}x{rows}: columns and rows must be between 1 and {MAX}"
        ));
    }
    Ok(())
}

/// Largest single `pane_write` (a paste): 4 MiB.
pub const MAX_WRITE: usize = 4 * 1024 * 1024;

/// Keystroke data from the UI as bytes. `binary` strings (xterm's onBinary) carry one byte per
/// character; anything above U+00FF there is an error, not a silent truncation.
pub fn input_bytes(data: &str, binary: bool) -> Result<Vec<u8>, String> {
    if data.len() > MAX_WRITE {
        return Err(format!(
            "write of {} bytes exceeds the {MAX_WRITE}-byte limit",
            data.len()
        ));
    }
    if !binary {
        return Ok(data.as_bytes().to_vec());
    }
    data.chars()
        .map(|c| {
            u8::try_from(u32::from(c)).map_err(|_| {
                format!(
                    "binary input holds a non-byte character U+{:04X}",
                    u32::from(c)
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct VecOut {
        frames: Arc<Mutex<Vec<Vec<u8>>>>,
        closed: Arc<Mutex<bool>>,
    }

    impl VecOut {
        fn close(&self) {
            *self.closed.lock().unwrap() = true;
        }
    }

    impl FrameOut for VecOut {
        fn send(&mut self, frame: Vec<u8>) -> bool {
            if *self.closed.lock().unwrap() {
                return false;
            }
            self.frames.lock().unwrap().push(frame);
            true
        }
    }

    #[test]
    fn output_before_attach_is_sent_first_in_one_frame() {
        let mut d = Delivery::<VecOut>::default();
        d.frame(b"ab".to_vec());
        d.frame(b"c".to_vec());
        let out = VecOut::default();
        assert_eq!(d.attach(out.clone()), 0);
        d.frame(b"d".to_vec());
        assert_eq!(
            *out.frames.lock().unwrap(),
            [b"abc".to_vec(), b"d".to_vec()]
        );
    }

    #[test]
    fn acks_are_bounded_by_what_was_sent() {
        let mut d = Delivery::<VecOut>::default();
        d.attach(VecOut::default());
        d.frame(vec![0; 10]);
        assert_eq!(d.ack(4), Ok(()));
        assert_eq!(d.ack(6), Ok(()));
        assert_eq!(
            d.ack(1),
            Err("ack of 1 bytes exceeds the 0 bytes sent and not yet acknowledged".to_string())
        );
        assert_eq!(d.acked(), 10);
    }

    #[test]
    fn reattach_releases_what_the_old_page_never_acked() {
        let mut d = Delivery::<VecOut>::default();
        let old = VecOut::default();
        d.attach(old.clone());
        d.frame(vec![0; 100]);
        d.ack(30).unwrap();
        // The page reloads: its channel closes; the frame after the failed one waits for the new page.
        old.close();
        d.frame(vec![1; 5]);
        d.frame(vec![2; 5]);
        let fresh = VecOut::default();
        assert_eq!(d.attach(fresh.clone()), 75);
        assert_eq!(*fresh.frames.lock().unwrap(), [vec![2; 5]]);
    }

    #[test]
    fn frames_sent_to_a_closed_receiver_are_released_at_the_next_attach() {
        let mut d = Delivery::<VecOut>::default();
        let closed = VecOut::default();
        closed.close();
        d.attach(closed);
        d.frame(b"lost".to_vec());
        d.frame(b"kept".to_vec());
        let fresh = VecOut::default();
        assert_eq!(d.attach(fresh.clone()), 4);
        assert_eq!(*fresh.frames.lock().unwrap(), [b"kept".to_vec()]);
    }

    /// (event, backlog, ms, expect): at `ms`, `out n` is output of n bytes (expect: delivered?),
    /// `screen` (expect: output flows again?), `ack` (expect: a fresh screen is asked for, after
    /// how many ms?).
    /// Steps of (event, backlog, ms since the start, what follows): `out N` (N bytes of
    /// output: do they flow?), `ack` (ask for a screen?, and with its scrollback or not),
    /// `screen` (does output flow now?), `settled` (a screen of the service's accord: does
    /// output flow now?), `quiet` ([`Catchup::flood_over`] with the falls of the last screen),
    /// `attach`.
    fn check_catchup(steps: &[(&str, u64, u64, &str)]) {
        let mut c = Catchup::default();
        let start = Instant::now();
        let mut falls_at_screen = 0;
        for (i, &(event, backlog, ms, want)) in steps.iter().enumerate() {
            let now = start + Duration::from_millis(ms);
            let got = match event.split_once(' ') {
                Some(("out", n)) => {
                    c.fell_behind(backlog, n.parse().unwrap(), now);
                    (!c.is_behind()).to_string()
                }
                _ if event == "ack" => match c.acked(backlog, now) {
                    Some(wait) if c.with_scrollback() => format!("ask in {} ms", wait.as_millis()),
                    Some(wait) => format!("ask in {} ms, screen alone", wait.as_millis()),
                    None => "none".into(),
                },
                _ if event == "screen" => {
                    c.screen(now);
                    falls_at_screen = c.falls();
                    (!c.is_behind()).to_string()
                }
                _ if event == "settled" => {
                    c.settled(now);
                    falls_at_screen = c.falls();
                    (!c.is_behind()).to_string()
                }
                _ if event == "quiet" => c.flood_over(falls_at_screen).to_string(),
                _ if event == "due" => match c.owed_screen() {
                    Some(true) => "ask".into(),
                    Some(false) => "ask, screen alone".into(),
                    None => "none".into(),
                },
                _ if event == "attach" => {
                    c = Catchup::screen_first();
                    "attached".to_string()
                }
                _ => panic!("unknown step {event}"),
            };
            assert_eq!(got, want, "step {i}: {event} at backlog {backlog}, {ms} ms");
        }
    }

    #[test]
    fn a_pane_that_falls_behind_drops_output_until_a_fresh_screen() {
        let m = UI_BOUND;
        let flood = FLOOD_SCREEN_INTERVAL.as_millis() as u64;
        check_catchup(&[
            ("out 1000", 0, 0, "true"),
            ("out 1000", m - 1000, 0, "true"),
            // Over the bound: dropped, and so is everything after it, however small.
            ("out 1001", m - 1000, 0, "false"),
            ("out 1", 0, 0, "false"),
            // Acks while still far behind ask for nothing; caught up, once (the first screen
            // at once).
            ("ack", UI_CAUGHT_UP + 1, 1, "none"),
            ("ack", UI_CAUGHT_UP, 2, "ask in 0 ms"),
            ("ack", 0, 3, "none"),
            ("out 10", 0, 4, "false"),
            // The fresh screen: output flows again.
            ("screen", 0, 10, "true"),
            ("out 10", 0, 11, "true"),
            ("ack", 0, 12, "none"),
            // Behind a second time soon after: flooded (see the next test), and asked again
            // once the flood's interval since the last screen has passed.
            ("out 5", m, 20, "false"),
            (
                "ack",
                0,
                30,
                &format!("ask in {} ms, screen alone", 10 + flood - 30),
            ),
            ("screen", 0, 10 + flood, "true"),
            ("quiet", 0, 10 + flood + 200, "true"),
            // Long after the last screen: at once.
            ("out 5", m, 1500, "false"),
            ("ack", 0, 1501, "ask in 0 ms"),
            ("screen", 0, 1510, "true"),
            // Behind, and a screen comes that was not asked for (the service sent it before it
            // had the hold): shown, but the pane stays behind and asks once caught up.
            ("out 5", m, 2600, "false"),
            ("screen", 0, 2601, "false"),
            ("out 5", 0, 2602, "false"),
            ("ack", 0, 2603, "ask in 0 ms"),
            ("screen", 0, 2610, "true"),
            ("quiet", 0, 3000, "false"),
            // One frame alone past the bound, with nothing left to render: no ack will come, so
            // the caller asks at once (as an ack would), after the interval.
            ("out 300000", 0, 2620, "false"),
            (
                "ack",
                0,
                2620,
                &format!("ask in {} ms, screen alone", 2610 + flood - 2620),
            ),
        ]);
    }

    /// The pane falls behind twice within a second, and is flooded: the screen it asks for at
    /// 21 ms is to come [`FLOOD_SCREEN_INTERVAL`] after the last, at 10 ms. Then `then`.
    fn check_flooded(then: &[(&str, u64, u64, &str)]) {
        let flood = FLOOD_SCREEN_INTERVAL.as_millis() as u64;
        let ask = format!("ask in {} ms, screen alone", 10 + flood - 21);
        let mut steps = vec![
            // Behind once: the screen comes with its scrollback, as ever.
            ("out 5", UI_BOUND, 0, "false"),
            ("ack", 0, 1, "ask in 0 ms"),
            ("screen", 0, 10, "true"),
            // Behind again within a second of it: flooded. The screen comes alone, and no
            // sooner than the flood's interval after the last (not the usual one).
            ("out 5", UI_BOUND, 20, "false"),
            ("ack", 0, 21, ask.as_str()),
        ];
        steps.extend_from_slice(then);
        check_catchup(&steps);
    }

    #[test]
    fn a_flooded_pane_gets_small_screens_until_the_flood_is_over() {
        let f = UI_FLOOD_BOUND;
        let flood = FLOOD_SCREEN_INTERVAL.as_millis() as u64;
        let (first, second) = (10 + flood, 10 + 2 * flood);
        check_flooded(&[
            ("screen", 0, first, "true"),
            // Flooded, the pane falls behind past the smaller bound.
            ("out 5", f, first + 10, "false"),
            ("quiet", 0, first + 200, "false"),
            (
                "ack",
                0,
                first + 11,
                &format!("ask in {} ms, screen alone", second - first - 11),
            ),
            ("screen", 0, second, "true"),
            ("out 1000", 0, second + 10, "true"),
            // Not behind again since that screen: the flood is over, the scrollback is asked
            // for (once), and the bound is the usual one again.
            ("quiet", 0, second + 200, "true"),
            ("quiet", 0, second + 201, "false"),
            ("out 5", f, second + 300, "true"),
        ]);
    }

    #[test]
    fn a_flooded_pane_flows_again_once_the_service_says_its_output_stopped() {
        let m = UI_BOUND;
        let flood = FLOOD_SCREEN_INTERVAL.as_millis() as u64;
        check_flooded(&[
            // The flood ends before that: the service ends the hold with the pane's screen.
            // Output flows again at once.
            ("settled", 0, 60, "true"),
            ("out 10", 0, 61, "true"),
            // The screen asked for still comes, drawn like any other.
            ("screen", 0, 10 + flood, "true"),
            // Not behind since: the flood is over.
            ("quiet", 0, 10 + flood + 200, "true"),
        ]);
        check_flooded(&[
            // The ask waits for the flood's interval; the flood ends first, and its settled
            // screen comes. Not behind since, the flood is over and the scrollback asked for.
            ("settled", 0, 60, "true"),
            ("quiet", 0, 260, "true"),
            // The ask's wait is over (at 260 ms): the screen is not owed any more. Sent, it
            // would come after the one with the scrollback and leave the pane without it.
            ("due", 0, 10 + flood, "none"),
        ]);
        check_flooded(&[
            // Still behind when the wait is over: the screen is owed, alone.
            ("due", 0, 10 + flood, "ask, screen alone"),
            ("screen", 0, 10 + flood + 5, "true"),
            ("due", 0, 10 + flood + 6, "none"),
        ]);
        check_catchup(&[
            // Held (not yet flooded) and settled before it asked: flows again, and asks for
            // nothing more.
            ("out 5", m, 0, "false"),
            ("settled", 0, 30, "true"),
            ("ack", 0, 31, "none"),
            ("out 5", 0, 32, "true"),
        ]);
    }

    #[test]
    fn a_pane_attached_with_its_screen_alone_asks_for_its_scrollback_once_drawn() {
        let m = UI_BOUND;
        let flood = FLOOD_SCREEN_INTERVAL.as_millis() as u64;
        check_catchup(&[
            ("attach", 0, 0, "attached"),
            // Acks before the first screen (a late one from an old page) ask for nothing.
            ("ack", 0, 1, "none"),
            ("screen", 0, 2, "true"),
            // The first screen drawn: its scrollback at once, and only once.
            ("ack", 100, 3, "ask in 0 ms"),
            ("ack", 0, 4, "none"),
            ("screen", 0, 5, "true"),
            ("ack", 0, 6, "none"),
        ]);
        check_catchup(&[
            ("attach", 0, 0, "attached"),
            ("screen", 0, 1, "true"),
            // Fallen behind before the scrollback came (right after a screen: a flood): the
            // screen asked for to catch up comes alone, and the scrollback once the flood is
            // over, once.
            ("out 1", m, 2, "false"),
            (
                "ack",
                0,
                3,
                &format!("ask in {} ms, screen alone", 1 + flood - 3),
            ),
            ("screen", 0, 1 + flood, "true"),
            ("ack", 0, 2 + flood, "none"),
            ("quiet", 0, 1 + flood + 200, "true"),
            ("ack", 0, 2 + flood + 200, "none"),
        ]);
    }

    #[test]
    fn output_after_a_screen_is_counted_apart_from_it() {
        let mut d = Delivery::<VecOut>::default();
        d.attach(VecOut::default());
        d.frame(vec![0; 5]);
        d.screen(vec![0; 300]);
        d.frame(vec![0; 7]);
        assert_eq!((d.backlog(), d.output_backlog()), (312, 7));
        // The acks reach into the screen: only output after it counts still.
        d.ack(200).unwrap();
        assert_eq!((d.backlog(), d.output_backlog()), (112, 7));
        // Past the screen: what is left of the output after it.
        d.ack(110).unwrap();
        assert_eq!((d.backlog(), d.output_backlog()), (2, 2));
        d.frame(vec![0; 4]);
        assert_eq!((d.backlog(), d.output_backlog()), (6, 6));
        // Kept while detached: all of it counts.
        let mut kept = Delivery::<VecOut>::default();
        kept.screen(vec![0; 50]);
        kept.frame(vec![0; 3]);
        assert_eq!((kept.backlog(), kept.output_backlog()), (53, 53));
    }

    #[test]
    fn backlog_counts_unacked_and_kept_bytes() {
        let mut d = Delivery::<VecOut>::default();
        d.frame(vec![0; 7]);
        assert_eq!(d.backlog(), 7);
        d.attach(VecOut::default());
        d.frame(vec![0; 3]);
        assert_eq!(d.backlog(), 10);
        d.ack(4).unwrap();
        assert_eq!(d.backlog(), 6);
    }

    #[test]
    fn sizes_are_validated() {
        let cases: [((u16, u16), bool); 5] = [
            ((80, 24), true),
            ((1, 1), true),
            ((0, 24), false),
            ((80, 0), false),
            ((5000, 24), false),
        ];
        for ((cols, rows), ok) in cases {
            assert_eq!(check_size(cols, rows).is_ok(), ok, "{cols}x{rows}");
        }
    }

    #[test]
    fn input_is_text_or_one_byte_per_char() {
        assert_eq!(input_bytes("é\r", false), Ok("é\r".as_bytes().to_vec()));
        assert_eq!(
            input_bytes("\u{1b}[M \u{ff}!", true),
            Ok(vec![0x1b, b'[', b'M', b' ', 0xff, b'!'])
        );
        assert_eq!(
            input_bytes("\u{100}", true),
            Err("binary input holds a non-byte character U+0100".to_string())
        );
    }
}
