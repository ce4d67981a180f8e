//! An agent's pane output, fanned out to the clients attached to it, each through its own bounded
//! queue. Nothing here ever holds the child back: the fan-out never acks (the orchestrator's loop
//! does, as with no window), and a client that falls behind by more than [`CLIENT_BOUND`] loses
//! its queued output for the pane and gets a fresh screen instead once it has caught up.
//!
//! A client whose own renderer fell behind holds an attachment: nothing is sent for it until the
//! client asks for a fresh screen, or until the pane has written nothing for [`SETTLE_QUIET`]:
//! then the service sends the screen of its own accord ([`FrameKind::Settled`]), so a flood's
//! end is drawn as soon as it comes however far apart the client spaces its screens.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::orchestrator::Orchestrator;
use crate::pty::{Pane, PaneExit, PaneSink};

use super::protocol::FrameKind;

/// Pane bytes a client may have queued before it gets a fresh screen instead of the backlog.
pub const CLIENT_BOUND: usize = 4 << 20;

/// Messages a client may have queued (events, replies) before the service hangs up on it.
pub const CLIENT_MESSAGE_BOUND: usize = 64 << 20;

/// How long a held attachment's pane writes nothing before the service sends its screen of its
/// own accord ([`FrameKind::Settled`]). Long enough that a flood's stalls on a busy 2-core
/// machine rarely end a hold (the reader's frames come every few ms while an agent floods),
/// short enough that the flood's final screen is drawn well within 100 ms of its end.
pub const SETTLE_QUIET: Duration = Duration::from_millis(25);

/// How long an attach waits for the pane's mirror to catch up with its output.
const MIRROR_PATIENCE: Duration = Duration::from_secs(5);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One queued frame for a client.
pub(crate) enum Outgoing {
    Message(Vec<u8>),
    Pane(FrameKind, u32, Vec<u8>),
}

/// What a client's writer does next ([`ClientOut::next`]).
pub(crate) enum Next {
    /// Write this frame.
    Frame(Outgoing),
    /// These attachments fell behind and the queue has drained: a fresh screen for each.
    Screens(Vec<u32>),
    /// These held attachments' panes have written nothing for [`SETTLE_QUIET`]: a
    /// [`FrameKind::Settled`] screen for each.
    Settled(Vec<u32>),
}

/// One attachment's frames waiting to go out.
struct Lane {
    attachment: u32,
    frames: VecDeque<(FrameKind, Vec<u8>)>,
}

/// What waits to go out to one client. Messages (replies, events) go first; pane frames are taken
/// one attachment at a time, in turn, so a keystroke's echo in one pane waits for at most one frame
/// of each other pane, never behind a flooding pane's whole backlog.
#[derive(Default)]
struct Queue {
    messages: VecDeque<Vec<u8>>,
    /// Attachments with frames queued, in the order they are served (a lane that still has frames
    /// after one is taken goes to the back).
    lanes: VecDeque<Lane>,
    pane_bytes: usize,
    message_bytes: usize,
    /// Attachments whose output was dropped: they get a fresh screen once the queue drains.
    resync: Vec<u32>,
    /// Attachments the client holds, with when their pane last wrote (or the hold came): each
    /// gets its screen [`SETTLE_QUIET`] after that.
    settling: Vec<(u32, Instant)>,
    closed: bool,
}

impl Queue {
    fn push_pane(&mut self, kind: FrameKind, attachment: u32, bytes: Vec<u8>) {
        self.pane_bytes += bytes.len();
        match self.lanes.iter_mut().find(|l| l.attachment == attachment) {
            Some(lane) => lane.frames.push_back((kind, bytes)),
            None => self.lanes.push_back(Lane {
                attachment,
                frames: VecDeque::from([(kind, bytes)]),
            }),
        }
    }

    /// The next frame to write: a message if any, else the next attachment's oldest frame.
    fn pop(&mut self) -> Option<Outgoing> {
        if let Some(m) = self.messages.pop_front() {
            self.message_bytes -= m.len();
            return Some(Outgoing::Message(m));
        }
        let mut lane = self.lanes.pop_front()?;
        let (kind, bytes) = lane.frames.pop_front()?;
        self.pane_bytes -= bytes.len();
        let attachment = lane.attachment;
        if !lane.frames.is_empty() {
            self.lanes.push_back(lane);
        }
        Some(Outgoing::Pane(kind, attachment, bytes))
    }

    fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.lanes.is_empty()
    }

    /// When the first held attachment settles.
    fn settle_deadline(&self) -> Option<Instant> {
        self.settling.iter().map(|&(_, at)| at + SETTLE_QUIET).min()
    }

    /// Takes the held attachments whose pane has written nothing for [`SETTLE_QUIET`] at `now`.
    fn settled(&mut self, now: Instant) -> Vec<u32> {
        let mut settled = Vec::new();
        self.settling.retain(|&(a, at)| {
            let quiet = now.saturating_duration_since(at) >= SETTLE_QUIET;
            if quiet {
                settled.push(a);
            }
            !quiet
        });
        settled
    }

    /// Drops what is queued for an attachment, its mark for a fresh screen and its hold.
    fn forget(&mut self, attachment: u32) {
        self.drop_pane(attachment);
        self.resync.retain(|&a| a != attachment);
        self.settling.retain(|&(a, _)| a != attachment);
    }

    /// Drops what is queued for an attachment.
    fn drop_pane(&mut self, attachment: u32) {
        if let Some(i) = self.lanes.iter().position(|l| l.attachment == attachment) {
            if let Some(lane) = self.lanes.remove(i) {
                self.pane_bytes -= lane.frames.iter().map(|(_, b)| b.len()).sum::<usize>();
            }
        }
    }
}

/// What goes out to one client: a queue its writer thread drains.
#[derive(Default)]
pub(crate) struct ClientOut {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl ClientOut {
    /// Queues a message; `false` when the client is gone or hopelessly behind (then it is closed).
    pub fn message(&self, json: Vec<u8>) -> bool {
        let mut q = lock(&self.queue);
        if q.closed {
            return false;
        }
        if q.message_bytes + json.len() > CLIENT_MESSAGE_BOUND {
            q.closed = true;
            self.ready.notify_all();
            return false;
        }
        q.message_bytes += json.len();
        q.messages.push_back(json);
        self.ready.notify_all();
        true
    }

    /// Queues pane bytes, unless the client is behind: then what is queued for the attachment
    /// is dropped and it is marked for a fresh screen. Returns `false` when marked.
    fn pane(&self, kind: FrameKind, attachment: u32, bytes: Vec<u8>) -> bool {
        let mut q = lock(&self.queue);
        if q.closed {
            return true;
        }
        if kind == FrameKind::Output && q.pane_bytes + bytes.len() > CLIENT_BOUND {
            q.drop_pane(attachment);
            if !q.resync.contains(&attachment) {
                q.resync.push(attachment);
            }
            self.ready.notify_all();
            return false;
        }
        q.push_pane(kind, attachment, bytes);
        self.ready.notify_all();
        true
    }

    /// Marks an attachment for a fresh screen.
    fn wants_screen(&self, attachment: u32) {
        let mut q = lock(&self.queue);
        if !q.resync.contains(&attachment) {
            q.resync.push(attachment);
        }
        self.ready.notify_all();
    }

    /// Forgets what is queued for an attachment, and its hold (detached, held anew, or sent a
    /// screen).
    pub fn forget(&self, attachment: u32) {
        lock(&self.queue).forget(attachment);
    }

    /// The client holds an attachment since `now`: its screen goes out once its pane has
    /// written nothing for [`SETTLE_QUIET`].
    fn hold(&self, attachment: u32, now: Instant) {
        let mut q = lock(&self.queue);
        q.forget(attachment);
        q.settling.push((attachment, now));
        // The writer waits until the first attachment settles: maybe sooner now.
        self.ready.notify_all();
    }

    /// A held attachment's pane wrote at `now`: its screen waits for the quiet after this.
    fn wrote_while_held(&self, attachment: u32, now: Instant) {
        let mut q = lock(&self.queue);
        if let Some(held) = q.settling.iter_mut().find(|(a, _)| *a == attachment) {
            // Later, never sooner: the writer's wait is not cut short.
            held.1 = now;
        }
    }

    /// Nothing is queued (the writer flushes then).
    pub fn is_idle(&self) -> bool {
        lock(&self.queue).is_empty()
    }

    pub fn close(&self) {
        lock(&self.queue).closed = true;
        self.ready.notify_all();
    }

    /// The next frame to write, attachments that want a fresh screen now that the queue has
    /// drained below half its bound, or held attachments whose pane went quiet; `None` once
    /// closed.
    pub fn next(&self) -> Option<Next> {
        let mut q = lock(&self.queue);
        loop {
            if q.closed {
                return None;
            }
            if !q.resync.is_empty() && q.pane_bytes <= CLIENT_BOUND / 2 {
                return Some(Next::Screens(std::mem::take(&mut q.resync)));
            }
            // The clock is read only while an attachment is held (not for every frame).
            let settle_at = q.settle_deadline();
            if let Some(at) = settle_at {
                let now = Instant::now();
                if now >= at {
                    return Some(Next::Settled(q.settled(now)));
                }
            }
            if let Some(f) = q.pop() {
                return Some(Next::Frame(f));
            }
            q = match settle_at {
                Some(at) => {
                    let wait = at.saturating_duration_since(Instant::now());
                    self.ready
                        .wait_timeout(q, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.ready.wait(q).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}

struct Attached {
    client: Arc<ClientOut>,
    id: u32,
    /// The pane's output from this byte on goes to the client (what came before is in the screen
    /// it was sent).
    from: u64,
    /// Output dropped: nothing is sent until a fresh screen.
    behind: bool,
    scrollback: usize,
}

#[derive(Default)]
struct State {
    attached: Vec<Attached>,
    /// The pane delivering now (looked up again after it exits: a restarted agent has a new one).
    pane: Option<Weak<Pane>>,
}

impl State {
    /// Where the client's attachment `id` is in [`State::attached`].
    fn position(&self, client: &Arc<ClientOut>, id: u32) -> Option<usize> {
        self.attached
            .iter()
            .position(|a| a.id == id && Arc::ptr_eq(&a.client, client))
    }
}

/// One agent's fan-out, shared by its pane sink and the service.
pub(crate) struct AgentFanout {
    orch: Weak<Orchestrator>,
    agent: String,
    state: Mutex<State>,
    /// How many attachments there are (read without the lock on every frame).
    attached: AtomicUsize,
}

impl AgentFanout {
    pub fn new(orch: Weak<Orchestrator>, agent: &str) -> Arc<AgentFanout> {
        Arc::new(AgentFanout {
            orch,
            agent: agent.to_string(),
            state: Mutex::new(State::default()),
            attached: AtomicUsize::new(0),
        })
    }

    /// The sink to install with [`Orchestrator::attach_ui`].
    pub fn sink(self: &Arc<Self>) -> Box<dyn PaneSink> {
        Box::new(FanoutSink(self.clone()))
    }

    fn current_pane(&self, st: &mut State) -> Option<Arc<Pane>> {
        if let Some(p) = st.pane.as_ref().and_then(Weak::upgrade) {
            return Some(p);
        }
        let orch = self.orch.upgrade()?;
        let pane = orch.panes().get(orch.agent_pane(&self.agent)?).ok()?;
        st.pane = Some(Arc::downgrade(&pane));
        Some(pane)
    }

    /// Sends the pane's screen to `a`'s client (as a frame of `kind`) and continues it from
    /// there.
    fn send_screen(&self, st: &mut State, index: usize, kind: FrameKind) {
        let pane = self.current_pane(st);
        let a = &mut st.attached[index];
        match pane.and_then(|p| p.formatted_screen(a.scrollback, MIRROR_PATIENCE)) {
            Some(screen) => {
                // Output still queued for it is in the screen (and no output of the pane is
                // queued in between: the state lock is held).
                a.client.forget(a.id);
                a.from = screen.position;
                a.behind = false;
                a.client.pane(kind, a.id, screen.bytes);
            }
            // No pane yet (the agent has not started): its output is sent from its first byte.
            None => {
                a.from = 0;
                a.behind = false;
            }
        }
    }

    pub fn attach(&self, client: Arc<ClientOut>, id: u32, scrollback: usize) {
        let mut st = lock(&self.state);
        st.attached.push(Attached {
            client,
            id,
            from: 0,
            behind: false,
            scrollback,
        });
        let index = st.attached.len() - 1;
        self.attached.store(st.attached.len(), Ordering::SeqCst);
        self.send_screen(&mut st, index, FrameKind::Screen);
    }

    /// A fresh screen for an attachment: its client caught up after falling behind, or asked for
    /// one (its renderer dropped output, or it wants the scrollback it attached without). Output
    /// still queued for it is dropped: the screen has it. `scrollback`, given, is how many lines
    /// above the screen this screen and every later one carry.
    pub fn resync(&self, client: &Arc<ClientOut>, id: u32, scrollback: Option<usize>) {
        let mut st = lock(&self.state);
        if let Some(index) = st.position(client, id) {
            if let Some(lines) = scrollback {
                st.attached[index].scrollback = lines;
            }
            self.send_screen(&mut st, index, FrameKind::Screen);
        }
    }

    /// A held attachment's pane went quiet: its screen, unless a fresh screen ended the hold
    /// already (the client asked for one meanwhile).
    pub fn settle(&self, client: &Arc<ClientOut>, id: u32) {
        let mut st = lock(&self.state);
        if let Some(index) = st.position(client, id).filter(|&i| st.attached[i].behind) {
            self.send_screen(&mut st, index, FrameKind::Settled);
        }
    }

    /// The client's own renderer fell behind: nothing more is sent for the attachment (what is
    /// queued is dropped) until it asks for a fresh screen ([`AgentFanout::resync`]) or the
    /// pane goes quiet ([`AgentFanout::settle`]).
    pub fn hold(&self, client: &Arc<ClientOut>, id: u32) {
        let mut st = lock(&self.state);
        if let Some(index) = st.position(client, id) {
            let a = &mut st.attached[index];
            a.behind = true;
            client.hold(id, Instant::now());
        }
    }

    pub fn detach(&self, client: &Arc<ClientOut>, id: u32) {
        self.forget(|a| a.id == id && Arc::ptr_eq(&a.client, client));
        client.forget(id);
    }

    /// Forgets every attachment of a client that hung up.
    pub fn drop_client(&self, client: &Arc<ClientOut>) {
        self.forget(|a| Arc::ptr_eq(&a.client, client));
    }

    fn forget(&self, which: impl Fn(&Attached) -> bool) {
        let mut st = lock(&self.state);
        st.attached.retain(|a| !which(a));
        self.attached.store(st.attached.len(), Ordering::SeqCst);
    }

    fn output(&self, mut frame: Vec<u8>) {
        let mut st = lock(&self.state);
        if st.attached.is_empty() {
            return;
        }
        // The delivery thread counts a frame as delivered before handing it over, so the pane's
        // count is where this frame ends.
        let Some(end) = self
            .current_pane(&mut st)
            .map(|p| p.stats().bytes_delivered)
        else {
            // The orchestrator has not published the new pane yet: a fresh screen instead.
            for a in st.attached.iter_mut() {
                a.behind = true;
                a.client.wants_screen(a.id);
            }
            return;
        };
        let start = end.saturating_sub(frame.len() as u64);
        // The last attachment that takes the frame gets it without a copy.
        let last = st.attached.iter().rposition(|a| !a.behind && end > a.from);
        let mut now = None;
        for (i, a) in st.attached.iter_mut().enumerate() {
            if a.behind {
                a.client
                    .wrote_while_held(a.id, *now.get_or_insert_with(Instant::now));
                continue;
            }
            if end <= a.from {
                continue;
            }
            let skip = a.from.saturating_sub(start) as usize;
            let bytes = if Some(i) == last {
                let mut owned = std::mem::take(&mut frame);
                owned.drain(..skip);
                owned
            } else {
                frame[skip..].to_vec()
            };
            if !a.client.pane(FrameKind::Output, a.id, bytes) {
                a.behind = true;
            }
        }
    }

    fn exited(&self) {
        let mut st = lock(&self.state);
        st.pane = None;
        // A restarted agent's new pane counts its output from zero.
        for a in st.attached.iter_mut() {
            a.from = 0;
        }
    }
}

struct FanoutSink(Arc<AgentFanout>);

impl PaneSink for FanoutSink {
    fn output(&mut self, frame: Vec<u8>) {
        self.0.output(frame);
    }

    fn exited(&mut self, _exit: PaneExit) {
        self.0.exited();
    }

    fn acks(&self) -> bool {
        false
    }

    /// No client attached: the tee need not copy the frame (the fan-out ignores it anyway).
    fn wants_frames(&self) -> bool {
        self.0.attached.load(Ordering::SeqCst) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Queues `input` ("m" a message, "N" a frame of attachment N, "-N" forget attachment N), then
    /// checks the order the writer takes them in.
    fn check(input: &str, expect: &str) {
        let out = ClientOut::default();
        for (i, op) in input.split_whitespace().enumerate() {
            match op {
                "m" => assert!(out.message(format!("{i}").into_bytes())),
                _ if op.starts_with('-') => out.forget(op[1..].parse().unwrap()),
                n => assert!(out.pane(FrameKind::Output, n.parse().unwrap(), vec![0; 10])),
            }
        }
        let mut got = Vec::new();
        while !out.is_idle() {
            match out.next() {
                Some(Next::Frame(Outgoing::Message(_))) => got.push("m".to_string()),
                Some(Next::Frame(Outgoing::Pane(_, a, _))) => got.push(a.to_string()),
                _ => panic!("not a frame"),
            }
        }
        assert_eq!(got.join(" "), expect, "queued: {input}");
        assert_eq!(lock(&out.queue).pane_bytes, 0);
        assert_eq!(lock(&out.queue).message_bytes, 0);
    }

    #[test]
    fn attachments_take_turns_and_messages_go_first() {
        // One attachment alone: its frames in order.
        check("1 1 1", "1 1 1");
        // A pane's echo queued behind another pane's flood goes out after one flood frame.
        check("1 1 1 1 2", "1 2 1 1 1");
        check("1 1 2 3 1 2", "1 2 3 1 2 1");
        // A reply queued last goes out first.
        check("1 1 2 m", "m 1 2 1");
        // A forgotten attachment's frames are gone, the others keep their turns.
        check("1 2 1 2 -1 3", "2 3 2");
    }

    #[test]
    fn a_held_attachment_settles_once_its_pane_has_been_quiet() {
        let ms = Duration::from_millis;
        let out = ClientOut::default();
        let t0 = Instant::now();
        out.hold(1, t0);
        out.hold(2, t0 + ms(10));
        // Attachment 1's pane writes on: its screen waits for the quiet after that.
        out.wrote_while_held(1, t0 + ms(20));
        // Not held: nothing to wait for.
        out.wrote_while_held(3, t0 + ms(20));
        {
            let mut q = lock(&out.queue);
            assert_eq!(q.settle_deadline(), Some(t0 + ms(10) + SETTLE_QUIET));
            assert!(q.settled(t0 + ms(9) + SETTLE_QUIET).is_empty());
            assert_eq!(q.settled(t0 + ms(10) + SETTLE_QUIET), [2]);
            assert_eq!(q.settle_deadline(), Some(t0 + ms(20) + SETTLE_QUIET));
        }
        // A screen, a new hold or a detach forgets the old hold.
        out.forget(1);
        assert_eq!(lock(&out.queue).settle_deadline(), None);
        // The writer, waiting for frames, wakes for the quiet one.
        out.hold(4, Instant::now());
        assert!(matches!(out.next(), Some(Next::Settled(a)) if a == [4]));
        assert!(out.is_idle());
    }
}
