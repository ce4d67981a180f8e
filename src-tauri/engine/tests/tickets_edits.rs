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
