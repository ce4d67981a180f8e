//! A real project run in the window, end to end: `leap demo init` makes the demo project, the
//! built `leapfrog` opens it under Xvfb over WebDriver, its orchestrator runs the two scripted
//! demo agents (`leap demo-agent`) in real PTYs shown in the cockpit's panes.
//!
//! Needs `ui/dist` built and `cargo build -p leapfrog -p leapfrog-cli` done first (`.ci/test`
//! builds the workspace): `leap` is taken from next to the `leapfrog` binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::Locator;
use leapfrog_e2e::{app_binary, App, Launch};
use serde_json::{json, Value};

/// One app at a time: a run's agents need the 2 cores more than a second app does.
static ONE_APP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Generous: the demo run takes well under a minute on an idle machine.
const RUN: Duration = Duration::from_secs(600);
const LONG: Duration = Duration::from_secs(120);

/// A fresh demo project with its own data and runtime directories.
struct Demo {
    _root: tempfile::TempDir,
    dir: PathBuf,
    env: Vec<(String, String)>,
}

/// The service a test's window or `leap run` started stops with the test: a run still going (a
/// review waiting 600 s) would otherwise keep it and its agents alive after the test's folders
/// are gone.
impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(leap) = leap() {
            let _ = Command::new(leap)
                .args(["serve", "--stop"])
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .output();
        }
    }
}

fn leap() -> Result<PathBuf> {
    let app = app_binary()?;
    let leap = app.with_file_name("leap");
    if !leap.is_file() {
        bail!(
            "no leap binary next to {}: cargo build -p leapfrog-cli",
            app.display()
        );
    }
    Ok(leap)
}

/// `leap demo init`, then every agent's command gets `extra` (e.g. `--speed 8`).
fn demo(extra: &str) -> Result<Demo> {
    let root = tempfile::tempdir()?;
    let dir = root.path().join("demo");
    let run = root.path().join("run");
    std::fs::create_dir(&run)?;
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    let env = vec![
        (
            "LEAPFROG_DATA_DIR".to_string(),
            root.path().join("data").display().to_string(),
        ),
        (
            "LEAPFROG_RUNTIME_DIR".to_string(),
            run.display().to_string(),
        ),
    ];
    let leap = leap()?;
    let out = Command::new(&leap)
        .args(["demo", "init"])
        .arg(&dir)
        .arg("--leap")
        .arg(&leap)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()?;
    if !out.status.success() {
        bail!(
            "leap demo init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let config = dir.join(".leapfrog/project.json");
    let mut project: Value = serde_json::from_str(&std::fs::read_to_string(&config)?)?;
    for agent in project["agents"]
        .as_array_mut()
        .ok_or_else(|| anyhow!("no agents in {}", config.display()))?
    {
        let command = agent["command"].as_str().unwrap_or_default().to_string();
        agent["command"] = json!(format!("{command} {extra}"));
    }
    std::fs::write(&config, serde_json::to_string_pretty(&project)?)?;
    // The commands changed since `demo init` approved them; the user approved them again.
    leapfrog_e2e::agent_clis::approve_project(&dir, &root.path().join("data"))?;
    Ok(Demo {
        _root: root,
        dir,
        env,
    })
}

async fn with_demo<F, Fut>(demo: &Demo, body: F)
where
    F: FnOnce(App) -> Fut,
    Fut: std::future::Future<Output = Result<App>>,
{
    let _one = ONE_APP.lock().await;
    let app = App::launch(Launch {
        args: vec![demo.dir.display().to_string()],
        env: demo.env.clone(),
        ..Launch::default()
    })
    .await
    .expect("launch the app");
    let app = body(app).await.unwrap_or_else(|e| panic!("{e:#}"));
    app.close().await.expect("close the app");
}

/// `data-*` attributes of the element with `testid`, or `None` when there is none.
async fn data(app: &App, testid: &str) -> Result<Option<Value>> {
    app.exec(
        "const e = document.querySelector(`[data-testid='${arguments[0]}']`); \
         return e ? Object.assign({}, e.dataset) : null",
        vec![json!(testid)],
    )
    .await
    .map(|v| if v.is_null() { None } else { Some(v) })
}

async fn attr(app: &App, testid: &str, key: &str) -> Result<String> {
    Ok(data(app, testid)
        .await?
        .and_then(|d| d[key].as_str().map(str::to_string))
        .unwrap_or_default())
}

async fn wait_attr(
    app: &App,
    testid: &str,
    key: &str,
    want: &str,
    timeout: Duration,
) -> Result<()> {
    app.wait_until(
        &format!("{testid} {key}={want}"),
        timeout,
        |app| async move { Ok(attr(app, testid, key).await? == want) },
    )
    .await
}

/// The running project's name in the run bar ("" when none), read in one script: the element is
/// re-rendered when the project changes, so a found element can go stale before its text is read.
async fn run_project(app: &App) -> Result<String> {
    Ok(app
        .exec(
            "const e = document.querySelector(\"[data-testid='run-project']\"); \
             return e ? e.textContent.trim() : ''",
            vec![],
        )
        .await?
        .as_str()
        .unwrap_or_default()
        .to_string())
}

async fn wait_finished(app: &App) -> Result<()> {
    app.client
        .wait()
        .at_most(RUN)
        .for_element(Locator::Css("[data-testid='run-finished']"))
        .await
        .context("the run to finish")?;
    Ok(())
}

/// The phase runs the run bar shows: (phase, outcome, start ms, end ms).
async fn runs(app: &App) -> Result<Vec<(String, String, u64, Option<u64>)>> {
    let v = app
        .exec(
            "return Array.from(document.querySelectorAll('[data-testid^=\"run-\"][data-outcome]'))\
               .map(e => [e.dataset.testid.slice(4), e.dataset.outcome, e.dataset.start, e.dataset.end])",
            vec![],
        )
        .await?;
    let mut out = Vec::new();
    for r in v.as_array().cloned().unwrap_or_default() {
        let s = |i: usize| r[i].as_str().unwrap_or_default().to_string();
        out.push((s(0), s(1), s(2).parse().unwrap_or(0), s(3).parse().ok()));
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_project_runs_to_the_end_in_the_window() {
    // Phases long enough (seconds) that the builder is at its prompt before design(1) ends,
    // so build(1) starts at once and runs beside design(2).
    let demo = demo("--speed 1.5").expect("demo project");
    let dir = demo.dir.clone();
    with_demo(&demo, |app| async move {
        // The cockpit's panes are the project's agents, titled by role and command.
        for (id, title) in [
            ("designer", "Designer · leap demo-agent"),
            ("builder", "Builder · leap demo-agent"),
        ] {
            let pane = app
                .client
                .wait()
                .at_most(LONG)
                .for_element(Locator::Css(&format!("[data-testid='pane-{id}'][aria-label='{title}']")))
                .await
                .with_context(|| format!("pane {id} titled {title}"))?;
            drop(pane);
            app.wait_until(&format!("{id}'s status"), LONG, |app| async move {
                Ok(!attr(app, &format!("agent-{id}"), "status").await?.is_empty())
            })
            .await?;
        }
        wait_finished(&app).await?;

        // Both panes show the demo agents' own output.
        let designer = app.pane_text("designer").await?;
        let builder = app.pane_text("builder").await?;
        assert!(designer.contains("## HANDOFF"), "designer pane:\n{designer}");
        assert!(builder.contains("## COMPLETE"), "builder pane:\n{builder}");

        // Every phase passed, each with how it completed; design(2) started before build(1) ended.
        let runs = runs(&app).await?;
        let find = |p: &str| {
            runs.iter()
                .find(|r| r.0 == p)
                .cloned()
                .ok_or_else(|| anyhow!("no run {p} in {runs:?}"))
        };
        for batch in 1..=4 {
            for kind in ["design", "build", "review"] {
                let r = find(&format!("{kind}({batch})"))?;
                assert_eq!(r.1, "passed", "{r:?}");
                let by = attr(&app, &format!("run-{kind}({batch})"), "outcome").await?;
                assert_eq!(by, "passed");
            }
        }
        // The designer did not wait for build(1) (how much they overlap depends on how soon the
        // builder's prompt comes back on a loaded machine, so that is not asserted).
        let (d2, b1) = (find("design(2)")?, find("build(1)")?);
        let b1_end = b1.3.unwrap_or(u64::MAX);
        assert!(d2.2 < b1_end, "design(2) {d2:?} waited for build(1) {b1:?}");
        let how = app
            .client
            .find(Locator::Css("[data-testid='completed-by-design(1)']"))
            .await?
            .text()
            .await?;
        // The first signal wins: the agent's `leap handoff` call or the HANDOFF block it prints.
        assert!(
            ["leap complete", "handoff block"].contains(&how.as_str()),
            "design(1) completed by {how:?}"
        );

        // The timeline shows a bar for every finished phase, from the recorded runs.
        app.click("nav-timeline", LONG).await?;
        for (phase, ..) in runs.iter().filter(|r| r.1 == "passed") {
            let (kind, batch) = phase
                .trim_end_matches(')')
                .split_once('(')
                .ok_or_else(|| anyhow!("odd phase {phase}"))?;
            let css = format!(
                "[data-testid='timeline'] [data-testid='bar'][data-phase='{kind}'][data-batch='{batch}']"
            );
            app.client
                .wait()
                .at_most(LONG)
                .for_element(Locator::Css(&css))
                .await
                .with_context(|| format!("a timeline bar for {phase}"))?;
        }

        // The Context view (Ctrl+5) lists the pack each phase was pointed at and shows it, and
        // edits the reading rules: a save reaches docs/CONTEXT.md on disk.
        app.click("nav-context", LONG).await?;
        app.click("context-pack-2-build", LONG).await?;
        app.wait_until("batch 2's build pack shown", LONG, |app| async move {
            let t = app
                .exec("const e = document.querySelector(\"[data-testid='context-pack-text']\"); return e ? e.textContent : ''", vec![])
                .await?;
            Ok(t.as_str().unwrap_or_default().contains("# Context: build of Batch 2"))
        })
        .await?;
        app.client
            .find(Locator::Css("[data-testid='context-text']"))
            .await?
            // WebDriver's Enter key (U+E007) makes the line breaks.
            .send_keys(&"\n## Builder\n\nNever read docs/archive/.\n".replace('\n', "\u{E007}"))
            .await?;
        app.click("context-save", LONG).await?;
        app.client
            .wait()
            .at_most(LONG)
            .for_element(Locator::Css("[data-testid='context-message']"))
            .await
            .context("the rules saved")?;
        let rules = std::fs::read_to_string(dir.join("docs/CONTEXT.md"))?;
        assert!(
            rules.ends_with("\n## Builder\n\nNever read docs/archive/.\n"),
            "{rules}"
        );
        Ok(app)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_killed_mid_phase_shows_exited_and_its_phase_retries() {
    // Slow agents: build(1) runs long enough to be killed in the middle.
    let demo = demo("--speed 0.25").expect("demo project");
    with_demo(&demo, |app| async move {
        wait_attr(&app, "agent-builder", "phase", "build(1)", RUN).await?;
        let pid: i32 = attr(&app, "agent-builder", "pid")
            .await?
            .parse()
            .context("the builder's pid")?;
        // SAFETY: kill(2) on a process this test's app started.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0, "kill {pid}");

        wait_attr(&app, "agent-builder", "status", "exited", LONG).await?;
        wait_attr(&app, "run-build(1)", "outcome", "crashed", LONG).await?;
        app.click("retry-build(1)", LONG).await?;
        wait_attr(&app, "run-build(1)", "outcome", "running", LONG).await?;
        app.wait_until("the builder to run again", LONG, |app| async move {
            Ok(attr(app, "agent-builder", "status").await? != "exited")
        })
        .await?;
        let new_pid = attr(&app, "agent-builder", "pid").await?;
        assert_ne!(new_pid, pid.to_string(), "a new builder process");
        wait_attr(&app, "run-build(1)", "outcome", "passed", RUN).await?;
        Ok(app)
    })
    .await;
}

/// A second demo project beside `first`, named `second-demo`, made with the same environment.
fn second_demo(first: &Demo) -> PathBuf {
    let second = first.dir.with_file_name("second");
    let leap = leap().expect("leap");
    let out = Command::new(&leap)
        .args(["demo", "init"])
        .arg(&second)
        .arg("--leap")
        .arg(&leap)
        .envs(first.env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("leap demo init");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = second.join(".leapfrog/project.json");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("\"leapfrog-demo\"", "\"second-demo\""),
    )
    .unwrap();
    second
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leap_start_opens_another_project_in_the_running_window() {
    let first = demo("--speed 0.5").expect("demo project");
    let second = second_demo(&first);
    let leap = leap().expect("leap");

    let env = first.env.clone();
    with_demo(&first, |app| async move {
        app.wait_until("the first project to run", LONG, |app| async move {
            Ok(run_project(app).await? == "leapfrog-demo")
        })
        .await?;
        let out = Command::new(&leap)
            .arg("start")
            .arg(&second)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()?;
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "leap start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            said.contains("in the running Leapfrog"),
            "leap start said: {said}"
        );
        app.wait_until(
            "the second project to run in the same window",
            LONG,
            |app| async move { Ok(run_project(app).await? == "second-demo") },
        )
        .await?;
        app.wait_until(
            "the second project's designer to start",
            LONG,
            |app| async move {
                let status = attr(app, "agent-designer", "status").await?;
                Ok(status == "working" || status == "idle")
            },
        )
        .await?;
        Ok(app)
    })
    .await;
}

/// `leap demo-agent --ask-before-edit`: the builder stops before each file it edits with "Allow
/// edit to …? [y/n]"; its pane shows the needs-input badge until `y` is typed in its terminal,
/// then the phase goes on to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_asking_permission_shows_needs_input_until_answered() {
    // Slow enough that the badge is gone for two seconds between two questions.
    let demo = demo("--speed 1 --ask-before-edit").expect("demo project");
    with_demo(&demo, |app| async move {
        // Batch 1 has two tickets: one question per file.
        for id in ["t-001", "t-002"] {
            let question = format!("Allow edit to src/{id}.sh? [y/n]");
            app.wait_until(&format!("the badge for {id}"), RUN, |app| {
                let question = question.clone();
                async move {
                    Ok(data(app, "needs-input-builder").await?.is_some()
                        && app.pane_screen("builder").await?.contains(&question))
                }
            })
            .await?;
            assert_eq!(attr(&app, "agent-builder", "status").await?, "needs_input");
            app.type_into("builder", "y").await?;
            let gone = app
                .wait_until(
                    &format!("the badge to go after {id}"),
                    LONG,
                    |app| async move { Ok(data(app, "needs-input-builder").await?.is_none()) },
                )
                .await;
            if let Err(e) = gone {
                bail!(
                    "{e:#}\nbuilder: {:?}\nscreen:\n{}",
                    data(&app, "agent-builder").await?,
                    app.pane_screen("builder").await?
                );
            }
            let allowed = format!("allowed: edit to src/{id}.sh");
            assert!(app.pane_text("builder").await?.contains(&allowed));
        }
        wait_attr(&app, "run-build(1)", "outcome", "passed", RUN).await?;
        Ok(app)
    })
    .await;
}

/// A window with no project open still answers `leap start`: the project opens in it (no second
/// app) and runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leap_start_opens_a_project_in_a_window_with_none_open() {
    let demo = demo("--speed 0.5").expect("demo project");
    let _one = ONE_APP.lock().await;
    let app = App::launch(Launch {
        args: Vec::new(),
        env: demo.env.clone(),
        ..Launch::default()
    })
    .await
    .expect("launch the app");
    let leap = leap().expect("leap");
    let body = async {
        // The window answers on its control socket once it is up.
        let mut said = String::new();
        for _ in 0..600 {
            let out = Command::new(&leap)
                .arg("start")
                .arg(&demo.dir)
                .envs(demo.env.iter().map(|(k, v)| (k, v)))
                .env("LEAPFROG_APP", "/nonexistent/leapfrog")
                .output()?;
            said = String::from_utf8_lossy(&out.stdout).to_string();
            if out.status.success() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if !said.contains("in the running Leapfrog") {
            bail!("leap start did not reach the window: {said:?}");
        }
        app.wait_until("the project to run in the window", LONG, |app| async move {
            Ok(run_project(app).await? == "leapfrog-demo")
        })
        .await?;
        Ok::<_, anyhow::Error>(())
    };
    let result = body.await;
    app.close().await.expect("close the app");
    result.unwrap_or_else(|e| panic!("{e:#}"));
}

/// A cloned folder whose project file was crafted: the window opens it, shows its exact commands
/// and runs nothing until the user clicks "Trust and run"; then it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloned_project_runs_nothing_until_its_commands_are_approved_in_the_window() {
    let demo = demo("--speed 2").expect("demo project");
    let config = demo.dir.join(".leapfrog/project.json");
    let mut project: Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    project["verify"] = json!("touch pwned-by-verify; sh verify.sh");
    std::fs::write(&config, serde_json::to_string_pretty(&project).unwrap()).unwrap();
    // This user never approved anything on this machine.
    let data_dir = demo.dir.with_file_name("data");
    let _ = std::fs::remove_file(data_dir.join(leapfrog_engine::trust::TRUST_FILE));
    let dir = demo.dir.clone();
    with_demo(&demo, |app| async move {
        expect_hold(&app, "trust").await?;
        let shown = app
            .exec(
                "return document.querySelector(\"[data-testid='trust-commands']\").textContent",
                vec![],
            )
            .await?;
        let shown = shown.as_str().unwrap_or_default();
        for want in [
            "agent designer",
            "agent builder",
            "touch pwned-by-verify; sh verify.sh",
        ] {
            anyhow::ensure!(shown.contains(want), "{want:?} not shown in {shown:?}");
        }
        // Nothing runs while the question is open.
        tokio::time::sleep(Duration::from_secs(2)).await;
        anyhow::ensure!(run_project(&app).await?.is_empty(), "a project runs");
        anyhow::ensure!(!dir.join("src/t-001.sh").exists(), "an agent ran");
        app.click("trust-approve", LONG).await?;
        app.wait_until("the approved project to run", LONG, |app| async move {
            Ok(run_project(app).await? == "leapfrog-demo")
        })
        .await?;
        anyhow::ensure!(
            data(&app, "project-hold").await?.is_none(),
            "the card stays"
        );
        anyhow::ensure!(
            data_file_contains(&dir, "touch pwned-by-verify"),
            "the approval is not in the user's trust file"
        );
        Ok(app)
    })
    .await;
}

/// Waits for the held-project card and checks its kind, saying what it shows when it differs.
async fn expect_hold(app: &App, kind: &str) -> Result<()> {
    app.wait_until("the held-project card", LONG, |app| async move {
        Ok(data(app, "project-hold").await?.is_some())
    })
    .await?;
    let shown = attr(app, "project-hold", "kind").await?;
    if shown != kind {
        let text = app
            .exec(
                "return document.querySelector(\"[data-testid='project-hold']\").textContent",
                vec![],
            )
            .await?;
        bail!("the card is {shown}, not {kind}: {text}");
    }
    Ok(())
}

fn data_file_contains(dir: &Path, text: &str) -> bool {
    let file = dir
        .with_file_name("data")
        .join(leapfrog_engine::trust::TRUST_FILE);
    std::fs::read_to_string(file).is_ok_and(|t| t.contains(text))
}

/// A damaged saved run is not a dead end: the window says so in words and "Start a fresh run"
/// goes on, keeping the damaged file beside the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_run_state_is_shown_and_a_fresh_run_starts_from_the_window() {
    let demo = demo("--speed 2").expect("demo project");
    // As setup writes it: the run's state lives under the project's id.
    let path = demo.dir.join(".leapfrog/project.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["id"] = json!("damaged-demo");
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    let run_dir = demo
        .dir
        .with_file_name("data")
        .join("projects")
        .join("damaged-demo");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(run_dir.join("run.json"), b"{\"scheduler\": {\"ba").unwrap();
    with_demo(&demo, |app| async move {
        expect_hold(&app, "damagedRunState").await?;
        let text = app
            .exec(
                "return document.querySelector(\"[data-testid='project-hold']\").textContent",
                vec![],
            )
            .await?;
        anyhow::ensure!(
            text.as_str().unwrap_or_default().contains("is damaged"),
            "{text}"
        );
        app.click("hold-start-fresh", LONG).await?;
        app.wait_until("the fresh run", LONG, |app| async move {
            Ok(run_project(app).await? == "leapfrog-demo")
        })
        .await?;
        let kept = std::fs::read_dir(&run_dir)?
            .filter_map(|e| e.ok())
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("run.json.damaged-")
            });
        anyhow::ensure!(kept, "the damaged file was not kept");
        Ok(app)
    })
    .await;
}

/// One window per user: launching the app again with another folder hands the folder to the
/// running window (which opens it) and the second process ends at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_launch_opens_its_folder_in_the_running_window() {
    let first = demo("--speed 0.5").expect("demo project");
    let second = second_demo(&first);
    let env = first.env.clone();
    with_demo(&first, |app| async move {
        app.wait_until("the first project to run", LONG, |app| async move {
            Ok(run_project(app).await? == "leapfrog-demo")
        })
        .await?;
        let mut child = tokio::process::Command::new(app_binary()?)
            .arg(&second)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .context("the second launch did not end: it started a second window")??;
        let mut said = String::new();
        if let Some(mut out) = child.stdout.take() {
            use tokio::io::AsyncReadExt;
            out.read_to_string(&mut said).await?;
        }
        anyhow::ensure!(status.success(), "second launch: {status}");
        anyhow::ensure!(said.contains("in the running Leapfrog"), "{said:?}");
        app.wait_until(
            "the second project in the first window",
            LONG,
            |app| async move { Ok(run_project(app).await? == "second-demo") },
        )
        .await?;
        Ok(app)
    })
    .await;
}

/// The window remembers its size and position: moved and resized, it is saved shortly after,
/// and the next launch opens it there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_opens_where_it_was_left() {
    let demo = demo("--speed 0.5").expect("demo project");
    let saved = demo.dir.with_file_name("data").join("window.json");
    let file = saved.clone();
    with_demo(&demo, |app| async move {
        app.client
            .set_window_rect(40, 30, 1100, 720)
            .await
            .map_err(|e| anyhow!("set_window_rect: {e}"))?;
        app.wait_until("the geometry to be saved", LONG, |_| {
            let file = file.clone();
            async move {
                let g: Value = match std::fs::read(&file) {
                    Ok(b) => serde_json::from_slice(&b)?,
                    Err(_) => return Ok(false),
                };
                Ok(g["width"] == 1100 && g["height"] == 720)
            }
        })
        .await?;
        Ok(app)
    })
    .await;
    let g: Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    with_demo(&demo, |app| async move {
        let (x, y, w, h) = app
            .client
            .get_window_rect()
            .await
            .map_err(|e| anyhow!("get_window_rect: {e}"))?;
        anyhow::ensure!(
            (w as i64 - 1100).abs() <= 2 && (h as i64 - 720).abs() <= 2,
            "reopened at {w}x{h}, saved {g}"
        );
        anyhow::ensure!(
            (x as i64 - g["x"].as_i64().unwrap_or(0)).abs() <= 2
                && (y as i64 - g["y"].as_i64().unwrap_or(0)).abs() <= 2,
            "reopened at ({x}, {y}), saved {g}"
        );
        Ok(app)
    })
    .await;
}

/// Batch review in the window: while the designer's review of batch 1 runs (slowed by
/// `--review-secs`), the user opens the Review view, comments on a line of the batch diff, and
/// sends the review. The review fails, and the fix prompt that reaches the builder's pane holds
/// the comment with its file and line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_comment_sent_from_the_review_view_reaches_the_builders_fix_prompt() {
    let demo = demo("--speed 8 --review-secs 600").expect("demo project");
    let dir = demo.dir.clone();
    with_demo(&demo, |app| async move {
        wait_attr(&app, "run-review(1)", "outcome", "running", RUN).await?;
        app.click("nav-review", LONG).await?;
        app.click("review-batch-1", LONG).await?;
        let stage = "const e = document.querySelector(\"[data-testid='review-stage']\"); return e ? e.textContent : ''";
        let shown = app
            .wait_until("review(1) running in the review view", LONG, |app| async move {
                Ok(app.exec(stage, vec![]).await?.as_str() == Some("review(1) running"))
            })
            .await;
        if let Err(e) = shown {
            let view = app
                .exec("const e = document.querySelector(\"[data-testid='review']\"); return e ? e.innerText : 'no review view'", vec![])
                .await?;
            bail!("{e:#}\nthe review view shows:\n{}", view.as_str().unwrap_or_default());
        }
        // Click the line of src/t-001.sh that echoes its title, once the diff is there.
        app.wait_until("the line of src/t-001.sh in the diff", LONG, |app| async move {
            let clicked = app
                .exec(
                    "const rows = [...document.querySelectorAll(\"[data-testid='review-diff'] tr\")];
                     const row = rows.find((r) => r.textContent.includes('echo \"T-001'));
                     if (!row) return false;
                     row.querySelector('td:last-child').click();
                     return true;",
                    vec![],
                )
                .await?;
            Ok(clicked == json!(true))
        })
        .await?;
        let draft = app
            .client
            .wait()
            .at_most(LONG)
            .for_element(Locator::Css("[data-testid='review-draft']"))
            .await?;
        assert!(
            draft.text().await?.contains("src/t-001.sh:3"),
            "{}",
            draft.text().await?
        );
        app.client
            .find(Locator::Css("[data-testid='review-comment']"))
            .await?
            .send_keys("print a usage line")
            .await?;
        app.click("review-add-comment", LONG).await?;
        app.click("review-send", LONG).await?;
        // The demo builder says what its fix prompt asks it to address. Lines wrap in the pane:
        // compare without whitespace.
        let squeeze = |s: &str| s.split_whitespace().collect::<String>();
        let want = squeeze(
            "Addressing the review: from the user's review: src/t-001.sh:3: print a usage line",
        );
        let fixed = app
            .wait_until("the fix prompt with the comment in the builder's pane", LONG, |app| {
                let want = want.clone();
                async move { Ok(squeeze(&app.pane_text("builder").await?).contains(&want)) }
            })
            .await;
        if let Err(e) = fixed {
            let message = app
                .exec("const e = document.querySelector(\"[data-testid='review-message']\"); return e ? e.textContent : 'no message'", vec![])
                .await?;
            bail!(
                "{e:#}\nreview message: {}\nbuilder:\n{}",
                message.as_str().unwrap_or_default(),
                app.pane_text("builder").await?
            );
        }
        // The fix is made in the builder's worktree, on the batch's branch, and shown there.
        app.wait_until("the builder's worktree on leapfrog/batch-1", LONG, |app| async move {
            let bar = app
                .exec("const e = document.querySelector(\"[data-testid='worktree-builder']\"); return e ? e.textContent : ''", vec![])
                .await?;
            Ok(bar.as_str().unwrap_or_default().contains("leapfrog/batch-1"))
        })
        .await?;
        app.wait_until("the fix committed on leapfrog/batch-1", LONG, |_| {
            let dir = dir.clone();
            async move {
                let o = std::process::Command::new("git")
                    .arg("-C")
                    .arg(&dir)
                    .args(["log", "--format=%s", "leapfrog/batch-1"])
                    .output()?;
                Ok(String::from_utf8_lossy(&o.stdout).contains("fix after the review of Batch 1"))
            }
        })
        .await?;
        Ok(app)
    })
    .await;
}

/// `leap ARGS` in the demo's folder with its environment; stdout, or an error with stderr.
fn leap_in(demo: &Demo, args: &[&str]) -> Result<String> {
    let out = Command::new(leap()?)
        .args(args)
        .current_dir(&demo.dir)
        .envs(demo.env.iter().map(|(k, v)| (k, v)))
        .output()?;
    if !out.status.success() {
        bail!(
            "leap {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The phase runs of the demo's run as the service has them: (phase, outcome, started ms).
fn service_runs(demo: &Demo) -> Result<Vec<(String, String, u64)>> {
    let status: Value = serde_json::from_str(&leap_in(demo, &["status", "--json"])?)?;
    Ok(status["state"]["runs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let kind = r["kind"].as_str().unwrap_or_default().to_string();
            let phase = match r["batch"].as_u64() {
                Some(b) => format!("{kind}({b})"),
                None => kind,
            };
            (
                phase,
                r["outcome"].as_str().unwrap_or_default().replace('-', "_"),
                r["started_at"].as_u64().unwrap_or(0),
            )
        })
        .collect())
}

/// The pid of the Leapfrog service (`leap serve --status`).
fn service_pid(demo: &Demo) -> Result<u32> {
    let out = leap_in(demo, &["serve", "--status"])?;
    out.lines()
        .find_map(|l| l.strip_prefix("Leapfrog service, pid "))
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| anyhow!("no service pid in:\n{out}"))
}

/// The window is a client of the Leapfrog service: `kill -9` of the window mid-run leaves every
/// agent working, and a new window shows the same run (its panes with their scrollback, the
/// phases as they were) to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_outlives_a_killed_window_and_a_new_window_shows_it() {
    let demo = demo("--speed 0.5").expect("demo project");
    let _one = ONE_APP.lock().await;
    let launch = || Launch {
        args: vec![demo.dir.display().to_string()],
        env: demo.env.clone(),
        ..Launch::default()
    };
    let app = App::launch(launch()).await.expect("launch the app");
    let (service, design1) = async {
        wait_attr(&app, "agent-builder", "phase", "build(1)", RUN).await?;
        wait_attr(&app, "run-design(1)", "outcome", "passed", LONG).await?;
        let design1 = runs(&app)
            .await?
            .into_iter()
            .find(|r| r.0 == "design(1)")
            .ok_or_else(|| anyhow!("no design(1) run"))?;
        Ok::<_, anyhow::Error>((service_pid(&demo)?, design1))
    }
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));

    // kill -9 the window (the `leapfrog` process under the WebDriver group).
    let window = leapfrog_e2e::procs::process_tree(app.driver_pid())
        .expect("the app's processes")
        .into_iter()
        .find(|(_, comm)| comm == "leapfrog")
        .map(|(pid, _)| pid)
        .expect("the leapfrog process");
    // SAFETY: kill(2) on the app this test started.
    assert_eq!(unsafe { libc::kill(window as i32, libc::SIGKILL) }, 0);
    drop(app);

    // With no window at all, the run goes on in the same service: build(1), running at the kill,
    // passes, and design(1) is the same run it was (nothing restarted).
    let deadline = std::time::Instant::now() + RUN;
    loop {
        let runs = service_runs(&demo).expect("leap status");
        if runs.iter().any(|r| r.0 == "build(1)" && r.1 == "passed") {
            let d1 = runs.iter().find(|r| r.0 == "design(1)").expect("design(1)");
            assert_eq!((d1.1.as_str(), d1.2), ("passed", design1.2), "{runs:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "build(1) did not pass without a window: {runs:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(service_pid(&demo).expect("the service"), service);

    // A new window shows the run: the designer's pane with what it printed before the kill (its
    // first handoff), and the run to its end.
    let app = App::launch(launch()).await.expect("relaunch the app");
    let app = async {
        app.wait_until(
            "the designer's first handoff in its pane",
            LONG,
            |app| async move { Ok(app.pane_text("designer").await?.contains("## HANDOFF")) },
        )
        .await?;
        wait_finished(&app).await?;
        let d1 = runs(&app)
            .await?
            .into_iter()
            .find(|r| r.0 == "design(1)")
            .ok_or_else(|| anyhow!("no design(1) run"))?;
        assert_eq!(d1, design1, "design(1) as the first window saw it");
        Ok::<_, anyhow::Error>(app)
    }
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(service_pid(&demo).expect("the service"), service);
    app.close().await.expect("close the app");
}

/// `kill -9` of the service mid-run: the window says so and starts it again; the new service
/// reconciles the run from the store (the interrupted build is recorded cancelled, never passed
/// or failed, and runs again) and the window shows it to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_is_said_started_again_and_the_run_goes_on() {
    let demo = demo("--speed 0.5").expect("demo project");
    let d = &demo;
    with_demo(d, |app| async move {
        wait_attr(&app, "agent-builder", "phase", "build(1)", RUN).await?;
        // Mid-phase, away from the checkpoint commit at its start.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let old = service_pid(d)?;
        // SAFETY: kill(2) on the service this test's app started.
        assert_eq!(unsafe { libc::kill(old as i32, libc::SIGKILL) }, 0);
        app.wait_until(
            "a notice that the service stopped",
            LONG,
            |app| async move {
                let shown = app
                    .exec(
                        "return Array.from(document.querySelectorAll(\"[data-testid='notice']\"))\
                       .map(e => e.textContent).join('\\n')",
                        vec![],
                    )
                    .await?;
                Ok(shown
                    .as_str()
                    .unwrap_or_default()
                    .contains("The Leapfrog service stopped"))
            },
        )
        .await?;
        wait_finished(&app).await?;
        assert_ne!(service_pid(d)?, old, "a new service");
        let builds: Vec<String> = service_runs(d)?
            .into_iter()
            .filter(|r| r.0 == "build(1)")
            .map(|r| r.1)
            .collect();
        assert_eq!(builds, ["cancelled", "passed"]);
        Ok(app)
    })
    .await;
}

/// Stop from the window (asked twice): the service hangs up the agents and keeps the state; the
/// project is held as stopped, and Run again picks the run up (the build cut off is recorded
/// cancelled and runs again) to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_from_the_window_runs_again_from_where_it_was() {
    let demo = demo("--speed 0.5").expect("demo project");
    let d = &demo;
    with_demo(d, |app| async move {
        wait_attr(&app, "agent-builder", "phase", "build(1)", RUN).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        app.click("run-stop", LONG).await?;
        app.click("run-stop", LONG).await?;
        expect_hold(&app, "stopped").await?;
        let listed: Value = serde_json::from_str(&leap_in(d, &["serve", "--status", "--json"])?)?;
        assert_eq!(listed, json!([]), "the service runs nothing");
        app.click("hold-retry", LONG).await?;
        wait_finished(&app).await?;
        let builds: Vec<String> = service_runs(d)?
            .into_iter()
            .filter(|r| r.0 == "build(1)")
            .map(|r| r.1)
            .collect();
        assert_eq!(builds, ["cancelled", "passed"]);
        Ok(app)
    })
    .await;
}

/// The demo's designer runs `script` (`sh -c`) instead of the demo agent; the user approved it.
fn designer_runs(demo: &Demo, script: &str) {
    let config = demo.dir.join(".leapfrog/project.json");
    let mut project: Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(project["agents"][0]["id"], json!("designer"));
    project["agents"][0]["command"] = json!(format!("sh -c \"{script}\""));
    std::fs::write(&config, serde_json::to_string_pretty(&project).unwrap()).unwrap();
    leapfrog_e2e::agent_clis::approve_project(&demo.dir, &demo.dir.with_file_name("data"))
        .expect("approve");
}

/// A window that opens on a running project gets each pane's screen at once, then the lines
/// above it: the designer printed 300 lines before any window was open, and its pane in the
/// window holds the first of them, above the screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_opened_on_a_running_project_gets_each_panes_scrollback() {
    let demo = demo("").expect("demo project");
    let printed = demo.dir.join("printed");
    designer_runs(
        &demo,
        &format!(
            "seq 1 300 | sed 's/^/scrolled line /'; echo LINES-END; touch '{}'; stty -echo; exec cat >/dev/null",
            printed.display()
        ),
    );
    leap_in(&demo, &["run", "--detach", &demo.dir.display().to_string()]).expect("leap run");
    // Printed in the service before the window attaches to it.
    let deadline = std::time::Instant::now() + LONG;
    while !printed.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the designer never printed its lines"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    with_demo(&demo, |app| async move {
        app.wait_until(
            "the designer's first line above its screen",
            LONG,
            |app| async move {
                let text = app.pane_text("designer").await?;
                let screen = app.pane_screen("designer").await?;
                Ok(text.lines().any(|l| l == "scrolled line 1")
                    && !screen.lines().any(|l| l == "scrolled line 1")
                    && screen.contains("LINES-END"))
            },
        )
        .await?;
        Ok(app)
    })
    .await;
}

/// Two windows on one service (the second launched with `--new-window`, as the New window button
/// and Ctrl+Shift+N do): both show the project's panes live. What is typed into a pane in either
/// window reaches the agent, and its output shows in both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_windows_on_one_service_both_stay_live() {
    let demo = demo("").expect("demo project");
    // The designer prints back every line it reads.
    designer_runs(&demo, "stty -echo; exec cat");
    let _one = ONE_APP.lock().await;
    let launch = |args: Vec<String>| Launch {
        args,
        env: demo.env.clone(),
        ..Launch::default()
    };
    let dir = demo.dir.display().to_string();
    let first = App::launch(launch(vec![dir.clone()]))
        .await
        .expect("launch the first window");
    let second = App::launch(launch(vec!["--new-window".into(), dir]))
        .await
        .expect("launch a second window");
    let both = async {
        for (window, line) in [
            (&second, "typed in the second window"),
            (&first, "typed in the first window"),
        ] {
            window
                .wait_until("the designer's pane", LONG, |app| async move {
                    Ok(app.pane_text("designer").await.is_ok())
                })
                .await?;
            window.type_into("designer", &format!("{line}\n")).await?;
            for (name, app) in [("first", &first), ("second", &second)] {
                app.wait_until(
                    &format!("`{line}` in the {name} window's pane"),
                    LONG,
                    |app| async move { Ok(app.pane_text("designer").await?.contains(line)) },
                )
                .await?;
            }
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    first.close().await.expect("close the first window");
    second.close().await.expect("close the second window");
    both.unwrap_or_else(|e| panic!("{e:#}"));
}

/// A pane shown in the window floods (30 MB of `yes`): while the flood lasts, the webview gets
/// the pane's screen alone every so often (its 1 000 lines of scrollback would cost xterm.js
/// about 40 ms each time); once it is over, the screen comes with the lines above it again: the
/// pane holds the last of the flood's lines and the 300 printed after it, above its screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_pane_gets_its_scrollback_back_once_the_flood_is_over() {
    let demo = demo("").expect("demo project");
    let go = demo.dir.join("go");
    designer_runs(
        &demo,
        &format!(
            "echo FLOOD-READY; while [ ! -e '{}' ]; do sleep 0.05; done; yes flood-line | head -c 30000000; echo; seq 1 300 | sed 's/^/after line /'; echo FLOOD-DONE; stty -echo; exec cat >/dev/null",
            go.display()
        ),
    );
    leap_in(&demo, &["run", "--detach", &demo.dir.display().to_string()]).expect("leap run");
    with_demo(&demo, |app| async move {
        // In the pane's text, not only its screen: the prompt Leapfrog types into the designer
        // is echoed while it waits, and can scroll the line off the screen.
        app.wait_until("the designer waiting to flood", LONG, |app| async move {
            Ok(app.pane_text("designer").await?.contains("FLOOD-READY"))
        })
        .await?;
        std::fs::write(&go, "")?;
        app.wait_until(
            "the flood over, with 1 000 lines above the screen",
            LONG,
            |app| async move {
                let text = app.pane_text("designer").await?;
                let screen = app.pane_screen("designer").await?;
                let above = text.lines().count().saturating_sub(screen.lines().count());
                Ok(screen.contains("FLOOD-DONE")
                    && !screen.lines().any(|l| l == "after line 1")
                    && text.lines().any(|l| l == "after line 1")
                    && above >= 1000
                    && text.lines().filter(|l| *l == "flood-line").count() > 500)
            },
        )
        .await?;
        Ok(app)
    })
    .await;
}
