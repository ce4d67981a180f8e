//! Recent projects: the folders opened last, most recent first, in `<data dir>/recent.json`.
//! The sidebar lists projects in that order, and the installed app's desktop entry offers them as
//! actions (right-click in the launcher: "Open demo"), through a per-user copy of the entry in
//! `$XDG_DATA_HOME/applications` that shadows the package's.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How many recent projects are kept (and offered in the desktop entry).
pub const RECENT_MAX: usize = 8;

/// One recent project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recent {
    pub name: String,
    pub dir: String,
}

fn file(data_dir: &Path) -> PathBuf {
    data_dir.join("recent.json")
}

/// The recent projects, most recent first; none when the file is missing or unreadable.
pub fn load(data_dir: &Path) -> Vec<Recent> {
    std::fs::read(file(data_dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// `project` was just opened: it moves to the front (once), the list keeps [`RECENT_MAX`].
pub fn record(data_dir: &Path, project: Recent) -> std::io::Result<Vec<Recent>> {
    let mut list = load(data_dir);
    list.retain(|r| r.dir != project.dir);
    list.insert(0, project);
    list.truncate(RECENT_MAX);
    std::fs::create_dir_all(data_dir)?;
    let tmp = data_dir.join(".recent.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&list)?)?;
    std::fs::rename(&tmp, file(data_dir))?;
    Ok(list)
}

/// A desktop-entry `Exec` argument: quoted when it needs it, with the spec's escapes (`"`, `` ` ``,
/// `$` and `\` inside quotes, then `\` doubled again for the entry's string value, `%` as `%%`).
pub fn exec_arg(arg: &str) -> String {
    let needs_quotes = arg.is_empty()
        || arg
            .chars()
            .any(|c| c.is_whitespace() || "\"'\\><~|&;$*?#()`".contains(c));
    let escaped = if needs_quotes {
        let mut q = String::from("\"");
        for c in arg.chars() {
            if "\"`$\\".contains(c) {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        q.replace('\\', "\\\\")
    } else {
        arg.to_string()
    };
    escaped.replace('%', "%%")
}

/// The desktop entry of the installed app (as the package writes it) with one action per recent
/// project.
pub fn desktop_entry(exec: &Path, recent: &[Recent]) -> String {
    let exec = exec_arg(&exec.display().to_string());
    let mut out = format!(
        "[Desktop Entry]\nCategories=Development;\nComment=Run several coding agents on one project at once\n\
         Exec={exec}\nStartupWMClass=leapfrog\nIcon=leapfrog\nName=Leapfrog\nTerminal=false\nType=Application\n"
    );
    if !recent.is_empty() {
        let ids: Vec<String> = (1..=recent.len()).map(|i| format!("recent-{i};")).collect();
        out.push_str(&format!("Actions={}\n", ids.concat()));
    }
    for (i, r) in recent.iter().enumerate() {
        let name: String = r.name.chars().filter(|c| !c.is_control()).collect();
        out.push_str(&format!(
            "\n[Desktop Action recent-{}]\nName=Open {}\nExec={exec} {}\n",
            i + 1,
            name,
            exec_arg(&r.dir)
        ));
    }
    out
}

/// Where the per-user desktop entry goes: `$XDG_DATA_HOME/applications/Leapfrog.desktop`, else
/// `~/.local/share/applications/Leapfrog.desktop`.
pub fn entry_path(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let data = var("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("applications").join("Leapfrog.desktop"))
}

/// Records `project` and, for an installed app (`/usr/...`, or `LEAPFROG_DESKTOP_ENTRY=1`),
/// rewrites the per-user desktop entry with the recent projects. Failures are logged, never
/// shown: a menu entry is a convenience.
pub fn opened(name: &str, dir: &Path) {
    let Ok(data) = leapfrog_engine::store::data_dir() else {
        return;
    };
    let list = match record(
        &data,
        Recent {
            name: name.to_string(),
            dir: dir.display().to_string(),
        },
    ) {
        Ok(l) => l,
        Err(e) => {
            tracing::debug!("recent projects not saved: {e}");
            return;
        }
    };
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let installed =
        exe.starts_with("/usr/") || std::env::var_os("LEAPFROG_DESKTOP_ENTRY").is_some();
    if !installed {
        return;
    }
    let Some(path) = entry_path(|k| std::env::var_os(k)) else {
        return;
    };
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|_| std::fs::write(&path, desktop_entry(&exe, &list)));
    if let Err(e) = written {
        tracing::debug!("desktop entry not updated ({}): {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, dir: &str) -> Recent {
        Recent {
            name: name.into(),
            dir: dir.into(),
        }
    }

    #[test]
    fn the_last_opened_comes_first_once_and_the_list_is_capped() {
        let tmp = tempfile::tempdir().unwrap();
        record(tmp.path(), r("a", "/p/a")).unwrap();
        record(tmp.path(), r("b", "/p/b")).unwrap();
        let list = record(tmp.path(), r("a", "/p/a")).unwrap();
        assert_eq!(list, [r("a", "/p/a"), r("b", "/p/b")]);
        for i in 0..20 {
            record(tmp.path(), r("x", &format!("/p/{i}"))).unwrap();
        }
        let list = load(tmp.path());
        assert_eq!(list.len(), RECENT_MAX);
        assert_eq!(list[0].dir, "/p/19");
        std::fs::write(tmp.path().join("recent.json"), "not json").unwrap();
        assert!(load(tmp.path()).is_empty());
    }

    #[test]
    fn the_desktop_entry_offers_each_recent_project_quoted() {
        let entry = desktop_entry(
            Path::new("/usr/bin/leapfrog"),
            &[
                r("demo", "/home/u/demo"),
                r("my app", "/home/u/my app 100%"),
            ],
        );
        assert!(entry.starts_with("[Desktop Entry]\n"), "{entry}");
        assert!(entry.contains("\nExec=/usr/bin/leapfrog\n"), "{entry}");
        assert!(entry.contains("\nActions=recent-1;recent-2;\n"), "{entry}");
        assert!(
            entry.contains(
                "[Desktop Action recent-1]\nName=Open demo\nExec=/usr/bin/leapfrog /home/u/demo\n"
            ),
            "{entry}"
        );
        assert!(
            entry.contains("[Desktop Action recent-2]\nName=Open my app\nExec=/usr/bin/leapfrog \"/home/u/my app 100%%\"\n"),
            "{entry}"
        );
        assert_eq!(exec_arg("a$b"), "\"a\\\\$b\"");
        assert!(!desktop_entry(Path::new("/usr/bin/leapfrog"), &[]).contains("Actions="));
    }
}
