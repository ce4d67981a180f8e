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
