//! The board's commands: the open project's TICKETS.md as `engine::board` sees it, and its operations
//! (each one an engine `BoardOp`, written through the engine's sync with hash checks and undo).
//! While a project runs, its phase runs (live.rs) become the column headers' phase badges, which is
//! also what makes the engine ask before a ticket leaves a batch being built or reviewed.

use std::collections::BTreeMap;

use leapfrog_engine::board::{Board, BoardOp, BoardView, OpOutcome, PhaseBadge, PhaseState};
use leapfrog_engine::views::LiveRun;
use tauri::State;

use crate::live::Live;
use crate::projects::Projects;

type Result<T> = std::result::Result<T, String>;

/// The phase badges per batch from the phase runs (the last run of a phase counts).
pub fn phases_from_runs(runs: &[LiveRun]) -> BTreeMap<u32, Vec<PhaseBadge>> {
    let mut out: BTreeMap<u32, Vec<PhaseBadge>> = BTreeMap::new();
    for run in runs {
        let Some((kind, batch)) = run.batch_phase else {
            continue;
        };
        let state = match run.outcome.as_str() {
            "running" => PhaseState::Running,
            "passed" => PhaseState::Passed,
            "cancelled" => PhaseState::Waiting,
            _ => PhaseState::Failed,
        };
        let badges = out.entry(batch).or_default();
        match badges.iter_mut().find(|b| b.kind == kind) {
            Some(b) => b.state = state,
            None => badges.push(PhaseBadge { kind, state }),
        }
    }
    out
}

/// Puts the running project's phases on the board (and clears those of batches without runs).
fn sync_phases(board: &mut Board, live: &State<'_, Live>) {
    let runs = live
        .state()
        .ok()
        .flatten()
        .map(|s| s.runs)
        .unwrap_or_default();
    let phases = phases_from_runs(&runs);
    let batches: Vec<u32> = board.doc().batches.iter().map(|b| b.number).collect();
    for n in batches {
        board.set_phases(n, phases.get(&n).cloned().unwrap_or_default());
    }
}

/// The open project's board; `None` when no project is open. Async, like every command that
/// reads or writes files: it runs on the runtime's threads, never on the UI thread.
#[tauri::command]
pub async fn board_view(
    state: State<'_, Projects>,
    live: State<'_, Live>,
) -> Result<Option<BoardView>> {
    let mut open = state.lock();
    let Some(project) = open.as_mut() else {
        return Ok(None);
    };
    sync_phases(&mut project.board, &live);
    Ok(Some(project.board.view()))
}

/// One board operation. A `needs_confirmation` outcome is asked again with `confirmed`.
#[tauri::command]
pub async fn board_apply(
    state: State<'_, Projects>,
    live: State<'_, Live>,
    op: BoardOp,
    confirmed: bool,
) -> Result<OpOutcome> {
    let mut open = state.lock();
    let project = open.as_mut().ok_or("no project is open")?;
    sync_phases(&mut project.board, &live);
    let outcome = project
        .board
        .apply(&op, confirmed)
        .map_err(|e| e.to_string())?;
    tracing::debug!(?op, "board operation");
    Ok(outcome)
}

#[tauri::command]
pub async fn board_undo(state: State<'_, Projects>) -> Result<OpOutcome> {
    let mut open = state.lock();
    let project = open.as_mut().ok_or("no project is open")?;
    project.board.undo().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use leapfrog_engine::model::PhaseKind;

    fn run(phase: &str, outcome: &str) -> LiveRun {
        let (kind, n) = phase.split_once('(').unwrap_or((phase, ""));
        let n = n.trim_end_matches(')').parse().ok();
        let kind = match kind {
            "design" => Some(PhaseKind::Design),
            "build" => Some(PhaseKind::Build),
            "review" => Some(PhaseKind::Review),
            "fix" => Some(PhaseKind::Fix),
            "qa" => Some(PhaseKind::Qa),
            _ => None,
        };
        LiveRun {
            id: 1,
            batch_phase: kind.zip(n),
            phase: phase.into(),
            agent: Some("builder".into()),
            outcome: outcome.into(),
            completed_by: None,
            started_ms: 0,
            ended_ms: None,
        }
    }

    /// Per batch: its badges as (phase, state).
    type Badges = Vec<(u32, Vec<(PhaseKind, PhaseState)>)>;

    #[test]
    fn phase_runs_become_column_badges() {
        let cases: Vec<(Vec<LiveRun>, Badges)> = vec![
            (vec![], vec![]),
            (
                vec![run("preamble(1)", "passed"), run("verify(1)", "failed")],
                vec![],
            ),
            (
                vec![
                    run("design(1)", "passed"),
                    run("build(1)", "running"),
                    run("design(2)", "running"),
                ],
                vec![
                    (
                        1,
                        vec![
                            (PhaseKind::Design, PhaseState::Passed),
                            (PhaseKind::Build, PhaseState::Running),
                        ],
                    ),
                    (2, vec![(PhaseKind::Design, PhaseState::Running)]),
                ],
            ),
            // A retried review: the last run counts.
            (
                vec![
                    run("review(3)", "failed"),
                    run("review(3)", "running"),
                    run("qa(3)", "timed_out"),
                ],
                vec![(
                    3,
                    vec![
                        (PhaseKind::Review, PhaseState::Running),
                        (PhaseKind::Qa, PhaseState::Failed),
                    ],
                )],
            ),
        ];
        for (runs, want) in cases {
            let got: Badges = phases_from_runs(&runs)
                .into_iter()
                .map(|(n, b)| (n, b.into_iter().map(|b| (b.kind, b.state)).collect()))
                .collect();
            assert_eq!(got, want, "{runs:?}");
        }
    }
}
