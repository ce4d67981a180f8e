//! The lower bound on hand-checked workloads: `check(workload, expected bound)`.

use leapfrog_engine::scheduler::{lower_bound, simulate, SimOptions, Workload};

fn check(input: &str, expect: f64) {
    let w = Workload::parse(input).unwrap();
    let bound = lower_bound(&w);
    assert_eq!(bound, expect, "{input}");
    let out = simulate(&w, &SimOptions::default()).unwrap();
    assert!(out.parallel_minutes >= bound);
}

#[test]
fn one_agent_does_everything_one_after_another() {
    // its load is every phase: 4 + 2*(10 + 20 + 5) + fix 8 + review 5 again = 87, plus the final
    // verify (3) after everything.
    check(
        r#"{"agents": [{"id": "solo", "roles": ["plan", "design", "build", "review", "fix"]}],
            "verify_minutes": 3,
            "preamble": [{"phase": "plan", "minutes": 4}],
            "batches": [{"design": 10, "build": 20, "review": 5, "fix": 8, "review_fails": 1},
                        {"design": 10, "build": 20, "review": 5}]}"#,
        90.0,
    );
}

#[test]
fn the_critical_path_when_agents_are_plentiful() {
    // two builders, independent batches: design chain 5+5+5, then the last build 30 and review 2
    // = 47; the designer's load (15 + 3 reviews of 2 = 21) is lower.
    check(
        r#"{"agents": [{"id": "d", "roles": ["design", "review"]},
                       {"id": "b1", "roles": ["build"]}, {"id": "b2", "roles": ["build"]},
                       {"id": "b3", "roles": ["build"]}],
            "batches": [{"design": 5, "build": 30, "review": 2},
                        {"design": 5, "build": 30, "review": 2, "builds_after": []},
                        {"design": 5, "build": 30, "review": 2, "builds_after": []}]}"#,
        47.0,
    );
}

#[test]
fn the_builders_load_with_the_time_before_and_after_it() {
    // one builder: nothing to build before design(1) ends (10), then 4 builds of 20, then at
    // least the last review (5): 10 + 80 + 5 = 95.
    check(
        r#"{"agents": [{"id": "a", "roles": ["design", "review"]}, {"id": "b", "roles": ["build"]}],
            "batches": [{"design": 10, "build": 20, "review": 5},
                        {"design": 10, "build": 20, "review": 5},
                        {"design": 10, "build": 20, "review": 5},
                        {"design": 10, "build": 20, "review": 5}]}"#,
        95.0,
    );
}

#[test]
fn sync_points_add_the_builders_unavoidable_waits() {
    // sync every batch: build(2) waits for verify(1), which waits for review(1). The builder's
    // phases of batch 2 start after verify(1) ends: 10 + 20 + 5 + 1 = 36, then build(2) 20,
    // review(2) 5 and verify(2) 1 = 62, which is also the critical path.
    check(
        r#"{"agents": [{"id": "a", "roles": ["design", "review"]}, {"id": "b", "roles": ["build"]}],
            "sync_every": 1, "verify_minutes": 1,
            "batches": [{"design": 10, "build": 20, "review": 5},
                        {"design": 10, "build": 20, "review": 5}]}"#,
        62.0,
    );
}

#[test]
fn sync_points_cut_the_builders_load_into_segments() {
    // one builder, independent builds, a sync point every 2 batches. Its load alone gives
    // 1 + 40 + 2 = 43 and the critical path less; but builds 1-2 end before review(2) and
    // verify(1) (>= 1 + 20 + 1 + 1 = 23), and builds 3-4 start after it: 23 + 20 + review 1 +
    // verify 1 = 45, which the scheduler reaches.
    check(
        r#"{"agents": [{"id": "a", "roles": ["design", "review"]}, {"id": "b", "roles": ["build"]}],
            "sync_every": 2, "verify_minutes": 1,
            "batches": [{"design": 1, "build": 10, "review": 1},
                        {"design": 1, "build": 10, "review": 1, "builds_after": []},
                        {"design": 1, "build": 10, "review": 1, "builds_after": []},
                        {"design": 1, "build": 10, "review": 1, "builds_after": []}]}"#,
        45.0,
    );
}
