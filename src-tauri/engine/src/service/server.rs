//! The service: a socket, the projects it runs, and the clients attached to them.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::control::server::{
    constant_time_eq, new_token, prepare_dir, wake_accept, write_private_atomically,
};
use crate::orchestrator::{Clock, OpenOptions, Orchestrator, TrustCheck};
use crate::pty::PaneSize;
use crate::store::Store;
use crate::trust::{ProjectCommands, TrustFile};

use super::fanout::{AgentFanout, ClientOut, Next, Outgoing};
use super::protocol::{
    read_frame, write_message, write_pane, ClientMsg, Frame, FrameKind, ProjectEntry, RunSummary,
    ServerMsg, ServiceRequest, StoreCall, PROTOCOL_VERSION,
};
use super::ServicePaths;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How to run a service.
pub struct ServiceOptions {
    /// Where the socket, token, lock and log live (default [`crate::control::runtime_dir`]).
    pub runtime_dir: PathBuf,
    /// Run state and per-agent files (default [`crate::store::data_dir`]).
    pub data_dir: PathBuf,
    pub store: Arc<dyn Store>,
    /// How agents and hooks call `leap`.
    pub leap_program: String,
    /// Exit after this long with no run in progress and no client; `None`: never.
    pub idle: Option<Duration>,
    /// Where Claude Code keeps its session files (default `$HOME`).
    pub home_dir: Option<PathBuf>,
    pub pane_size: PaneSize,
    /// The clock every project's run reads ([`SystemClock`](crate::orchestrator::SystemClock);
    /// tests move a [`ManualClock`](crate::orchestrator::ManualClock)).
    pub clock: Arc<dyn Clock>,
}

struct Project {
    orch: Arc<Orchestrator>,
    name: String,
    fanouts: Vec<(String, Arc<AgentFanout>)>,
}

struct Inner {
    opts: ServiceOptions,
    paths: ServicePaths,
    token: String,
    projects: Mutex<BTreeMap<String, Arc<Project>>>,
    clients: AtomicUsize,
    next_attachment: AtomicU32,
    stop: AtomicBool,
    stopped: Condvar,
    /// When the service last had a client or a run in progress.
    last_busy: Mutex<Instant>,
    /// The listening socket, to wake the accept loop (even with the socket's file gone).
    wake: Option<UnixListener>,
    _lock: File,
}

/// A running service (see the module docs of [`super`]).
pub struct Service {
    inner: Arc<Inner>,
}

impl Service {
    /// Takes the runtime directory's service lock, listens on its socket (0600) and writes the
    /// token file (0600). A second service in the same directory is refused in words.
    pub fn start(opts: ServiceOptions) -> Result<Service, String> {
        prepare_dir(&opts.runtime_dir)?;
        let paths = ServicePaths::in_dir(&opts.runtime_dir);
        let lock_file = std::fs::OpenOptions::new()
            .mode(0o600)
            .create(true)
            .truncate(false)
            .write(true)
            .open(&paths.lock)
            .map_err(|e| format!("cannot open {}: {e}", paths.lock.display()))?;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(lock_file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(format!(
                "a Leapfrog service already runs for this user (it holds {}); stop it with leap serve --stop",
                paths.lock.display()
            ));
        }
        // Holding the lock, any socket left is a dead service's. The new token is written before
        // the socket exists, so a client that reaches the socket reads this token, never a dead
        // service's.
        let _ = std::fs::remove_file(&paths.socket);
        let token = new_token();
        write_private_atomically(&paths.token, token.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", paths.token.display()))?;
        let listener = UnixListener::bind(&paths.socket)
            .map_err(|e| format!("cannot listen on {}: {e}", paths.socket.display()))?;
        std::fs::set_permissions(&paths.socket, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot chmod {}: {e}", paths.socket.display()))?;
        let inner = Arc::new(Inner {
            opts,
            paths,
            token,
            projects: Mutex::new(BTreeMap::new()),
            clients: AtomicUsize::new(0),
            next_attachment: AtomicU32::new(1),
            stop: AtomicBool::new(false),
            stopped: Condvar::new(),
            last_busy: Mutex::new(Instant::now()),
            wake: listener.try_clone().ok(),
            _lock: lock_file,
        });
        let accept = inner.clone();
        std::thread::Builder::new()
            .name("leapfrog-service".into())
            .spawn(move || accept_loop(&accept, listener))
            .map_err(|e| format!("cannot start the service thread: {e}"))?;
        Ok(Service { inner })
    }

    pub fn paths(&self) -> &ServicePaths {
        &self.inner.paths
    }

    /// Blocks until a client asks the service to shut down, or it was idle for its idle time
    /// (no run in progress, no client). Then every run is stopped and the socket removed.
    pub fn wait(self) {
        let inner = &self.inner;
        let mut busy = lock(&inner.last_busy);
        loop {
            if inner.stop.load(Ordering::SeqCst) {
                break;
            }
            // Its runtime folder was deleted: nothing can reach it any more.
            if !inner.paths.socket.exists() {
                eprintln!(
                    "leap serve: its socket {} was removed: exiting",
                    inner.paths.socket.display()
                );
                break;
            }
            if inner.is_busy() {
                *busy = Instant::now();
            } else if let Some(idle) = inner.opts.idle {
                if busy.elapsed() >= idle {
                    eprintln!(
                        "leap serve: idle for {}s, nothing running: exiting",
                        idle.as_secs()
                    );
                    break;
                }
            }
            busy = inner
                .stopped
                .wait_timeout(busy, Duration::from_millis(500))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(busy);
        self.shutdown();
    }

    /// Stops every run, removes the socket and token file.
    pub fn shutdown(&self) {
        let inner = &self.inner;
        inner.stop.store(true, Ordering::SeqCst);
        let projects: Vec<Arc<Project>> = std::mem::take(&mut *lock(&inner.projects))
            .into_values()
            .collect();
        for p in projects {
            p.orch.stop();
        }
        // Wake the blocking accept().
        match &inner.wake {
            Some(l) => wake_accept(l),
            None => drop(UnixStream::connect(&inner.paths.socket)),
        }
        let _ = std::fs::remove_file(&inner.paths.socket);
        if std::fs::read_to_string(&inner.paths.token).ok().as_deref() == Some(&inner.token) {
            let _ = std::fs::remove_file(&inner.paths.token);
        }
        inner.stopped.notify_all();
    }
}

impl Inner {
    /// A client is connected, a run is in progress or an agent's pane is alive.
    fn is_busy(&self) -> bool {
        if self.clients.load(Ordering::SeqCst) > 0 {
            return true;
        }
        lock(&self.projects).values().any(|p| {
            let s = p.orch.state();
            // An agent still alive after its run finished keeps its session (and what its pane
            // shows) until the user stops the project.
            (s.running && !s.finished) || s.agents.iter().any(|a| a.pid.is_some())
        })
    }

    /// The approvals its runs check.
    fn trust_file(&self) -> TrustFile {
        TrustFile::in_data_dir(&self.opts.data_dir)
    }

    fn project(&self, key: &str) -> Result<Arc<Project>, String> {
        lock(&self.projects).get(key).cloned().ok_or_else(|| {
            format!("the Leapfrog service runs no project {key} (open it: leap run {key})")
        })
    }

    fn entry(key: &str, p: &Project) -> ProjectEntry {
        let s = p.orch.state();
        ProjectEntry {
            project: key.to_string(),
            name: p.name.clone(),
            running: s.running,
            finished: s.finished,
            agents: p.fanouts.iter().map(|(a, _)| a.clone()).collect(),
        }
    }

    /// Opens and starts a project, or finds it open.
    fn open(&self, dir: &Path, fresh: bool, trust: bool) -> Result<ProjectEntry, String> {
        let dir = dir
            .canonicalize()
            .map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
        let key = dir.display().to_string();
        let mut projects = lock(&self.projects);
        if let Some(p) = projects.get(&key) {
            if !fresh {
                return Ok(Inner::entry(&key, p));
            }
            return Err(format!(
                "{key} is running in the Leapfrog service: stop it first (leap serve --stop-project {key}) to start over"
            ));
        }
        let mut opts = OpenOptions::new(&dir, self.opts.store.clone())?;
        opts.data_dir = self.opts.data_dir.clone();
        opts.leap_program = self.opts.leap_program.clone();
        opts.runtime_dir = project_runtime_dir(&self.opts.runtime_dir, &dir);
        opts.write_token_file = true;
        opts.fresh = fresh;
        opts.home_dir = self.opts.home_dir.clone();
        opts.pane_size = self.opts.pane_size;
        opts.clock = self.opts.clock.clone();
        if trust {
            opts.trust = TrustCheck::Vouched;
        }
        prepare_dir(&opts.runtime_dir)?;
        let _ = std::fs::write(
            opts.runtime_dir.join(super::PROJECT_FILE),
            dir.display().to_string(),
        );
        let orch = Arc::new(Orchestrator::open(opts)?);
        let state = orch.state();
        let fanouts: Vec<(String, Arc<AgentFanout>)> = state
            .agents
            .iter()
            .map(|a| (a.id.clone(), AgentFanout::new(Arc::downgrade(&orch), &a.id)))
            .collect();
        // Before the agents start, so that every byte they write passes the fan-out.
        for (agent, f) in &fanouts {
            orch.attach_ui(agent, f.sink())?;
        }
        orch.start()?;
        let name = if state.project.is_empty() {
            key.clone()
        } else {
            state.project.clone()
        };
        let p = Arc::new(Project {
            orch,
            name,
            fanouts,
        });
        let entry = Inner::entry(&key, &p);
        projects.insert(key, p);
        Ok(entry)
    }
}

/// The folder of a project's control endpoint inside the service's runtime directory: one per
/// project, so that several run at once.
pub fn project_runtime_dir(runtime_dir: &Path, project_dir: &Path) -> PathBuf {
    let hash = blake3::hash(project_dir.as_os_str().as_encoded_bytes());
    runtime_dir
        .join("projects")
        .join(&hash.to_hex().as_str()[..16])
}

fn accept_loop(inner: &Arc<Inner>, listener: UnixListener) {
    for conn in listener.incoming() {
        if inner.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(conn) = conn else {
            // Out of file descriptors or the like: don't spin.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let inner = inner.clone();
        inner.clients.fetch_add(1, Ordering::SeqCst);
        let spawned = std::thread::Builder::new()
            .name("leapfrog-service-client".into())
            .spawn({
                let inner = inner.clone();
                move || {
                    serve_client(&inner, conn);
                    inner.clients.fetch_sub(1, Ordering::SeqCst);
                    *lock(&inner.last_busy) = Instant::now();
                }
            });
        if spawned.is_err() {
            inner.clients.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// An attachment: the project, the agent's fan-out, the agent.
type Attachment = (Arc<Project>, Arc<AgentFanout>, String);

/// What one client holds: its outgoing queue and its attachments.
struct Session {
    out: Arc<ClientOut>,
    attachments: Mutex<BTreeMap<u32, Attachment>>,
    screens: ScreenWork,
}

/// A fresh screen a client asked for (`reply`: its request's id, answered once the screen is
/// queued), or is owed (it caught up after falling behind), for one of its attachments, with the
/// lines above it if given (see [`ServiceRequest::Resync`]).
struct ScreenOp {
    attachment: u32,
    scrollback: Option<usize>,
    reply: Option<u64>,
    /// The attachment is held and its pane went quiet: its screen unless one came meanwhile.
    settled: bool,
}

/// Fresh screens are made in order by the session's screens thread, since one waits for the
/// pane's mirror to catch up and draws up to a thousand lines. The client's reader (its
/// keystrokes, its holds) and writer (every other pane's output) never wait for that: a
/// keystroke's echo in one pane does not queue behind another pane's screen.
#[derive(Default)]
struct ScreenWork {
    /// The screens waiting, and whether the session has ended.
    queue: Mutex<(VecDeque<ScreenOp>, bool)>,
    ready: Condvar,
}

impl ScreenWork {
    fn push(&self, op: ScreenOp) {
        lock(&self.queue).0.push_back(op);
        self.ready.notify_one();
    }

    fn close(&self) {
        lock(&self.queue).1 = true;
        self.ready.notify_one();
    }

    /// The next operation; `None` once the session has ended.
    fn next(&self) -> Option<ScreenOp> {
        let mut q = lock(&self.queue);
        loop {
            if q.1 {
                return None;
            }
            if let Some(op) = q.0.pop_front() {
                return Some(op);
            }
            q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The session's screens thread: [`ScreenOp`]s in order (an attachment detached meanwhile has
/// nothing left to do, which is not an error).
fn screens_loop(session: &Session) {
    while let Some(op) = session.screens.next() {
        if let Ok(f) = session.fanout(op.attachment) {
            if op.settled {
                f.settle(&session.out, op.attachment);
            } else {
                f.resync(&session.out, op.attachment, op.scrollback);
            }
        }
        if let Some(id) = op.reply {
            answer(&session.out, id, Ok(serde_json::Value::Null));
        }
    }
}

/// Queues the answer to request `id`.
fn answer(out: &ClientOut, id: u64, result: Result<serde_json::Value, String>) {
    let reply = match result {
        Ok(ok) => ServerMsg::Reply {
            id,
            ok: Some(ok),
            error: None,
        },
        Err(error) => ServerMsg::Reply {
            id,
            ok: None,
            error: Some(error),
        },
    };
    if let Ok(json) = serde_json::to_vec(&reply) {
        out.message(json);
    }
}

impl Session {
    /// The fan-out of one of this client's attachments.
    fn fanout(&self, attachment: u32) -> Result<Arc<AgentFanout>, String> {
        lock(&self.attachments)
            .get(&attachment)
            .map(|(_, f, _)| f.clone())
            .ok_or_else(|| {
                format!("this client has no attachment {attachment} (attach to the pane again)")
            })
    }
}

fn serve_client(inner: &Arc<Inner>, conn: UnixStream) {
    let Ok(write_half) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    // The hello, answered directly.
    let refusal = match read_frame(&mut reader) {
        Ok(Some(Frame::Message(m))) => match serde_json::from_slice::<ClientMsg>(&m) {
            Ok(ClientMsg::Hello { version, token }) => {
                if version != PROTOCOL_VERSION {
                    Some(format!(
                        "this client speaks protocol {version} but the running Leapfrog service speaks {PROTOCOL_VERSION}: stop it (leap serve --stop) so that the new one starts, or use the leap that started it"
                    ))
                } else if !constant_time_eq(token.as_bytes(), inner.token.as_bytes()) {
                    Some(format!(
                        "wrong token: the Leapfrog service's token is in {} (readable only by its user)",
                        inner.paths.token.display()
                    ))
                } else {
                    None
                }
            }
            _ => Some(
                "the first message must be a hello with the protocol version and the token".into(),
            ),
        },
        _ => Some("the first frame must be a hello message".into()),
    };
    let mut w = BufWriter::new(&write_half);
    if let Some(message) = refusal {
        let _ = write_message(&mut w, &ServerMsg::Refused { message });
        let _ = w.flush();
        return;
    }
    let welcome = ServerMsg::Welcome {
        version: PROTOCOL_VERSION,
        pid: std::process::id(),
    };
    if write_message(&mut w, &welcome)
        .and_then(|_| w.flush())
        .is_err()
    {
        return;
    }
    drop(w);
    let session = Arc::new(Session {
        out: Arc::new(ClientOut::default()),
        attachments: Mutex::new(BTreeMap::new()),
        screens: ScreenWork::default(),
    });
    let writer = {
        let session = session.clone();
        let stream = write_half;
        std::thread::Builder::new()
            .name("leapfrog-service-writer".into())
            .spawn(move || write_loop(&session, stream))
    };
    let screens = {
        let session = session.clone();
        std::thread::Builder::new()
            .name("leapfrog-service-screens".into())
            .spawn(move || screens_loop(&session))
    };
    // Without either thread the client would wait for answers that never come: hang up instead
    // (its connection ends, which it reports in words).
    let (writer, screens) = match (writer, screens) {
        (Ok(w), Ok(s)) => (w, s),
        (w, s) => {
            eprintln!("leap serve: a client's threads could not be started: hanging up on it");
            session.screens.close();
            session.out.close();
            for t in [w.ok(), s.ok()].into_iter().flatten() {
                let _ = t.join();
            }
            return;
        }
    };
    while let Ok(Some(frame)) = read_frame(&mut reader) {
        match frame {
            Frame::Message(m) => {
                let Ok(ClientMsg::Request { id, request }) =
                    serde_json::from_slice::<ClientMsg>(&m)
                else {
                    break;
                };
                let shutdown = request == ServiceRequest::Shutdown;
                // A fresh screen: made (and answered) by the session's screens thread. An
                // attachment this client does not have is refused here.
                if let ServiceRequest::Resync {
                    attachment,
                    scrollback,
                } = request
                {
                    match session.fanout(attachment) {
                        Ok(_) => session.screens.push(ScreenOp {
                            attachment,
                            scrollback,
                            reply: Some(id),
                            settled: false,
                        }),
                        Err(e) => answer(&session.out, id, Err(e)),
                    }
                    continue;
                }
                answer(&session.out, id, handle(inner, &session, request));
                if shutdown {
                    inner.stop.store(true, Ordering::SeqCst);
                    inner.stopped.notify_all();
                }
            }
            Frame::Pane(FrameKind::Input, attachment, bytes) => {
                let target = lock(&session.attachments).get(&attachment).cloned();
                if let Some((p, _, agent)) = target {
                    if let Some(pane) = p.orch.agent_pane(&agent) {
                        let _ = p.orch.panes().write(pane, &bytes);
                    }
                }
            }
            Frame::Pane(..) => break,
        }
    }
    // Hung up: stop its screens, forget its attachments, stop its writer.
    session.screens.close();
    let _ = screens.join();
    for (_, (_, f, _)) in std::mem::take(&mut *lock(&session.attachments)) {
        f.drop_client(&session.out);
    }
    session.out.close();
    let _ = writer.join();
}

fn write_loop(session: &Arc<Session>, stream: UnixStream) {
    let mut w = BufWriter::with_capacity(256 << 10, &stream);
    while let Some(next) = session.out.next() {
        let settled = matches!(next, Next::Settled(_));
        let written = match next {
            Next::Frame(Outgoing::Message(json)) => w
                .write_all(&frame_header(FrameKind::Message, json.len()))
                .and_then(|_| w.write_all(&json)),
            Next::Frame(Outgoing::Pane(kind, a, bytes)) => write_pane(&mut w, kind, a, &bytes),
            // Caught up: a fresh screen for each attachment that fell behind. Or quiet: the
            // screen of each held attachment whose pane stopped writing.
            Next::Screens(attachments) | Next::Settled(attachments) => {
                for attachment in attachments {
                    session.screens.push(ScreenOp {
                        attachment,
                        scrollback: None,
                        reply: None,
                        settled,
                    });
                }
                Ok(())
            }
        };
        // Flush when nothing else is queued right now.
        let flushed = written.and_then(|_| {
            if session.out.is_idle() {
                w.flush()
            } else {
                Ok(())
            }
        });
        if flushed.is_err() {
            session.out.close();
            break;
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn frame_header(kind: FrameKind, len: usize) -> [u8; 5] {
    let mut head = [0u8; 5];
    head[0] = kind as u8;
    head[1..5].copy_from_slice(&(len as u32).to_be_bytes());
    head
}

fn to_value(v: impl Serialize) -> Result<serde_json::Value, String> {
    serde_json::to_value(v).map_err(|e| e.to_string())
}

fn handle(
    inner: &Arc<Inner>,
    session: &Arc<Session>,
    request: ServiceRequest,
) -> Result<serde_json::Value, String> {
    match request {
        ServiceRequest::Open { dir, fresh, trust } => to_value(inner.open(&dir, fresh, trust)?),
        ServiceRequest::Projects => {
            let list: Vec<ProjectEntry> = lock(&inner.projects)
                .iter()
                .map(|(k, p)| Inner::entry(k, p))
                .collect();
            to_value(list)
        }
        ServiceRequest::State { project } => to_value(inner.project(&project)?.orch.state()),
        ServiceRequest::Summary { project } => {
            let summary = inner.project(&project)?.orch.summary()?;
            to_value(RunSummary {
                json: to_value(&summary)?,
                text: crate::scheduler::sim::render(&summary),
            })
        }
        ServiceRequest::Command { project, command } => {
            to_value(inner.project(&project)?.orch.command(command)?)
        }
        ServiceRequest::Subscribe { project } => {
            let p = inner.project(&project)?;
            let events = p.orch.subscribe();
            let out = session.out.clone();
            std::thread::Builder::new()
                .name("leapfrog-service-events".into())
                .spawn(move || {
                    for event in events {
                        let msg = ServerMsg::Event {
                            project: project.clone(),
                            event,
                        };
                        let Ok(json) = serde_json::to_vec(&msg) else {
                            continue;
                        };
                        if !out.message(json) {
                            break;
                        }
                    }
                })
                .map_err(|e| format!("cannot start an event thread: {e}"))?;
            Ok(serde_json::Value::Null)
        }
        ServiceRequest::Attach {
            project,
            agent,
            scrollback,
        } => {
            let p = inner.project(&project)?;
            let f = p
                .fanouts
                .iter()
                .find(|(a, _)| *a == agent)
                .map(|(_, f)| f.clone())
                .ok_or_else(|| format!("{project} has no agent {agent:?}"))?;
            let id = inner.next_attachment.fetch_add(1, Ordering::SeqCst);
            lock(&session.attachments).insert(id, (p, f.clone(), agent));
            f.attach(session.out.clone(), id, scrollback);
            to_value(id)
        }
        ServiceRequest::Detach { attachment } => {
            if let Some((_, f, _)) = lock(&session.attachments).remove(&attachment) {
                f.detach(&session.out, attachment);
            }
            Ok(serde_json::Value::Null)
        }
        ServiceRequest::Screen { project, agent } => {
            let p = inner.project(&project)?;
            let pane = p
                .orch
                .agent_pane(&agent)
                .ok_or_else(|| format!("{agent} has no pane (not started)"))?;
            let pane = p.orch.panes().get(pane).map_err(|e| e.to_string())?;
            to_value(pane.screen_contents())
        }
        ServiceRequest::Resize {
            project,
            agent,
            rows,
            cols,
        } => {
            let p = inner.project(&project)?;
            let pane = p
                .orch
                .agent_pane(&agent)
                .ok_or_else(|| format!("{agent} has no pane (not started)"))?;
            p.orch
                .panes()
                .resize(pane, PaneSize::new(rows, cols))
                .map_err(|e| e.to_string())?;
            Ok(serde_json::Value::Null)
        }
        ServiceRequest::Stop { project } => {
            let p = lock(&inner.projects)
                .remove(&project)
                .ok_or_else(|| format!("the Leapfrog service runs no project {project}"))?;
            p.orch.stop();
            to_value(format!("stopped {project}"))
        }
        ServiceRequest::Progress { project } => to_value(inner.project(&project)?.orch.progress()?),
        ServiceRequest::TrustReview { dir } => {
            to_value(inner.trust_file().review(&ProjectCommands::load(&dir)?)?)
        }
        ServiceRequest::Approve { dir, fingerprint } => {
            let now = ProjectCommands::load(&dir)?;
            // Approve what the user saw, never what the folder says after it changed.
            if now.fingerprint != fingerprint {
                return Err(
                    "the project's commands changed while they were shown; look at them again"
                        .into(),
                );
            }
            inner.trust_file().approve(&now)?;
            to_value(format!("approved the commands of {}", now.dir))
        }
        // Made by the session's screens thread (see `serve_client`).
        ServiceRequest::Resync { .. } => {
            Err("a fresh screen is the session's screens thread's to make".into())
        }
        ServiceRequest::Hold { attachment } => {
            session.fanout(attachment)?.hold(&session.out, attachment);
            Ok(serde_json::Value::Null)
        }
        ServiceRequest::Store { call } => store_call(&*inner.opts.store, call),
        ServiceRequest::Shutdown => to_value("the Leapfrog service stops"),
    }
}

/// A store method for a client ([`super::ServiceStore`]); errors in the store's words.
fn store_call(store: &dyn Store, call: StoreCall) -> Result<serde_json::Value, String> {
    let e = |e: crate::store::StoreError| e.to_string();
    match call {
        StoreCall::Apply { change } => to_value(store.apply(*change).map_err(e)?),
        StoreCall::Project { id } => to_value(store.project(&id).map_err(e)?),
        StoreCall::Projects => to_value(store.projects().map_err(e)?),
        StoreCall::Batch { project, number } => to_value(store.batch(&project, number).map_err(e)?),
        StoreCall::Batches { project } => to_value(store.batches(&project).map_err(e)?),
        StoreCall::Ticket { project, id } => to_value(store.ticket(&project, &id).map_err(e)?),
        StoreCall::Tickets { project } => to_value(store.tickets(&project).map_err(e)?),
        StoreCall::PhaseRun { project, id } => to_value(store.phase_run(&project, id).map_err(e)?),
        StoreCall::PhaseRuns { project } => to_value(store.phase_runs(&project).map_err(e)?),
        StoreCall::Handoff { project, id } => to_value(store.handoff(&project, id).map_err(e)?),
        StoreCall::Handoffs { project } => to_value(store.handoffs(&project).map_err(e)?),
        StoreCall::Events {
            project,
            after,
            limit,
        } => to_value(store.events(&project, after, limit).map_err(e)?),
        StoreCall::LastSeq { project } => to_value(store.last_seq(&project).map_err(e)?),
        StoreCall::GenerateId => to_value(store.generate_id().map_err(e)?),
    }
}
