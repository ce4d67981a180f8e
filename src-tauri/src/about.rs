//! "About Leapfrog": the app's version, the engine's, and the agent CLIs found on `PATH`.

use std::time::Duration;

use leapfrog_engine::project::setup::DetectedCli;
use serde::Serialize;
use ts_rs::TS;

/// What the About dialog shows.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AboutInfo {
    /// The app's version (the workspace's).
    pub version: String,
    /// The engine crate's version.
    pub engine_version: String,
    /// Every shipped agent CLI, found on `PATH` (with its version) or not.
    pub agent_clis: Vec<DetectedCli>,
}

/// The About data: versions now, the CLIs as `PATH` finds them.
pub fn about_info(path_var: Option<&std::ffi::OsStr>, timeout: Duration) -> AboutInfo {
    AboutInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        engine_version: leapfrog_engine::VERSION.to_string(),
        agent_clis: leapfrog_engine::agents::detect_installed(path_var, timeout)
            .into_iter()
            .map(DetectedCli::from)
            .collect(),
    }
}

/// How many log lines "Copy diagnostics" takes.
pub const DIAGNOSTIC_LINES: usize = 200;

/// Words in a settings key that mark its value as a secret.
const SECRET_WORDS: &[&str] = &["token", "key", "secret", "password", "auth", "credential"];

/// The project's settings with every secret taken out: agents' environment values (where API
/// keys live) and any value whose key names a secret.
pub fn redact(settings: &mut serde_json::Value) {
    use serde_json::Value;
    fn walk(v: &mut Value, in_env: bool) {
        match v {
            Value::Object(map) => {
                for (k, val) in map.iter_mut() {
                    let lower = k.to_ascii_lowercase();
                    let secret = in_env || SECRET_WORDS.iter().any(|w| lower.contains(w));
                    if secret && !val.is_object() && !val.is_array() {
                        *val = Value::String("<redacted>".into());
                        continue;
                    }
                    walk(val, lower == "env");
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, false)),
            _ => {}
        }
    }
    walk(settings, false);
}

/// What "Copy diagnostics" puts on the clipboard: versions, agent CLIs, the open project's
/// settings without secrets, and the last log lines.
pub fn diagnostics_text(
    info: &AboutInfo,
    project: Option<(&std::path::Path, Option<serde_json::Value>)>,
    lines: &[crate::dto::LogLine],
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Leapfrog {} (engine {})",
        info.version, info.engine_version
    );
    let _ = writeln!(
        out,
        "OS: {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    let _ = writeln!(out, "\nAgent CLIs:");
    for c in &info.agent_clis {
        let state = match (&c.path, &c.version, &c.error) {
            (None, _, _) => "not found".to_string(),
            (Some(_), Some(v), _) => v.clone(),
            (Some(_), None, Some(e)) => format!("found, version unknown ({e})"),
            (Some(_), None, None) => "found".to_string(),
        };
        let _ = writeln!(out, "  {:<10} {state}", c.program);
    }
    match project {
        Some((dir, settings)) => {
            let _ = writeln!(out, "\nProject: {}", dir.display());
            match settings {
                Some(mut s) => {
                    redact(&mut s);
                    let text = serde_json::to_string_pretty(&s).unwrap_or_default();
                    let _ = writeln!(out, "{text}");
                }
                None => {
                    let _ = writeln!(out, "(no readable .leapfrog/project.json)");
                }
            }
        }
        None => {
            let _ = writeln!(out, "\nProject: none open");
        }
    }
    let _ = writeln!(out, "\nLast {} log lines:", lines.len());
    for l in lines {
        let _ = writeln!(
            out,
            "{} {:?} {}: {}",
            l.time_ms, l.level, l.target, l.message
        );
    }
    out
}

/// "Copy diagnostics": the text (the UI puts it on the clipboard).
#[tauri::command]
pub async fn diagnostics(
    state: tauri::State<'_, crate::AppState>,
    projects: tauri::State<'_, crate::projects::Projects>,
) -> Result<String, String> {
    let lines = state.logs.recent(DIAGNOSTIC_LINES);
    let dir = projects.lock().as_ref().map(|p| p.dir.clone());
    tauri::async_runtime::spawn_blocking(move || {
        let info = about_info(std::env::var_os("PATH").as_deref(), Duration::from_secs(10));
        let project = dir.as_ref().map(|d| {
            let settings = leapfrog_engine::files::read_regular(
                &d.join(".leapfrog").join("project.json"),
                "project file",
                1024 * 1024,
            )
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
            (d.as_path(), settings)
        });
        diagnostics_text(&info, project, &lines)
    })
    .await
    .map_err(|e| e.to_string())
}

#[tauri::command]
pub async fn about() -> Result<AboutInfo, String> {
    tauri::async_runtime::spawn_blocking(|| {
        about_info(std::env::var_os("PATH").as_deref(), Duration::from_secs(10))
    })
    .await
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Secrets never reach the clipboard: env values and secret-named keys are redacted; the
    /// rest of the settings, the versions and the log lines are there.
    #[test]
    fn diagnostics_hold_versions_settings_without_secrets_and_the_log() {
        let settings = serde_json::json!({
            "name": "shop", "verify": "cargo test",
            "agents": [{"id": "builder", "cli": "codex", "args": ["--model", "o3"],
                        "env": {"OPENAI_API_KEY": "sk-live-123", "HOME": "/home/me"}}],
            "gateway_token": "abc", "nested": {"password": "pw", "port": 8080}
        });
        let info = AboutInfo {
            version: "0.1.0".into(),
            engine_version: "0.1.0".into(),
            agent_clis: vec![],
        };
        let line = crate::dto::LogLine {
            seq: 1,
            time_ms: 5,
            level: crate::dto::LogLevel::Warn,
            target: "leapfrog::run".into(),
            message: "verify FAILED".into(),
        };
        let text = diagnostics_text(
            &info,
            Some((std::path::Path::new("/p/shop"), Some(settings))),
            &[line],
        );
        for secret in ["sk-live-123", "/home/me", "abc", "\"pw\""] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
        for kept in [
            "Leapfrog 0.1.0 (engine 0.1.0)",
            "Project: /p/shop",
            "\"verify\": \"cargo test\"",
            "\"OPENAI_API_KEY\": \"<redacted>\"",
            "\"port\": 8080",
            "--model",
            "Last 1 log lines:",
            "5 Warn leapfrog::run: verify FAILED",
        ] {
            assert!(text.contains(kept), "{kept} missing:\n{text}");
        }
    }

    /// A `claude` on PATH is found with its version; the others are listed as missing.
    #[test]
    fn the_versions_and_the_clis_found() {
        use std::os::unix::fs::PermissionsExt;
        let bin = tempfile::tempdir().unwrap();
        let claude = bin.path().join("claude");
        std::fs::write(&claude, "#!/bin/sh\necho '2.1.332 (Claude Code)'\n").unwrap();
        std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).unwrap();
        let info = about_info(Some(bin.path().as_os_str()), Duration::from_secs(5));
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert!(!info.engine_version.is_empty());
        let found: Vec<(&str, Option<&str>)> = info
            .agent_clis
            .iter()
            .map(|c| (c.program.as_str(), c.version.as_deref()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("claude", Some("2.1.332 (Claude Code)")),
                ("codex", None),
                ("aider", None),
                ("gemini", None),
                ("opencode", None)
            ]
        );
    }
}
