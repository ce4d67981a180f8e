//! Two-way sync on real files in a temp dir: external edits are seen by the watcher, stale writes are
//! re-applied by ticket ID or refused, files without tickets are not written without consent, backups exist.

use std::fs;
use std::time::Duration;

use leapfrog_engine::model::TicketStatus;
use leapfrog_engine::tickets::sync::{
    SyncError, SyncEvent, TicketChange, TicketsFile, WriteOptions,
};
use leapfrog_engine::tickets::Edit;

const FILE: &str = "# Tickets\n\n## Batch 1: Foundation\n\n### T-001: Scaffold\n- **Status:** todo\n\n### T-002: CI\n- **Status:** todo\n";

fn setup(content: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("TICKETS.md");
    fs::write(&path, content).unwrap();
    (dir, path)
}

fn done(id: &str) -> Edit {
    Edit::SetStatus {
        ticket: id.into(),
        status: TicketStatus::Done,
    }
}

#[test]
fn a_write_keeps_a_backup_and_replaces_the_file() {
    let (dir, path) = setup(FILE);
    let mut tf = TicketsFile::open(&path).unwrap();
    let w = tf.apply(&[done("T-001")], WriteOptions::default()).unwrap();
    assert!(!w.reapplied);
    assert_eq!(fs::read_to_string(&w.backup).unwrap(), FILE);
    assert!(w.backup.starts_with(dir.path().join(".leapfrog/backups")));
    let now = fs::read_to_string(&path).unwrap();
    assert_eq!(
        now,
        FILE.replacen("- **Status:** todo", "- **Status:** done", 1)
    );
    // No temp file is left behind.
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn a_stale_write_is_reapplied_by_ticket_id_on_the_new_content() {
    let (_dir, path) = setup(FILE);
    let mut tf = TicketsFile::open(&path).unwrap();
    // An agent inserts a ticket before T-002 after the app read the file.
    let external = FILE.replace(
        "### T-002: CI",
        "### T-003: Lint\n- **Status:** doing\n\n### T-002: CI",
    );
    fs::write(&path, &external).unwrap();
    let w = tf.apply(&[done("T-002")], WriteOptions::default()).unwrap();
    assert!(w.reapplied);
    let now = fs::read_to_string(&path).unwrap();
    assert!(
        now.contains("### T-003: Lint\n- **Status:** doing\n"),
        "agent's edit kept:\n{now}"
    );
    assert!(
        now.ends_with("### T-002: CI\n- **Status:** done\n"),
        "{now}"
    );
    assert_eq!(fs::read_to_string(&w.backup).unwrap(), external);
}

#[test]
fn a_stale_write_whose_ticket_vanished_is_a_conflict_and_nothing_is_written() {
    let (dir, path) = setup(FILE);
    let mut tf = TicketsFile::open(&path).unwrap();
    let external = FILE.replace("### T-002: CI\n- **Status:** todo\n", "");
    fs::write(&path, &external).unwrap();
    let err = tf
        .apply(&[done("T-002")], WriteOptions::default())
        .unwrap_err();
    assert!(matches!(err, SyncError::Conflict(_)), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), external);
    assert!(!dir.path().join(".leapfrog").exists());
}

#[test]
fn files_without_tickets_and_unparsable_files_are_never_written() {
    let (_dir, path) = setup("# Notes\n\nJust prose.\n");
    let mut tf = TicketsFile::open(&path).unwrap();
    let add = Edit::AddTicket {
        batch: None,
        title: "First".into(),
    };
    let err = tf
        .apply(std::slice::from_ref(&add), WriteOptions::default())
        .unwrap_err();
    assert!(matches!(err, SyncError::NoTickets(_)), "{err}");
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "# Notes\n\nJust prose.\n"
    );
    let w = tf
        .apply(
            &[add],
            WriteOptions {
                allow_no_tickets: true,
            },
        )
        .unwrap();
    assert_eq!(w.created, ["T-001"]);
    assert!(fs::read_to_string(&path)
        .unwrap()
        .ends_with("Just prose.\n\n### T-001: First\n\n- **Status:** todo\n"));

    // A file that turned binary on disk is not overwritten.
    let (_dir2, path2) = setup(FILE);
    let mut tf2 = TicketsFile::open(&path2).unwrap();
    fs::write(&path2, b"\x00\x01binary").unwrap();
    let err = tf2
        .apply(&[done("T-001")], WriteOptions::default())
        .unwrap_err();
    assert!(matches!(err, SyncError::Parse(..)), "{err}");
    assert_eq!(fs::read(&path2).unwrap(), b"\x00\x01binary");
}

/// Writes like an editor or agent that saves atomically (temp file + rename), so the watcher never sees a
/// half-written file.
fn write_external(path: &std::path::Path, content: &str) {
    let tmp = path.with_extension("md.agent-tmp");
    fs::write(&tmp, content).unwrap();
    fs::rename(&tmp, path).unwrap();
}

fn next_change(rx: &std::sync::mpsc::Receiver<SyncEvent>) -> Vec<TicketChange> {
    loop {
        match rx
            .recv_timeout(Duration::from_secs(20))
            .expect("watcher reports the change")
        {
            SyncEvent::Changed { changes, .. } => return changes,
            SyncEvent::Error(e) => panic!("{e}"),
            SyncEvent::Removed => continue,
        }
    }
}

#[test]
fn the_watcher_sees_external_edits_merged_by_id_but_not_our_own_writes() {
    let (_dir, path) = setup(FILE);
    let mut tf = TicketsFile::open(&path).unwrap();
    let watch = tf.watch().unwrap();
    // An agent marks T-001 done and adds T-003 (written in place, like an editor would).
    let external = FILE.replacen("- **Status:** todo", "- **Status:** done", 1)
        + "\n### T-003: Deploy\n- **Status:** todo\n";
    write_external(&path, &external);
    let mut changes = next_change(&watch.events);
    changes.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(
        changes,
        vec![
            TicketChange::Added("T-003".into()),
            TicketChange::Changed("T-001".into())
        ]
    );
    // The app catches up, then writes; its own write is not reported back as an external change.
    let seen = tf.reload().unwrap();
    assert_eq!(seen.len(), 2);
    tf.apply(&[done("T-002")], WriteOptions::default()).unwrap();
    // A later external edit is reported, and only it.
    let later = fs::read_to_string(&path)
        .unwrap()
        .replace("### T-003: Deploy", "### T-003: Deploy to prod");
    write_external(&path, &later);
    let changes = next_change(&watch.events);
    assert_eq!(changes, vec![TicketChange::Changed("T-003".into())]);
}

#[test]
fn reading_the_file_costs_its_watcher_nothing() {
    let (_dir, path) = setup(FILE);
    let tf = TicketsFile::open(&path).unwrap();
    let watch = tf.watch().unwrap();
    write_external(&path, &FILE.replace("CI", "CI on every push"));
    next_change(&watch.events);
    let before = watch.reads();
    // Fifty readers (the board, agents, editors) open and read the file: the watcher's events
    // for them come before the next write's, in order, and none makes it read the file.
    for _ in 0..50 {
        fs::read(&path).unwrap();
    }
    write_external(
        &path,
        &FILE
            .replace("CI", "CI on every push")
            .replace("Scaffold", "Scaffold the app"),
    );
    assert_eq!(
        next_change(&watch.events),
        vec![TicketChange::Changed("T-001".into())]
    );
    let reads = watch.reads() - before;
    assert!(
        (1..=3).contains(&reads),
        "the watcher read the file {reads} times for one write and fifty reads"
    );
}

#[test]
fn a_device_or_fifo_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("TICKETS.md");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for path in [fifo.as_path(), std::path::Path::new("/dev/zero")] {
        let Err(err) = TicketsFile::open(path) else {
            panic!("{} was opened", path.display());
        };
        let err = err.to_string();
        assert!(
            err.contains("is not a regular file") && err.contains("not a TICKETS.md file"),
            "{err}"
        );
    }
}

/// Writes go to the file the user means, and nowhere else: through a symlink to its target, never
/// through a planted symlink at a temp name, never over a read-only file or one with other hard
/// links, with the file's own mode; a refused write leaves no backup and no temp file.
#[test]
fn writes_keep_links_modes_and_refusals_intact() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let edited = FILE.replacen("- **Status:** todo", "- **Status:** done", 1);
    let leftovers = |dir: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("leapfrog-tmp"))
            .collect();
        names.sort();
        names
    };
    let backups = |dir: &std::path::Path| -> usize {
        fs::read_dir(dir.join(".leapfrog/backups"))
            .map(|d| d.count())
            .unwrap_or(0)
    };

    // A symlinked TICKETS.md: written through, still a link.
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real-tickets.md");
    fs::write(&real, FILE).unwrap();
    let link = dir.path().join("TICKETS.md");
    symlink(&real, &link).unwrap();
    let mut tf = TicketsFile::open(&link).unwrap();
    tf.apply(&[done("T-001")], WriteOptions::default()).unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_to_string(&real).unwrap(), edited);

    // A symlink planted at the old, predictable temp name redirects nothing.
    let (dir, path) = setup(FILE);
    let victim = dir.path().join("victim.txt");
    fs::write(&victim, "untouched").unwrap();
    let planted = dir
        .path()
        .join(format!(".TICKETS.md.leapfrog-tmp-{}", std::process::id()));
    symlink(&victim, &planted).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let mut tf = TicketsFile::open(&path).unwrap();
    tf.apply(&[done("T-001")], WriteOptions::default()).unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "untouched");
    assert_eq!(fs::read_to_string(&path).unwrap(), edited);
    // The file keeps its mode.
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(
        leftovers(dir.path()),
        vec![planted.file_name().unwrap().to_string_lossy().into_owned()]
    );

    // A read-only file, and one with a second hard link: refused in words, unchanged, no litter.
    for hard_link in [false, true] {
        let (dir, path) = setup(FILE);
        let other = dir.path().join("other-name.md");
        if hard_link {
            fs::hard_link(&path, &other).unwrap();
        } else {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
        }
        let mut tf = TicketsFile::open(&path).unwrap();
        let Err(err) = tf.apply(&[done("T-001")], WriteOptions::default()) else {
            panic!("written (hard link: {hard_link})");
        };
        let err = err.to_string();
        let want = if hard_link {
            "hard links"
        } else {
            "is read-only"
        };
        assert!(
            err.contains(want) && err.contains("nothing was written"),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), FILE);
        assert_eq!(backups(dir.path()), 0, "a refused write left a backup");
        assert!(leftovers(dir.path()).is_empty());
    }
}

/// Backups are pruned on write: the newest ones are kept, other files' backups are left alone.
#[test]
fn old_backups_are_pruned_and_other_files_kept() {
    use leapfrog_engine::tickets::sync::prune_backups;
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join(".leapfrog/backups");
    fs::create_dir_all(&backups).unwrap();
    for i in 0..8 {
        let stamp = format!("2026010{}T000000.000000000Z", i + 1);
        fs::write(backups.join(format!("TICKETS.md.{stamp}")), "x").unwrap();
        fs::write(backups.join(format!("PLAN.md.{stamp}")), "x").unwrap();
    }
    fs::write(backups.join("TICKETS.md.notes"), "mine").unwrap();
    prune_backups(&backups, "TICKETS.md", 3);
    let mut left: Vec<String> = fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("TICKETS.md."))
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "TICKETS.md.20260106T000000.000000000Z",
            "TICKETS.md.20260107T000000.000000000Z",
            "TICKETS.md.20260108T000000.000000000Z",
            "TICKETS.md.notes",
        ]
    );
    let others = fs::read_dir(&backups)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("PLAN.md.")
        })
        .count();
    assert_eq!(others, 8);
}

/// A tiny xorshift, so the pauses vary without a dependency.
fn rng(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// A temp dir on tmpfs where there is one: the races are about the order of system calls, and an
/// fsync on a real disk would make each write take milliseconds.
fn fast_tempdir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

/// Another process appending to the file the way `echo … >> TICKETS.md` or an agent does: open
/// by name with O_APPEND, one write, close; a line `<tag> <n>` at a time, with a short random
/// pause, until told to stop. `appended` counts the lines written.
struct Appender {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    appended: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    thread: std::thread::JoinHandle<()>,
}

impl Appender {
    fn start(path: std::path::PathBuf, tag: &'static str, mean_pause_us: u64) -> Appender {
        use std::sync::atomic::Ordering::SeqCst;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let appended = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (s, n) = (stop.clone(), appended.clone());
        let thread = std::thread::spawn(move || {
            use std::io::Write;
            let mut next = rng(seed());
            let mut i = 0;
            while !s.load(SeqCst) {
                let line = format!("{tag} {i:05}\n");
                let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
                f.write_all(line.as_bytes()).unwrap();
                drop(f);
                i += 1;
                n.store(i, SeqCst);
                std::thread::sleep(Duration::from_micros(next() % (2 * mean_pause_us)));
            }
        });
        Appender {
            stop,
            appended,
            thread,
        }
    }

    fn count(&self) -> usize {
        self.appended.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stops it; returns how many lines it appended.
    fn finish(self) -> usize {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let count = self.appended.clone();
        self.thread.join().unwrap();
        count.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Which lines `<tag> <n>` for n < `count` are missing from `text`, and which appear twice.
fn missing_lines(text: &str, tag: &str, count: usize) -> (Vec<usize>, Vec<usize>) {
    let mut seen = vec![0usize; count];
    for l in text.lines() {
        if let Some(n) = l.strip_prefix(&format!("{tag} ")) {
            seen[n.trim().parse::<usize>().unwrap()] += 1;
        }
    }
    let missing = (0..count).filter(|&i| seen[i] == 0).collect();
    let twice = (0..count).filter(|&i| seen[i] > 1).collect();
    (missing, twice)
}

const RACE: &str = "# Tickets\n\n## Batch 1: One\n\n### T-001: Moving\n- **Status:** todo\n\n### T-002: Staying\n- **Status:** todo\n\n## Batch 2: Two\n\n### T-003: Other\n- **Status:** todo\n\n## Log\n\n";

/// The batch T-001 is in on disk.
fn batch_of_t1(path: &std::path::Path) -> Option<u32> {
    let doc = leapfrog_engine::tickets::Document::parse(&fs::read_to_string(path).unwrap());
    let t = doc.find("T-001");
    doc.tickets[*t.first()?]
        .batch
        .map(|b| doc.batches[b].number)
}

/// Issue 10, item 10: a Leapfrog writer moves a ticket back and forth while another process
/// appends lines to the same file (open, append, close, like `echo >>`). Thousands of writes race
/// an append, and no appended line is lost or doubled, and every move lands. (In short rounds on
/// fresh files, so each write stays cheap in a debug build.)
#[test]
fn appends_racing_writes_are_never_lost() {
    const ROUNDS: usize = 40;
    const MOVES: usize = 75;
    let dir = fast_tempdir();
    let (mut raced, mut appended, mut lost, mut refused_moves) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    let mut rounds = Vec::new();
    for round in 0..ROUNDS {
        let path = dir.path().join(format!("TICKETS-{round}.md"));
        fs::write(&path, RACE).unwrap();
        let appender = Appender::start(path.clone(), "line", 500);
        let mut tf = TicketsFile::open(&path).unwrap();
        let mut refused = Vec::new();
        for m in 0..MOVES {
            let to = 2 - (m as u32 % 2);
            let edit = Edit::Move {
                ticket: "T-001".into(),
                to_batch: to,
                position: None,
            };
            let before = appender.count();
            match tf.apply(&[edit], WriteOptions::default()) {
                Ok(_) => assert_eq!(batch_of_t1(&path), Some(to), "move {m} did not land"),
                Err(e) => {
                    refused.push(e.to_string());
                    tf.reload().unwrap();
                }
            }
            raced += usize::from(appender.count() != before);
        }
        let lines = appender.finish();
        appended += lines;
        refused_moves += refused.len();
        rounds.push((round, path, lines, refused));
    }
    // Lines written late into a replaced file (an appender descheduled between its open and its
    // write) are appended by the write's late-append watch: wait for it, then count.
    leapfrog_engine::tickets::sync::settle_late_appends();
    for (round, path, lines, refused) in rounds {
        let (missing, twice) = missing_lines(&fs::read_to_string(&path).unwrap(), "line", lines);
        lost += missing.len();
        if !missing.is_empty() || !twice.is_empty() || !refused.is_empty() {
            failures.push(format!(
                "round {round}: lost {missing:?} of {lines} lines, doubled {twice:?}, {} of {MOVES} moves refused ({:?})",
                refused.len(),
                refused.first()
            ));
        }
    }
    eprintln!(
        "{} writes, {raced} of them raced by an append; {appended} lines appended",
        ROUNDS * MOVES
    );
    assert!(
        failures.is_empty(),
        "lost {lost} of {appended} appended lines; {refused_moves} of {} moves refused\n{}",
        ROUNDS * MOVES,
        failures.join("\n")
    );
}

/// Two Leapfrog writers at once (two threads here, the orchestrator and the board in the app, or
/// two `leap` processes), each adding its own tickets: they take turns, and neither loses an edit
/// nor is refused one.
#[test]
fn two_leapfrog_writers_lose_neither_edit() {
    const EACH: usize = 60;
    let dir = fast_tempdir();
    let path = dir.path().join("TICKETS.md");
    fs::write(&path, RACE).unwrap();
    let writer = |who: &'static str, batch: u32| {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut tf = TicketsFile::open(&path).unwrap();
            let (mut added, mut refused) = (Vec::new(), Vec::new());
            for k in 0..EACH {
                let title = format!("{who} {k:03}");
                let add = Edit::AddTicket {
                    batch: Some(batch),
                    title: title.clone(),
                };
                match tf.apply(&[add], WriteOptions::default()) {
                    Ok(_) => added.push(title),
                    Err(e) => refused.push(e.to_string()),
                }
            }
            (added, refused)
        })
    };
    let (a, b) = (writer("from-a", 1), writer("from-b", 2));
    let (mut added, mut refused) = a.join().unwrap();
    let (b_added, b_refused) = b.join().unwrap();
    added.extend(b_added);
    refused.extend(b_refused);
    let doc = leapfrog_engine::tickets::Document::parse(&fs::read_to_string(&path).unwrap());
    // Added (the write said so) but not in the file, or in it twice.
    let lost: Vec<&String> = added
        .iter()
        .filter(|title| doc.tickets.iter().filter(|t| t.title == **title).count() != 1)
        .collect();
    assert!(
        lost.is_empty() && refused.is_empty(),
        "{} of {} added tickets lost after their write succeeded ({:?}); {} writes refused ({:?})",
        lost.len(),
        added.len(),
        lost.first(),
        refused.len(),
        refused.first()
    );
}

/// While one Leapfrog writer holds the lock, another waits for it, and then writes.
#[test]
fn a_leapfrog_writer_waits_for_the_lock() {
    use leapfrog_engine::tickets::sync::{lock_refusals, write_lock};
    let (_dir, path) = setup(FILE);
    let lock = write_lock(&path).unwrap();
    // Re-entrant in the thread that holds it.
    drop(write_lock(&path).unwrap());
    let p = path.clone();
    let other = std::thread::spawn(move || {
        let mut tf = TicketsFile::open(&p).unwrap();
        tf.apply(&[done("T-002")], WriteOptions::default())
            .map(|_| ())
    });
    // The other writer tried, found the lock taken, and wrote nothing.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while lock_refusals(&path) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the other writer never found the lock taken"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(!other.is_finished(), "the other writer did not wait");
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        FILE,
        "written under the lock"
    );
    drop(lock);
    other.join().unwrap().unwrap();
    assert!(fs::read_to_string(&path)
        .unwrap()
        .ends_with("### T-002: CI\n- **Status:** done\n"));
}
