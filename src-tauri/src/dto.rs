//! The shell's IPC data: what commands take and return and what events carry.
//!
//! TypeScript declarations for these types are generated with ts-rs into `ui/src/lib/bindings/`
//! and committed; the `bindings_are_fresh` test fails when a committed file differs from what the
//! Rust types say (run it with `UPDATE_BINDINGS=1` to rewrite them). The same test covers the
//! engine's view types the UI reads as they are (board, project setup, simulate output): the shell
//! enables the engine's `ts` feature, which derives `TS` on them.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One agent's pane in the cockpit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PaneInfo {
    /// The agent id, stable for the session: `designer`, `builder`, ...
    pub id: String,
    /// Shown in the pane header: role and command, e.g. `Designer · claude`.
    pub title: String,
    /// The agent's role (`design`, `build`, ...), for colour coding.
    pub role: String,
    /// The agent CLI this pane will run (`claude`, `codex`, ...).
    pub agent_command: String,
    /// What actually runs in the pane now (the user's login shell until agents are wired in).
    pub program: String,
}

/// The whole cockpit as the window first draws it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Cockpit {
    pub panes: Vec<PaneInfo>,
    /// The directory the panes start in.
    pub workdir: String,
    /// Bench mode: the UI reports frame gaps so the bench can judge responsiveness.
    pub bench: bool,
    /// Whether the machine has a GPU for WebGL. Without one the terminals use xterm.js's DOM
    /// renderer: software WebGL is slower and merely creating a context costs ~50 MB.
    pub gpu: bool,
}

/// A terminal size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PaneSize {
    pub cols: u16,
    pub rows: u16,
}

/// Sent as the `pane-exit` event when a pane's process ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PaneExit {
    pub pane_id: String,
    /// The exit code, when the process exited rather than being killed by a signal.
    pub code: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// One line of the app's own log, as the Logs pane shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    /// Increases by one per line: the UI's key and order.
    #[ts(type = "number")]
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    #[ts(type = "number")]
    pub time_ms: u64,
    pub level: LogLevel,
    /// The module that logged it, e.g. `leapfrog_engine::pty`.
    pub target: String,
    pub message: String,
}

/// Milestones the UI reports; the shell logs them (and prints them in bench mode).
#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum UiMark {
    /// The first output of a pane was painted (the prompt, normally).
    FirstPaint { pane_id: String },
    /// The longest gap between animation frames over a measured span, in milliseconds.
    FrameGap { max_ms: f64 },
}

#[cfg(test)]
mod tests {
    use super::*;
    use leapfrog_engine::project::setup;
    use leapfrog_engine::scheduler::sim;
    use leapfrog_engine::{board, model};
    use std::path::PathBuf;

    fn bindings_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings")
    }

    fn generated() -> Vec<(&'static str, String)> {
        fn one<T: TS + 'static>(name: &'static str) -> (&'static str, String) {
            (name, T::export_to_string().expect("ts-rs renders the type"))
        }
        vec![
            one::<PaneInfo>("PaneInfo"),
            one::<Cockpit>("Cockpit"),
            one::<PaneSize>("PaneSize"),
            one::<PaneExit>("PaneExit"),
            one::<LogLevel>("LogLevel"),
            one::<LogLine>("LogLine"),
            one::<UiMark>("UiMark"),
            // The engine's own serde shapes the views read (the engine's `ts` feature derives them).
            one::<model::Role>("Role"),
            one::<model::Pattern>("Pattern"),
            one::<model::CliKind>("CliKind"),
            one::<model::TicketStatus>("TicketStatus"),
            one::<model::PhaseKind>("PhaseKind"),
            one::<leapfrog_engine::agents::AgentProfile>("AgentProfile"),
            one::<board::ColumnKey>("ColumnKey"),
            one::<board::PhaseState>("PhaseState"),
            one::<board::PhaseBadge>("PhaseBadge"),
            one::<board::DependencyBadge>("DependencyBadge"),
            one::<board::Card>("Card"),
            one::<board::Column>("Column"),
            one::<board::MilestoneLane>("MilestoneLane"),
            one::<board::BoardView>("BoardView"),
            one::<board::FieldValue>("FieldValue"),
            one::<board::BoardOp>("BoardOp"),
            one::<board::OpOutcome>("OpOutcome"),
            one::<setup::GitState>("GitState"),
            one::<setup::DetectedCli>("DetectedCli"),
            one::<setup::TicketsAction>("TicketsAction"),
            one::<setup::TicketsReport>("TicketsReport"),
            one::<setup::RecognisedBatch>("RecognisedBatch"),
            one::<setup::SetupPlan>("SetupPlan"),
            one::<sim::Row>("SimRow"),
            one::<sim::SimOutput>("SimOutput"),
            one::<leapfrog_engine::trust::ProjectCommand>("ProjectCommand"),
            one::<leapfrog_engine::trust::ProjectCommands>("ProjectCommands"),
            one::<leapfrog_engine::trust::TrustReview>("TrustReview"),
            // The shell's own view types.
            one::<crate::projects::ProjectSummary>("ProjectSummary"),
            one::<crate::projects::SetupChoices>("SetupChoices"),
            one::<crate::timeline::TimelineData>("TimelineData"),
            one::<crate::timeline::TimelineSource>("TimelineSource"),
            one::<leapfrog_engine::views::Notice>("AppNotice"),
            one::<leapfrog_engine::views::NoticeKind>("NoticeKind"),
            one::<crate::about::AboutInfo>("AboutInfo"),
            one::<crate::welcome::Welcome>("Welcome"),
            one::<crate::welcome::WelcomeCli>("WelcomeCli"),
            one::<crate::review::BatchDiff>("BatchDiff"),
            one::<leapfrog_engine::git::BatchRange>("BatchRange"),
            one::<leapfrog_engine::git::FileChange>("FileChange"),
            one::<leapfrog_engine::orchestrator::ReviewComment>("ReviewComment"),
            one::<leapfrog_engine::context::RulesFile>("RulesFile"),
            one::<leapfrog_engine::context::PackEntry>("PackEntry"),
        ]
    }

    #[test]
    fn bindings_are_fresh() {
        let dir = bindings_dir();
        let update = std::env::var_os("UPDATE_BINDINGS").is_some();
        let mut stale = Vec::new();
        for (name, text) in generated() {
            let path = dir.join(format!("{name}.ts"));
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if committed != text {
                if update {
                    std::fs::create_dir_all(&dir).unwrap();
                    std::fs::write(&path, &text).unwrap();
                } else {
                    stale.push(name);
                }
            }
        }
        assert!(
            stale.is_empty(),
            "stale TypeScript bindings in ui/src/lib/bindings: {stale:?}; regenerate with \
             `UPDATE_BINDINGS=1 cargo test -p leapfrog --lib bindings_are_fresh`"
        );
    }

    #[test]
    fn ui_marks_parse_from_the_ui_shape() {
        let cases = [
            (
                r#"{"kind":"firstPaint","paneId":"designer"}"#,
                UiMark::FirstPaint {
                    pane_id: "designer".into(),
                },
            ),
            (
                r#"{"kind":"frameGap","maxMs":12.5}"#,
                UiMark::FrameGap { max_ms: 12.5 },
            ),
        ];
        for (json, want) in cases {
            assert_eq!(
                serde_json::from_str::<UiMark>(json).unwrap(),
                want,
                "{json}"
            );
        }
    }
}
