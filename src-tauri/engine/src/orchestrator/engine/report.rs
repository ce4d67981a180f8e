//! The run as others see it: the published [`Snapshot`], `leap status`'s report, and the run so
//! far in `leap simulate --json`'s shape (read back by [`super::Orchestrator::progress`]).

use serde::Deserialize;

use super::phases::{model_kind, prompt_phase};
use super::Core;
use crate::agents::AgentStatus;
use crate::control::{AgentLine, BatchLine, StatusReport};
use crate::model::{PhaseKind, PhaseOutcome, PhaseRun, Timestamp};
use crate::orchestrator::{AgentView, BatchView, Snapshot};
use crate::scheduler::sim::Row;
use crate::scheduler::{lower_bound, PhaseId, SimOutput, Workload};

/// `SimOutput` is only `Serialize`; this reads it back.
pub(super) struct SummaryWire(pub(super) SimOutput);

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

/// Reads a [`SimOutput`] back (for `RunProgress`'s `Deserialize`).
pub(super) fn deserialize_summary<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<SimOutput, D::Error> {
    SummaryWire::deserialize(d).map(|w| w.0)
}

impl Core {
    pub(super) fn publish(&self) {
        if let Some(s) = &self.shared {
            *s.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = self.snapshot(true);
        }
    }

    pub(super) fn publish_running(&self, running: bool) {
        if let Some(s) = &self.shared {
            let mut snap = s.snapshot.lock().unwrap_or_else(|e| e.into_inner());
            snap.running = running;
        }
    }

    pub(super) fn snapshot(&self, running: bool) -> Snapshot {
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
                    // Rebuilt at every publish: a restarted agent's new process, none once exited.
                    pid: a.pane.as_ref().filter(|_| !a.exited).and_then(|p| p.pid()),
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

    pub(super) fn status_report(&self, snap: &Snapshot) -> StatusReport {
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

    /// The run in `leap simulate --json`'s shape. Rows: every phase run of this run that ended
    /// passed or failed (crashed and interrupted runs are left out), in start order; times in
    /// minutes since the run started. Sequential: the sum of the rows' durations; parallel: the
    /// end of the last row; the lower bound is the scheduler's, over a workload of the shortest
    /// measured duration of each phase.
    pub(super) fn summary(&self) -> SimOutput {
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
