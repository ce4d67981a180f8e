//! Completion of a running phase: `leap complete` / `leap handoff`, a HANDOFF or COMPLETE block,
//! the user's click; recording phase runs (and the batch diffs and ticket statuses they move), and
//! the notice about a phase its agent never reported.

use super::phases::{phase_name, prompt_phase};
use super::{AgentRt, Core, UNREPORTED_AFTER};
use crate::agents::prompts::PromptPhase;
use crate::agents::AgentStatus;
use crate::model::{
    now_ms, CompletionDetection, Handoff, HandoffKind, HandoffRecord, PhaseOutcome, PhaseRun,
    TicketStatus, VerifyResult,
};
use crate::orchestrator::EngineEvent;
use crate::scheduler::{Event, PhaseId};
use crate::tickets::sync::{TicketsFile, WriteOptions};
use crate::tickets::Edit;

impl Core {
    /// Completes agent `i`'s running phase. `passed: false` fails a review (or records a failed
    /// build verify).
    pub(super) fn complete(
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
        self.last_signal = Some(self.now());
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

    pub(super) fn on_block(&mut self, i: usize, h: Handoff) {
        // A block in the output about a batch the project does not have is not stored.
        if !self.has_batch(h.batch) {
            return;
        }
        let record = HandoffRecord {
            id: self.store.generate_id().unwrap_or_else(|_| now_ms()),
            project: self.project_id.clone(),
            agent: Some(self.agents[i].profile.id.clone()),
            received_at: self.clock.wall_ms(),
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

    /// The agent index running a phase matching `want` (by prompt phase and batch), preferring
    /// the caller.
    pub(super) fn find_running(
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
    pub(super) fn has_batch(&self, batch: u32) -> bool {
        self.scheduler.plan().batches.iter().any(|b| b.id == batch)
    }

    /// Ends phase run `run_id` with `outcome` in the store; the run, when it is known.
    pub(super) fn close_run(
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
        run.ended_at = Some(self.clock.wall_ms());
        run.outcome = outcome;
        run.detection = Some(detection);
        self.put_run(&run);
        Some(run)
    }

    pub(super) fn finish_run(
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

    pub(super) fn put_run(&mut self, run: &PhaseRun) {
        if let Err(e) = self.store.put_phase_run(run) {
            self.notify(format!("cannot record the phase run: {e}"));
        }
        self.run_cache.insert(run.id, run.clone());
    }

    /// This run's phase runs, by id (kept in memory; the store has them durably).
    pub(super) fn runs(&self) -> Vec<PhaseRun> {
        self.run_cache.values().cloned().collect()
    }

    /// An agent back at its prompt for [`UNREPORTED_AFTER`] without reporting its phase: say so
    /// once per phase run (it is not marked done: the user marks it complete or retries it).
    pub(super) fn check_unreported(&mut self) {
        let now = self.now();
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

    /// Moves batch `batch`'s tickets in TICKETS.md to `status` as the pipeline reaches it (build
    /// dispatched: doing; built or fixed: review; accepted: done), so the board and the file say
    /// where each ticket is. Written through [`TicketsFile`]: a minimal edit in the file's own
    /// dialect, re-applied by ticket id if an agent changed the file meanwhile, with a backup.
    /// Tickets already done or dropped keep their status. A file that cannot take the edit (say,
    /// duplicate ids) is left alone and the user is told why.
    pub(super) fn mark_tickets(&mut self, batch: u32, status: TicketStatus) {
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

    /// Batch `batch`'s build (or a fix after a failed review) is being dispatched: HEAD becomes
    /// the start of its diff, so the next review sees what this round changes. A round this
    /// orchestrator already started (a retry) keeps its start, and so does one interrupted before
    /// it completed (a start with no end, found after a restart).
    ///
    /// In a shared checkout the range also holds whatever else was committed meanwhile (the
    /// designer's TICKETS.md edits); builds of one builder never overlap, so one batch's diff
    /// holds no other batch's build.
    pub(super) fn record_batch_base(&mut self, batch: u32) {
        let Some(repo) = crate::git::Repo::work_tree(&self.project_dir) else {
            return;
        };
        self.record_batch_base_in(&repo, batch);
    }

    pub(super) fn record_batch_base_in(&mut self, repo: &crate::git::Repo, batch: u32) {
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
}
