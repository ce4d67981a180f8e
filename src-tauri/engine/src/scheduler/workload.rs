//! The simulator's workload file (`leap simulate --workload FILE`): parsing, named errors, and
//! turning it into a [`Plan`].

use serde::{Deserialize, Serialize};

use super::core::{validate_plan, PhaseId, PlanError};
use super::plan::{
    AgentSpec, BatchSpec, Estimates, MilestoneSpec, Plan, PreambleSpec, PriorityRule,
};
use crate::model::Role;

/// Most reviews of one batch that may fail (more is treated as an impossible workload).
pub const MAX_REVIEW_FAILS: u32 = 10_000;
/// Most batches a workload may have.
pub const MAX_BATCHES: usize = 100_000;
/// Longest duration of one phase, in minutes (about 1900 years: sums stay exact and finite).
pub const MAX_MINUTES: f64 = 1e9;
/// Most phase runs one schedule may have (each is a row of the output; 100 000 batches with a
/// failed review each and a qa are 700 000). Failed reviews count ahead of the run; re-checks,
/// which the cascade adds, while it runs.
pub const MAX_PHASE_RUNS: usize = 5_000_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadAgent {
    pub id: String,
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadPreamble {
    pub phase: Role,
    pub minutes: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadBatch {
    pub design: f64,
    pub build: f64,
    pub review: f64,
    #[serde(default)]
    pub qa: f64,
    #[serde(default)]
    pub fix: f64,
    #[serde(default)]
    pub review_fails: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builds_after: Option<Vec<u32>>,
}

/// One milestone (rule 9): `batches` consecutive batches; `plan` is the minutes of its `plan(m)`
/// phase (milestones after the first; 0 when absent; ignored for the first, which the preamble
/// plans).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadMilestone {
    pub batches: u32,
    #[serde(default)]
    pub plan: f64,
}

/// A workload: agents, durations in minutes, and the pipeline's knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub agents: Vec<WorkloadAgent>,
    #[serde(default)]
    pub lookahead: Option<u32>,
    #[serde(default)]
    pub sync_every: Option<u32>,
    #[serde(default)]
    pub verify_minutes: f64,
    #[serde(default)]
    pub recheck: f64,
    #[serde(default)]
    pub preamble: Vec<WorkloadPreamble>,
    pub batches: Vec<WorkloadBatch>,
    /// Milestones in order (rule 9); their batch counts add up to the number of batches. Empty:
    /// one milestone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<WorkloadMilestone>,
}

/// A workload that cannot be simulated. Every message is one line and names what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkloadError {
    #[error("invalid workload: {0}")]
    Parse(String),
    #[error("negative duration: {what} is {minutes} minutes")]
    Negative { what: String, minutes: f64 },
    #[error("invalid duration: {what} is not a finite number of minutes")]
    NotFinite { what: String },
    #[error("{0}")]
    Plan(#[from] PlanError),
    #[error("impossible workload: {0}")]
    Impossible(String),
}

impl Workload {
    /// Parse and validate a workload from JSON text.
    pub fn parse(text: &str) -> Result<Workload, WorkloadError> {
        let w: Workload = serde_json::from_str(text).map_err(|e| {
            // serde_json's message names the unknown or missing key and where it is.
            WorkloadError::Parse(e.to_string().replace('\n', " "))
        })?;
        w.validate()?;
        Ok(w)
    }

    /// Named checks: durations, batch count, builds_after, an agent for every phase.
    pub fn validate(&self) -> Result<(), WorkloadError> {
        let dur = |what: &dyn Fn() -> String, m: f64| -> Result<(), WorkloadError> {
            if !m.is_finite() {
                Err(WorkloadError::NotFinite { what: what() })
            } else if m < 0.0 {
                Err(WorkloadError::Negative {
                    what: what(),
                    minutes: m,
                })
            } else if m > MAX_MINUTES {
                Err(WorkloadError::Impossible(format!(
                    "{} is longer than {MAX_MINUTES} minutes",
                    what()
                )))
            } else {
                Ok(())
            }
        };
        dur(&|| "verify_minutes".into(), self.verify_minutes)?;
        dur(&|| "recheck".into(), self.recheck)?;
        for (i, p) in self.preamble.iter().enumerate() {
            dur(
                &|| format!("preamble phase {} ({})", i + 1, p.phase.as_str()),
                p.minutes,
            )?;
        }
        for (i, m) in self.milestones.iter().enumerate().skip(1) {
            dur(&|| format!("plan({}) (milestone {})", i + 1, i + 1), m.plan)?;
        }
        if self.batches.is_empty() {
            return Err(WorkloadError::Impossible("no batches".into()));
        }
        if self.batches.len() > MAX_BATCHES {
            return Err(WorkloadError::Impossible(format!(
                "{} batches (at most {MAX_BATCHES})",
                self.batches.len()
            )));
        }
        for (i, b) in self.batches.iter().enumerate() {
            let n = i + 1;
            for (k, m) in [
                ("design", b.design),
                ("build", b.build),
                ("review", b.review),
                ("qa", b.qa),
                ("fix", b.fix),
            ] {
                dur(&|| format!("batch {n} {k}"), m)?;
            }
            if b.review_fails > MAX_REVIEW_FAILS {
                return Err(WorkloadError::Impossible(format!(
                    "batch {n}: review_fails {} (at most {MAX_REVIEW_FAILS})",
                    b.review_fails
                )));
            }
        }
        // design, build, review, a fix and a review per failure, qa; the preamble; the verifies.
        let n = self.batches.len();
        let verifies = match self.sync_every.unwrap_or(0) as usize {
            0 => usize::from(self.verify_minutes > 0.0),
            k => n.div_ceil(k),
        };
        let runs: usize = self
            .batches
            .iter()
            .map(|b| 3 + 2 * b.review_fails as usize + usize::from(b.qa > 0.0))
            .sum::<usize>()
            + self.preamble.len()
            + verifies
            + self.milestones.len().saturating_sub(1);
        if runs > MAX_PHASE_RUNS {
            return Err(WorkloadError::Impossible(format!(
                "{runs} phase runs before any re-check; Leapfrog simulates at most \
                 {MAX_PHASE_RUNS}"
            )));
        }
        validate_plan(&self.plan(PriorityRule::CriticalPath, None))?;
        Ok(())
    }

    /// Batch positions are numbered from 1; batch ids are the positions.
    pub fn plan(&self, priority: PriorityRule, estimates: Option<&[f64]>) -> Plan {
        // `estimates`: a perturbed copy of `self.durations()` in the same order.
        let own = self.durations();
        let e = estimates.unwrap_or(&own);
        let mut it = e.iter().copied();
        let mut next = || it.next();
        let preamble = self
            .preamble
            .iter()
            .map(|p| PreambleSpec {
                role: p.phase,
                estimate: next(),
            })
            .collect();
        let batches = self
            .batches
            .iter()
            .enumerate()
            .map(|(i, b)| BatchSpec {
                id: i as u32 + 1,
                builds_after: b.builds_after.clone(),
                qa: b.qa > 0.0,
                expected_review_fails: b.review_fails,
                estimates: Estimates {
                    design: next(),
                    build: next(),
                    review: next(),
                    fix: next(),
                    qa: next(),
                },
            })
            .collect();
        let verify_estimate = next();
        let recheck_estimate = next();
        let milestones = self
            .milestones
            .iter()
            .enumerate()
            .map(|(i, m)| MilestoneSpec {
                batches: m.batches,
                plan_estimate: if i == 0 { None } else { next() },
            })
            .collect();
        Plan {
            agents: self
                .agents
                .iter()
                .map(|a| AgentSpec {
                    id: a.id.clone(),
                    roles: a.roles.clone(),
                })
                .collect(),
            preamble,
            batches,
            lookahead: self.lookahead,
            sync_every: self.sync_every,
            verify: self.sync_every.unwrap_or(0) > 0 || self.verify_minutes > 0.0,
            verify_estimate,
            recheck_tasks: self.recheck > 0.0,
            recheck_estimate,
            priority,
            milestones,
        }
    }

    /// Every duration in a fixed order: preamble, then per batch design, build, review, fix, qa,
    /// then verify and recheck, then `plan(m)` for each milestone `m >= 2`.
    pub fn durations(&self) -> Vec<f64> {
        let mut out: Vec<f64> = self.preamble.iter().map(|p| p.minutes).collect();
        for b in &self.batches {
            out.extend([b.design, b.build, b.review, b.fix, b.qa]);
        }
        out.extend([self.verify_minutes, self.recheck]);
        // plan(m), m >= 2 (last: the noise of the other estimates does not depend on milestones).
        out.extend(self.milestones.iter().skip(1).map(|m| m.plan));
        out
    }

    /// The real duration of a phase.
    pub fn duration(&self, phase: PhaseId) -> f64 {
        let batch = |b: u32| &self.batches[b as usize - 1];
        match phase {
            PhaseId::Preamble { index } => self.preamble[index as usize].minutes,
            PhaseId::Design { batch: b } => batch(b).design,
            PhaseId::Build { batch: b } => batch(b).build,
            PhaseId::Review { batch: b } => batch(b).review,
            PhaseId::Fix { batch: b } => batch(b).fix,
            PhaseId::Qa { batch: b } => batch(b).qa,
            PhaseId::Recheck { .. } => self.recheck,
            PhaseId::Verify { .. } => self.verify_minutes,
            PhaseId::PlanMilestone { milestone } => self.milestones[milestone as usize - 1].plan,
        }
    }

    /// The same workload with `n` batches shaped like the first one (one milestone: the counts of
    /// the workload's milestones would not add up).
    pub fn with_batches_like_first(&self, n: usize) -> Workload {
        let mut w = self.clone();
        let first = self.batches[0].clone();
        w.batches = vec![first; n];
        w.milestones = Vec::new();
        w
    }
}
