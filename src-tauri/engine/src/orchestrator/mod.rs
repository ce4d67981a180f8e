//! Live orchestration: the engine's one way in. Every state change of a running project goes
//! through an [`Orchestrator`]; the Tauri shell and `leap run` are its clients.
//!
//! # API
//!
//! ```text
//! Orchestrator::open(OpenOptions) -> Result<Orchestrator, String>   reads .leapfrog/project.json,
//!     TICKETS.md, the store and the saved run state (a restart resumes it); nothing runs yet
//!   .start()             control endpoint + agents in PTYs + the loop thread
//!   .stop()              stops the loop, hangs up the agents, saves the run state
//!   .command(Command) -> Result<String, String>    pause/resume a batch or an agent, skip,
//!                        retry, mark a phase complete, run verify, re-order, restart an agent
//!   .state() -> Snapshot agents (status + the signal behind it, pane), batches, phase runs
//!                        (how each completed), verify results, finished
//!   .subscribe() -> Receiver<EngineEvent>          serde-serialisable events
//!   .panes() -> Arc<Panes>    .agent_pane(id) -> Option<PaneId>
//!   .attach_ui(agent, Box<dyn PaneSink>) / .detach_ui(agent)   the tee (below)
//!   .summary() -> SimOutput                        the run in `leap simulate --json`'s shape
//!   .progress() -> RunProgress                     the same, whether it is over, its forecast
//!                        finish, and now on the run's clock (`now_minutes`)
//!   .endpoint() -> Option<Endpoint>                the control socket agents report to
//! ```
//!
//! # How it works
//!
//! One loop thread owns all state. Pane output, pane exits, control requests (`leap complete`,
//! `leap handoff`, `leap hook`, `leap verify`, `leap status`), user commands and verify results
//! are messages to it; it feeds the pure [`crate::scheduler::Scheduler`] and executes its effects.
//! The scheduler's state is saved after every step (`<data>/projects/<id>/run.json`); phase runs,
//! handoffs and notes go to the [`crate::store::Store`].
//!
//! **Agents.** Each agent is its CLI in a PTY in the project's repository, launched by
//! [`crate::agents::build_launch`] with env `LEAPFROG_SOCKET`, `LEAPFROG_TOKEN`, `LEAPFROG_AGENT`.
//! Its pane's sink is a *tee*: every frame goes to the loop (handoff scanner, status detection) and,
//! when attached, to a UI sink. With a UI sink the UI acks (xterm.js flow control); without one the
//! tee acks on delivery, so a headless agent never stalls.
//!
//! **Status**: working, idle, needs-input, exited, offline. Signals, strongest first: a hook
//! (`leap hook` through the control endpoint), Claude Code's session file, the screen mirror
//! ([`crate::agents::detect_screen_status`], plus: an empty prompt line at the cursor is idle).
//! Hooks apply at once; session-file and screen readings must hold for [`DEBOUNCE`]. A needs-input
//! dialog on the screen beats a stale "working" hook, and a needs-input hook ends when, after it, the
//! screen shows the agent's busy marker or its idle prompt (the human answered; Claude Code fires no
//! hook then). The process exit is final (exited). The
//! scheduler hears: idle (online), offline/exited, and busy when an agent with no phase starts
//! working on its own (the user typed in its pane) until it is idle again.
//!
//! **Dispatch** happens at an idle edge only: when the scheduler assigns a phase, its prompt
//! ([`crate::agents::PromptTemplates::for_project`]) waits until the agent's status *becomes* idle
//! after its last prompt, then goes in as a bracketed paste followed by Enter. Never while it
//! works or waits on the user, never twice into one turn.
//!
//! **Completion** of a running phase, recorded in its [`crate::model::PhaseRun`] with real start
//! (the prompt written) and end times and how it was detected ([`crate::model::CompletionDetection`]):
//! `leap complete` / `leap handoff` through the control endpoint or the inbox of sandboxed agents
//! (`Command`), a HANDOFF or COMPLETE block in the agent's output
//! ([`crate::handoff::HandoffScanner`]: `HandoffMessage` / `CompleteMessage`), or the user's click
//! ([`Command::MarkComplete`]: `Manual`). The first signal wins; later ones for the same phase find
//! it no longer running and are ignored.
//! A HANDOFF block for batch N completes the agent's running design(N) or recheck(N); a COMPLETE
//! block completes its running build/fix/review/qa(N).
//!
//! **Review verdict rule**: a review (or qa) *fails* when `leap complete --verify failed` or the
//! COMPLETE block's `Verify: FAILED` says so, and passes otherwise (absent = passed). For a build
//! or fix the same field is the agent's own verify run: the run is recorded Passed/Failed
//! accordingly and the pipeline goes on to the review, which decides.
//!
//! **Verify** ([`crate::verify`]): each sync point, `leap verify` and [`Command::RunVerify`] run
//! the project's verify command in its own PTY, stream it as log events and record PASSED/FAILED
//! with the duration. A failed sync-point verify holds later builds (the scheduler) and notifies;
//! `leap verify` / the button then re-runs that sync point. A failed review gets a fix and a new
//! review; later designed batches are flagged for re-check (notified).
//!
//! **Crash**: an agent whose process exits is shown exited (event); its running phase is recorded
//! `crashed` and held (not done, not failed-for-good): [`Command::Retry`] restarts the agents it
//! needs (resuming their sessions) and runs it again.
//!
//! **Restart**: on open, the saved run state is loaded. First the processes: agent processes the
//! previous run recorded that still run (a CLI that ignored the hang-up; checked by
//! `/proc/<pid>/cmdline`, as pids are reused) are stopped and notified. Then every phase run still
//! marked running in the store has no process any more: it is recorded `cancelled` (never passed
//! or failed) with a notification, its agent is resumed with its stored session
//! ([`crate::agents::SessionPlan::Resume`]) and the phase is dispatched again. A verify that was
//! running is run again. `OpenOptions::fresh` (`leap run --fresh`) starts over instead.
//!
//! **Clock** ([`clock`]): the loop and its state read the time only through
//! [`OpenOptions::clock`]; a test's [`ManualClock`] stands still until the test advances it, and
//! the loop runs the timers due by then before `advance` returns.
//!
//! **Idle cost**: nothing polls while agents are idle except a 10 s scheduler tick and the 0.5 s
//! scan of the (usually absent) inbox directory; pane threads block on their PTYs.

pub mod clock;
pub mod config;
mod engine;
mod tee;

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use self::clock::{Clock, ManualClock, SystemClock};
pub use self::config::ProjectConfig;
pub use self::engine::{is_damaged_run_state, HeldSync, Orchestrator, RunProgress};

use crate::agents::{AgentStatus, StatusSignal};
use crate::model::{Batch, PhaseRun};
use crate::pty::{PaneId, PaneSize};
use crate::scheduler::PhaseId;
use crate::store::Store;

/// An agent pane's flow-control window: its reader pauses at 1 MiB un-acked and resumes at
/// 256 KiB. The default (100 000 / 5 000 bytes, VS Code's, for a shell pane's keystroke latency)
/// drains nearly empty between reads; with the loop acking, that held a flooding agent at 34-38 MB/s
/// where this window lets it write 43-55 MB/s (`service_bench`, same runs). Memory stays bounded:
/// at most this plus one read per pane.
pub const AGENT_FLOW: crate::pty::FlowControl = crate::pty::FlowControl {
    high_watermark: 1 << 20,
    low_watermark: 256 << 10,
};

/// Scrollback lines an agent pane's mirror keeps: what a client attaching to the engine service
/// gets above the screen (`Pane::formatted_screen`), as many as the window asks for. About 2.9 MB
/// per pane at 120 columns when full (alacritty_terminal keeps every row at full width, 24 bytes a
/// cell). A flooding pane's mirror parses these lines again in every batch (the rest of the batch
/// scrolls out unparsed), so a line kept that nobody is shown costs CPU while an agent floods.
pub const AGENT_SCROLLBACK: usize = 1000;

/// A status reading must hold this long before it counts (screen and session file).
pub const DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(120);

/// How long an agent may sit idle at its prompt with an unreported phase before the user is told.
pub const UNREPORTED_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

/// How to open a project.
pub struct OpenOptions {
    /// The project directory (with `.leapfrog/project.json` and the tickets file).
    pub project_dir: PathBuf,
    pub store: Arc<dyn Store>,
    /// Where run state and per-agent files go (default [`crate::store::data_dir`]).
    pub data_dir: PathBuf,
    /// How agents and hooks call `leap` (an absolute path, or `leap` on PATH).
    pub leap_program: String,
    /// Directory of the control socket (default [`crate::control::runtime_dir`]).
    pub runtime_dir: PathBuf,
    /// Also write the token file so `leap` in a plain shell finds this run.
    pub write_token_file: bool,
    /// Ignore a saved run state and start over.
    pub fresh: bool,
    /// The home directory where Claude Code keeps its session files (default `$HOME`).
    pub home_dir: Option<PathBuf>,
    pub pane_size: PaneSize,
    /// What `leap start DIR` (`open_project` on the control endpoint) does: the app opens the
    /// folder in its window and answers a line. `None`: the request is refused.
    pub on_open_project: Option<OpenProjectFn>,
    /// Whether [`Orchestrator::start`] requires the user's approval of the project's commands.
    pub trust: TrustCheck,
    /// Where the run reads the time (default [`SystemClock`]; tests use a [`ManualClock`]).
    pub clock: Arc<dyn Clock>,
}

/// Whether a project's commands must be approved before they run (see [`crate::trust`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrustCheck {
    /// Refuse to start unless the user's trust file (in the data dir) approves them as they are.
    #[default]
    Required,
    /// The caller vouches for this one run (`leap run --headless --trust`); nothing is recorded.
    Vouched,
}

/// The app's answer to `open_project` (see [`OpenOptions::on_open_project`]).
pub type OpenProjectFn = Arc<dyn Fn(PathBuf) -> Result<String, String> + Send + Sync>;

impl OpenOptions {
    /// Defaults: data dir and runtime dir from the environment, `leap` on PATH, token file on.
    pub fn new(project_dir: impl Into<PathBuf>, store: Arc<dyn Store>) -> Result<Self, String> {
        Ok(OpenOptions {
            project_dir: project_dir.into(),
            store,
            data_dir: crate::store::data_dir().map_err(|e| e.to_string())?,
            leap_program: "leap".into(),
            runtime_dir: crate::control::runtime_dir(),
            write_token_file: true,
            fresh: false,
            home_dir: std::env::var_os("HOME").map(PathBuf::from),
            pane_size: PaneSize::new(40, 120),
            on_open_project: None,
            trust: TrustCheck::Required,
            clock: clock::system_clock(),
        })
    }
}

/// What the user (or a client) asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    PauseBatch {
        batch: u32,
    },
    ResumeBatch {
        batch: u32,
    },
    PauseAgent {
        agent: String,
    },
    ResumeAgent {
        agent: String,
    },
    /// Mark a phase done without running it.
    Skip {
        phase: PhaseId,
    },
    /// Run a failed, crashed or held phase (or a failed verify) again; restarts exited agents
    /// that can run it.
    Retry {
        phase: PhaseId,
    },
    /// The user's click: the running phase is complete (`passed: false` fails a review).
    MarkComplete {
        phase: PhaseId,
        passed: bool,
    },
    /// The user's review of a batch whose review is running (from the app's review view or
    /// `leap review`): approve passes that review; request changes fails it, and the comments go
    /// together into the fix prompt of the batch's builder.
    ReviewBatch {
        batch: u32,
        approve: bool,
        #[serde(default)]
        comments: Vec<ReviewComment>,
    },
    /// Run the verify command now (re-runs a failed sync point if there is one).
    RunVerify,
    /// New order for batches not yet started.
    Reorder {
        batches: Vec<u32>,
    },
    /// A sync point held by a merge conflict goes to a free builder: it merges the integration
    /// branch into the batch's branch in its worktree, resolves, commits and reports; then the
    /// sync point is tried again.
    ConflictToBuilder,
    /// "Undo this phase": the agent's checkout goes back to the checkpoint taken before its last
    /// phase (files, uncommitted changes included); what it replaces is kept as a checkpoint.
    UndoPhase {
        agent: String,
    },
    /// Start an exited agent again, resuming its session.
    RestartAgent {
        agent: String,
    },
}

/// One comment of a user's review: on a line of a file of the batch diff, on a file, or on the
/// batch as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReviewComment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The line in the new version of `file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub text: String,
}

impl ReviewComment {
    /// `FILE:LINE:TEXT`, `FILE::TEXT` (no line) or `TEXT` (`leap review --comment`).
    pub fn parse(s: &str) -> Result<ReviewComment, String> {
        let mut parts = s.splitn(3, ':');
        let (a, b, c) = (parts.next(), parts.next(), parts.next());
        let comment = match (a, b, c) {
            (Some(file), Some(line), Some(text)) if !file.is_empty() && line.is_empty() => {
                ReviewComment {
                    file: Some(file.to_string()),
                    line: None,
                    text: text.to_string(),
                }
            }
            (Some(file), Some(line), Some(text)) if !file.is_empty() => ReviewComment {
                file: Some(file.to_string()),
                line: Some(line.trim().parse().map_err(|_| {
                    format!("`{s}`: the line after the file must be a number (FILE:LINE:TEXT)")
                })?),
                text: text.to_string(),
            },
            _ => ReviewComment {
                file: None,
                line: None,
                text: s.to_string(),
            },
        };
        if comment.text.trim().is_empty() {
            return Err(format!("`{s}`: the comment has no text"));
        }
        Ok(comment)
    }

    /// `src/a.rs:12: text`, `src/a.rs: text` or `text`.
    pub fn describe(&self) -> String {
        let text = self.text.trim();
        match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{f}:{l}: {text}"),
            (Some(f), None) => format!("{f}: {text}"),
            _ => text.to_string(),
        }
    }
}

/// The findings a user's review hands to the fix prompt: every comment, with its file and line,
/// on one line (prompts are typed into the agents' terminals).
pub fn review_findings(comments: &[ReviewComment]) -> String {
    if comments.is_empty() {
        return "the user requested changes (no comments)".to_string();
    }
    let parts: Vec<String> = comments
        .iter()
        .map(|c| c.describe().replace(['\n', '\r'], " "))
        .collect();
    format!("from the user's review: {}", parts.join("; "))
}

/// Something that happened, for the UI and logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EngineEvent {
    AgentStarted {
        agent: String,
        pane: PaneId,
        command_line: String,
        resumed: bool,
    },
    AgentStatus {
        agent: String,
        status: AgentStatus,
        signal: StatusSignal,
        reason: String,
    },
    PhaseDispatched {
        agent: String,
        phase: PhaseId,
        run_id: u64,
        /// Milliseconds from the scheduler's decision (or the signal that allowed it) to the
        /// prompt being written.
        latency_ms: f64,
    },
    PhaseCompleted {
        agent: Option<String>,
        phase: PhaseId,
        run: PhaseRun,
    },
    VerifyStarted {
        sync: Option<u32>,
        command: String,
        pane: PaneId,
    },
    VerifyFinished {
        sync: Option<u32>,
        passed: bool,
        duration_ms: u64,
    },
    /// A sync point merged accepted batches into the integration branch (batches on branches);
    /// its verify starts next. `millis`: from the sync point being due to the merge done.
    Integrated {
        sync: u32,
        batches: Vec<u32>,
        head: String,
        millis: u64,
    },
    Notification {
        message: String,
    },
    Log {
        source: String,
        line: String,
    },
    Finished,
}

/// An agent as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentView {
    pub id: String,
    pub cli: String,
    pub status: AgentStatus,
    pub signal: StatusSignal,
    pub reason: String,
    pub pane: Option<PaneId>,
    /// The agent's process id while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    pub phase: Option<PhaseId>,
    /// A phase assigned but waiting for the agent's idle edge.
    pub queued: Option<PhaseId>,
    pub paused: bool,
}

/// A batch as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchView {
    pub batch: Batch,
    /// The latest phase run of the batch: `design running`, `build passed`, ...; `waiting`.
    pub stage: String,
    pub paused: bool,
}

/// One verify run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyRecord {
    pub sync: Option<u32>,
    pub passed: Option<bool>,
    pub duration_ms: Option<u64>,
}

/// The whole state, for the UI and `leap status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Snapshot {
    pub project: String,
    pub running: bool,
    pub finished: bool,
    pub agents: Vec<AgentView>,
    pub batches: Vec<BatchView>,
    pub runs: Vec<PhaseRun>,
    pub verifies: Vec<VerifyRecord>,
    /// Phase runs in progress, verify runs in progress and prompts waiting for an idle edge.
    pub busy: usize,
    /// Batches are on branches: each phase has a checkpoint ("Undo this phase").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub branches: bool,
    /// A sync point held by its integration (a conflict, a moved branch), with what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_sync: Option<HeldSync>,
    /// Builders' worktrees (batches on branches): agent, folder, branch, disk use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub worktrees: Vec<WorktreeView>,
}

/// A builder's worktree as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WorktreeView {
    pub agent: String,
    pub path: String,
    pub branch: Option<String>,
    pub bytes: u64,
}
