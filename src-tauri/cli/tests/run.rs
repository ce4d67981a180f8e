//! `leap run --headless` and the orchestrator end to end: real `leap demo-agent` processes in real
//! PTYs, a real control socket, a real sled store in a temp dir.

#[path = "../../engine/tests/scheduler/checker.rs"]
#[allow(dead_code)]
mod checker;
mod support;

use std::io::{BufRead, BufReader};

use std::process::{Command, Stdio};

use std::time::{Duration, Instant};

use leapfrog_engine::agents::AgentStatus;
use leapfrog_engine::model::{CompletionDetection, PhaseKind, PhaseOutcome, PhaseRun};
use leapfrog_engine::orchestrator::{Command as UserCommand, EngineEvent};
use leapfrog_engine::scheduler::workload::{WorkloadAgent, WorkloadBatch};
use leapfrog_engine::scheduler::{PhaseId, Workload};
use leapfrog_engine::store::{SledStore, Store};
use serde_json::Value;
use support::*;

fn row<'a>(out: &'a Value, phase: &str, batch: u64) -> &'a Value {
    out["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["phase"] == phase && r["batch"].as_u64() == Some(batch))
        .unwrap_or_else(|| panic!("no {phase}({batch}) row in {out:#}"))
}

/// The workload the run measured: its agents and knobs, each phase's real duration.
fn measured_workload(p: &Project, out: &Value) -> Workload {
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(p.dir.join(".leapfrog/project.json")).unwrap(),
    )
    .unwrap();
    let dur = |phase: &str, b: u64| {
        let r = row(out, phase, b);
        r["end"].as_f64().unwrap() - r["start"].as_f64().unwrap()
    };
    let verify = out["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["phase"] == "verify")
        .map(|r| r["end"].as_f64().unwrap() - r["start"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    Workload {
        agents: config["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| WorkloadAgent {
                id: a["id"].as_str().unwrap().into(),
                roles: serde_json::from_value(a["roles"].clone()).unwrap(),
            })
            .collect(),
        lookahead: config["lookahead"].as_u64().map(|x| x as u32),
        sync_every: config["sync_every"].as_u64().map(|x| x as u32),
        verify_minutes: verify,
        recheck: 0.0,
        preamble: Vec::new(),
        batches: (1..=out["batches"].as_u64().unwrap())
            .map(|b| WorkloadBatch {
                design: dur("design", b),
                build: dur("build", b),
                review: dur("review", b),
                qa: 0.0,
                fix: 0.0,
                review_fails: 0,
                builds_after: None,
            })
            .collect(),
        milestones: Vec::new(),
    }
}

/// The contract's rules a real run must keep. Left out, because a live run cannot match the
/// simulator there: work conservation to the minute (an agent is only prompted at its idle edge,
/// so "idle while ready" holds for milliseconds) and equal verify durations.
fn contract_violations(w: &Workload, out: &Value) -> Vec<String> {
    checker::validate_schedule(w, out)
        .into_iter()
        .filter(|v| {
            !(v.contains(" idle at ")
                || v.contains(" idles: ")
                || (v.starts_with("verify(") && v.contains(" lasts "))
                || v.starts_with("sequential_minutes"))
        })
        .collect()
}

#[test]
fn headless_leapfrog_of_three_batches_finishes_unattended() {
    let p = demo(3, 8.0, 4.0);
    let o = leap_run(&p, &["--json"]).output().unwrap();
    assert!(
        o.status.success(),
        "leap run failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["batches"], 3);
    for key in [
        "sequential_minutes",
        "parallel_minutes",
        "savings",
        "lower_bound_minutes",
    ] {
        assert!(out[key].is_number(), "{key} missing in {out:#}");
    }
    // Every phase of the 3 batches ran once, plus the sync points (every 2 batches, and a final).
    let rows = out["schedule"].as_array().unwrap();
    let count = |phase: &str| rows.iter().filter(|r| r["phase"] == phase).count();
    assert_eq!(
        (
            count("design"),
            count("build"),
            count("review"),
            count("verify")
        ),
        (3, 3, 3, 2),
        "{out:#}"
    );
    let w = measured_workload(&p, &out);
    let v = contract_violations(&w, &out);
    assert!(v.is_empty(), "contract broken:\n{}\n{out:#}", v.join("\n"));
    // The designer ran ahead: design(2) started before build(1) ended (in a sequential run it
    // would wait for build(1) and review(1)). How much the two overlap depends on how fast the
    // builder's prompt comes back on a loaded machine, so that is not asserted; the slower
    // builder leaves a margin for the designer's own prompt latency.
    let (d2, b1) = (row(&out, "design", 2), row(&out, "build", 1));
    let f = |r: &Value, k: &str| r[k].as_f64().unwrap();
    assert!(
        f(d2, "start") < f(b1, "end"),
        "design(2) {d2} waited for build(1) {b1}"
    );
    eprintln!(
        "measured: parallel {:.3} min, sequential {:.3} min, savings {:.1}%, bound {:.3} min",
        f(&out, "parallel_minutes"),
        f(&out, "sequential_minutes"),
        100.0 * f(&out, "savings"),
        f(&out, "lower_bound_minutes")
    );
    // The store holds each run with real times and how it completed.
    let runs = runs_in_store(&p);
    for r in &runs {
        assert_eq!(r.outcome, PhaseOutcome::Passed, "{r:?}");
        assert!(r.ended_at.unwrap() >= r.started_at, "{r:?}");
        // The demo agents report with `leap handoff` / `leap complete` before printing their block.
        let expect = match r.kind {
            PhaseKind::Verify => CompletionDetection::VerifyExit,
            _ => CompletionDetection::Command,
        };
        assert_eq!(r.detection, Some(expect), "{r:?}");
    }
    // TICKETS.md follows the pipeline: every ticket of an accepted batch is done.
    let text = std::fs::read_to_string(p.dir.join("TICKETS.md")).unwrap();
    let summary = leapfrog_engine::tickets::Document::parse(&text).summary();
    let batched: Vec<_> = summary
        .tickets
        .iter()
        .filter(|t| t.batch.is_some_and(|b| b <= 3))
        .map(|t| (t.id.as_str(), t.status.as_str()))
        .collect();
    assert!(!batched.is_empty(), "{text}");
    assert!(
        batched.iter().all(|(_, s)| *s == "done"),
        "tickets not done after the run: {batched:?}\n{text}"
    );
    // Every phase of a batch was pointed at its context pack: its own batch only, the role's
    // rules from docs/CONTEXT.md, the diff for a review; git ignores the packs.
    for b in 1..=3u32 {
        for phase in ["design", "build", "review"] {
            let pack = p
                .dir
                .join(format!(".leapfrog/context/batch-{b}/{phase}.md"));
            let text = std::fs::read_to_string(&pack)
                .unwrap_or_else(|e| panic!("{}: {e}", pack.display()));
            assert!(text.contains(&format!("## Batch {b}:")), "{text}");
            for other in (1..=3u32).filter(|o| *o != b) {
                assert!(!text.contains(&format!("## Batch {other}:")), "{text}");
            }
            assert!(text.contains("Reading rules (docs/CONTEXT.md)"), "{text}");
        }
        let review =
            std::fs::read_to_string(p.dir.join(format!(".leapfrog/context/batch-{b}/review.md")))
                .unwrap();
        assert!(
            review.contains(&format!(
                "`git diff refs/leapfrog/batch-{b}/base refs/leapfrog/batch-{b}/head`"
            )),
            "{review}"
        );
        let build =
            std::fs::read_to_string(p.dir.join(format!(".leapfrog/context/batch-{b}/build.md")))
                .unwrap();
        assert!(build.contains("## Verify command"), "{build}");
    }
    let status = Command::new("git")
        .arg("-C")
        .arg(&p.dir)
        .args(["status", "--porcelain", "--", ".leapfrog/context"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&status.stdout),
        "",
        "packs are not project files"
    );
}

/// A cloned folder with a crafted project file: `leap run` refuses it in one line naming the
/// commands, and nothing of it runs; `leap trust` shows them, refuses to approve without an answer,
/// and `--yes` approves; `--trust` runs it once without recording anything.
#[test]
fn a_cloned_project_runs_nothing_until_its_commands_are_approved() {
    let p = demo(1, 8.0, 8.0);
    let path = p.dir.join(".leapfrog/project.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["verify"] = Value::from("touch pwned-by-verify");
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    // This machine's user never approved anything: another data folder.
    let other = p.dir.with_file_name("other-user");
    let run = |extra: &[&str]| {
        leap_run(&p, extra)
            .env("LEAPFROG_DATA_DIR", &other)
            .output()
            .unwrap()
    };
    let o = run(&["--json"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("has commands you have not approved on this machine"),
        "{err}"
    );
    assert!(err.contains("verify: `touch pwned-by-verify`"), "{err}");
    assert!(err.contains("leap trust"), "{err}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!p.dir.join("pwned-by-verify").exists());
    // `leap trust` without a terminal and without --yes shows the commands and approves nothing.
    let trust = |extra: &[&str]| {
        Command::new(LEAP)
            .arg("trust")
            .arg(&p.dir)
            .args(extra)
            .env("LEAPFROG_DATA_DIR", &other)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let o = trust(&[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1));
    assert!(out.contains("not yet approved on this machine"), "{out}");
    assert!(out.contains("touch pwned-by-verify"), "{out}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("--yes"));
    let o = trust(&["--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["approved"], false);
    assert_eq!(
        v["review"]["project"]["commands"].as_array().unwrap().len(),
        3
    );
    // `--trust` runs it once and records nothing.
    let o = run(&["--json", "--trust"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        p.dir.join("pwned-by-verify").exists(),
        "the run's verify ran"
    );
    let v: Value = serde_json::from_slice(&trust(&["--json"]).stdout).unwrap();
    assert_eq!(v["approved"], false, "--trust recorded nothing");
    // `--yes` approves; then it runs without a flag.
    assert!(trust(&["--yes"]).status.success());
    let v: Value = serde_json::from_slice(&trust(&["--json"]).stdout).unwrap();
    assert_eq!(v["approved"], true);
    let o = run(&["--json", "--fresh"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn leap_run_of_a_folder_that_is_no_project_is_a_one_line_error() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        // Refused before any service starts (checked below).
        (
            vec!["run".into(), tmp.path().display().to_string()],
            "project.json",
        ),
        (
            vec![
                "run".into(),
                tmp.path().display().to_string(),
                "--headless".into(),
            ],
            "project.json",
        ),
        (
            vec!["run".into(), "/nonexistent/x".into(), "--headless".into()],
            "cannot open",
        ),
    ];
    for (args, expect) in cases {
        let o = Command::new(LEAP)
            .args(&args)
            .env("LEAPFROG_DATA_DIR", tmp.path().join("data"))
            .env("LEAPFROG_RUNTIME_DIR", tmp.path().join("rt"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
    assert!(
        !tmp.path().join("rt/service.sock").exists(),
        "no service starts for a folder that is no project"
    );
}

#[test]
fn restart_mid_run_reconciles_without_marking_running_phases_done() {
    // A slow builder, so that build(1) is surely running when the run is killed.
    let p = demo(2, 8.0, 0.5);
    let mut child = leap_run(&p, &["--events"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let started = Instant::now();
    let mut seen = false;
    for line in stderr.lines() {
        let line = line.unwrap();
        let Ok(e) = serde_json::from_str::<EngineEvent>(&line) else {
            continue;
        };
        if let EngineEvent::PhaseDispatched {
            phase: PhaseId::Build { batch: 1 },
            ..
        } = e
        {
            seen = true;
            break;
        }
        assert!(started.elapsed() < PATIENCE, "build(1) never dispatched");
    }
    assert!(seen, "leap run ended before build(1) was dispatched");
    // Crash the whole app (its agents die with their PTYs).
    child.kill().unwrap();
    child.wait().unwrap();
    // A git commit cut off by the crash may leave its lock behind, as after any crash.
    std::thread::sleep(Duration::from_millis(500));
    let _ = std::fs::remove_file(p.dir.join(".git/index.lock"));

    let before = runs_in_store(&p);
    let interrupted: Vec<&PhaseRun> = before
        .iter()
        .filter(|r| r.outcome == PhaseOutcome::Running)
        .collect();
    assert!(
        interrupted
            .iter()
            .any(|r| r.kind == PhaseKind::Build && r.batch == Some(1)),
        "build(1) should be recorded running: {before:#?}"
    );

    let o = leap_run(&p, &["--json"]).output().unwrap();
    assert!(
        o.status.success(),
        "restarted run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let after = runs_in_store(&p);
    for old in &interrupted {
        let now = after.iter().find(|r| r.id == old.id).unwrap();
        assert_eq!(now.outcome, PhaseOutcome::Cancelled, "{now:?}");
    }
    let builds: Vec<&PhaseRun> = after
        .iter()
        .filter(|r| r.kind == PhaseKind::Build && r.batch == Some(1))
        .collect();
    assert_eq!(builds.len(), 2, "{builds:#?}");
    assert_eq!(builds[1].outcome, PhaseOutcome::Passed, "{builds:#?}");
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = out["schedule"].as_array().unwrap();
    assert_eq!(
        rows.iter()
            .filter(|r| r["phase"] == "build" && r["batch"] == 1)
            .count(),
        1,
        "{out:#}"
    );
}

#[test]
fn killed_agent_is_shown_exited_and_its_phase_can_be_retried() {
    let p = demo(1, 8.0, 0.5);
    let (orch, events) = open_started(&p);
    wait_for(&events, "build(1) dispatched", |e| {
        matches!(
            e,
            EngineEvent::PhaseDispatched {
                phase: PhaseId::Build { batch: 1 },
                ..
            }
        )
    });
    // Mid-run, the scheduler forecasts a finish after the build it just dispatched.
    let forecast = orch.progress().unwrap().forecast_minutes;
    assert!(forecast.is_some_and(|f| f > 0.0), "{forecast:?}");
    let pane = orch.agent_pane("builder").unwrap();
    let pid = orch.panes().get(pane).unwrap().pid().unwrap();
    // SAFETY: kill(2) on the builder's own pid.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    wait_for(
        &events,
        "builder shown exited",
        |e| matches!(e, EngineEvent::AgentStatus { agent, status: AgentStatus::Exited, .. } if agent == "builder"),
    );
    // The snapshot is published right after the event.
    let deadline = Instant::now() + PATIENCE;
    let state = loop {
        let s = orch.state();
        let builder = s.agents.iter().find(|a| a.id == "builder").unwrap();
        if builder.status == AgentStatus::Exited {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "snapshot never showed the builder exited"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let crashed: Vec<&PhaseRun> = state
        .runs
        .iter()
        .filter(|r| r.kind == PhaseKind::Build && r.outcome == PhaseOutcome::Crashed)
        .collect();
    assert_eq!(crashed.len(), 1, "{:#?}", state.runs);
    assert_eq!(crashed[0].detection, Some(CompletionDetection::ProcessExit));
    // The failed build waits for a retry: the timeline has no forecast while it holds the run.
    let held = orch.progress().unwrap();
    assert_eq!((held.finished, held.forecast_minutes), (false, None));

    let reply = orch
        .command(UserCommand::Retry {
            phase: PhaseId::Build { batch: 1 },
        })
        .unwrap();
    assert!(reply.contains("build(1)"), "{reply}");
    wait_for(
        &events,
        "the restarted builder",
        |e| matches!(e, EngineEvent::AgentStarted { agent, resumed: true, .. } if agent == "builder"),
    );
    wait_for(&events, "the run to finish", |e| {
        matches!(e, EngineEvent::Finished)
    });
    let runs = orch.state().runs;
    let builds: Vec<PhaseOutcome> = runs
        .iter()
        .filter(|r| r.kind == PhaseKind::Build)
        .map(|r| r.outcome)
        .collect();
    assert_eq!(builds, vec![PhaseOutcome::Crashed, PhaseOutcome::Passed]);
    // Over: the run's clock stops, and its forecast is where it ended.
    let done = orch.progress().unwrap();
    assert!(done.finished);
    assert!(
        done.forecast_minutes.is_some_and(|f| f > 0.0),
        "{:?}",
        done.forecast_minutes
    );
    orch.stop();
}

/// Real CLIs lose an Enter: Claude Code ignores it for a few seconds after it starts, Gemini CLI
/// within about 40 ms of a paste. The designer here does both (`--deaf-for`, `--paste-settle-ms`);
/// the prompt still goes through, because Leapfrog presses Enter again until the agent takes it.
#[test]
fn a_lost_enter_is_pressed_again_until_the_agent_takes_its_prompt() {
    let p = demo(1, 8.0, 8.0);
    set_agent_args(
        &p,
        "designer",
        &["--deaf-for", "4", "--paste-settle-ms", "200"],
    );
    let o = leap_run(&p, &["--json", "--events"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    for phase in ["design", "build", "review"] {
        row(&out, phase, 1);
    }
    let again: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("designer has not taken its prompt yet: pressed Enter again"))
        .collect();
    // Deaf for 4 s after start, Enter every 1.5 s: at least one more press for design(1).
    assert!(!again.is_empty(), "{stderr}");
    // The builder hears every Enter: never pressed again.
    assert!(
        !stderr.contains("builder has not taken its prompt yet"),
        "{stderr}"
    );
}

/// A damaged run state never restarts the run in silence: the run refuses in words, and
/// `--fresh` starts over, keeping the damaged file.
#[test]
fn a_truncated_run_file_is_refused_in_words_and_fresh_keeps_it() {
    let p = demo(1, 8.0, 8.0);
    let o = leap_run(&p, &["--json"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let projects = p.data.join("projects");
    let run_dir = std::fs::read_dir(&projects)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|d| d.join("run.json").is_file())
        .expect("a run.json");
    let state = std::fs::read(run_dir.join("run.json")).unwrap();
    std::fs::write(run_dir.join("run.json"), &state[..state.len() / 2]).unwrap();
    let o = leap_run(&p, &[]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is damaged") && err.contains("--fresh"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let o = leap_run(&p, &["--fresh", "--json"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let kept: Vec<String> = std::fs::read_dir(&run_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("run.json.damaged-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        std::fs::read(run_dir.join(&kept[0])).unwrap(),
        &state[..state.len() / 2]
    );
}

#[test]
fn a_failed_review_gets_a_fix_and_a_second_review() {
    let p = demo(2, 8.0, 8.0);
    set_agent_args(&p, "designer", &["--fail-batches", "1"]);
    let o = leap_run(&p, &["--json"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows: Vec<(String, u64, f64, f64)> = out["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["batch"] == 1 && r["phase"] != "verify")
        .map(|r| {
            (
                r["phase"].as_str().unwrap().to_string(),
                r["batch"].as_u64().unwrap(),
                r["start"].as_f64().unwrap(),
                r["end"].as_f64().unwrap(),
            )
        })
        .collect();
    let phases: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        phases,
        ["design", "build", "review", "fix", "review"],
        "{out:#}"
    );
    // The fix waits for the failed review, the second review for the fix.
    assert!(rows[3].2 >= rows[2].3 && rows[4].2 >= rows[3].3, "{rows:?}");
    let reviews: Vec<PhaseOutcome> = runs_in_store(&p)
        .iter()
        .filter(|r| r.kind == PhaseKind::Review && r.batch == Some(1))
        .map(|r| r.outcome)
        .collect();
    assert_eq!(reviews, [PhaseOutcome::Failed, PhaseOutcome::Passed]);

    // A batch's diff is its latest round: batch 1's is the fix of its two scripts (what the second
    // review is about), batch 2's its build, and neither holds the other's scripts.
    let diff = |args: &[&str]| {
        Command::new(LEAP)
            .arg("diff")
            .args(args)
            .arg(&p.dir)
            .output()
            .unwrap()
    };
    let files = |batch: &str| -> Vec<String> {
        let o = diff(&["--batch", batch, "--json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_string())
            .filter(|f| f.starts_with("src/"))
            .collect()
    };
    assert_eq!(files("1"), ["src/t-001.sh", "src/t-002.sh"]);
    assert_eq!(files("2"), ["src/t-003.sh", "src/t-004.sh", "src/t-005.sh"]);
    let o = diff(&["--batch", "1"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("+# Fixed after the review of Batch 1."),
        "the fix is in batch 1's diff:\n{text}"
    );
    let o = diff(&["--batch", "9"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("batch 9 has no recorded build"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn qa_follows_each_passing_review_and_a_failed_review_sends_a_designed_batch_to_recheck() {
    // No lookahead limit and a slow builder: the designer has designed all three batches before
    // build(1) lands, so when review(1) fails, batch 3's design is done and not yet built.
    let p = demo(3, 8.0, 1.0);
    set_agent_args(&p, "designer", &["--fail-batches", "1"]);
    let path = p.dir.join(".leapfrog/project.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["qa"] = Value::Bool(true);
    config["lookahead"] = Value::Null;
    // As setup writes it: the run keeps its runs under the id setup registered.
    config["id"] = Value::from("qa-demo");
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    git(&p.dir, &["commit", "-qam", "qa, no lookahead limit"]);
    let o = leap_run(&p, &["--json"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = out["schedule"].as_array().unwrap();
    let of = |phase: &str, b: u64| -> Vec<&Value> {
        rows.iter()
            .filter(|r| r["phase"] == phase && r["batch"].as_u64() == Some(b))
            .collect()
    };
    let f = |r: &Value, k: &str| r[k].as_f64().unwrap();
    for b in 1..=3 {
        // QA once per batch, by the designer (the agent with the qa role), after its last review.
        let qa = of("qa", b);
        assert_eq!(qa.len(), 1, "qa({b}) in {out:#}");
        assert_eq!(qa[0]["agent"], "designer", "{out:#}");
        let last_review = of("review", b)
            .into_iter()
            .map(|r| f(r, "end"))
            .fold(0.0, f64::max);
        assert!(
            f(qa[0], "start") >= last_review,
            "qa({b}) before its review: {out:#}"
        );
    }
    // Review(1) failed once: a fix, a second review, and batch 3's design checked again after it.
    assert_eq!(
        (of("review", 1).len(), of("fix", 1).len()),
        (2, 1),
        "{out:#}"
    );
    let recheck = of("recheck", 3);
    assert_eq!(recheck.len(), 1, "recheck(3) in {out:#}");
    assert!(
        f(recheck[0], "start") >= f(of("review", 1)[0], "end"),
        "{out:#}"
    );
    let kinds: Vec<(PhaseKind, Option<u32>, PhaseOutcome)> = runs_in_store(&p)
        .iter()
        .filter(|r| matches!(r.kind, PhaseKind::Qa | PhaseKind::Recheck))
        .map(|r| (r.kind, r.batch, r.outcome))
        .collect();
    let store = SledStore::open(p.data.join("db")).unwrap();
    let ids: Vec<String> = store
        .projects()
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, ["qa-demo"]);
    drop(store);
    for want in [
        (PhaseKind::Qa, Some(1), PhaseOutcome::Passed),
        (PhaseKind::Qa, Some(2), PhaseOutcome::Passed),
        (PhaseKind::Qa, Some(3), PhaseOutcome::Passed),
        (PhaseKind::Recheck, Some(3), PhaseOutcome::Passed),
    ] {
        assert!(kinds.contains(&want), "{want:?} not in {kinds:?}");
    }
}

#[test]
fn a_failed_sync_point_verify_holds_later_builds_and_stops_the_run() {
    let p = demo(3, 8.0, 8.0);
    let path = p.dir.join(".leapfrog/project.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["verify"] = Value::from("echo 'verify: 2 tests failed'; exit 1");
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    // A script that just wrote the verify command vouches for it for this one run.
    let o = leap_run(&p, &["--json", "--stall", "3", "--trust"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success(),
        "a failed verify must not finish the run"
    );
    assert!(err.contains("stalled"), "{err}");
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = out["schedule"].as_array().unwrap();
    let has = |phase: &str, b: u64| rows.iter().any(|r| r["phase"] == phase && r["batch"] == b);
    // Sync point 1 (after batches 1 and 2) failed: build(3) never started.
    assert!(has("verify", 1) && has("review", 2), "{out:#}");
    assert!(
        !has("build", 3),
        "build(3) ran past a failed verify: {out:#}"
    );
    let verify = runs_in_store(&p)
        .into_iter()
        .find(|r| r.kind == PhaseKind::Verify)
        .unwrap();
    assert_eq!(
        (verify.outcome, verify.detection),
        (PhaseOutcome::Failed, Some(CompletionDetection::VerifyExit))
    );
}

#[test]
fn leap_status_and_leap_verify_reach_a_running_leap_run() {
    let p = demo(1, 8.0, 0.3);
    let mut child = leap_run(&p, &["--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let leap = |args: &[&str]| {
        Command::new(LEAP)
            .args(args)
            .env("LEAPFROG_RUNTIME_DIR", &p.runtime)
            .env_remove("LEAPFROG_SOCKET")
            .env_remove("LEAPFROG_TOKEN")
            .env_remove("LEAPFROG_AGENT")
            .output()
            .unwrap()
    };
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        let o = leap(&["status"]);
        if o.status.success() {
            break String::from_utf8_lossy(&o.stdout).into_owned();
        }
        assert!(
            Instant::now() < deadline,
            "leap status never reached leap run"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.contains("designer") && status.contains("builder"),
        "{status}"
    );
    assert!(status.contains("Foundation"), "{status}");
    let o = leap(&["verify", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["passed"], true, "{v}");
    assert!(v["duration_ms"].is_u64(), "{v}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Opens the demo project through the engine (as the app does), started.
#[test]
fn an_agent_asking_permission_is_shown_needs_input_and_goes_on_after_the_answer() {
    let p = demo(1, 8.0, 8.0);
    set_agent_args(&p, "builder", &["--ask-before-edit"]);
    let (orch, events) = open_started(&p);
    // Each question is answered `y` in the builder's pane once the builder is shown needs-input;
    // the builder must then leave needs-input before the next question counts.
    let mut asked: Vec<String> = Vec::new();
    let mut waiting_answer = false;
    let mut resumed = 0;
    wait_for(&events, "the run to finish", |e| match e {
        EngineEvent::AgentStatus {
            agent,
            status,
            reason,
            ..
        } if agent == "builder" => {
            match status {
                AgentStatus::NeedsInput if !waiting_answer => {
                    // The snapshot (what `leap status` and the app show) follows the event.
                    let deadline = Instant::now() + PATIENCE;
                    while orch
                        .state()
                        .agents
                        .iter()
                        .any(|a| a.id == "builder" && a.status != AgentStatus::NeedsInput)
                    {
                        assert!(
                            Instant::now() < deadline,
                            "snapshot never showed needs-input"
                        );
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    asked.push(reason.clone());
                    waiting_answer = true;
                    let pane = orch.agent_pane("builder").unwrap();
                    orch.panes().write(pane, b"y").unwrap();
                }
                // After the last answer the builder may finish its turn before a status poll
                // sees it working: leaving needs-input for working or idle both mean it went on.
                AgentStatus::Working | AgentStatus::Idle if waiting_answer => {
                    waiting_answer = false;
                    resumed += 1;
                }
                _ => {}
            }
            false
        }
        EngineEvent::Finished => true,
        _ => false,
    });
    // Batch 1 has two tickets: one question per file the builder edits.
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert_eq!(resumed, 2, "{asked:?}");
    assert!(
        asked[0].contains("src/t-001.sh") || asked[0].contains("[y/n]"),
        "{asked:?}"
    );
    let runs = orch.state().runs;
    let builds: Vec<PhaseOutcome> = runs
        .iter()
        .filter(|r| r.kind == PhaseKind::Build)
        .map(|r| r.outcome)
        .collect();
    assert_eq!(builds, vec![PhaseOutcome::Passed]);
    orch.stop();
    for id in ["t-001", "t-002"] {
        assert!(p.dir.join(format!("src/{id}.sh")).exists(), "{id}");
    }
}

/// The user's review through `leap review` (the app's review view sends the same command): while
/// the designer's review of batch 1 runs, the user requests changes with two comments; the
/// review fails, the builder's fix prompt carries both comments with their file and line (the
/// demo builder writes what it addressed into the batch's diff), and the user approves the second
/// review. A review that is not running is refused in words.
#[test]
fn leap_review_requests_changes_with_comments_that_reach_the_fix() {
    let p = demo(1, 8.0, 8.0);
    set_agent_args(&p, "designer", &["--review-secs", "120"]);
    // Killed if the test fails before the run ends, so no run outlives it.
    struct Run(Option<std::process::Child>);
    impl Drop for Run {
        fn drop(&mut self) {
            if let Some(c) = self.0.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
    let mut run = Run(Some(
        leap_run(&p, &["--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    let leap = |args: &[&str]| {
        Command::new(LEAP)
            .args(args)
            .env("LEAPFROG_RUNTIME_DIR", &p.runtime)
            .env_remove("LEAPFROG_SOCKET")
            .env_remove("LEAPFROG_TOKEN")
            .env_remove("LEAPFROG_AGENT")
            .output()
            .unwrap()
    };
    // Waits until `args` succeeds (the review it answers is running), or fails the test.
    let until_ok = |args: &[&str]| {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let o = leap(args);
            if o.status.success() {
                return String::from_utf8_lossy(&o.stdout).into_owned();
            }
            assert!(
                Instant::now() < deadline,
                "leap {args:?} never succeeded: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    until_ok(&["status"]);
    let o = leap(&["review", "--batch", "7", "--approve"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("batch 7's review is not running"),
        "{err}"
    );
    let said = until_ok(&[
        "review",
        "--batch",
        "1",
        "--request-changes",
        "--comment",
        "src/t-001.sh:2:print a usage line",
        "--comment",
        "run each script once",
    ]);
    assert!(said.contains("review"), "{said}");
    until_ok(&["review", "--batch", "1", "--approve"]);
    let out = run.0.take().unwrap().wait_with_output().unwrap();
    assert!(out.status.success(), "the run did not finish");
    let reviews: Vec<(PhaseOutcome, Option<CompletionDetection>)> = runs_in_store(&p)
        .iter()
        .filter(|r| r.kind == PhaseKind::Review && r.batch == Some(1))
        .map(|r| (r.outcome, r.detection))
        .collect();
    assert_eq!(
        reviews,
        [
            (PhaseOutcome::Failed, Some(CompletionDetection::Manual)),
            (PhaseOutcome::Passed, Some(CompletionDetection::Manual))
        ]
    );
    // The fix is batch 1's diff now, and it addressed both comments, as one prompt gave them.
    let o = Command::new(LEAP)
        .args(["diff", "--batch", "1"])
        .arg(&p.dir)
        .output()
        .unwrap();
    let diff = String::from_utf8_lossy(&o.stdout);
    assert!(
        diff.contains(
            "+# Addressed: from the user's review: src/t-001.sh:2: print a usage line; run each script once"
        ),
        "{diff}"
    );
}

/// Rule 9 in a live run: TICKETS.md's `# Milestone 2` heading makes a `plan(2)` phase that the
/// designer runs after the last design of milestone 1, while milestone 1 is still being built;
/// milestone 2's first design waits for it.
#[test]
fn a_headless_demo_with_two_milestones_plans_the_second_while_the_first_is_built() {
    let p = demo(4, 8.0, 1.0);
    let path = p.dir.join("TICKETS.md");
    let mut text = std::fs::read_to_string(&path).unwrap();
    let at = text.find("## Batch 1:").unwrap();
    text.insert_str(at, "# Milestone 1: The greeting\n\n");
    let at = text.find("## Batch 3:").unwrap();
    text.insert_str(at, "# Milestone 2: Polish\n\n");
    std::fs::write(&path, text).unwrap();
    git(&p.dir, &["commit", "-qam", "two milestones"]);
    let o = leap_run(&p, &["--json"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let plan = out["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["phase"] == "plan" && r["milestone"] == 2)
        .unwrap_or_else(|| panic!("no plan row of milestone 2 in {out:#}"));
    assert_eq!(plan["agent"], "designer");
    assert!(plan["batch"].is_null(), "{plan}");
    let (start, end) = (
        plan["start"].as_f64().unwrap(),
        plan["end"].as_f64().unwrap(),
    );
    let at = |r: &Value, k: &str| r[k].as_f64().unwrap();
    // plan(2) waits for design(2), the last design of milestone 1; design(3) waits for plan(2).
    assert!(start >= at(row(&out, "design", 2), "end"), "{out:#}");
    assert!(at(row(&out, "design", 3), "start") >= end, "{out:#}");
    // It overlaps milestone 1's builds.
    let overlaps = [1, 2].iter().any(|&b| {
        let build = row(&out, "build", b);
        start < at(build, "end") && at(build, "start") < end
    });
    assert!(
        overlaps,
        "plan(2) {start}-{end} overlapped no build of milestone 1: {out:#}"
    );
    // plan(2)'s prompt pointed at its own pack: milestone 2's part of TICKETS.md and the batches.
    let pack =
        std::fs::read_to_string(p.dir.join(".leapfrog/context/milestone-2/plan.md")).unwrap();
    assert!(
        pack.starts_with("# Context: plan of milestone 2\n"),
        "{pack}"
    );
    assert!(
        pack.contains("## Milestone 2 in TICKETS.md\n\n# Milestone 2: Polish"),
        "{pack}"
    );
    assert!(pack.contains("- Milestone 1: The greeting\n"), "{pack}");
}
