//! The store under real processes (own `main`: this binary is also the child it spawns).
//!
//! - crash: a child applies a stream of changes and prints `ack SEQ id ID` for each acknowledged one; the
//!   parent kills it with SIGKILL at random moments, reopens the database and checks that it opens cleanly,
//!   that every acknowledged change is there and that no id from `generate_id` comes again.
//!   `LEAPFROG_CRASH_KILLS` kills (default 20; the full run uses 200+), `LEAPFROG_CRASH_SEED` to replay a run.
//! - ids after kills: a child takes one id, prints it and is killed before it writes anything else; the
//!   next child's id is larger, every time (the first id after a recovery is the one sled's counter write
//!   was not yet durable for).
//! - already running: while the parent holds the database, a second process opening it gets
//!   "Leapfrog is already running", exits at once, and the database stays intact.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use leapfrog_engine::model::*;
use leapfrog_engine::store::{Change, SledStore, Store, StoreError};

const CHILD_ENV: &str = "LEAPFROG_TEST_CHILD";
const PROJECT: &str = "crash";

fn main() {
    match std::env::var(CHILD_ENV).as_deref() {
        Ok("crash") => child_crash(Path::new(&std::env::args().nth(1).expect("db path"))),
        Ok("id") => child_id(Path::new(&std::env::args().nth(1).expect("db path"))),
        Ok("open") => child_open(Path::new(&std::env::args().nth(1).expect("db path"))),
        Ok(other) => panic!("unknown child mode {other}"),
        Err(_) => {
            let tests: [(&str, fn()); 3] = [
                (
                    "an_id_is_never_given_twice_across_kills",
                    an_id_is_never_given_twice_across_kills,
                ),
                (
                    "second_process_says_already_running",
                    second_process_says_already_running,
                ),
                (
                    "acknowledged_changes_survive_sigkill",
                    acknowledged_changes_survive_sigkill,
                ),
            ];
            for (name, test) in tests {
                let started = Instant::now();
                test();
                println!("test {name} ... ok ({:.1?})", started.elapsed());
            }
        }
    }
}

// ---- the change stream: change number `seq` of the crash project is a pure function of `seq` ----

fn change_for(seq: u64) -> Change {
    let project = PROJECT.to_string();
    if seq == 1 {
        return Change::PutProject {
            project: Project {
                id: project,
                name: "Crash".into(),
                repo_path: "/tmp/crash".into(),
                agents: vec![],
                pattern: Pattern::Leapfrog,
                lookahead: Some(2),
                sync_interval: Some(3),
                verify_command: Some("true".into()),
            },
        };
    }
    match seq % 5 {
        0 => Change::PutTicket {
            project,
            ticket: Ticket {
                id: format!("T-{seq:06}"),
                title: format!("ticket {seq}"),
                status: TicketStatus::Todo,
                batch: Some((seq / 10) as u32),
                depends_on: vec![],
                files: vec![],
                priority: None,
                owner: None,
                body: "x".repeat((seq % 97) as usize),
                acceptance: vec![],
            },
        },
        1 => Change::PutBatch {
            project,
            batch: Batch {
                number: seq as u32,
                name: format!("batch {seq}"),
                goal: None,
                notes: None,
            },
        },
        2 => Change::PutPhaseRun {
            run: PhaseRun {
                id: seq,
                project,
                kind: PhaseKind::Build,
                batch: Some(seq as u32),
                agent: Some("codex".into()),
                started_at: seq,
                ended_at: Some(seq + 1),
                outcome: PhaseOutcome::Passed,
                detection: Some(CompletionDetection::CompleteMessage),
            },
        },
        3 => Change::PutHandoff {
            handoff: HandoffRecord {
                id: seq,
                project,
                agent: None,
                received_at: seq,
                message: Handoff {
                    kind: HandoffKind::Handoff,
                    batch: seq as u32,
                    tickets: vec![format!("T-{seq}")],
                    files: vec![],
                    dependencies: None,
                    verify_command: None,
                    commits: vec![],
                    verify: None,
                    ready_for: vec![],
                },
            },
        },
        _ => Change::Note {
            project,
            text: format!("note {seq}"),
        },
    }
}

/// Is change `seq` (and its event) in the store?
fn check_present(store: &SledStore, seq: u64) -> Result<(), String> {
    let events = store
        .events(PROJECT, seq - 1, 1)
        .map_err(|e| e.to_string())?;
    let expected = change_for(seq);
    match events.first() {
        Some(e) if e.seq == seq && e.change == expected => {}
        other => {
            return Err(format!(
                "event {seq}: expected {expected:?}, found {other:?}"
            ))
        }
    }
    let present = match &expected {
        Change::PutProject { project } => {
            store.project(&project.id).unwrap().as_ref() == Some(project)
        }
        Change::PutTicket { ticket, .. } => {
            store.ticket(PROJECT, &ticket.id).unwrap().as_ref() == Some(ticket)
        }
        Change::PutBatch { batch, .. } => {
            store.batch(PROJECT, batch.number).unwrap().as_ref() == Some(batch)
        }
        Change::PutPhaseRun { run } => {
            store.phase_run(PROJECT, run.id).unwrap().as_ref() == Some(run)
        }
        Change::PutHandoff { handoff } => {
            store.handoff(PROJECT, handoff.id).unwrap().as_ref() == Some(handoff)
        }
        Change::Note { .. } | Change::DeleteTicket { .. } => true,
    };
    if present {
        Ok(())
    } else {
        Err(format!(
            "change {seq} is in the log but its record is missing or different"
        ))
    }
}

/// Nothing is in the store that the log does not account for (no half-applied change).
fn check_no_orphans(store: &SledStore, last: u64) -> Result<(), String> {
    let mut expected = [0usize; 5];
    for seq in 1..=last {
        match change_for(seq) {
            Change::PutProject { .. } => expected[0] += 1,
            Change::PutBatch { .. } => expected[1] += 1,
            Change::PutTicket { .. } => expected[2] += 1,
            Change::PutPhaseRun { .. } => expected[3] += 1,
            Change::PutHandoff { .. } => expected[4] += 1,
            _ => {}
        }
    }
    let found = [
        store.projects().map_err(|e| e.to_string())?.len(),
        store.batches(PROJECT).map_err(|e| e.to_string())?.len(),
        store.tickets(PROJECT).map_err(|e| e.to_string())?.len(),
        store.phase_runs(PROJECT).map_err(|e| e.to_string())?.len(),
        store.handoffs(PROJECT).map_err(|e| e.to_string())?.len(),
    ];
    if found == expected {
        Ok(())
    } else {
        Err(format!(
            "records (projects, batches, tickets, runs, handoffs) {found:?}, log says {expected:?}"
        ))
    }
}

fn child_crash(path: &Path) {
    let store = SledStore::open(path).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(3)
    });
    let mut out = std::io::stdout().lock();
    let mut seq = store.last_seq(PROJECT).unwrap();
    loop {
        seq += 1;
        let ack = store.apply(change_for(seq)).unwrap();
        assert_eq!(ack.seq, seq);
        let id = store.generate_id().unwrap();
        // One short line per write: atomic on a pipe, so the parent never sees half an ack.
        out.write_all(format!("ack {seq} id {id}\n").as_bytes())
            .unwrap();
        out.flush().unwrap();
    }
}

/// Takes one id, says it, then waits to be killed, writing nothing more.
fn child_id(path: &Path) {
    let store = SledStore::open(path).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(3)
    });
    let id = store.generate_id().unwrap();
    println!("id {id}");
    std::io::stdout().flush().unwrap();
    loop {
        std::thread::park();
    }
}

fn an_id_is_never_given_twice_across_kills() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    // A database that has been written and closed, as after a first run.
    let store = SledStore::open(&path).unwrap();
    store.apply(change_for(1)).unwrap();
    let mut last = store.generate_id().unwrap();
    drop(store);
    for kill in 1..=5 {
        let mut child = spawn_child("id", &path);
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // Killed at once: sled's own flusher (every 500 ms) has not run.
        child.kill().expect("SIGKILL the child");
        let status = child.wait().unwrap();
        let id: u64 = line
            .trim()
            .strip_prefix("id ")
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "kill {kill}: the child said {line:?} ({status:?}): {}",
                    read_all(child.stderr.take())
                )
            });
        assert!(
            id > last,
            "kill {kill}: id {id} given again after a kill (the one before was {last})"
        );
        last = id;
    }
}

fn child_open(path: &Path) {
    match SledStore::open(path) {
        Ok(store) => {
            println!("opened, last seq {}", store.last_seq(PROJECT).unwrap());
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(if matches!(e, StoreError::AlreadyRunning { .. }) {
                3
            } else {
                4
            });
        }
    }
}

fn spawn_child(mode: &str, path: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .arg(path)
        .env(CHILD_ENV, mode)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child")
}

/// Waits for the child, killing it and failing if it takes longer than `limit` (it must never hang).
fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            panic!("child did not exit within {limit:?}: it hangs on the locked database");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn read_all(r: Option<impl Read>) -> String {
    let mut s = String::new();
    if let Some(mut r) = r {
        r.read_to_string(&mut s).unwrap();
    }
    s
}

fn second_process_says_already_running() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = SledStore::open(&path).unwrap();
    for seq in 1..=20 {
        store.apply(change_for(seq)).unwrap();
    }

    let mut child = spawn_child("open", &path);
    let status = wait_bounded(&mut child, Duration::from_secs(30));
    let stderr = read_all(child.stderr.take());
    assert_eq!(
        status.code(),
        Some(3),
        "second process: {status:?}, stderr {stderr:?}"
    );
    assert_eq!(
        stderr,
        format!(
            "Leapfrog is already running (database {} is in use)\n",
            path.display()
        )
    );

    // The first process goes on undisturbed.
    for seq in 21..=30 {
        store.apply(change_for(seq)).unwrap();
    }
    drop(store);

    // Once the first one is gone, the next process opens it and sees everything.
    let mut child = spawn_child("open", &path);
    let status = wait_bounded(&mut child, Duration::from_secs(30));
    let stdout = read_all(child.stdout.take());
    assert!(
        status.success(),
        "{status:?} {}",
        read_all(child.stderr.take())
    );
    assert_eq!(stdout, "opened, last seq 30\n");
    let store = SledStore::open(&path).unwrap();
    for seq in 1..=30 {
        check_present(&store, seq).unwrap();
    }
}

/// xorshift64*: enough randomness for kill moments, reproducible from the printed seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn acknowledged_changes_survive_sigkill() {
    let kills: u32 = std::env::var("LEAPFROG_CRASH_KILLS")
        .ok()
        .map(|v| v.parse().expect("LEAPFROG_CRASH_KILLS is a number"))
        .unwrap_or(20);
    let seed: u64 = std::env::var("LEAPFROG_CRASH_SEED")
        .ok()
        .map(|v| v.parse().expect("LEAPFROG_CRASH_SEED is a number"))
        .unwrap_or_else(|| now_ms() | 1);
    println!("crash test: {kills} kills, LEAPFROG_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("db");

    let mut max_acked = 0u64;
    let mut max_id: Option<u64> = None;
    let mut kills_while_writing = 0u64;
    let mut total_acks = 0u64;
    for kill in 1..=kills {
        let mut child = spawn_child("crash", &path);
        let stdout = child.stdout.take().unwrap();
        let (first_ack_tx, first_ack) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            let mut ids = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let parsed = line.strip_prefix("ack ").and_then(|rest| {
                    let (seq, id) = rest.split_once(" id ")?;
                    Some((seq.parse::<u64>().ok()?, id.parse::<u64>().ok()?))
                });
                if let Some((seq, id)) = parsed {
                    if acks.is_empty() {
                        first_ack_tx.send(()).ok();
                    }
                    acks.push(seq);
                    ids.push(id);
                }
            }
            (acks, ids)
        });
        // One kill in four lands anywhere from the start (exec, open, recovery); the others once the child
        // is writing (after its first ack), at a random point of the stream.
        if rng.below(4) == 0 {
            std::thread::sleep(Duration::from_millis(rng.below(40)));
        } else {
            kills_while_writing += 1;
            if first_ack.recv_timeout(Duration::from_secs(60)).is_err() {
                child.kill().ok();
                child.wait().ok();
                panic!(
                    "kill {kill}: the child acknowledged nothing within 60 s: {}",
                    read_all(child.stderr.take())
                );
            }
            std::thread::sleep(Duration::from_micros(rng.below(60_000)));
        }
        child.kill().expect("SIGKILL the child");
        let status = child.wait().unwrap();
        let (acks, ids) = reader.join().unwrap();
        if let (Some(&first), Some(max_id)) = (ids.first(), max_id) {
            assert!(
                first > max_id,
                "kill {kill} (seed {seed}): generated id {first} again after a crash (had {max_id})"
            );
        }
        max_id = ids.last().copied().or(max_id);
        let stderr = read_all(child.stderr.take());
        assert!(
            status.code().is_none(),
            "kill {kill}: the child exited by itself ({status:?}): {stderr}"
        );
        for w in acks.windows(2) {
            assert_eq!(w[1], w[0] + 1, "kill {kill}: acks out of order");
        }
        if let Some(&first) = acks.first() {
            assert_eq!(
                first,
                max_acked + 1,
                "kill {kill}: an acknowledged change was lost before the child restarted"
            );
        }

        let store = SledStore::open(&path).unwrap_or_else(|e| {
            panic!("kill {kill} (seed {seed}): database does not open cleanly: {e}")
        });
        let last = store.last_seq(PROJECT).unwrap();
        let newest = acks.last().copied().unwrap_or(max_acked);
        assert!(
            last >= newest,
            "kill {kill} (seed {seed}): acknowledged {newest}, store has {last}"
        );
        // Everything acknowledged this round, and (every 10 kills and at the end) the whole history.
        let from = if kill % 10 == 0 || kill == kills {
            1
        } else {
            max_acked.max(1)
        };
        for seq in from..=last {
            check_present(&store, seq).unwrap_or_else(|e| panic!("kill {kill} (seed {seed}): {e}"));
        }
        assert_eq!(
            store.events(PROJECT, last, 10).unwrap(),
            vec![],
            "no event beyond the last seq"
        );
        if from == 1 {
            check_no_orphans(&store, last)
                .unwrap_or_else(|e| panic!("kill {kill} (seed {seed}): {e}"));
        }
        drop(store);
        max_acked = last.max(newest);
        total_acks += acks.len() as u64;
    }
    assert!(
        total_acks >= kills_while_writing,
        "{kills_while_writing} kills while writing but only {total_acks} acks"
    );
    println!("crash test: {total_acks} acknowledged changes over {kills} kills ({kills_while_writing} while writing), all present ({max_acked} in the log)");
}
