//! The orchestrator's loop thread and its handle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::config::ProjectConfig;
use super::tee::{Tee, UiSlot};
use super::{
    AgentView, BatchView, Command, EngineEvent, OpenOptions, Snapshot, VerifyRecord, DEBOUNCE,
};
use crate::agents::limits::{limit_in_text, limit_on_screen, UsageLimit};
use crate::agents::prompts::PromptPhase;
use crate::agents::status::{
    claude_config_dir, claude_session_file_in, status_from_claude_transcript, status_from_hook,
};
use crate::agents::{
    build_launch, detect_screen_status, AgentProfile, AgentStatus, LaunchContext, PromptContext,
    PromptTemplates, SessionPlan, StatusObservation, StatusSignal,
};
use crate::control::server::ServerConfig;
use crate::control::{
    agent_env_for_project, AgentLine, BatchLine, CompleteRequest, ControlHandler, ControlServer,
    Endpoint, HandoffRequest, HookRequest, Outcome, Reply, StatusReport,
};
use crate::handoff::HandoffScanner;
use crate::model::TicketStatus;
use crate::model::{
    now_ms, Batch, CliKind, CompletionDetection, Handoff, HandoffKind, HandoffRecord, PhaseKind,
    PhaseOutcome, PhaseRun, Project, Timestamp, VerifyResult,
};
use crate::pty::{AckMode, Pane, PaneConfig, PaneExit, PaneId, PaneSink, Panes, SpawnSpec};
use crate::scheduler::sim::Row;
use crate::scheduler::{lower_bound, Effect, Event, PhaseId, Scheduler, SimOutput, Workload};
use crate::store::Store;
use crate::tickets::sync::{TicketsFile, WriteOptions};
use crate::tickets::Edit;
use crate::trust::{ProjectCommands, TrustFile, TrustReview};
use crate::verify::{spawn_verify, VerifyOutcome, VerifySpec};

mod branches;
use branches::GitRun;
pub use branches::HeldSync;

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

/// What is saved between runs.
#[derive(Serialize, Deserialize)]
struct Saved {
    scheduler: Scheduler,
    run_start_ms: Timestamp,
    sessions: BTreeMap<String, String>,
    recheck_flags: usize,
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
}

/// How [`Orchestrator::open`]'s refusal of a damaged run state begins (see [`is_damaged_run_state`]).
const DAMAGED_RUN_STATE: &str = "the saved state of this project's run";

/// Whether an error of [`Orchestrator::open`] is a damaged saved run state, which a fresh start
/// ([`super::OpenOptions::fresh`]) gets past while keeping the damaged file.
pub fn is_damaged_run_state(error: &str) -> bool {
    error.starts_with(DAMAGED_RUN_STATE)
}

/// How long an agent may sit idle at its prompt with an unreported phase before the user is told.
const UNREPORTED_AFTER: Duration = Duration::from_secs(10);

/// How often a Claude Code agent's session file is looked at (a stat; read only when it changed).
const SESSION_EVERY: Duration = Duration::from_secs(1);

/// How long after a pasted prompt its Enter is pressed. An Enter right behind the paste is lost:
/// Gemini CLI ignores one within about 40 ms of a paste, and Claude Code lost it in 5 of 8 runs at
/// 0 ms and in none at 5 ms or more.
const ENTER_AFTER_PASTE: Duration = Duration::from_millis(120);

/// How long to wait for a sign that a prompt was submitted before pressing Enter again. Claude Code
/// draws its prompt about 0.65 s after start but ignores Enter for another 3-5 s, so the first
/// prompt's Enter is often lost.
const ENTER_RETRY: Duration = Duration::from_millis(1500);

/// How many times Enter is pressed for one prompt before the user is told it sits unsent.
const ENTER_TRIES: u32 = 12;

/// A CLI that just started may draw its prompt and then a first-run dialog over it (Codex 0.171
/// draws its composer, then its sign-in or folder-trust screen). Within [`STARTUP`] of its start,
/// an agent gets its first prompt only once its screen has been still for [`STARTUP_SETTLE`].
const STARTUP: Duration = Duration::from_secs(8);
const STARTUP_SETTLE: Duration = Duration::from_millis(1500);

/// CLIs show a limit's reset to the minute (`resets 7:46pm`), and the real reset may come up to a
/// minute later. A limited agent gets work again this long after the minute it showed; when that
/// is already past (the limit came back at once), every [`LIMIT_RETRY`] until it holds. A retry
/// that meets the limit again costs one refused request.
const LIMIT_MARGIN: Duration = Duration::from_secs(5);
const LIMIT_RETRY: Duration = Duration::from_secs(20);

/// The largest handoff (tickets, files and notes together) the store keeps.
const MAX_HANDOFF_BYTES: usize = 64 * 1024;

/// How often the inbox of sandboxed agents' reports is drained.
const SPOOL_EVERY: Duration = Duration::from_millis(500);

struct Bridge {
    tx: Mutex<Sender<Msg>>,
    open_project: Option<super::OpenProjectFn>,
}

impl Bridge {
    fn ask(&self, agent: Option<&str>, request: ControlReq) -> Result<Reply, String> {
        let (reply, rx) = mpsc::channel();
        // A verify answers when the command has run, however long it takes.
        let patience = match request {
            ControlReq::Verify => Duration::from_secs(24 * 3600),
            _ => Duration::from_secs(20),
        };
        self.tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(Msg::Control {
                agent: agent.map(str::to_string),
                request,
                reply,
            })
            .map_err(|_| "Leapfrog is stopping".to_string())?;
        rx.recv_timeout(patience)
            .map_err(|_| "Leapfrog did not answer in time".to_string())?
    }
}

impl ControlHandler for Bridge {
    fn complete(&self, agent: Option<&str>, req: CompleteRequest) -> Result<Reply, String> {
        self.ask(agent, ControlReq::Complete(req))
    }
    fn handoff(&self, agent: Option<&str>, req: HandoffRequest) -> Result<Reply, String> {
        self.ask(agent, ControlReq::Handoff(req))
    }
    fn status(&self, agent: Option<&str>) -> Result<Reply, String> {
        self.ask(agent, ControlReq::Status)
    }
    fn verify(&self, agent: Option<&str>) -> Result<Reply, String> {
        self.ask(agent, ControlReq::Verify)
    }
    fn hook(&self, agent: Option<&str>, req: HookRequest) -> Result<Reply, String> {
        self.ask(agent, ControlReq::Hook(req))
    }
    fn review(
        &self,
        agent: Option<&str>,
        req: crate::control::ReviewRequest,
    ) -> Result<Reply, String> {
        self.ask(agent, ControlReq::Review(req))
    }
    fn open_project(
        &self,
        _agent: Option<&str>,
        req: crate::control::OpenProjectRequest,
    ) -> Result<Reply, String> {
        match &self.open_project {
            Some(open) => open(req.path).map(Reply::message),
            None => Err(format!(
                "this Leapfrog cannot open another project ({}); close it and run leap start again",
                req.path.display()
            )),
        }
    }
}

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
            let (stop, bridge) = (stop.clone(), bridge.clone());
            let (inbox, token) = (
                crate::control::spool::project_inbox(&self.project_dir),
                server.endpoint().token.clone(),
            );
            std::thread::Builder::new()
                .name("leapfrog-spool".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        crate::control::spool::drain(&inbox, &token, &*bridge);
                        std::thread::park_timeout(SPOOL_EVERY);
                    }
                })
                .map_err(|e| format!("cannot start the inbox thread: {e}"))?
        };
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
        Ok(RunProgress {
            summary,
            finished: reply.data["state"]["finished"].as_bool() == Some(true),
            forecast_minutes: reply.data["forecast_minutes"].as_f64(),
        })
    }
}

impl Drop for Orchestrator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A run's progress for the timeline.
#[derive(Debug, Clone)]
pub struct RunProgress {
    /// The run so far ([`Orchestrator::summary`]).
    pub summary: SimOutput,
    /// Every batch is accepted and verified: the run's clock stops at the end of its last row.
    pub finished: bool,
    /// When the scheduler expects the run to finish, in minutes since its start (its estimates
    /// for what runs and what is left); `None` while something holds the pipeline.
    pub forecast_minutes: Option<f64>,
}

/// `SimOutput` is only `Serialize`; this reads it back.
struct SummaryWire(SimOutput);

impl<'de> Deserialize<'de> for SummaryWire {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct RowW {
            agent: Option<String>,
            phase: String,
            batch: Option<u32>,
            #[serde(default)]
            milestone: Option<u32>,
            start: f64,
            end: f64,
        }
        #[derive(Deserialize)]
        struct W {
            batches: usize,
            sequential_minutes: f64,
            parallel_minutes: f64,
            savings: f64,
            lower_bound_minutes: f64,
            priority: String,
            recheck_flags: usize,
            schedule: Vec<RowW>,
        }
        let w = W::deserialize(d)?;
        let priority = crate::scheduler::PriorityRule::parse(&w.priority)
            .unwrap_or_default()
            .as_str();
        Ok(SummaryWire(SimOutput {
            batches: w.batches,
            sequential_minutes: w.sequential_minutes,
            parallel_minutes: w.parallel_minutes,
            savings: w.savings,
            lower_bound_minutes: w.lower_bound_minutes,
            priority,
            recheck_flags: w.recheck_flags,
            schedule: w
                .schedule
                .into_iter()
                .map(|r| Row {
                    agent: r.agent,
                    phase: r.phase,
                    batch: r.batch,
                    milestone: r.milestone,
                    start: r.start,
                    end: r.end,
                })
                .collect(),
        }))
    }
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

/// The Enter that submits a pasted prompt: pressed [`ENTER_AFTER_PASTE`] after the paste, and again
/// every [`ENTER_RETRY`] until the CLI shows that it took the prompt (a prompt-submit hook, its busy
/// marker, a turn's end), never while the screen shows a dialog (an Enter there would answer it).
#[derive(Debug, Clone, Copy)]
struct PendingEnter {
    due: Instant,
    tries: u32,
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
}

fn project_id(name: &str, dir: &Path) -> String {
    let canon = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let hash = blake3::hash(canon.to_string_lossy().as_bytes()).to_hex();
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{clean}-{}", &hash[..8])
}

fn prompt_phase(plan: &crate::scheduler::Plan, phase: PhaseId) -> Option<PromptPhase> {
    Some(match phase {
        PhaseId::Preamble { index } => {
            PromptPhase::from_role(plan.preamble.get(index as usize)?.role)
        }
        PhaseId::Design { .. } => PromptPhase::Design,
        PhaseId::Build { .. } => PromptPhase::Build,
        PhaseId::Review { .. } => PromptPhase::Review,
        PhaseId::Fix { .. } => PromptPhase::Fix,
        PhaseId::Qa { .. } => PromptPhase::Qa,
        PhaseId::Recheck { .. } => PromptPhase::Recheck,
        // rule 9: planning the next milestone is a plan phase, with its own prompt.
        PhaseId::PlanMilestone { .. } => PromptPhase::Plan,
        PhaseId::Verify { .. } => return None,
    })
}

fn model_kind(plan: &crate::scheduler::Plan, phase: PhaseId) -> PhaseKind {
    match phase {
        PhaseId::Preamble { index } => match plan.preamble.get(index as usize).map(|p| p.role) {
            Some(crate::model::Role::Requirements) => PhaseKind::Requirements,
            Some(crate::model::Role::Plan) => PhaseKind::Plan,
            _ => PhaseKind::Discovery,
        },
        PhaseId::Design { .. } => PhaseKind::Design,
        PhaseId::Build { .. } => PhaseKind::Build,
        PhaseId::Review { .. } => PhaseKind::Review,
        PhaseId::Fix { .. } => PhaseKind::Fix,
        PhaseId::Qa { .. } => PhaseKind::Qa,
        PhaseId::Recheck { .. } => PhaseKind::Recheck,
        PhaseId::Verify { .. } => PhaseKind::Verify,
        PhaseId::PlanMilestone { .. } => PhaseKind::Plan,
    }
}

/// The phase id of a stored run (preamble runs by their position in the plan).
fn phase_of_run(plan: &crate::scheduler::Plan, run: &PhaseRun) -> Option<PhaseId> {
    let b = run.batch;
    Some(match run.kind {
        PhaseKind::Design => PhaseId::Design { batch: b? },
        PhaseKind::Build => PhaseId::Build { batch: b? },
        PhaseKind::Review => PhaseId::Review { batch: b? },
        PhaseKind::Fix => PhaseId::Fix { batch: b? },
        PhaseKind::Qa => PhaseId::Qa { batch: b? },
        PhaseKind::Recheck => PhaseId::Recheck { batch: b? },
        PhaseKind::Verify => PhaseId::Verify { sync: b? },
        // A plan run with a number is `plan(m)` of milestone m (rule 9).
        PhaseKind::Plan if b.is_some() => PhaseId::PlanMilestone { milestone: b? },
        k => {
            let role = k.role()?;
            let index = plan.preamble.iter().position(|p| p.role == role)?;
            PhaseId::Preamble {
                index: index as u32,
            }
        }
    })
}

fn phase_name(plan: &crate::scheduler::Plan, phase: PhaseId) -> String {
    match phase {
        PhaseId::Preamble { .. } => prompt_phase(plan, phase)
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "preamble".into()),
        other => other.to_string(),
    }
}

impl Core {
    fn open(opts: &OpenOptions, tx: Sender<Msg>, panes: Arc<Panes>) -> Result<Core, String> {
        let dir = &opts.project_dir;
        if !dir.is_dir() {
            return Err(format!("{} is not a directory", dir.display()));
        }
        let config = ProjectConfig::load_checked(dir)?;
        let git = match config.branches() {
            Some(settings) => Some(GitRun::open(dir, settings)?),
            None => None,
        };
        let tickets_path = dir.join(&config.tickets);
        // Bounded like every TICKETS.md read: a regular file within the cap.
        let (doc, _) = crate::tickets::sync::read_doc(&tickets_path).map_err(|e| e.to_string())?;
        if doc.batches.is_empty() {
            return Err(format!("{} has no batches", tickets_path.display()));
        }
        let templates = PromptTemplates::for_project(dir)?;
        let name = config.name_or_folder(dir);
        // The id setup registered the project under, so the sidebar and the runs agree on one.
        let project_id = config
            .id
            .clone()
            .filter(|id| !id.trim().is_empty())
            .unwrap_or_else(|| project_id(&name, dir));
        let store = opts.store.clone();
        store
            .put_project(&Project {
                id: project_id.clone(),
                name: name.clone(),
                repo_path: dir.clone(),
                agents: Vec::new(),
                pattern: config.pattern,
                lookahead: config.lookahead,
                sync_interval: config.sync_every,
                verify_command: config.verify_command().map(str::to_string),
            })
            .map_err(|e| e.to_string())?;
        for b in &doc.batches {
            store
                .put_batch(
                    &project_id,
                    &Batch {
                        number: b.number,
                        name: b.title.clone(),
                        goal: None,
                        notes: None,
                    },
                )
                .map_err(|e| e.to_string())?;
        }
        let run_dir = opts.data_dir.join("projects").join(&project_id);
        std::fs::create_dir_all(&run_dir)
            .map_err(|e| format!("cannot create {}: {e}", run_dir.display()))?;
        let state_file = run_dir.join("run.json");
        let saved: Option<Saved> = if opts.fresh {
            // A fresh start keeps a damaged state file beside, for whoever wants to look.
            if std::fs::read_to_string(&state_file)
                .is_ok_and(|t| serde_json::from_str::<Saved>(&t).is_err())
            {
                let kept = run_dir.join(format!("run.json.damaged-{}", now_ms()));
                let _ = std::fs::rename(&state_file, &kept);
            }
            None
        } else {
            match std::fs::read_to_string(&state_file) {
                Err(_) => None,
                Ok(text) => match serde_json::from_str::<Saved>(&text) {
                    Ok(s) => Some(s).filter(|s| !s.scheduler.is_finished()),
                    // Never start over in silence: the run's progress is in that file.
                    Err(e) => {
                        return Err(format!(
                            "{DAMAGED_RUN_STATE} ({}) is damaged ({e}); \
                             start a fresh run to go on (`leap run DIR --headless --fresh`), \
                             which keeps the damaged file beside it",
                            state_file.display()
                        ))
                    }
                },
            }
        };
        let plan = config.plan(&doc);
        let resumed = saved.is_some();
        let (mut scheduler, run_start_ms, sessions, recheck_flags) = match saved {
            Some(s) => (s.scheduler, s.run_start_ms, s.sessions, s.recheck_flags),
            None => (
                Scheduler::new(plan).map_err(|e| format!("cannot schedule: {e}"))?,
                now_ms(),
                BTreeMap::new(),
                0,
            ),
        };
        let clock_offset = if resumed {
            scheduler
                .now()
                .max((now_ms().saturating_sub(run_start_ms)) as f64 / 60_000.0)
        } else {
            0.0
        };
        // Runs still marked running: no process runs them any more.
        let restored_running: Vec<PhaseRun> = if resumed {
            store
                .phase_runs(&project_id)
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|r| r.outcome == PhaseOutcome::Running && r.started_at >= run_start_ms)
                .collect()
        } else {
            Vec::new()
        };
        let now = Instant::now();
        let agents: Vec<AgentRt> = config
            .agents
            .iter()
            .map(|p| AgentRt {
                profile: p.clone(),
                ui: Arc::new(Mutex::new(None)),
                pane: None,
                generation: 0,
                scanner: HandoffScanner::new(),
                status: StatusObservation::new(
                    AgentStatus::Offline,
                    StatusSignal::Process,
                    "not started",
                ),
                online: false,
                external_busy: false,
                exited: false,
                paused: false,
                current: None,
                queued: None,
                last_output: now,
                quiet_checked: false,
                last_write: None,
                output_since_write: false,
                enter: None,
                limit: None,
                limit_seen: None,
                last_prompt: None,
                command_line: String::new(),
                started: now,
                idle_edge: None,
                candidate: None,
                hook: None,
                hook_at: now,
                session_id: sessions.get(&p.id).cloned(),
                session_stamp: None,
                session_checked: now,
                nudged: None,
                dirty: false,
            })
            .collect();
        // Every agent starts offline; it comes online at its first idle edge.
        let offline: Vec<Event> = agents
            .iter()
            .map(|a| Event::AgentOffline {
                agent: a.profile.id.clone(),
                at: clock_offset,
            })
            .collect();
        let _ = scheduler.step_all(offline);
        let run_cache: BTreeMap<u64, PhaseRun> = store
            .phase_runs(&project_id)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|r| r.started_at >= run_start_ms)
            .map(|r| (r.id, r))
            .collect();
        let batch_cache = store.batches(&project_id).map_err(|e| e.to_string())?;
        Ok(Core {
            git,
            backlog: Arc::new(Backlog::default()),
            project_id,
            project_dir: dir.clone(),
            config,
            store,
            panes,
            tx,
            agents,
            scheduler,
            templates,
            state_file,
            agents_dir: run_dir.join("agents"),
            processes_file: run_dir.join("processes.json"),
            leap_program: opts.leap_program.clone(),
            home: opts.home_dir.clone(),
            pane_size: opts.pane_size,
            run_start_ms,
            clock_start: now,
            clock_offset,
            endpoint: None,
            shared: None,
            verifying: BTreeMap::new(),
            verifies: Vec::new(),
            findings: BTreeMap::new(),
            based: Default::default(),
            recheck_flags,
            restored_running,
            run_cache,
            batch_cache,
            previous_processes: std::fs::read_to_string(run_dir.join("processes.json"))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default(),
            finished_emitted: false,
            last_tick: now,
            last_signal: None,
            verify_waiters: Vec::new(),
            paused_batches: Default::default(),
        })
    }

    fn minutes(&self) -> f64 {
        self.clock_offset + self.clock_start.elapsed().as_secs_f64() / 60.0
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

    fn save(&self) {
        let saved = Saved {
            scheduler: self.scheduler.clone(),
            run_start_ms: self.run_start_ms,
            sessions: self
                .agents
                .iter()
                .filter_map(|a| Some((a.profile.id.clone(), a.session_id.clone()?)))
                .collect(),
            recheck_flags: self.recheck_flags,
        };
        if let Ok(text) = serde_json::to_string(&saved) {
            let tmp = self.state_file.with_extension("json.tmp");
            if std::fs::write(&tmp, text).is_ok() {
                let _ = std::fs::rename(&tmp, &self.state_file);
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // The loop

    fn run(mut self, rx: Receiver<Msg>, ready: Sender<()>) {
        // Reconcile runs left running by a previous process: they have no process any more.
        for mut run in std::mem::take(&mut self.restored_running) {
            run.outcome = PhaseOutcome::Cancelled;
            run.ended_at = Some(now_ms());
            self.put_run(&run);
            let phase = phase_of_run(self.scheduler.plan(), &run);
            let what = phase
                .map(|p| phase_name(self.scheduler.plan(), p))
                .unwrap_or_else(|| format!("{:?}", run.kind));
            self.notify(format!(
                "{what} was running on {} when Leapfrog stopped; recorded as interrupted and \
                 dispatched again once the agent is back",
                run.agent.as_deref().unwrap_or("no agent")
            ));
            if let Some(PhaseId::Verify { sync }) = phase {
                // The verify result never came: run it again.
                self.start_verify(Some(sync));
            }
        }
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
            if self.last_tick.elapsed() >= Duration::from_secs(10) {
                self.last_tick = Instant::now();
                self.refresh_disk_use();
                let effects = self.scheduler.step(Event::Tick { at: self.minutes() });
                self.apply_effects(effects);
            }
            self.check_unreported();
            self.check_finished();
            self.publish();
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
        let now = Instant::now();
        let mut wake = now + Duration::from_secs(10);
        for a in &self.agents {
            if let Some(enter) = &a.enter {
                wake = wake.min(enter.due);
            }
            if let Some((_, Some(resume))) = &a.limit {
                let left = resume
                    .duration_since(std::time::SystemTime::now())
                    .unwrap_or_default();
                wake = wake.min(now + left);
            }
            if a.queued.is_some() && Self::settling(a) {
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
                let a = &mut self.agents[agent];
                a.last_output = Instant::now();
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
            Msg::Stop => return true,
        }
        false
    }

    // -----------------------------------------------------------------------------------------
    // Agents

    fn spawn_agent(&mut self, i: usize) {
        let Some(endpoint) = self.endpoint.clone() else {
            return;
        };
        // A Claude Code session exists only once its first prompt was sent: an id pre-assigned at a
        // launch that never got a prompt has no conversation to resume ("No conversation found").
        let claude_without_session = self.agents[i].profile.cli == CliKind::ClaudeCode
            && !self.claude_session_path(i).is_some_and(|p| p.is_file());
        if claude_without_session {
            self.agents[i].session_id = None;
        }
        if let Err(e) = self.agent_repo(i) {
            self.set_status(
                i,
                StatusObservation::new(AgentStatus::Offline, StatusSignal::Process, &e),
            );
            self.notify(e);
            return;
        }
        let work_dir = self.work_dir(i);
        let a = &mut self.agents[i];
        let resumes = !claude_without_session && (a.session_id.is_some() || a.generation > 0);
        let session = if resumes {
            SessionPlan::Resume {
                session_id: a.session_id.clone(),
            }
        } else {
            SessionPlan::fresh()
        };
        let ctx = LaunchContext {
            project_dir: work_dir,
            agent_dir: self.agents_dir.join(&a.profile.id),
            leap_program: self.leap_program.clone(),
            session,
        };
        let launch = match build_launch(&a.profile, &ctx).and_then(|l| {
            l.write_files()
                .map_err(|e| format!("cannot write the launch files: {e}"))?;
            Ok(l)
        }) {
            Ok(l) => l,
            Err(e) => {
                let id = a.profile.id.clone();
                self.set_status(
                    i,
                    StatusObservation::new(AgentStatus::Offline, StatusSignal::Process, &e),
                );
                self.notify(format!("cannot start agent {id}: {e}"));
                return;
            }
        };
        if launch.session_id.is_some() {
            a.session_id = launch.session_id.clone();
        }
        let mut spec = SpawnSpec::new(&launch.program)
            .args(&launch.args)
            .cwd(&launch.cwd)
            .size(self.pane_size);
        for (k, v) in launch.env.iter().cloned().chain(agent_env_for_project(
            &endpoint,
            &a.profile.id,
            &self.project_dir,
        )) {
            spec = spec.env(k, v);
        }
        a.generation += 1;
        let once = Arc::new(OnceLock::new());
        let tee = Tee {
            agent: i,
            generation: a.generation,
            backlog: self.backlog.clone(),
            tx: self.tx.clone(),
            ui: a.ui.clone(),
            pane: once.clone(),
        };
        let config = PaneConfig {
            ack: AckMode::Consumer,
            ..PaneConfig::default()
        };
        match self.panes.spawn(&spec, config, tee) {
            Ok(pane) => {
                let _ = once.set(Arc::downgrade(&pane));
                pane.ack(usize::MAX);
                self.record_processes(i, pane.pid(), &launch.program);
                let a = &mut self.agents[i];
                a.pane = Some(pane.clone());
                a.exited = false;
                a.external_busy = false;
                a.scanner = HandoffScanner::new();
                a.hook = None;
                a.candidate = None;
                a.last_write = None;
                a.enter = None;
                a.command_line = launch.command_line();
                a.started = Instant::now();
                a.idle_edge = None;
                a.last_output = Instant::now();
                a.quiet_checked = false;
                let id = a.profile.id.clone();
                let _ = self.store.append_note(
                    &self.project_id,
                    &format!("agent {id} started: {}", launch.command_line()),
                );
                self.emit(EngineEvent::AgentStarted {
                    agent: id,
                    pane: pane.id(),
                    command_line: launch.command_line(),
                    resumed: launch.resumes,
                });
                self.set_status(
                    i,
                    StatusObservation::new(AgentStatus::Working, StatusSignal::Process, "starting"),
                );
            }
            Err(e) => {
                let id = a.profile.id.clone();
                self.set_status(
                    i,
                    StatusObservation::new(
                        AgentStatus::Offline,
                        StatusSignal::Process,
                        e.to_string(),
                    ),
                );
                self.notify(format!("cannot start agent {id}: {e}"));
            }
        }
    }

    /// Remembers the agent processes of this run, so that a later run can tell whether they
    /// outlived it.
    fn record_processes(&mut self, i: usize, pid: Option<u32>, program: &str) {
        let id = self.agents[i].profile.id.clone();
        self.previous_processes.retain(|(a, _, _)| *a != id);
        if let Some(pid) = pid {
            self.previous_processes.push((id, pid, program.to_string()));
        }
        if let Ok(text) = serde_json::to_string(&self.previous_processes) {
            let _ = std::fs::write(&self.processes_file, text);
        }
    }

    /// Agent processes of a previous run that still run (their CLI ignored the hang-up) would
    /// keep working beside their replacements: stop them, and say so. A recorded pid counts only
    /// while `/proc/<pid>/cmdline` still starts with the recorded program (pids are reused).
    fn reconcile_processes(&mut self) {
        for (agent, pid, program) in std::mem::take(&mut self.previous_processes) {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let first = cmdline.split(|&b| b == 0).next().unwrap_or_default();
            if first.is_empty() || first != program.as_bytes() {
                continue;
            }
            let Ok(pid_t) = i32::try_from(pid) else {
                continue;
            };
            // SAFETY: kill(2) on a pid whose command line was just checked to be our agent's.
            unsafe { libc::kill(pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline
                && std::path::Path::new(&format!("/proc/{pid}")).exists()
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            if std::path::Path::new(&format!("/proc/{pid}")).exists() {
                // SAFETY: as above.
                unsafe { libc::kill(pid_t, libc::SIGKILL) };
            }
            self.notify(format!(
                "agent {agent} of the previous run (pid {pid}) was still running outside Leapfrog; stopped it"
            ));
        }
    }

    fn set_status(&mut self, i: usize, obs: StatusObservation) {
        let a = &mut self.agents[i];
        if a.status == obs {
            return;
        }
        let changed = a.status.status != obs.status;
        a.status = obs.clone();
        if changed && obs.status == AgentStatus::Idle {
            a.idle_edge = Some(Instant::now());
        }
        let id = a.profile.id.clone();
        let was_online = a.online;
        self.emit(EngineEvent::AgentStatus {
            agent: id.clone(),
            status: obs.status,
            signal: obs.signal,
            reason: obs.reason.clone(),
        });
        let at = self.minutes();
        let a = &self.agents[i];
        let unassigned = a.current.is_none() && a.queued.is_none();
        let external = a.external_busy;
        match obs.status {
            AgentStatus::Idle if !was_online || external => {
                self.agents[i].online = true;
                self.agents[i].external_busy = false;
                let effects = self.scheduler.step(Event::AgentIdle { agent: id, at });
                self.apply_effects(effects);
            }
            // Work Leapfrog did not give it (the user typed in its pane): no phase until idle.
            AgentStatus::Working | AgentStatus::NeedsInput
                if changed && was_online && unassigned && !external =>
            {
                self.agents[i].external_busy = true;
                let effects = self.scheduler.step(Event::AgentBusy { agent: id, at });
                self.apply_effects(effects);
            }
            AgentStatus::Exited | AgentStatus::Offline | AgentStatus::Limited if was_online => {
                self.agents[i].online = false;
                let effects = self.scheduler.step(Event::AgentOffline { agent: id, at });
                self.apply_effects(effects);
            }
            _ => {}
        }
        self.try_dispatch(i);
    }

    /// The screen's reading, plus: an empty prompt line at the cursor is idle.
    fn screen_reading(cli: CliKind, pane: &Pane, unchanged_for: Duration) -> StatusObservation {
        let text = pane.screen_text();
        let obs = detect_screen_status(cli, &text, unchanged_for);
        if obs.status == AgentStatus::Working && obs.reason == "screen is changing" {
            let at_prompt = pane.with_screen(|s| {
                let (row, _) = s.cursor_position();
                let cols = u16::from(s.size().1);
                s.rows(0, cols)
                    .nth(row as usize)
                    .map(|l| matches!(l.trim(), "❯" | ">" | "›"))
                    .unwrap_or(false)
            });
            if at_prompt {
                return StatusObservation::new(
                    AgentStatus::Idle,
                    StatusSignal::Screen,
                    "empty prompt at the cursor",
                );
            }
        }
        obs
    }

    /// A screen reading that ends a needs-input hook: a busy marker or an idle prompt (not a
    /// guess from a changing or quiet screen).
    fn screen_moved_on(screen: &StatusObservation) -> bool {
        match screen.status {
            AgentStatus::Working => screen.reason.starts_with("screen shows"),
            AgentStatus::Idle => screen.reason.contains("prompt"),
            _ => false,
        }
    }

    /// The transcript of a Claude Code agent's session, when its id is known.
    fn claude_session_path(&self, i: usize) -> Option<PathBuf> {
        let a = &self.agents[i];
        let dir = claude_config_dir(self.home.as_ref()?, &a.profile.env);
        Some(claude_session_file_in(
            &dir,
            &self.work_dir(i),
            a.session_id.as_ref()?,
        ))
    }

    fn session_reading(&self, i: usize) -> Option<StatusObservation> {
        let a = &self.agents[i];
        if a.profile.cli != CliKind::ClaudeCode {
            return None;
        }
        let path = self.claude_session_path(i)?;
        let bytes = std::fs::read(&path).ok()?;
        let start = bytes.len().saturating_sub(64 * 1024);
        status_from_claude_transcript(&String::from_utf8_lossy(&bytes[start..]))
    }

    fn evaluate_all(&mut self) {
        let now = Instant::now();
        for i in 0..self.agents.len() {
            let a = &self.agents[i];
            if a.exited || a.pane.is_none() {
                continue;
            }
            let quiet_recheck = Self::quiet_recheck_pending(a)
                && now >= a.last_output + crate::agents::screen::QUIET;
            if quiet_recheck {
                self.agents[i].quiet_checked = true;
            }
            let a = &self.agents[i];
            let due = quiet_recheck
                || a.dirty
                || a.candidate
                    .as_ref()
                    .is_some_and(|(_, s)| now >= *s + DEBOUNCE)
                || (a.status.signal == StatusSignal::Screen
                    && a.status.status == AgentStatus::Working
                    && now >= a.last_output + crate::agents::screen::QUIET);
            let due = due || self.session_file_changed(i, now);
            if due {
                self.evaluate(i);
            }
        }
    }

    /// Claude Code agents: whether their session file changed since last looked at (a stat, at
    /// most every [`SESSION_EVERY`]).
    fn session_file_changed(&mut self, i: usize, now: Instant) -> bool {
        let a = &self.agents[i];
        if a.profile.cli != CliKind::ClaudeCode || now < a.session_checked + SESSION_EVERY {
            return false;
        }
        let Some(path) = self.claude_session_path(i) else {
            return false;
        };
        let stamp = std::fs::metadata(&path)
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)));
        let a = &mut self.agents[i];
        a.session_checked = now;
        if stamp != a.session_stamp {
            a.session_stamp = stamp;
            return true;
        }
        false
    }

    /// A status from the process (`starting`, `prompt sent`) is read from the screen once more
    /// after the output goes quiet: the mirror thread may not have parsed the last frame when
    /// the output message was evaluated, and nothing else would wake a re-read.
    fn quiet_recheck_pending(a: &AgentRt) -> bool {
        !a.quiet_checked
            && a.status.status == AgentStatus::Working
            && a.status.signal == StatusSignal::Process
    }

    fn evaluate(&mut self, i: usize) {
        self.agents[i].dirty = false;
        let Some(pane) = self.agents[i].pane.clone() else {
            return;
        };
        if self.agents[i].limit.is_some() {
            // Held until the reset (or the user's resume): see `end_limits`.
            return;
        }
        let a = &self.agents[i];
        let screen = Self::screen_reading(a.profile.cli, &pane, a.last_output.elapsed());
        // A limit ends the turn: look for one only once the busy marker is gone (not on every
        // frame of a turn's output).
        if screen.status != AgentStatus::Working || !screen.reason.starts_with("screen shows") {
            if let Some(limit) = self.new_limit_on_screen(i, &pane) {
                self.on_limit(i, limit, StatusSignal::Screen);
                return;
            }
        }
        let a = &self.agents[i];
        let hook = a.hook.clone();
        let reading = match hook {
            Some(h)
                if screen.status == AgentStatus::NeedsInput && h.status == AgentStatus::Working =>
            {
                screen
            }
            // The human answered: the CLI works again (its busy marker) or is back at its prompt,
            // and no hook says so (Claude Code fires none after a permission is granted).
            Some(h)
                if h.status == AgentStatus::NeedsInput
                    && a.last_output > a.hook_at
                    && Self::screen_moved_on(&screen) =>
            {
                self.agents[i].hook = None;
                screen
            }
            Some(h) => {
                self.agents[i].candidate = None;
                self.set_status(i, h);
                return;
            }
            None => match self.session_reading(i) {
                Some(s) if screen.status != AgentStatus::NeedsInput => s,
                _ => screen,
            },
        };
        if reading.status == AgentStatus::Working && reading.reason.starts_with("screen shows") {
            self.prompt_taken(i);
        }
        let a = &mut self.agents[i];
        // Right after a prompt is written the screen still shows the old prompt: wait for output.
        if reading.status == AgentStatus::Idle && a.last_write.is_some() && !a.output_since_write {
            return;
        }
        // The prompt is pasted but not yet taken: its input box is not an idle edge.
        if reading.status == AgentStatus::Idle && a.enter.is_some() {
            return;
        }
        if reading.status == a.status.status {
            a.candidate = None;
            if reading.signal != a.status.signal {
                // Same status, now from a stronger or fresher signal: show which.
                self.set_status(i, reading);
            }
            return;
        }
        match &a.candidate {
            Some((c, since)) if c.status == reading.status => {
                if since.elapsed() >= DEBOUNCE {
                    a.candidate = None;
                    self.set_status(i, reading);
                }
            }
            _ => a.candidate = Some((reading, Instant::now())),
        }
    }

    /// Presses the Enter of each pasted prompt that is due (see [`PendingEnter`]).
    fn press_enters(&mut self) {
        let now = Instant::now();
        for i in 0..self.agents.len() {
            let a = &self.agents[i];
            let Some(enter) = a.enter else { continue };
            if now < enter.due {
                continue;
            }
            let (Some(pane), true, false) = (a.pane.clone(), a.current.is_some(), a.exited) else {
                self.agents[i].enter = None;
                continue;
            };
            if enter.tries > 0 {
                // Pressed once already: press again only while the prompt still waits unsent.
                let screen = Self::screen_reading(a.profile.cli, &pane, a.last_output.elapsed());
                if screen.status == AgentStatus::NeedsInput {
                    // A dialog holds the screen: an Enter would answer it. Wait for the human.
                    self.agents[i].enter = Some(PendingEnter {
                        due: now + ENTER_RETRY,
                        ..enter
                    });
                    continue;
                }
                if enter.tries >= ENTER_TRIES {
                    let id = a.profile.id.clone();
                    self.agents[i].enter = None;
                    self.notify(format!(
                        "{id} did not take its prompt after {ENTER_TRIES} Enter presses: it may \
                         sit unsent in {id}'s input box; press Enter in its pane"
                    ));
                    continue;
                }
            }
            if let Err(e) = pane.write(b"\r") {
                self.agents[i].enter = None;
                let id = self.agents[i].profile.id.clone();
                self.notify(format!("cannot press Enter in {id}'s pane: {e}"));
                continue;
            }
            self.agents[i].enter = Some(PendingEnter {
                due: now + ENTER_RETRY,
                tries: enter.tries + 1,
            });
            if enter.tries > 0 {
                let id = self.agents[i].profile.id.clone();
                self.emit(EngineEvent::Log {
                    source: id.clone(),
                    line: format!(
                        "{id} has not taken its prompt yet: pressed Enter again (press {})",
                        enter.tries + 1
                    ),
                });
            }
        }
    }

    /// The agent showed that it took its prompt: no more Enters for it.
    fn prompt_taken(&mut self, i: usize) {
        let a = &mut self.agents[i];
        if a.enter.is_some_and(|e| e.tries > 0) {
            a.enter = None;
        }
    }

    /// Just started and its screen still moves: a first-run dialog may yet cover the prompt.
    fn settling(a: &AgentRt) -> bool {
        a.started.elapsed() < STARTUP && a.last_output.elapsed() < STARTUP_SETTLE
    }

    fn try_dispatch(&mut self, i: usize) {
        let a = &self.agents[i];
        if a.queued.is_none() || a.paused || a.exited || a.status.status != AgentStatus::Idle {
            return;
        }
        if Self::settling(a) {
            return;
        }
        // An idle edge after the last prompt.
        let edge_ok = match (a.idle_edge, a.last_write) {
            (Some(edge), Some(w)) => edge > w,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !edge_ok {
            return;
        }
        let Some(pane) = a.pane.clone() else {
            return;
        };
        // The screen as it is now, not as it was when the status was read: never paste into a
        // dialog.
        let now = Self::screen_reading(a.profile.cli, &pane, a.last_output.elapsed());
        if now.status == AgentStatus::NeedsInput {
            self.agents[i].dirty = true;
            return;
        }
        let (phase, prompt, since) = self.agents[i].queued.take().expect("queued");
        // The pack as TICKETS.md is now: it may have changed while the prompt waited.
        if since.elapsed() > Duration::from_millis(50) && !self.is_conflict_fix(i, phase) {
            self.write_pack_for(phase);
        }
        let mut bytes = b"\x1b[200~".to_vec();
        bytes.extend_from_slice(prompt.as_bytes());
        bytes.extend_from_slice(b"\x1b[201~");
        // The Enter follows in `press_enters`, after a pause.
        let written = pane.write(&bytes);
        let agent = self.agents[i].profile.id.clone();
        if let Err(e) = written {
            self.notify(format!(
                "cannot write the {} prompt to {agent}: {e}",
                phase_name(self.scheduler.plan(), phase)
            ));
            self.agents[i].queued = Some((phase, prompt, since));
            return;
        }
        let from = match self.last_signal {
            Some(s) if s > since => s,
            _ => since,
        };
        let latency_ms = from.elapsed().as_secs_f64() * 1000.0;
        let run_id = self.store.generate_id().unwrap_or_else(|_| now_ms());
        let run = PhaseRun {
            id: run_id,
            project: self.project_id.clone(),
            kind: model_kind(self.scheduler.plan(), phase),
            // `plan(m)` keeps its milestone in the run's number (see `phase_of_run`).
            batch: phase.batch().or(phase.milestone()),
            agent: Some(agent.clone()),
            started_at: now_ms(),
            ended_at: None,
            outcome: PhaseOutcome::Running,
            detection: None,
        };
        self.put_run(&run);
        let a = &mut self.agents[i];
        a.current = Some((phase, run_id));
        a.last_write = Some(Instant::now());
        a.output_since_write = false;
        a.enter = Some(PendingEnter {
            due: Instant::now() + ENTER_AFTER_PASTE,
            tries: 0,
        });
        a.last_prompt = Some(prompt.clone());
        a.hook = None;
        a.status =
            StatusObservation::new(AgentStatus::Working, StatusSignal::Process, "prompt sent");
        self.emit(EngineEvent::AgentStatus {
            agent: agent.clone(),
            status: AgentStatus::Working,
            signal: StatusSignal::Process,
            reason: "prompt sent".into(),
        });
        self.emit(EngineEvent::PhaseDispatched {
            agent,
            phase,
            run_id,
            latency_ms,
        });
    }

    /// A limit on the screen that was not handled yet: after a prompt was written and answered,
    /// and not the same line (and copy) as the last one handled.
    fn new_limit_on_screen(&mut self, i: usize, pane: &Pane) -> Option<UsageLimit> {
        let a = &self.agents[i];
        if a.last_write.is_none() || !a.output_since_write {
            return None;
        }
        let text = pane.screen_text();
        let limit = limit_on_screen(a.profile.cli, &text, std::time::SystemTime::now())?;
        let count = count_lines(&text, &limit.line);
        if let Some((line, n)) = &a.limit_seen {
            if *line == limit.line && count <= *n {
                // Still the handled copy (or fewer, scrolled away): not a new limit.
                self.agents[i].limit_seen = Some((limit.line, count));
                return None;
            }
        }
        self.agents[i].limit_seen = Some((limit.line.clone(), count));
        Some(limit)
    }

    /// The agent's account hit its usage limit: its interrupted phase goes back to the queue
    /// (another agent with the role may take it), and it gets no phase until the reset time
    /// ([`LIMIT_MARGIN`] after the minute it showed), or, with no reset time, until the user
    /// resumes it.
    fn on_limit(&mut self, i: usize, limit: UsageLimit, signal: StatusSignal) {
        let now = std::time::SystemTime::now();
        let resume = limit.until.map(|t| {
            let after_reset = t + LIMIT_MARGIN;
            if after_reset > now {
                after_reset
            } else {
                now + LIMIT_RETRY
            }
        });
        let reason = limit.reason();
        let a = &mut self.agents[i];
        a.enter = None;
        a.hook = None;
        a.candidate = None;
        a.queued = None;
        a.limit = Some((limit.clone(), resume));
        let id = a.profile.id.clone();
        let interrupted = a.current.take();
        let what = match interrupted {
            Some((phase, run_id)) => {
                self.finish_run(
                    run_id,
                    PhaseOutcome::Cancelled,
                    CompletionDetection::UsageLimit,
                    Some(id.clone()),
                    phase,
                );
                format!(
                    "; {} goes back to the queue and resumes then (or another agent with its role \
                     takes it)",
                    phase_name(self.scheduler.plan(), phase)
                )
            }
            None => String::new(),
        };
        self.set_status(
            i,
            StatusObservation::new(AgentStatus::Limited, signal, &reason),
        );
        let when = match limit.until {
            Some(_) => reason.clone(),
            None => "no reset time given: resume it when it can work again".into(),
        };
        self.notify(format!(
            "{id} reached its usage limit (\"{}\"): {when}{what}",
            limit.line
        ));
    }

    /// Ends the limits whose reset time has come: the agent's screen is read again, and at its
    /// idle prompt it comes back online.
    fn end_limits(&mut self) {
        let now = std::time::SystemTime::now();
        for i in 0..self.agents.len() {
            let due = matches!(&self.agents[i].limit, Some((_, Some(resume))) if *resume <= now);
            if due {
                self.agents[i].limit = None;
                let id = self.agents[i].profile.id.clone();
                self.emit(EngineEvent::Log {
                    source: id.clone(),
                    line: format!("{id}'s usage limit has reset: it gets work again"),
                });
                self.agents[i].dirty = true;
            }
        }
    }

    fn on_exit(&mut self, i: usize, exit: PaneExit) {
        let a = &mut self.agents[i];
        a.exited = true;
        a.queued = None;
        let id = a.profile.id.clone();
        let how = match &exit.signal {
            Some(s) => format!("killed ({s})"),
            None => format!("exit code {}", exit.code),
        };
        let current = a.current.take();
        // What the user needs to act on an agent that did not start or stopped: its command, how
        // it ended, and the last lines its screen showed.
        let last_lines = a
            .pane
            .as_ref()
            .map(|p| {
                // Lines with words, their runs of blanks collapsed (rules and box edges are not
                // worth reading in a notice).
                let text = p.screen_text();
                let lines: Vec<String> = text
                    .lines()
                    .filter(|l| l.chars().any(char::is_alphanumeric))
                    .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                    .collect();
                lines[lines.len().saturating_sub(6)..].join(" / ")
            })
            .unwrap_or_default();
        let at_once = a.started.elapsed() < Duration::from_secs(10);
        let detail = format!(
            "{}command: {}{}",
            if at_once {
                "it exited right after it started; "
            } else {
                ""
            },
            a.command_line,
            if last_lines.is_empty() {
                " (its screen was blank)".to_string()
            } else {
                format!("; its screen last showed: {last_lines}")
            }
        );
        let message = if let Some((phase, run_id)) = current {
            let name = phase_name(self.scheduler.plan(), phase);
            self.finish_run(
                run_id,
                PhaseOutcome::Crashed,
                CompletionDetection::ProcessExit,
                Some(id.clone()),
                phase,
            );
            let effects = self.scheduler.step(Event::PhaseFailed {
                phase,
                reason: format!("{id} exited ({how})"),
                at: self.minutes(),
            });
            self.apply_effects(effects);
            format!(
                "agent {id} exited ({how}) during {name}; retry the phase to run it again. {detail}"
            )
        } else {
            format!("agent {id} exited ({how}). {detail}")
        };
        // The status first (it is what the pane shows), then the notification.
        self.set_status(
            i,
            StatusObservation::new(AgentStatus::Exited, StatusSignal::Process, how),
        );
        self.notify(message);
    }

    // -----------------------------------------------------------------------------------------
    // Ticket status

    /// Moves batch `batch`'s tickets in TICKETS.md to `status` as the pipeline reaches it (build
    /// dispatched: doing; built or fixed: review; accepted: done), so the board and the file say
    /// where each ticket is. Written through [`TicketsFile`]: a minimal edit in the file's own
    /// dialect, re-applied by ticket id if an agent changed the file meanwhile, with a backup.
    /// Tickets already done or dropped keep their status. A file that cannot take the edit (say,
    /// duplicate ids) is left alone and the user is told why.
    fn mark_tickets(&mut self, batch: u32, status: TicketStatus) {
        let path = self.project_dir.join(&self.config.tickets);
        let mut file = match TicketsFile::open(&path) {
            Ok(f) => f,
            Err(e) => {
                self.notify(format!("batch {batch}'s tickets keep their status: {e}"));
                return;
            }
        };
        let edits: Vec<Edit> = file
            .doc()
            .summary()
            .tickets
            .iter()
            .filter(|t| t.batch == Some(batch))
            .filter(|t| {
                !matches!(t.status.as_str(), "done" | "dropped") && t.status != status.as_str()
            })
            .map(|t| Edit::SetStatus {
                ticket: t.id.clone(),
                status,
            })
            .collect();
        if edits.is_empty() {
            return;
        }
        if let Err(e) = file.apply(&edits, WriteOptions::default()) {
            self.notify(format!(
                "batch {batch}'s tickets could not be set to {} in {}: {e}",
                status.as_str(),
                self.config.tickets
            ));
        }
    }

    // -----------------------------------------------------------------------------------------
    // Completion

    /// Ends phase run `run_id` with `outcome` in the store; the run, when it is known.
    fn close_run(
        &mut self,
        run_id: u64,
        outcome: PhaseOutcome,
        detection: CompletionDetection,
    ) -> Option<PhaseRun> {
        let cached = self.run_cache.get(&run_id).cloned();
        let mut run = cached.or_else(|| {
            self.store
                .phase_run(&self.project_id, run_id)
                .ok()
                .flatten()
        })?;
        run.ended_at = Some(now_ms());
        run.outcome = outcome;
        run.detection = Some(detection);
        self.put_run(&run);
        Some(run)
    }

    fn finish_run(
        &mut self,
        run_id: u64,
        outcome: PhaseOutcome,
        detection: CompletionDetection,
        agent: Option<String>,
        phase: PhaseId,
    ) {
        let Some(run) = self.close_run(run_id, outcome, detection) else {
            return;
        };
        match phase {
            PhaseId::Build { batch } | PhaseId::Fix { batch } => {
                self.record_batch_head(agent.as_deref(), batch)
            }
            // The review round is over: a fix after it starts the next diff.
            PhaseId::Review { batch } => {
                self.based.remove(&batch);
            }
            _ => {}
        }
        self.emit(EngineEvent::PhaseCompleted { agent, phase, run });
    }

    // -----------------------------------------------------------------------------------------
    // Batch diffs (git::Repo::record_batch_base/head)

    /// Batch `batch`'s build (or a fix after a failed review) is being dispatched: HEAD becomes
    /// the start of its diff, so the next review sees what this round changes. A round this
    /// orchestrator already started (a retry) keeps its start, and so does one interrupted before
    /// it completed (a start with no end, found after a restart).
    ///
    /// In a shared checkout the range also holds whatever else was committed meanwhile (the
    /// designer's TICKETS.md edits); builds of one builder never overlap, so one batch's diff
    /// holds no other batch's build.
    fn record_batch_base(&mut self, batch: u32) {
        let Some(repo) = crate::git::Repo::work_tree(&self.project_dir) else {
            return;
        };
        self.record_batch_base_in(&repo, batch);
    }

    fn record_batch_base_in(&mut self, repo: &crate::git::Repo, batch: u32) {
        if self.based.contains(&batch) {
            return;
        }
        self.based.insert(batch);
        if let (Some(_), None) = repo.batch_refs(batch) {
            return;
        }
        if let Err(e) = repo.record_batch_base(batch) {
            self.notify(format!("batch {batch}'s diff has no recorded start: {e}"));
        }
    }

    /// Batch `batch`'s build or fix (by `agent`) completed: its checkout's HEAD becomes the end
    /// of the diff.
    fn record_batch_head(&mut self, agent: Option<&str>, batch: u32) {
        let Some(repo) = self.batch_repo(agent) else {
            return;
        };
        if repo.batch_refs(batch).0.is_none() {
            return;
        }
        if let Err(e) = repo.record_batch_head(batch) {
            self.notify(format!("batch {batch}'s diff has no recorded end: {e}"));
        }
    }

    /// Completes agent `i`'s running phase. `passed: false` fails a review (or records a failed
    /// build verify).
    fn complete(
        &mut self,
        i: usize,
        passed: bool,
        detection: CompletionDetection,
        notes: Option<String>,
    ) -> Result<String, String> {
        let id = self.agents[i].profile.id.clone();
        let Some((phase, run_id)) = self.agents[i].current.take() else {
            return Err(format!("{id} has no running phase"));
        };
        if let Some(r) = self.complete_conflict_fix(i, phase, run_id, detection) {
            return r;
        }
        if let Err(e) = self.check_builder_report(i, phase) {
            self.agents[i].current = Some((phase, run_id));
            self.notify(e.clone());
            return Err(e);
        }
        self.last_signal = Some(Instant::now());
        let name = phase_name(self.scheduler.plan(), phase);
        let outcome = if passed {
            PhaseOutcome::Passed
        } else {
            PhaseOutcome::Failed
        };
        self.finish_run(run_id, outcome, detection, Some(id.clone()), phase);
        let at = self.minutes();
        let event = match phase {
            PhaseId::Review { batch } | PhaseId::Qa { batch } if !passed => {
                if let Some(n) = notes {
                    self.findings.insert(batch, n);
                }
                self.notify(format!(
                    "{name} failed: batch {batch} goes back to a fix; dependent work waits"
                ));
                Event::ReviewFailed { batch, at }
            }
            _ => {
                if !passed {
                    self.notify(format!(
                        "{id} reports its verify FAILED for {name}; the review decides"
                    ));
                }
                Event::PhaseFinished { phase, at }
            }
        };
        let effects = self.scheduler.step(event);
        self.apply_effects(effects);
        match phase {
            PhaseId::Build { batch } | PhaseId::Fix { batch } => {
                self.mark_tickets(batch, TicketStatus::Review)
            }
            PhaseId::Review { batch } | PhaseId::Qa { batch } if passed => {
                let accepted = self
                    .scheduler
                    .batch_status()
                    .iter()
                    .any(|b| b.batch == batch && b.accepted);
                if accepted {
                    self.mark_tickets(batch, TicketStatus::Done);
                }
            }
            _ => {}
        }
        self.save();
        Ok(format!(
            "{name} recorded ({})",
            if passed { "passed" } else { "failed" }
        ))
    }

    /// The agent index running a phase matching `want` (by prompt phase and batch), preferring
    /// the caller.
    fn find_running(
        &self,
        caller: Option<&str>,
        want: Option<PromptPhase>,
        batch: Option<u32>,
    ) -> Option<usize> {
        let plan = self.scheduler.plan();
        let matches = |a: &AgentRt| {
            a.current.is_some_and(|(p, _)| {
                want.is_none_or(|w| prompt_phase(plan, p) == Some(w))
                    && batch.is_none_or(|b| p.batch() == Some(b))
            })
        };
        // An agent completes only the phase it runs; a caller with no agent (the user's shell)
        // completes whichever agent runs it.
        if let Some(c) = caller {
            if let Some(i) = self.agents.iter().position(|a| a.profile.id == c) {
                return matches(&self.agents[i]).then_some(i);
            }
        }
        self.agents.iter().position(matches)
    }

    /// Whether `batch` is one of the project's batches.
    fn has_batch(&self, batch: u32) -> bool {
        self.scheduler.plan().batches.iter().any(|b| b.id == batch)
    }

    fn on_block(&mut self, i: usize, h: Handoff) {
        // A block in the output about a batch the project does not have is not stored.
        if !self.has_batch(h.batch) {
            return;
        }
        let record = HandoffRecord {
            id: self.store.generate_id().unwrap_or_else(|_| now_ms()),
            project: self.project_id.clone(),
            agent: Some(self.agents[i].profile.id.clone()),
            received_at: now_ms(),
            message: h.clone(),
        };
        let _ = self.store.put_handoff(&record);
        let Some((phase, _)) = self.agents[i].current else {
            return;
        };
        if phase.batch() != Some(h.batch) {
            return;
        }
        let fits = match h.kind {
            HandoffKind::Handoff => {
                matches!(phase, PhaseId::Design { .. } | PhaseId::Recheck { .. })
            }
            HandoffKind::Complete => matches!(
                phase,
                PhaseId::Build { .. }
                    | PhaseId::Fix { .. }
                    | PhaseId::Review { .. }
                    | PhaseId::Qa { .. }
            ),
        };
        if !fits {
            return;
        }
        let passed = h.verify != Some(VerifyResult::Failed);
        let detection = match h.kind {
            HandoffKind::Handoff => CompletionDetection::HandoffMessage,
            HandoffKind::Complete => CompletionDetection::CompleteMessage,
        };
        let _ = self.complete(i, passed, detection, None);
    }

    fn on_control(&mut self, caller: Option<&str>, req: ControlReq) -> Result<Reply, String> {
        match req {
            ControlReq::Review(r) => {
                if let Some(agent) = caller {
                    return Err(format!(
                        "a review of batch {} comes from the user, not from agent {agent}",
                        r.batch
                    ));
                }
                self.on_command(Command::ReviewBatch {
                    batch: r.batch,
                    approve: r.approve,
                    comments: r.comments,
                })
                .map(Reply::message)
            }
            ControlReq::Complete(c) => {
                let Some(i) = self.find_running(caller, c.phase, c.batch) else {
                    return Err(format!(
                        "no running {}{} to complete",
                        c.phase.map(|p| p.as_str()).unwrap_or("phase"),
                        c.batch
                            .map(|b| format!(" of batch {b}"))
                            .unwrap_or_default()
                    ));
                };
                let passed = c.verify != Some(Outcome::Failed);
                self.complete(i, passed, CompletionDetection::Command, c.notes)
                    .map(Reply::message)
            }
            ControlReq::Handoff(h) => {
                // Only what fits the project is stored: a handoff names one of its batches and
                // stays small (200 forged ones of about 1 MB each grew the store by 1 GB).
                if !self.has_batch(h.batch) {
                    return Err(format!(
                        "batch {} is not a batch of this project; the handoff was not recorded",
                        h.batch
                    ));
                }
                let size = h
                    .tickets
                    .iter()
                    .chain(&h.files)
                    .map(String::len)
                    .sum::<usize>()
                    + [&h.dependencies, &h.verify_command, &h.notes]
                        .iter()
                        .filter_map(|f| f.as_ref().map(String::len))
                        .sum::<usize>();
                if size > MAX_HANDOFF_BYTES || h.tickets.len() + h.files.len() > 2_000 {
                    return Err(format!(
                        "the handoff of batch {} is too large ({size} bytes, {} tickets and files; \
                         the limit is {MAX_HANDOFF_BYTES} bytes and 2000 entries): not recorded",
                        h.batch,
                        h.tickets.len() + h.files.len()
                    ));
                }
                let record = HandoffRecord {
                    id: self.store.generate_id().unwrap_or_else(|_| now_ms()),
                    project: self.project_id.clone(),
                    agent: caller.map(str::to_string),
                    received_at: now_ms(),
                    message: Handoff {
                        kind: HandoffKind::Handoff,
                        batch: h.batch,
                        tickets: h.tickets.clone(),
                        files: h.files.clone(),
                        dependencies: h.dependencies.clone(),
                        verify_command: h.verify_command.clone(),
                        commits: Vec::new(),
                        verify: None,
                        ready_for: Vec::new(),
                    },
                };
                let _ = self.store.put_handoff(&record);
                let i = self
                    .find_running(caller, Some(PromptPhase::Design), Some(h.batch))
                    .or_else(|| {
                        self.find_running(caller, Some(PromptPhase::Recheck), Some(h.batch))
                    });
                match i {
                    Some(i) => self
                        .complete(i, true, CompletionDetection::Command, None)
                        .map(Reply::message),
                    None => Ok(Reply::message(format!(
                        "handoff of batch {} recorded (no design of it was running)",
                        h.batch
                    ))),
                }
            }
            ControlReq::Status => {
                let snap = self.snapshot(true);
                let summary = self.summary();
                let report = self.status_report(&snap);
                let mut data = serde_json::to_value(&report).unwrap_or_default();
                data["state"] = serde_json::to_value(&snap).unwrap_or_default();
                data["summary"] = serde_json::to_value(&summary).unwrap_or_default();
                data["forecast_minutes"] =
                    serde_json::to_value(self.scheduler.forecast_finish(self.minutes()))
                        .unwrap_or_default();
                Ok(Reply {
                    message: report.render(),
                    data,
                })
            }
            ControlReq::Verify => self.on_command(Command::RunVerify).map(Reply::message),
            ControlReq::Hook(h) => {
                let reading = status_from_hook(&h.event, &h.payload);
                let Some(i) =
                    caller.and_then(|c| self.agents.iter().position(|a| a.profile.id == c))
                else {
                    return Ok(Reply::message("hook ignored (no agent)"));
                };
                if h.event == "codex-notify" && !self.codex_turn_is_ours(i, &h.payload) {
                    return Ok(Reply::message(
                        "hook ignored (a turn of another Codex thread, such as its title thread)",
                    ));
                }
                if let Some(s) = reading.session_id {
                    self.agents[i].session_id = Some(s);
                }
                if h.event == "stop-failure"
                    && h.payload.get("error").and_then(|e| e.as_str()) == Some("rate_limit")
                {
                    let text = h
                        .payload
                        .get("last_assistant_message")
                        .and_then(|m| m.as_str())
                        .unwrap_or_default();
                    let cli = self.agents[i].profile.cli;
                    let limit = limit_in_text(cli, text, std::time::SystemTime::now())
                        .unwrap_or_else(|| UsageLimit {
                            until: None,
                            line: text.trim().to_string(),
                        });
                    // The screen shows the same line: remember it as handled.
                    if let Some(pane) = self.agents[i].pane.clone() {
                        let count = count_lines(&pane.screen_text(), &limit.line);
                        self.agents[i].limit_seen = Some((limit.line.clone(), count.max(1)));
                    }
                    self.on_limit(i, limit, StatusSignal::Hook);
                    return Ok(Reply::message("ok"));
                }
                if h.event == "stop-failure" {
                    // Claude Code gave up on its API (after its own retries): say so in words, with
                    // the phase that is left open.
                    let what = h
                        .payload
                        .get("last_assistant_message")
                        .and_then(|m| m.as_str())
                        .map(|m| m.lines().next().unwrap_or_default().trim().to_string())
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| "an API error".into());
                    let id = self.agents[i].profile.id.clone();
                    let open = match self.agents[i].current {
                        Some((phase, _)) => format!(
                            "; {} is still open: retry it, or type \"continue\" in its pane",
                            phase_name(self.scheduler.plan(), phase)
                        ),
                        None => String::new(),
                    };
                    self.notify(format!("{id}'s turn ended on an error: {what}{open}"));
                }
                if let Some(obs) = reading.observation {
                    if matches!(obs.status, AgentStatus::Working | AgentStatus::Idle) {
                        // A turn started (prompt submitted) or ended: the prompt was taken.
                        self.prompt_taken(i);
                    }
                    self.agents[i].hook = Some(obs);
                    self.agents[i].hook_at = Instant::now();
                    self.agents[i].output_since_write = true;
                    self.evaluate(i);
                }
                Ok(Reply::message("ok"))
            }
        }
    }

    /// Whether a Codex `notify` is about the agent's own conversation. Codex 0.171 also runs side
    /// threads (the session title, on the first turn) whose turns notify too, with another thread
    /// id: taken as the agent's, they were a false idle mid-turn and a thread id that cannot be
    /// resumed. A turn is ours when its thread is the one we know, or, before we know one (or after
    /// the user started a new thread), when its input holds the prompt we sent last.
    fn codex_turn_is_ours(&self, i: usize, payload: &serde_json::Value) -> bool {
        let a = &self.agents[i];
        let thread = payload
            .get("thread-id")
            .or_else(|| payload.get("thread_id"))
            .and_then(|v| v.as_str());
        if thread.is_some() && thread == a.session_id.as_deref() {
            return true;
        }
        let Some(prompt) = &a.last_prompt else {
            // Nothing sent yet: the user's own turn in the pane.
            return a.session_id.is_none();
        };
        let head: String = prompt.chars().take(60).collect();
        let inputs = payload
            .get("input-messages")
            .or_else(|| payload.get("input_messages"))
            .and_then(|v| v.as_array());
        match inputs {
            Some(inputs) => inputs
                .iter()
                .filter_map(|m| m.as_str())
                .any(|m| m.trim_start().starts_with(head.trim_start())),
            None => a.session_id.is_none(),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Effects

    fn apply_effects(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Dispatch { agent, phase, .. } => {
                    if let PhaseId::Build { batch } = phase {
                        self.mark_tickets(batch, TicketStatus::Doing);
                    }
                    if self.git.is_some() {
                        let prepared = match self.agent_index(&agent) {
                            Ok(i) => self.prepare_phase(i, phase),
                            Err(e) => Err(e),
                        };
                        if let Err(e) = prepared {
                            let name = phase_name(self.scheduler.plan(), phase);
                            self.notify(format!("{name} cannot start on {agent}: {e}"));
                            let effects = self.scheduler.step(Event::PhaseFailed {
                                phase,
                                reason: e,
                                at: self.minutes(),
                            });
                            self.apply_effects(effects);
                            continue;
                        }
                    } else if let PhaseId::Build { batch } | PhaseId::Fix { batch } = phase {
                        self.record_batch_base(batch);
                    }
                    self.queue_prompt(&agent, phase)
                }
                Effect::RunVerify { sync, .. } => self.run_sync(sync),
                Effect::FlagRecheck {
                    batch,
                    failed_batch,
                    ..
                } => {
                    self.recheck_flags += 1;
                    self.notify(format!(
                        "batch {batch}'s design needs a re-check: the review of batch {failed_batch} failed"
                    ));
                }
                Effect::Notify { message, .. } => self.notify(message),
            }
        }
        self.save();
    }

    /// Writes phase `pp`'s context pack for batch `batch` (crate::context) and returns its path
    /// relative to the project; `None` (and a notice) when it cannot be written.
    fn write_context_pack(
        &mut self,
        pp: PromptPhase,
        batch: u32,
        doc: Option<&crate::tickets::Document>,
        notes: Option<&str>,
        repo: Option<&crate::git::Repo>,
    ) -> Option<String> {
        // The design of batch N reads the previous batch's handoff; the others their own.
        let handoff_batch = if matches!(pp, PromptPhase::Design | PromptPhase::Recheck) {
            batch.checked_sub(1)
        } else {
            Some(batch)
        };
        let handoff = handoff_batch.and_then(|hb| {
            self.store
                .handoffs(&self.project_id)
                .ok()?
                .into_iter()
                .rev()
                .map(|r| r.message)
                .find(|h| h.batch == hb && h.kind == crate::model::HandoffKind::Handoff)
        });
        let diff = (pp == PromptPhase::Review)
            .then(|| {
                let repo = repo?;
                let range = repo.batch_range(batch).ok()?;
                let files = repo.changed_files(&range.base, &range.head).ok()?;
                let mut text = format!(
                    "`git diff {} {}`\n\n",
                    crate::git::batch_ref(batch, "base"),
                    crate::git::batch_ref(batch, "head")
                );
                for f in files {
                    let n = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
                    text.push_str(&format!(
                        "- {} (+{} -{})\n",
                        f.path,
                        n(f.added),
                        n(f.removed)
                    ));
                }
                Some(text)
            })
            .flatten();
        let rules = crate::files::read_regular(
            &self.project_dir.join(crate::context::RULES_FILE),
            crate::context::RULES_FILE,
            256 * 1024,
        )
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned());
        let input = crate::context::PackInput {
            phase: pp,
            batch,
            tickets_file: &self.config.tickets,
            doc,
            handoff: handoff.as_ref(),
            verify_command: self.config.verify_command(),
            notes,
            diff: diff.as_deref(),
            rules: rules.as_deref(),
        };
        match crate::context::write(&self.project_dir, &input) {
            Ok(rel) => Some(rel.display().to_string()),
            Err(e) => {
                self.notify(format!(
                    "the context pack of {} (batch {batch}) could not be written: {e}",
                    pp.as_str()
                ));
                None
            }
        }
    }

    /// Writes `phase`'s context pack from TICKETS.md and the run as they are now; its path
    /// relative to the project. Called when the phase is queued and again right before its
    /// prompt is pasted, so a TICKETS.md changed in between is in the pack.
    fn write_pack_for(&mut self, phase: PhaseId) -> Option<String> {
        let pp = prompt_phase(self.scheduler.plan(), phase)?;
        let doc = crate::tickets::sync::read_doc(&self.project_dir.join(&self.config.tickets))
            .ok()
            .map(|(doc, _)| doc);
        let Some(batch) = phase.batch() else {
            // A preamble phase or plan(m): the batches as a list, milestone m's part.
            let rules = crate::files::read_regular(
                &self.project_dir.join(crate::context::RULES_FILE),
                crate::context::RULES_FILE,
                crate::context::MAX_RULES_BYTES,
            )
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned());
            let input = crate::context::OverviewInput {
                phase: pp,
                milestone: phase.milestone(),
                tickets_file: &self.config.tickets,
                doc: doc.as_ref(),
                verify_command: self.config.verify_command(),
                rules: rules.as_deref(),
            };
            return match crate::context::write_overview(&self.project_dir, &input) {
                Ok(rel) => Some(rel.display().to_string()),
                Err(e) => {
                    self.notify(format!(
                        "the context pack of {phase} could not be written: {e}"
                    ));
                    None
                }
            };
        };
        let notes = match phase {
            PhaseId::Fix { batch } => {
                Some(self.findings.get(&batch).cloned().unwrap_or_else(|| {
                    "see the failed review's reply in the reviewer's pane".into()
                }))
            }
            PhaseId::Recheck { .. } => Some("an earlier batch's review failed".into()),
            _ => None,
        };
        let repo = crate::git::Repo::work_tree(&self.project_dir);
        self.write_context_pack(pp, batch, doc.as_ref(), notes.as_deref(), repo.as_ref())
    }

    fn queue_prompt(&mut self, agent: &str, phase: PhaseId) {
        let Some(i) = self.agents.iter().position(|a| a.profile.id == agent) else {
            self.notify(format!("the scheduler named unknown agent {agent}"));
            return;
        };
        let Some(pp) = prompt_phase(self.scheduler.plan(), phase) else {
            return;
        };
        if let PhaseId::PlanMilestone { milestone } = phase {
            let mut prompt = self.milestone_prompt(milestone);
            if let Some(c) = self.write_pack_for(phase) {
                prompt.push_str(&format!(" What this phase needs is in {c}."));
            }
            self.agents[i].queued = Some((phase, prompt, Instant::now()));
            self.try_dispatch(i);
            return;
        }
        let batch = phase.batch();
        let doc = batch.and_then(|_| {
            crate::tickets::sync::read_doc(&self.project_dir.join(&self.config.tickets))
                .ok()
                .map(|(doc, _)| doc)
        });
        let tickets = batch.and_then(|b| {
            let s = doc.as_ref()?.summary();
            let ids: Vec<String> = s
                .tickets
                .iter()
                .filter(|t| t.batch == Some(b))
                .map(|t| t.id.clone())
                .collect();
            (!ids.is_empty()).then(|| ids.join(", "))
        });
        let notes = match phase {
            PhaseId::Fix { batch } => {
                Some(self.findings.get(&batch).cloned().unwrap_or_else(|| {
                    "see the failed review's reply in the reviewer's pane".into()
                }))
            }
            PhaseId::Recheck { .. } => Some("an earlier batch's review failed".into()),
            _ => None,
        };
        let has_repo = batch.is_some() && crate::git::Repo::work_tree(&self.project_dir).is_some();
        let diff = batch.filter(|_| has_repo).map(|b| {
            format!(
                "`git diff {} {}`",
                crate::git::batch_ref(b, "base"),
                crate::git::batch_ref(b, "head")
            )
        });
        let context = self.write_pack_for(phase);
        // An agent in a worktree of its own is pointed at the project's files by absolute path.
        let in_worktree = self.work_dir(i) != self.project_dir;
        let from_worktree = |rel: String| {
            if in_worktree {
                self.project_dir.join(rel).display().to_string()
            } else {
                rel
            }
        };
        let context = context.map(from_worktree);
        let tickets_file = from_worktree(self.config.tickets.clone());
        let workspace = self.git.as_ref().and_then(|g| {
            let b = batch?;
            let branch = g.settings.branch_of(b);
            match phase {
                PhaseId::Build { .. } | PhaseId::Fix { .. } if in_worktree => Some(format!(
                    "You work in the git worktree {}, on branch {branch}, which Leapfrog checked \
                     out for batch {b}: make and commit your changes there, on that branch. ",
                    self.work_dir(i).display()
                )),
                PhaseId::Review { .. } | PhaseId::Qa { .. } => Some(format!(
                    "Batch {b}'s work is on branch {branch} (not checked out here). "
                )),
                _ => None,
            }
        });
        let ctx = PromptContext {
            batch,
            agent: agent.to_string(),
            tickets_file,
            verify_command: self.config.verify_command().unwrap_or("").to_string(),
            leap: self.leap_program.clone(),
            tickets,
            notes,
            diff,
            context,
        };
        match self.templates.render(pp, &ctx) {
            Ok(prompt) => {
                let mut prompt = match workspace {
                    Some(w) => format!("{w}{prompt}"),
                    None => prompt,
                };
                // Every phase's prompt points at its pack, with a template that names it or not.
                if let Some(c) = ctx.context.as_deref().filter(|c| !prompt.contains(*c)) {
                    prompt.push_str(&format!(" What this phase needs is in {c}."));
                }
                self.agents[i].queued = Some((phase, prompt, Instant::now()));
                self.try_dispatch(i);
            }
            Err(e) => {
                self.notify(format!("cannot write the prompt for {phase}: {e}"));
                let effects = self.scheduler.step(Event::PhaseFailed {
                    phase,
                    reason: e,
                    at: self.minutes(),
                });
                self.apply_effects(effects);
            }
        }
    }

    /// The prompt of `plan(m)` (rule 9): plan milestone m while milestone m-1 is built.
    fn milestone_prompt(&self, m: u32) -> String {
        let doc = crate::tickets::sync::read_doc(&self.project_dir.join(&self.config.tickets))
            .ok()
            .map(|(doc, _)| doc);
        let section = doc
            .as_ref()
            .and_then(|d| {
                let ms = d.milestones();
                let found = ms.get(m as usize - 1)?;
                let numbers: Vec<String> = found
                    .batches
                    .iter()
                    .map(|&b| d.batches[b].number.to_string())
                    .collect();
                Some(format!(
                    " Milestone {m} ({}) holds the batches numbered {} in {}.",
                    found.title,
                    numbers.join(", "),
                    self.config.tickets
                ))
            })
            .unwrap_or_default();
        format!(
            "Plan milestone {m} while milestone {prev} is built: read {tickets} and what milestone \
             {prev} has delivered so far, then write milestone {m}'s tickets (IDs, titles, \
             acceptance criteria, dependencies) under its heading in {tickets} and its plan in \
             docs/plan/milestone-{m}.md.{section} Don't design its batches in detail and don't \
             build. When done, run `{leap} complete --phase plan`.",
            prev = m - 1,
            tickets = self.config.tickets,
            leap = self.leap_program,
        )
    }

    fn start_verify(&mut self, sync: Option<u32>) {
        let Some(command) = self.config.verify_command().map(str::to_string) else {
            if let Some(sync) = sync {
                let effects = self.scheduler.step(Event::VerifyFinished {
                    sync,
                    passed: true,
                    at: self.minutes(),
                });
                self.apply_effects(effects);
            }
            return;
        };
        let run_id = self.store.generate_id().unwrap_or_else(|_| now_ms());
        let run = PhaseRun {
            id: run_id,
            project: self.project_id.clone(),
            kind: PhaseKind::Verify,
            batch: sync,
            agent: None,
            started_at: now_ms(),
            ended_at: None,
            outcome: PhaseOutcome::Running,
            detection: None,
        };
        self.put_run(&run);
        let (tx_line, tx_done) = (self.tx.clone(), self.tx.clone());
        let log = self.state_file.with_file_name("verify.log");
        let spec = VerifySpec {
            command: command.clone(),
            cwd: self.project_dir.clone(),
            env: Vec::new(),
            log: Some(log),
        };
        match spawn_verify(
            &self.panes,
            &spec,
            move |line| {
                let _ = tx_line.send(Msg::VerifyLine(line));
            },
            move |outcome| {
                let _ = tx_done.send(Msg::VerifyDone {
                    run_id,
                    sync,
                    outcome,
                });
            },
        ) {
            Ok(pane) => {
                self.verifying.insert(run_id, sync);
                self.verifies.push(VerifyRecord {
                    sync,
                    passed: None,
                    duration_ms: None,
                });
                self.emit(EngineEvent::VerifyStarted {
                    sync,
                    command,
                    pane,
                });
            }
            Err(e) => {
                self.notify(e.clone());
                let fake = VerifyOutcome {
                    passed: false,
                    code: 127,
                    duration_ms: 0,
                    tail: vec![e],
                };
                self.on_verify_done(run_id, sync, fake);
            }
        }
    }

    fn on_verify_done(&mut self, run_id: u64, sync: Option<u32>, outcome: VerifyOutcome) {
        self.verifying.remove(&run_id);
        if let Some(v) = self
            .verifies
            .iter_mut()
            .rev()
            .find(|v| v.sync == sync && v.passed.is_none())
        {
            v.passed = Some(outcome.passed);
            v.duration_ms = Some(outcome.duration_ms);
        }
        let outcome_kind = if outcome.passed {
            PhaseOutcome::Passed
        } else {
            PhaseOutcome::Failed
        };
        self.finish_run(
            run_id,
            outcome_kind,
            CompletionDetection::VerifyExit,
            None,
            PhaseId::Verify {
                sync: sync.unwrap_or(0),
            },
        );
        self.emit(EngineEvent::VerifyFinished {
            sync,
            passed: outcome.passed,
            duration_ms: outcome.duration_ms,
        });
        for w in self.verify_waiters.drain(..) {
            let _ = w.send(Ok(Reply::with_data(
                format!(
                    "verify {} in {:.1}s",
                    outcome.verdict(),
                    outcome.duration_ms as f64 / 1000.0
                ),
                serde_json::json!({"passed": outcome.passed, "duration_ms": outcome.duration_ms,
                                   "sync": sync, "code": outcome.code, "tail": outcome.tail}),
            )));
        }
        let where_ = sync
            .map(|s| format!("sync point {s}"))
            .unwrap_or_else(|| "verify".into());
        if !outcome.passed {
            self.notify(format!(
                "{where_}: verify FAILED (exit {}); later builds wait until it passes (Verify / Retry){} \
                 (whole output: {})",
                outcome.code,
                outcome
                    .tail
                    .last()
                    .map(|l| format!(": {l}"))
                    .unwrap_or_default(),
                self.state_file.with_file_name("verify.log").display()
            ));
        }
        if let Some(sync) = sync {
            let effects = self.scheduler.step(Event::VerifyFinished {
                sync,
                passed: outcome.passed,
                at: self.minutes(),
            });
            self.apply_effects(effects);
        }
    }

    // -----------------------------------------------------------------------------------------
    // User commands

    fn agent_index(&self, id: &str) -> Result<usize, String> {
        self.agents
            .iter()
            .position(|a| a.profile.id == id)
            .ok_or_else(|| format!("no agent {id:?}"))
    }

    fn on_command(&mut self, command: Command) -> Result<String, String> {
        let at = self.minutes();
        let (event, message) = match command {
            Command::PauseBatch { batch } => (
                Event::PauseBatch { batch, at },
                format!("batch {batch} paused"),
            ),
            Command::ResumeBatch { batch } => (
                Event::ResumeBatch { batch, at },
                format!("batch {batch} resumed"),
            ),
            Command::PauseAgent { agent } => {
                let i = self.agent_index(&agent)?;
                self.agents[i].paused = true;
                (
                    Event::PauseAgent {
                        agent: agent.clone(),
                        at,
                    },
                    format!("agent {agent} paused"),
                )
            }
            Command::ResumeAgent { agent } => {
                let i = self.agent_index(&agent)?;
                self.agents[i].paused = false;
                if self.agents[i].limit.take().is_some() {
                    // The user says the limit is over: read the agent's screen again.
                    self.agents[i].dirty = true;
                    self.evaluate(i);
                }
                let effects = self.scheduler.step(Event::ResumeAgent {
                    agent: agent.clone(),
                    at,
                });
                self.apply_effects(effects);
                self.try_dispatch(i);
                return Ok(format!("agent {agent} resumed"));
            }
            // A running phase cannot be skipped (the scheduler says so): its agent is working on it.
            Command::Skip { phase } => (Event::Skip { phase, at }, format!("{phase} skipped")),
            Command::Retry { phase } => {
                // Restart exited agents that could run it.
                let role = model_kind(self.scheduler.plan(), phase).role();
                for i in 0..self.agents.len() {
                    if self.agents[i].exited
                        && role.is_some_and(|r| self.agents[i].profile.roles.contains(&r))
                    {
                        self.spawn_agent(i);
                    }
                }
                (
                    Event::Retry { phase, at },
                    format!("{phase} will run again"),
                )
            }
            Command::MarkComplete { phase, passed } => {
                let Some(i) = self
                    .agents
                    .iter()
                    .position(|a| a.current.is_some_and(|(p, _)| p == phase))
                else {
                    return Err(format!("{phase} is not running"));
                };
                return self.complete(i, passed, CompletionDetection::Manual, None);
            }
            Command::ReviewBatch {
                batch,
                approve,
                comments,
            } => {
                let phase = PhaseId::Review { batch };
                let Some(i) = self
                    .agents
                    .iter()
                    .position(|a| a.current.is_some_and(|(p, _)| p == phase))
                else {
                    let stage = self
                        .snapshot(true)
                        .batches
                        .iter()
                        .find(|b| b.batch.number == batch)
                        .map(|b| b.stage.clone())
                        .unwrap_or_else(|| "not in the run".into());
                    return Err(format!(
                        "batch {batch}'s review is not running ({stage}): a review of yours takes \
                         the place of a running review"
                    ));
                };
                let findings = super::review_findings(&comments);
                self.notify(format!(
                    "your review of batch {batch}: {}",
                    if approve {
                        "approved".to_string()
                    } else {
                        format!("changes requested, {findings}")
                    }
                ));
                return self.complete(i, approve, CompletionDetection::Manual, Some(findings));
            }
            Command::RunVerify => {
                if let Some(r) = self.retry_held_sync() {
                    return r;
                }
                let failed = self
                    .verifies
                    .iter()
                    .rev()
                    .find(|v| v.sync.is_some())
                    .filter(|v| v.passed == Some(false))
                    .and_then(|v| v.sync);
                return match failed {
                    Some(sync) => {
                        let effects = self.scheduler.step(Event::Retry {
                            phase: PhaseId::Verify { sync },
                            at,
                        });
                        self.apply_effects(effects);
                        Ok(format!("sync point {sync}: verify running again"))
                    }
                    None if self.config.verify_command().is_none() => {
                        Err("the project has no verify command".into())
                    }
                    None => {
                        self.start_verify(None);
                        Ok("verify started".into())
                    }
                };
            }
            Command::Reorder { batches } => {
                (Event::Reorder { batches, at }, "batches re-ordered".into())
            }
            Command::ConflictToBuilder => return self.conflict_to_builder(),
            Command::UndoPhase { agent } => return self.undo_phase(&agent),
            Command::RestartAgent { agent } => {
                let i = self.agent_index(&agent)?;
                if !self.agents[i].exited {
                    return Err(format!("agent {agent} is running"));
                }
                self.spawn_agent(i);
                return Ok(format!("agent {agent} restarted"));
            }
        };
        let event_kind = match &event {
            Event::PauseBatch { batch, .. } => Some((*batch, true)),
            Event::ResumeBatch { batch, .. } => Some((*batch, false)),
            _ => None,
        };
        let effects = self.scheduler.step(event);
        let refused = effects.iter().find_map(|e| match e {
            Effect::Notify { message, .. } if message.starts_with("ignored") => {
                Some(message.clone())
            }
            _ => None,
        });
        if refused.is_none() {
            match &event_kind {
                Some((b, true)) => {
                    self.paused_batches.insert(*b);
                }
                Some((b, false)) => {
                    self.paused_batches.remove(b);
                }
                None => {}
            }
        }
        self.apply_effects(effects);
        match refused {
            Some(m) => Err(m),
            None => Ok(message),
        }
    }

    // -----------------------------------------------------------------------------------------
    // State

    /// An agent back at its prompt for [`UNREPORTED_AFTER`] without reporting its phase: say so
    /// once per phase run (it is not marked done: the user marks it complete or retries it).
    fn check_unreported(&mut self) {
        let now = Instant::now();
        let mut notes = Vec::new();
        for a in &mut self.agents {
            let Some((phase, run_id)) = a.current else {
                continue;
            };
            let idle_long = a.status.status == AgentStatus::Idle
                && a.idle_edge.is_some_and(|e| now >= e + UNREPORTED_AFTER)
                && a.last_write
                    .is_some_and(|w| a.idle_edge.is_some_and(|e| e > w));
            if idle_long && a.nudged != Some(run_id) {
                a.nudged = Some(run_id);
                notes.push((a.profile.id.clone(), phase));
            }
        }
        for (agent, phase) in notes {
            let name = phase_name(self.scheduler.plan(), phase);
            self.notify(format!(
                "{agent} is idle at its prompt but has not reported {name} (leap complete / a \
                 HANDOFF or COMPLETE block): mark it complete or retry it"
            ));
        }
    }

    fn check_finished(&mut self) {
        if !self.finished_emitted && self.scheduler.is_finished() && self.verifying.is_empty() {
            self.finished_emitted = true;
            self.emit(EngineEvent::Finished);
            self.save();
        }
    }

    fn publish(&self) {
        if let Some(s) = &self.shared {
            *s.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = self.snapshot(true);
        }
    }

    fn publish_running(&self, running: bool) {
        if let Some(s) = &self.shared {
            let mut snap = s.snapshot.lock().unwrap_or_else(|e| e.into_inner());
            snap.running = running;
        }
    }

    /// This run's phase runs, by id (kept in memory; the store has them durably).
    fn runs(&self) -> Vec<PhaseRun> {
        self.run_cache.values().cloned().collect()
    }

    fn put_run(&mut self, run: &PhaseRun) {
        if let Err(e) = self.store.put_phase_run(run) {
            self.notify(format!("cannot record the phase run: {e}"));
        }
        self.run_cache.insert(run.id, run.clone());
    }

    fn status_report(&self, snap: &Snapshot) -> StatusReport {
        let plan = self.scheduler.plan();
        let tickets = crate::tickets::sync::read_doc(&self.project_dir.join(&self.config.tickets))
            .map(|(doc, _)| doc.summary())
            .ok();
        StatusReport {
            project: if self.config.name.trim().is_empty() {
                self.project_id.clone()
            } else {
                self.config.name.clone()
            },
            pattern: serde_json::to_value(self.config.pattern)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string)),
            agents: snap
                .agents
                .iter()
                .map(|a| AgentLine {
                    id: a.id.clone(),
                    cli: a.cli.clone(),
                    status: a.status.as_str().to_string(),
                    phase: a.phase.map(|p| {
                        prompt_phase(plan, p)
                            .map(|pp| pp.as_str().to_string())
                            .unwrap_or_else(|| p.kind().as_str().to_string())
                    }),
                    batch: a.phase.and_then(|p| p.batch()),
                })
                .collect(),
            batches: snap
                .batches
                .iter()
                .map(|b| BatchLine {
                    batch: b.batch.number,
                    name: b.batch.name.clone(),
                    stage: b.stage.clone(),
                    tickets: tickets
                        .as_ref()
                        .map(|t| {
                            t.tickets
                                .iter()
                                .filter(|x| x.batch == Some(b.batch.number))
                                .map(|x| x.id.clone())
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect(),
        }
    }

    fn snapshot(&self, running: bool) -> Snapshot {
        let runs = self.runs();
        let batches = self
            .batch_cache
            .iter()
            .cloned()
            .map(|b| {
                let stage = runs
                    .iter()
                    .rev()
                    .find(|r| r.batch == Some(b.number) && r.kind != PhaseKind::Verify)
                    .map(|r| {
                        format!(
                            "{} {}",
                            serde_json::to_value(r.kind)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default(),
                            serde_json::to_value(r.outcome)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default()
                        )
                    })
                    .unwrap_or_else(|| "waiting".into());
                BatchView {
                    paused: self.paused_batches.contains(&b.number),
                    batch: b,
                    stage,
                }
            })
            .collect();
        // An agent idle at its prompt with a phase it never reported is waiting on the user.
        let busy = self.verifying.len()
            + self
                .agents
                .iter()
                .filter(|a| {
                    a.queued.is_some()
                        || (a.current.is_some() && a.status.status != AgentStatus::Idle)
                })
                .count();
        Snapshot {
            project: self.project_id.clone(),
            running,
            finished: self.finished_emitted,
            agents: self
                .agents
                .iter()
                .map(|a| AgentView {
                    id: a.profile.id.clone(),
                    cli: a.profile.cli.as_str().to_string(),
                    status: a.status.status,
                    signal: a.status.signal,
                    reason: a.status.reason.clone(),
                    pane: a.pane.as_ref().map(|p| p.id()),
                    phase: a.current.map(|(p, _)| p),
                    queued: a.queued.as_ref().map(|(p, _, _)| *p),
                    paused: a.paused,
                })
                .collect(),
            batches,
            runs,
            verifies: self.verifies.clone(),
            busy,
            branches: self.git.is_some(),
            held_sync: self.held_sync(),
            worktrees: self.worktree_views(),
        }
    }

    /// The run in `leap simulate --json`'s shape. Rows: every phase run of this run that ended
    /// passed or failed (crashed and interrupted runs are left out), in start order; times in
    /// minutes since the run started. Sequential: the sum of the rows' durations; parallel: the
    /// end of the last row; the lower bound is the scheduler's, over a workload of the shortest
    /// measured duration of each phase.
    fn summary(&self) -> SimOutput {
        let plan = self.scheduler.plan();
        let mut runs: Vec<PhaseRun> = self
            .runs()
            .into_iter()
            .filter(|r| {
                matches!(r.outcome, PhaseOutcome::Passed | PhaseOutcome::Failed)
                    && r.ended_at.is_some()
                    && (r.kind != PhaseKind::Verify || r.batch.is_some())
            })
            .collect();
        runs.sort_by_key(|r| (r.started_at, r.id));
        let t = |ms: Timestamp| ms.saturating_sub(self.run_start_ms) as f64 / 60_000.0;
        let rows: Vec<Row> = runs
            .iter()
            .map(|r| {
                let milestone = (r.kind == PhaseKind::Plan).then_some(r.batch).flatten();
                Row {
                    agent: r.agent.clone(),
                    phase: match r.kind {
                        PhaseKind::Verify => "verify".into(),
                        k => serde_json::to_value(k)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                    },
                    batch: if milestone.is_some() { None } else { r.batch },
                    milestone,
                    start: t(r.started_at),
                    end: t(r.ended_at.unwrap_or(r.started_at)),
                }
            })
            .collect();
        let sequential: f64 = rows.iter().map(|r| r.end - r.start).sum();
        let parallel = rows.iter().map(|r| r.end).fold(0.0, f64::max);
        let savings = if sequential > 0.0 {
            1.0 - parallel / sequential
        } else {
            0.0
        };
        // Shortest measured duration per phase (a bound over shorter phases is still a bound).
        let min_dur = |kind: PhaseKind, batch: Option<u32>| -> f64 {
            runs.iter()
                .filter(|r| r.kind == kind && (batch.is_none() || r.batch == batch))
                .map(|r| t(r.ended_at.unwrap_or(r.started_at)) - t(r.started_at))
                .fold(f64::INFINITY, f64::min)
        };
        let fin = |x: f64| if x.is_finite() { x } else { 0.0 };
        let workload = Workload {
            agents: plan
                .agents
                .iter()
                .map(|a| crate::scheduler::workload::WorkloadAgent {
                    id: a.id.clone(),
                    roles: a.roles.clone(),
                })
                .collect(),
            lookahead: plan.lookahead,
            sync_every: plan.sync_every,
            verify_minutes: fin(min_dur(PhaseKind::Verify, None)),
            recheck: 0.0,
            preamble: plan
                .preamble
                .iter()
                .enumerate()
                .map(|(i, p)| crate::scheduler::workload::WorkloadPreamble {
                    phase: p.role,
                    minutes: fin(min_dur(
                        model_kind(plan, PhaseId::Preamble { index: i as u32 }),
                        None,
                    )),
                })
                .collect(),
            batches: self
                .scheduler
                .batch_order()
                .iter()
                .map(|&b| {
                    let fails = runs
                        .iter()
                        .filter(|r| {
                            r.kind == PhaseKind::Review
                                && r.batch == Some(b)
                                && r.outcome == PhaseOutcome::Failed
                        })
                        .count() as u32;
                    crate::scheduler::workload::WorkloadBatch {
                        design: fin(min_dur(PhaseKind::Design, Some(b))),
                        build: fin(min_dur(PhaseKind::Build, Some(b))),
                        review: fin(min_dur(PhaseKind::Review, Some(b))),
                        qa: fin(min_dur(PhaseKind::Qa, Some(b))),
                        fix: fin(min_dur(PhaseKind::Fix, Some(b))),
                        review_fails: fails,
                        builds_after: None,
                    }
                })
                .collect(),
            // leaving plan(m) out only lowers the bound: it stays a bound.
            milestones: Vec::new(),
        };
        let bound = if workload.validate().is_ok() {
            lower_bound(&workload)
        } else {
            0.0
        };
        SimOutput {
            batches: plan.batches.len(),
            sequential_minutes: sequential,
            parallel_minutes: parallel,
            savings,
            lower_bound_minutes: bound,
            priority: plan.priority.as_str(),
            recheck_flags: self.recheck_flags,
            schedule: rows,
        }
    }
}

/// How many lines of `screen` hold `text` (a limit's words, without the screen's decoration).
fn count_lines(screen: &str, text: &str) -> usize {
    screen.lines().filter(|l| l.contains(text)).count()
}
