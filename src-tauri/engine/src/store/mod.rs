//! Leapfrog's persistent state: projects, batches, tickets, phase runs, handoffs and a per-project event log.
//!
//! Everything goes through the [`Store`] trait so a test or a future backend can swap the implementation:
//! [`SledStore`] keeps one sled database in the user's data directory ([`default_db_path`]),
//! [`MemoryStore`] keeps everything in memory. Both obey the same contract (see `tests/store_contract.rs`):
//!
//! - every change is a [`Change`], applied atomically together with its event-log entry, and durable
//!   (flushed to disk for sled) before [`Store::apply`] returns its [`Ack`];
//! - each project has an append-only event log with a gap-free sequence starting at 1, the timeline and
//!   the audit trail read it with [`Store::events`];
//! - a change to anything but a project needs the project to exist.

mod memory;
mod schema;
mod sled_store;

pub use memory::MemoryStore;
pub use schema::SCHEMA_VERSION;
pub use sled_store::SledStore;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{Batch, HandoffRecord, PhaseRun, Project, Ticket, Timestamp};

/// One change to the store; each becomes one event of its project's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// Create or replace a project.
    PutProject { project: Project },
    /// Create or replace batch `batch.number` of a project.
    PutBatch { project: String, batch: Batch },
    /// Create or replace a ticket (by id) of a project.
    PutTicket { project: String, ticket: Ticket },
    /// Remove a ticket; removing a missing ticket is still recorded.
    DeleteTicket { project: String, id: String },
    /// Create or replace a phase run (by id) of `run.project`.
    PutPhaseRun { run: PhaseRun },
    /// Create or replace a handoff (by id) of `handoff.project`.
    PutHandoff { handoff: HandoffRecord },
    /// A free-form entry for the audit trail (e.g. "agent codex started").
    Note { project: String, text: String },
}

impl Change {
    /// The project whose keys and event log this change touches.
    pub fn project(&self) -> &str {
        match self {
            Change::PutProject { project } => &project.id,
            Change::PutBatch { project, .. }
            | Change::PutTicket { project, .. }
            | Change::DeleteTicket { project, .. }
            | Change::Note { project, .. } => project,
            Change::PutPhaseRun { run } => &run.project,
            Change::PutHandoff { handoff } => &handoff.project,
        }
    }
}

/// One entry of a project's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub project: String,
    /// 1, 2, 3, ... per project, without gaps.
    pub seq: u64,
    /// When the change was applied.
    pub at: Timestamp,
    pub change: Change,
}

/// The store's acknowledgement of a change: it is durable and has this place in the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub project: String,
    pub seq: u64,
    pub at: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another Leapfrog process holds the database.
    #[error("Leapfrog is already running (database {} is in use)", .path.display())]
    AlreadyRunning { path: PathBuf },
    #[error("cannot open the database {}: {message}", .path.display())]
    Open { path: PathBuf, message: String },
    #[error("the database {} was written by a newer Leapfrog (schema {found}, this one knows up to {supported})", .path.display())]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("the database is damaged: {0}")]
    Corrupt(String),
    #[error("unknown project {0:?}")]
    UnknownProject(String),
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidId {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("database error: {0}")]
    Backend(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Persistent state of Leapfrog. Implementations must be safe to share between threads.
pub trait Store: Send + Sync {
    /// Applies one change atomically with its event-log entry; returns once it is durable.
    fn apply(&self, change: Change) -> Result<Ack>;

    fn project(&self, id: &str) -> Result<Option<Project>>;
    /// All projects, by id.
    fn projects(&self) -> Result<Vec<Project>>;
    fn batch(&self, project: &str, number: u32) -> Result<Option<Batch>>;
    /// The project's batches by number.
    fn batches(&self, project: &str) -> Result<Vec<Batch>>;
    fn ticket(&self, project: &str, id: &str) -> Result<Option<Ticket>>;
    /// The project's tickets by id.
    fn tickets(&self, project: &str) -> Result<Vec<Ticket>>;
    fn phase_run(&self, project: &str, id: u64) -> Result<Option<PhaseRun>>;
    /// The project's phase runs by id.
    fn phase_runs(&self, project: &str) -> Result<Vec<PhaseRun>>;
    fn handoff(&self, project: &str, id: u64) -> Result<Option<HandoffRecord>>;
    /// The project's handoffs by id.
    fn handoffs(&self, project: &str) -> Result<Vec<HandoffRecord>>;
    /// Up to `limit` events of the project with `seq > after`, in order.
    fn events(&self, project: &str, after: u64, limit: usize) -> Result<Vec<Event>>;
    /// The sequence number of the project's last event (0 if none).
    fn last_seq(&self, project: &str) -> Result<u64>;
    /// A new id for a phase run or a handoff: never returned before by this database, even across
    /// restarts and crashes; increasing, not contiguous.
    fn generate_id(&self) -> Result<u64>;

    fn put_project(&self, project: &Project) -> Result<Ack> {
        self.apply(Change::PutProject {
            project: project.clone(),
        })
    }
    fn put_batch(&self, project: &str, batch: &Batch) -> Result<Ack> {
        self.apply(Change::PutBatch {
            project: project.to_owned(),
            batch: batch.clone(),
        })
    }
    fn put_ticket(&self, project: &str, ticket: &Ticket) -> Result<Ack> {
        self.apply(Change::PutTicket {
            project: project.to_owned(),
            ticket: ticket.clone(),
        })
    }
    fn delete_ticket(&self, project: &str, id: &str) -> Result<Ack> {
        self.apply(Change::DeleteTicket {
            project: project.to_owned(),
            id: id.to_owned(),
        })
    }
    fn put_phase_run(&self, run: &PhaseRun) -> Result<Ack> {
        self.apply(Change::PutPhaseRun { run: run.clone() })
    }
    fn put_handoff(&self, handoff: &HandoffRecord) -> Result<Ack> {
        self.apply(Change::PutHandoff {
            handoff: handoff.clone(),
        })
    }
    /// Appends a free-form entry to the project's event log.
    fn append_note(&self, project: &str, text: &str) -> Result<Ack> {
        self.apply(Change::Note {
            project: project.to_owned(),
            text: text.to_owned(),
        })
    }
}

/// Checks the ids a change uses as keys: ids are non-empty, at most 200 bytes, without control characters
/// (the store separates a project id from the rest of a key with a NUL byte).
pub(crate) fn validate(change: &Change) -> Result<()> {
    check_id("project id", change.project())?;
    match change {
        Change::PutTicket { ticket, .. } => check_id("ticket id", &ticket.id),
        Change::DeleteTicket { id, .. } => check_id("ticket id", id),
        Change::PutProject { project } => {
            for agent in &project.agents {
                check_id("agent id", &agent.id)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_id(what: &'static str, value: &str) -> Result<()> {
    let reason = if value.is_empty() {
        "it is empty"
    } else if value.len() > 200 {
        "it is longer than 200 bytes"
    } else if value.chars().any(char::is_control) {
        "it contains a control character"
    } else {
        return Ok(());
    };
    Err(StoreError::InvalidId {
        what,
        value: value.chars().take(60).collect(),
        reason,
    })
}

/// Leapfrog's data directory: `$LEAPFROG_DATA_DIR` if set (tests), else `$XDG_DATA_HOME/leapfrog`,
/// else `~/.local/share/leapfrog`.
pub fn data_dir() -> Result<PathBuf> {
    data_dir_from(|name| std::env::var_os(name))
}

/// [`data_dir`] with the environment given as a lookup function; empty variables count as unset.
pub fn data_dir_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<PathBuf> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("LEAPFROG_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = var("XDG_DATA_HOME") {
        return Ok(Path::new(&dir).join("leapfrog"));
    }
    if let Some(home) = var("HOME") {
        return Ok(Path::new(&home).join(".local/share/leapfrog"));
    }
    Err(StoreError::Open {
        path: PathBuf::from("~/.local/share/leapfrog/db"),
        message: "neither LEAPFROG_DATA_DIR, XDG_DATA_HOME nor HOME is set".into(),
    })
}

/// Where the sled database lives: `data_dir()/db`.
pub fn default_db_path() -> Result<PathBuf> {
    Ok(data_dir()?.join("db"))
}
