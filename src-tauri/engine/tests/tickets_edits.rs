//! Edits that never silently miss (issue 12, part 2): tickets without an ID keep a key made from
//! their title, batches that share a number are named, a move that changes nothing says so, and
//! a move and the move back give the original bytes.

use leapfrog_engine::tickets::{Document, Edit, EditError};

const LISTS: &str = "# Tasks\n\n## Batch 1: One\n\n- [ ] Write the parser\n- [ ] Add tests\n\n## Batch 2: Two\n\n- [ ] Ship it\n\n## Batch 2: Two again\n\n- [ ] Another\n";

fn apply(text: &str, e: Edit) -> Result<String, EditError> {
    Document::parse(text).apply(&e).map(|a| a.doc.serialize())
}

fn mv(ticket: &str, to: u32) -> Edit {
    Edit::Move {
        ticket: ticket.into(),
        to_batch: to,
        position: None,
    }
}

fn mv_to(ticket: &str, group: &str, position: Option<usize>) -> Edit {
    Edit::MoveToGroup {
        ticket: ticket.into(),
        group: group.into(),
        position,
    }
}

#[test]
fn tickets_without_an_id_keep_their_title_key_across_moves_and_edits_elsewhere() {
    let d = Document::parse(LISTS);
    let keys: Vec<&str> = d.tickets.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "title:write-the-parser",
            "title:add-tests",
            "title:ship-it",
            "title:another"
        ]
    );
    // Lines added above and the ticket moved: the same key still finds it.
    let text = LISTS.replace("# Tasks\n", "# Tasks\n\nSome notes.\nMore notes.\n");
    let moved = apply(&text, mv_to("title:add-tests", "Two again", None)).unwrap();
    let d = Document::parse(&moved);
    let t = &d.tickets[d.find("title:add-tests")[0]];
    assert_eq!(
        (t.title.as_str(), d.batches[t.batch.unwrap()].title.as_str()),
        ("Add tests", "Batch 2: Two again")
    );
    // And so does its title.
    assert_eq!(d.find("add TESTS"), d.find("title:add-tests"));
    // Two same titles: the second is `#2`, in file order.
    let twice = "## Batch 1\n\n- [ ] Fix it\n- [ ] Fix it\n";
    let keys: Vec<String> = Document::parse(twice)
        .tickets
        .iter()
        .map(|t| t.key.clone())
        .collect();
    assert_eq!(keys, ["title:fix-it", "title:fix-it#2"]);
}

#[test]
fn a_move_by_a_number_two_batches_share_is_refused_naming_both() {
    let e = apply(LISTS, mv("Add tests", 2)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "2 batches are numbered 2: \"Batch 2: Two\" (line 8) and \"Batch 2: Two again\" (line 12); \
         name the one you mean by its title or its heading's line (`line:N`)"
    );
    // By title, by name, by heading line: each lands in the batch it names.
    for group in ["Batch 2: Two again", "two again", "line:12"] {
        let out = apply(LISTS, mv_to("Add tests", group, None)).unwrap();
        assert!(
            out.ends_with("- [ ] Another\n- [ ] Add tests\n"),
            "{group}: {out}"
        );
    }
    assert!(matches!(
        apply(LISTS, mv_to("Add tests", "Three", None)),
        Err(EditError::NoBatchNamed(_))
    ));
    // Renaming or deleting by an ambiguous number is refused the same way.
    let e = apply(
        LISTS,
        Edit::RenameBatch {
            batch: 2,
            title: "x".into(),
        },
    )
    .unwrap_err();
    assert!(matches!(e, EditError::AmbiguousBatch(_)), "{e}");
}

#[test]
fn a_move_that_changes_nothing_is_an_error_with_its_reason() {
    for e in [
        mv("Add tests", 1),
        mv_to("Write the parser", "One", Some(0)),
        mv_to("Another", "line:12", None),
    ] {
        let err = apply(LISTS, e.clone()).unwrap_err();
        assert!(matches!(err, EditError::Unchanged(_)), "{e:?}: {err}");
        assert!(err.to_string().contains("is already in batch"), "{err}");
    }
    // A real reorder inside the batch is a change.
    let out = apply(LISTS, mv_to("Add tests", "One", Some(0))).unwrap();
    assert!(
        out.contains("- [ ] Add tests\n- [ ] Write the parser\n"),
        "{out}"
    );
}

#[test]
fn a_move_and_the_move_back_restore_the_bytes() {
    // List items stay glued (no blank line appears between them), headings keep their blank.
    let there = apply(LISTS, mv_to("Add tests", "Two again", None)).unwrap();
    assert!(
        there.contains("- [ ] Write the parser\n\n## Batch 2: Two\n"),
        "{there}"
    );
    let back = apply(&there, mv_to("Add tests", "One", Some(1))).unwrap();
    assert_eq!(back, LISTS);
    let headings = "# T\n\n## Batch 1\n\n### T-001: A\nBody a.\n\n### T-002: B\nBody b.\n\n## Batch 2\n\n### T-003: C\nBody c.\n";
    let there = apply(headings, mv("T-002", 2)).unwrap();
    let back = apply(
        &there,
        Edit::Move {
            ticket: "T-002".into(),
            to_batch: 1,
            position: Some(1),
        },
    )
    .unwrap();
    assert_eq!(back, headings);
}

/// The batches of a file, one line each (`batch 2 «Frontend»: T-2 «Board», T-9 «Loose ticket»`),
/// then the tickets outside batches.
fn outline(d: &Document) -> String {
    let t = |i: usize| format!("{} «{}»", d.tickets[i].display_id(), d.tickets[i].title);
    let mut s = String::new();
    for b in &d.batches {
        let ts: Vec<String> = b.tickets.iter().map(|&i| t(i)).collect();
        s.push_str(&format!(
            "batch {} «{}»: {}\n",
            b.number,
            b.title,
            ts.join(", ")
        ));
    }
    let loose: Vec<String> = (0..d.tickets.len())
        .filter(|&i| d.tickets[i].batch.is_none())
        .map(t)
        .collect();
    if !loose.is_empty() {
        s.push_str(&format!("no batch: {}\n", loose.join(", ")));
    }
    s
}

/// Applies a move and compares: `expect` is the moved file's outline, or `refused: <words of the
/// error>`. A move that is applied must round-trip and keep every line (up to heading levels and
/// indentation, which a move adapts to the target).
fn check_move(input: &str, e: Edit, expect: &str) -> String {
    let d = Document::parse(input);
    assert_eq!(d.serialize(), input);
    match (d.apply(&e), expect.strip_prefix("refused: ")) {
        (Err(err), Some(words)) => {
            assert!(err.to_string().contains(words), "{e:?}: {err}");
            String::new()
        }
        (Err(err), None) => panic!("{e:?} refused: {err}"),
        (Ok(a), Some(_)) => panic!("{e:?} applied:\n{}", a.doc.text()),
        (Ok(a), None) => {
            let out = a.doc.serialize();
            assert_eq!(Document::parse(&out).serialize(), out);
            let lines = |s: &str| {
                let mut v: Vec<String> = s
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| l.trim_start_matches([' ', '\t', '#']).to_string())
                    .collect();
                v.sort();
                v
            };
            assert_eq!(lines(&out), lines(input), "{e:?}: lines changed\n{out}");
            let got = outline(&a.doc);
            assert_eq!(got.trim(), expect.trim(), "{e:?}:\n{out}");
            out
        }
    }
}

/// Moves the edit fuzzer (fuzz/fuzz_targets/tickets_edit.rs) found wrong, one case per class; the
/// inputs are in fuzz/regressions/tickets_edit.
#[test]
fn moves_the_fuzzer_found_wrong_are_applied_as_asked_or_refused_in_words() {
    // Two list items with one ID (duplicate-id): the second was read as a reference to the first,
    // so moving the first past it swapped them silently. Both are tickets; a move by that ID is
    // refused, naming both lines.
    check_move(
        "## One\n\n- T-1 Parser\n- T-1 Parser, see above\n\n## Two\n\n- T-2 Board\n",
        mv_to("T-1", "Two", None),
        "refused: ticket id T-1 (lines 3 and 4) is used by 2 tickets",
    );
    // A repeat under a status section stays a reference (tests/corpus/unseen/u09_…); moved past
    // it, the ticket would leave the reference first, read as the ticket: refused.
    let completed =
        "## One\n\n- T-1 Parser\n\n## Completed\n\n- T-1 Parser\n\n## Two\n\n- T-2 Board\n";
    check(
        completed,
        "batch 1 «One»: T-1 «Parser»\nbatch 2 «Two»: T-2 «Board»",
    );
    check_move(
        completed,
        mv_to("T-1", "Two", Some(0)),
        "refused: T-1 (\"Parser\") would read as a ticket in no batch",
    );

    // Two rows with one ID in one table (duplicate-table-row): the second was read as a view of
    // the first. Both are tickets, and a move by that ID is refused.
    check_move(
        "## EPIC-1: Infra\n\n| ID | Ticket | Depends |\n|---|---|---|\n| INF-1 | Docker | — |\n| INF-1 | CI | INF-1 |\n\n## EPIC-2: API\n\n| ID | Ticket | Depends |\n|---|---|---|\n| API-1 | Auth | INF-1 |\n",
        mv_to("INF-1", "EPIC-2: API", None),
        "refused: ticket id INF-1 (lines 5 and 6) is used by 2 tickets",
    );

    // A move into an empty batch that holds another batch (empty-batch-holding-a-batch) went to
    // the end of its scope, into the inner batch: it goes before the inner batch's heading.
    check_move(
        "# Phase 1: Infra\n\n### T-001: Scaffold\n\n### T-080: Cleanup\n\n# Phase 71: Later\n\n## Epic 2: API\n\n### T-081: Endpoint\n",
        mv_to("T-080", "Phase 71: Later", None),
        "batch 1 «Phase 1: Infra»: T-001 «Scaffold»\nbatch 71 «Phase 71: Later»: T-080 «Cleanup»\nbatch 2 «Epic 2: API»: T-081 «Endpoint»",
    );

    // A first-level ticket heading runs over a batch heading below it (batch-inside-ticket): moved,
    // it took that batch along. Refused, naming the batch.
    check_move(
        "## Phase 4: UI\n\n- T-5 Tooltip\n\n## Phase 5: Tests\n\n# T-7: Browser tests\n\n## Phase 5: Tests\n\nMore.\n",
        mv_to("T-7", "line:9", Some(0)),
        "refused: the heading of batch 5 (Phase 5: Tests, line 9) is inside it",
    );

    // A top-level checklist item moved into a group (checklist-indent) stayed top-level, outside
    // the group: list items take the indentation of the target's items, nested lines with them.
    let out = check_move(
        "# Tasks\n\n- [ ] Backend\n  - [ ] Parser\n- [ ] Frontend\n  - [ ] Board\n\n- [ ] Loose item\n  notes\n",
        mv_to("Loose item", "Frontend", None),
        "batch 1 «Backend»: title:parser «Parser»\nbatch 2 «Frontend»: title:board «Board», title:loose-item «Loose item»",
    );
    assert!(
        out.ends_with("  - [ ] Board\n  - [ ] Loose item\n    notes\n"),
        "{out}"
    );

    // The only sub-item of an item that is not a group (checklist-parent): without it the parent
    // reads as a ticket. Refused, naming the parent.
    check_move(
        "- [ ] Backend\n  - [ ] API\n    - [ ] Parser\n  - [ ] Docs\n    - [ ] Guide\n- [ ] Frontend\n  - [ ] Board\n    - [ ] Card\n",
        mv_to("Guide", "Frontend", None),
        "refused: it is the only sub-item of \"- [ ] Docs\" (line 4)",
    );

    // A table row put in a table with other columns (table-columns) no longer read as a ticket.
    check_move(
        "## By Phase\n\n| Phase | Tickets |\n|-------|---------|\n| 0 — JSON | T-001, T-002 |\n| 3 — Network | T-012 |\n\n## Independent\n\n| Ticket | Description |\n|--------|-------------|\n| T-004 | BigInt time utilities |\n| T-005 | PRNG |\n",
        mv_to("T-004", "By Phase", None),
        "refused: its table there has other columns (| Phase | Tickets | on line 3",
    );

    // The file's title (first-h1): the first heading was taken for it, so moving a ticket heading
    // away from the top made `# Backend` the title and its ticket lost its batch. The title is the
    // first heading that is not a ticket, and only when no other first-level heading is a section.
    check_move(
        "# T-9: Loose ticket\n\n# Backend\n\n## T-1: Parser\n\n# Frontend\n\n## T-2: Board\n",
        mv_to("T-9", "Frontend", None),
        "batch 1 «Backend»: T-1 «Parser»\nbatch 2 «Frontend»: T-2 «Board», T-9 «Loose ticket»",
    );
    check(
        "# Tasks\n\n## T-1: Parser\n\n# Notes\n\nText.\n",
        "no batch: T-1 «Parser»",
    );

    // A ticket heading at its batch's own level (ticket-at-batch-level): `# Frontend` is a batch
    // because T-2 sits below it; with T-2 moved after `# T-3` (at any level) the batch and T-3's
    // place in it are gone. Any move after which the file reads differently is refused, naming
    // what would change.
    check_move(
        "## Backend\n\n### T-1: Parser\n\n# Frontend\n\n## T-2: Board\n# T-3: Card\n",
        mv_to("T-2", "Frontend", None),
        "refused: T-3 (\"Card\") would no longer read as a ticket in batch \"Frontend\"",
    );
    check_move(
        "## Backend\n\n### T-1: Parser\n\n# Frontend\n\n## T-2: Board\n# T-3: Card\n",
        mv_to("T-1", "Frontend", None),
        "batch 1 «Frontend»: T-2 «Board», T-3 «Card», T-1 «Parser»",
    );
}

fn check(input: &str, expect: &str) {
    let got = outline(&Document::parse(input));
    assert_eq!(got.trim(), expect.trim(), "\n{got}");
}

/// Why the move back restores the bytes only when both moves only moved lines (the fuzz target's
/// docs): a glued ticket and a file ending in a blank line (restore-glued-heading), and the same
/// ticket followed by a blank line in a file that does not end in one, give one file when the ticket
/// moves to the end; one move back cannot restore both.
#[test]
fn two_files_can_give_one_moved_file() {
    let glued = "## Phase 1\n\n### T-1: A\nbody\n### T-2: B\nbody\n\n## Phase 2\n\n### T-3: C\n\n";
    let spaced = "## Phase 1\n\n### T-1: A\nbody\n\n### T-2: B\nbody\n\n## Phase 2\n\n### T-3: C\n";
    let moved = apply(glued, mv("T-1", 2)).unwrap();
    assert_eq!(moved, apply(spaced, mv("T-1", 2)).unwrap());
    assert_eq!(
        apply(&moved, mv_to("T-1", "Phase 1", Some(0))).unwrap(),
        spaced
    );
}
