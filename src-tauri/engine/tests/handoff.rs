//! The handoff parser, data-driven: every file in `tests/handoff/` (raw terminal captures and markdown) is
//! parsed whole and in chunks of many sizes, and must give its `.expect` file. `UPDATE_EXPECT=1` rewrites the
//! `.expect` files (review the diff before committing).

use std::path::{Path, PathBuf};

use leapfrog_engine::handoff::{
    parse, parse_tickets, verify_result, visible_lines, HandoffScanner,
};
use leapfrog_engine::model::{Handoff, HandoffKind, VerifyResult};

/// One block per message, in a form that is easy to review.
fn render(messages: &[Handoff]) -> String {
    let mut out = String::new();
    for m in messages {
        let kind = match m.kind {
            HandoffKind::Handoff => "HANDOFF",
            HandoffKind::Complete => "COMPLETE",
        };
        out.push_str(&format!("{kind} batch {}\n", m.batch));
        let mut field = |name: &str, value: String| {
            if !value.is_empty() {
                out.push_str(&format!("  {name}: {value}\n"));
            }
        };
        field("tickets", m.tickets.join(" | "));
        field("files", m.files.join(" | "));
        field("dependencies", m.dependencies.clone().unwrap_or_default());
        field(
            "verify command",
            m.verify_command.clone().unwrap_or_default(),
        );
        field("commits", m.commits.join(" | "));
        field(
            "verify",
            m.verify.map(|v| format!("{v:?}")).unwrap_or_default(),
        );
        field("ready for", m.ready_for.join(" | "));
    }
    if out.is_empty() {
        out.push_str("(no messages)\n");
    }
    out
}

fn scan_in_chunks(bytes: &[u8], size: usize) -> Vec<Handoff> {
    let mut scanner = HandoffScanner::new();
    let mut found = Vec::new();
    for chunk in bytes.chunks(size) {
        found.extend(scanner.feed(chunk));
    }
    found.extend(scanner.finish());
    found
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/handoff");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("raw" | "md" | "txt")
            )
        })
        .collect();
    files.sort();
    assert!(files.len() >= 6, "fixtures missing in {}", dir.display());
    files
}

#[test]
fn fixtures_give_their_expected_messages() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    for path in fixtures() {
        let bytes = std::fs::read(&path).unwrap();
        let actual = render(&parse(&bytes));
        let expect_path = path.with_extension(format!(
            "{}.expect",
            path.extension().unwrap().to_str().unwrap()
        ));
        if update {
            std::fs::write(&expect_path, &actual).unwrap();
        }
        let expected = std::fs::read_to_string(&expect_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                path.display()
            ));
        }
        for size in [1, 2, 3, 5, 7, 16, 64, 4096] {
            let chunked = render(&scan_in_chunks(&bytes, size));
            if chunked != actual {
                failures.push(format!(
                    "{} fed in chunks of {size}:\n--- whole\n{actual}--- chunked\n{chunked}",
                    path.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_split_point_of_a_small_capture_gives_the_same_message() {
    // An escape sequence, a multi-byte dash and a CRLF at every possible chunk boundary.
    let bytes = "\x1b[1m## HANDOFF \u{2014} Batch 2 Ready\x1b[0m\r\n\r\nTickets: T1\u{2013}T3\r\n\x1b]0;t\x07Verify command: \x1b[36mcargo test\x1b[0m\r\n\r\n"
        .as_bytes();
    let whole = render(&parse(bytes));
    assert_eq!(
        whole,
        "HANDOFF batch 2\n  tickets: T1 | T2 | T3\n  verify command: cargo test\n"
    );
    for i in 0..=bytes.len() {
        for j in i..=bytes.len() {
            let mut scanner = HandoffScanner::new();
            let mut found = scanner.feed(&bytes[..i]);
            found.extend(scanner.feed(&bytes[i..j]));
            found.extend(scanner.feed(&bytes[j..]));
            found.extend(scanner.finish());
            assert_eq!(render(&found), whole, "split at {i} and {j}");
        }
    }
}

#[test]
fn a_message_is_reported_as_soon_as_it_is_complete_and_only_once() {
    let message = "## COMPLETE — Batch 1 Done\n\nTickets completed: T-1\nVerify: PASSED\n\nReady for: Review\n";
    let mut scanner = HandoffScanner::new();
    assert_eq!(
        scanner.feed(message.as_bytes()),
        vec![],
        "not before the line after the last field"
    );
    let found = scanner.feed(b"\n");
    assert_eq!(
        render(&found),
        "COMPLETE batch 1\n  tickets: T-1\n  verify: Passed\n  ready for: Review\n"
    );
    // Screen refreshes repeat it, also wrapped at another width: nothing new.
    for _ in 0..3 {
        assert_eq!(
            scanner.feed(format!("\x1b[2J\x1b[H{message}\n").as_bytes()),
            vec![]
        );
    }
    assert_eq!(
        scanner.feed(b"## COMPLETE - Batch 1 Done\nTickets\n  completed: T-1\nVerify:\n PASSED\nReady for:\n Review\n\n"),
        vec![],
    );
    assert_eq!(scanner.finish(), vec![]);
}

#[test]
fn different_content_for_the_same_batch_is_reported_again() {
    let first =
        "## COMPLETE — Batch 1 Done\nTickets completed: T-1\nVerify: FAILED\nReady for: Fixes\n\n";
    let second =
        "## COMPLETE — Batch 1 Done\nTickets completed: T-1\nVerify: PASSED\nReady for: Review\n\n";
    let found = parse(format!("{first}{second}{first}").as_bytes());
    assert_eq!(
        render(&found),
        "COMPLETE batch 1\n  tickets: T-1\n  verify: Failed\n  ready for: Fixes\n\
         COMPLETE batch 1\n  tickets: T-1\n  verify: Passed\n  ready for: Review\n"
    );
}

/// A capture with tens of thousands of messages is read in one pass: each new message is checked
/// against the reported ones by lookup, not by comparing it with every one of them (40 000
/// messages took 23.6 s; 40 000 of one batch, 136 s in a release build).
#[test]
fn forty_thousand_messages_are_each_reported_once() {
    let handoff = |b: usize, t: usize| {
        format!("## HANDOFF — Batch {b} Ready\nTickets: T-{t}\nFiles affected: src/m{t}.rs\nVerify command: cargo test\n\n")
    };
    let complete = |b: usize| {
        format!("## COMPLETE — Batch {b} Done\nTickets completed: T-{b}\nCommits: c{b:07x}\nVerify: PASSED\nReady for: Review\n\n")
    };
    // 40 000 messages, and 10 000 where each used to be compared with all the others' fields.
    let (n, m) = (40_000, 10_000);
    // (what the capture holds, the capture, messages reported, the last one)
    let cases: [(&str, String, usize, &str); 4] = [
        (
            "a HANDOFF and a COMPLETE for each of 20 000 batches",
            (1..=n / 2).map(|b| handoff(b, b) + &complete(b)).collect(),
            n,
            "COMPLETE batch 20000\n  tickets: T-20000\n  commits: c0004e20\n  verify: Passed\n  ready for: Review\n",
        ),
        (
            "10 000 different handoffs of batch 1",
            (1..=m).map(|t| handoff(1, t)).collect(),
            m,
            "HANDOFF batch 1\n  tickets: T-10000\n  files: src/m10000.rs\n  verify command: cargo test\n",
        ),
        (
            "one message redrawn 10 000 times",
            (1..=m).map(|_| handoff(7, 7)).collect(),
            1,
            "HANDOFF batch 7\n  tickets: T-7\n  files: src/m7.rs\n  verify command: cargo test\n",
        ),
        (
            "5 000 messages, then each again with fewer fields (covered: not reported)",
            (1..=m / 2)
                .map(|b| handoff(b, b))
                .chain((1..=m / 2).map(|b| {
                    format!("## HANDOFF — Batch {b} Ready\nTickets: T-{b}\nVerify command: cargo test\n\n")
                }))
                .collect(),
            m / 2,
            "HANDOFF batch 5000\n  tickets: T-5000\n  files: src/m5000.rs\n  verify command: cargo test\n",
        ),
    ];
    for (what, capture, count, last) in cases {
        let found = parse(capture.as_bytes());
        assert_eq!(found.len(), count, "{what}");
        assert_eq!(render(&found[count - 1..]), last, "{what}");
    }
}

#[test]
fn a_header_without_fields_or_a_placeholder_batch_is_no_message() {
    let cases: [(&str, &str); 4] = [
        (
            "## HANDOFF — Batch N Ready\nTickets: T#-T#\nVerify command: dev verify\n\n",
            "(no messages)\n",
        ),
        (
            "## HANDOFF — Batch 2 Ready\n\nWorking on it...\n",
            "(no messages)\n",
        ),
        (
            "Please complete batch 2 soon.\nTickets: T-1\n",
            "(no messages)\n",
        ),
        (
            "I'll handoff batch 3 later\nVerify command: x\n",
            "(no messages)\n",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(render(&parse(input.as_bytes())), expected, "{input:?}");
    }
}

#[test]
fn ticket_lists_and_ranges() {
    // (value of a Tickets field, ids)
    let cases: [(&str, &[&str]); 16] = [
        ("T-001–T-004", &["T-001", "T-002", "T-003", "T-004"]),
        ("T-001-T-003", &["T-001", "T-002", "T-003"]),
        ("T-001 — T-002", &["T-001", "T-002"]),
        ("T1-T4", &["T1", "T2", "T3", "T4"]),
        ("T-8..T-10", &["T-8", "T-9", "T-10"]),
        ("T-7 to T-8", &["T-7", "T-8"]),
        ("T-098–100", &["T-098", "T-099", "T-100"]),
        ("T-1, T-3 and T-5", &["T-1", "T-3", "T-5"]),
        ("`T-1` & `T-2`", &["T-1", "T-2"]),
        ("T-2 T-4 (both UI)", &["T-2", "T-4"]),
        ("T-4–T-4", &["T-4"]),
        // Ambiguous: kept as written.
        ("T-01–T-004", &["T-01–T-004"]),
        ("T-9–T-3", &["T-9–T-3"]),
        ("A-1–B-3", &["A-1–B-3"]),
        ("T#-T#", &["T#-T#"]),
        ("T-1–T-9999", &["T-1–T-9999"]),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_tickets(input), expected, "{input:?}");
    }
}

#[test]
fn escape_sequences_and_decoration_are_removed() {
    // (raw bytes, visible lines)
    let cases: [(&[u8], &[&str]); 12] = [
        (b"\x1b[1;31mred\x1b[0m text\r\n", &["red text"]),
        (
            b"\x1b]0;title\x07a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\n",
            &["alink"],
        ),
        (b"\x1bP+q544e\x1b\\b\x1b(Bc\x1b=\n", &["bc"]),
        (
            b"\x1b[5;1Hone\x1b[5;10Htwo\x1b[6;1Hthree",
            &["one two", "three"],
        ),
        (b"a\x1b[2K\x1b[1A\x1b[2Kb\n", &["a", "b"]),
        (b"x\x1b[3Cy\n", &["x y"]),
        (
            "│ ⏺ **Tickets:** T-1   │\n╭────╮\n".as_bytes(),
            &["Tickets: T-1", ""],
        ),
        (b"one\r\n\r\ntwo\rthree\n", &["one", "", "two", "three"]),
        (
            b"pty\r\r\nonlcr\r\r\n\r\r\nend\r\n",
            &["pty", "onlcr", "", "end"],
        ),
        (
            b"\r[==  ] 50%\r\x1b[K[====] 100%\r\ndone\n",
            &["[==  ] 50%", "[====] 100%", "done"],
        ),
        (b"bad \xff\xfe utf8\n", &["bad \u{fffd}\u{fffd} utf8"]),
        (
            b"**Files affected:** `src/**/*.rs`, pkg/__init__.py\n",
            &["Files affected: `src/**/*.rs`, pkg/__init__.py"],
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            visible_lines(input),
            expected,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn endless_output_without_newlines_is_handled_in_bounded_lines() {
    let mut scanner = HandoffScanner::new();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..8 {
        assert_eq!(scanner.feed(&chunk), vec![]);
    }
    let found = scanner.feed(b"\n## HANDOFF - Batch 9 Ready\nTickets: T-1\nVerify command: v\n\n");
    assert_eq!(
        render(&found),
        "HANDOFF batch 9\n  tickets: T-1\n  verify command: v\n"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any chunking of any fixture gives what the whole capture gives.
    #[test]
    fn random_chunking_changes_nothing(cuts in proptest::collection::vec(0usize..100_000, 0..40)) {
        for path in fixtures() {
            let bytes = std::fs::read(&path).unwrap();
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort();
            let mut scanner = HandoffScanner::new();
            let mut found = Vec::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain([bytes.len()]) {
                found.extend(scanner.feed(&bytes[start..cut]));
                start = cut;
            }
            found.extend(scanner.finish());
            proptest::prop_assert_eq!(render(&found), render(&parse(&bytes)), "{}", path.display());
        }
    }
}

#[test]
fn verify_verdicts() {
    use VerifyResult::{Failed, Passed};
    // (value of a Verify field, verdict)
    let cases: [(&str, Option<VerifyResult>); 14] = [
        ("PASSED", Some(Passed)),
        ("passed (42 passed, 0 failed)", Some(Passed)),
        ("✅ all green", Some(Passed)),
        ("OK", Some(Passed)),
        ("FAILED", Some(Failed)),
        ("failed: 2 of 40 tests", Some(Failed)),
        ("❌ (clippy)", Some(Failed)),
        ("`dev verify` FAILED", Some(Failed)),
        ("cargo test: passed", Some(Passed)),
        ("tests: 0 failed, 42 passed", None),
        ("PASSED/FAILED", None),
        ("passed / failed", None),
        ("not run yet", None),
        ("", None),
    ];
    for (value, verdict) in cases {
        assert_eq!(verify_result(value), verdict, "{value:?}");
    }
}

#[test]
fn line_endings_do_not_matter() {
    // A PTY turns `\n` into `\r\n` (and a program's own `\r\n` into `\r\r\n`).
    for path in fixtures()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e != "raw"))
    {
        let text = std::fs::read_to_string(&path).unwrap();
        let expected = render(&parse(text.as_bytes()));
        for ending in ["\r\n", "\r\r\n"] {
            let converted = text.replace('\n', ending);
            assert_eq!(
                render(&parse(converted.as_bytes())),
                expected,
                "{} with {ending:?}",
                path.display()
            );
        }
    }
}
