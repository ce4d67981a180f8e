//! The caller's side of the control endpoint (used by `leap`).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use super::protocol::{Envelope, Reply, Request, Response, PROTOCOL_VERSION};
use super::Endpoint;

/// Why a request did not get an answer from the app. `Display` is one line for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// No app listens there (no socket, or nobody accepts).
    NotRunning(PathBuf),
    /// The app answered with an error (wrong token, bad request, the engine said no).
    Refused(String),
    /// Misuse, such as `LEAPFROG_SOCKET` without `LEAPFROG_TOKEN`.
    Usage(String),
    /// Anything else on the way.
    Io(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::NotRunning(p) => write!(
                f,
                "no Leapfrog app is running (nothing answers at {})",
                p.display()
            ),
            ClientError::Refused(e) => write!(f, "{e}"),
            ClientError::Usage(e) => write!(f, "{e}"),
            ClientError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// Sends requests to one endpoint, as one agent (or none).
#[derive(Debug, Clone)]
pub struct ControlClient {
    pub endpoint: Endpoint,
    pub agent: Option<String>,
    /// How long to wait for the answer; `None` waits as long as it takes (verify runs can be long).
    pub timeout: Option<Duration>,
    /// The inbox to write to when a sandbox forbids the socket (`LEAPFROG_SPOOL`, see [`super::spool`]).
    pub spool: Option<PathBuf>,
}

impl ControlClient {
    pub fn new(endpoint: Endpoint, agent: Option<String>) -> ControlClient {
        ControlClient {
            endpoint,
            agent,
            timeout: Some(Duration::from_secs(30)),
            spool: None,
        }
    }

    /// A client from the environment: [`Endpoint::discover`], `LEAPFROG_AGENT` and `LEAPFROG_SPOOL`.
    pub fn discover() -> Result<ControlClient, ClientError> {
        let var = |k| std::env::var(k).ok().filter(|v: &String| !v.is_empty());
        let mut c = ControlClient::new(Endpoint::discover()?, var(super::ENV_AGENT));
        c.spool = var(super::spool::ENV_SPOOL).map(PathBuf::from);
        Ok(c)
    }

    /// Sends one request and waits for its answer.
    pub fn request(&self, request: Request) -> Result<Reply, ClientError> {
        let socket = &self.endpoint.socket;
        let env = Envelope {
            v: PROTOCOL_VERSION,
            token: self.endpoint.token.clone(),
            agent: self.agent.clone(),
            request,
        };
        let mut stream = match UnixStream::connect(socket) {
            Ok(s) => s,
            Err(e) => {
                return Err(match e.kind() {
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                        ClientError::NotRunning(socket.clone())
                    }
                    std::io::ErrorKind::PermissionDenied => match &self.spool {
                        // Reports can wait in the inbox; status and verify need an answer now.
                        Some(dir)
                            if matches!(
                                env.request,
                                Request::Complete(_) | Request::Handoff(_) | Request::Hook(_)
                            ) =>
                        {
                            return super::spool::write(dir, &env)
                                .map(|path| {
                                    Reply::message(format!(
                                        "queued for Leapfrog in {} (a sandbox blocks its socket)",
                                        path.display()
                                    ))
                                })
                                .map_err(|w| {
                                    ClientError::Io(format!(
                                        "a sandbox blocks Leapfrog's socket and the inbox: {w}"
                                    ))
                                })
                        }
                        _ => ClientError::Io(format!(
                            "not allowed to connect to {} (a sandbox?): {e}",
                            socket.display()
                        )),
                    },
                    _ => ClientError::Io(format!("cannot connect to {}: {e}", socket.display())),
                });
            }
        };
        stream
            .set_read_timeout(self.timeout)
            .map_err(|e| ClientError::Io(e.to_string()))?;
        let mut line = serde_json::to_vec(&env).map_err(|e| ClientError::Io(e.to_string()))?;
        line.push(b'\n');
        stream
            .write_all(&line)
            .map_err(|e| ClientError::Io(format!("cannot send to the app: {e}")))?;
        let mut answer = String::new();
        BufReader::new(&stream)
            .read_line(&mut answer)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    ClientError::Io(format!(
                        "the app did not answer within {} s",
                        self.timeout.map(|t| t.as_secs()).unwrap_or(0)
                    ))
                }
                _ => ClientError::Io(format!("cannot read the app's answer: {e}")),
            })?;
        if answer.is_empty() {
            return Err(ClientError::Io("the app closed the connection".into()));
        }
        let response: Response = serde_json::from_str(&answer)
            .map_err(|e| ClientError::Io(format!("unreadable answer from the app: {e}")))?;
        response.into_result().map_err(ClientError::Refused)
    }
}
