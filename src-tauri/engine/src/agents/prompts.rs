//! The prompt an agent receives for a phase: a template per phase with `{{variable}}`s, defaults in the
//! seed's words, overridable per project by `.leapfrog/prompts/<phase>.md`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::Role;

/// The phases a prompt is sent for: every role's phase, plus the designer's re-check of a batch whose
/// design may be stale after an earlier batch's review failed (cascade).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptPhase {
    Discovery,
    Requirements,
    Plan,
    Design,
    Build,
    Review,
    Fix,
    Qa,
    Recheck,
}

impl PromptPhase {
    pub const ALL: [PromptPhase; 9] = [
        PromptPhase::Discovery,
        PromptPhase::Requirements,
        PromptPhase::Plan,
        PromptPhase::Design,
        PromptPhase::Build,
        PromptPhase::Review,
        PromptPhase::Fix,
        PromptPhase::Qa,
        PromptPhase::Recheck,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PromptPhase::Discovery => "discovery",
            PromptPhase::Requirements => "requirements",
            PromptPhase::Plan => "plan",
            PromptPhase::Design => "design",
            PromptPhase::Build => "build",
            PromptPhase::Review => "review",
            PromptPhase::Fix => "fix",
            PromptPhase::Qa => "qa",
            PromptPhase::Recheck => "recheck",
        }
    }

    pub fn parse(s: &str) -> Option<PromptPhase> {
        PromptPhase::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The phase a role runs.
    pub fn from_role(role: Role) -> PromptPhase {
        match role {
            Role::Discovery => PromptPhase::Discovery,
            Role::Requirements => PromptPhase::Requirements,
            Role::Plan => PromptPhase::Plan,
            Role::Design => PromptPhase::Design,
            Role::Build => PromptPhase::Build,
            Role::Review => PromptPhase::Review,
            Role::Fix => PromptPhase::Fix,
            Role::Qa => PromptPhase::Qa,
        }
    }

    /// The role that runs this phase (a re-check is design work).
    pub fn role(self) -> Role {
        match self {
            PromptPhase::Discovery => Role::Discovery,
            PromptPhase::Requirements => Role::Requirements,
            PromptPhase::Plan => Role::Plan,
            PromptPhase::Design | PromptPhase::Recheck => Role::Design,
            PromptPhase::Build => Role::Build,
            PromptPhase::Review => Role::Review,
            PromptPhase::Fix => Role::Fix,
            PromptPhase::Qa => Role::Qa,
        }
    }

    /// True for the preamble phases, which have no batch.
    pub fn is_preamble(self) -> bool {
        matches!(
            self,
            PromptPhase::Discovery | PromptPhase::Requirements | PromptPhase::Plan
        )
    }
}

/// The variables a template may use. Missing optional values are an error only if the template uses them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptContext {
    /// The batch the phase is for (none for preamble phases).
    pub batch: Option<u32>,
    /// The agent's id (`{{agent}}`).
    pub agent: String,
    /// The tickets file, relative to the project (`{{tickets_file}}`, default `TICKETS.md`).
    pub tickets_file: String,
    /// The project's verify command (`{{verify_command}}`).
    pub verify_command: String,
    /// How the agent calls Leapfrog (`{{leap}}`, default `leap`).
    pub leap: String,
    /// Ticket ids of the batch, comma separated (`{{tickets}}`), when known.
    pub tickets: Option<String>,
    /// Free notes (`{{notes}}`): the failed review's findings for a fix, the reason for a re-check.
    pub notes: Option<String>,
    /// How to see the batch's diff (`{{diff}}`): the `git diff` of its two recorded refs in a git
    /// project; "the batch's commits" otherwise.
    pub diff: Option<String>,
    /// The phase's context pack, relative to the project (`{{context}}`,
    /// `.leapfrog/context/batch-N/<phase>.md`); the tickets file when there is none.
    pub context: Option<String>,
}

/// The default template of each phase.
pub fn default_template(phase: PromptPhase) -> &'static str {
    match phase {
        PromptPhase::Discovery => "Read the repository and {{tickets_file}}. Do discovery only: write \
what you learn (stack, constraints, open questions) to docs/DISCOVERY.md. Don't design or build yet. \
When done, run `{{leap}} complete --phase discovery`.",
        PromptPhase::Requirements => "Read docs/DISCOVERY.md and {{tickets_file}}. Write the \
requirements to docs/REQUIREMENTS.md. Don't design or build yet. When done, run `{{leap}} complete \
--phase requirements`.",
        PromptPhase::Plan => "Read docs/REQUIREMENTS.md and {{tickets_file}}. Plan the work as batches \
of 2-4 tickets: `## Batch N: <name>` sections in {{tickets_file}}, each ticket a `### T-NNN: <title>` \
heading with `- **Status:** todo`. Don't build. When done, run `{{leap}} complete --phase plan`.",
        PromptPhase::Design => "Read {{tickets_file}}. Design Batch {{batch}} only: write its tickets \
and specs under `## Batch {{batch}}` in {{tickets_file}} (acceptance criteria, files affected) and any \
design notes under docs/. Don't wait for earlier batches to be built. When done, run `{{leap}} handoff \
--batch {{batch}} --tickets <ids> --files <paths>` and print a `## HANDOFF — Batch {{batch}} Ready` block. What this phase needs is in {{context}}.",
        PromptPhase::Build => "Read {{tickets_file}}. Execute Batch {{batch}} only. Commit your work, \
one commit per ticket where you can. Run `{{verify_command}}`. When done, run `{{leap}} complete \
--batch {{batch}} --verify passed|failed --commits <hashes>`, print a `## COMPLETE — Batch {{batch}} \
Done` block, and wait for the next batch. What this phase needs is in {{context}}.",
        PromptPhase::Review => "Review the Batch {{batch}} diff ({{diff}}) against its tickets in {{tickets_file}}. \
Only review: don't edit source files. When done, run `{{leap}} complete --batch {{batch}} --phase review \
--verify passed|failed` (failed if anything must be fixed, with the findings in your reply). If you \
cannot run commands, end your reply with a `## COMPLETE — Batch {{batch}} Done` block holding a \
`Verify: PASSED` or `Verify: FAILED` line instead. What this phase needs is in {{context}}.",
        PromptPhase::Fix => "Fix Batch {{batch}}: its review failed. Findings: {{notes}}. Fix \
this batch only and commit. Run `{{verify_command}}`. When done, run `{{leap}} complete --batch {{batch}} \
--phase fix --verify passed|failed --commits <hashes>`. What this phase needs is in {{context}}.",
        PromptPhase::Qa => "QA Batch {{batch}}: exercise what its tickets in {{tickets_file}} deliver, \
as a user would. Don't edit source files. When done, run `{{leap}} complete --batch {{batch}} --phase \
qa --verify passed|failed`. What this phase needs is in {{context}}.",
        PromptPhase::Recheck => "Re-check the design of Batch {{batch}} in {{tickets_file}}: an earlier \
batch's review failed ({{notes}}). Update Batch {{batch}}'s tickets if they relied on what failed. When \
done, run `{{leap}} handoff --batch {{batch}} --tickets <ids>`. What this phase needs is in {{context}}.",
    }
}

/// The variables templates may use.
pub const VARIABLES: [&str; 9] = [
    "batch",
    "agent",
    "tickets_file",
    "verify_command",
    "leap",
    "tickets",
    "notes",
    "diff",
    "context",
];

/// A set of templates: the defaults, with a project's overrides on top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptTemplates {
    templates: BTreeMap<PromptPhase, String>,
}

impl Default for PromptTemplates {
    fn default() -> Self {
        PromptTemplates {
            templates: PromptPhase::ALL
                .into_iter()
                .map(|p| (p, default_template(p).to_string()))
                .collect(),
        }
    }
}

impl PromptTemplates {
    /// The defaults with the project's overrides: `<project>/.leapfrog/prompts/<phase>.md` for any phase
    /// (`design.md`, `build.md`, ...). An override that uses an unknown variable is an error naming the file.
    pub fn for_project(project_dir: &Path) -> Result<PromptTemplates, String> {
        let mut t = PromptTemplates::default();
        let dir = project_dir.join(".leapfrog").join("prompts");
        for phase in PromptPhase::ALL {
            let path = dir.join(format!("{}.md", phase.as_str()));
            match std::fs::read_to_string(&path) {
                Ok(text) => t
                    .set(phase, text.trim_end())
                    .map_err(|e| format!("{}: {e}", path.display()))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
        Ok(t)
    }

    /// Replaces one phase's template after checking its variables.
    pub fn set(&mut self, phase: PromptPhase, template: &str) -> Result<(), String> {
        for var in variables_of(template)? {
            if !VARIABLES.contains(&var.as_str()) {
                return Err(format!(
                    "unknown variable {{{{{var}}}}} (known: {})",
                    VARIABLES.join(", ")
                ));
            }
        }
        self.templates.insert(phase, template.to_string());
        Ok(())
    }

    pub fn template(&self, phase: PromptPhase) -> &str {
        &self.templates[&phase]
    }

    /// Renders the phase's prompt. Errors (one line) when a variable it uses has no value.
    pub fn render(&self, phase: PromptPhase, ctx: &PromptContext) -> Result<String, String> {
        render(self.template(phase), ctx).map_err(|e| format!("{} prompt: {e}", phase.as_str()))
    }
}

fn variables_of(template: &str) -> Result<Vec<String>, String> {
    let mut vars = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else {
            return Err("unclosed {{ in template".into());
        };
        vars.push(after[..j].trim().to_string());
        rest = &after[j + 2..];
    }
    Ok(vars)
}

/// Renders one template: `{{name}}` is replaced by the variable's value.
pub fn render(template: &str, ctx: &PromptContext) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let j = after
            .find("}}")
            .ok_or_else(|| "unclosed {{ in template".to_string())?;
        let name = after[..j].trim();
        let value = match name {
            "batch" => ctx.batch.map(|b| b.to_string()),
            "agent" => Some(ctx.agent.clone()),
            "tickets_file" => Some(or_default(&ctx.tickets_file, "TICKETS.md")),
            "verify_command" => Some(or_default(
                &ctx.verify_command,
                "the project's verify command",
            )),
            "leap" => Some(or_default(&ctx.leap, "leap")),
            "tickets" => ctx.tickets.clone(),
            "notes" => ctx.notes.clone(),
            "diff" => Some(
                ctx.diff
                    .clone()
                    .unwrap_or_else(|| "the batch's commits".to_string()),
            ),
            "context" => Some(
                ctx.context
                    .clone()
                    .unwrap_or_else(|| or_default(&ctx.tickets_file, "TICKETS.md")),
            ),
            other => return Err(format!("unknown variable {{{{{other}}}}}")),
        };
        let value = value.ok_or_else(|| format!("no value for {{{{{name}}}}}"))?;
        out.push_str(&value);
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn or_default(v: &str, d: &str) -> String {
    if v.is_empty() {
        d.to_string()
    } else {
        v.to_string()
    }
}

/// What a prompt asks for, as read back from its text: the phase and the batch.
///
/// Understands the default templates and prompts in the seed's words ("Execute Batch 1",
/// "Design Batch 2", "Review the Batch 1 diff", "Fix Batch 3", "QA Batch 1", "Re-check ... Batch 4").
/// The first phase word that a batch number follows in the same sentence wins. Preamble phases
/// (discovery, requirements, plan) are recognised by `--phase <name>` or a "Do `<phase>`" opening.
pub fn parse_prompt(text: &str) -> Option<(PromptPhase, Option<u32>)> {
    use std::sync::OnceLock;
    static BATCH: OnceLock<regex::Regex> = OnceLock::new();
    static PREAMBLE: OnceLock<regex::Regex> = OnceLock::new();
    let batch = BATCH.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b(design|execute|build|review|fix|qa|re-?check)\b[^.\n]*?\bbatch\s+(\d+)",
        )
        .expect("regex")
    });
    let preamble = PREAMBLE.get_or_init(|| {
        regex::Regex::new(r"(?i)(?:--phase\s+|\bdo\s+)(discovery|requirements|plan)\b")
            .expect("regex")
    });
    if let Some(c) = batch.captures(text) {
        let phase = match c[1].to_lowercase().replace('-', "").as_str() {
            "design" => PromptPhase::Design,
            "execute" | "build" => PromptPhase::Build,
            "review" => PromptPhase::Review,
            "fix" => PromptPhase::Fix,
            "qa" => PromptPhase::Qa,
            _ => PromptPhase::Recheck,
        };
        return Some((phase, c[2].parse().ok()));
    }
    preamble
        .captures(text)
        .and_then(|c| PromptPhase::parse(&c[1].to_lowercase()))
        .map(|p| (p, None))
}
