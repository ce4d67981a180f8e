//! The cockpit's terminals, end to end: the built `leapfrog` app under Xvfb, driven over
//! WebDriver (tauri-driver + WebKitWebDriver), with real login shells in real PTYs.
//!
//! Needs `ui/dist` built and `cargo build -p leapfrog` done first (`.ci/test` does both).

use std::time::Duration;

use leapfrog_e2e::{keys, App, Launch};

/// One app at a time: each test starts its own, and two at once would only compete for 2 cores.
static ONE_APP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const LONG: Duration = Duration::from_secs(60);

async fn with_app<F, Fut>(opts: Launch, body: F)
where
    F: FnOnce(App) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<App>>,
{
    let _one = ONE_APP.lock().await;
    let app = App::launch(opts).await.expect("launch the app");
    let app = body(app).await.unwrap_or_else(|e| panic!("{e:#}"));
    app.close().await.expect("close the app");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_in_a_pane_comes_back() {
    with_app(Launch::default(), |app| async move {
        app.wait_for_prompt("designer", LONG).await?;
        app.type_into("designer", "echo hello-$((6*7))\n").await?;
        app.wait_for_line("designer", "hello-42", LONG).await?;
        // The other pane is a separate shell: it saw none of it.
        app.wait_for_prompt("builder", LONG).await?;
        let builder = app.pane_text("builder").await?;
        assert!(!builder.contains("hello"), "builder pane shows: {builder}");
        Ok(app)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resizing_the_window_resizes_the_pty() {
    with_app(Launch::default(), |app| async move {
        app.wait_for_prompt("designer", LONG).await?;
        let mut seen = Vec::new();
        for (w, h) in [(1400u32, 900u32), (900, 600)] {
            app.client.set_window_size(w, h).await?;
            let before = seen.last().copied();
            app.wait_until("xterm.js to refit", LONG, |app| async move {
                Ok(Some(app.pane_size("designer").await?) != before)
            })
            .await?;
            // The layout may settle over a few frames: ask the PTY until it agrees with xterm.js.
            let mut attempt = 0;
            let size = loop {
                attempt += 1;
                let tag = format!("size-{}-{attempt}", seen.len());
                app.type_into("designer", &format!("echo {tag}=$(stty size)\n"))
                    .await?;
                let text = app
                    .wait_for_line_starting("designer", &format!("{tag}="), LONG)
                    .await?;
                let (rows, cols) = app.pane_size("designer").await?;
                if text == format!("{tag}={rows} {cols}") {
                    break (rows, cols);
                }
                assert!(
                    attempt < 20,
                    "stty never agreed with xterm.js: last `{text}`, xterm {rows}x{cols}"
                );
            };
            seen.push(size);
        }
        assert!(
            seen[1].0 < seen[0].0 && seen[1].1 < seen[0].1,
            "sizes: {seen:?}"
        );
        Ok(app)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_a_flood_of_yes() {
    with_app(Launch::default(), |app| async move {
        app.wait_for_prompt("builder", LONG).await?;
        app.type_into("builder", "yes flood-line\n").await?;
        app.wait_until("the flood to fill the screen", LONG, |app| async move {
            let screen = app.pane_screen("builder").await?;
            Ok(screen.lines().filter(|l| *l == "flood-line").count() > 5)
        })
        .await?;
        app.type_into("builder", &format!("{}c{}", keys::CONTROL, keys::RELEASE))
            .await?;
        app.wait_for_prompt("builder", LONG).await?;
        app.type_into("builder", "echo after-$((6*7))\n").await?;
        app.wait_for_line("builder", "after-42", LONG).await?;
        Ok(app)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cockpit_shows_titled_panes_the_log_and_maximises() {
    use fantoccini::Locator;
    with_app(Launch::default(), |app| async move {
        let title = |id: &'static str| {
            let app = &app;
            async move {
                let sel = format!("[data-testid=\"pane-{id}\"] .title");
                anyhow::Ok(app.client.find(Locator::Css(&sel)).await?.text().await?)
            }
        };
        assert_eq!(title("designer").await?, "Designer · claude");
        assert_eq!(title("builder").await?, "Builder · codex");

        // The Logs pane shows the app's own log (tracing), newest last.
        app.wait_until("the log to show both panes starting", LONG, |app| async move {
            let text = app
                .client
                .find(Locator::Css("[data-testid=\"logs\"] ol"))
                .await?
                .text()
                .await?;
            Ok(text.contains("pane=designer") && text.contains("pane=builder"))
        })
        .await?;
        let messages = app
            .exec(
                "return [...document.querySelectorAll('[data-testid=\"logs\"] li')].map(li => li.textContent)",
                vec![],
            )
            .await?;
        let lines: Vec<&str> = messages.as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        let designer = lines.iter().position(|l| l.contains("started") && l.contains("pane=designer"));
        let painted = lines.iter().position(|l| l.contains("first output painted"));
        assert!(designer.is_some() && painted.is_some() && designer < painted, "log: {lines:#?}");

        // Maximise the builder, then restore.
        let shown = |id: &'static str| {
            let app = &app;
            async move {
                let sel = format!("[data-testid=\"pane-{id}\"]");
                anyhow::Ok(app.client.find(Locator::Css(&sel)).await?.is_displayed().await?)
            }
        };
        let button = app.client.find(Locator::Css("[data-testid=\"maximise-builder\"]")).await?;
        let (_, cols_before) = app.pane_size("builder").await?;
        button.click().await?;
        assert!(!shown("designer").await? && shown("builder").await?);
        app.wait_until("the maximised pane to widen", LONG, |app| async move {
            Ok(app.pane_size("builder").await?.1 > cols_before)
        })
        .await?;
        button.click().await?;
        assert!(shown("designer").await? && shown("builder").await?);
        Ok(app)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_one_pane_and_paste_in_another() {
    with_app(Launch::default(), |app| async move {
        app.wait_for_prompt("designer", LONG).await?;
        app.wait_for_prompt("builder", LONG).await?;
        app.type_into("designer", "echo 'echo pasted-$((6*7))'\n")
            .await?;
        app.wait_for_line("designer", "echo pasted-$((6*7))", LONG)
            .await?;
        app.select_in("designer", "echo pasted-$((6*7))").await?;
        let (ctrl, shift, release) = (keys::CONTROL, keys::SHIFT, keys::RELEASE);
        app.type_into("designer", &format!("{ctrl}{shift}c{release}"))
            .await?;
        // Through the system clipboard (arboard, X11 under Xvfb) into the other pane.
        app.type_into("builder", &format!("{ctrl}{shift}v{release}"))
            .await?;
        app.type_into("builder", "\n").await?;
        app.wait_for_line("builder", "pasted-42", LONG).await?;
        Ok(app)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dragging_the_splitter_resizes_both_panes_and_their_ptys() {
    use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
    use fantoccini::Locator;
    with_app(Launch::default(), |app| async move {
        app.wait_for_prompt("designer", LONG).await?;
        let (_, designer_before) = app.pane_size("designer").await?;
        let (_, builder_before) = app.pane_size("builder").await?;
        let splitter = app
            .client
            .find(Locator::Css("[data-testid=\"splitter-0\"]"))
            .await?;
        // Pointer events (the splitter does not use HTML5 drag and drop): drag 200 px left.
        let drag = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement {
                element: splitter,
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::MoveBy {
                duration: Some(Duration::from_millis(200)),
                x: -200.0,
                y: 0.0,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        app.client.perform_actions(drag).await?;
        app.wait_until("the panes to refit", LONG, |app| async move {
            Ok(app.pane_size("designer").await?.1 < designer_before
                && app.pane_size("builder").await?.1 > builder_before)
        })
        .await?;
        // The builder's PTY follows its pane.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let tag = format!("cols-{attempt}");
            app.type_into("builder", &format!("echo {tag}=$(tput cols)\n"))
                .await?;
            let line = app
                .wait_for_line_starting("builder", &format!("{tag}="), LONG)
                .await?;
            let (_, cols) = app.pane_size("builder").await?;
            if line == format!("{tag}={cols}") {
                break;
            }
            assert!(
                attempt < 20,
                "tput cols never agreed with xterm.js: `{line}` vs {cols}"
            );
        }
        Ok(app)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_runs_under_a_strict_content_security_policy() {
    with_app(Launch::default(), |app| async move {
        let verdict = app
            .exec(
                r#"
                const out = {};
                try { eval('1'); out.eval = 'ran'; } catch (e) { out.eval = 'blocked'; }
                window.__inline = 'no';
                const s = document.createElement('script');
                s.textContent = "window.__inline = 'ran'";
                document.head.appendChild(s);
                out.inline = window.__inline;
                return out;
                "#,
                vec![],
            )
            .await?;
        assert_eq!(
            verdict,
            serde_json::json!({"eval": "blocked", "inline": "no"})
        );
        Ok(app)
    })
    .await;
}
