//! The orchestrator's loop thread and its handle: the messages to the loop, the loop's state,
//! the [`Orchestrator`] handle and the loop itself (waiting, message dispatch). What the loop does
//! with each kind of message lives in the submodules, one concern each, as `impl Core` blocks.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::clock::Clock;
use super::config::ProjectConfig;
use super::tee::UiSlot;
use super::{
    Command, EngineEvent, OpenOptions, Snapshot, VerifyRecord, DEBOUNCE, UNREPORTED_AFTER,
};
use crate::agents::limits::UsageLimit;
use crate::agents::{AgentProfile, AgentStatus, PromptTemplates, StatusObservation, StatusSignal};
use crate::control::server::ServerConfig;
use crate::control::{
    CompleteRequest, ControlServer, Endpoint, HandoffRequest, HookRequest, Reply,
};
use crate::handoff::HandoffScanner;
use crate::model::{Batch, CliKind, PhaseRun, Timestamp};
use crate::pty::{Pane, PaneExit, PaneId, PaneSink, Panes};
use crate::scheduler::{Event, PhaseId, Scheduler, SimOutput};
use crate::store::Store;
use crate::trust::{ProjectCommands, TrustFile, TrustReview};
use crate::verify::VerifyOutcome;

mod branches;
mod commands;
mod completion;
mod control;
mod dispatch;
mod launch;
mod limits;
mod persist;
mod phases;
mod prompts;
mod report;
mod status;
mod verify;

use branches::GitRun;
pub use branches::HeldSync;
use control::Bridge;
use dispatch::{PendingEnter, STARTUP_SETTLE};
use report::SummaryWire;

/// Agents' output bytes sent to the loop and not yet handled: what a flood could pile up.
#[derive(Debug, Default)]
pub struct Backlog {
    now: AtomicUsize,
    peak: AtomicUsize,
    handled: AtomicU64,
}

impl Backlog {
    /// Before a frame is sent to the loop.
    pub(super) fn sent(&self, bytes: usize) {
        let now = self.now.fetch_add(bytes, Ordering::SeqCst) + bytes;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }

    /// A sent frame never reached the loop, or the loop is done with it.
    pub(super) fn gone(&self, bytes: usize) {
        self.now.fetch_sub(bytes, Ordering::SeqCst);
    }
}

/// Done with a frame of [`Msg::Output`] when dropped: it leaves the backlog and, for a headless
/// pane, is acked so the pane reads on.
struct Handled {
    ack: Option<std::sync::Weak<crate::pty::Pane>>,
    bytes: usize,
    backlog: Arc<Backlog>,
}

impl Drop for Handled {
    fn drop(&mut self) {
        self.backlog.gone(self.bytes);
        self.backlog
            .handled
            .fetch_add(self.bytes as u64, Ordering::SeqCst);
        if let Some(pane) = self.ack.take().and_then(|w| w.upgrade()) {
            pane.ack(self.bytes);
        }
    }
}

/// Messages to the loop thread.
pub enum Msg {
    Output {
        agent: usize,
        generation: u64,
        bytes: Vec<u8>,
        /// The pane to ack once the loop has read these bytes: set when no UI acks them, so a
        /// flooding agent waits for the loop instead of queueing output here without bound.
        ack: Option<std::sync::Weak<crate::pty::Pane>>,
    },
    Exit {
        agent: usize,
        generation: u64,
        exit: PaneExit,
    },
    Control {
        agent: Option<String>,
        request: ControlReq,
        reply: Sender<Result<Reply, String>>,
    },
    User {
        command: Command,
        reply: Sender<Result<String, String>>,
    },
    VerifyLine(String),
    VerifyDone {
        run_id: u64,
        sync: Option<u32>,
        outcome: VerifyOutcome,
    },
    /// The clock jumped (a test's [`super::ManualClock`]): run the timers due by now, then say
    /// so on `done`.
    Advanced {
        done: Sender<()>,
    },
    Stop,
}

pub enum ControlReq {
    Complete(CompleteRequest),
    Handoff(HandoffRequest),
    Status,
    Verify,
    Hook(HookRequest),
    Review(crate::control::ReviewRequest),
}

struct Shared {
    tx: Sender<Msg>,
    subscribers: Mutex<Vec<Sender<EngineEvent>>>,
    snapshot: Mutex<Snapshot>,
    panes: Arc<Panes>,
    ui: Vec<(String, UiSlot)>,
}

impl Shared {
    fn emit(&self, e: EngineEvent) {
        let mut subs = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        subs.retain(|s| s.send(e.clone()).is_ok());
    }
}

/// A live project. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Orchestrator {
    shared: Arc<Shared>,
    pending: Mutex<Option<(Core, Receiver<Msg>)>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    server: Mutex<Option<ControlServer>>,
    endpoint: Mutex<Option<Endpoint>>,
    runtime_dir: PathBuf,
    write_token_file: bool,
    open_project: Option<super::OpenProjectFn>,
    project_dir: PathBuf,
    spool: Mutex<Option<(Arc<AtomicBool>, JoinHandle<()>)>>,
    /// What the project runs (agents, verify): shown for approval, checked at start.
    commands: ProjectCommands,
    /// Where approvals are checked at start; `None` when the caller vouched for this run.
    trust: Option<TrustFile>,
    backlog: Arc<Backlog>,
    clock: Arc<dyn Clock>,
}

/// How [`Orchestrator::open`]'s refusal of a damaged run state begins (see [`is_damaged_run_state`]).
const DAMAGED_RUN_STATE: &str = "the saved state of this project's run";

/// Whether an error of [`Orchestrator::open`] is a damaged saved run state, which a fresh start
/// ([`super::OpenOptions::fresh`]) gets past while keeping the damaged file.
pub fn is_damaged_run_state(error: &str) -> bool {
    error.starts_with(DAMAGED_RUN_STATE)
}

/// How often a Claude Code agent's session file is looked at (a stat; read only when it changed).
const SESSION_EVERY: Duration = Duration::from_secs(1);

/// How often the inbox of sandboxed agents' reports is drained.
const SPOOL_EVERY: Duration = Duration::from_millis(500);

impl Orchestrator {
    /// Reads the project's config, tickets, store and saved run state. Nothing runs yet.
    pub fn open(opts: OpenOptions) -> Result<Orchestrator, String> {
        let (tx, rx) = mpsc::channel();
        let panes = Arc::new(Panes::new());
        let core = Core::open(&opts, tx.clone(), panes.clone())?;
        let commands = ProjectCommands::of(&opts.project_dir, &core.config);
        let backlog = core.backlog.clone();
        let trust = match opts.trust {
            super::TrustCheck::Required => Some(TrustFile::in_data_dir(&opts.data_dir)),
            super::TrustCheck::Vouched => None,
        };
        let ui = core
            .agents
            .iter()
            .map(|a| (a.profile.id.clone(), a.ui.clone()))
            .collect();
        let shared = Arc::new(Shared {
            tx,
            subscribers: Mutex::new(Vec::new()),
            snapshot: Mutex::new(core.snapshot(false)),
            panes,
            ui,
        });
        Ok(Orchestrator {
            shared,
            pending: Mutex::new(Some((core, rx))),
            thread: Mutex::new(None),
            server: Mutex::new(None),
            endpoint: Mutex::new(None),
            runtime_dir: opts.runtime_dir,
            open_project: opts.on_open_project,
            write_token_file: opts.write_token_file,
            project_dir: opts.project_dir,
            spool: Mutex::new(None),
            commands,
            trust,
            backlog,
            clock: opts.clock,
        })
    }

    /// Agents' output bytes queued for the loop: (the most there ever were, all handled so far).
    /// With no window the loop acks what it read, so the peak stays within a pane's flow-control
    /// window however much an agent prints (tests and benches read it).
    pub fn output_backlog(&self) -> (usize, u64) {
        (
            self.backlog.peak.load(Ordering::SeqCst),
            self.backlog.handled.load(Ordering::SeqCst),
        )
    }

    /// The commands this project runs: what the user approves before its first run.
    pub fn commands(&self) -> &ProjectCommands {
        &self.commands
    }

    /// Whether this user approved the project's commands on this machine (always, when the
    /// caller vouched for the run).
    pub fn trust_review(&self) -> Result<TrustReview, String> {
        match &self.trust {
            Some(file) => file.review(&self.commands),
            None => Ok(TrustReview {
                project: self.commands.clone(),
                approved: true,
                approved_before: false,
                changed: Vec::new(),
            }),
        }
    }

    /// Starts the control endpoint, the agents and the loop. Refused, with nothing started, while
    /// the project's commands are not approved (see [`crate::trust`]).
    pub fn start(&self) -> Result<(), String> {
        let review = self.trust_review()?;
        if !review.approved {
            return Err(review.refusal());
        }
        let Some((mut core, rx)) = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return Err("this project is already started".into());
        };
        let bridge = Arc::new(Bridge {
            tx: Mutex::new(self.shared.tx.clone()),
            open_project: self.open_project.clone(),
        });
        let server = ControlServer::start(
            ServerConfig {
                dir: self.runtime_dir.clone(),
                write_token_file: self.write_token_file,
            },
            bridge.clone(),
        )?;
        // Reports of sandboxed agents (control::spool) land in the project's inbox.
        let stop = Arc::new(AtomicBool::new(false));
        let spool = {
            let (stop, bridge, clock) = (stop.clone(), bridge.clone(), self.clock.clone());
            let (inbox, token) = (
                crate::control::spool::project_inbox(&self.project_dir),
                server.endpoint().token.clone(),
            );
            std::thread::Builder::new()
                .name("leapfrog-spool".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        crate::control::spool::drain(&inbox, &token, &*bridge);
                        // Every SPOOL_EVERY on the run's clock (unparked when it jumps, or to stop).
                        let due = clock.now() + SPOOL_EVERY;
                        loop {
                            let left = due.saturating_duration_since(clock.now());
                            if left.is_zero() || stop.load(Ordering::SeqCst) {
                                break;
                            }
                            std::thread::park_timeout(left);
                        }
                    }
                })
                .map_err(|e| format!("cannot start the inbox thread: {e}"))?
        };
        {
            let (stop, thread) = (stop.clone(), spool.thread().clone());
            self.clock.on_advance(Box::new(move || {
                thread.unpark();
                !stop.load(Ordering::SeqCst)
            }));
        }
        *self.spool.lock().unwrap_or_else(|e| e.into_inner()) = Some((stop, spool));
        core.endpoint = Some(server.endpoint().clone());
        *self.endpoint.lock().unwrap_or_else(|e| e.into_inner()) = Some(server.endpoint().clone());
        *self.server.lock().unwrap_or_else(|e| e.into_inner()) = Some(server);
        core.shared = Some(self.shared.clone());
        let (ready_tx, ready_rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("leapfrog-orchestrator".into())
            .spawn(move || core.run(rx, ready_tx))
            .map_err(|e| format!("cannot start the orchestrator thread: {e}"))?;
        *self.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        // Back once the agents are spawned and the first state is published.
        let _ = ready_rx.recv_timeout(Duration::from_secs(30));
        Ok(())
    }

    /// Stops the loop, hangs up the agents, saves the run state, closes the control endpoint.
    pub fn stop(&self) {
        if let Some((stop, t)) = self.spool.lock().unwrap_or_else(|e| e.into_inner()).take() {
            stop.store(true, Ordering::SeqCst);
            t.thread().unpark();
            let _ = t.join();
        }
        let _ = self.shared.tx.send(Msg::Stop);
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
        if let Some(s) = self.server.lock().unwrap_or_else(|e| e.into_inner()).take() {
            s.shutdown();
        }
    }

    /// Carries out a user command; the answer is a line for the user.
    pub fn command(&self, command: Command) -> Result<String, String> {
        let (reply, rx) = mpsc::channel();
        self.shared
            .tx
            .send(Msg::User { command, reply })
            .map_err(|_| "the project is not running".to_string())?;
        rx.recv_timeout(Duration::from_secs(20))
            .map_err(|_| "the project is not running".to_string())?
    }

    pub fn state(&self) -> Snapshot {
        self.shared
            .snapshot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn subscribe(&self) -> Receiver<EngineEvent> {
        let (tx, rx) = mpsc::channel();
        self.shared
            .subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        rx
    }

    pub fn panes(&self) -> Arc<Panes> {
        self.shared.panes.clone()
    }

    pub fn agent_pane(&self, agent: &str) -> Option<PaneId> {
        self.state()
            .agents
            .iter()
            .find(|a| a.id == agent)
            .and_then(|a| a.pane)
    }

    /// Sends the agent's pane output also to `sink`; the UI then acks ([`Panes::ack`]).
    pub fn attach_ui(&self, agent: &str, sink: Box<dyn PaneSink>) -> Result<(), String> {
        let slot = self.ui_slot(agent)?;
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(sink);
        Ok(())
    }

    /// Stops sending to the UI sink; the tee acks again.
    pub fn detach_ui(&self, agent: &str) -> Result<(), String> {
        let slot = self.ui_slot(agent)?;
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if let Some(p) = self.agent_pane(agent) {
            if let Ok(p) = self.shared.panes.get(p) {
                p.ack(usize::MAX);
            }
        }
        Ok(())
    }

    fn ui_slot(&self, agent: &str) -> Result<UiSlot, String> {
        self.shared
            .ui
            .iter()
            .find(|(id, _)| id == agent)
            .map(|(_, s)| s.clone())
            .ok_or_else(|| format!("no agent {agent:?}"))
    }

    pub fn endpoint(&self) -> Option<Endpoint> {
        self.endpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The run so far in `leap simulate --json`'s shape: every phase run of this run that ended
    /// passed or failed (crashed and interrupted runs left out), times in minutes since the run
    /// started; sequential is the sum of the rows' durations, parallel the end of the last row,
    /// the lower bound the scheduler's over the shortest measured duration of each phase.
    pub fn summary(&self) -> Result<SimOutput, String> {
        self.progress().map(|p| p.summary)
    }

    /// [`Orchestrator::summary`], and where the run stands: over, or when it should finish.
    pub fn progress(&self) -> Result<RunProgress, String> {
        let (reply, rx) = mpsc::channel();
        self.shared
            .tx
            .send(Msg::Control {
                agent: None,
                request: ControlReq::Status,
                reply,
            })
            .map_err(|_| "the project is not running".to_string())?;
        let reply = rx
            .recv_timeout(Duration::from_secs(20))
            .map_err(|_| "the project is not running".to_string())??;
        let summary = serde_json::from_value::<SummaryWire>(reply.data["summary"].clone())
            .map_err(|e| format!("bad summary: {e}"))?
            .0;
        let finished = reply.data["state"]["finished"].as_bool() == Some(true);
        let now_minutes = if finished {
            summary.parallel_minutes
        } else {
            reply.data["now_minutes"].as_f64().unwrap_or_default()
        };
        Ok(RunProgress {
            summary,
            finished,
            forecast_minutes: reply.data["forecast_minutes"].as_f64(),
            now_minutes,
        })
    }
}

impl Drop for Orchestrator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A run's progress for the timeline.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunProgress {
    /// The run so far ([`Orchestrator::summary`]).
    #[serde(deserialize_with = "report::deserialize_summary")]
    pub summary: SimOutput,
    /// Every batch is accepted and verified: the run's clock stops at the end of its last row.
    pub finished: bool,
    /// When the scheduler expects the run to finish, in minutes since its start (its estimates
    /// for what runs and what is left); `None` while something holds the pipeline.
    pub forecast_minutes: Option<f64>,
    /// Now, in minutes since the run's start (the origin of `summary`'s times), on the
    /// orchestrator's clock; a finished run's clock stopped at `summary.parallel_minutes`.
    pub now_minutes: f64,
}

// ---------------------------------------------------------------------------------------------
// The loop's state

struct AgentRt {
    profile: AgentProfile,
    ui: UiSlot,
    pane: Option<Arc<Pane>>,
    generation: u64,
    scanner: HandoffScanner,
    status: StatusObservation,
    /// The scheduler thinks the agent is online.
    online: bool,
    /// Told the scheduler the agent works on something it did not give it.
    external_busy: bool,
    exited: bool,
    paused: bool,
    /// The running phase and its phase run.
    current: Option<(PhaseId, u64)>,
    /// Assigned, prompt not written yet: (phase, prompt, since).
    queued: Option<(PhaseId, String, Instant)>,
    last_output: Instant,
    /// The screen was read again once the output went quiet (see `quiet_recheck_due`).
    quiet_checked: bool,
    last_write: Option<Instant>,
    output_since_write: bool,
    /// A pasted prompt whose Enter is still to be pressed, or whose submission is not confirmed yet.
    enter: Option<PendingEnter>,
    /// The usage limit the agent is held by, and when it ends (`None`: when the user resumes it).
    limit: Option<(UsageLimit, Option<std::time::SystemTime>)>,
    /// The last limit line handled and how many times the screen showed it then: the same line
    /// still on screen is not a new limit, one more copy of it is.
    limit_seen: Option<(String, usize)>,
    /// The last prompt written (to tell Codex's own side threads from the agent's turn).
    last_prompt: Option<String>,
    /// The command line of the running launch and when it started (named when it exits).
    command_line: String,
    started: Instant,
    idle_edge: Option<Instant>,
    /// A screen / session-file reading waiting out the debounce.
    candidate: Option<(StatusObservation, Instant)>,
    hook: Option<StatusObservation>,
    /// When `hook` arrived.
    hook_at: Instant,
    session_id: Option<String>,
    /// Claude Code's session file as last seen (length, modified) and when it was last looked at.
    session_stamp: Option<(u64, std::time::SystemTime)>,
    session_checked: Instant,
    /// The phase run whose missing report was notified.
    nudged: Option<u64>,
    dirty: bool,
}

struct Core {
    /// Batches on branches (`git.branches`): the checkout, worktrees and integration state.
    git: Option<GitRun>,
    /// Agents' output queued for this loop (see [`Backlog`]).
    backlog: Arc<Backlog>,
    project_id: String,
    project_dir: PathBuf,
    config: ProjectConfig,
    store: Arc<dyn Store>,
    panes: Arc<Panes>,
    tx: Sender<Msg>,
    agents: Vec<AgentRt>,
    scheduler: Scheduler,
    templates: PromptTemplates,
    state_file: PathBuf,
    agents_dir: PathBuf,
    processes_file: PathBuf,
    run_cache: BTreeMap<u64, PhaseRun>,
    batch_cache: Vec<Batch>,
    leap_program: String,
    home: Option<PathBuf>,
    pane_size: crate::pty::PaneSize,
    run_start_ms: Timestamp,
    clock_start: Instant,
    clock_offset: f64,
    endpoint: Option<Endpoint>,
    shared: Option<Arc<Shared>>,
    /// Verify runs in progress: run id -> sync point.
    verifying: BTreeMap<u64, Option<u32>>,
    verifies: Vec<VerifyRecord>,
    /// Findings of the last failed review per batch (for the fix prompt).
    findings: BTreeMap<u32, String>,
    /// Batches whose diff start this orchestrator recorded (a retried build keeps it).
    based: std::collections::BTreeSet<u32>,
    recheck_flags: usize,
    restored_running: Vec<PhaseRun>,
    /// Agent processes a previous run recorded: (agent, pid, program).
    previous_processes: Vec<(String, u32, String)>,
    finished_emitted: bool,
    last_tick: Instant,
    /// When the last completion signal arrived (dispatch latency is measured from it).
    last_signal: Option<Instant>,
    /// `leap verify` callers waiting for the next verify result.
    verify_waiters: Vec<Sender<Result<Reply, String>>>,
    paused_batches: std::collections::BTreeSet<u32>,
    /// Where the loop reads the time ([`OpenOptions::clock`]).
    clock: Arc<dyn Clock>,
    /// Told once this pass of the loop is done: the clock jumped ([`Msg::Advanced`]).
    advanced: Vec<Sender<()>>,
}

// ---------------------------------------------------------------------------------------------
// The loop (what it does with each message is in the submodules)

impl Core {
    fn minutes(&self) -> f64 {
        self.clock_offset + self.since(self.clock_start).as_secs_f64() / 60.0
    }

    /// Now, on the run's clock.
    fn now(&self) -> Instant {
        self.clock.now()
    }

    /// How long ago `then` was, on the run's clock.
    fn since(&self, then: Instant) -> Duration {
        self.clock.now().saturating_duration_since(then)
    }

    fn emit(&self, e: EngineEvent) {
        if let Some(s) = &self.shared {
            s.emit(e);
        }
    }

    fn notify(&self, message: impl Into<String>) {
        let message = message.into();
        let _ = self.store.append_note(&self.project_id, &message);
        self.emit(EngineEvent::Notification { message });
    }

    fn run(mut self, rx: Receiver<Msg>, ready: Sender<()>) {
        // A jump of the clock wakes the loop, and waits until it has run the timers due by then.
        let tx = self.tx.clone();
        self.clock.on_advance(Box::new(move || {
            let (done, acted) = mpsc::channel();
            if tx.send(Msg::Advanced { done }).is_err() {
                return false;
            }
            // Disconnected: the loop stopped before it got there.
            !matches!(
                acted.recv_timeout(Duration::from_secs(60)),
                Err(RecvTimeoutError::Disconnected)
            )
        }));
        self.reconcile_restored_runs();
        self.reconcile_processes();
        for i in 0..self.agents.len() {
            self.spawn_agent(i);
        }
        let effects = self.scheduler.step(Event::Tick { at: self.minutes() });
        self.apply_effects(effects);
        self.publish();
        let _ = ready.send(());
        loop {
            let timeout = self.next_wake();
            let msg = match rx.recv_timeout(timeout) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut stop = false;
            if let Some(m) = msg {
                stop = self.handle(m);
                // Drain what is already queued before deciding (cheap batching).
                while !stop {
                    match rx.try_recv() {
                        Ok(m) => stop = self.handle(m),
                        Err(_) => break,
                    }
                }
            }
            if stop {
                break;
            }
            self.press_enters();
            self.end_limits();
            self.evaluate_all();
            for i in 0..self.agents.len() {
                if self.agents[i].queued.is_some() {
                    self.try_dispatch(i);
                }
            }
            if self.since(self.last_tick) >= Duration::from_secs(10) {
                self.last_tick = self.now();
                self.refresh_disk_use();
                let effects = self.scheduler.step(Event::Tick { at: self.minutes() });
                self.apply_effects(effects);
            }
            self.check_unreported();
            self.check_finished();
            self.publish();
            for done in self.advanced.drain(..) {
                let _ = done.send(());
            }
        }
        for a in &self.agents {
            if let Some(p) = &a.pane {
                let _ = self.panes.remove(p.id());
            }
        }
        self.clean_up_branches();
        self.save();
        self.publish_running(false);
    }

    fn next_wake(&self) -> Duration {
        let now = self.now();
        let mut wake = now + Duration::from_secs(10);
        for a in &self.agents {
            if let Some(enter) = &a.enter {
                wake = wake.min(enter.due);
            }
            if let Some((_, Some(resume))) = &a.limit {
                let left = resume.duration_since(self.clock.wall()).unwrap_or_default();
                wake = wake.min(now + left);
            }
            if a.queued.is_some() && Self::settling(a, now) {
                wake = wake.min(a.last_output + STARTUP_SETTLE);
            }
            if let Some((_, since)) = &a.candidate {
                wake = wake.min(*since + DEBOUNCE);
            }
            if let (Some((_, run)), Some(edge)) = (a.current, a.idle_edge) {
                if a.status.status == AgentStatus::Idle
                    && a.nudged != Some(run)
                    && a.last_write.is_some_and(|w| edge > w)
                {
                    wake = wake.min((edge + UNREPORTED_AFTER).max(now));
                }
            }
            if !a.exited && a.profile.cli == CliKind::ClaudeCode && a.session_id.is_some() {
                wake = wake.min(a.session_checked + SESSION_EVERY);
            }
            if !a.exited
                && a.status.status == AgentStatus::Working
                && a.status.signal == StatusSignal::Screen
            {
                wake = wake
                    .min(a.last_output + crate::agents::screen::QUIET + Duration::from_millis(50));
            }
            if !a.exited && Self::quiet_recheck_pending(a) {
                wake = wake
                    .min(a.last_output + crate::agents::screen::QUIET + Duration::from_millis(50));
            }
        }
        wake.saturating_duration_since(now)
            .max(Duration::from_millis(5))
    }

    fn handle(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Output {
                agent,
                generation,
                bytes,
                ack,
            } => {
                // Acked after this message is handled (whatever happens to it): the pane reads on.
                let _handled = Handled {
                    ack,
                    bytes: bytes.len(),
                    backlog: self.backlog.clone(),
                };
                if generation != self.agents[agent].generation {
                    return false;
                }
                let now = self.now();
                let a = &mut self.agents[agent];
                a.last_output = now;
                a.quiet_checked = false;
                a.output_since_write = true;
                a.dirty = true;
                let found = a.scanner.feed(&bytes);
                for h in found {
                    self.on_block(agent, h);
                }
            }
            Msg::Exit {
                agent,
                generation,
                exit,
            } => {
                if generation == self.agents[agent].generation {
                    self.on_exit(agent, exit);
                }
            }
            Msg::Control {
                agent,
                request,
                reply,
            } => {
                if let ControlReq::Verify = request {
                    // `leap verify` waits for the verify it started.
                    match self.on_command(Command::RunVerify) {
                        Ok(_) => self.verify_waiters.push(reply),
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                    }
                    return false;
                }
                let r = self.on_control(agent.as_deref(), request);
                let _ = reply.send(r);
            }
            Msg::User { command, reply } => {
                let r = self.on_command(command);
                // The caller sees its command's effect in `state()` as soon as it has the answer.
                self.publish();
                let _ = reply.send(r);
            }
            Msg::VerifyLine(line) => self.emit(EngineEvent::Log {
                source: "verify".into(),
                line,
            }),
            Msg::VerifyDone {
                run_id,
                sync,
                outcome,
            } => self.on_verify_done(run_id, sync, outcome),
            Msg::Advanced { done } => self.advanced.push(done),
            Msg::Stop => return true,
        }
        false
    }

    fn check_finished(&mut self) {
        if !self.finished_emitted && self.scheduler.is_finished() && self.verifying.is_empty() {
            self.finished_emitted = true;
            self.emit(EngineEvent::Finished);
            self.save();
        }
    }
}
