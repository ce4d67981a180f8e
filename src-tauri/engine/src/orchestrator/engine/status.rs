//! Agent status detection: hooks, Claude Code's session file and the screen mirror, strongest
//! first; the debounce of session-file and screen readings, needs-input dialogs and the hook they
//! end; and what a status change tells the scheduler.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{AgentRt, Core, SESSION_EVERY};
use crate::agents::status::{
    claude_config_dir, claude_session_file_in, status_from_claude_transcript,
};
use crate::agents::{detect_screen_status, AgentStatus, StatusObservation, StatusSignal};
use crate::model::CliKind;
use crate::orchestrator::{EngineEvent, DEBOUNCE};
use crate::pty::Pane;
use crate::scheduler::Event;

impl Core {
    pub(super) fn set_status(&mut self, i: usize, obs: StatusObservation) {
        let a = &mut self.agents[i];
        if a.status == obs {
            return;
        }
        let changed = a.status.status != obs.status;
        a.status = obs.clone();
        if changed && obs.status == AgentStatus::Idle {
            a.idle_edge = Some(self.clock.now());
        }
        let id = a.profile.id.clone();
        let was_online = a.online;
        self.emit(EngineEvent::AgentStatus {
            agent: id.clone(),
            status: obs.status,
            signal: obs.signal,
            reason: obs.reason.clone(),
        });
        let at = self.minutes();
        let a = &self.agents[i];
        let unassigned = a.current.is_none() && a.queued.is_none();
        let external = a.external_busy;
        match obs.status {
            AgentStatus::Idle if !was_online || external => {
                self.agents[i].online = true;
                self.agents[i].external_busy = false;
                let effects = self.scheduler.step(Event::AgentIdle { agent: id, at });
                self.apply_effects(effects);
            }
            // Work Leapfrog did not give it (the user typed in its pane): no phase until idle.
            AgentStatus::Working | AgentStatus::NeedsInput
                if changed && was_online && unassigned && !external =>
            {
                self.agents[i].external_busy = true;
                let effects = self.scheduler.step(Event::AgentBusy { agent: id, at });
                self.apply_effects(effects);
            }
            AgentStatus::Exited | AgentStatus::Offline | AgentStatus::Limited if was_online => {
                self.agents[i].online = false;
                let effects = self.scheduler.step(Event::AgentOffline { agent: id, at });
                self.apply_effects(effects);
            }
            _ => {}
        }
        self.try_dispatch(i);
    }

    pub(super) fn evaluate_all(&mut self) {
        let now = self.now();
        for i in 0..self.agents.len() {
            let a = &self.agents[i];
            if a.exited || a.pane.is_none() {
                continue;
            }
            let quiet_recheck = Self::quiet_recheck_pending(a)
                && now >= a.last_output + crate::agents::screen::QUIET;
            if quiet_recheck {
                self.agents[i].quiet_checked = true;
            }
            let a = &self.agents[i];
            let due = quiet_recheck
                || a.dirty
                || a.candidate
                    .as_ref()
                    .is_some_and(|(_, s)| now >= *s + DEBOUNCE)
                || (a.status.signal == StatusSignal::Screen
                    && a.status.status == AgentStatus::Working
                    && now >= a.last_output + crate::agents::screen::QUIET);
            let due = due || self.session_file_changed(i, now);
            if due {
                self.evaluate(i);
            }
        }
    }

    pub(super) fn evaluate(&mut self, i: usize) {
        self.agents[i].dirty = false;
        let Some(pane) = self.agents[i].pane.clone() else {
            return;
        };
        if self.agents[i].limit.is_some() {
            // Held until the reset (or the user's resume): see `end_limits`.
            return;
        }
        let now = self.now();
        let a = &self.agents[i];
        let screen = Self::screen_reading(a.profile.cli, &pane, now - a.last_output);
        // A limit ends the turn: look for one only once the busy marker is gone (not on every
        // frame of a turn's output).
        if screen.status != AgentStatus::Working || !screen.reason.starts_with("screen shows") {
            if let Some(limit) = self.new_limit_on_screen(i, &pane) {
                self.on_limit(i, limit, StatusSignal::Screen);
                return;
            }
        }
        let a = &self.agents[i];
        let hook = a.hook.clone();
        let reading = match hook {
            Some(h)
                if screen.status == AgentStatus::NeedsInput && h.status == AgentStatus::Working =>
            {
                screen
            }
            // The human answered: the CLI works again (its busy marker) or is back at its prompt,
            // and no hook says so (Claude Code fires none after a permission is granted).
            Some(h)
                if h.status == AgentStatus::NeedsInput
                    && a.last_output > a.hook_at
                    && Self::screen_moved_on(&screen) =>
            {
                self.agents[i].hook = None;
                screen
            }
            Some(h) => {
                self.agents[i].candidate = None;
                self.set_status(i, h);
                return;
            }
            None => match self.session_reading(i) {
                Some(s) if screen.status != AgentStatus::NeedsInput => s,
                _ => screen,
            },
        };
        if reading.status == AgentStatus::Working && reading.reason.starts_with("screen shows") {
            self.prompt_taken(i);
        }
        let a = &mut self.agents[i];
        // Right after a prompt is written the screen still shows the old prompt: wait for output.
        if reading.status == AgentStatus::Idle && a.last_write.is_some() && !a.output_since_write {
            return;
        }
        // The prompt is pasted but not yet taken: its input box is not an idle edge.
        if reading.status == AgentStatus::Idle && a.enter.is_some() {
            return;
        }
        if reading.status == a.status.status {
            a.candidate = None;
            if reading.signal != a.status.signal {
                // Same status, now from a stronger or fresher signal: show which.
                self.set_status(i, reading);
            }
            return;
        }
        match &a.candidate {
            Some((c, since)) if c.status == reading.status => {
                if now.saturating_duration_since(*since) >= DEBOUNCE {
                    a.candidate = None;
                    self.set_status(i, reading);
                }
            }
            _ => a.candidate = Some((reading, now)),
        }
    }

    /// The screen's reading, plus: an empty prompt line at the cursor is idle.
    pub(super) fn screen_reading(
        cli: CliKind,
        pane: &Pane,
        unchanged_for: Duration,
    ) -> StatusObservation {
        let text = pane.screen_text();
        let obs = detect_screen_status(cli, &text, unchanged_for);
        if obs.status == AgentStatus::Working && obs.reason == "screen is changing" {
            let at_prompt = pane.with_screen(|s| {
                let (row, _) = s.cursor_position();
                s.row(row)
                    .is_some_and(|l| matches!(l.trim(), "❯" | ">" | "›"))
            });
            if at_prompt {
                return StatusObservation::new(
                    AgentStatus::Idle,
                    StatusSignal::Screen,
                    "empty prompt at the cursor",
                );
            }
        }
        obs
    }

    /// A screen reading that ends a needs-input hook: a busy marker or an idle prompt (not a
    /// guess from a changing or quiet screen).
    fn screen_moved_on(screen: &StatusObservation) -> bool {
        match screen.status {
            AgentStatus::Working => screen.reason.starts_with("screen shows"),
            AgentStatus::Idle => screen.reason.contains("prompt"),
            _ => false,
        }
    }

    /// The transcript of a Claude Code agent's session, when its id is known.
    pub(super) fn claude_session_path(&self, i: usize) -> Option<PathBuf> {
        let a = &self.agents[i];
        let dir = claude_config_dir(self.home.as_ref()?, &a.profile.env);
        Some(claude_session_file_in(
            &dir,
            &self.work_dir(i),
            a.session_id.as_ref()?,
        ))
    }

    fn session_reading(&self, i: usize) -> Option<StatusObservation> {
        let a = &self.agents[i];
        if a.profile.cli != CliKind::ClaudeCode {
            return None;
        }
        let path = self.claude_session_path(i)?;
        let bytes = std::fs::read(&path).ok()?;
        let start = bytes.len().saturating_sub(64 * 1024);
        status_from_claude_transcript(&String::from_utf8_lossy(&bytes[start..]))
    }

    /// Claude Code agents: whether their session file changed since last looked at (a stat, at
    /// most every [`SESSION_EVERY`]).
    fn session_file_changed(&mut self, i: usize, now: Instant) -> bool {
        let a = &self.agents[i];
        if a.profile.cli != CliKind::ClaudeCode || now < a.session_checked + SESSION_EVERY {
            return false;
        }
        let Some(path) = self.claude_session_path(i) else {
            return false;
        };
        let stamp = std::fs::metadata(&path)
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)));
        let a = &mut self.agents[i];
        a.session_checked = now;
        if stamp != a.session_stamp {
            a.session_stamp = stamp;
            return true;
        }
        false
    }

    /// A status from the process (`starting`, `prompt sent`) is read from the screen once more
    /// after the output goes quiet: the mirror thread may not have parsed the last frame when
    /// the output message was evaluated, and nothing else would wake a re-read.
    pub(super) fn quiet_recheck_pending(a: &AgentRt) -> bool {
        !a.quiet_checked
            && a.status.status == AgentStatus::Working
            && a.status.signal == StatusSignal::Process
    }
}
