//! `leap run PROJECT_DIR --headless [--json]`: the live pipeline without a window.
//!
//! Opens the project through the engine's orchestrator (the same one the app uses), starts its
//! agents and the control endpoint, waits until every batch is accepted and every verify passed,
//! and prints the summary (`--json`: the shape of `leap simulate --json`, times in minutes since
//! the start, from the real durations). Exits 1 when the run stalls (not finished, and for
//! `--stall` seconds nothing running or queued: a failed verify, a crashed agent, an agent back at
//! its prompt without reporting its phase) or times out.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use leapfrog_engine::agents::AgentStatus;
use leapfrog_engine::orchestrator::{EngineEvent, OpenOptions, Orchestrator, TrustCheck};
use leapfrog_engine::scheduler::sim::render;
use leapfrog_engine::store::{default_db_path, SledStore};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The project directory (with .leapfrog/project.json and TICKETS.md).
    pub project: PathBuf,
    /// Run without a window (the only mode of `leap`; the window is the Leapfrog app).
    #[arg(long)]
    pub headless: bool,
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

pub fn run(args: RunArgs) -> Result<ExitCode, String> {
    if !args.headless {
        return Err(
            "leap run needs --headless (the window is the Leapfrog app: open the project there)"
                .into(),
        );
    }
    let project = args
        .project
        .canonicalize()
        .map_err(|e| format!("cannot open {}: {e}", args.project.display()))?;
    let db = default_db_path().map_err(|e| e.to_string())?;
    let store = Arc::new(SledStore::open(&db).map_err(|e| e.to_string())?);
    let mut opts = OpenOptions::new(&project, store)?;
    opts.fresh = args.fresh;
    if args.trust {
        opts.trust = TrustCheck::Vouched;
    }
    opts.leap_program = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "leap".into());
    let orch = Orchestrator::open(opts)?;
    let events = orch.subscribe();
    orch.start()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.timeout);
    let mut quiet_since: Option<Instant> = None;
    let mut needs_input = std::collections::BTreeSet::new();
    // The last notifications, repeated when the run stalls (headless has no notification list).
    let mut recent: std::collections::VecDeque<String> = Default::default();
    let outcome: Result<(), String> = loop {
        match events.recv_timeout(Duration::from_millis(250)) {
            Ok(e) => {
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
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break Err("the engine stopped".into()),
        }
        if Instant::now() >= deadline {
            break Err(format!("timed out after {}s", args.timeout));
        }
        let s = orch.state();
        let settled = s.agents.iter().all(|a| {
            matches!(
                a.status,
                AgentStatus::Idle | AgentStatus::Exited | AgentStatus::Offline
            )
        });
        if s.busy == 0 && settled && !s.finished {
            let since = *quiet_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= Duration::from_secs(args.stall) {
                break Err(stalled_message(&s, args.stall, &recent));
            }
        } else {
            quiet_since = None;
        }
    };
    let summary = orch.summary();
    orch.stop();
    let summary = summary?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", render(&summary));
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
