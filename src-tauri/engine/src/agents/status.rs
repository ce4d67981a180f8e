//! What an agent is doing, and which signal said so.
//!
//! Signals, most trusted first: a hook the CLI called (`leap hook ...`), the CLI's own session file
//! (Claude Code's transcript), the process (exited), and the screen (see [`super::screen`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::CliKind;

/// An agent's status as the app shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentStatus {
    /// Thinking, running tools, writing.
    Working,
    /// Waiting at its prompt for the next task.
    Idle,
    /// Blocked on a human: a permission prompt, a trust dialog, a login.
    NeedsInput,
    /// The process ended.
    Exited,
    /// Not started, or not installed.
    Offline,
    /// Its account's usage limit is reached: no phases until the reset time (or until the user
    /// resumes it, when the CLI gave none).
    Limited,
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Working => "working",
            AgentStatus::Idle => "idle",
            AgentStatus::NeedsInput => "needs-input",
            AgentStatus::Exited => "exited",
            AgentStatus::Offline => "offline",
            AgentStatus::Limited => "limited",
        }
    }
}

/// Where a status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StatusSignal {
    /// A CLI hook (`leap hook <event>`).
    Hook,
    /// Claude Code's session transcript (`~/.claude/projects/<dir>/<session>.jsonl`).
    SessionFile,
    /// The screen, read by [`super::screen::detect_screen_status`].
    Screen,
    /// The process (spawned, exited).
    Process,
}

/// One status reading: what, from which signal, and a short reason for the pane's tooltip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusObservation {
    pub status: AgentStatus,
    pub signal: StatusSignal,
    pub reason: String,
}

impl StatusObservation {
    pub fn new(status: AgentStatus, signal: StatusSignal, reason: impl Into<String>) -> Self {
        StatusObservation {
            status,
            signal,
            reason: reason.into(),
        }
    }
}

/// The status a hook event means, with the session id its payload carries (to store for resume).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookReading {
    pub observation: Option<StatusObservation>,
    pub session_id: Option<String>,
}

/// Reads a hook event (the `<event>` of `leap hook <event>`) and its JSON payload.
///
/// - Claude Code (`prompt-submit`, `stop`, `stop-failure`, `notification`, `permission-request`):
///   payload has `session_id`, `hook_event_name`,
///   and for notifications a `message` ("Claude needs your permission to use Bash", "Claude is waiting
///   for your input").
/// - Codex (`codex-notify`): payload `{"type": "agent-turn-complete", "thread-id": ..., ...}`.
/// - Aider (`aider-notify`): no payload; aider waits for input.
pub fn status_from_hook(event: &str, payload: &serde_json::Value) -> HookReading {
    let str_field = |k: &str| payload.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let hook = |s: AgentStatus, why: &str| Some(StatusObservation::new(s, StatusSignal::Hook, why));
    match event {
        "prompt-submit" | "user-prompt-submit" => HookReading {
            observation: hook(AgentStatus::Working, "prompt submitted"),
            session_id: str_field("session_id"),
        },
        "stop" => HookReading {
            observation: hook(AgentStatus::Idle, "turn finished"),
            session_id: str_field("session_id"),
        },
        "stop-failure" => HookReading {
            observation: hook(AgentStatus::Idle, "turn ended on an error"),
            session_id: str_field("session_id"),
        },
        "permission-request" => HookReading {
            observation: hook(
                AgentStatus::NeedsInput,
                &format!(
                    "asks permission for {}",
                    str_field("tool_name").unwrap_or_else(|| "a tool".into())
                ),
            ),
            session_id: str_field("session_id"),
        },
        "notification" => {
            let message = str_field("message").unwrap_or_default();
            let lower = message.to_lowercase();
            let kind = str_field("notification_type").unwrap_or_default();
            // Claude Code 2.1.x: a question answered or a sign-in done ends a wait; it asks
            // nothing. The screen and the next hooks tell what follows.
            let answered = matches!(
                kind.as_str(),
                "elicitation_complete" | "elicitation_response" | "auth_success"
            );
            let observation = if answered {
                None
            } else if kind == "idle_prompt" {
                hook(AgentStatus::Idle, &message)
            } else if kind.contains("permission")
                || kind.contains("elicitation")
                || lower.contains("permission")
                || lower.contains("approve")
                || lower.contains("needs your")
            {
                hook(AgentStatus::NeedsInput, &message)
            } else if lower.contains("waiting for your input") || lower.contains("idle") {
                hook(AgentStatus::Idle, &message)
            } else if message.is_empty() {
                None
            } else {
                hook(AgentStatus::NeedsInput, &message)
            };
            HookReading {
                observation,
                session_id: str_field("session_id"),
            }
        }
        "codex-notify" => {
            let kind = str_field("type").unwrap_or_default();
            let observation = match kind.as_str() {
                "agent-turn-complete" => hook(AgentStatus::Idle, "turn complete"),
                k if k.contains("approval") => hook(AgentStatus::NeedsInput, k),
                _ => None,
            };
            HookReading {
                observation,
                session_id: str_field("thread-id").or_else(|| str_field("thread_id")),
            }
        }
        "aider-notify" => HookReading {
            observation: hook(AgentStatus::Idle, "waiting for input"),
            session_id: None,
        },
        _ => HookReading {
            observation: None,
            session_id: str_field("session_id"),
        },
    }
}

/// Where Claude Code keeps the transcript of `session_id` for a project directory:
/// `<home>/.claude/projects/<dir with every non-alphanumeric character replaced by '-'>/<id>.jsonl`.
pub fn claude_session_file(home: &Path, project_dir: &Path, session_id: &str) -> PathBuf {
    claude_session_file_in(&home.join(".claude"), project_dir, session_id)
}

/// Claude Code's configuration folder for an agent: its `CLAUDE_CONFIG_DIR` (the agent's own
/// environment first, then Leapfrog's), else `~/.claude`.
pub fn claude_config_dir(
    home: &Path,
    agent_env: &std::collections::BTreeMap<String, String>,
) -> PathBuf {
    agent_env
        .get("CLAUDE_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("CLAUDE_CONFIG_DIR").map(PathBuf::from))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| home.join(".claude"))
}

/// The transcript of a Claude Code session under its configuration folder (see
/// [`claude_config_dir`]).
pub fn claude_session_file_in(config_dir: &Path, project_dir: &Path, session_id: &str) -> PathBuf {
    let escaped: String = project_dir
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    config_dir
        .join("projects")
        .join(escaped)
        .join(format!("{session_id}.jsonl"))
}

/// The status the last entries of a Claude Code transcript show (JSON lines, oldest first).
///
/// The last `user` or `assistant` entry decides: a user message (a prompt or tool results) means
/// Claude is working on it; an assistant message that stopped for `tool_use` means a tool runs
/// (working); one that ended its turn (`end_turn`, `stop_sequence`) means idle. Other entries
/// (summaries, system lines) and unreadable lines are skipped. `None` when nothing decides.
pub fn status_from_claude_transcript(tail: &str) -> Option<StatusObservation> {
    for line in tail.lines().rev() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let file = |s, why: &str| Some(StatusObservation::new(s, StatusSignal::SessionFile, why));
        match v.get("type").and_then(|t| t.as_str()) {
            Some("user") => return file(AgentStatus::Working, "user message sent"),
            Some("assistant") => {
                let stop = v
                    .pointer("/message/stop_reason")
                    .and_then(|s| s.as_str())
                    .unwrap_or("");
                return match stop {
                    "end_turn" | "stop_sequence" | "max_tokens" => {
                        file(AgentStatus::Idle, "assistant turn ended")
                    }
                    "tool_use" => file(AgentStatus::Working, "running a tool"),
                    _ => file(AgentStatus::Working, "assistant writing"),
                };
            }
            _ => continue,
        }
    }
    None
}

/// Which CLIs offer which signals (for the pane's "status from ..." hint).
pub fn signals_for(cli: CliKind) -> &'static [StatusSignal] {
    match cli {
        CliKind::ClaudeCode => &[
            StatusSignal::Hook,
            StatusSignal::SessionFile,
            StatusSignal::Process,
            StatusSignal::Screen,
        ],
        CliKind::Codex | CliKind::Aider => &[
            StatusSignal::Hook,
            StatusSignal::Process,
            StatusSignal::Screen,
        ],
        CliKind::Gemini | CliKind::Opencode | CliKind::Custom => {
            &[StatusSignal::Process, StatusSignal::Screen]
        }
    }
}

/// Combines the signals of one agent into the status the app shows.
///
/// Rules, in order:
/// 1. The process decides `exited` / `offline`; nothing else overrides it until a new start.
/// 2. A hook reading is trusted for [`StatusTracker::HOOK_TRUST`] after it arrives (the screen
///    lags: Claude's spinner can still show for a moment after its Stop hook).
/// 3. After that, the screen decides: hooks can be missed (a turn that ends on an API error fires
///    no `Stop`; Codex asks for approval without any hook), and the screen is always current.
/// 4. With no screen reading, the latest hook or session-file reading stands.
#[derive(Debug, Clone, Default)]
pub struct StatusTracker {
    process: Option<StatusObservation>,
    told: Option<(StatusObservation, std::time::Instant)>,
    screen: Option<StatusObservation>,
}

impl StatusTracker {
    /// How long a hook or session-file reading outranks the screen.
    pub const HOOK_TRUST: std::time::Duration = std::time::Duration::from_secs(2);

    pub fn new() -> StatusTracker {
        StatusTracker::default()
    }

    /// Feeds one reading taken at `at`.
    pub fn observe(&mut self, obs: StatusObservation, at: std::time::Instant) {
        match obs.signal {
            StatusSignal::Process => {
                let ended = matches!(obs.status, AgentStatus::Exited | AgentStatus::Offline);
                if ended {
                    self.process = Some(obs);
                } else {
                    // A (re)start: forget everything from the previous run. The start itself is
                    // a weak reading, like the screen's: the first screen reading replaces it.
                    *self = StatusTracker::default();
                    self.screen = Some(obs);
                }
            }
            StatusSignal::Hook | StatusSignal::SessionFile => self.told = Some((obs, at)),
            StatusSignal::Screen => self.screen = Some(obs),
        }
    }

    /// The status to show at `now`.
    pub fn current(&self, now: std::time::Instant) -> StatusObservation {
        if let Some(p) = &self.process {
            return p.clone();
        }
        let fresh_told = self
            .told
            .as_ref()
            .filter(|(_, at)| now.saturating_duration_since(*at) < Self::HOOK_TRUST);
        if let Some((o, _)) = fresh_told {
            return o.clone();
        }
        match (&self.screen, &self.told) {
            (Some(s), _) => s.clone(),
            (None, Some((o, _))) => o.clone(),
            (None, None) => {
                StatusObservation::new(AgentStatus::Offline, StatusSignal::Process, "not started")
            }
        }
    }
}
