//! The sled layout, its schema version and the migrations between versions.
//!
//! Layout of schema 2 (current). One tree per concern; every key starts with the project id and a NUL byte
//! (project ids never contain control characters), so a project's keys are one contiguous prefix:
//!
//! | tree         | key                               | value                          |
//! |--------------|-----------------------------------|--------------------------------|
//! | `meta`       | `schema_version`                  | u32 big-endian                 |
//! | `meta`       | `seq` NUL project                 | u64 big-endian: last event seq |
//! | `projects`   | project                           | JSON [`Project`]               |
//! | `batches`    | project NUL number (u32 BE)       | JSON [`Batch`]                 |
//! | `tickets`    | project NUL ticket id (UTF-8)     | JSON [`Ticket`]                |
//! | `phase_runs` | project NUL run id (u64 BE)       | JSON [`PhaseRun`]              |
//! | `handoffs`   | project NUL handoff id (u64 BE)   | JSON [`HandoffRecord`]         |
//! | `events`     | project NUL seq (u64 BE)          | JSON [`Event`]                 |
//!
//! Schema 1 differed in two ways, which `migrate_v1_to_v2` rewrites:
//! - batch keys ended with the batch number in ASCII decimal (`p\0` `12`), so batch 10 sorted before batch 2;
//! - a project's sync interval was stored as `sync_every`.
//!
//! [`Project`]: crate::model::Project
//! [`Batch`]: crate::model::Batch
//! [`Ticket`]: crate::model::Ticket
//! [`PhaseRun`]: crate::model::PhaseRun
//! [`HandoffRecord`]: crate::model::HandoffRecord
//! [`Event`]: super::Event

use std::path::Path;

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use super::{Result, StoreError};

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 2;

pub(crate) const VERSION_KEY: &[u8] = b"schema_version";

pub(crate) const TREE_NAMES: [&str; 6] = [
    "projects",
    "batches",
    "tickets",
    "phase_runs",
    "handoffs",
    "events",
];

/// `project NUL` — the prefix of every key of the project.
pub(crate) fn prefix(project: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(project.len() + 9);
    k.extend_from_slice(project.as_bytes());
    k.push(0);
    k
}

/// The first key after every key of the project (`project` 0x01).
pub(crate) fn prefix_end(project: &str) -> Vec<u8> {
    let mut k = project.as_bytes().to_vec();
    k.push(1);
    k
}

pub(crate) fn key_u32(project: &str, n: u32) -> Vec<u8> {
    let mut k = prefix(project);
    k.extend_from_slice(&n.to_be_bytes());
    k
}

pub(crate) fn key_u64(project: &str, n: u64) -> Vec<u8> {
    let mut k = prefix(project);
    k.extend_from_slice(&n.to_be_bytes());
    k
}

pub(crate) fn key_str(project: &str, s: &str) -> Vec<u8> {
    let mut k = prefix(project);
    k.extend_from_slice(s.as_bytes());
    k
}

pub(crate) fn seq_key(project: &str) -> Vec<u8> {
    let mut k = b"seq\0".to_vec();
    k.extend_from_slice(project.as_bytes());
    k
}

pub(crate) fn decode_u64(bytes: &[u8]) -> Result<u64> {
    let arr: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("expected 8 bytes, found {}", bytes.len())))?;
    Ok(u64::from_be_bytes(arr))
}

fn decode_u32(bytes: &[u8]) -> Result<u32> {
    let arr: [u8; 4] = bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("expected 4 bytes, found {}", bytes.len())))?;
    Ok(u32::from_be_bytes(arr))
}

pub(crate) fn backend(e: sled::Error) -> StoreError {
    match e {
        sled::Error::Corruption { .. } => StoreError::Corrupt(e.to_string()),
        e => StoreError::Backend(e.to_string()),
    }
}

/// Brings the database to [`SCHEMA_VERSION`]: stamps a new database, migrates an older one step by step
/// (each step one transaction, flushed), refuses a newer one.
pub(crate) fn upgrade(db: &sled::Db, path: &Path) -> Result<()> {
    let meta = db.open_tree("meta").map_err(backend)?;
    loop {
        let version = match meta.get(VERSION_KEY).map_err(backend)? {
            Some(v) => decode_u32(&v)?,
            None => {
                for name in TREE_NAMES {
                    if !db.open_tree(name).map_err(backend)?.is_empty() {
                        return Err(StoreError::Corrupt(format!(
                            "tree {name} has data but the database has no schema version"
                        )));
                    }
                }
                meta.insert(VERSION_KEY, &SCHEMA_VERSION.to_be_bytes())
                    .map_err(backend)?;
                db.flush().map_err(backend)?;
                return Ok(());
            }
        };
        match version {
            SCHEMA_VERSION => return Ok(()),
            1 => migrate_v1_to_v2(db, &meta)?,
            v if v > SCHEMA_VERSION => {
                return Err(StoreError::SchemaTooNew {
                    path: path.to_path_buf(),
                    found: v,
                    supported: SCHEMA_VERSION,
                })
            }
            v => return Err(StoreError::Corrupt(format!("unknown schema version {v}"))),
        }
    }
}

/// Schema 1 -> 2: batch keys from ASCII decimal to u32 big-endian (numeric order); `sync_every` -> `sync_interval`.
fn migrate_v1_to_v2(db: &sled::Db, meta: &sled::Tree) -> Result<()> {
    let batches = db.open_tree("batches").map_err(backend)?;
    let projects = db.open_tree("projects").map_err(backend)?;

    let mut rekeyed = Vec::new();
    for entry in batches.iter() {
        let (key, value) = entry.map_err(backend)?;
        let nul = key
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| StoreError::Corrupt("v1 batch key without a project".into()))?;
        let project = std::str::from_utf8(&key[..nul])
            .map_err(|_| StoreError::Corrupt("v1 batch key: project id is not UTF-8".into()))?;
        let number: u32 = std::str::from_utf8(&key[nul + 1..])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!("v1 batch key of {project:?}: no batch number"))
            })?;
        rekeyed.push((key.to_vec(), key_u32(project, number), value));
    }

    let mut rewritten = Vec::new();
    for entry in projects.iter() {
        let (key, value) = entry.map_err(backend)?;
        let mut json: serde_json::Value = serde_json::from_slice(&value)
            .map_err(|e| StoreError::Corrupt(format!("v1 project record: {e}")))?;
        if let Some(obj) = json.as_object_mut() {
            if let Some(k) = obj.remove("sync_every") {
                obj.insert("sync_interval".into(), k);
            }
        }
        let value = serde_json::to_vec(&json).map_err(|e| StoreError::Backend(e.to_string()))?;
        rewritten.push((key, value));
    }

    (&batches, &projects, meta)
        .transaction(|(b, p, m)| {
            for (old, new, value) in &rekeyed {
                b.remove(old.as_slice())?;
                b.insert(new.as_slice(), value.clone())?;
            }
            for (key, value) in &rewritten {
                p.insert(key.clone(), value.as_slice())?;
            }
            m.insert(VERSION_KEY, &2u32.to_be_bytes())?;
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        })
        .map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => backend(e),
        })?;
    db.flush().map_err(backend)?;
    Ok(())
}
