//! The first run in the real window: with no project ever opened, the welcome screen lists the
//! agent CLIs this machine has (the pinned Claude Code and Codex on PATH, with their versions),
//! and "Try the demo project" makes a demo project and runs it, with no terminal involved.

use std::time::Duration;

use anyhow::{Context, Result};
use leapfrog_e2e::agent_clis::{leap_binary, AgentClis};
use leapfrog_e2e::{App, Launch};

/// One app at a time: two WebKit windows at once on 2 cores can hang a page past WebDriver's
/// patience (seen in CI: "session deleted because of page crash or hang").
static ONE_APP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A private runtime folder (the control socket's), 0700, so the app serves its own socket.
fn runtime_dir() -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )?;
    Ok(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_welcome_finds_the_clis_and_opens_the_demo() -> Result<()> {
    let _one = ONE_APP.lock().await;
    let runtime = runtime_dir()?;
    let clis = AgentClis::find()?;
    let leap = leap_binary()?;
    let data = tempfile::tempdir()?;
    let xdg = tempfile::tempdir()?;
    let path = format!(
        "{}:{}:{}",
        clis.claude.parent().context("cli dir")?.display(),
        leap.parent().context("leap dir")?.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let app = App::launch(Launch {
        env: vec![
            ("PATH".into(), path),
            (
                "LEAPFROG_DATA_DIR".into(),
                data.path().display().to_string(),
            ),
            (
                "LEAPFROG_RUNTIME_DIR".into(),
                runtime.path().display().to_string(),
            ),
            // The desktop entry with recent projects, as an installed app writes it.
            ("XDG_DATA_HOME".into(), xdg.path().display().to_string()),
            ("LEAPFROG_DESKTOP_ENTRY".into(), "1".into()),
        ],
        ..Launch::default()
    })
    .await?;
    let long = Duration::from_secs(60);
    app.wait_until("the welcome screen's CLI list", long, |app| async move {
        let n = app
            .exec(
                "return document.querySelectorAll(\"[data-testid='welcome-clis'] li\").length",
                vec![],
            )
            .await?;
        Ok(n.as_u64() == Some(5))
    })
    .await?;
    let found = app
        .exec(
            "return [...document.querySelectorAll(\"[data-testid='welcome-clis'] li\")]\
               .map(li => [li.dataset.cli, li.dataset.found, li.textContent])",
            vec![],
        )
        .await?;
    let rows = found.as_array().context("rows")?;
    for (cli, version) in [
        ("claude-code", AgentClis::version(&clis.claude)?),
        ("codex", AgentClis::version(&clis.codex)?),
    ] {
        let row = rows
            .iter()
            .find(|r| r[0] == cli)
            .with_context(|| format!("no {cli} row in {found}"))?;
        assert_eq!(row[1], "yes", "{cli}: {row}");
        let version_number = version
            .split_whitespace()
            .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .unwrap_or(&version)
            .to_string();
        assert!(
            row[2]
                .as_str()
                .unwrap_or_default()
                .contains(&version_number),
            "{cli} row shows its version {version_number}: {row}"
        );
    }
    // The demo: made in the data folder, opened, and its scripted agents at work in their panes
    // (the demo's run to its end is live.rs's test).
    app.click("welcome-demo", long).await?;
    app.wait_until("the demo project running", long, |app| async move {
        let project = app
            .exec(
                "const e = document.querySelector(\"[data-testid='run-project']\"); return e ? e.textContent : ''",
                vec![],
            )
            .await?;
        let designer = app.pane_text("designer").await.unwrap_or_default();
        Ok(project.as_str() == Some("leapfrog-demo") && designer.contains("Design"))
    })
    .await?;
    let gone = app
        .exec(
            "return !document.querySelector(\"[data-testid='welcome']\")",
            vec![],
        )
        .await?;
    assert_eq!(gone, serde_json::json!(true), "the welcome screen closes");
    assert!(
        data.path().join("demos/demo-1/TICKETS.md").is_file(),
        "the demo lives in the data folder"
    );
    // The demo is the first recent project, and the launcher's entry offers it.
    let entry = std::fs::read_to_string(xdg.path().join("applications/Leapfrog.desktop"))
        .context("the per-user desktop entry")?;
    let demo = data.path().join("demos/demo-1").canonicalize()?;
    assert!(
        entry.contains(&format!(
            "[Desktop Action recent-1]\nName=Open leapfrog-demo\nExec={} {}\n",
            leap.with_file_name("leapfrog").display(),
            demo.display()
        )),
        "{entry}"
    );
    app.close().await?;
    Ok(())
}

/// A machine with no agent CLI: the welcome screen shows them all missing, with their install
/// commands. A CLI the user then installs into `~/.local/bin` (here a stub `claude` in that
/// prefix, as `npm install --global --prefix ~/.local` puts it) is found after Refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_welcome_screen_finds_a_cli_installed_after_it_opened() -> Result<()> {
    let _one = ONE_APP.lock().await;
    let runtime = runtime_dir()?;
    let data = tempfile::tempdir()?;
    let app = App::launch(Launch {
        env: vec![
            // No CLI anywhere on PATH.
            ("PATH".into(), "/usr/bin:/bin".into()),
            (
                "LEAPFROG_DATA_DIR".into(),
                data.path().display().to_string(),
            ),
            (
                "LEAPFROG_RUNTIME_DIR".into(),
                runtime.path().display().to_string(),
            ),
        ],
        ..Launch::default()
    })
    .await?;
    let long = Duration::from_secs(60);
    let rows = "return [...document.querySelectorAll(\"[data-testid='welcome-clis'] li\")]\
                  .map(li => [li.dataset.cli, li.dataset.found, li.textContent])";
    app.wait_until("the CLI list", long, |app| async move {
        Ok(app.exec(rows, vec![]).await?.as_array().map(Vec::len) == Some(5))
    })
    .await?;
    let listed = app.exec(rows, vec![]).await?;
    for row in listed.as_array().context("rows")? {
        assert_eq!(row[1], "no", "{listed}");
    }
    let claude = listed
        .as_array()
        .and_then(|r| r.iter().find(|r| r[0] == "claude-code"))
        .context("claude row")?;
    assert!(
        claude[2].as_str().unwrap_or_default().contains(
            "npm install --global --prefix ~/.local --no-audit --no-fund @anthropic-ai/claude-code"
        ),
        "{claude}"
    );
    // What `npm install --global --prefix ~/.local` leaves: an executable in ~/.local/bin.
    let bin = app.home().join(".local/bin");
    std::fs::create_dir_all(&bin)?;
    std::fs::write(
        bin.join("claude"),
        "#!/bin/sh\necho '9.9.9 (Claude Code)'\n",
    )?;
    std::fs::set_permissions(
        bin.join("claude"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )?;
    app.click("welcome-refresh", long).await?;
    app.wait_until("claude found after Refresh", long, |app| async move {
        let rows = app.exec(rows, vec![]).await?;
        Ok(rows.as_array().is_some_and(|r| {
            r.iter().any(|r| {
                r[0] == "claude-code"
                    && r[1] == "yes"
                    && r[2]
                        .as_str()
                        .unwrap_or_default()
                        .contains("9.9.9 (Claude Code)")
            })
        }))
    })
    .await?;
    app.close().await?;
    Ok(())
}
