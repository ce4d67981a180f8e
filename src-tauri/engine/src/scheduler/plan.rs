//! The general model the scheduler runs: agents with role sets, a preamble, batches, lookahead,
//! sync points and a priority rule. Patterns (Leapfrog, Pipeline, Specialist split) are presets
//! over it ([`Plan::preset`]).

use serde::{Deserialize, Serialize};

use crate::model::{Pattern, Role};

/// One agent (one CLI session) and the roles it may run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSpec {
    pub id: String,
    pub roles: Vec<Role>,
}

impl AgentSpec {
    pub fn new(id: &str, roles: &[Role]) -> AgentSpec {
        AgentSpec {
            id: id.to_string(),
            roles: roles.to_vec(),
        }
    }
}

/// Which ready phase a free agent takes first. Every rule keeps agents busy whenever a phase they
/// can run is ready; they only differ in the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PriorityRule {
    /// Longest remaining path to the end first; ties: designs ahead, then the earlier batch.
    /// The Pipeline default ("designs ahead first").
    #[default]
    CriticalPath,
    /// The earliest batch first, critical path breaks ties: a ready review of batch 1 goes
    /// before the design of batch 3. The Leapfrog default ("interleave reviews with designs").
    Interleave,
    /// First the phases that unlock work for a role no ready phase needs (keep the other agents
    /// fed: a design when no build is ready, a review that will fail when no fix is ready), then
    /// critical path.
    FeedIdle,
    /// Critical path; ties go to reviews, fixes and qa (the work that accepts a batch) first.
    CriticalPathAcceptFirst,
}

impl PriorityRule {
    pub const ALL: [PriorityRule; 4] = [
        PriorityRule::CriticalPath,
        PriorityRule::Interleave,
        PriorityRule::FeedIdle,
        PriorityRule::CriticalPathAcceptFirst,
    ];

    /// The default priority of a pattern: the only difference between Leapfrog and Pipeline.
    pub fn default_for(pattern: Pattern) -> PriorityRule {
        match pattern {
            Pattern::Leapfrog => PriorityRule::Interleave,
            Pattern::Pipeline | Pattern::Specialist => PriorityRule::CriticalPath,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PriorityRule::CriticalPath => "critical-path",
            PriorityRule::Interleave => "interleave",
            PriorityRule::FeedIdle => "feed-idle",
            PriorityRule::CriticalPathAcceptFirst => "critical-path-accept-first",
        }
    }

    pub fn parse(s: &str) -> Option<PriorityRule> {
        PriorityRule::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// One preamble phase (discovery, requirements, plan, ...), run in order before batch 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreambleSpec {
    pub role: Role,
    /// Known duration estimate in minutes (the simulator knows it); `None`: learned or default.
    pub estimate: Option<f64>,
}

/// Known duration estimates of a batch's phases, in minutes. `None`: learned or default.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Estimates {
    pub design: Option<f64>,
    pub build: Option<f64>,
    pub review: Option<f64>,
    pub fix: Option<f64>,
    pub qa: Option<f64>,
}

/// One batch of tickets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchSpec {
    /// The batch's number as the user knows it (TICKETS.md). Effects and events name batches by it.
    pub id: u32,
    /// Builds this batch's build waits for. `None`: the previous batch's build (the default `[b-1]`);
    /// `Some(vec![])`: independent.
    pub builds_after: Option<Vec<u32>>,
    /// Whether the batch has a qa phase.
    pub qa: bool,
    /// How many reviews are expected to fail before one passes (priority only; the simulator knows
    /// it, the live app uses 0). The real outcome always comes from events.
    pub expected_review_fails: u32,
    pub estimates: Estimates,
}

impl BatchSpec {
    pub fn new(id: u32) -> BatchSpec {
        BatchSpec {
            id,
            builds_after: None,
            qa: false,
            expected_review_fails: 0,
            estimates: Estimates::default(),
        }
    }
}

/// One milestone: a run of consecutive batches (rule 9 of the contract). Milestone 1 is planned
/// by the preamble; every later one by its own `plan(m)` phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MilestoneSpec {
    /// How many batches (in plan order) the milestone holds.
    pub batches: u32,
    /// Known duration estimate of `plan(m)` in minutes (ignored for milestone 1); `None`: learned
    /// or default.
    #[serde(default)]
    pub plan_estimate: Option<f64>,
}

/// Everything the scheduler needs to know up front.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub agents: Vec<AgentSpec>,
    pub preamble: Vec<PreambleSpec>,
    pub batches: Vec<BatchSpec>,
    /// `design(b)` waits until batch `b-L-1` is accepted. `None`: no limit.
    pub lookahead: Option<u32>,
    /// A sync point (verify) after every k accepted batches. `None` or `Some(0)`: only the final one.
    pub sync_every: Option<u32>,
    /// Whether verifies run at all (with `sync_every` of `None`/0: whether the final verify runs).
    pub verify: bool,
    pub verify_estimate: Option<f64>,
    /// Whether a cascade flag creates a re-check phase for a design-capable agent (build of the
    /// flagged batch then waits for it). When false the flag is only notified.
    pub recheck_tasks: bool,
    pub recheck_estimate: Option<f64>,
    pub priority: PriorityRule,
    /// The milestones in order, their batch counts adding up to the number of batches. Empty (or
    /// one): a single milestone, no `plan(m)` phase.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<MilestoneSpec>,
}

/// The agents of a pattern preset.
pub fn preset_agents(pattern: Pattern) -> Vec<AgentSpec> {
    use Role::*;
    match pattern {
        Pattern::Leapfrog | Pattern::Pipeline => vec![
            AgentSpec::new(
                "claude",
                &[Discovery, Requirements, Plan, Design, Review, Qa],
            ),
            AgentSpec::new("codex", &[Build, Fix]),
        ],
        Pattern::Specialist => vec![
            AgentSpec::new("designer", &[Discovery, Requirements, Plan, Design]),
            AgentSpec::new("reviewer", &[Review, Qa]),
            AgentSpec::new("builder", &[Build, Fix]),
        ],
    }
}

impl Plan {
    /// A plan for `batches` batches with a pattern's agents and default priority, the seed's
    /// defaults (lookahead 2, a sync point every 3 batches) and no known estimates.
    pub fn preset(pattern: Pattern, batches: u32) -> Plan {
        Plan {
            agents: preset_agents(pattern),
            preamble: vec![
                PreambleSpec {
                    role: Role::Discovery,
                    estimate: None,
                },
                PreambleSpec {
                    role: Role::Plan,
                    estimate: None,
                },
            ],
            batches: (1..=batches).map(BatchSpec::new).collect(),
            lookahead: Some(2),
            sync_every: Some(3),
            verify: true,
            verify_estimate: None,
            recheck_tasks: true,
            recheck_estimate: None,
            priority: PriorityRule::default_for(pattern),
            milestones: Vec::new(),
        }
    }
}
