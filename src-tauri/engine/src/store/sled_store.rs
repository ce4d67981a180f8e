//! [`Store`] on one sled database.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use super::schema::{self, backend, key_str, key_u32, key_u64, prefix, prefix_end, seq_key};
use super::{validate, Ack, Change, Event, Result, Store, StoreError};
use crate::model::{now_ms, Batch, HandoffRecord, PhaseRun, Project, Ticket};

/// The sled-backed store. sled holds an exclusive lock on the database files, so a second process
/// opening the same database gets [`StoreError::AlreadyRunning`].
pub struct SledStore {
    path: PathBuf,
    db: sled::Db,
    /// sled's log file, synced after each flush: on Linux sled's flush uses `sync_file_range`, which
    /// survives a crash of the process but not a power cut; `fdatasync` makes the change durable on disk.
    log_file: std::fs::File,
    meta: sled::Tree,
    projects: sled::Tree,
    batches: sled::Tree,
    tickets: sled::Tree,
    phase_runs: sled::Tree,
    handoffs: sled::Tree,
    events: sled::Tree,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .finish()
    }
}

impl SledStore {
    /// Opens (creating if needed) the database in Leapfrog's data directory, see [`super::default_db_path`].
    pub fn open_default() -> Result<SledStore> {
        SledStore::open(super::default_db_path()?)
    }

    /// Opens (creating if needed) the database at `path` and migrates it to [`super::SCHEMA_VERSION`].
    pub fn open(path: impl AsRef<Path>) -> Result<SledStore> {
        let path = path.as_ref().to_path_buf();
        if path.is_file() {
            return Err(StoreError::Open {
                path,
                message: "it is a file, not a database directory".into(),
            });
        }
        let db = sled::Config::new()
            .path(&path)
            .idgen_persist_interval(ID_PERSIST_INTERVAL)
            .open()
            .map_err(|e| open_error(&path, e))?;
        schema::upgrade(&db, &path)?;
        let log_file = std::fs::File::open(path.join("db")).map_err(|e| StoreError::Open {
            path: path.clone(),
            message: format!("cannot open its log file: {e}"),
        })?;
        let tree = |name: &str| db.open_tree(name).map_err(backend);
        Ok(SledStore {
            meta: tree("meta")?,
            projects: tree("projects")?,
            batches: tree("batches")?,
            tickets: tree("tickets")?,
            phase_runs: tree("phase_runs")?,
            handoffs: tree("handoffs")?,
            events: tree("events")?,
            path,
            db,
            log_file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn list<T: DeserializeOwned>(&self, tree: &sled::Tree, project: &str) -> Result<Vec<T>> {
        tree.scan_prefix(prefix(project))
            .map(|entry| decode(&entry.map_err(backend)?.1))
            .collect()
    }

    fn get<T: DeserializeOwned>(&self, tree: &sled::Tree, key: &[u8]) -> Result<Option<T>> {
        tree.get(key)
            .map_err(backend)?
            .map(|v| decode(&v))
            .transpose()
    }
}

fn open_error(path: &Path, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            StoreError::AlreadyRunning {
                path: path.to_path_buf(),
            }
        }
        sled::Error::Corruption { .. } => StoreError::Corrupt(e.to_string()),
        e => StoreError::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("bad record: {e}")))
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Serialising the model to JSON cannot fail: no maps with non-string keys, no foreign Serialize impls.
    serde_json::to_vec(value).expect("model serialises to JSON")
}

type Abort = ConflictableTransactionError<StoreError>;

/// How many ids sled hands out between two writes of its id counter (its default, named here because
/// `generate_id` depends on it).
const ID_PERSIST_INTERVAL: u64 = 1_000_000;

impl SledStore {
    /// Everything written so far is on disk when this returns.
    fn make_durable(&self) -> Result<()> {
        self.db.flush().map_err(backend)?;
        self.log_file
            .sync_data()
            .map_err(|e| StoreError::Backend(format!("cannot sync the database to disk: {e}")))
    }
}

impl Store for SledStore {
    fn apply(&self, change: Change) -> Result<Ack> {
        validate(&change)?;
        let project = change.project().to_owned();
        let at = now_ms();
        // What the change writes, computed once (the transaction closure may run more than once).
        let (tree_index, key, value): (usize, Vec<u8>, Option<Vec<u8>>) = match &change {
            Change::PutProject { project: p } => (0, p.id.as_bytes().to_vec(), Some(encode(p))),
            Change::PutBatch { batch, .. } => {
                (1, key_u32(&project, batch.number), Some(encode(batch)))
            }
            Change::PutTicket { ticket, .. } => {
                (2, key_str(&project, &ticket.id), Some(encode(ticket)))
            }
            Change::DeleteTicket { id, .. } => (2, key_str(&project, id), None),
            Change::PutPhaseRun { run } => (3, key_u64(&project, run.id), Some(encode(run))),
            Change::PutHandoff { handoff } => {
                (4, key_u64(&project, handoff.id), Some(encode(handoff)))
            }
            Change::Note { .. } => (usize::MAX, Vec::new(), None),
        };
        let must_exist = !matches!(change, Change::PutProject { .. });
        let seq_key = seq_key(&project);
        let event = Event {
            project: project.clone(),
            seq: 0,
            at,
            change,
        };

        let seq = (
            &self.projects,
            &self.batches,
            &self.tickets,
            &self.phase_runs,
            &self.handoffs,
            &self.events,
            &self.meta,
        )
            .transaction(
                |(projects, batches, tickets, runs, handoffs, events, meta)| {
                    if must_exist && projects.get(project.as_bytes())?.is_none() {
                        return Err(Abort::Abort(StoreError::UnknownProject(project.clone())));
                    }
                    let tree = match tree_index {
                        0 => Some(projects),
                        1 => Some(batches),
                        2 => Some(tickets),
                        3 => Some(runs),
                        4 => Some(handoffs),
                        _ => None,
                    };
                    if let Some(tree) = tree {
                        match &value {
                            Some(v) => tree.insert(key.as_slice(), v.as_slice())?,
                            None => tree.remove(key.as_slice())?,
                        };
                    }
                    let last = match meta.get(&seq_key)? {
                        Some(v) => schema::decode_u64(&v).map_err(Abort::Abort)?,
                        None => 0,
                    };
                    let seq = last + 1;
                    meta.insert(seq_key.as_slice(), &seq.to_be_bytes())?;
                    let mut ev = event.clone();
                    ev.seq = seq;
                    events.insert(key_u64(&project, seq), encode(&ev))?;
                    Ok(seq)
                },
            )
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => backend(e),
            })?;
        self.make_durable()?;
        Ok(Ack { project, seq, at })
    }

    fn project(&self, id: &str) -> Result<Option<Project>> {
        self.get(&self.projects, id.as_bytes())
    }

    fn projects(&self) -> Result<Vec<Project>> {
        self.projects
            .iter()
            .map(|entry| decode(&entry.map_err(backend)?.1))
            .collect()
    }

    fn batch(&self, project: &str, number: u32) -> Result<Option<Batch>> {
        self.get(&self.batches, &key_u32(project, number))
    }

    fn batches(&self, project: &str) -> Result<Vec<Batch>> {
        self.list(&self.batches, project)
    }

    fn ticket(&self, project: &str, id: &str) -> Result<Option<Ticket>> {
        self.get(&self.tickets, &key_str(project, id))
    }

    fn tickets(&self, project: &str) -> Result<Vec<Ticket>> {
        self.list(&self.tickets, project)
    }

    fn phase_run(&self, project: &str, id: u64) -> Result<Option<PhaseRun>> {
        self.get(&self.phase_runs, &key_u64(project, id))
    }

    fn phase_runs(&self, project: &str) -> Result<Vec<PhaseRun>> {
        self.list(&self.phase_runs, project)
    }

    fn handoff(&self, project: &str, id: u64) -> Result<Option<HandoffRecord>> {
        self.get(&self.handoffs, &key_u64(project, id))
    }

    fn handoffs(&self, project: &str) -> Result<Vec<HandoffRecord>> {
        self.list(&self.handoffs, project)
    }

    fn events(&self, project: &str, after: u64, limit: usize) -> Result<Vec<Event>> {
        let Some(first) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        self.events
            .range(key_u64(project, first)..prefix_end(project))
            .take(limit)
            .map(|entry| decode(&entry.map_err(backend)?.1))
            .collect()
    }

    fn generate_id(&self) -> Result<u64> {
        // sled writes its id counter every ID_PERSIST_INTERVAL ids and, when it opens a database after a
        // crash, starts two intervals past the counter on disk. But the write is not made durable when it is
        // made (only the one before it is), so the first id after a recovery could be handed out, the
        // process killed before any later flush, and the same id handed out again (the crash test found
        // it). Ids that start an interval are the ones that wrote a counter: flush those.
        let id = self.db.generate_id().map_err(backend)?;
        if id % ID_PERSIST_INTERVAL == 0 {
            self.make_durable()?;
        }
        Ok(id)
    }

    fn last_seq(&self, project: &str) -> Result<u64> {
        match self.meta.get(seq_key(project)).map_err(backend)? {
            Some(v) => schema::decode_u64(&v),
            None => Ok(0),
        }
    }
}
