//! `leap tickets …` as a user runs it: the real binary on real files.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn leap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leap"))
        .args(args)
        .output()
        .expect("leap runs")
}

fn corpus(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/corpus/tickets");
    let f = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(name))
        .unwrap();
    f.to_string_lossy().into_owned()
}

const FILE: &str = "# Tickets\r\n\r\n## Phase 1: Setup\r\n\r\n### T-001: Scaffold\r\n- **Status:** done\r\n\r\n### T-002: CI\r\n- **Status:** doing\r\n\r\n## Phase 2: Ship\r\n\r\n### T-003: Deploy\r\n- **Status:** todo\r\n\r\n## Notes\r\n\r\n### T-004: Loose\r\nno status";

#[test]
fn parse_json_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("TICKETS.md");
    fs::write(&p, FILE).unwrap();
    let out = leap(&["tickets", "parse", p.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["batches"][0]["number"], 1);
    assert_eq!(v["batches"][0]["title"], "Phase 1: Setup");
    assert_eq!(
        v["batches"][0]["tickets"],
        serde_json::json!(["T-001", "T-002"])
    );
    assert_eq!(v["batches"][1]["number"], 2);
    let t = &v["tickets"][1];
    assert_eq!(t["id"], "T-002");
    assert_eq!(t["title"], "CI");
    assert_eq!(t["status"], "doing");
    assert_eq!(t["batch"], 1);
    assert_eq!(t["line_start"], 8);
    assert_eq!(t["line_end"], 9);
    // A heading without a group word that holds tickets is a batch too, numbered by its position.
    assert_eq!(v["batches"][2]["title"], "Notes");
    assert_eq!(v["batches"][2]["number"], 3);
    let last = &v["tickets"][3];
    assert_eq!(last["id"], "T-004");
    assert_eq!(last["batch"], 3);
    assert_eq!(last["status"], "todo");
    assert_eq!(last["status_derived"], true);
    assert_eq!(last["line_start"], 18);
    assert_eq!(last["line_end"], 19);
    assert!(v["warnings"].as_array().unwrap().is_empty());
    // Tickets outside any batch have `"batch": null`.
    fs::write(&p, "# Tickets\n\n### T-001: Alone\n- [x] one\n- [ ] two\n").unwrap();
    let out = leap(&["tickets", "parse", p.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tickets"][0]["batch"], serde_json::Value::Null);
    assert_eq!(v["tickets"][0]["status"], "doing");
    assert_eq!(v["tickets"][0]["status_derived"], true);
    assert_eq!(v["batches"], serde_json::json!([]));
}

#[test]
fn human_output_lists_batches_with_their_tickets() {
    let out = leap(&["tickets", "parse", &corpus("39_")]);
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(
        s.starts_with("batch 0 (Phase): Phase 0 — Topology JSON Format  [line 16]\n  T-001"),
        "{s}"
    );
    assert!(s.contains("10 batches, 32 tickets"), "{s}");
}

#[test]
fn check_passes_on_every_corpus_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/corpus/tickets");
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            let out = leap(&["tickets", "check", p.to_str().unwrap()]);
            assert!(
                out.status.success(),
                "{}: {}",
                p.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(String::from_utf8_lossy(&out.stdout).contains(": ok ("));
        }
    }
}

#[test]
fn move_edits_in_place_and_keeps_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("TICKETS.md");
    fs::write(&p, FILE).unwrap();
    let out = leap(&[
        "tickets",
        "move",
        p.to_str().unwrap(),
        "T-2",
        "--to-batch",
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let now = fs::read_to_string(&p).unwrap();
    assert_eq!(
        now,
        "# Tickets\r\n\r\n## Phase 1: Setup\r\n\r\n### T-001: Scaffold\r\n- **Status:** done\r\n\r\n## Phase 2: Ship\r\n\r\n### T-003: Deploy\r\n- **Status:** todo\r\n\r\n### T-002: CI\r\n- **Status:** doing\r\n\r\n## Notes\r\n\r\n### T-004: Loose\r\nno status"
    );
    let backups: Vec<_> = fs::read_dir(dir.path().join(".leapfrog/backups"))
        .unwrap()
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(
        fs::read_to_string(backups[0].as_ref().unwrap().path()).unwrap(),
        FILE
    );
    let json = leap(&["tickets", "parse", p.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        v["batches"][1]["tickets"],
        serde_json::json!(["T-003", "T-002"])
    );
    // Unknown ticket or batch: one-line error, non-zero exit, file untouched.
    for args in [["T-9", "2"], ["T-1", "7"]] {
        let out = leap(&[
            "tickets",
            "move",
            p.to_str().unwrap(),
            args[0],
            "--to-batch",
            args[1],
        ]);
        assert!(!out.status.success());
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert_eq!(fs::read_to_string(&p).unwrap(), now);
}

#[test]
fn move_refuses_a_file_without_tickets_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("TICKETS.md");
    fs::write(&p, "# Notes\n").unwrap();
    let out = leap(&[
        "tickets",
        "move",
        p.to_str().unwrap(),
        "T-1",
        "--to-batch",
        "1",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tickets recognised"));
}

/// A FIFO nobody writes to: reading it would block forever.
fn fifo(dir: &std::path::Path) -> String {
    let path = dir.join("fifo.md");
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    path.to_str().unwrap().to_string()
}

#[test]
fn bad_input_gives_one_line_errors_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin.md");
    fs::write(&bin, b"\x7fELF\x00\x00\x01").unwrap();
    let latin1 = dir.path().join("latin1.md");
    fs::write(&latin1, b"# Tickets\n### T-1: caf\xe9\n").unwrap();
    let big = dir.path().join("big.md");
    let f = fs::File::create(&big).unwrap();
    f.set_len(50 * 1024 * 1024).unwrap();
    let missing = dir.path().join("missing.md");
    let cases = [
        (missing.to_str().unwrap().to_string(), "cannot read"),
        (dir.path().to_str().unwrap().to_string(), "is a directory"),
        (bin.to_str().unwrap().to_string(), "binary file"),
        (latin1.to_str().unwrap().to_string(), "not UTF-8"),
        (big.to_str().unwrap().to_string(), "too large"),
        // Devices and FIFOs are refused before anything is read (they never end).
        ("/dev/zero".to_string(), "not a regular file"),
        ("/dev/urandom".to_string(), "not a regular file"),
        (fifo(dir.path()), "not a regular file"),
    ];
    for (path, want) in cases {
        for cmd in ["parse", "check"] {
            let out = leap(&["tickets", cmd, &path]);
            assert_eq!(out.status.code(), Some(1), "{cmd} {path}");
            let err = String::from_utf8(out.stderr).unwrap();
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.contains(want), "{cmd} {path}: {err}");
        }
    }
}

/// Issue 10, item 10, as it was found: `leap tickets move` in a loop, two of them at once on
/// different tickets, while another process appends lines to the same TICKETS.md (open, append,
/// close, like `echo >>`). Every move lands and stays (neither `leap` undoes the other's), and
/// every appended line is in the file once.
#[test]
fn moves_racing_appends_and_each_other_lose_nothing() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    const MOVES: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("TICKETS.md");
    fs::write(
        &path,
        "# Tickets\n\n## Batch 1: One\n\n### T-001: A\n- **Status:** todo\n\n### T-002: B\n- **Status:** todo\n\n## Batch 2: Two\n\n### T-003: C\n- **Status:** todo\n\n## Log\n\n",
    )
    .unwrap();
    let batch_of = |text: &str, id: &str| -> u32 {
        // The batch heading above the ticket's heading.
        let at = text.find(&format!("### {id}:")).unwrap();
        let heading = text[..at].rfind("## Batch ").unwrap();
        text[heading + 9..heading + 10].parse().unwrap()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let appender = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            use std::io::Write;
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let line = format!("line {n}\n");
                let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
                f.write_all(line.as_bytes()).unwrap();
                drop(f);
                n += 1;
                std::thread::sleep(std::time::Duration::from_micros(300 + n as u64 % 7 * 200));
            }
            n
        })
    };
    let mover = |id: &'static str, first: u32| {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut failures = Vec::new();
            let mut to = first;
            for m in 0..MOVES {
                to = if m % 2 == 0 { first } else { 3 - first };
                let out = leap(&[
                    "tickets",
                    "move",
                    path.to_str().unwrap(),
                    id,
                    "--to-batch",
                    &to.to_string(),
                ]);
                if !out.status.success() {
                    failures.push(format!(
                        "{id} move {m}: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                    continue;
                }
                // Only this thread moves this ticket: it is where this thread put it.
                let now = batch_of(&fs::read_to_string(&path).unwrap(), id);
                if now != to {
                    failures.push(format!("{id} move {m}: in batch {now}, not {to}"));
                }
            }
            (failures, to)
        })
    };
    let (a, b) = (mover("T-001", 2), mover("T-003", 1));
    let (mut failures, a_to) = a.join().unwrap();
    let (b_failures, b_to) = b.join().unwrap();
    failures.extend(b_failures);
    stop.store(true, Ordering::SeqCst);
    let lines = appender.join().unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(batch_of(&text, "T-001"), a_to);
    assert_eq!(batch_of(&text, "T-003"), b_to);
    let lost: Vec<usize> = (0..lines)
        .filter(|i| text.lines().filter(|l| *l == format!("line {i}")).count() != 1)
        .collect();
    assert!(
        lost.is_empty() && failures.is_empty(),
        "lost or doubled {} of {lines} appended lines: {lost:?}; {} of {} moves failed: {failures:?}",
        lost.len(),
        failures.len(),
        2 * MOVES
    );
}

/// Past the cap, the error says the file's size and Leapfrog's limit in words, on one line.
#[test]
fn a_file_over_the_cap_names_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            4_000_001,
            "too large: 4000001 bytes; Leapfrog reads TICKETS.md files up to 4 MB (4000000 bytes)",
        ),
        (
            17_200_000,
            "too large: 17.2 MB; Leapfrog reads TICKETS.md files up to 4 MB",
        ),
    ];
    for (size, want) in cases {
        let path = dir.path().join(format!("TICKETS-{size}.md"));
        fs::File::create(&path).unwrap().set_len(size).unwrap();
        for cmd in ["parse", "check"] {
            let out = leap(&["tickets", cmd, path.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(1), "{cmd}");
            let err = String::from_utf8(out.stderr).unwrap();
            assert_eq!(err, format!("leap: {}: {want}\n", path.display()), "{cmd}");
        }
    }
}

#[test]
fn move_says_when_it_changes_nothing_and_names_batches_that_share_a_number() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("TICKETS.md");
    let text = "# Tasks\n\n## Batch 1: One\n\n- [ ] Write the parser\n- [ ] Add tests\n\n## Batch 2: Two\n\n- [ ] Ship it\n\n## Batch 2: Two again\n\n- [ ] Another\n";
    fs::write(&file, text).unwrap();
    let f = file.to_str().unwrap();
    // A ticket without an ID, by its title; a batch number two batches share: refused, both named.
    let o = leap(&["tickets", "move", f, "Add tests", "--to-batch", "2"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("\"Batch 2: Two\" (line 8) and \"Batch 2: Two again\" (line 12)"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), text);
    // Named by its title: moved. The same move again changes nothing: non-zero, with the reason.
    let o = leap(&["tickets", "move", f, "Add tests", "--to-batch", "Two again"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let moved = fs::read_to_string(&file).unwrap();
    assert!(
        moved.ends_with("- [ ] Another\n- [ ] Add tests\n"),
        "{moved}"
    );
    // (Its heading is on line 11 now that "Add tests" left batch 1.)
    let o = leap(&[
        "tickets",
        "move",
        f,
        "title:add-tests",
        "--to-batch",
        "line:11",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("nothing to change: title:add-tests is already in batch 2"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), moved);
    // And back where it was: the original bytes.
    let o = leap(&[
        "tickets",
        "move",
        f,
        "Add tests",
        "--to-batch",
        "1",
        "--position",
        "1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read_to_string(&file).unwrap(), text);
}
