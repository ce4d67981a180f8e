//! `leap init DIR`: the setup wizard's twin for scripts (same detection, same defaults: engine::project).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use leapfrog_engine::model::Pattern;
use leapfrog_engine::project::{self, DetectOptions, SetupPlan, SetupReport, TicketsAction};
use leapfrog_engine::service::{ServiceClient, ServicePaths, ServiceStore};
use leapfrog_engine::store::{SledStore, Store, StoreError};

#[derive(Clone, Copy, ValueEnum)]
pub enum PatternArg {
    Leapfrog,
    Pipeline,
    Specialist,
}

#[derive(Args)]
pub struct InitArgs {
    /// The project folder (created if missing).
    pub dir: PathBuf,
    /// Orchestration pattern: leapfrog and pipeline run a designer {discovery, requirements, plan,
    /// design, review, qa} and a builder {build, fix}; specialist splits designer, reviewer and builder.
    #[arg(long, value_enum)]
    pub pattern: Option<PatternArg>,
    /// Put a command on an agent: ROLE is a slot (designer, builder, reviewer) or a role name (design,
    /// build, review, qa, ...: the agent that has it). A known CLI (`claude`, `codex --sandbox workspace-write`) runs
    /// with Leapfrog's integration, anything else as a custom command line. Repeatable.
    #[arg(long = "agent", value_name = "ROLE=COMMAND")]
    pub agents: Vec<String>,
    /// The verify command run at sync points (default: detected from the repository).
    #[arg(long)]
    pub verify: Option<String>,
    /// Batches the designer may run ahead of the last accepted one (0 = no limit).
    #[arg(long)]
    pub lookahead: Option<u32>,
    /// Run a sync point after every N accepted batches (0 = only at the end).
    #[arg(long)]
    pub sync_every: Option<u32>,
    /// Add a QA phase for every batch once its review passes (an agent with the qa role runs it).
    #[arg(long)]
    pub qa: bool,
    /// Do not run `git init` when the folder is not in a git repository.
    #[arg(long)]
    pub no_git: bool,
    /// Print the plan and the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: InitArgs) -> Result<ExitCode, String> {
    if !args.dir.exists() {
        std::fs::create_dir_all(&args.dir)
            .map_err(|e| format!("cannot create {}: {e}", args.dir.display()))?;
    }
    let mut plan = project::inspect(&args.dir, &DetectOptions::default()).map_err(|e| e.0)?;
    if let Some(p) = args.pattern {
        plan.set_pattern(match p {
            PatternArg::Leapfrog => Pattern::Leapfrog,
            PatternArg::Pipeline => Pattern::Pipeline,
            PatternArg::Specialist => Pattern::Specialist,
        });
    }
    for a in &args.agents {
        let (key, command) = a
            .split_once('=')
            .ok_or_else(|| format!("--agent {a:?}: write ROLE=COMMAND, e.g. builder=codex"))?;
        project::assign_agent(&mut plan, key, command).map_err(|e| e.0)?;
    }
    if let Some(v) = &args.verify {
        plan.set_verify(v);
    }
    if let Some(n) = args.lookahead {
        plan.lookahead = (n > 0).then_some(n);
    }
    if let Some(n) = args.sync_every {
        plan.sync_every = Some(n);
    }
    if args.qa {
        plan.qa = true;
    }
    if args.no_git {
        plan.git_init = false;
    }
    let (store, store_note) = open_store();
    let report = project::finish(&plan, store.as_ref().map(|(s, _)| &**s)).map_err(|e| e.0)?;
    // The user chose these commands here: approve them, so the first run does not ask again.
    let store_note = match crate::trust::approve_written(&plan.dir) {
        Ok(()) => store_note,
        Err(e) => Some(
            [
                store_note,
                Some(format!("commands not approved ({e}); run `leap trust`")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; "),
        ),
    };
    if args.json {
        let out = serde_json::json!({ "plan": plan, "report": report, "note": store_note });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        print_report(
            &plan,
            &report,
            store_note.as_deref(),
            store.as_ref().map(|(_, at)| at.as_str()),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A store to register the project in, and where it is (for the report).
type Registry = (Box<dyn Store>, String);

/// The store to register the project in, and where it is (for the report): the database, or,
/// while a running Leapfrog service holds it, that service's store through its socket (the app
/// holding it: the project is listed when the app opens it).
fn open_store() -> (Option<Registry>, Option<String>) {
    let locked = match SledStore::open_default() {
        Ok(s) => {
            let at = s.path().display().to_string();
            return (Some((Box::new(s), at)), None);
        }
        Err(e @ StoreError::AlreadyRunning { .. }) => e,
        Err(e) => {
            return (
                None,
                Some(format!("not registered in the project list: {e}")),
            )
        }
    };
    match ServiceClient::connect(&ServicePaths::for_user()) {
        Ok(client) => {
            let at = format!("the Leapfrog service's store (pid {})", client.pid);
            (
                Some((Box::new(ServiceStore::new(Arc::new(client))), at)),
                None,
            )
        }
        Err(_) => (
            None,
            Some(format!("not registered in the project list: {locked}")),
        ),
    }
}

fn print_report(plan: &SetupPlan, r: &SetupReport, note: Option<&str>, db: Option<&str>) {
    println!("Leapfrog project ready in {}", plan.dir.display());
    if r.git_initialised {
        println!("  git: initialised a new repository");
    } else if let Some(root) = &plan.git.root {
        println!("  git: repository at {}", root.display());
    } else {
        println!("  git: not a repository (leap init without --no-git runs git init)");
    }
    let pattern = match plan.pattern {
        Pattern::Leapfrog => "leapfrog",
        Pattern::Pipeline => "pipeline",
        Pattern::Specialist => "specialist",
    };
    let look = plan
        .lookahead
        .map(|n| format!("lookahead {n}"))
        .unwrap_or_else(|| "no lookahead limit".into());
    let sync = match plan.sync_every {
        Some(n) if n > 0 => format!("sync point every {n} batches"),
        _ => "sync point at the end only".into(),
    };
    let qa = if plan.qa {
        " · QA after each review"
    } else {
        ""
    };
    println!("  pattern: {pattern} · {look} · {sync}{qa}");
    for a in &plan.agents {
        let roles: Vec<&str> = a.roles.iter().map(|r| r.as_str()).collect();
        let found = plan.detected.iter().find(|d| d.cli == a.cli);
        let state = match (
            a.command.is_some() || a.cli == leapfrog_engine::model::CliKind::Custom,
            found,
        ) {
            (true, _) => "command given".to_string(),
            (false, Some(d)) if d.path.is_some() => {
                d.version.clone().unwrap_or_else(|| "installed".into())
            }
            _ => "not installed".to_string(),
        };
        let cmd = match (&a.command, a.args.is_empty()) {
            (Some(c), true) => c.clone(),
            (Some(c), false) => format!("{c} {}", a.args.join(" ")),
            (None, _) => {
                let mut w = vec![leapfrog_engine::agents::default_program(a.cli)
                    .unwrap_or("?")
                    .to_string()];
                w.extend(a.args.iter().cloned());
                w.join(" ")
            }
        };
        println!(
            "  agent {}: {} `{cmd}` ({state}) [{}]",
            a.id,
            a.cli.as_str(),
            roles.join(", ")
        );
    }
    match (&plan.verify, &plan.verify_source) {
        (Some(v), Some(s)) if s != "user" => println!("  verify: {v} (from {s})"),
        (Some(v), _) => println!("  verify: {v}"),
        (None, _) => println!("  verify: none (give one with --verify CMD)"),
    }
    let t = &r.tickets;
    let what = match t.action {
        TicketsAction::Create => "created",
        TicketsAction::Adopt => "adopted as it is",
    };
    println!(
        "  {}: {what} ({}, {}{})",
        t.path,
        count(t.batches, "batch", "batches"),
        count(t.tickets, "ticket", "tickets"),
        if t.warnings.is_empty() {
            String::new()
        } else {
            format!(", {} warnings", t.warnings.len())
        }
    );
    println!("  project file: {}", r.project_file.display());
    match (note, db) {
        (Some(n), _) => println!("  {n}"),
        (None, Some(db)) => println!("  registered as {} in {db}", r.project.id),
        (None, None) => {}
    }
    for w in &plan.warnings {
        println!("  note: {w}");
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
