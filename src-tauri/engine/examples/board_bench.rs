//! Board view model at scale: 1 000 tickets in 50 batches (plus one in the Backlog).
//!
//! `cargo run --release -p leapfrog-engine --example board_bench`
//!
//! Prints: parse, building the view, the view as JSON (what crosses to the UI), and one move through the
//! board session (re-read, edit, hash-checked write with backup, re-parse) followed by re-building the view.

use std::time::{Duration, Instant};

use leapfrog_engine::board::{sample_file, Board, BoardOp, BoardView, ColumnKey};
use leapfrog_engine::tickets::Document;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let text = sample_file(50, 20);
    let doc = Document::parse(&text);
    println!(
        "file: {} bytes, {} lines, {} batches, {} tickets",
        text.len(),
        doc.source.len(),
        doc.batches.len(),
        doc.tickets.len()
    );
    let phases = Default::default();
    let parse = time(20, || Document::parse(&text));
    let build = time(50, || BoardView::build(&doc, &phases));
    let view = BoardView::build(&doc, &phases);
    let json = time(50, || serde_json::to_vec(&view).unwrap().len());
    let json_len = serde_json::to_vec(&view).unwrap().len();
    println!("parse TICKETS.md                 {:>9.3} ms", ms(parse));
    println!("build board view                 {:>9.3} ms", ms(build));
    println!(
        "view to JSON ({:>7} bytes)      {:>9.3} ms",
        json_len,
        ms(json)
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("TICKETS.md");
    std::fs::write(&path, &text).expect("write");
    let mut board = Board::open(&path).expect("open");
    let mut moves = Vec::new();
    let mut renders = Vec::new();
    let mut undos = Vec::new();
    for i in 0..10u32 {
        // The last ticket of batch 50 to the top of batch 1 + i, then undo.
        let op = BoardOp::MoveTicket {
            ticket: "T-1000".into(),
            to: ColumnKey::Batch { number: 1 + i },
            position: Some(0),
        };
        let t = Instant::now();
        board.apply(&op, true).expect("move");
        moves.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(board.view());
        renders.push(t.elapsed());
        let t = Instant::now();
        board.undo().expect("undo");
        undos.push(t.elapsed());
    }
    println!(
        "move (read, edit, write, parse)  {:>9.3} ms   (includes its own view in the result)",
        ms(median(moves))
    );
    println!(
        "re-render view after the move    {:>9.3} ms",
        ms(median(renders))
    );
    println!(
        "undo (exact bytes)               {:>9.3} ms",
        ms(median(undos))
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
