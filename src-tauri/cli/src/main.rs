//! `leap`: the command line of Leapfrog. Every subcommand is a thin client of the engine.

use clap::{Parser, Subcommand};

mod simulate;

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
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(args) => simulate::run(args),
    };
    if let Err(e) = result {
        // one line: the whole cause chain joined.
        let msg = e
            .chain()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(": ")
            .replace('\n', " ");
        eprintln!("error: {msg}");
        std::process::exit(1);
    }
}
