//! `leap diff --batch N [DIR]`: the batch diff the reviewer, the app and `leap` all mean, between
//! the two refs the run recorded (`refs/leapfrog/batch-N/base` and `.../head`): the batch's
//! build, or after a failed review its latest fix.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use leapfrog_engine::git::Repo;

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// The batch.
    #[arg(long)]
    pub batch: u32,
    /// The project folder (default: the current folder).
    #[arg(default_value = ".")]
    pub project: PathBuf,
    /// Only the changed files with lines added and removed.
    #[arg(long)]
    pub stat: bool,
    /// Print the range and the files as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: DiffArgs) -> Result<ExitCode, String> {
    let repo = Repo::work_tree(&args.project).ok_or_else(|| {
        format!(
            "{} is not a git repository with commits: batch diffs are recorded in git",
            args.project.display()
        )
    })?;
    let range = repo.batch_range(args.batch)?;
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        let files = repo.changed_files(&range.base, &range.head)?;
        let value = serde_json::json!({
            "batch": range.batch,
            "base": range.base,
            "head": range.head,
            "files": files,
        });
        writeln!(out, "{value}")
    } else if args.stat {
        let files = repo.changed_files(&range.base, &range.head)?;
        let mut text = String::new();
        for f in &files {
            let n = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
            text.push_str(&format!("{}\t{}\t{}\n", n(f.added), n(f.removed), f.path));
        }
        write!(out, "{text}")
    } else {
        let diff = repo.diff(&range.base, &range.head)?;
        if diff.is_empty() {
            writeln!(
                out,
                "batch {}: no changes ({}..{})",
                range.batch,
                &range.base[..12],
                &range.head[..12]
            )
        } else {
            writeln!(out, "{diff}")
        }
    };
    // A closed pipe (`leap diff … | head`) ends quietly.
    match written {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.to_string()),
    }
}
