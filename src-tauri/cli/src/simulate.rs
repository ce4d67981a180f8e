//! `leap simulate`: run the pipeline scheduler over a workload file (see
//! `shared/design/pipeline.md`) and print the schedule, or the seed's table.

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use leapfrog_engine::scheduler::sim::{
    milestone_table, render, render_milestone_table, render_table, seed_table,
};
use leapfrog_engine::scheduler::{simulate, PriorityRule, SimOptions, Workload};

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// The workload file (JSON).
    #[arg(long, value_name = "FILE")]
    pub workload: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Perturb the scheduler's duration estimates by up to this fraction (0.2 = ±20%).
    #[arg(
        long,
        value_name = "X",
        default_value_t = 0.0,
        allow_hyphen_values = true
    )]
    pub estimate_noise: f64,
    /// Seed of the estimate noise.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Print the seed's table: 3, 5 and 10 batches shaped like the workload's first batch.
    #[arg(long)]
    pub table: bool,
    /// Priority rule: critical-path, interleave, feed-idle, critical-path-accept-first, or best
    /// (run them all, keep the shortest schedule).
    #[arg(long, value_name = "RULE", default_value = "best")]
    pub priority: String,
}

pub fn run(args: SimulateArgs) -> Result<()> {
    // A workload of the largest size it may describe (100 000 batches) is a few MB; long
    // `builds_after` lists take more.
    let bytes = leapfrog_engine::files::read_regular(&args.workload, "workload file", 64_000_000)
        .map_err(anyhow::Error::msg)?;
    let text = String::from_utf8(bytes)
        .with_context(|| format!("{}: a workload is UTF-8 text", args.workload.display()))?;
    let workload = Workload::parse(&text)?;
    let priority = match args.priority.as_str() {
        "best" => None,
        other => Some(PriorityRule::parse(other).ok_or_else(|| {
            anyhow!("unknown priority `{other}` (critical-path, interleave, feed-idle, critical-path-accept-first, best)")
        })?),
    };
    let opts = SimOptions {
        estimate_noise: args.estimate_noise,
        seed: args.seed,
        priority,
    };
    if args.table {
        // A workload with milestones: what planning the next one during the builds saves.
        if let Some(t) = milestone_table(&workload, &opts)? {
            if args.json {
                crate::handoff::print(&format!("{}\n", serde_json::to_string_pretty(&t)?))?;
            } else {
                crate::handoff::print(&render_milestone_table(&t))?;
            }
            return Ok(());
        }
        let rows = seed_table(&workload, &opts)?;
        if args.json {
            crate::handoff::print(&format!("{}\n", serde_json::to_string_pretty(&rows)?))?;
        } else {
            crate::handoff::print(&render_table(&rows))?;
        }
        return Ok(());
    }
    let out = simulate(&workload, &opts)?;
    if args.json {
        crate::handoff::print(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
    } else {
        crate::handoff::print(&render(&out))?;
    }
    Ok(())
}
