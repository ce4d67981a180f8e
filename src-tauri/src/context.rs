//! The context view's data: the project's reading rules (`docs/CONTEXT.md`), edited in the app
//! and saved only over what was read, and the context packs the run wrote for each phase.
//! Everything is the engine's (`leapfrog_engine::context`); this is the transport.

use std::path::PathBuf;

use leapfrog_engine::context::{PackEntry, RulesFile};
use tauri::State;

use crate::projects::Projects;

fn project_dir(projects: &Projects) -> Result<PathBuf, String> {
    projects
        .lock()
        .as_ref()
        .map(|p| p.dir.clone())
        .ok_or_else(|| "no project is open".to_string())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())?
}

/// The open project's `docs/CONTEXT.md` (the defaults when it has none yet).
#[tauri::command]
pub async fn context_rules(projects: State<'_, Projects>) -> Result<RulesFile, String> {
    let dir = project_dir(&projects)?;
    blocking(move || leapfrog_engine::context::read_rules(&dir)).await
}

/// Saves `docs/CONTEXT.md` if it is still what was read (`stamp`); an error in words otherwise.
#[tauri::command]
pub async fn context_rules_save(
    projects: State<'_, Projects>,
    text: String,
    stamp: String,
) -> Result<RulesFile, String> {
    let dir = project_dir(&projects)?;
    blocking(move || leapfrog_engine::context::write_rules(&dir, &text, &stamp)).await
}

/// The context packs written so far.
#[tauri::command]
pub async fn context_packs(projects: State<'_, Projects>) -> Result<Vec<PackEntry>, String> {
    let dir = project_dir(&projects)?;
    blocking(move || Ok(leapfrog_engine::context::list_packs(&dir))).await
}

/// One pack's text.
#[tauri::command]
pub async fn context_pack(
    projects: State<'_, Projects>,
    batch: u32,
    phase: String,
) -> Result<String, String> {
    let dir = project_dir(&projects)?;
    blocking(move || leapfrog_engine::context::read_pack(&dir, batch, &phase)).await
}
