//! The pipeline scheduler: one pure core for the live app and the simulator.
//!
//! The contract is `shared/design/pipeline.md` (phases, roles, dependencies, workload file, output).
//!
//! # The core: `step(event) -> effects`
//!
//! [`Scheduler::new`]`(plan)` checks a [`Plan`] (agents with role sets, preamble, batches,
//! lookahead, sync interval, priority rule) and builds the state; [`Scheduler::step`]`(event)`
//! applies one [`Event`] and returns the [`Effect`]s to carry out. No IO, no clock: time is the
//! `at` every event carries. The state is `Serialize + Deserialize` (derived caches are skipped and
//! rebuilt), so the app persists it between runs and resumes identically.
//!
//! * Events: a phase finished (its duration, `at` minus its dispatch, teaches the estimator), a
//!   review failed, a verify finished (passed or failed), a phase failed (agent crash), an agent
//!   became idle / busy / offline, pause or resume a batch or an agent, skip, retry, re-order
//!   batches not yet started, time advanced (`Tick`, which also flags overdue phases).
//!   [`Scheduler::step_all`] applies simultaneous events before deciding once.
//! * Effects: dispatch a phase to an agent (with its estimate), run a verify (no agent), flag a
//!   batch for re-check (cascade), notify. Events that make no sense (finishing a phase that is not
//!   running, an unknown agent) are answered with a notification, never a panic.
//!
//! The live app feeds real events and executes effects on real agents; the simulator
//! ([`sim::simulate`]) is a discrete-event loop that feeds simulated ones: a phase finishes after
//! its workload duration, a batch's first `review_fails` reviews fail, verifies pass.
//!
//! # One general model, patterns as presets
//!
//! Any number of agents with any role sets ([`crate::model::Role`]); several agents may share a
//! role. Leapfrog, Pipeline and Specialist split are presets ([`Plan::preset`],
//! [`preset_agents`]); Leapfrog and Pipeline differ only in the default priority
//! ([`PriorityRule::default_for`]).
//!
//! # Priority
//!
//! Whenever an agent is free and a phase it can run is ready (every dependency of the contract
//! holds, and no hold applies), it gets one: the scheduler never idles an agent otherwise. Which
//! phase: the longest remaining path to the end (critical path) by duration estimates, over the
//! contract's dependency graph including lookahead, sync points and the expected review/fix
//! cycles. Estimates come from the plan when known (the simulator: the workload's durations, or
//! perturbed ones with `--estimate-noise`), else are learned per agent and phase kind as an
//! exponentially weighted mean ([`estimate`], weight 0.3 on the newest run), else defaults.
//! Rules ([`PriorityRule`]): `critical-path` (Pipeline: designs ahead first on ties),
//! `interleave` (Leapfrog: earliest batch first, critical path on ties, so a ready review of batch
//! 1 goes before the design of batch 3), `feed-idle` (first the phase that unlocks work for a role
//! with no ready phase), `critical-path-accept-first`. When several free agents can run a phase,
//! it goes to the one least useful for the other ready phases. The simulator by default runs
//! every rule and keeps the shortest schedule (the first rule on ties): deterministic, and each
//! candidate is a schedule of the same core.
//!
//! # Choices the contract leaves open
//!
//! * **Re-check**: a cascade flag is always an effect ([`Effect::FlagRecheck`]). When re-check
//!   tasks are on (simulator: `recheck > 0`), the flagged batch gets a `recheck` phase on a
//!   design-capable agent and its build waits for it. With `recheck` 0 the re-check rows are
//!   **omitted** (a 0-minute phase changes nothing); the JSON still counts the flags in
//!   `recheck_flags`. A batch flagged again while its re-check runs gets one more.
//! * **Verify rows**: with `sync_every = k > 0` every sync point has a `verify` row, even when
//!   `verify_minutes` is 0 (a 0-minute row); with `k` null or 0 only the final verify, and only if
//!   `verify_minutes > 0`.
//! * A `fix` with no `fix` duration lasts 0 minutes but still has its row; `qa` 0 means no qa.
//! * Rows are listed in dispatch order (by start time). Whole minutes print as integers.
//!
//! # The lower bound
//!
//! [`lower_bound`] is provable for any valid schedule (see [`bound`]): over the dependency graph
//! of every phase the workload must run (re-checks left out, they only add work), with
//! `head(j)`/`tail(j)` the longest chains before and after phase `j`,
//!
//! * the critical path `max head(j) + p(j) + tail(j)`;
//! * for every set `S` of agents and the phases `J` only agents of `S` can run: all phases of `J`
//!   with `head >= h` and `tail >= q` must run inside `[h, C - q]` on `|S|` agents, so
//!   `C >= h + q + sum p / |S|`, maximised over thresholds `h`, `q` (each agent's and each agent
//!   group's unavoidable load, with the time before its first and after its last possible phase);
//! * sync segments: the same load argument between consecutive verifies, chained (the group's
//!   phases leading to a verify end before it starts, those after it start after it ends).
//!
//! Both hold even with preemption.
//!
//! # Figures
//!
//! `cargo run --release -p leapfrog-engine --example scheduler_bench` (300 generated workloads:
//! two agents, specialist split, designer with two builders; 3 to 20 batches; review failures,
//! qa, lookahead, sync points, verify and re-check durations varied): makespan / lower bound mean
//! 1.032 (p50 1.024, p90 1.087, max 1.143) keeping the best rule; savings mean 28% (p90 44%). 1000 batches with 4 agents: one run of the core takes about
//! 3 ms with lookahead 2 and 2.5 ms with no lookahead limit; the core holds about 580 bytes per
//! batch.
//!
//! # Cost per event
//!
//! A decision costs about the logarithm of the project's size, whatever the shape: the core keeps
//! the ready phases sorted by priority and recomputes only the batches an event touched
//! (`scheduler/ready.rs`); with every estimate known (the simulator) a changed batch re-ranks only the
//! batches whose remaining paths change; a failed review finds the waiting builds it flags
//! without stepping over the built ones, and the simulator counts the flags instead of listing
//! them. `cargo run --release -p leapfrog-engine --example tickets_bench`: `leap simulate` of
//! 100 000 batches (2 agents, all 4 rules) in about 1 s, 2 s with every review failing once.
//! A workload has at most 100 000 batches and 5 000 000 phase runs
//! ([`workload::MAX_PHASE_RUNS`]).

pub mod bound;
mod core;
pub mod estimate;
pub mod plan;
mod ready;
pub mod sim;
pub mod workload;

pub use self::bound::lower_bound;
pub use self::core::{
    validate_plan, BatchStatus, Effect, Event, Minutes, PhaseId, PhaseKind, PhaseState, PlanError,
    Scheduler,
};
pub use self::plan::{
    preset_agents, AgentSpec, BatchSpec, Estimates, MilestoneSpec, Plan, PreambleSpec, PriorityRule,
};
pub use self::sim::{simulate, SimOptions, SimOutput};
pub use self::workload::{Workload, WorkloadError};
