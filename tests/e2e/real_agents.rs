//! The real agent CLIs in a real leapfrog: `leap run --headless` drives the pinned Claude Code and
//! Codex (installed by `.ci/install`) in real PTYs, and the only stand-in is the model behind them:
//! the scripted endpoint of [`leapfrog_e2e::model`], which makes the CLIs run real shell commands
//! (git commits, `leap handoff`, `leap complete`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use leapfrog_e2e::agent_clis::{launch_team_app, leap_binary, team, team_of, AgentClis};
use serde_json::Value;

struct RunOutput {
    summary: Value,
    events: Vec<Value>,
    stderr: String,
}

/// `leap run DIR --headless --json --events` with `home` as HOME; fails with its stderr.
fn leap_run(project: &Path, home: &Path, state: &Path) -> Result<RunOutput> {
    let leap = leap_binary()?;
    let path = format!(
        "{}:{}",
        leap.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let started = Instant::now();
    let out = Command::new(&leap)
        .arg("run")
        .arg(project)
        .args([
            "--headless",
            "--json",
            "--events",
            "--stall",
            "90",
            "--timeout",
            "600",
            // The test wrote this project's commands itself.
            "--trust",
        ])
        .env("HOME", home)
        .env("PATH", path)
        .env("LEAPFROG_DATA_DIR", state.join("data"))
        .env("LEAPFROG_RUNTIME_DIR", state.join("rt"))
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("ANTHROPIC_BASE_URL")
        .env_remove("OPENAI_API_KEY")
        .env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("CODEX_HOME")
        .stdin(Stdio::null())
        .output()
        .context("cannot run leap")?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!(
        "leap run took {:.1}s, exit {:?}",
        started.elapsed().as_secs_f64(),
        out.status.code()
    );
    let events: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    if !out.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
        bail!(
            "leap run failed ({}):\n{}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let summary: Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "leap run printed no summary: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    Ok(RunOutput {
        summary,
        events,
        stderr,
    })
}

/// (start, end) of a phase in the summary's schedule, in minutes.
fn span(summary: &Value, phase: &str, batch: u64) -> Result<(f64, f64, String)> {
    let rows = summary["schedule"].as_array().context("schedule")?;
    let row = rows
        .iter()
        .find(|r| r["phase"] == phase && r["batch"] == batch)
        .with_context(|| format!("no {phase}({batch}) in {summary}"))?;
    Ok((
        row["start"].as_f64().unwrap(),
        row["end"].as_f64().unwrap(),
        row["agent"].as_str().unwrap_or_default().to_string(),
    ))
}

/// Each batch's design, build and review ran on `agents` (in that order), and in the order rules:
/// a batch is built after its design and reviewed after its build.
fn check_batches(s: &Value, batches: u32, agents: (&str, &str, &str)) -> Result<()> {
    for b in 1..=u64::from(batches) {
        let (ds, de, da) = span(s, "design", b)?;
        let (bs, be, ba) = span(s, "build", b)?;
        let (rs, re, ra) = span(s, "review", b)?;
        assert_eq!((da.as_str(), ba.as_str(), ra.as_str()), agents, "batch {b}");
        assert!(
            ds < de && de <= bs && bs < be && be <= rs && rs < re,
            "batch {b}: {s}"
        );
    }
    Ok(())
}

/// Which signals moved each agent's status: agent -> signal -> number of changes.
fn signals(events: &[Value]) -> BTreeMap<String, BTreeMap<String, usize>> {
    let mut out: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["type"] == "agent_status") {
        *out.entry(e["agent"].as_str().unwrap_or_default().to_string())
            .or_default()
            .entry(e["signal"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    out
}

#[test]
fn real_claude_code_designs_and_reviews_while_real_codex_builds() -> Result<()> {
    let clis = AgentClis::find()?;
    eprintln!(
        "claude: {}; codex: {}",
        AgentClis::version(&clis.claude)?,
        AgentClis::version(&clis.codex)?
    );
    let tmp = tempfile::tempdir()?;
    let batches = 3;
    let (endpoint, project, home) = team(tmp.path(), &clis, batches)?;
    let run = leap_run(&project, &home, &tmp.path().join("state"))?;
    let s = &run.summary;
    eprintln!("summary: {s}");
    for e in run.events.iter().filter(|e| {
        e["type"] == "log"
            && e["line"]
                .as_str()
                .is_some_and(|l| l.contains("pressed Enter again"))
    }) {
        eprintln!("{}", e["line"]);
    }
    let by_agent = signals(&run.events);
    for (agent, counts) in &by_agent {
        eprintln!("status signals of {agent}: {counts:?}");
    }

    assert_eq!(s["batches"], batches, "{s}");
    check_batches(s, batches, ("designer", "builder", "designer"))?;
    // The leapfrog: design(2) starts before build(1) ends.
    let (d2, _, _) = span(s, "design", 2)?;
    let (_, b1_end, _) = span(s, "build", 1)?;
    assert!(
        d2 < b1_end,
        "design(2) at {d2} did not overlap build(1) ending {b1_end}"
    );

    // Every phase was completed by the agent's own `leap` command, run by the real CLI.
    let completions: Vec<&Value> = run
        .events
        .iter()
        .filter(|e| e["type"] == "phase_completed")
        .collect();
    let by_command = completions
        .iter()
        .filter(|e| e["run"]["detection"] == "command")
        .count();
    assert_eq!(
        by_command,
        3 * batches as usize,
        "completions: {completions:?}\n{}",
        run.stderr
    );
    // The builder's commits are in the project.
    let log = Command::new("git")
        .arg("-C")
        .arg(&project)
        .args(["log", "--format=%s"])
        .output()?;
    let log = String::from_utf8_lossy(&log.stdout);
    for b in 1..=batches {
        assert!(log.contains(&format!("Batch {b}")), "git log: {log}");
        // Built on its own branch in Codex's worktree, then merged at the sync point.
        assert!(
            log.contains(&format!("Merge batch {b} (leapfrog/batch-{b})")),
            "git log: {log}"
        );
    }
    let builder_prompts: Vec<String> = endpoint
        .requests()
        .iter()
        .filter(|r| r.agent == "builder")
        .filter_map(|r| r.prompt.clone())
        .collect();
    assert!(
        builder_prompts
            .iter()
            .any(|p| p.contains(".leapfrog/worktrees/builder, on branch leapfrog/batch-1")),
        "{builder_prompts:?}"
    );
    // Claude Code's hooks reached Leapfrog (its status moved by hook), and the model saw every
    // prompt.
    assert!(
        by_agent
            .get("designer")
            .is_some_and(|c| c.contains_key("hook")),
        "designer signals: {by_agent:?}"
    );
    let requests = endpoint.requests();
    for r in &requests {
        eprintln!(
            "model request from {} ({}): rule {:?} step {:?} -> {}",
            r.agent, r.api, r.rule, r.step, r.answer
        );
    }
    for agent in ["designer", "builder"] {
        assert!(
            requests
                .iter()
                .any(|r| r.agent == agent && r.rule.is_some()),
            "no scripted request from {agent}: {requests:?}"
        );
    }
    Ok(())
}

/// The Specialist split: two Claude Code sessions (designer, reviewer) and Codex (builder).
#[test]
fn specialist_split_runs_two_claude_code_sessions_beside_codex() -> Result<()> {
    let clis = AgentClis::find()?;
    let tmp = tempfile::tempdir()?;
    let batches = 2;
    let (endpoint, project, home) = team_of(tmp.path(), &clis, batches, true)?;
    let run = leap_run(&project, &home, &tmp.path().join("state"))?;
    let s = &run.summary;
    check_batches(s, batches, ("designer", "builder", "reviewer"))?;
    // Two Claude Code sessions, each with its own conversation: the designer only designed and
    // the reviewer only reviewed.
    let requests = endpoint.requests();
    let prompts = |agent: &str| -> Vec<String> {
        requests
            .iter()
            .filter(|r| r.agent == agent && r.rule.is_some())
            .filter_map(|r| r.prompt.clone())
            .collect()
    };
    let designer = prompts("designer");
    let reviewer = prompts("reviewer");
    assert!(
        !designer.is_empty() && designer.iter().all(|p| p.contains("Design Batch")),
        "{designer:?}"
    );
    assert!(
        !reviewer.is_empty() && reviewer.iter().all(|p| p.contains("Review the Batch")),
        "{reviewer:?}"
    );
    let sessions: std::collections::BTreeSet<String> = run
        .events
        .iter()
        .filter(|e| e["type"] == "agent_started")
        .filter_map(|e| e["command_line"].as_str())
        .filter_map(|c| c.split("--session-id ").nth(1))
        .map(|rest| rest.split(' ').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(sessions.len(), 2, "{:?}", run.stderr);
    Ok(())
}

/// The same team in the window: both real TUIs render in their panes, the screen mirror shows
/// each CLI's own prompt, and the run finishes. A screenshot is kept in
/// `$CARGO_TARGET_DIR/e2e-artifacts/real-agents.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_claude_code_and_codex_render_and_run_in_the_window() -> Result<()> {
    use fantoccini::Locator;
    let clis = AgentClis::find()?;
    let tmp = tempfile::tempdir()?;
    let (_endpoint, project, home) = team(tmp.path(), &clis, 2)?;
    let leap = leap_binary()?;
    let app = launch_team_app(tmp.path(), &project, &home).await?;
    let long = std::time::Duration::from_secs(120);
    // Claude Code's banner and prompt, Codex's banner and composer, in the panes' terminals.
    for (pane, marks) in [
        ("designer", ["Claude Code v", "❯"]),
        ("builder", ["OpenAI Codex", "›"]),
    ] {
        let seen = app
            .wait_until(&format!("{pane}'s CLI on screen"), long, |app| async move {
                let text = app.pane_text(pane).await.unwrap_or_default();
                Ok(marks.iter().all(|m| text.contains(m)))
            })
            .await;
        if let Err(e) = seen {
            for p in ["designer", "builder"] {
                eprintln!(
                    "--- {p}: mounted {} time(s), buffer:\n{}",
                    app.pane_mounts(p).await.unwrap_or_default(),
                    app.pane_text(p).await.unwrap_or_else(|e| e.to_string())
                );
            }
            return Err(e);
        }
    }
    app.client
        .wait()
        .at_most(std::time::Duration::from_secs(300))
        .for_element(Locator::Css("[data-testid='run-finished']"))
        .await
        .context("the run to finish")?;
    let png = app.client.screenshot().await?;
    let dir = leap
        .parent()
        .and_then(Path::parent)
        .context("target dir")?
        .join("e2e-artifacts");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("real-agents.png"), png)?;
    eprintln!("screenshot: {}", dir.join("real-agents.png").display());
    // The run finishes at the agents' last `leap complete`; each CLI's closing words come right
    // after, in its own time.
    for (pane, words) in [
        ("designer", "Batch 2 review: passed."),
        ("builder", "Batch 2 is built and committed."),
    ] {
        app.wait_until(&format!("{pane}'s closing words"), long, |app| async move {
            Ok(app.pane_text(pane).await?.contains(words))
        })
        .await
        .with_context(|| format!("{pane} pane"))?;
    }
    // Each agent's terminal was mounted once: a second mount starts blank and loses what the CLI
    // printed once (its banner), which is how this test once failed in CI.
    for pane in ["designer", "builder"] {
        assert_eq!(app.pane_mounts(pane).await?, 1, "{pane} mounts");
    }
    app.close().await?;
    Ok(())
}
