//! `leap trust DIR`: shows the commands a project runs and records this user's approval of them.
//!
//! A project's agents and verify run only once approved on this machine (see
//! `leapfrog_engine::trust`). On a terminal, `leap trust` asks; `--yes` approves without asking
//! (scripts that just wrote the project themselves).

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use leapfrog_engine::trust::{ProjectCommands, TrustFile, TrustReview};

pub fn run(project: &Path, yes: bool, json: bool) -> Result<ExitCode, String> {
    let dir = project
        .canonicalize()
        .map_err(|e| format!("cannot open {}: {e}", project.display()))?;
    let file = TrustFile::default_location()?;
    let review = file.review(&ProjectCommands::load(&dir)?)?;
    if !json {
        print_review(&review);
    }
    let approved = if review.approved {
        true
    } else if yes {
        file.approve(&review.project)?;
        true
    } else if std::io::stdin().is_terminal() && !json {
        print!("Run these commands in {}? [y/N] ", review.project.dir);
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| e.to_string())?;
        let yes = matches!(answer.trim(), "y" | "Y" | "yes" | "Yes");
        if yes {
            file.approve(&review.project)?;
        }
        yes
    } else {
        false
    };
    if json {
        let out = serde_json::json!({ "review": review, "approved": approved });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else if review.approved {
        println!("Already approved on this machine.");
    } else if approved {
        println!("Approved: Leapfrog may run these commands in this folder.");
    }
    if approved {
        Ok(ExitCode::SUCCESS)
    } else if std::io::stdin().is_terminal() && !json {
        Err("not approved; nothing was recorded".into())
    } else {
        Err(format!(
            "not approved; `leap trust {} --yes` approves without asking",
            leapfrog_engine::agents::shell_quote(&review.project.dir)
        ))
    }
}

fn print_review(review: &TrustReview) {
    let title = if review.approved {
        "runs these commands"
    } else if review.approved_before {
        "changed the commands it runs (new or changed: *)"
    } else {
        "runs these commands, not yet approved on this machine"
    };
    println!("{} {title}:", review.project.dir);
    for c in &review.project.commands {
        let mark = if !review.approved && review.changed.contains(c) {
            "*"
        } else {
            " "
        };
        println!("{mark} {:<32} {}", c.what, c.command);
    }
}

/// Approves what `leap init` / `leap demo init` just wrote: the user chose those commands.
pub fn approve_written(dir: &Path) -> Result<(), String> {
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
    TrustFile::default_location()?.approve(&ProjectCommands::load(&dir)?)
}
