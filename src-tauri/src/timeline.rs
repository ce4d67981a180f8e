//! The timeline's data. Until the orchestrator records phase runs, it is the scheduler's forecast for
//! the open project: its agents and the board's batches, simulated with default phase durations (the
//! same output as `leap simulate --json`).

use leapfrog_engine::model::{Pattern, Role};
use leapfrog_engine::project::setup;
use leapfrog_engine::scheduler::sim::SimOutput;
use leapfrog_engine::scheduler::{simulate, SimOptions, Workload};
use serde::Serialize;
use tauri::State;
use ts_rs::TS;

use crate::projects::Projects;

type Result<T> = std::result::Result<T, String>;

/// Default phase durations of the forecast, in minutes (the seed's example batch).
pub const DESIGN_MINUTES: f64 = 10.0;
pub const BUILD_MINUTES: f64 = 20.0;
pub const REVIEW_MINUTES: f64 = 5.0;
pub const QA_MINUTES: f64 = 5.0;
pub const VERIFY_MINUTES: f64 = 2.0;

/// What the timeline draws: a schedule in `leap simulate --json`'s shape, live or forecast.
#[derive(Debug, Clone, Serialize, TS)]
pub struct TimelineData {
    pub schedule: SimOutput,
    /// Minutes since the run started; `None` for a forecast.
    pub now: Option<f64>,
    pub source: TimelineSource,
    /// The live run is over: `now` is where its last phase ended.
    pub finished: bool,
    /// A live run's expected finish in minutes since its start, from the scheduler's estimates
    /// (a forecast's is its schedule's end); `None` while something holds the pipeline.
    pub forecast_minutes: Option<f64>,
}

/// Where a timeline's bars come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TimelineSource {
    /// Simulated from the board with default phase durations.
    Forecast,
    /// The orchestrator's recorded phase runs.
    Live,
}

/// The workload of a project: its agents (or the pattern's default slots) and `batches` batches
/// (with a QA phase each when `qa`).
pub fn workload(
    agents: &[(String, Vec<Role>)],
    batches: usize,
    lookahead: Option<u32>,
    sync_every: Option<u32>,
    qa: bool,
) -> Result<Workload> {
    let batch = serde_json::json!({
        "design": DESIGN_MINUTES, "build": BUILD_MINUTES, "review": REVIEW_MINUTES,
        "qa": if qa { QA_MINUTES } else { 0.0 }
    });
    let json = serde_json::json!({
        "agents": agents.iter().map(|(id, roles)| serde_json::json!({"id": id, "roles": roles})).collect::<Vec<_>>(),
        "lookahead": lookahead,
        "sync_every": sync_every,
        "verify_minutes": VERIFY_MINUTES,
        "batches": vec![batch; batches],
    });
    Workload::parse(&json.to_string()).map_err(|e| e.to_string())
}

#[tauri::command]
pub async fn timeline(
    state: State<'_, Projects>,
    live: State<'_, crate::live::Live>,
) -> Result<Option<TimelineData>> {
    // A running project: its recorded phase runs (live.rs).
    if let Some(data) = live.timeline_data() {
        return Ok(Some(data));
    }
    let open = state.lock();
    let Some(project) = open.as_ref() else {
        return Ok(None);
    };
    let view = project.board.view();
    let batches = view
        .columns
        .iter()
        .filter(|c| matches!(c.key, leapfrog_engine::board::ColumnKey::Batch { .. }))
        .count();
    if batches == 0 {
        return Ok(None);
    }
    let (mut agents, lookahead, sync_every, qa) = match &project.file {
        Some(f) => (
            f.agents
                .iter()
                .filter(|a| !a.roles.is_empty())
                .map(|a| (a.id.clone(), a.roles.clone()))
                .collect::<Vec<_>>(),
            f.lookahead,
            f.sync_every,
            f.qa,
        ),
        None => (Vec::new(), Some(1), Some(2), false),
    };
    if agents.is_empty() {
        let pattern = project
            .file
            .as_ref()
            .map_or(Pattern::Leapfrog, |f| f.pattern);
        agents = setup::slots(pattern)
            .into_iter()
            .map(|(id, roles)| (id.to_string(), roles))
            .collect();
    }
    drop(open);
    let work = workload(&agents, batches, lookahead, sync_every, qa)?;
    let out = simulate(&work, &SimOptions::default()).map_err(|e| e.to_string())?;
    Ok(Some(TimelineData {
        forecast_minutes: Some(out.parallel_minutes),
        schedule: out,
        now: None,
        finished: false,
        source: TimelineSource::Forecast,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forecast of the seed's two agents over three batches finishes sooner than running the
    /// phases one after another.
    #[test]
    fn forecast_of_a_project_is_shorter_than_sequential() {
        let agents: Vec<(String, Vec<Role>)> = setup::slots(Pattern::Leapfrog)
            .into_iter()
            .map(|(id, roles)| (id.to_string(), roles))
            .collect();
        let cases = [(1usize, false), (3, true), (6, true)];
        for (batches, faster) in cases {
            for qa in [false, true] {
                let work = workload(&agents, batches, Some(1), Some(2), qa).unwrap();
                let out =
                    serde_json::to_value(simulate(&work, &SimOptions::default()).unwrap()).unwrap();
                let seq = out["sequential_minutes"].as_f64().unwrap();
                let par = out["parallel_minutes"].as_f64().unwrap();
                assert_eq!(par < seq, faster, "{batches} batches: {par} vs {seq}");
                assert_eq!(out["batches"].as_u64().unwrap() as usize, batches);
                let qa_rows = out["schedule"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["phase"] == "qa")
                    .count();
                assert_eq!(qa_rows, if qa { batches } else { 0 }, "qa {qa}");
            }
        }
    }
}
