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
use leapfrog_engine::orchestrator::{EngineEvent, OpenOptions, Orchestrator};
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
                    EngineEvent::Notification { message } if !args.events && !args.json => {
                        eprintln!("leap: {message}")
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
                break Err("stalled: nothing is running or queued (see the notifications)".into());
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
