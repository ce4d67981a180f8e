//! `leap demo init DIR`: a throwaway project for trying Leapfrog with two scripted demo agents.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Duration;

use leapfrog_engine::agents::{shell_quote, AgentProfile};
use leapfrog_engine::model::Pattern;
use leapfrog_engine::project::ProjectFile;

/// The demo's TICKETS.md, in the canonical format: 4 batches of 2-3 tickets.
pub const DEMO_TICKETS: &str = "# Tickets

> Synced with Leapfrog. Tickets are `###` headings grouped into batches (`##`).
> Keep IDs stable. Set **Status** to one of: todo · doing · review · blocked · done · dropped.
> Anything else in this file is preserved as written.

## Batch 1: Foundation
Goal: a greeting script that runs.

### T-001: Greeting script
- **Status:** todo

Print a greeting for the name given as the first argument.

### T-002: Usage text
- **Status:** todo
- **Depends on:** T-001

Print usage when no name is given.

## Batch 2: Options
Goal: the greeting can be shaped.

### T-003: Shout option
- **Status:** todo
- **Depends on:** T-001

`--shout` prints the greeting in capitals.

### T-004: Repeat option
- **Status:** todo
- **Depends on:** T-001

`--times N` prints the greeting N times.

### T-005: Language option
- **Status:** todo

`--lang fr|de|es` greets in another language.

## Batch 3: Output formats
Goal: machine-readable output.

### T-006: JSON output
- **Status:** todo

`--json` prints `{\"greeting\": ...}`.

### T-007: Quiet mode
- **Status:** todo

`--quiet` prints nothing and exits 0.

## Batch 4: Packaging
Goal: others can install it.

### T-008: Install script
- **Status:** todo

`install.sh` copies the script into `~/.local/bin`.

### T-009: Changelog
- **Status:** todo

A CHANGELOG.md listing each batch.
";

/// The demo's verify command: every script the builder wrote must parse.
pub const DEMO_VERIFY: &str = "#!/bin/sh
# The demo project's verify command: TICKETS.md exists and every script in src/ parses.
set -e
test -f TICKETS.md
for f in src/*.sh; do
  [ -e \"$f\" ] || continue
  sh -n \"$f\"
done
echo \"verify: ok\"
";

const DEMO_README: &str = "# Leapfrog demo project

A throwaway project made by `leap demo init`. Two scripted agents (`leap demo-agent`) design and
build the batches of TICKETS.md while Leapfrog runs them side by side:

- **designer** (`leap demo-agent --role designer`): designs batches, reviews builds;
- **builder** (`leap demo-agent --role builder`): builds batches, fixes failed reviews.

Verify command: `sh verify.sh`.
";

/// The project config: two demo agents, Leapfrog pattern, lookahead 1, a sync point every 2 batches.
pub fn demo_project(leap: &str) -> ProjectFile {
    use leapfrog_engine::model::Role::*;
    ProjectFile {
        id: None,
        name: "leapfrog-demo".into(),
        tickets: "TICKETS.md".into(),
        verify: Some("sh verify.sh".into()),
        pattern: Pattern::Leapfrog,
        lookahead: Some(1),
        sync_every: Some(2),
        qa: false,
        preamble: Vec::new(),
        priority: None,
        builds_after: Default::default(),
        git: Some(leapfrog_engine::git::GitSettings::branches()),
        agents: vec![
            AgentProfile::custom(
                "designer",
                &format!("{} demo-agent --role designer", shell_quote(leap)),
                vec![Discovery, Requirements, Plan, Design, Review, Qa],
            ),
            AgentProfile::custom(
                "builder",
                &format!("{} demo-agent --role builder", shell_quote(leap)),
                vec![Build, Fix],
            ),
        ],
    }
}

/// Runs git in `dir`, retrying while another process holds the index or a ref lock (two agents
/// committing at once). Returns stdout; errors are one line with git's message.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let mut attempt = 0;
    loop {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        // Another agent holds the index or a ref lock: wait for it.
        let contended = err.contains(".lock") || err.contains("cannot lock ref");
        if contended && attempt < 50 {
            attempt += 1;
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        let first = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed")
            .trim()
            .to_string();
        return Err(format!("git {}: {first}", args.join(" ")));
    }
}

fn write(dir: &Path, rel: &str, contents: &str) -> Result<(), String> {
    let path = dir.join(rel);
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?;
    }
    std::fs::write(&path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Creates the demo project. DIR must not exist or be empty.
pub fn create(dir: &Path, leap: &str) -> Result<(), String> {
    if dir.exists() {
        let mut entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        if entries.next().is_some() {
            return Err(format!(
                "{} is not empty; give a new or empty directory",
                dir.display()
            ));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    git(dir, &["init", "-q"])?;
    git(dir, &["config", "user.name", "Leapfrog Demo"])?;
    git(dir, &["config", "user.email", "demo@leapfrog.invalid"])?;
    git(dir, &["config", "commit.gpgsign", "false"])?;
    write(dir, "TICKETS.md", DEMO_TICKETS)?;
    write(dir, "verify.sh", DEMO_VERIFY)?;
    write(dir, "README.md", DEMO_README)?;
    write(dir, "src/.gitkeep", "")?;
    write(
        dir,
        leapfrog_engine::context::RULES_FILE,
        leapfrog_engine::context::DEFAULT_RULES,
    )?;
    // Reports queued by sandboxed agents (control::spool) are not project files.
    write(dir, ".gitignore", ".leapfrog/inbox/\n")?;
    demo_project(leap).save(dir)?;
    git(dir, &["add", "."])?;
    git(
        dir,
        &[
            "commit",
            "-q",
            "-m",
            "Demo project: TICKETS.md, verify.sh, two demo agents",
        ],
    )?;
    Ok(())
}

pub fn init(dir: &Path, leap: &str) -> Result<ExitCode, String> {
    create(dir, leap)?;
    // Leapfrog wrote these commands itself: approve them, so the demo runs without a question.
    crate::trust::approve_written(dir)?;
    println!("Demo project ready in {}", dir.display());
    println!(
        "  TICKETS.md: 4 batches, 9 tickets · verify: sh verify.sh · agents: designer, builder"
    );
    Ok(ExitCode::SUCCESS)
}
