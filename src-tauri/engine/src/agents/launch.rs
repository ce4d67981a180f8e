//! The exact command line to spawn an agent in a PTY.
//!
//! Flags were checked against the real CLIs' `--help`: Claude Code 2.1.197, Codex 0.171.0,
//! Gemini CLI 0.61.0, OpenCode (npm `opencode-ai`), Aider 0.86.2 (`aider/args.py`).
//!
//! | CLI      | new session               | resume                                   | read-only role            | hooks                         |
//! |----------|---------------------------|------------------------------------------|---------------------------|-------------------------------|
//! | claude   | `--session-id <uuid>`     | `--resume <id>` (`--continue` if no id)  | `--disallowedTools Edit…` | `--settings <json file>`      |
//! | codex    | (id learnt from `notify`) | `codex resume <id>` / `resume --last`    | `--sandbox read-only`     | `-c notify=[leap,hook,…]`     |
//! | gemini   | `--session-id <uuid>`     | `--resume <id>` (`--resume latest`)      | `--approval-mode plan`    | (screen only)                 |
//! | opencode | (none)                    | `--session <id>` / `--continue`          | `--agent plan`            | (screen only)                 |
//! | aider    | per-agent history files   | `--restore-chat-history`                 | `--chat-mode ask`         | `--notifications-command`     |

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{default_program, shell_quote, split_command, AgentProfile};
use crate::model::CliKind;

/// Whether this launch starts a new conversation or continues the agent's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SessionPlan {
    /// A new conversation. `session_id` is the id to pre-assign where the CLI accepts one.
    Fresh { session_id: String },
    /// Continue the agent's conversation after an app restart: by id when it is known (pre-assigned, or
    /// learnt from a hook payload), else the CLI's "most recent in this directory".
    Resume { session_id: Option<String> },
}

impl SessionPlan {
    /// A fresh session with a new random UUID.
    pub fn fresh() -> SessionPlan {
        SessionPlan::Fresh {
            session_id: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// What the launch needs to know besides the profile.
#[derive(Debug, Clone)]
pub struct LaunchContext {
    /// The project's directory: the agent's working directory.
    pub project_dir: PathBuf,
    /// A directory private to this agent where Leapfrog writes the files the launch needs (hook
    /// settings, aider chat history). Outside the project's tree is best (app data dir).
    pub agent_dir: PathBuf,
    /// How hooks call back into Leapfrog: the absolute path of the `leap` binary (or `leap` on PATH).
    pub leap_program: String,
    pub session: SessionPlan,
}

/// A file the launch needs on disk before the agent starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaunchFile {
    pub path: PathBuf,
    pub contents: String,
}

/// How far the CLI itself enforces the agent's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnforcementLevel {
    /// The CLI is started so that it cannot edit files (sandbox or disabled tools).
    Enforced,
    /// File-editing tools are off but a shell remains, which could still write.
    Partial,
    /// Only the prompt states the role; the CLI would let the agent do anything.
    PromptOnly,
}

/// The role enforcement shown in the agent's pane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleEnforcement {
    pub level: EnforcementLevel,
    /// One or two human sentences, e.g. "Read-only: Codex's sandbox forbids writing files (--sandbox read-only)."
    pub description: String,
}

/// Everything needed to spawn the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaunchSpec {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// The profile's extra environment. The control endpoint's variables (`LEAPFROG_SOCKET`, ...) come
    /// from [`crate::control::agent_env`] and are added by the caller.
    pub env: Vec<(String, String)>,
    /// Files to write before spawning ([`LaunchSpec::write_files`]).
    pub files: Vec<LaunchFile>,
    /// The conversation this launch runs, when known: store it to resume after a restart.
    pub session_id: Option<String>,
    /// True when this launch continues an earlier conversation.
    pub resumes: bool,
    pub enforcement: RoleEnforcement,
    /// How Leapfrog learns the agent's status: hooks wired, or screen only.
    pub hooks: String,
}

impl LaunchSpec {
    /// The command line as a shell would show it (for logs and the pane's header).
    pub fn command_line(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .map(shell_quote)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Writes [`LaunchSpec::files`], creating parent directories; files are private (0600).
    pub fn write_files(&self) -> std::io::Result<()> {
        for f in &self.files {
            if let Some(parent) = f.path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            write_private(&f.path, f.contents.as_bytes())?;
        }
        Ok(())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

/// The Claude Code tools that edit files; a read-only agent gets them disallowed.
pub const CLAUDE_EDIT_TOOLS: &str = "Edit,Write,NotebookEdit";

/// The hook events wired into Claude Code, with the `leap hook` event name each one calls.
/// `StopFailure` matters: a turn that ends on an API error fires it instead of `Stop` (seen with
/// Claude Code 2.1.197 when it cannot reach its API).
pub const CLAUDE_HOOKS: [(&str, &str); 5] = [
    ("UserPromptSubmit", "prompt-submit"),
    ("Stop", "stop"),
    ("StopFailure", "stop-failure"),
    ("Notification", "notification"),
    ("PermissionRequest", "permission-request"),
];

/// Builds the command line for `profile` in `ctx`. Errors (one line) on an invalid profile.
pub fn build_launch(profile: &AgentProfile, ctx: &LaunchContext) -> Result<LaunchSpec, String> {
    profile.validate()?;
    let mut words = match &profile.command {
        Some(cmd) => split_command(cmd)?,
        None => vec![default_program(profile.cli)
            .expect("validate() requires a command for custom")
            .to_string()],
    };
    let program = words.remove(0);
    let mut args = words;
    let read_only = profile.is_read_only();
    let leap = shell_quote(&ctx.leap_program);
    let mut files = Vec::new();
    let (session_id, resumes) = match &ctx.session {
        SessionPlan::Fresh { session_id } => (Some(session_id.clone()), false),
        SessionPlan::Resume { session_id } => (session_id.clone(), true),
    };
    let mut known_session = None;
    let enforcement;
    let hooks;

    match profile.cli {
        CliKind::ClaudeCode => {
            match (&ctx.session, &session_id) {
                (SessionPlan::Fresh { .. }, Some(id)) => {
                    args.extend(["--session-id".into(), id.clone()]);
                }
                (_, Some(id)) => args.extend(["--resume".into(), id.clone()]),
                (_, None) => args.push("--continue".into()),
            }
            known_session = session_id.clone();
            let settings = ctx.agent_dir.join("claude-settings.json");
            files.push(LaunchFile {
                path: settings.clone(),
                contents: claude_settings(&leap, &ctx.leap_program),
            });
            args.extend(["--settings".into(), settings.display().to_string()]);
            if let Some(m) = &profile.model {
                args.extend(["--model".into(), m.clone()]);
            }
            args.extend(["--append-system-prompt".into(), role_statement(profile)]);
            if read_only {
                args.extend(["--disallowedTools".into(), CLAUDE_EDIT_TOOLS.into()]);
                enforcement = RoleEnforcement {
                    level: EnforcementLevel::Partial,
                    description: format!(
                        "Read-only tools: Claude Code's {} tools are disabled (--disallowedTools). \
                         Its shell still runs, behind Claude's own permission prompts.",
                        CLAUDE_EDIT_TOOLS.replace(',', ", ")
                    ),
                };
            } else {
                enforcement = prompt_only(profile, true);
            }
            hooks = "Claude Code hooks UserPromptSubmit, Stop, StopFailure, Notification and \
                     PermissionRequest call `leap hook` (--settings)."
                .to_string();
        }
        CliKind::Codex => {
            let mut opts = Vec::new();
            opts.extend(["-c".to_string(), codex_notify(&ctx.leap_program)]);
            // Codex's TUI otherwise starts a background server that outlives its pane.
            if !args.iter().any(|a| a == "--no-daemon") {
                opts.push("--no-daemon".to_string());
            }
            opts.extend([
                "-c".to_string(),
                format!(
                    "developer_instructions={}",
                    toml_string(&role_statement(profile))
                ),
            ]);
            if let Some(m) = &profile.model {
                opts.extend(["--model".into(), m.clone()]);
            }
            if read_only {
                opts.extend(["--sandbox".into(), "read-only".into()]);
                enforcement = RoleEnforcement {
                    level: EnforcementLevel::Enforced,
                    description: "Read-only: Codex runs every command in its read-only sandbox \
                                  (--sandbox read-only) and cannot edit files. That sandbox also \
                                  keeps `leap` from reaching Leapfrog: its verdict is read from its \
                                  reply."
                        .into(),
                };
            } else {
                enforcement = prompt_only(profile, true);
            }
            if resumes {
                args.push("resume".into());
                match &session_id {
                    Some(id) => {
                        args.push(id.clone());
                        known_session = Some(id.clone());
                    }
                    None => args.push("--last".into()),
                }
            }
            args.extend(opts);
            hooks = "Codex calls `leap hook codex-notify` when a turn completes (-c notify=...). \
                     Its sandbox blocks Leapfrog's socket, so `leap complete` queues reports in \
                     .leapfrog/inbox/ (LEAPFROG_SPOOL, see control::agent_env_for_project)."
                .to_string();
        }
        CliKind::Gemini => {
            match (&ctx.session, &session_id) {
                (SessionPlan::Fresh { .. }, Some(id)) => {
                    args.extend(["--session-id".into(), id.clone()])
                }
                (_, Some(id)) => args.extend(["--resume".into(), id.clone()]),
                (_, None) => args.extend(["--resume".into(), "latest".into()]),
            }
            known_session = session_id.clone();
            if let Some(m) = &profile.model {
                args.extend(["--model".into(), m.clone()]);
            }
            if read_only {
                args.extend(["--approval-mode".into(), "plan".into()]);
                // Gemini CLI 0.61 silently drops the approval mode in a folder it does not trust.
                enforcement = RoleEnforcement {
                    level: EnforcementLevel::Partial,
                    description: "Read-only in a trusted folder: Gemini CLI runs in plan mode \
                                  (--approval-mode plan), which it silently drops in a folder it \
                                  does not trust."
                        .into(),
                };
            } else {
                enforcement = prompt_only(profile, false);
            }
            hooks = "No hooks wired: status comes from the screen.".to_string();
        }
        CliKind::Opencode => {
            if resumes {
                match &session_id {
                    Some(id) => {
                        args.extend(["--session".into(), id.clone()]);
                        known_session = Some(id.clone());
                    }
                    None => args.push("--continue".into()),
                }
            }
            if let Some(m) = &profile.model {
                args.extend(["--model".into(), m.clone()]);
            }
            if read_only {
                args.extend(["--agent".into(), "plan".into()]);
                // OpenCode 1.18's plan agent has no edit tools but still runs bash.
                enforcement = RoleEnforcement {
                    level: EnforcementLevel::Partial,
                    description: "Read-only tools: OpenCode runs its built-in plan agent \
                                  (--agent plan), which has no edit tools. Its bash still runs, \
                                  and could write."
                        .into(),
                };
            } else {
                enforcement = prompt_only(profile, false);
            }
            hooks = "No hooks wired: status comes from the screen.".to_string();
        }
        CliKind::Aider => {
            let history = ctx.agent_dir.join("aider.chat.history.md");
            let input = ctx.agent_dir.join("aider.input.history");
            args.extend([
                "--chat-history-file".into(),
                history.display().to_string(),
                "--input-history-file".into(),
                input.display().to_string(),
            ]);
            if resumes {
                args.push("--restore-chat-history".into());
            }
            if let Some(m) = &profile.model {
                args.extend(["--model".into(), m.clone()]);
            }
            args.extend([
                "--notifications".into(),
                "--notifications-command".into(),
                format!("{leap} hook aider-notify"),
            ]);
            if read_only {
                args.extend(["--chat-mode".into(), "ask".into()]);
                enforcement = RoleEnforcement {
                    level: EnforcementLevel::Enforced,
                    description:
                        "Read-only: Aider runs in ask mode (--chat-mode ask) and proposes \
                                  no edits."
                            .into(),
                };
            } else {
                enforcement = prompt_only(profile, false);
            }
            hooks = "Aider calls `leap hook aider-notify` when it waits for input \
                     (--notifications-command)."
                .to_string();
        }
        CliKind::Custom => {
            enforcement = prompt_only(profile, false);
            hooks =
                "No hooks wired: status comes from the screen (and `leap` reports).".to_string();
        }
    }
    args.extend(profile.args.iter().cloned());
    Ok(LaunchSpec {
        program,
        args,
        cwd: ctx.project_dir.clone(),
        env: profile
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        files,
        session_id: known_session,
        resumes,
        enforcement,
        hooks,
    })
}

fn prompt_only(profile: &AgentProfile, in_system_prompt: bool) -> RoleEnforcement {
    let roles: Vec<&str> = profile.roles.iter().map(|r| r.as_str()).collect();
    let where_ = if in_system_prompt {
        "its system prompt and each prompt"
    } else {
        "each prompt"
    };
    RoleEnforcement {
        level: EnforcementLevel::PromptOnly,
        description: if profile.is_read_only() {
            format!(
                "Not enforced: {} cannot be started read-only; {where_} ask it to only {}.",
                super::cli_display_name(profile.cli),
                roles.join(", ")
            )
        } else {
            format!(
                "Roles {} are stated in {where_}; the CLI itself may edit any file.",
                roles.join(", ")
            )
        },
    }
}

/// The agent's place in the team, in the seed's words ("You are the Builder. Only build."), given to
/// CLIs that take extra system instructions (Claude `--append-system-prompt`, Codex
/// `developer_instructions`).
pub fn role_statement(profile: &AgentProfile) -> String {
    use crate::model::Role;
    let title = if profile.has_role(Role::Build) {
        "Builder"
    } else if profile.has_role(Role::Design) {
        "Designer"
    } else if profile.has_role(Role::Review) || profile.has_role(Role::Qa) {
        "Reviewer"
    } else {
        "Planner"
    };
    let roles: Vec<&str> = profile.roles.iter().map(|r| r.as_str()).collect();
    format!(
        "You are the {title} of a Leapfrog team: other agents work on the same project at the same \
         time. Your roles: {}. Do only the work of these roles and only the batch each prompt names. \
         When a phase is done, report with the `leap` command the prompt gives.",
        roles.join(", ")
    )
}

/// A TOML basic string.
pub fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `leap` subcommands an agent runs to report; Claude Code may run them without asking.
pub const LEAP_AGENT_COMMANDS: [&str; 4] = ["complete", "handoff", "status", "verify"];

/// Claude Code permission rules that let the agent run its `leap` reports without a "Do you want to
/// proceed?" prompt (which would hold a headless run forever): `Bash(<leap> <subcommand>:*)` for the
/// program the prompts name, quoted and unquoted, and for a bare `leap` on PATH.
pub fn claude_leap_permissions(leap_quoted: &str, leap_program: &str) -> Vec<String> {
    let mut programs = vec![leap_program.to_string()];
    for p in [leap_quoted, "leap"] {
        if !programs.iter().any(|q| q == p) {
            programs.push(p.to_string());
        }
    }
    programs
        .iter()
        .flat_map(|p| {
            LEAP_AGENT_COMMANDS
                .iter()
                .map(move |c| format!("Bash({p} {c}:*)"))
        })
        .collect()
}

/// The Claude Code settings file that wires its hooks to `leap hook <event>` and allows the `leap`
/// reports ([`claude_leap_permissions`]).
pub fn claude_settings(leap_quoted: &str, leap_program: &str) -> String {
    let mut hooks = serde_json::Map::new();
    for (event, leap_event) in CLAUDE_HOOKS {
        hooks.insert(
            event.to_string(),
            serde_json::json!([{
                "hooks": [{"type": "command", "command": format!("{leap_quoted} hook {leap_event}")}]
            }]),
        );
    }
    serde_json::to_string_pretty(&serde_json::json!({
        "hooks": hooks,
        "permissions": { "allow": claude_leap_permissions(leap_quoted, leap_program) },
    }))
    .expect("json")
}

/// The `-c` override that makes Codex run `leap hook codex-notify <json>` after each turn.
/// The value is TOML: an array of basic strings.
pub fn codex_notify(leap_program: &str) -> String {
    format!(
        "notify=[{},{},{}]",
        toml_string(leap_program),
        toml_string("hook"),
        toml_string("codex-notify")
    )
}
