//! Snapshot tests of small schedules: `tests/scheduler/snapshots/NAME.json` is simulated and its
//! human output compared with `NAME.expect` (`UPDATE_EXPECT=1` rewrites the expect files), plus one
//! test per pattern showing the seed's overlap, checked on inline schedules.

#[path = "scheduler/checker.rs"]
mod checker;

use std::path::PathBuf;

use leapfrog_engine::model::Pattern;
use leapfrog_engine::scheduler::sim::{render, Row};
use leapfrog_engine::scheduler::{preset_agents, simulate, PriorityRule, SimOptions, Workload};

fn snapshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/scheduler/snapshots")
}

/// Simulate the fixture `name` and compare its human output with `name.expect`; also run the
/// independent checker over it.
fn check_file(name: &str) {
    let dir = snapshot_dir();
    let input = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
    let w = Workload::parse(&input).unwrap();
    let out = simulate(&w, &SimOptions::default()).unwrap();
    let violations = checker::validate_schedule(&w, &serde_json::to_value(&out).unwrap());
    assert!(violations.is_empty(), "{name}: {violations:#?}");
    let actual = render(&out);
    let expect_path = dir.join(format!("{name}.expect"));
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&expect_path, &actual).unwrap();
        return;
    }
    let expect = std::fs::read_to_string(&expect_path).unwrap_or_else(|_| {
        panic!(
            "missing {}: run with UPDATE_EXPECT=1",
            expect_path.display()
        )
    });
    assert_eq!(
        actual, expect,
        "{name}: schedule changed (UPDATE_EXPECT=1 to accept)\n{actual}"
    );
}

#[test]
fn seed_leapfrog() {
    check_file("seed_leapfrog");
}

#[test]
fn review_fails_cascade() {
    check_file("review_fails_cascade");
}

#[test]
fn two_builders_independent() {
    check_file("two_builders_independent");
}

#[test]
fn lookahead_zero_sync_one() {
    check_file("lookahead_zero_sync_one");
}

/// One line per row, by start then agent: `start-end agent phase(batch)`.
fn compact(rows: &[Row]) -> String {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.agent.cmp(&b.agent)));
    rows.iter()
        .map(|r| {
            let what = match r.batch {
                Some(b) => format!("{}({b})", r.phase),
                None => r.phase.clone(),
            };
            format!(
                "{}-{} {} {what}\n",
                r.start,
                r.end,
                r.agent.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

/// Simulate `pattern`'s agents and default priority on 3 batches (design 15, build 10, review 5;
/// no lookahead limit, no verify) and compare the schedule with `expect`.
fn check_pattern(pattern: Pattern, expect: &str) -> Vec<Row> {
    let agents = serde_json::to_string(&preset_agents(pattern)).unwrap();
    let input = format!(
        r#"{{"agents": {agents}, "batches": [
            {{"design": 15, "build": 10, "review": 5}},
            {{"design": 15, "build": 10, "review": 5}},
            {{"design": 15, "build": 10, "review": 5}}]}}"#
    );
    let w = Workload::parse(&input).unwrap();
    let opts = SimOptions {
        priority: Some(PriorityRule::default_for(pattern)),
        ..SimOptions::default()
    };
    let out = simulate(&w, &opts).unwrap();
    let violations = checker::validate_schedule(&w, &serde_json::to_value(&out).unwrap());
    assert!(violations.is_empty(), "{violations:#?}");
    assert_eq!(compact(&out.schedule), expect);
    out.schedule
}

fn find<'a>(rows: &'a [Row], phase: &str, batch: u32) -> &'a Row {
    rows.iter()
        .find(|r| r.phase == phase && r.batch == Some(batch))
        .unwrap()
}

/// The designer is on design(2) while the builder is on build(1).
fn assert_overlap(rows: &[Row], designer: &str, builder: &str) {
    let d2 = find(rows, "design", 2);
    let b1 = find(rows, "build", 1);
    assert_eq!(d2.agent.as_deref(), Some(designer));
    assert_eq!(b1.agent.as_deref(), Some(builder));
    assert!(
        d2.start < b1.end && b1.start < d2.end,
        "design(2) {}-{} does not overlap build(1) {}-{}",
        d2.start,
        d2.end,
        b1.start,
        b1.end
    );
}

#[test]
fn leapfrog_interleaves_reviews_with_designs() {
    // at 30 both review(1) and design(3) are ready for claude: Leapfrog reviews first.
    let rows = check_pattern(
        Pattern::Leapfrog,
        "0-15 claude design(1)\n\
         15-30 claude design(2)\n\
         15-25 codex build(1)\n\
         30-35 claude review(1)\n\
         30-40 codex build(2)\n\
         35-50 claude design(3)\n\
         50-55 claude review(2)\n\
         50-60 codex build(3)\n\
         60-65 claude review(3)\n",
    );
    assert_overlap(&rows, "claude", "codex");
    assert!(find(&rows, "review", 1).end <= find(&rows, "design", 3).start);
}

#[test]
fn pipeline_designs_ahead_first() {
    // at 30 both review(1) and design(3) are ready for claude: Pipeline designs first.
    let rows = check_pattern(
        Pattern::Pipeline,
        "0-15 claude design(1)\n\
         15-30 claude design(2)\n\
         15-25 codex build(1)\n\
         30-45 claude design(3)\n\
         30-40 codex build(2)\n\
         45-50 claude review(1)\n\
         45-55 codex build(3)\n\
         50-55 claude review(2)\n\
         55-60 claude review(3)\n",
    );
    assert_overlap(&rows, "claude", "codex");
    assert!(find(&rows, "design", 3).end <= find(&rows, "review", 1).start);
}

#[test]
fn specialist_split_reviews_on_their_own_agent() {
    let rows = check_pattern(
        Pattern::Specialist,
        "0-15 designer design(1)\n\
         15-25 builder build(1)\n\
         15-30 designer design(2)\n\
         25-30 reviewer review(1)\n\
         30-40 builder build(2)\n\
         30-45 designer design(3)\n\
         40-45 reviewer review(2)\n\
         45-55 builder build(3)\n\
         55-60 reviewer review(3)\n",
    );
    assert_overlap(&rows, "designer", "builder");
}
