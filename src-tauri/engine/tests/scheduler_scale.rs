//! Large workloads simulate in one pass: each event costs about the logarithm of the project's
//! size, not its size (a run of 100 000 batches, the most a workload may have, grew 4× per
//! doubling and did not finish in a minute). Each shape stresses one part: reviews piling up
//! behind a designer who designs ahead, failed reviews re-ranking the batches and flagging every
//! design ahead of the builder, a verify after every batch, independent builds for two builders.
//! The figures pin the schedules (the same as before the change, checked on 25 000 batches); speed
//! itself is measured by `cargo run --release -p leapfrog-engine --example tickets_bench`.

use leapfrog_engine::scheduler::{simulate, PriorityRule, SimOptions, Workload};
use serde_json::{json, Value};

/// `n` batches like `batch`, with `agents` and the pipeline's `knobs`.
fn workload(n: usize, agents: &Value, knobs: Value, batch: Value) -> Workload {
    let mut w = json!({ "agents": agents, "batches": vec![batch; n] });
    for (k, v) in knobs.as_object().unwrap() {
        w[k] = v.clone();
    }
    Workload::parse(&w.to_string()).unwrap()
}

fn two() -> Value {
    json!([
        {"id": "claude", "roles": ["discovery", "plan", "design", "review", "qa"]},
        {"id": "codex", "roles": ["build", "fix"]}
    ])
}

/// (shape, workload, rule, rows of three phase kinds, cascade flags, makespan in minutes)
type Case = (
    &'static str,
    Workload,
    PriorityRule,
    [(&'static str, usize); 3],
    usize,
    f64,
);

fn check(cases: Vec<Case>) {
    for (shape, w, rule, kinds, flags, makespan) in cases {
        let opts = SimOptions {
            priority: Some(rule),
            ..SimOptions::default()
        };
        let out = simulate(&w, &opts).unwrap();
        let count = |kind: &str| out.schedule.iter().filter(|r| r.phase == kind).count();
        for (kind, want) in kinds {
            assert_eq!(count(kind), want, "{shape}: {kind} rows");
        }
        assert_eq!(out.batches, w.batches.len(), "{shape}");
        assert_eq!(out.recheck_flags, flags, "{shape}: flags");
        assert_eq!(out.parallel_minutes, makespan, "{shape}: makespan");
        assert!(out.lower_bound_minutes <= makespan, "{shape}: bound");
        let sum: f64 = out.schedule.iter().map(|r| r.end - r.start).sum();
        assert_eq!(out.sequential_minutes, sum, "{shape}");
        assert!(
            out.schedule.windows(2).all(|p| p[0].start <= p[1].start),
            "{shape}: rows in dispatch order"
        );
    }
}

#[test]
fn a_hundred_thousand_batches_simulate() {
    let n = 100_000;
    check(vec![(
        "reviews wait while the designer designs ahead",
        workload(
            n,
            &two(),
            json!({}),
            json!({"design": 10, "build": 20, "review": 5}),
        ),
        PriorityRule::CriticalPath,
        [("design", n), ("build", n), ("review", n)],
        0,
        2_000_015.0,
    )]);
}

#[test]
fn large_workloads_of_every_shape_simulate() {
    let n = 25_000;
    let fails = json!({"design": 3, "build": 20, "review": 5, "fix": 4, "review_fails": 1});
    let four = json!([
        {"id": "designer", "roles": ["design"]},
        {"id": "reviewer", "roles": ["review", "qa"]},
        {"id": "b1", "roles": ["build", "fix"]},
        {"id": "b2", "roles": ["build", "fix"]}
    ]);
    check(vec![
        (
            // each failed review flags every design ahead of the builder: hundreds of millions
            // of flags, counted, not listed
            "every review fails once, designs far ahead",
            workload(n, &two(), json!({}), fails.clone()),
            PriorityRule::CriticalPath,
            [("review", 2 * n), ("fix", n), ("recheck", 0)],
            303_092_500,
            625_008.0,
        ),
        (
            "every review fails once, lookahead 2, re-checks",
            workload(n, &two(), json!({"recheck": 1, "lookahead": 2}), fails),
            PriorityRule::CriticalPath,
            [("review", 2 * n), ("fix", n), ("recheck", 8_333)],
            8_333,
            608_346.0,
        ),
        (
            "a verify after every batch",
            workload(
                n,
                &two(),
                json!({"sync_every": 1, "verify_minutes": 1, "lookahead": 1}),
                json!({"design": 10, "build": 20, "review": 5, "qa": 1}),
            ),
            PriorityRule::Interleave,
            [("verify", n), ("qa", n), ("build", n)],
            0,
            675_010.0,
        ),
        (
            "independent builds, two builders",
            workload(
                n,
                &four,
                json!({}),
                json!({"design": 2, "build": 30, "review": 3, "builds_after": []}),
            ),
            PriorityRule::FeedIdle,
            [("design", n), ("build", n), ("review", n)],
            0,
            375_008.0,
        ),
    ]);
}
