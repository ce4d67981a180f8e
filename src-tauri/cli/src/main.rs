//! `leap`: the command line of Leapfrog. Every subcommand is a thin client of the engine.

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
    /// Read and edit a TICKETS.md (batches and tickets).
    #[command(subcommand)]
    Tickets(tickets::TicketsCmd),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Tickets(cmd) => tickets::run(cmd),
    };
    if let Err(e) = result {
        eprintln!("leap: {e:#}");
        std::process::exit(1);
    }
}
