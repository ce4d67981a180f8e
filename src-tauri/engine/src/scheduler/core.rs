//! The pure core: [`Scheduler::step`] turns one [`Event`] into [`Effect`]s. No IO, no clock: the
//! time is the `at` every event carries.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::estimate::{default_minutes, Estimator};
use super::plan::{Plan, PriorityRule};
use super::ready::{Entry, Key, ReadyIndex, Total, WaitingBuilds, CLASSES, SLOTS};
use crate::model::Role;

/// The role a ready phase unlocks next, by class of the ready index (none, build, review, fix).
const CLASS_ROLES: [Option<Role>; CLASSES] =
    [None, Some(Role::Build), Some(Role::Review), Some(Role::Fix)];

/// Minutes since the start of the run.
pub type Minutes = f64;

/// The kind of a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    Preamble,
    Design,
    Build,
    Review,
    Fix,
    Qa,
    Recheck,
    Verify,
}

impl PhaseKind {
    pub const COUNT: usize = 8;
    pub const ALL: [PhaseKind; PhaseKind::COUNT] = [
        PhaseKind::Preamble,
        PhaseKind::Design,
        PhaseKind::Build,
        PhaseKind::Review,
        PhaseKind::Fix,
        PhaseKind::Qa,
        PhaseKind::Recheck,
        PhaseKind::Verify,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PhaseKind::Preamble => "preamble",
            PhaseKind::Design => "design",
            PhaseKind::Build => "build",
            PhaseKind::Review => "review",
            PhaseKind::Fix => "fix",
            PhaseKind::Qa => "qa",
            PhaseKind::Recheck => "recheck",
            PhaseKind::Verify => "verify",
        }
    }
}

/// One phase of the project. Batch phases name the batch by its id; a review or fix names the
/// batch's current review cycle (only one can run at a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum PhaseId {
    /// The `index`-th preamble phase (0-based).
    Preamble {
        index: u32,
    },
    Design {
        batch: u32,
    },
    Build {
        batch: u32,
    },
    Review {
        batch: u32,
    },
    Fix {
        batch: u32,
    },
    Qa {
        batch: u32,
    },
    /// The designer re-checks a design after a cascade flag.
    Recheck {
        batch: u32,
    },
    /// The `sync`-th sync point (1-based) runs the verify command.
    Verify {
        sync: u32,
    },
    /// `plan(m)`: writes milestone `milestone`'s batches (`milestone >= 2`; milestone 1 is planned
    /// by the preamble). Its kind is [`PhaseKind::Preamble`] (a planning phase; estimates are
    /// learned with the preamble's).
    PlanMilestone {
        milestone: u32,
    },
}

impl PhaseId {
    pub fn kind(self) -> PhaseKind {
        match self {
            PhaseId::Preamble { .. } => PhaseKind::Preamble,
            PhaseId::Design { .. } => PhaseKind::Design,
            PhaseId::Build { .. } => PhaseKind::Build,
            PhaseId::Review { .. } => PhaseKind::Review,
            PhaseId::Fix { .. } => PhaseKind::Fix,
            PhaseId::Qa { .. } => PhaseKind::Qa,
            PhaseId::Recheck { .. } => PhaseKind::Recheck,
            PhaseId::Verify { .. } => PhaseKind::Verify,
            PhaseId::PlanMilestone { .. } => PhaseKind::Preamble,
        }
    }

    pub fn batch(self) -> Option<u32> {
        match self {
            PhaseId::Design { batch }
            | PhaseId::Build { batch }
            | PhaseId::Review { batch }
            | PhaseId::Fix { batch }
            | PhaseId::Qa { batch }
            | PhaseId::Recheck { batch } => Some(batch),
            PhaseId::Preamble { .. } | PhaseId::Verify { .. } | PhaseId::PlanMilestone { .. } => {
                None
            }
        }
    }

    /// The milestone a `plan(m)` phase plans.
    pub fn milestone(self) -> Option<u32> {
        match self {
            PhaseId::PlanMilestone { milestone } => Some(milestone),
            _ => None,
        }
    }
}

impl PhaseId {
    /// How the UI and `leap` name a phase: `design(2)`, `verify(1)`, `preamble(1)` (1-based),
    /// `plan(2)`. [`PhaseId::parse_label`] reads it back.
    pub fn label(&self) -> String {
        match self {
            PhaseId::Preamble { index } => format!("preamble({})", index + 1),
            other => other.to_string(),
        }
    }

    /// Reads [`PhaseId::label`]'s form; anything else is an error in words.
    pub fn parse_label(text: &str) -> Result<PhaseId, String> {
        let bad = || {
            format!(
                "unknown phase `{text}` (write kind(number): design(2), build(1), review(1), fix(1), qa(1), recheck(3), verify(1), preamble(1), plan(2))"
            )
        };
        let (kind, rest) = text.trim().split_once('(').ok_or_else(bad)?;
        let n: u32 = rest
            .strip_suffix(')')
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(bad)?;
        Ok(match kind.trim() {
            "preamble" if n >= 1 => PhaseId::Preamble { index: n - 1 },
            "verify" => PhaseId::Verify { sync: n },
            "plan" => PhaseId::PlanMilestone { milestone: n },
            "design" => PhaseId::Design { batch: n },
            "build" => PhaseId::Build { batch: n },
            "review" => PhaseId::Review { batch: n },
            "fix" => PhaseId::Fix { batch: n },
            "qa" => PhaseId::Qa { batch: n },
            "recheck" => PhaseId::Recheck { batch: n },
            _ => return Err(bad()),
        })
    }
}

impl std::fmt::Display for PhaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PhaseId::Preamble { index } => write!(f, "preamble phase {}", index + 1),
            PhaseId::Verify { sync } => write!(f, "verify({sync})"),
            PhaseId::PlanMilestone { milestone } => write!(f, "plan({milestone})"),
            other => write!(
                f,
                "{}({})",
                other.kind().as_str(),
                other.batch().unwrap_or_default()
            ),
        }
    }
}

/// What happened. Every event carries the time it happened at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Time advanced (also the first event: it dispatches the first phases).
    Tick {
        at: Minutes,
    },
    /// A phase finished (for a review: it passed). Its duration, `at` minus its dispatch time,
    /// teaches the estimator.
    PhaseFinished {
        phase: PhaseId,
        at: Minutes,
    },
    /// The current review of `batch` failed: a fix follows, then the review again; later batches
    /// whose design is done and build not started are flagged for re-check.
    ReviewFailed {
        batch: u32,
        at: Minutes,
    },
    /// A sync point's verify finished. A failed verify holds later builds until retried or skipped.
    VerifyFinished {
        sync: u32,
        passed: bool,
        at: Minutes,
    },
    /// The agent could not finish the phase (crash, error). The phase is held until retried.
    PhaseFailed {
        phase: PhaseId,
        reason: String,
        at: Minutes,
    },
    /// The agent is online and free for scheduled work.
    AgentIdle {
        agent: String,
        at: Minutes,
    },
    /// The agent is busy with work the scheduler did not give it.
    AgentBusy {
        agent: String,
        at: Minutes,
    },
    /// The agent went away; a phase it was running goes back to the ready queue.
    AgentOffline {
        agent: String,
        at: Minutes,
    },
    PauseBatch {
        batch: u32,
        at: Minutes,
    },
    ResumeBatch {
        batch: u32,
        at: Minutes,
    },
    PauseAgent {
        agent: String,
        at: Minutes,
    },
    ResumeAgent {
        agent: String,
        at: Minutes,
    },
    /// Mark a phase done without running it (a skipped review counts as passed).
    Skip {
        phase: PhaseId,
        at: Minutes,
    },
    /// Run a failed phase (or a failed verify) again.
    Retry {
        phase: PhaseId,
        at: Minutes,
    },
    /// New order for batches whose design has not started: they take the positions they held,
    /// in this order.
    Reorder {
        batches: Vec<u32>,
        at: Minutes,
    },
}

impl Event {
    pub fn at(&self) -> Minutes {
        match self {
            Event::Tick { at }
            | Event::PhaseFinished { at, .. }
            | Event::ReviewFailed { at, .. }
            | Event::VerifyFinished { at, .. }
            | Event::PhaseFailed { at, .. }
            | Event::AgentIdle { at, .. }
            | Event::AgentBusy { at, .. }
            | Event::AgentOffline { at, .. }
            | Event::PauseBatch { at, .. }
            | Event::ResumeBatch { at, .. }
            | Event::PauseAgent { at, .. }
            | Event::ResumeAgent { at, .. }
            | Event::Skip { at, .. }
            | Event::Retry { at, .. }
            | Event::Reorder { at, .. } => *at,
        }
    }
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// Start `phase` on `agent` now; `estimate` is the expected minutes.
    Dispatch {
        agent: String,
        phase: PhaseId,
        at: Minutes,
        estimate: Minutes,
    },
    /// Run the project's verify command for the `sync`-th sync point (no agent).
    RunVerify { sync: u32, at: Minutes },
    /// `batch`'s design needs a re-check because the review of `failed_batch` failed.
    FlagRecheck {
        batch: u32,
        failed_batch: u32,
        at: Minutes,
    },
    /// Something the user should know (all accepted, an overdue phase, an ignored event...).
    Notify { message: String, at: Minutes },
}

/// Where one phase stands, for the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseState {
    Waiting,
    Running,
    Done,
    Failed,
}

/// Where one batch stands, for the UI ([`Scheduler::batch_status`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchStatus {
    pub batch: u32,
    pub design: PhaseState,
    pub build: PhaseState,
    /// The current review cycle's review.
    pub review: PhaseState,
    /// `Waiting` also when no fix is due; see `fix_pending`.
    pub fix: PhaseState,
    pub qa: Option<PhaseState>,
    pub reviews_failed: u32,
    pub fix_pending: bool,
    pub needs_recheck: bool,
    pub accepted: bool,
    pub paused: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "snake_case")]
enum Slot {
    #[default]
    Waiting,
    Running {
        agent: usize,
        since: Minutes,
        overdue_notified: bool,
    },
    Done,
    Failed,
}

impl Slot {
    fn state(self) -> PhaseState {
        match self {
            Slot::Waiting => PhaseState::Waiting,
            Slot::Running { .. } => PhaseState::Running,
            Slot::Done => PhaseState::Done,
            Slot::Failed => PhaseState::Failed,
        }
    }

    fn waiting(self) -> bool {
        matches!(self, Slot::Waiting)
    }
    fn done(self) -> bool {
        matches!(self, Slot::Done)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct BatchRt {
    id: u32,
    design: Slot,
    build: Slot,
    review: Slot,
    fix: Slot,
    qa: Slot,
    recheck: Slot,
    /// Reviews failed so far.
    fails: u32,
    /// A review failed and its fix has not finished.
    fix_pending: bool,
    /// Flagged by a cascade; the build waits for the re-check (when re-check tasks are on).
    needs_recheck: bool,
    /// Flagged again while its re-check was running: one more re-check follows.
    recheck_again: bool,
    accepted: bool,
    paused: bool,
}

impl BatchRt {
    fn new(id: u32) -> BatchRt {
        BatchRt {
            id,
            design: Slot::Waiting,
            build: Slot::Waiting,
            review: Slot::Waiting,
            fix: Slot::Waiting,
            qa: Slot::Waiting,
            recheck: Slot::Waiting,
            fails: 0,
            fix_pending: false,
            needs_recheck: false,
            recheck_again: false,
            accepted: false,
            paused: false,
        }
    }

    fn slot_mut(&mut self, kind: PhaseKind) -> Option<&mut Slot> {
        Some(match kind {
            PhaseKind::Design => &mut self.design,
            PhaseKind::Build => &mut self.build,
            PhaseKind::Review => &mut self.review,
            PhaseKind::Fix => &mut self.fix,
            PhaseKind::Qa => &mut self.qa,
            PhaseKind::Recheck => &mut self.recheck,
            PhaseKind::Preamble | PhaseKind::Verify => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AgentRt {
    id: String,
    roles: u16,
    online: bool,
    external_busy: bool,
    paused: bool,
    running: Option<PhaseId>,
}

impl AgentRt {
    fn free(&self) -> bool {
        self.online && !self.external_busy && !self.paused && self.running.is_none()
    }
}

fn role_bit(role: Role) -> u16 {
    1 << (role as u16)
}

/// Derived data, rebuilt from the state when missing (after deserialising) or stale.
#[derive(Debug, Clone, Default)]
struct Cache {
    valid: bool,
    pos: HashMap<u32, usize>,
    /// Positions whose build waits for the build at this position.
    dependents: Vec<Vec<usize>>,
    /// Positions of the builds the build at this position waits for.
    builds_after: Vec<Vec<usize>>,
    /// Remaining-path lengths (own estimate included) per position: design, build, review, fix,
    /// qa, recheck.
    tails: Vec<[Minutes; 6]>,
    tail_preamble: Vec<Minutes>,
    tail_verify: Vec<Minutes>,
    /// Remaining-path lengths of `plan(m)`, `m >= 2` (index `m - 2`).
    tail_plan: Vec<Minutes>,
    /// The position of the first batch of milestone `m >= 2` (index `m - 2`).
    milestone_first: Vec<usize>,
    /// `chain_next[p]`: the first position >= p whose build does not simply wait for the build
    /// before it (`n` if none).
    chain_next: Vec<usize>,
    /// Suffix maximum of build tails (`suffix_build[p]` = max over positions >= p).
    suffix_build: Vec<Minutes>,
    /// Tails of this position and earlier ones are stale.
    dirty_hi: Option<usize>,
    /// The positions whose own state changed since the tails were computed.
    tail_seeds: Vec<usize>,
    /// Every estimate is in the plan (the simulator): tails depend only on the plan and the
    /// batches' states, and are recomputed by [`Scheduler::propagate_tails`].
    known_estimates: bool,
    /// The ready batch phases, updated position by position ([`super::ready`]).
    ready: ReadyIndex,
    /// The waiting builds by position, for the cascade.
    waiting: WaitingBuilds,
}

/// Which of a position's computed values changed ([`Scheduler::tails_at`]).
#[derive(Debug, Default, Clone, Copy)]
struct TailsChanged {
    design: bool,
    build: bool,
    /// The suffix maximum of build tails at this position.
    suffix: bool,
    /// The tail of the regular verify that follows this position.
    verify: bool,
    /// The tail of the `plan(m)` whose milestone starts at this position.
    plan: bool,
}

/// Why a plan cannot be scheduled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("duplicate agent id `{0}`")]
    DuplicateAgent(String),
    #[error("duplicate batch {0}")]
    DuplicateBatch(u32),
    #[error("batch {batch}: builds_after names batch {named}, which is not an earlier batch")]
    BuildsAfterNotEarlier { batch: u32, named: u32 },
    #[error("no agent can run {what} (no agent has the `{role}` role)")]
    NoAgent { what: String, role: &'static str },
    #[error("invalid estimate for {0}: must be a finite number of minutes >= 0")]
    BadEstimate(String),
    #[error("milestones hold {counts} = {sum} batches, but there are {batches} batches")]
    MilestoneCounts {
        counts: String,
        sum: u64,
        batches: usize,
    },
    #[error("milestone {0} has no batches")]
    EmptyMilestone(u32),
}

/// The scheduler's whole state: serialisable, so the app can persist it between runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scheduler {
    plan: Plan,
    now: Minutes,
    agents: Vec<AgentRt>,
    preamble: Vec<Slot>,
    /// Batches in their current order (position = index); `plan.batches` is kept in the same order.
    batches: Vec<BatchRt>,
    verifies: Vec<Slot>,
    /// `plan(m)` for milestones `m >= 2` (index `m - 2`): rule 9.
    #[serde(default)]
    plans: Vec<Slot>,
    estimator: Estimator,
    /// Every position before this one is accepted.
    first_unaccepted: usize,
    /// Every verify before this one has started.
    #[serde(default)]
    verify_cursor: usize,
    /// Every design before this position is done.
    #[serde(default)]
    design_cursor: usize,
    /// Positions flagged for a re-check not yet done.
    #[serde(default)]
    rechecks: std::collections::BTreeSet<usize>,
    /// A build was skipped: builds may be done out of chain order.
    #[serde(default)]
    skipped_build: bool,
    finished_notified: bool,
    /// When the last batch was accepted and verified.
    #[serde(default)]
    finished_at: Option<Minutes>,
    #[serde(skip)]
    cache: Cache,
    /// Only in a forecast's copy: phases with no history take their default times this (how
    /// this project's finished phases compared to their defaults). The live scheduler keeps 1.
    #[serde(skip)]
    default_pace: Option<f64>,
    /// Only in the simulator: cascade flags are counted here instead of being effects (a review
    /// failing while the designs are far ahead flags thousands of batches, each time).
    #[serde(skip)]
    flags_counted: Option<usize>,
}

impl Scheduler {
    /// Check the plan and build the initial state: every agent online and idle, nothing started.
    pub fn new(plan: Plan) -> Result<Scheduler, PlanError> {
        validate_plan(&plan)?;
        let agents = plan
            .agents
            .iter()
            .map(|a| AgentRt {
                id: a.id.clone(),
                roles: a.roles.iter().fold(0, |m, r| m | role_bit(*r)),
                online: true,
                external_busy: false,
                paused: false,
                running: None,
            })
            .collect::<Vec<_>>();
        let mut s = Scheduler {
            now: 0.0,
            preamble: vec![Slot::Waiting; plan.preamble.len()],
            batches: plan.batches.iter().map(|b| BatchRt::new(b.id)).collect(),
            verifies: Vec::new(),
            plans: vec![Slot::Waiting; plan.milestones.len().saturating_sub(1)],
            estimator: Estimator::new(agents.len()),
            agents,
            first_unaccepted: 0,
            verify_cursor: 0,
            design_cursor: 0,
            rechecks: Default::default(),
            skipped_build: false,
            finished_notified: false,
            finished_at: None,
            cache: Cache::default(),
            default_pace: None,
            flags_counted: None,
            plan,
        };
        s.verifies = vec![Slot::Waiting; s.sync_count()];
        Ok(s)
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn now(&self) -> Minutes {
        self.now
    }

    /// True when every batch is accepted and every verify passed.
    pub fn is_finished(&self) -> bool {
        self.first_unaccepted == self.batches.len()
            && self.preamble.iter().all(|s| s.done())
            && self.verifies.iter().all(|s| s.done())
            && self.plans.iter().all(|s| s.done())
    }

    /// Batch ids in their current order.
    pub fn batch_order(&self) -> Vec<u32> {
        self.batches.iter().map(|b| b.id).collect()
    }

    /// Number of sync points (verifies) the plan has.
    pub fn sync_count(&self) -> usize {
        let n = self.batches.len();
        if !self.plan.verify || n == 0 {
            return 0;
        }
        let (regular, final_one) = self.sync_shape();
        regular + usize::from(final_one)
    }

    /// What each agent is running now.
    pub fn running(&self) -> Vec<(String, PhaseId)> {
        self.agents
            .iter()
            .filter_map(|a| a.running.map(|p| (a.id.clone(), p)))
            .collect()
    }

    /// Every batch in its current order.
    pub fn batch_status(&self) -> Vec<BatchStatus> {
        self.batches
            .iter()
            .zip(&self.plan.batches)
            .map(|(b, spec)| BatchStatus {
                batch: b.id,
                design: b.design.state(),
                build: b.build.state(),
                review: b.review.state(),
                fix: b.fix.state(),
                qa: spec.qa.then(|| b.qa.state()),
                reviews_failed: b.fails,
                fix_pending: b.fix_pending,
                needs_recheck: b.needs_recheck,
                accepted: b.accepted,
                paused: b.paused,
            })
            .collect()
    }

    /// Approximate bytes the scheduler holds (state, plan and derived caches).
    pub fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        let c = &self.cache;
        let nested = |v: &Vec<Vec<usize>>| {
            v.iter()
                .map(|x| size_of::<Vec<usize>>() + x.capacity() * size_of::<usize>())
                .sum::<usize>()
        };
        size_of::<Scheduler>()
            + self.batches.capacity() * size_of::<BatchRt>()
            + self.plan.batches.capacity() * size_of::<super::plan::BatchSpec>()
            + self
                .plan
                .batches
                .iter()
                .map(|b| b.builds_after.as_ref().map_or(0, |v| v.capacity() * 4))
                .sum::<usize>()
            + self.agents.capacity() * size_of::<AgentRt>()
            + (self.preamble.capacity() + self.verifies.capacity()) * size_of::<Slot>()
            + self.estimator.memory_bytes()
            + c.pos.capacity() * (size_of::<u32>() + size_of::<usize>() + 1)
            + nested(&c.dependents)
            + nested(&c.builds_after)
            + c.tails.capacity() * size_of::<[Minutes; 6]>()
            + (c.suffix_build.capacity() + c.tail_verify.capacity() + c.tail_preamble.capacity())
                * size_of::<Minutes>()
            + c.chain_next.capacity() * size_of::<usize>()
            + c.ready.memory_bytes()
            + c.waiting.memory_bytes()
    }

    /// Cascade flags are counted (read them with [`Scheduler::counted_flags`]) instead of
    /// returned as [`Effect::FlagRecheck`]s: the simulator only counts them.
    pub(super) fn count_flags(&mut self) {
        self.flags_counted = Some(0);
    }

    /// The cascade flags counted since [`Scheduler::count_flags`].
    pub(super) fn counted_flags(&self) -> usize {
        self.flags_counted.unwrap_or(0)
    }

    /// (the build at `p` is waiting, and its batch is not flagged for a re-check).
    fn build_waiting(&self, p: usize) -> (bool, bool) {
        let b = &self.batches[p];
        let waiting = b.build.waiting();
        (waiting, waiting && !b.needs_recheck)
    }

    /// The learned estimates.
    pub fn estimator(&self) -> &Estimator {
        &self.estimator
    }

    /// When the run is expected to finish, `now` minutes after its start: this state carried
    /// forward on a copy, each running phase ending at its start plus its estimate (or now, when
    /// overdue), each phase to come taking its estimate (a kind with no history yet: its default
    /// at the pace the finished phases set), every review and verify passing. `None`
    /// when the pipeline cannot finish as it stands: a paused or offline agent or batch, or a
    /// failed phase that waits for a retry.
    pub fn forecast_finish(&self, now: Minutes) -> Option<Minutes> {
        if self.is_finished() {
            // Later events (an agent going idle) move `now` on; the run ended when it finished.
            return Some(self.finished_at.unwrap_or(self.now));
        }
        let mut sim = self.clone();
        sim.default_pace = self.estimator.pace();
        let mut running: Vec<(Minutes, PhaseId)> = Vec::new();
        for i in 0..sim.agents.len() {
            if let Some(phase) = sim.agents[i].running {
                let since = match sim.slot_mut(phase) {
                    Some(Slot::Running { since, .. }) => *since,
                    _ => now,
                };
                running.push(((since + sim.dispatch_estimate(i, phase)).max(now), phase));
            }
        }
        for (i, slot) in sim.verifies.iter().enumerate() {
            if let Slot::Running { since, .. } = *slot {
                let end = (since + sim.verify_estimate()).max(now);
                running.push((end, PhaseId::Verify { sync: i as u32 + 1 }));
            }
        }
        let mut effects = sim.step(Event::Tick { at: now });
        // Every phase once, fixes and re-checks aside (reviews pass): a bound on the steps.
        let limit = 8
            * (sim.batches.len() + sim.preamble.len() + sim.verifies.len() + sim.plans.len())
            + 16;
        for _ in 0..limit {
            for e in effects.drain(..) {
                match e {
                    Effect::Dispatch {
                        phase,
                        at,
                        estimate,
                        ..
                    } => running.push((at + estimate, phase)),
                    Effect::RunVerify { sync, at } => {
                        running.push((at + sim.verify_estimate(), PhaseId::Verify { sync }))
                    }
                    Effect::FlagRecheck { .. } | Effect::Notify { .. } => {}
                }
            }
            if sim.is_finished() {
                return Some(sim.now.max(now));
            }
            let next = (0..running.len()).min_by(|&a, &b| running[a].0.total_cmp(&running[b].0))?;
            let (at, phase) = running.swap_remove(next);
            effects = sim.step(match phase {
                PhaseId::Verify { sync } => Event::VerifyFinished {
                    sync,
                    passed: true,
                    at,
                },
                phase => Event::PhaseFinished { phase, at },
            });
        }
        None
    }

    /// Apply one event and return what to do.
    pub fn step(&mut self, event: Event) -> Vec<Effect> {
        self.step_all(std::iter::once(event))
    }

    /// Apply several simultaneous events, then decide once (so a phase that several of them make
    /// ready competes fairly).
    pub fn step_all(&mut self, events: impl IntoIterator<Item = Event>) -> Vec<Effect> {
        let mut effects = Vec::new();
        for e in events {
            self.apply(e, &mut effects);
        }
        self.dispatch(&mut effects);
        effects
    }

    // ----- sync-point arithmetic (positions are 0-based, batch numbers 1-based) -----

    fn k(&self) -> usize {
        self.plan.sync_every.unwrap_or(0) as usize
    }

    /// (regular sync points, whether a final one follows).
    fn sync_shape(&self) -> (usize, bool) {
        let n = self.batches.len();
        match n.checked_div(self.k()) {
            None => (0, true),
            Some(regular) => (regular, !n.is_multiple_of(self.k())),
        }
    }

    /// How many leading batches verify index `m` (0-based) waits for.
    fn verify_needs(&self, m: usize) -> usize {
        let (regular, _) = self.sync_shape();
        if m < regular {
            (m + 1) * self.k()
        } else {
            self.batches.len()
        }
    }

    /// The verify index a build at position `pos` waits for, if any.
    fn build_gate(&self, pos: usize) -> Option<usize> {
        if self.verifies.is_empty() {
            return None;
        }
        let k = self.k();
        let (regular, _) = self.sync_shape();
        if k == 0 {
            return None;
        }
        let m = (pos / k).min(regular);
        (m >= 1).then(|| m - 1)
    }

    /// The positions whose builds wait for verify index `m` ([`Self::build_gate`]).
    fn gated_by(&self, m: usize) -> std::ops::Range<usize> {
        let (k, n) = (self.k(), self.batches.len());
        let (regular, _) = self.sync_shape();
        if self.verifies.is_empty() || k == 0 || m + 1 > regular {
            return 0..0;
        }
        let end = if m + 1 == regular { n } else { (m + 2) * k };
        ((m + 1) * k).min(n)..end.min(n)
    }

    /// The first verify index that waits for the batch at position `pos`.
    fn first_verify_after(&self, pos: usize) -> Option<usize> {
        if self.verifies.is_empty() {
            return None;
        }
        let k = self.k();
        let (regular, final_one) = self.sync_shape();
        if k > 0 {
            let m = (pos + 1).div_ceil(k);
            if m <= regular {
                return Some(m - 1);
            }
        }
        final_one.then_some(regular)
    }

    // ----- the cache -----

    fn ensure_cache(&mut self) {
        if self.cache.valid {
            if let Some(hi) = self.cache.dirty_hi {
                // positions before the first unaccepted one are never asked for again.
                let lo = self.first_unaccepted.min(hi);
                if self.cache.known_estimates && lo == self.first_unaccepted {
                    // debug builds check the result against computing every position again.
                    #[cfg(debug_assertions)]
                    let reference = (self.batches.len() <= 300).then(|| {
                        let mut all = self.clone();
                        all.compute_tails(lo, hi);
                        all.cache
                    });
                    let seeds = std::mem::take(&mut self.cache.tail_seeds);
                    self.propagate_tails(lo, &seeds);
                    #[cfg(debug_assertions)]
                    if let Some(all) = reference {
                        let bits = |c: &Cache| {
                            let t = c.tails.iter().flatten();
                            t.chain(&c.suffix_build)
                                .chain(&c.tail_verify)
                                .chain(&c.tail_plan)
                                .chain(&c.tail_preamble)
                                .map(|x| x.to_bits())
                                .collect::<Vec<u64>>()
                        };
                        assert!(
                            bits(&self.cache) == bits(&all),
                            "tails differ from a full pass"
                        );
                    }
                } else {
                    self.compute_tails(lo, hi);
                }
            }
            return;
        }
        let n = self.batches.len();
        let pos: HashMap<u32, usize> = self
            .batches
            .iter()
            .enumerate()
            .map(|(i, b)| (b.id, i))
            .collect();
        let mut builds_after = vec![Vec::new(); n];
        let mut dependents = vec![Vec::new(); n];
        for (i, spec) in self.plan.batches.iter().enumerate() {
            let list: Vec<usize> = match &spec.builds_after {
                None => i.checked_sub(1).into_iter().collect(),
                Some(ids) => ids.iter().filter_map(|id| pos.get(id).copied()).collect(),
            };
            for &a in &list {
                dependents[a].push(i);
            }
            builds_after[i] = list;
        }
        self.cache.pos = pos;
        self.cache.builds_after = builds_after;
        self.cache.dependents = dependents;
        let mut chain_next = vec![n; n + 1];
        for p in (0..n).rev() {
            let chained = p > 0 && self.plan.batches[p].builds_after.is_none();
            chain_next[p] = if chained { chain_next[p + 1] } else { p };
        }
        self.cache.chain_next = chain_next;
        // rule 9: where each milestone after the first starts.
        let mut first = 0usize;
        self.cache.milestone_first = self
            .plan
            .milestones
            .iter()
            .take(self.plans.len())
            .map(|m| {
                first += m.batches as usize;
                first
            })
            .collect();
        // `rechecks` lists the positions flagged for a re-check (a state saved before it existed
        // has none): the ready phases are read from the flags.
        self.rechecks = (0..n).filter(|&p| self.batches[p].needs_recheck).collect();
        let pending = self
            .cache
            .builds_after
            .iter()
            .map(|list| {
                list.iter()
                    .filter(|&&a| !self.batches[a].build.done())
                    .count() as u32
            })
            .collect();
        self.cache.ready = ReadyIndex::new(n, pending);
        let e = |b: &super::plan::BatchSpec| {
            let e = b.estimates;
            [e.design, e.build, e.review, e.fix, e.qa]
                .iter()
                .all(Option::is_some)
        };
        self.cache.known_estimates = self.plan.batches.iter().all(e)
            && self.plan.verify_estimate.is_some()
            && self.plan.recheck_estimate.is_some()
            && self.plan.milestones[1.min(self.plan.milestones.len())..]
                .iter()
                .all(|m| m.plan_estimate.is_some());
        self.cache.waiting = WaitingBuilds::new(n, |p| self.build_waiting(p));
        self.cache.tails.clear();
        self.cache.suffix_build.clear();
        self.cache.tail_verify.clear();
        self.cache.tail_plan.clear();
        self.compute_tails(0, n.saturating_sub(1));
        self.cache.valid = true;
    }

    fn agents_with(&self, role: Role) -> impl Iterator<Item = usize> + '_ {
        let bit = role_bit(role);
        self.agents
            .iter()
            .enumerate()
            .filter(move |(_, a)| a.roles & bit != 0)
            .map(|(i, _)| i)
    }

    /// Agent-independent estimate of a phase kind: known, else learned across capable agents,
    /// else the default.
    fn estimate(&self, known: Option<f64>, kind: PhaseKind, role: Option<Role>) -> Minutes {
        if let Some(k) = known {
            return k;
        }
        if let Some(role) = role {
            if let Some(m) = self.estimator.for_any(self.agents_with(role), kind) {
                return m;
            }
        }
        default_minutes(kind) * self.default_pace.unwrap_or(1.0)
    }

    fn batch_estimate(&self, pos: usize, kind: PhaseKind) -> Minutes {
        let e = &self.plan.batches[pos].estimates;
        let (known, role) = match kind {
            PhaseKind::Design => (e.design, Role::Design),
            PhaseKind::Build => (e.build, Role::Build),
            PhaseKind::Review => (e.review, Role::Review),
            PhaseKind::Fix => (e.fix, Role::Fix),
            PhaseKind::Qa => (e.qa, Role::Qa),
            PhaseKind::Recheck => (self.plan.recheck_estimate, Role::Design),
            PhaseKind::Preamble | PhaseKind::Verify => unreachable!("not a batch phase"),
        };
        self.estimate(known, kind, Some(role))
    }

    /// The estimate of `plan(i + 2)`.
    fn plan_estimate(&self, i: usize) -> Minutes {
        let known = self
            .plan
            .milestones
            .get(i + 1)
            .and_then(|m| m.plan_estimate);
        self.estimate(known, PhaseKind::Preamble, Some(Role::Plan))
    }

    fn verify_estimate(&self) -> Minutes {
        self.estimate(self.plan.verify_estimate, PhaseKind::Verify, None)
    }

    /// Longest remaining path to the end from every phase, by estimates, over the dependency
    /// rules of the contract. Every cross-batch edge goes forward, so positions are computed
    /// from `hi` down to `lo`, reading the cached values of positions after `hi`.
    fn compute_tails(&mut self, lo: usize, hi: usize) {
        let n = self.batches.len();
        let mut cache = self.tails_begin();
        if n > 0 {
            for p in (lo..=hi.min(n - 1)).rev() {
                self.tails_at(&mut cache, p);
            }
        }
        self.tails_end(cache);
    }

    /// The remaining paths after the positions in `seeds` changed, when every estimate is known
    /// (the simulator): only the positions whose inputs changed are computed again, latest first,
    /// instead of every position from the first unaccepted batch on. Every position from `lo` on
    /// holds what computing it again would give (its inputs are its own state and the values of
    /// later positions), so the result is the one [`Self::compute_tails`]`(lo, max seed)` gives.
    fn propagate_tails(&mut self, lo: usize, seeds: &[usize]) {
        let n = self.batches.len();
        let lookahead = self.plan.lookahead.map(|l| l as usize);
        let k = self.k();
        let mut cache = self.tails_begin();
        let mut todo: std::collections::BTreeSet<usize> = seeds
            .iter()
            .copied()
            .filter(|&p| p >= lo && p < n)
            .collect();
        while let Some(p) = todo.pop_last() {
            let changed = self.tails_at(&mut cache, p);
            let mut again = |q: usize| {
                if q >= lo {
                    todo.insert(q);
                }
            };
            if changed.design {
                // the design before it, and the batch whose acceptance gates it (lookahead).
                if let Some(q) = p.checked_sub(1) {
                    again(q);
                }
                if let Some(q) = lookahead.and_then(|l| p.checked_sub(l + 1)) {
                    again(q);
                }
            }
            if changed.build {
                for &q in &cache.builds_after[p] {
                    again(q);
                }
            }
            if changed.suffix {
                if let Some(q) = p.checked_sub(1) {
                    again(q);
                }
            }
            if changed.plan {
                // the design of the previous milestone's last batch, and the plan before it.
                if let Some(q) = p.checked_sub(1) {
                    again(q);
                }
                if let Ok(i) = cache.milestone_first.binary_search(&p) {
                    if let Some(q) = i.checked_sub(1).map(|j| cache.milestone_first[j]) {
                        again(q);
                    }
                }
            }
            if changed.verify {
                // the batches whose acceptance this verify waits for first.
                let m = (p + 1) / k - 1;
                for q in m * k..p {
                    again(q);
                }
            }
        }
        self.tails_end(cache);
    }

    fn tails_begin(&mut self) -> Cache {
        let n = self.batches.len();
        let mut cache = std::mem::take(&mut self.cache);
        cache.tails.resize(n, [0.0; 6]);
        cache.suffix_build.resize(n + 1, 0.0);
        cache.tail_verify.resize(self.verifies.len(), 0.0);
        cache.tail_plan.resize(self.plans.len(), 0.0);
        if self.sync_shape().1 {
            // the final verify has no successors.
            if let Some(last) = cache.tail_verify.last_mut() {
                *last = self.verify_estimate();
            }
        }
        cache
    }

    fn tails_end(&mut self, mut cache: Cache) {
        let n = self.batches.len();
        let mut tail_pre = vec![0.0; self.preamble.len()];
        let mut next = if n > 0 { cache.tails[0][0] } else { 0.0 };
        if let Some(&t) = cache.tail_plan.first() {
            // plan(2) waits for the last preamble phase.
            next = next.max(t);
        }
        for i in (0..self.preamble.len()).rev() {
            let spec = &self.plan.preamble[i];
            next += self.estimate(spec.estimate, PhaseKind::Preamble, Some(spec.role));
            tail_pre[i] = next;
        }
        cache.tail_preamble = tail_pre;
        cache.dirty_hi = None;
        cache.tail_seeds.clear();
        self.cache = cache;
    }

    /// Computes position `p`'s remaining paths (and the verify that follows it) from the values
    /// of later positions; says which of its values changed.
    fn tails_at(&self, cache: &mut Cache, p: usize) -> TailsChanged {
        let n = self.batches.len();
        let lookahead = self.plan.lookahead.map(|l| l as usize);
        let v = self.verify_estimate();
        let (regular, _) = self.sync_shape();
        let k = self.k();
        let mut changed = TailsChanged::default();
        // regular verify m follows position (m+1)k - 1 and precedes every later build.
        if k > 0 && (p + 1).is_multiple_of(k) {
            let m = (p + 1) / k - 1;
            if m < regular && m < cache.tail_verify.len() {
                let t = v + cache.suffix_build[p + 1];
                changed.verify = t.to_bits() != cache.tail_verify[m].to_bits();
                cache.tail_verify[m] = t;
            }
        }
        let b = &self.batches[p];
        let spec = &self.plan.batches[p];
        // acceptance: gates design(p + L + 1) and the next verify.
        let mut t_acc: f64 = 0.0;
        if let Some(l) = lookahead {
            let next = p + l + 1;
            if next < n {
                t_acc = t_acc.max(cache.tails[next][0]);
            }
        }
        if let Some(m) = self.first_verify_after(p) {
            t_acc = t_acc.max(cache.tail_verify[m]);
        }
        let qa = if spec.qa {
            self.batch_estimate(p, PhaseKind::Qa)
        } else {
            0.0
        };
        let t_qa = qa + t_acc;
        let r = self.batch_estimate(p, PhaseKind::Review);
        let fx = self.batch_estimate(p, PhaseKind::Fix);
        let remaining_fails = spec.expected_review_fails.saturating_sub(b.fails) as f64;
        let t_review = (remaining_fails + 1.0) * r + remaining_fails * fx + t_qa;
        let t_fix = fx + t_review;
        let bd = self.batch_estimate(p, PhaseKind::Build);
        let mut after_build = if b.fix_pending { t_fix } else { t_review };
        for &d in &cache.dependents[p] {
            after_build = after_build.max(cache.tails[d][1]);
        }
        let t_build = bd + after_build;
        let d = self.batch_estimate(p, PhaseKind::Design);
        let mut next_design = if p + 1 < n {
            cache.tails[p + 1][0]
        } else {
            0.0
        };
        if let Ok(i) = cache.milestone_first.binary_search(&(p + 1)) {
            // rule 9: plan(m) waits for the design of milestone m-1's last batch.
            next_design = next_design.max(cache.tail_plan[i]);
        }
        let t_design = d + t_build.max(next_design);
        let rc = self.batch_estimate(p, PhaseKind::Recheck);
        let tails = [t_design, t_build, t_review, t_fix, t_qa, rc + t_build];
        let old = cache.tails[p];
        let differs = |i: usize| tails[i].to_bits() != old[i].to_bits();
        changed.design = differs(0);
        changed.build = differs(1);
        if (0..6).any(differs) {
            // the priorities of its ready phases changed.
            cache.ready.mark(p);
        }
        cache.tails[p] = tails;
        if let Ok(i) = cache.milestone_first.binary_search(&p) {
            // plan(m) precedes the first design of milestone m and plan(m+1).
            let later = cache.tail_plan.get(i + 1).copied().unwrap_or(0.0);
            let t = self.plan_estimate(i) + t_design.max(later);
            changed.plan = t.to_bits() != cache.tail_plan[i].to_bits();
            cache.tail_plan[i] = t;
        }
        let suffix = cache.suffix_build[p + 1].max(t_build);
        changed.suffix = suffix.to_bits() != cache.suffix_build[p].to_bits();
        cache.suffix_build[p] = suffix;
        changed
    }

    /// Structure changed (re-order, skip): rebuild everything.
    fn invalidate(&mut self) {
        self.cache.valid = false;
    }

    /// Something at position `p` changed: remaining paths of `p` and earlier positions change.
    fn invalidate_tails(&mut self, p: usize) {
        self.cache.dirty_hi = Some(self.cache.dirty_hi.map_or(p, |h| h.max(p)));
        self.cache.tail_seeds.push(p);
    }

    // ----- applying events -----

    fn agent_index(&self, id: &str) -> Option<usize> {
        self.agents.iter().position(|a| a.id == id)
    }

    fn notify(&self, effects: &mut Vec<Effect>, message: String) {
        effects.push(Effect::Notify {
            message,
            at: self.now,
        });
    }

    fn slot_mut(&mut self, phase: PhaseId) -> Option<&mut Slot> {
        match phase {
            PhaseId::Preamble { index } => self.preamble.get_mut(index as usize),
            PhaseId::Verify { sync } => (sync as usize)
                .checked_sub(1)
                .and_then(|i| self.verifies.get_mut(i)),
            PhaseId::PlanMilestone { milestone } => (milestone as usize)
                .checked_sub(2)
                .and_then(|i| self.plans.get_mut(i)),
            other => {
                self.ensure_cache();
                let pos = *self.cache.pos.get(&other.batch()?)?;
                self.cache.ready.mark(pos);
                self.cache.waiting.touch(pos);
                self.batches[pos].slot_mut(other.kind())
            }
        }
    }

    fn apply(&mut self, event: Event, effects: &mut Vec<Effect>) {
        let at = event.at();
        if at.is_finite() && at > self.now {
            self.now = at;
        }
        self.ensure_cache();
        match event {
            Event::Tick { .. } => self.check_overdue(effects),
            Event::PhaseFinished { phase, .. } => self.finish(phase, true, effects),
            Event::ReviewFailed { batch, .. } => {
                self.finish(PhaseId::Review { batch }, false, effects)
            }
            Event::VerifyFinished { sync, passed, .. } => {
                self.finish(PhaseId::Verify { sync }, passed, effects)
            }
            Event::PhaseFailed { phase, reason, .. } => match self.slot_mut(phase) {
                Some(slot @ Slot::Running { .. }) => {
                    let Slot::Running { agent, .. } = *slot else {
                        unreachable!()
                    };
                    *slot = Slot::Failed;
                    // a verify runs on no agent.
                    if let Some(a) = self.agents.get_mut(agent) {
                        a.running = None;
                    }
                    self.notify(
                        effects,
                        format!("{phase} failed: {reason}; held until retried"),
                    );
                }
                _ => self.notify(effects, format!("ignored: {phase} is not running")),
            },
            Event::AgentIdle { agent, .. } => self.with_agent(&agent, effects, |a| {
                a.online = true;
                a.external_busy = false;
            }),
            Event::AgentBusy { agent, .. } => self.with_agent(&agent, effects, |a| {
                if a.running.is_none() {
                    a.external_busy = true;
                }
            }),
            Event::AgentOffline { agent, .. } => {
                let Some(i) = self.agent_index(&agent) else {
                    return self.notify(effects, format!("ignored: unknown agent `{agent}`"));
                };
                self.agents[i].online = false;
                if let Some(phase) = self.agents[i].running.take() {
                    if let Some(slot) = self.slot_mut(phase) {
                        *slot = Slot::Waiting;
                    }
                    self.notify(
                        effects,
                        format!("agent `{agent}` went offline; {phase} goes back to the queue"),
                    );
                }
            }
            Event::PauseAgent { agent, .. } => {
                self.with_agent(&agent, effects, |a| a.paused = true)
            }
            Event::ResumeAgent { agent, .. } => {
                self.with_agent(&agent, effects, |a| a.paused = false)
            }
            Event::PauseBatch { batch, .. } => self.with_batch(batch, effects, |b| b.paused = true),
            Event::ResumeBatch { batch, .. } => {
                self.with_batch(batch, effects, |b| b.paused = false)
            }
            Event::Skip { phase, .. } => self.skip(phase, effects),
            Event::Retry { phase, .. } => match self.slot_mut(phase) {
                Some(slot @ Slot::Failed) => *slot = Slot::Waiting,
                _ => self.notify(
                    effects,
                    format!("ignored: {phase} has not failed, nothing to retry"),
                ),
            },
            Event::Reorder { batches, .. } => {
                if let Err(why) = self.reorder(&batches) {
                    self.notify(effects, format!("ignored re-order: {why}"));
                }
            }
        }
    }

    fn with_agent(&mut self, id: &str, effects: &mut Vec<Effect>, f: impl FnOnce(&mut AgentRt)) {
        match self.agent_index(id) {
            Some(i) => f(&mut self.agents[i]),
            None => self.notify(effects, format!("ignored: unknown agent `{id}`")),
        }
    }

    fn with_batch(&mut self, id: u32, effects: &mut Vec<Effect>, f: impl FnOnce(&mut BatchRt)) {
        match self.cache.pos.get(&id) {
            Some(&p) => {
                f(&mut self.batches[p]);
                self.cache.ready.mark(p);
            }
            None => self.notify(effects, format!("ignored: unknown batch {id}")),
        }
    }

    fn check_overdue(&mut self, effects: &mut Vec<Effect>) {
        let now = self.now;
        let mut overdue = Vec::new();
        for a in 0..self.agents.len() {
            let Some(phase) = self.agents[a].running else {
                continue;
            };
            let estimate = self.dispatch_estimate(a, phase);
            if let Some(Slot::Running {
                since,
                overdue_notified,
                ..
            }) = self.slot_mut(phase)
            {
                if !*overdue_notified && now - *since > 2.0 * estimate.max(1.0) {
                    *overdue_notified = true;
                    overdue.push((phase, estimate));
                }
            }
        }
        for (phase, estimate) in overdue {
            self.notify(
                effects,
                format!("{phase} is overdue (more than twice its estimate of {estimate:.0} min)"),
            );
        }
    }

    /// A running phase finished; `passed` is false for a failed review or verify.
    fn finish(&mut self, phase: PhaseId, passed: bool, effects: &mut Vec<Effect>) {
        let now = self.now;
        let Some(slot) = self.slot_mut(phase) else {
            return self.notify(effects, format!("ignored: unknown phase {phase}"));
        };
        let Slot::Running { agent, since, .. } = *slot else {
            return self.notify(effects, format!("ignored: {phase} is not running"));
        };
        *slot = Slot::Done;
        match phase {
            // the builds waiting for this one wait for one build less.
            PhaseId::Build { batch } => {
                let c = &mut self.cache;
                for &d in &c.dependents[c.pos[&batch]] {
                    c.ready.pending_builds[d] -= 1;
                    c.ready.mark(d);
                }
            }
            PhaseId::Verify { sync } if passed => {
                let gated = self.gated_by(sync as usize - 1);
                self.cache.ready.mark_range(gated);
            }
            _ => {}
        }
        if phase.kind() != PhaseKind::Verify {
            self.agents[agent].running = None;
            self.estimator.observe(agent, phase.kind(), now - since);
            if self.known_estimate(phase).is_none() {
                // a learned estimate changed: every remaining path may change.
                self.invalidate_tails(self.batches.len().saturating_sub(1));
            }
        }
        match phase {
            PhaseId::Verify { sync } if !passed => {
                if let Some(s) = self.verifies.get_mut(sync as usize - 1) {
                    *s = Slot::Failed;
                }
                self.notify(
                    effects,
                    format!(
                        "verify({sync}) failed: later builds wait until it is retried or skipped"
                    ),
                );
            }
            PhaseId::Review { batch } => {
                let p = self.cache.pos[&batch];
                if passed {
                    self.batch_progress(p);
                } else {
                    let b = &mut self.batches[p];
                    b.review = Slot::Waiting;
                    b.fix = Slot::Waiting;
                    b.fix_pending = true;
                    b.fails += 1;
                    self.invalidate_tails(p);
                    if self.agents_with(Role::Fix).next().is_none() {
                        self.notify(
                            effects,
                            format!("review({batch}) failed but no agent has the `fix` role"),
                        );
                    }
                    self.cascade(p, effects);
                }
            }
            PhaseId::Fix { batch } => {
                let p = self.cache.pos[&batch];
                self.batches[p].fix_pending = false;
                self.invalidate_tails(p);
            }
            PhaseId::Recheck { batch } => {
                let p = self.cache.pos[&batch];
                let b = &mut self.batches[p];
                if b.recheck_again {
                    b.recheck_again = false;
                    b.recheck = Slot::Waiting;
                } else {
                    b.needs_recheck = false;
                    self.rechecks.remove(&p);
                }
            }
            PhaseId::Qa { batch } => {
                let p = self.cache.pos[&batch];
                self.batch_progress(p);
            }
            _ => {}
        }
    }

    /// Accept a batch if its passing review (and qa) are done.
    fn batch_progress(&mut self, p: usize) {
        let b = &mut self.batches[p];
        let qa = self.plan.batches[p].qa;
        if !b.accepted && b.review.done() && !b.fix_pending && (!qa || b.qa.done()) {
            b.accepted = true;
            while self.first_unaccepted < self.batches.len()
                && self.batches[self.first_unaccepted].accepted
            {
                self.first_unaccepted += 1;
            }
        }
    }

    /// Review of the batch at `p` failed: flag every later batch whose design is done and whose
    /// build has not started.
    fn cascade(&mut self, p: usize, effects: &mut Vec<Effect>) {
        let failed_batch = self.batches[p].id;
        let now = self.now;
        // Designs run in order: the flagged batches end at the first design after `p` not done
        // (every design before the design cursor is done).
        let n = self.batches.len();
        let mut end = self.design_cursor.max(p + 1);
        while end < n && self.batches[end].design.done() {
            end += 1;
        }
        let mut waiting = std::mem::take(&mut self.cache.waiting);
        waiting.refresh(|c| self.build_waiting(c));
        #[cfg(debug_assertions)]
        if n <= 300 {
            let scan = (p + 1..n)
                .take_while(|&c| self.batches[c].design.done())
                .filter(|&c| self.batches[c].build.waiting())
                .count();
            assert_eq!(
                waiting.count(p + 1..end),
                scan,
                "cascade count differs from a scan"
            );
        }
        // Every waiting build in (p, end) is flagged. Its batch gets a re-check (when re-check
        // tasks are on): one more if its re-check is running, none if one is pending.
        let recheck = |s: &mut Self, c: usize| {
            let b = &mut s.batches[c];
            match b.recheck {
                Slot::Running { .. } => b.recheck_again = true,
                _ if b.needs_recheck => {} // one pending re-check covers it
                _ => {
                    b.needs_recheck = true;
                    b.recheck = Slot::Waiting;
                    s.rechecks.insert(c);
                }
            }
            s.cache.ready.mark(c);
        };
        if let Some(count) = self.flags_counted.as_mut() {
            // Only the count, and the batches whose state changes: those not flagged yet, and
            // those whose re-check is running (at most one per agent).
            *count += waiting.count(p + 1..end);
            if self.plan.recheck_tasks {
                let mut c = p + 1;
                while let Some(q) = waiting.next_unflagged(c, end) {
                    recheck(self, q);
                    waiting.touch(q);
                    c = q + 1;
                }
                for a in 0..self.agents.len() {
                    if let Some(PhaseId::Recheck { batch }) = self.agents[a].running {
                        let q = self.cache.pos[&batch];
                        if q > p && q < end && self.batches[q].build.waiting() {
                            recheck(self, q);
                        }
                    }
                }
            }
        } else {
            let mut c = p + 1;
            while let Some(q) = waiting.next_waiting(c, end) {
                if self.plan.recheck_tasks {
                    recheck(self, q);
                    waiting.touch(q);
                }
                effects.push(Effect::FlagRecheck {
                    batch: self.batches[q].id,
                    failed_batch,
                    at: now,
                });
                c = q + 1;
            }
        }
        self.cache.waiting = waiting;
    }

    fn skip(&mut self, phase: PhaseId, effects: &mut Vec<Effect>) {
        match self.slot_mut(phase) {
            Some(slot @ (Slot::Waiting | Slot::Failed)) => *slot = Slot::Done,
            Some(Slot::Running { .. }) => {
                return self.notify(
                    effects,
                    format!("ignored: {phase} is running; stop its agent first"),
                )
            }
            Some(Slot::Done) => return self.notify(effects, format!("ignored: {phase} is done")),
            None => return self.notify(effects, format!("ignored: unknown phase {phase}")),
        }
        if let Some(id) = phase.batch() {
            let p = self.cache.pos[&id];
            match phase.kind() {
                PhaseKind::Fix => self.batches[p].fix_pending = false,
                PhaseKind::Recheck => {
                    self.batches[p].needs_recheck = false;
                    self.rechecks.remove(&p);
                }
                PhaseKind::Build => self.skipped_build = true,
                PhaseKind::Review => {
                    // a skipped review counts as passed; a pending fix is moot.
                    self.batches[p].fix_pending = false;
                    self.batches[p].fix = Slot::Done;
                }
                _ => {}
            }
            self.batch_progress(p);
        }
        self.invalidate();
        self.notify(effects, format!("{phase} skipped"));
    }

    fn reorder(&mut self, ids: &[u32]) -> Result<(), String> {
        let mut positions = Vec::with_capacity(ids.len());
        for id in ids {
            let &p = self
                .cache
                .pos
                .get(id)
                .ok_or_else(|| format!("unknown batch {id}"))?;
            if positions.contains(&p) {
                return Err(format!("batch {id} listed twice"));
            }
            if !self.batches[p].design.waiting() {
                return Err(format!("batch {id} has started"));
            }
            positions.push(p);
        }
        let mut sorted = positions.clone();
        sorted.sort_unstable();
        let mut batches = self.batches.clone();
        let mut specs = self.plan.batches.clone();
        for (slot, &from) in sorted.iter().zip(&positions) {
            batches[*slot] = self.batches[from].clone();
            specs[*slot] = self.plan.batches[from].clone();
        }
        let order: HashMap<u32, usize> =
            batches.iter().enumerate().map(|(i, b)| (b.id, i)).collect();
        for (i, spec) in specs.iter().enumerate() {
            for named in spec.builds_after.iter().flatten() {
                if order.get(named).is_none_or(|&q| q >= i) {
                    return Err(format!(
                        "batch {} builds after batch {named}, which would no longer be earlier",
                        spec.id
                    ));
                }
            }
        }
        self.batches = batches;
        self.plan.batches = specs;
        self.invalidate();
        self.ensure_cache();
        Ok(())
    }

    // ----- deciding -----

    /// The estimate the plan knows for a phase, if any.
    fn known_estimate(&self, phase: PhaseId) -> Option<Minutes> {
        match phase {
            PhaseId::Preamble { index } => self.plan.preamble.get(index as usize)?.estimate,
            PhaseId::Verify { .. } => self.plan.verify_estimate,
            PhaseId::Recheck { .. } => self.plan.recheck_estimate,
            PhaseId::PlanMilestone { milestone } => {
                let i = (milestone as usize).checked_sub(1)?;
                self.plan.milestones.get(i)?.plan_estimate
            }
            other => {
                let p = *self.cache.pos.get(&other.batch()?)?;
                let e = &self.plan.batches[p].estimates;
                match other.kind() {
                    PhaseKind::Design => e.design,
                    PhaseKind::Build => e.build,
                    PhaseKind::Review => e.review,
                    PhaseKind::Fix => e.fix,
                    _ => e.qa,
                }
            }
        }
    }

    fn dispatch_estimate(&self, agent: usize, phase: PhaseId) -> Minutes {
        let kind = phase.kind();
        self.known_estimate(phase)
            .or_else(|| self.estimator.for_agent(agent, kind))
            .unwrap_or_else(|| self.estimate(None, kind, self.role_of(phase)))
    }

    fn role_of(&self, phase: PhaseId) -> Option<Role> {
        Some(match phase {
            PhaseId::Preamble { index } => self.plan.preamble[index as usize].role,
            PhaseId::Design { .. } | PhaseId::Recheck { .. } => Role::Design,
            PhaseId::Build { .. } => Role::Build,
            PhaseId::Review { .. } => Role::Review,
            PhaseId::Fix { .. } => Role::Fix,
            PhaseId::Qa { .. } => Role::Qa,
            PhaseId::PlanMilestone { .. } => Role::Plan,
            PhaseId::Verify { .. } => return None,
        })
    }

    /// The ready phases the index does not hold: the next preamble phase (and `false`: nothing
    /// else is ready before the preamble is done), else the next design (and `true`: the batch
    /// phases in the index are ready too).
    fn ready_outside_index(&self) -> (Option<(PhaseId, usize, Minutes)>, bool) {
        if let Some(i) = self.preamble.iter().position(|s| !s.done()) {
            let phase = self.preamble[i].waiting().then(|| {
                (
                    PhaseId::Preamble { index: i as u32 },
                    0,
                    self.cache.tail_preamble[i],
                )
            });
            return (phase, false);
        }
        if let Some(plan) = self.ready_plan() {
            // the next design waits for it (or, after skips, may wait for nothing: it follows).
            return (Some(plan), true);
        }
        let p = self.design_cursor;
        let design = self.batches.get(p).and_then(|b| {
            let ahead_ok = match self.plan.lookahead.map(|l| l as usize) {
                Some(l) if p > l => self.batches[p - l - 1].accepted,
                _ => true,
            };
            (b.design.waiting() && ahead_ok && !b.paused && self.design_planned(p))
                .then(|| (PhaseId::Design { batch: b.id }, p, self.cache.tails[p][0]))
        });
        (design, true)
    }

    /// Rule 9: the ready `plan(m)`, if any (the preamble is done). Plans run in order: only the
    /// first not done can be ready, once the design of the previous milestone's last batch is
    /// done. Its position is its milestone's first.
    fn ready_plan(&self) -> Option<(PhaseId, usize, Minutes)> {
        let i = self.plans.iter().position(|s| !s.done())?;
        let first = self.cache.milestone_first[i];
        (self.plans[i].waiting() && self.batches[first - 1].design.done()).then(|| {
            (
                PhaseId::PlanMilestone {
                    milestone: i as u32 + 2,
                },
                first,
                self.cache.tail_plan[i],
            )
        })
    }

    /// Rule 9: the design at position `p` waits for the `plan(m)` of the milestone it starts.
    fn design_planned(&self, p: usize) -> bool {
        match self.cache.milestone_first.binary_search(&p) {
            Ok(i) => self.plans[i].done(),
            Err(_) => true,
        }
    }

    /// The ready phases of the batch at position `p` (in `[first_unaccepted, design_cursor)`):
    /// what [`Self::ready_scan`] finds there. (It skips the batches chained to a build that is not
    /// done, where only re-checks can be ready; here they are found the same way as elsewhere.)
    fn ready_at(&self, p: usize) -> [Option<Entry>; 2] {
        let b = &self.batches[p];
        let mut out = [None, None];
        if b.paused {
            return out;
        }
        let tails = &self.cache.tails[p];
        let batch = b.id;
        if b.needs_recheck && b.recheck.waiting() && self.plan.recheck_tasks {
            out[0] = Some(self.entry(PhaseId::Recheck { batch }, p, tails[5]));
        }
        if b.build.waiting() {
            let ready = self.cache.ready.pending_builds[p] == 0
                && b.design.done()
                && !(b.needs_recheck && self.plan.recheck_tasks)
                && self.build_gate(p).is_none_or(|m| self.verifies[m].done());
            if ready {
                out[1] = Some(self.entry(PhaseId::Build { batch }, p, tails[1]));
            }
        } else if b.build.done() {
            let phase = if b.fix_pending {
                b.fix
                    .waiting()
                    .then_some((PhaseId::Fix { batch }, tails[3]))
            } else if b.review.waiting() {
                Some((PhaseId::Review { batch }, tails[2]))
            } else if b.review.done() && self.plan.batches[p].qa && b.qa.waiting() {
                Some((PhaseId::Qa { batch }, tails[4]))
            } else {
                None
            };
            out[1] = phase.map(|(phase, tail)| self.entry(phase, p, tail));
        }
        out
    }

    /// Where a ready batch phase is filed: its role, the role it unlocks, and its priority key.
    fn entry(&self, phase: PhaseId, p: usize, tail: Minutes) -> Entry {
        let kind = phase.kind();
        let rank = self.kind_rank(kind);
        let key = match self.plan.priority {
            PriorityRule::Interleave => Key {
                a: Total(p as f64),
                b: Total(-tail),
                rank,
                pos: p,
            },
            _ => Key {
                a: Total(-tail),
                b: Total(0.0),
                rank,
                pos: p,
            },
        };
        let unlocks = self.unlocks(phase, p);
        Entry {
            key,
            slot: SLOTS
                .iter()
                .position(|&k| k == kind)
                .expect("a batch phase") as u8,
            class: CLASS_ROLES
                .iter()
                .position(|&r| r == unlocks)
                .expect("a role a phase unlocks") as u8,
        }
    }

    /// The phase an index entry stands for.
    fn entry_phase(&self, e: Entry) -> PhaseId {
        let batch = self.batches[e.key.pos].id;
        match SLOTS[e.slot as usize] {
            PhaseKind::Recheck => PhaseId::Recheck { batch },
            PhaseKind::Build => PhaseId::Build { batch },
            PhaseKind::Review => PhaseId::Review { batch },
            PhaseKind::Fix => PhaseId::Fix { batch },
            _ => PhaseId::Qa { batch },
        }
    }

    /// Kinds in the order they go first on ties of the rule's key.
    fn kind_rank(&self, k: PhaseKind) -> u8 {
        let accept_first = matches!(
            self.plan.priority,
            PriorityRule::Interleave | PriorityRule::CriticalPathAcceptFirst
        );
        match (k, accept_first) {
            (PhaseKind::Preamble, _) => 0,
            (PhaseKind::Recheck, _) => 1,
            (PhaseKind::Design, false) => 2,
            (PhaseKind::Fix, _) => 3,
            (PhaseKind::Review, _) => 4,
            (PhaseKind::Qa, _) => 5,
            (PhaseKind::Build, _) => 6,
            (PhaseKind::Design, true) => 7,
            (PhaseKind::Verify, _) => 8,
        }
    }

    /// The role of the phase this one unlocks next (feed-idle prefers phases whose next role has
    /// nothing ready).
    fn unlocks(&self, phase: PhaseId, p: usize) -> Option<Role> {
        match phase {
            PhaseId::Preamble { .. } | PhaseId::PlanMilestone { .. } => None,
            PhaseId::Design { .. } | PhaseId::Recheck { .. } => Some(Role::Build),
            PhaseId::Build { .. } | PhaseId::Fix { .. } => Some(Role::Review),
            PhaseId::Review { .. } => {
                let spec = &self.plan.batches[p];
                (spec.expected_review_fails > self.batches[p].fails).then_some(Role::Fix)
            }
            PhaseId::Qa { .. } | PhaseId::Verify { .. } => None,
        }
    }

    /// Brings the ready index up to date (positions marked since the last decision).
    fn sync_ready(&mut self) {
        let lo = self.first_unaccepted;
        let hi = self.design_cursor.min(self.batches.len());
        for p in self.cache.ready.begin_sync(lo, hi) {
            let entries = self.ready_at(p);
            self.cache.ready.file(p, entries);
        }
        #[cfg(debug_assertions)]
        if self.batches.len() <= 300 {
            let mut want: Vec<Entry> = self
                .ready_scan()
                .into_iter()
                .filter(|(ph, _, _)| !matches!(ph, PhaseId::Design { .. }))
                .map(|(ph, p, tail)| self.entry(ph, p, tail))
                .collect();
            let mut have = self.cache.ready.entries();
            want.sort_by_key(|e| e.key);
            have.sort_by_key(|e| e.key);
            assert_eq!(have, want, "the ready index differs from a scan");
        }
    }

    /// Every phase whose dependencies all hold and that is not held, with its remaining path: a
    /// scan of every batch, the definition [`ReadyIndex`] keeps up to date (debug builds compare
    /// them on small plans).
    #[cfg(debug_assertions)]
    fn ready_scan(&self) -> Vec<(PhaseId, usize, Minutes)> {
        let mut out = Vec::new();
        // preamble
        if let Some(i) = self.preamble.iter().position(|s| !s.done()) {
            if self.preamble[i].waiting() {
                out.push((
                    PhaseId::Preamble { index: i as u32 },
                    0,
                    self.cache.tail_preamble[i],
                ));
            }
            return out;
        }
        let n = self.batches.len();
        let end = self.design_cursor.min(n);
        let mut p = self.first_unaccepted;
        while p < end {
            let b = &self.batches[p];
            let tails = &self.cache.tails[p];
            let id = b.id;
            if b.paused {
                p += 1;
                continue;
            }
            if b.needs_recheck && b.recheck.waiting() && self.plan.recheck_tasks {
                out.push((PhaseId::Recheck { batch: id }, p, tails[5]));
            }
            if b.build.waiting() {
                // cheapest first: most waiting builds wait for the build before them.
                let ready = self.cache.builds_after[p]
                    .iter()
                    .all(|&a| self.batches[a].build.done())
                    && b.design.done()
                    && !(b.needs_recheck && self.plan.recheck_tasks)
                    && self.build_gate(p).is_none_or(|m| self.verifies[m].done());
                if ready {
                    out.push((PhaseId::Build { batch: id }, p, tails[1]));
                } else if !self.skipped_build
                    && p > 0
                    && self.plan.batches[p].builds_after.is_none()
                    && !self.batches[p - 1].build.done()
                {
                    // every following batch chained to this build has not built either: only
                    // their re-checks can be ready.
                    let q = self.cache.chain_next[p + 1].min(end);
                    for &r in self.rechecks.range(p + 1..q) {
                        let c = &self.batches[r];
                        if !c.paused && c.recheck.waiting() && self.plan.recheck_tasks {
                            out.push((PhaseId::Recheck { batch: c.id }, r, self.cache.tails[r][5]));
                        }
                    }
                    p = q;
                    continue;
                }
                p += 1;
                continue;
            }
            if b.build.done() {
                if b.fix_pending {
                    if b.fix.waiting() {
                        out.push((PhaseId::Fix { batch: id }, p, tails[3]));
                    }
                } else if b.review.waiting() {
                    out.push((PhaseId::Review { batch: id }, p, tails[2]));
                } else if b.review.done() && self.plan.batches[p].qa && b.qa.waiting() {
                    out.push((PhaseId::Qa { batch: id }, p, tails[4]));
                }
            }
            p += 1;
        }
        // the next design: designs run in order.
        if let Some(b) = self.batches.get(self.design_cursor) {
            let p = self.design_cursor;
            let ahead_ok = match self.plan.lookahead.map(|l| l as usize) {
                Some(l) if p > l => self.batches[p - l - 1].accepted,
                _ => true,
            };
            if b.design.waiting() && ahead_ok && !b.paused && self.design_planned(p) {
                out.push((PhaseId::Design { batch: b.id }, p, self.cache.tails[p][0]));
            }
        }
        out
    }

    fn dispatch(&mut self, effects: &mut Vec<Effect>) {
        self.ensure_cache();
        let now = self.now;
        // verifies: no agent, start as soon as their batches are accepted.
        while self
            .batches
            .get(self.design_cursor)
            .is_some_and(|b| b.design.done())
        {
            self.design_cursor += 1;
        }
        while self
            .verifies
            .get(self.verify_cursor)
            .is_some_and(|v| matches!(v, Slot::Running { .. } | Slot::Done))
        {
            self.verify_cursor += 1;
        }
        for m in self.verify_cursor..self.verifies.len() {
            if self.first_unaccepted < self.verify_needs(m) {
                break; // later verifies need even more batches
            }
            if self.verifies[m].waiting() {
                self.verifies[m] = Slot::Running {
                    agent: usize::MAX,
                    since: now,
                    overdue_notified: false,
                };
                effects.push(Effect::RunVerify {
                    sync: m as u32 + 1,
                    at: now,
                });
            }
        }
        let mut free: Vec<usize> = (0..self.agents.len())
            .filter(|&a| self.agents[a].free())
            .collect();
        if !free.is_empty() {
            let rule = self.plan.priority;
            let (extra, batch_phases) = self.ready_outside_index();
            if batch_phases {
                self.sync_ready();
            }
            let slot_bit = |s: usize| {
                role_bit(match SLOTS[s] {
                    PhaseKind::Build => Role::Build,
                    PhaseKind::Review => Role::Review,
                    PhaseKind::Fix => Role::Fix,
                    PhaseKind::Qa => Role::Qa,
                    _ => Role::Design,
                })
            };
            let extra_bit = |e: &(PhaseId, usize, Minutes)| self.role_of(e.0).map_or(0, role_bit);
            // Roles some ready phase needs right now (feed-idle).
            let mut ready_roles = extra.as_ref().map_or(0, extra_bit);
            if batch_phases {
                for s in 0..SLOTS.len() {
                    if self.cache.ready.count(s) > 0 {
                        ready_roles |= slot_bit(s);
                    }
                }
            }
            let starves = |r: Option<Role>| r.is_some_and(|r| ready_roles & role_bit(r) == 0);
            // The rule's order, smallest first: (rule key, rule key, kind rank, position).
            type Order = (Total, Total, u8, usize);
            let extra_order = |&(ph, p, tail): &(PhaseId, usize, Minutes)| -> Order {
                let rank = self.kind_rank(ph.kind());
                match rule {
                    PriorityRule::Interleave => (Total(p as f64), Total(-tail), rank, p),
                    PriorityRule::FeedIdle => (
                        Total(if starves(self.unlocks(ph, p)) {
                            0.0
                        } else {
                            1.0
                        }),
                        Total(-tail),
                        rank,
                        p,
                    ),
                    _ => (Total(-tail), Total(0.0), rank, p),
                }
            };
            // The phase outside the index, with its order and role, until it is taken.
            let mut extra = extra.map(|e| (extra_order(&e), e.0, extra_bit(&e)));
            let entry_order = |e: Entry| -> Order {
                let k = e.key;
                match rule {
                    PriorityRule::FeedIdle => (
                        Total(if starves(CLASS_ROLES[e.class as usize]) {
                            0.0
                        } else {
                            1.0
                        }),
                        k.a,
                        k.rank,
                        k.pos,
                    ),
                    _ => (k.a, k.b, k.rank, k.pos),
                }
            };
            // Few agents are free at once: pick the best phase some free agent can run, again and
            // again (the same order as sorting every ready phase, without the sort). The best of
            // the index is the first of one of its sets.
            while !free.is_empty() {
                let can_run = free.iter().fold(0u16, |m, &a| m | self.agents[a].roles);
                let mut pick: Option<(Order, Option<Entry>)> = None;
                if let Some((order, _, bit)) = extra {
                    if bit & can_run != 0 {
                        pick = Some((order, None));
                    }
                }
                if batch_phases {
                    for s in (0..SLOTS.len()).filter(|&s| slot_bit(s) & can_run != 0) {
                        for c in 0..CLASSES {
                            if let Some(e) = self.cache.ready.first(s, c) {
                                let order = entry_order(e);
                                if pick.as_ref().is_none_or(|(o, _)| order < *o) {
                                    pick = Some((order, Some(e)));
                                }
                            }
                        }
                    }
                }
                let Some((_, entry)) = pick else { break };
                let (phase, bit) = match entry {
                    Some(e) => (self.entry_phase(e), slot_bit(e.slot as usize)),
                    None => {
                        let (_, phase, bit) = extra.expect("picked");
                        (phase, bit)
                    }
                };
                // The capable free agent least useful for the other ready phases: the fewest
                // ready phases it could run (the picked one counts for every capable agent).
                let useful = |roles: u16| -> usize {
                    let index: usize = (0..SLOTS.len())
                        .filter(|&s| batch_phases && slot_bit(s) & roles != 0)
                        .map(|s| self.cache.ready.count(s))
                        .sum();
                    index + usize::from(extra.is_some_and(|(_, _, bit)| bit & roles != 0))
                };
                let best = free
                    .iter()
                    .enumerate()
                    .filter(|(_, &a)| self.agents[a].roles & bit != 0)
                    .min_by_key(|(_, &a)| (useful(self.agents[a].roles), a))
                    .map(|(fi, &a)| (fi, a));
                let Some((fi, agent)) = best else { break };
                free.swap_remove(fi);
                free.sort_unstable();
                match entry {
                    Some(e) => self.cache.ready.take(e),
                    None => extra = None,
                }
                let estimate = self.dispatch_estimate(agent, phase);
                if let Some(slot) = self.slot_mut(phase) {
                    *slot = Slot::Running {
                        agent,
                        since: now,
                        overdue_notified: false,
                    };
                }
                self.agents[agent].running = Some(phase);
                effects.push(Effect::Dispatch {
                    agent: self.agents[agent].id.clone(),
                    phase,
                    at: now,
                    estimate,
                });
            }
        }
        if !self.finished_notified && self.is_finished() {
            self.finished_notified = true;
            self.finished_at = Some(self.now);
            self.notify(effects, "every batch accepted and verified".to_string());
        }
    }
}

/// Structural checks: duplicate ids, `builds_after` naming a non-earlier batch, a phase that no
/// agent can run, non-finite or negative estimates.
pub fn validate_plan(plan: &Plan) -> Result<(), PlanError> {
    let mut seen = std::collections::HashSet::new();
    for a in &plan.agents {
        if !seen.insert(a.id.as_str()) {
            return Err(PlanError::DuplicateAgent(a.id.clone()));
        }
    }
    let has = |role: Role| plan.agents.iter().any(|a| a.roles.contains(&role));
    let need = |role: Role, what: String| -> Result<(), PlanError> {
        if has(role) {
            Ok(())
        } else {
            Err(PlanError::NoAgent {
                what,
                role: role.as_str(),
            })
        }
    };
    let est = |e: Option<f64>, what: &dyn Fn() -> String| -> Result<(), PlanError> {
        match e {
            Some(v) if !v.is_finite() || v < 0.0 => Err(PlanError::BadEstimate(what())),
            _ => Ok(()),
        }
    };
    for (i, p) in plan.preamble.iter().enumerate() {
        need(
            p.role,
            format!("preamble phase {} ({})", i + 1, p.role.as_str()),
        )?;
        est(p.estimate, &|| format!("preamble phase {}", i + 1))?;
    }
    let mut pos = HashMap::new();
    for (i, b) in plan.batches.iter().enumerate() {
        if pos.insert(b.id, i).is_some() {
            return Err(PlanError::DuplicateBatch(b.id));
        }
    }
    for (i, b) in plan.batches.iter().enumerate() {
        for named in b.builds_after.iter().flatten() {
            if pos.get(named).is_none_or(|&q| q >= i) {
                return Err(PlanError::BuildsAfterNotEarlier {
                    batch: b.id,
                    named: *named,
                });
            }
        }
        need(Role::Design, format!("design({})", b.id))?;
        need(Role::Build, format!("build({})", b.id))?;
        need(Role::Review, format!("review({})", b.id))?;
        if b.expected_review_fails > 0 {
            need(Role::Fix, format!("fix({})", b.id))?;
        }
        if b.qa {
            need(Role::Qa, format!("qa({})", b.id))?;
        }
        let e = &b.estimates;
        for (v, k) in [
            (e.design, "design"),
            (e.build, "build"),
            (e.review, "review"),
            (e.fix, "fix"),
            (e.qa, "qa"),
        ] {
            est(v, &|| format!("{k}({})", b.id))?;
        }
    }
    if !plan.milestones.is_empty() {
        if let Some(i) = plan.milestones.iter().position(|m| m.batches == 0) {
            return Err(PlanError::EmptyMilestone(i as u32 + 1));
        }
        let sum: u64 = plan.milestones.iter().map(|m| u64::from(m.batches)).sum();
        if sum != plan.batches.len() as u64 {
            let counts: Vec<String> = plan
                .milestones
                .iter()
                .map(|m| m.batches.to_string())
                .collect();
            return Err(PlanError::MilestoneCounts {
                counts: counts.join(" + "),
                sum,
                batches: plan.batches.len(),
            });
        }
        for (i, m) in plan.milestones.iter().enumerate().skip(1) {
            need(Role::Plan, format!("plan({})", i + 1))?;
            est(m.plan_estimate, &|| format!("plan({})", i + 1))?;
        }
    }
    est(plan.verify_estimate, &|| "verify".to_string())?;
    est(plan.recheck_estimate, &|| "recheck".to_string())?;
    Ok(())
}
