//! Agents: which coding-agent CLI an agent runs, how to spawn it, how to tell what it is doing.
//!
//! - [`AgentProfile`]: one agent of a project (its CLI, roles, command overrides). Built-in profiles ship
//!   for every [`CliKind`] ([`AgentProfile::builtin`]).
//! - [`launch`]: from a profile + project dir, the exact command line to spawn in a PTY (session ids,
//!   resume, role enforcement, hook wiring).
//! - [`prompts`]: the prompt sent to an agent for a phase, per role and phase, overridable per project.
//! - [`status`]: the status model (working, idle, needs-input, exited, offline) and the signals behind it.
//! - [`screen`]: a pure status detector over what the mirror of the agent's screen shows.
//! - [`detect`]: which CLIs are installed on `PATH`, with their versions.
//! - [`install`]: installing a CLI into the user's own prefix with npm, and each CLI's sign-in.

pub mod detect;
pub mod install;
pub mod launch;
pub mod limits;
pub mod prompts;
pub mod screen;
pub mod status;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{CliKind, Role};

pub use detect::{detect_installed, find_on_path, Installed};
pub use launch::{build_launch, LaunchContext, LaunchSpec, RoleEnforcement, SessionPlan};
pub use prompts::{PromptContext, PromptPhase, PromptTemplates};
pub use screen::detect_screen_status;
pub use status::{AgentStatus, StatusObservation, StatusSignal, StatusTracker};

/// One agent of a project: a CLI session with a set of roles.
///
/// Serialised as it appears in a project's config (`.leapfrog/project.json`, `agents` list):
/// `{"id": "builder", "cli": "codex", "roles": ["build", "fix"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct AgentProfile {
    /// Stable id of the agent in this project (`claude`, `builder`, ...). Used in env vars and file names.
    pub id: String,
    /// Which CLI it runs.
    pub cli: CliKind,
    /// The command to run instead of the CLI's default program. For [`CliKind::Custom`] this is the
    /// whole command line (split like a shell would, quotes honoured), e.g. `leap demo-agent --role builder`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Extra arguments appended to the command line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// The roles this agent takes (see `pipeline.md`).
    pub roles: Vec<Role>,
    /// Model to ask the CLI for (`--model`), where the CLI takes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Extra environment variables for the agent's PTY.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

impl AgentProfile {
    /// The profile that ships for a CLI kind, with the roles of the seed's Leapfrog pattern:
    /// Claude Code designs and reviews, the others build and fix.
    pub fn builtin(cli: CliKind) -> AgentProfile {
        let roles = match cli {
            CliKind::ClaudeCode | CliKind::Gemini => vec![
                Role::Discovery,
                Role::Requirements,
                Role::Plan,
                Role::Design,
                Role::Review,
                Role::Qa,
            ],
            CliKind::Codex | CliKind::Aider | CliKind::Opencode | CliKind::Custom => {
                vec![Role::Build, Role::Fix]
            }
        };
        AgentProfile {
            id: cli_id(cli).to_string(),
            cli,
            command: None,
            args: Vec::new(),
            roles,
            model: None,
            env: BTreeMap::new(),
        }
    }

    /// Every shipped profile, one per CLI kind except `custom` (which needs a command).
    pub fn builtins() -> Vec<AgentProfile> {
        [
            CliKind::ClaudeCode,
            CliKind::Codex,
            CliKind::Aider,
            CliKind::Gemini,
            CliKind::Opencode,
        ]
        .into_iter()
        .map(AgentProfile::builtin)
        .collect()
    }

    /// A profile for any command line (`cli: custom`).
    pub fn custom(id: &str, command: &str, roles: Vec<Role>) -> AgentProfile {
        AgentProfile {
            id: id.to_string(),
            cli: CliKind::Custom,
            command: Some(command.to_string()),
            args: Vec::new(),
            roles,
            model: None,
            env: BTreeMap::new(),
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// True when none of the agent's roles writes files: it only reads and judges (review, qa).
    /// Such an agent is started read-only where its CLI allows it.
    pub fn is_read_only(&self) -> bool {
        !self.roles.is_empty()
            && self
                .roles
                .iter()
                .all(|r| matches!(r, Role::Review | Role::Qa | Role::Discovery))
    }

    /// Checks the profile: a non-empty id made of `[A-Za-z0-9_-]`, at least one role, and a command for
    /// `custom`. Returns a one-line error.
    pub fn validate(&self) -> Result<(), String> {
        if self.id.is_empty()
            || !self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "agent id {:?} must be letters, digits, '-' or '_'",
                self.id
            ));
        }
        if self.roles.is_empty() {
            return Err(format!("agent {} has no roles", self.id));
        }
        if self.cli == CliKind::Custom
            && self
                .command
                .as_deref()
                .map(str::trim)
                .unwrap_or("")
                .is_empty()
        {
            return Err(format!(
                "agent {} runs a custom CLI but has no command",
                self.id
            ));
        }
        if let Some(cmd) = &self.command {
            split_command(cmd).map_err(|e| format!("agent {}: command: {e}", self.id))?;
        }
        Ok(())
    }
}

/// The short name of a CLI kind as users type it (`claude`, `codex`, `aider`, `gemini`, `opencode`, `custom`).
pub fn cli_id(cli: CliKind) -> &'static str {
    match cli {
        CliKind::ClaudeCode => "claude",
        CliKind::Codex => "codex",
        CliKind::Aider => "aider",
        CliKind::Gemini => "gemini",
        CliKind::Opencode => "opencode",
        CliKind::Custom => "custom",
    }
}

/// The human name of a CLI kind.
pub fn cli_display_name(cli: CliKind) -> &'static str {
    match cli {
        CliKind::ClaudeCode => "Claude Code",
        CliKind::Codex => "Codex",
        CliKind::Aider => "Aider",
        CliKind::Gemini => "Gemini CLI",
        CliKind::Opencode => "OpenCode",
        CliKind::Custom => "Custom command",
    }
}

/// The program a CLI kind runs by default (`None` for custom).
pub fn default_program(cli: CliKind) -> Option<&'static str> {
    match cli {
        CliKind::ClaudeCode => Some("claude"),
        CliKind::Codex => Some("codex"),
        CliKind::Aider => Some("aider"),
        CliKind::Gemini => Some("gemini"),
        CliKind::Opencode => Some("opencode"),
        CliKind::Custom => None,
    }
}

/// Splits a command line into words like a POSIX shell would for a simple command: whitespace separates
/// words; single quotes keep everything literal; double quotes keep spaces and honour `\"` and `\\`;
/// a backslash outside quotes escapes the next character. No expansion of any kind.
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unclosed single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err("unclosed double quote".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unclosed double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return Err("trailing backslash".into()),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        return Err("empty command".into());
    }
    Ok(words)
}

/// Quotes one word for display in a shell (`'it''s'` style single quoting when needed).
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}
