//! Shared by the examples that run `leap`: where the `leap` binary is.

use std::path::PathBuf;

/// The `leap` binary: `$LEAP`, else `leap` next to this example's directory (target/release).
pub fn leap_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("LEAP") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let p = exe
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("leap"))
        .ok_or("cannot locate target dir")?;
    if p.exists() {
        Ok(p)
    } else {
        Err(format!(
            "{} not found: run `cargo build --release -p leapfrog-cli` first (or set LEAP)",
            p.display()
        ))
    }
}
