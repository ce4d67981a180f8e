//! `leap start PROJECT`: opens the app on a project, reusing a running window.
//!
//! If a Leapfrog app answers on its control socket, it gets an `open_project` request; otherwise the
//! `leapfrog` binary (next to `leap`, else on `PATH`; `LEAPFROG_APP` overrides) is started on the folder,
//! detached from this terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use leapfrog_engine::agents::find_on_path;
use leapfrog_engine::control::{
    runtime_dir, ClientError, ControlClient, Endpoint, OpenProjectRequest, Request,
};
use leapfrog_engine::project::ProjectFile;

/// Env var: the app binary to start (tests, unusual installs).
pub const ENV_APP: &str = "LEAPFROG_APP";

pub fn run(project: &Path) -> Result<ExitCode, String> {
    if !project.is_dir() {
        return Err(format!("{} is not a folder", project.display()));
    }
    let dir = project
        .canonicalize()
        .map_err(|e| format!("cannot open {}: {e}", project.display()))?;
    let known = ProjectFile::load(&dir)?.is_some();
    // The window's own endpoint (never a project's in the service, which opens no windows).
    match Endpoint::well_known_in(&runtime_dir()) {
        Ok(endpoint) => {
            let client = ControlClient::new(endpoint, None);
            match client.request(Request::OpenProject(OpenProjectRequest {
                path: dir.clone(),
            })) {
                Ok(reply) => {
                    let msg = if reply.message.is_empty() {
                        format!("opened {} in the running Leapfrog", dir.display())
                    } else {
                        reply.message
                    };
                    println!("{msg}");
                    return Ok(ExitCode::SUCCESS);
                }
                Err(ClientError::NotRunning(_)) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        // No app has written its socket and token: start one.
        Err(ClientError::NotRunning(_)) | Err(ClientError::Io(_)) => {}
        Err(e) => return Err(e.to_string()),
    }
    let app = app_binary()?;
    spawn_detached(&app, &dir)?;
    println!(
        "starting Leapfrog on {}{}",
        dir.display(),
        if known {
            ""
        } else {
            " (not set up yet: the app opens its setup wizard; or run leap init first)"
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `LEAPFROG_APP`, else `leapfrog` next to this `leap`, else `leapfrog` on `PATH`.
fn app_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(ENV_APP).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    if let Some(sibling) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("leapfrog")))
        .filter(|p| p.is_file())
    {
        return Ok(sibling);
    }
    find_on_path("leapfrog", std::env::var_os("PATH").as_deref()).ok_or_else(|| {
        "the Leapfrog app (leapfrog) is neither next to leap nor on PATH; install it or set LEAPFROG_APP"
            .to_string()
    })
}

/// Starts the app in its own session, with no terminal: closing this shell does not close the window.
fn spawn_detached(app: &Path, dir: &Path) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(app);
    cmd.arg(dir)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", app.display()))?;
    // Not waited for: it outlives leap. Reaped by init once leap exits.
    drop(child);
    Ok(())
}
