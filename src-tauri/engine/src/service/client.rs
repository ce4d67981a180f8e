//! A client of the service: the window, `leap run`, `leap attach`, `leap serve --status`, tests.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, BufWriter, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvError, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::orchestrator::{Command as UserCommand, EngineEvent, RunProgress, Snapshot};
use crate::pty::ScreenSnapshot;
use crate::trust::TrustReview;

use super::protocol::{
    read_frame, write_message, write_pane, ClientMsg, Frame, FrameKind, ProjectEntry, RunSummary,
    ServerMsg, ServiceRequest, PROTOCOL_VERSION,
};
use super::ServicePaths;

/// Why a client could not talk to the service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// No service answers (no socket, no token file, or a dead service's socket).
    #[error("no Leapfrog service runs ({0})")]
    NotRunning(String),
    /// The service refused the hello, in its words.
    #[error("the Leapfrog service refused this client: {0}")]
    Refused(String),
    /// The request failed, in the service's words.
    #[error("{0}")]
    Failed(String),
    #[error("the Leapfrog service connection failed: {0}")]
    Io(String),
}

/// Something the service sent besides replies.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Event {
        project: String,
        event: EngineEvent,
    },
    /// Live output of an attachment.
    Output {
        attachment: u32,
        bytes: Vec<u8>,
    },
    /// An attachment's screen, to draw from a reset (on attach, or after falling behind).
    /// `settled`: sent of the service's accord to an attachment this client held, once the
    /// pane's output stopped ([`crate::service::protocol::FrameKind::Settled`]): the hold is over.
    Screen {
        attachment: u32,
        bytes: Vec<u8>,
        settled: bool,
    },
    /// The service hung up.
    Closed,
}

type Pending = Arc<Mutex<HashMap<u64, Sender<Result<serde_json::Value, String>>>>>;
type Writer = Arc<Mutex<BufWriter<UnixStream>>>;

/// Pane bytes of one attachment a client's reader thread queues for its consumer (the thread
/// that takes [`Incoming`]s) at most. Past it, the attachment is held in the service and its
/// output dropped here; once the consumer has taken the attachment's queued bytes down to
/// [`INCOMING_LOW`], a fresh screen is asked for, which ends the hold (or the service sends one
/// by itself once the pane is quiet). So a consumer that falls behind (`leap attach` in a
/// terminal slower than the agent's flood) gets a fresh screen instead of the backlog, as a
/// client that does not read its socket does from the service ([`super::CLIENT_BOUND`]); and
/// one pane's flood never holds back another's output (an echo) queued beside it.
pub const INCOMING_BOUND: usize = 4 << 20;
/// See [`INCOMING_BOUND`].
pub const INCOMING_LOW: usize = 1 << 20;

/// What the reader thread has queued for the consumer, by attachment.
#[derive(Debug, Default)]
struct Queued {
    attachments: BTreeMap<u32, QueuedFor>,
    /// The consumer holds and resyncs its attachments itself
    /// ([`ServiceClient::consumer_catches_up`]): no bound here.
    consumer_catches_up: bool,
}

#[derive(Debug, Default)]
struct QueuedFor {
    /// Pane bytes queued and not taken yet.
    bytes: usize,
    /// Whether its output is dropped (held in the service): `Some(true)` once its fresh screen
    /// is asked for.
    dropping: Option<bool>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A connection to the service. `Send + Sync`: share it in an `Arc` (requests from several threads
/// at once are answered each to its caller).
pub struct ServiceClient {
    writer: Writer,
    next_id: Arc<AtomicU64>,
    pending: Pending,
    /// In a mutex so that the client is `Sync` (a `Receiver` is not).
    incoming: Mutex<Receiver<Incoming>>,
    /// What the reader thread queued in `incoming` ([`INCOMING_BOUND`]).
    queued: Arc<Mutex<Queued>>,
    /// Cleared when the connection ends.
    alive: Arc<AtomicBool>,
    /// The service's process id.
    pub pid: u32,
}

/// How long a request waits for its reply (opening a project starts its agents).
const REPLY_PATIENCE: Duration = Duration::from_secs(120);

impl ServiceClient {
    /// Connects to the service of `paths` with its token file.
    pub fn connect(paths: &ServicePaths) -> Result<ServiceClient, ServiceError> {
        let token = std::fs::read_to_string(&paths.token)
            .map_err(|e| ServiceError::NotRunning(format!("{}: {e}", paths.token.display())))?;
        ServiceClient::connect_with(&paths.socket, token.trim(), PROTOCOL_VERSION)
    }

    /// Connects with a given token and protocol version (tests of the refusals).
    pub fn connect_with(
        socket: &Path,
        token: &str,
        version: u32,
    ) -> Result<ServiceClient, ServiceError> {
        let stream = UnixStream::connect(socket)
            .map_err(|e| ServiceError::NotRunning(format!("{}: {e}", socket.display())))?;
        let mut writer = BufWriter::new(
            stream
                .try_clone()
                .map_err(|e| ServiceError::Io(e.to_string()))?,
        );
        write_message(
            &mut writer,
            &ClientMsg::Hello {
                version,
                token: token.to_string(),
            },
        )
        .and_then(|_| writer.flush())
        .map_err(|e| ServiceError::Io(e.to_string()))?;
        let mut reader = BufReader::new(stream);
        let pid = match read_frame(&mut reader) {
            Ok(Some(Frame::Message(m))) => match serde_json::from_slice::<ServerMsg>(&m) {
                Ok(ServerMsg::Welcome { pid, .. }) => pid,
                Ok(ServerMsg::Refused { message }) => return Err(ServiceError::Refused(message)),
                other => {
                    return Err(ServiceError::Io(format!(
                        "unexpected answer to the hello: {other:?}"
                    )))
                }
            },
            Ok(_) => return Err(ServiceError::Io("the service hung up".into())),
            Err(e) => return Err(ServiceError::Io(e.to_string())),
        };
        let pending: Pending = Arc::default();
        let (tx, incoming) = mpsc::channel();
        let alive = Arc::new(AtomicBool::new(true));
        let writer: Writer = Arc::new(Mutex::new(writer));
        let next_id = Arc::new(AtomicU64::new(1));
        let queued: Arc<Mutex<Queued>> = Arc::default();
        {
            let (pending, alive) = (pending.clone(), alive.clone());
            let out = Outgoing {
                writer: writer.clone(),
                next_id: next_id.clone(),
            };
            let queued = queued.clone();
            std::thread::Builder::new()
                .name("leapfrog-service-reader".into())
                .spawn(move || {
                    read_loop(reader, &pending, &tx, &queued, &out);
                    alive.store(false, Ordering::SeqCst);
                })
                .map_err(|e| ServiceError::Io(e.to_string()))?;
        }
        Ok(ServiceClient {
            writer,
            next_id,
            pending,
            incoming: Mutex::new(incoming),
            queued,
            alive,
            pid,
        })
    }

    /// Connects, starting the service first when none runs: `leap serve` (`leap_program`) in
    /// its own session, detached from this terminal, its log in [`ServicePaths::log`].
    pub fn connect_or_start(
        paths: &ServicePaths,
        leap_program: &Path,
    ) -> Result<ServiceClient, ServiceError> {
        match ServiceClient::connect(paths) {
            Err(ServiceError::NotRunning(_)) => {}
            other => return other,
        }
        let exited = start_detached(paths, leap_program)?;
        let deadline = Instant::now() + Duration::from_secs(15);
        let last_log_line = || {
            let log = std::fs::read_to_string(&paths.log).unwrap_or_default();
            log.lines().last().unwrap_or("").to_string()
        };
        loop {
            match ServiceClient::connect(paths) {
                Err(ServiceError::NotRunning(why)) => {
                    // The service it started ended without answering: say why at once (unless
                    // another service, started meanwhile, holds the lock and will answer).
                    if exited.try_recv().is_ok() {
                        let last = last_log_line();
                        if !last.contains("already runs") {
                            return Err(ServiceError::NotRunning(format!(
                                "leap serve stopped at once ({}); its log, {}, says: {last}",
                                why,
                                paths.log.display()
                            )));
                        }
                    }
                    if Instant::now() >= deadline {
                        let last = last_log_line();
                        return Err(ServiceError::NotRunning(format!(
                            "started leap serve, but it did not answer within 15 s ({why}){}",
                            if last.is_empty() {
                                String::new()
                            } else {
                                format!("; its log says: {last}")
                            }
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                // The token was read just before the new service replaced a dead one's: again.
                Err(ServiceError::Refused(m))
                    if m.starts_with("wrong token") && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    /// Sends a request and waits for its reply.
    pub fn request(&self, request: ServiceRequest) -> Result<serde_json::Value, ServiceError> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = mpsc::channel();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx);
        {
            let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            write_message(&mut *w, &ClientMsg::Request { id, request })
                .and_then(|_| w.flush())
                .map_err(|e| ServiceError::Io(e.to_string()))?;
        }
        match rx.recv_timeout(REPLY_PATIENCE) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(ServiceError::Failed(e)),
            Err(_) => Err(ServiceError::Io("no reply from the service".into())),
        }
    }

    pub(super) fn typed<T: DeserializeOwned>(
        &self,
        request: ServiceRequest,
    ) -> Result<T, ServiceError> {
        serde_json::from_value(self.request(request)?)
            .map_err(|e| ServiceError::Io(format!("an answer this client cannot read: {e}")))
    }

    pub fn open(&self, dir: &Path, fresh: bool, trust: bool) -> Result<ProjectEntry, ServiceError> {
        self.typed(ServiceRequest::Open {
            dir: dir.to_path_buf(),
            fresh,
            trust,
        })
    }

    pub fn projects(&self) -> Result<Vec<ProjectEntry>, ServiceError> {
        self.typed(ServiceRequest::Projects)
    }

    pub fn state(&self, project: &str) -> Result<Snapshot, ServiceError> {
        self.typed(ServiceRequest::State {
            project: project.into(),
        })
    }

    pub fn summary(&self, project: &str) -> Result<RunSummary, ServiceError> {
        self.typed(ServiceRequest::Summary {
            project: project.into(),
        })
    }

    pub fn command(&self, project: &str, command: UserCommand) -> Result<String, ServiceError> {
        self.typed(ServiceRequest::Command {
            project: project.into(),
            command,
        })
    }

    pub fn subscribe(&self, project: &str) -> Result<(), ServiceError> {
        self.request(ServiceRequest::Subscribe {
            project: project.into(),
        })
        .map(|_| ())
    }

    /// Attaches to an agent's pane: its screen comes first, then its output ([`Incoming`]).
    pub fn attach(
        &self,
        project: &str,
        agent: &str,
        scrollback: usize,
    ) -> Result<u32, ServiceError> {
        self.typed(ServiceRequest::Attach {
            project: project.into(),
            agent: agent.into(),
            scrollback,
        })
    }

    pub fn detach(&self, attachment: u32) -> Result<(), ServiceError> {
        lock(&self.queued).attachments.remove(&attachment);
        self.request(ServiceRequest::Detach { attachment })
            .map(|_| ())
    }

    pub fn screen(&self, project: &str, agent: &str) -> Result<ScreenSnapshot, ServiceError> {
        self.typed(ServiceRequest::Screen {
            project: project.into(),
            agent: agent.into(),
        })
    }

    /// The run so far and where it stands (its timeline).
    pub fn progress(&self, project: &str) -> Result<RunProgress, ServiceError> {
        self.typed(ServiceRequest::Progress {
            project: project.into(),
        })
    }

    /// Whether the commands of the project in `dir` are approved on this machine (in the trust
    /// file the service's runs check).
    pub fn trust_review(&self, dir: &Path) -> Result<TrustReview, ServiceError> {
        self.typed(ServiceRequest::TrustReview {
            dir: dir.to_path_buf(),
        })
    }

    /// Approves the commands of the project in `dir` if their fingerprint is still
    /// `fingerprint` (the ones shown); a line in words.
    pub fn approve(&self, dir: &Path, fingerprint: &str) -> Result<String, ServiceError> {
        self.typed(ServiceRequest::Approve {
            dir: dir.to_path_buf(),
            fingerprint: fingerprint.into(),
        })
    }

    /// Asks for a fresh [`Incoming::Screen`] of an attachment (this client dropped its output).
    pub fn resync(&self, attachment: u32) -> Result<(), ServiceError> {
        self.request(ServiceRequest::Resync {
            attachment,
            scrollback: None,
        })
        .map(|_| ())
    }

    /// Asks for a fresh [`Incoming::Screen`] of an attachment with up to `scrollback` lines above
    /// the screen, in it and in every later one (an attachment made with the screen alone, so it
    /// paints at once, gets its scrollback this way).
    pub fn resync_with_scrollback(
        &self,
        attachment: u32,
        scrollback: usize,
    ) -> Result<(), ServiceError> {
        self.request(ServiceRequest::Resync {
            attachment,
            scrollback: Some(scrollback),
        })
        .map(|_| ())
    }

    /// This client's renderer fell behind on an attachment: the service sends nothing more for
    /// it until [`ServiceClient::resync`], or until the pane's output stops (then a settled
    /// [`Incoming::Screen`] comes of the service's accord). Sent without waiting for the reply
    /// (so the thread that reads the connection can send it), and ordered before any later
    /// request.
    pub fn hold(&self, attachment: u32) -> Result<(), ServiceError> {
        self.send(ServiceRequest::Hold { attachment })
    }

    /// Sends a request whose reply nobody waits for.
    fn send(&self, request: ServiceRequest) -> Result<(), ServiceError> {
        send_request(&self.writer, &self.next_id, request)
    }

    /// Keystrokes or a paste for an attached pane.
    pub fn input(&self, attachment: u32, bytes: &[u8]) -> Result<(), ServiceError> {
        self.pane_input(attachment).send(bytes)
    }

    /// Sends keystrokes to an attached pane from another thread.
    pub fn pane_input(&self, attachment: u32) -> PaneInput {
        PaneInput {
            writer: self.writer.clone(),
            attachment,
        }
    }

    /// Asks the service to stop every run and exit, and waits until it has: its lock on
    /// `paths.lock` is released only when the process is gone, with the store's.
    pub fn shutdown(&self, paths: &ServicePaths, patience: Duration) -> Result<(), ServiceError> {
        use std::os::fd::AsRawFd;
        self.request(ServiceRequest::Shutdown)?;
        let deadline = Instant::now() + patience;
        let lock = std::fs::File::open(&paths.lock)
            .map_err(|e| ServiceError::Io(format!("{}: {e}", paths.lock.display())))?;
        loop {
            // SAFETY: flock on a descriptor this function owns; released when it is closed.
            if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ServiceError::Io(format!(
                    "the service (pid {}) did not exit within {} s",
                    self.pid,
                    patience.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Events and pane bytes, in the order the service sent them. One reader at a time: the
    /// receiver is locked while the guard lives. What is taken from it leaves the queue's bound
    /// ([`INCOMING_BOUND`]).
    pub fn incoming(&self) -> IncomingQueue<'_> {
        IncomingQueue {
            rx: self.incoming.lock().unwrap_or_else(|e| e.into_inner()),
            client: self,
        }
    }

    /// This client's consumer holds an attachment whose renderer fell behind and asks for its
    /// fresh screens itself (the window's `Catchup`, which also knows which screen carries the
    /// scrollback): the client then queues what comes without a bound of its own
    /// ([`INCOMING_BOUND`]), whose holds and screens would come in between the consumer's (a
    /// screen without scrollback after the one with it). The service still bounds what it keeps
    /// for the client ([`super::CLIENT_BOUND`]), and the consumer's holds stop what it sends.
    pub fn consumer_catches_up(&self) {
        lock(&self.queued).consumer_catches_up = true;
    }

    /// Pane bytes of `attachment` queued for the consumer and not taken yet: at most
    /// [`INCOMING_BOUND`] and a frame, plus the screens that end holds.
    pub fn queued_bytes(&self, attachment: u32) -> usize {
        lock(&self.queued)
            .attachments
            .get(&attachment)
            .map_or(0, |q| q.bytes)
    }

    /// The consumer took `incoming`: it leaves the queue. An attachment whose output was dropped
    /// gets its fresh screen asked for (which ends its hold in the service) once the consumer has
    /// taken its queued bytes down to [`INCOMING_LOW`].
    fn took(&self, incoming: &Incoming) {
        let (Incoming::Output { attachment, bytes }
        | Incoming::Screen {
            attachment, bytes, ..
        }) = incoming
        else {
            return;
        };
        let ask = {
            let mut q = lock(&self.queued);
            let Some(a) = q.attachments.get_mut(attachment) else {
                return;
            };
            a.bytes = a.bytes.saturating_sub(bytes.len());
            match a.dropping {
                Some(false) if a.bytes <= INCOMING_LOW => {
                    a.dropping = Some(true);
                    true
                }
                None if a.bytes == 0 => {
                    q.attachments.remove(attachment);
                    false
                }
                _ => false,
            }
        };
        if ask {
            // Sent after the hold, which the reader thread wrote before it marked the attachment.
            // The screen alone: the lines above it scroll out of a flood anyway, and a consumer
            // that fell behind should not be handed a thousand of them (the window asks for its
            // screens with their scrollback, or without, each time).
            if let Err(e) = self.send(ServiceRequest::Resync {
                attachment: *attachment,
                scrollback: Some(0),
            }) {
                tracing::debug!("resync of attachment {attachment}: {e}");
            }
        }
    }

    /// The next event or pane frame; [`Incoming::Closed`] once the connection has ended.
    pub fn next_incoming(&self) -> Incoming {
        self.incoming().recv().unwrap_or(Incoming::Closed)
    }

    /// Whether the connection is still up (the service has not hung up).
    pub fn is_connected(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// Resizes an agent's pane.
    pub fn resize(
        &self,
        project: &str,
        agent: &str,
        rows: u16,
        cols: u16,
    ) -> Result<(), ServiceError> {
        self.request(ServiceRequest::Resize {
            project: project.into(),
            agent: agent.into(),
            rows,
            cols,
        })
        .map(|_| ())
    }

    /// Hangs up now (other holders of this client see it closed): the service forgets this
    /// client's subscriptions and attachments.
    pub fn hang_up(&self) {
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let _ = w.get_ref().shutdown(std::net::Shutdown::Both);
    }
}

impl Drop for ServiceClient {
    /// Hangs up: the reader thread holds its own handle of the socket, so dropping the writer
    /// alone would leave the connection open (and the service busy).
    fn drop(&mut self) {
        self.hang_up();
    }
}

/// The receiving end of a client's connection ([`ServiceClient::incoming`]): a `Receiver`'s
/// `recv`, `recv_timeout` and `try_recv`, which also count what the consumer took.
pub struct IncomingQueue<'a> {
    rx: MutexGuard<'a, Receiver<Incoming>>,
    client: &'a ServiceClient,
}

impl IncomingQueue<'_> {
    pub fn recv(&self) -> Result<Incoming, RecvError> {
        let incoming = self.rx.recv()?;
        self.client.took(&incoming);
        Ok(incoming)
    }

    pub fn recv_timeout(&self, timeout: Duration) -> Result<Incoming, RecvTimeoutError> {
        let incoming = self.rx.recv_timeout(timeout)?;
        self.client.took(&incoming);
        Ok(incoming)
    }

    pub fn try_recv(&self) -> Result<Incoming, TryRecvError> {
        let incoming = self.rx.try_recv()?;
        self.client.took(&incoming);
        Ok(incoming)
    }
}

/// What the reader thread needs to send a request (a hold) itself.
struct Outgoing {
    writer: Writer,
    next_id: Arc<AtomicU64>,
}

/// Sends a request whose reply nobody waits for.
fn send_request(
    writer: &Writer,
    next_id: &AtomicU64,
    request: ServiceRequest,
) -> Result<(), ServiceError> {
    let id = next_id.fetch_add(1, Ordering::SeqCst);
    let mut w = lock(writer);
    write_message(&mut *w, &ClientMsg::Request { id, request })
        .and_then(|_| w.flush())
        .map_err(|e| ServiceError::Io(e.to_string()))
}

/// Keystrokes for one attached pane (see [`ServiceClient::pane_input`]).
#[derive(Clone)]
pub struct PaneInput {
    writer: Writer,
    attachment: u32,
}

impl PaneInput {
    pub fn send(&self, bytes: &[u8]) -> Result<(), ServiceError> {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        write_pane(&mut *w, FrameKind::Input, self.attachment, bytes)
            .and_then(|_| w.flush())
            .map_err(|e| ServiceError::Io(e.to_string()))
    }
}

/// Reads the connection: replies to their waiters, the rest to the consumer's queue, whose pane
/// bytes it bounds ([`INCOMING_BOUND`]).
fn read_loop(
    mut reader: BufReader<UnixStream>,
    pending: &Pending,
    tx: &Sender<Incoming>,
    queued: &Mutex<Queued>,
    out: &Outgoing,
) {
    loop {
        let incoming = match read_frame(&mut reader) {
            Ok(Some(Frame::Message(m))) => match serde_json::from_slice::<ServerMsg>(&m) {
                Ok(ServerMsg::Reply { id, ok, error }) => {
                    let waiter = pending
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&id);
                    if let Some(w) = waiter {
                        let _ = w.send(match error {
                            Some(e) => Err(e),
                            None => Ok(ok.unwrap_or(serde_json::Value::Null)),
                        });
                    }
                    continue;
                }
                Ok(ServerMsg::Event { project, event }) => Incoming::Event { project, event },
                _ => continue,
            },
            Ok(Some(Frame::Pane(FrameKind::Output, attachment, bytes))) => {
                let mut guard = lock(queued);
                let q = &mut *guard;
                let a = q.attachments.entry(attachment).or_default();
                if a.dropping.is_some() {
                    continue;
                }
                // One frame always passes (with nothing queued, none would be taken to ask for
                // the screen).
                if !q.consumer_catches_up && a.bytes > 0 && a.bytes + bytes.len() > INCOMING_BOUND {
                    // The hold is written before the consumer can see the attachment marked,
                    // and so before the resync it sends once it has caught up.
                    a.dropping = Some(false);
                    let hold = ServiceRequest::Hold { attachment };
                    if let Err(e) = send_request(&out.writer, &out.next_id, hold) {
                        tracing::debug!("hold of attachment {attachment}: {e}");
                    }
                    continue;
                }
                a.bytes += bytes.len();
                Incoming::Output { attachment, bytes }
            }
            Ok(Some(Frame::Pane(
                kind @ (FrameKind::Screen | FrameKind::Settled),
                attachment,
                bytes,
            ))) => {
                // A screen draws the pane from a reset: its output follows on from it.
                let mut q = lock(queued);
                let a = q.attachments.entry(attachment).or_default();
                a.dropping = None;
                a.bytes += bytes.len();
                Incoming::Screen {
                    attachment,
                    bytes,
                    settled: kind == FrameKind::Settled,
                }
            }
            Ok(Some(Frame::Pane(..))) => continue,
            Ok(None) | Err(_) => break,
        };
        if tx.send(incoming).is_err() {
            break;
        }
    }
    // Waiters get an error rather than a timeout.
    pending.lock().unwrap_or_else(|e| e.into_inner()).clear();
    let _ = tx.send(Incoming::Closed);
}

/// Starts `leap serve` in its own session with no terminal; its output goes to the log.
/// Starts `leap serve`; the receiver hears when that process has ended.
fn start_detached(paths: &ServicePaths, leap_program: &Path) -> Result<Receiver<()>, ServiceError> {
    use std::os::unix::process::CommandExt;
    crate::control::server::prepare_dir(
        paths
            .socket
            .parent()
            .ok_or_else(|| ServiceError::Io("the socket has no folder".into()))?,
    )
    .map_err(ServiceError::Io)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&paths.log)
        .map_err(|e| ServiceError::Io(format!("cannot open {}: {e}", paths.log.display())))?;
    let mut cmd = Command::new(leap_program);
    cmd.arg("serve")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| {
        ServiceError::Io(format!(
            "cannot start {} serve: {e}",
            leap_program.display()
        ))
    })?;
    // Not waited for here: it outlives this client. A reaper thread collects it if this process
    // lives longer than the service (tests), and says when it ended.
    let (tx, exited) = mpsc::channel();
    std::thread::spawn(move || {
        let mut child = child;
        let _ = child.wait();
        let _ = tx.send(());
    });
    Ok(exited)
}
