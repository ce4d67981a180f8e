//! The inbox: reports that could not reach the socket because a sandbox forbids it.
//!
//! Codex runs the model's commands in a sandbox whose seccomp filter refuses `connect()` on Unix
//! sockets (measured with Codex 0.171: `PermissionError: [Errno 1] Operation not permitted` in both
//! `read-only` and `workspace-write` modes, unless `sandbox_workspace_write.network_access=true`).
//! A `leap complete` run by Codex therefore cannot reach the app. When `LEAPFROG_SPOOL` names a
//! directory the agent may write (the project's `.leapfrog/inbox/`), the client writes the request
//! there instead, one JSON file per request, and the app drains the directory ([`drain`]) when it
//! changes. Requests in the inbox carry the token like any other and are checked the same way.

use std::path::{Path, PathBuf};

use super::protocol::{Envelope, Response};
use super::server::{handle_line, ControlHandler};

/// Env var: the inbox directory for requests the socket cannot take.
pub const ENV_SPOOL: &str = "LEAPFROG_SPOOL";

/// The conventional inbox of a project: `<project>/.leapfrog/inbox`.
pub fn project_inbox(project_dir: &Path) -> PathBuf {
    project_dir.join(".leapfrog").join("inbox")
}

/// Writes one request to the inbox as `<millis>-<seq>-<random>-<op>.json` (written under a temporary name,
/// then renamed, so the app never reads half a file). Returns the file's path.
pub fn write(dir: &Path, envelope: &Envelope) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    // A sequence keeps one process's requests in order within a millisecond; a random part, not
    // the pid, keeps processes apart (sandboxed processes see small pids of their own namespace).
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let random = uuid::Uuid::new_v4().simple().to_string();
    let name = format!(
        "{millis:015}-{seq:06}-{}-{}.json",
        &random[..12],
        envelope.request.op()
    );
    let path = dir.join(&name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let json = serde_json::to_vec(envelope).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, json).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// Whether an inbox file holds a request the client queues there: a report (`complete`, `handoff`,
/// `hook`). A verify, a status or an open-project request from a file is refused.
fn is_report(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|v| {
        let op = v.get("op").and_then(|o| o.as_str());
        matches!(op, Some("complete" | "handoff" | "hook"))
    })
}

/// The largest report file read from the inbox (a report is a line of JSON).
pub const MAX_REQUEST_BYTES: u64 = 1 << 20;

/// Handles every request waiting in the inbox, oldest first, and removes each file once handled.
/// Returns each file with the answer it got (a wrong token or a bad file is answered with an error
/// and removed too, so the inbox never jams). Temporary files being written are left alone.
pub fn drain(dir: &Path, token: &str, handler: &dyn ControlHandler) -> Vec<(PathBuf, Response)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        // Only regular files, not followed through a symlink: a FIFO would block this thread
        // (and every later report) forever, and a device would be read without end.
        let regular = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file());
        let response = if regular {
            match crate::files::read_regular(&path, "report file", MAX_REQUEST_BYTES) {
                Ok(bytes) if !is_report(&bytes) => Response::error(format!(
                    "{}: only reports (complete, handoff, hook) come through the inbox; ignored",
                    path.display()
                )),
                Ok(bytes) => handle_line(&bytes, token, handler),
                Err(e) => Response::error(e),
            }
        } else {
            Response::error(format!(
                "{}: not a regular file; ignored and removed",
                path.display()
            ))
        };
        let _ = std::fs::remove_file(&path);
        out.push((path, response));
    }
    out
}
