//! Store benchmark: latency of an acknowledged (transaction committed and flushed) change, and changes per second.
//!
//! `cargo run --release -p leapfrog-engine --example store_bench [CHANGES]` (default 5000), in a temp dir.
//! Prints p50/p99/max latency and throughput for one writer and for four concurrent writers, with the
//! in-memory store as a baseline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use leapfrog_engine::model::*;
use leapfrog_engine::store::{MemoryStore, SledStore, Store};

fn project() -> Project {
    Project {
        id: "bench".into(),
        name: "Bench".into(),
        repo_path: "/src/bench".into(),
        agents: vec![],
        pattern: Pattern::Leapfrog,
        lookahead: Some(2),
        sync_interval: Some(3),
        verify_command: Some("cargo test".into()),
    }
}

/// A realistic change: a ticket of a few hundred bytes.
fn ticket(i: usize) -> Ticket {
    Ticket {
        id: format!("T-{i:06}"),
        title: format!("Implement part {i} of the checkout flow"),
        status: TicketStatus::Doing,
        batch: Some((i / 10) as u32 + 1),
        depends_on: vec![format!("T-{:06}", i.saturating_sub(1))],
        files: vec!["src/checkout.rs".into(), "tests/checkout.rs".into()],
        priority: Some("P1".into()),
        owner: Some("codex".into()),
        body: "As a customer I can pay for my cart. ".repeat(4),
        acceptance: vec![AcceptanceItem {
            text: "cargo test passes".into(),
            done: false,
        }],
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn run(label: &str, store: Arc<dyn Store>, changes: usize, writers: usize) {
    store.put_project(&project()).unwrap();
    let per_writer = changes / writers;
    let started = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut latencies = Vec::with_capacity(per_writer);
                for i in 0..per_writer {
                    let t = ticket(w * per_writer + i);
                    let t0 = Instant::now();
                    store.put_ticket("bench", &t).unwrap();
                    latencies.push(t0.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let elapsed = started.elapsed();
    latencies.sort();
    assert_eq!(
        store.last_seq("bench").unwrap() as usize,
        latencies.len() + 1
    );
    println!(
        "{label:<28} {:>6} changes  p50 {:>9.3?}  p99 {:>9.3?}  max {:>9.3?}  {:>9.0} changes/s",
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().unwrap(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
    );
}

fn main() {
    let changes: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("CHANGES is a number"))
        .unwrap_or(5000);
    let dir = tempfile::tempdir().unwrap();
    println!("acknowledged change = one transaction over all trees + event log entry, sled flush + fdatasync");
    for writers in [1, 4] {
        let path = dir.path().join(format!("db-{writers}"));
        let store = Arc::new(SledStore::open(&path).unwrap());
        run(
            &format!("sled, {writers} writer(s)"),
            store,
            changes,
            writers,
        );
    }
    run(
        "memory, 1 writer (baseline)",
        Arc::new(MemoryStore::new()),
        changes,
        1,
    );
}
