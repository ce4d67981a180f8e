//! The values the UI shows, built from the engine's [`Snapshot`] and [`EngineEvent`]s: the
//! running project's agents, phase runs and held sync point, the events and notices the user is
//! told about, the commands the controls send, and why a project is held. The engine builds them
//! as typed values (their TypeScript is generated behind the `ts` feature), so the window and any
//! other client only carry them: none parses a string back.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::agents::{cli_id, AgentProfile, AgentStatus};
use crate::model::{CompletionDetection, PhaseKind, PhaseOutcome, PhaseRun, Role};
use crate::orchestrator::{Command, EngineEvent, ReviewComment, Snapshot};
use crate::scheduler::PhaseId;
use crate::trust::TrustReview;

/// One agent of the running project as its pane header shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LiveAgent {
    pub id: String,
    /// `working`, `idle`, `needs_input`, `exited`, `offline`, `limited`.
    pub status: String,
    /// What produced the status: `hook`, `session_file`, `screen`, `process`.
    pub signal: String,
    pub reason: String,
    /// The roles it may take (role enforcement): `design`, `review`, ...
    pub roles: Vec<String>,
    /// The phase it runs, e.g. `design(2)`.
    pub phase: Option<String>,
    /// A phase waiting for its idle edge.
    pub queued: Option<String>,
    pub paused: bool,
    /// The process id of its CLI, while it runs.
    pub pid: Option<u32>,
    /// Its git worktree, when batches are on branches and it builds.
    pub worktree: Option<LiveWorktree>,
    /// "Undo this phase" is possible: batches are on branches (a checkpoint precedes each phase)
    /// and it runs no phase now.
    pub can_undo: bool,
}

/// A builder's worktree: where it is, the branch checked out, and its disk use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LiveWorktree {
    pub path: String,
    pub branch: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
}

/// A sync point held by merging its accepted batches: a conflict (with the batch and files) or a
/// refusal (the integration branch moved), in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LiveHeldSync {
    pub sync: u32,
    pub batch: Option<u32>,
    pub files: Vec<String>,
    pub message: String,
    /// The builder resolving it, once handed over.
    pub builder: Option<String>,
}

/// One phase run: what ran where and how it completed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LiveRun {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: u64,
    /// `design(2)`, `verify(1)`, `preamble(1)`: also what retry / mark complete take.
    pub phase: String,
    pub agent: Option<String>,
    /// `running`, `passed`, `failed`, `cancelled`, `crashed`, `timed_out`.
    pub outcome: String,
    /// How the end was detected: `handoff block`, `complete block`, `click`, `verify exit`, ...
    pub completed_by: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub started_ms: u64,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub ended_ms: Option<u64>,
    /// A batch's own phase (design, build, review, fix, qa) and its batch, typed, for the
    /// board's badges (so nothing parses `phase` back). Not sent to the UI.
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub batch_phase: Option<(PhaseKind, u32)>,
}

/// What the controls ask for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum LiveCommand {
    RunVerify,
    PauseAgent {
        agent: String,
    },
    ResumeAgent {
        agent: String,
    },
    RestartAgent {
        agent: String,
    },
    /// `phase` as in [`LiveRun::phase`].
    Retry {
        phase: String,
    },
    MarkComplete {
        phase: String,
        passed: bool,
    },
    /// The user's review of a batch whose review is running (the review view's Approve and
    /// Send review).
    ReviewBatch {
        batch: u32,
        approve: bool,
        comments: Vec<ReviewComment>,
    },
    /// A sync point held by a conflict goes to a free builder.
    ConflictToBuilder,
    /// The agent's checkout goes back to before its last phase.
    UndoPhase {
        agent: String,
    },
}

/// A project that is open but does not run, and why: the cockpit shows it with the way on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProjectHold {
    pub dir: String,
    pub name: String,
    pub reason: HoldReason,
    /// Why, in words.
    pub message: String,
}

/// Why a project does not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum HoldReason {
    /// Its commands are not approved on this machine: show them and ask ([`HoldAnswer::Approve`]).
    Trust { review: TrustReview },
    /// Its saved run state is damaged: start a fresh run ([`HoldAnswer::StartFresh`]), which keeps
    /// the damaged file beside the new one.
    DamagedRunState,
    /// It could not start (a broken project file, a busy socket): fix it and retry.
    Failed,
    /// The user stopped its run: its agents were hung up and its state saved. Running it again
    /// ([`HoldAnswer::Retry`]) picks the run up, resuming the agents' sessions.
    Stopped,
}

/// The user's answer to a [`ProjectHold`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum HoldAnswer {
    /// Approve the commands that were shown (their fingerprint), then run.
    Approve {
        fingerprint: String,
    },
    StartFresh,
    Retry,
}

/// Sent as `live-event`: something happened; the UI refreshes its `LiveState`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LiveEvent {
    /// `agent_started`, `agent_status`, `phase_dispatched`, `phase_completed`, `verify_started`,
    /// `verify_finished`, `notification`, `log`, `finished`.
    pub kind: String,
    pub agent: Option<String>,
    /// A line for the user.
    pub text: String,
    /// `agent_status`: the agent's new status (`working`, `needs_input`, ...).
    pub status: Option<String>,
}

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    NeedsInput,
    ReviewFailed,
    VerifyFailed,
    ReadyForReview,
    /// The service went away; the window starts it again.
    ServiceStopped,
}

/// `needs_input`, failed review or verify, a batch ready: what the user is told about.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "AppNotice"))]
pub struct Notice {
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
    pub pane: Option<String>,
}

/// [`notice_for`], once per question: an agent already needing input (the same status again, now
/// read from another signal) is not notified twice. `asking` holds the agents needing input.
pub fn fresh_notice(asking: &mut BTreeSet<String>, event: &EngineEvent) -> Option<Notice> {
    if let EngineEvent::AgentStatus { agent, status, .. } = event {
        if *status != AgentStatus::NeedsInput {
            asking.remove(agent);
            return None;
        }
        if !asking.insert(agent.clone()) {
            return None;
        }
    }
    notice_for(event)
}

pub fn notice_for(event: &EngineEvent) -> Option<Notice> {
    match event {
        EngineEvent::AgentStatus {
            agent,
            status: AgentStatus::NeedsInput,
            reason,
            ..
        } => Some(Notice {
            kind: NoticeKind::NeedsInput,
            title: format!("{agent} needs input"),
            body: reason.clone(),
            pane: Some(agent.clone()),
        }),
        EngineEvent::VerifyFinished {
            sync,
            passed: false,
            ..
        } => Some(Notice {
            kind: NoticeKind::VerifyFailed,
            title: "Verify failed".into(),
            body: sync.map_or("verify run".into(), |s| format!("sync point {s}")),
            pane: None,
        }),
        EngineEvent::PhaseCompleted { agent, phase, run }
            if matches!(phase, PhaseId::Review { .. } | PhaseId::Qa { .. })
                && run.outcome == PhaseOutcome::Failed =>
        {
            Some(Notice {
                kind: NoticeKind::ReviewFailed,
                title: format!("{} failed", phase.label()),
                body: "a fix is scheduled".into(),
                pane: agent.clone(),
            })
        }
        EngineEvent::PhaseCompleted { agent, phase, run }
            if matches!(phase, PhaseId::Build { .. } | PhaseId::Fix { .. })
                && run.outcome == PhaseOutcome::Passed =>
        {
            Some(Notice {
                kind: NoticeKind::ReadyForReview,
                title: format!(
                    "Batch {} ready for review",
                    phase.batch().unwrap_or_default()
                ),
                body: format!("{} done", phase.label()),
                pane: agent.clone(),
            })
        }
        _ => None,
    }
}

/// An engine enum's name in snake case, as the UI compares it (`needs_input`): the engine's
/// statuses and signals serialise in kebab case (`needs-input`).
pub fn snake<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('-', "_")))
        .unwrap_or_default()
}

pub fn completed_by(d: CompletionDetection) -> &'static str {
    match d {
        CompletionDetection::HandoffMessage => "handoff block",
        CompletionDetection::CompleteMessage => "complete block",
        CompletionDetection::TicketsFile => "TICKETS.md",
        CompletionDetection::ProcessExit => "process exit",
        CompletionDetection::VerifyExit => "verify exit",
        CompletionDetection::Idle => "idle",
        CompletionDetection::Manual => "click",
        CompletionDetection::Command => "leap complete",
        CompletionDetection::UsageLimit => "usage limit",
    }
}

pub fn run_view(r: &PhaseRun) -> LiveRun {
    let kind = snake(&r.kind);
    let phase = match (kind.as_str(), r.batch) {
        (k, Some(b)) => format!("{k}({b})"),
        (k, None) => k.to_string(),
    };
    LiveRun {
        id: r.id,
        phase,
        agent: r.agent.clone(),
        outcome: snake(&r.outcome),
        completed_by: r.detection.map(|d| completed_by(d).to_string()),
        started_ms: r.started_at,
        ended_ms: r.ended_at,
        batch_phase: match (r.kind, r.batch) {
            (
                PhaseKind::Design
                | PhaseKind::Build
                | PhaseKind::Review
                | PhaseKind::Fix
                | PhaseKind::Qa,
                Some(b),
            ) => Some((r.kind, b)),
            _ => None,
        },
    }
}

pub fn event_view(event: &EngineEvent) -> LiveEvent {
    let (kind, agent, text) = match event {
        EngineEvent::AgentStarted {
            agent,
            command_line,
            resumed,
            ..
        } => (
            "agent_started",
            Some(agent.clone()),
            format!(
                "{agent} {}: {command_line}",
                if *resumed { "resumed" } else { "started" }
            ),
        ),
        EngineEvent::AgentStatus {
            agent,
            status,
            signal,
            reason,
        } => (
            "agent_status",
            Some(agent.clone()),
            format!("{agent} {} ({}: {reason})", snake(status), snake(signal)),
        ),
        EngineEvent::PhaseDispatched {
            agent,
            phase,
            latency_ms,
            ..
        } => (
            "phase_dispatched",
            Some(agent.clone()),
            format!("{} → {agent} ({latency_ms:.0} ms)", phase.label()),
        ),
        EngineEvent::PhaseCompleted { agent, phase, run } => (
            "phase_completed",
            agent.clone(),
            format!(
                "{} {} by {}",
                phase.label(),
                snake(&run.outcome),
                run.detection.map_or("—", completed_by)
            ),
        ),
        EngineEvent::VerifyStarted { sync, command, .. } => (
            "verify_started",
            None,
            format!(
                "verify{} started: {command}",
                sync.map_or(String::new(), |s| format!(" (sync {s})"))
            ),
        ),
        EngineEvent::VerifyFinished {
            sync,
            passed,
            duration_ms,
        } => (
            "verify_finished",
            None,
            format!(
                "verify{} {} in {duration_ms} ms",
                sync.map_or(String::new(), |s| format!(" (sync {s})")),
                if *passed { "PASSED" } else { "FAILED" }
            ),
        ),
        EngineEvent::Integrated {
            sync,
            batches,
            millis,
            ..
        } => (
            "integrated",
            None,
            format!("sync point {sync}: batches {batches:?} merged in {millis} ms; verify next"),
        ),
        EngineEvent::Notification { message } => ("notification", None, message.clone()),
        EngineEvent::Log { source, line } => ("log", None, format!("{source}: {line}")),
        EngineEvent::Finished => ("finished", None, "all batches done".to_string()),
    };
    let status = match event {
        EngineEvent::AgentStatus { status, .. } => Some(snake(status)),
        _ => None,
    };
    LiveEvent {
        kind: kind.to_string(),
        agent,
        text,
        status,
    }
}

/// Turns the UI's command into the engine's, checking agent ids and phases first.
pub fn engine_command(cmd: LiveCommand, agents: &[&str]) -> Result<Command, String> {
    let agent = |id: String| -> Result<String, String> {
        if agents.contains(&id.as_str()) {
            Ok(id)
        } else {
            Err(format!("no agent `{id}` (agents: {})", agents.join(", ")))
        }
    };
    Ok(match cmd {
        LiveCommand::RunVerify => Command::RunVerify,
        LiveCommand::PauseAgent { agent: a } => Command::PauseAgent { agent: agent(a)? },
        LiveCommand::ResumeAgent { agent: a } => Command::ResumeAgent { agent: agent(a)? },
        LiveCommand::RestartAgent { agent: a } => Command::RestartAgent { agent: agent(a)? },
        LiveCommand::Retry { phase } => Command::Retry {
            phase: PhaseId::parse_label(&phase)?,
        },
        LiveCommand::MarkComplete { phase, passed } => Command::MarkComplete {
            phase: PhaseId::parse_label(&phase)?,
            passed,
        },
        LiveCommand::ReviewBatch {
            batch,
            approve,
            comments,
        } => Command::ReviewBatch {
            batch,
            approve,
            comments,
        },
        LiveCommand::ConflictToBuilder => Command::ConflictToBuilder,
        LiveCommand::UndoPhase { agent: a } => Command::UndoPhase { agent: agent(a)? },
    })
}

/// `Designer · leap demo-agent`: the role noun of the first role and the program (plus its
/// subcommand when it has one).
pub fn agent_title(profile: &AgentProfile) -> String {
    let noun = main_role(profile).map_or("Agent", role_noun);
    let command = profile
        .command
        .clone()
        .unwrap_or_else(|| cli_id(profile.cli).to_string());
    let mut words = command.split_whitespace();
    let program = words
        .next()
        .map(|p| {
            Path::new(p)
                .file_name()
                .map_or(p.to_string(), |n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let shown = match words.next() {
        Some(sub) if !sub.starts_with('-') => format!("{program} {sub}"),
        _ => program,
    };
    format!("{noun} · {shown}")
}

/// The role an agent is named after: its pipeline role (design before build before review ...),
/// not a preamble role it also takes.
pub fn main_role(profile: &AgentProfile) -> Option<Role> {
    const ORDER: [Role; 8] = [
        Role::Design,
        Role::Build,
        Role::Review,
        Role::Qa,
        Role::Fix,
        Role::Plan,
        Role::Requirements,
        Role::Discovery,
    ];
    ORDER.into_iter().find(|r| profile.roles.contains(r))
}

/// The command line with its program's directory left out: `leap demo-agent --role builder`.
pub fn short_command(command: &str) -> String {
    let mut words = command.split_whitespace();
    let program = words.next().unwrap_or_default();
    let name = Path::new(program)
        .file_name()
        .map_or(program.to_string(), |n| n.to_string_lossy().into_owned());
    std::iter::once(name)
        .chain(words.map(str::to_string))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The agents of `snap` as their pane headers show them; `roles` holds each agent's roles
/// (role enforcement), by agent id.
pub fn agents_view(snap: &Snapshot, roles: &[(String, Vec<String>)]) -> Vec<LiveAgent> {
    let roles = |id: &str| -> Vec<String> {
        roles
            .iter()
            .find(|(a, _)| a == id)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    };
    snap.agents
        .iter()
        .map(|a| LiveAgent {
            id: a.id.clone(),
            status: snake(&a.status),
            signal: snake(&a.signal),
            reason: a.reason.clone(),
            roles: roles(&a.id),
            phase: a.phase.as_ref().map(PhaseId::label),
            queued: a.queued.as_ref().map(PhaseId::label),
            paused: a.paused,
            pid: a.pid,
            worktree: snap
                .worktrees
                .iter()
                .find(|w| w.agent == a.id)
                .map(|w| LiveWorktree {
                    path: w.path.clone(),
                    branch: w.branch.clone(),
                    bytes: w.bytes,
                }),
            can_undo: snap.branches && a.phase.is_none(),
        })
        .collect()
}

/// The phase runs of `snap`.
pub fn runs_view(snap: &Snapshot) -> Vec<LiveRun> {
    snap.runs.iter().map(run_view).collect()
}

/// The sync point of `snap` held by its integration, if one is.
pub fn held_sync_view(snap: &Snapshot) -> Option<LiveHeldSync> {
    snap.held_sync.as_ref().map(|h| LiveHeldSync {
        sync: h.sync,
        batch: h.batch,
        files: h.files.clone(),
        message: h.message.clone(),
        builder: h.builder.clone(),
    })
}

/// What a person who has this role is called: the pane title and the agent id.
pub fn role_noun(role: Role) -> &'static str {
    match role {
        Role::Discovery => "Explorer",
        Role::Requirements => "Analyst",
        Role::Plan => "Planner",
        Role::Design => "Designer",
        Role::Build => "Builder",
        Role::Review => "Reviewer",
        Role::Fix => "Fixer",
        Role::Qa => "Tester",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cmd: serde_json::Value, expect: &str) {
        let got = match serde_json::from_value::<LiveCommand>(cmd.clone()) {
            Ok(c) => match engine_command(c, &["designer", "builder"]) {
                Ok(c) => serde_json::to_string(&c).unwrap(),
                Err(e) => format!("error: {e}"),
            },
            Err(e) => format!("bad json: {e}"),
        };
        assert_eq!(got, expect, "{cmd}");
    }

    /// The names the UI compares (AgentBar's badge is shown for `needs_input`).
    #[test]
    fn statuses_and_signals_reach_the_ui_in_snake_case() {
        use crate::agents::StatusSignal;
        let statuses = [
            (AgentStatus::Working, "working"),
            (AgentStatus::Idle, "idle"),
            (AgentStatus::NeedsInput, "needs_input"),
            (AgentStatus::Exited, "exited"),
            (AgentStatus::Offline, "offline"),
        ];
        for (s, want) in statuses {
            assert_eq!(snake(&s), want);
        }
        let signals = [
            (StatusSignal::Hook, "hook"),
            (StatusSignal::SessionFile, "session_file"),
            (StatusSignal::Screen, "screen"),
            (StatusSignal::Process, "process"),
        ];
        for (s, want) in signals {
            assert_eq!(snake(&s), want);
        }
        assert_eq!(snake(&PhaseOutcome::TimedOut), "timed_out");
        // A status change names the new status, so the UI can retire a needs-input notice.
        let e = event_view(&EngineEvent::AgentStatus {
            agent: "builder".into(),
            status: AgentStatus::NeedsInput,
            signal: StatusSignal::Hook,
            reason: "asks".into(),
        });
        assert_eq!(
            (e.kind.as_str(), e.agent.as_deref(), e.status.as_deref()),
            ("agent_status", Some("builder"), Some("needs_input"))
        );
        assert_eq!(event_view(&EngineEvent::Finished).status, None);
    }

    #[test]
    fn one_notice_per_question() {
        use crate::agents::StatusSignal;
        let status = |agent: &str, status, signal| EngineEvent::AgentStatus {
            agent: agent.into(),
            status,
            signal,
            reason: "Allow edit to src/t-001.sh? [y/n]".into(),
        };
        use AgentStatus::{Idle, NeedsInput, Working};
        use StatusSignal::{Hook, Screen};
        // (event, notified?): the hook's reading, then the screen's of the same question, is one
        // notice; after the answer, a new question is a new notice; other agents are separate.
        let events = [
            (status("builder", NeedsInput, Hook), true),
            (status("builder", NeedsInput, Screen), false),
            (status("designer", NeedsInput, Screen), true),
            (status("builder", Working, Screen), false),
            (status("builder", NeedsInput, Hook), true),
            (status("builder", Idle, Hook), false),
            (status("designer", NeedsInput, Hook), false),
        ];
        let mut asking = BTreeSet::new();
        for (i, (e, want)) in events.iter().enumerate() {
            let got = fresh_notice(&mut asking, e);
            assert_eq!(got.is_some(), *want, "event {i}: {e:?}");
            if let Some(n) = got {
                assert_eq!(n.kind, NoticeKind::NeedsInput);
            }
        }
    }

    #[test]
    fn commands_are_validated() {
        use serde_json::json;
        check(json!({"kind": "runVerify"}), r#"{"command":"run_verify"}"#);
        check(
            json!({"kind": "pauseAgent", "agent": "builder"}),
            r#"{"command":"pause_agent","agent":"builder"}"#,
        );
        check(
            json!({"kind": "restartAgent", "agent": "nobody"}),
            "error: no agent `nobody` (agents: designer, builder)",
        );
        check(
            json!({"kind": "resumeAgent", "agent": ""}),
            "error: no agent `` (agents: designer, builder)",
        );
        check(
            json!({"kind": "retry", "phase": "build(1)"}),
            r#"{"command":"retry","phase":{"phase":"build","batch":1}}"#,
        );
        check(
            json!({"kind": "markComplete", "phase": "design(2)", "passed": true}),
            r#"{"command":"mark_complete","phase":{"phase":"design","batch":2},"passed":true}"#,
        );
        check(
            json!({"kind": "retry", "phase": "verify(1)"}),
            r#"{"command":"retry","phase":{"phase":"verify","sync":1}}"#,
        );
        check(
            json!({"kind": "retry", "phase": "preamble(1)"}),
            r#"{"command":"retry","phase":{"phase":"preamble","index":0}}"#,
        );
        let bad = "error: unknown phase `{}` (write kind(number): design(2), build(1), review(1), fix(1), qa(1), recheck(3), verify(1), preamble(1), plan(2))";
        for phase in [
            "paint(1)",
            "build",
            "build(x)",
            "build(-1)",
            "preamble(0)",
            "",
        ] {
            check(
                json!({"kind": "retry", "phase": phase}),
                &bad.replace("{}", phase),
            );
        }
        assert!(check_json_err(json!({"kind": "explode"})));
    }

    fn check_json_err(v: serde_json::Value) -> bool {
        serde_json::from_value::<LiveCommand>(v).is_err()
    }

    #[test]
    fn labels_round_trip() {
        for text in [
            "design(2)",
            "build(1)",
            "review(3)",
            "fix(1)",
            "qa(2)",
            "recheck(4)",
            "verify(1)",
            "preamble(2)",
            "plan(2)",
        ] {
            assert_eq!(PhaseId::parse_label(text).unwrap().label(), text);
        }
        for bad in ["design", "build(x)", "preamble(0)", "deploy(1)", "review(1"] {
            let e = PhaseId::parse_label(bad).unwrap_err();
            assert!(e.contains(&format!("unknown phase `{bad}`")), "{e}");
        }
    }

    #[test]
    fn titles_name_role_and_command() {
        let cases = [
            (
                AgentProfile::custom(
                    "designer",
                    "/opt/bin/leap demo-agent --role designer",
                    vec![Role::Design, Role::Review],
                ),
                "Designer · leap demo-agent",
            ),
            (
                AgentProfile::custom(
                    "builder",
                    "codex --sandbox workspace-write",
                    vec![Role::Build],
                ),
                "Builder · codex",
            ),
            (AgentProfile::custom("x", "aider", vec![]), "Agent · aider"),
        ];
        for (profile, want) in cases {
            assert_eq!(agent_title(&profile), want);
        }
    }
}
