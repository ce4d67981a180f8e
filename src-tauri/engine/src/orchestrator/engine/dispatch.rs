//! Dispatch: executing the scheduler's effects (assigning phases), pasting a queued prompt at
//! the agent's idle edge (never into a dialog, never while a CLI that just started settles) and
//! pressing its Enter until the CLI shows it took the prompt.

use std::time::{Duration, Instant};

use super::phases::{model_kind, phase_name};
use super::{AgentRt, Core};
use crate::agents::{AgentStatus, StatusObservation, StatusSignal};
use crate::model::{now_ms, PhaseOutcome, PhaseRun, TicketStatus};
use crate::orchestrator::EngineEvent;
use crate::scheduler::{Effect, Event, PhaseId};

/// How long after a pasted prompt its Enter is pressed. An Enter right behind the paste is lost:
/// Gemini CLI ignores one within about 40 ms of a paste, and Claude Code lost it in 5 of 8 runs at
/// 0 ms and in none at 5 ms or more.
const ENTER_AFTER_PASTE: Duration = Duration::from_millis(120);

/// How long to wait for a sign that a prompt was submitted before pressing Enter again. Claude Code
/// draws its prompt about 0.65 s after start but ignores Enter for another 3-5 s, so the first
/// prompt's Enter is often lost.
const ENTER_RETRY: Duration = Duration::from_millis(1500);

/// How many times Enter is pressed for one prompt before the user is told it sits unsent.
const ENTER_TRIES: u32 = 12;

/// A CLI that just started may draw its prompt and then a first-run dialog over it (Codex 0.171
/// draws its composer, then its sign-in or folder-trust screen). Within [`STARTUP`] of its start,
/// an agent gets its first prompt only once its screen has been still for [`STARTUP_SETTLE`].
const STARTUP: Duration = Duration::from_secs(8);
pub(super) const STARTUP_SETTLE: Duration = Duration::from_millis(1500);

/// The Enter that submits a pasted prompt: pressed [`ENTER_AFTER_PASTE`] after the paste, and again
/// every [`ENTER_RETRY`] until the CLI shows that it took the prompt (a prompt-submit hook, its busy
/// marker, a turn's end), never while the screen shows a dialog (an Enter there would answer it).
#[derive(Debug, Clone, Copy)]
pub(super) struct PendingEnter {
    pub(super) due: Instant,
    pub(super) tries: u32,
}

impl Core {
    pub(super) fn apply_effects(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Dispatch { agent, phase, .. } => {
                    if let PhaseId::Build { batch } = phase {
                        self.mark_tickets(batch, TicketStatus::Doing);
                    }
                    if self.git.is_some() {
                        let prepared = match self.agent_index(&agent) {
                            Ok(i) => self.prepare_phase(i, phase),
                            Err(e) => Err(e),
                        };
                        if let Err(e) = prepared {
                            let name = phase_name(self.scheduler.plan(), phase);
                            self.notify(format!("{name} cannot start on {agent}: {e}"));
                            let effects = self.scheduler.step(Event::PhaseFailed {
                                phase,
                                reason: e,
                                at: self.minutes(),
                            });
                            self.apply_effects(effects);
                            continue;
                        }
                    } else if let PhaseId::Build { batch } | PhaseId::Fix { batch } = phase {
                        self.record_batch_base(batch);
                    }
                    self.queue_prompt(&agent, phase)
                }
                Effect::RunVerify { sync, .. } => self.run_sync(sync),
                Effect::FlagRecheck {
                    batch,
                    failed_batch,
                    ..
                } => {
                    self.recheck_flags += 1;
                    self.notify(format!(
                        "batch {batch}'s design needs a re-check: the review of batch {failed_batch} failed"
                    ));
                }
                Effect::Notify { message, .. } => self.notify(message),
            }
        }
        self.save();
    }

    pub(super) fn try_dispatch(&mut self, i: usize) {
        let a = &self.agents[i];
        if a.queued.is_none() || a.paused || a.exited || a.status.status != AgentStatus::Idle {
            return;
        }
        let now = self.now();
        if Self::settling(a, now) {
            return;
        }
        // An idle edge after the last prompt.
        let edge_ok = match (a.idle_edge, a.last_write) {
            (Some(edge), Some(w)) => edge > w,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !edge_ok {
            return;
        }
        let Some(pane) = a.pane.clone() else {
            return;
        };
        // The screen as it is now, not as it was when the status was read: never paste into a
        // dialog.
        let screen = Self::screen_reading(a.profile.cli, &pane, now - a.last_output);
        if screen.status == AgentStatus::NeedsInput {
            self.agents[i].dirty = true;
            return;
        }
        let (phase, prompt, since) = self.agents[i].queued.take().expect("queued");
        // The pack as TICKETS.md is now: it may have changed while the prompt waited.
        if now - since > Duration::from_millis(50) && !self.is_conflict_fix(i, phase) {
            self.write_pack_for(phase);
        }
        let mut bytes = b"\x1b[200~".to_vec();
        bytes.extend_from_slice(prompt.as_bytes());
        bytes.extend_from_slice(b"\x1b[201~");
        // The Enter follows in `press_enters`, after a pause.
        let written = pane.write(&bytes);
        let agent = self.agents[i].profile.id.clone();
        if let Err(e) = written {
            self.notify(format!(
                "cannot write the {} prompt to {agent}: {e}",
                phase_name(self.scheduler.plan(), phase)
            ));
            self.agents[i].queued = Some((phase, prompt, since));
            return;
        }
        let from = match self.last_signal {
            Some(s) if s > since => s,
            _ => since,
        };
        let latency_ms = now.saturating_duration_since(from).as_secs_f64() * 1000.0;
        let run_id = self.store.generate_id().unwrap_or_else(|_| now_ms());
        let run = PhaseRun {
            id: run_id,
            project: self.project_id.clone(),
            kind: model_kind(self.scheduler.plan(), phase),
            // `plan(m)` keeps its milestone in the run's number (see `phase_of_run`).
            batch: phase.batch().or(phase.milestone()),
            agent: Some(agent.clone()),
            started_at: self.clock.wall_ms(),
            ended_at: None,
            outcome: PhaseOutcome::Running,
            detection: None,
        };
        self.put_run(&run);
        let a = &mut self.agents[i];
        a.current = Some((phase, run_id));
        a.last_write = Some(now);
        a.output_since_write = false;
        a.enter = Some(PendingEnter {
            due: now + ENTER_AFTER_PASTE,
            tries: 0,
        });
        a.last_prompt = Some(prompt.clone());
        a.hook = None;
        a.status =
            StatusObservation::new(AgentStatus::Working, StatusSignal::Process, "prompt sent");
        self.emit(EngineEvent::AgentStatus {
            agent: agent.clone(),
            status: AgentStatus::Working,
            signal: StatusSignal::Process,
            reason: "prompt sent".into(),
        });
        self.emit(EngineEvent::PhaseDispatched {
            agent,
            phase,
            run_id,
            latency_ms,
        });
    }

    /// Just started and its screen still moves (at `now`): a first-run dialog may yet cover the
    /// prompt.
    pub(super) fn settling(a: &AgentRt, now: Instant) -> bool {
        now.saturating_duration_since(a.started) < STARTUP
            && now.saturating_duration_since(a.last_output) < STARTUP_SETTLE
    }

    /// Presses the Enter of each pasted prompt that is due (see [`PendingEnter`]).
    pub(super) fn press_enters(&mut self) {
        let now = self.now();
        for i in 0..self.agents.len() {
            let a = &self.agents[i];
            let Some(enter) = a.enter else { continue };
            if now < enter.due {
                continue;
            }
            let (Some(pane), true, false) = (a.pane.clone(), a.current.is_some(), a.exited) else {
                self.agents[i].enter = None;
                continue;
            };
            if enter.tries > 0 {
                // Pressed once already: press again only while the prompt still waits unsent.
                let screen = Self::screen_reading(a.profile.cli, &pane, now - a.last_output);
                if screen.status == AgentStatus::NeedsInput {
                    // A dialog holds the screen: an Enter would answer it. Wait for the human.
                    self.agents[i].enter = Some(PendingEnter {
                        due: now + ENTER_RETRY,
                        ..enter
                    });
                    continue;
                }
                if enter.tries >= ENTER_TRIES {
                    let id = a.profile.id.clone();
                    self.agents[i].enter = None;
                    // The pending Enter kept an idle prompt from counting: read the screen again
                    // (a CLI that echoes nothing shows nothing new to wake a reading).
                    self.agents[i].dirty = true;
                    self.notify(format!(
                        "{id} did not take its prompt after {ENTER_TRIES} Enter presses: it may \
                         sit unsent in {id}'s input box; press Enter in its pane"
                    ));
                    continue;
                }
            }
            if let Err(e) = pane.write(b"\r") {
                self.agents[i].enter = None;
                let id = self.agents[i].profile.id.clone();
                self.notify(format!("cannot press Enter in {id}'s pane: {e}"));
                continue;
            }
            self.agents[i].enter = Some(PendingEnter {
                due: now + ENTER_RETRY,
                tries: enter.tries + 1,
            });
            if enter.tries > 0 {
                let id = self.agents[i].profile.id.clone();
                self.emit(EngineEvent::Log {
                    source: id.clone(),
                    line: format!(
                        "{id} has not taken its prompt yet: pressed Enter again (press {})",
                        enter.tries + 1
                    ),
                });
            }
        }
    }

    /// The agent showed that it took its prompt: no more Enters for it.
    pub(super) fn prompt_taken(&mut self, i: usize) {
        let a = &mut self.agents[i];
        if a.enter.is_some_and(|e| e.tries > 0) {
            a.enter = None;
        }
    }
}
