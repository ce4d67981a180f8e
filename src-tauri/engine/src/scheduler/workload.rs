//! The simulator's workload file (`leap simulate --workload FILE`): parsing, named errors, and
//! turning it into a [`Plan`].

use serde::{Deserialize, Serialize};

use super::core::{validate_plan, PhaseId, PlanError};
use super::plan::{AgentSpec, BatchSpec, Estimates, Plan, PreambleSpec, PriorityRule};
use crate::model::Role;

/// Most reviews of one batch that may fail (more is treated as an impossible workload).
pub const MAX_REVIEW_FAILS: u32 = 10_000;
/// Most batches a workload may have.
pub const MAX_BATCHES: usize = 100_000;
/// Longest duration of one phase, in minutes (about 1900 years: sums stay exact and finite).
pub const MAX_MINUTES: f64 = 1e9;

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
        }
    }

    /// Every duration in a fixed order: preamble, then per batch design, build, review, fix, qa,
    /// then verify and recheck.
    pub fn durations(&self) -> Vec<f64> {
        let mut out: Vec<f64> = self.preamble.iter().map(|p| p.minutes).collect();
        for b in &self.batches {
            out.extend([b.design, b.build, b.review, b.fix, b.qa]);
        }
        out.extend([self.verify_minutes, self.recheck]);
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
        }
    }

    /// The same workload with `n` batches shaped like the first one.
    pub fn with_batches_like_first(&self, n: usize) -> Workload {
        let mut w = self.clone();
        let first = self.batches[0].clone();
        w.batches = vec![first; n];
        w
    }
}
