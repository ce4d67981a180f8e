//! Parse + round-trip speed of the TICKETS.md codec, and the input sizes issue 10 (item 7) named:
//! TICKETS.md of 1 MB and 10 MB, `simulate` of 100 000 batches, and 40 000 handoff messages.
//!
//! `cargo run --release -p leapfrog-engine --example tickets_bench`
//!
//! Measures the largest corpus file and a generated 10 000-ticket file (parse, serialize, check
//! equality), plus one status edit on the big file, and prints time per run and MB/s. Then:
//! * a 1 MiB file of one-ticket batches (`## Batch N` / `### T-N: x`: 35 692 of them, the report's
//!   file) and a 10 MiB one; 10 MiB is over the file cap ([`MAX_FILE_BYTES`]), so it is parsed as
//!   text, past the cap; and the shapes that used to be quadratic, at the cap's size;
//! * `simulate` of 100 000 batches (two agents, every priority rule, as `leap simulate` runs it;
//!   and with every review failing once);
//! * `handoff::parse` of 40 000 messages.

use std::path::PathBuf;
use std::time::Instant;

use leapfrog_engine::handoff;
use leapfrog_engine::model::TicketStatus;
use leapfrog_engine::scheduler::{simulate, SimOptions, Workload};
use leapfrog_engine::tickets::{Document, Edit, MAX_FILE_BYTES};

fn bench(name: &str, text: &str, runs: u32) {
    let start = Instant::now();
    let mut tickets = 0;
    for _ in 0..runs {
        let d = Document::parse(text);
        assert_eq!(d.serialize(), text);
        tickets = d.tickets.len();
    }
    let per = start.elapsed() / runs;
    let mb = text.len() as f64 / 1e6;
    println!(
        "{name}: {:.1} KB, {tickets} tickets: parse+round trip {:.2} ms, {:.1} MB/s ({runs} runs)",
        text.len() as f64 / 1e3,
        per.as_secs_f64() * 1e3,
        mb / per.as_secs_f64()
    );
}

/// `head`, then `item(1)`, `item(2)`, … while the text stays within `bytes`.
fn generated(bytes: usize, head: &str, item: impl Fn(usize) -> String) -> String {
    let mut text = String::from(head);
    for n in 1.. {
        let next = item(n);
        if text.len() + next.len() > bytes {
            break;
        }
        text.push_str(&next);
    }
    text
}

/// One parse, timed: (seconds, batches, tickets).
fn parse_once(text: &str) -> (f64, usize, usize) {
    let start = Instant::now();
    let d = Document::parse_bytes(text.as_bytes()).unwrap_or_else(|_| Document::parse(text));
    (
        start.elapsed().as_secs_f64(),
        d.batches.len(),
        d.tickets.len(),
    )
}

fn one_ticket_batches(n: usize) -> String {
    format!("## Batch {n}\n### T-{n}: x\n")
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/tickets");
    let largest = std::fs::read_dir(&dir)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a corpus file");
    let text = std::fs::read_to_string(&largest).expect("utf-8");
    bench(
        &format!(
            "largest corpus file ({})",
            largest.file_name().unwrap().to_string_lossy()
        ),
        &text,
        50,
    );

    let mut big = String::from("# Tickets\n\n");
    for b in 0..100u32 {
        big.push_str(&format!(
            "## Batch {}: Part {b}\n\nGoal of the batch.\n\n",
            b + 1
        ));
        for t in 0..100 {
            let n = b * 100 + t + 1;
            big.push_str(&format!(
                "### T-{n:05}: Ticket number {n}\n- **Status:** todo\n- **Depends on:** T-{:05}\n- **Files:** `src/mod{n}.rs`\n\nDo the thing carefully.\n\n```rust\n# not a heading\n```\n\n- [ ] it works\n- [x] it is tested\n\n",
                n.saturating_sub(1).max(1)
            ));
        }
    }
    bench("generated 10 000 tickets", &big, 5);

    let d = Document::parse(&big);
    let start = Instant::now();
    let a = d
        .apply(&Edit::SetStatus {
            ticket: "T-05000".into(),
            status: TicketStatus::Done,
        })
        .expect("edit");
    println!(
        "one status edit on the 10 000-ticket file (splice + re-parse + check): {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(a.doc.tickets.len(), 10_000);

    println!();
    println!(
        "TICKETS.md of one-ticket batches (file cap {} bytes):",
        MAX_FILE_BYTES
    );
    for (size, note) in [
        ("1 MiB", ""),
        ("10 MiB", " (over the cap: parsed as text, past the cap)"),
    ] {
        let bytes = if size == "1 MiB" { 1 << 20 } else { 10 << 20 };
        let text = generated(bytes, "# Tickets\n\n", one_ticket_batches);
        let (secs, batches, tickets) = parse_once(&text);
        println!(
            "  {size}, {batches} batches, {tickets} tickets: parse {:.0} ms{note}",
            secs * 1e3
        );
    }
    type Shape = (&'static str, &'static str, fn(usize) -> String);
    let shapes: [Shape; 8] = [
        ("one-ticket batches", "# Tickets\n\n", one_ticket_batches),
        ("titled one-ticket batches", "# Tickets\n\n", |n| {
            format!("## Batch {n}: Part {n}\n### T-{n}: Ticket {n}\n- **Status:** todo\n")
        }),
        (
            "one batch of tickets",
            "# Tickets\n\n## Batch 1: All\n",
            |n| format!("### T-{n}: Ticket\n"),
        ),
        ("list-item tickets", "# Tickets\n\n## Batch 1: All\n", |n| {
            format!("- T-{n}: Ticket\n")
        }),
        (
            "ticket table rows",
            "| ID | Title | Status |\n|---|---|---|\n",
            |n| format!("| T-{n} | Ticket | todo |\n"),
        ),
        ("numbered headings, no IDs", "# Notes\n\n", |n| {
            format!("## {n}. Note\n")
        }),
        ("bold paragraphs, no headings", "Notes\n\n", |n| {
            format!("**{n}. Title**\ntext\n")
        }),
        (
            "unresolved dependencies",
            "# Tickets\n\n## Batch 1: All\n",
            |n| format!("### T-{n}: Ticket\n- **Depends on:** X-{n}, {}\n", n + 7),
        ),
    ];
    println!(
        "  shapes that were quadratic, at the cap ({:.0} MB):",
        MAX_FILE_BYTES as f64 / 1e6
    );
    for (name, head, item) in shapes {
        let text = generated(MAX_FILE_BYTES, head, item);
        let (secs, batches, tickets) = parse_once(&text);
        println!(
            "    {name}: {batches} batches, {tickets} tickets: parse {:.0} ms",
            secs * 1e3
        );
    }

    println!();
    let two = r#"[{"id": "claude", "roles": ["discovery", "plan", "design", "review", "qa"]},
                  {"id": "codex", "roles": ["build", "fix"]}]"#;
    for (name, batch) in [
        (
            "design 10, build 20, review 5",
            r#"{"design": 10, "build": 20, "review": 5}"#,
        ),
        (
            "every review fails once, then a fix",
            r#"{"design": 3, "build": 20, "review": 5, "fix": 4, "review_fails": 1}"#,
        ),
    ] {
        let batches = vec![batch; 100_000].join(",");
        let w = Workload::parse(&format!(r#"{{"agents": {two}, "batches": [{batches}]}}"#))
            .expect("workload");
        let start = Instant::now();
        let out = simulate(&w, &SimOptions::default()).expect("simulate");
        println!(
            "simulate 100 000 batches ({name}; 2 agents, all 4 priority rules): {:.2} s, {} rows, makespan {} min",
            start.elapsed().as_secs_f64(),
            out.schedule.len(),
            out.parallel_minutes
        );
    }

    println!();
    let mut capture = String::new();
    for b in 1..=20_000 {
        capture.push_str(&format!(
            "## HANDOFF — Batch {b} Ready\nTickets: T-{b}, T-{}\nFiles affected: src/a{b}.rs\nDependencies: none\nVerify command: cargo test\n\n\
             ## COMPLETE — Batch {b} Done\nTickets completed: T-{b}\nCommits: c{b:07x}\nVerify: PASSED\nReady for: Review\n\n",
            b + 1
        ));
    }
    let start = Instant::now();
    let found = handoff::parse(capture.as_bytes());
    println!(
        "handoff parse of 40 000 messages ({:.1} MB): {:.0} ms",
        capture.len() as f64 / 1e6,
        start.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(found.len(), 40_000);
    let mut same_batch = String::new();
    for t in 1..=40_000 {
        same_batch.push_str(&format!(
            "## HANDOFF — Batch 1 Ready\nTickets: T-{t}\nFiles affected: src/a{t}.rs\nVerify command: cargo test {t}\n\n"
        ));
    }
    let start = Instant::now();
    let found = handoff::parse(same_batch.as_bytes());
    println!(
        "handoff parse of 40 000 different messages for one batch: {:.0} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(found.len(), 40_000);
}
