//! Every screen a real user meets with the real Claude Code and Codex, in the real engine: each CLI
//! runs in a Leapfrog PTY pane under an `Orchestrator`, offline against the scripted model
//! endpoint, from a throwaway HOME seeded to reach exactly that screen. Leapfrog must show the
//! agent as needing input, in words that say what the CLI wants and where to answer, and must not
//! paste a prompt into the dialog.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use leapfrog_e2e::agent_clis::{
    approve_project, claude_agent, codex_agent, create_project, leap_binary, AgentClis, SeededHome,
};
use leapfrog_e2e::model::{ErrorReply, ModelEndpoint, Rule, Script, Step};
use leapfrog_engine::agents::AgentStatus;
use leapfrog_engine::orchestrator::{Command, EngineEvent, OpenOptions, Orchestrator};
use leapfrog_engine::store::SledStore;
use serde_json::{json, Value};

/// Generous: only there so a broken case fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(60);

/// The one agent of each case does everything, so its first phase is a design.
const ROLES: [&str; 4] = ["design", "build", "review", "fix"];

/// A case's world: the endpoint, a project, a seeded home, and the running engine.
struct Case {
    _tmp: tempfile::TempDir,
    project: PathBuf,
    orch: Orchestrator,
    events: Receiver<EngineEvent>,
    /// Every event seen so far.
    seen: Vec<EngineEvent>,
}

impl Case {
    /// Starts `agent` (built from the endpoint's per-agent URL and the home) on a one-batch
    /// project. `seed` adjusts the seeded home before the start.
    fn start(
        script: Script,
        agent: impl FnOnce(&ModelEndpoint, &Path) -> Value,
        seed: impl FnOnce(&Path, &Path) -> Result<()>,
    ) -> Result<(Case, ModelEndpoint)> {
        let tmp = tempfile::tempdir()?;
        let project = tmp.path().join("project");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&project)?;
        let mut scripts = BTreeMap::new();
        scripts.insert("a".to_string(), script);
        let endpoint = ModelEndpoint::start(scripts)?;
        SeededHome::create(
            &home,
            &[&project],
            &format!("{}/v1", endpoint.base_url("a")),
        )?;
        let mut profile = agent(&endpoint, &home);
        profile["env"]["HOME"] = json!(home.display().to_string());
        create_project(&project, 1, vec![profile], "true")?;
        seed(&home, &project)?;
        let data = tmp.path().join("data");
        approve_project(&project, &data)?;
        let store = Arc::new(SledStore::open(data.join("db"))?);
        let mut opts = OpenOptions::new(&project, store).map_err(anyhow::Error::msg)?;
        opts.data_dir = data;
        opts.runtime_dir = tmp.path().join("rt");
        opts.write_token_file = false;
        opts.home_dir = Some(home.clone());
        opts.leap_program = leap_binary()?.display().to_string();
        let orch = Orchestrator::open(opts).map_err(anyhow::Error::msg)?;
        let events = orch.subscribe();
        orch.start().map_err(anyhow::Error::msg)?;
        Ok((
            Case {
                _tmp: tmp,
                project,
                orch,
                events,
                seen: Vec::new(),
            },
            endpoint,
        ))
    }

    /// Waits for an event `f` accepts; fails with the agent's screen.
    fn wait_for(&mut self, what: &str, f: impl Fn(&EngineEvent) -> bool) -> Result<EngineEvent> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(e) => {
                    self.seen.push(e.clone());
                    if f(&e) {
                        return Ok(e);
                    }
                }
                Err(_) => bail!(
                    "gave up waiting for {what}; events: {:#?}\nscreen:\n{}",
                    self.seen,
                    self.screen()
                ),
            }
        }
    }

    /// The agent's needs-input reason, once it shows.
    fn needs_input(&mut self) -> Result<String> {
        match self.wait_for("needs input", |e| {
            matches!(
                e,
                EngineEvent::AgentStatus {
                    status: AgentStatus::NeedsInput,
                    ..
                }
            )
        })? {
            EngineEvent::AgentStatus { reason, .. } => Ok(reason),
            _ => unreachable!(),
        }
    }

    /// No prompt was written to the agent (while `hold` passes, and before).
    fn no_prompt_for(&mut self, hold: Duration) -> Result<()> {
        let end = Instant::now() + hold;
        while let Ok(e) = self
            .events
            .recv_timeout(end.saturating_duration_since(Instant::now()))
        {
            self.seen.push(e);
        }
        if let Some(e) = self
            .seen
            .iter()
            .find(|e| matches!(e, EngineEvent::PhaseDispatched { .. }))
        {
            bail!(
                "a prompt was written into the dialog: {e:?}\nevents: {:#?}\nscreen:\n{}",
                self.seen,
                self.screen()
            );
        }
        Ok(())
    }

    /// Waits until the agent's screen shows `text`.
    fn screen_shows(&self, text: &str) -> Result<()> {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if self.screen().contains(text) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("the screen never showed {text:?}:\n{}", self.screen())
    }

    fn screen(&self) -> String {
        self.orch
            .agent_pane("a")
            .and_then(|id| self.orch.panes().get(id).ok())
            .map(|p| p.screen_text())
            .unwrap_or_default()
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        self.orch.stop();
    }
}

fn claude(endpoint: &ModelEndpoint, args: &[&str]) -> Result<Value> {
    let clis = AgentClis::find()?;
    Ok(claude_agent(
        "a",
        &clis.claude,
        &ROLES,
        &endpoint.base_url("a"),
        args,
    ))
}

fn codex(home: &Path, args: &[&str]) -> Result<Value> {
    let clis = AgentClis::find()?;
    Ok(codex_agent(
        "a",
        &clis.codex,
        &ROLES,
        &home.join(".codex"),
        args,
    ))
}

/// Rewrites the seeded `.claude.json` with `f`.
fn edit_claude_json(home: &Path, f: impl FnOnce(&mut Value)) -> Result<()> {
    let path = home.join(".claude.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&path)?)?;
    f(&mut v);
    std::fs::write(&path, serde_json::to_vec_pretty(&v)?)?;
    Ok(())
}

/// A design prompt that makes the agent run `step`.
fn design_script(step: Step) -> Script {
    Script {
        rules: vec![Rule {
            when: "Design Batch 1 only".into(),
            steps: vec![step],
            reply: "Done.".into(),
        }],
    }
}

fn no_script() -> Script {
    Script { rules: vec![] }
}

/// Checks that a needs-input reason names the CLI, what it wants and where to answer.
fn says(reason: &str, cli: &str, wants: &str) {
    assert!(
        reason.contains(cli) && reason.contains(wants) && reason.contains("answer in its pane"),
        "reason {reason:?} should say {cli} {wants} ... answer in its pane"
    );
}

#[test]
fn claude_code_folder_trust() -> Result<()> {
    let (mut case, _ep) = Case::start(
        no_script(),
        |ep, _| claude(ep, &[]).unwrap(),
        |home, _| {
            edit_claude_json(home, |v| {
                v["projects"] = json!({});
            })
        },
    )?;
    let reason = case.needs_input()?;
    says(&reason, "Claude Code", "trust this folder");
    case.no_prompt_for(Duration::from_secs(2))?;
    case.screen_shows("Yes, I trust this folder")?;
    Ok(())
}

#[test]
fn claude_code_api_key_approval() -> Result<()> {
    let (mut case, _ep) = Case::start(
        no_script(),
        |ep, _| claude(ep, &[]).unwrap(),
        |home, _| {
            edit_claude_json(home, |v| {
                v.as_object_mut().unwrap().remove("customApiKeyResponses");
            })
        },
    )?;
    let reason = case.needs_input()?;
    says(&reason, "Claude Code", "API key");
    case.no_prompt_for(Duration::from_secs(2))?;
    // An Enter here would have answered "No (recommended)" and dropped the key.
    case.screen_shows("Do you want to use this API key?")?;
    Ok(())
}

#[test]
fn claude_code_onboarding_offline_exits_and_says_why() -> Result<()> {
    // A HOME Claude Code has never seen: its onboarding checks Anthropic's own host, which this
    // machine cannot reach, and it exits.
    let (mut case, _ep) = Case::start(
        no_script(),
        |ep, _| claude(ep, &[]).unwrap(),
        |home, _| Ok(std::fs::write(home.join(".claude.json"), "{}")?),
    )?;
    let e = case.wait_for("the exit notice", |e| {
        matches!(e, EngineEvent::Notification { message } if message.contains("agent a exited"))
    })?;
    let EngineEvent::Notification { message } = e else {
        unreachable!()
    };
    assert!(
        message.contains("Unable to connect to Anthropic services"),
        "{message}"
    );
    assert!(message.contains("command: "), "{message}");
    assert!(
        message.contains(&AgentClis::find()?.claude.display().to_string()),
        "{message}"
    );
    Ok(())
}

#[test]
fn claude_code_permission_prompt_for_a_command() -> Result<()> {
    let (mut case, _ep) = Case::start(
        design_script(Step::Shell("touch made-by-claude.txt".into())),
        |ep, _| claude(ep, &["--permission-mode", "default"]).unwrap(),
        |_, _| Ok(()),
    )?;
    case.wait_for("the design prompt", |e| {
        matches!(e, EngineEvent::PhaseDispatched { .. })
    })?;
    let reason = case.needs_input()?;
    assert!(
        reason.contains("permission") && reason.contains("Bash"),
        "{reason}"
    );
    case.screen_shows("Do you want to proceed?")?;
    assert!(!case.project.join("made-by-claude.txt").exists());
    Ok(())
}

#[test]
fn codex_sign_in() -> Result<()> {
    let (mut case, _ep) = Case::start(
        no_script(),
        |_, home| codex(home, &[]).unwrap(),
        |home, _| Ok(std::fs::write(home.join(".codex/config.toml"), "")?),
    )?;
    let reason = case.needs_input()?;
    says(&reason, "Codex", "sign in");
    case.no_prompt_for(Duration::from_secs(2))?;
    Ok(())
}

#[test]
fn codex_folder_trust() -> Result<()> {
    // The seeded provider, but no trusted folders.
    let (mut case, _ep) = Case::start(
        no_script(),
        |_, home| codex(home, &[]).unwrap(),
        |home, _| {
            let cfg = std::fs::read_to_string(home.join(".codex/config.toml"))?;
            let cut = cfg.find("[projects.").context("no trusted folders")?;
            Ok(std::fs::write(
                home.join(".codex/config.toml"),
                &cfg[..cut],
            )?)
        },
    )?;
    let reason = case.needs_input()?;
    says(&reason, "Codex", "trust this folder");
    case.no_prompt_for(Duration::from_secs(2))?;
    Ok(())
}

#[test]
fn codex_approval_prompt_for_a_command() -> Result<()> {
    let (mut case, _ep) = Case::start(
        design_script(Step::Escalated("touch made-by-codex.txt".into())),
        |_, home| {
            codex(
                home,
                &["--sandbox", "read-only", "--ask-for-approval", "on-request"],
            )
            .unwrap()
        },
        |_, _| Ok(()),
    )?;
    case.wait_for("the design prompt", |e| {
        matches!(e, EngineEvent::PhaseDispatched { .. })
    })?;
    let reason = case.needs_input()?;
    says(&reason, "Codex", "approval to run a command");
    assert!(!case.project.join("made-by-codex.txt").exists());
    Ok(())
}

#[test]
fn a_crashed_cli_is_named_with_its_command_and_last_screen() -> Result<()> {
    let (mut case, _ep) =
        Case::start(no_script(), |ep, _| claude(ep, &[]).unwrap(), |_, _| Ok(()))?;
    case.wait_for("the agent at its prompt", |e| {
        matches!(
            e,
            EngineEvent::AgentStatus {
                status: AgentStatus::Idle,
                ..
            }
        )
    })?;
    let pane = case.orch.agent_pane("a").context("no pane")?;
    let pid = case.orch.panes().get(pane)?.pid().context("no pid")?;
    // SAFETY: kill(2) on the agent process this test started.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let e = case.wait_for("the exit notice", |e| {
        matches!(e, EngineEvent::Notification { message } if message.contains("agent a exited"))
    })?;
    let EngineEvent::Notification { message } = e else {
        unreachable!()
    };
    assert!(message.contains("killed"), "{message}");
    assert!(message.contains("its screen last showed: "), "{message}");
    // The last screen lines are Claude Code's own: its mode footer, which reads "auto mode on"
    // once its auto-mode notice has shown (on some starts, not all) and
    // "shift+tab to cycle" or "? for shortcuts" otherwise.
    assert!(
        ["shift+tab to cycle", "auto mode on", "? for shortcuts"]
            .iter()
            .any(|footer| message.contains(footer)),
        "{message}"
    );
    Ok(())
}

#[test]
fn a_usage_limit_with_no_reset_time_waits_for_the_user() -> Result<()> {
    // Codex 0.171: "You’ve hit your usage limit. Try again later." (no resets_at).
    let script = Script {
        rules: vec![Rule {
            when: r"(?s)Design Batch 1 only.*?run `(?P<leap>[^`]+?) handoff".into(),
            steps: vec![
                Step::Error(ErrorReply::RateLimited {
                    reset_unix: None,
                    retry_after: None,
                }),
                Step::Shell("${leap} handoff --batch 1 --tickets T-001,T-002".into()),
            ],
            reply: "Designed.".into(),
        }],
    };
    let (mut case, _ep) = Case::start(
        script,
        |_, home| codex(home, &["--sandbox", "danger-full-access"]).unwrap(),
        |_, _| Ok(()),
    )?;
    let e = case.wait_for("the limit", |e| {
        matches!(
            e,
            EngineEvent::AgentStatus {
                status: AgentStatus::Limited,
                ..
            }
        )
    })?;
    let EngineEvent::AgentStatus { reason, .. } = e else {
        unreachable!()
    };
    assert!(
        reason.contains("no reset time") && reason.contains("resume"),
        "{reason}"
    );
    case.screen_shows("Try again later.")?;
    // Nothing more is given to it until the user says so.
    case.seen.clear();
    case.no_prompt_for(Duration::from_secs(3))?;
    case.orch
        .command(Command::ResumeAgent { agent: "a".into() })
        .map_err(anyhow::Error::msg)?;
    case.wait_for("design(1) done after the resume", |e| {
        matches!(e, EngineEvent::PhaseCompleted { run, .. }
            if run.outcome == leapfrog_engine::model::PhaseOutcome::Passed)
    })?;
    Ok(())
}

#[test]
fn claude_code_api_error_is_named_and_its_phase_left_open() -> Result<()> {
    let (mut case, _ep) = Case::start(
        design_script(Step::Error(ErrorReply::ServerError)),
        |ep, _| {
            let mut a = claude(ep, &[]).unwrap();
            // No retries: Claude Code's own ten take about three minutes.
            a["env"]["CLAUDE_CODE_MAX_RETRIES"] = json!("0");
            a
        },
        |_, _| Ok(()),
    )?;
    let e = case.wait_for("the error notice", |e| {
        matches!(e, EngineEvent::Notification { message } if message.contains("turn ended on an error"))
    })?;
    let EngineEvent::Notification { message } = e else {
        unreachable!()
    };
    assert!(
        message.contains("API Error: 500") && message.contains("design(1) is still open"),
        "{message}"
    );
    Ok(())
}
