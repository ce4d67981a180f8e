//! `leap`: the command line of Leapfrog. Every subcommand is a thin client of the engine.

mod handoff;
mod simulate;

use clap::{Parser, Subcommand};

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
    /// Handoff messages (HANDOFF / COMPLETE) in agent output.
    #[command(subcommand)]
    Handoff(handoff::HandoffCommand),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(args) => simulate::run(args),
        Command::Handoff(command) => handoff::run(command),
    };
    if let Err(e) = result {
        // One line: the error and its causes, joined.
        let msg = e
            .chain()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(": ")
            .replace('
', " ");
        eprintln!("leap: {msg}");
        std::process::exit(1);
    }
}
