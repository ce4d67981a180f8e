//! One pane: a child in a PTY, its reader, delivery and mirror threads, its flow control.

use std::io::{Read, Write};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, ChildKiller, CommandBuilder, MasterPty, PtySize};

use super::coalesce::Coalescer;
use super::screen::{Screen, ScreenSnapshot};
use super::{AckMode, PaneConfig, PaneExit, PaneId, PaneSink, PaneSize, PtyError, SpawnSpec};

/// Byte counters of one pane, for tests, benchmarks and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaneStats {
    /// Bytes read from the PTY.
    pub bytes_read: u64,
    /// Reads from the PTY (`bytes_read / reads` is the average read).
    pub reads: u64,
    /// Bytes handed (or being handed) to the sink.
    pub bytes_delivered: u64,
    /// Bytes acknowledged.
    pub bytes_acked: u64,
    /// Bytes read but not yet acknowledged (pending in the coalescer or held by the consumer).
    pub unacked: u64,
    /// Highest value `unacked` ever reached.
    pub peak_unacked: u64,
    /// Frames handed to the sink.
    pub frames: u64,
    /// Times the reader stopped at the high watermark.
    pub pauses: u64,
    /// The reader is stopped now, waiting for acks down to the low watermark.
    pub paused: bool,
    /// The reader thread is blocked until an ack resumes it (or the pane is killed): while this
    /// holds it reads nothing. Lets a test see that a stopped reader stays stopped without waiting
    /// to find out.
    pub reader_waiting: bool,
}

struct Flow {
    coalescer: Coalescer,
    /// `stats.paused`: the reader is waiting for acks (un-acked reached the high watermark).
    stats: PaneStats,
    /// The reader saw end of stream.
    eof: bool,
    /// The pane was killed: the reader discards what it still reads.
    closing: bool,
    /// Bytes handed to the mirror thread and not yet parsed. The mirror is a second
    /// consumer: the reader also stops when it lags by the high watermark.
    mirror_backlog: u64,
    exit: Option<PaneExit>,
}

struct Shared {
    config: PaneConfig,
    flow: Mutex<Flow>,
    /// Wakes the delivery thread: bytes pending, or end of stream.
    pending: Condvar,
    /// Wakes the reader: acks made room, or the pane is closing.
    room: Condvar,
    /// Wakes `wait_exit` callers.
    exited: Condvar,
    mirror: Mutex<Mirror>,
    /// Wakes `wait_for_screen` callers after each frame reaches the mirror.
    screen_changed: Condvar,
    /// Callers of `formatted_screen` waiting for the mirror to catch up: while there are any,
    /// the mirror thread parses what it has at once instead of waiting for a bigger batch.
    screen_wanted: std::sync::atomic::AtomicUsize,
    /// The child has exited: input is no longer sent.
    input_closed: std::sync::atomic::AtomicBool,
    /// Input queued and not yet written to the PTY.
    input_queued: Arc<std::sync::atomic::AtomicUsize>,
    /// A duplicate of the master's descriptor, owned here, to discard input a dead child will
    /// never read (so a writer blocked on a full queue returns).
    input_flush_fd: Option<std::os::fd::OwnedFd>,
}

/// The screen mirror and how far into the pane's output it is.
struct Mirror {
    screen: Screen,
    /// Bytes of frames parsed (frames are parsed whole and in delivery order, so this is the
    /// position in the pane's output the screen shows, once a synchronized-output frame the
    /// screen may be holding is applied).
    parsed: u64,
}

impl Mirror {
    /// Parses `frame`; returns how many of its bytes the screen fast-forwarded past.
    fn process(&mut self, frame: &[u8]) -> u64 {
        let skipped = self.screen.skipped();
        self.screen.process(frame);
        self.parsed += frame.len() as u64;
        self.screen.skipped() - skipped
    }

    /// The screen for a reader: a synchronized-output frame past its deadline is applied first
    /// (the mirror thread does so at the deadline too; this covers a reader that comes first).
    fn screen(&mut self) -> &Screen {
        self.screen.end_overdue_sync(Instant::now());
        &self.screen
    }
}

/// A pane's screen as bytes that draw it again in another terminal, and where in the pane's output
/// it stands: the first byte of output after it is byte `position` (count from the pane's start,
/// as [`PaneStats::bytes_delivered`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormattedScreen {
    pub bytes: Vec<u8>,
    pub position: u64,
    pub size: PaneSize,
}

/// Counts a caller waiting for the mirror while it lives.
struct ScreenWanted<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> ScreenWanted<'a> {
    fn new(count: &'a std::sync::atomic::AtomicUsize) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        ScreenWanted(count)
    }
}

impl Drop for ScreenWanted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn flow(&self) -> MutexGuard<'_, Flow> {
        lock(&self.flow)
    }

    fn ack_locked(&self, flow: &mut Flow, bytes: u64) {
        let outstanding = flow.stats.bytes_delivered - flow.stats.bytes_acked;
        let bytes = bytes.min(outstanding);
        flow.stats.unacked -= bytes;
        flow.stats.bytes_acked += bytes;
        self.maybe_resume(flow);
    }

    /// Restarts the reader once both the consumer and the mirror are down to the low watermark
    /// (the mirror's: [`MIRROR_BACKLOG_FACTOR`] times it).
    fn maybe_resume(&self, flow: &mut Flow) {
        let low = self.config.flow.low_watermark as u64;
        if flow.stats.paused
            && flow.stats.unacked <= low
            && flow.mirror_backlog <= low * MIRROR_BACKLOG_FACTOR
        {
            flow.stats.paused = false;
            self.room.notify_one();
        }
    }
}

/// The most input a pane holds for a child that does not read it yet (a paste is at most a few
/// MiB); past it a write is refused in words.
pub const MAX_QUEUED_INPUT: usize = 32 << 20;

/// A pane's input side: bytes go to a writer thread of its own (as WezTerm's `ThreadedWriter`
/// does), so a large paste to a child that reads slowly, or not at all, never blocks the caller
/// (the UI thread, the orchestrator's loop). Order is kept.
struct Input {
    tx: Mutex<mpsc::Sender<Vec<u8>>>,
    shared: Arc<Shared>,
    /// Why the writer stopped, once it did.
    broken: Arc<Mutex<Option<String>>>,
}

/// Bytes written to the PTY at a time: between pieces the writer looks whether the child exited.
const INPUT_PIECE: usize = 4096;

impl Input {
    fn start(
        id: PaneId,
        shared: Arc<Shared>,
        mut writer: Box<dyn Write + Send>,
    ) -> std::io::Result<Input> {
        use std::sync::atomic::Ordering;
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let broken = Arc::new(Mutex::new(None));
        let (sh, b) = (shared.clone(), broken.clone());
        thread::Builder::new()
            .name(format!("pty-write-{id}"))
            .spawn(move || {
                let mut stop: Option<String> = None;
                for chunk in rx {
                    for piece in chunk.chunks(INPUT_PIECE) {
                        if stop.is_none() && sh.input_closed.load(Ordering::SeqCst) {
                            stop = Some("the program has exited".into());
                        }
                        if stop.is_none() {
                            if let Err(e) = writer.write_all(piece).and_then(|_| writer.flush()) {
                                stop = Some(e.to_string());
                            }
                        }
                        sh.input_queued.fetch_sub(piece.len(), Ordering::SeqCst);
                    }
                    if let Some(e) = &stop {
                        *lock(&b) = Some(e.clone());
                    }
                }
            })?;
        Ok(Input {
            tx: Mutex::new(tx),
            shared,
            broken,
        })
    }

    fn send(&self, bytes: &[u8]) -> Result<(), PtyError> {
        use std::sync::atomic::Ordering;
        if self.shared.input_closed.load(Ordering::SeqCst) {
            return Err(PtyError::Pty(
                "the program no longer reads its input: it has exited".into(),
            ));
        }
        if let Some(e) = lock(&self.broken).clone() {
            return Err(PtyError::Pty(format!(
                "the program no longer reads its input: {e}"
            )));
        }
        let queued = self.shared.input_queued.load(Ordering::SeqCst);
        if queued + bytes.len() > MAX_QUEUED_INPUT {
            return Err(PtyError::Pty(format!(
                "the program has not read the last {} of input yet: nothing more is sent until \
                 it does (at most {} wait)",
                crate::files::size_in_words(queued as u64),
                crate::files::size_in_words(MAX_QUEUED_INPUT as u64)
            )));
        }
        self.shared
            .input_queued
            .fetch_add(bytes.len(), Ordering::SeqCst);
        lock(&self.tx).send(bytes.to_vec()).map_err(|_| {
            self.shared
                .input_queued
                .fetch_sub(bytes.len(), Ordering::SeqCst);
            PtyError::Pty("the program no longer reads its input".into())
        })
    }
}

/// A child process in a PTY. Dropping the pane kills the child.
pub struct Pane {
    id: PaneId,
    pid: Option<u32>,
    shared: Arc<Shared>,
    input: Input,
    master: Mutex<Box<dyn MasterPty + Send>>,
    killer: Mutex<Box<dyn ChildKiller + Send + Sync>>,
}

impl Pane {
    /// Starts `spec` in a new PTY; frames and the exit go to `sink`.
    pub fn spawn(
        id: PaneId,
        spec: &SpawnSpec,
        config: PaneConfig,
        sink: impl PaneSink,
    ) -> Result<Pane, PtyError> {
        let spawn_err = |reason: String| PtyError::Spawn {
            program: spec.program.clone(),
            reason,
        };
        if spec.program.trim().is_empty() {
            return Err(spawn_err("no program given".into()));
        }
        if let Some(dir) = &spec.cwd {
            if !dir.is_dir() {
                return Err(spawn_err(format!(
                    "working directory {} is not a directory",
                    dir.display()
                )));
            }
        }
        let mirror = Screen::new(spec.size, config.mirror_scrollback)?
            .with_sync_timeout(config.coalesce.sync_timeout);

        let pair = native_pty_system()
            .openpty(pty_size(spec.size))
            .map_err(|e| PtyError::Pty(format!("cannot open a pty: {e:#}")))?;
        let mut cmd = CommandBuilder::new(&spec.program);
        cmd.args(&spec.args);
        if let Some(dir) = &spec.cwd {
            cmd.cwd(dir);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env("COLORTERM", "truecolor");
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        let child = pair
            .slave
            .spawn_command(cmd)
            .map_err(|e| spawn_err(format!("{e:#}")))?;
        // Only the child may hold the slave side, or the reader never sees end of stream.
        drop(pair.slave);
        let master = pair.master;
        let reader = master
            .try_clone_reader()
            .map_err(|e| PtyError::Pty(format!("cannot read the pty: {e:#}")))?;
        let writer = master
            .take_writer()
            .map_err(|e| PtyError::Pty(format!("cannot write the pty: {e:#}")))?;
        let killer = child.clone_killer();
        let pid = child.process_id();

        let shared = Arc::new(Shared {
            config,
            flow: Mutex::new(Flow {
                coalescer: Coalescer::new(config.coalesce),
                stats: PaneStats::default(),
                eof: false,
                closing: false,
                mirror_backlog: 0,
                exit: None,
            }),
            pending: Condvar::new(),
            room: Condvar::new(),
            exited: Condvar::new(),
            mirror: Mutex::new(Mirror {
                screen: mirror,
                parsed: 0,
            }),
            screen_changed: Condvar::new(),
            screen_wanted: std::sync::atomic::AtomicUsize::new(0),
            input_closed: std::sync::atomic::AtomicBool::new(false),
            input_queued: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            input_flush_fd: master.as_raw_fd().and_then(|fd| {
                // SAFETY: `fd` is the master's open descriptor; `dup` gives an independent one
                // that this `OwnedFd` closes.
                let d = unsafe { libc::dup(fd) };
                (d >= 0).then(|| unsafe {
                    <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(d)
                })
            }),
        });

        let pane = Pane {
            id,
            pid,
            shared: shared.clone(),
            input: Input::start(id, shared.clone(), writer)?,
            master: Mutex::new(master),
            killer: Mutex::new(killer),
        };
        let reader_shared = shared.clone();
        thread::Builder::new()
            .name(format!("pty-read-{id}"))
            .spawn(move || read_loop(&reader_shared, reader))?;
        thread::Builder::new()
            .name(format!("pty-deliver-{id}"))
            .spawn(move || deliver_loop(&shared, child, sink))?;
        Ok(pane)
    }

    pub fn id(&self) -> PaneId {
        self.id
    }

    /// The child's process id.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    pub fn size(&self) -> PaneSize {
        let (rows, cols) = lock(&self.shared.mirror).screen.size();
        PaneSize::new(rows, cols)
    }

    /// Sends bytes to the child as if typed (Ctrl+C is `[0x03]`). Returns once they are queued
    /// for the pane's writer thread, in order, never waiting for the child to read them; an
    /// error in words when the child stopped reading or has not read [`MAX_QUEUED_INPUT`] yet.
    pub fn write(&self, bytes: &[u8]) -> Result<(), PtyError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.input.send(bytes)
    }

    /// Input queued for the child and not written to the PTY yet.
    pub fn input_backlog(&self) -> usize {
        self.shared
            .input_queued
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Resizes the PTY (the child gets SIGWINCH) and the mirror.
    pub fn resize(&self, size: PaneSize) -> Result<(), PtyError> {
        super::screen::nonzero_size(size)?;
        lock(&self.master)
            .resize(pty_size(size))
            .map_err(|e| PtyError::Pty(format!("cannot resize the pty: {e:#}")))?;
        lock(&self.shared.mirror).screen.set_size(size)
    }

    /// The consumer has processed `bytes` more bytes of the frames it received.
    /// Acks beyond what was delivered are ignored.
    pub fn ack(&self, bytes: usize) {
        let mut flow = self.shared.flow();
        self.shared.ack_locked(&mut flow, bytes as u64);
    }

    /// Hangs up the child's process group (SIGHUP); whatever is still alive in it after
    /// `PaneConfig::kill_grace` gets SIGKILL. Output read after this is discarded; the exit
    /// is still reported to the sink once the PTY closes.
    pub fn kill(&self) -> Result<(), PtyError> {
        let first_kill = {
            let mut flow = self.shared.flow();
            self.shared.room.notify_one();
            if flow.exit.is_some() {
                return Ok(());
            }
            !std::mem::replace(&mut flow.closing, true)
        };
        match self.pid.and_then(|pid| i32::try_from(pid).ok()) {
            // portable-pty makes the child a session (and process group) leader.
            Some(pgid) => {
                signal_group(pgid, libc::SIGHUP)?;
                if first_kill {
                    let shared = self.shared.clone();
                    thread::Builder::new()
                        .name(format!("pty-kill-{}", self.id))
                        .spawn(move || {
                            let flow = shared.flow();
                            let (flow, _) = shared
                                .exited
                                .wait_timeout_while(flow, shared.config.kill_grace, |f| {
                                    f.exit.is_none()
                                })
                                .unwrap_or_else(|e| e.into_inner());
                            if flow.exit.is_none() {
                                let _ = signal_group(pgid, libc::SIGKILL);
                            }
                        })?;
                }
                Ok(())
            }
            None => Ok(lock(&self.killer).kill()?),
        }
    }

    /// How the child ended, once it has and all its output was delivered.
    pub fn exit_status(&self) -> Option<PaneExit> {
        self.shared.flow().exit.clone()
    }

    /// Waits up to `timeout` for the child to end and its output to be delivered.
    pub fn wait_exit(&self, timeout: Duration) -> Option<PaneExit> {
        let flow = self.shared.flow();
        let (flow, _) = self
            .shared
            .exited
            .wait_timeout_while(flow, timeout, |f| f.exit.is_none())
            .unwrap_or_else(|e| e.into_inner());
        flow.exit.clone()
    }

    pub fn stats(&self) -> PaneStats {
        self.shared.flow().stats
    }

    /// The visible screen as text: rows with trailing blanks trimmed, joined with `'\n'`,
    /// trailing blank rows dropped.
    pub fn screen_text(&self) -> String {
        self.screen_contents().text()
    }

    pub fn screen_contents(&self) -> ScreenSnapshot {
        self.with_screen(ScreenSnapshot::of)
    }

    /// Zero-based (row, column) of the cursor.
    pub fn cursor_position(&self) -> (u16, u16) {
        self.with_screen(|s| s.cursor_position())
    }

    /// Runs `f` on the mirror's screen (hold it briefly: output waits meanwhile).
    pub fn with_screen<R>(&self, f: impl FnOnce(&Screen) -> R) -> R {
        f(lock(&self.shared.mirror).screen())
    }

    /// The screen and up to `scrollback` lines above it as bytes that draw them again
    /// ([`Screen::formatted`]), once the mirror has parsed every frame delivered so far, so that
    /// the pane's output from [`FormattedScreen::position`] on continues it exactly. (A
    /// synchronized-output frame the mirror holds is applied first, and the bytes end by opening
    /// one, so the output that follows completes it.) `None` when the pane has no mirror, or the
    /// mirror did not catch up within `timeout` (it lags by at most four times the high watermark).
    pub fn formatted_screen(
        &self,
        scrollback: usize,
        timeout: Duration,
    ) -> Option<FormattedScreen> {
        if !self.shared.config.mirror {
            return None;
        }
        let deadline = Instant::now() + timeout;
        // The mirror thread stops waiting for a bigger batch while someone waits here.
        let _wanted = ScreenWanted::new(&self.shared.screen_wanted);
        let mut mirror = lock(&self.shared.mirror);
        loop {
            let delivered = self.shared.flow().stats.bytes_delivered;
            if mirror.parsed >= delivered {
                let position = mirror.parsed;
                let (rows, cols) = mirror.screen.size();
                let bytes = mirror.screen.formatted(scrollback);
                return Some(FormattedScreen {
                    bytes,
                    position,
                    size: PaneSize::new(rows, cols),
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            mirror = self
                .shared
                .screen_changed
                .wait_timeout(mirror, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits up to `timeout` until `pred` holds for the mirrored screen; re-checks after
    /// every frame (no polling). Returns whether it held; gives up early once the child
    /// has exited, as the screen will not change any more.
    pub fn wait_for_screen(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&Screen) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        let mut mirror = lock(&self.shared.mirror);
        loop {
            if pred(mirror.screen()) {
                return true;
            }
            let now = Instant::now();
            // After the exit the screen is final (the mirror caught up before it was recorded).
            if now >= deadline || self.shared.flow().exit.is_some() {
                return false;
            }
            // Also look again when a held synchronized-output frame is due (the mirror thread
            // applies it then and says so; without that thread nothing else would).
            let wake = mirror
                .screen
                .sync_deadline()
                .map_or(deadline, |d| d.clamp(now, deadline));
            mirror = self
                .shared
                .screen_changed
                .wait_timeout(mirror, wake - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        if self.exit_status().is_none() {
            let _ = self.kill();
        }
    }
}

/// Sends `signal` to process group `pgid`; a group already gone is not an error.
fn signal_group(pgid: i32, signal: libc::c_int) -> std::io::Result<()> {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    if unsafe { libc::kill(-pgid, signal) } == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ESRCH) {
        Ok(())
    } else {
        Err(err)
    }
}

fn pty_size(size: PaneSize) -> PtySize {
    PtySize {
        rows: size.rows,
        cols: size.cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

/// The reader thread: blocks on the PTY, appends to the coalescer, stops at the high watermark.
fn read_loop(shared: &Shared, mut reader: Box<dyn Read + Send>) {
    let high = shared.config.flow.high_watermark as u64;
    let mut buf = vec![0u8; shared.config.read_chunk.max(1)];
    loop {
        let closing = {
            let mut flow = shared.flow();
            while flow.stats.paused && !flow.closing {
                flow.stats.reader_waiting = true;
                flow = shared.room.wait(flow).unwrap_or_else(|e| e.into_inner());
            }
            flow.stats.reader_waiting = false;
            flow.closing
        };
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // EIO once the child side is closed: end of stream.
            Err(_) => break,
        };
        if closing {
            continue;
        }
        let mut guard = shared.flow();
        let flow = &mut *guard;
        let now = Instant::now();
        // The delivery thread sleeps without a deadline while nothing is pending, else until the
        // coalescer's deadline, which more bytes never bring forward: it is woken only when it
        // has something to do sooner (a frame is ready, or the reader stops), not on every read.
        let mut wake = flow.coalescer.pending_len() == 0;
        flow.coalescer.push(&buf[..n], now);
        wake |= flow.coalescer.ready(now);
        let s = &mut flow.stats;
        s.bytes_read += n as u64;
        s.reads += 1;
        s.unacked += n as u64;
        s.peak_unacked = s.peak_unacked.max(s.unacked);
        if (s.unacked >= high || flow.mirror_backlog >= high * MIRROR_BACKLOG_FACTOR) && !s.paused {
            s.paused = true;
            s.pauses += 1;
            wake = true;
        }
        drop(guard);
        if wake {
            shared.pending.notify_one();
        }
    }
    shared.flow().eof = true;
    shared.pending.notify_one();
}

/// The mirror's backlog (bytes handed to it and not parsed yet) stops the reader at this many
/// times the high watermark, and lets it go on at this many times the low one: a mirror that is
/// behind gets batches this much longer, of which more scrolls out unparsed (fast-forward).
const MIRROR_BACKLOG_FACTOR: u64 = 4;

/// How long the mirror thread waits for a bigger batch while output floods (see `mirror_loop`).
const FLOOD_WAIT: Duration = Duration::from_millis(25);
/// How often that wait checks whether the reader has stopped.
const FLOOD_POLL: Duration = Duration::from_millis(1);

/// The mirror thread: parses frames into the screen off the delivery path. While the screen
/// holds a synchronized-output frame it also wakes at that frame's deadline, to apply it if its
/// end has not come (a program that never ends one must not freeze the screen).
fn mirror_loop(shared: &Shared, frames: mpsc::Receiver<Vec<u8>>) {
    let mut sync_deadline: Option<Instant> = None;
    let mut flooding = false;
    // Below the mirror's high watermark, so that the reader does not stop while it waits.
    let flood_batch = shared.config.flow.high_watermark as u64 * (MIRROR_BACKLOG_FACTOR - 1);
    loop {
        let frame = match sync_deadline {
            None => frames.recv().ok(),
            Some(deadline) => {
                match frames.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(frame) => Some(frame),
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        let mut mirror = lock(&shared.mirror);
                        let changed = mirror.screen.end_overdue_sync(Instant::now());
                        sync_deadline = mirror.screen.sync_deadline();
                        drop(mirror);
                        if changed {
                            shared.screen_changed.notify_all();
                        }
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => None,
                }
            }
        };
        let Some(mut frame) = frame else {
            break;
        };
        // The frames queued behind it are parsed with it, as one batch: when the mirror is
        // behind, a batch can hold more lines than the screen and its scrollback keep, which the
        // screen then leaves unparsed (`Screen`'s fast-forward).
        while let Ok(more) = frames.try_recv() {
            frame.extend_from_slice(&more);
        }
        if flooding {
            // The last batch was fast-forwarded: output floods. Wait a little for a bigger
            // batch, of which a bigger part scrolls out unparsed (the screen's rows and
            // scrollback are parsed once per batch, however long it is).
            // Not while the reader is stopped (no more would come), nor while someone waits
            // for the screen.
            let deadline = Instant::now() + FLOOD_WAIT;
            while (frame.len() as u64) < flood_batch
                && !shared.flow().stats.paused
                && shared
                    .screen_wanted
                    .load(std::sync::atomic::Ordering::SeqCst)
                    == 0
            {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                match frames.recv_timeout((deadline - now).min(FLOOD_POLL)) {
                    Ok(more) => frame.extend_from_slice(&more),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        }
        {
            let mut mirror = lock(&shared.mirror);
            flooding = mirror.process(&frame) > 0;
            sync_deadline = mirror.screen.sync_deadline();
        }
        shared.screen_changed.notify_all();
        let mut flow = shared.flow();
        flow.mirror_backlog -= frame.len() as u64;
        shared.maybe_resume(&mut flow);
    }
}

/// The delivery thread: waits for the coalescer's frames, hands them to the mirror thread
/// and the sink, then (once the mirror has caught up) reports the exit.
fn deliver_loop(
    shared: &Arc<Shared>,
    mut child: Box<dyn Child + Send + Sync>,
    mut sink: impl PaneSink,
) {
    let low = shared.config.flow.low_watermark;
    let mut mirror = if shared.config.mirror {
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let mirror_shared = shared.clone();
        let name = thread::current()
            .name()
            .unwrap_or("pty")
            .replace("deliver", "mirror");
        match thread::Builder::new()
            .name(name)
            .spawn(move || mirror_loop(&mirror_shared, rx))
        {
            Ok(handle) => Some((tx, handle)),
            // Without a thread the mirror is fed inline below.
            Err(_) => None,
        }
    } else {
        None
    };
    let mut flow = shared.flow();
    loop {
        let now = Instant::now();
        let mut frame = flow.coalescer.poll(now);
        if frame.is_none()
            && (flow.eof || (flow.stats.paused && flow.coalescer.pending_len() > low))
        {
            // End of stream; or the reader is stopped and the bytes held here alone keep it
            // stopped (a synchronized frame larger than the watermark): flush regardless.
            frame = flow.coalescer.flush(now);
        }
        if let Some(frame) = frame {
            let len = frame.len() as u64;
            // Counted before the sink sees the frame: the consumer may ack it from another
            // thread before `output` even returns.
            flow.stats.bytes_delivered += len;
            flow.stats.frames += 1;
            match &mirror {
                Some((tx, _)) => {
                    flow.mirror_backlog += len;
                    drop(flow);
                    if tx.send(frame.clone()).is_err() {
                        shared.flow().mirror_backlog -= len;
                    }
                }
                None => {
                    drop(flow);
                    if shared.config.mirror {
                        let _ = lock(&shared.mirror).process(&frame);
                        shared.screen_changed.notify_all();
                    }
                }
            }
            sink.output(frame);
            flow = shared.flow();
            if shared.config.ack == AckMode::OnDelivery {
                shared.ack_locked(&mut flow, len);
            }
            continue;
        }
        if flow.eof {
            break;
        }
        flow = match flow.coalescer.next_deadline() {
            Some(deadline) => {
                shared
                    .pending
                    .wait_timeout(flow, deadline.saturating_duration_since(now))
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => shared.pending.wait(flow).unwrap_or_else(|e| e.into_inner()),
        };
    }
    drop(flow);
    if let Some((tx, handle)) = mirror.take() {
        drop(tx);
        let _ = handle.join();
    }
    if shared.config.mirror {
        // The output is over: a synchronized-output frame it left open is shown as it is.
        lock(&shared.mirror).screen.end_sync();
    }
    let exit = match child.wait() {
        Ok(status) => PaneExit {
            code: status.exit_code(),
            signal: status.signal().map(str::to_string),
        },
        Err(e) => PaneExit {
            code: 1,
            signal: Some(format!("unknown ({e})")),
        },
    };
    shared.flow().exit = Some(exit.clone());
    close_input(shared);
    sink.exited(exit);
    shared.exited.notify_all();
    // Let `wait_for_screen` callers re-check (and give up) promptly.
    shared.screen_changed.notify_all();
}

/// The child exited: no more input is sent, and what it left unread in the PTY is discarded so
/// a writer blocked on a full queue returns (and sees the exit).
fn close_input(shared: &Shared) {
    use std::os::fd::AsRawFd;
    use std::sync::atomic::Ordering;
    shared.input_closed.store(true, Ordering::SeqCst);
    let Some(fd) = &shared.input_flush_fd else {
        return;
    };
    for _ in 0..40 {
        // SAFETY: tcflush on a descriptor this pane owns.
        unsafe {
            libc::tcflush(fd.as_raw_fd(), libc::TCIOFLUSH);
        }
        if shared.input_queued.load(Ordering::SeqCst) == 0 {
            return;
        }
        thread::sleep(Duration::from_millis(25));
    }
}
