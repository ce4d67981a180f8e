//! Fuzz ticket moves against the round trip: a move, then the move back.
//!
//! Input: three selector bytes, then the file. Byte 0 picks a ticket, byte 1 a target batch, byte 2
//! the place in it (low 6 bits: before that ticket; bit 7 set: at the end) and how the batch is named
//! (bit 6 set: `Edit::Move` by number, else `Edit::MoveToGroup` by `line:<n>`). With a ticket and two
//! batches in the file, the ticket is moved, then moved back to its old batch and place. The engine
//! may refuse either move with an error; it must never panic. Every applied move keeps:
//!
//! * the round trip: the result re-parses and serializes to the same bytes;
//! * every line: the non-blank lines are the same, up to the `#`s of headings it re-levels and the
//!   indentation of list items it re-indents;
//! * the outline: the moved ticket is in the target batch at the requested place, keeps its key
//!   (unless it shares its title key, `title:x#2`, those are numbered in file order), and every other
//!   ticket keeps its ID, title, kind and batch, in the same order. The documented exception
//!   (`tests/tickets_corpus.rs`): a batch that loses its last ticket stops being a batch, and its
//!   heading may then read as something else (a checklist item without sub-items is a ticket);
//!   then that heading is left out and every other ticket is checked. The engine refuses a move
//!   after which the file would read otherwise (`Document::apply`).
//!
//! The move back restores the outline, and the bytes when nothing stands in the way: both moves only
//! moved lines (a move adds a blank line next to a neighbour that is not blank, re-levels headings
//! and re-indents list items to the target's, `tickets::edit`), and the ticket sat directly against
//! the ticket it is put back before (or after, at the end of its batch): a place counts tickets, so
//! prose between two tickets cannot say which side of it the ticket was. "Only moved lines" means
//! exactly that: the ticket's lines are cut and pasted unchanged, and every other line stays, in
//! order. (Comparing the sorted lines, as this target first did, also lets through a move that takes
//! a blank line from one place and adds one elsewhere, which a ticket last in the file does: it
//! takes the blank line before it with it. Then two files with one moved state can need different
//! move backs: `### T-1: A\nbody\n### T-2` glued, with a blank line at the end of the file, and the
//! same with a blank line between T-1 and T-2 and none at the end, both give
//! `…### T-3: C\n\n### T-1: A\nbody\n` when T-1 moves to the end, so no move back can restore both;
//! fuzz/regressions/tickets_edit/restore-glued-heading, `two_files_can_give_one_moved_file` in
//! `tests/tickets_edits.rs`.)
//!
//! Inputs that once failed are in fuzz/regressions/tickets_edit (seeds.sh adds them). Run (from
//! src-tauri/engine; .ci/test does the same for 20 s):
//!   bash fuzz/seeds.sh tickets_edit /tmp/edit-seeds 2048
//!   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none --no-trace-compares tickets_edit /tmp/edit-seeds -- \
//!     -dict=fuzz/tickets.dict -max_len=2048 -max_total_time=20
#![no_main]

use std::ops::Range;

use leapfrog_engine::tickets::{Batch, Document, Edit};
use libfuzzer_sys::fuzz_target;

/// A batch as compared across edits (its number can change when an earlier batch stops being one).
type BatchLabel = (String, Option<String>, Option<u32>, String);
/// A ticket as compared across edits: the ID as written, title, kind.
type TicketLabel = (Option<String>, String, String);
/// Tickets per batch in order, batches without tickets left out, then the tickets outside batches.
type Outline = Vec<(Option<BatchLabel>, Vec<TicketLabel>)>;

fn batch_label(b: &Batch) -> BatchLabel {
    (
        format!("{:?}", b.kind),
        b.word.clone(),
        b.heading_number,
        b.title.clone(),
    )
}

fn ticket_label(doc: &Document, i: usize) -> TicketLabel {
    let t = &doc.tickets[i];
    (t.id.clone(), t.title.clone(), format!("{:?}", t.kind))
}

/// The outline of `doc`, without tickets whose first line reads `drop`; with `moving`, the one
/// expected after moving ticket `ti` to batch `to` at `at`.
fn outline(
    doc: &Document,
    moving: Option<(usize, usize, Option<usize>)>,
    drop: Option<&str>,
) -> Outline {
    let skip = |i: usize| {
        moving.is_some_and(|(ti, _, _)| ti == i)
            || drop.is_some_and(|l| doc.source.line(doc.tickets[i].lines.start) == l)
    };
    let mut out: Outline = Vec::new();
    for (bi, b) in doc.batches.iter().enumerate() {
        let mut ts: Vec<TicketLabel> = b
            .tickets
            .iter()
            .filter(|&&i| !skip(i))
            .map(|&i| ticket_label(doc, i))
            .collect();
        if let Some((ti, to, at)) = moving {
            if bi == to {
                let at = at.unwrap_or(usize::MAX).min(ts.len());
                ts.insert(at, ticket_label(doc, ti));
            }
        }
        if !ts.is_empty() {
            out.push((Some(batch_label(b)), ts));
        }
    }
    let loose = (0..doc.tickets.len())
        .filter(|&i| !skip(i) && doc.tickets[i].batch.is_none())
        .map(|i| ticket_label(doc, i))
        .collect();
    out.push((None, loose));
    out
}

/// The non-blank lines, sorted, with the indentation and the `#`s of headings left out (a move may
/// re-indent list items and re-level headings).
fn lines_modulo_levels(doc: &Document) -> Vec<String> {
    let mut v: Vec<String> = (0..doc.source.len())
        .map(|i| doc.source.line(i))
        .filter(|l| !l.trim().is_empty())
        // (A last line without an ending that ends in `\r` gets `\n` after it when a line is added.)
        .map(|l| {
            let l = l.trim_start_matches([' ', '\t']).trim_start_matches('#');
            l.strip_suffix('\r').unwrap_or(l).to_string()
        })
        .collect();
    v.sort();
    v
}

/// Lines `r` with their endings (a missing final ending counts as `\n`).
fn lines_exact(doc: &Document, r: Range<usize>) -> Vec<(&str, &str)> {
    r.map(|i| {
        let e = doc.source.ending(i);
        (doc.source.line(i), if e.is_empty() { "\n" } else { e })
    })
    .collect()
}

/// `new` is `old` with the lines of ticket `ti` cut and pasted unchanged as those of `new_ti`, every
/// other line kept in order: the move added, took, re-levelled or re-indented no line.
fn only_moved(old: &Document, ti: usize, new: &Document, new_ti: usize) -> bool {
    let (a, b) = (&old.tickets[ti].lines, &new.tickets[new_ti].lines);
    lines_exact(old, a.clone()) == lines_exact(new, b.clone())
        && rest(old, a.clone()) == rest(new, b.clone())
}

/// Every line but those in `r`.
fn rest(d: &Document, r: Range<usize>) -> Vec<(&str, &str)> {
    let mut v = lines_exact(d, 0..r.start);
    v.extend(lines_exact(d, r.end..d.source.len()));
    v
}

/// How a move names its target batch.
#[derive(Clone, Copy)]
enum By {
    /// `Edit::Move` by the batch's number (refused when two batches share it).
    Number,
    /// `Edit::MoveToGroup` by `line:<n>` of the batch's heading.
    Line,
}

/// Batch `b` of `doc` in `new`: the same occurrence of its label (its number may have changed).
/// `None` when fewer or more batches carry that label: one stopped (or started) being a batch.
fn same_batch(doc: &Document, b: usize, new: &Document) -> Option<usize> {
    let label = batch_label(&doc.batches[b]);
    let with = |d: &Document| -> Vec<usize> {
        (0..d.batches.len())
            .filter(|&x| batch_label(&d.batches[x]) == label)
            .collect()
    };
    let (before, after) = (with(doc), with(new));
    if before.len() != after.len() {
        return None;
    }
    let k = before.iter().position(|&x| x == b)?;
    Some(after[k])
}

/// A title key that another ticket's title shares (`title:fix-it`, `title:fix-it#2`): those are
/// numbered in file order, so a move that reorders them renumbers them.
fn shared_title_key(doc: &Document, key: &str) -> bool {
    let Some(rest) = key.strip_prefix("title:") else {
        return false;
    };
    let base = rest.split('#').next().unwrap_or(rest);
    doc.tickets.iter().any(|t| {
        t.key != key
            && t.key
                .strip_prefix("title:")
                .is_some_and(|k| k.split('#').next() == Some(base))
    })
}

/// Moves ticket `ti` to batch `batch` at `position` and checks what every applied move must keep.
/// Returns the new document and, when the outline says where, the moved ticket's index in it;
/// `None` when the engine refused the move.
fn move_and_check(
    doc: &Document,
    ti: usize,
    batch: usize,
    position: Option<usize>,
    by: By,
) -> Option<(Document, Option<usize>)> {
    let t = &doc.tickets[ti];
    let b = &doc.batches[batch];
    let line = format!("line:{}", b.heading_line + 1);
    let (edit, target) = match by {
        By::Number => (
            Edit::Move {
                ticket: t.key.clone(),
                to_batch: b.number,
                position,
            },
            doc.batch_exact(b.number),
        ),
        By::Line => (
            Edit::MoveToGroup {
                ticket: t.key.clone(),
                group: line.clone(),
                position,
            },
            doc.batch_named(&line),
        ),
    };
    let applied = doc.apply(&edit);
    if doc.find(&t.key).len() != 1 {
        assert!(applied.is_err(), "a move of an ambiguous id was applied");
        return None;
    }
    let Ok(target) = target else {
        assert!(applied.is_err(), "a move to an ambiguous batch was applied");
        return None;
    };
    let new = applied.ok()?.doc;
    let out = new.serialize();
    assert_eq!(out, new.text(), "serialize differs from the text");
    assert_eq!(
        Document::parse(&out).serialize(),
        out,
        "the moved file does not round-trip"
    );
    assert_eq!(
        lines_modulo_levels(&new),
        lines_modulo_levels(doc),
        "a move lost or changed lines"
    );
    let what = format!("{edit:?}");
    let dissolves = t
        .batch
        .is_some_and(|b| b != target && doc.batches[b].tickets == [ti]);
    let drop = t
        .batch
        .filter(|_| dissolves)
        .map(|b| doc.source.line(doc.batches[b].heading_line));
    let expect = outline(doc, Some((ti, target, position)), None);
    let got = outline(&new, None, drop);
    if dissolves {
        assert_eq!(
            got, expect,
            "{what}: other tickets changed or the ticket is not there (its batch stopped being one)"
        );
        return Some((new, None));
    }
    assert_eq!(
        new.tickets.len(),
        doc.tickets.len(),
        "{what}: the number of tickets changed"
    );
    assert_eq!(
        got, expect,
        "{what}: other tickets changed or the ticket is not there"
    );
    // Where it landed (the outline matched, so the target batch is found and has it there).
    let members = doc.batches[target].tickets.len() - usize::from(t.batch == Some(target));
    let at = position.unwrap_or(usize::MAX).min(members);
    let nb = same_batch(doc, target, &new).expect("the outline matched");
    let new_ti = new.batches[nb].tickets[at];
    if !shared_title_key(doc, &t.key) && !shared_title_key(&new, &new.tickets[new_ti].key) {
        assert_eq!(new.tickets[new_ti].key, t.key, "{what}: the key changed");
    }
    Some((new, Some(new_ti)))
}

fuzz_target!(|data: &[u8]| {
    let [pick_ticket, pick_batch, pick_pos, ref text @ ..] = *data else {
        return;
    };
    let Ok(doc) = Document::parse_bytes(text) else {
        return;
    };
    if doc.tickets.is_empty() || doc.batches.len() < 2 {
        return;
    }
    let ti = pick_ticket as usize % doc.tickets.len();
    let bi = pick_batch as usize % doc.batches.len();
    let position = (pick_pos & 0x80 == 0).then_some((pick_pos & 0x3f) as usize);
    let by = if pick_pos & 0x40 == 0 {
        By::Line
    } else {
        By::Number
    };
    let Some((moved, Some(moved_ti))) = move_and_check(&doc, ti, bi, position, by) else {
        return;
    };

    // Back: into its old batch (named by its heading's line) at its old place. A ticket outside
    // batches has no batch to go back to.
    let t = &doc.tickets[ti];
    let Some(from) = t.batch else {
        return;
    };
    let index = doc.batches[from]
        .tickets
        .iter()
        .position(|&i| i == ti)
        .expect("a ticket is in its batch's list");
    if moved.find(&moved.tickets[moved_ti].key).len() != 1 {
        return; // its key now names two tickets (checked when the move back is refused)
    }
    let Some(back_bi) = same_batch(&doc, from, &moved) else {
        return;
    };
    let Some((back, back_ti)) = move_and_check(&moved, moved_ti, back_bi, Some(index), By::Line)
    else {
        return;
    };
    // `line:<n>` names the first batch whose heading is on that line.
    let named = |d: &Document, b: usize| {
        d.batch_named(&format!("line:{}", d.batches[b].heading_line + 1)) == Ok(b)
    };
    if !named(&doc, from) || !named(&moved, back_bi) {
        return;
    }
    assert_eq!(
        outline(&back, None, None),
        outline(&doc, None, None),
        "moving {} back did not restore the outline",
        t.key
    );
    // The bytes, when nothing stands in the way (see the module docs).
    let members: Vec<usize> = doc.batches[from]
        .tickets
        .iter()
        .copied()
        .filter(|&i| i != ti)
        .collect();
    let adjacent = match members.get(index) {
        Some(&next) => t.span.end == doc.tickets[next].span.start,
        None => match members.iter().map(|&i| doc.tickets[i].span.end).max() {
            Some(end) => end == t.span.start,
            None => t.span.end == doc.batches[from].scope.end,
        },
    };
    let pure = |back_ti: usize| {
        only_moved(&doc, ti, &moved, moved_ti) && only_moved(&moved, moved_ti, &back, back_ti)
    };
    if adjacent && back_ti.is_some_and(pure) {
        assert_eq!(
            back.text(),
            doc.text(),
            "moving {} back did not restore the file",
            t.key
        );
    }
});
