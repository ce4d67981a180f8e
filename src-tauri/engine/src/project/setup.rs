//! Project setup: what the app's wizard (and `leap init`) does for a folder.
//!
//! 1. [`inspect`] looks at the folder and proposes a [`SetupPlan`]: is it a git repository, which agent CLIs
//!    are on `PATH` (with versions), the pattern and its agents, the verify command found in the repository,
//!    lookahead and sync interval, and whether TICKETS.md will be created or adopted.
//! 2. The user edits the plan ([`SetupPlan::set_pattern`], [`assign_agent`], the plain fields).
//! 3. [`finish`] carries it out: `git init` if asked ([`git_init`]), creates TICKETS.md from the canonical
//!    template or adopts the existing one (never overwritten), writes `.leapfrog/project.json` and registers
//!    the project in the store.
//!
//! Every error is a [`SetupError`] with a sentence in it.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ProjectFile, DEFAULT_LOOKAHEAD, DEFAULT_SYNC_EVERY};
use crate::agents::{self, cli_id, default_program, AgentProfile};
use crate::model::{self, CliKind, Pattern, Role};
use crate::store::Store;
use crate::tickets::Document;

/// Why a setup step failed, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

fn err(msg: impl Into<String>) -> SetupError {
    SetupError(msg.into())
}

/// How [`inspect`] looks for agent CLIs.
#[derive(Debug, Clone)]
pub struct DetectOptions {
    /// The `PATH` to search; `None` finds nothing.
    pub path_var: Option<OsString>,
    /// How long each `--version` may take.
    pub version_timeout: Duration,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions {
            path_var: std::env::var_os("PATH"),
            // `gemini --version` takes 4.5-6 s and `opencode --version` 2.4-3.7 s on a 2-core
            // machine; the probes run in parallel, so this is the most detection waits.
            version_timeout: Duration::from_secs(10),
        }
    }
}

/// Whether the folder is in a git repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GitState {
    pub is_repo: bool,
    /// The repository's top-level directory, when it is one.
    #[serde(default)]
    pub root: Option<PathBuf>,
    /// `git` could not be run at all.
    #[serde(default)]
    pub git_missing: bool,
}

/// One agent CLI as detected on `PATH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DetectedCli {
    pub cli: CliKind,
    pub program: String,
    #[serde(default)]
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

impl From<agents::Installed> for DetectedCli {
    fn from(i: agents::Installed) -> DetectedCli {
        DetectedCli {
            cli: i.cli,
            program: i.program,
            path: i.path,
            version: i.version,
            error: i.error,
        }
    }
}

impl DetectedCli {
    pub fn installed(&self) -> bool {
        self.path.is_some()
    }
}

/// The verify command found in the repository, and the file that suggested it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyGuess {
    pub command: String,
    /// `Cargo.toml`, `package.json`, `pyproject.toml`, `go.mod`, `Makefile`, ...
    pub source: String,
}

/// Create a new TICKETS.md or adopt the one that is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TicketsAction {
    Create,
    Adopt,
}

/// What setup will do, or did, with the tickets file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TicketsReport {
    /// Relative to the project directory.
    pub path: String,
    pub action: TicketsAction,
    /// Batches and tickets recognised (for a created file: the template's).
    pub batches: usize,
    pub tickets: usize,
    /// What the parser could not make sense of.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The batches recognised, in file order, with their ticket counts (what the wizard lists).
    #[serde(default)]
    pub recognised: Vec<RecognisedBatch>,
    /// Tickets outside any batch (the board's Backlog).
    #[serde(default)]
    pub backlog: usize,
}

/// One batch found in an adopted (or created) tickets file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecognisedBatch {
    pub number: u32,
    /// The heading as written (`Phase 2: Payments`).
    pub title: String,
    pub tickets: usize,
}

/// Everything the wizard shows and lets the user change; [`finish`] carries it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SetupPlan {
    pub dir: PathBuf,
    pub name: String,
    /// The store id; `None` picks one from the name at [`finish`].
    #[serde(default)]
    pub id: Option<String>,
    pub git: GitState,
    /// Run `git init` at [`finish`] (proposed when the folder is not in a repository).
    #[serde(default)]
    pub git_init: bool,
    /// Every shipped CLI, installed or not.
    #[serde(default)]
    pub detected: Vec<DetectedCli>,
    pub pattern: Pattern,
    pub agents: Vec<AgentProfile>,
    #[serde(default)]
    pub verify: Option<String>,
    /// Where the verify command came from: a file name, `project.json`, or `user`.
    #[serde(default)]
    pub verify_source: Option<String>,
    #[serde(default)]
    pub lookahead: Option<u32>,
    #[serde(default)]
    pub sync_every: Option<u32>,
    /// A QA phase for every batch once its review passes.
    #[serde(default)]
    pub qa: bool,
    pub tickets: TicketsReport,
    /// `.leapfrog/project.json` already exists (its values were loaded into this plan).
    #[serde(default)]
    pub existing_project_file: bool,
    /// Things the user should know before finishing (no CLI found, no verify command, ...).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// What [`finish`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupReport {
    pub project: model::Project,
    pub project_file: PathBuf,
    pub tickets: TicketsReport,
    pub git_initialised: bool,
    /// Registered in the store (a sidebar lists it).
    pub registered: bool,
}

/// The agent slots of a pattern and their roles (see `shared/design/pipeline.md`).
///
/// Leapfrog and Pipeline: `designer` {discovery, requirements, plan, design, review, qa} and `builder`
/// {build, fix}. Specialist split: `designer` {discovery, requirements, plan, design}, `reviewer` {review, qa},
/// `builder` {build, fix}.
pub fn slots(pattern: Pattern) -> Vec<(&'static str, Vec<Role>)> {
    use Role::*;
    match pattern {
        Pattern::Leapfrog | Pattern::Pipeline => vec![
            (
                "designer",
                vec![Discovery, Requirements, Plan, Design, Review, Qa],
            ),
            ("builder", vec![Build, Fix]),
        ],
        Pattern::Specialist => vec![
            ("designer", vec![Discovery, Requirements, Plan, Design]),
            ("reviewer", vec![Review, Qa]),
            ("builder", vec![Build, Fix]),
        ],
    }
}

/// Which CLI a slot prefers, best first: Claude Code designs and reviews, Codex builds (the seed's split).
fn preference(slot: &str) -> [CliKind; 5] {
    use CliKind::*;
    if slot == "builder" {
        [Codex, Aider, Opencode, ClaudeCode, Gemini]
    } else {
        [ClaudeCode, Gemini, Codex, Opencode, Aider]
    }
}

/// The agents of a pattern, each slot on the best installed CLI for it (the preferred one when none is).
pub fn agents_for_pattern(pattern: Pattern, detected: &[DetectedCli]) -> Vec<AgentProfile> {
    slots(pattern)
        .into_iter()
        .map(|(slot, roles)| {
            let prefs = preference(slot);
            let cli = prefs
                .iter()
                .copied()
                .find(|k| detected.iter().any(|d| d.cli == *k && d.installed()))
                .unwrap_or(prefs[0]);
            let mut a = AgentProfile::builtin(cli);
            a.id = slot.to_string();
            a.roles = roles;
            a
        })
        .collect()
}

/// Is `dir` inside a git repository?
pub fn git_state(dir: &Path) -> GitState {
    match Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .output()
    {
        Ok(o) if o.status.success() => GitState {
            is_repo: true,
            root: Some(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())),
            git_missing: false,
        },
        Ok(_) => GitState {
            is_repo: false,
            root: None,
            git_missing: false,
        },
        Err(_) => GitState {
            is_repo: false,
            root: None,
            git_missing: true,
        },
    }
}

/// `git init` in `dir`.
pub fn git_init(dir: &Path) -> Result<(), SetupError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["init", "-q"])
        .output()
        .map_err(|e| err(format!("cannot run git: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        let msg = String::from_utf8_lossy(&out.stderr);
        Err(err(format!(
            "git init in {} failed: {}",
            dir.display(),
            msg.lines().next().unwrap_or("no message").trim()
        )))
    }
}

/// The verify command the repository suggests, first match wins: `Cargo.toml` → `cargo test`;
/// `package.json` with a real `test` script → `npm test`; `pyproject.toml`, `pytest.ini`, `setup.cfg` or a
/// `tests/` folder with Python files → `pytest`; `go.mod` → `go test ./...`; a `Makefile` with a `test`
/// target → `make test`.
pub fn detect_verify(dir: &Path) -> Option<VerifyGuess> {
    let guess = |command: &str, source: &str| {
        Some(VerifyGuess {
            command: command.to_string(),
            source: source.to_string(),
        })
    };
    if dir.join("Cargo.toml").is_file() {
        return guess("cargo test", "Cargo.toml");
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("package.json")) {
        let script = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("scripts")?.get("test")?.as_str().map(str::to_string));
        // npm init writes a test script that only fails.
        if script.is_some_and(|s| !s.trim().is_empty() && !s.contains("no test specified")) {
            return guess("npm test", "package.json");
        }
    }
    for f in ["pyproject.toml", "pytest.ini", "setup.cfg"] {
        if dir.join(f).is_file() {
            return guess("pytest", f);
        }
    }
    let py_tests = std::fs::read_dir(dir.join("tests"))
        .map(|rd| {
            rd.flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".py"))
        })
        .unwrap_or(false);
    if py_tests {
        return guess("pytest", "tests/");
    }
    if dir.join("go.mod").is_file() {
        return guess("go test ./...", "go.mod");
    }
    for f in ["Makefile", "makefile", "GNUmakefile"] {
        if let Ok(text) = std::fs::read_to_string(dir.join(f)) {
            let has_test = text.lines().any(|l| {
                l.strip_prefix("test")
                    .map(|rest| {
                        let rest = rest.trim_start();
                        rest.starts_with(':') && !rest.starts_with(":=")
                    })
                    .unwrap_or(false)
            });
            if has_test {
                return guess("make test", f);
            }
        }
    }
    None
}

/// The TICKETS.md setup creates when there is none: the canonical format (design Part B) with a first batch
/// holding one ticket and an empty Backlog.
pub const TICKETS_TEMPLATE: &str = "# Tickets

> Synced with Leapfrog. Tickets are `###` headings grouped into batches (`##`).
> Keep IDs stable. Set **Status** to one of: todo · doing · review · blocked · done · dropped.
> Anything else in this file is preserved as written.

## Batch 1: First steps
Goal: what this batch delivers.

### T-001: Describe the first piece of work
- **Status:** todo

What to build, and how to tell it works.

**Acceptance criteria**
- [ ] The verify command passes

## Backlog
";

fn tickets_report(path: &str, action: TicketsAction, doc: &Document) -> TicketsReport {
    TicketsReport {
        path: path.to_string(),
        action,
        batches: doc.batches.len(),
        tickets: doc.tickets.len(),
        warnings: doc.warnings.clone(),
        recognised: doc
            .batches
            .iter()
            .map(|b| RecognisedBatch {
                number: b.number,
                title: b.title.clone(),
                tickets: b.tickets.len(),
            })
            .collect(),
        backlog: doc.tickets.iter().filter(|t| t.batch.is_none()).count(),
    }
}

fn read_tickets(path: &Path) -> Result<Document, SetupError> {
    let bytes = crate::files::read_regular(
        path,
        "TICKETS.md file",
        crate::tickets::MAX_FILE_BYTES as u64,
    )
    .map_err(err)?;
    Document::parse_bytes(&bytes).map_err(|e| err(format!("{}: {e}", path.display())))
}

/// Looks at `dir` and proposes a plan (see the module docs). A `.leapfrog/project.json` already there
/// provides the defaults.
pub fn inspect(dir: &Path, opts: &DetectOptions) -> Result<SetupPlan, SetupError> {
    if !dir.exists() {
        return Err(err(format!("{} does not exist", dir.display())));
    }
    if !dir.is_dir() {
        return Err(err(format!("{} is not a folder", dir.display())));
    }
    let dir = dir
        .canonicalize()
        .map_err(|e| err(format!("cannot open {}: {e}", dir.display())))?;
    let existing = ProjectFile::load(&dir).map_err(err)?;
    let git = git_state(&dir);
    let detected: Vec<DetectedCli> =
        agents::detect_installed(opts.path_var.as_deref(), opts.version_timeout)
            .into_iter()
            .map(DetectedCli::from)
            .collect();
    let mut warnings = Vec::new();
    if git.git_missing {
        warnings
            .push("git is not installed; Leapfrog needs it to follow the agents' commits".into());
    }
    if !detected.iter().any(DetectedCli::installed) {
        warnings.push(
            "no agent CLI (claude, codex, aider, gemini, opencode) found on PATH; install one or give a command"
                .into(),
        );
    }
    let name = existing
        .as_ref()
        .map(|p| p.name.clone())
        .unwrap_or_else(|| {
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "project".into())
        });
    let pattern = existing.as_ref().map(|p| p.pattern).unwrap_or_default();
    let agents = match &existing {
        Some(p) if !p.agents.is_empty() => p.agents.clone(),
        _ => agents_for_pattern(pattern, &detected),
    };
    let (verify, verify_source) = match existing.as_ref().and_then(|p| p.verify.clone()) {
        Some(v) => (Some(v), Some("project.json".to_string())),
        None => match detect_verify(&dir) {
            Some(g) => (Some(g.command), Some(g.source)),
            None => {
                warnings.push(
                    "no verify command found (Cargo.toml, package.json, pyproject.toml, go.mod, Makefile); sync points will have nothing to run"
                        .into(),
                );
                (None, None)
            }
        },
    };
    let tickets_path = existing
        .as_ref()
        .map(|p| p.tickets.clone())
        .unwrap_or_else(|| "TICKETS.md".into());
    let full = dir.join(&tickets_path);
    let tickets = if full.exists() {
        let doc = read_tickets(&full)?;
        if !doc.has_tickets() {
            warnings.push(format!(
                "{tickets_path} exists but no tickets were recognised in it; it is kept as it is"
            ));
        }
        tickets_report(&tickets_path, TicketsAction::Adopt, &doc)
    } else {
        tickets_report(
            &tickets_path,
            TicketsAction::Create,
            &Document::parse(TICKETS_TEMPLATE),
        )
    };
    Ok(SetupPlan {
        name,
        id: existing.as_ref().and_then(|p| p.id.clone()),
        git_init: !git.is_repo && !git.git_missing,
        git,
        detected,
        pattern,
        agents,
        verify,
        verify_source,
        lookahead: existing
            .as_ref()
            .map(|p| p.lookahead)
            .unwrap_or(Some(DEFAULT_LOOKAHEAD)),
        sync_every: existing
            .as_ref()
            .map(|p| p.sync_every)
            .unwrap_or(Some(DEFAULT_SYNC_EVERY)),
        qa: existing.as_ref().is_some_and(|p| p.qa),
        tickets,
        existing_project_file: existing.is_some(),
        warnings,
        dir,
    })
}

impl SetupPlan {
    /// Switches the pattern; the agents become that pattern's slots on the best installed CLIs.
    pub fn set_pattern(&mut self, pattern: Pattern) {
        self.pattern = pattern;
        self.agents = agents_for_pattern(pattern, &self.detected);
    }

    /// Sets the verify command (empty clears it).
    pub fn set_verify(&mut self, command: &str) {
        let c = command.trim();
        self.verify = (!c.is_empty()).then(|| c.to_string());
        self.verify_source = Some("user".into());
        if self.verify.is_some() {
            self.warnings
                .retain(|w| !w.starts_with("no verify command"));
        }
    }
}

/// Puts `command` on an agent slot. `key` is a slot (`designer`, `builder`, `reviewer`: an agent id of the
/// plan) or a role name (`design`, `build`, `review`, ...: the first agent that has it). A command whose
/// program is a known CLI (`claude`, `codex --sandbox workspace-write`, `/opt/bin/aider`) runs that CLI with Leapfrog's
/// integration; anything else runs as a custom command line.
pub fn assign_agent(plan: &mut SetupPlan, key: &str, command: &str) -> Result<(), SetupError> {
    let key = key.trim();
    let idx = plan
        .agents
        .iter()
        .position(|a| a.id == key)
        .or_else(|| {
            let role = Role::parse(&key.to_ascii_lowercase())?;
            plan.agents.iter().position(|a| a.has_role(role))
        })
        .ok_or_else(|| {
            let ids: Vec<&str> = plan.agents.iter().map(|a| a.id.as_str()).collect();
            err(format!(
                "no agent slot or role named {key:?} in this pattern (slots: {}; roles: {})",
                ids.join(", "),
                Role::ALL.map(Role::as_str).join(", ")
            ))
        })?;
    if command.trim().is_empty() {
        return Err(err(format!("the command for {key} is empty")));
    }
    let words = agents::split_command(command)
        .map_err(|e| err(format!("agent command {command:?}: {e}")))?;
    let Some(first) = words.first() else {
        return Err(err(format!("the command for {key} is empty")));
    };
    let base = Path::new(first)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let known = CliKind::ALL.into_iter().find(|&k| {
        k != CliKind::Custom
            && (default_program(k) == Some(base.as_str())
                || cli_id(k) == base
                || k.as_str() == base)
    });
    let slot = &mut plan.agents[idx];
    match known {
        Some(k) => {
            slot.cli = k;
            slot.command = (default_program(k) != Some(first.as_str())).then(|| first.clone());
            slot.args = words[1..].to_vec();
        }
        None => {
            slot.cli = CliKind::Custom;
            slot.command = Some(command.trim().to_string());
            slot.args = Vec::new();
        }
    }
    Ok(())
}

/// A store id from a name: lowercase letters, digits and `-`.
fn slug(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() {
            s.extend(c.to_lowercase());
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "project".into()
    } else {
        s
    }
}

/// An id no other folder uses in the store: the slug, else `slug-2`, `slug-3`, ...
fn free_id(store: &dyn Store, name: &str, dir: &Path) -> Result<String, SetupError> {
    let base = slug(name);
    for n in 1.. {
        let id = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        match store
            .project(&id)
            .map_err(|e| err(format!("cannot read the project list: {e}")))?
        {
            None => return Ok(id),
            Some(p) if p.repo_path == dir => return Ok(id),
            Some(_) => {}
        }
    }
    unreachable!("ids are unbounded")
}

/// Checks the plan before anything is written.
fn validate(plan: &SetupPlan) -> Result<(), SetupError> {
    if plan.name.trim().is_empty() {
        return Err(err("the project needs a name"));
    }
    if plan.agents.is_empty() {
        return Err(err("the project needs at least one agent"));
    }
    for a in &plan.agents {
        a.validate()
            .map_err(|e| err(format!("agent {}: {e}", a.id)))?;
    }
    for role in [Role::Design, Role::Build, Role::Review] {
        if !plan.agents.iter().any(|a| a.has_role(role)) {
            return Err(err(format!(
                "no agent takes the {} role; every batch needs one",
                role.as_str()
            )));
        }
    }
    if plan.qa && !plan.agents.iter().any(|a| a.has_role(Role::Qa)) {
        return Err(err(
            "QA after each review needs an agent that takes the qa role",
        ));
    }
    if plan.lookahead == Some(0) {
        return Err(err(
            "lookahead 0 would stop the designer from ever running ahead; use 1 or more, or no limit",
        ));
    }
    let rel = Path::new(&plan.tickets.path);
    if rel.is_absolute() || rel.components().any(|c| c.as_os_str() == "..") {
        return Err(err(format!(
            "the tickets file {} must be inside the project folder",
            plan.tickets.path
        )));
    }
    Ok(())
}

/// Carries out a plan: `git init` if asked, creates or adopts the tickets file (never overwriting it), writes
/// `.leapfrog/project.json` and registers the project in `store` (when given).
pub fn finish(plan: &SetupPlan, store: Option<&dyn Store>) -> Result<SetupReport, SetupError> {
    validate(plan)?;
    let dir = &plan.dir;
    if !dir.is_dir() {
        return Err(err(format!("{} is not a folder", dir.display())));
    }
    let mut git_initialised = false;
    if plan.git_init && !git_state(dir).is_repo {
        git_init(dir)?;
        git_initialised = true;
    }
    let path = dir.join(&plan.tickets.path);
    let tickets = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(mut f) => {
            f.write_all(TICKETS_TEMPLATE.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| err(format!("cannot write {}: {e}", path.display())))?;
            tickets_report(
                &plan.tickets.path,
                TicketsAction::Create,
                &Document::parse(TICKETS_TEMPLATE),
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => tickets_report(
            &plan.tickets.path,
            TicketsAction::Adopt,
            &read_tickets(&path)?,
        ),
        Err(e) => return Err(err(format!("cannot create {}: {e}", path.display()))),
    };
    // The per-role reading rules the context packs quote: created when missing, never rewritten.
    let rules = dir.join(crate::context::RULES_FILE);
    if !rules.exists() {
        let made = rules
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&rules)
            })
            .and_then(|mut f| f.write_all(crate::context::DEFAULT_RULES.as_bytes()));
        if let Err(e) = made {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                return Err(err(format!("cannot create {}: {e}", rules.display())));
            }
        }
    }
    let id = match (&plan.id, store) {
        (Some(id), _) => id.clone(),
        (None, Some(s)) => free_id(s, &plan.name, dir)?,
        (None, None) => slug(&plan.name),
    };
    let file = ProjectFile {
        id: Some(id.clone()),
        name: plan.name.trim().to_string(),
        tickets: plan.tickets.path.clone(),
        verify: plan.verify.clone(),
        pattern: plan.pattern,
        lookahead: plan.lookahead,
        sync_every: plan.sync_every,
        qa: plan.qa,
        agents: plan.agents.clone(),
        // A checkout with a branch and a commit gets batches on branches; anything else (no git,
        // no commit yet, detached) keeps one shared checkout, as before.
        preamble: Vec::new(),
        priority: None,
        builds_after: Default::default(),
        git: crate::git::Repo::open(dir)
            .ok()
            .filter(|r| r.commit("HEAD").is_ok())
            .map(|_| crate::git::GitSettings::branches()),
    };
    let project_file = file.save(dir).map_err(err)?;
    let project = file.to_model(&id, dir);
    if let Some(s) = store {
        s.put_project(&project)
            .map_err(|e| err(format!("cannot register the project: {e}")))?;
    }
    Ok(SetupReport {
        project,
        project_file,
        tickets,
        git_initialised,
        registered: store.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for (name, want) in [
            ("My Shop", "my-shop"),
            ("  --x__y--  ", "x-y"),
            ("Été 2026!", "été-2026"),
            ("***", "project"),
        ] {
            assert_eq!(slug(name), want, "{name}");
        }
    }
}
