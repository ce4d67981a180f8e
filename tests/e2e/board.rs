//! The board, end to end: the built `leapfrog` app under Xvfb over WebDriver, a real temporary
//! repository, the real TICKETS.md on disk.
//!
//! Needs `ui/dist` built and `cargo build -p leapfrog` done first (`.ci/test` does both).

use std::path::Path;
use std::time::Duration;

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::Locator;
use leapfrog_e2e::{App, Launch};
use serde_json::json;

const LONG: Duration = Duration::from_secs(60);

const TICKETS: &str = "# Tickets

## Batch 1: Skeleton

### T-001: Project skeleton
- **Status:** doing
- **Owner:** codex

## Batch 2: Board

### T-002: Board columns
- **Status:** todo
- **Depends on:** T-001

### T-003: Drag and drop
- **Status:** todo

## Backlog
";

/// The `##` heading a ticket is under in the file, `None` when the ticket is not there.
fn batch_of(text: &str, id: &str) -> Option<String> {
    let mut batch = None;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            batch = Some(h.trim().to_string());
        } else if line.starts_with(&format!("### {id}:")) {
            return batch;
        }
    }
    None
}

/// The ticket ids shown in a column, in order.
async fn column(app: &App, testid: &str) -> anyhow::Result<Vec<String>> {
    let v = app
        .exec(
            "const c = document.querySelector(`[data-testid='${arguments[0]}']`);
             return c ? [...c.querySelectorAll('[data-card]')].map(e => e.dataset.card) : null;",
            vec![json!(testid)],
        )
        .await?;
    Ok(serde_json::from_value::<Option<Vec<String>>>(v)?.unwrap_or_default())
}

async fn wait_column(app: &App, testid: &str, want: &[&str]) -> anyhow::Result<()> {
    let r = app
        .wait_until(
            &format!("{testid} to show {want:?}"),
            LONG,
            |app| async move { Ok(column(app, testid).await? == want) },
        )
        .await;
    if r.is_err() {
        anyhow::bail!(
            "{testid} shows {:?}, want {want:?}",
            column(app, testid).await?
        );
    }
    Ok(())
}

/// A pointer drag as a person does it: press on the card, move a little, move over the target, release.
async fn pointer_drag(app: &App, from: &str, to: &str) -> anyhow::Result<()> {
    let src = app
        .client
        .find(Locator::Css(&format!("[data-testid='{from}']")))
        .await?;
    let dst = app
        .client
        .find(Locator::Css(&format!("[data-testid='{to}']")))
        .await?;
    let mouse = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: src,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveBy {
            duration: Some(Duration::from_millis(50)),
            x: 12.0,
            y: 8.0,
        })
        .then(PointerAction::MoveToElement {
            element: dst,
            duration: Some(Duration::from_millis(150)),
            x: 0.0,
            y: 40.0,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    app.client.perform_actions(mouse).await?;
    app.client.release_actions().await?;
    Ok(())
}

async fn wait_file(
    path: &Path,
    what: &str,
    check: impl Fn(&str) -> bool,
) -> anyhow::Result<String> {
    let deadline = std::time::Instant::now() + LONG;
    loop {
        let text = std::fs::read_to_string(path)?;
        if check(&text) {
            return Ok(text);
        }
        if std::time::Instant::now() > deadline {
            anyhow::bail!("timed out waiting for {what}; TICKETS.md is:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wizard_then_drag_restart_and_disk_edits() {
    let data = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let tickets = repo.path().join("TICKETS.md");
    std::fs::write(&tickets, TICKETS).unwrap();
    let repo_dir = repo.path().canonicalize().unwrap();
    let env = vec![(
        "LEAPFROG_DATA_DIR".to_string(),
        data.path().display().to_string(),
    )];

    // 1. New project through the wizard, the folder typed in (the native dialog is out of WebDriver's reach).
    let app = App::launch(Launch {
        env: env.clone(),
        ..Launch::default()
    })
    .await
    .expect("launch");
    let run = async {
        app.click("new-project", LONG).await?;
        let folder = app
            .client
            .wait()
            .at_most(LONG)
            .for_element(Locator::Css("[data-testid='wizard-folder']"))
            .await?;
        folder.send_keys(&repo_dir.display().to_string()).await?;
        app.click("wizard-next", LONG).await?;
        // Not a repository: git init is offered (and on).
        app.client
            .wait()
            .at_most(LONG)
            .for_element(Locator::Css("[data-testid='wizard-clis']"))
            .await?;
        app.click("wizard-next", LONG).await?;
        app.click("pattern-leapfrog", LONG).await?;
        app.click("wizard-next", LONG).await?;
        app.click("wizard-next", LONG).await?;
        app.click("wizard-finish", LONG).await?;
        app.wait_until("the wizard to close", LONG, |app| async move {
            Ok(app
                .exec(
                    "return !document.querySelector(\"[data-testid='wizard']\")",
                    vec![],
                )
                .await?
                == json!(true))
        })
        .await?;
        anyhow::ensure!(repo_dir.join(".git").is_dir(), "git init was not run");
        anyhow::ensure!(
            repo_dir.join(".leapfrog/project.json").is_file(),
            "no project file"
        );
        anyhow::ensure!(
            std::fs::read_to_string(&tickets)? == TICKETS,
            "TICKETS.md was not adopted as is"
        );

        // 2. Drag T-002 from batch 2 to batch 1: the file on disk follows.
        app.click("nav-board", LONG).await?;
        wait_column(&app, "batch-2", &["T-002", "T-003"]).await?;
        pointer_drag(&app, "ticket-T-002", "batch-1").await?;
        wait_column(&app, "batch-1", &["T-001", "T-002"]).await?;
        wait_file(&tickets, "T-002 under Batch 1", |t| {
            batch_of(t, "T-002").as_deref() == Some("Batch 1: Skeleton")
        })
        .await?;
        Ok::<_, anyhow::Error>(())
    };
    let result = run.await;
    if result.is_err() {
        // What the window showed, for the failure report.
        if let Ok(png) = app.client.screenshot().await {
            let _ = std::fs::write(std::env::temp_dir().join("leapfrog-board-e2e.png"), png);
        }
    }
    app.close().await.expect("close the app");
    result.unwrap_or_else(|e| panic!("{e:#}"));

    // 3. Restart on the project (`leapfrog PROJECT_DIR`): the same board, and the sidebar lists it.
    let app = App::launch(Launch {
        env,
        args: vec![repo_dir.display().to_string()],
        ..Launch::default()
    })
    .await
    .expect("relaunch");
    let run = async {
        app.click("nav-board", LONG).await?;
        wait_column(&app, "batch-1", &["T-001", "T-002"]).await?;
        wait_column(&app, "batch-2", &["T-003"]).await?;
        let sidebar = app
            .client
            .find(Locator::Css("[data-testid='sidebar']"))
            .await?
            .text()
            .await?;
        let name = repo_dir.file_name().unwrap().to_string_lossy().to_string();
        anyhow::ensure!(sidebar.contains(&name), "sidebar lists: {sidebar}");

        // 4. An agent edits TICKETS.md: the board follows.
        let text = std::fs::read_to_string(&tickets)?
            .replace(
                "### T-003: Drag and drop",
                "### T-003: Drag and drop, by pointer",
            )
            .replace(
                "## Backlog\n",
                "## Backlog\n\n### T-004: Dark theme\n- **Status:** todo\n",
            );
        std::fs::write(&tickets, text)?;
        wait_column(&app, "batch-backlog", &["T-004"]).await?;
        app.wait_until("the new title", LONG, |app| async move {
            let t = app
                .client
                .find(Locator::Css("[data-testid='ticket-T-003']"))
                .await?
                .text()
                .await?;
            Ok(t.contains("by pointer"))
        })
        .await?;
        Ok::<_, anyhow::Error>(())
    };
    let result = run.await;
    if result.is_err() {
        // What the window showed, for the failure report.
        if let Ok(png) = app.client.screenshot().await {
            let _ = std::fs::write(std::env::temp_dir().join("leapfrog-board-e2e.png"), png);
        }
    }
    app.close().await.expect("close the app");
    result.unwrap_or_else(|e| panic!("{e:#}"));
}

#[test]
fn batch_of_reads_the_heading_a_ticket_is_under() {
    let cases = [
        ("T-001", Some("Batch 1: Skeleton")),
        ("T-003", Some("Batch 2: Board")),
        ("T-009", None),
    ];
    for (id, want) in cases {
        assert_eq!(batch_of(TICKETS, id).as_deref(), want, "{id}");
    }
}
