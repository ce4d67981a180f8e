//! Drives the real `leapfrog` app for end-to-end tests and benches.
//!
//! [`App::launch`] starts Xvfb when `DISPLAY` is unset, spawns `tauri-driver` (which spawns
//! WebKitWebDriver, which spawns the app) in a process group of its own on free ports, retries
//! the WebDriver new-session request until the driver is ready, and kills the whole group on drop,
//! so a failed test leaves nothing behind. Each app gets a fresh `HOME` whose bash prompt is
//! [`PROMPT`], so tests do not depend on the user's dotfiles.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// The key under which WebDriver returns an element from a script (W3C web element identifier).
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub mod agent_clis;
pub mod model;
pub mod package;
pub mod procs;

/// The prompt of the shells in an E2E app.
pub const PROMPT: &str = "e2e$ ";

/// WebDriver key codes.
pub mod keys {
    pub const CONTROL: char = '\u{E009}';
    pub const SHIFT: char = '\u{E008}';
    /// Releases every held modifier.
    pub const RELEASE: char = '\u{E000}';
}

/// The `leapfrog` binary next to the running test's own target directory (`target/debug`), or
/// `LEAPFROG_BIN`.
pub fn app_binary() -> Result<PathBuf> {
    built_binary(
        "leapfrog",
        "LEAPFROG_BIN",
        "(cd ui && npm run build) && cargo build -p leapfrog",
    )
}

/// A workspace binary beside the running test (`target/<profile>/deps/<test>` or
/// `target/<profile>/<bin>`), or the path in `env_var`; the error says how to build it.
pub fn built_binary(name: &str, env_var: &str, build: &str) -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os(env_var) {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe()?;
    for dir in exe.ancestors().skip(1).take(2) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "no {name} binary next to {} — build it first: {build}",
        exe.display()
    )
}

pub fn tool(name: &str) -> Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| anyhow!("`{name}` not found on PATH (run .ci/install)"))
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child in its own process group, killed with its whole group on drop.
pub struct Group(pub Child);

impl Group {
    pub fn spawn(cmd: &mut Command) -> Result<Group> {
        use std::os::unix::process::CommandExt;
        let child = cmd.process_group(0).spawn()?;
        Ok(Group(child))
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = self.0.id() as i32;
        // SAFETY: kill(2) on a process group we created; no memory is touched.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever is left of the group (WebKit helpers, shells) goes too.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

/// An X server for the test when the environment has none.
pub struct Display {
    pub name: String,
    _server: Option<Group>,
}

impl Display {
    /// `DISPLAY` if set, else a fresh Xvfb on the first free display number from 90.
    pub fn get() -> Result<Display> {
        if let Some(d) = std::env::var_os("DISPLAY").filter(|d| !d.is_empty()) {
            return Ok(Display {
                name: d.to_string_lossy().into_owned(),
                _server: None,
            });
        }
        let xvfb = tool("Xvfb")?;
        for n in 90..190 {
            if Path::new(&format!("/tmp/.X{n}-lock")).exists()
                || Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            {
                continue;
            }
            let server = Group::spawn(
                Command::new(&xvfb)
                    .arg(format!(":{n}"))
                    .args(["-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
            )?;
            let socket = format!("/tmp/.X11-unix/X{n}");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if Path::new(&socket).exists() {
                    return Ok(Display {
                        name: format!(":{n}"),
                        _server: Some(server),
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // Lost a race for this number, or Xvfb failed: try the next one.
        }
        bail!("could not start Xvfb on displays :90 to :189")
    }
}

/// A fresh HOME whose bash shows [`PROMPT`] and nothing of the user's dotfiles.
pub fn shell_home() -> Result<tempfile::TempDir> {
    let home = tempfile::tempdir()?;
    std::fs::write(
        home.path().join(".bashrc"),
        format!("PS1='{PROMPT}'\nunset PROMPT_COMMAND\n"),
    )?;
    std::fs::write(home.path().join(".bash_profile"), ". ~/.bashrc\n")?;
    Ok(home)
}

/// How to start the app.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// `LEAPFROG_AGENTS`, e.g. `design:claude,build:codex`; default cockpit when `None`.
    pub agents: Option<String>,
    /// Extra environment for the app.
    pub env: Vec<(String, String)>,
    /// Command-line arguments of the app (`leapfrog PROJECT_DIR`).
    pub args: Vec<String>,
    /// The app binary; default [`app_binary`] (the build's). The package test runs the installed one.
    pub bin: Option<PathBuf>,
}

/// A running app under WebDriver.
pub struct App {
    pub client: Client,
    // Drop order: the session client first, then the driver group, then the X server.
    _driver: Group,
    _display: Display,
    _home: tempfile::TempDir,
}

impl App {
    pub async fn launch(opts: Launch) -> Result<App> {
        let bin = match &opts.bin {
            Some(b) => b.clone(),
            None => app_binary()?,
        };
        let display = Display::get()?;
        let home = shell_home()?;

        let port = free_port()?;
        let native_port = free_port()?;
        let mut cmd = Command::new(tool("tauri-driver")?);
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .arg("--native-driver")
        .arg(tool("WebKitWebDriver")?)
        .env("DISPLAY", &display.name)
        .env("HOME", home.path())
        .env("SHELL", "/bin/bash")
        .env_remove("WAYLAND_DISPLAY")
        .current_dir(home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if let Some(agents) = &opts.agents {
            cmd.env("LEAPFROG_AGENTS", agents);
        }
        // Each app its own runtime folder unless the test shares one: the Leapfrog service the
        // app starts lives there, and exits when the folder goes with the app's HOME.
        if !opts.env.iter().any(|(k, _)| k == "LEAPFROG_RUNTIME_DIR") {
            let run = home.path().join("run");
            std::fs::create_dir(&run)?;
            std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
            cmd.env("LEAPFROG_RUNTIME_DIR", &run);
        }
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let driver = Group::spawn(&mut cmd).context("spawn tauri-driver")?;

        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            json!({ "application": bin.to_string_lossy(), "args": opts.args }),
        );
        caps.insert("browserName".into(), json!("wry"));
        let url = format!("http://127.0.0.1:{port}");
        // tauri-driver answers before WebKitWebDriver is ready: retry the new session a while.
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::rustls()?
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => return Err(anyhow!("no WebDriver session after 30 s: {e}")),
            }
        };
        let app = App {
            client,
            _driver: driver,
            _display: display,
            _home: home,
        };
        // Loaded: a pane is mounted, or the project is held on a card (no pane until answered).
        app.wait_until(
            "the cockpit to load",
            Duration::from_secs(30),
            |app| async move {
                let loaded = app
                .exec(
                    "return (window.__leapfrog && Object.keys(window.__leapfrog.panes).length > 0) \
                     || !!document.querySelector(\"[data-testid='project-hold']\")",
                    vec![],
                )
                .await?;
                Ok(loaded.as_bool().unwrap_or(false))
            },
        )
        .await?;
        Ok(app)
    }

    /// The app's HOME (a throwaway folder).
    pub fn home(&self) -> &Path {
        self._home.path()
    }

    /// The pid of the WebDriver process group's leader (tauri-driver): the app and its agents
    /// run under it.
    pub fn driver_pid(&self) -> u32 {
        self._driver.0.id()
    }

    pub async fn exec(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.client
            .execute(script, args)
            .await
            .map_err(|e| anyhow!("execute failed: {e}"))
    }

    /// Polls `check` every 100 ms until it holds; errors after `timeout` naming `what`.
    pub async fn wait_until<'a, F, Fut>(
        &'a self,
        what: &str,
        timeout: Duration,
        mut check: F,
    ) -> Result<()>
    where
        F: FnMut(&'a App) -> Fut,
        Fut: std::future::Future<Output = Result<bool>> + 'a,
    {
        let deadline = Instant::now() + timeout;
        loop {
            if check(self).await? {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("timed out after {timeout:?} waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to `timeout` for the element with `data-testid="{testid}"`, then clicks it.
    pub async fn click(&self, testid: &str, timeout: Duration) -> Result<()> {
        self.client
            .wait()
            .at_most(timeout)
            .for_element(Locator::Css(&format!("[data-testid='{testid}']")))
            .await
            .with_context(|| format!("waiting for {testid}"))?
            .click()
            .await
            .with_context(|| format!("clicking {testid}"))?;
        Ok(())
    }

    /// How many times a terminal was mounted for `pane` (0 if never).
    pub async fn pane_mounts(&self, pane: &str) -> Result<u64> {
        let v = self
            .exec(
                "return (window.__leapfrog && window.__leapfrog.mounts[arguments[0]]) || 0",
                vec![json!(pane)],
            )
            .await?;
        v.as_u64().context("mount count")
    }

    /// The pane's whole xterm.js buffer, one line per row.
    pub async fn pane_text(&self, pane: &str) -> Result<String> {
        self.pane_call(pane, "text").await
    }

    /// The pane's visible screen.
    pub async fn pane_screen(&self, pane: &str) -> Result<String> {
        self.pane_call(pane, "screen").await
    }

    async fn pane_call(&self, pane: &str, method: &str) -> Result<String> {
        let v = self
            .exec(
                &format!("const p = window.__leapfrog.panes[arguments[0]]; return p ? p.{method}() : null"),
                vec![json!(pane)],
            )
            .await?;
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("no pane `{pane}` in the UI"))
    }

    /// xterm.js's size of the pane: (rows, cols).
    pub async fn pane_size(&self, pane: &str) -> Result<(u64, u64)> {
        let v = self
            .exec(
                "const p = window.__leapfrog.panes[arguments[0]]; return [p.rows(), p.cols()]",
                vec![json!(pane)],
            )
            .await?;
        Ok((v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0)))
    }

    /// Selects, in the pane, the last line holding `text` (as a mouse drag would).
    pub async fn select_in(&self, pane: &str, text: &str) -> Result<()> {
        let v = self
            .exec(
                "return window.__leapfrog.panes[arguments[0]].selectLineWith(arguments[1])",
                vec![json!(pane), json!(text)],
            )
            .await?;
        if v != json!(true) {
            bail!("no `{text}` to select in pane `{pane}`");
        }
        Ok(())
    }

    /// Sends keys to the pane's terminal (focusing it first). `\n` is sent as Enter.
    pub async fn type_into(&self, pane: &str, text: &str) -> Result<()> {
        // The terminal lives in the pane host's shadow root, which CSS locators do not enter.
        let found = self
            .exec(
                "const host = document.querySelector(arguments[0]); \
                 return host && host.shadowRoot \
                   ? host.shadowRoot.querySelector('.xterm-helper-textarea') : null",
                vec![json!(format!("[data-testid=\"pane-{pane}\"] .term-host"))],
            )
            .await?;
        let id = found
            .get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("no terminal in pane `{pane}`"))?;
        let area = Element::from_element_id(self.client.clone(), id.to_string().into());
        // No window manager under Xvfb: focus through the page, then type.
        self.exec("arguments[0].focus()", vec![serde_json::to_value(&area)?])
            .await?;
        area.send_keys(&text.replace('\n', "\u{E007}"))
            .await
            .map_err(|e| anyhow!("typing into `{pane}` failed: {e}"))
    }

    /// Polls `read` (a pane's text) until `done` holds; the error shows the pane's last text.
    async fn poll_text<F, Fut>(
        &self,
        what: &str,
        timeout: Duration,
        read: F,
        done: impl Fn(&str) -> bool,
    ) -> Result<String>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<String>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            let text = read().await?;
            if done(&text) {
                return Ok(text);
            }
            if Instant::now() >= deadline {
                bail!(
                    "timed out after {timeout:?} waiting for {what}; the pane shows:\n{}",
                    tail(&text, 20)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the pane's buffer has a line equal to `line` (trailing blanks ignored).
    pub async fn wait_for_line(&self, pane: &str, line: &str, timeout: Duration) -> Result<String> {
        self.poll_text(
            &format!("a line `{line}` in pane `{pane}`"),
            timeout,
            || self.pane_text(pane),
            |text| text.lines().any(|l| l.trim_end() == line),
        )
        .await
    }

    /// Waits for a line starting with `prefix` (not the echoed command) and returns that line.
    pub async fn wait_for_line_starting(
        &self,
        pane: &str,
        prefix: &str,
        timeout: Duration,
    ) -> Result<String> {
        let text = self
            .poll_text(
                &format!("a line starting `{prefix}` in pane `{pane}`"),
                timeout,
                || self.pane_text(pane),
                |text| text.lines().any(|l| l.starts_with(prefix)),
            )
            .await?;
        Ok(text
            .lines()
            .find(|l| l.starts_with(prefix))
            .map(|l| l.trim_end().to_string())
            .unwrap_or_default())
    }

    /// Waits until the visible screen's last non-empty line is the E2E prompt.
    pub async fn wait_for_prompt(&self, pane: &str, timeout: Duration) -> Result<()> {
        self.poll_text(
            &format!("the prompt in pane `{pane}`"),
            timeout,
            || self.pane_screen(pane),
            |text| {
                text.lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .map(str::trim_end)
                    == Some(PROMPT.trim_end())
            },
        )
        .await
        .map(|_| ())
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl App {
    /// Ends the WebDriver session (which closes the app), then the driver and X server go on drop.
    pub async fn close(self) -> Result<()> {
        let App {
            client,
            _driver,
            _display,
            _home,
        } = self;
        let closed = client
            .close()
            .await
            .map_err(|e| anyhow!("closing the session: {e}"));
        drop(_driver);
        drop(_display);
        closed
    }
}
