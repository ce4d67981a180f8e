//! `leap`: the command line of Leapfrog. Every subcommand is a thin client of the engine.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "leap", version, about = "Leapfrog from the command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {}

fn main() {
    let cli = Cli::parse();
    match cli.command {}
}
