//! Parse + round-trip speed of the TICKETS.md codec.
//!
//! `cargo run --release -p leapfrog-engine --example tickets_bench`
//!
//! Measures the largest corpus file and a generated 10 000-ticket file (parse, serialize, check equality),
//! plus one status edit on the big file, and prints time per run and MB/s.

use std::path::PathBuf;
use std::time::Instant;

use leapfrog_engine::model::TicketStatus;
use leapfrog_engine::tickets::{Document, Edit};

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
}
