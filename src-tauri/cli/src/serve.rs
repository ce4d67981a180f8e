//! `leap serve`: the engine as this user's service (agents outlive the window and `leap run`).
//!
//! `leap serve` runs it in the foreground (what `leap run` starts detached, and what the systemd
//! user unit runs); `--status` lists its projects; `--stop` stops it and its runs;
//! `--stop-project DIR` stops one run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use leapfrog_engine::pty::PaneSize;
use leapfrog_engine::service::{
    Service, ServiceClient, ServiceError, ServiceOptions, ServicePaths, ServiceRequest,
};
use leapfrog_engine::store::{data_dir, default_db_path, SledStore};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Exit after this many seconds with no run in progress, no agent alive and no client (0: never).
    #[arg(long, default_value_t = 600)]
    pub idle: u64,
    /// List the service's projects (JSON with --json) instead of running it.
    #[arg(long)]
    pub status: bool,
    /// Stop the running service and every run in it.
    #[arg(long, conflicts_with = "status")]
    pub stop: bool,
    /// Stop one project's run in the service (its agents are hung up, its state saved).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["status", "stop"])]
    pub stop_project: Option<PathBuf>,
    /// With --status: print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ServeArgs) -> Result<ExitCode, String> {
    let paths = ServicePaths::for_user();
    if args.status || args.stop || args.stop_project.is_some() {
        let client = match ServiceClient::connect(&paths) {
            Ok(c) => c,
            Err(ServiceError::NotRunning(_)) if args.status || args.stop => {
                if args.json {
                    println!("[]");
                } else {
                    println!("no Leapfrog service runs");
                }
                return Ok(ExitCode::SUCCESS);
            }
            Err(e) => return Err(e.to_string()),
        };
        if args.stop {
            client
                .shutdown(&paths, Duration::from_secs(60))
                .map_err(|e| e.to_string())?;
            println!("stopped the Leapfrog service (pid {})", client.pid);
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(dir) = args.stop_project {
            let dir = dir
                .canonicalize()
                .map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
            let said = client
                .request(ServiceRequest::Stop {
                    project: dir.display().to_string(),
                })
                .map_err(|e| e.to_string())?;
            println!("{}", said.as_str().unwrap_or("stopped"));
            return Ok(ExitCode::SUCCESS);
        }
        let projects = client.projects().map_err(|e| e.to_string())?;
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&projects).map_err(|e| e.to_string())?
            );
        } else {
            println!("Leapfrog service, pid {}", client.pid);
            if projects.is_empty() {
                println!("  no project (leap run DIR starts one)");
            }
            for p in projects {
                let state = if p.finished {
                    "finished"
                } else if p.running {
                    "running"
                } else {
                    "stopped"
                };
                println!(
                    "  {} ({}): {state}, agents {}",
                    p.name,
                    p.project,
                    p.agents.join(", ")
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let db = default_db_path().map_err(|e| e.to_string())?;
    let store = Arc::new(SledStore::open(&db).map_err(|e| {
        format!(
            "{e} (the Leapfrog window or a leap run --headless may have the store open; close it, then start leap serve again)"
        )
    })?);
    let opts = ServiceOptions {
        runtime_dir: leapfrog_engine::control::runtime_dir(),
        data_dir: data_dir().map_err(|e| e.to_string())?,
        store,
        leap_program: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "leap".into()),
        idle: (args.idle > 0).then(|| Duration::from_secs(args.idle)),
        home_dir: std::env::var_os("HOME").map(PathBuf::from),
        pane_size: PaneSize::new(40, 120),
        clock: Arc::new(leapfrog_engine::orchestrator::SystemClock),
    };
    let service = Service::start(opts)?;
    eprintln!(
        "leap serve: listening on {} (pid {})",
        service.paths().socket.display(),
        std::process::id()
    );
    service.wait();
    Ok(ExitCode::SUCCESS)
}
