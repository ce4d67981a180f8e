//! The control endpoint: how agents (and `leap` in a shell) talk to the running app.
//!
//! A Unix domain socket in the user's runtime directory (`$XDG_RUNTIME_DIR/leapfrog/`, else
//! `/tmp/leapfrog-$UID/`; `LEAPFROG_RUNTIME_DIR` overrides), mode 0600 in a 0700 directory, with a
//! random token made at each launch. JSON lines each way ([`protocol`]); every request carries the
//! token and a wrong one is refused.
//!
//! - The app starts a [`server::ControlServer`] with its [`server::ControlHandler`] (the engine).
//! - Agent PTYs get [`agent_env`]: `LEAPFROG_SOCKET`, `LEAPFROG_TOKEN`, `LEAPFROG_AGENT` (and with
//!   [`agent_env_for_project`] `LEAPFROG_SPOOL`, an inbox for sandboxes that block the socket; the app
//!   drains it with [`spool::drain`]).
//! - `leap` uses a [`client::ControlClient`] on [`Endpoint::discover`]: the env vars, else the
//!   well-known socket and the token file the app wrote (0600).

pub mod client;
pub mod protocol;
pub mod server;
pub mod spool;

use std::path::{Path, PathBuf};

pub use client::{ClientError, ControlClient};
pub use protocol::{
    AgentLine, BatchLine, CompleteRequest, HandoffRequest, HookRequest, OpenProjectRequest,
    Outcome, Reply, Request, ReviewRequest, StatusReport,
};
pub use server::{ControlHandler, ControlServer};

/// Env var: the control socket's path.
pub const ENV_SOCKET: &str = "LEAPFROG_SOCKET";
/// Env var: the token of this app launch.
pub const ENV_TOKEN: &str = "LEAPFROG_TOKEN";
/// Env var: the id of the agent whose PTY this is.
pub const ENV_AGENT: &str = "LEAPFROG_AGENT";
/// Env var: overrides the runtime directory (tests, several app instances).
pub const ENV_RUNTIME_DIR: &str = "LEAPFROG_RUNTIME_DIR";

/// The socket's file name in the runtime directory.
pub const SOCKET_NAME: &str = "control.sock";
/// The token file's name in the runtime directory.
pub const TOKEN_NAME: &str = "control.token";

/// Where a running app listens, and the token it wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub socket: PathBuf,
    pub token: String,
}

/// The runtime directory from these environment values (pure, for tests):
/// `LEAPFROG_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/leapfrog`, else `/tmp/leapfrog-<uid>`.
pub fn runtime_dir_from(
    leapfrog_runtime_dir: Option<&str>,
    xdg_runtime_dir: Option<&str>,
    uid: u32,
) -> PathBuf {
    if let Some(d) = leapfrog_runtime_dir.filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(x) = xdg_runtime_dir.filter(|d| !d.is_empty() && Path::new(d).is_absolute()) {
        return Path::new(x).join("leapfrog");
    }
    PathBuf::from(format!("/tmp/leapfrog-{uid}"))
}

/// This process's runtime directory (see [`runtime_dir_from`]).
pub fn runtime_dir() -> PathBuf {
    let get = |k| std::env::var(k).ok();
    runtime_dir_from(
        get(ENV_RUNTIME_DIR).as_deref(),
        get("XDG_RUNTIME_DIR").as_deref(),
        current_uid(),
    )
}

/// The real user id of this process.
pub fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// The environment an agent's PTY gets so that `leap` inside it reaches this app as that agent.
pub fn agent_env(endpoint: &Endpoint, agent_id: &str) -> Vec<(String, String)> {
    vec![
        (
            ENV_SOCKET.to_string(),
            endpoint.socket.display().to_string(),
        ),
        (
            ENV_TOKEN.to_string(),
            agent_token(&endpoint.token, agent_id),
        ),
        (ENV_AGENT.to_string(), agent_id.to_string()),
    ]
}

/// The token of one agent: derived from the launch's token and the agent's id, so that it speaks
/// only for that agent (the server checks it against the request's `agent`). The launch's own
/// token, in the 0600 token file, stays the user's.
pub fn agent_token(launch_token: &str, agent_id: &str) -> String {
    let key = blake3::hash(launch_token.as_bytes());
    blake3::keyed_hash(key.as_bytes(), agent_id.as_bytes())
        .to_hex()
        .to_string()
}

/// [`agent_env`] plus `LEAPFROG_SPOOL`, the project's inbox ([`spool::project_inbox`]), for agents
/// whose CLI runs commands in a sandbox that blocks the socket (Codex).
pub fn agent_env_for_project(
    endpoint: &Endpoint,
    agent_id: &str,
    project_dir: &Path,
) -> Vec<(String, String)> {
    let mut env = agent_env(endpoint, agent_id);
    env.push((
        spool::ENV_SPOOL.to_string(),
        spool::project_inbox(project_dir).display().to_string(),
    ));
    env
}

impl Endpoint {
    /// The endpoint from `LEAPFROG_SOCKET` and `LEAPFROG_TOKEN` (values passed in, for tests).
    /// `Ok(None)` when the socket variable is unset or empty; an error when the token is missing.
    pub fn from_env_values(
        socket: Option<&str>,
        token: Option<&str>,
    ) -> Result<Option<Endpoint>, String> {
        let Some(socket) = socket.filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("{ENV_SOCKET} is set but {ENV_TOKEN} is not"))?;
        Ok(Some(Endpoint {
            socket: PathBuf::from(socket),
            token: token.to_string(),
        }))
    }

    /// The endpoint from this process's environment (see [`Endpoint::from_env_values`]).
    pub fn from_env() -> Result<Option<Endpoint>, String> {
        Endpoint::from_env_values(
            std::env::var(ENV_SOCKET).ok().as_deref(),
            std::env::var(ENV_TOKEN).ok().as_deref(),
        )
    }

    /// The well-known endpoint in `dir`: `control.sock` and the token read from `control.token`.
    pub fn well_known_in(dir: &Path) -> Result<Endpoint, ClientError> {
        let socket = dir.join(SOCKET_NAME);
        let token_file = dir.join(TOKEN_NAME);
        if !socket.exists() {
            return Err(ClientError::NotRunning(socket));
        }
        let token = std::fs::read_to_string(&token_file)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => ClientError::NotRunning(socket.clone()),
                _ => ClientError::Io(format!("cannot read {}: {e}", token_file.display())),
            })?
            .trim()
            .to_string();
        Ok(Endpoint { socket, token })
    }

    /// How `leap` finds its run: the env vars when set (inside an agent's PTY); else the project
    /// the Leapfrog service runs in a folder holding the current directory; else the well-known
    /// socket and token file in [`runtime_dir`] (the window's, or a headless run's); else the only
    /// project the service runs.
    pub fn discover() -> Result<Endpoint, ClientError> {
        match Endpoint::from_env().map_err(ClientError::Usage)? {
            Some(e) => Ok(e),
            None => {
                let dir = runtime_dir();
                let cwd = std::env::current_dir().unwrap_or_default();
                // In a project's folder, the project the service runs there; else the window's
                // endpoint; else the one project the service runs.
                if let Some(e) = Endpoint::in_service_holding(&dir, &cwd) {
                    return Ok(e);
                }
                match Endpoint::well_known_in(&dir) {
                    Err(ClientError::NotRunning(socket)) => {
                        Endpoint::in_service(&dir, &cwd)?.ok_or(ClientError::NotRunning(socket))
                    }
                    other => other,
                }
            }
        }
    }

    /// The control endpoint of the project the service in `runtime_dir` runs whose folder holds
    /// `cwd` (the innermost), if any.
    pub fn in_service_holding(runtime_dir: &Path, cwd: &Path) -> Option<Endpoint> {
        Endpoint::service_projects(runtime_dir)
            .into_iter()
            .filter(|(p, _)| cwd.starts_with(p))
            .max_by_key(|(p, _)| p.as_os_str().len())
            .map(|(_, e)| e)
    }

    /// The projects the service in `runtime_dir` runs, with their endpoints.
    fn service_projects(runtime_dir: &Path) -> Vec<(PathBuf, Endpoint)> {
        let Ok(entries) = std::fs::read_dir(runtime_dir.join("projects")) else {
            return Vec::new();
        };
        let mut found: Vec<(PathBuf, Endpoint)> = Vec::new();
        for e in entries.flatten() {
            let Ok(project) = std::fs::read_to_string(e.path().join(crate::service::PROJECT_FILE))
            else {
                continue;
            };
            if let Ok(endpoint) = Endpoint::well_known_in(&e.path()) {
                found.push((PathBuf::from(project.trim()), endpoint));
            }
        }
        found
    }

    /// The control endpoint of a project the service in `runtime_dir` runs
    /// ([`crate::service::project_runtime_dir`]): the one whose folder holds `cwd`, else the only
    /// one. `Ok(None)` when it runs none; an error in words when several could be meant.
    pub fn in_service(runtime_dir: &Path, cwd: &Path) -> Result<Option<Endpoint>, ClientError> {
        if let Some(e) = Endpoint::in_service_holding(runtime_dir, cwd) {
            return Ok(Some(e));
        }
        let mut found = Endpoint::service_projects(runtime_dir);
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop().map(|(_, e)| e)),
            _ => Err(ClientError::Usage(format!(
                "the Leapfrog service runs several projects ({}): run leap in the folder of the one you mean",
                found
                    .iter()
                    .map(|(p, _)| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}
