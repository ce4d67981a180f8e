//! The simulator: a discrete-event loop that feeds the core simulated events (a phase finishes
//! after its workload duration; a batch's first `review_fails` reviews fail; verifies pass).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde::{Serialize, Serializer};

use super::bound::lower_bound;
use super::core::{Effect, Event, PhaseId, Scheduler};
use super::plan::PriorityRule;
use super::workload::{Workload, WorkloadError, MAX_PHASE_RUNS};

/// How to simulate.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimOptions {
    /// Estimates are the durations times `1 + noise * u`, `u` uniform in [-1, 1] (clamped at 0).
    pub estimate_noise: f64,
    pub seed: u64,
    /// `None`: run every rule of [`PriorityRule::ALL`] and keep the shortest schedule (the first
    /// rule on ties).
    pub priority: Option<PriorityRule>,
}

/// One phase run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "SimRow"))]
pub struct Row {
    pub agent: Option<String>,
    pub phase: String,
    pub batch: Option<u32>,
    /// Only on a `plan(m)` row (rule 9): the milestone it plans. Absent on every other row.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub milestone: Option<u32>,
    #[serde(serialize_with = "number")]
    pub start: f64,
    #[serde(serialize_with = "number")]
    pub end: f64,
}

/// What `leap simulate --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SimOutput {
    pub batches: usize,
    #[serde(serialize_with = "number")]
    pub sequential_minutes: f64,
    #[serde(serialize_with = "number")]
    pub parallel_minutes: f64,
    pub savings: f64,
    #[serde(serialize_with = "number")]
    pub lower_bound_minutes: f64,
    /// The priority rule whose schedule this is.
    pub priority: &'static str,
    /// Cascade flags raised (batches flagged for re-check).
    pub recheck_flags: usize,
    pub schedule: Vec<Row>,
}

/// Whole minutes print as integers (`10`, not `10.0`).
fn number<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        s.serialize_i64(*x as i64)
    } else {
        s.serialize_f64(*x)
    }
}

/// A small deterministic generator (splitmix64) for estimate noise.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The estimates the scheduler sees: exact, or perturbed by `noise` with `seed`.
fn estimates(w: &Workload, noise: f64, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix(seed);
    w.durations()
        .into_iter()
        .map(|d| {
            let u = rng.unit() * 2.0 - 1.0;
            if noise > 0.0 {
                (d * (1.0 + noise * u)).max(0.0)
            } else {
                d
            }
        })
        .collect()
}

/// Simulate a (validated) workload.
pub fn simulate(w: &Workload, opts: &SimOptions) -> Result<SimOutput, WorkloadError> {
    if !opts.estimate_noise.is_finite() || opts.estimate_noise < 0.0 {
        return Err(WorkloadError::Impossible(format!(
            "estimate noise {} must be a finite number >= 0",
            opts.estimate_noise
        )));
    }
    w.validate()?;
    let est = estimates(w, opts.estimate_noise, opts.seed);
    let rules: Vec<PriorityRule> = match opts.priority {
        Some(r) => vec![r],
        None => PriorityRule::ALL.to_vec(),
    };
    // Each rule is an independent run of the core; keep the shortest schedule, the first rule
    // on ties (only the best so far is kept: a schedule of 100 000 batches is large).
    let mut best: Option<(Vec<Row>, usize, PriorityRule)> = None;
    for rule in rules {
        let (rows, flags) = run(w, rule, &est)?;
        let end = makespan(&rows);
        if best.as_ref().is_none_or(|(b, _, _)| end < makespan(b)) {
            best = Some((rows, flags, rule));
        }
    }
    let (schedule, recheck_flags, rule) = best.expect("at least one rule");
    let sequential: f64 = schedule.iter().map(|r| r.end - r.start).sum();
    let parallel = makespan(&schedule);
    Ok(SimOutput {
        batches: w.batches.len(),
        sequential_minutes: sequential,
        parallel_minutes: parallel,
        savings: if sequential > 0.0 {
            1.0 - parallel / sequential
        } else {
            0.0
        },
        lower_bound_minutes: lower_bound(w),
        priority: rule.as_str(),
        recheck_flags,
        schedule,
    })
}

fn makespan(rows: &[Row]) -> f64 {
    rows.iter().map(|r| r.end).fold(0.0, f64::max)
}

/// One run of the discrete-event loop with one priority rule: (rows, cascade flags).
pub fn run(
    w: &Workload,
    rule: PriorityRule,
    estimates: &[f64],
) -> Result<(Vec<Row>, usize), WorkloadError> {
    run_capped(w, rule, estimates, MAX_PHASE_RUNS)
}

/// [`run`], refusing a schedule of more than `cap` phase runs: re-checks can grow it to the
/// number of batches times the number of failed reviews.
fn run_capped(
    w: &Workload,
    rule: PriorityRule,
    estimates: &[f64],
    cap: usize,
) -> Result<(Vec<Row>, usize), WorkloadError> {
    let mut sched = Scheduler::new(w.plan(rule, Some(estimates)))?;
    // Cascade flags are only counted here: not one effect per flagged batch.
    sched.count_flags();
    let mut rows: Vec<Row> = Vec::new();
    let mut flags = 0;
    // (end, dispatch order) -> (phase, row)
    let mut pending: BinaryHeap<Reverse<(Time, usize)>> = BinaryHeap::new();
    let mut running: Vec<PhaseId> = Vec::new();
    let mut failed = vec![0u32; w.batches.len()];
    let mut effects = sched.step(Event::Tick { at: 0.0 });
    loop {
        for e in effects.drain(..) {
            let (agent, phase, at) = match e {
                Effect::Dispatch {
                    agent, phase, at, ..
                } => (Some(agent), phase, at),
                Effect::RunVerify { sync, at } => (None, PhaseId::Verify { sync }, at),
                Effect::FlagRecheck { .. } => {
                    flags += 1;
                    continue;
                }
                Effect::Notify { .. } => continue,
            };
            let end = at + w.duration(phase);
            let phase_name = match phase {
                PhaseId::Preamble { index } => w.preamble[index as usize].phase.as_str(),
                PhaseId::PlanMilestone { .. } => "plan",
                other => other.kind().as_str(),
            };
            rows.push(Row {
                agent,
                phase: phase_name.to_string(),
                batch: match phase {
                    PhaseId::Verify { sync } => Some(sync),
                    other => other.batch(),
                },
                milestone: phase.milestone(),
                start: at,
                end,
            });
            pending.push(Reverse((Time(end), running.len())));
            running.push(phase);
        }
        if rows.len() > cap {
            return Err(WorkloadError::Impossible(format!(
                "the schedule passed {cap} phase runs (re-checks after failed reviews); \
                 Leapfrog simulates at most {cap}"
            )));
        }
        let Some(&Reverse((Time(t), _))) = pending.peek() else {
            break;
        };
        let mut events = Vec::new();
        while let Some(&Reverse((Time(e), i))) = pending.peek() {
            if e != t {
                break;
            }
            pending.pop();
            events.push(match running[i] {
                PhaseId::Review { batch } => {
                    let f = &mut failed[batch as usize - 1];
                    if *f < w.batches[batch as usize - 1].review_fails {
                        *f += 1;
                        Event::ReviewFailed { batch, at: t }
                    } else {
                        Event::PhaseFinished {
                            phase: running[i],
                            at: t,
                        }
                    }
                }
                PhaseId::Verify { sync } => Event::VerifyFinished {
                    sync,
                    passed: true,
                    at: t,
                },
                phase => Event::PhaseFinished { phase, at: t },
            });
        }
        effects = sched.step_all(events);
    }
    if !sched.is_finished() {
        return Err(WorkloadError::Impossible(
            "the scheduler stalled before every batch was accepted".into(),
        ));
    }
    Ok((rows, flags + sched.counted_flags()))
}

/// A totally ordered time for the event queue.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Time(f64);
impl Eq for Time {}
impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Time {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// One row of the seed-style table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableRow {
    pub batches: usize,
    #[serde(serialize_with = "number")]
    pub sequential_minutes: f64,
    #[serde(serialize_with = "number")]
    pub parallel_minutes: f64,
    pub savings: f64,
    #[serde(serialize_with = "number")]
    pub lower_bound_minutes: f64,
}

impl From<&SimOutput> for TableRow {
    fn from(o: &SimOutput) -> TableRow {
        TableRow {
            batches: o.batches,
            sequential_minutes: o.sequential_minutes,
            parallel_minutes: o.parallel_minutes,
            savings: o.savings,
            lower_bound_minutes: o.lower_bound_minutes,
        }
    }
}

/// The seed's table: 3, 5 and 10 batches shaped like the workload's first batch.
pub fn seed_table(w: &Workload, opts: &SimOptions) -> Result<Vec<TableRow>, WorkloadError> {
    w.validate()?;
    [3, 5, 10]
        .into_iter()
        .map(|n| simulate(&w.with_batches_like_first(n), opts).map(|o| TableRow::from(&o)))
        .collect()
}

/// What milestones save (rule 9): the workload run one milestone after another (milestone m
/// planned by a `plan` phase once milestone m-1 is done, verified and all) against the same work
/// with `plan(m)` overlapping milestone m-1's builds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MilestoneTable {
    pub milestones: usize,
    pub batches: usize,
    pub one_after_another: TableRow,
    pub overlapped: TableRow,
    /// Parallel minutes saved by the overlap.
    #[serde(serialize_with = "number")]
    pub saved_minutes: f64,
}

/// The milestone table of a workload with two milestones or more; `None` otherwise.
pub fn milestone_table(
    w: &Workload,
    opts: &SimOptions,
) -> Result<Option<MilestoneTable>, WorkloadError> {
    w.validate()?;
    if w.milestones.len() < 2 {
        return Ok(None);
    }
    let overlapped = TableRow::from(&simulate(w, opts)?);
    let mut apart = TableRow {
        batches: w.batches.len(),
        sequential_minutes: 0.0,
        parallel_minutes: 0.0,
        savings: 0.0,
        lower_bound_minutes: 0.0,
    };
    let mut first = 0usize;
    for (k, m) in w.milestones.iter().enumerate() {
        let n = m.batches as usize;
        let mut part = w.clone();
        part.milestones = Vec::new();
        part.batches = w.batches[first..first + n].to_vec();
        first += n;
        if k > 0 {
            part.preamble = vec![super::workload::WorkloadPreamble {
                phase: crate::model::Role::Plan,
                minutes: m.plan,
            }];
        }
        let o = simulate(&part, opts)?;
        apart.sequential_minutes += o.sequential_minutes;
        apart.parallel_minutes += o.parallel_minutes;
        apart.lower_bound_minutes += o.lower_bound_minutes;
    }
    if apart.sequential_minutes > 0.0 {
        apart.savings = 1.0 - apart.parallel_minutes / apart.sequential_minutes;
    }
    Ok(Some(MilestoneTable {
        milestones: w.milestones.len(),
        batches: w.batches.len(),
        saved_minutes: apart.parallel_minutes - overlapped.parallel_minutes,
        one_after_another: apart,
        overlapped,
    }))
}

/// The milestone table for people, in the seed's shape, and what the overlap saves.
pub fn render_milestone_table(t: &MilestoneTable) -> String {
    let mut out = String::from(
        "| Phase | Sequential | Parallel | Savings | Lower bound |\n\
         |-------|------------|----------|---------|-------------|\n",
    );
    for (label, r) in [
        ("one after another", &t.one_after_another),
        ("plan(m) during milestone m-1", &t.overlapped),
    ] {
        out.push_str(&format!(
            "| {} milestones, {label} ({} batches) | {} min | {} min | {:.0}% | {} min |\n",
            t.milestones,
            t.batches,
            fmt_minutes(r.sequential_minutes),
            fmt_minutes(r.parallel_minutes),
            r.savings * 100.0,
            fmt_minutes(r.lower_bound_minutes),
        ));
    }
    let base = t.one_after_another.parallel_minutes;
    out.push_str(&format!(
        "\nPlanning each milestone while the one before is built saves {} min ({:.0}% of one after another).\n",
        fmt_minutes((t.saved_minutes * 10.0).round() / 10.0),
        if base > 0.0 { 100.0 * t.saved_minutes / base } else { 0.0 }
    ));
    out
}

/// Minutes for people: `12`, `12.5`.
pub fn fmt_minutes(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// The human table in the seed's shape.
pub fn render_table(rows: &[TableRow]) -> String {
    let mut out = String::from(
        "| Phase | Sequential | Parallel | Savings | Lower bound |\n\
         |-------|------------|----------|---------|-------------|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} batches | {} min | {} min | {:.0}% | {} min |\n",
            r.batches,
            fmt_minutes(r.sequential_minutes),
            fmt_minutes(r.parallel_minutes),
            r.savings * 100.0,
            fmt_minutes(r.lower_bound_minutes),
        ));
    }
    out
}

/// The human output of one simulation: the table row, then the schedule.
pub fn render(o: &SimOutput) -> String {
    let mut out = render_table(&[TableRow::from(o)]);
    out.push_str(&format!("\nSchedule (priority: {}):\n", o.priority));
    for r in &o.schedule {
        let what = match (r.batch, r.milestone) {
            (Some(b), _) => format!("{} {b}", r.phase),
            (None, Some(m)) => format!("{} (milestone {m})", r.phase),
            (None, None) => r.phase.clone(),
        };
        out.push_str(&format!(
            "  {:>7} - {:>7}  {:<12} {}\n",
            fmt_minutes(r.start),
            fmt_minutes(r.end),
            r.agent.as_deref().unwrap_or("(verify)"),
            what
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Re-checks are not known ahead: a schedule that grows past the cap while it runs is refused
    /// in words (a designer far ahead, every review failing: n²/2 re-checks).
    #[test]
    fn a_schedule_past_the_cap_is_refused() {
        let w = Workload::parse(
            &serde_json::json!({
                "agents": [
                    {"id": "d", "roles": ["design"]},
                    {"id": "r", "roles": ["review"]},
                    {"id": "b", "roles": ["build", "fix"]}
                ],
                "recheck": 0.01,
                "batches": vec![
                    serde_json::json!({"design": 0.01, "build": 20, "review": 1, "fix": 1, "review_fails": 3});
                    100
                ]
            })
            .to_string(),
        )
        .unwrap();
        let est = w.durations();
        let (rows, _) = run_capped(&w, PriorityRule::CriticalPath, &est, 100_000).unwrap();
        assert!(rows.len() > 4000, "{} rows", rows.len());
        let err = run_capped(&w, PriorityRule::CriticalPath, &est, 1000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "impossible workload: the schedule passed 1000 phase runs (re-checks after failed \
             reviews); Leapfrog simulates at most 1000"
        );
    }
}
