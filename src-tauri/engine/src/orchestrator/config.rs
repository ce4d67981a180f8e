//! A project's `.leapfrog/project.json` and the scheduler [`Plan`] it makes with TICKETS.md.
//!
//! ```json
//! {"name": "leapfrog-demo", "tickets": "TICKETS.md", "verify": "sh verify.sh",
//!  "pattern": "leapfrog", "lookahead": 1, "sync_every": 2,
//!  "preamble": ["discovery", "plan"],            (optional, default none)
//!  "priority": "interleave",                      (optional, default: the pattern's)
//!  "agents": [{"id": "designer", "cli": "custom", "command": "leap demo-agent --role designer",
//!              "roles": ["design", "review"]}, ...]}
//! ```

use std::path::{Path, PathBuf};

use crate::scheduler::{AgentSpec, BatchSpec, Plan, PreambleSpec, PriorityRule};
use crate::tickets::Document;

/// `.leapfrog/project.json`: the one struct that reads and writes it
/// ([`crate::project::ProjectFile`]), seen by a run.
pub type ProjectConfig = crate::project::ProjectFile;

/// The config file of a project directory.
pub fn config_path(project_dir: &Path) -> PathBuf {
    project_dir.join(".leapfrog").join("project.json")
}

impl crate::project::ProjectFile {
    /// The git settings when batches are on branches.
    pub fn branches(&self) -> Option<&crate::git::GitSettings> {
        self.git.as_ref().filter(|g| g.branches)
    }

    /// Reads and checks `<dir>/.leapfrog/project.json` for a run. Errors are one line naming the
    /// file; a missing file is one too.
    pub fn load_checked(project_dir: &Path) -> Result<ProjectConfig, String> {
        let path = config_path(project_dir);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "cannot read {}: {e} (is {} a Leapfrog project? `leap demo init DIR` makes one)",
                path.display(),
                project_dir.display()
            )
        })?;
        let config: ProjectConfig = serde_json::from_str(&text)
            .map_err(|e| format!("{}: {e}", path.display()).replace('\n', " "))?;
        if config.agents.is_empty() {
            return Err(format!("{}: no agents", path.display()));
        }
        for a in &config.agents {
            a.validate()
                .map_err(|e| format!("{}: agent {}: {e}", path.display(), a.id))?;
        }
        if let Some(p) = &config.priority {
            if PriorityRule::parse(p).is_none() {
                return Err(format!("{}: unknown priority {p:?}", path.display()));
            }
        }
        Ok(config)
    }

    /// The verify command, if any (blank counts as none).
    pub fn verify_command(&self) -> Option<&str> {
        self.verify.as_deref().filter(|c| !c.trim().is_empty())
    }

    /// The scheduler's plan: these agents, the batches of the tickets document in its order.
    pub fn plan(&self, tickets: &Document) -> Plan {
        Plan {
            agents: self
                .agents
                .iter()
                .map(|a| AgentSpec::new(&a.id, &a.roles))
                .collect(),
            preamble: self
                .preamble
                .iter()
                .map(|r| PreambleSpec {
                    role: *r,
                    estimate: None,
                })
                .collect(),
            batches: tickets
                .batches
                .iter()
                .map(|b| BatchSpec {
                    qa: self.qa,
                    builds_after: self.builds_after.get(&b.number).cloned(),
                    ..BatchSpec::new(b.number)
                })
                .collect(),
            lookahead: self.lookahead,
            sync_every: self.sync_every,
            verify: self.verify_command().is_some(),
            verify_estimate: None,
            recheck_tasks: true,
            recheck_estimate: None,
            priority: self
                .priority
                .as_deref()
                .and_then(PriorityRule::parse)
                .unwrap_or(PriorityRule::default_for(self.pattern)),
            // rule 9: TICKETS.md's `# Milestone N` headings group the batches; `plan(m)` plans
            // milestone m while milestone m-1 is built.
            milestones: tickets
                .milestones()
                .iter()
                .map(|m| crate::scheduler::MilestoneSpec {
                    batches: m.batches.len() as u32,
                    plan_estimate: None,
                })
                .collect(),
        }
    }
}
