//! `leap`: the command line of Leapfrog. Every subcommand is a thin client of the engine.

mod handoff;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "leap", version, about = "Leapfrog from the command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Handoff messages (HANDOFF / COMPLETE) in agent output.
    #[command(subcommand)]
    Handoff(handoff::HandoffCommand),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Handoff(command) => handoff::run(command),
    };
    if let Err(e) = result {
        // One line: the error and its causes.
        eprintln!("leap: {e:#}");
        std::process::exit(1);
    }
}
