//! The package on this machine: `bash .ci/package --debug` builds the .deb, `apt-get install`
//! installs it (as root, or with `sudo -n`), and the installed `/usr/bin/leapfrog` (not the build
//! tree's) opens under Xvfb over WebDriver to its welcome screen and runs the demo project to
//! "finished"; `leap --version` on PATH is the workspace's. Then the package is removed, and the
//! user's data (the demo project, the data folder) is still there.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use fantoccini::Locator;
use leapfrog_e2e::package::{build_debug_packages, repo_root, workspace_version};
use leapfrog_e2e::{App, Launch};

/// `cmd` as root: itself when this is root, else through `sudo -n` (never asks).
fn as_root(args: &[&str]) -> Command {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new(args[0]);
        c.args(&args[1..]);
        c
    } else {
        let mut c = Command::new("sudo");
        c.arg("-n").args(args);
        c
    }
}

fn run(mut cmd: Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes the package when the test ends, however it ends.
struct Installed;
impl Drop for Installed {
    fn drop(&mut self) {
        let _ = as_root(&["apt-get", "remove", "-y", "-q", "leapfrog"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_installed_package_opens_to_the_welcome_and_runs_the_demo() -> Result<()> {
    let root = repo_root();
    let deb = build_debug_packages(&root)?
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .context("no .deb made")?;

    let started = Instant::now();
    let _installed = Installed;
    run({
        let mut c = as_root(&[
            "apt-get",
            "install",
            "-y",
            "-q",
            "--reinstall",
            "--no-install-recommends",
            &deb.display().to_string(),
        ]);
        c.env("DEBIAN_FRONTEND", "noninteractive");
        c
    })?;
    let installed_in = started.elapsed();
    let version = run({
        let mut c = Command::new("leap");
        c.arg("--version").env("PATH", "/usr/bin:/bin");
        c
    })?;
    assert_eq!(
        version.trim(),
        format!("leap {}", workspace_version(&root)?),
        "leap on PATH"
    );

    // leap serve's systemd user unit, whose ExecStart is the installed leap.
    let unit = std::fs::read_to_string("/usr/lib/systemd/user/leapfrog.service")
        .context("the systemd user unit")?;
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .context("the unit's ExecStart")?;
    let program = exec.split_whitespace().next().unwrap_or_default();
    ensure!(
        Path::new(program).is_file() && exec.contains(" serve"),
        "the unit starts {exec:?}"
    );

    // The user's data: a data folder that must outlive the package.
    let data = tempfile::tempdir()?;
    // Its own control socket's folder (0700), whatever else runs on the machine.
    let runtime = tempfile::tempdir()?;
    std::fs::set_permissions(
        runtime.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )?;
    let launched = Instant::now();
    let app = App::launch(Launch {
        bin: Some(PathBuf::from("/usr/bin/leapfrog")),
        env: vec![
            (
                "LEAPFROG_DATA_DIR".into(),
                data.path().display().to_string(),
            ),
            (
                "LEAPFROG_RUNTIME_DIR".into(),
                runtime.path().display().to_string(),
            ),
            // Only what the package installed, plus the system: no build tree on PATH.
            ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
        ],
        ..Launch::default()
    })
    .await?;
    app.client
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css("[data-testid='welcome-clis'] li"))
        .await
        .context("the welcome screen")?;
    let to_welcome = launched.elapsed();
    eprintln!(
        "package: installed in {:.1?}; launch to the welcome screen painted {:.1?}",
        installed_in, to_welcome
    );
    app.click("welcome-demo", Duration::from_secs(60)).await?;
    app.client
        .wait()
        .at_most(Duration::from_secs(600))
        .for_element(Locator::Css("[data-testid='run-finished']"))
        .await
        .context("the demo run to finish")?;
    app.close().await?;

    drop(_installed);
    ensure!(
        !Path::new("/usr/bin/leapfrog").exists() && !Path::new("/usr/bin/leap").exists(),
        "the package's binaries are gone after removal"
    );
    let demo = data.path().join("demos/demo-1");
    ensure!(
        demo.join("TICKETS.md").is_file() && demo.join(".leapfrog/project.json").is_file(),
        "the user's demo project survives the package's removal"
    );
    Ok(())
}
