//! `leap`: the command line of Leapfrog. Every subcommand is a thin client of the engine.

mod handoff;
mod simulate;
mod tickets;

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
    /// Read and edit a TICKETS.md (batches and tickets).
    #[command(subcommand)]
    Tickets(tickets::TicketsCmd),
    /// Handoff messages (HANDOFF / COMPLETE) in agent output.
    #[command(subcommand)]
    Handoff(handoff::HandoffCommand),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(args) => simulate::run(args),
        Command::Tickets(cmd) => tickets::run(cmd),
        Command::Handoff(command) => handoff::run(command),
    };
    if let Err(e) = result {
        // One line: the error and its causes, joined.
        let msg = format!("{e:#}").replace('\n', " ");
        eprintln!("leap: {msg}");
        std::process::exit(1);
    }
}
