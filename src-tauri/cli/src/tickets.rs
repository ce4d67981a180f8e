//! `leap tickets …`: parse, check and edit a TICKETS.md with the engine's codec.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Subcommand;
use leapfrog_engine::tickets::sync::{TicketsFile, WriteOptions};
use leapfrog_engine::tickets::{Document, Edit, MAX_FILE_BYTES};

#[derive(Subcommand)]
pub enum TicketsCmd {
    /// Show the batches and tickets recognised in FILE.
    Parse {
        file: PathBuf,
        /// Print JSON: {"batches": [...], "tickets": [...], "warnings": [...]}.
        #[arg(long)]
        json: bool,
    },
    /// Check that FILE round-trips byte for byte (non-zero exit if a byte changes).
    Check { file: PathBuf },
    /// Move a ticket to another batch, in place (the previous content goes to .leapfrog/backups/).
    Move {
        file: PathBuf,
        /// The ticket: its ID, its key (`title:…` for a ticket without an ID, see `parse --json`)
        /// or its title.
        ticket: String,
        /// The batch: its number (the number in its heading, else its 1-based position), or when
        /// two batches share a number, its title or `line:N` of its heading.
        #[arg(long = "to-batch")]
        to_batch: String,
        /// 0-based position among the batch's tickets (default: at the end).
        #[arg(long)]
        position: Option<usize>,
        /// Write even if the file holds no recognised tickets.
        #[arg(long)]
        force: bool,
    },
}

pub fn run(cmd: TicketsCmd) -> Result<()> {
    match cmd {
        TicketsCmd::Parse { file, json } => {
            let doc = load(&file)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&doc.summary())?);
            } else {
                print!("{}", human(&doc));
            }
            Ok(())
        }
        TicketsCmd::Check { file } => {
            let bytes = read(&file)?;
            let doc = Document::parse_bytes(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let out = doc.serialize();
            if out.as_bytes() != bytes.as_slice() {
                let at = out
                    .bytes()
                    .zip(bytes.iter())
                    .position(|(a, b)| a != *b)
                    .unwrap_or(out.len().min(bytes.len()));
                bail!(
                    "{}: round trip changed the file at byte {at}",
                    file.display()
                );
            }
            let again = Document::parse(&out).serialize();
            if again != out {
                bail!("{}: second round trip is not idempotent", file.display());
            }
            println!(
                "{}: ok ({} bytes, {} batches, {} tickets)",
                file.display(),
                bytes.len(),
                doc.batches.len(),
                doc.tickets.len()
            );
            Ok(())
        }
        TicketsCmd::Move {
            file,
            ticket,
            to_batch,
            position,
            force,
        } => {
            read(&file)?;
            let mut tf = TicketsFile::open(&file).map_err(|e| anyhow::anyhow!("{e}"))?;
            let edit = match to_batch.trim().parse::<u32>() {
                Ok(n) => Edit::Move {
                    ticket: ticket.clone(),
                    to_batch: n,
                    position,
                },
                Err(_) => Edit::MoveToGroup {
                    ticket: ticket.clone(),
                    group: to_batch.clone(),
                    position,
                },
            };
            let w = tf
                .apply(
                    &[edit],
                    WriteOptions {
                        allow_no_tickets: force,
                    },
                )
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            // A writer that opened the file just before the swap may still append to the
            // replaced one: kept, before this process ends.
            leapfrog_engine::tickets::sync::settle_late_appends();
            println!(
                "moved {ticket} to batch {to_batch} in {} (backup: {})",
                file.display(),
                w.backup.display()
            );
            Ok(())
        }
    }
}

/// Reads a file with a clear error for the usual mistakes.
fn read(path: &Path) -> Result<Vec<u8>> {
    leapfrog_engine::files::read_regular(path, "TICKETS.md file", MAX_FILE_BYTES as u64)
        .map_err(anyhow::Error::msg)
}

fn load(path: &Path) -> Result<Document> {
    let bytes = read(path)?;
    Document::parse_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn human(doc: &Document) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let line = |s: &mut String, t: &leapfrog_engine::tickets::Ticket| {
        let _ = writeln!(
            s,
            "  {:<14} {:<8} {}  (lines {}-{})",
            t.display_id(),
            if t.status_unknown {
                "unknown"
            } else {
                t.status.as_str()
            },
            t.title,
            t.lines.start + 1,
            t.lines.end
        );
    };
    let milestones = doc.milestones();
    for (bi, b) in doc.batches.iter().enumerate() {
        if let Some(m) = milestones.iter().find(|m| m.batches.first() == Some(&bi)) {
            let _ = writeln!(
                s,
                "milestone {}: {}  [line {}]",
                m.number,
                m.title,
                m.heading_line + 1
            );
        }
        let _ = writeln!(
            s,
            "batch {} ({}): {}  [line {}]",
            b.number,
            b.word.as_deref().unwrap_or("group"),
            b.title,
            b.heading_line + 1
        );
        for &t in &b.tickets {
            line(&mut s, &doc.tickets[t]);
        }
    }
    let loose: Vec<_> = doc.tickets.iter().filter(|t| t.batch.is_none()).collect();
    if !loose.is_empty() {
        let _ = writeln!(s, "outside any batch:");
        for t in loose {
            line(&mut s, t);
        }
    }
    let _ = writeln!(
        s,
        "{}{} batches, {} tickets",
        if milestones.is_empty() {
            String::new()
        } else {
            format!("{} milestones, ", milestones.len())
        },
        doc.batches.len(),
        doc.tickets.len()
    );
    for w in &doc.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s
}
