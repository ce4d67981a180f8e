//! Git for batches: each batch on its own branch, its diff defined by two recorded commits, and
//! accepted batches merged locally into the integration branch at sync points.
//!
//! Everything runs the user's own `git` (its config, hooks and signing), in the project's checkout
//! or in a worktree under `.leapfrog/worktrees/`. A failed merge is aborted, so the repository is
//! left exactly as it was before that merge.
//!
//! ```text
//! Repo::open(dir)                      refuses: not a repository, bare, shallow, detached HEAD
//! repo.branch() / repo.commit(rev)     where things are
//! repo.start_branch(name, base)        a batch's branch (kept if it exists at a descendant)
//! repo.diff(base, head)                the batch diff: `git diff base head`
//! repo.changed_files(base, head)       per file: path, lines added / removed
//! integrate(&repo, &Integration)       merges batch branches, in order, into the integration branch
//! record_batch_base / _head, batch_range  the batch diff's two ends, kept as private refs
//! ```
//!
//! A batch's diff is defined by two refs the orchestrator writes: `refs/leapfrog/batch-N/base`
//! (HEAD when the batch's build, or a fix after a failed review, was dispatched) and
//! `refs/leapfrog/batch-N/head` (HEAD when that build or fix completed): what the next review
//! is about. The reviewer's prompt, `leap diff --batch N` and the app's review
//! view all read the same two refs, and any git tool can (`git diff refs/leapfrog/batch-2/base
//! refs/leapfrog/batch-2/head`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

/// The default name of batch `n`'s branch.
pub fn batch_branch(prefix: &str, n: u32) -> String {
    format!("{}{n}", prefix)
}

/// The default branch prefix: `leapfrog/batch-1`, `leapfrog/batch-2`, ...
pub const DEFAULT_BRANCH_PREFIX: &str = "leapfrog/batch-";

/// The private ref holding one end (`base` or `head`) of batch `n`'s diff.
pub fn batch_ref(n: u32, end: &str) -> String {
    format!("refs/leapfrog/batch-{n}/{end}")
}

/// A batch diff's two ends, as full commit hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BatchRange {
    pub batch: u32,
    pub base: String,
    pub head: String,
}

/// The `git` section of `.leapfrog/project.json`: batches on branches.
///
/// ```json
/// "git": {"branches": true, "branch_prefix": "leapfrog/batch-", "integration_branch": "main",
///         "worktrees_dir": ".leapfrog/worktrees", "link": ["node_modules"]}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitSettings {
    /// Each batch is built on its own branch, by its builder in a worktree of its own, and
    /// accepted batches are merged into the integration branch at sync points.
    #[serde(default)]
    pub branches: bool,
    /// Batch N's branch is `<prefix>N`.
    #[serde(default = "default_prefix")]
    pub branch_prefix: String,
    /// The branch accepted batches go into (default: the branch the project is on when the run
    /// starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_branch: Option<String>,
    /// Where builders' worktrees live, relative to the project or absolute (default
    /// `.leapfrog/worktrees`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktrees_dir: Option<String>,
    /// Untracked folders of the project linked into every worktree (`node_modules`, a build
    /// cache), like `.worktreeinclude` in other tools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<String>,
}

fn default_prefix() -> String {
    DEFAULT_BRANCH_PREFIX.to_string()
}

impl GitSettings {
    /// Branches on, everything else by default.
    pub fn branches() -> GitSettings {
        GitSettings {
            branches: true,
            branch_prefix: default_prefix(),
            integration_branch: None,
            worktrees_dir: None,
            link: Vec::new(),
        }
    }

    /// The folder holding the builders' worktrees.
    pub fn worktrees_in(&self, project_dir: &Path) -> PathBuf {
        let dir = self
            .worktrees_dir
            .as_deref()
            .unwrap_or(".leapfrog/worktrees");
        project_dir.join(dir)
    }

    /// Batch `n`'s branch.
    pub fn branch_of(&self, n: u32) -> String {
        batch_branch(&self.branch_prefix, n)
    }
}

/// The private ref marking where Leapfrog last left the integration branch: a branch that no
/// longer contains it was moved by hand.
pub const INTEGRATED_REF: &str = "refs/leapfrog/integrated";

/// A checkpoint: the whole state of a checkout before a phase (HEAD, and every uncommitted or
/// untracked file that is not ignored) as a commit whose parent is that HEAD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Checkpoint {
    /// `refs/leapfrog/checkpoints/<agent>/<n>`.
    pub name: String,
    pub commit: String,
    /// HEAD when it was taken.
    pub head: String,
    /// The branch checked out then (none: detached).
    pub branch: Option<String>,
    /// What it was taken before ("build of batch 2").
    pub label: String,
}

/// A git checkout (the project's, or a worktree) that Leapfrog may work with.
#[derive(Debug, Clone)]
pub struct Repo {
    dir: PathBuf,
}

/// One file of a batch diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FileChange {
    pub path: String,
    /// Lines added and removed (`None` for a binary file).
    pub added: Option<u32>,
    pub removed: Option<u32>,
}

impl Repo {
    /// The checkout containing `dir`, refused in words when Leapfrog cannot put batches on
    /// branches there: not a repository, a bare one, a shallow clone, or a detached HEAD.
    pub fn open(dir: &Path) -> Result<Repo, String> {
        let repo = Repo {
            dir: dir.to_path_buf(),
        };
        match repo.git(&["rev-parse", "--is-bare-repository", "--is-inside-work-tree"]) {
            Ok(out) => {
                let mut lines = out.lines();
                if lines.next() == Some("true") {
                    return Err(format!(
                        "{} is a bare git repository: batches need a checkout to be built in",
                        dir.display()
                    ));
                }
                if lines.next() != Some("true") {
                    return Err(format!("{} is not inside a git checkout", dir.display()));
                }
            }
            Err(_) => {
                return Err(format!(
                    "{} is not a git repository: run `git init` there (the setup wizard offers it)",
                    dir.display()
                ))
            }
        }
        if repo.git(&["rev-parse", "--is-shallow-repository"])? == "true" {
            return Err(format!(
                "{} is a shallow clone: batch diffs and merges need its history \
                 (`git fetch --unshallow`)",
                dir.display()
            ));
        }
        if repo.git(&["symbolic-ref", "-q", "HEAD"]).is_err() {
            let at = repo
                .git(&["rev-parse", "--short", "HEAD"])
                .unwrap_or_else(|_| "no commit".into());
            return Err(format!(
                "{} has a detached HEAD (at {at}): check out a branch (`git switch <branch>`) so \
                 accepted batches can be merged into it",
                dir.display()
            ));
        }
        Ok(repo)
    }

    /// A checkout Leapfrog made itself (a worktree): no checks.
    fn at(dir: &Path) -> Repo {
        Repo {
            dir: dir.to_path_buf(),
        }
    }

    /// The work tree containing `dir` when it has at least one commit, without [`Repo::open`]'s
    /// refusals: enough to record and read a batch's diff refs. `None` for a folder outside git.
    pub fn work_tree(dir: &Path) -> Option<Repo> {
        let repo = Repo {
            dir: dir.to_path_buf(),
        };
        (repo
            .git(&["rev-parse", "--is-inside-work-tree"])
            .ok()?
            .trim()
            == "true"
            && repo.commit("HEAD").is_ok())
        .then_some(repo)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs git here; its trimmed stdout, or its first error line.
    pub fn git(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            let line = err
                .lines()
                .map(|l| {
                    l.trim()
                        .trim_start_matches("fatal: ")
                        .trim_start_matches("error: ")
                })
                .find(|l| !l.is_empty())
                .unwrap_or("failed")
                .to_string();
            Err(format!(
                "git {}: {line}",
                args.first().copied().unwrap_or("")
            ))
        }
    }

    /// The branch checked out here.
    pub fn branch(&self) -> Result<String, String> {
        self.git(&["symbolic-ref", "-q", "--short", "HEAD"])
            .map_err(|_| format!("{} has a detached HEAD", self.dir.display()))
    }

    /// The commit `rev` names (a full hash).
    pub fn commit(&self, rev: &str) -> Result<String, String> {
        self.git(&["rev-parse", "--verify", "-q", &format!("{rev}^{{commit}}")])
            .map_err(|_| format!("no commit `{rev}` in {}", self.dir.display()))
    }

    /// Whether `a` is `b` or an ancestor of it.
    pub fn is_ancestor(&self, a: &str, b: &str) -> bool {
        self.git(&["merge-base", "--is-ancestor", a, b]).is_ok()
    }

    /// No staged or unstaged change to a tracked file (untracked files do not count).
    pub fn is_clean(&self) -> Result<bool, String> {
        Ok(self
            .git(&["status", "--porcelain", "--untracked-files=no"])?
            .is_empty())
    }

    /// Creates branch `name` at `base`, or keeps it when it exists and already contains `base`.
    /// A branch of that name that does not contain `base` is refused: it is someone's other work.
    pub fn start_branch(&self, name: &str, base: &str) -> Result<(), String> {
        let base = self.commit(base)?;
        match self.commit(&format!("refs/heads/{name}")) {
            Ok(tip) if self.is_ancestor(&base, &tip) => Ok(()),
            Ok(tip) => Err(format!(
                "branch {name} exists at {} and does not contain {}: rename or delete it, or \
                 choose another branch prefix",
                &tip[..12.min(tip.len())],
                &base[..12.min(base.len())]
            )),
            Err(_) => self.git(&["branch", name, &base]).map(|_| ()),
        }
    }

    /// The batch diff: `git diff base head` (renames found, no colour, no external diff tool).
    pub fn diff(&self, base: &str, head: &str) -> Result<String, String> {
        self.git(&["diff", "--no-color", "--no-ext-diff", "-M", base, head])
    }

    /// The files of the batch diff, with lines added and removed.
    pub fn changed_files(&self, base: &str, head: &str) -> Result<Vec<FileChange>, String> {
        let out = self.git(&["diff", "--numstat", "-z", "--no-renames", base, head])?;
        let mut files = Vec::new();
        for entry in out.split('\0').filter(|e| !e.is_empty()) {
            let mut f = entry.splitn(3, '\t');
            let (added, removed, path) = (f.next(), f.next(), f.next());
            if let Some(path) = path {
                files.push(FileChange {
                    path: path.to_string(),
                    added: added.and_then(|n| n.parse().ok()),
                    removed: removed.and_then(|n| n.parse().ok()),
                });
            }
        }
        Ok(files)
    }

    /// Records HEAD as the start of batch `n`'s diff (its build is being dispatched), and forgets
    /// an earlier end. Returns the commit. A repository without commits has no HEAD: an error.
    pub fn record_batch_base(&self, n: u32) -> Result<String, String> {
        let head = self.commit("HEAD")?;
        self.git(&["update-ref", &batch_ref(n, "base"), &head])?;
        let _ = self.git(&["update-ref", "-d", &batch_ref(n, "head")]);
        Ok(head)
    }

    /// Records HEAD as the end of batch `n`'s diff (its build or a fix completed).
    pub fn record_batch_head(&self, n: u32) -> Result<String, String> {
        let head = self.commit("HEAD")?;
        self.git(&["update-ref", &batch_ref(n, "head"), &head])?;
        Ok(head)
    }

    /// Whether batch `n`'s diff has a recorded start (and whether an end).
    pub fn batch_refs(&self, n: u32) -> (Option<String>, Option<String>) {
        (
            self.commit(&batch_ref(n, "base")).ok(),
            self.commit(&batch_ref(n, "head")).ok(),
        )
    }

    /// The batches with a recorded diff start, in order.
    pub fn recorded_batches(&self) -> Vec<u32> {
        let out = self
            .git(&["for-each-ref", "--format=%(refname)", "refs/leapfrog/"])
            .unwrap_or_default();
        let mut batches: Vec<u32> = out
            .lines()
            .filter_map(|r| {
                r.strip_prefix("refs/leapfrog/batch-")?
                    .strip_suffix("/base")
            })
            .filter_map(|n| n.parse().ok())
            .collect();
        batches.sort_unstable();
        batches
    }

    /// Batch `n`'s diff ends; an error in words when its build has not started or not completed.
    pub fn batch_range(&self, n: u32) -> Result<BatchRange, String> {
        match self.batch_refs(n) {
            (Some(base), Some(head)) => Ok(BatchRange {
                batch: n,
                base,
                head,
            }),
            (Some(_), None) => Err(format!(
                "batch {n}'s build has not completed yet: its diff has a start ({}) but no end",
                batch_ref(n, "base")
            )),
            _ => Err(format!(
                "batch {n} has no recorded build in {}: Leapfrog records a batch's diff when it \
                 runs the build ({})",
                self.dir.display(),
                batch_ref(n, "base")
            )),
        }
    }

    /// The worktree that has `branch` checked out, if any.
    pub fn worktree_of(&self, branch: &str) -> Result<Option<PathBuf>, String> {
        let list = self.git(&["worktree", "list", "--porcelain"])?;
        let want = format!("branch refs/heads/{branch}");
        let mut path = None;
        for line in list.lines() {
            if let Some(p) = line.strip_prefix("worktree ") {
                path = Some(PathBuf::from(p));
            } else if line == want {
                return Ok(path);
            }
        }
        Ok(None)
    }

    /// A worktree at `path` with `branch` checked out: the one there, or a new one. Its folder
    /// is kept out of the project's `git status` through `.git/info/exclude` when it lies inside.
    pub fn worktree(&self, path: &Path, branch: &str) -> Result<Repo, String> {
        if let Some(existing) = self.worktree_of(branch)? {
            return Ok(Repo::at(&existing));
        }
        if path.join(".git").exists() {
            let wt = Repo::at(path);
            wt.git(&["switch", "-q", branch])?;
            return Ok(wt);
        }
        self.exclude(path)?;
        self.git(&["worktree", "add", "-q", &path.display().to_string(), branch])?;
        Ok(Repo::at(path))
    }

    /// Adds `path` (relative to the checkout's top) to `.git/info/exclude` once.
    fn exclude(&self, path: &Path) -> Result<(), String> {
        let top = PathBuf::from(self.git(&["rev-parse", "--show-toplevel"])?);
        let Ok(rel) = path.strip_prefix(&top) else {
            return Ok(());
        };
        self.exclude_line(&format!("/{}/", rel.display()))
    }

    /// Adds `line` to the repository's `info/exclude` (shared by all its worktrees) once.
    fn exclude_line(&self, line: &str) -> Result<(), String> {
        let info = PathBuf::from(self.git(&["rev-parse", "--git-path", "info/exclude"])?);
        let info = if info.is_absolute() {
            info
        } else {
            self.dir.join(info)
        };
        let text = std::fs::read_to_string(&info).unwrap_or_default();
        if text.lines().any(|l| l == line) {
            return Ok(());
        }
        if let Some(dir) = info.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let sep = if text.is_empty() || text.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        std::fs::write(&info, format!("{text}{sep}{line}\n"))
            .map_err(|e| format!("cannot write {}: {e}", info.display()))
    }

    /// A builder's worktree at `path`: the one there, or a new one with `base` checked out
    /// detached (each batch's branch is switched to when its build starts). Its folder is kept out
    /// of the project's `git status` when it lies inside, and `link` folders of the project are
    /// linked into it when it lacks them.
    pub fn builder_worktree(
        &self,
        path: &Path,
        base: &str,
        link: &[String],
    ) -> Result<Repo, String> {
        let wt = if path.join(".git").exists() {
            Repo::at(path)
        } else {
            self.exclude(path)?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            self.git(&[
                "worktree",
                "add",
                "-q",
                "--detach",
                &path.display().to_string(),
                base,
            ])?;
            Repo::at(path)
        };
        let top = PathBuf::from(self.git(&["rev-parse", "--show-toplevel"])?);
        for name in link {
            let (from, to) = (top.join(name), path.join(name));
            if from.exists() && to.symlink_metadata().is_err() {
                // A link is not the folder `.gitignore` names (`node_modules/` matches folders
                // only): keep it out of the builder's commits.
                self.exclude_line(&format!("/{}", name.trim_matches('/')))?;
                if let Some(parent) = to.parent() {
                    let _ = std::fs::create_dir_all(parent);
                }
                std::os::unix::fs::symlink(&from, &to)
                    .map_err(|e| format!("cannot link {name} into {}: {e}", path.display()))?;
            }
        }
        Ok(wt)
    }

    /// Checks `branch` out here. Refused when tracked files have uncommitted changes (they
    /// would be carried to the other branch).
    pub fn switch(&self, branch: &str) -> Result<(), String> {
        if self.branch().ok().as_deref() == Some(branch) {
            return Ok(());
        }
        if !self.is_clean()? {
            return Err(format!(
                "{} has uncommitted changes: commit or stash them before Leapfrog checks out {branch}",
                self.dir.display()
            ));
        }
        self.git(&["switch", "-q", branch]).map(|_| ())
    }

    /// Commits every change here (tracked, and untracked files not ignored) with `message`;
    /// the new commit, or `None` when there was nothing to commit.
    pub fn commit_all(&self, message: &str) -> Result<Option<String>, String> {
        if self.git(&["status", "--porcelain"])?.is_empty() {
            return Ok(None);
        }
        self.git_retrying(&["add", "-A"])?;
        self.git_retrying(&["commit", "-q", "--no-verify", "-m", message])?;
        self.commit("HEAD").map(Some)
    }

    /// [`Repo::git`], tried again for a while when another git holds a lock here (an agent
    /// committing at the same moment).
    pub fn git_retrying(&self, args: &[&str]) -> Result<String, String> {
        let mut tries = 0;
        loop {
            match self.git(args) {
                Err(e) if e.contains(".lock") && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                r => return r,
            }
        }
    }

    /// Records this checkout's whole state as checkpoint `refs/leapfrog/checkpoints/<owner>/<n>`
    /// (the next free n): HEAD plus every uncommitted and untracked file that is not ignored,
    /// through a private index, so the checkout itself is not touched.
    pub fn checkpoint(&self, owner: &str, label: &str) -> Result<Checkpoint, String> {
        let head = self.commit("HEAD")?;
        let index = std::env::temp_dir().join(format!(
            "leapfrog-checkpoint-{}-{}",
            std::process::id(),
            CHECKPOINT_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let with_index = |args: &[&str]| -> Result<String, String> {
            let out = Command::new("git")
                .arg("-C")
                .arg(&self.dir)
                .args(args)
                .env("GIT_INDEX_FILE", &index)
                .env("GIT_TERMINAL_PROMPT", "0")
                .output()
                .map_err(|e| format!("cannot run git: {e}"))?;
            if out.status.success() {
                Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
            } else {
                Err(format!(
                    "git {}: {}",
                    args[0],
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        };
        let tree = with_index(&["read-tree", &head])
            .and_then(|_| with_index(&["add", "-A"]))
            .and_then(|_| with_index(&["write-tree"]));
        let _ = std::fs::remove_file(&index);
        let tree = tree?;
        let branch = self.branch().ok();
        let message = format!("Leapfrog checkpoint before the {label}");
        let commit = self.git(&["commit-tree", &tree, "-p", &head, "-m", &message])?;
        let prefix = format!("refs/leapfrog/checkpoints/{owner}/");
        let n = self
            .git(&["for-each-ref", "--format=%(refname)", &prefix])
            .unwrap_or_default()
            .lines()
            .filter_map(|r| r.strip_prefix(&prefix)?.parse::<u32>().ok())
            .max()
            .map_or(1, |n| n + 1);
        let name = format!("{prefix}{n}");
        self.git(&["update-ref", &name, &commit])?;
        Ok(Checkpoint {
            name,
            commit,
            head,
            branch,
            label: label.to_string(),
        })
    }

    /// The checkpoints of `owner`, oldest first, with what they were taken before.
    pub fn checkpoints(&self, owner: &str) -> Vec<Checkpoint> {
        let prefix = format!("refs/leapfrog/checkpoints/{owner}/");
        let out = self
            .git(&[
                "for-each-ref",
                "--format=%(refname)%09%(objectname)%09%(parent)%09%(contents:subject)",
                &prefix,
            ])
            .unwrap_or_default();
        let mut list: Vec<(u32, Checkpoint)> = out
            .lines()
            .filter_map(|l| {
                let mut f = l.splitn(4, '\t');
                let (name, commit, head, subject) = (f.next()?, f.next()?, f.next()?, f.next()?);
                let n = name.strip_prefix(&prefix)?.parse().ok()?;
                let label = subject
                    .strip_prefix("Leapfrog checkpoint before the ")
                    .unwrap_or(subject);
                Some((
                    n,
                    Checkpoint {
                        name: name.to_string(),
                        commit: commit.to_string(),
                        head: head.to_string(),
                        branch: None,
                        label: label.to_string(),
                    },
                ))
            })
            .collect();
        list.sort_by_key(|(n, _)| *n);
        list.into_iter().map(|(_, c)| c).collect()
    }

    /// Puts this checkout back to checkpoint `cp`: the branch (or HEAD) at the commit it was on,
    /// and every file as it was, uncommitted changes included. What it replaces is kept first as a
    /// checkpoint of its own (returned), so an undo can itself be undone.
    pub fn restore(&self, owner: &str, cp: &Checkpoint) -> Result<Checkpoint, String> {
        let saved = self.checkpoint(owner, &format!("undo of the {}", cp.label))?;
        self.git_retrying(&["reset", "-q", "--hard", &cp.head])?;
        self.git(&["clean", "-q", "-fd"])?;
        self.git(&["checkout", &cp.commit, "--", "."])?;
        self.git(&["reset", "-q"])?;
        Ok(saved)
    }

    /// Removes this worktree when git allows it: never one with uncommitted changes or
    /// untracked files (git refuses without `--force`, which is never given).
    pub fn remove_worktree(&self, main: &Repo) -> Result<(), String> {
        main.git(&["worktree", "remove", &self.dir.display().to_string()])
            .map(|_| ())
    }

    /// Deletes branch `name` if it is merged into HEAD here (`git branch -d` refuses otherwise).
    pub fn delete_merged_branch(&self, name: &str) -> Result<(), String> {
        self.git(&["branch", "-d", name]).map(|_| ())
    }

    /// Disk use of a folder (bytes), not following links.
    pub fn disk_use(dir: &Path) -> u64 {
        fn walk(p: &Path) -> u64 {
            let Ok(meta) = std::fs::symlink_metadata(p) else {
                return 0;
            };
            if meta.is_dir() {
                std::fs::read_dir(p)
                    .map(|it| it.flatten().map(|e| walk(&e.path())).sum())
                    .unwrap_or(0)
            } else {
                meta.len()
            }
        }
        walk(dir)
    }

    /// Merges `branch` into the branch checked out here with a merge commit (`--no-ff`), as the
    /// user's git does it (hooks, signing). On a conflict the merge is aborted, leaving this
    /// checkout as it was, and the conflicting files are returned.
    pub fn merge(&self, branch: &str, message: &str) -> Result<MergeResult, String> {
        let before = self.commit("HEAD")?;
        let status = self.git(&["status", "--porcelain", "--untracked-files=no"])?;
        match self.git_retrying(&["merge", "--no-ff", "--no-edit", "-m", message, branch]) {
            Ok(_) => Ok(MergeResult::Merged {
                commit: self.commit("HEAD")?,
            }),
            Err(e) => {
                let files: Vec<String> = self
                    .git(&["diff", "--name-only", "--diff-filter=U"])
                    .unwrap_or_default()
                    .lines()
                    .map(str::to_string)
                    .collect();
                let _ = self.git(&["merge", "--abort"]);
                if self.commit("HEAD")? != before
                    || self.git(&["status", "--porcelain", "--untracked-files=no"])? != status
                {
                    return Err(format!(
                        "merging {branch} failed ({e}) and {} could not be restored: look at it \
                         with `git status`",
                        self.dir.display()
                    ));
                }
                if files.is_empty() {
                    Err(format!("cannot merge {branch}: {e}"))
                } else {
                    Ok(MergeResult::Conflict { files })
                }
            }
        }
    }
}

/// How one merge went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MergeResult {
    Merged {
        commit: String,
    },
    /// Aborted: the checkout is as it was.
    Conflict {
        files: Vec<String>,
    },
}

/// What to integrate at a sync point.
#[derive(Debug, Clone)]
pub struct Integration {
    /// The branch accepted batches go into (the one the project was on).
    pub branch: String,
    /// Where the integration branch was last seen by Leapfrog: a head that no longer contains it
    /// means the user moved it mid-run (reset, rebase), and nothing is merged until they retry.
    pub expected_head: Option<String>,
    /// Accepted batches, in batch order: (number, branch).
    pub batches: Vec<(u32, String)>,
    /// Where to check the integration branch out when no checkout has it.
    pub worktree: PathBuf,
}

/// How a sync point's integration went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntegrationOutcome {
    /// Every batch is in the integration branch, now at `head`, checked out in `checkout` (where
    /// the sync point's verify runs). `merged`: the batches merged now, with their merge commits.
    Integrated {
        head: String,
        checkout: PathBuf,
        merged: Vec<(u32, String)>,
    },
    /// `batch` conflicts with the integration branch in `files`. The batches before it are
    /// merged; nothing of this one is.
    Conflict {
        batch: u32,
        files: Vec<String>,
        merged: Vec<(u32, String)>,
    },
}

/// Merges the accepted batches into the integration branch, in batch order, skipping those
/// already in it. Refused in words when the integration branch moved, or its checkout has
/// uncommitted changes.
pub fn integrate(repo: &Repo, plan: &Integration) -> Result<IntegrationOutcome, String> {
    let head = repo.commit(&format!("refs/heads/{}", plan.branch))?;
    // New commits on top (the designer's, in a shared checkout) are fine; a branch that no
    // longer contains where it was (reset, rebase, amend) was moved by hand.
    if let Some(expected) = &plan.expected_head {
        if !repo.is_ancestor(expected, &head) {
            return Err(format!(
                "the integration branch {} was moved during the run (it is at {} and no longer \
                 contains {}): Leapfrog merges nothing into it until you retry the sync point",
                plan.branch,
                short(&head),
                short(expected)
            ));
        }
    }
    // Uncommitted changes in the integration checkout (TICKETS.md statuses in a shared
    // checkout) may stay: git refuses a merge that would touch them, and says which.
    let checkout = repo.worktree(&plan.worktree, &plan.branch)?;
    let mut merged = Vec::new();
    for (batch, branch) in &plan.batches {
        let tip = repo.commit(&format!("refs/heads/{branch}"))?;
        if checkout.is_ancestor(&tip, "HEAD") {
            continue;
        }
        match checkout.merge(branch, &format!("Merge batch {batch} ({branch})"))? {
            MergeResult::Merged { commit } => merged.push((*batch, commit)),
            MergeResult::Conflict { files } => {
                return Ok(IntegrationOutcome::Conflict {
                    batch: *batch,
                    files,
                    merged,
                })
            }
        }
    }
    Ok(IntegrationOutcome::Integrated {
        head: checkout.commit("HEAD")?,
        checkout: checkout.dir().to_path_buf(),
        merged,
    })
}

static CHECKPOINT_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn short(hash: &str) -> &str {
    &hash[..12.min(hash.len())]
}
