//! The board's commands: the open project's TICKETS.md as `engine::board` sees it, and its operations
//! (each one an engine `BoardOp`, written through the engine's sync with hash checks and undo).

use leapfrog_engine::board::{BoardOp, BoardView, OpOutcome};
use tauri::State;

use crate::projects::Projects;

type Result<T> = std::result::Result<T, String>;

/// The open project's board; `None` when no project is open.
#[tauri::command]
pub fn board_view(state: State<'_, Projects>) -> Option<BoardView> {
    state.lock().as_ref().map(|p| p.board.view())
}

/// One board operation. A `needs_confirmation` outcome is asked again with `confirmed`.
#[tauri::command]
pub fn board_apply(state: State<'_, Projects>, op: BoardOp, confirmed: bool) -> Result<OpOutcome> {
    let mut open = state.lock();
    let project = open.as_mut().ok_or("no project is open")?;
    let outcome = project
        .board
        .apply(&op, confirmed)
        .map_err(|e| e.to_string())?;
    tracing::debug!(?op, "board operation");
    Ok(outcome)
}

#[tauri::command]
pub fn board_undo(state: State<'_, Projects>) -> Result<OpOutcome> {
    let mut open = state.lock();
    let project = open.as_mut().ok_or("no project is open")?;
    project.board.undo().map_err(|e| e.to_string())
}
