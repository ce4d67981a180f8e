//! `leap`: the command line of Leapfrog. Every subcommand is a thin client of the engine.

mod attach;
mod control_cmds;
mod demo;
mod demo_agent;
mod diff;
mod handoff;
mod init;
mod run;
mod serve;
mod simulate;
mod start;
mod tickets;
mod trust;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "leap", version, about = "Leapfrog from the command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate the pipeline scheduler over a workload file and print the schedule.
    Simulate(simulate::SimulateArgs),
    /// Read and edit a TICKETS.md (batches and tickets).
    #[command(subcommand)]
    Tickets(tickets::TicketsCmd),
    /// Hand a designed batch to the builders (`--batch N --tickets …`), or read the
    /// HANDOFF / COMPLETE messages in agent output (`leap handoff parse FILE`).
    Handoff(HandoffCli),
    /// Report to the running app that a phase is done (agents run this when they finish).
    Complete(control_cmds::CompleteArgs),
    /// Show the running project's agents and batches.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Review a batch whose review is running: `--approve`, or `--request-changes` with
    /// `--comment FILE:LINE:TEXT` (repeatable); the comments go together into the fix prompt.
    Review(control_cmds::ReviewArgs),
    /// Run the project's verify command in the app now.
    Verify {
        /// Print JSON instead of a line.
        #[arg(long)]
        json: bool,
    },
    /// Relay an agent CLI's hook to the app (run by the CLIs, not by hand).
    ///
    /// The hook's JSON comes on stdin, or as the last argument (Codex's notify). Does nothing outside
    /// Leapfrog (LEAPFROG_SOCKET unset); always exits 0 and prints nothing on stdout, so it never
    /// disturbs the CLI that runs it.
    Hook {
        /// The event: prompt-submit, stop, notification, codex-notify, aider-notify, ...
        event: String,
        /// The hook's JSON, when the CLI passes it as an argument (Codex) rather than on stdin.
        /// Further arguments are ignored, so that no CLI's calling convention can make the hook fail.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        payload: Vec<String>,
    },
    /// The agent CLIs installed on PATH, their versions, and the command line Leapfrog would run.
    Agents {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// How long each `--version` may take, in milliseconds (they run in parallel; Gemini CLI
        /// takes 4.5-6 s to answer).
        #[arg(long, default_value_t = 10000)]
        timeout_ms: u64,
    },
    /// Set up a project in DIR: detect git, agent CLIs and the verify command, create or adopt
    /// TICKETS.md (never overwritten), write .leapfrog/project.json, register it.
    Init(init::InitArgs),
    /// Open the app on a project, reusing the running window.
    Start {
        /// The project folder.
        project: PathBuf,
    },
    /// Run a project's pipeline without a window and print the summary: in the Leapfrog service
    /// (agents outlive this command), or in this process with --headless.
    Run(run::RunArgs),
    /// The engine as this user's service: it owns every run and agent, so they outlive the
    /// window and `leap run`; started on demand, exits when idle.
    Serve(serve::ServeArgs),
    /// An agent's terminal from the Leapfrog service in this terminal: its screen and scrollback,
    /// then its live output; what you type goes to the agent. Ctrl+\ detaches.
    Attach(attach::AttachArgs),
    /// Show the commands a project runs (agents, verify) and approve them on this machine.
    ///
    /// A project's commands run only once this user approved them; a cloned folder runs nothing
    /// until then. On a terminal this asks; `--yes` approves without asking.
    Trust {
        /// The project folder.
        project: PathBuf,
        /// Approve without asking.
        #[arg(long)]
        yes: bool,
        /// Print JSON (the commands, whether approved) instead of text; never asks.
        #[arg(long)]
        json: bool,
    },
    /// Print a batch's diff: the changes between the commits recorded when its build (or, after
    /// a failed review, its latest fix) started and when it completed.
    Diff(diff::DiffArgs),
    /// A scripted stand-in for an AI coding CLI, for demos and tests.
    DemoAgent(demo_agent::DemoAgentArgs),
    /// The demo project.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
}

/// `leap handoff`: either a report to the app, or a reader of captured output.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct HandoffCli {
    #[command(subcommand)]
    read: Option<handoff::HandoffCommand>,
    #[command(flatten)]
    report: Option<control_cmds::HandoffArgs>,
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Create the demo project in DIR: a git repository with TICKETS.md, verify.sh and
    /// .leapfrog/project.json running two demo agents.
    Init {
        dir: PathBuf,
        /// How the project's agents call leap (default: this `leap`, by its absolute path, so the
        /// agents find it whether or not it is on PATH).
        #[arg(long)]
        leap: Option<String>,
    },
}

/// Prints an engine error on one line: the error and those of its causes that say something new
/// (an error that wraps its cause with `{0}` would otherwise say it twice).
fn one_line(e: anyhow::Error) -> ExitCode {
    eprintln!("leap: {}", error_line(&e));
    ExitCode::FAILURE
}

fn error_line(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string().replace('\n', " ");
        if msg.contains(text.trim()) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(text.trim());
    }
    msg
}

/// A usage error of clap in `leap`'s form: `leap: <what is wrong>` on one line, then at most one
/// line of usage.
fn usage_error(e: &clap::Error) -> String {
    let text = e.to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut what = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error:")
        .trim()
        .to_string();
    // "the following required arguments were not provided:" names them on the next line.
    if what.ends_with(':') {
        if let Some(next) = lines.next().filter(|l| !l.starts_with("Usage:")) {
            what = format!("{what} {next}");
        }
    }
    let usage = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("Usage:"))
        .map(|u| format!("\n{u}"))
        .unwrap_or_default();
    format!("leap: {what}{usage}")
}

fn done(result: anyhow::Result<()>) -> Result<ExitCode, String> {
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => Ok(one_line(e)),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A hook must never fail its CLI: Claude Code blocks the prompt when a UserPromptSubmit
        // hook exits 2, which is clap's usage-error code.
        Err(e) if std::env::args().nth(1).as_deref() == Some("hook") => {
            eprintln!("leap: {}", e.kind());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            use clap::error::ErrorKind;
            // Help and version are not errors; they print as clap writes them.
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            eprintln!("{}", usage_error(&e));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Simulate(args) => done(simulate::run(args)),
        Command::Tickets(cmd) => done(tickets::run(cmd)),
        Command::Handoff(HandoffCli {
            read: Some(command),
            ..
        }) => done(handoff::run(command)),
        Command::Handoff(HandoffCli {
            report: Some(args), ..
        }) => control_cmds::handoff(args),
        Command::Handoff(_) => {
            Err("handoff needs --batch N --tickets …, or `parse FILE`".to_string())
        }
        Command::Complete(args) => control_cmds::complete(args),
        Command::Status { json } => control_cmds::status(json),
        Command::Verify { json } => control_cmds::verify(json),
        Command::Review(args) => control_cmds::review(args),
        Command::Hook { event, payload } => {
            control_cmds::hook(&event, payload.first().map(String::as_str));
            Ok(ExitCode::SUCCESS)
        }
        Command::Agents { json, timeout_ms } => control_cmds::agents(json, timeout_ms),
        Command::Init(args) => init::run(args),
        Command::Start { project } => start::run(&project),
        Command::Run(args) => run::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Attach(args) => attach::run(args),
        Command::Trust { project, yes, json } => trust::run(&project, yes, json),
        Command::Diff(args) => diff::run(args),
        Command::DemoAgent(args) => demo_agent::run(args),
        Command::Demo {
            command: DemoCommand::Init { dir, leap },
        } => {
            let leap = leap.unwrap_or_else(|| {
                std::env::current_exe()
                    .ok()
                    .and_then(|p| p.canonicalize().ok())
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "leap".into())
            });
            demo::init(&dir, &leap)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("leap: {e}");
            ExitCode::FAILURE
        }
    }
}
