//! `leap run PROJECT_DIR [--headless] [--json]`: the live pipeline without a window.
//!
//! Without `--headless` the run is in the Leapfrog service (`leap serve`, started detached when
//! none runs): this command opens the project there and follows it, and stopping it (Ctrl+C, a
//! closed terminal, `kill -9`) leaves the run going; `leap run` again follows it again. With
//! `--headless` the run is private to this process and stops with it.
//!
//! Either way the project is opened through the engine's orchestrator (the same one the app uses),
//! its agents and control endpoint start, and this waits until every batch is accepted and every verify passed,
//! and prints the summary (`--json`: the shape of `leap simulate --json`, times in minutes since
//! the start, from the real durations). Exits 1 when the run stalls (not finished, and for
//! `--stall` seconds nothing running or queued: a failed verify, a crashed agent, an agent back at
//! its prompt without reporting its phase) or times out.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use leapfrog_engine::agents::AgentStatus;
use leapfrog_engine::orchestrator::{EngineEvent, OpenOptions, Orchestrator, Snapshot, TrustCheck};
use leapfrog_engine::scheduler::sim::render;
use leapfrog_engine::service::{Incoming, ServiceClient, ServiceError, ServicePaths};
use leapfrog_engine::store::{default_db_path, SledStore};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The project directory (with .leapfrog/project.json and TICKETS.md).
    pub project: PathBuf,
    /// Run in this process, not in the Leapfrog service: the run stops when this command does.
    #[arg(long)]
    pub headless: bool,
    /// Start the run in the service and return at once (not with --headless).
    #[arg(long, conflicts_with = "headless")]
    pub detach: bool,
    /// Print the summary as JSON (the shape of `leap simulate --json`).
    #[arg(long)]
    pub json: bool,
    /// Print every engine event as a JSON line on stderr.
    #[arg(long)]
    pub events: bool,
    /// Ignore a saved run of this project and start over.
    #[arg(long)]
    pub fresh: bool,
    /// Run the project's commands even if this user has not approved them (scripts, CI); nothing
    /// is recorded. Without it an unapproved project is refused (see `leap trust`).
    #[arg(long)]
    pub trust: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
    /// A run is stalled after this many seconds with nothing running or queued.
    #[arg(long, default_value_t = 5)]
    pub stall: u64,
}

/// A run being watched: in this process (`--headless`) or in the service.
trait RunHandle {
    /// The next event; `Ok(None)` after `timeout` without one; an error once the run's source is gone.
    fn next_event(&self, timeout: Duration) -> Result<Option<EngineEvent>, String>;
    fn state(&self) -> Result<Snapshot, String>;
    /// `leap simulate --json`'s shape, and its text.
    fn summary(&self) -> Result<(serde_json::Value, String), String>;
}

struct Local {
    orch: Orchestrator,
    events: Receiver<EngineEvent>,
}

impl RunHandle for Local {
    fn next_event(&self, timeout: Duration) -> Result<Option<EngineEvent>, String> {
        match self.events.recv_timeout(timeout) {
            Ok(e) => Ok(Some(e)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err("the engine stopped".into()),
        }
    }
    fn state(&self) -> Result<Snapshot, String> {
        Ok(self.orch.state())
    }
    fn summary(&self) -> Result<(serde_json::Value, String), String> {
        let s = self.orch.summary()?;
        Ok((
            serde_json::to_value(&s).map_err(|e| e.to_string())?,
            render(&s),
        ))
    }
}

struct InService {
    client: ServiceClient,
    project: String,
}

impl RunHandle for InService {
    fn next_event(&self, timeout: Duration) -> Result<Option<EngineEvent>, String> {
        let deadline = Instant::now() + timeout;
        loop {
            match self
                .client
                .incoming()
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(Incoming::Event { project, event }) if project == self.project => {
                    return Ok(Some(event))
                }
                Ok(Incoming::Closed) | Err(RecvTimeoutError::Disconnected) => {
                    return Err("the Leapfrog service stopped".into())
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => return Ok(None),
            }
        }
    }
    fn state(&self) -> Result<Snapshot, String> {
        self.client.state(&self.project).map_err(gone)
    }
    fn summary(&self) -> Result<(serde_json::Value, String), String> {
        let s = self.client.summary(&self.project).map_err(gone)?;
        Ok((s.json, s.text))
    }
}

/// A broken connection means the service is gone: said so.
fn gone(e: ServiceError) -> String {
    match e {
        ServiceError::Io(why) => format!("the Leapfrog service stopped ({why})"),
        other => other.to_string(),
    }
}

pub fn run(args: RunArgs) -> Result<ExitCode, String> {
    let project = args
        .project
        .canonicalize()
        .map_err(|e| format!("cannot open {}: {e}", args.project.display()))?;
    let leap = std::env::current_exe().unwrap_or_else(|_| "leap".into());
    if !args.headless {
        // A folder that is no project is refused here, before any service starts for it.
        leapfrog_engine::project::ProjectFile::load_checked(&project)?;
        let client = ServiceClient::connect_or_start(&ServicePaths::for_user(), &leap)
            .map_err(|e| e.to_string())?;
        let entry = client
            .open(&project, args.fresh, args.trust)
            .map_err(|e| e.to_string())?;
        if args.detach {
            println!(
                "{} runs in the Leapfrog service (pid {}): leap serve --status shows it",
                entry.project, client.pid
            );
            return Ok(ExitCode::SUCCESS);
        }
        client
            .subscribe(&entry.project)
            .map_err(|e| e.to_string())?;
        eprintln!(
            "leap: {} runs in the Leapfrog service (pid {}); stopping this command leaves it running",
            entry.project, client.pid
        );
        let handle = InService {
            client,
            project: entry.project,
        };
        return watch(&handle, &args);
    }
    let db = default_db_path().map_err(|e| e.to_string())?;
    let store = Arc::new(SledStore::open(&db).map_err(|e| e.to_string())?);
    let mut opts = OpenOptions::new(&project, store)?;
    opts.fresh = args.fresh;
    if args.trust {
        opts.trust = TrustCheck::Vouched;
    }
    opts.leap_program = leap.display().to_string();
    let orch = Orchestrator::open(opts)?;
    let events = orch.subscribe();
    orch.start()?;
    let handle = Local { orch, events };
    let code = watch(&handle, &args);
    handle.orch.stop();
    code
}

/// Follows a run until it finishes, stalls or times out, then prints its summary.
fn watch(run: &dyn RunHandle, args: &RunArgs) -> Result<ExitCode, String> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.timeout);
    let mut quiet_since: Option<Instant> = None;
    let mut needs_input = std::collections::BTreeSet::new();
    // The last notifications, repeated when the run stalls (headless has no notification list).
    let mut recent: std::collections::VecDeque<String> = Default::default();
    let outcome: Result<(), String> = loop {
        match run.next_event(Duration::from_millis(250)) {
            Ok(Some(e)) => {
                if args.events {
                    if let Ok(line) = serde_json::to_string(&e) {
                        eprintln!("{line}");
                    }
                }
                match e {
                    EngineEvent::Finished => break Ok(()),
                    EngineEvent::AgentStatus {
                        agent,
                        status,
                        reason,
                        ..
                    } => {
                        // Headless, nobody can answer: say so once per question.
                        let was = needs_input.contains(&agent);
                        if status == AgentStatus::NeedsInput && !was {
                            if !args.events && !args.json {
                                eprintln!("leap: {agent} needs input: {reason}");
                            }
                            needs_input.insert(agent);
                        } else if status != AgentStatus::NeedsInput && was {
                            needs_input.remove(&agent);
                        }
                    }
                    EngineEvent::Notification { message } => {
                        if !args.events && !args.json {
                            eprintln!("leap: {message}");
                        }
                        if recent.len() == 3 {
                            recent.pop_front();
                        }
                        recent.push_back(message);
                    }
                    _ => {}
                }
            }
            Ok(None) => {}
            Err(e) => break Err(e),
        }
        if Instant::now() >= deadline {
            break Err(format!("timed out after {}s", args.timeout));
        }
        let s = run.state()?;
        if s.finished {
            break Ok(());
        }
        let settled = s.agents.iter().all(|a| {
            matches!(
                a.status,
                AgentStatus::Idle | AgentStatus::Exited | AgentStatus::Offline
            )
        });
        if s.busy == 0 && settled {
            let since = *quiet_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= Duration::from_secs(args.stall) {
                break Err(stalled_message(&s, args.stall, &recent));
            }
        } else {
            quiet_since = None;
        }
    };
    let (json, text) = run.summary()?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?
        );
    } else {
        print!("{text}");
    }
    match outcome {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("leap: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Why a run stalled, in words: every agent with its status, the batches not done yet, and the
/// last notifications.
fn stalled_message(
    s: &leapfrog_engine::orchestrator::Snapshot,
    stall_secs: u64,
    recent: &std::collections::VecDeque<String>,
) -> String {
    let agents: Vec<String> = s
        .agents
        .iter()
        .map(|a| {
            let status = serde_json::to_value(a.status)
                .ok()
                .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
                .unwrap_or_default();
            if a.reason.is_empty() {
                format!("{} {status}", a.id)
            } else {
                format!("{} {status} ({})", a.id, a.reason)
            }
        })
        .collect();
    let waiting: Vec<String> = s
        .batches
        .iter()
        .filter(|b| !b.stage.contains("passed") || b.stage.starts_with("waiting"))
        .map(|b| format!("batch {}: {}", b.batch.number, b.stage))
        .collect();
    let mut msg = format!(
        "stalled: no agent worked and no prompt waited for {stall_secs}s. Agents: {}.",
        agents.join("; ")
    );
    if !waiting.is_empty() {
        msg.push_str(&format!(" Not done: {}.", waiting.join("; ")));
    }
    if !recent.is_empty() {
        msg.push_str(&format!(
            " Last notifications: {}",
            recent.iter().cloned().collect::<Vec<_>>().join(" | ")
        ));
    }
    msg
}
