//! Property tests over generated TICKETS.md documents and arbitrary bytes: the round trip is byte-exact
//! under every mutation (CRLF, no final newline, BOM, unclosed fence), generated tickets are found, and a
//! status edit changes only lines of its own ticket. `arbitrary_bytes_never_panic_and_round_trip` is the
//! stable-toolchain companion of the cargo-fuzz target in `engine/fuzz`.

use leapfrog_engine::model::TicketStatus;
use leapfrog_engine::tickets::{Document, Edit};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Block {
    Ticket {
        title: String,
        status: Option<&'static str>,
        fence: bool,
        checks: Vec<bool>,
    },
    Prose(String),
    Table,
}

fn title() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9 ,()/éü✅-]{0,30}".prop_map(|s| s.trim_end().to_string() + "x")
}

fn block() -> impl Strategy<Value = Block> {
    prop_oneof![
        4 => (title(), prop::option::of(prop::sample::select(vec!["todo", "doing", "done", "blocked", "Done", "`DONE`", "review"])), any::<bool>(), prop::collection::vec(any::<bool>(), 0..3))
            .prop_map(|(title, status, fence, checks)| Block::Ticket { title, status, fence, checks }),
        1 => "[a-z][a-z #*:_-]{0,40}".prop_map(Block::Prose),
        1 => Just(Block::Table),
    ]
}

/// A document: `# Tickets`, then batches of blocks. Returns the text and the generated ticket IDs.
fn document() -> impl Strategy<Value = (String, Vec<String>)> {
    (
        prop::collection::vec(prop::collection::vec(block(), 0..5), 1..4),
        any::<bool>(),
    )
        .prop_map(|(batches, trailing_spaces)| {
            let mut s = String::from("# Tickets\n\n> Keep IDs stable.\n\n");
            let mut ids = Vec::new();
            let mut n = 0;
            for (bi, blocks) in batches.into_iter().enumerate() {
                s.push_str(&format!("## Phase {}: Part {bi}\n\n", bi + 1));
                for b in blocks {
                    match b {
                        Block::Ticket {
                            title,
                            status,
                            fence,
                            checks,
                            ..
                        } => {
                            n += 1;
                            let id = format!("T-{n:03}");
                            s.push_str(&format!("### {id}: {title}\n"));
                            if let Some(st) = status {
                                s.push_str(&format!(
                                    "- **Status:** {st}{}\n",
                                    if trailing_spaces { "  " } else { "" }
                                ));
                            }
                            s.push_str("- **Depends on:** —\n\nBody text.\n");
                            if fence {
                                s.push_str(
                                    "```sh\n# not a heading\n### T-999: not a ticket\n```\n",
                                );
                            }
                            for c in checks {
                                s.push_str(if c {
                                    "- [x] done thing\n"
                                } else {
                                    "- [ ] open thing\n"
                                });
                            }
                            s.push('\n');
                            ids.push(id);
                        }
                        Block::Prose(p) => s.push_str(&format!("{p}\n\n")),
                        Block::Table => s.push_str("| a | b |\n|---|---|\n| 1 | 2 |\n\n"),
                    }
                }
            }
            (s, ids)
        })
}

#[derive(Debug, Clone, Copy)]
struct Mutation {
    crlf: bool,
    no_final_newline: bool,
    bom: bool,
    unclosed_fence: bool,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(crlf, no_final_newline, bom, unclosed_fence)| Mutation {
            crlf,
            no_final_newline,
            bom,
            unclosed_fence,
        },
    )
}

fn mutate(text: &str, m: Mutation) -> String {
    let mut s = text.to_string();
    if m.unclosed_fence {
        s.push_str("```\n### T-998: inside an unclosed fence\n");
    }
    if m.crlf {
        s = s.replace('\n', "\r\n");
    }
    if m.no_final_newline {
        s = s.trim_end_matches(['\r', '\n']).to_string();
    }
    if m.bom {
        s.insert(0, '\u{feff}');
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn generated_documents_round_trip_and_tickets_are_found((text, ids) in document(), m in mutation()) {
        let text = mutate(&text, m);
        let d = Document::parse(&text);
        prop_assert_eq!(d.serialize(), text.clone());
        prop_assert_eq!(Document::parse(&d.serialize()).serialize(), text);
        let found: Vec<String> = d.tickets.iter().filter_map(|t| t.id.clone()).collect();
        prop_assert_eq!(found, ids);
        prop_assert_eq!(m.unclosed_fence, d.warnings.iter().any(|w| w.contains("never closed")));
    }

    #[test]
    fn status_edits_touch_only_their_ticket((text, ids) in document(), m in mutation(), pick in any::<prop::sample::Index>(), st in 0usize..6) {
        prop_assume!(!ids.is_empty());
        let text = mutate(&text, m);
        let d = Document::parse(&text);
        let id = &ids[pick.index(ids.len())];
        let t = &d.tickets[d.find(id)[0]];
        let status = [TicketStatus::Todo, TicketStatus::Doing, TicketStatus::Review, TicketStatus::Blocked, TicketStatus::Done, TicketStatus::Dropped][st];
        let a = d.apply(&Edit::SetStatus { ticket: id.clone(), status }).unwrap();
        let nd = a.doc;
        prop_assert_eq!(nd.tickets[nd.find(id)[0]].status, status);
        // Everything before the ticket and after it is unchanged, byte for byte.
        let old_lines: Vec<&str> = text.split_inclusive('\n').collect();
        let new_text = nd.serialize();
        let new_lines: Vec<&str> = new_text.split_inclusive('\n').collect();
        prop_assert_eq!(&old_lines[..t.span.start], &new_lines[..t.span.start]);
        let tail = old_lines.len() - t.span.end;
        let strip = |l: &str| l.trim_end_matches(['\r', '\n']).to_string();
        let a: Vec<String> = old_lines[t.span.end..].iter().map(|l| strip(l)).collect();
        let b: Vec<String> = new_lines[new_lines.len() - tail..].iter().map(|l| strip(l)).collect();
        prop_assert_eq!(a, b);
        prop_assert!(new_lines.len() <= old_lines.len() + 1);
        // CRLF files get CRLF lines, LF files LF lines.
        if m.crlf {
            prop_assert!(!new_text.replace("\r\n", "").contains('\n'));
        } else {
            prop_assert!(!new_text.contains('\r'));
        }
        prop_assert_eq!(m.no_final_newline, !new_text.ends_with('\n'));
        prop_assert_eq!(m.bom, new_text.starts_with('\u{feff}'));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        if let Ok(d) = Document::parse_bytes(&bytes) {
            let out = d.serialize();
            prop_assert_eq!(out.as_bytes(), bytes.as_slice());
        }
    }

    #[test]
    fn markdown_like_noise_never_panics_and_round_trips(s in "(#{0,7} ?|[-*] |\\d\\. |\\| |```|~~~|\\[[ x]?\\] |\\*\\*|T-0?\\d{1,3}[:.]? |Phase \\d |✅ |⬜️|DONE |\r?\n| {1,4}|[a-zé]{1,5}){0,60}") {
        let d = Document::parse(&s);
        prop_assert_eq!(d.serialize(), s.clone());
        for t in d.tickets.iter().take(3) {
            for status in [TicketStatus::Done, TicketStatus::Todo] {
                if let Ok(a) = d.apply(&Edit::SetStatus { ticket: t.key.clone(), status }) {
                    let out = a.doc.serialize();
                    prop_assert_eq!(Document::parse(&out).serialize(), out);
                }
            }
            let _ = d.apply(&Edit::DeleteTicket { ticket: t.key.clone() });
            let _ = d.apply(&Edit::SetTitle { ticket: t.key.clone(), title: "x".into() });
        }
        let _ = d.apply(&Edit::AddTicket { batch: d.batches.first().map(|b| b.number), title: "new".into() });
        let _ = d.apply(&Edit::AddBatch { title: "new".into() });
        if let (Some(t), Some(b)) = (d.tickets.first(), d.batches.last()) {
            for position in [None, Some(0)] {
                if let Ok(a) = d.apply(&Edit::Move { ticket: t.key.clone(), to_batch: b.number, position }) {
                    let out = a.doc.serialize();
                    prop_assert_eq!(Document::parse(&out).serialize(), out);
                }
            }
            let _ = d.apply(&Edit::DeleteBatch { batch: b.number, with_tickets: true });
            let _ = d.apply(&Edit::RenameBatch { batch: b.number, title: "x".into() });
        }
    }
}
