//! A phase's prompt and context pack: rendered from the project's templates when the phase is
//! assigned (queued until the idle edge), with the pack written again right before the paste.

use super::phases::prompt_phase;
use super::Core;
use crate::agents::prompts::PromptPhase;
use crate::agents::PromptContext;
use crate::scheduler::{Event, PhaseId};

impl Core {
    pub(super) fn queue_prompt(&mut self, agent: &str, phase: PhaseId) {
        let Some(i) = self.agents.iter().position(|a| a.profile.id == agent) else {
            self.notify(format!("the scheduler named unknown agent {agent}"));
            return;
        };
        let Some(pp) = prompt_phase(self.scheduler.plan(), phase) else {
            return;
        };
        if let PhaseId::PlanMilestone { milestone } = phase {
            let mut prompt = self.milestone_prompt(milestone);
            if let Some(c) = self.write_pack_for(phase) {
                prompt.push_str(&format!(" What this phase needs is in {c}."));
            }
            self.agents[i].queued = Some((phase, prompt, self.now()));
            self.try_dispatch(i);
            return;
        }
        let batch = phase.batch();
        let doc = batch.and_then(|_| {
            crate::tickets::sync::read_doc(&self.project_dir.join(&self.config.tickets))
                .ok()
                .map(|(doc, _)| doc)
        });
        let tickets = batch.and_then(|b| {
            let s = doc.as_ref()?.summary();
            let ids: Vec<String> = s
                .tickets
                .iter()
                .filter(|t| t.batch == Some(b))
                .map(|t| t.id.clone())
                .collect();
            (!ids.is_empty()).then(|| ids.join(", "))
        });
        let notes = match phase {
            PhaseId::Fix { batch } => {
                Some(self.findings.get(&batch).cloned().unwrap_or_else(|| {
                    "see the failed review's reply in the reviewer's pane".into()
                }))
            }
            PhaseId::Recheck { .. } => Some("an earlier batch's review failed".into()),
            _ => None,
        };
        let has_repo = batch.is_some() && crate::git::Repo::work_tree(&self.project_dir).is_some();
        let diff = batch.filter(|_| has_repo).map(|b| {
            format!(
                "`git diff {} {}`",
                crate::git::batch_ref(b, "base"),
                crate::git::batch_ref(b, "head")
            )
        });
        let context = self.write_pack_for(phase);
        // An agent in a worktree of its own is pointed at the project's files by absolute path.
        let in_worktree = self.work_dir(i) != self.project_dir;
        let from_worktree = |rel: String| {
            if in_worktree {
                self.project_dir.join(rel).display().to_string()
            } else {
                rel
            }
        };
        let context = context.map(from_worktree);
        let tickets_file = from_worktree(self.config.tickets.clone());
        let workspace = self.git.as_ref().and_then(|g| {
            let b = batch?;
            let branch = g.settings.branch_of(b);
            match phase {
                PhaseId::Build { .. } | PhaseId::Fix { .. } if in_worktree => Some(format!(
                    "You work in the git worktree {}, on branch {branch}, which Leapfrog checked \
                     out for batch {b}: make and commit your changes there, on that branch. ",
                    self.work_dir(i).display()
                )),
                PhaseId::Review { .. } | PhaseId::Qa { .. } => Some(format!(
                    "Batch {b}'s work is on branch {branch} (not checked out here). "
                )),
                _ => None,
            }
        });
        let ctx = PromptContext {
            batch,
            agent: agent.to_string(),
            tickets_file,
            verify_command: self.config.verify_command().unwrap_or("").to_string(),
            leap: self.leap_program.clone(),
            tickets,
            notes,
            diff,
            context,
        };
        match self.templates.render(pp, &ctx) {
            Ok(prompt) => {
                let mut prompt = match workspace {
                    Some(w) => format!("{w}{prompt}"),
                    None => prompt,
                };
                // Every phase's prompt points at its pack, with a template that names it or not.
                if let Some(c) = ctx.context.as_deref().filter(|c| !prompt.contains(*c)) {
                    prompt.push_str(&format!(" What this phase needs is in {c}."));
                }
                self.agents[i].queued = Some((phase, prompt, self.now()));
                self.try_dispatch(i);
            }
            Err(e) => {
                self.notify(format!("cannot write the prompt for {phase}: {e}"));
                let effects = self.scheduler.step(Event::PhaseFailed {
                    phase,
                    reason: e,
                    at: self.minutes(),
                });
                self.apply_effects(effects);
            }
        }
    }

    /// The prompt of `plan(m)` (rule 9): plan milestone m while milestone m-1 is built.
    fn milestone_prompt(&self, m: u32) -> String {
        let doc = crate::tickets::sync::read_doc(&self.project_dir.join(&self.config.tickets))
            .ok()
            .map(|(doc, _)| doc);
        let section = doc
            .as_ref()
            .and_then(|d| {
                let ms = d.milestones();
                let found = ms.get(m as usize - 1)?;
                let numbers: Vec<String> = found
                    .batches
                    .iter()
                    .map(|&b| d.batches[b].number.to_string())
                    .collect();
                Some(format!(
                    " Milestone {m} ({}) holds the batches numbered {} in {}.",
                    found.title,
                    numbers.join(", "),
                    self.config.tickets
                ))
            })
            .unwrap_or_default();
        format!(
            "Plan milestone {m} while milestone {prev} is built: read {tickets} and what milestone \
             {prev} has delivered so far, then write milestone {m}'s tickets (IDs, titles, \
             acceptance criteria, dependencies) under its heading in {tickets} and its plan in \
             docs/plan/milestone-{m}.md.{section} Don't design its batches in detail and don't \
             build. When done, run `{leap} complete --phase plan`.",
            prev = m - 1,
            tickets = self.config.tickets,
            leap = self.leap_program,
        )
    }

    /// Writes `phase`'s context pack from TICKETS.md and the run as they are now; its path
    /// relative to the project. Called when the phase is queued and again right before its
    /// prompt is pasted, so a TICKETS.md changed in between is in the pack.
    pub(super) fn write_pack_for(&mut self, phase: PhaseId) -> Option<String> {
        let pp = prompt_phase(self.scheduler.plan(), phase)?;
        let doc = crate::tickets::sync::read_doc(&self.project_dir.join(&self.config.tickets))
            .ok()
            .map(|(doc, _)| doc);
        let Some(batch) = phase.batch() else {
            // A preamble phase or plan(m): the batches as a list, milestone m's part.
            let rules = crate::files::read_regular(
                &self.project_dir.join(crate::context::RULES_FILE),
                crate::context::RULES_FILE,
                crate::context::MAX_RULES_BYTES,
            )
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned());
            let input = crate::context::OverviewInput {
                phase: pp,
                milestone: phase.milestone(),
                tickets_file: &self.config.tickets,
                doc: doc.as_ref(),
                verify_command: self.config.verify_command(),
                rules: rules.as_deref(),
            };
            return match crate::context::write_overview(&self.project_dir, &input) {
                Ok(rel) => Some(rel.display().to_string()),
                Err(e) => {
                    self.notify(format!(
                        "the context pack of {phase} could not be written: {e}"
                    ));
                    None
                }
            };
        };
        let notes = match phase {
            PhaseId::Fix { batch } => {
                Some(self.findings.get(&batch).cloned().unwrap_or_else(|| {
                    "see the failed review's reply in the reviewer's pane".into()
                }))
            }
            PhaseId::Recheck { .. } => Some("an earlier batch's review failed".into()),
            _ => None,
        };
        let repo = crate::git::Repo::work_tree(&self.project_dir);
        self.write_context_pack(pp, batch, doc.as_ref(), notes.as_deref(), repo.as_ref())
    }

    /// Writes phase `pp`'s context pack for batch `batch` (crate::context) and returns its path
    /// relative to the project; `None` (and a notice) when it cannot be written.
    fn write_context_pack(
        &mut self,
        pp: PromptPhase,
        batch: u32,
        doc: Option<&crate::tickets::Document>,
        notes: Option<&str>,
        repo: Option<&crate::git::Repo>,
    ) -> Option<String> {
        // The design of batch N reads the previous batch's handoff; the others their own.
        let handoff_batch = if matches!(pp, PromptPhase::Design | PromptPhase::Recheck) {
            batch.checked_sub(1)
        } else {
            Some(batch)
        };
        let handoff = handoff_batch.and_then(|hb| {
            self.store
                .handoffs(&self.project_id)
                .ok()?
                .into_iter()
                .rev()
                .map(|r| r.message)
                .find(|h| h.batch == hb && h.kind == crate::model::HandoffKind::Handoff)
        });
        let diff = (pp == PromptPhase::Review)
            .then(|| {
                let repo = repo?;
                let range = repo.batch_range(batch).ok()?;
                let files = repo.changed_files(&range.base, &range.head).ok()?;
                let mut text = format!(
                    "`git diff {} {}`\n\n",
                    crate::git::batch_ref(batch, "base"),
                    crate::git::batch_ref(batch, "head")
                );
                for f in files {
                    let n = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
                    text.push_str(&format!(
                        "- {} (+{} -{})\n",
                        f.path,
                        n(f.added),
                        n(f.removed)
                    ));
                }
                Some(text)
            })
            .flatten();
        let rules = crate::files::read_regular(
            &self.project_dir.join(crate::context::RULES_FILE),
            crate::context::RULES_FILE,
            256 * 1024,
        )
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned());
        let input = crate::context::PackInput {
            phase: pp,
            batch,
            tickets_file: &self.config.tickets,
            doc,
            handoff: handoff.as_ref(),
            verify_command: self.config.verify_command(),
            notes,
            diff: diff.as_deref(),
            rules: rules.as_deref(),
        };
        match crate::context::write(&self.project_dir, &input) {
            Ok(rel) => Some(rel.display().to_string()),
            Err(e) => {
                self.notify(format!(
                    "the context pack of {} (batch {batch}) could not be written: {e}",
                    pp.as_str()
                ));
                None
            }
        }
    }
}
