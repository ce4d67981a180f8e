//! Two-way sync between the app and a TICKETS.md on disk.
//!
//! * [`TicketsFile`] holds what was last read (text and blake3 hash). An app edit is written only if the file
//!   still holds exactly that; otherwise the file is re-parsed and the edits are re-applied by ticket ID, and
//!   an edit whose ticket vanished or became ambiguous is a [`SyncError::Conflict`]. Nothing is written.
//! * A file in which no tickets were recognised is never written unless [`WriteOptions::allow_no_tickets`].
//! * A file that cannot be parsed (binary, not UTF-8, too large) is never overwritten.
//! * Every write first copies the previous content to `.leapfrog/backups/<file name>.<UTC timestamp>` in the
//!   file's directory, then writes a temp file in the same directory, fsyncs it, checks the file once more,
//!   swaps it with the original and fsyncs the directory. What it swapped out is read back: if someone
//!   changed the file meanwhile (an `echo >>`, an editor's save), their change is taken in and the edits are
//!   applied again, so no completed write of theirs is lost (see [`write_atomic`] for the details).
//! * Leapfrog's own writers (the orchestrator, the board, `leap tickets …`) take turns through
//!   [`write_lock`], an advisory lock on the file's folder.
//! * [`TicketsFile::watch`] reports external edits (an agent or a person) through a channel, merged by ticket
//!   ID ([`diff`]); the app's own writes are not reported back.

use std::cell::RefCell;
use std::fs;
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    /// Not a regular file, or over [`super::MAX_FILE_BYTES`] (the message names the file).
    #[error("{0}")]
    Unreadable(String),
    /// The file kept changing, or was rewritten, while it was being written; the message says what
    /// the file holds now and where anything else was kept.
    #[error("{0}")]
    Raced(String),
    /// Another Leapfrog writer held the folder's [`write_lock`] for too long.
    #[error("{0}")]
    Busy(String),
}

/// The file's bytes: a regular file of at most [`super::MAX_FILE_BYTES`] (a device or FIFO would
/// be read forever).
fn read_bounded(path: &Path) -> Result<Vec<u8>, SyncError> {
    let limit = super::MAX_FILE_BYTES as u64;
    crate::files::read_regular(path, "TICKETS.md file", limit).map_err(SyncError::Unreadable)
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
    let bytes = read_bounded(path)?;
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

    /// Applies `edits` and writes the file (see the module docs for the safety rules). The edits are
    /// applied to what is on disk when the write happens: when that is not what was last read, and
    /// again whenever someone changes the file during the write ([`write_atomic`]).
    pub fn apply(&mut self, edits: &[Edit], opts: WriteOptions) -> Result<Written, SyncError> {
        let previous = self.known.lock().map(|k| k.clone()).ok();
        let mut last: Option<(Document, Vec<String>, blake3::Hash)> = None;
        let mut reapplied = false;
        let (path, read_doc, read_hash, known) = (&self.path, &self.doc, self.hash, &self.known);
        let mut make = |content: &[u8]| -> Result<Vec<u8>, SyncError> {
            let changed = blake3::hash(content) != read_hash;
            let base = if changed {
                Document::parse_bytes(content).map_err(|e| SyncError::Parse(path.clone(), e))?
            } else {
                read_doc.clone()
            };
            if !base.has_tickets() && !opts.allow_no_tickets {
                return Err(SyncError::NoTickets(path.clone()));
            }
            let mut doc = base;
            let mut created = Vec::new();
            for e in edits {
                let applied = doc.apply(e).map_err(|err| match err {
                    EditError::NoTicket(_) | EditError::Ambiguous(..) if changed => {
                        SyncError::Conflict(format!("{} changed on disk and {err}", path.display()))
                    }
                    other => SyncError::Edit(other),
                })?;
                doc = applied.doc;
                created.extend(applied.created);
            }
            let text = doc.serialize();
            let hash = blake3::hash(text.as_bytes());
            // Announce our content to the watchers before it lands, so our own write is never
            // reported back.
            if let Ok(mut k) = known.lock() {
                *k = (hash, Some(doc.clone()));
            }
            reapplied |= changed;
            last = Some((doc, created, hash));
            Ok(text.into_bytes())
        };
        let result = replace(&self.path, &mut make);
        let (replaced, Some((mut doc, created, mut hash))) = (
            match result {
                Ok(b) => b,
                Err(e) => {
                    if let (Some(p), Ok(mut k)) = (previous, self.known.lock()) {
                        *k = p;
                    }
                    return Err(e);
                }
            },
            last,
        ) else {
            // Not reached: a write that went ahead made its content.
            return Err(SyncError::Raced(format!(
                "{}: nothing was applied",
                self.path.display()
            )));
        };
        // Lines others appended during the write are in the file too.
        let landed = blake3::hash(&replaced.bytes);
        if landed != hash {
            if let Ok(d) = Document::parse_bytes(&replaced.bytes) {
                (doc, hash) = (d, landed);
            }
        }
        let backup = replaced.backup;
        self.doc = doc;
        self.set_hash(hash);
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
    reads: Arc<std::sync::atomic::AtomicU64>,
}

impl Watch {
    /// How many times the watcher has read the file: once per change, never because someone
    /// (the watcher itself included) opened or read it.
    pub fn reads(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }
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
    let reads = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = reads.clone();
    let handler = move |res: notify::Result<notify::Event>| {
        let Ok(ev) = res else { return };
        // notify's inotify backend reports opens too: reading the file on one would be seen as
        // another open, and so on for ever (a core spinning per watcher while nothing changes).
        // A write is seen by its modify and close-after-write events.
        if let notify::EventKind::Access(access) = ev.kind {
            if !matches!(
                access,
                notify::event::AccessKind::Close(notify::event::AccessMode::Write)
            ) {
                return;
            }
        }
        if !ev
            .paths
            .iter()
            .any(|p| p.file_name().map(|n| n.to_os_string()) == name)
        {
            return;
        }
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
        reads,
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
    // The first ticket of each key, looked up (a file of thousands of tickets is not compared
    // ticket by ticket with every other).
    let first = |d: &Document| {
        let mut at: std::collections::HashMap<String, usize> = Default::default();
        for (i, t) in d.tickets.iter().enumerate() {
            at.entry(key(d, t)).or_insert(i);
        }
        at
    };
    let (in_old, in_new) = (first(old), first(new));
    let mut out = Vec::new();
    for t in &new.tickets {
        match in_old.get(&key(new, t)).map(|&i| &old.tickets[i]) {
            None => out.push(TicketChange::Added(t.display_id())),
            Some(o) if sig(old, o) != sig(new, t) => {
                out.push(TicketChange::Changed(t.display_id()))
            }
            _ => {}
        }
    }
    for o in &old.tickets {
        if !in_new.contains_key(&key(old, o)) {
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

/// How many times one write starts over because someone changed the file under it, before it
/// gives up in words.
pub const MAX_ROUNDS: usize = 32;

/// After this many rounds, lines others keep appending are appended again in place rather than
/// written with a new version (see [`write_atomic`]).
pub const FULL_ROUNDS: usize = 6;

/// How long a writer waits for another Leapfrog writer of the same folder.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

thread_local! {
    /// The folders whose [`WriteLock`] this thread holds (the lock is re-entrant per thread).
    static HELD: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
}

/// Leapfrog's own writers take turns: while one holds this, no other Leapfrog writer (another
/// thread of the app, another `leap` process) reads-edits-replaces a file in the same folder.
/// [`write_atomic`] and [`TicketsFile::apply`] take it themselves; hold it across several writes
/// to make them one step (the board does, from reading the file to its last write).
///
/// It is an advisory `flock(2)` on the folder that holds the file (after symlinks), not on a lock
/// file: the folder always exists and is never written, so nothing is added to the user's folder
/// (a lock file would be litter, and `.leapfrog/` need not exist next to a TICKETS.md); the file
/// itself cannot carry it, since every write replaces it with a new one. `flock` belongs to the open
/// file, so two threads of one process exclude each other as two processes do, and a crashed
/// writer's lock goes with it. Editors and agents do not take it: the checks in [`write_atomic`]
/// cover them. Where `flock` does not work on a folder (some network filesystems), writers go ahead
/// unlocked, still with those checks.
#[must_use = "the lock is released when dropped"]
pub struct WriteLock {
    _file: Option<fs::File>,
    /// The folder registered in [`HELD`], when this guard took the lock (not a re-entry).
    dir: Option<PathBuf>,
    /// The registration is per thread: the guard stays on it.
    _here: PhantomData<*const ()>,
}

impl WriteLock {
    fn none() -> WriteLock {
        WriteLock {
            _file: None,
            dir: None,
            _here: PhantomData,
        }
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = HELD.try_with(|h| h.borrow_mut().retain(|d| *d != dir));
        }
        // Closing the folder's handle releases the lock.
    }
}

impl std::fmt::Debug for WriteLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteLock").field("dir", &self.dir).finish()
    }
}

/// Times a writer found the lock of a folder taken, by folder: lets a test see that a writer is
/// waiting (and so writes nothing) without waiting to find out.
static LOCK_REFUSALS: Mutex<Vec<(PathBuf, u64)>> = Mutex::new(Vec::new());

/// How many times a writer of `path` has found the folder's write lock taken (see
/// [`write_lock`]).
pub fn lock_refusals(path: &Path) -> u64 {
    let Ok(target) = fs::canonicalize(path) else {
        return 0;
    };
    let dir = folder(&target);
    let refusals = LOCK_REFUSALS.lock().unwrap_or_else(|e| e.into_inner());
    refusals
        .iter()
        .find(|(d, _)| *d == dir)
        .map_or(0, |(_, n)| *n)
}

fn count_refusal(dir: &Path) {
    let mut refusals = LOCK_REFUSALS.lock().unwrap_or_else(|e| e.into_inner());
    match refusals.iter_mut().find(|(d, _)| d == dir) {
        Some((_, n)) => *n += 1,
        None => refusals.push((dir.to_path_buf(), 1)),
    }
}

/// Takes the lock Leapfrog's writers of `path` share (see [`WriteLock`]), waiting up to
/// [`LOCK_WAIT`] for another writer.
pub fn write_lock(path: &Path) -> Result<WriteLock, SyncError> {
    let target = fs::canonicalize(path)
        .map_err(|e| SyncError::Unreadable(format!("{}: cannot read: {e}", path.display())))?;
    lock_dir(&folder(&target), path)
}

fn lock_dir(dir: &Path, shown: &Path) -> Result<WriteLock, SyncError> {
    use std::os::fd::AsRawFd;
    if HELD.with(|h| h.borrow().iter().any(|d| d == dir)) {
        return Ok(WriteLock::none());
    }
    let Ok(file) = fs::File::open(dir) else {
        return Ok(WriteLock::none());
    };
    let started = Instant::now();
    let mut pause = Duration::from_micros(100);
    loop {
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            break;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if started.elapsed() < LOCK_WAIT => {
                count_refusal(dir);
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(10));
            }
            Some(libc::EWOULDBLOCK) => {
                return Err(SyncError::Busy(format!(
                    "{}: another Leapfrog writer has been writing in {} for over {} s; nothing was written",
                    shown.display(),
                    dir.display(),
                    LOCK_WAIT.as_secs()
                )))
            }
            // Not supported here: go ahead without it.
            _ => return Ok(WriteLock::none()),
        }
    }
    HELD.with(|h| h.borrow_mut().push(dir.to_path_buf()));
    Ok(WriteLock {
        _file: Some(file),
        dir: Some(dir.to_path_buf()),
        _here: PhantomData,
    })
}

/// The folder that holds `target`.
fn folder(target: &Path) -> PathBuf {
    target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

/// Writes `bytes` to `path` atomically, after backing up the current content, provided the file still
/// hashes to `expected`. Returns the backup path. Lines someone appends during the write are kept
/// after `bytes`; any other change they make before it lands wins: nothing is written (or their
/// version is put back), and the result is [`SyncError::ChangedDuringWrite`], as `bytes` were
/// computed from the old content. (Callers that can compute them again use [`TicketsFile::apply`].)
///
/// A symlinked file is written through to its target (the link stays a link). A read-only file or
/// one with other hard links is refused in words (a rename would rewrite the first and break the
/// second). The temp file gets an unpredictable name, is created exclusively without following a
/// symlink, with the file's own mode, in the target's folder; it is removed when anything fails.
/// The backup is written only when the write goes ahead. Backups are pruned on write.
///
/// # Concurrent writers
///
/// Leapfrog's own writers hold [`write_lock`], so they never overlap. Anyone else (an editor, an
/// agent, `echo >> TICKETS.md`) may write at any moment, and no write of theirs that completes
/// before the write returns is lost:
///
/// * the file is read through a handle kept open, and looked at again right before the swap;
/// * the temp file and the file are swapped in one step (`renameat2(RENAME_EXCHANGE)` on Linux,
///   `renamex_np(RENAME_SWAP)` on macOS), so the temp name then holds exactly what the file name
///   held at that instant: the file that was read, with anything appended to it since, or the
///   file an editor renamed over it meanwhile;
/// * that displaced file is read back at once. Lines appended to it go into the next version, after
///   the content this write made, as if they had been appended just after it, in the order they
///   were written; lines appended to the file name before the next swap too. Any other change made
///   before a version of this write landed (an editor's save) becomes the content the edits are
///   applied to again, as when the file changed before the write began. A rewrite of a version
///   of this write wins: it is put back (with lines appended meanwhile), and the result says so.
///   Each of these starts the write over. After [`FULL_ROUNDS`] rounds with appends in each,
///   the lines are appended again in place instead, as their writer would (it converges however
///   fast they come, at the cost of their order next to lines appended after the swap). After
///   [`MAX_ROUNDS`], the write stops with one line saying what the file holds and where the rest
///   was kept;
/// * each displaced file stays open, and is looked at once more as the very last step.
///
/// * after the write returns, the displaced files are looked at while another process holds one
///   open, for up to two seconds, and lines a writer that opened the file before a swap appended
///   to them late (descheduled between its open and its write) are appended to the file
///   ([`settle_late_appends`] waits for that; `leap tickets move` does before it exits).
///
/// The remaining window is a writer that opened the file by name before a swap and writes to it
/// more than two seconds later, or one that keeps the file open across the write
/// (`exec 3>>TICKETS.md`): that write goes into the replaced file, as it would if a person had
/// replaced the file meanwhile. `echo >>` or an agent's append opens, writes
/// and closes within microseconds, and a save by rename is never in it. Where the filesystem
/// cannot swap (some network filesystems), the temp file is renamed over the file instead: appends
/// are still kept (through the handle), but an editor's save by rename in the microseconds between
/// the last look and the rename is replaced.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    expected: &blake3::Hash,
) -> Result<PathBuf, SyncError> {
    let mut make = |content: &[u8]| {
        if blake3::hash(content) == *expected {
            Ok(bytes.to_vec())
        } else {
            Err(SyncError::ChangedDuringWrite(path.to_path_buf()))
        }
    };
    replace(path, &mut make).map(|r| r.backup)
}

/// What the file name held, as far as one write knows: the file, kept open, and what it held.
struct Seen {
    file: fs::File,
    bytes: Vec<u8>,
}

/// How a file differs from what a write expected in it.
enum Change<'a> {
    Same,
    /// Lines appended.
    Appended(&'a [u8]),
    /// Another change, before a version of this write landed: the new content replaces the old.
    Whole,
    /// Another change to a version of this write.
    Rewritten,
}

fn change<'a>(expected: &[u8], found: &'a [u8], wrote: bool) -> Change<'a> {
    if found == expected {
        Change::Same
    } else if let Some(tail) = found.strip_prefix(expected) {
        Change::Appended(tail)
    } else if !wrote {
        Change::Whole
    } else {
        Change::Rewritten
    }
}

/// Points in a write where a test makes another writer act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Moment {
    BeforeSwap,
    AfterSwap,
    BeforeLastLook,
}

/// What a test does at a [`Moment`] (with the file's real path).
#[cfg(test)]
type Hook = Box<dyn FnMut(Moment, &Path)>;

#[cfg(test)]
thread_local! {
    pub(crate) static HOOK: RefCell<Option<Hook>> = RefCell::new(None);
    /// Makes [`exchange`] answer "cannot", to test the plain rename.
    pub(crate) static NO_EXCHANGE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn hook(m: Moment, target: &Path) {
    HOOK.with(|h| {
        if let Some(f) = h.borrow_mut().as_mut() {
            f(m, target)
        }
    })
}

#[cfg(not(test))]
fn hook(_: Moment, _: &Path) {}

/// Turns the file's content into what to write (see [`replace`]).
type Make<'a> = dyn FnMut(&[u8]) -> Result<Vec<u8>, SyncError> + 'a;

/// What [`replace`] did.
struct Replaced {
    backup: PathBuf,
    /// What the file holds now: what `make` returned, and lines others appended meanwhile.
    bytes: Vec<u8>,
}

/// The write behind [`write_atomic`] and [`TicketsFile::apply`]: `make` turns the file's content
/// into what to write, and is called again with the new content when someone changed it before
/// this write's first version landed.
fn replace(path: &Path, make: &mut Make) -> Result<Replaced, SyncError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    const WHAT: &str = "TICKETS.md file";
    let limit = super::MAX_FILE_BYTES as u64;
    let shown = path.display().to_string();
    // Through a symlink to the real file, so that the link survives the swap.
    let target = fs::canonicalize(path)
        .map_err(|e| SyncError::Unreadable(format!("{shown}: cannot read: {e}")))?;
    let dir = folder(&target);
    let _lock = lock_dir(&dir, path)?;
    let open = |p: &Path| {
        crate::files::open_regular(p, WHAT, limit)
            .map(|(file, bytes)| Seen { file, bytes })
            .map_err(SyncError::Unreadable)
    };
    let mut at_path = open(&target)?;
    let meta = at_path.file.metadata().map_err(io(&target))?;
    if meta.permissions().readonly() || meta.permissions().mode() & 0o200 == 0 {
        return Err(SyncError::Unreadable(format!(
            "{shown}: is read-only; nothing was written"
        )));
    }
    if meta.nlink() > 1 {
        return Err(SyncError::Unreadable(format!(
            "{shown}: has {} hard links, which replacing it would break; nothing was written",
            meta.nlink()
        )));
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rewritten = || {
        SyncError::Raced(format!(
            "{shown}: was rewritten while Leapfrog was writing it; that version was kept, so the edit may be missing from it"
        ))
    };
    // What `make` works on: the file's content before a version of ours landed.
    let mut content = at_path.bytes.clone();
    // The version to put in place next, when it is known without `make`: one of ours, or the
    // user's when restoring.
    let mut base: Option<Vec<u8>> = None;
    // Lines others appended that are not in place yet: they go after `base`, as if appended just
    // after this write, in the order they were written.
    let mut tails: Vec<u8> = Vec::new();
    // Whether a version of ours has been swapped in.
    let mut wrote = false;
    let mut backup: Option<PathBuf> = None;
    // Set when the edits cannot stand: the user's version is put back, and this is the result.
    let mut restoring: Option<SyncError> = None;
    // Files this write swapped out, kept open for the last look.
    let mut gone: Vec<Seen> = Vec::new();
    let kept = |bytes: &[u8]| -> String {
        let b = backup_path(path);
        match b
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|_| fs::write(&b, bytes))
        {
            Ok(()) => format!("is kept as {}", b.display()),
            Err(e) => format!("could not be kept ({}: {e})", b.display()),
        }
    };
    'rounds: for round in 0..MAX_ROUNDS {
        let in_place = round >= FULL_ROUNDS;
        let made = match base.take() {
            Some(b) => b,
            None => match make(&content) {
                Ok(out) => out,
                Err(e) if !wrote => return Err(e),
                Err(e) => {
                    restoring = Some(e);
                    content.clone()
                }
            },
        };
        let out = [made.as_slice(), &tails].concat();
        let (tmp, ours) = match write_temp(&dir, &name, &meta, &out) {
            Ok(t) => t,
            Err(e) => return Err(salvage(e, &target, &tails, &mut at_path)),
        };
        // The last look before the swap: an editor may have saved meanwhile.
        let now = match open(&target) {
            Ok(now) => now,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(salvage(e, &target, &tails, &mut at_path));
            }
        };
        if in_place && now.bytes != at_path.bytes && now.bytes.starts_with(&at_path.bytes) {
            // Lines keep being appended: swap anyway. They are in the file this swap displaces,
            // and are appended again after it.
            at_path.file = now.file;
        } else if now.bytes != at_path.bytes {
            let _ = fs::remove_file(&tmp);
            match change(&at_path.bytes, &now.bytes, wrote) {
                Change::Same => base = Some(made),
                Change::Appended(tail) => {
                    tails.extend_from_slice(tail);
                    base = Some(made);
                }
                Change::Whole => {
                    content = now.bytes.clone();
                    tails.clear();
                }
                // Someone rewrote our version, and theirs is in place: it stays, with any lines
                // appended meanwhile that are not in it.
                Change::Rewritten if tails.is_empty() => {
                    return Err(restoring.unwrap_or_else(rewritten))
                }
                Change::Rewritten => {
                    base = Some(now.bytes.clone());
                    restoring.get_or_insert_with(rewritten);
                }
            }
            at_path = now;
            continue;
        } else {
            // The same content; hold the file that is there now (an editor may have saved the
            // same text).
            at_path = now;
        }
        if backup.is_none() {
            let b = backup_path(path);
            let backed_up = b
                .parent()
                .map_or(Ok(()), fs::create_dir_all)
                .and_then(|_| fs::write(&b, &at_path.bytes));
            if let Err(e) = backed_up {
                let _ = fs::remove_file(&tmp);
                return Err(io(&b)(e));
            }
            backup = Some(b);
        }
        hook(Moment::BeforeSwap, &target);
        // Where what a swap displaced is kept when it cannot be read back.
        let mut odd: Option<String> = None;
        let displaced = match exchange(&tmp, &target) {
            // `tmp` now names what the file name held at the swap.
            Ok(true) => {
                hook(Moment::AfterSwap, &target);
                let d = displaced(&tmp, &at_path.file, limit);
                if d.is_some() {
                    let _ = fs::remove_file(&tmp);
                } else {
                    let b = backup_path(path);
                    odd = Some(match fs::rename(&tmp, &b) {
                        Ok(()) => format!("is kept as {}", b.display()),
                        Err(_) => format!("is left at {}", tmp.display()),
                    });
                }
                d
            }
            Ok(false) => {
                if let Err(e) = fs::rename(&tmp, &target) {
                    let _ = fs::remove_file(&tmp);
                    if !wrote {
                        let _ = backup.take().map(fs::remove_file);
                    }
                    return Err(io(path)(e));
                }
                hook(Moment::AfterSwap, &target);
                at_path.file.try_clone().ok().and_then(|f| {
                    let bytes = crate::files::reread(&f, &target, WHAT, limit).ok()?;
                    Some((f, bytes))
                })
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                if !wrote {
                    let _ = backup.take().map(fs::remove_file);
                }
                return Err(io(path)(e));
            }
        };
        let had_written = std::mem::replace(&mut wrote, true);
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        // `out` is in place: the tails with it.
        tails.clear();
        let expected = std::mem::replace(
            &mut at_path,
            Seen {
                file: ours,
                bytes: out,
            },
        );
        let Some(displaced) = displaced.map(|(file, bytes)| Seen { file, bytes }) else {
            // It cannot be read back (not a regular file, too large): keep it, and what was read.
            return Err(SyncError::Raced(format!(
                "{shown}: was replaced while Leapfrog was writing it by something it cannot read, which {}; the version before that {}",
                odd.unwrap_or_else(|| "could not be read back".into()),
                kept(&expected.bytes)
            )));
        };
        let settled = match change(&expected.bytes, &displaced.bytes, had_written) {
            Change::Same => true,
            Change::Appended(tail) if in_place => {
                if let Err(e) = append_in_place(&target, tail, &mut at_path) {
                    return Err(SyncError::Raced(format!(
                        "{shown}: lines appended while Leapfrog was writing it could not be added back ({e}); they are in the version that {}",
                        kept(&displaced.bytes)
                    )));
                }
                true
            }
            Change::Appended(tail) => {
                tails.extend_from_slice(tail);
                base = Some(at_path.bytes.clone());
                false
            }
            // Changed before any version of ours landed: apply the edits to it.
            Change::Whole => {
                content = displaced.bytes.clone();
                false
            }
            // Their version of ours wins: put it back.
            Change::Rewritten => {
                base = Some(displaced.bytes.clone());
                restoring.get_or_insert_with(rewritten);
                false
            }
        };
        gone.push(displaced);
        if !settled {
            continue;
        }
        if let (Some(b), Some(name)) = (backup.as_ref().and_then(|b| b.parent()), path.file_name())
        {
            prune_backups(b, &name.to_string_lossy(), keep_backups());
        }
        // The last look: a writer that opened the file before a swap may have written since.
        hook(Moment::BeforeLastLook, &target);
        for _ in 0..MAX_ROUNDS {
            for g in &mut gone {
                let Ok(now) = crate::files::reread(&g.file, &target, WHAT, limit) else {
                    continue;
                };
                if now != g.bytes {
                    match now.strip_prefix(g.bytes.as_slice()) {
                        Some(tail) => tails.extend_from_slice(tail),
                        None => {
                            return Err(SyncError::Raced(format!(
                                "{shown}: a replaced version was rewritten while Leapfrog was writing; that version {}",
                                kept(&now)
                            )))
                        }
                    }
                    g.bytes = now;
                }
            }
            if tails.is_empty() {
                break;
            }
            if !in_place {
                base = Some(at_path.bytes.clone());
                continue 'rounds;
            }
            if let Err(e) = append_in_place(&target, &tails, &mut at_path) {
                return Err(SyncError::Raced(format!(
                    "{shown}: lines appended while Leapfrog was writing it could not be added back ({e}); they {}",
                    kept(&tails)
                )));
            }
            tails.clear();
        }
        watch_late_appends(&target, gone, limit);
        return match restoring {
            Some(e) => Err(e),
            None => Ok(Replaced {
                backup: backup.unwrap_or_default(),
                bytes: std::mem::take(&mut at_path.bytes),
            }),
        };
    }
    if !wrote {
        return Err(SyncError::Raced(format!(
            "{shown}: kept changing while Leapfrog was writing it ({MAX_ROUNDS} tries); nothing was written"
        )));
    }
    // The last version to put in place (or, when the last change came before any of ours landed,
    // the user's), with the lines appended since.
    let latest = [base.as_deref().unwrap_or(&content), &tails].concat();
    Err(SyncError::Raced(format!(
        "{shown}: kept changing while Leapfrog was writing it ({MAX_ROUNDS} tries); lines appended meanwhile may be missing from it, and the complete version {}",
        kept(&latest)
    )))
}

/// After a failed round: lines taken in from a replaced version and not in place yet are appended
/// to the file in place, so that they are not lost with the write. Returns `e`.
fn salvage(e: SyncError, target: &Path, tails: &[u8], ours: &mut Seen) -> SyncError {
    if !tails.is_empty() {
        let _ = append_in_place(target, tails, ours);
    }
    e
}

/// Appends `bytes` to the file at `target` the way any other writer appends (by name, with
/// `O_APPEND`, in one write), then reads back what `ours` (the version this write put in place)
/// holds now.
/// How long after a write the files it replaced are watched for late appends.
const LATE_APPEND_CHECKS_MS: [u64; 5] = [2, 20, 100, 500, 2000];

/// Late-append watchers still running (see [`settle_late_appends`]).
static LATE_WATCHERS: (std::sync::Mutex<usize>, std::sync::Condvar) =
    (std::sync::Mutex::new(0), std::sync::Condvar::new());

/// A writer that opened the file by name before a swap may write into the replaced file after
/// the write's last look (an `echo >>` descheduled between its open and its write, on a loaded
/// machine). The replaced files stay open and are looked at again for two seconds; anything
/// appended to them is appended to the file, as that writer meant to.
fn watch_late_appends(target: &Path, gone: Vec<Seen>, limit: u64) {
    if gone.is_empty() {
        return;
    }
    *LATE_WATCHERS.0.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    let target = target.to_path_buf();
    let spawned = std::thread::Builder::new()
        .name("tickets-late-appends".into())
        .spawn(move || {
            let mut gone = gone;
            for ms in LATE_APPEND_CHECKS_MS {
                std::thread::sleep(std::time::Duration::from_millis(ms));
                // Looked at before the last read: a file no other process holds open can get
                // no more late appends, so once none is held this read is the last one.
                let last = !gone.iter().any(|g| held_elsewhere(&g.file));
                for g in &mut gone {
                    let Ok(now) = crate::files::reread(&g.file, &target, "TICKETS.md file", limit)
                    else {
                        continue;
                    };
                    let Some(tail) = now.strip_prefix(g.bytes.as_slice()) else {
                        continue;
                    };
                    if tail.is_empty() {
                        continue;
                    }
                    use std::os::unix::fs::OpenOptionsExt;
                    let appended = fs::OpenOptions::new()
                        .append(true)
                        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                        .open(&target)
                        .and_then(|mut f| f.write_all(tail).and_then(|_| f.sync_data()));
                    if appended.is_ok() {
                        g.bytes = now;
                    }
                }
                if last {
                    break;
                }
            }
            let mut n = LATE_WATCHERS.0.lock().unwrap_or_else(|e| e.into_inner());
            *n -= 1;
            LATE_WATCHERS.1.notify_all();
        });
    if spawned.is_err() {
        *LATE_WATCHERS.0.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
    }
}

/// Whether a process other than this one holds `file` open (by its device and inode, through
/// `/proc/*/fd`). When that cannot be told, it is taken as held.
fn held_elsewhere(file: &fs::File) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = file.metadata() else {
        return true;
    };
    let (dev, ino) = (meta.dev(), meta.ino());
    let Ok(procs) = fs::read_dir("/proc") else {
        return true;
    };
    let me = std::process::id().to_string();
    for p in procs.flatten() {
        let name = p.file_name();
        let name = name.to_string_lossy();
        if name == me || !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = fs::read_dir(p.path().join("fd")) else {
            // Gone, or another user's: another user cannot append to this user's file's
            // replaced copy unless it could already write the file; not ours to watch.
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(m) = fs::metadata(fd.path()) {
                if m.dev() == dev && m.ino() == ino {
                    return true;
                }
            }
        }
    }
    false
}

/// Waits until every write's late-append watch is over: at once when no other process holds a
/// replaced file open, else up to about two seconds after the last write.
pub fn settle_late_appends() {
    let mut n = LATE_WATCHERS.0.lock().unwrap_or_else(|e| e.into_inner());
    while *n > 0 {
        n = LATE_WATCHERS.1.wait(n).unwrap_or_else(|e| e.into_inner());
    }
}

fn append_in_place(target: &Path, bytes: &[u8], ours: &mut Seen) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(target)?;
    f.write_all(bytes)?;
    f.sync_data()?;
    ours.bytes = crate::files::reread(
        &ours.file,
        target,
        "TICKETS.md file",
        super::MAX_FILE_BYTES as u64,
    )
    .map_err(std::io::Error::other)?;
    Ok(())
}

/// Creates the temp file for `bytes` next to the target: an unpredictable name, created
/// exclusively without following a symlink, with the target's mode, synced. Kept open (read and
/// write) so the write can look at it again once it is the file; removed when anything fails.
fn write_temp(
    dir: &Path,
    name: &str,
    meta: &fs::Metadata,
    bytes: &[u8],
) -> Result<(PathBuf, fs::File), SyncError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let tmp = dir.join(format!(
        ".{name}.leapfrog-tmp-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let written = (|| -> Result<fs::File, SyncError> {
        let mut f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(meta.permissions().mode() & 0o7777)
            .open(&tmp)
            .map_err(io(&tmp))?;
        // The creation mode is masked by the umask: set it exactly.
        f.set_permissions(meta.permissions()).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        Ok(f)
    })();
    match written {
        Ok(f) => Ok((tmp, f)),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// What a swap put at `tmp`: read through `held` (the file the write expected there) when it is
/// that file, as that is quickest, otherwise opened by name. `None` when it is not a regular file
/// of at most `limit` bytes.
fn displaced(tmp: &Path, held: &fs::File, limit: u64) -> Option<(fs::File, Vec<u8>)> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    const WHAT: &str = "TICKETS.md file";
    let first = crate::files::reread(held, tmp, WHAT, limit);
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(tmp)
        .ok()?;
    let (a, b) = (file.metadata().ok()?, held.metadata().ok()?);
    if (a.dev(), a.ino()) == (b.dev(), b.ino()) {
        return first.ok().map(|bytes| (file, bytes));
    }
    let bytes = crate::files::reread(&file, tmp, WHAT, limit).ok()?;
    Some((file, bytes))
}

/// Swaps the files named `a` and `b` in one step. `Ok(false)` when this system or filesystem cannot.
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    #[cfg(test)]
    if NO_EXCHANGE.with(|n| n.get()) {
        return Ok(false);
    }
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| {
            std::ffi::CString::new(p.as_os_str().as_bytes())
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
        };
        let (a, b) = (c(a)?, c(b)?);
        #[cfg(target_os = "linux")]
        // SAFETY: two valid NUL-terminated paths, relative to the working directory.
        let r = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        #[cfg(target_os = "macos")]
        // SAFETY: two valid NUL-terminated paths.
        let r = unsafe { libc::renamex_np(a.as_ptr(), b.as_ptr(), libc::RENAME_SWAP) };
        if r == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        let unsupported = [
            libc::EINVAL,
            libc::ENOSYS,
            libc::EOPNOTSUPP,
            libc::ENOTSUP,
            libc::EXDEV,
        ];
        match e.raw_os_error() {
            Some(code) if unsupported.contains(&code) => Ok(false),
            _ => Err(e),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        let _ = (a, b);
        Ok(false)
    }
}

/// How many backups of a file are kept: `LEAPFROG_KEEP_BACKUPS`, default [`KEEP_BACKUPS`].
pub fn keep_backups() -> usize {
    std::env::var("LEAPFROG_KEEP_BACKUPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(KEEP_BACKUPS)
}

/// The default number of backups kept per file.
pub const KEEP_BACKUPS: usize = 50;

/// Removes the oldest backups in `dir` of the file named `name`, beyond the `keep` newest. Backup
/// names are `<name>.<timestamp>`, and the timestamps sort.
pub fn prune_backups(dir: &Path, name: &str, keep: usize) {
    let prefix = format!("{name}.");
    let stamp_len = "20260101T000000.000000000Z".len();
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut same: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy()
                    .strip_prefix(&prefix)
                    .is_some_and(|ts| ts.len() == stamp_len && ts.ends_with('Z'))
            })
        })
        .collect();
    if same.len() <= keep {
        return;
    }
    same.sort();
    for old in &same[..same.len() - keep] {
        let _ = fs::remove_file(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::edit::Edit;
    use std::rc::Rc;

    #[test]
    fn timestamps_sort_and_look_like_dates() {
        let a = timestamp();
        assert_eq!(a.len(), "20260101T000000.000000000Z".len());
        assert!(a.starts_with("20"));
        assert!(timestamp() >= a);
    }

    const FILE: &str = "# Tickets\n\n## Batch 1: One\n\n### T-001: Moving\n- **Status:** todo\n\n### T-002: Staying\n- **Status:** todo\n\n## Batch 2: Two\n\n### T-003: Other\n- **Status:** todo\n\n## Log\n\n";

    /// What someone else does at a moment of a write.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Act {
        /// `echo line >> TICKETS.md`: open by name, append a line, close.
        Append,
        /// Opens the file by name for appending, and keeps it open...
        Open,
        /// ...then writes a line through that and closes it.
        WriteOpened,
        /// An editor's save by rename: the file as it is, plus a line.
        SaveAppended,
        /// An editor's save by rename that retitles T-002.
        SaveRetitled,
        /// Nothing (to wait for the next moment).
        Pause,
    }

    #[derive(Default)]
    struct Other {
        /// What is still to be done in this write, in order.
        script: Vec<(Moment, Act)>,
        opened: Option<fs::File>,
        lines: usize,
        titles: usize,
    }

    impl Other {
        fn act(&mut self, act: Act, target: &Path) {
            let line = format!("line {}\n", self.lines);
            let save = |text: String| {
                let tmp = target.with_extension("md.editor-tmp");
                fs::write(&tmp, text).unwrap();
                fs::rename(&tmp, target).unwrap();
            };
            match act {
                Act::Append => {
                    let mut f = fs::OpenOptions::new().append(true).open(target).unwrap();
                    f.write_all(line.as_bytes()).unwrap();
                }
                Act::Open => {
                    self.opened = Some(fs::OpenOptions::new().append(true).open(target).unwrap());
                    return;
                }
                Act::WriteOpened => {
                    let mut f = self.opened.take().unwrap();
                    f.write_all(line.as_bytes()).unwrap();
                }
                Act::SaveAppended => save(fs::read_to_string(target).unwrap() + &line),
                Act::SaveRetitled => {
                    self.titles += 1;
                    let text = fs::read_to_string(target).unwrap();
                    let i = text.find("### T-002: ").unwrap();
                    let end = i + text[i..].find('\n').unwrap();
                    let title = format!("### T-002: Staying {}", self.titles);
                    save(format!("{}{title}{}", &text[..i], &text[end..]));
                    return;
                }
                Act::Pause => return,
            }
            self.lines += 1;
        }
    }

    /// Moves T-001 back and forth `writes` times; at each write someone else follows `script`,
    /// in order: the first step when the write reaches its moment, and so on. Checks after each write
    /// that the move landed; returns the file's text, how many lines were appended, and how many
    /// times T-002 was retitled.
    fn race(script: &[(Moment, Act)], writes: usize) -> (String, usize, usize) {
        let dir = fast_tempdir();
        let path = dir.path().join("TICKETS.md");
        fs::write(&path, FILE).unwrap();
        let other = Rc::new(RefCell::new(Other::default()));
        let o = Rc::clone(&other);
        HOOK.with(|h| {
            *h.borrow_mut() = Some(Box::new(move |m: Moment, target: &Path| {
                let mut o = o.borrow_mut();
                while o.script.first().is_some_and(|(at, _)| *at == m) {
                    let (_, act) = o.script.remove(0);
                    o.act(act, target);
                }
            }))
        });
        let mut tf = TicketsFile::open(&path).unwrap();
        for w in 0..writes {
            other.borrow_mut().script = script.to_vec();
            let to = 2 - (w as u32 % 2);
            let edit = Edit::Move {
                ticket: "T-001".into(),
                to_batch: to,
                position: None,
            };
            let written = tf.apply(&[edit], WriteOptions::default());
            assert!(written.is_ok(), "write {w}: {written:?}");
            assert_eq!(
                other.borrow().script,
                [],
                "write {w} did not reach every step"
            );
            let text = fs::read_to_string(&path).unwrap();
            let doc = Document::parse(&text);
            let t = doc.find("T-001")[0];
            assert_eq!(doc.batches[doc.tickets[t].batch.unwrap()].number, to);
            // What the app holds is on disk (lines appended after the write may follow it).
            assert!(text.starts_with(tf.doc().text()), "write {w}");
        }
        HOOK.with(|h| h.borrow_mut().take());
        let text = fs::read_to_string(&path).unwrap();
        let o = other.borrow();
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        (text, o.lines, o.titles)
    }

    fn assert_all_lines(text: &str, lines: usize) {
        let missing: Vec<usize> = (0..lines)
            .filter(|i| text.lines().filter(|l| *l == format!("line {i}")).count() != 1)
            .collect();
        assert!(
            missing.is_empty(),
            "lost or doubled {} of {lines} lines: {missing:?}\n{text}",
            missing.len()
        );
    }

    /// Issue 10, item 10, step by step: whatever someone else does at each point of a write, every
    /// line they appended is in the file once, and every move landed.
    #[test]
    fn writes_by_others_at_every_step_of_a_write_are_kept() {
        use Act::*;
        use Moment::*;
        let scripts: &[&[(Moment, Act)]] = &[
            // In the window the old code had: after its last look, before the rename.
            &[(BeforeSwap, Append)],
            // Opened before the swap, written right after it.
            &[(BeforeSwap, Open), (AfterSwap, WriteOpened)],
            // Opened before the swap, written just before the write returns.
            &[(BeforeSwap, Open), (BeforeLastLook, WriteOpened)],
            // Appended to the file the write just put in place.
            &[(AfterSwap, Append)],
            // An editor saves by rename in the window.
            &[(BeforeSwap, SaveAppended)],
            // All of it, in several rounds.
            &[
                (BeforeSwap, Open),
                (BeforeSwap, Append),
                (AfterSwap, WriteOpened),
                (AfterSwap, Append),
                (BeforeSwap, SaveAppended),
                (BeforeSwap, Open),
                (BeforeLastLook, Append),
                (BeforeLastLook, WriteOpened),
            ],
        ];
        for script in scripts {
            let (text, lines, _) = race(script, 50);
            assert!(lines >= 50, "{script:?}");
            assert_all_lines(&text, lines);
        }
        // A line appended at every swap: after FULL_ROUNDS they are appended in place.
        let every: Vec<(Moment, Act)> = (0..=FULL_ROUNDS)
            .flat_map(|_| [(BeforeSwap, Append), (AfterSwap, Pause)])
            .collect();
        let (text, lines, _) = race(&every, 20);
        assert_eq!(lines, 20 * (FULL_ROUNDS + 1));
        assert_all_lines(&text, lines);
    }

    /// A temp dir on tmpfs where there is one (an fsync on a disk takes milliseconds).
    fn fast_tempdir() -> tempfile::TempDir {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            if let Ok(d) = tempfile::tempdir_in(shm) {
                return d;
            }
        }
        tempfile::tempdir().unwrap()
    }

    /// Where the filesystem cannot swap two files in one step, a plain rename: appends, and
    /// writes through a handle opened before it, are still kept (an editor's save by rename in the
    /// microseconds before the rename is not: see [`write_atomic`]).
    #[test]
    fn without_a_swap_appends_are_still_kept() {
        use Act::*;
        use Moment::*;
        NO_EXCHANGE.with(|n| n.set(true));
        let scripts: &[&[(Moment, Act)]] = &[
            &[(BeforeSwap, Append)],
            &[(BeforeSwap, Open), (AfterSwap, WriteOpened)],
            &[(BeforeSwap, Open), (BeforeLastLook, WriteOpened)],
            &[
                (BeforeSwap, Open),
                (BeforeSwap, Append),
                (AfterSwap, WriteOpened),
                (AfterSwap, Append),
                (BeforeSwap, Open),
                (BeforeLastLook, Append),
                (BeforeLastLook, WriteOpened),
            ],
        ];
        for script in scripts {
            let (text, lines, _) = race(script, 50);
            assert_all_lines(&text, lines);
        }
        NO_EXCHANGE.with(|n| n.set(false));
    }

    /// An editor rewrites the version a write just put in place while lines appended before are
    /// still being taken in: the editor's version stays, with those lines, and the write says so.
    #[test]
    fn a_rewrite_of_our_version_wins_and_keeps_the_appended_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("TICKETS.md");
        fs::write(&path, FILE).unwrap();
        let other = Rc::new(RefCell::new(Other {
            script: vec![
                (Moment::BeforeSwap, Act::Append),
                (Moment::AfterSwap, Act::SaveRetitled),
            ],
            ..Other::default()
        }));
        let o = Rc::clone(&other);
        HOOK.with(|h| {
            *h.borrow_mut() = Some(Box::new(move |m: Moment, target: &Path| {
                let mut o = o.borrow_mut();
                while o.script.first().is_some_and(|(at, _)| *at == m) {
                    let (_, act) = o.script.remove(0);
                    o.act(act, target);
                }
            }))
        });
        let mut tf = TicketsFile::open(&path).unwrap();
        let edit = Edit::Move {
            ticket: "T-001".into(),
            to_batch: 2,
            position: None,
        };
        let err = tf.apply(&[edit], WriteOptions::default()).unwrap_err();
        HOOK.with(|h| h.borrow_mut().take());
        assert!(matches!(err, SyncError::Raced(_)), "{err}");
        assert!(
            err.to_string()
                .contains("was rewritten while Leapfrog was writing it; that version was kept"),
            "{err}"
        );
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("### T-002: Staying 1\n"), "{text}");
        assert_all_lines(&text, 1);
    }

    /// An editor that saves another change in the window: the edits are applied to its version.
    #[test]
    fn an_editors_save_during_a_write_gets_the_edit_too() {
        let (text, _, titles) = race(&[(Moment::BeforeSwap, Act::SaveRetitled)], 50);
        assert_eq!(titles, 50);
        assert!(text.contains("### T-002: Staying 50\n"), "{text}");
    }
}
