//! Getting an agent CLI onto this machine from the app: where a user-level install goes, the exact
//! command that installs it (shown to the user before it runs), and each CLI's own sign-in.
//!
//! Installs go into the user's own prefix (`~/.local`, so binaries land in `~/.local/bin`) with
//! the user's `npm`; nothing here uses `sudo` or runs without being asked.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use super::{cli_id, default_program};
use crate::model::CliKind;

/// The npm package a CLI is distributed as; `None` when it is not installed with npm (Aider is a
/// Python package) or is a custom command.
pub fn npm_package(cli: CliKind) -> Option<&'static str> {
    match cli {
        CliKind::ClaudeCode => Some("@anthropic-ai/claude-code"),
        CliKind::Codex => Some("@openai/codex"),
        CliKind::Gemini => Some("@google/gemini-cli"),
        CliKind::Opencode => Some("opencode-ai"),
        CliKind::Aider | CliKind::Custom => None,
    }
}

/// How a user who cannot install it from the app gets the CLI (shown instead of a button).
pub fn install_hint(cli: CliKind) -> Option<&'static str> {
    match cli {
        CliKind::Aider => Some("python3 -m pip install --user aider-install && aider-install"),
        _ => None,
    }
}

/// The arguments after the program that start a CLI's own sign-in flow in a terminal, where it
/// has one (`codex login`). An empty list means "start the CLI": its first run asks to sign in.
pub fn sign_in_args(cli: CliKind) -> Option<&'static [&'static str]> {
    match cli {
        CliKind::ClaudeCode => Some(&[]),
        CliKind::Codex => Some(&["login"]),
        CliKind::Gemini => Some(&[]),
        CliKind::Opencode => Some(&["auth", "login"]),
        // Aider reads API keys from the environment or its config file: there is no login flow.
        CliKind::Aider | CliKind::Custom => None,
    }
}

/// The user's own install prefix: `~/.local`.
pub fn user_prefix(home: &Path) -> PathBuf {
    home.join(".local")
}

/// `path_var` with the user's own bin folder (`~/.local/bin`) added at the end when it is not in
/// it already, so a CLI installed from the app is found by detection and by agent launches even
/// when the desktop session's `PATH` lacks it (a login shell adds it only if it existed at login).
pub fn with_user_bin(path_var: Option<&OsStr>, home: &Path) -> OsString {
    let bin = user_prefix(home).join("bin");
    let mut dirs: Vec<PathBuf> = path_var
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    if !dirs.iter().any(|d| d == &bin) {
        dirs.push(bin);
    }
    std::env::join_paths(dirs)
        .unwrap_or_else(|_| path_var.map(OsStr::to_os_string).unwrap_or_default())
}

/// One install, as it will run and as it is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallPlan {
    pub cli: CliKind,
    /// The program run (`npm`).
    pub program: String,
    pub args: Vec<String>,
    /// The command as the user reads it, with `~` for the home folder.
    pub display: String,
}

/// The install of `cli` with npm into the user's prefix; `None` when npm does not distribute it.
pub fn install_plan(cli: CliKind, home: &Path) -> Option<InstallPlan> {
    let package = npm_package(cli)?;
    Some(plan_for(cli, package, home))
}

/// The install of `package` (a name, or a path to a package tarball) as `cli`'s package.
pub fn plan_for(cli: CliKind, package: &str, home: &Path) -> InstallPlan {
    let prefix = user_prefix(home);
    let args = vec![
        "install".to_string(),
        "--global".to_string(),
        "--prefix".to_string(),
        prefix.display().to_string(),
        "--no-audit".to_string(),
        "--no-fund".to_string(),
        package.to_string(),
    ];
    InstallPlan {
        cli,
        program: "npm".to_string(),
        display: format!("npm install --global --prefix ~/.local --no-audit --no-fund {package}"),
        args,
    }
}

/// Runs `plan`, handing every output line (stdout and stderr, in arrival order per stream) to
/// `on_line`. `path_var` is the `PATH` npm runs with. Returns the program's path in the prefix
/// once the install succeeded and the program is there; an error in words otherwise.
pub fn run_install(
    plan: &InstallPlan,
    home: &Path,
    path_var: Option<&OsStr>,
    mut on_line: impl FnMut(String) + Send,
) -> Result<PathBuf, String> {
    let program = default_program(plan.cli).unwrap_or(cli_id(plan.cli));
    let npm = super::find_on_path(&plan.program, path_var).ok_or_else(|| {
        format!(
            "{} is not installed: install Node.js and npm first (Debian/Ubuntu: sudo apt install nodejs npm)",
            plan.program
        )
    })?;
    std::fs::create_dir_all(user_prefix(home))
        .map_err(|e| format!("cannot create {}: {e}", user_prefix(home).display()))?;
    let mut child = Command::new(&npm)
        .args(&plan.args)
        .env("PATH", with_user_bin(path_var, home))
        .env("HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", npm.display()))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let tx_err = tx.clone();
    let readers = [
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        }),
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx_err.send(line);
            }
        }),
    ];
    let mut tail: Vec<String> = Vec::new();
    for line in rx {
        tail.push(line.clone());
        if tail.len() > 20 {
            tail.remove(0);
        }
        on_line(line);
    }
    for r in readers {
        let _ = r.join();
    }
    let status = child.wait().map_err(|e| format!("waiting for npm: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`{}` failed ({status}){}",
            plan.display,
            tail.last().map(|l| format!(": {l}")).unwrap_or_default()
        ));
    }
    let installed = user_prefix(home).join("bin").join(program);
    if !installed.exists() {
        return Err(format!(
            "`{}` finished but {} is not there",
            plan.display,
            installed.display()
        ));
    }
    Ok(installed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_bin_is_added_once_at_the_end() {
        let home = Path::new("/home/u");
        let out = with_user_bin(Some(OsStr::new("/usr/bin:/bin")), home);
        assert_eq!(out, OsString::from("/usr/bin:/bin:/home/u/.local/bin"));
        let again = with_user_bin(Some(&out), home);
        assert_eq!(again, out);
        assert_eq!(
            with_user_bin(None, home),
            OsString::from("/home/u/.local/bin")
        );
    }

    #[test]
    fn plans_install_into_the_users_prefix_without_sudo() {
        let plan = install_plan(CliKind::Codex, Path::new("/home/u")).unwrap();
        assert_eq!(plan.program, "npm");
        assert_eq!(
            plan.args,
            [
                "install",
                "--global",
                "--prefix",
                "/home/u/.local",
                "--no-audit",
                "--no-fund",
                "@openai/codex"
            ]
        );
        assert_eq!(
            plan.display,
            "npm install --global --prefix ~/.local --no-audit --no-fund @openai/codex"
        );
        assert!(install_plan(CliKind::Aider, Path::new("/h")).is_none());
        assert!(install_hint(CliKind::Aider).is_some());
        assert_eq!(sign_in_args(CliKind::Codex), Some(&["login"][..]));
        assert_eq!(sign_in_args(CliKind::Aider), None);
    }
}
