//! Batches on branches with the demo agents and real git: each batch built on its own branch in
//! the builder's worktree, accepted batches merged in order at sync points, conflicts held and
//! resolved both ways, "Undo this phase", and a clean-up that never deletes unmerged work.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use leapfrog_engine::model::{PhaseKind, PhaseOutcome};
use leapfrog_engine::orchestrator::{Command as Cmd, EngineEvent, Orchestrator, Snapshot};
use leapfrog_engine::scheduler::PhaseId;
use serde_json::Value;
use support::*;

fn edit_config(p: &Project, f: impl FnOnce(&mut Value)) {
    let path = p.dir.join(".leapfrog/project.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    f(&mut config);
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    git(&p.dir, &["commit", "-qam", "test: project settings"]);
    trust(&p.dir, &p.data);
}

/// A second builder like the first, and batch 2 built after no other batch.
fn two_builders_independent_batch_2(p: &Project, builder_args: &[&str]) {
    edit_config(p, |c| {
        let agents = c["agents"].as_array_mut().unwrap();
        for a in agents.iter_mut().filter(|a| a["id"] == "builder") {
            let args = a["args"].as_array_mut().unwrap();
            args.extend(builder_args.iter().map(|s| Value::from(*s)));
        }
        let mut second = agents
            .iter()
            .find(|a| a["id"] == "builder")
            .unwrap()
            .clone();
        second["id"] = "builder2".into();
        agents.push(second);
        c["builds_after"] = serde_json::json!({"2": []});
    });
}

/// The files batch `n`'s recorded diff changes.
fn diff_files(dir: &Path, n: u32) -> Vec<String> {
    let range = format!("refs/leapfrog/batch-{n}/base..refs/leapfrog/batch-{n}/head");
    let mut files: Vec<String> = git(dir, &["diff", "--name-only", &range])
        .lines()
        .map(str::to_string)
        .collect();
    files.sort();
    files
}

fn merges_on(dir: &Path, branch: &str) -> Vec<String> {
    git(
        dir,
        &["log", "--merges", "--reverse", "--format=%s", branch],
    )
    .lines()
    .filter(|s| s.starts_with("Merge batch"))
    .map(str::to_string)
    .collect()
}

#[test]
fn three_batches_are_built_on_their_branches_in_a_worktree_merged_in_order_and_cleaned_up() {
    let p = demo(3, 8.0, 8.0);
    let o = leap_run(&p, &[]).output().unwrap();
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{said}");
    assert_eq!(
        merges_on(&p.dir, "master"),
        [
            "Merge batch 1 (leapfrog/batch-1)",
            "Merge batch 2 (leapfrog/batch-2)",
            "Merge batch 3 (leapfrog/batch-3)"
        ]
    );
    assert!(said.contains("batches 1, 2 merged into master"), "{said}");
    // Each batch's diff is exactly its own tickets' scripts, though batch 2 was stacked on
    // batch 1's branch and brought in master's later designs.
    assert_eq!(diff_files(&p.dir, 1), ["src/t-001.sh", "src/t-002.sh"]);
    assert_eq!(
        diff_files(&p.dir, 2),
        ["src/t-003.sh", "src/t-004.sh", "src/t-005.sh"]
    );
    assert_eq!(diff_files(&p.dir, 3), ["src/t-006.sh", "src/t-007.sh"]);
    // `leap diff` means the same diff.
    let o = Command::new(LEAP)
        .args(["diff", "--batch", "2", "--stat"])
        .arg(&p.dir)
        .output()
        .unwrap();
    let stat = String::from_utf8_lossy(&o.stdout);
    for f in ["src/t-003.sh", "src/t-004.sh", "src/t-005.sh"] {
        assert!(stat.contains(f), "{stat}");
    }
    assert!(!stat.contains("t-001"), "{stat}");
    // Builds happened in the builder's worktree, never in the project's checkout, which stayed
    // on master throughout; every build commit is on its batch's branch history.
    assert_eq!(git(&p.dir, &["branch", "--show-current"]), "master");
    let build_commits = git(&p.dir, &["log", "--format=%s", "master"]);
    assert!(build_commits.contains("T-001: "), "{build_commits}");
    // Clean-up: merged branches deleted, the worktree removed, the diff refs kept.
    assert_eq!(git(&p.dir, &["branch", "--list", "leapfrog/*"]), "");
    assert_eq!(git(&p.dir, &["worktree", "list"]).lines().count(), 1);
    assert!(!p.dir.join(".leapfrog/worktrees/builder").exists());
    assert!(git(&p.dir, &["for-each-ref", "refs/leapfrog/batch-3/head"]).contains("batch-3"));
    // The worktree never showed in the project's status.
    assert!(
        !git(&p.dir, &["status", "--porcelain"]).contains("worktrees"),
        "{}",
        git(&p.dir, &["status", "--porcelain"])
    );
}

#[test]
fn two_builders_build_independent_batches_at_once_and_both_are_integrated() {
    let p = demo(2, 8.0, 1.5);
    two_builders_independent_batch_2(&p, &[]);
    let o = leap_run(&p, &[]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let builds: Vec<_> = runs_in_store(&p)
        .into_iter()
        .filter(|r| r.kind == PhaseKind::Build && r.outcome == PhaseOutcome::Passed)
        .collect();
    assert_eq!(builds.len(), 2, "{builds:?}");
    let (a, b) = (&builds[0], &builds[1]);
    assert_ne!(a.agent, b.agent, "{builds:?}");
    assert!(
        a.started_at < b.ended_at.unwrap() && b.started_at < a.ended_at.unwrap(),
        "the two builds did not overlap: {builds:?}"
    );
    // Batch 2 branched from master, not from batch 1: its diff has only its own scripts, and
    // its branch never held batch 1's.
    assert_eq!(diff_files(&p.dir, 1), ["src/t-001.sh", "src/t-002.sh"]);
    assert_eq!(
        diff_files(&p.dir, 2),
        ["src/t-003.sh", "src/t-004.sh", "src/t-005.sh"]
    );
    let base2 = git(&p.dir, &["rev-parse", "refs/leapfrog/batch-2/base"]);
    let head1 = git(&p.dir, &["rev-parse", "refs/leapfrog/batch-1/head"]);
    assert!(
        !Command::new("git")
            .arg("-C")
            .arg(&p.dir)
            .args(["merge-base", "--is-ancestor", &head1, &base2])
            .status()
            .unwrap()
            .success(),
        "batch 2 was stacked on batch 1"
    );
    assert_eq!(
        merges_on(&p.dir, "master"),
        [
            "Merge batch 1 (leapfrog/batch-1)",
            "Merge batch 2 (leapfrog/batch-2)"
        ]
    );
    for f in ["src/t-001.sh", "src/t-003.sh", "src/t-005.sh"] {
        assert!(p.dir.join(f).exists(), "{f} not integrated");
    }
    assert!(!p.dir.join(".leapfrog/worktrees/builder2").exists());
}

/// Two independent batches that both add `NOTES.md` conflict when the second is merged: the
/// sync point is held, nothing of batch 2 is in master, and verify waits.
fn held_by_a_conflict(p: &Project) -> (Orchestrator, std::sync::mpsc::Receiver<EngineEvent>) {
    two_builders_independent_batch_2(p, &["--touch", "NOTES.md"]);
    let (orch, events) = open_started(p);
    let mut held = String::new();
    wait_for(&events, "the sync point to be held", |e| match e {
        EngineEvent::Notification { message } if message.contains("is held") => {
            held = message.clone();
            true
        }
        _ => false,
    });
    assert!(
        held.contains("batch 2 (leapfrog/batch-2) conflicts with master in NOTES.md"),
        "{held}"
    );
    // The snapshot follows once the loop publishes it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let snap = loop {
        let snap = orch.state();
        if snap.held_sync.is_some() || std::time::Instant::now() > deadline {
            break snap;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let h = snap.held_sync.clone().expect("held in the snapshot");
    assert_eq!(
        (h.sync, h.batch, h.files.clone()),
        (1, Some(2), vec!["NOTES.md".to_string()])
    );
    assert!(snap.verifies.is_empty(), "verify ran: {:?}", snap.verifies);
    // The failed merge left master exactly as it was: batch 1 merged, no merge in progress.
    assert_eq!(
        merges_on(&p.dir, "master"),
        ["Merge batch 1 (leapfrog/batch-1)"]
    );
    assert!(!p.dir.join(".git/MERGE_HEAD").exists());
    (orch, events)
}

fn wait_finished(events: &std::sync::mpsc::Receiver<EngineEvent>) {
    wait_for(events, "the run to finish", |e| {
        matches!(e, EngineEvent::Finished)
    });
}

/// The snapshot once the loop published the finished run.
fn finished_state(orch: &Orchestrator) -> Snapshot {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let snap = orch.state();
        if snap.finished || std::time::Instant::now() > deadline {
            return snap;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_conflict_at_a_sync_point_resolved_by_the_user_then_retried() {
    let p = demo(2, 8.0, 1.5);
    let (orch, events) = held_by_a_conflict(&p);
    // Retrying before it is resolved says so again, and changes nothing.
    let e = orch.command(Cmd::RunVerify).unwrap_err();
    assert!(e.contains("conflicts with master in NOTES.md"), "{e}");
    // The user merges in the project's checkout, keeps both lines, commits, and retries.
    let merge = Command::new("git")
        .arg("-C")
        .arg(&p.dir)
        .args(["merge", "--no-edit", "leapfrog/batch-2"])
        .output()
        .unwrap();
    assert!(!merge.status.success());
    std::fs::write(
        p.dir.join("NOTES.md"),
        "Batch 1 was built here.\nBatch 2 was built here.\n",
    )
    .unwrap();
    git(&p.dir, &["add", "NOTES.md"]);
    git(&p.dir, &["commit", "-q", "--no-edit"]);
    let said = orch.command(Cmd::RunVerify).unwrap();
    assert!(said.contains("integrated, verify started"), "{said}");
    wait_finished(&events);
    let snap = finished_state(&orch);
    assert!(snap.held_sync.is_none());
    assert_eq!(snap.verifies.last().and_then(|v| v.passed), Some(true));
    assert_eq!(
        std::fs::read_to_string(p.dir.join("NOTES.md")).unwrap(),
        "Batch 1 was built here.\nBatch 2 was built here.\n"
    );
}

#[test]
fn a_conflict_at_a_sync_point_handed_to_the_builder_is_merged_on_the_batch_branch() {
    let p = demo(2, 8.0, 1.5);
    let (orch, events) = held_by_a_conflict(&p);
    let said = orch.command(Cmd::ConflictToBuilder).unwrap();
    assert!(
        said.contains("resolves batch 2's conflict with master"),
        "{said}"
    );
    wait_finished(&events);
    let snap = finished_state(&orch);
    assert!(snap.held_sync.is_none(), "{:?}", snap.held_sync);
    assert_eq!(snap.verifies.last().and_then(|v| v.passed), Some(true));
    // The builder merged master into leapfrog/batch-2 and kept both sides; master then took it.
    let notes = std::fs::read_to_string(p.dir.join("NOTES.md")).unwrap();
    assert!(
        notes.contains("Batch 1 was built here.") && notes.contains("Batch 2 was built here."),
        "{notes}"
    );
    assert_eq!(
        merges_on(&p.dir, "master"),
        [
            "Merge batch 1 (leapfrog/batch-1)",
            "Merge batch 2 (leapfrog/batch-2)"
        ]
    );
    let on_branch = git(&p.dir, &["log", "--format=%s", "leapfrog/batch-2"]);
    assert!(on_branch.contains("Merge branch 'master'"), "{on_branch}");
}

#[test]
fn undo_this_phase_puts_the_builders_files_back_and_keeps_what_it_replaced() {
    let p = demo(1, 8.0, 8.0);
    let (orch, events) = open_started(&p);
    wait_finished(&events);
    let wt = p.dir.join(".leapfrog/worktrees/builder");
    assert!(wt.join("src/t-001.sh").exists());
    // An uncommitted change the user made after the build is kept too.
    std::fs::write(wt.join("scratch.txt"), "mine\n").unwrap();
    let built = git(&wt, &["rev-parse", "HEAD"]);
    let said = orch
        .command(Cmd::UndoPhase {
            agent: "builder".into(),
        })
        .unwrap();
    assert!(said.contains("back to before the build(1)"), "{said}");
    // The files are as they were when build(1) started: its scripts and the scratch file gone.
    assert!(!wt.join("src/t-001.sh").exists());
    assert!(!wt.join("scratch.txt").exists());
    assert_eq!(
        git(&wt, &["rev-parse", "HEAD"]),
        git(&p.dir, &["rev-parse", "refs/leapfrog/batch-1/base"])
    );
    // What it replaced is a checkpoint: the build's commits and the scratch file.
    let saved = said.rsplit("kept in ").next().unwrap().trim().to_string();
    let files = git(&p.dir, &["ls-tree", "-r", "--name-only", &saved]);
    assert!(
        files.contains("src/t-001.sh") && files.contains("scratch.txt"),
        "{files}"
    );
    assert_eq!(git(&p.dir, &["rev-parse", &format!("{saved}^")]), built);
    // With no earlier phase of the builder, there is nothing further back.
    let e = orch
        .command(Cmd::UndoPhase {
            agent: "builder".into(),
        })
        .unwrap_err();
    assert!(e.contains("no checkpoint"), "{e}");
    orch.stop();
}

#[test]
fn the_clean_up_keeps_worktrees_and_branches_with_work_that_is_not_merged() {
    let p = demo(1, 8.0, 8.0);
    let (orch, events) = open_started(&p);
    wait_finished(&events);
    let wt = p.dir.join(".leapfrog/worktrees/builder");
    // After the run: a commit on the batch's branch that master does not have, and nothing else.
    std::fs::write(wt.join("late.txt"), "late\n").unwrap();
    git(&wt, &["add", "late.txt"]);
    git(&wt, &["commit", "-qm", "late work"]);
    let late = git(&wt, &["rev-parse", "HEAD"]);
    orch.stop();
    let mut kept = String::new();
    while let Ok(e) = events.recv_timeout(Duration::from_secs(5)) {
        if let EngineEvent::Notification { message } = e {
            if message.starts_with("kept after the run") {
                kept = message;
            }
        }
    }
    assert!(
        kept.contains("builder's worktree (commits not merged)"),
        "{kept}"
    );
    assert!(kept.contains("leapfrog/batch-1 (not merged)"), "{kept}");
    assert!(wt.join("late.txt").exists());
    assert_eq!(git(&p.dir, &["rev-parse", "leapfrog/batch-1"]), late);
}

#[test]
fn a_build_reported_from_another_branch_is_refused_in_words_and_recorded_once_put_right() {
    let p = demo(1, 8.0, 0.5);
    let (orch, events) = open_started(&p);
    wait_for(&events, "build(1) to be dispatched", |e| {
        matches!(
            e,
            EngineEvent::PhaseDispatched {
                phase: PhaseId::Build { batch: 1 },
                ..
            }
        )
    });
    // While the builder reads TICKETS.md, its worktree is switched to another branch: its
    // commits land there.
    let wt = p.dir.join(".leapfrog/worktrees/builder");
    git(&wt, &["switch", "-q", "-c", "elsewhere"]);
    // Both of the builder's reports are refused: its `leap complete` and the COMPLETE block it
    // prints after it (waiting for both, so neither is handled after the fix below).
    let mut refused = String::new();
    let mut refusals = 0;
    wait_for(&events, "both reports to be refused", |e| match e {
        EngineEvent::Notification { message } if message.contains("is on elsewhere") => {
            refused = message.clone();
            refusals += 1;
            refusals == 2
        }
        _ => false,
    });
    assert!(
        refused.contains("but batch 1 is built on leapfrog/batch-1: Leapfrog records nothing"),
        "{refused}"
    );
    // Nothing was recorded: batch 1's diff has no end, and the build still runs (marking it
    // complete below would be refused otherwise).
    assert!(
        git(&p.dir, &["for-each-ref", "refs/leapfrog/batch-1/head"]).is_empty(),
        "a head was recorded"
    );
    // Put right as the words say, then marked complete: recorded, reviewed, merged.
    git(&wt, &["switch", "-q", "leapfrog/batch-1"]);
    git(&wt, &["merge", "-q", "--ff-only", "elsewhere"]);
    orch.command(Cmd::MarkComplete {
        phase: PhaseId::Build { batch: 1 },
        passed: true,
    })
    .unwrap();
    wait_finished(&events);
    assert_eq!(diff_files(&p.dir, 1), ["src/t-001.sh", "src/t-002.sh"]);
    assert_eq!(
        merges_on(&p.dir, "master"),
        ["Merge batch 1 (leapfrog/batch-1)"]
    );
}
