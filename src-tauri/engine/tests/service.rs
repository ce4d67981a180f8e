//! The engine as a service, in-process: a real socket, a real sled store and real PTYs in a temp
//! dir, clients over the wire protocol. `leap serve` as a process (started detached, killed,
//! followed by `leap run`) is tested in `src-tauri/cli/tests/service.rs`.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leapfrog_engine::pty::PaneSize;
use leapfrog_engine::service::protocol::{write_message, ClientMsg};
use leapfrog_engine::service::{
    Incoming, Service, ServiceClient, ServiceError, ServiceOptions, ServiceRequest,
    PROTOCOL_VERSION,
};
use leapfrog_engine::store::SledStore;
use serde_json::json;

const PATIENCE: Duration = Duration::from_secs(90);
/// Lines the designer writes once told to: about 12 MB, three times the per-client bound.
const FLOOD_LINES: u32 = 300_000;

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    service: Arc<Service>,
}

/// A project whose designer floods its pane once a file named `go` appears, then says
/// `FLOOD DONE` and reads its input without echo; and a service holding nothing yet.
fn fixture() -> Fixture {
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
    let data = tmp.path().join("data");
    let store = Arc::new(SledStore::open(data.join("db")).unwrap());
    let service = Service::start(ServiceOptions {
        runtime_dir: tmp.path().join("rt"),
        data_dir: data,
        store,
        leap_program: "leap".into(),
        idle: None,
        home_dir: Some(tmp.path().to_path_buf()),
        pane_size: PaneSize::new(24, 80),
    })
    .unwrap();
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
            bytes: 0,
        }
    }

    fn feed(&mut self, incoming: &Incoming, attachment: u32) -> bool {
        match incoming {
            Incoming::Screen {
                attachment: a,
                bytes,
            } if *a == attachment => {
                self.parser = screen_of_24x80();
                self.parser.process(bytes);
                self.screens += 1;
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
    assert_eq!(stuck_term.lines(), engine_screen.lines);
    assert!(
        stuck_term.screens >= 2,
        "a fresh screen after falling behind (screens: {})",
        stuck_term.screens
    );
    let flood_bytes = FLOOD_LINES as usize * 40;
    assert!(
        stuck_term.bytes < flood_bytes / 2,
        "the stuck client got {} bytes of a {flood_bytes}-byte flood",
        stuck_term.bytes
    );

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

#[test]
fn a_wrong_token_or_protocol_version_is_refused_in_words() {
    let f = fixture();
    let paths = f.service.paths().clone();
    let token = std::fs::read_to_string(&paths.token).unwrap();
    let token = token.trim();
    let cases: Vec<(&str, u32, Result<(), &str>)> = vec![
        ("not-the-token", PROTOCOL_VERSION, Err("wrong token")),
        ("", PROTOCOL_VERSION, Err("wrong token")),
        (
            token,
            PROTOCOL_VERSION + 1,
            Err("speaks protocol 2 but the running Leapfrog service speaks 1"),
        ),
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
    let store = Arc::new(SledStore::open(f._tmp.path().join("data2/db")).unwrap());
    let second = Service::start(ServiceOptions {
        runtime_dir: f._tmp.path().join("rt"),
        data_dir: f._tmp.path().join("data2"),
        store,
        leap_program: "leap".into(),
        idle: None,
        home_dir: None,
        pane_size: PaneSize::new(24, 80),
    });
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
    let data = tmp.path().join("data");
    let store = Arc::new(SledStore::open(data.join("db")).unwrap());
    let service = Service::start(ServiceOptions {
        runtime_dir: tmp.path().join("rt"),
        data_dir: data,
        store,
        leap_program: "leap".into(),
        idle: Some(Duration::from_millis(500)),
        home_dir: None,
        pane_size: PaneSize::new(24, 80),
    })
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
