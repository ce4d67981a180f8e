//! Opening databases written by earlier (and later) versions of Leapfrog.
//!
//! `write_v1` is the generator of a schema-1 database: it writes raw sled keys and values exactly as
//! schema 1 laid them out (see `store/schema.rs`), independently of the current code.

use std::path::Path;

use leapfrog_engine::model::{Pattern, TicketStatus};
use leapfrog_engine::store::{SledStore, Store, StoreError, SCHEMA_VERSION};

fn v1_key(project: &str, rest: &[u8]) -> Vec<u8> {
    let mut k = project.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(rest);
    k
}

/// A schema-1 database: project "shop" with batches 1, 2 and 10 (keys in ASCII decimal), a ticket,
/// and the matching event log; project "blog" with no sync interval.
fn write_v1(path: &Path) {
    let db = sled::open(path).unwrap();
    let meta = db.open_tree("meta").unwrap();
    let projects = db.open_tree("projects").unwrap();
    let batches = db.open_tree("batches").unwrap();
    let tickets = db.open_tree("tickets").unwrap();
    let events = db.open_tree("events").unwrap();
    meta.insert("schema_version", &1u32.to_be_bytes()).unwrap();
    projects
        .insert(
            "shop",
            r#"{"id":"shop","name":"Shop","repo_path":"/src/shop","agents":[],"pattern":"pipeline","lookahead":1,"sync_every":2,"verify_command":"make check"}"#,
        )
        .unwrap();
    projects
        .insert(
            "blog",
            r#"{"id":"blog","name":"Blog","repo_path":"/src/blog","agents":[],"pattern":"leapfrog","lookahead":null,"sync_every":null}"#,
        )
        .unwrap();
    let mut seq = 1u64;
    let mut log = |project: &str, change: String| {
        let event = format!(
            r#"{{"project":"{project}","seq":{seq},"at":1700000000000,"change":{change}}}"#
        );
        events
            .insert(v1_key(project, &seq.to_be_bytes()), event.as_bytes())
            .unwrap();
        seq += 1;
    };
    log(
        "shop",
        r#"{"type":"note","project":"shop","text":"created by v1"}"#.into(),
    );
    for n in [1u32, 2, 10] {
        let batch = format!(r#"{{"number":{n},"name":"Batch {n}","goal":null,"notes":null}}"#);
        batches
            .insert(v1_key("shop", n.to_string().as_bytes()), batch.as_bytes())
            .unwrap();
        log(
            "shop",
            format!(r#"{{"type":"put_batch","project":"shop","batch":{batch}}}"#),
        );
    }
    let ticket = r#"{"id":"T-001","title":"Cart","status":"doing","batch":1,"depends_on":[],"files":[],"priority":null,"owner":null,"body":"","acceptance":[]}"#;
    tickets.insert(v1_key("shop", b"T-001"), ticket).unwrap();
    log(
        "shop",
        format!(r#"{{"type":"put_ticket","project":"shop","ticket":{ticket}}}"#),
    );
    meta.insert(b"seq\0shop", &5u64.to_be_bytes()).unwrap();
    db.flush().unwrap();
}

fn raw_version(path: &Path) -> u32 {
    let db = sled::open(path).unwrap();
    let v = db
        .open_tree("meta")
        .unwrap()
        .get("schema_version")
        .unwrap()
        .unwrap();
    u32::from_be_bytes(v.as_ref().try_into().unwrap())
}

#[test]
fn opens_a_v1_database_and_migrates_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    write_v1(&path);
    assert_eq!(raw_version(&path), 1);

    {
        let store = SledStore::open(&path).unwrap();
        let numbers: Vec<u32> = store
            .batches("shop")
            .unwrap()
            .iter()
            .map(|b| b.number)
            .collect();
        assert_eq!(
            numbers,
            [1, 2, 10],
            "re-keyed batches list in numeric order"
        );
        assert_eq!(store.batch("shop", 10).unwrap().unwrap().name, "Batch 10");
        let shop = store.project("shop").unwrap().unwrap();
        assert_eq!(
            shop.sync_interval,
            Some(2),
            "sync_every became sync_interval"
        );
        assert_eq!(shop.pattern, Pattern::Pipeline);
        assert_eq!(shop.verify_command.as_deref(), Some("make check"));
        let blog = store.project("blog").unwrap().unwrap();
        assert_eq!(blog.sync_interval, None);
        assert_eq!(blog.verify_command, None, "field absent in v1 defaults");
        assert_eq!(
            store.ticket("shop", "T-001").unwrap().unwrap().status,
            TicketStatus::Doing
        );
        assert_eq!(store.last_seq("shop").unwrap(), 5);
        assert_eq!(store.events("shop", 0, 100).unwrap().len(), 5);
        // The migrated database takes new changes in the new layout and continues the log.
        let mut b = store.batch("shop", 2).unwrap().unwrap();
        b.goal = Some("checkout".into());
        assert_eq!(store.put_batch("shop", &b).unwrap().seq, 6);
        assert_eq!(store.batches("shop").unwrap().len(), 3);
    }
    assert_eq!(raw_version(&path), SCHEMA_VERSION);

    // Reopening a migrated database changes nothing.
    let store = SledStore::open(&path).unwrap();
    let numbers: Vec<u32> = store
        .batches("shop")
        .unwrap()
        .iter()
        .map(|b| b.number)
        .collect();
    assert_eq!(numbers, [1, 2, 10]);
    assert_eq!(
        store.batch("shop", 2).unwrap().unwrap().goal.as_deref(),
        Some("checkout")
    );
}

#[test]
fn a_new_database_gets_the_current_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    drop(SledStore::open(&path).unwrap());
    assert_eq!(raw_version(&path), SCHEMA_VERSION);
}

#[test]
fn refuses_a_database_from_a_newer_leapfrog() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = sled::open(&path).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &99u32.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 99,
                supported: SCHEMA_VERSION,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("written by a newer Leapfrog (schema 99"),
        "{err}"
    );
    assert_eq!(raw_version(&path), 99, "left untouched");
}

#[test]
fn refuses_data_without_a_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = sled::open(&path).unwrap();
        db.open_tree("tickets")
            .unwrap()
            .insert("x\0T-1", "{}")
            .unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the database is damaged: tree tickets has data but the database has no schema version"
    );
}
