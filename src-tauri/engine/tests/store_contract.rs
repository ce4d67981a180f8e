//! The `Store` contract, run against every implementation (sled in a temp dir, memory),
//! plus what only the sled store has: persistence across reopen and open errors.

use std::collections::BTreeMap;
use std::sync::Arc;

use leapfrog_engine::model::*;
use leapfrog_engine::store::{Change, MemoryStore, SledStore, Store, StoreError};

fn project(id: &str) -> Project {
    Project {
        id: id.into(),
        name: format!("Project {id}"),
        repo_path: format!("/src/{id}").into(),
        agents: vec![
            AgentProfile {
                id: "claude".into(),
                display_name: "Claude".into(),
                cli: CliKind::ClaudeCode,
                command: "claude".into(),
                args: vec!["--verbose".into()],
                env: BTreeMap::from([("TERM".into(), "xterm-256color".into())]),
                roles: vec![Role::Design, Role::Review, Role::Qa],
            },
            AgentProfile {
                id: "codex".into(),
                display_name: "Codex".into(),
                cli: CliKind::Codex,
                command: "codex".into(),
                args: vec![],
                env: BTreeMap::new(),
                roles: vec![Role::Build, Role::Fix],
            },
        ],
        pattern: Pattern::Leapfrog,
        lookahead: Some(2),
        sync_interval: Some(3),
        verify_command: Some("cargo test".into()),
    }
}

fn batch(number: u32) -> Batch {
    Batch {
        number,
        name: format!("Batch {number}"),
        goal: Some(format!("goal {number}")),
        notes: None,
    }
}

fn ticket(id: &str, status: TicketStatus) -> Ticket {
    Ticket {
        id: id.into(),
        title: format!("Do {id}"),
        status,
        batch: Some(1),
        depends_on: vec!["T-000".into()],
        files: vec!["src/lib.rs".into()],
        priority: Some("P1".into()),
        owner: Some("codex".into()),
        body: "Some body\nwith lines".into(),
        acceptance: vec![
            AcceptanceItem {
                text: "tests pass".into(),
                done: true,
            },
            AcceptanceItem {
                text: "docs".into(),
                done: false,
            },
        ],
    }
}

fn run(project: &str, id: u64, kind: PhaseKind, outcome: PhaseOutcome) -> PhaseRun {
    PhaseRun {
        id,
        project: project.into(),
        kind,
        batch: Some(1),
        agent: Some("claude".into()),
        started_at: 1_700_000_000_000 + id,
        ended_at: (outcome != PhaseOutcome::Running).then_some(1_700_000_600_000),
        outcome,
        detection: (outcome != PhaseOutcome::Running)
            .then_some(CompletionDetection::HandoffMessage),
    }
}

fn handoff(project: &str, id: u64, kind: HandoffKind) -> HandoffRecord {
    HandoffRecord {
        id,
        project: project.into(),
        agent: Some("claude".into()),
        received_at: 1_700_000_000_000,
        message: Handoff {
            kind,
            batch: 1,
            tickets: vec!["T-001".into(), "T-002".into()],
            files: vec!["src/a.rs".into()],
            dependencies: Some("none".into()),
            verify_command: Some("dev verify".into()),
            commits: vec![],
            verify: (kind == HandoffKind::Complete).then_some(VerifyResult::Passed),
            ready_for: vec![],
        },
    }
}

/// A short name for each change, to compare event logs.
fn describe(change: &Change) -> String {
    match change {
        Change::PutProject { project } => format!("project {}", project.id),
        Change::PutBatch { batch, .. } => format!("batch {}", batch.number),
        Change::PutTicket { ticket, .. } => {
            format!("ticket {} {}", ticket.id, ticket.status.as_str())
        }
        Change::DeleteTicket { id, .. } => format!("delete {id}"),
        Change::PutPhaseRun { run } => format!("run {} {:?}", run.id, run.outcome),
        Change::PutHandoff { handoff } => {
            format!("handoff {} {:?}", handoff.id, handoff.message.kind)
        }
        Change::Note { text, .. } => format!("note {text}"),
    }
}

fn log(store: &dyn Store, project: &str) -> Vec<String> {
    store
        .events(project, 0, usize::MAX)
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e.seq, describe(&e.change)))
        .collect()
}

// ---- the contract ----

fn roundtrip_and_order(store: &dyn Store) {
    let p = project("demo");
    assert_eq!(store.put_project(&p).unwrap().seq, 1);
    for n in [10, 2, 1] {
        store.put_batch("demo", &batch(n)).unwrap();
    }
    store
        .put_ticket("demo", &ticket("T-002", TicketStatus::Todo))
        .unwrap();
    store
        .put_ticket("demo", &ticket("T-001", TicketStatus::Doing))
        .unwrap();
    store
        .put_phase_run(&run("demo", 300, PhaseKind::Design, PhaseOutcome::Passed))
        .unwrap();
    store
        .put_phase_run(&run("demo", 7, PhaseKind::Build, PhaseOutcome::Running))
        .unwrap();
    store
        .put_handoff(&handoff("demo", 2, HandoffKind::Complete))
        .unwrap();
    store
        .put_handoff(&handoff("demo", 1, HandoffKind::Handoff))
        .unwrap();
    let ack = store.append_note("demo", "agent codex started").unwrap();
    assert_eq!(ack.project, "demo");
    assert_eq!(ack.seq, 11);

    assert_eq!(store.project("demo").unwrap(), Some(p.clone()));
    assert_eq!(store.projects().unwrap(), vec![p]);
    let numbers: Vec<u32> = store
        .batches("demo")
        .unwrap()
        .iter()
        .map(|b| b.number)
        .collect();
    assert_eq!(numbers, [1, 2, 10], "batches list in numeric order");
    assert_eq!(store.batch("demo", 2).unwrap(), Some(batch(2)));
    assert_eq!(store.batch("demo", 3).unwrap(), None);
    assert_eq!(
        store.ticket("demo", "T-001").unwrap(),
        Some(ticket("T-001", TicketStatus::Doing))
    );
    let ids: Vec<String> = store
        .tickets("demo")
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["T-001", "T-002"]);
    let runs: Vec<u64> = store
        .phase_runs("demo")
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(runs, [7, 300], "phase runs list by id");
    assert_eq!(
        store.phase_run("demo", 300).unwrap(),
        Some(run("demo", 300, PhaseKind::Design, PhaseOutcome::Passed))
    );
    let handoffs: Vec<u64> = store
        .handoffs("demo")
        .unwrap()
        .iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(handoffs, [1, 2]);
    assert_eq!(
        store.handoff("demo", 2).unwrap(),
        Some(handoff("demo", 2, HandoffKind::Complete))
    );
    assert_eq!(store.last_seq("demo").unwrap(), 11);
    assert_eq!(
        log(store, "demo"),
        [
            "1 project demo",
            "2 batch 10",
            "3 batch 2",
            "4 batch 1",
            "5 ticket T-002 todo",
            "6 ticket T-001 doing",
            "7 run 300 Passed",
            "8 run 7 Running",
            "9 handoff 2 Complete",
            "10 handoff 1 Handoff",
            "11 note agent codex started",
        ]
    );
    let events = store.events("demo", 0, usize::MAX).unwrap();
    assert!(
        events.windows(2).all(|w| w[0].at <= w[1].at),
        "event times never go back"
    );
}

fn replace_and_delete(store: &dyn Store) {
    store.put_project(&project("p")).unwrap();
    store
        .put_ticket("p", &ticket("T-1", TicketStatus::Todo))
        .unwrap();
    store
        .put_ticket("p", &ticket("T-1", TicketStatus::Done))
        .unwrap();
    assert_eq!(
        store.ticket("p", "T-1").unwrap().unwrap().status,
        TicketStatus::Done
    );
    store.delete_ticket("p", "T-1").unwrap();
    store.delete_ticket("p", "T-404").unwrap();
    assert_eq!(store.ticket("p", "T-1").unwrap(), None);
    assert!(store.tickets("p").unwrap().is_empty());
    let mut renamed = project("p");
    renamed.name = "Renamed".into();
    renamed.lookahead = None;
    store.put_project(&renamed).unwrap();
    assert_eq!(store.project("p").unwrap(), Some(renamed));
    assert_eq!(
        log(store, "p"),
        [
            "1 project p",
            "2 ticket T-1 todo",
            "3 ticket T-1 done",
            "4 delete T-1",
            "5 delete T-404",
            "6 project p",
        ]
    );
}

fn rejects_changes_it_cannot_key(store: &dyn Store) {
    // (change, expected error) — nothing of a rejected change is recorded.
    let cases: Vec<(Change, &str)> = vec![
        (
            Change::PutBatch {
                project: "ghost".into(),
                batch: batch(1),
            },
            "unknown project \"ghost\"",
        ),
        (
            Change::PutPhaseRun {
                run: run("ghost", 1, PhaseKind::Build, PhaseOutcome::Running),
            },
            "unknown project \"ghost\"",
        ),
        (
            Change::Note {
                project: "ghost".into(),
                text: "hi".into(),
            },
            "unknown project \"ghost\"",
        ),
        (
            Change::PutProject {
                project: project(""),
            },
            "invalid project id \"\": it is empty",
        ),
        (
            Change::PutProject {
                project: project("a\0b"),
            },
            "invalid project id \"a\\0b\": it contains a control character",
        ),
        (
            Change::PutProject {
                project: project(&"x".repeat(201)),
            },
            "it is longer than 200 bytes",
        ),
        (
            Change::PutTicket {
                project: "ok".into(),
                ticket: ticket("", TicketStatus::Todo),
            },
            "invalid ticket id \"\": it is empty",
        ),
        (
            Change::DeleteTicket {
                project: "ok".into(),
                id: "T\n1".into(),
            },
            "invalid ticket id \"T\\n1\": it contains a control character",
        ),
    ];
    store.put_project(&project("ok")).unwrap();
    for (change, expected) in cases {
        let err = store
            .apply(change.clone())
            .expect_err("change must be rejected");
        let shown = err.to_string();
        assert!(
            shown.contains(expected),
            "{change:?}: got {shown:?}, want {expected:?}"
        );
    }
    assert_eq!(store.last_seq("ghost").unwrap(), 0);
    assert!(store.events("ghost", 0, 10).unwrap().is_empty());
    assert_eq!(log(store, "ok"), ["1 project ok"]);
    assert_eq!(store.projects().unwrap().len(), 1);
}

fn projects_do_not_leak_into_each_other(store: &dyn Store) {
    // "a" is a prefix of "ab": keys must still be separate.
    for id in ["ab", "a", "b"] {
        store.put_project(&project(id)).unwrap();
    }
    store.put_batch("a", &batch(1)).unwrap();
    store.put_batch("ab", &batch(2)).unwrap();
    store
        .put_ticket("ab", &ticket("T-9", TicketStatus::Todo))
        .unwrap();
    store
        .put_phase_run(&run("ab", 1, PhaseKind::Plan, PhaseOutcome::Passed))
        .unwrap();
    store
        .put_handoff(&handoff("ab", 1, HandoffKind::Handoff))
        .unwrap();
    let numbers = |p: &str| {
        store
            .batches(p)
            .unwrap()
            .iter()
            .map(|b| b.number)
            .collect::<Vec<_>>()
    };
    assert_eq!(numbers("a"), [1]);
    assert_eq!(numbers("ab"), [2]);
    assert!(numbers("b").is_empty());
    assert!(store.tickets("a").unwrap().is_empty());
    assert!(store.phase_runs("a").unwrap().is_empty());
    assert!(store.handoffs("a").unwrap().is_empty());
    assert_eq!(log(store, "a"), ["1 project a", "2 batch 1"]);
    assert_eq!(
        log(store, "ab"),
        [
            "1 project ab",
            "2 batch 2",
            "3 ticket T-9 todo",
            "4 run 1 Passed",
            "5 handoff 1 Handoff"
        ]
    );
    let ids: Vec<String> = store
        .projects()
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, ["a", "ab", "b"]);
}

fn event_log_pages(store: &dyn Store) {
    store.put_project(&project("p")).unwrap();
    for i in 0..9 {
        store.append_note("p", &format!("n{i}")).unwrap();
    }
    let seqs = |after, limit| {
        store
            .events("p", after, limit)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>()
    };
    // (after, limit, expected seqs)
    let cases: [(u64, usize, &[u64]); 6] = [
        (0, 3, &[1, 2, 3]),
        (3, 3, &[4, 5, 6]),
        (8, 100, &[9, 10]),
        (10, 5, &[]),
        (2, 0, &[]),
        (u64::MAX, 5, &[]),
    ];
    for (after, limit, expected) in cases {
        assert_eq!(
            seqs(after, limit),
            expected,
            "events(after {after}, limit {limit})"
        );
    }
}

fn concurrent_changes_get_distinct_gap_free_seqs(store: Arc<dyn Store>) {
    store.put_project(&project("p")).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        store
                            .put_ticket("p", &ticket(&format!("T-{t}-{i:02}"), TicketStatus::Todo))
                            .unwrap()
                            .seq
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    seqs.sort();
    assert_eq!(seqs, (2..=101).collect::<Vec<_>>());
    assert_eq!(store.tickets("p").unwrap().len(), 100);
    let events = store.events("p", 0, usize::MAX).unwrap();
    assert_eq!(events.len(), 101);
    for e in &events[1..] {
        let Change::PutTicket { ticket, .. } = &e.change else {
            panic!("unexpected {e:?}")
        };
        assert!(store.ticket("p", &ticket.id).unwrap().is_some());
    }
}

fn generated_ids_are_unique_and_increasing(store: Arc<dyn Store>) {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                let ids: Vec<u64> = (0..200).map(|_| store.generate_id().unwrap()).collect();
                assert!(
                    ids.windows(2).all(|w| w[0] < w[1]),
                    "increasing within a thread"
                );
                ids
            })
        })
        .collect();
    let mut all: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 800, "unique");
}

fn sled() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path().join("db")).unwrap();
    (dir, Arc::new(store))
}

fn memory() -> (tempfile::TempDir, Arc<dyn Store>) {
    (tempfile::tempdir().unwrap(), Arc::new(MemoryStore::new()))
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sled_store { $( #[test] fn $name() { let (_dir, s) = super::sled(); super::$name(&*s); } )* }
        mod memory_store { $( #[test] fn $name() { let (_dir, s) = super::memory(); super::$name(&*s); } )* }
    };
}

contract!(
    roundtrip_and_order,
    replace_and_delete,
    rejects_changes_it_cannot_key,
    projects_do_not_leak_into_each_other,
    event_log_pages,
);

#[test]
fn sled_concurrent_changes() {
    let (_dir, s) = sled();
    concurrent_changes_get_distinct_gap_free_seqs(s);
}

#[test]
fn memory_concurrent_changes() {
    let (_dir, s) = memory();
    concurrent_changes_get_distinct_gap_free_seqs(s);
}

#[test]
fn sled_generated_ids() {
    let (_dir, s) = sled();
    generated_ids_are_unique_and_increasing(s);
}

#[test]
fn memory_generated_ids() {
    let (_dir, s) = memory();
    generated_ids_are_unique_and_increasing(s);
}

#[test]
fn sled_generated_ids_are_not_reused_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let before: Vec<u64> = {
        let store = SledStore::open(&path).unwrap();
        (0..50).map(|_| store.generate_id().unwrap()).collect()
    };
    let store = SledStore::open(&path).unwrap();
    let after = store.generate_id().unwrap();
    assert!(
        after > *before.iter().max().unwrap(),
        "{after} after {before:?}"
    );
}

#[test]
fn sled_keeps_everything_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let store = SledStore::open(&path).unwrap();
        roundtrip_and_order(&store);
    }
    let store = SledStore::open(&path).unwrap();
    assert_eq!(store.batches("demo").unwrap().len(), 3);
    assert_eq!(store.tickets("demo").unwrap().len(), 2);
    assert_eq!(store.last_seq("demo").unwrap(), 11);
    // The log goes on where it stopped.
    assert_eq!(store.append_note("demo", "again").unwrap().seq, 12);
}

#[test]
fn sled_open_errors_are_one_line_and_typed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = SledStore::open(&file).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.starts_with("cannot open the database"), "{shown}");
    assert!(!shown.contains('\n'), "{shown}");
}

#[test]
fn data_dir_follows_env() {
    use leapfrog_engine::store::data_dir_from;
    // (environment, data directory or error)
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("LEAPFROG_DATA_DIR", "/tmp/t"), ("XDG_DATA_HOME", "/xdg"), ("HOME", "/home/u")], "/tmp/t"),
        (&[("XDG_DATA_HOME", "/xdg"), ("HOME", "/home/u")], "/xdg/leapfrog"),
        (&[("LEAPFROG_DATA_DIR", ""), ("XDG_DATA_HOME", ""), ("HOME", "/home/u")], "/home/u/.local/share/leapfrog"),
        (&[("HOME", "/home/u")], "/home/u/.local/share/leapfrog"),
        (&[], "error: cannot open the database ~/.local/share/leapfrog/db: neither LEAPFROG_DATA_DIR, XDG_DATA_HOME nor HOME is set"),
        (&[("HOME", "")], "error: cannot open the database ~/.local/share/leapfrog/db: neither LEAPFROG_DATA_DIR, XDG_DATA_HOME nor HOME is set"),
    ];
    for (env, expected) in cases {
        let lookup = |name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.into());
        let actual = match data_dir_from(lookup) {
            Ok(dir) => dir.display().to_string(),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(actual, expected, "{env:?}");
    }
}
