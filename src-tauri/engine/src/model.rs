//! The domain model shared by every subsystem: roles, phases, patterns, agents, projects.
//!
//! Subsystems add their own types next to their code; what more than one of them needs lives here.

use serde::{Deserialize, Serialize};

/// What an agent may be asked to do. A phase runs on one agent that has its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Discovery,
    Requirements,
    Plan,
    Design,
    Build,
    Review,
    Fix,
    Qa,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Discovery,
        Role::Requirements,
        Role::Plan,
        Role::Design,
        Role::Build,
        Role::Review,
        Role::Fix,
        Role::Qa,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Discovery => "discovery",
            Role::Requirements => "requirements",
            Role::Plan => "plan",
            Role::Design => "design",
            Role::Build => "build",
            Role::Review => "review",
            Role::Fix => "fix",
            Role::Qa => "qa",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The orchestration patterns of the seed; presets over roles (see `../shared/design/pipeline.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    #[default]
    Leapfrog,
    Pipeline,
    Specialist,
}

/// Which coding-agent CLI an agent profile runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CliKind {
    ClaudeCode,
    Codex,
    Aider,
    Gemini,
    Opencode,
    Custom,
}

/// A ticket's status, normalised from whatever marker the file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    #[default]
    Todo,
    Doing,
    Review,
    Blocked,
    Done,
    Dropped,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Todo => "todo",
            TicketStatus::Doing => "doing",
            TicketStatus::Review => "review",
            TicketStatus::Blocked => "blocked",
            TicketStatus::Done => "done",
            TicketStatus::Dropped => "dropped",
        }
    }
}
