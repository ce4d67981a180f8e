//! `leap simulate` end to end: the real binary, real workload files.

use std::process::{Command, Output};

use serde_json::Value;

const SEED_WORKLOAD: &str = r#"{
  "agents": [
    {"id": "claude", "roles": ["discovery", "plan", "design", "review", "qa"]},
    {"id": "codex",  "roles": ["build", "fix"]}
  ],
  "lookahead": 2,
  "sync_every": 3,
  "verify_minutes": 2,
  "recheck": 0,
  "preamble": [{"phase": "discovery", "minutes": 10}, {"phase": "plan", "minutes": 5}],
  "batches": [
    {"design": 10, "build": 20, "review": 5, "qa": 0, "fix": 8, "review_fails": 1},
    {"design": 8,  "build": 15, "review": 5, "builds_after": []},
    {"design": 8,  "build": 15, "review": 5, "qa": 3}
  ]
}"#;

fn leap(workload: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workload.json");
    std::fs::write(&path, workload).unwrap();
    Command::new(env!("CARGO_BIN_EXE_leap"))
        .arg("simulate")
        .arg("--workload")
        .arg(&path)
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "leap failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn json_has_the_contract_shape() {
    let out: Value = serde_json::from_str(&stdout(&leap(SEED_WORKLOAD, &["--json"]))).unwrap();
    let rows = out["schedule"].as_array().unwrap();
    for row in rows {
        let mut keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["agent", "batch", "end", "phase", "start"]);
    }
    // preamble rows: batch null, in order.
    let pre: Vec<&str> = rows
        .iter()
        .filter(|r| r["batch"].is_null())
        .map(|r| r["phase"].as_str().unwrap())
        .collect();
    assert_eq!(pre, ["discovery", "plan"]);
    // 3 batches, sync every 3: exactly verify(1), agent null, batch 1, after every acceptance.
    let verifies: Vec<&Value> = rows.iter().filter(|r| r["phase"] == "verify").collect();
    assert_eq!(verifies.len(), 1);
    assert!(verifies[0]["agent"].is_null());
    assert_eq!(verifies[0]["batch"], 1);
    // review_fails 1: two reviews and one fix of batch 1.
    let count = |phase: &str, batch: u64| {
        rows.iter()
            .filter(|r| r["phase"] == phase && r["batch"] == batch)
            .count()
    };
    assert_eq!((count("review", 1), count("fix", 1)), (2, 1));
    assert_eq!(count("qa", 3), 1);
    assert_eq!(count("qa", 1), 0, "qa 0 means absent");

    let sum: f64 = rows
        .iter()
        .map(|r| r["end"].as_f64().unwrap() - r["start"].as_f64().unwrap())
        .sum();
    // 15 preamble + 26 designs + 50 builds + 5*4 reviews + 8 fix + 3 qa + 2 verify
    assert_eq!(sum, 124.0);
    assert_eq!(out["sequential_minutes"], 124);
    let last = rows
        .iter()
        .map(|r| r["end"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(out["parallel_minutes"].as_f64().unwrap(), last);
    let savings = out["savings"].as_f64().unwrap();
    assert!((savings - (1.0 - last / 124.0)).abs() < 1e-12);
    let bound = out["lower_bound_minutes"].as_f64().unwrap();
    assert!(bound > 0.0 && bound <= last);
}

#[test]
fn human_output_is_the_seed_table() {
    let text = stdout(&leap(SEED_WORKLOAD, &[]));
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "| Phase | Sequential | Parallel | Savings | Lower bound |"
    );
    lines.next();
    let row = lines.next().unwrap();
    assert!(row.starts_with("| 3 batches | 124 min | "), "{row}");
    assert!(text.contains("Schedule (priority: "), "{text}");
    assert!(text.contains("(verify)"), "{text}");
}

#[test]
fn table_runs_3_5_and_10_batches_like_the_first() {
    let text = stdout(&leap(SEED_WORKLOAD, &["--table"]));
    let rows: Vec<&str> = text.lines().skip(2).collect();
    assert_eq!(rows.len(), 3, "{text}");
    for (row, n) in rows.iter().zip([3, 5, 10]) {
        assert!(row.starts_with(&format!("| {n} batches | ")), "{row}");
    }
    let json: Value =
        serde_json::from_str(&stdout(&leap(SEED_WORKLOAD, &["--table", "--json"]))).unwrap();
    let rows = json.as_array().unwrap();
    // batch 1 of the seed workload: design 10, build 20, review 5 twice, fix 8 = 48 a batch,
    // plus the preamble (15) and verifies (2 each: 1, 2 and 4 of them).
    let seq: Vec<f64> = rows
        .iter()
        .map(|r| r["sequential_minutes"].as_f64().unwrap())
        .collect();
    assert_eq!(
        seq,
        [
            15.0 + 3.0 * 48.0 + 2.0,
            15.0 + 5.0 * 48.0 + 4.0,
            15.0 + 10.0 * 48.0 + 8.0
        ]
    );
    for r in rows {
        assert!(r["lower_bound_minutes"].as_f64() <= r["parallel_minutes"].as_f64());
    }
}

#[test]
fn estimate_noise_is_deterministic_per_seed() {
    let a = stdout(&leap(
        SEED_WORKLOAD,
        &["--json", "--estimate-noise", "0.4", "--seed", "7"],
    ));
    let b = stdout(&leap(
        SEED_WORKLOAD,
        &["--json", "--estimate-noise", "0.4", "--seed", "7"],
    ));
    assert_eq!(a, b);
}

/// The workload `input` fails with a one-line message containing `expect`, a non-zero exit and
/// no panic.
fn check_error(input: &str, args: &[&str], expect: &str) {
    let o = leap(input, args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "expected failure for {input}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("leap: "), "{err}");
    assert!(err.contains(expect), "expected {expect:?} in {err}");
}

const AGENTS: &str = r#""agents": [{"id": "a", "roles": ["design", "review"]}, {"id": "b", "roles": ["build", "fix"]}]"#;

#[test]
fn workload_errors_are_named() {
    let cases: &[(&str, &str)] = &[
        // unknown keys, named
        (
            r#"{AGENTS, "colour": 1, "batches": [{"design": 1, "build": 1, "review": 1}]}"#,
            "unknown field `colour`",
        ),
        (
            r#"{AGENTS, "batches": [{"design": 1, "build": 1, "review": 1, "desgin": 2}]}"#,
            "unknown field `desgin`",
        ),
        (
            r#"{"agents": [{"id": "a", "roles": ["design"], "model": "x"}], "batches": []}"#,
            "unknown field `model`",
        ),
        // negative durations
        (
            r#"{AGENTS, "batches": [{"design": 1, "build": -5, "review": 1}]}"#,
            "negative duration: batch 1 build is -5 minutes",
        ),
        (
            r#"{AGENTS, "verify_minutes": -1, "batches": [{"design": 1, "build": 1, "review": 1}]}"#,
            "negative duration: verify_minutes",
        ),
        (
            r#"{AGENTS, "preamble": [{"phase": "plan", "minutes": -2}], "batches": [{"design": 1, "build": 1, "review": 1}]}"#,
            "negative duration: preamble phase 1 (plan)",
        ),
        // no agent for a phase
        (
            r#"{AGENTS, "batches": [{"design": 1, "build": 1, "review": 1, "qa": 2}]}"#,
            "no agent can run qa(1)",
        ),
        (
            r#"{AGENTS, "preamble": [{"phase": "discovery", "minutes": 2}], "batches": [{"design": 1, "build": 1, "review": 1}]}"#,
            "no agent can run preamble phase 1 (discovery)",
        ),
        (
            r#"{"agents": [{"id": "a", "roles": ["design", "review"]}], "batches": [{"design": 1, "build": 1, "review": 1}]}"#,
            "no agent can run build(1)",
        ),
        // builds_after naming a batch that is not earlier
        (
            r#"{AGENTS, "batches": [{"design": 1, "build": 1, "review": 1}, {"design": 1, "build": 1, "review": 1, "builds_after": [2]}]}"#,
            "batch 2: builds_after names batch 2, which is not an earlier batch",
        ),
        (
            r#"{AGENTS, "batches": [{"design": 1, "build": 1, "review": 1, "builds_after": [3]}]}"#,
            "builds_after names batch 3",
        ),
        // impossible workloads
        (
            r#"{AGENTS, "batches": []}"#,
            "impossible workload: no batches",
        ),
        (
            r#"{AGENTS, "batches": [{"design": 1, "build": 1, "review": 1, "review_fails": 99999999}]}"#,
            "impossible workload: batch 1: review_fails",
        ),
        (
            r#"{AGENTS, "batches": [{"design": 1e300, "build": 1, "review": 1}]}"#,
            "impossible workload: batch 1 design is longer than 1000000000 minutes",
        ),
        // malformed input
        (
            r#"{AGENTS, "batches": [{"design": 1, "build": 1}]}"#,
            "missing field `review`",
        ),
        (
            r#"{"agents": [{"id": "a", "roles": ["painter"]}], "batches": []}"#,
            "unknown variant `painter`",
        ),
        (r#"{AGENTS, "batches": [{"design": 1"#, "invalid workload"),
        (
            r#"{"agents": [{"id": "a", "roles": ["design"]}, {"id": "a", "roles": ["build"]}], "batches": [{"design": 1, "build": 1, "review": 1}]}"#,
            "duplicate agent id `a`",
        ),
    ];
    for (input, expect) in cases {
        check_error(&input.replace("AGENTS", AGENTS), &[], expect);
    }
}

/// The limits of a workload are stated in the error: batches, phase runs, file size.
#[test]
fn workload_limits_are_stated() {
    let batch = r#"{"design": 1, "build": 1, "review": 1}"#;
    let batches = |n: usize, b: &str| vec![b; n].join(",");
    let cases = [
        (
            format!(r#"{{AGENTS, "batches": [{}]}}"#, batches(100_001, batch)),
            "impossible workload: 100001 batches (at most 100000)",
        ),
        (
            format!(
                r#"{{AGENTS, "batches": [{}]}}"#,
                batches(
                    1000,
                    r#"{"design": 1, "build": 1, "review": 1, "fix": 1, "review_fails": 2500}"#
                )
            ),
            "impossible workload: 5003000 phase runs before any re-check; Leapfrog simulates at \
             most 5000000",
        ),
    ];
    for (input, expect) in cases {
        check_error(&input.replace("AGENTS", AGENTS), &[], expect);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(70_000_000)
        .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_leap"))
        .args(["simulate", "--workload", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "leap: {}: too large: 70 MB; Leapfrog reads workload files up to 64 MB\n",
            path.display()
        )
    );
}

#[test]
fn bad_arguments_are_named() {
    check_error(
        SEED_WORKLOAD,
        &["--estimate-noise", "-1"],
        "estimate noise -1 must be a finite number >= 0",
    );
    check_error(
        SEED_WORKLOAD,
        &["--priority", "fastest"],
        "unknown priority `fastest`",
    );
    for (path, want) in [
        (
            "/nonexistent/workload.json",
            "leap: /nonexistent/workload.json: cannot read: No such file",
        ),
        // A device is refused before it is read (it never ends).
        (
            "/dev/zero",
            "leap: /dev/zero: is not a regular file (a device, FIFO or socket), not a workload file",
        ),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_leap"))
            .args(["simulate", "--workload", path])
            .output()
            .unwrap();
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.starts_with(want), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// `leap simulate … | head -1`: a reader that stops early ends the output quietly, with no panic.
#[test]
fn a_closed_output_pipe_ends_quietly() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workload.json");
    let batches: Vec<String> = (0..3000)
        .map(|_| r#"{"design": 10, "build": 20, "review": 5}"#.to_string())
        .collect();
    let workload = SEED_WORKLOAD.replace(
        &SEED_WORKLOAD
            [SEED_WORKLOAD.find("\"batches\"").unwrap()..SEED_WORKLOAD.rfind('}').unwrap()],
        &format!("\"batches\": [{}]\n", batches.join(",")),
    );
    std::fs::write(&path, workload).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_leap"))
        .arg("simulate")
        .arg("--workload")
        .arg(&path)
        .arg("--json")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The pipe is closed here (dropped), long before the JSON of 3 000 batches is written.
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(status.success(), "{status}: {err}");
}

/// Rule 9: `milestones` in the workload file; plan(m) rows name their milestone, with no batch;
/// counts that do not add up are refused in words.
#[test]
fn milestones_add_plan_rows() {
    let with = SEED_WORKLOAD.replacen(
        r#""recheck": 0,"#,
        r#""recheck": 0, "milestones": [{"batches": 2}, {"batches": 1, "plan": 6}],"#,
        1,
    );
    let out: Value = serde_json::from_str(&stdout(&leap(&with, &["--json"]))).unwrap();
    let rows = out["schedule"].as_array().unwrap();
    let plans: Vec<&Value> = rows
        .iter()
        .filter(|r| r.get("milestone").is_some())
        .collect();
    assert_eq!(plans.len(), 1, "{out}");
    let plan = plans[0];
    assert_eq!(plan["phase"], "plan");
    assert_eq!(plan["batch"], Value::Null);
    assert_eq!(plan["milestone"], 2);
    assert_eq!(plan["agent"], "claude");
    let at = |phase: &str, batch: u64, key: &str| {
        rows.iter()
            .find(|r| r["phase"] == phase && r["batch"] == batch)
            .unwrap()[key]
            .as_f64()
            .unwrap()
    };
    let (start, end) = (
        plan["start"].as_f64().unwrap(),
        plan["end"].as_f64().unwrap(),
    );
    assert_eq!(end - start, 6.0);
    assert!(start >= at("design", 2, "end"));
    assert!(at("design", 3, "start") >= end);
    // plan(2) counts in the sequential time: 6 more than without milestones.
    let without: Value = serde_json::from_str(&stdout(&leap(SEED_WORKLOAD, &["--json"]))).unwrap();
    assert_eq!(
        out["sequential_minutes"].as_f64().unwrap(),
        without["sequential_minutes"].as_f64().unwrap() + 6.0
    );
    assert!(out["lower_bound_minutes"].as_f64() <= out["parallel_minutes"].as_f64());
    // the human schedule names the milestone.
    assert!(stdout(&leap(&with, &[])).contains("plan (milestone 2)"));

    let bad = SEED_WORKLOAD.replacen(
        r#""recheck": 0,"#,
        r#""recheck": 0, "milestones": [{"batches": 2}, {"batches": 2, "plan": 6}],"#,
        1,
    );
    check_error(
        &bad,
        &["--json"],
        "milestones hold 2 + 2 = 4 batches, but there are 3 batches",
    );
    let unknown = SEED_WORKLOAD.replacen(
        r#""recheck": 0,"#,
        r#""recheck": 0, "milestones": [{"batches": 3, "minutes": 6}],"#,
        1,
    );
    check_error(&unknown, &["--json"], "unknown field `minutes`");
}
