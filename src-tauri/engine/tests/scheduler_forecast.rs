//! The forecast finish the timeline shows: the scheduler's own state carried forward on its
//! estimates. When the estimates are the real durations and every review passes, the forecast
//! from any moment of a run is the run's real end.

use leapfrog_engine::scheduler::sim::{run, Row};
use leapfrog_engine::scheduler::{Event, PhaseId, PriorityRule, Scheduler, Workload};

fn phase_of(w: &Workload, row: &Row) -> PhaseId {
    let batch = row.batch.unwrap_or(0);
    match row.phase.as_str() {
        "design" => PhaseId::Design { batch },
        "build" => PhaseId::Build { batch },
        "review" => PhaseId::Review { batch },
        "fix" => PhaseId::Fix { batch },
        "qa" => PhaseId::Qa { batch },
        "recheck" => PhaseId::Recheck { batch },
        "verify" => PhaseId::Verify { sync: batch },
        preamble => PhaseId::Preamble {
            index: w
                .preamble
                .iter()
                .position(|p| p.phase.as_str() == preamble)
                .unwrap_or_else(|| panic!("no preamble phase {preamble}"))
                as u32,
        },
    }
}

/// Replays the simulated run of `workload` and checks the forecast before each moment a phase
/// ends, and at a moment inside each gap, against the run's real end.
fn check(workload: &str) {
    let w = Workload::parse(workload).unwrap();
    for rule in PriorityRule::ALL {
        let durations = w.durations();
        let (rows, _) = run(&w, rule, &durations).unwrap();
        let end = rows.iter().map(|r| r.end).fold(0.0, f64::max);
        let mut s = Scheduler::new(w.plan(rule, Some(&durations))).unwrap();
        s.step(Event::Tick { at: 0.0 });
        let mut ends: Vec<f64> = rows.iter().map(|r| r.end).collect();
        ends.sort_by(f64::total_cmp);
        ends.dedup();
        let mut last = 0.0;
        for t in ends {
            for at in [last, (last + t) / 2.0] {
                let got = s.forecast_finish(at).expect("a finishable run");
                assert!(
                    (got - end).abs() < 1e-9,
                    "{rule:?}: at {at} the forecast is {got}, the run ends at {end}"
                );
            }
            let events: Vec<Event> = rows
                .iter()
                .filter(|r| r.end == t)
                .map(|r| match phase_of(&w, r) {
                    PhaseId::Verify { sync } => Event::VerifyFinished {
                        sync,
                        passed: true,
                        at: t,
                    },
                    phase => Event::PhaseFinished { phase, at: t },
                })
                .collect();
            s.step_all(events);
            last = t;
        }
        assert!(s.is_finished(), "{rule:?}: the replay did not finish");
        // Later events move the scheduler's clock on; the run still ended at its end.
        s.step(Event::Tick { at: end + 5.0 });
        assert_eq!(
            s.forecast_finish(end + 6.0),
            Some(end),
            "{rule:?}: finished"
        );
    }
}

#[test]
fn forecast_from_any_moment_is_the_real_end_with_exact_estimates() {
    check(include_str!("scheduler/snapshots/seed_leapfrog.json"));
    check(include_str!(
        "scheduler/snapshots/two_builders_independent.json"
    ));
    check(
        r#"{
          "agents": [
            {"id": "designer", "roles": ["design"]},
            {"id": "reviewer", "roles": ["review", "qa"]},
            {"id": "builder", "roles": ["build", "fix"]}
          ],
          "lookahead": 1,
          "sync_every": 2,
          "verify_minutes": 0.5,
          "batches": [
            {"design": 3, "build": 6, "review": 2, "qa": 1.5},
            {"design": 2, "build": 9, "review": 2},
            {"design": 3, "build": 4, "review": 1, "qa": 1}
          ]
        }"#,
    );
}

#[test]
fn an_overdue_phase_is_expected_to_end_now_and_a_held_pipeline_has_no_forecast() {
    let w = Workload::parse(include_str!("scheduler/snapshots/seed_leapfrog.json")).unwrap();
    let durations = w.durations();
    let (rows, _) = run(&w, PriorityRule::Interleave, &durations).unwrap();
    let end = rows.iter().map(|r| r.end).fold(0.0, f64::max);
    let mut s = Scheduler::new(w.plan(PriorityRule::Interleave, Some(&durations))).unwrap();
    s.step(Event::Tick { at: 0.0 });
    // Discovery (10 min) is still running at 25: everything shifts by 15.
    assert_eq!(s.forecast_finish(25.0), Some(end + 15.0));
    // The builder paused: build(1) can never start.
    s.step(Event::PauseAgent {
        agent: "codex".into(),
        at: 1.0,
    });
    assert_eq!(s.forecast_finish(1.0), None);
}

#[test]
fn kinds_with_no_history_go_at_the_pace_the_finished_phases_set() {
    use leapfrog_engine::model::Pattern;
    use leapfrog_engine::scheduler::Plan;
    // The live case: no estimates in the plan, only the defaults and what the run teaches.
    let mut plan = Plan::preset(Pattern::Leapfrog, 3);
    plan.preamble.clear();
    let mut s = Scheduler::new(plan).unwrap();
    s.step(Event::Tick { at: 0.0 });
    let by_defaults = s.forecast_finish(0.0).unwrap();
    // design(1) took a twentieth of its default (10 min): everything else is expected to as well.
    s.step(Event::PhaseFinished {
        phase: PhaseId::Design { batch: 1 },
        at: 0.5,
    });
    let paced = s.forecast_finish(0.5).unwrap();
    let expect = 0.5 + (by_defaults - 10.0) / 20.0;
    assert!(
        (paced - expect).abs() < 1e-9,
        "by defaults {by_defaults}, paced {paced}, expected {expect}"
    );
}
