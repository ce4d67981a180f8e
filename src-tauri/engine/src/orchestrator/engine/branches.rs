//! Batches on branches in a live run (`git.branches` in `.leapfrog/project.json`).
//!
//! - Every agent with the build or fix role works in a git worktree of its own,
//!   `<worktrees_dir>/<agent>`; the others stay in the project's checkout, which stays on the
//!   integration branch (the designer's TICKETS.md edits and the user's editor never see a branch
//!   switch).
//! - Before each phase of an agent, its checkout's whole state is kept as a checkpoint
//!   (`refs/leapfrog/checkpoints/<agent>/<n>`); "Undo this phase" restores the last one.
//! - A build of batch N starts branch `leapfrog/batch-N` from the tip of the batch it builds after
//!   when that one is not integrated yet (so batch N sees the code it depends on), else from the
//!   integration branch; a fix goes back to the batch's branch. The builder's worktree is switched
//!   to it, and its tip is the start of the batch's diff.
//! - When the builder reports, it must still be on that branch (otherwise the report is refused
//!   in words and the phase keeps running); what it left uncommitted is committed for it, and the
//!   tip is the end of the batch's diff.
//! - At a sync point the accepted batches are merged, in batch order, into the integration branch
//!   (`git::integrate`) before verify runs on the integrated tree. A conflict or a moved branch
//!   holds the sync point: the user resolves it and retries (`Command::RunVerify`), or hands the
//!   conflict to the builder (`Command::ConflictToBuilder`).
//! - When the run stops after it finished, the builders' worktrees and the merged branches are
//!   removed; git itself refuses to remove a dirty worktree or an unmerged branch, and those stay.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::phases::phase_name;
use super::{AgentRt, Core};
use crate::agents::AgentProfile;
use crate::git::{Checkpoint, GitSettings, Integration, IntegrationOutcome, Repo, INTEGRATED_REF};
use crate::model::{CompletionDetection, PhaseKind, PhaseOutcome, PhaseRun, Role};
use crate::orchestrator::EngineEvent;
use crate::scheduler::{Event, PhaseId};

/// The git side of a run with batches on branches.
pub(super) struct GitRun {
    pub main: Repo,
    pub settings: GitSettings,
    /// The branch accepted batches are merged into.
    pub integration: String,
    /// Builders' worktrees, by agent id, once made.
    pub worktrees: BTreeMap<String, Repo>,
    /// A sync point that could not integrate, and why.
    pub held: Option<HeldSync>,
    /// A conflict handed to a builder: (agent, batch).
    pub conflict_fix: Option<(String, u32)>,
    /// Disk use of each worktree, as last measured (every tick, not every snapshot).
    pub disk: BTreeMap<String, u64>,
    /// The branch each worktree was last switched to (the snapshot runs no git).
    pub on_branch: BTreeMap<String, String>,
}

/// A sync point held by its integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HeldSync {
    pub sync: u32,
    /// The batch that conflicts (none: the integration was refused, e.g. the branch moved).
    pub batch: Option<u32>,
    pub branch: Option<String>,
    pub files: Vec<String>,
    /// What happened, in words, with what the user can do.
    pub message: String,
    /// A builder is resolving it.
    pub builder: Option<String>,
}

impl GitRun {
    /// Opens the project's checkout for a run with branches, or says in words why it cannot.
    pub fn open(dir: &Path, settings: &GitSettings) -> Result<GitRun, String> {
        let hint = "(batches on branches: set \"git\": {\"branches\": false} in \
                    .leapfrog/project.json to run in one shared checkout)";
        let main = Repo::open(dir).map_err(|e| format!("{e} {hint}"))?;
        let integration = match &settings.integration_branch {
            Some(b) => b.clone(),
            None => main.branch()?,
        };
        let head = main
            .commit(&format!("refs/heads/{integration}"))
            .map_err(|_| {
                format!(
                    "the integration branch {integration} has no commit in {}: commit once first \
                     {hint}",
                    dir.display()
                )
            })?;
        // Where Leapfrog last left the integration branch: kept across restarts, reset when the
        // branch no longer contains it (moved between runs, a fresh start).
        let keep = main
            .commit(INTEGRATED_REF)
            .is_ok_and(|at| main.is_ancestor(&at, &head));
        if !keep {
            main.git(&["update-ref", INTEGRATED_REF, &head])?;
        }
        Ok(GitRun {
            main,
            settings: settings.clone(),
            integration,
            worktrees: BTreeMap::new(),
            held: None,
            conflict_fix: None,
            disk: BTreeMap::new(),
            on_branch: BTreeMap::new(),
        })
    }

    /// Where agent `id`'s worktree lives.
    pub fn worktree_path(&self, project_dir: &Path, id: &str) -> PathBuf {
        self.settings.worktrees_in(project_dir).join(id)
    }
}

/// Whether an agent builds (and so works in a worktree of its own).
pub(super) fn builds(profile: &AgentProfile) -> bool {
    profile
        .roles
        .iter()
        .any(|r| matches!(r, Role::Build | Role::Fix))
}

impl Core {
    /// The folder agent `i` works in: its worktree when batches are on branches and it builds,
    /// the project otherwise.
    pub(super) fn work_dir(&self, i: usize) -> PathBuf {
        let profile = &self.agents[i].profile;
        match &self.git {
            Some(g) if builds(profile) => g.worktree_path(&self.project_dir, &profile.id),
            _ => self.project_dir.clone(),
        }
    }

    /// The checkout agent `i` works in, making its worktree when it has none yet.
    pub(super) fn agent_repo(&mut self, i: usize) -> Result<Option<Repo>, String> {
        let id = self.agents[i].profile.id.clone();
        let Some(g) = &mut self.git else {
            return Ok(None);
        };
        if !builds(&self.agents[i].profile) {
            return Ok(Some(g.main.clone()));
        }
        if let Some(r) = g.worktrees.get(&id) {
            return Ok(Some(r.clone()));
        }
        let path = g.worktree_path(&self.project_dir, &id);
        let wt = g
            .main
            .builder_worktree(&path, &g.integration, &g.settings.link)
            .map_err(|e| format!("cannot make {id}'s worktree in {}: {e}", path.display()))?;
        g.worktrees.insert(id, wt.clone());
        Ok(Some(wt))
    }

    /// Before agent `i`'s `phase` is prompted: a checkpoint of its checkout, and for a build or
    /// fix the batch's branch checked out in its worktree with the diff's start recorded. An
    /// error (in words) means the phase must not start.
    pub(super) fn prepare_phase(&mut self, i: usize, phase: PhaseId) -> Result<(), String> {
        let Some(repo) = self.agent_repo(i)? else {
            return Ok(());
        };
        let id = self.agents[i].profile.id.clone();
        let label = phase_name(self.scheduler.plan(), phase);
        let batch = match phase {
            PhaseId::Build { batch } | PhaseId::Fix { batch }
                if builds(&self.agents[i].profile) =>
            {
                batch
            }
            _ => {
                // The undo point of a phase in the project's checkout.
                if let Err(e) = repo.checkpoint(&id, &label) {
                    self.notify(format!("no checkpoint before {label} on {id}: {e}"));
                }
                return Ok(());
            }
        };
        let (branch, base) = {
            let g = self.git.as_ref().expect("git");
            let branch = g.settings.branch_of(batch);
            let base = match phase {
                PhaseId::Build { .. } => self.branch_base(batch)?,
                _ => format!("refs/heads/{branch}"),
            };
            (branch, base)
        };
        // What the last phase left uncommitted is kept in a checkpoint and set aside: the branch
        // switch needs a clean tree.
        if !repo.git(&["status", "--porcelain"])?.is_empty() {
            let kept = repo
                .checkpoint(&id, &format!("leftovers before the {label}"))
                .map_err(|e| {
                    format!(
                        "{id}'s worktree {} has uncommitted changes and no checkpoint could keep \
                         them ({e}): commit or remove them, then retry",
                        repo.dir().display()
                    )
                })?;
            repo.git(&["reset", "-q", "--hard"])?;
            repo.git(&["clean", "-q", "-fd"])?;
            self.notify(format!(
                "{id}'s worktree had uncommitted changes before {label}: kept in {} and set \
                 aside (`git checkout {} -- .` brings them back)",
                kept.name, kept.name
            ));
        }
        if matches!(phase, PhaseId::Build { .. }) {
            // A branch with no commit of its own beyond the new base (left by an earlier run and
            // merged since) moves to that base; one with its own commits is kept, or refused.
            let main = &self.git.as_ref().expect("git").main;
            let base_commit = main.commit(&base)?;
            if let Ok(tip) = main.commit(&format!("refs/heads/{branch}")) {
                if tip != base_commit && main.is_ancestor(&tip, &base_commit) {
                    if repo.branch().ok().as_deref() == Some(branch.as_str()) {
                        repo.git(&["switch", "-q", "--detach"])?;
                    }
                    main.git(&["branch", "-f", &branch, &base_commit])?;
                }
            }
            main.start_branch(&branch, &base_commit)?;
        } else if self
            .git
            .as_ref()
            .expect("git")
            .main
            .commit(&format!("refs/heads/{branch}"))
            .is_err()
        {
            return Err(format!(
                "batch {batch}'s branch {branch} is gone: it cannot be fixed (was it deleted?)"
            ));
        }
        self.free_branch(&repo, &branch)?;
        repo.switch(&branch)?;
        if let Some(g) = &mut self.git {
            g.on_branch.insert(id.clone(), branch.clone());
        }
        // A branch stacked on an earlier batch's also gets what the integration branch gained
        // since (the designer's specs), before its diff starts.
        if matches!(phase, PhaseId::Build { .. }) {
            let integration = self.git.as_ref().expect("git").integration.clone();
            if !repo.is_ancestor(&format!("refs/heads/{integration}"), "HEAD") {
                match repo.merge(
                    &integration,
                    &format!("Batch {batch}: bring in {integration} before the build"),
                ) {
                    Ok(crate::git::MergeResult::Merged { .. }) => {}
                    Ok(crate::git::MergeResult::Conflict { files }) => self.notify(format!(
                        "batch {batch}'s branch is built without {integration}'s latest commits: \
                         they conflict with batch {batch}'s base in {}",
                        files.join(", ")
                    )),
                    Err(e) => self.notify(format!(
                        "batch {batch}'s branch is built without {integration}'s latest commits: {e}"
                    )),
                }
            }
        }
        self.record_batch_base_in(&repo, batch);
        // The undo point: the batch's branch as the phase starts.
        if let Err(e) = repo.checkpoint(&id, &label) {
            self.notify(format!("no checkpoint before {label} on {id}: {e}"));
        }
        Ok(())
    }

    /// Another builder's worktree that has `branch` checked out lets go of it (detaches), so
    /// `repo` can check it out: a fix may go to another builder than the build did. Refused when
    /// that worktree has uncommitted changes.
    fn free_branch(&mut self, repo: &Repo, branch: &str) -> Result<(), String> {
        let Some(g) = &mut self.git else {
            return Ok(());
        };
        let Some(other) = g.main.worktree_of(branch)? else {
            return Ok(());
        };
        let same = |a: &Path, b: &Path| {
            a.canonicalize()
                .ok()
                .zip(b.canonicalize().ok())
                .is_some_and(|(a, b)| a == b)
        };
        if same(&other, repo.dir()) {
            return Ok(());
        }
        let holder = g
            .worktrees
            .iter()
            .find(|(_, wt)| same(wt.dir(), &other))
            .map(|(id, wt)| (id.clone(), wt.clone()));
        let Some((holder_id, holder_repo)) = holder else {
            return Err(format!(
                "{branch} is checked out in {}, which Leapfrog did not make: switch it to \
                 another branch there",
                other.display()
            ));
        };
        if !holder_repo.git(&["status", "--porcelain"])?.is_empty() {
            return Err(format!(
                "{branch} is checked out in {holder_id}'s worktree {}, which has uncommitted \
                 changes",
                other.display()
            ));
        }
        holder_repo.git(&["switch", "-q", "--detach"])?;
        g.on_branch.remove(&holder_id);
        Ok(())
    }

    /// Where batch `batch`'s branch starts: the tip of the latest batch it builds after when that
    /// is not in the integration branch yet, else the integration branch.
    fn branch_base(&self, batch: u32) -> Result<String, String> {
        let g = self.git.as_ref().expect("git");
        let integration = format!("refs/heads/{}", g.integration);
        let after = self
            .scheduler
            .plan()
            .batches
            .iter()
            .position(|b| b.id == batch)
            .and_then(|pos| {
                let spec = &self.scheduler.plan().batches[pos];
                match &spec.builds_after {
                    Some(list) => list.iter().copied().max(),
                    None => pos
                        .checked_sub(1)
                        .map(|p| self.scheduler.plan().batches[p].id),
                }
            });
        if let Some(dep) = after {
            let dep_ref = format!("refs/heads/{}", g.settings.branch_of(dep));
            if let Ok(tip) = g.main.commit(&dep_ref) {
                if !g.main.is_ancestor(&tip, &integration) {
                    return Ok(dep_ref);
                }
            }
        }
        Ok(integration)
    }

    /// Agent `i` reports its build or fix of `batch`: refused in words when its worktree is not
    /// on the batch's branch; otherwise what it left uncommitted is committed on that branch.
    pub(super) fn check_builder_report(&mut self, i: usize, phase: PhaseId) -> Result<(), String> {
        let (PhaseId::Build { batch } | PhaseId::Fix { batch }) = phase else {
            return Ok(());
        };
        if self.git.is_none() || !builds(&self.agents[i].profile) {
            return Ok(());
        }
        let Some(repo) = self.agent_repo(i)? else {
            return Ok(());
        };
        let id = self.agents[i].profile.id.clone();
        let branch = self.git.as_ref().expect("git").settings.branch_of(batch);
        let on = repo.branch().unwrap_or_else(|_| "a detached HEAD".into());
        if on != branch {
            return Err(format!(
                "{id}'s worktree {} is on {on}, but batch {batch} is built on {branch}: Leapfrog \
                 records nothing. Put the work on {branch} (`git switch {branch}`, then `git \
                 cherry-pick` the commits made on {on}) and report again",
                repo.dir().display()
            ));
        }
        match repo.commit_all(&format!(
            "Batch {batch}: changes {id} left uncommitted ({})",
            phase_name(self.scheduler.plan(), phase)
        )) {
            Ok(Some(c)) => self.notify(format!(
                "{id} left changes uncommitted in batch {batch}; Leapfrog committed them on \
                 {branch} ({})",
                &c[..12.min(c.len())]
            )),
            Ok(None) => {}
            Err(e) => self.notify(format!(
                "cannot commit what {id} left uncommitted in batch {batch}: {e}"
            )),
        }
        Ok(())
    }

    /// The checkout the batch diff ends are read from and recorded in: the builder's worktree for
    /// a build or fix on a branch, the project otherwise.
    pub(super) fn batch_repo(&mut self, agent: Option<&str>) -> Option<Repo> {
        if self.git.is_some() {
            if let Some(i) = agent.and_then(|a| self.agents.iter().position(|x| x.profile.id == a))
            {
                if builds(&self.agents[i].profile) {
                    return self.agent_repo(i).ok().flatten();
                }
            }
        }
        Repo::work_tree(&self.project_dir)
    }

    /// Sync point `sync` is due: with branches, the accepted batches are merged into the
    /// integration branch first, and verify runs on the integrated tree; a conflict or a refusal
    /// holds the sync point.
    pub(super) fn run_sync(&mut self, sync: u32) {
        if self.git.is_none() {
            self.start_verify(Some(sync));
            return;
        }
        let accepted: Vec<u32> = self
            .scheduler
            .batch_status()
            .iter()
            .filter(|b| b.accepted)
            .map(|b| b.batch)
            .collect();
        let g = self.git.as_mut().expect("git");
        let expected = g.main.commit(INTEGRATED_REF).ok();
        let batches: Vec<(u32, String)> = accepted
            .into_iter()
            .map(|b| (b, g.settings.branch_of(b)))
            .filter(|(_, br)| g.main.commit(&format!("refs/heads/{br}")).is_ok())
            .collect();
        let plan = Integration {
            branch: g.integration.clone(),
            expected_head: expected,
            batches,
            worktree: g
                .settings
                .worktrees_in(&self.project_dir)
                .join("integration"),
        };
        let started = self.clock.now();
        let outcome = crate::git::integrate(&g.main, &plan);
        let integration = g.integration.clone();
        match outcome {
            Ok(IntegrationOutcome::Integrated { head, merged, .. }) => {
                let _ = g.main.git(&["update-ref", INTEGRATED_REF, &head]);
                g.held = None;
                if !merged.is_empty() {
                    let list: Vec<String> = merged.iter().map(|(b, _)| b.to_string()).collect();
                    self.notify(format!(
                        "sync point {sync}: batch{} {} merged into {integration} in {} ms; verify \
                         runs on the integrated tree",
                        if merged.len() == 1 { "" } else { "es" },
                        list.join(", "),
                        self.since(started).as_millis()
                    ));
                }
                self.emit(EngineEvent::Integrated {
                    sync,
                    batches: merged.iter().map(|(b, _)| *b).collect(),
                    head,
                    millis: self.since(started).as_millis() as u64,
                });
                self.start_verify(Some(sync));
            }
            Ok(IntegrationOutcome::Conflict {
                batch,
                files,
                merged,
            }) => {
                if let Ok(head) = g.main.commit(&format!("refs/heads/{integration}")) {
                    let _ = g.main.git(&["update-ref", INTEGRATED_REF, &head]);
                }
                let branch = g.settings.branch_of(batch);
                let done = if merged.is_empty() {
                    String::new()
                } else {
                    let list: Vec<String> = merged.iter().map(|(b, _)| b.to_string()).collect();
                    format!(" (batches {} are merged)", list.join(", "))
                };
                let message = format!(
                    "sync point {sync} is held: batch {batch} ({branch}) conflicts with \
                     {integration} in {}{done}. Resolve it yourself (`git merge {branch}` in the \
                     project, fix, commit) and retry the sync point, or hand it to the builder",
                    files.join(", ")
                );
                g.held = Some(HeldSync {
                    sync,
                    batch: Some(batch),
                    branch: Some(branch),
                    files,
                    message: message.clone(),
                    builder: None,
                });
                self.notify(message);
            }
            Err(e) => {
                let message = format!("sync point {sync} is held: {e}");
                g.held = Some(HeldSync {
                    sync,
                    batch: None,
                    branch: None,
                    files: Vec::new(),
                    message: message.clone(),
                    builder: None,
                });
                self.notify(message);
            }
        }
    }

    /// The user retries a held sync point.
    pub(super) fn retry_held_sync(&mut self) -> Option<Result<String, String>> {
        let held = self.git.as_ref()?.held.clone()?;
        if let Some(b) = &held.builder {
            return Some(Err(format!(
                "{b} is resolving batch {}'s conflict: wait for it to report",
                held.batch.unwrap_or(0)
            )));
        }
        self.run_sync(held.sync);
        Some(match self.git.as_ref().and_then(|g| g.held.clone()) {
            Some(h) => Err(h.message),
            None => Ok(format!(
                "sync point {}: integrated, verify started",
                held.sync
            )),
        })
    }

    /// Hands the held sync point's conflict to a builder: its worktree goes to the batch's
    /// branch and its prompt says to merge the integration branch there and resolve.
    pub(super) fn conflict_to_builder(&mut self) -> Result<String, String> {
        let Some(held) = self.git.as_ref().and_then(|g| g.held.clone()) else {
            return Err("no sync point is held by a conflict".into());
        };
        let (Some(batch), Some(branch)) = (held.batch, held.branch.clone()) else {
            return Err(format!(
                "sync point {} is held, but not by a conflict a builder can resolve: {}",
                held.sync, held.message
            ));
        };
        if let Some(b) = &held.builder {
            return Err(format!("{b} is already resolving it"));
        }
        let free = |a: &AgentRt| {
            builds(&a.profile) && a.current.is_none() && a.queued.is_none() && !a.exited
        };
        let holder = self.git.as_ref().and_then(|g| {
            g.on_branch
                .iter()
                .find(|(_, b)| **b == branch)
                .map(|(id, _)| id.clone())
        });
        let i = holder
            .and_then(|h| {
                self.agents
                    .iter()
                    .position(|a| a.profile.id == h && free(a))
            })
            .or_else(|| self.agents.iter().position(free))
            .ok_or("no builder is free to resolve the conflict: try again when one is")?;
        let repo = self.agent_repo(i)?.ok_or("the builder has no worktree")?;
        let id = self.agents[i].profile.id.clone();
        if let Err(e) = repo.checkpoint(&id, &format!("merge of the conflict of batch {batch}")) {
            self.notify(format!(
                "no checkpoint before the conflict of batch {batch}: {e}"
            ));
        }
        self.free_branch(&repo, &branch)?;
        repo.switch(&branch)?;
        if let Some(g) = &mut self.git {
            g.on_branch.insert(id.clone(), branch.clone());
        }
        let integration = self.git.as_ref().expect("git").integration.clone();
        let prompt = format!(
            "Batch {batch}'s branch {branch} conflicts with {integration} in {files}. In your \
             worktree {dir} (on {branch}), run `git merge {integration}`, resolve every conflict \
             so both sides' intent is kept, run the verify command ({verify}), and commit the \
             merge. Then run `{leap} complete --batch {batch} --phase fix`.",
            files = held.files.join(", "),
            dir = repo.dir().display(),
            verify = self.config.verify_command().unwrap_or("none"),
            leap = self.leap_program,
        );
        let at = self.minutes();
        let effects = self.scheduler.step(Event::AgentBusy {
            agent: id.clone(),
            at,
        });
        self.apply_effects(effects);
        self.agents[i].external_busy = true;
        self.agents[i].queued = Some((PhaseId::Fix { batch }, prompt, self.now()));
        let g = self.git.as_mut().expect("git");
        g.conflict_fix = Some((id.clone(), batch));
        if let Some(h) = &mut g.held {
            h.builder = Some(id.clone());
        }
        self.try_dispatch(i);
        Ok(format!(
            "{id} resolves batch {batch}'s conflict with {integration}; the sync point is tried \
             again when it reports"
        ))
    }

    /// Whether `phase` on agent `i` is a conflict handed to it (no scheduled phase, no pack).
    pub(super) fn is_conflict_fix(&self, i: usize, phase: PhaseId) -> bool {
        self.git
            .as_ref()
            .and_then(|g| g.conflict_fix.as_ref())
            .is_some_and(|(a, b)| {
                *a == self.agents[i].profile.id && phase == PhaseId::Fix { batch: *b }
            })
    }

    /// Agent `i`'s report of a conflict handed to it: `Some` when it was that (the scheduler
    /// knows nothing of it), after which the sync point is tried again.
    pub(super) fn complete_conflict_fix(
        &mut self,
        i: usize,
        phase: PhaseId,
        run_id: u64,
        detection: CompletionDetection,
    ) -> Option<Result<String, String>> {
        let id = self.agents[i].profile.id.clone();
        let (agent, batch) = self.git.as_ref()?.conflict_fix.clone()?;
        if agent != id || phase != (PhaseId::Fix { batch }) {
            return None;
        }
        if let Err(e) = self.check_builder_report(i, phase) {
            self.agents[i].current = Some((phase, run_id));
            return Some(Err(e));
        }
        self.close_run(run_id, PhaseOutcome::Passed, detection);
        self.emit(EngineEvent::PhaseCompleted {
            agent: Some(id.clone()),
            phase,
            run: self
                .run_cache
                .get(&run_id)
                .cloned()
                .unwrap_or_else(|| PhaseRun {
                    id: run_id,
                    project: self.project_id.clone(),
                    kind: PhaseKind::Fix,
                    batch: Some(batch),
                    agent: Some(id.clone()),
                    started_at: self.clock.wall_ms(),
                    ended_at: Some(self.clock.wall_ms()),
                    outcome: PhaseOutcome::Passed,
                    detection: Some(detection),
                }),
        });
        let g = self.git.as_mut().expect("git");
        g.conflict_fix = None;
        if let Some(h) = &mut g.held {
            h.builder = None;
        }
        self.agents[i].external_busy = false;
        let at = self.minutes();
        let effects = self.scheduler.step(Event::AgentIdle { agent: id, at });
        self.apply_effects(effects);
        Some(match self.retry_held_sync() {
            Some(Ok(m)) => Ok(format!("conflict of batch {batch} resolved; {m}")),
            Some(Err(m)) => Ok(format!("recorded; the sync point is still held: {m}")),
            None => Ok("recorded".into()),
        })
    }

    /// "Undo this phase": agent `agent`'s checkout goes back to its last checkpoint (taken before
    /// its last phase), and what it replaces is kept as a checkpoint of its own.
    pub(super) fn undo_phase(&mut self, agent: &str) -> Result<String, String> {
        let i = self.agent_index(agent)?;
        if self.git.is_none() {
            return Err(
                "undo needs batches on branches (\"git\": {\"branches\": true} in \
                 .leapfrog/project.json): there are no checkpoints"
                    .into(),
            );
        }
        if let Some((phase, _)) = self.agents[i].current {
            return Err(format!(
                "{agent} is running {}: stop it (mark it complete or pause) before undoing",
                phase_name(self.scheduler.plan(), phase)
            ));
        }
        let repo = self.agent_repo(i)?.ok_or("no checkout")?;
        let list = repo.checkpoints(agent);
        // An undo's own checkpoint is not a phase to undo: the one before it is.
        let Some(cp) = list
            .iter()
            .rev()
            .find(|c| !c.label.starts_with("undo of ") && !c.label.starts_with("leftovers "))
            .cloned()
        else {
            return Err(format!("{agent} has no checkpoint to go back to"));
        };
        let saved: Checkpoint = repo.restore(agent, &cp)?;
        // The checkpoint is used: the next undo goes one phase further back.
        let _ = repo.git(&["update-ref", "-d", &cp.name]);
        let msg = format!(
            "{agent}'s files are back to before the {} ({}); what they were is kept in {}",
            cp.label,
            &cp.head[..12.min(cp.head.len())],
            saved.name
        );
        self.notify(msg.clone());
        Ok(msg)
    }

    /// After a finished run stops: builders' worktrees whose work is all in the integration
    /// branch are removed, and merged batch branches deleted. Git refuses dirty worktrees and
    /// unmerged branches (no `--force` is ever given): those are kept, and said.
    pub(super) fn clean_up_branches(&mut self) {
        let Some(g) = &self.git else {
            return;
        };
        if !self.scheduler.is_finished() || g.held.is_some() {
            return;
        }
        let integration = format!("refs/heads/{}", g.integration);
        let mut kept = Vec::new();
        for (id, wt) in &g.worktrees {
            let merged = wt
                .commit("HEAD")
                .is_ok_and(|h| g.main.is_ancestor(&h, &integration));
            if !merged {
                kept.push(format!("{id}'s worktree (commits not merged)"));
                continue;
            }
            if wt.remove_worktree(&g.main).is_err() {
                kept.push(format!("{id}'s worktree (uncommitted changes)"));
            }
        }
        for b in self.scheduler.plan().batches.iter().map(|b| b.id) {
            let branch = g.settings.branch_of(b);
            if g.main.commit(&format!("refs/heads/{branch}")).is_err() {
                continue;
            }
            let merged = g
                .main
                .commit(&format!("refs/heads/{branch}"))
                .is_ok_and(|t| g.main.is_ancestor(&t, &integration));
            if !merged || g.main.delete_merged_branch(&branch).is_err() {
                kept.push(format!("{branch} (not merged)"));
            }
        }
        let _ = g.main.git(&["worktree", "prune"]);
        if !kept.is_empty() {
            self.notify(format!("kept after the run: {}", kept.join(", ")));
        }
    }

    /// Measures the worktrees' disk use again (on the loop's slow tick).
    pub(super) fn refresh_disk_use(&mut self) {
        if let Some(g) = &mut self.git {
            g.disk = g
                .worktrees
                .iter()
                .map(|(id, wt)| (id.clone(), Repo::disk_use(wt.dir())))
                .collect();
        }
    }

    /// The builders' worktrees, for the snapshot.
    pub(super) fn worktree_views(&self) -> Vec<super::super::WorktreeView> {
        let Some(g) = &self.git else {
            return Vec::new();
        };
        g.worktrees
            .iter()
            .map(|(id, wt)| super::super::WorktreeView {
                agent: id.clone(),
                path: wt.dir().display().to_string(),
                branch: g.on_branch.get(id).cloned(),
                bytes: g.disk.get(id).copied().unwrap_or(0),
            })
            .collect()
    }

    pub(super) fn held_sync(&self) -> Option<HeldSync> {
        self.git.as_ref()?.held.clone()
    }
}
