//! Batches on branches, diffs and integration, on real git repositories in temp folders.

use std::path::{Path, PathBuf};
use std::process::Command;

use leapfrog_engine::git::{integrate, FileChange, Integration, IntegrationOutcome, Repo};

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t.invalid")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// A repository on `main` with one commit (a.txt, b.txt).
fn repo() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    std::fs::create_dir(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "main"]);
    git(&dir, &["config", "user.name", "t"]);
    git(&dir, &["config", "user.email", "t@t.invalid"]);
    git(&dir, &["config", "commit.gpgsign", "false"]);
    std::fs::write(dir.join("a.txt"), "one\ntwo\nthree\n").unwrap();
    std::fs::write(dir.join("b.txt"), "b\n").unwrap();
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-qm", "start"]);
    (tmp, dir)
}

/// Commits `text` to `file` on `branch` (created from `from`), in a throwaway worktree.
fn commit_on(dir: &Path, branch: &str, from: &str, file: &str, text: &str) -> String {
    let wt = dir.with_file_name(format!("wt-{}", branch.replace('/', "-")));
    if !wt.exists() {
        let exists = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "rev-parse",
                "-q",
                "--verify",
                &format!("refs/heads/{branch}"),
            ])
            .output()
            .unwrap()
            .status
            .success();
        let path = wt.display().to_string();
        if exists {
            git(dir, &["worktree", "add", "-q", &path, branch]);
        } else {
            git(dir, &["worktree", "add", "-q", "-b", branch, &path, from]);
        }
    }
    std::fs::write(wt.join(file), text).unwrap();
    git(&wt, &["add", file]);
    git(&wt, &["commit", "-qm", &format!("{branch}: {file}")]);
    git(&wt, &["rev-parse", "HEAD"])
}

#[test]
fn checkouts_that_cannot_hold_batches_are_refused_in_words() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let (_t, dir) = repo();
    let bare = tmp.path().join("bare.git");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--bare",
            &dir.display().to_string(),
            "bare.git",
        ],
    );
    let shallow = tmp.path().join("shallow");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &format!("file://{}", dir.display()),
            "shallow",
        ],
    );
    let detached = tmp.path().join("detached");
    git(
        tmp.path(),
        &["clone", "-q", &dir.display().to_string(), "detached"],
    );
    git(&detached, &["checkout", "-q", "--detach", "HEAD"]);
    let cases: &[(&Path, &str)] = &[
        (&plain, "is not a git repository: run `git init`"),
        (&bare, "is a bare git repository"),
        (&shallow, "is a shallow clone"),
        (&detached, "has a detached HEAD (at "),
    ];
    for (dir, want) in cases {
        let e = Repo::open(dir).unwrap_err();
        assert!(e.contains(want), "{}: {e}", dir.display());
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    assert_eq!(Repo::open(&dir).unwrap().branch().unwrap(), "main");
}

#[test]
fn a_batch_branch_its_diff_and_its_files() {
    let (_t, dir) = repo();
    let r = Repo::open(&dir).unwrap();
    let base = r.commit("main").unwrap();
    r.start_branch("leapfrog/batch-1", "main").unwrap();
    let head = commit_on(
        &dir,
        "leapfrog/batch-1",
        "leapfrog/batch-1",
        "a.txt",
        "one\n2\nthree\nfour\n",
    );
    // Kept when it already contains the base; refused when it is other work.
    r.start_branch("leapfrog/batch-1", &base).unwrap();
    commit_on(&dir, "other", "main", "b.txt", "other\n");
    let e = r.start_branch("other", &head).unwrap_err();
    assert!(
        e.contains("branch other exists at") && e.contains("does not contain"),
        "{e}"
    );
    let diff = r.diff(&base, &head).unwrap();
    assert!(
        diff.contains("-two\n+2\n") && diff.contains("+four"),
        "{diff}"
    );
    assert_eq!(
        r.changed_files(&base, &head).unwrap(),
        vec![FileChange {
            path: "a.txt".into(),
            added: Some(2),
            removed: Some(1)
        }]
    );
}

/// Two batches built side by side from main are both merged, in order, into main at the sync
/// point (the project's checkout is on a batch branch, so main is checked out in a worktree);
/// a second integration merges nothing new.
#[test]
fn independent_batches_are_integrated_in_order() {
    let (_t, dir) = repo();
    let r = Repo::open(&dir).unwrap();
    let start = r.commit("main").unwrap();
    commit_on(
        &dir,
        "leapfrog/batch-1",
        "main",
        "a.txt",
        "ONE\ntwo\nthree\n",
    );
    commit_on(&dir, "leapfrog/batch-2", "main", "b.txt", "B\n");
    git(&dir, &["switch", "-q", "-c", "elsewhere"]);
    let plan = Integration {
        branch: "main".into(),
        expected_head: Some(start.clone()),
        batches: vec![
            (1, "leapfrog/batch-1".into()),
            (2, "leapfrog/batch-2".into()),
        ],
        worktree: dir.join(".leapfrog/worktrees/integration"),
    };
    let IntegrationOutcome::Integrated {
        head,
        checkout,
        merged,
    } = integrate(&r, &plan).unwrap()
    else {
        panic!("conflict")
    };
    assert_eq!(merged.iter().map(|m| m.0).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(checkout, plan.worktree);
    assert_eq!(
        std::fs::read_to_string(checkout.join("a.txt")).unwrap(),
        "ONE\ntwo\nthree\n"
    );
    assert_eq!(
        std::fs::read_to_string(checkout.join("b.txt")).unwrap(),
        "B\n"
    );
    let log = git(&dir, &["log", "--format=%s", "main"]);
    assert!(
        log.starts_with("Merge batch 2 (leapfrog/batch-2)\nMerge batch 1"),
        "{log}"
    );
    // The worktree is not something the project's status shows.
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");
    // Again: nothing new to merge.
    let again = Integration {
        expected_head: Some(head.clone()),
        ..plan
    };
    match integrate(&r, &again).unwrap() {
        IntegrationOutcome::Integrated {
            head: h, merged, ..
        } => {
            assert_eq!(h, head);
            assert!(merged.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

/// A batch that conflicts: the batches before it are merged, its merge is aborted and the
/// integration checkout is exactly as it was; resolved on the batch branch, it merges on retry.
#[test]
fn a_conflicting_batch_leaves_the_integration_branch_as_it_was_and_merges_once_resolved() {
    let (_t, dir) = repo();
    let r = Repo::open(&dir).unwrap();
    commit_on(
        &dir,
        "leapfrog/batch-1",
        "main",
        "a.txt",
        "one\nTWO (batch 1)\nthree\n",
    );
    commit_on(
        &dir,
        "leapfrog/batch-2",
        "main",
        "a.txt",
        "one\ntwo (batch 2)\nthree\n",
    );
    let plan = Integration {
        branch: "main".into(),
        expected_head: None,
        batches: vec![
            (1, "leapfrog/batch-1".into()),
            (2, "leapfrog/batch-2".into()),
        ],
        worktree: dir.join(".leapfrog/worktrees/integration"),
    };
    // main is checked out in the project itself: the merge happens there.
    let IntegrationOutcome::Conflict {
        batch,
        files,
        merged,
    } = integrate(&r, &plan).unwrap()
    else {
        panic!("no conflict")
    };
    assert_eq!((batch, files), (2, vec!["a.txt".to_string()]));
    assert_eq!(merged.len(), 1);
    let after_first = git(&dir, &["rev-parse", "main"]);
    assert_eq!(
        git(&dir, &["status", "--porcelain"]),
        "",
        "a clean checkout"
    );
    assert!(!dir.join(".git/MERGE_HEAD").exists());
    assert!(
        !plan.worktree.exists(),
        "main was checked out in the project"
    );
    // One way: the builder resolves it on its branch (merging main in); the retry merges.
    let wt = dir.with_file_name("wt-leapfrog-batch-2");
    let _ = Command::new("git")
        .arg("-C")
        .arg(&wt)
        .args(["merge", "-q", "main"])
        .output();
    std::fs::write(
        wt.join("a.txt"),
        "one\nTWO (batch 1) and two (batch 2)\nthree\n",
    )
    .unwrap();
    git(&wt, &["add", "a.txt"]);
    git(&wt, &["commit", "-qm", "resolve"]);
    let retry = Integration {
        expected_head: Some(after_first),
        ..plan
    };
    match integrate(&r, &retry).unwrap() {
        IntegrationOutcome::Integrated { merged, .. } => {
            assert_eq!(merged.iter().map(|m| m.0).collect::<Vec<_>>(), vec![2])
        }
        other => panic!("{other:?}"),
    }
    assert!(std::fs::read_to_string(dir.join("a.txt"))
        .unwrap()
        .contains("TWO (batch 1) and two (batch 2)"));
}

/// The user moved the integration branch (a rewrite): nothing is merged. New commits on top of
/// it, and uncommitted changes the merge does not touch, are fine; a merge that would overwrite
/// an uncommitted change is refused by git and leaves the checkout as it was.
#[test]
fn a_moved_integration_branch_or_a_change_in_the_way_is_refused_and_nothing_merged() {
    let (_t, dir) = repo();
    std::fs::write(dir.join("a.txt"), "second\n").unwrap();
    git(&dir, &["commit", "-qam", "second"]);
    let r = Repo::open(&dir).unwrap();
    let start = r.commit("main").unwrap();
    commit_on(&dir, "leapfrog/batch-1", "main", "b.txt", "B\n");
    let plan = Integration {
        branch: "main".into(),
        expected_head: Some(start.clone()),
        batches: vec![(1, "leapfrog/batch-1".into())],
        worktree: dir.join(".leapfrog/worktrees/integration"),
    };
    // An uncommitted change to the file the batch changes: git refuses, nothing changes.
    std::fs::write(dir.join("b.txt"), "user edit\n").unwrap();
    let e = integrate(&r, &plan).unwrap_err();
    assert!(e.contains("cannot merge leapfrog/batch-1"), "{e}");
    assert_eq!(r.commit("main").unwrap(), start);
    assert_eq!(
        std::fs::read_to_string(dir.join("b.txt")).unwrap(),
        "user edit\n"
    );
    git(&dir, &["checkout", "--", "b.txt"]);
    // Rewritten under the run (amend): refused, nothing merged.
    std::fs::write(dir.join("d.txt"), "rewrite\n").unwrap();
    git(&dir, &["add", "d.txt"]);
    git(
        &dir,
        &["commit", "-q", "--amend", "-m", "the user's rewrite"],
    );
    let e = integrate(&r, &plan).unwrap_err();
    assert!(
        e.contains("was moved during the run") && e.contains("no longer contains"),
        "{e}"
    );
    assert_eq!(
        git(&dir, &["log", "--format=%s", "-1", "main"]),
        "the user's rewrite"
    );
    // New commits on top of where it was (a designer's in a shared checkout), with an
    // uncommitted change elsewhere: merged.
    let rewritten = r.commit("main").unwrap();
    std::fs::write(dir.join("TICKETS.md"), "designer\n").unwrap();
    git(&dir, &["add", "TICKETS.md"]);
    git(&dir, &["commit", "-qm", "design"]);
    std::fs::write(dir.join("TICKETS.md"), "status edit\n").unwrap();
    let on_top = Integration {
        expected_head: Some(rewritten),
        ..plan
    };
    assert!(matches!(
        integrate(&r, &on_top).unwrap(),
        IntegrationOutcome::Integrated { .. }
    ));
    assert_eq!(std::fs::read_to_string(dir.join("b.txt")).unwrap(), "B\n");
    assert_eq!(
        std::fs::read_to_string(dir.join("TICKETS.md")).unwrap(),
        "status edit\n"
    );
}

#[test]
fn a_batch_diff_is_what_changed_between_its_two_recorded_refs() {
    let (_tmp, dir) = repo();
    let repo = Repo::work_tree(&dir).unwrap();
    assert!(repo
        .batch_range(1)
        .unwrap_err()
        .contains("batch 1 has no recorded build"));
    let base = repo.record_batch_base(1).unwrap();
    assert!(repo
        .batch_range(1)
        .unwrap_err()
        .contains("has not completed yet"));
    std::fs::write(dir.join("c.txt"), "new\n").unwrap();
    git(&dir, &["add", "c.txt"]);
    git(&dir, &["commit", "-qm", "T-001"]);
    let head = repo.record_batch_head(1).unwrap();
    let range = repo.batch_range(1).unwrap();
    assert_eq!(
        (range.base.as_str(), range.head.as_str()),
        (base.as_str(), head.as_str())
    );
    assert_ne!(base, head);
    assert_eq!(
        repo.changed_files(&range.base, &range.head).unwrap(),
        [FileChange {
            path: "c.txt".into(),
            added: Some(1),
            removed: Some(0),
        }]
    );
    // Any git tool reads the same refs.
    assert_eq!(
        git(
            &dir,
            &[
                "diff",
                "--name-only",
                "refs/leapfrog/batch-1/base",
                "refs/leapfrog/batch-1/head"
            ]
        ),
        "c.txt"
    );
    // A new start forgets the old end.
    repo.record_batch_base(1).unwrap();
    assert_eq!(repo.batch_refs(1), (Some(head.clone()), None));
    // Outside git, or in a repository with no commit yet, there is nothing to record in.
    let empty = dir.with_file_name("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(Repo::work_tree(&empty).is_none());
    git(&empty, &["init", "-q"]);
    assert!(Repo::work_tree(&empty).is_none());
}

#[test]
fn a_builders_worktree_is_out_of_the_projects_status_and_gets_its_linked_folders() {
    let (_tmp, dir) = repo();
    // An untracked, ignored folder the builds need (node_modules), linked rather than copied.
    std::fs::write(dir.join(".gitignore"), "node_modules/\n").unwrap();
    git(&dir, &["add", ".gitignore"]);
    git(&dir, &["commit", "-qm", "ignore"]);
    std::fs::create_dir_all(dir.join("node_modules/left-pad")).unwrap();
    std::fs::write(dir.join("node_modules/left-pad/index.js"), "x\n").unwrap();
    let main = Repo::open(&dir).unwrap();
    let path = dir.join(".leapfrog/worktrees/builder");
    let wt = main
        .builder_worktree(
            &path,
            "main",
            &["node_modules".to_string(), "missing".to_string()],
        )
        .unwrap();
    assert_eq!(
        git(&path, &["rev-parse", "HEAD"]),
        git(&dir, &["rev-parse", "main"])
    );
    assert!(std::fs::symlink_metadata(path.join("node_modules"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(path.join("node_modules/left-pad/index.js").exists());
    assert!(!path.join("missing").exists());
    assert_eq!(git(&dir, &["status", "--porcelain"]), "");
    // Opening it again reuses it; a branch is checked out only from a clean tree.
    let again = main.builder_worktree(&path, "main", &[]).unwrap();
    assert_eq!(again.dir(), wt.dir());
    git(&dir, &["branch", "leapfrog/batch-1", "main"]);
    std::fs::write(path.join("a.txt"), "changed\n").unwrap();
    let e = wt.switch("leapfrog/batch-1").unwrap_err();
    assert!(e.contains("has uncommitted changes"), "{e}");
    git(&path, &["checkout", "a.txt"]);
    wt.switch("leapfrog/batch-1").unwrap();
    assert_eq!(wt.branch().unwrap(), "leapfrog/batch-1");
    // What a builder leaves uncommitted is committed for it, untracked files included.
    std::fs::write(path.join("new.txt"), "new\n").unwrap();
    let c = wt.commit_all("left over").unwrap().expect("a commit");
    assert_eq!(
        git(&path, &["show", "--name-only", "--format=", &c]),
        "new.txt"
    );
    assert_eq!(wt.commit_all("nothing").unwrap(), None);
}

#[test]
fn a_checkpoint_keeps_uncommitted_and_untracked_files_and_restoring_it_keeps_what_it_replaces() {
    let (_tmp, dir) = repo();
    std::fs::write(dir.join(".gitignore"), "target/\n").unwrap();
    git(&dir, &["add", ".gitignore"]);
    git(&dir, &["commit", "-qm", "ignore"]);
    let repo = Repo::open(&dir).unwrap();
    // Before a phase: one uncommitted change, one untracked file, one ignored file.
    std::fs::write(dir.join("a.txt"), "one\ntwo (edited)\nthree\n").unwrap();
    std::fs::write(dir.join("notes.txt"), "draft\n").unwrap();
    std::fs::create_dir_all(dir.join("target")).unwrap();
    std::fs::write(dir.join("target/big.bin"), "build output\n").unwrap();
    let status_before = git(&dir, &["status", "--porcelain"]);
    let cp = repo.checkpoint("builder", "build(1)").unwrap();
    assert_eq!(cp.name, "refs/leapfrog/checkpoints/builder/1");
    // Taking it changed nothing in the checkout (a private index).
    assert_eq!(git(&dir, &["status", "--porcelain"]), status_before);
    let files = git(&dir, &["ls-tree", "-r", "--name-only", &cp.commit]);
    assert!(
        files.contains("notes.txt") && !files.contains("target/"),
        "{files}"
    );
    assert_eq!(
        git(&dir, &["show", &format!("{}:a.txt", cp.commit)]),
        "one\ntwo (edited)\nthree"
    );
    // The phase commits, edits and adds files.
    git(&dir, &["commit", "-qam", "phase work"]);
    std::fs::write(dir.join("b.txt"), "b (phase)\n").unwrap();
    std::fs::write(dir.join("phase.txt"), "from the phase\n").unwrap();
    let phase_head = git(&dir, &["rev-parse", "HEAD"]);
    // Undo: back to the checkpoint, exactly: HEAD, the uncommitted edit, the untracked file.
    let saved = repo.restore("builder", &cp).unwrap();
    assert_eq!(git(&dir, &["rev-parse", "HEAD"]), cp.head);
    assert_eq!(
        std::fs::read_to_string(dir.join("a.txt")).unwrap(),
        "one\ntwo (edited)\nthree\n"
    );
    assert_eq!(std::fs::read_to_string(dir.join("b.txt")).unwrap(), "b\n");
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "draft\n"
    );
    assert!(!dir.join("phase.txt").exists());
    assert!(
        dir.join("target/big.bin").exists(),
        "an ignored file was removed"
    );
    assert_eq!(git(&dir, &["status", "--porcelain"]), status_before);
    // What the undo replaced is a checkpoint of its own: the phase's commit and its files.
    assert_eq!(saved.name, "refs/leapfrog/checkpoints/builder/2");
    assert_eq!(
        git(&dir, &["rev-parse", &format!("{}^", saved.commit)]),
        phase_head
    );
    assert_eq!(
        git(&dir, &["show", &format!("{}:phase.txt", saved.commit)]),
        "from the phase"
    );
    let labels: Vec<String> = repo
        .checkpoints("builder")
        .into_iter()
        .map(|c| c.label)
        .collect();
    assert_eq!(labels, ["build(1)", "undo of the build(1)"]);
}
