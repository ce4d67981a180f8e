//! Rule 9 of the contract (milestones): the workload's `milestones`, the `plan(m)` phases the
//! scheduler runs, their rows in the output, and the lower bound.

#[path = "scheduler/checker.rs"]
mod checker;

use leapfrog_engine::scheduler::{lower_bound, simulate, SimOptions, Workload};
use serde_json::{json, Value};

/// Two agents (Leapfrog's), a two-phase preamble, four equal batches, and the given milestones.
fn workload(milestones: Value) -> Value {
    json!({
        "agents": [
            {"id": "claude", "roles": ["discovery", "plan", "design", "review", "qa"]},
            {"id": "codex", "roles": ["build", "fix"]}
        ],
        "preamble": [{"phase": "discovery", "minutes": 10}, {"phase": "plan", "minutes": 5}],
        "milestones": milestones,
        "batches": [
            {"design": 10, "build": 20, "review": 5},
            {"design": 10, "build": 20, "review": 5},
            {"design": 10, "build": 20, "review": 5},
            {"design": 10, "build": 20, "review": 5}
        ]
    })
}

fn run(w: &Value) -> Value {
    let w = Workload::parse(&w.to_string()).unwrap();
    let out = serde_json::to_value(simulate(&w, &SimOptions::default()).unwrap()).unwrap();
    let violations = checker::validate_schedule(&w, &out);
    assert!(violations.is_empty(), "{violations:#?}");
    out
}

/// The row of `phase` for `batch` (or, with `milestone`, of plan(milestone)).
fn row<'a>(out: &'a Value, phase: &str, batch: Option<u64>, milestone: Option<u64>) -> &'a Value {
    out["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["phase"] == phase
                && r["batch"].as_u64() == batch
                && r.get("milestone").and_then(Value::as_u64) == milestone
        })
        .unwrap_or_else(|| panic!("no {phase} {batch:?} {milestone:?} row"))
}

fn span(r: &Value) -> (f64, f64) {
    (r["start"].as_f64().unwrap(), r["end"].as_f64().unwrap())
}

#[test]
fn workload_milestones_parse_or_fail_in_words() {
    // (milestones, None: valid / Some(part of the error))
    let cases: &[(Value, Option<&str>)] = &[
        (json!([{"batches": 4}]), None),
        (json!([{"batches": 2}, {"batches": 2, "plan": 8}]), None),
        (
            json!([{"batches": 1}, {"batches": 1}, {"batches": 2, "plan": 3}]),
            None,
        ),
        (json!([]), None),
        (
            json!([{"batches": 3}, {"batches": 2, "plan": 8}]),
            Some("milestones hold 3 + 2 = 5 batches, but there are 4 batches"),
        ),
        (
            json!([{"batches": 1}, {"batches": 2}]),
            Some("milestones hold 1 + 2 = 3 batches, but there are 4 batches"),
        ),
        (
            json!([{"batches": 2}, {"batches": 2, "plans": 8}]),
            Some("unknown field `plans`"),
        ),
        (
            json!([{"batches": 4}, {"batches": 0, "plan": 1}]),
            Some("milestone 2 has no batches"),
        ),
        (
            json!([{"batches": 2}, {"batches": 2, "plan": -1}]),
            Some("negative duration: plan(2) (milestone 2) is -1 minutes"),
        ),
        (json!([{"plan": 3}]), Some("missing field `batches`")),
    ];
    for (milestones, expect) in cases {
        let text = workload(milestones.clone()).to_string();
        match (Workload::parse(&text), expect) {
            (Ok(_), None) => {}
            (Err(e), Some(part)) => assert!(
                e.to_string().contains(part),
                "{milestones}: `{e}` does not contain `{part}`"
            ),
            (got, _) => panic!("{milestones}: expected {expect:?}, got {got:?}"),
        }
    }
    // plan(m) needs an agent with the `plan` role.
    let mut w = workload(json!([{"batches": 2}, {"batches": 2, "plan": 8}]));
    w["agents"][0]["roles"] = json!(["design", "review"]);
    w["preamble"] = json!([]);
    let err = Workload::parse(&w.to_string()).unwrap_err().to_string();
    assert_eq!(
        err,
        "no agent can run plan(2) (no agent has the `plan` role)"
    );
}

#[test]
fn one_milestone_changes_nothing() {
    let plain = {
        let mut w = workload(json!(null));
        w.as_object_mut().unwrap().remove("milestones");
        run(&w)
    };
    assert_eq!(run(&workload(json!([{"batches": 4, "plan": 99}]))), plain);
    assert_eq!(run(&workload(json!([]))), plain);
}

#[test]
fn plan_waits_for_the_previous_plan_and_the_last_design_and_overlaps_builds() {
    let out = run(&workload(
        json!([{"batches": 2}, {"batches": 2, "plan": 8}]),
    ));
    let plan = row(&out, "plan", None, Some(2));
    let (ps, pe) = span(plan);
    assert_eq!(pe - ps, 8.0);
    assert_eq!(plan["agent"], "claude");
    // after the preamble's plan and design(2), the last design of milestone 1.
    let (_, preamble_plan_end) = span(row(&out, "plan", None, None));
    let (_, d2_end) = span(row(&out, "design", Some(2), None));
    assert!(ps >= preamble_plan_end && ps >= d2_end, "{plan}");
    // design(3), the first of milestone 2, after plan(2); design(2) never waits for it.
    let (d3_start, _) = span(row(&out, "design", Some(3), None));
    assert!(d3_start >= pe, "{out}");
    // plan(2) runs while codex builds milestone 1.
    let (b1s, b1e) = span(row(&out, "build", Some(1), None));
    assert!(
        ps < b1e && b1s < pe,
        "plan(2) {ps}..{pe} and build(1) {b1s}..{b1e}"
    );
    // sequential time counts plan(2).
    let total: f64 = 10.0 + 5.0 + 4.0 * 35.0 + 8.0;
    assert_eq!(out["sequential_minutes"], total);
    let par = out["parallel_minutes"].as_f64().unwrap();
    assert!(out["lower_bound_minutes"].as_f64().unwrap() <= par);
}

#[test]
fn plan_rows_name_their_milestone_and_no_batch() {
    let out = run(&workload(json!([
        {"batches": 1}, {"batches": 2, "plan": 3}, {"batches": 1, "plan": 4}
    ])));
    let rows = out["schedule"].as_array().unwrap();
    let plans: Vec<&Value> = rows
        .iter()
        .filter(|r| r.get("milestone").is_some())
        .collect();
    assert_eq!(plans.len(), 2, "{out}");
    for (r, m) in plans.iter().zip([2, 3]) {
        let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["agent", "batch", "end", "milestone", "phase", "start"],
            "{r}"
        );
        assert_eq!(r["phase"], "plan");
        assert_eq!(r["batch"], Value::Null);
        assert_eq!(r["milestone"], m);
    }
    // plan(3) after plan(2); other rows have no `milestone` key.
    assert!(span(plans[1]).0 >= span(plans[0]).1);
    assert!(rows
        .iter()
        .filter(|r| r["phase"] != "plan")
        .all(|r| r.get("milestone").is_none()));
}

#[test]
fn without_a_preamble_plan_two_waits_only_for_the_design() {
    let mut w = workload(json!([{"batches": 3}, {"batches": 1, "plan": 6}]));
    w["preamble"] = json!([]);
    let out = run(&w);
    let (ps, pe) = span(row(&out, "plan", None, Some(2)));
    let (_, d3_end) = span(row(&out, "design", Some(3), None));
    assert_eq!(ps, d3_end, "{out}");
    assert!(span(row(&out, "design", Some(4), None)).0 >= pe);
}

#[test]
fn the_bound_counts_plans_on_the_path_and_in_the_planners_load() {
    // (workload, expected bound). One agent does everything: its load is every phase.
    let solo = json!({
        "agents": [{"id": "solo", "roles": ["plan", "design", "build", "review"]}],
        "milestones": [{"batches": 1}, {"batches": 1, "plan": 7}],
        "batches": [{"design": 10, "build": 20, "review": 5},
                    {"design": 10, "build": 20, "review": 5}]
    });
    // plenty of builders, independent batches: the path design(1) 1, plan(2) 30, design(2) 1,
    // build(2) 10, review(2) 1 = 43.
    let path = json!({
        "agents": [{"id": "d", "roles": ["plan", "design", "review"]},
                   {"id": "b1", "roles": ["build"]}, {"id": "b2", "roles": ["build"]}],
        "milestones": [{"batches": 1}, {"batches": 1, "plan": 30}],
        "batches": [{"design": 1, "build": 10, "review": 1},
                    {"design": 1, "build": 10, "review": 1, "builds_after": []}]
    });
    for (w, expect) in [(solo, 77.0), (path, 43.0)] {
        let parsed = Workload::parse(&w.to_string()).unwrap();
        assert_eq!(lower_bound(&parsed), expect, "{w}");
        let out = run(&w);
        assert!(out["parallel_minutes"].as_f64().unwrap() >= expect);
    }
}

#[test]
fn the_milestone_table_compares_one_after_another_with_planning_during_the_builds() {
    use leapfrog_engine::scheduler::sim::{milestone_table, render_milestone_table};
    let w =
        Workload::parse(&workload(json!([{"batches": 2}, {"batches": 2, "plan": 8}])).to_string())
            .unwrap();
    let t = milestone_table(&w, &SimOptions::default())
        .unwrap()
        .expect("a table");
    assert_eq!((t.milestones, t.batches), (2, 4));
    // The same work either way (the overlapped run has one verify fewer at most).
    assert!(t.one_after_another.sequential_minutes >= t.overlapped.sequential_minutes);
    // One after another: milestone 1 alone (with the preamble), then plan(2) and milestone 2
    // alone, each simulated on its own.
    let half = |preamble: Value| {
        let mut w = workload(json!([]));
        w["preamble"] = preamble;
        w["batches"] = json!([
            {"design": 10, "build": 20, "review": 5},
            {"design": 10, "build": 20, "review": 5}
        ]);
        w.as_object_mut().unwrap().remove("milestones");
        run(&w)["parallel_minutes"].as_f64().unwrap()
    };
    let apart =
        half(json!([{"phase": "discovery", "minutes": 10}, {"phase": "plan", "minutes": 5}]))
            + half(json!([{"phase": "plan", "minutes": 8}]));
    assert_eq!(t.one_after_another.parallel_minutes, apart);
    let joint = run(&workload(
        json!([{"batches": 2}, {"batches": 2, "plan": 8}]),
    ));
    assert_eq!(
        t.overlapped.parallel_minutes,
        joint["parallel_minutes"].as_f64().unwrap()
    );
    assert!(t.saved_minutes > 0.0, "{t:?}");
    assert_eq!(t.saved_minutes, apart - t.overlapped.parallel_minutes);
    let text = render_milestone_table(&t);
    assert!(text.starts_with("| Phase | Sequential | Parallel | Savings | Lower bound |\n"));
    assert!(
        text.contains("| 2 milestones, one after another (4 batches) |"),
        "{text}"
    );
    assert!(
        text.contains("| 2 milestones, plan(m) during milestone m-1 (4 batches) |"),
        "{text}"
    );
    assert!(
        text.contains("Planning each milestone while the one before is built saves"),
        "{text}"
    );
    // One milestone: no such table.
    let one = Workload::parse(&workload(json!([{"batches": 4}])).to_string()).unwrap();
    assert!(milestone_table(&one, &SimOptions::default())
        .unwrap()
        .is_none());
}
