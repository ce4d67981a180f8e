//! Agents' processes: launching an agent's CLI in a pane (fresh or resuming its session), and
//! what its exit means (a crashed phase, the notice with its command and last screen).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::phases::phase_name;
use super::Core;
use crate::agents::{
    build_launch, AgentStatus, LaunchContext, SessionPlan, StatusObservation, StatusSignal,
};
use crate::control::agent_env_for_project;
use crate::handoff::HandoffScanner;
use crate::model::{CliKind, CompletionDetection, PhaseOutcome};
use crate::orchestrator::tee::Tee;
use crate::orchestrator::EngineEvent;
use crate::pty::{AckMode, PaneConfig, PaneExit, SpawnSpec};
use crate::scheduler::Event;

impl Core {
    pub(super) fn spawn_agent(&mut self, i: usize) {
        let Some(endpoint) = self.endpoint.clone() else {
            return;
        };
        // A Claude Code session exists only once its first prompt was sent: an id pre-assigned at a
        // launch that never got a prompt has no conversation to resume ("No conversation found").
        let claude_without_session = self.agents[i].profile.cli == CliKind::ClaudeCode
            && !self.claude_session_path(i).is_some_and(|p| p.is_file());
        if claude_without_session {
            self.agents[i].session_id = None;
        }
        if let Err(e) = self.agent_repo(i) {
            self.set_status(
                i,
                StatusObservation::new(AgentStatus::Offline, StatusSignal::Process, &e),
            );
            self.notify(e);
            return;
        }
        let work_dir = self.work_dir(i);
        let a = &mut self.agents[i];
        let resumes = !claude_without_session && (a.session_id.is_some() || a.generation > 0);
        let session = if resumes {
            SessionPlan::Resume {
                session_id: a.session_id.clone(),
            }
        } else {
            SessionPlan::fresh()
        };
        let ctx = LaunchContext {
            project_dir: work_dir,
            agent_dir: self.agents_dir.join(&a.profile.id),
            leap_program: self.leap_program.clone(),
            session,
        };
        let launch = match build_launch(&a.profile, &ctx).and_then(|l| {
            l.write_files()
                .map_err(|e| format!("cannot write the launch files: {e}"))?;
            Ok(l)
        }) {
            Ok(l) => l,
            Err(e) => {
                let id = a.profile.id.clone();
                self.set_status(
                    i,
                    StatusObservation::new(AgentStatus::Offline, StatusSignal::Process, &e),
                );
                self.notify(format!("cannot start agent {id}: {e}"));
                return;
            }
        };
        if launch.session_id.is_some() {
            a.session_id = launch.session_id.clone();
        }
        let mut spec = SpawnSpec::new(&launch.program)
            .args(&launch.args)
            .cwd(&launch.cwd)
            .size(self.pane_size);
        for (k, v) in launch.env.iter().cloned().chain(agent_env_for_project(
            &endpoint,
            &a.profile.id,
            &self.project_dir,
        )) {
            spec = spec.env(k, v);
        }
        a.generation += 1;
        let once = Arc::new(OnceLock::new());
        let tee = Tee {
            agent: i,
            generation: a.generation,
            backlog: self.backlog.clone(),
            tx: self.tx.clone(),
            ui: a.ui.clone(),
            pane: once.clone(),
        };
        let config = PaneConfig {
            ack: AckMode::Consumer,
            mirror_scrollback: crate::orchestrator::AGENT_SCROLLBACK,
            flow: crate::orchestrator::AGENT_FLOW,
            ..PaneConfig::default()
        };
        match self.panes.spawn(&spec, config, tee) {
            Ok(pane) => {
                let _ = once.set(Arc::downgrade(&pane));
                pane.ack(usize::MAX);
                self.record_processes(i, pane.pid(), &launch.program);
                let now = self.now();
                let a = &mut self.agents[i];
                a.pane = Some(pane.clone());
                a.exited = false;
                a.external_busy = false;
                a.scanner = HandoffScanner::new();
                a.hook = None;
                a.candidate = None;
                a.last_write = None;
                a.enter = None;
                a.command_line = launch.command_line();
                a.started = now;
                a.idle_edge = None;
                a.last_output = now;
                a.quiet_checked = false;
                let id = a.profile.id.clone();
                let _ = self.store.append_note(
                    &self.project_id,
                    &format!("agent {id} started: {}", launch.command_line()),
                );
                self.emit(EngineEvent::AgentStarted {
                    agent: id,
                    pane: pane.id(),
                    command_line: launch.command_line(),
                    resumed: launch.resumes,
                });
                self.set_status(
                    i,
                    StatusObservation::new(AgentStatus::Working, StatusSignal::Process, "starting"),
                );
            }
            Err(e) => {
                let id = a.profile.id.clone();
                self.set_status(
                    i,
                    StatusObservation::new(
                        AgentStatus::Offline,
                        StatusSignal::Process,
                        e.to_string(),
                    ),
                );
                self.notify(format!("cannot start agent {id}: {e}"));
            }
        }
    }

    pub(super) fn on_exit(&mut self, i: usize, exit: PaneExit) {
        let a = &mut self.agents[i];
        a.exited = true;
        a.queued = None;
        let id = a.profile.id.clone();
        let how = match &exit.signal {
            Some(s) => format!("killed ({s})"),
            None => format!("exit code {}", exit.code),
        };
        let current = a.current.take();
        // What the user needs to act on an agent that did not start or stopped: its command, how
        // it ended, and the last lines its screen showed.
        let last_lines = a
            .pane
            .as_ref()
            .map(|p| {
                // Lines with words, their runs of blanks collapsed (rules and box edges are not
                // worth reading in a notice).
                let text = p.screen_text();
                let lines: Vec<String> = text
                    .lines()
                    .filter(|l| l.chars().any(char::is_alphanumeric))
                    .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                    .collect();
                lines[lines.len().saturating_sub(6)..].join(" / ")
            })
            .unwrap_or_default();
        let at_once =
            self.clock.now().saturating_duration_since(a.started) < Duration::from_secs(10);
        let detail = format!(
            "{}command: {}{}",
            if at_once {
                "it exited right after it started; "
            } else {
                ""
            },
            a.command_line,
            if last_lines.is_empty() {
                " (its screen was blank)".to_string()
            } else {
                format!("; its screen last showed: {last_lines}")
            }
        );
        let message = if let Some((phase, run_id)) = current {
            let name = phase_name(self.scheduler.plan(), phase);
            self.finish_run(
                run_id,
                PhaseOutcome::Crashed,
                CompletionDetection::ProcessExit,
                Some(id.clone()),
                phase,
            );
            let effects = self.scheduler.step(Event::PhaseFailed {
                phase,
                reason: format!("{id} exited ({how})"),
                at: self.minutes(),
            });
            self.apply_effects(effects);
            format!(
                "agent {id} exited ({how}) during {name}; retry the phase to run it again. {detail}"
            )
        } else {
            format!("agent {id} exited ({how}). {detail}")
        };
        // The status first (it is what the pane shows), then the notification.
        self.set_status(
            i,
            StatusObservation::new(AgentStatus::Exited, StatusSignal::Process, how),
        );
        self.notify(message);
    }
}
