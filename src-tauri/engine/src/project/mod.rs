//! A project on disk: `.leapfrog/project.json` (load/save) and the setup wizard's steps ([`setup`]).
//!
//! The file is the one `leap demo init` writes:
//!
//! ```json
//! {"name": "shop", "tickets": "TICKETS.md", "verify": "cargo test", "pattern": "leapfrog",
//!  "lookahead": 1, "sync_every": 2,
//!  "agents": [{"id": "designer", "cli": "claude-code", "roles": ["design", "review"]}, ...]}
//! ```
//!
//! Fields added later carry serde defaults, so older files keep loading.

pub mod setup;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::agents::{cli_display_name, default_program, AgentProfile};
use crate::model::{self, Pattern};

pub use setup::{
    agents_for_pattern, assign_agent, detect_verify, finish, git_init, inspect, DetectOptions,
    GitState, RecognisedBatch, SetupError, SetupPlan, SetupReport, TicketsAction, TicketsReport,
    VerifyGuess,
};

/// Where a project keeps its file, relative to the project directory.
pub const PROJECT_FILE: &str = ".leapfrog/project.json";
/// Default lookahead: the designer may run one batch ahead of the last accepted one.
pub const DEFAULT_LOOKAHEAD: u32 = 1;
/// Default sync interval: a sync point (verify) after every 2 accepted batches.
pub const DEFAULT_SYNC_EVERY: u32 = 2;

/// `.leapfrog/project.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectFile {
    /// The project's id in the store (the sidebar's key). Absent in files written before setup
    /// registered projects; [`setup::finish`] fills it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The project's name (absent: the folder's name, see [`ProjectFile::name_or_folder`]).
    #[serde(default)]
    pub name: String,
    /// The tickets file, relative to the project directory.
    #[serde(default = "default_tickets")]
    pub tickets: String,
    /// The verify command run at sync points (`cargo test`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<String>,
    #[serde(default)]
    pub pattern: Pattern,
    /// `null` means no limit.
    #[serde(default = "default_lookahead")]
    pub lookahead: Option<u32>,
    /// `null` or 0 means only a final verify.
    #[serde(default = "default_sync_every")]
    pub sync_every: Option<u32>,
    /// A QA phase for every batch once its review passes, run by an agent with the `qa` role.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub qa: bool,
    /// Preamble phases run before batch 1, in order (`["discovery", "plan"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preamble: Vec<model::Role>,
    /// The scheduler's priority rule (default: the pattern's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default)]
    pub agents: Vec<AgentProfile>,
    /// Builds each batch's build waits for, by batch number (absent: the previous batch's).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub builds_after: std::collections::BTreeMap<u32, Vec<u32>>,
    /// Batches on branches (`crate::git::GitSettings`); absent: one shared checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<crate::git::GitSettings>,
}

fn default_tickets() -> String {
    "TICKETS.md".to_string()
}
fn default_lookahead() -> Option<u32> {
    Some(DEFAULT_LOOKAHEAD)
}
fn default_sync_every() -> Option<u32> {
    Some(DEFAULT_SYNC_EVERY)
}

impl ProjectFile {
    /// The name, or the folder's name when the file has none.
    pub fn name_or_folder(&self, dir: &Path) -> String {
        if !self.name.trim().is_empty() {
            return self.name.clone();
        }
        dir.file_name().map_or(dir.display().to_string(), |n| {
            n.to_string_lossy().into_owned()
        })
    }

    /// The path of the project file of `dir`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(PROJECT_FILE)
    }

    /// Reads `dir/.leapfrog/project.json`; `Ok(None)` when there is none.
    pub fn load(dir: &Path) -> Result<Option<ProjectFile>, String> {
        let path = Self::path_in(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{} is not a valid project file: {e}", path.display()))
    }

    /// Writes `dir/.leapfrog/project.json` (pretty JSON, final newline), creating `.leapfrog/`.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, String> {
        let path = Self::path_in(dir);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let mut json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        json.push('\n');
        std::fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    /// The store's view of this project (what a sidebar lists), for the project in `dir`.
    pub fn to_model(&self, id: &str, dir: &Path) -> model::Project {
        model::Project {
            id: id.to_string(),
            name: self.name.clone(),
            repo_path: dir.to_path_buf(),
            agents: self
                .agents
                .iter()
                .map(|a| model::AgentProfile {
                    id: a.id.clone(),
                    display_name: cli_display_name(a.cli).to_string(),
                    cli: a.cli,
                    command: a
                        .command
                        .clone()
                        .or_else(|| default_program(a.cli).map(str::to_string))
                        .unwrap_or_default(),
                    args: a.args.clone(),
                    env: a.env.clone(),
                    roles: a.roles.clone(),
                })
                .collect(),
            pattern: self.pattern,
            lookahead: self.lookahead,
            sync_interval: self.sync_every,
            verify_command: self.verify.clone(),
        }
    }
}
