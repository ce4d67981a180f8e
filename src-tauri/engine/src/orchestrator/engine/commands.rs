//! User commands ([`Command`]): pause and resume, skip, retry, mark complete, review, verify,
//! re-order, conflicts and undo, restarting an agent.

use super::phases::model_kind;
use super::Core;
use crate::model::CompletionDetection;
use crate::orchestrator::{review_findings, Command};
use crate::scheduler::{Effect, Event, PhaseId};

impl Core {
    pub(super) fn agent_index(&self, id: &str) -> Result<usize, String> {
        self.agents
            .iter()
            .position(|a| a.profile.id == id)
            .ok_or_else(|| format!("no agent {id:?}"))
    }

    pub(super) fn on_command(&mut self, command: Command) -> Result<String, String> {
        let at = self.minutes();
        let (event, message) = match command {
            Command::PauseBatch { batch } => (
                Event::PauseBatch { batch, at },
                format!("batch {batch} paused"),
            ),
            Command::ResumeBatch { batch } => (
                Event::ResumeBatch { batch, at },
                format!("batch {batch} resumed"),
            ),
            Command::PauseAgent { agent } => {
                let i = self.agent_index(&agent)?;
                self.agents[i].paused = true;
                (
                    Event::PauseAgent {
                        agent: agent.clone(),
                        at,
                    },
                    format!("agent {agent} paused"),
                )
            }
            Command::ResumeAgent { agent } => {
                let i = self.agent_index(&agent)?;
                self.agents[i].paused = false;
                if self.agents[i].limit.take().is_some() {
                    // The user says the limit is over: read the agent's screen again.
                    self.agents[i].dirty = true;
                    self.evaluate(i);
                }
                let effects = self.scheduler.step(Event::ResumeAgent {
                    agent: agent.clone(),
                    at,
                });
                self.apply_effects(effects);
                self.try_dispatch(i);
                return Ok(format!("agent {agent} resumed"));
            }
            // A running phase cannot be skipped (the scheduler says so): its agent is working on it.
            Command::Skip { phase } => (Event::Skip { phase, at }, format!("{phase} skipped")),
            Command::Retry { phase } => {
                // Restart exited agents that could run it.
                let role = model_kind(self.scheduler.plan(), phase).role();
                for i in 0..self.agents.len() {
                    if self.agents[i].exited
                        && role.is_some_and(|r| self.agents[i].profile.roles.contains(&r))
                    {
                        self.spawn_agent(i);
                    }
                }
                (
                    Event::Retry { phase, at },
                    format!("{phase} will run again"),
                )
            }
            Command::MarkComplete { phase, passed } => {
                let Some(i) = self
                    .agents
                    .iter()
                    .position(|a| a.current.is_some_and(|(p, _)| p == phase))
                else {
                    return Err(format!("{phase} is not running"));
                };
                return self.complete(i, passed, CompletionDetection::Manual, None);
            }
            Command::ReviewBatch {
                batch,
                approve,
                comments,
            } => {
                let phase = PhaseId::Review { batch };
                let Some(i) = self
                    .agents
                    .iter()
                    .position(|a| a.current.is_some_and(|(p, _)| p == phase))
                else {
                    let stage = self
                        .snapshot(true)
                        .batches
                        .iter()
                        .find(|b| b.batch.number == batch)
                        .map(|b| b.stage.clone())
                        .unwrap_or_else(|| "not in the run".into());
                    return Err(format!(
                        "batch {batch}'s review is not running ({stage}): a review of yours takes \
                         the place of a running review"
                    ));
                };
                let findings = review_findings(&comments);
                self.notify(format!(
                    "your review of batch {batch}: {}",
                    if approve {
                        "approved".to_string()
                    } else {
                        format!("changes requested, {findings}")
                    }
                ));
                return self.complete(i, approve, CompletionDetection::Manual, Some(findings));
            }
            Command::RunVerify => {
                if let Some(r) = self.retry_held_sync() {
                    return r;
                }
                let failed = self
                    .verifies
                    .iter()
                    .rev()
                    .find(|v| v.sync.is_some())
                    .filter(|v| v.passed == Some(false))
                    .and_then(|v| v.sync);
                return match failed {
                    Some(sync) => {
                        let effects = self.scheduler.step(Event::Retry {
                            phase: PhaseId::Verify { sync },
                            at,
                        });
                        self.apply_effects(effects);
                        Ok(format!("sync point {sync}: verify running again"))
                    }
                    None if self.config.verify_command().is_none() => {
                        Err("the project has no verify command".into())
                    }
                    None => {
                        self.start_verify(None);
                        Ok("verify started".into())
                    }
                };
            }
            Command::Reorder { batches } => {
                (Event::Reorder { batches, at }, "batches re-ordered".into())
            }
            Command::ConflictToBuilder => return self.conflict_to_builder(),
            Command::UndoPhase { agent } => return self.undo_phase(&agent),
            Command::RestartAgent { agent } => {
                let i = self.agent_index(&agent)?;
                if !self.agents[i].exited {
                    return Err(format!("agent {agent} is running"));
                }
                self.spawn_agent(i);
                return Ok(format!("agent {agent} restarted"));
            }
        };
        let event_kind = match &event {
            Event::PauseBatch { batch, .. } => Some((*batch, true)),
            Event::ResumeBatch { batch, .. } => Some((*batch, false)),
            _ => None,
        };
        let effects = self.scheduler.step(event);
        let refused = effects.iter().find_map(|e| match e {
            Effect::Notify { message, .. } if message.starts_with("ignored") => {
                Some(message.clone())
            }
            _ => None,
        });
        if refused.is_none() {
            match &event_kind {
                Some((b, true)) => {
                    self.paused_batches.insert(*b);
                }
                Some((b, false)) => {
                    self.paused_batches.remove(b);
                }
                None => {}
            }
        }
        self.apply_effects(effects);
        match refused {
            Some(m) => Err(m),
            None => Ok(message),
        }
    }
}
