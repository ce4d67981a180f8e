//! The welcome screen's data: each agent CLI found or missing, how to install a missing one into
//! the user's prefix (the exact command, run only on a click), and how to sign it in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use leapfrog_engine::agents::{self, cli_display_name, install};
use leapfrog_engine::model::CliKind;
use leapfrog_engine::project::setup::DetectedCli;
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::AppHandle;
use ts_rs::TS;

use crate::projects::ProjectSummary;

/// One agent CLI on the welcome screen.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WelcomeCli {
    /// As found on this machine (path and version), or not.
    pub detected: DetectedCli,
    /// "Claude Code".
    pub name: String,
    /// The exact install command the "Install" button runs, when npm distributes the CLI.
    pub install: Option<String>,
    /// How to install it by hand when the app cannot (Aider is a Python package).
    pub install_hint: Option<String>,
    /// The line typed into a terminal pane to start the CLI's own sign-in; `None` when the CLI
    /// has no sign-in flow or is not installed.
    pub sign_in: Option<String>,
}

/// What the welcome screen shows.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Welcome {
    pub clis: Vec<WelcomeCli>,
    /// Where installs go (`~/.local/bin`), for the screen's explanation.
    pub user_bin: String,
}

fn home() -> Result<PathBuf, String> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .ok_or_else(|| "HOME is not set: cannot tell where to install".to_string())
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_word(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@+".contains(c))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// The welcome rows for `found` (from detection), with `home` for install plans.
pub fn rows(found: Vec<DetectedCli>, home: &Path) -> Vec<WelcomeCli> {
    found
        .into_iter()
        .map(|d| {
            let sign_in = match (&d.path, install::sign_in_args(d.cli)) {
                (Some(path), Some(args)) => Some(
                    std::iter::once(path.display().to_string())
                        .chain(args.iter().map(|a| a.to_string()))
                        .map(|w| shell_word(&w))
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                _ => None,
            };
            WelcomeCli {
                name: cli_display_name(d.cli).to_string(),
                install: install::install_plan(d.cli, home).map(|p| p.display),
                install_hint: install::install_hint(d.cli).map(str::to_string),
                sign_in,
                detected: d,
            }
        })
        .collect()
}

fn detect(home: &Path) -> Vec<DetectedCli> {
    let path = install::with_user_bin(std::env::var_os("PATH").as_deref(), home);
    agents::detect_installed(Some(&path), Duration::from_secs(3))
        .into_iter()
        .map(DetectedCli::from)
        .collect()
}

#[tauri::command]
pub async fn welcome() -> Result<Welcome, String> {
    let home = home()?;
    tauri::async_runtime::spawn_blocking(move || Welcome {
        clis: rows(detect(&home), &home),
        user_bin: install::user_prefix(&home)
            .join("bin")
            .display()
            .to_string(),
    })
    .await
    .map_err(|e| e.to_string())
}

/// Installs `cli` with npm into `~/.local`, streaming npm's output lines to `output`; answers
/// the CLI as detected afterwards.
#[tauri::command]
pub async fn cli_install(cli: CliKind, output: Channel<String>) -> Result<WelcomeCli, String> {
    let home = home()?;
    let plan = install::install_plan(cli, &home)
        .ok_or_else(|| format!("{} is not installed with npm", cli_display_name(cli)))?;
    tracing::info!("installing {}: {}", cli_display_name(cli), plan.display);
    tauri::async_runtime::spawn_blocking(move || {
        let path = std::env::var_os("PATH");
        let _ = output.send(format!("$ {}", plan.display));
        install::run_install(&plan, &home, path.as_deref(), |line| {
            let _ = output.send(line);
        })?;
        let found = detect(&home);
        let row = rows(found, &home)
            .into_iter()
            .find(|r| r.detected.cli == cli)
            .ok_or_else(|| "installed, but not found afterwards".to_string())?;
        tracing::info!(
            "{} installed: {}",
            row.name,
            row.detected.version.as_deref().unwrap_or("version unknown")
        );
        Ok(row)
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The `leap` beside this app's binary (the package installs both in /usr/bin; a build puts both
/// in the target folder), else the one on `PATH`.
fn leap_program() -> Result<PathBuf, String> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("leap")))
        .filter(|p| p.is_file());
    beside
        .or_else(|| agents::find_on_path("leap", std::env::var_os("PATH").as_deref()))
        .ok_or_else(|| {
            "the `leap` command is not installed next to Leapfrog or on PATH".to_string()
        })
}

/// The first `demo-N` folder under `base` that does not exist yet.
pub fn next_demo_dir(base: &Path) -> PathBuf {
    (1..)
        .map(|n| base.join(format!("demo-{n}")))
        .find(|d| !d.exists())
        .expect("an unused demo folder")
}

/// Makes a fresh demo project (`leap demo init`, two scripted agents, no account needed) in the
/// data folder and opens it.
#[tauri::command]
pub async fn demo_open(handle: AppHandle) -> Result<ProjectSummary, String> {
    let leap = leap_program()?;
    let base = leapfrog_engine::store::data_dir()
        .map_err(|e| e.to_string())?
        .join("demos");
    std::fs::create_dir_all(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
    let dir = next_demo_dir(&base);
    let made = dir.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let out = std::process::Command::new(&leap)
            .arg("demo")
            .arg("init")
            .arg(&made)
            .arg("--leap")
            .arg(&leap)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", leap.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "the demo project could not be made: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    })
    .await
    .map_err(|e| e.to_string())??;
    tracing::info!("demo project made in {}", dir.display());
    crate::projects::open(&handle, &dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(kind: CliKind, path: Option<&str>) -> DetectedCli {
        DetectedCli {
            cli: kind,
            program: agents::default_program(kind).unwrap().to_string(),
            path: path.map(PathBuf::from),
            version: path.map(|_| "1.0.0".to_string()),
            error: None,
        }
    }

    #[test]
    fn demo_folders_are_never_reused() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(next_demo_dir(tmp.path()), tmp.path().join("demo-1"));
        std::fs::create_dir(tmp.path().join("demo-1")).unwrap();
        assert_eq!(next_demo_dir(tmp.path()), tmp.path().join("demo-2"));
    }

    #[test]
    fn rows_offer_install_for_missing_and_sign_in_for_found() {
        let home = Path::new("/home/u");
        let r = rows(
            vec![
                cli(CliKind::Codex, Some("/home/u/.local/bin/codex")),
                cli(CliKind::ClaudeCode, None),
                cli(CliKind::Aider, None),
                cli(CliKind::Opencode, Some("/opt/my tools/opencode")),
            ],
            home,
        );
        assert_eq!(
            r[0].sign_in.as_deref(),
            Some("/home/u/.local/bin/codex login")
        );
        assert_eq!(
            r[1].install.as_deref(),
            Some("npm install --global --prefix ~/.local --no-audit --no-fund @anthropic-ai/claude-code")
        );
        assert_eq!(r[1].sign_in, None);
        assert_eq!(r[2].install, None);
        assert!(r[2].install_hint.is_some());
        assert_eq!(
            r[3].sign_in.as_deref(),
            Some("'/opt/my tools/opencode' auth login")
        );
    }
}
