//! Two-way sync between the app and a TICKETS.md on disk.
//!
//! * [`TicketsFile`] holds what was last read (text and blake3 hash). An app edit is written only if the file
//!   still holds exactly that; otherwise the file is re-parsed and the edits are re-applied by ticket ID, and
//!   an edit whose ticket vanished or became ambiguous is a [`SyncError::Conflict`]. Nothing is written.
//! * A file in which no tickets were recognised is never written unless [`WriteOptions::allow_no_tickets`].
//! * A file that cannot be parsed (binary, not UTF-8, too large) is never overwritten.
//! * Every write first copies the previous content to `.leapfrog/backups/<file name>.<UTC timestamp>` in the
//!   file's directory, then writes a temp file in the same directory, fsyncs it, checks the file once more,
//!   renames it over the original and fsyncs the directory.
//! * [`TicketsFile::watch`] reports external edits (an agent or a person) through a channel, merged by ticket
//!   ID ([`diff`]); the app's own writes are not reported back.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use notify::{RecursiveMode, Watcher};

use super::edit::{Edit, EditError};
use super::{Document, ParseError};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: {1}")]
    Parse(PathBuf, ParseError),
    #[error("{0}: no tickets recognised in this file; refusing to write without explicit consent")]
    NoTickets(PathBuf),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("{0}")]
    Edit(EditError),
    #[error("{0}: changed on disk while writing; nothing was written")]
    ChangedDuringWrite(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SyncError + '_ {
    move |source| SyncError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Write even though the file holds no recognised tickets (the user said yes).
    pub allow_no_tickets: bool,
}

/// What a write did.
#[derive(Debug, Clone)]
pub struct Written {
    /// The file had changed on disk; the edits were re-applied by ticket ID to the new content.
    pub reapplied: bool,
    /// Keys of tickets created by `AddTicket` edits.
    pub created: Vec<String>,
    /// Where the previous content was saved.
    pub backup: PathBuf,
}

/// One change between two readings of the file, by ticket key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketChange {
    Added(String),
    Removed(String),
    /// Status, title, batch or body changed.
    Changed(String),
}

/// A report from the watcher.
#[derive(Debug)]
pub enum SyncEvent {
    /// The file changed on disk (not by this app): the new document and what changed, by ticket key.
    Changed {
        doc: Box<Document>,
        changes: Vec<TicketChange>,
    },
    /// The file disappeared.
    Removed,
    /// It could not be read or parsed; the app keeps its last good copy.
    Error(String),
}

/// A TICKETS.md the app reads and writes.
#[derive(Debug)]
pub struct TicketsFile {
    path: PathBuf,
    doc: Document,
    hash: blake3::Hash,
    /// Hash of the content this app last read or wrote, shared with watchers to skip our own writes.
    known: Known,
}

/// The content this app last read or wrote: its hash and, after a write, the document written.
type Known = Arc<Mutex<(blake3::Hash, Option<Document>)>>;

pub fn read_doc(path: &Path) -> Result<(Document, blake3::Hash), SyncError> {
    let bytes = fs::read(path).map_err(io(path))?;
    let hash = blake3::hash(&bytes);
    let doc = Document::parse_bytes(&bytes).map_err(|e| SyncError::Parse(path.to_path_buf(), e))?;
    Ok((doc, hash))
}

impl TicketsFile {
    pub fn open(path: impl Into<PathBuf>) -> Result<TicketsFile, SyncError> {
        let path = path.into();
        let (doc, hash) = read_doc(&path)?;
        Ok(TicketsFile {
            path,
            doc,
            hash,
            known: Arc::new(Mutex::new((hash, None))),
        })
    }

    pub fn doc(&self) -> &Document {
        &self.doc
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the file; returns what changed by ticket key (empty when the bytes are the same).
    pub fn reload(&mut self) -> Result<Vec<TicketChange>, SyncError> {
        let (doc, hash) = read_doc(&self.path)?;
        if hash == self.hash {
            return Ok(Vec::new());
        }
        let changes = diff(&self.doc, &doc);
        self.doc = doc;
        self.set_hash(hash);
        Ok(changes)
    }

    fn set_hash(&mut self, hash: blake3::Hash) {
        self.hash = hash;
        if let Ok(mut k) = self.known.lock() {
            *k = (hash, Some(self.doc.clone()));
        }
    }

    /// Applies `edits` and writes the file (see the module docs for the safety rules).
    pub fn apply(&mut self, edits: &[Edit], opts: WriteOptions) -> Result<Written, SyncError> {
        let (disk, disk_hash) = read_doc(&self.path)?;
        let reapplied = disk_hash != self.hash;
        let base = if reapplied { disk } else { self.doc.clone() };
        if !base.has_tickets() && !opts.allow_no_tickets {
            return Err(SyncError::NoTickets(self.path.clone()));
        }
        let mut doc = base;
        let mut created = Vec::new();
        for e in edits {
            let applied = doc.apply(e).map_err(|err| match err {
                EditError::NoTicket(_) | EditError::Ambiguous(..) if reapplied => {
                    SyncError::Conflict(format!(
                        "{} changed on disk and {err}",
                        self.path.display()
                    ))
                }
                other => SyncError::Edit(other),
            })?;
            doc = applied.doc;
            created.extend(applied.created);
        }
        let text = doc.serialize();
        let new_hash = blake3::hash(text.as_bytes());
        // Announce our content to the watchers before it lands, so our own write is never reported back.
        let previous = self
            .known
            .lock()
            .map(|k| k.clone())
            .unwrap_or((disk_hash, None));
        if let Ok(mut k) = self.known.lock() {
            *k = (new_hash, Some(doc.clone()));
        }
        let backup = match write_atomic(&self.path, text.as_bytes(), &disk_hash) {
            Ok(b) => b,
            Err(e) => {
                if let Ok(mut k) = self.known.lock() {
                    *k = previous;
                }
                return Err(e);
            }
        };
        self.doc = doc;
        self.set_hash(new_hash);
        Ok(Written {
            reapplied,
            created,
            backup,
        })
    }

    /// Watches the file for external edits. Events arrive on the returned channel; keep the [`Watch`] alive.
    pub fn watch(&self) -> Result<Watch, SyncError> {
        watch_with(&self.path, self.doc.clone(), Arc::clone(&self.known))
    }
}

/// A running watcher; dropping it stops watching.
pub struct Watch {
    _watcher: notify::RecommendedWatcher,
    pub events: Receiver<SyncEvent>,
}

/// Watches `path` (through its directory, so editors that replace the file by rename are seen too).
pub fn watch(path: &Path) -> Result<Watch, SyncError> {
    let (doc, hash) = read_doc(path)?;
    watch_with(path, doc, Arc::new(Mutex::new((hash, None))))
}

fn watch_with(path: &Path, doc: Document, known: Known) -> Result<Watch, SyncError> {
    let path = path.to_path_buf();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let name = path.file_name().map(|n| n.to_os_string());
    let (tx, rx) = mpsc::channel();
    let mut last = doc;
    let mut last_hash = known
        .lock()
        .map_err(|_| SyncError::Conflict("sync state poisoned".into()))?
        .0;
    let watched = path.clone();
    let handler = move |res: notify::Result<notify::Event>| {
        let Ok(ev) = res else { return };
        if !ev
            .paths
            .iter()
            .any(|p| p.file_name().map(|n| n.to_os_string()) == name)
        {
            return;
        }
        let bytes = match fs::read(&watched) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = tx.send(SyncEvent::Removed);
                return;
            }
            Err(e) => {
                let _ = tx.send(SyncEvent::Error(format!("{}: {e}", watched.display())));
                return;
            }
        };
        let hash = blake3::hash(&bytes);
        if hash == last_hash {
            return;
        }
        let (known_hash, known_doc) = known.lock().map(|k| k.clone()).unwrap_or((last_hash, None));
        let ours = known_hash == hash;
        match Document::parse_bytes(&bytes) {
            Ok(doc) => {
                // Compare with what the app last wrote when this watcher has not seen that write yet.
                let base = match known_doc {
                    Some(k) if known_hash != last_hash => k,
                    _ => last.clone(),
                };
                let changes = diff(&base, &doc);
                last_hash = hash;
                last = doc.clone();
                if !ours {
                    let _ = tx.send(SyncEvent::Changed {
                        doc: Box::new(doc),
                        changes,
                    });
                }
            }
            Err(e) => {
                last_hash = hash;
                let _ = tx.send(SyncEvent::Error(format!("{}: {e}", watched.display())));
            }
        }
    };
    let mut watcher = notify::recommended_watcher(handler).map_err(|e| SyncError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    watcher
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(|e| SyncError::Io {
            path: dir.clone(),
            source: std::io::Error::other(e),
        })?;
    Ok(Watch {
        _watcher: watcher,
        events: rx,
    })
}

/// What changed between two readings, merged by ticket key (IDs first; tickets without IDs by title).
pub fn diff(old: &Document, new: &Document) -> Vec<TicketChange> {
    let key = |_: &Document, t: &super::Ticket| {
        if t.id.is_some() {
            t.key.clone()
        } else {
            format!("title:{}", t.title)
        }
    };
    let sig = |d: &Document, t: &super::Ticket| {
        (
            t.title.clone(),
            t.status,
            t.batch.map(|b| d.batches[b].number),
            d.source.slice_lines(t.lines.clone()).to_string(),
        )
    };
    let mut out = Vec::new();
    for t in &new.tickets {
        let k = key(new, t);
        match old.tickets.iter().find(|o| key(old, o) == k) {
            None => out.push(TicketChange::Added(t.display_id())),
            Some(o) if sig(old, o) != sig(new, t) => {
                out.push(TicketChange::Changed(t.display_id()))
            }
            _ => {}
        }
    }
    for o in &old.tickets {
        let k = key(old, o);
        if !new.tickets.iter().any(|t| key(new, t) == k) {
            out.push(TicketChange::Removed(o.display_id()));
        }
    }
    out
}

/// `<dir>/.leapfrog/backups/<file name>.<UTC timestamp>`.
pub fn backup_path(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "TICKETS.md".into());
    dir.join(".leapfrog")
        .join("backups")
        .join(format!("{name}.{}", timestamp()))
}

/// `YYYYMMDDTHHMMSS.nnnnnnnnnZ` (UTC), sortable and unique enough for backups.
fn timestamp() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

/// Writes `bytes` to `path` atomically, after backing up the current content, provided the file still
/// hashes to `expected`. Returns the backup path.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    expected: &blake3::Hash,
) -> Result<PathBuf, SyncError> {
    let current = fs::read(path).map_err(io(path))?;
    if blake3::hash(&current) != *expected {
        return Err(SyncError::ChangedDuringWrite(path.to_path_buf()));
    }
    let backup = backup_path(path);
    if let Some(parent) = backup.parent() {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    fs::write(&backup, &current).map_err(io(&backup))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.leapfrog-tmp-{}", std::process::id()));
    {
        let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    if let Ok(meta) = fs::metadata(path) {
        let _ = fs::set_permissions(&tmp, meta.permissions());
    }
    // Last check right before the rename: an editor may have saved in the meantime.
    let again = fs::read(path).map_err(io(path))?;
    if blake3::hash(&again) != *expected {
        let _ = fs::remove_file(&tmp);
        return Err(SyncError::ChangedDuringWrite(path.to_path_buf()));
    }
    fs::rename(&tmp, path).map_err(io(path))?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(backup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_sort_and_look_like_dates() {
        let a = timestamp();
        assert_eq!(a.len(), "20260101T000000.000000000Z".len());
        assert!(a.starts_with("20"));
        assert!(timestamp() >= a);
    }
}
