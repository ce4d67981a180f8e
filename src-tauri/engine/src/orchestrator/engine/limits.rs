//! Usage limits: a limit seen on the screen or in a hook holds the agent (`limited`), its
//! interrupted phase goes back to the queue, and the hold ends at the reset time or when the user
//! resumes the agent.

use std::time::Duration;

use super::phases::phase_name;
use super::Core;
use crate::agents::limits::{limit_on_screen, UsageLimit};
use crate::agents::{AgentStatus, StatusObservation, StatusSignal};
use crate::model::{CompletionDetection, PhaseOutcome};
use crate::orchestrator::EngineEvent;
use crate::pty::Pane;

/// CLIs show a limit's reset to the minute (`resets 7:46pm`), and the real reset may come up to a
/// minute later. A limited agent gets work again this long after the minute it showed; when that
/// is already past (the limit came back at once), every [`LIMIT_RETRY`] until it holds. A retry
/// that meets the limit again costs one refused request.
const LIMIT_MARGIN: Duration = Duration::from_secs(5);
const LIMIT_RETRY: Duration = Duration::from_secs(20);

/// How many lines of `screen` hold `text` (a limit's words, without the screen's decoration).
pub(super) fn count_lines(screen: &str, text: &str) -> usize {
    screen.lines().filter(|l| l.contains(text)).count()
}

impl Core {
    /// A limit on the screen that was not handled yet: after a prompt was written and answered,
    /// and not the same line (and copy) as the last one handled.
    pub(super) fn new_limit_on_screen(&mut self, i: usize, pane: &Pane) -> Option<UsageLimit> {
        let a = &self.agents[i];
        if a.last_write.is_none() || !a.output_since_write {
            return None;
        }
        let text = pane.screen_text();
        let limit = limit_on_screen(a.profile.cli, &text, self.clock.wall())?;
        let count = count_lines(&text, &limit.line);
        if let Some((line, n)) = &a.limit_seen {
            if *line == limit.line && count <= *n {
                // Still the handled copy (or fewer, scrolled away): not a new limit.
                self.agents[i].limit_seen = Some((limit.line, count));
                return None;
            }
        }
        self.agents[i].limit_seen = Some((limit.line.clone(), count));
        Some(limit)
    }

    /// The agent's account hit its usage limit: its interrupted phase goes back to the queue
    /// (another agent with the role may take it), and it gets no phase until the reset time
    /// ([`LIMIT_MARGIN`] after the minute it showed), or, with no reset time, until the user
    /// resumes it.
    pub(super) fn on_limit(&mut self, i: usize, limit: UsageLimit, signal: StatusSignal) {
        let now = self.clock.wall();
        let resume = limit.until.map(|t| {
            let after_reset = t + LIMIT_MARGIN;
            if after_reset > now {
                after_reset
            } else {
                now + LIMIT_RETRY
            }
        });
        let reason = limit.reason();
        let a = &mut self.agents[i];
        a.enter = None;
        a.hook = None;
        a.candidate = None;
        a.queued = None;
        a.limit = Some((limit.clone(), resume));
        let id = a.profile.id.clone();
        let interrupted = a.current.take();
        let what = match interrupted {
            Some((phase, run_id)) => {
                self.finish_run(
                    run_id,
                    PhaseOutcome::Cancelled,
                    CompletionDetection::UsageLimit,
                    Some(id.clone()),
                    phase,
                );
                format!(
                    "; {} goes back to the queue and resumes then (or another agent with its role \
                     takes it)",
                    phase_name(self.scheduler.plan(), phase)
                )
            }
            None => String::new(),
        };
        self.set_status(
            i,
            StatusObservation::new(AgentStatus::Limited, signal, &reason),
        );
        let when = match limit.until {
            Some(_) => reason.clone(),
            None => "no reset time given: resume it when it can work again".into(),
        };
        self.notify(format!(
            "{id} reached its usage limit (\"{}\"): {when}{what}",
            limit.line
        ));
    }

    /// Ends the limits whose reset time has come: the agent's screen is read again, and at its
    /// idle prompt it comes back online.
    pub(super) fn end_limits(&mut self) {
        let now = self.clock.wall();
        for i in 0..self.agents.len() {
            let due = matches!(&self.agents[i].limit, Some((_, Some(resume))) if *resume <= now);
            if due {
                self.agents[i].limit = None;
                let id = self.agents[i].profile.id.clone();
                self.emit(EngineEvent::Log {
                    source: id.clone(),
                    line: format!("{id}'s usage limit has reset: it gets work again"),
                });
                self.agents[i].dirty = true;
            }
        }
    }
}
