//! The live app's use of the core: events in, effects out. Each test is a script of events (a
//! small language, one event a line) and the expected transcript of effects.

use leapfrog_engine::model::Pattern;
use leapfrog_engine::scheduler::{Effect, Estimates, Event, PhaseId, PhaseState, Plan, Scheduler};

fn phase(kind: &str, n: u32) -> PhaseId {
    match kind {
        "preamble" => PhaseId::Preamble { index: n },
        "design" => PhaseId::Design { batch: n },
        "build" => PhaseId::Build { batch: n },
        "review" => PhaseId::Review { batch: n },
        "fix" => PhaseId::Fix { batch: n },
        "qa" => PhaseId::Qa { batch: n },
        "recheck" => PhaseId::Recheck { batch: n },
        "verify" => PhaseId::Verify { sync: n },
        other => panic!("unknown phase kind {other}"),
    }
}

/// `tick AT`, `finish KIND N AT`, `fail review N AT`, `crash KIND N AT`, `verify M pass|fail AT`,
/// `idle|busy|offline AGENT AT`, `pause|resume batch N AT`, `pause|resume agent A AT`,
/// `skip|retry KIND N AT`, `reorder N N.. AT`.
fn parse(line: &str) -> Event {
    let w: Vec<&str> = line.split_whitespace().collect();
    let at: f64 = w.last().unwrap().parse().unwrap();
    let num = |i: usize| -> u32 { w[i].parse().unwrap() };
    match w[0] {
        "tick" => Event::Tick { at },
        "finish" => Event::PhaseFinished {
            phase: phase(w[1], num(2)),
            at,
        },
        "fail" => Event::ReviewFailed { batch: num(2), at },
        "crash" => Event::PhaseFailed {
            phase: phase(w[1], num(2)),
            reason: "agent exited".into(),
            at,
        },
        "verify" => Event::VerifyFinished {
            sync: num(1),
            passed: w[2] == "pass",
            at,
        },
        "idle" => Event::AgentIdle {
            agent: w[1].into(),
            at,
        },
        "busy" => Event::AgentBusy {
            agent: w[1].into(),
            at,
        },
        "offline" => Event::AgentOffline {
            agent: w[1].into(),
            at,
        },
        "pause" | "resume" => match (w[0], w[1]) {
            ("pause", "batch") => Event::PauseBatch { batch: num(2), at },
            ("resume", "batch") => Event::ResumeBatch { batch: num(2), at },
            ("pause", _) => Event::PauseAgent {
                agent: w[2].into(),
                at,
            },
            _ => Event::ResumeAgent {
                agent: w[2].into(),
                at,
            },
        },
        "skip" => Event::Skip {
            phase: phase(w[1], num(2)),
            at,
        },
        "retry" => Event::Retry {
            phase: phase(w[1], num(2)),
            at,
        },
        "reorder" => Event::Reorder {
            batches: w[1..w.len() - 1]
                .iter()
                .map(|x| x.parse().unwrap())
                .collect(),
            at,
        },
        other => panic!("unknown event {other}"),
    }
}

fn show(e: &Effect) -> String {
    match e {
        Effect::Dispatch {
            agent,
            phase,
            estimate,
            ..
        } => format!("  {phase} -> {agent} (est {estimate})"),
        Effect::RunVerify { sync, .. } => format!("  run verify({sync})"),
        Effect::FlagRecheck {
            batch,
            failed_batch,
            ..
        } => format!("  flag batch {batch} for re-check (review({failed_batch}) failed)"),
        Effect::Notify { message, .. } => format!("  notify: {message}"),
    }
}

/// Run the script against a fresh scheduler for `plan` and compare the transcript.
fn check(plan: Plan, script: &str, expect: &str) -> Scheduler {
    let mut s = Scheduler::new(plan).unwrap();
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        out.push_str(&format!("> {line}\n"));
        for e in s.step(parse(line)) {
            out.push_str(&show(&e));
            out.push('\n');
        }
    }
    let expect: String = expect
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            // the expect text is indented with the test; effects keep two spaces.
            let t = l.trim_start();
            if t.starts_with('>') {
                format!("{t}\n")
            } else {
                format!("  {t}\n")
            }
        })
        .collect();
    assert_eq!(out, expect, "transcript:\n{out}");
    s
}

/// Two agents (Leapfrog preset), no preamble, no lookahead limit, no verify.
fn leapfrog(batches: u32) -> Plan {
    let mut p = Plan::preset(Pattern::Leapfrog, batches);
    p.preamble.clear();
    p.lookahead = None;
    p.sync_every = None;
    p.verify = false;
    p
}

#[test]
fn leapfrog_keeps_both_agents_busy() {
    check(
        leapfrog(3),
        "tick 0
         finish design 1 10
         finish design 2 20
         finish build 1 25
         finish design 3 30",
        // build(1) took 15: build(2) is estimated 15.
        "> tick 0
           design(1) -> claude (est 10)
         > finish design 1 10
           build(1) -> codex (est 20)
           design(2) -> claude (est 10)
         > finish design 2 20
           design(3) -> claude (est 10)
         > finish build 1 25
           build(2) -> codex (est 15)
         > finish design 3 30
           review(1) -> claude (est 5)",
    );
}

#[test]
fn estimates_are_learned_per_agent_and_kind() {
    // design(1) took 30 (default 10): the next design is estimated 30, then 0.3*20 + 0.7*30 = 27.
    check(
        leapfrog(3),
        "tick 0
         finish design 1 30
         finish design 2 50",
        "> tick 0
           design(1) -> claude (est 10)
         > finish design 1 30
           build(1) -> codex (est 20)
           design(2) -> claude (est 30)
         > finish design 2 50
           design(3) -> claude (est 27)",
    );
}

#[test]
fn failed_review_runs_a_fix_then_the_review_again_and_flags_later_batches() {
    check(
        leapfrog(3),
        "tick 0
         finish design 1 10
         finish design 2 20
         finish build 1 30
         finish design 3 30
         fail review 1 35
         finish recheck 3 38
         finish build 2 50
         finish review 2 55
         finish fix 1 58
         finish review 1 63
         finish build 3 78",
        "> tick 0
           design(1) -> claude (est 10)
         > finish design 1 10
           build(1) -> codex (est 20)
           design(2) -> claude (est 10)
         > finish design 2 20
           design(3) -> claude (est 10)
         > finish build 1 30
           build(2) -> codex (est 20)
         > finish design 3 30
           review(1) -> claude (est 5)
         > fail review 1 35
           flag batch 3 for re-check (review(1) failed)
           recheck(3) -> claude (est 3)
         > finish recheck 3 38
         > finish build 2 50
           fix(1) -> codex (est 8)
           review(2) -> claude (est 5)
         > finish review 2 55
         > finish fix 1 58
           review(1) -> claude (est 5)
           build(3) -> codex (est 20)
         > finish review 1 63
         > finish build 3 78
           review(3) -> claude (est 5)",
    );
}

#[test]
fn paused_batch_and_paused_agent_get_no_work() {
    check(
        leapfrog(2),
        "pause agent codex 0
         pause batch 2 0
         finish design 1 10
         resume agent codex 11
         resume batch 2 12",
        "> pause agent codex 0
           design(1) -> claude (est 10)
         > pause batch 2 0
         > finish design 1 10
         > resume agent codex 11
           build(1) -> codex (est 20)
         > resume batch 2 12
           design(2) -> claude (est 10)",
    );
}

#[test]
fn offline_agent_returns_its_phase_to_the_queue() {
    check(
        leapfrog(2),
        "tick 0
         finish design 1 10
         offline codex 12
         idle codex 20",
        "> tick 0
           design(1) -> claude (est 10)
         > finish design 1 10
           build(1) -> codex (est 20)
           design(2) -> claude (est 10)
         > offline codex 12
           notify: agent `codex` went offline; build(1) goes back to the queue
         > idle codex 20
           build(1) -> codex (est 20)",
    );
}

#[test]
fn crashed_phase_waits_for_retry_and_skip_marks_done() {
    check(
        leapfrog(1),
        "tick 0
         crash design 1 3
         retry design 1 5
         skip build 1 6
         finish design 1 15
         retry build 1 16",
        "> tick 0
           design(1) -> claude (est 10)
         > crash design 1 3
           notify: design(1) failed: agent exited; held until retried
         > retry design 1 5
           design(1) -> claude (est 10)
         > skip build 1 6
           notify: build(1) skipped
         > finish design 1 15
           review(1) -> claude (est 5)
         > retry build 1 16
           notify: ignored: build(1) has not failed, nothing to retry",
    );
}

#[test]
fn failed_verify_holds_later_builds_until_retried() {
    let mut p = leapfrog(2);
    p.sync_every = Some(1);
    p.verify = true;
    check(
        p,
        "tick 0
         finish design 1 10
         finish design 2 20
         finish build 1 30
         finish review 1 35
         verify 1 fail 37
         retry verify 1 40
         verify 1 pass 42",
        "> tick 0
           design(1) -> claude (est 10)
         > finish design 1 10
           build(1) -> codex (est 20)
           design(2) -> claude (est 10)
         > finish design 2 20
         > finish build 1 30
           review(1) -> claude (est 5)
         > finish review 1 35
           run verify(1)
         > verify 1 fail 37
           notify: verify(1) failed: later builds wait until it is retried or skipped
         > retry verify 1 40
           run verify(1)
         > verify 1 pass 42
           build(2) -> codex (est 20)",
    );
}

#[test]
fn reorder_moves_batches_not_started() {
    check(
        leapfrog(4),
        "reorder 4 3 0
         tick 0
         finish design 1 10
         finish design 2 20
         reorder 2 3 21
         reorder 5 22",
        "> reorder 4 3 0
           design(1) -> claude (est 10)
         > tick 0
         > finish design 1 10
           build(1) -> codex (est 20)
           design(2) -> claude (est 10)
         > finish design 2 20
           design(4) -> claude (est 10)
         > reorder 2 3 21
           notify: ignored re-order: batch 2 has started
         > reorder 5 22
           notify: ignored re-order: unknown batch 5",
    );
}

#[test]
fn bad_events_are_notified_not_fatal() {
    check(
        leapfrog(1),
        "tick 0
         finish build 1 1
         idle nobody 2
         pause batch 9 3
         fail review 1 4
         skip design 1 5
         tick 30",
        "> tick 0
           design(1) -> claude (est 10)
         > finish build 1 1
           notify: ignored: build(1) is not running
         > idle nobody 2
           notify: ignored: unknown agent `nobody`
         > pause batch 9 3
           notify: ignored: unknown batch 9
         > fail review 1 4
           notify: ignored: review(1) is not running
         > skip design 1 5
           notify: ignored: design(1) is running; stop its agent first
         > tick 30
           notify: design(1) is overdue (more than twice its estimate of 10 min)",
    );
}

#[test]
fn state_persists_and_resumes_identically() {
    let script = [
        "tick 0",
        "finish design 1 10",
        "finish design 2 20",
        "finish build 1 30",
        "finish design 3 30",
        "fail review 1 35",
    ];
    let rest = [
        "finish recheck 3 38",
        "finish build 2 50",
        "finish review 2 55",
        "finish fix 1 58",
        "finish review 1 63",
    ];
    let mut a = Scheduler::new(leapfrog(3)).unwrap();
    for l in script {
        a.step(parse(l));
    }
    let saved = serde_json::to_string(&a).unwrap();
    let mut b: Scheduler = serde_json::from_str(&saved).unwrap();
    let mut dispatched = 0;
    for l in rest {
        let effects = a.step(parse(l));
        dispatched += effects
            .iter()
            .filter(|e| matches!(e, Effect::Dispatch { .. }))
            .count();
        assert_eq!(effects, b.step(parse(l)), "after {l}");
    }
    assert_eq!(dispatched, 4, "fix(1), review(2), review(1), build(3)");
    // what the UI reads: batch 1 accepted after one failed review, build(3) running on codex.
    let status = b.batch_status();
    assert_eq!(
        (
            status[0].accepted,
            status[0].reviews_failed,
            status[0].fix_pending
        ),
        (true, 1, false)
    );
    assert_eq!(status[2].build, PhaseState::Running);
    assert_eq!(
        b.running(),
        [("codex".to_string(), PhaseId::Build { batch: 3 })]
    );
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

mod random_events {
    //! Any sequence of events, sensible or not, is answered without a panic, and the effects keep
    //! the rules: a dispatched agent has the phase's role and is not already running something.

    use super::*;
    use leapfrog_engine::model::Role;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn any_phase() -> impl Strategy<Value = PhaseId> {
        (0usize..8, 0u32..6).prop_map(|(k, n)| {
            let kinds = [
                "preamble", "design", "build", "review", "fix", "qa", "recheck", "verify",
            ];
            phase(kinds[k], n)
        })
    }

    fn any_agent() -> impl Strategy<Value = String> {
        proptest::sample::select(vec!["claude", "codex", "designer", "builder", "nobody"])
            .prop_map(String::from)
    }

    fn any_event() -> impl Strategy<Value = (u8, PhaseId, String, u32, bool, Vec<u32>)> {
        (
            0u8..16,
            any_phase(),
            any_agent(),
            0u32..6,
            any::<bool>(),
            proptest::collection::vec(0u32..6, 0..4),
        )
    }

    fn event(
        at: f64,
        (k, phase, agent, batch, flag, order): (u8, PhaseId, String, u32, bool, Vec<u32>),
    ) -> Event {
        match k {
            0 => Event::Tick { at },
            1..=4 => Event::PhaseFinished { phase, at },
            5 => Event::ReviewFailed { batch, at },
            6 => Event::VerifyFinished {
                sync: batch,
                passed: flag,
                at,
            },
            7 => Event::PhaseFailed {
                phase,
                reason: "x".into(),
                at,
            },
            8 => Event::AgentIdle { agent, at },
            9 => Event::AgentBusy { agent, at },
            10 => Event::AgentOffline { agent, at },
            11 if flag => Event::PauseBatch { batch, at },
            11 => Event::ResumeBatch { batch, at },
            12 if flag => Event::PauseAgent { agent, at },
            12 => Event::ResumeAgent { agent, at },
            13 => Event::Skip { phase, at },
            14 => Event::Retry { phase, at },
            _ => Event::Reorder { batches: order, at },
        }
    }

    /// `known`: every estimate is in the plan, as in the simulator (review failures expected too),
    /// so the remaining paths are updated by propagation instead of a full pass.
    fn plan(
        pattern: u8,
        batches: u32,
        lookahead: Option<u32>,
        sync: Option<u32>,
        known: bool,
    ) -> Plan {
        let pattern = [Pattern::Leapfrog, Pattern::Pipeline, Pattern::Specialist][pattern as usize];
        let mut p = Plan::preset(pattern, batches);
        p.lookahead = lookahead;
        p.sync_every = sync;
        if known {
            for (i, b) in p.batches.iter_mut().enumerate() {
                let m = |x: usize| Some(((i * 7 + x * 3) % 5) as f64);
                b.estimates = Estimates {
                    design: m(1),
                    build: m(2),
                    review: m(3),
                    fix: m(4),
                    qa: m(5),
                };
                b.expected_review_fails = (i % 3) as u32;
                b.qa = i % 2 == 0;
            }
            p.verify_estimate = Some(1.0);
            p.recheck_estimate = Some(2.0);
        }
        p
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn no_panic_and_dispatches_keep_the_rules(
            pattern in 0u8..3,
            batches in 0u32..5,
            lookahead in proptest::option::of(0u32..3),
            sync in proptest::option::of(0u32..3),
            events in proptest::collection::vec((0.0f64..5.0, any_event()), 0..60),
            // feed the dispatched phases back as finished, so runs get far.
            echo in any::<bool>(),
            known in any::<bool>(),
        ) {
            let plan = plan(pattern, batches, lookahead, sync, known);
            let roles: HashMap<String, Vec<Role>> =
                plan.agents.iter().map(|a| (a.id.clone(), a.roles.clone())).collect();
            let preamble: Vec<Role> = plan.preamble.iter().map(|p| p.role).collect();
            let mut s = Scheduler::new(plan).unwrap();
            let mut at = 0.0;
            let mut pending: Vec<PhaseId> = Vec::new();
            for (dt, e) in events {
                at += dt;
                let mut input = vec![event(at, e)];
                if echo {
                    if let Some(p) = pending.pop() {
                        input.push(Event::PhaseFinished { phase: p, at });
                    }
                }
                for ev in input {
                    let effects = s.step(ev);
                    // what the scheduler says runs now is the truth for the next check.
                    let running: HashMap<String, PhaseId> = s.running().into_iter().collect();
                    let mut phases: Vec<PhaseId> = running.values().copied().collect();
                    phases.sort_by_key(|p| format!("{p}"));
                    phases.dedup();
                    prop_assert_eq!(phases.len(), running.len(), "a phase runs on two agents");
                    let mut dispatched = std::collections::HashSet::new();
                    for eff in &effects {
                        if let Effect::Dispatch { agent, phase, .. } = eff {
                            let need = match phase {
                                PhaseId::Preamble { index } => preamble[*index as usize],
                                PhaseId::Design { .. } | PhaseId::Recheck { .. } => Role::Design,
                                PhaseId::Build { .. } => Role::Build,
                                PhaseId::Review { .. } => Role::Review,
                                PhaseId::Fix { .. } => Role::Fix,
                                PhaseId::Qa { .. } => Role::Qa,
                                PhaseId::PlanMilestone { .. } => Role::Plan,
                                PhaseId::Verify { .. } => panic!("verify dispatched to an agent"),
                            };
                            prop_assert!(roles[agent].contains(&need), "{agent} cannot run {phase}");
                            prop_assert_eq!(running.get(agent), Some(phase), "{} runs something else", agent);
                            prop_assert!(dispatched.insert(agent.clone()), "{} given two phases at once", agent);
                            pending.push(*phase);
                        }
                    }
                }
            }
            // the state always round-trips.
            let json = serde_json::to_string(&s).unwrap();
            let back: Scheduler = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
        }
    }
}

#[test]
fn a_failed_review_without_a_fixer_is_notified() {
    let mut plan = leapfrog(1);
    plan.agents[1].roles = vec![leapfrog_engine::model::Role::Build];
    check(
        plan,
        "tick 0
         finish design 1 10
         finish build 1 30
         fail review 1 35",
        "> tick 0
           design(1) -> claude (est 10)
         > finish design 1 10
           build(1) -> codex (est 20)
         > finish build 1 30
           review(1) -> claude (est 5)
         > fail review 1 35
           notify: review(1) failed but no agent has the `fix` role",
    );
}
