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
        let info = PathBuf::from(self.git(&["rev-parse", "--git-path", "info/exclude"])?);
        let info = if info.is_absolute() {
            info
        } else {
            self.dir.join(info)
        };
        let line = format!("/{}/", rel.display());
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

    /// Merges `branch` into the branch checked out here with a merge commit (`--no-ff`), as the
    /// user's git does it (hooks, signing). On a conflict the merge is aborted, leaving this
    /// checkout as it was, and the conflicting files are returned.
    pub fn merge(&self, branch: &str, message: &str) -> Result<MergeResult, String> {
        let before = self.commit("HEAD")?;
        let status = self.git(&["status", "--porcelain", "--untracked-files=no"])?;
        match self.git(&["merge", "--no-ff", "--no-edit", "-m", message, branch]) {
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

fn short(hash: &str) -> &str {
    &hash[..12.min(hash.len())]
}
