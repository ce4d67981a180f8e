//! The Linux package for the package tests: where the repository is, its version, and
//! `bash .ci/package --debug` run as a user would run it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};

/// The repository's root (this crate is `tests/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `[workspace.package] version` in the root Cargo.toml.
pub fn workspace_version(root: &Path) -> Result<String> {
    let toml = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let mut in_section = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section {
            if let Some(value) = line.strip_prefix("version") {
                let value = value.trim_start().trim_start_matches('=').trim();
                return Ok(value.trim_matches('"').to_string());
            }
        }
    }
    bail!("no version in [workspace.package] of the root Cargo.toml")
}

/// Runs `bash .ci/package --debug` and returns the packages it made (the .deb and the .rpm).
/// The bundler's and cargo's output go to stderr (shown); stdout is the package paths.
pub fn build_debug_packages(root: &Path) -> Result<Vec<PathBuf>> {
    let mut package = Command::new("bash");
    package
        .args([".ci/package", "--debug"])
        .current_dir(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // What cargo sets for this test is not the package's business (the bundler reads Cargo.toml).
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_PRIMARY_",
        ]
        .iter()
        .any(|p| name.starts_with(p))
        {
            package.env_remove(&*name);
        }
    }
    let started = std::time::Instant::now();
    let out = package.output().context("cannot run bash .ci/package")?;
    ensure!(
        out.status.success(),
        "bash .ci/package --debug failed: {}",
        out.status
    );
    eprintln!("package: built in {:.0?}", started.elapsed());
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .map(PathBuf::from)
        .collect())
}
