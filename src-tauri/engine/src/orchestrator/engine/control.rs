//! The control endpoint's side of the loop: the [`ControlHandler`] that forwards agents' and
//! the user's requests (`leap complete`, `leap handoff`, `leap hook`, `leap status`, ...) to the
//! loop, and how the loop answers them.

use std::sync::mpsc::{self, Sender};
use std::sync::Mutex;
use std::time::Duration;

use super::limits::count_lines;
use super::phases::phase_name;
use super::{ControlReq, Core, Msg};
use crate::agents::limits::{limit_in_text, UsageLimit};
use crate::agents::prompts::PromptPhase;
use crate::agents::status::status_from_hook;
use crate::agents::{AgentStatus, StatusSignal};
use crate::control::{
    CompleteRequest, ControlHandler, HandoffRequest, HookRequest, Outcome, Reply,
};
use crate::model::{now_ms, CompletionDetection, Handoff, HandoffKind, HandoffRecord};
use crate::orchestrator::{Command, OpenProjectFn};

/// The largest handoff (tickets, files and notes together) the store keeps.
const MAX_HANDOFF_BYTES: usize = 64 * 1024;

pub(super) struct Bridge {
    pub(super) tx: Mutex<Sender<Msg>>,
    pub(super) open_project: Option<OpenProjectFn>,
}

impl Bridge {
    fn ask(&self, agent: Option<&str>, request: ControlReq) -> Result<Reply, String> {
        let (reply, rx) = mpsc::channel();
        // A verify answers when the command has run, however long it takes.
        let patience = match request {
            ControlReq::Verify => Duration::from_secs(24 * 3600),
            _ => Duration::from_secs(20),
        };
        self.tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(Msg::Control {
                agent: agent.map(str::to_string),
                request,
                reply,
            })
            .map_err(|_| "Leapfrog is stopping".to_string())?;
        rx.recv_timeout(patience)
            .map_err(|_| "Leapfrog did not answer in time".to_string())?
    }
}

impl ControlHandler for Bridge {
    fn complete(&self, agent: Option<&str>, req: CompleteRequest) -> Result<Reply, String> {
        self.ask(agent, ControlReq::Complete(req))
    }
    fn handoff(&self, agent: Option<&str>, req: HandoffRequest) -> Result<Reply, String> {
        self.ask(agent, ControlReq::Handoff(req))
    }
    fn status(&self, agent: Option<&str>) -> Result<Reply, String> {
        self.ask(agent, ControlReq::Status)
    }
    fn verify(&self, agent: Option<&str>) -> Result<Reply, String> {
        self.ask(agent, ControlReq::Verify)
    }
    fn hook(&self, agent: Option<&str>, req: HookRequest) -> Result<Reply, String> {
        self.ask(agent, ControlReq::Hook(req))
    }
    fn review(
        &self,
        agent: Option<&str>,
        req: crate::control::ReviewRequest,
    ) -> Result<Reply, String> {
        self.ask(agent, ControlReq::Review(req))
    }
    fn open_project(
        &self,
        _agent: Option<&str>,
        req: crate::control::OpenProjectRequest,
    ) -> Result<Reply, String> {
        match &self.open_project {
            Some(open) => open(req.path).map(Reply::message),
            None => Err(format!(
                "this Leapfrog cannot open another project ({}); close it and run leap start again",
                req.path.display()
            )),
        }
    }
}

impl Core {
    pub(super) fn on_control(
        &mut self,
        caller: Option<&str>,
        req: ControlReq,
    ) -> Result<Reply, String> {
        match req {
            ControlReq::Review(r) => {
                if let Some(agent) = caller {
                    return Err(format!(
                        "a review of batch {} comes from the user, not from agent {agent}",
                        r.batch
                    ));
                }
                self.on_command(Command::ReviewBatch {
                    batch: r.batch,
                    approve: r.approve,
                    comments: r.comments,
                })
                .map(Reply::message)
            }
            ControlReq::Complete(c) => {
                let Some(i) = self.find_running(caller, c.phase, c.batch) else {
                    return Err(format!(
                        "no running {}{} to complete",
                        c.phase.map(|p| p.as_str()).unwrap_or("phase"),
                        c.batch
                            .map(|b| format!(" of batch {b}"))
                            .unwrap_or_default()
                    ));
                };
                let passed = c.verify != Some(Outcome::Failed);
                self.complete(i, passed, CompletionDetection::Command, c.notes)
                    .map(Reply::message)
            }
            ControlReq::Handoff(h) => {
                // Only what fits the project is stored: a handoff names one of its batches and
                // stays small (200 forged ones of about 1 MB each grew the store by 1 GB).
                if !self.has_batch(h.batch) {
                    return Err(format!(
                        "batch {} is not a batch of this project; the handoff was not recorded",
                        h.batch
                    ));
                }
                let size = h
                    .tickets
                    .iter()
                    .chain(&h.files)
                    .map(String::len)
                    .sum::<usize>()
                    + [&h.dependencies, &h.verify_command, &h.notes]
                        .iter()
                        .filter_map(|f| f.as_ref().map(String::len))
                        .sum::<usize>();
                if size > MAX_HANDOFF_BYTES || h.tickets.len() + h.files.len() > 2_000 {
                    return Err(format!(
                        "the handoff of batch {} is too large ({size} bytes, {} tickets and files; \
                         the limit is {MAX_HANDOFF_BYTES} bytes and 2000 entries): not recorded",
                        h.batch,
                        h.tickets.len() + h.files.len()
                    ));
                }
                let record = HandoffRecord {
                    id: self.store.generate_id().unwrap_or_else(|_| now_ms()),
                    project: self.project_id.clone(),
                    agent: caller.map(str::to_string),
                    received_at: self.clock.wall_ms(),
                    message: Handoff {
                        kind: HandoffKind::Handoff,
                        batch: h.batch,
                        tickets: h.tickets.clone(),
                        files: h.files.clone(),
                        dependencies: h.dependencies.clone(),
                        verify_command: h.verify_command.clone(),
                        commits: Vec::new(),
                        verify: None,
                        ready_for: Vec::new(),
                    },
                };
                let _ = self.store.put_handoff(&record);
                let i = self
                    .find_running(caller, Some(PromptPhase::Design), Some(h.batch))
                    .or_else(|| {
                        self.find_running(caller, Some(PromptPhase::Recheck), Some(h.batch))
                    });
                match i {
                    Some(i) => self
                        .complete(i, true, CompletionDetection::Command, None)
                        .map(Reply::message),
                    None => Ok(Reply::message(format!(
                        "handoff of batch {} recorded (no design of it was running)",
                        h.batch
                    ))),
                }
            }
            ControlReq::Status => {
                let snap = self.snapshot(true);
                let summary = self.summary();
                let report = self.status_report(&snap);
                let mut data = serde_json::to_value(&report).unwrap_or_default();
                data["state"] = serde_json::to_value(&snap).unwrap_or_default();
                data["summary"] = serde_json::to_value(&summary).unwrap_or_default();
                data["forecast_minutes"] =
                    serde_json::to_value(self.scheduler.forecast_finish(self.minutes()))
                        .unwrap_or_default();
                data["now_minutes"] = serde_json::to_value(self.minutes()).unwrap_or_default();
                Ok(Reply {
                    message: report.render(),
                    data,
                })
            }
            ControlReq::Verify => self.on_command(Command::RunVerify).map(Reply::message),
            ControlReq::Hook(h) => {
                let reading = status_from_hook(&h.event, &h.payload);
                let Some(i) =
                    caller.and_then(|c| self.agents.iter().position(|a| a.profile.id == c))
                else {
                    return Ok(Reply::message("hook ignored (no agent)"));
                };
                if h.event == "codex-notify" && !self.codex_turn_is_ours(i, &h.payload) {
                    return Ok(Reply::message(
                        "hook ignored (a turn of another Codex thread, such as its title thread)",
                    ));
                }
                if let Some(s) = reading.session_id {
                    self.agents[i].session_id = Some(s);
                }
                if h.event == "stop-failure"
                    && h.payload.get("error").and_then(|e| e.as_str()) == Some("rate_limit")
                {
                    let text = h
                        .payload
                        .get("last_assistant_message")
                        .and_then(|m| m.as_str())
                        .unwrap_or_default();
                    let cli = self.agents[i].profile.cli;
                    let limit =
                        limit_in_text(cli, text, self.clock.wall()).unwrap_or_else(|| UsageLimit {
                            until: None,
                            line: text.trim().to_string(),
                        });
                    // The screen shows the same line: remember it as handled.
                    if let Some(pane) = self.agents[i].pane.clone() {
                        let count = count_lines(&pane.screen_text(), &limit.line);
                        self.agents[i].limit_seen = Some((limit.line.clone(), count.max(1)));
                    }
                    self.on_limit(i, limit, StatusSignal::Hook);
                    return Ok(Reply::message("ok"));
                }
                if h.event == "stop-failure" {
                    // Claude Code gave up on its API (after its own retries): say so in words, with
                    // the phase that is left open.
                    let what = h
                        .payload
                        .get("last_assistant_message")
                        .and_then(|m| m.as_str())
                        .map(|m| m.lines().next().unwrap_or_default().trim().to_string())
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| "an API error".into());
                    let id = self.agents[i].profile.id.clone();
                    let open = match self.agents[i].current {
                        Some((phase, _)) => format!(
                            "; {} is still open: retry it, or type \"continue\" in its pane",
                            phase_name(self.scheduler.plan(), phase)
                        ),
                        None => String::new(),
                    };
                    self.notify(format!("{id}'s turn ended on an error: {what}{open}"));
                }
                if let Some(obs) = reading.observation {
                    if matches!(obs.status, AgentStatus::Working | AgentStatus::Idle) {
                        // A turn started (prompt submitted) or ended: the prompt was taken.
                        self.prompt_taken(i);
                    }
                    self.agents[i].hook = Some(obs);
                    self.agents[i].hook_at = self.now();
                    self.agents[i].output_since_write = true;
                    self.evaluate(i);
                }
                Ok(Reply::message("ok"))
            }
        }
    }

    /// Whether a Codex `notify` is about the agent's own conversation. Codex 0.171 also runs side
    /// threads (the session title, on the first turn) whose turns notify too, with another thread
    /// id: taken as the agent's, they were a false idle mid-turn and a thread id that cannot be
    /// resumed. A turn is ours when its thread is the one we know, or, before we know one (or after
    /// the user started a new thread), when its input holds the prompt we sent last.
    fn codex_turn_is_ours(&self, i: usize, payload: &serde_json::Value) -> bool {
        let a = &self.agents[i];
        let thread = payload
            .get("thread-id")
            .or_else(|| payload.get("thread_id"))
            .and_then(|v| v.as_str());
        if thread.is_some() && thread == a.session_id.as_deref() {
            return true;
        }
        let Some(prompt) = &a.last_prompt else {
            // Nothing sent yet: the user's own turn in the pane.
            return a.session_id.is_none();
        };
        let head: String = prompt.chars().take(60).collect();
        let inputs = payload
            .get("input-messages")
            .or_else(|| payload.get("input_messages"))
            .and_then(|v| v.as_array());
        match inputs {
            Some(inputs) => inputs
                .iter()
                .filter_map(|m| m.as_str())
                .any(|m| m.trim_start().starts_with(head.trim_start())),
            None => a.session_id.is_none(),
        }
    }
}
