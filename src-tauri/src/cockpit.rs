//! Which agents the cockpit shows. Until agents run for real, each pane runs the login shell
//! and is titled by the agent it will become.

use crate::dto::PaneInfo;
use leapfrog_engine::agents::cli_id;
use leapfrog_engine::model::{CliKind, Role};
use leapfrog_engine::views::role_noun;

/// One agent of the cockpit: its role and the CLI it will run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentSpec {
    pub role: Role,
    pub cli: CliKind,
}

/// Designer on Claude Code, Builder on Codex: the seed's Leapfrog pattern.
pub fn default_agents() -> Vec<AgentSpec> {
    vec![
        AgentSpec {
            role: Role::Design,
            cli: CliKind::ClaudeCode,
        },
        AgentSpec {
            role: Role::Build,
            cli: CliKind::Codex,
        },
    ]
}

/// The CLI kind a user typed: its short name (`claude`) or its serde name (`claude-code`).
fn parse_cli(s: &str) -> Option<CliKind> {
    CliKind::ALL.into_iter().find(|&c| {
        cli_id(c) == s
            || serde_json::to_value(c)
                .ok()
                .as_ref()
                .and_then(|v| v.as_str())
                == Some(s)
    })
}

/// Parses `role:cli,role:cli` (e.g. `design:claude,build:codex,review:claude`), the value of
/// `LEAPFROG_AGENTS`.
pub fn parse_agents(text: &str) -> Result<Vec<AgentSpec>, String> {
    let mut agents = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (role, cli) = item.split_once(':').ok_or_else(|| {
            format!("agent `{item}` must be written role:cli, e.g. design:claude")
        })?;
        let role = Role::parse(role.trim()).ok_or_else(|| {
            let known: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            format!(
                "unknown role `{}` (known: {})",
                role.trim(),
                known.join(", ")
            )
        })?;
        let cli =
            parse_cli(cli.trim()).ok_or_else(|| format!("unknown agent CLI `{}`", cli.trim()))?;
        agents.push(AgentSpec { role, cli });
    }
    if agents.is_empty() {
        return Err("no agents given".to_string());
    }
    Ok(agents)
}

/// The panes for `agents`: ids are the lower-case role nouns, numbered when a role repeats.
pub fn panes(agents: &[AgentSpec], program: &str) -> Vec<PaneInfo> {
    let mut out: Vec<PaneInfo> = Vec::new();
    for a in agents {
        let noun = role_noun(a.role);
        let base = noun.to_lowercase();
        let same = agents.iter().filter(|b| b.role == a.role).count();
        let id = if same > 1 {
            let n = out.iter().filter(|p| p.role == a.role.as_str()).count() + 1;
            format!("{base}-{n}")
        } else {
            base
        };
        out.push(PaneInfo {
            title: format!("{noun} · {}", cli_id(a.cli)),
            id,
            role: a.role.as_str().to_string(),
            agent_command: cli_id(a.cli).to_string(),
            program: program.to_string(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let got = match parse_agents(input) {
            Ok(agents) => panes(&agents, "bash")
                .iter()
                .map(|p| format!("{} [{}] {}", p.id, p.role, p.title))
                .collect::<Vec<_>>()
                .join("\n"),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expect, "input: {input}");
    }

    #[test]
    fn agents_from_text() {
        check(
            "design:claude,build:codex",
            "designer [design] Designer · claude\nbuilder [build] Builder · codex",
        );
        check(
            " design:claude-code , build:codex, review:claude ",
            "designer [design] Designer · claude\nbuilder [build] Builder · codex\nreviewer [review] Reviewer · claude",
        );
        check(
            "build:codex,build:aider",
            "builder-1 [build] Builder · codex\nbuilder-2 [build] Builder · aider",
        );
        check(
            "design",
            "error: agent `design` must be written role:cli, e.g. design:claude",
        );
        check("painter:claude", "error: unknown role `painter` (known: discovery, requirements, plan, design, build, review, fix, qa)");
        check("design:vim", "error: unknown agent CLI `vim`");
        check(" , ", "error: no agents given");
    }

    #[test]
    fn default_cockpit_is_designer_and_builder() {
        let titles: Vec<String> = panes(&default_agents(), "zsh")
            .into_iter()
            .map(|p| p.title)
            .collect();
        assert_eq!(titles, ["Designer · claude", "Builder · codex"]);
    }
}
