//! Property tests: random workloads, every rule of the contract checked on the produced schedule
//! by an independent checker (`scheduler/checker.rs`).

#[path = "scheduler/checker.rs"]
mod checker;

use checker::validate_schedule;
use leapfrog_engine::model::Role;
use leapfrog_engine::scheduler::workload::{
    WorkloadAgent, WorkloadBatch, WorkloadMilestone, WorkloadPreamble,
};
use leapfrog_engine::scheduler::{simulate, PriorityRule, SimOptions, Workload};
use proptest::prelude::*;

fn agent(id: &str, roles: &[Role]) -> WorkloadAgent {
    WorkloadAgent {
        id: id.into(),
        roles: roles.to_vec(),
    }
}

/// Agents: the three presets, two builders, or random role sets that still cover every role.
fn agents() -> impl Strategy<Value = Vec<WorkloadAgent>> {
    use Role::*;
    let all = Role::ALL.to_vec();
    prop_oneof![
        Just(vec![
            agent(
                "claude",
                &[Discovery, Requirements, Plan, Design, Review, Qa]
            ),
            agent("codex", &[Build, Fix]),
        ]),
        Just(vec![
            agent("designer", &[Discovery, Requirements, Plan, Design]),
            agent("reviewer", &[Review, Qa]),
            agent("builder", &[Build, Fix]),
        ]),
        Just(vec![
            agent(
                "designer",
                &[Discovery, Requirements, Plan, Design, Review, Qa]
            ),
            agent("builder1", &[Build, Fix]),
            agent("builder2", &[Build, Fix]),
        ]),
        (
            2usize..=4,
            proptest::collection::vec(proptest::collection::vec(0usize..8, 1..5), 4)
        )
            .prop_map(move |(count, sets)| {
                let mut out: Vec<WorkloadAgent> = (0..count)
                    .map(|i| {
                        let mut roles: Vec<Role> = sets[i].iter().map(|&r| all[r]).collect();
                        roles.sort();
                        roles.dedup();
                        agent(&format!("a{i}"), &roles)
                    })
                    .collect();
                // every role somewhere: give a missing role to agent (role index mod count).
                for (i, r) in all.iter().enumerate() {
                    if !out.iter().any(|a| a.roles.contains(r)) {
                        out[i % count].roles.push(*r);
                    }
                }
                out
            }),
    ]
}

fn minutes() -> impl Strategy<Value = f64> {
    prop_oneof![3 => (0u32..40).prop_map(f64::from), 1 => (0u32..80).prop_map(|h| h as f64 / 2.0)]
}

fn batch(index: usize) -> impl Strategy<Value = WorkloadBatch> {
    (
        (minutes(), minutes(), minutes()),
        prop_oneof![2 => Just(0.0), 1 => minutes()],
        minutes(),
        prop_oneof![3 => Just(0u32), 1 => 1u32..3],
        prop_oneof![
            3 => Just(None),
            1 => Just(Some(vec![])),
            1 => proptest::collection::vec(any::<bool>(), index).prop_map(|pick| {
                Some(pick.iter().enumerate().filter(|(_, &p)| p).map(|(i, _)| i as u32 + 1).collect())
            }),
        ],
    )
        .prop_map(|((design, build, review), qa, fix, review_fails, builds_after)| WorkloadBatch {
            design,
            build,
            review,
            qa,
            fix,
            review_fails,
            builds_after,
        })
}

fn workload() -> impl Strategy<Value = Workload> {
    (
        agents(),
        prop_oneof![Just(None), (0u32..4).prop_map(Some)],
        prop_oneof![Just(None), (0u32..5).prop_map(Some)],
        prop_oneof![Just(0.0), minutes()],
        prop_oneof![2 => Just(0.0), 1 => minutes()],
        proptest::collection::vec(
            (
                prop_oneof![
                    Just(Role::Discovery),
                    Just(Role::Requirements),
                    Just(Role::Plan)
                ],
                minutes(),
            ),
            0..4,
        ),
        1usize..9,
    )
        .prop_flat_map(
            |(agents, lookahead, sync_every, verify_minutes, recheck, pre, n)| {
                let batches: Vec<_> = (0..n).map(batch).collect();
                (
                    Just(agents),
                    Just(lookahead),
                    Just(sync_every),
                    Just(verify_minutes),
                    Just(recheck),
                    Just(pre),
                    batches,
                    milestones(n),
                )
            },
        )
        .prop_map(
            |(agents, lookahead, sync_every, verify_minutes, recheck, pre, batches, milestones)| {
                Workload {
                    agents,
                    lookahead,
                    sync_every,
                    verify_minutes,
                    recheck,
                    preamble: pre
                        .into_iter()
                        .map(|(phase, minutes)| WorkloadPreamble { phase, minutes })
                        .collect(),
                    batches,
                    milestones,
                }
            },
        )
}

/// Rule 9: none (one milestone), or the `n` batches cut into consecutive milestones, each after
/// the first with a `plan(m)` of random minutes.
fn milestones(n: usize) -> impl Strategy<Value = Vec<WorkloadMilestone>> {
    prop_oneof![
        1 => Just(Vec::new()),
        1 => (
            proptest::collection::vec(any::<bool>(), n - 1),
            proptest::collection::vec(minutes(), n),
        )
            .prop_map(move |(cuts, plans)| {
                let mut out = vec![WorkloadMilestone { batches: 1, plan: 0.0 }];
                for (i, cut) in cuts.into_iter().enumerate() {
                    if cut {
                        out.push(WorkloadMilestone { batches: 1, plan: plans[i + 1] });
                    } else {
                        out.last_mut().unwrap().batches += 1;
                    }
                }
                out
            }),
    ]
}

fn priority() -> impl Strategy<Value = Option<PriorityRule>> {
    prop_oneof![
        2 => Just(None),
        1 => proptest::sample::select(PriorityRule::ALL.to_vec()).prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn every_schedule_keeps_the_contract(
        w in workload(),
        rule in priority(),
        noise in prop_oneof![Just(0.0), 0.0f64..0.6],
        seed in any::<u64>(),
    ) {
        w.validate().expect("generated workloads are valid");
        let opts = SimOptions { estimate_noise: noise, seed, priority: rule };
        let out = simulate(&w, &opts).expect("valid workloads simulate");
        let json = serde_json::to_value(&out).unwrap();
        let violations = validate_schedule(&w, &json);
        prop_assert!(
            violations.is_empty(),
            "{violations:#?}\nworkload: {}\nschedule: {}",
            serde_json::to_string(&w).unwrap(),
            serde_json::to_string(&json["schedule"]).unwrap()
        );
        // determinism: the same input gives the same output.
        let again = serde_json::to_value(simulate(&w, &opts).unwrap()).unwrap();
        prop_assert_eq!(json, again);
    }

    #[test]
    fn the_workload_file_round_trips(w in workload()) {
        let text = serde_json::to_string(&w).unwrap();
        prop_assert_eq!(Workload::parse(&text).unwrap(), w);
    }
}

/// The checker itself catches broken schedules (so the property above can fail).
#[test]
fn the_checker_catches_violations() {
    let w = Workload::parse(
        r#"{"agents": [{"id": "a", "roles": ["design", "review"]}, {"id": "b", "roles": ["build"]}],
            "batches": [{"design": 10, "build": 20, "review": 5}, {"design": 10, "build": 20, "review": 5}]}"#,
    )
    .unwrap();
    let good = serde_json::to_value(simulate(&w, &SimOptions::default()).unwrap()).unwrap();
    assert_eq!(validate_schedule(&w, &good), Vec::<String>::new());
    type Break = fn(&mut serde_json::Value);
    let cases: [(&str, Break); 6] = [
        ("double-booked", |o| {
            // design(2) on agent a moved into design(1)'s time.
            o["schedule"][2]["start"] = 5.into();
            o["schedule"][2]["end"] = 15.into();
        }),
        ("lacks the role", |o| o["schedule"][0]["agent"] = "b".into()),
        ("runs 0 times", |o| {
            o["schedule"].as_array_mut().unwrap().remove(0);
        }),
        ("lasts", |o| o["schedule"][0]["end"] = 11.into()),
        ("lower bound", |o| o["lower_bound_minutes"] = 1000.into()),
        ("idle", |o| {
            // push the last review later: agent a idles while it is ready.
            let rows = o["schedule"].as_array_mut().unwrap();
            let last = rows.len() - 1;
            let (s, e) = (
                rows[last]["start"].as_f64().unwrap(),
                rows[last]["end"].as_f64().unwrap(),
            );
            rows[last]["start"] = (s + 3.0).into();
            rows[last]["end"] = (e + 3.0).into();
        }),
    ];
    for (needle, break_it) in cases {
        let mut bad = good.clone();
        break_it(&mut bad);
        let v = validate_schedule(&w, &bad);
        assert!(
            v.iter().any(|m| m.contains(needle)),
            "expected a violation containing {needle:?}, got {v:#?}"
        );
    }
}
