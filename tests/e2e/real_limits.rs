//! Usage limits with the real CLIs: the scripted endpoint answers a prompt with a 429 that carries
//! a reset time; the pinned Claude Code (in a gateway session, where it shows a subscriber's limit
//! screen) and Codex say so; Leapfrog shows the agent *limited until HH:MM*, puts the interrupted
//! phase back in the queue, and gives it back to the agent once the limit has reset.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use leapfrog_e2e::agent_clis::{
    claude_gateway_agent, codex_agent, create_project, leap_binary, AgentClis, SeededHome,
};
use leapfrog_e2e::model::{ErrorReply, ModelEndpoint, Rule, Script, Step};
use leapfrog_engine::agents::limits::local_hh_mm;
use serde_json::{json, Value};

/// The next minute boundary at least 15 s away (CLIs show a reset to the minute).
fn next_reset() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    (now + 15).div_ceil(60) * 60
}

#[test]
fn a_usage_limit_pauses_each_real_cli_until_its_reset_and_its_phase_resumes() -> Result<()> {
    let clis = AgentClis::find()?;
    let tmp = tempfile::tempdir()?;
    let project = tmp.path().join("project");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&project)?;
    // The designer meets its limit first (design(1)); the builder meets its own, a minute later,
    // on build(1), which follows the design.
    let reset = next_reset();
    let builder_reset = reset + 60;
    // A long retry-after: the CLIs show their final limit screen at once instead of retrying.
    let limited = |reset: u64| {
        Step::Error(ErrorReply::RateLimited {
            reset_unix: Some(reset),
            retry_after: Some(3600),
        })
    };
    let leap = r"run `(?P<leap>[^`]+?) ";
    let mut scripts = BTreeMap::new();
    scripts.insert(
        "designer".to_string(),
        Script {
            rules: vec![
                Rule {
                    when: format!(r"(?s)Design Batch 1 only.*?{leap}handoff"),
                    steps: vec![
                        limited(reset),
                        Step::Shell("${leap} handoff --batch 1 --tickets T-001,T-002".into()),
                    ],
                    reply: "Batch 1 is designed.".into(),
                },
                Rule {
                    when: format!(r"(?s)Review the Batch 1 diff.*?{leap}complete"),
                    steps: vec![Step::Shell(
                        "${leap} complete --batch 1 --phase review --verify passed".into(),
                    )],
                    reply: "Passed.".into(),
                },
            ],
        },
    );
    scripts.insert(
        "builder".to_string(),
        Script {
            rules: vec![Rule {
                when: format!(r"(?s)Execute Batch 1 only.*?{leap}complete"),
                steps: vec![
                    limited(builder_reset),
                    Step::Shell(
                        "echo built > built.txt && git add built.txt && git commit -qm 'Batch 1'"
                            .into(),
                    ),
                    Step::Shell("${leap} complete --batch 1 --verify passed".into()),
                ],
                reply: "Built.".into(),
            }],
        },
    );
    let endpoint = ModelEndpoint::start(scripts)?;
    SeededHome::create(
        &home,
        &[&project],
        &format!("{}/v1", endpoint.base_url("builder")),
    )?;
    let mut agents = vec![
        claude_gateway_agent(
            "designer",
            &clis.claude,
            &["design", "review"],
            &endpoint.base_url("designer"),
            &[],
        ),
        codex_agent(
            "builder",
            &clis.codex,
            &["build", "fix"],
            &home.join(".codex"),
            &["--sandbox", "danger-full-access"],
        ),
    ];
    for a in &mut agents {
        a["env"]["HOME"] = json!(home.display().to_string());
    }
    create_project(&project, 1, agents, "true")?;

    let leap_bin = leap_binary()?;
    let out = Command::new(&leap_bin)
        .arg("run")
        .arg(&project)
        .args([
            "--headless",
            "--json",
            "--events",
            "--timeout",
            "240",
            "--trust",
        ])
        .env("HOME", &home)
        .env("LEAPFROG_DATA_DIR", tmp.path().join("data"))
        .env("LEAPFROG_RUNTIME_DIR", tmp.path().join("rt"))
        .stdin(Stdio::null())
        .output()
        .context("leap run")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(out.status.success(), "leap run failed:\n{stderr}");

    // Each agent showed "limited until" the reset minute: Claude through its StopFailure hook,
    // Codex (whose notify stays silent on a failed turn) through its screen.
    let until = |reset: u64| {
        format!(
            "limited until {}",
            local_hh_mm(UNIX_EPOCH + std::time::Duration::from_secs(reset))
        )
    };
    for (agent, signal, until) in [
        ("designer", "hook", until(reset)),
        ("builder", "screen", until(builder_reset)),
    ] {
        let limited: Vec<&Value> = events
            .iter()
            .filter(|e| {
                e["type"] == "agent_status" && e["agent"] == agent && e["status"] == "limited"
            })
            .collect();
        assert!(
            limited
                .iter()
                .any(|e| e["reason"] == until.as_str() && e["signal"] == signal),
            "{agent} should show {until:?} by {signal}: {limited:?}\n{stderr}"
        );
    }
    // The interrupted phases were recorded as such, and their second run began after the reset.
    for (phase, reset) in [("design", reset), ("build", builder_reset)] {
        let runs: Vec<&Value> = events
            .iter()
            .filter(|e| {
                e["type"] == "phase_completed"
                    && e["run"]["kind"] == phase
                    && e["run"]["batch"] == 1
            })
            .map(|e| &e["run"])
            .collect();
        assert_eq!(runs.len(), 2, "{phase}: {runs:?}");
        assert_eq!(
            (runs[0]["outcome"].as_str(), runs[0]["detection"].as_str()),
            (Some("cancelled"), Some("usage_limit")),
            "{phase}: {runs:?}"
        );
        assert_eq!(runs[1]["outcome"], "passed", "{phase}: {runs:?}");
        let restarted = runs[1]["started_at"].as_u64().unwrap();
        assert!(
            restarted >= reset * 1000,
            "{phase} ran again at {restarted} ms, before the reset at {reset} s"
        );
    }
    let summary: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(summary["batches"], 1, "{summary}");
    Ok(())
}
