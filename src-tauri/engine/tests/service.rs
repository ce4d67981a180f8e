//! The engine as a service, in-process: a real socket, a real sled store and real PTYs in a temp
//! dir, clients over the wire protocol. `leap serve` as a process (started detached, killed,
//! followed by `leap run`) is tested in `src-tauri/cli/tests/service.rs`.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leapfrog_engine::model::{Pattern, Project};
use leapfrog_engine::pty::PaneSize;
use leapfrog_engine::service::protocol::{write_message, ClientMsg};
use leapfrog_engine::service::{
    Incoming, Service, ServiceClient, ServiceError, ServiceOptions, ServiceRequest, ServiceStore,
    INCOMING_BOUND, PROTOCOL_VERSION,
};
use leapfrog_engine::store::{SledStore, Store};
use serde_json::json;

const PATIENCE: Duration = Duration::from_secs(90);
/// Lines the designer writes once told to: about 12 MB, three times the per-client bound.
const FLOOD_LINES: u32 = 300_000;

/// A service's options in `root`: runtime dir `rt`, data dir `data` (with its store).
fn options(root: &std::path::Path, data: &str, idle: Option<Duration>) -> ServiceOptions {
    let data = root.join(data);
    ServiceOptions {
        runtime_dir: root.join("rt"),
        store: Arc::new(SledStore::open(data.join("db")).unwrap()),
        data_dir: data,
        leap_program: "leap".into(),
        idle,
        home_dir: None,
        pane_size: PaneSize::new(24, 80),
        clock: Arc::new(leapfrog_engine::orchestrator::SystemClock),
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    service: Arc<Service>,
}

/// A project whose designer floods its pane once a file named `go` appears, then says
/// `FLOOD DONE` and reads its input without echo; and a service holding nothing yet.
fn fixture() -> Fixture {
    fixture_idle(None)
}

/// [`fixture`] with the service's idle time.
fn fixture_idle(idle: Option<Duration>) -> Fixture {
    fixture_with(idle, Arc::new(leapfrog_engine::orchestrator::SystemClock))
}

/// [`fixture`] with the service's idle time and the clock its runs read.
fn fixture_with(
    idle: Option<Duration>,
    clock: Arc<dyn leapfrog_engine::orchestrator::Clock>,
) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    std::fs::create_dir_all(dir.join(".leapfrog")).unwrap();
    std::fs::write(
        dir.join("TICKETS.md"),
        "# Tickets\n\n## Batch 1: One\n\n### T-001: First\n- **Status:** todo\n",
    )
    .unwrap();
    let flood = format!(
        "sh -c 'while [ ! -e go ]; do sleep 0.05; done; yes \"flood line: the quick brown fox\" | head -n {FLOOD_LINES} | cat -n; printf \"\\033[1;32mFLOOD DONE\\033[m\\n\"; stty -echo; exec cat >/dev/null'"
    );
    let config = json!({
        "name": "service-test",
        "pattern": "leapfrog",
        "agents": [
            {"id": "designer", "cli": "custom", "command": flood, "roles": ["design", "review"]},
            {"id": "builder", "cli": "custom", "command": "sh -c 'stty -echo; exec cat >/dev/null'",
             "roles": ["build", "fix"]}
        ]
    });
    std::fs::write(
        dir.join(".leapfrog/project.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    let mut opts = options(tmp.path(), "data", idle);
    opts.home_dir = Some(tmp.path().to_path_buf());
    opts.clock = clock;
    let service = Service::start(opts).unwrap();
    Fixture {
        _tmp: tmp,
        dir,
        service: Arc::new(service),
    }
}

/// A terminal drawn from what a client received: a screen frame resets it.
struct Terminal {
    parser: vt100::Parser,
    screens: usize,
    /// Of them, sent of the service's accord to a held attachment.
    settled: usize,
    bytes: usize,
}

fn screen_of_24x80() -> vt100::Parser {
    use std::num::NonZeroU16;
    vt100::Parser::new(
        NonZeroU16::new(24).unwrap(),
        NonZeroU16::new(80).unwrap(),
        1000,
    )
}

impl Terminal {
    fn new() -> Terminal {
        Terminal {
            parser: screen_of_24x80(),
            screens: 0,
            settled: 0,
            bytes: 0,
        }
    }

    fn feed(&mut self, incoming: &Incoming, attachment: u32) -> bool {
        match incoming {
            Incoming::Screen {
                attachment: a,
                bytes,
                settled,
            } if *a == attachment => {
                self.parser = screen_of_24x80();
                self.parser.process(bytes);
                self.screens += 1;
                self.settled += usize::from(*settled);
                self.bytes += bytes.len();
                true
            }
            Incoming::Output {
                attachment: a,
                bytes,
            } if *a == attachment => {
                self.parser.process(bytes);
                self.bytes += bytes.len();
                true
            }
            _ => false,
        }
    }

    fn lines(&self) -> Vec<String> {
        self.parser
            .screen()
            .rows(0, 80)
            .map(|r| r.trim_end().to_string())
            .collect()
    }
}

/// Reads what `client` receives into `term` until its screen shows `text`.
fn follow_until(client: &ServiceClient, attachment: u32, term: &mut Terminal, text: &str) {
    let deadline = Instant::now() + PATIENCE;
    while !term.parser.screen().contents().contains(text) {
        let left = deadline.saturating_duration_since(Instant::now());
        match client.incoming().recv_timeout(left) {
            Ok(i) => {
                term.feed(&i, attachment);
            }
            Err(_) => panic!(
                "the client never showed {text:?}:\n{}",
                term.lines().join("\n")
            ),
        }
    }
}

/// A client that fell behind the flood caught up with a fresh screen instead of the backlog: it
/// got far less than the flood and ends on the engine's screen.
fn assert_caught_up_with_a_fresh_screen(
    term: &Terminal,
    engine_screen: &leapfrog_engine::pty::ScreenSnapshot,
) {
    assert_eq!(term.lines(), engine_screen.lines);
    assert!(
        term.screens >= 2,
        "a fresh screen after falling behind (screens: {})",
        term.screens
    );
    let flood_bytes = FLOOD_LINES as usize * 40;
    assert!(
        term.bytes < flood_bytes / 2,
        "the client got {} bytes of a {flood_bytes}-byte flood",
        term.bytes
    );
}

#[test]
fn a_client_that_never_reads_does_not_slow_the_child_and_catches_up_with_a_fresh_screen() {
    let f = fixture();
    let paths = f.service.paths().clone();
    let watcher = ServiceClient::connect(&paths).unwrap();
    let project = watcher.open(&f.dir, false, true).unwrap().project;

    // A client that attaches to the designer's pane and then never reads a byte.
    let token = std::fs::read_to_string(&paths.token).unwrap();
    let mut stuck = UnixStream::connect(&paths.socket).unwrap();
    let hello = ClientMsg::Hello {
        version: PROTOCOL_VERSION,
        token: token.trim().into(),
    };
    let attach = ClientMsg::Request {
        id: 1,
        request: ServiceRequest::Attach {
            project: project.clone(),
            agent: "designer".into(),
            scrollback: 100,
        },
    };
    write_message(&mut stuck, &hello).unwrap();
    write_message(&mut stuck, &attach).unwrap();
    stuck.flush().unwrap();

    // A client that reads; and one that hides the pane before the flood.
    let live = watcher.attach(&project, "designer", 100).unwrap();
    let hidden_client = ServiceClient::connect(&paths).unwrap();
    let hidden = hidden_client.attach(&project, "designer", 100).unwrap();
    hidden_client.detach(hidden).unwrap();
    while hidden_client
        .incoming()
        .recv_timeout(Duration::from_millis(200))
        .is_ok()
    {}

    std::fs::write(f.dir.join("go"), "").unwrap();
    // The flood ends while one client has read nothing at all: nothing waits on it.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let screen = watcher.screen(&project, "designer").unwrap();
        if screen.text().contains("FLOOD DONE") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the flood never ended:\n{}",
            screen.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let engine_screen = watcher.screen(&project, "designer").unwrap();

    // The reading client shows exactly what the engine's emulator shows.
    let mut term = Terminal::new();
    follow_until(&watcher, live, &mut term, "FLOOD DONE");
    assert_eq!(term.lines(), engine_screen.lines);

    // The stuck client now reads: it gets a fresh screen instead of the backlog, and ends on
    // the same screen, having received far less than the flood.
    let stuck_client = {
        // Its stream, read through the client's frame reader: the hello's welcome and the
        // attach's reply come first, then the pane.
        let mut reader = std::io::BufReader::new(stuck.try_clone().unwrap());
        let mut term = Terminal::new();
        let attachment = {
            let mut id = None;
            let deadline = Instant::now() + PATIENCE;
            while !term.parser.screen().contents().contains("FLOOD DONE") {
                assert!(
                    Instant::now() < deadline,
                    "the stuck client never caught up"
                );
                match leapfrog_engine::service::protocol::read_frame(&mut reader).unwrap() {
                    Some(leapfrog_engine::service::protocol::Frame::Pane(kind, a, bytes)) => {
                        id = Some(a);
                        let i = match kind {
                            leapfrog_engine::service::protocol::FrameKind::Screen => {
                                Incoming::Screen {
                                    attachment: a,
                                    bytes,
                                    settled: false,
                                }
                            }
                            _ => Incoming::Output {
                                attachment: a,
                                bytes,
                            },
                        };
                        term.feed(&i, a);
                    }
                    Some(_) => {}
                    None => panic!("the service hung up on the stuck client"),
                }
            }
            id.unwrap()
        };
        (term, attachment)
    };
    let (stuck_term, _) = stuck_client;
    eprintln!(
        "stuck client: {} bytes, {} screens; live client: {} bytes, {} screens",
        stuck_term.bytes, stuck_term.screens, term.bytes, term.screens
    );
    assert_caught_up_with_a_fresh_screen(&stuck_term, &engine_screen);

    // The hidden pane's client got nothing after it detached.
    let mut after = Terminal::new();
    while let Ok(i) = hidden_client
        .incoming()
        .recv_timeout(Duration::from_millis(300))
    {
        assert!(!after.feed(&i, hidden), "bytes for a detached pane: {i:?}");
    }
    f.service.shutdown();
}

/// A client whose consumer stops taking what comes (`leap attach` in a terminal slower than the
/// agent's flood): the client's queue stays bounded while the pane floods, and once the consumer
/// takes again it gets a fresh screen instead of the backlog and ends on the engine's screen.
#[test]
fn a_client_whose_consumer_falls_behind_keeps_a_bounded_queue_and_gets_a_fresh_screen() {
    let f = fixture();
    let paths = f.service.paths().clone();
    let watcher = ServiceClient::connect(&paths).unwrap();
    let project = watcher.open(&f.dir, false, true).unwrap().project;
    let slow = ServiceClient::connect(&paths).unwrap();
    let attachment = slow.attach(&project, "designer", 100).unwrap();

    std::fs::write(f.dir.join("go"), "").unwrap();
    let deadline = Instant::now() + PATIENCE;
    let mut peak = 0;
    let engine_screen = loop {
        peak = peak.max(slow.queued_bytes(attachment));
        let screen = watcher.screen(&project, "designer").unwrap();
        if screen.text().contains("FLOOD DONE") {
            break screen;
        }
        assert!(
            Instant::now() < deadline,
            "the flood never ended:\n{}",
            screen.text()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // At most the bound, a frame past it and the screens that end holds.
    assert!(
        peak <= INCOMING_BOUND + (256 << 10),
        "{peak} bytes queued for a consumer that took nothing"
    );

    let mut term = Terminal::new();
    follow_until(&slow, attachment, &mut term, "FLOOD DONE");
    eprintln!(
        "slow consumer: {} bytes, {} screens, peak queue {peak} bytes",
        term.bytes, term.screens
    );
    assert_caught_up_with_a_fresh_screen(&term, &engine_screen);
    f.service.shutdown();
}

/// Two clients (two windows, a window and `leap attach`) attached to one pane: what either types
/// reaches the agent, both see its output, and one leaving leaves the other live.
#[test]
fn two_clients_attached_to_one_pane_both_stay_live() {
    let f = fixture();
    // The builder echoes what it is typed (the terminal's echo and `cat`).
    let config = std::fs::read_to_string(f.dir.join(".leapfrog/project.json")).unwrap();
    std::fs::write(
        f.dir.join(".leapfrog/project.json"),
        config.replace(
            "sh -c 'stty -echo; exec cat >/dev/null'",
            "sh -c 'exec cat'",
        ),
    )
    .unwrap();
    let one = ServiceClient::connect(f.service.paths()).unwrap();
    let project = one.open(&f.dir, false, true).unwrap().project;
    let two = ServiceClient::connect(f.service.paths()).unwrap();
    let a1 = one.attach(&project, "builder", 100).unwrap();
    let a2 = two.attach(&project, "builder", 100).unwrap();
    let (mut t1, mut t2) = (Terminal::new(), Terminal::new());
    one.input(a1, b"typed-in-one\r").unwrap();
    follow_until(&one, a1, &mut t1, "typed-in-one");
    follow_until(&two, a2, &mut t2, "typed-in-one");
    two.input(a2, b"typed-in-two\r").unwrap();
    follow_until(&one, a1, &mut t1, "typed-in-two");
    follow_until(&two, a2, &mut t2, "typed-in-two");
    drop(one);
    two.input(a2, b"after-one-left\r").unwrap();
    follow_until(&two, a2, &mut t2, "after-one-left");
    f.service.shutdown();
}

#[test]
fn a_wrong_token_or_protocol_version_is_refused_in_words() {
    let f = fixture();
    let paths = f.service.paths().clone();
    let token = std::fs::read_to_string(&paths.token).unwrap();
    let token = token.trim();
    let newer = format!(
        "speaks protocol {} but the running Leapfrog service speaks {PROTOCOL_VERSION}",
        PROTOCOL_VERSION + 1
    );
    let cases: Vec<(&str, u32, Result<(), &str>)> = vec![
        ("not-the-token", PROTOCOL_VERSION, Err("wrong token")),
        ("", PROTOCOL_VERSION, Err("wrong token")),
        (token, PROTOCOL_VERSION + 1, Err(&newer)),
        (token, PROTOCOL_VERSION, Ok(())),
    ];
    for (token, version, expect) in cases {
        let got = ServiceClient::connect_with(&paths.socket, token, version);
        match (got, expect) {
            (Ok(c), Ok(())) => {
                assert_eq!(c.projects().unwrap(), vec![]);
            }
            (Err(ServiceError::Refused(m)), Err(want)) => {
                assert!(m.contains(want), "{m}");
            }
            (got, want) => panic!("{token:?} v{version}: {:?}, wanted {want:?}", got.err()),
        }
    }
    // A second service for the same user is refused while this one runs.
    let second = Service::start(options(f._tmp.path(), "data2", None));
    assert!(
        second.err().unwrap().contains("already runs"),
        "a second service in the same folder"
    );
    f.service.shutdown();
    assert!(!paths.socket.exists() && !paths.token.exists());
}

#[test]
fn the_service_stays_up_while_a_client_is_attached_and_exits_when_idle() {
    let tmp = tempfile::tempdir().unwrap();
    let service = Service::start(options(
        tmp.path(),
        "data",
        Some(Duration::from_millis(500)),
    ))
    .unwrap();
    let paths = service.paths().clone();
    let client = ServiceClient::connect(&paths).unwrap();
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        service.wait();
        let _ = done_tx.send(());
    });
    // Several idle times pass with a client connected: still up, still answering.
    assert!(
        done.recv_timeout(Duration::from_secs(3)).is_err(),
        "exited with a client"
    );
    assert_eq!(client.projects().unwrap(), vec![]);
    // The client leaves: the service exits after its idle time, and cleans up.
    drop(client);
    done.recv_timeout(PATIENCE)
        .expect("the idle service never exited");
    assert!(!paths.socket.exists() && !paths.token.exists());
}

#[test]
fn the_service_stays_up_while_its_agents_live_and_exits_once_they_are_stopped() {
    let f = fixture_idle(Some(Duration::from_millis(500)));
    let paths = f.service.paths().clone();
    let client = ServiceClient::connect(&paths).unwrap();
    let entry = client.open(&f.dir, false, true).unwrap();
    let Ok(service) = Arc::try_unwrap(f.service) else {
        panic!("the fixture's service is shared")
    };
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        service.wait();
        let _ = done_tx.send(());
    });
    // The run ends (each phase marked complete as it is dispatched); the agents stay alive.
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let s = client.state(&entry.project).unwrap();
        if s.finished {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never finished: {s:?}"
        );
        for phase in s.agents.iter().filter_map(|a| a.phase) {
            let _ = client.command(
                &entry.project,
                leapfrog_engine::orchestrator::Command::MarkComplete {
                    phase,
                    passed: true,
                },
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // No client for several idle times, the run finished, the agents alive: still up.
    drop(client);
    assert!(
        done.recv_timeout(Duration::from_secs(3)).is_err(),
        "exited with its agents alive"
    );
    let client = ServiceClient::connect(&paths).unwrap();
    let state = client.state(&entry.project).unwrap();
    assert!(state.agents.iter().all(|a| a.pid.is_some()), "{state:?}");
    // The project stopped (its agents hung up) and the client gone: it exits when idle.
    client
        .request(leapfrog_engine::service::ServiceRequest::Stop {
            project: entry.project,
        })
        .unwrap();
    drop(client);
    done.recv_timeout(PATIENCE)
        .expect("the idle service never exited");
    assert!(!paths.socket.exists());
}

/// A service with no project, its `wait()` running in a thread: the receiver hears when it ends.
fn waiting_service(
    tmp: &tempfile::TempDir,
    idle: Option<Duration>,
) -> (
    leapfrog_engine::service::ServicePaths,
    std::sync::mpsc::Receiver<()>,
) {
    let service = Service::start(options(tmp.path(), "data", idle)).unwrap();
    let paths = service.paths().clone();
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        service.wait();
        let _ = done_tx.send(());
    });
    (paths, done)
}

#[test]
fn a_service_whose_socket_file_was_removed_exits() {
    let tmp = tempfile::tempdir().unwrap();
    let (paths, done) = waiting_service(&tmp, None);
    // Still up, with no idle time and no client.
    assert!(done.recv_timeout(Duration::from_secs(1)).is_err());
    std::fs::remove_file(&paths.socket).unwrap();
    done.recv_timeout(Duration::from_secs(5))
        .expect("the service outlived its socket file");
    assert!(!paths.token.exists(), "its token file is removed");
}

#[test]
fn progress_of_a_running_project_on_the_runs_clock() {
    let clock = Arc::new(leapfrog_engine::orchestrator::ManualClock::new());
    let f = fixture_with(None, clock.clone());
    let client = ServiceClient::connect(f.service.paths()).unwrap();
    let project = client.open(&f.dir, false, true).unwrap().project;
    let first = client.progress(&project).unwrap();
    assert_eq!(first.summary.batches, 1);
    assert!(!first.finished);
    // The summary is the run's own (`Summary` says the same), nothing ended yet.
    let summary = client.summary(&project).unwrap();
    assert_eq!(summary.json["batches"], json!(1));
    assert!(first.summary.schedule.is_empty(), "{:?}", first.summary);
    assert!(
        (0.0..1.0).contains(&first.now_minutes),
        "a run started just now: {}",
        first.now_minutes
    );
    clock.advance(Duration::from_secs(90));
    let second = client.progress(&project).unwrap();
    let moved = (second.now_minutes - first.now_minutes) * 60.0;
    assert!(
        (moved - 90.0).abs() < 0.01,
        "the run's clock moved {moved} s when 90 s passed"
    );
    // Over the wire as it is in the engine's own type.
    let back: leapfrog_engine::orchestrator::RunProgress =
        serde_json::from_value(serde_json::to_value(&second).unwrap()).unwrap();
    assert_eq!(back, second);
    match client.progress("/no/such/project") {
        Err(ServiceError::Failed(m)) => assert!(m.contains("runs no project"), "{m}"),
        other => panic!("progress of an unknown project: {other:?}"),
    }
    f.service.shutdown();
}

#[test]
fn trust_review_and_approve_through_the_service() {
    let f = fixture();
    let client = ServiceClient::connect(f.service.paths()).unwrap();
    let review = client.trust_review(&f.dir).unwrap();
    assert!(!review.approved);
    assert_eq!(review.changed.len(), 2, "{review:?}");
    // Its runs check the same file: not approved, not run.
    match client.open(&f.dir, false, false) {
        Err(ServiceError::Failed(m)) => assert!(m.contains("not approved"), "{m}"),
        other => panic!("an unapproved project opened: {other:?}"),
    }
    // Approving other commands than the ones shown is refused.
    match client.approve(&f.dir, "0000") {
        Err(ServiceError::Failed(m)) => assert_eq!(
            m,
            "the project's commands changed while they were shown; look at them again"
        ),
        other => panic!("a wrong fingerprint: {other:?}"),
    }
    assert!(!client.trust_review(&f.dir).unwrap().approved);
    let line = client.approve(&f.dir, &review.project.fingerprint).unwrap();
    assert!(line.contains("approved"), "{line}");
    let again = client.trust_review(&f.dir).unwrap();
    assert!(again.approved && again.changed.is_empty(), "{again:?}");
    assert!(f._tmp.path().join("data/trusted-commands.json").exists());
    // And now it runs without being vouched for.
    let entry = client.open(&f.dir, false, false).unwrap();
    assert!(entry.running, "{entry:?}");
    f.service.shutdown();
}

/// What the client receives for `attachment` until nothing comes for `quiet`: (screens, outputs).
fn drain(client: &ServiceClient, attachment: u32, quiet: Duration) -> (usize, usize) {
    let (mut screens, mut outputs) = (0, 0);
    while let Ok(i) = client.incoming().recv_timeout(quiet) {
        match i {
            Incoming::Screen { attachment: a, .. } if a == attachment => screens += 1,
            Incoming::Output { attachment: a, .. } if a == attachment => outputs += 1,
            _ => {}
        }
    }
    (screens, outputs)
}

#[test]
fn resync_sends_a_fresh_screen_of_the_attachment() {
    let f = fixture();
    let client = ServiceClient::connect(f.service.paths()).unwrap();
    let project = client.open(&f.dir, false, true).unwrap().project;
    let a = client.attach(&project, "builder", 100).unwrap();
    let (screens, _) = drain(&client, a, Duration::from_millis(500));
    assert_eq!(screens, 1, "the attach's screen");
    assert_eq!(drain(&client, a, Duration::from_millis(300)), (0, 0));
    client.resync(a).unwrap();
    let (screens, _) = drain(&client, a, Duration::from_millis(500));
    assert_eq!(screens, 1, "a fresh screen after resync");
    match client.resync(a + 1000) {
        Err(ServiceError::Failed(m)) => assert!(m.contains("no attachment"), "{m}"),
        other => panic!("resync of an unknown attachment: {other:?}"),
    }
    // Detached: no more screens.
    client.detach(a).unwrap();
    assert!(client.resync(a).is_err());
    f.service.shutdown();
}

/// Starts the designer's flood and waits until its pane shows the end of it.
fn flood_to_the_end(f: &Fixture, client: &ServiceClient, project: &str) {
    std::fs::write(f.dir.join("go"), "").unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    while !client
        .screen(project, "designer")
        .unwrap()
        .lines
        .iter()
        .any(|l| l.contains("FLOOD DONE"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the flood never ended"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lines above the screen in the last screen of `attachment` that arrives within `wait`.
fn scrollback_in_screen(client: &ServiceClient, attachment: u32, wait: Duration) -> Option<usize> {
    let mut lines = None;
    while let Ok(i) = client.incoming().recv_timeout(wait) {
        if let Incoming::Screen {
            attachment: a,
            bytes,
            ..
        } = i
        {
            if a == attachment {
                let mut parser = screen_of_24x80();
                parser.process(&bytes);
                parser.screen_mut().set_scrollback(usize::MAX);
                lines = Some(parser.screen().scrollback());
            }
        }
    }
    lines
}

#[test]
fn an_attachment_made_with_the_screen_alone_gets_its_scrollback_on_resync() {
    let f = fixture();
    let client = ServiceClient::connect(f.service.paths()).unwrap();
    let project = client.open(&f.dir, false, true).unwrap().project;
    flood_to_the_end(&f, &client, &project);
    let a = client.attach(&project, "designer", 0).unwrap();
    let quiet = Duration::from_millis(400);
    assert_eq!(
        scrollback_in_screen(&client, a, quiet),
        Some(0),
        "the screen alone"
    );
    client.resync_with_scrollback(a, 50).unwrap();
    assert_eq!(
        scrollback_in_screen(&client, a, quiet),
        Some(50),
        "50 lines above it"
    );
    // Every later screen keeps them.
    client.resync(a).unwrap();
    assert_eq!(
        scrollback_in_screen(&client, a, quiet),
        Some(50),
        "a later screen"
    );
    f.service.shutdown();
}

#[test]
fn a_held_attachment_gets_nothing_while_its_pane_writes_then_its_screen_once_the_pane_is_quiet() {
    let f = fixture();
    let client = ServiceClient::connect(f.service.paths()).unwrap();
    let project = client.open(&f.dir, false, true).unwrap().project;
    let a = client.attach(&project, "designer", 100).unwrap();
    assert_eq!(drain(&client, a, Duration::from_millis(500)).0, 1);
    client.hold(a).unwrap();
    // A request after it is answered after it: the hold is in place before the flood.
    client.projects().unwrap();
    std::fs::write(f.dir.join("go"), "").unwrap();
    // Until the flood ends, the service sends nothing but the screens that end a hold once the
    // pane has written nothing for a while: at the flood's end, and at any stall in it (on a
    // busy machine), after which the client holds again, as the window does.
    let mut term = Terminal::new();
    let mut outputs_before_a_screen = 0;
    let deadline = Instant::now() + PATIENCE;
    while !term.parser.screen().contents().contains("FLOOD DONE") {
        assert!(
            Instant::now() < deadline,
            "no screen of the flood's end came"
        );
        let Ok(i) = client.incoming().recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        match &i {
            Incoming::Output { attachment, .. } if *attachment == a && term.settled == 0 => {
                outputs_before_a_screen += 1;
            }
            Incoming::Screen { attachment, .. } if *attachment == a => {
                term.feed(&i, a);
                if !term.parser.screen().contents().contains("FLOOD DONE") {
                    client.hold(a).unwrap();
                }
                continue;
            }
            _ => {}
        }
        term.feed(&i, a);
    }
    assert_eq!(outputs_before_a_screen, 0, "output sent while held");
    assert_eq!(
        term.screens, term.settled,
        "every screen was sent of the service's accord"
    );
    // The hold is over: the flood's end stays, nothing more comes, and a fresh screen asked
    // for is the same screen.
    assert_eq!(drain(&client, a, Duration::from_millis(300)), (0, 0));
    let settled = term.parser.screen().contents();
    client.resync(a).unwrap();
    let mut again = Terminal::new();
    while let Ok(i) = client.incoming().recv_timeout(Duration::from_millis(500)) {
        again.feed(&i, a);
    }
    assert_eq!((again.screens, again.settled), (1, 0), "one fresh screen");
    assert_eq!(again.parser.screen().contents(), settled);
    f.service.shutdown();
}

#[test]
fn the_services_store_through_the_socket() {
    let f = fixture();
    let paths = f.service.paths().clone();
    let store = ServiceStore::new(Arc::new(ServiceClient::connect(&paths).unwrap()));
    let before = store.projects().unwrap();
    let project = Project {
        id: "through-the-service".into(),
        name: "Through the service".into(),
        repo_path: f.dir.clone(),
        agents: vec![],
        pattern: Pattern::default(),
        lookahead: Some(2),
        sync_interval: None,
        verify_command: Some("true".into()),
    };
    let ack = store.put_project(&project).unwrap();
    assert_eq!((ack.project.as_str(), ack.seq), ("through-the-service", 1));
    // A second read, through another client, sees it.
    let other = ServiceStore::new(Arc::new(ServiceClient::connect(&paths).unwrap()));
    assert_eq!(
        other.project("through-the-service").unwrap(),
        Some(project.clone())
    );
    let after = other.projects().unwrap();
    assert_eq!(after.len(), before.len() + 1);
    assert!(after.contains(&project));
    assert_eq!(other.last_seq("through-the-service").unwrap(), 1);
    let events = other.events("through-the-service", 0, 10).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(other.project("nobody").unwrap(), None);
    let (a, b) = (other.generate_id().unwrap(), store.generate_id().unwrap());
    assert!(b > a);
    // The store's errors, in its words.
    let err = store.append_note("nobody", "x").unwrap_err();
    assert!(err.to_string().contains("unknown project"), "{err}");
    f.service.shutdown();
}

#[test]
fn a_started_agents_process_id_is_in_the_state() {
    let f = fixture();
    let client = ServiceClient::connect(f.service.paths()).unwrap();
    let project = client.open(&f.dir, false, true).unwrap().project;
    let state = client.state(&project).unwrap();
    for a in &state.agents {
        let pid = a
            .pid
            .unwrap_or_else(|| panic!("no pid for {}: {a:?}", a.id));
        // SAFETY: signal 0 only checks that the process exists.
        assert_eq!(
            unsafe { libc::kill(pid as i32, 0) },
            0,
            "{} pid {pid}",
            a.id
        );
    }
    assert_ne!(state.agents[0].pid, state.agents[1].pid);
    f.service.shutdown();
}
