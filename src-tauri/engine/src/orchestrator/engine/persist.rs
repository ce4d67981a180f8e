//! Saving and loading a run: opening a project (its config, tickets, store and saved run
//! state, `run.json`), saving the scheduler's state after every step, and what a restart
//! reconciles (runs left running, agent processes that outlived the previous run).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::branches::GitRun;
use super::phases::{phase_name, phase_of_run};
use super::{AgentRt, Backlog, Core, Msg, DAMAGED_RUN_STATE};
use crate::agents::{AgentStatus, PromptTemplates, StatusObservation, StatusSignal};
use crate::handoff::HandoffScanner;
use crate::model::{now_ms, Batch, PhaseOutcome, PhaseRun, Project, Timestamp};
use crate::orchestrator::config::ProjectConfig;
use crate::orchestrator::OpenOptions;
use crate::pty::Panes;
use crate::scheduler::{Event, PhaseId, Scheduler};

/// What is saved between runs.
#[derive(Serialize, Deserialize)]
struct Saved {
    scheduler: Scheduler,
    run_start_ms: Timestamp,
    sessions: BTreeMap<String, String>,
    recheck_flags: usize,
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

impl Core {
    pub(super) fn open(
        opts: &OpenOptions,
        tx: Sender<Msg>,
        panes: Arc<Panes>,
    ) -> Result<Core, String> {
        let dir = &opts.project_dir;
        let clock = opts.clock.clone();
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
                clock.wall_ms(),
                BTreeMap::new(),
                0,
            ),
        };
        let clock_offset = if resumed {
            scheduler
                .now()
                .max((clock.wall_ms().saturating_sub(run_start_ms)) as f64 / 60_000.0)
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
        let now = clock.now();
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
            clock,
            advanced: Vec::new(),
        })
    }

    pub(super) fn save(&self) {
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

    /// Reconciles runs left running by a previous process: they have no process any more.
    pub(super) fn reconcile_restored_runs(&mut self) {
        for mut run in std::mem::take(&mut self.restored_running) {
            run.outcome = PhaseOutcome::Cancelled;
            run.ended_at = Some(self.clock.wall_ms());
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
    }

    /// Remembers the agent processes of this run, so that a later run can tell whether they
    /// outlived it.
    pub(super) fn record_processes(&mut self, i: usize, pid: Option<u32>, program: &str) {
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
    pub(super) fn reconcile_processes(&mut self) {
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
            // A real process's grace: on the real clock, whatever the run's clock says.
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
}
