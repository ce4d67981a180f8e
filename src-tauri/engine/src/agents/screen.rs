//! A status detector over the agent's screen: what its screen mirror shows, as plain text.
//!
//! Pure: `(cli, screen text, time since the screen last changed) -> status`. The phrases come from the
//! real CLIs' screens (captured from Claude Code 2.1, Codex 0.171, Gemini CLI 0.61 and OpenCode 1.18
//! in tmux; see
//! `tests/agents_screens/`). Order of the checks: a dialog that waits for a human (needs input) beats a
//! busy marker (working), which beats an idle prompt; with no marker at all, a screen that changed in
//! the last [`QUIET`] is taken as working, else idle (for CLIs with a reliable busy marker, an
//! empty prompt without it is idle at once).

use std::time::Duration;

use super::status::{AgentStatus, StatusObservation, StatusSignal};
use crate::model::CliKind;

/// How long a screen with no marker must stay unchanged before it counts as idle.
pub const QUIET: Duration = Duration::from_secs(3);

/// How many non-blank lines, from the bottom, the detector reads. Dialogs and status bars live at
/// the bottom; older conversation text above could quote any phrase.
const TAIL_LINES: usize = 24;

/// Phrases (lower case) of dialogs that wait for a human, per CLI, each with what the CLI wants in
/// words the pane shows.
fn needs_input_phrases(cli: CliKind) -> &'static [(&'static str, &'static str)] {
    match cli {
        CliKind::ClaudeCode => &[
            (
                "do you want to proceed?",
                "asks permission to run a command",
            ),
            (
                "do you want to make this edit",
                "asks permission to edit a file",
            ),
            ("do you want to create", "asks permission to create a file"),
            (
                "do you want to use this api key?",
                "asks whether to use the API key in its environment",
            ),
            (
                "is this a project you created or one you trust",
                "asks whether you trust this folder",
            ),
            (
                "do you trust the files in this folder",
                "asks whether you trust this folder",
            ),
            ("select login method", "wants you to sign in"),
            (
                "enter to confirm · esc to cancel",
                "shows a dialog to confirm",
            ),
            // Claude Code 2.1.332: the auto-mode billing notice on a custom API endpoint.
            (
                "enter to continue · esc to cancel",
                "shows a notice to continue past",
            ),
            ("paste code here if prompted", "waits for a sign-in code"),
            (
                "choose the text style",
                "runs its first-start setup (text style)",
            ),
            ("press enter to continue", "shows a notice to continue past"),
        ],
        CliKind::Codex => &[
            (
                "would you like to run the following command?",
                "asks approval to run a command",
            ),
            (
                "would you like to make the following edits?",
                "asks approval to edit files",
            ),
            ("allow command?", "asks approval to run a command"),
            ("trust this folder?", "asks whether you trust this folder"),
            ("sign in with chatgpt", "wants you to sign in"),
            ("paste or type your api key", "wants an API key"),
            ("press enter to continue", "shows a notice to continue past"),
            (
                "press enter to confirm or esc to cancel",
                "shows a dialog to confirm",
            ),
            // Codex 0.171 near its usage limit: Enter would switch the model (and drop a prompt).
            (
                "approaching rate limits",
                "offers to switch to a cheaper model near its limit",
            ),
        ],
        CliKind::Aider => &[
            ("(y)es/(n)o", "asks a yes/no question"),
            (
                "open documentation url for more info?",
                "asks whether to open its documentation",
            ),
        ],
        CliKind::Gemini => &[
            (
                "waiting for user confirmation",
                "asks approval for a tool call",
            ),
            ("allow execution", "asks approval to run a command"),
            (
                "do you trust the files in this folder?",
                "asks whether you trust this folder",
            ),
            ("how would you like to authenticate", "wants you to sign in"),
            ("apply this change?", "asks approval to edit a file"),
            ("enter gemini api key", "wants an API key"),
        ],
        CliKind::Opencode => &[
            ("permission required", "asks permission for a tool call"),
            ("allow once", "asks permission for a tool call"),
        ],
        CliKind::Custom => &[],
    }
}

/// Phrases shown by every CLI that waits for a yes/no.
const GENERIC_NEEDS_INPUT: [&str; 4] = ["(y/n)", "[y/n]", "[y/n]:", "press any key"];

/// Busy markers (lower case) per CLI.
fn working_phrases(cli: CliKind) -> &'static [&'static str] {
    match cli {
        CliKind::ClaudeCode => &["esc to interrupt"],
        CliKind::Codex => &["esc to interrupt"],
        CliKind::Gemini => &["esc to cancel"],
        CliKind::Opencode => &["esc interrupt", "esc to interrupt", "[retrying"],
        CliKind::Aider => &["waiting for ", "thinking"],
        // `leap demo-agent` and most TUIs that copy Claude Code's status line.
        CliKind::Custom => &["esc to interrupt", "esc to cancel"],
    }
}

/// Does a line look like the CLI's empty input prompt?
fn is_idle_prompt(cli: CliKind, line: &str) -> bool {
    let t = line.trim_matches(|c: char| c.is_whitespace() || c == '│' || c == '|');
    match cli {
        CliKind::ClaudeCode => t == "❯" || t == ">" || t.starts_with("❯ ") || t.starts_with("> "),
        CliKind::Codex => t.starts_with('›') || t.starts_with("▌"),
        CliKind::Aider => t.ends_with('>') && t.len() <= 40,
        CliKind::Gemini => t.starts_with("> ") || t == ">",
        CliKind::Opencode => t.starts_with('>') || t.starts_with('┃'),
        CliKind::Custom => t.starts_with('❯') || t.starts_with('>') || t.starts_with('›'),
    }
}

/// The status the screen shows. `unchanged_for` is the time since the screen last changed.
pub fn detect_screen_status(
    cli: CliKind,
    screen: &str,
    unchanged_for: Duration,
) -> StatusObservation {
    let tail: Vec<&str> = {
        let mut lines: Vec<&str> = screen
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty())
            .collect();
        let start = lines.len().saturating_sub(TAIL_LINES);
        lines.drain(..start);
        lines
    };
    let lower: Vec<String> = tail.iter().map(|l| l.to_lowercase()).collect();
    let obs = |s, why: String| StatusObservation::new(s, StatusSignal::Screen, why);
    let find = |phrases: &[&str]| -> Option<String> {
        lower.iter().find_map(|l| {
            phrases
                .iter()
                .find(|p| l.contains(**p))
                .map(|p| p.to_string())
        })
    };
    let dialog = lower.iter().find_map(|l| {
        needs_input_phrases(cli)
            .iter()
            .find(|(p, _)| l.contains(*p))
    });
    if let Some((p, what)) = dialog {
        return obs(
            AgentStatus::NeedsInput,
            format!(
                "{} {what}: answer in its pane (screen shows \"{p}\")",
                super::cli_display_name(cli)
            ),
        );
    }
    if let Some(p) = find(&GENERIC_NEEDS_INPUT) {
        return obs(
            AgentStatus::NeedsInput,
            format!("waits for an answer in its pane (screen shows \"{p}\")"),
        );
    }
    if let Some(p) = find(working_phrases(cli)) {
        return obs(AgentStatus::Working, format!("screen shows \"{p}\""));
    }
    // CLIs whose busy marker is reliable are idle as soon as their prompt shows without it; for the
    // others (aider, custom commands) a changing screen means work.
    let reliable_marker = matches!(
        cli,
        CliKind::ClaudeCode | CliKind::Codex | CliKind::Gemini | CliKind::Opencode
    );
    let prompt = tail.iter().any(|l| is_idle_prompt(cli, l));
    if reliable_marker && prompt {
        return obs(AgentStatus::Idle, "prompt is waiting".into());
    }
    if unchanged_for < QUIET {
        return obs(AgentStatus::Working, "screen is changing".into());
    }
    if prompt {
        return obs(AgentStatus::Idle, "prompt is waiting".into());
    }
    if tail.is_empty() {
        return obs(AgentStatus::Idle, "screen is blank".into());
    }
    obs(
        AgentStatus::Idle,
        format!("screen unchanged for {}s", unchanged_for.as_secs()),
    )
}
