//! The real agent CLIs (Claude Code, Codex) pinned by `.ci/install`, and throwaway homes that let
//! them run offline against the scripted model endpoint ([`crate::model`]) with no account.
//!
//! `.ci/install` puts the pinned npm packages into `$LEAPFROG_AGENT_CLIS` (default
//! `~/.cache/leapfrog-agent-clis`); [`AgentClis::find`] looks there and fails with what to run when
//! they are missing, so a test that needs them can never silently skip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::model::{ModelEndpoint, Rule, Script, Step};

/// The API key the CLIs send to the scripted endpoint (any value works; Claude Code asks about
/// a custom key unless its last 20 characters are approved in `.claude.json`).
pub const TEST_API_KEY: &str = "sk-ant-leapfrog-test-0123456789abcdefghij";

/// The environment variable Codex reads its key from (`env_key` of the test provider).
pub const CODEX_KEY_ENV: &str = "LEAPFROG_TEST_MODEL_KEY";

/// The pinned CLIs' folder (`node_modules/.bin` inside it holds `claude` and `codex`).
pub fn agent_clis_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("LEAPFROG_AGENT_CLIS") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    Path::new(&home).join(".cache/leapfrog-agent-clis")
}

/// The installed real CLIs.
#[derive(Debug, Clone)]
pub struct AgentClis {
    pub claude: PathBuf,
    pub codex: PathBuf,
}

impl AgentClis {
    /// The pinned CLIs, or an error naming the command that installs them.
    pub fn find() -> Result<AgentClis> {
        let bin = agent_clis_dir().join("node_modules/.bin");
        let claude = bin.join("claude");
        let codex = bin.join("codex");
        for p in [&claude, &codex] {
            if !p.exists() {
                bail!(
                    "{} is missing: run `bash .ci/install` (it installs the pinned Claude Code and \
                     Codex into {})",
                    p.display(),
                    agent_clis_dir().display()
                );
            }
        }
        Ok(AgentClis { claude, codex })
    }

    /// `<cli> --version`, first line.
    pub fn version(program: &Path) -> Result<String> {
        let out = Command::new(program)
            .arg("--version")
            .output()
            .with_context(|| format!("cannot run {}", program.display()))?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string())
    }
}

/// A throwaway `HOME` seeded so that each CLI's first-run screens are already answered for the
/// given project folders: Claude Code's onboarding, its custom-API-key question and folder trust;
/// Codex's provider (the scripted endpoint), folder trust and no background daemon.
pub struct SeededHome {
    pub home: PathBuf,
}

impl SeededHome {
    /// Seeds `home` for `projects` (canonical paths are added too). `codex_base_url` is the
    /// endpoint's OpenAI base URL (ending in `/v1`).
    pub fn create(home: &Path, projects: &[&Path], codex_base_url: &str) -> Result<SeededHome> {
        std::fs::create_dir_all(home)?;
        let mut dirs: Vec<String> = Vec::new();
        for p in projects {
            dirs.push(p.display().to_string());
            if let Ok(c) = p.canonicalize() {
                dirs.push(c.display().to_string());
            }
        }
        dirs.dedup();
        let key_tail: String = {
            let chars: Vec<char> = TEST_API_KEY.chars().collect();
            chars[chars.len() - 20..].iter().collect()
        };
        let mut claude_projects = serde_json::Map::new();
        for d in &dirs {
            claude_projects.insert(
                d.clone(),
                json!({ "hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true }),
            );
        }
        let claude = json!({
            "hasCompletedOnboarding": true,
            "theme": "dark",
            "customApiKeyResponses": { "approved": [key_tail], "rejected": [] },
            "projects": claude_projects,
        });
        std::fs::write(
            home.join(".claude.json"),
            serde_json::to_vec_pretty(&claude)?,
        )?;
        Self::write_codex_config(&home.join(".codex"), &dirs, codex_base_url)?;
        // Git identity for the agents' commits.
        std::fs::write(
            home.join(".gitconfig"),
            "[user]\n\tname = Leapfrog Test\n\temail = test@leapfrog.invalid\n[init]\n\tdefaultBranch = main\n",
        )?;
        Ok(SeededHome {
            home: home.to_path_buf(),
        })
    }

    /// Codex's `config.toml`: the scripted endpoint as its provider, trusted folders, no daemon.
    pub fn write_codex_config(codex_home: &Path, trusted: &[String], base_url: &str) -> Result<()> {
        std::fs::create_dir_all(codex_home)?;
        let mut toml = format!(
            "model = \"leapfrog-test-model\"\n\
             model_provider = \"leapfrog-test\"\n\
             check_for_update_on_startup = false\n\
             [model_providers.leapfrog-test]\n\
             name = \"Leapfrog scripted model\"\n\
             base_url = \"{base_url}\"\n\
             wire_api = \"responses\"\n\
             env_key = \"{CODEX_KEY_ENV}\"\n\
             supports_websockets = false\n\
             request_max_retries = 0\n\
             stream_max_retries = 0\n\
             [features]\n\
             daemon_auto_start = false\n"
        );
        for d in trusted {
            toml.push_str(&format!("[projects.\"{d}\"]\ntrust_level = \"trusted\"\n"));
        }
        std::fs::write(codex_home.join("config.toml"), toml)?;
        Ok(())
    }
}

/// A project folder for a real run: a git repository with a TICKETS.md of `batches` batches
/// (two tickets each) and `.leapfrog/project.json` with `agents` (JSON profiles) in the
/// Leapfrog pattern.
pub fn create_project(dir: &Path, batches: u32, agents: Vec<Value>, verify: &str) -> Result<()> {
    create_project_with(dir, batches, agents, verify, "leapfrog")
}

/// [`create_project`] with another pattern (`pipeline`, `specialist`).
pub fn create_project_with(
    dir: &Path,
    batches: u32,
    agents: Vec<Value>,
    verify: &str,
    pattern: &str,
) -> Result<()> {
    std::fs::create_dir_all(dir.join(".leapfrog"))?;
    let mut tickets = String::from("# Tickets\n\n");
    let mut n = 1;
    for b in 1..=batches {
        tickets.push_str(&format!("## Batch {b}: Feature {b}\n\n"));
        for _ in 0..2 {
            tickets.push_str(&format!(
                "### T-{n:03}: Part {n} of feature {b}\n- **Status:** todo\n\n"
            ));
            n += 1;
        }
    }
    std::fs::write(dir.join("TICKETS.md"), tickets)?;
    std::fs::write(dir.join("verify.sh"), "#!/bin/sh\necho verify ok\n")?;
    std::fs::write(dir.join(".gitignore"), ".leapfrog/inbox/\n")?;
    let project = json!({
        "name": "real-agents",
        "tickets": "TICKETS.md",
        "verify": verify,
        "pattern": pattern,
        "lookahead": 1,
        "sync_every": 3,
        "agents": agents,
    });
    std::fs::write(
        dir.join(".leapfrog/project.json"),
        serde_json::to_vec_pretty(&project)?,
    )?;
    let git = |args: &[&str]| -> Result<()> {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()?;
        if !out.status.success() {
            bail!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    };
    git(&["init", "-q", "-b", "main"])?;
    git(&["config", "user.name", "Leapfrog Test"])?;
    git(&["config", "user.email", "test@leapfrog.invalid"])?;
    git(&["add", "-A"])?;
    git(&["commit", "-qm", "Tickets"])?;
    Ok(())
}

/// Turns batches on branches on in `project` (`"git": {"branches": true}`), committed.
pub fn branches_on(project: &Path) -> Result<()> {
    let path = project.join(".leapfrog/project.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path)?)?;
    config["git"] = json!({"branches": true});
    std::fs::write(&path, serde_json::to_vec_pretty(&config)?)?;
    let out = Command::new("git")
        .arg("-C")
        .arg(project)
        .args(["commit", "-qam", "Batches on branches"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()?;
    if !out.status.success() {
        bail!("git commit: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// A Claude Code agent profile (JSON) talking to `base_url` (the endpoint's per-agent URL).
pub fn claude_agent(
    id: &str,
    claude: &Path,
    roles: &[&str],
    base_url: &str,
    extra_args: &[&str],
) -> Value {
    let mut env = BTreeMap::new();
    env.insert("ANTHROPIC_BASE_URL", base_url.to_string());
    env.insert("ANTHROPIC_API_KEY", TEST_API_KEY.to_string());
    // No telemetry, error reports or update checks against hosts this machine cannot reach.
    env.insert("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_string());
    env.insert("DISABLE_AUTOUPDATER", "1".to_string());
    profile(id, "claude-code", claude, roles, env, extra_args)
}

/// An agent profile as `.leapfrog/project.json` holds it.
fn profile(
    id: &str,
    cli: &str,
    program: &Path,
    roles: &[&str],
    env: BTreeMap<&str, String>,
    args: &[&str],
) -> Value {
    json!({
        "id": id,
        "cli": cli,
        "command": program.display().to_string(),
        "args": args,
        "roles": roles,
        "env": env,
    })
}

/// A token of Claude Code's gateway sessions (an unsigned JWT whose audience is
/// `claude-gateway`): with it, and no API key, Claude Code 2.1.332 talks to the base URL as a
/// gateway and shows usage limits as a subscriber sees them ("You've hit your 5-hour limit ·
/// resets 7:46pm (UTC)"), where an API-key session only shows "Request rejected (429)".
pub const GATEWAY_TOKEN: &str = "eyJhbGciOiAibm9uZSIsICJ0eXAiOiAiSldUIn0.eyJhdWQiOiAiY2xhdWRlLWdhdGV3YXkiLCAiZXhwIjogMTkwMDAwMDAwMCwgInN1YiI6ICJ1MSJ9.sig";

/// [`claude_agent`] in a gateway session ([`GATEWAY_TOKEN`] instead of an API key).
pub fn claude_gateway_agent(
    id: &str,
    claude: &Path,
    roles: &[&str],
    base_url: &str,
    extra_args: &[&str],
) -> Value {
    let mut agent = claude_agent(id, claude, roles, base_url, extra_args);
    let env = agent["env"].as_object_mut().expect("env");
    env.remove("ANTHROPIC_API_KEY");
    env.insert("ANTHROPIC_AUTH_TOKEN".into(), json!(GATEWAY_TOKEN));
    agent
}

/// A Codex agent profile (JSON) whose provider is the scripted endpoint (see
/// [`SeededHome::write_codex_config`]); `codex_home` is its own `CODEX_HOME`.
pub fn codex_agent(
    id: &str,
    codex: &Path,
    roles: &[&str],
    codex_home: &Path,
    extra_args: &[&str],
) -> Value {
    let mut env = BTreeMap::new();
    env.insert("CODEX_HOME", codex_home.display().to_string());
    env.insert(CODEX_KEY_ENV, "leapfrog-test-key".to_string());
    profile(id, "codex", codex, roles, env, extra_args)
}

/// The `leap` binary of the build under test (beside `leapfrog`, or `LEAP_BIN`).
pub fn leap_binary() -> Result<PathBuf> {
    crate::built_binary("leap", "LEAP_BIN", "cargo build -p leapfrog-cli")
}

/// The designer's script (Claude Code): design batch N = hand it off with its two tickets; review
/// batch N = look at the log, then pass it.
pub fn designer_script(batches: u32) -> Script {
    let mut rules = Vec::new();
    for b in 1..=batches {
        let (t1, t2) = (2 * b - 1, 2 * b);
        rules.push(Rule {
            when: format!(r"(?s)Design Batch {b} only.*?run `(?P<leap>[^`]+?) handoff"),
            steps: vec![Step::Shell(format!(
                "${{leap}} handoff --batch {b} --tickets T-{t1:03},T-{t2:03} --files src/feature-{b}.txt"
            ))],
            reply: format!("Batch {b} is designed and handed off."),
        });
    }
    rules.push(Rule {
        when: r"(?s)Review the Batch (?P<b>\d+) diff.*?run `(?P<leap>[^`]+?) complete".into(),
        steps: vec![
            Step::Shell("git log --oneline -3".into()),
            Step::Shell("${leap} complete --batch ${b} --phase review --verify passed".into()),
        ],
        reply: "Batch ${b} review: passed.".into(),
    });
    Script { rules }
}

/// The builder's script (Codex): commit a file for the batch, then report it built. Building
/// batch 1 also takes a while (`sleep`), as real builds do: long enough that the designer, back at
/// its prompt, is given design(2) while build(1) still runs (the leapfrog).
pub fn builder_script() -> Script {
    let commit = Step::Shell(
        "mkdir -p src && echo 'feature ${b}' > src/feature-${b}.txt && git add src \
         && git commit -qm 'Batch ${b}' && git log --oneline -1"
            .into(),
    );
    let report = Step::Shell(
        "${leap} complete --batch ${b} --verify passed --commits $(git rev-parse --short HEAD)"
            .into(),
    );
    let rule = |when: &str, steps: Vec<Step>| Rule {
        when: format!(r"(?s)Execute Batch (?P<b>{when}) only.*?run `(?P<leap>[^`]+?) complete"),
        steps,
        reply: "Batch ${b} is built and committed.".into(),
    };
    Script {
        rules: vec![
            rule(
                "1",
                vec![
                    commit.clone(),
                    Step::Shell("sleep 12".into()),
                    report.clone(),
                ],
            ),
            rule(r"\d+", vec![commit, report]),
        ],
    }
}

/// The team of the real runs: real Claude Code designs and reviews, real Codex builds, both
/// against the scripted endpoint, on a project of `batches` batches under `root`. Returns the
/// endpoint, the project and the seeded HOME.
pub fn team(
    root: &Path,
    clis: &AgentClis,
    batches: u32,
) -> Result<(ModelEndpoint, PathBuf, PathBuf)> {
    team_of(root, clis, batches, false)
}

/// [`team`], or with `specialist` the Specialist split: a second Claude Code session reviews.
pub fn team_of(
    root: &Path,
    clis: &AgentClis,
    batches: u32,
    specialist: bool,
) -> Result<(ModelEndpoint, PathBuf, PathBuf)> {
    let project = root.join("project");
    let home = root.join("home");
    let mut scripts = BTreeMap::new();
    scripts.insert("designer".to_string(), designer_script(batches));
    scripts.insert("builder".to_string(), builder_script());
    if specialist {
        scripts.insert("reviewer".to_string(), designer_script(batches));
    }
    let endpoint = ModelEndpoint::start(scripts)?;
    std::fs::create_dir_all(&project)?;
    // Batches are on branches: the builder works in its own worktree, which its CLI trusts too.
    let worktree = project.join(".leapfrog/worktrees/builder");
    SeededHome::create(
        &home,
        &[&project, &worktree],
        &format!("{}/v1", endpoint.base_url("builder")),
    )?;
    let designer_roles: &[&str] = if specialist {
        &["design"]
    } else {
        &["design", "review"]
    };
    let designer = claude_agent(
        "designer",
        &clis.claude,
        designer_roles,
        &endpoint.base_url("designer"),
        &[],
    );
    // Codex's own sandbox (bubblewrap) cannot start on this kind of machine, so the builder runs
    // without it, as users in containers do.
    let builder = codex_agent(
        "builder",
        &clis.codex,
        &["build", "fix"],
        &home.join(".codex"),
        &["--sandbox", "danger-full-access"],
    );
    let mut agents = vec![designer, builder];
    if specialist {
        agents.push(claude_agent(
            "reviewer",
            &clis.claude,
            &["review"],
            &endpoint.base_url("reviewer"),
            &[],
        ));
    }
    for agent in &mut agents {
        agent["env"]["HOME"] = serde_json::json!(home.display().to_string());
    }
    let pattern = if specialist { "specialist" } else { "leapfrog" };
    create_project_with(&project, batches, agents, "sh verify.sh", pattern)?;
    branches_on(&project)?;
    Ok((endpoint, project, home))
}

/// The app on a team's `project`, with its own data and runtime folders under `root`, the seeded
/// `home`, and the `leap` under test first on PATH.
pub async fn launch_team_app(root: &Path, project: &Path, home: &Path) -> Result<crate::App> {
    let run = root.join("run");
    std::fs::create_dir_all(&run)?;
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    let leap = leap_binary()?;
    let path = format!(
        "{}:{}",
        leap.parent().context("leap's folder")?.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // The user approved the team's commands before (the test wrote them).
    approve_project(project, &root.join("data"))?;
    crate::App::launch(crate::Launch {
        args: vec![project.display().to_string()],
        env: vec![
            (
                "LEAPFROG_DATA_DIR".into(),
                root.join("data").display().to_string(),
            ),
            ("LEAPFROG_RUNTIME_DIR".into(), run.display().to_string()),
            ("HOME".into(), home.display().to_string()),
            ("PATH".into(), path),
        ],
        ..crate::Launch::default()
    })
    .await
}

/// Records this user's approval of `project`'s commands in `data_dir`, as "Trust and run" or
/// `leap trust --yes` do.
pub fn approve_project(project: &Path, data_dir: &Path) -> Result<()> {
    let commands =
        leapfrog_engine::trust::ProjectCommands::load(project).map_err(anyhow::Error::msg)?;
    leapfrog_engine::trust::TrustFile::in_data_dir(data_dir)
        .approve(&commands)
        .map_err(anyhow::Error::msg)
}
