//! Which agent CLIs are installed: found on `PATH`, with the version they print.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{cli_id, default_program};
use crate::model::CliKind;

/// One CLI as found on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Installed {
    pub cli: CliKind,
    /// The program name looked up (`claude`).
    pub program: String,
    /// Where it was found on `PATH`; `None` when it is not installed.
    pub path: Option<PathBuf>,
    /// The first line of `--version` with a version number, trimmed (`2.1.197 (Claude Code)`).
    pub version: Option<String>,
    /// Why the version is missing: timed out, failed to run, printed nothing.
    pub error: Option<String>,
}

/// Looks `program` up in `path_var` (a `PATH`-style list) like a shell would: the first executable file.
/// A program containing `/` is checked as it is.
pub fn find_on_path(program: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return is_executable(&p).then_some(p);
    }
    let path_var = path_var?;
    std::env::split_paths(path_var)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Runs `<path> --version` and returns its version line, killing it after `timeout`.
pub fn version_of(path: &Path, timeout: Duration) -> Result<String, String> {
    let mut child = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} --version did not answer within {} ms",
                    path.display(),
                    timeout.as_millis()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for {}: {e}", path.display())),
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("reading {} --version: {e}", path.display()))?;
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_version_output(&text)
        .ok_or_else(|| format!("{} --version printed no version", path.display()))
}

/// The first line of `--version` output that contains a digit, trimmed.
pub fn parse_version_output(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| l.chars().any(|c| c.is_ascii_digit()))
        .map(str::to_string)
}

/// Detects every shipped CLI (not `custom`) on `path_var`, asking each for its version with `timeout`.
/// Versions are asked in parallel, so the whole call takes at most about `timeout`.
pub fn detect_installed(path_var: Option<&OsStr>, timeout: Duration) -> Vec<Installed> {
    let kinds = [
        CliKind::ClaudeCode,
        CliKind::Codex,
        CliKind::Aider,
        CliKind::Gemini,
        CliKind::Opencode,
    ];
    let found: Vec<(CliKind, String, Option<PathBuf>)> = kinds
        .into_iter()
        .map(|cli| {
            let program = default_program(cli).unwrap_or(cli_id(cli)).to_string();
            let path = find_on_path(&program, path_var);
            (cli, program, path)
        })
        .collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = found
            .into_iter()
            .map(|(cli, program, path)| {
                s.spawn(move || {
                    let (version, error) = match &path {
                        Some(p) => match version_of(p, timeout) {
                            Ok(v) => (Some(v), None),
                            Err(e) => (None, Some(e)),
                        },
                        None => (None, None),
                    };
                    Installed {
                        cli,
                        program,
                        path,
                        version,
                        error,
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("version probe thread"))
            .collect()
    })
}
