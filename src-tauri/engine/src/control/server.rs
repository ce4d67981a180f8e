//! The app's side of the control endpoint: a Unix socket served by threads, requests dispatched to
//! a [`ControlHandler`] (the engine plugs in there).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::protocol::{
    CompleteRequest, Envelope, HandoffRequest, HookRequest, OpenProjectRequest, Reply, Request,
    Response, ReviewRequest, MAX_LINE,
};
use super::{current_uid, Endpoint, SOCKET_NAME, TOKEN_NAME};

/// What the app does with each request. `agent` is the caller's `LEAPFROG_AGENT`, if any.
/// Errors are one line, shown to the caller as `leap: <error>`.
pub trait ControlHandler: Send + Sync + 'static {
    fn complete(&self, agent: Option<&str>, req: CompleteRequest) -> Result<Reply, String>;
    fn handoff(&self, agent: Option<&str>, req: HandoffRequest) -> Result<Reply, String>;
    fn status(&self, agent: Option<&str>) -> Result<Reply, String>;
    fn verify(&self, agent: Option<&str>) -> Result<Reply, String>;
    /// The user's review of a batch (`leap review`). Apps with no run say so.
    fn review(&self, _agent: Option<&str>, req: ReviewRequest) -> Result<Reply, String> {
        Err(format!(
            "no project is running here, so batch {}'s review cannot be answered",
            req.batch
        ))
    }
    fn hook(&self, agent: Option<&str>, req: HookRequest) -> Result<Reply, String>;
    /// Show a project in the window (`leap start`). Apps that cannot say so.
    fn open_project(&self, _agent: Option<&str>, req: OpenProjectRequest) -> Result<Reply, String> {
        Err(format!(
            "this Leapfrog cannot open another project ({}); close it and run leap start again",
            req.path.display()
        ))
    }
}

/// What a window with no running project answers: it opens a project (`leap start`), and says
/// in words that nothing runs to every report, status or verify request. The app serves it
/// whenever no project's orchestrator holds the control socket, so `leap start` reuses the window.
pub struct Lobby {
    open: Box<dyn Fn(PathBuf) -> Result<String, String> + Send + Sync>,
}

impl Lobby {
    /// `open` shows the project in the window and returns what to tell the caller.
    pub fn new(open: impl Fn(PathBuf) -> Result<String, String> + Send + Sync + 'static) -> Lobby {
        Lobby {
            open: Box::new(open),
        }
    }

    fn nothing_runs() -> Result<Reply, String> {
        Err("no project is running in this Leapfrog window (open one: leap start DIR)".into())
    }
}

impl ControlHandler for Lobby {
    fn complete(&self, _: Option<&str>, _: CompleteRequest) -> Result<Reply, String> {
        Self::nothing_runs()
    }
    fn handoff(&self, _: Option<&str>, _: HandoffRequest) -> Result<Reply, String> {
        Self::nothing_runs()
    }
    fn status(&self, _: Option<&str>) -> Result<Reply, String> {
        Self::nothing_runs()
    }
    fn verify(&self, _: Option<&str>) -> Result<Reply, String> {
        Self::nothing_runs()
    }
    /// A hook from a CLI left running outside any project: nothing to update.
    fn hook(&self, _: Option<&str>, _: HookRequest) -> Result<Reply, String> {
        Ok(Reply::message("hook ignored (no project running)"))
    }
    fn open_project(&self, _: Option<&str>, req: OpenProjectRequest) -> Result<Reply, String> {
        (self.open)(req.path).map(Reply::message)
    }
}

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The runtime directory: created 0700 if missing, refused if another user owns it.
    pub dir: PathBuf,
    /// Also write the token file (`control.token`, 0600) so `leap` in a plain shell finds the app.
    pub write_token_file: bool,
}

impl ServerConfig {
    /// Serve in [`super::runtime_dir`], with the token file.
    pub fn default_location() -> ServerConfig {
        ServerConfig {
            dir: super::runtime_dir(),
            write_token_file: true,
        }
    }
}

/// A running control endpoint. Dropping it (or [`ControlServer::shutdown`]) stops it and removes its
/// socket and token file.
pub struct ControlServer {
    endpoint: Endpoint,
    token_file: Option<PathBuf>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    /// The listening socket, to wake the blocking accept() even when the socket's file is gone
    /// (the runtime directory removed under a running app).
    wake: Option<UnixListener>,
}

/// Wakes a thread blocked in `accept` on `listener`: shutdown(2) makes it return at once on Linux,
/// with or without the socket's file.
pub(crate) fn wake_accept(listener: &UnixListener) {
    use std::os::fd::AsRawFd;
    // SAFETY: shutdown(2) on a descriptor the caller owns.
    unsafe {
        libc::shutdown(listener.as_raw_fd(), libc::SHUT_RDWR);
    }
}

impl ControlServer {
    /// Creates the directory, a fresh random token, binds the socket (0600) and starts serving.
    /// Refuses (one-line error) when another app already answers on that socket.
    pub fn start(
        config: ServerConfig,
        handler: Arc<dyn ControlHandler>,
    ) -> Result<ControlServer, String> {
        prepare_dir(&config.dir)?;
        let socket = config.dir.join(SOCKET_NAME);
        if socket.exists() {
            if UnixStream::connect(&socket).is_ok() {
                return Err(format!(
                    "another Leapfrog is already running (its control socket {} answers)",
                    socket.display()
                ));
            }
            std::fs::remove_file(&socket)
                .map_err(|e| format!("cannot remove stale socket {}: {e}", socket.display()))?;
        }
        let listener = UnixListener::bind(&socket)
            .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?;
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot chmod {}: {e}", socket.display()))?;
        let token = new_token();
        let token_file = if config.write_token_file {
            let path = config.dir.join(TOKEN_NAME);
            write_private_atomically(&path, token.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Some(path)
        } else {
            None
        };
        let stop = Arc::new(AtomicBool::new(false));
        let wake = listener.try_clone().ok();
        let accept = {
            let stop = stop.clone();
            let token = token.clone();
            std::thread::Builder::new()
                .name("leapfrog-control".into())
                .spawn(move || accept_loop(listener, token, handler, stop))
                .map_err(|e| format!("cannot start the control thread: {e}"))?
        };
        Ok(ControlServer {
            endpoint: Endpoint { socket, token },
            token_file,
            stop,
            accept: Some(accept),
            wake,
        })
    }

    /// The socket and token to give agents ([`super::agent_env`]).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Stops accepting, removes the socket and token file. Connections in progress finish their request.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(accept) = self.accept.take() {
            self.stop.store(true, Ordering::SeqCst);
            // Wake the blocking accept().
            match &self.wake {
                Some(l) => wake_accept(l),
                None => drop(UnixStream::connect(&self.endpoint.socket)),
            }
            let _ = accept.join();
            let _ = std::fs::remove_file(&self.endpoint.socket);
            if let Some(tf) = &self.token_file {
                // Only remove the token file if it is still ours.
                if std::fs::read_to_string(tf).ok().as_deref() == Some(&self.endpoint.token) {
                    let _ = std::fs::remove_file(tf);
                }
            }
        }
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

pub(crate) fn prepare_dir(dir: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) => {
            if !m.is_dir() {
                return Err(format!("{} is not a directory", dir.display()));
            }
            if m.uid() != current_uid() {
                return Err(format!(
                    "{} belongs to another user (uid {})",
                    dir.display(),
                    m.uid()
                ));
            }
            if m.mode() & 0o077 != 0 {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| format!("cannot chmod {}: {e}", dir.display()))?;
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display())),
        Err(e) => Err(format!("cannot read {}: {e}", dir.display())),
    }
}

/// A token of 64 hex characters: two v4 UUIDs from the OS's random source (244 random bits).
pub(crate) fn new_token() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    format!("{}{}", a.simple(), b.simple())
}

pub(crate) fn write_private_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// How long a connection may stay silent before the server drops it.
pub const IDLE_CONNECTION: std::time::Duration = std::time::Duration::from_secs(300);

fn accept_loop(
    listener: UnixListener,
    token: String,
    handler: Arc<dyn ControlHandler>,
    stop: Arc<AtomicBool>,
) {
    let token = Arc::new(token);
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let conn = match conn {
            Ok(c) => c,
            Err(_) => {
                // Out of file descriptors or the like: don't spin.
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
        };
        // A connection that sends nothing for this long is dropped (callers send at once).
        let _ = conn.set_read_timeout(Some(IDLE_CONNECTION));
        let token = token.clone();
        let handler = handler.clone();
        let _ = std::thread::Builder::new()
            .name("leapfrog-control-conn".into())
            .spawn(move || serve_connection(conn, &token, handler.as_ref()));
    }
}

fn serve_connection(conn: UnixStream, token: &str, handler: &dyn ControlHandler) {
    let Ok(mut writer) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let too_long = line.len() > MAX_LINE;
        let response = if too_long {
            Response::error(format!("request longer than {MAX_LINE} bytes"))
        } else {
            handle_line(&line, token, handler)
        };
        let mut out = serde_json::to_vec(&response)
            .unwrap_or_else(|_| br#"{"ok":false,"error":"unserialisable response"}"#.to_vec());
        out.push(b'\n');
        if writer.write_all(&out).is_err() || too_long {
            return;
        }
    }
}

/// Handles one request line: parse, check the token, dispatch. Never panics on bad input.
pub fn handle_line(line: &[u8], token: &str, handler: &dyn ControlHandler) -> Response {
    let text = match std::str::from_utf8(line) {
        Ok(t) => t.trim(),
        Err(_) => return Response::error("request is not UTF-8"),
    };
    // Check the token before reporting anything about the request's shape.
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return Response::error(format!("request is not JSON: {e}")),
    };
    let given = value.get("token").and_then(|t| t.as_str()).unwrap_or("");
    // The launch's token (the user's shell, the app), or the token of the agent the request
    // speaks for: an agent cannot speak for another.
    let claimed = value.get("agent").and_then(|a| a.as_str());
    let agent_ok = claimed.is_some_and(|a| {
        constant_time_eq(given.as_bytes(), super::agent_token(token, a).as_bytes())
    });
    if !agent_ok && !constant_time_eq(given.as_bytes(), token.as_bytes()) {
        return Response::error("wrong token: this request is not from this Leapfrog launch");
    }
    let env: Envelope = match serde_json::from_value(value) {
        Ok(e) => e,
        Err(e) => return Response::error(format!("bad request: {e}")),
    };
    if env.v != super::protocol::PROTOCOL_VERSION {
        return Response::error(format!(
            "protocol version {} is not supported (this app speaks {})",
            env.v,
            super::protocol::PROTOCOL_VERSION
        ));
    }
    let agent = env.agent.as_deref();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match env.request {
        Request::Complete(r) => handler.complete(agent, r),
        Request::Handoff(r) => handler.handoff(agent, r),
        Request::Status => handler.status(agent),
        Request::Verify => handler.verify(agent),
        Request::Hook(r) => handler.hook(agent, r),
        Request::OpenProject(r) => handler.open_project(agent, r),
        Request::Review(r) => handler.review(agent, r),
    }));
    match result {
        Ok(r) => Response::from_result(r),
        Err(_) => Response::error("the app failed while handling this request"),
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
