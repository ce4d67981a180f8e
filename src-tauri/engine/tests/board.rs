//! engine::board: the view model, each operation as a line hunk on a real file, exact-bytes undo,
//! confirmation for busy batches, undo after external edits, the corpus, and a 1 000-ticket board.

use std::fs;
use std::path::{Path, PathBuf};

use leapfrog_engine::board::{
    sample_file, Board, BoardError, BoardOp, BoardView, ColumnKey, FieldValue, OpOutcome,
    PhaseBadge, PhaseState, UNDO_LIMIT,
};
use leapfrog_engine::model::{PhaseKind, TicketStatus};
use leapfrog_engine::tickets::Document;

const FILE: &str = "# Tickets

> Synced with Leapfrog.

## Batch 1: Foundation
Goal: a script.

### T-001: Greeting script
- **Status:** todo

Print a greeting.

### T-002: Usage text
- **Status:** todo
- **Depends on:** T-001

Print usage.

## Batch 2: Options

### T-003: Shout option
- **Status:** done
- **Owner:** codex

Capitals.

## Backlog

### T-004: Dark mode
- **Status:** todo
- **Depends on:** T-003, T-999
";

fn temp_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("TICKETS.md");
    fs::write(&path, text).unwrap();
    (dir, path)
}

/// The changed lines between two texts (a longest-common-subsequence line diff): `-N line` for a removed
/// line N of `before`, `+N line` for an added line N of `after` (1-based).
fn hunk(before: &str, after: &str) -> String {
    let a: Vec<&str> = before.split_inclusive('\n').collect();
    let b: Vec<&str> = after.split_inclusive('\n').collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    let show = |l: &str| l.trim_end_matches('\n').replace('\r', "\\r");
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+{} {}\n", j + 1, show(b[j])));
            j += 1;
        } else {
            out.push_str(&format!("-{} {}\n", i + 1, show(a[i])));
            i += 1;
        }
    }
    out
}

fn outline(view: &BoardView) -> String {
    view.columns
        .iter()
        .map(|c| {
            let key = match c.key {
                ColumnKey::Batch { number } => format!("{number}"),
                ColumnKey::Backlog => "backlog".into(),
            };
            let cards: Vec<String> = c.cards.iter().map(|k| k.id.clone()).collect();
            format!("{key}[{}]", cards.join(" "))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Applies `op` to `text` on disk; returns the hunk and the outline, then checks that undo restores the
/// exact bytes.
fn check(text: &str, op: BoardOp, expect_hunk: &str, expect_outline: &str) {
    let (_d, path) = temp_file(text);
    let mut board = Board::open(&path).unwrap();
    let out = board
        .apply(&op, false)
        .unwrap_or_else(|e| panic!("{op:?}: {e}"));
    let OpOutcome::Applied { view, .. } = out else {
        panic!("{op:?}: {out:?}")
    };
    let after = fs::read_to_string(&path).unwrap();
    assert_eq!(hunk(text, &after), expect_hunk, "{op:?}");
    assert_eq!(outline(&view), expect_outline, "{op:?}");
    assert_eq!(
        view,
        BoardView::build(&Document::parse(&after), &Default::default())
    );
    if after == text {
        assert_eq!(board.undo_depth(), 0, "a no-op is not undoable");
        return;
    }
    assert_eq!(board.undo_depth(), 1);
    board.undo().unwrap_or_else(|e| panic!("undo {op:?}: {e}"));
    assert_eq!(fs::read(&path).unwrap(), text.as_bytes(), "undo {op:?}");
    assert_eq!(board.undo_depth(), 0);
    assert!(matches!(board.undo(), Err(BoardError::NothingToUndo)));
}

fn mv(ticket: &str, to: ColumnKey, position: Option<usize>) -> BoardOp {
    BoardOp::MoveTicket {
        ticket: ticket.into(),
        to,
        position,
    }
}

fn batch(number: u32) -> ColumnKey {
    ColumnKey::Batch { number }
}

#[test]
fn view_of_a_canonical_file() {
    let view = BoardView::build(&Document::parse(FILE), &Default::default());
    assert_eq!(outline(&view), "1[T-001 T-002] 2[T-003] backlog[T-004]");
    let titles: Vec<(&str, Option<usize>)> = view
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.line))
        .collect();
    assert_eq!(
        titles,
        [
            ("Foundation", Some(5)),
            ("Options", Some(19)),
            ("Backlog", Some(27))
        ]
    );
    let cards: Vec<String> = view
        .columns
        .iter()
        .flat_map(|c| &c.cards)
        .map(|k| {
            let deps: Vec<String> = k
                .depends_on
                .iter()
                .map(|d| {
                    format!(
                        "{}={}",
                        d.id,
                        d.status.map(|s| s.as_str()).unwrap_or("missing")
                    )
                })
                .collect();
            format!(
                "{} {:?} {} owner={} lines={}-{} blocked={} deps=[{}]",
                k.id,
                k.title,
                k.status.as_str(),
                k.owner.as_deref().unwrap_or("-"),
                k.line_start,
                k.line_end,
                k.blocked_by_dependency,
                deps.join(",")
            )
        })
        .collect();
    assert_eq!(
        cards,
        [
            "T-001 \"Greeting script\" todo owner=- lines=8-11 blocked=false deps=[]",
            "T-002 \"Usage text\" todo owner=- lines=13-17 blocked=true deps=[T-001=todo]",
            "T-003 \"Shout option\" done owner=codex lines=21-25 blocked=false deps=[]",
            "T-004 \"Dark mode\" todo owner=- lines=29-31 blocked=false deps=[T-003=done,T-999=missing]",
        ]
    );
    assert!(view.columns.iter().all(|c| c.phases.is_empty()));
    // The JSON the UI reads: snake_case, tagged column keys.
    let json = serde_json::to_value(&view.columns[2]).unwrap();
    assert_eq!(json["key"], serde_json::json!({"kind": "backlog"}));
    assert_eq!(json["cards"][0]["blocked_by_dependency"], false);
    assert_eq!(
        serde_json::to_value(view.columns[0].key).unwrap(),
        serde_json::json!({"kind": "batch", "number": 1})
    );
}

#[test]
fn each_operation_changes_only_its_lines_and_undo_restores_the_bytes() {
    let cases: Vec<(BoardOp, &str, &str)> = vec![
        (
            mv("T-001", batch(2), None),
            "-8 ### T-001: Greeting script\n-9 - **Status:** todo\n-10 \n-11 Print a greeting.\n-12 \n+22 ### T-001: Greeting script\n+23 - **Status:** todo\n+24 \n+25 Print a greeting.\n+26 \n",
            "1[T-002] 2[T-003 T-001] backlog[T-004]",
        ),
        (
            mv("T-002", batch(1), Some(0)),
            "+8 ### T-002: Usage text\n-8 ### T-001: Greeting script\n+10 - **Depends on:** T-001\n+12 Print usage.\n-11 Print a greeting.\n+14 ### T-001: Greeting script\n-13 ### T-002: Usage text\n-15 - **Depends on:** T-001\n+17 Print a greeting.\n-17 Print usage.\n",
            "1[T-002 T-001] 2[T-003] backlog[T-004]",
        ),
        (mv("T-003", ColumnKey::Backlog, None), "+21 ## Backlog\n+22 \n+23 ### T-004: Dark mode\n+24 - **Status:** todo\n+25 - **Depends on:** T-003, T-999\n+26 \n-26 \n-27 ## Backlog\n-28 \n-29 ### T-004: Dark mode\n-30 - **Status:** todo\n-31 - **Depends on:** T-003, T-999\n", "1[T-001 T-002] 2[] backlog[T-004 T-003]"),
        (mv("T-004", ColumnKey::Backlog, Some(0)), "", "1[T-001 T-002] 2[T-003] backlog[T-004]"),
        (mv("T-004", batch(1), Some(1)), "+13 ### T-004: Dark mode\n+14 - **Status:** todo\n+15 - **Depends on:** T-003, T-999\n+16 \n-28 \n-29 ### T-004: Dark mode\n-30 - **Status:** todo\n-31 - **Depends on:** T-003, T-999\n", "1[T-001 T-004 T-002] 2[T-003] backlog[]"),
        (mv("T-002", ColumnKey::Backlog, Some(0)), "-13 ### T-002: Usage text\n-14 - **Status:** todo\n-15 - **Depends on:** T-001\n-16 \n-17 Print usage.\n-18 \n+23 ### T-002: Usage text\n+24 - **Status:** todo\n+25 - **Depends on:** T-001\n+26 \n+27 Print usage.\n+28 \n", "1[T-001] 2[T-003] backlog[T-002 T-004]"),
        (
            BoardOp::MoveBatch {
                batch: 2,
                position: 0,
            },
            // Renumbered: Options becomes batch 1, Foundation batch 2.
            "+5 ## Batch 1: Options\n+6 \n+7 ### T-003: Shout option\n+8 - **Status:** done\n+9 - **Owner:** codex\n+10 \n+11 Capitals.\n+12 \n+13 ## Batch 2: Foundation\n-5 ## Batch 1: Foundation\n-19 ## Batch 2: Options\n-20 \n-21 ### T-003: Shout option\n-22 - **Status:** done\n-23 - **Owner:** codex\n-24 \n-25 Capitals.\n-26 \n",
            "1[T-003] 2[T-001 T-002] backlog[T-004]",
        ),
        (
            BoardOp::AddTicket {
                batch: Some(2),
                title: "Repeat option".into(),
            },
            "+27 ### T-005: Repeat option\n+28 - **Status:** todo\n+29 \n",
            "1[T-001 T-002] 2[T-003 T-005] backlog[T-004]",
        ),
        (
            BoardOp::EditTicket {
                ticket: "T-002".into(),
                title: Some("Usage and help".into()),
                status: Some(TicketStatus::Doing),
                fields: vec![FieldValue {
                    field: "Owner".into(),
                    value: "claude".into(),
                }],
            },
            "+13 ### T-002: Usage and help\n+14 - **Status:** doing\n-13 ### T-002: Usage text\n-14 - **Status:** todo\n+16 - **Owner:** claude\n",
            "1[T-001 T-002] 2[T-003] backlog[T-004]",
        ),
        (
            BoardOp::DeleteTicket {
                ticket: "T-003".into(),
            },
            "-21 ### T-003: Shout option\n-22 - **Status:** done\n-23 - **Owner:** codex\n-24 \n-25 Capitals.\n-26 \n",
            "1[T-001 T-002] 2[] backlog[T-004]",
        ),
        (
            BoardOp::AddBatch {
                title: "Packaging".into(),
            },
            "+27 ## Batch 3: Packaging\n+28 \n",
            "1[T-001 T-002] 2[T-003] 3[] backlog[T-004]",
        ),
        (
            BoardOp::RenameBatch {
                batch: 1,
                title: "Basics".into(),
            },
            "+5 ## Batch 1: Basics\n-5 ## Batch 1: Foundation\n",
            "1[T-001 T-002] 2[T-003] backlog[T-004]",
        ),
        (
            BoardOp::DeleteBatch {
                batch: 2,
                with_tickets: true,
            },
            "-19 ## Batch 2: Options\n-20 \n-21 ### T-003: Shout option\n-22 - **Status:** done\n-23 - **Owner:** codex\n-24 \n-25 Capitals.\n-26 \n",
            "1[T-001 T-002] backlog[T-004]",
        ),
    ];
    for (op, h, o) in cases {
        check(FILE, op, h, o);
    }
}

/// CRLF line endings and no final newline: moves and edits keep them, undo restores the exact bytes.
#[test]
fn crlf_file_without_final_newline_round_trips_through_undo() {
    let text = format!("\u{feff}{}", FILE.replace('\n', "\r\n"));
    let text = text.trim_end_matches("\r\n");
    // (Moving the file's last ticket away makes the line before it last, with that line's ending.)
    let ops = [
        mv("T-001", batch(2), Some(0)),
        mv("T-001", ColumnKey::Backlog, None),
        BoardOp::MoveBatch {
            batch: 1,
            position: 1,
        },
        BoardOp::AddTicket {
            batch: None,
            title: "Later".into(),
        },
        BoardOp::AddBatch {
            title: "Packaging".into(),
        },
    ];
    for op in ops {
        let (_d, path) = temp_file(text);
        let mut board = Board::open(&path).unwrap();
        board.apply(&op, false).unwrap();
        let after = fs::read_to_string(&path).unwrap();
        assert_ne!(after, text, "{op:?} changed nothing");
        assert!(
            !after.replace("\r\n", "").contains('\n'),
            "{op:?} wrote a bare LF"
        );
        assert!(!after.ends_with('\n'), "{op:?} added a final newline");
        assert!(after.starts_with('\u{feff}'), "{op:?} lost the BOM");
        board.undo().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), text, "undo {op:?}");
    }
}

fn busy(kind: PhaseKind) -> Vec<PhaseBadge> {
    vec![
        PhaseBadge {
            kind: PhaseKind::Design,
            state: PhaseState::Passed,
        },
        PhaseBadge {
            kind,
            state: PhaseState::Running,
        },
    ]
}

#[test]
fn leaving_a_batch_being_built_or_reviewed_needs_confirmation() {
    // (phases of batch 1, op, needs confirmation: the reason)
    let cases: Vec<(Vec<PhaseBadge>, BoardOp, Option<&str>)> = vec![
        (
            busy(PhaseKind::Build),
            mv("T-001", batch(2), None),
            Some("batch 1 is being built; Move T-001 anyway?"),
        ),
        (
            busy(PhaseKind::Review),
            mv("T-002", ColumnKey::Backlog, None),
            Some("batch 1 is being reviewed; Move T-002 anyway?"),
        ),
        (
            busy(PhaseKind::Fix),
            BoardOp::DeleteTicket {
                ticket: "T-001".into(),
            },
            Some("batch 1 is being fixed; Delete T-001 anyway?"),
        ),
        // Reordering inside the busy batch, or a batch still being designed: no question.
        (busy(PhaseKind::Build), mv("T-002", batch(1), Some(0)), None),
        (busy(PhaseKind::Design), mv("T-001", batch(2), None), None),
        (Vec::new(), mv("T-001", batch(2), None), None),
        // Tickets of other batches are free to move.
        (busy(PhaseKind::Build), mv("T-003", batch(1), None), None),
    ];
    for (phases, op, want) in cases {
        let (_d, path) = temp_file(FILE);
        let mut board = Board::open(&path).unwrap();
        board.set_phases(1, phases.clone());
        assert_eq!(board.view().columns[0].phases, phases);
        let out = board.apply(&op, false).unwrap();
        match (want, out) {
            (Some(reason), OpOutcome::NeedsConfirmation { reason: got }) => {
                assert_eq!(got, reason);
                assert_eq!(fs::read_to_string(&path).unwrap(), FILE, "{op:?} wrote");
                let confirmed = board.apply(&op, true).unwrap();
                assert!(matches!(confirmed, OpOutcome::Applied { .. }), "{op:?}");
                assert_ne!(fs::read_to_string(&path).unwrap(), FILE);
            }
            (None, OpOutcome::Applied { .. }) => {}
            (want, got) => panic!("{op:?}: wanted {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn undo_after_an_external_edit_reapplies_inverse_edits_or_reports_a_conflict() {
    let external = |path: &Path| {
        let mut t = fs::read_to_string(path).unwrap();
        t.push_str("\nNotes added by an agent.\n");
        fs::write(path, t).unwrap();
    };
    // Status edit: taken back by ticket id, the agent's notes stay.
    let (_d, path) = temp_file(FILE);
    let mut board = Board::open(&path).unwrap();
    let op = BoardOp::EditTicket {
        ticket: "T-001".into(),
        title: None,
        status: Some(TicketStatus::Done),
        fields: vec![],
    };
    board.apply(&op, false).unwrap();
    external(&path);
    board.undo().unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        format!("{FILE}\nNotes added by an agent.\n")
    );
    // A move: moved back to its place.
    let (_d, path) = temp_file(FILE);
    let mut board = Board::open(&path).unwrap();
    board.apply(&mv("T-001", batch(2), None), false).unwrap();
    external(&path);
    board.undo().unwrap();
    assert_eq!(
        outline(&board.view()),
        "1[T-001 T-002] 2[T-003] backlog[T-004]"
    );
    // A new batch: deleted again by its number.
    let (_d, path) = temp_file(FILE);
    let mut board = Board::open(&path).unwrap();
    board
        .apply(
            &BoardOp::AddBatch {
                title: "Packaging".into(),
            },
            false,
        )
        .unwrap();
    external(&path);
    board.undo().unwrap();
    assert_eq!(
        outline(&board.view()),
        "1[T-001 T-002] 2[T-003] backlog[T-004]"
    );
    // A deletion has no inverse edit: a conflict in words, nothing written, still undoable.
    let (_d, path) = temp_file(FILE);
    let mut board = Board::open(&path).unwrap();
    board
        .apply(
            &BoardOp::DeleteTicket {
                ticket: "T-002".into(),
            },
            false,
        )
        .unwrap();
    external(&path);
    let before = fs::read(&path).unwrap();
    let err = board.undo().unwrap_err();
    assert!(
        matches!(&err, BoardError::Conflict(m) if m.contains("cannot undo deleting T-002")),
        "{err}"
    );
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(board.undo_depth(), 1);
}

#[test]
fn bad_operations_are_refused_in_words_and_write_nothing() {
    let cases: Vec<(BoardOp, &str)> = vec![
        (mv("T-404", batch(1), None), "no ticket T-404 in the file"),
        (mv("T-001", batch(9), None), "no batch 9 in the file"),
        (
            BoardOp::MoveBatch {
                batch: 7,
                position: 0,
            },
            "no batch 7 in the file",
        ),
        (
            BoardOp::DeleteBatch {
                batch: 1,
                with_tickets: false,
            },
            "cannot delete batch 1: it still holds 2 tickets (move them first, or delete them with it)",
        ),
    ];
    for (op, want) in cases {
        let (_d, path) = temp_file(FILE);
        let mut board = Board::open(&path).unwrap();
        let err = board.apply(&op, false).unwrap_err();
        assert_eq!(err.to_string(), want, "{op:?}");
        assert_eq!(fs::read_to_string(&path).unwrap(), FILE);
        assert_eq!(board.undo_depth(), 0);
    }
}

/// Every corpus file with two batches: the board builds, moving the first ticket of the first batch to the
/// second either works (and undo restores the exact bytes) or is refused in words without writing.
#[test]
fn corpus_files_move_and_undo_exactly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/tickets");
    let mut moved = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let bytes = fs::read(&p).unwrap();
        let Ok(doc) = Document::parse_bytes(&bytes) else {
            continue;
        };
        let view = BoardView::build(&doc, &Default::default());
        let cards: usize = view.columns.iter().map(|c| c.cards.len()).sum();
        assert_eq!(cards, doc.tickets.len(), "{}", p.display());
        let with_tickets: Vec<_> = doc
            .batches
            .iter()
            .filter(|b| !b.tickets.is_empty())
            .collect();
        if with_tickets.len() < 2 {
            continue;
        }
        let first = &doc.tickets[with_tickets[0].tickets[0]];
        if first.id.is_none() || doc.find(&first.display_id()).len() != 1 {
            continue;
        }
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("TICKETS.md");
        fs::write(&path, &bytes).unwrap();
        let mut board = Board::open(&path).unwrap();
        let op = mv(
            &first.display_id(),
            ColumnKey::Batch {
                number: with_tickets[1].number,
            },
            None,
        );
        match board.apply(&op, false) {
            Ok(_) => {
                if board.undo_depth() == 1 {
                    moved += 1;
                    board.undo().unwrap();
                }
                assert_eq!(fs::read(&path).unwrap(), bytes, "{}", p.display());
            }
            Err(BoardError::Refused(_)) => assert_eq!(fs::read(&path).unwrap(), bytes),
            Err(e) => panic!("{}: {e}", p.display()),
        }
    }
    assert!(moved >= 5, "only {moved} corpus files took a move");
}

#[test]
fn a_thousand_tickets_in_fifty_batches() {
    let text = sample_file(50, 20);
    let (_d, path) = temp_file(&text);
    let mut board = Board::open(&path).unwrap();
    let view = board.view();
    assert_eq!(view.columns.len(), 51);
    let per: Vec<usize> = view.columns.iter().map(|c| c.cards.len()).collect();
    assert_eq!(&per[..50], &[20; 50]);
    assert_eq!(per[50], 1, "the backlog ticket");
    // Batch 1 is done, so only the first ticket of batch 2 onwards waits on an unfinished dependency.
    let blocked = view.columns[1]
        .cards
        .iter()
        .filter(|c| c.blocked_by_dependency)
        .count();
    assert_eq!(blocked, 19);
    board
        .apply(&mv("T-1000", batch(1), Some(0)), false)
        .unwrap();
    assert_eq!(board.view().columns[0].cards[0].id, "T-1000");
    assert_eq!(board.view().columns[49].cards.len(), 19);
    board.undo().unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
}

/// An agent edits the file: the board's watcher reports it and a reload shows it; the board's own
/// writes are not reported back as external edits.
#[test]
fn external_edits_reach_the_board_through_its_watcher() {
    use leapfrog_engine::tickets::sync::SyncEvent;
    let (_d, path) = temp_file(FILE);
    let mut board = Board::open(&path).unwrap();
    let watch = board.watch().unwrap();
    board
        .apply(
            &BoardOp::EditTicket {
                ticket: "T-001".into(),
                title: None,
                status: Some(TicketStatus::Doing),
                fields: vec![],
            },
            false,
        )
        .unwrap();
    // Written the way editors save: a whole new file renamed over the old one.
    let agent = FILE.replace("- **Status:** done", "- **Status:** review");
    let tmp = path.with_extension("agent-tmp");
    fs::write(&tmp, &agent).unwrap();
    fs::rename(&tmp, &path).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match watch.events.recv_timeout(left) {
            Ok(SyncEvent::Changed { doc, .. }) => {
                // Our own write (T-001 doing) is never reported; the agent's content is.
                assert!(doc.text().contains("- **Status:** review"));
                if doc.text() == agent {
                    break;
                }
            }
            Ok(other) => panic!("{other:?}"),
            Err(e) => panic!("no event: {e}"),
        }
    }
    let view = board.reload().unwrap();
    assert_eq!(view.columns[1].cards[0].status, TicketStatus::Review);
    assert_eq!(view.columns[0].cards[0].status, TicketStatus::Todo);
}

#[test]
fn undo_keeps_the_last_hundred_operations() {
    let (_d, path) = temp_file(FILE);
    let mut board = Board::open(&path).unwrap();
    let statuses = [TicketStatus::Doing, TicketStatus::Review];
    for i in 0..UNDO_LIMIT + 5 {
        let op = BoardOp::EditTicket {
            ticket: "T-001".into(),
            title: None,
            status: Some(statuses[i % 2]),
            fields: vec![],
        };
        board.apply(&op, false).unwrap();
    }
    assert_eq!(board.undo_depth(), UNDO_LIMIT);
    for _ in 0..UNDO_LIMIT {
        board.undo().unwrap();
    }
    assert!(matches!(board.undo(), Err(BoardError::NothingToUndo)));
    // Back to the state after the first five operations (doing, review, doing, review, doing).
    assert_eq!(board.view().columns[0].cards[0].status, TicketStatus::Doing);
}

#[test]
fn moving_to_the_backlog_creates_it_when_the_file_has_none() {
    let text = &FILE[..FILE.find("## Backlog").unwrap()];
    check(
        text,
        mv("T-001", ColumnKey::Backlog, None),
        "-8 ### T-001: Greeting script\n-9 - **Status:** todo\n-10 \n-11 Print a greeting.\n-12 \n+22 ## Backlog\n+23 \n+24 ### T-001: Greeting script\n+25 - **Status:** todo\n+26 \n+27 Print a greeting.\n",
        "1[T-002] 2[T-003] backlog[T-001]",
    );
}

/// Reordering batches: `input` with batch `batch` moved to `position` must read `expect` (the whole
/// file), each ticket must stay in its batch (by title), and undo must restore the exact bytes.
fn check_reorder(input: &str, batch: u32, position: usize, expect: &str) {
    let (_d, path) = temp_file(input);
    let mut board = Board::open(&path).unwrap();
    let op = BoardOp::MoveBatch { batch, position };
    let out = board
        .apply(&op, false)
        .unwrap_or_else(|e| panic!("{op:?}: {e}"));
    assert!(matches!(out, OpOutcome::Applied { .. }), "{out:?}");
    let after = fs::read_to_string(&path).unwrap();
    assert_eq!(after, expect, "{input}");
    let membership = |text: &str| {
        let doc = Document::parse(text);
        let mut m: Vec<(String, String)> = doc
            .tickets
            .iter()
            .map(|t| {
                let b = t
                    .batch
                    .map(|b| doc.source.text[doc.batches[b].title_range.clone()].to_string());
                (t.display_id(), b.unwrap_or_default())
            })
            .collect();
        m.sort();
        m
    };
    assert_eq!(membership(&after), membership(input), "{input}");
    if after != input {
        board.undo().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), input, "undo");
    }
}

#[test]
fn reordering_batches_renumbers_their_headings() {
    // The canonical dialect: the moved batch takes the number of its new place, the others shift.
    check_reorder(
        "## Batch 1: A\n\n### T-001: a\n\n## Batch 2: B\n\n### T-002: b\n\n## Batch 3: C\n\n### T-003: c\n",
        3,
        0,
        "## Batch 1: C\n\n### T-003: c\n\n## Batch 2: A\n\n### T-001: a\n\n## Batch 3: B\n\n### T-002: b\n",
    );
    // Moving down; a title holding the batch's number keeps it.
    check_reorder(
        "## Batch 1: Part 1\n\n### T-001: a\n\n## Batch 2: Part 2\n\n### T-002: b\n\n## Batch 3: Part 3\n\n### T-003: c\n",
        1,
        2,
        "## Batch 1: Part 2\n\n### T-002: b\n\n## Batch 2: Part 3\n\n### T-003: c\n\n## Batch 3: Part 1\n\n### T-001: a\n",
    );
    // Other group words and separators, zero padding, CRLF.
    check_reorder(
        "## Phase 1 — Setup\r\n\r\n### T-1: a\r\n\r\n## Phase 2 — Ship\r\n\r\n### T-2: b\r\n",
        2,
        0,
        "## Phase 1 — Ship\r\n\r\n### T-2: b\r\n\r\n## Phase 2 — Setup\r\n\r\n### T-1: a\r\n",
    );
    check_reorder(
        "## Milestone 09: Nine\n\n### T-009: a\n\n## Milestone 10: Ten\n\n### T-010: b\n",
        10,
        0,
        "## Milestone 09: Ten\n\n### T-010: b\n\n## Milestone 10: Nine\n\n### T-009: a\n",
    );
    // Gaps in the numbering: each place keeps its number.
    check_reorder(
        "## Batch 1: A\n\n### T-001: a\n\n## Batch 2: B\n\n### T-002: b\n\n## Batch 5: E\n\n### T-005: e\n",
        5,
        0,
        "## Batch 1: E\n\n### T-005: e\n\n## Batch 2: A\n\n### T-001: a\n\n## Batch 5: B\n\n### T-002: b\n",
    );
    // A backlog after the batches stays put, and a batch's notes move with it.
    check_reorder(
        "# Tickets\n\n## Batch 1: A\nGoal: a.\n\n### T-001: a\n- **Status:** todo\n\n## Batch 2: B\nGoal: b.\n\n### T-002: b\n- **Status:** done\n\n## Backlog\n\n### T-009: later\n",
        2,
        0,
        "# Tickets\n\n## Batch 1: B\nGoal: b.\n\n### T-002: b\n- **Status:** done\n\n## Batch 2: A\nGoal: a.\n\n### T-001: a\n- **Status:** todo\n\n## Backlog\n\n### T-009: later\n",
    );
    // Headings without numbers: a plain move.
    check_reorder(
        "# Plan\n\n## Setup\n\n### T-1: a\n\n## Ship\n\n### T-2: b\n",
        2,
        0,
        "# Plan\n\n## Ship\n\n### T-2: b\n\n## Setup\n\n### T-1: a\n",
    );
}

/// Renumbering a batch whose phases have started (the pipeline knows batches by number) asks first.
#[test]
fn renumbering_a_started_batch_needs_confirmation() {
    let text = "## Batch 1: A\n\n### T-001: a\n\n## Batch 2: B\n\n### T-002: b\n\n## Batch 3: C\n\n### T-003: c\n";
    let (_d, path) = temp_file(text);
    let mut board = Board::open(&path).unwrap();
    board.set_phases(
        1,
        vec![PhaseBadge {
            kind: PhaseKind::Design,
            state: PhaseState::Passed,
        }],
    );
    // Batches 2 and 3 swap: batch 1 keeps its number, no question.
    let op = BoardOp::MoveBatch {
        batch: 3,
        position: 1,
    };
    assert!(matches!(
        board.apply(&op, false).unwrap(),
        OpOutcome::Applied { .. }
    ));
    board.undo().unwrap();
    let op = BoardOp::MoveBatch {
        batch: 3,
        position: 0,
    };
    match board.apply(&op, false).unwrap() {
        OpOutcome::NeedsConfirmation { reason } => assert_eq!(
            reason,
            "batch 1 has started and would become batch 2; move batch 3 anyway?"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
    assert!(matches!(
        board.apply(&op, true).unwrap(),
        OpOutcome::Applied { .. }
    ));
    assert!(fs::read_to_string(&path)
        .unwrap()
        .starts_with("## Batch 1: C\n"));
}

/// Every corpus file with two or more numbered batches: moving the last batch first keeps each
/// ticket in its batch, gives the batches the old numbers in the new order, changes no line other
/// than the moved ones and the headings, and undo restores the bytes.
#[test]
fn corpus_files_reorder_and_renumber() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/tickets");
    let mut renumbered = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let Ok(text) = fs::read_to_string(&p) else {
            continue;
        };
        let doc = Document::parse(&text);
        let numbered: Vec<&leapfrog_engine::tickets::Batch> = doc
            .batches
            .iter()
            .filter(|b| b.kind != leapfrog_engine::tickets::BatchKind::Checklist)
            .collect();
        if numbered.len() < 2 || numbered.iter().any(|b| b.heading_number.is_none()) {
            continue;
        }
        let numbers: Vec<u32> = numbered.iter().map(|b| b.number).collect();
        let last = *numbers.last().unwrap();
        let (_d, path) = temp_file(&text);
        let mut board = Board::open(&path).unwrap();
        let op = BoardOp::MoveBatch {
            batch: last,
            position: 0,
        };
        match board.apply(&op, true) {
            Ok(OpOutcome::Applied { .. }) => {}
            Ok(other) => panic!("{}: {other:?}", p.display()),
            Err(e) => {
                // Refused in words (nested batches), nothing written.
                assert!(!e.to_string().is_empty());
                assert_eq!(fs::read_to_string(&path).unwrap(), text, "{}", p.display());
                continue;
            }
        }
        let after = fs::read_to_string(&path).unwrap();
        let new = Document::parse(&after);
        let got: Vec<u32> = new
            .batches
            .iter()
            .filter(|b| b.kind != leapfrog_engine::tickets::BatchKind::Checklist)
            .map(|b| b.number)
            .collect();
        assert_eq!(got, numbers, "{}", p.display());
        let title_of = |d: &Document, id: &str| {
            let i = d.find(id)[0];
            d.tickets[i]
                .batch
                .map(|b| d.source.text[d.batches[b].title_range.clone()].to_string())
        };
        for t in &doc.tickets {
            let id = t.display_id();
            if doc.find(&id).len() == 1 {
                assert_eq!(
                    title_of(&new, &id),
                    title_of(&doc, &id),
                    "{}: {id}",
                    p.display()
                );
            }
        }
        // The same lines, in another order, with only heading lines rewritten.
        let mut a: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut b: Vec<&str> = after.lines().filter(|l| !l.trim().is_empty()).collect();
        let headings: Vec<&str> = numbered
            .iter()
            .map(|x| doc.source.line(x.heading_line))
            .collect();
        a.retain(|l| !headings.contains(l));
        b.retain(|l| {
            !new.batches
                .iter()
                .any(|x| new.source.line(x.heading_line) == *l)
        });
        a.sort();
        b.sort();
        assert_eq!(a, b, "{}", p.display());
        board.undo().unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            text,
            "undo {}",
            p.display()
        );
        renumbered += 1;
    }
    assert!(renumbered >= 3, "only {renumbered} corpus files renumbered");
}
