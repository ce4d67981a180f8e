//! The control protocol: one JSON object per line each way.
//!
//! Request: `{"token": "...", "agent": "builder", "op": "complete", "batch": 1, "verify": "passed", "commits": ["a1b2c3d"]}`.
//! `agent` is the caller's `LEAPFROG_AGENT` (absent outside an agent's PTY). `op` is one of
//! `complete`, `handoff`, `status`, `verify`, `hook`, `open_project`, `review`.
//!
//! Response: `{"ok": true, "message": "Batch 1 build recorded", "data": {...}}` or
//! `{"ok": false, "error": "wrong token"}`.

use serde::{Deserialize, Serialize};

use crate::agents::prompts::PromptPhase;

/// The version of this protocol (sent as `v`; a missing `v` means 1).
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest request line the server reads (1 MiB): hook payloads can carry a prompt, not more.
pub const MAX_LINE: usize = 1 << 20;

/// A request with its token and caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(default = "one")]
    pub v: u32,
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(flatten)]
    pub request: Request,
}

fn one() -> u32 {
    1
}

/// What a caller asks of the app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// An agent finished a phase (`leap complete`).
    Complete(CompleteRequest),
    /// A designer handed a batch to the builders (`leap handoff`).
    Handoff(HandoffRequest),
    /// The project's state (`leap status`).
    Status,
    /// Run the project's verify command now (`leap verify`).
    Verify,
    /// A CLI hook fired (`leap hook <event>`).
    Hook(HookRequest),
    /// Show this project in the running window (`leap start DIR`).
    OpenProject(OpenProjectRequest),
    /// The user's review of a batch (`leap review`): only with the launch's own token.
    Review(ReviewRequest),
}

/// `leap review --batch N --approve|--request-changes [--comment FILE:LINE:TEXT]...`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRequest {
    pub batch: u32,
    pub approve: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<crate::orchestrator::ReviewComment>,
}

impl Request {
    pub fn op(&self) -> &'static str {
        match self {
            Request::Complete(_) => "complete",
            Request::Handoff(_) => "handoff",
            Request::Status => "status",
            Request::Verify => "verify",
            Request::Hook(_) => "hook",
            Request::OpenProject(_) => "open_project",
            Request::Review(_) => "review",
        }
    }
}

/// `leap start DIR`: `{"op": "open_project", "path": "/abs/project"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenProjectRequest {
    /// The project folder, absolute.
    pub path: std::path::PathBuf,
}

/// The outcome an agent reports: its verify run, or for a review its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
}

impl Outcome {
    pub fn parse(s: &str) -> Option<Outcome> {
        match s.to_ascii_lowercase().as_str() {
            "passed" | "pass" => Some(Outcome::Passed),
            "failed" | "fail" => Some(Outcome::Failed),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
        }
    }
}

/// `leap complete --batch N [--phase P] [--verify passed|failed] [--commits ...] [--notes ...]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CompleteRequest {
    /// The batch (none for preamble phases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    /// The phase that finished; when absent, the app uses the phase it gave this agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<PromptPhase>,
    /// Build/fix: the verify result; review/qa: the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commits: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// `leap handoff --batch N --tickets T-004,T-005 [--files ...] [--dependencies ...] [--notes ...]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HandoffRequest {
    pub batch: u32,
    pub tickets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// `leap hook <event>`: the event name and the JSON the CLI gave the hook (stdin or last argument).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookRequest {
    pub event: String,
    #[serde(default)]
    pub payload: serde_json::Value,
}

/// A successful answer: a line for humans and data for `--json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Reply {
    pub message: String,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

impl Reply {
    pub fn message(message: impl Into<String>) -> Reply {
        Reply {
            message: message.into(),
            data: serde_json::Value::Null,
        }
    }
    pub fn with_data(message: impl Into<String>, data: impl Serialize) -> Reply {
        Reply {
            message: message.into(),
            data: serde_json::to_value(data).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// A response line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

impl Response {
    pub fn from_result(r: Result<Reply, String>) -> Response {
        match r {
            Ok(reply) => Response {
                ok: true,
                error: None,
                message: Some(reply.message),
                data: reply.data,
            },
            Err(e) => Response::error(e),
        }
    }
    pub fn error(e: impl Into<String>) -> Response {
        Response {
            ok: false,
            error: Some(e.into()),
            message: None,
            data: serde_json::Value::Null,
        }
    }
    pub fn into_result(self) -> Result<Reply, String> {
        if self.ok {
            Ok(Reply {
                message: self.message.unwrap_or_default(),
                data: self.data,
            })
        } else {
            Err(self
                .error
                .unwrap_or_else(|| "the app answered with an error".into()))
        }
    }
}

/// What `leap status` shows: the handler fills it; [`StatusReport::render`] prints it for humans.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusReport {
    pub project: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default)]
    pub agents: Vec<AgentLine>,
    #[serde(default)]
    pub batches: Vec<BatchLine>,
}

/// One agent in [`StatusReport`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AgentLine {
    pub id: String,
    pub cli: String,
    /// `working`, `idle`, `needs-input`, `exited`, `offline`.
    pub status: String,
    /// What it is doing: `build`, `review`, ... (none when idle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
}

/// One batch in [`StatusReport`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BatchLine {
    pub batch: u32,
    pub name: String,
    /// Where it stands: `designing`, `designed`, `building`, `built`, `reviewing`, `accepted`, ...
    pub stage: String,
    #[serde(default)]
    pub tickets: Vec<String>,
}

impl StatusReport {
    /// A plain-text table for `leap status`.
    pub fn render(&self) -> String {
        let mut out = format!("Project {}", self.project);
        if let Some(p) = &self.pattern {
            out.push_str(&format!(" ({p})"));
        }
        out.push('\n');
        if !self.agents.is_empty() {
            out.push_str("\nAgents\n");
            let w = self.agents.iter().map(|a| a.id.len()).max().unwrap_or(0);
            for a in &self.agents {
                let doing = match (&a.phase, a.batch) {
                    (Some(p), Some(b)) => format!("  {p} batch {b}"),
                    (Some(p), None) => format!("  {p}"),
                    _ => String::new(),
                };
                out.push_str(&format!(
                    "  {:w$}  {:<8}  {}{}\n",
                    a.id,
                    a.cli,
                    a.status,
                    doing,
                    w = w
                ));
            }
        }
        if !self.batches.is_empty() {
            out.push_str("\nBatches\n");
            for b in &self.batches {
                let tickets = if b.tickets.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", b.tickets.join(", "))
                };
                out.push_str(&format!(
                    "  {:>3}  {:<10}  {}{}\n",
                    b.batch, b.stage, b.name, tickets
                ));
            }
        }
        out
    }
}
