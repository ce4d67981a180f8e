//! The domain model shared by every subsystem: roles, phases, patterns, agents, projects.
//!
//! Subsystems add their own types next to their code; what more than one of them needs lives here.

use serde::{Deserialize, Serialize};

/// What an agent may be asked to do. A phase runs on one agent that has its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    #[default]
    Leapfrog,
    Pipeline,
    Specialist,
}

/// Which coding-agent CLI an agent profile runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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

impl CliKind {
    pub const ALL: [CliKind; 6] = [
        CliKind::ClaudeCode,
        CliKind::Codex,
        CliKind::Aider,
        CliKind::Gemini,
        CliKind::Opencode,
        CliKind::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CliKind::ClaudeCode => "claude-code",
            CliKind::Codex => "codex",
            CliKind::Aider => "aider",
            CliKind::Gemini => "gemini",
            CliKind::Opencode => "opencode",
            CliKind::Custom => "custom",
        }
    }
}

/// Milliseconds since the Unix epoch (UTC). A plain number so it crosses IPC to TypeScript unchanged.
pub type Timestamp = u64;

/// The current wall-clock time as a [`Timestamp`].
pub fn now_ms() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A project Leapfrog runs agents on: one repository, its agents and how they are orchestrated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Stable identifier; namespaces every key of the project in the store.
    pub id: String,
    pub name: String,
    /// The repository the agents work in.
    pub repo_path: std::path::PathBuf,
    #[serde(default)]
    pub agents: Vec<AgentProfile>,
    #[serde(default)]
    pub pattern: Pattern,
    /// How many batches the designer may run ahead of the last accepted one; `None` means no limit.
    #[serde(default)]
    pub lookahead: Option<u32>,
    /// Run a sync point (the verify command) after every this many accepted batches; `None` means only at the end.
    #[serde(default)]
    pub sync_interval: Option<u32>,
    /// The project's verify command, run at sync points (e.g. `cargo test`).
    #[serde(default)]
    pub verify_command: Option<String>,
}

/// One coding-agent CLI session Leapfrog can start, and the roles it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentProfile {
    pub id: String,
    pub display_name: String,
    pub cli: CliKind,
    /// The program to run, e.g. `claude`.
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub roles: Vec<Role>,
}

/// A batch of tickets that is designed, built, reviewed (and fixed, and QA'd) together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// 1-based batch number.
    pub number: u32,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub goal: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// One acceptance checkbox of a ticket (`- [x] text`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptanceItem {
    pub text: String,
    #[serde(default)]
    pub done: bool,
}

/// A ticket of TICKETS.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// As written in TICKETS.md, e.g. `T-001`.
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub status: TicketStatus,
    /// The batch the ticket belongs to, when known.
    #[serde(default)]
    pub batch: Option<u32>,
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
    /// As written, e.g. `P1` or `high`.
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub acceptance: Vec<AcceptanceItem>,
}

/// What a phase does; the preamble phases, the per-batch phases and the sync point's verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    Discovery,
    Requirements,
    Plan,
    Design,
    Build,
    Review,
    Fix,
    Qa,
    /// A sync point: the project's verify command. Runs on no agent.
    Verify,
    /// The designer re-checks a later batch's design after a failed review (cascade).
    Recheck,
}

impl PhaseKind {
    /// The role an agent needs to run this phase; `None` for verify (no agent).
    pub fn role(self) -> Option<Role> {
        match self {
            PhaseKind::Discovery => Some(Role::Discovery),
            PhaseKind::Requirements => Some(Role::Requirements),
            PhaseKind::Plan => Some(Role::Plan),
            PhaseKind::Design | PhaseKind::Recheck => Some(Role::Design),
            PhaseKind::Build => Some(Role::Build),
            PhaseKind::Review => Some(Role::Review),
            PhaseKind::Fix => Some(Role::Fix),
            PhaseKind::Qa => Some(Role::Qa),
            PhaseKind::Verify => None,
        }
    }
}

/// How a phase run ended (or that it has not yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PhaseOutcome {
    #[default]
    Running,
    Passed,
    Failed,
    /// Stopped by the user.
    Cancelled,
    /// The agent process died before reporting.
    Crashed,
    TimedOut,
}

/// How Leapfrog learned that a phase was finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompletionDetection {
    /// A `## HANDOFF — Batch N Ready` message in the agent's output.
    HandoffMessage,
    /// A `## COMPLETE — Batch N Done` message in the agent's output.
    CompleteMessage,
    /// TICKETS.md changed so that the batch's tickets reached their final status.
    TicketsFile,
    /// The agent process exited.
    ProcessExit,
    /// The verify command exited (sync points).
    VerifyExit,
    /// The agent went quiet at its prompt for long enough.
    Idle,
    /// The user marked it done.
    Manual,
    /// `leap complete` or `leap handoff` reached the control endpoint (the agent reported it).
    Command,
    /// The agent's usage limit interrupted the phase (it runs again after the reset).
    UsageLimit,
}

/// One run of one phase on one agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseRun {
    /// Unique within the project; the store lists runs in this order.
    pub id: u64,
    pub project: String,
    pub kind: PhaseKind,
    /// `None` for preamble phases; for verify, the number of the sync point.
    #[serde(default)]
    pub batch: Option<u32>,
    /// `None` for verify, which runs on no agent.
    #[serde(default)]
    pub agent: Option<String>,
    pub started_at: Timestamp,
    #[serde(default)]
    pub ended_at: Option<Timestamp>,
    #[serde(default)]
    pub outcome: PhaseOutcome,
    #[serde(default)]
    pub detection: Option<CompletionDetection>,
}

/// Which handoff message: a design handed to the builder, or a build reported done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffKind {
    /// `## HANDOFF — Batch N Ready`
    Handoff,
    /// `## COMPLETE — Batch N Done`
    Complete,
}

/// `Verify: PASSED/FAILED` of a COMPLETE message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyResult {
    Passed,
    Failed,
}

/// A HANDOFF or COMPLETE message as an agent wrote it (see the seed's handoff protocol).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    pub kind: HandoffKind,
    pub batch: u32,
    /// Ticket ids; ranges expanded when unambiguous, otherwise kept as written (e.g. `T#-T#`).
    #[serde(default)]
    pub tickets: Vec<String>,
    /// `Files affected` (HANDOFF).
    #[serde(default)]
    pub files: Vec<String>,
    /// `Dependencies` (HANDOFF), as written.
    #[serde(default)]
    pub dependencies: Option<String>,
    /// `Verify command` (HANDOFF).
    #[serde(default)]
    pub verify_command: Option<String>,
    /// `Commits` (COMPLETE), one entry per commit as written.
    #[serde(default)]
    pub commits: Vec<String>,
    /// `Verify: PASSED/FAILED` (COMPLETE); `None` when absent or neither.
    #[serde(default)]
    pub verify: Option<VerifyResult>,
    /// `Ready for` (COMPLETE), e.g. `["Review", "Next batch"]`.
    #[serde(default)]
    pub ready_for: Vec<String>,
}

/// A handoff message as the store keeps it: which project and agent, and when it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffRecord {
    /// Unique within the project; the store lists handoffs in this order.
    pub id: u64,
    pub project: String,
    #[serde(default)]
    pub agent: Option<String>,
    pub received_at: Timestamp,
    pub message: Handoff,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The JSON shape of each model type is the IPC contract with the TypeScript UI: (value, its JSON).
    #[test]
    fn json_shapes() {
        let agent = AgentProfile {
            id: "codex".into(),
            display_name: "Codex".into(),
            cli: CliKind::ClaudeCode,
            command: "claude".into(),
            args: vec!["--model".into(), "opus".into()],
            env: [("TERM".to_string(), "xterm".to_string())].into(),
            roles: vec![Role::Build, Role::Fix],
        };
        let cases: Vec<(serde_json::Value, serde_json::Value)> = vec![
            (
                serde_json::to_value(Project {
                    id: "p".into(),
                    name: "P".into(),
                    repo_path: "/src/p".into(),
                    agents: vec![agent],
                    pattern: Pattern::Specialist,
                    lookahead: None,
                    sync_interval: Some(2),
                    verify_command: Some("dev verify".into()),
                })
                .unwrap(),
                json!({
                    "id": "p", "name": "P", "repo_path": "/src/p",
                    "agents": [{
                        "id": "codex", "display_name": "Codex", "cli": "claude-code", "command": "claude",
                        "args": ["--model", "opus"], "env": {"TERM": "xterm"}, "roles": ["build", "fix"]
                    }],
                    "pattern": "specialist", "lookahead": null, "sync_interval": 2, "verify_command": "dev verify"
                }),
            ),
            (
                serde_json::to_value(PhaseRun {
                    id: 3,
                    project: "p".into(),
                    kind: PhaseKind::Verify,
                    batch: Some(1),
                    agent: None,
                    started_at: 10,
                    ended_at: Some(20),
                    outcome: PhaseOutcome::TimedOut,
                    detection: Some(CompletionDetection::VerifyExit),
                })
                .unwrap(),
                json!({
                    "id": 3, "project": "p", "kind": "verify", "batch": 1, "agent": null,
                    "started_at": 10, "ended_at": 20, "outcome": "timed_out", "detection": "verify_exit"
                }),
            ),
            (
                serde_json::to_value(Ticket {
                    id: "T-1".into(),
                    title: "t".into(),
                    status: TicketStatus::Blocked,
                    batch: None,
                    depends_on: vec!["T-0".into()],
                    files: vec![],
                    priority: Some("P0".into()),
                    owner: None,
                    body: String::new(),
                    acceptance: vec![AcceptanceItem {
                        text: "a".into(),
                        done: true,
                    }],
                })
                .unwrap(),
                json!({
                    "id": "T-1", "title": "t", "status": "blocked", "batch": null, "depends_on": ["T-0"],
                    "files": [], "priority": "P0", "owner": null, "body": "",
                    "acceptance": [{"text": "a", "done": true}]
                }),
            ),
            (
                serde_json::to_value(Handoff {
                    kind: HandoffKind::Complete,
                    batch: 2,
                    tickets: vec!["T-1".into()],
                    files: vec![],
                    dependencies: None,
                    verify_command: None,
                    commits: vec!["abc".into()],
                    verify: Some(VerifyResult::Failed),
                    ready_for: vec!["Fixes".into()],
                })
                .unwrap(),
                json!({
                    "kind": "complete", "batch": 2, "tickets": ["T-1"], "files": [], "dependencies": null,
                    "verify_command": null, "commits": ["abc"], "verify": "failed", "ready_for": ["Fixes"]
                }),
            ),
        ];
        for (actual, expected) in cases {
            assert_eq!(actual, expected);
        }
        let kinds: Vec<String> = CliKind::ALL
            .iter()
            .map(|k| {
                serde_json::to_value(k)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "claude-code",
                "codex",
                "aider",
                "gemini",
                "opencode",
                "custom"
            ]
        );
        assert!(CliKind::ALL
            .iter()
            .all(|k| kinds.contains(&k.as_str().to_string())));
    }

    #[test]
    fn optional_fields_default_when_absent() {
        let batch: Batch = serde_json::from_value(json!({"number": 4})).unwrap();
        assert_eq!(
            batch,
            Batch {
                number: 4,
                name: String::new(),
                goal: None,
                notes: None
            }
        );
        let run: PhaseRun = serde_json::from_value(
            json!({"id": 1, "project": "p", "kind": "design", "started_at": 5}),
        )
        .unwrap();
        assert_eq!(
            (run.outcome, run.batch, run.ended_at),
            (PhaseOutcome::Running, None, None)
        );
        assert_eq!(PhaseKind::Recheck.role(), Some(Role::Design));
        assert_eq!(PhaseKind::Verify.role(), None);
    }
}
