//! Installing an agent CLI from the app: the real `npm` installs a package into a throwaway
//! HOME's `~/.local`, streaming its output, and detection then finds the program there with its
//! version. The package is a local tarball (made with `npm pack`), so the test needs no network.

use std::path::Path;
use std::time::Duration;

use leapfrog_engine::agents::{detect_installed, install};
use leapfrog_engine::model::CliKind;

fn fake_cli_tarball(dir: &Path) -> std::path::PathBuf {
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("package.json"),
        r#"{"name":"fake-codex","version":"9.9.9","bin":{"codex":"cli.js"}}"#,
    )
    .unwrap();
    std::fs::write(
        pkg.join("cli.js"),
        "#!/usr/bin/env node\nconsole.log('codex-cli 9.9.9');\n",
    )
    .unwrap();
    let out = std::process::Command::new("npm")
        .args(["pack", "--silent", "--pack-destination"])
        .arg(dir)
        .current_dir(&pkg)
        .env("HOME", dir)
        .output()
        .expect("npm runs");
    assert!(out.status.success(), "npm pack: {out:?}");
    dir.join("fake-codex-9.9.9.tgz")
}

#[test]
fn npm_installs_into_the_users_prefix_and_detection_finds_it() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let tarball = fake_cli_tarball(tmp.path());
    let path = std::env::var_os("PATH");
    // Not found before.
    let before = detect_installed(
        Some(&install::with_user_bin(
            Some(std::ffi::OsStr::new("/usr/bin:/bin")),
            &home,
        )),
        Duration::from_secs(5),
    );
    assert!(before
        .iter()
        .any(|i| i.cli == CliKind::Codex && i.path.is_none()));

    let plan = install::plan_for(CliKind::Codex, &tarball.display().to_string(), &home);
    let mut lines = Vec::new();
    let installed = install::run_install(&plan, &home, path.as_deref(), |l| lines.push(l))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(installed, home.join(".local/bin/codex"));
    assert!(
        lines.iter().any(|l| l.contains("added 1 package")),
        "npm's output streamed: {lines:?}"
    );
    let search = install::with_user_bin(path.as_deref(), &home);
    let after = detect_installed(Some(&search), Duration::from_secs(10));
    let codex = after.iter().find(|i| i.cli == CliKind::Codex).unwrap();
    assert_eq!(codex.path.as_deref(), Some(installed.as_path()));
    assert_eq!(codex.version.as_deref(), Some("codex-cli 9.9.9"));
}

#[test]
fn a_failed_install_says_what_failed_and_installs_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let missing = tmp.path().join("no-such-package.tgz");
    let plan = install::plan_for(CliKind::Codex, &missing.display().to_string(), &home);
    let err = install::run_install(&plan, &home, std::env::var_os("PATH").as_deref(), |_| {})
        .unwrap_err();
    assert!(err.contains("failed"), "{err}");
    assert!(!home.join(".local/bin/codex").exists());
    // No npm on PATH: said in words.
    let err = install::run_install(
        &plan,
        &home,
        Some(std::ffi::OsStr::new("/nonexistent")),
        |_| {},
    )
    .unwrap_err();
    assert!(err.contains("install Node.js and npm first"), "{err}");
}
