//! Fuzz the TICKETS.md parser: it never panics, and whatever it accepts round-trips byte for byte and
//! re-parses to the same result; edits on what it found never panic either.
//!
//! Run as .ci/test does (from src-tauri/engine; seeds.sh cuts the corpus into small seeds, and
//! libFuzzer adds what it finds to that folder):
//!   bash fuzz/seeds.sh tickets_parse /tmp/parse-seeds 2048
//!   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none --no-trace-compares tickets_parse /tmp/parse-seeds -- \
//!     -dict=fuzz/tickets.dict -max_len=2048 -max_total_time=30
#![no_main]

use leapfrog_engine::model::TicketStatus;
use leapfrog_engine::tickets::{Document, Edit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = Document::parse_bytes(data) else {
        return;
    };
    let out = doc.serialize();
    assert_eq!(out.as_bytes(), data, "round trip changed bytes");
    let again = Document::parse(&out);
    assert_eq!(again.tickets.len(), doc.tickets.len());
    if let Some(t) = doc.tickets.first() {
        for edit in [
            Edit::SetStatus { ticket: t.key.clone(), status: TicketStatus::Done },
            Edit::SetTitle { ticket: t.key.clone(), title: "x".into() },
            Edit::DeleteTicket { ticket: t.key.clone() },
            Edit::AddTicket { batch: None, title: "new".into() },
            Edit::SetField { ticket: t.key.clone(), field: "Owner".into(), value: "codex".into() },
        ] {
            if let Ok(a) = doc.apply(&edit) {
                let s = a.doc.serialize();
                assert_eq!(Document::parse(&s).serialize(), s);
            }
        }
        if let Some(b) = doc.batches.last() {
            let _ = doc.apply(&Edit::Move { ticket: t.key.clone(), to_batch: b.number, position: Some(0) });
            let _ = doc.apply(&Edit::AddTicket { batch: Some(b.number), title: "new".into() });
            let _ = doc.apply(&Edit::RenameBatch { batch: b.number, title: "renamed".into() });
            let _ = doc.apply(&Edit::DeleteBatch { batch: b.number, with_tickets: true });
        }
    }
    let _ = doc.apply(&Edit::AddBatch { title: "new".into() });
});
