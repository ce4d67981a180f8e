//! `leap handoff`: the handoff protocol from the command line.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use leapfrog_engine::handoff::HandoffScanner;
use leapfrog_engine::model::{Handoff, HandoffKind, VerifyResult};

#[derive(Subcommand)]
pub enum HandoffCommand {
    /// Print the HANDOFF / COMPLETE messages found in FILE: raw terminal output of an agent
    /// (escape sequences and all) or markdown.
    Parse {
        /// The capture or markdown file; `-` reads standard input.
        file: PathBuf,
        /// Print a JSON array of messages instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: HandoffCommand) -> Result<()> {
    match command {
        HandoffCommand::Parse { file, json } => {
            let messages = scan_file(&file)?;
            let out = if json {
                let mut s = serde_json::to_string_pretty(&messages)?;
                s.push('\n');
                s
            } else if messages.is_empty() {
                format!("no handoff messages in {}\n", file.display())
            } else {
                messages.iter().map(render).collect::<Vec<_>>().join("\n")
            };
            print(&out)
        }
    }
}

/// Streams the file (or standard input for `-`) through the scanner (a capture may be large); refuses what
/// is not text.
fn scan_file(path: &Path) -> Result<Vec<Handoff>> {
    if path == Path::new("-") {
        return scan(Path::new("standard input"), std::io::stdin().lock());
    }
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        bail!(
            "{} is a directory, not a capture or markdown file",
            path.display()
        );
    }
    if !meta.is_file() {
        // A device or FIFO could stream forever; standard input (`-`) is the way to pipe.
        bail!(
            "{} is not a regular file (a device, FIFO or socket); pipe it through `-` instead",
            path.display()
        );
    }
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    scan(path, file)
}

fn scan(path: &Path, mut input: impl Read) -> Result<Vec<Handoff>> {
    let mut scanner = HandoffScanner::new();
    let mut messages = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut first = true;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let chunk = &buf[..n];
        if std::mem::take(&mut first) {
            refuse_binary(path, chunk)?;
        }
        messages.extend(scanner.feed(chunk));
    }
    messages.extend(scanner.finish());
    Ok(messages)
}

/// Terminal output is mostly text: escape sequences, CR/LF, tab, bell and backspace are its only control
/// bytes, with a rare NUL (tmux sends some). A file whose first chunk has more than 1% other control bytes
/// (an image, an executable, a compressed file) is not a capture.
fn refuse_binary(path: &Path, head: &[u8]) -> Result<()> {
    let control = head
        .iter()
        .filter(|&&b| matches!(b, 0x00..=0x06 | 0x0e..=0x1a | 0x1c..=0x1f | 0x7f))
        .count();
    if control * 100 > head.len() {
        bail!(
            "{} looks binary ({control} control bytes in its first {} bytes), not terminal output or markdown",
            path.display(),
            head.len()
        );
    }
    Ok(())
}

/// A message in the seed's shape.
fn render(m: &Handoff) -> String {
    let mut out = match m.kind {
        HandoffKind::Handoff => format!("## HANDOFF — Batch {} Ready\n", m.batch),
        HandoffKind::Complete => format!("## COMPLETE — Batch {} Done\n", m.batch),
    };
    let mut line = |key: &str, value: String| {
        if !value.is_empty() {
            out.push_str(&format!("{key}: {value}\n"));
        }
    };
    match m.kind {
        HandoffKind::Handoff => {
            line("Tickets", m.tickets.join(", "));
            line("Files affected", m.files.join(", "));
            line("Dependencies", m.dependencies.clone().unwrap_or_default());
            line(
                "Verify command",
                m.verify_command.clone().unwrap_or_default(),
            );
        }
        HandoffKind::Complete => {
            line("Tickets completed", m.tickets.join(", "));
            line("Commits", m.commits.join(", "));
            let verify = match m.verify {
                Some(VerifyResult::Passed) => "PASSED",
                Some(VerifyResult::Failed) => "FAILED",
                None => "",
            };
            line("Verify", verify.to_string());
            line("Ready for", m.ready_for.join(" / "));
        }
    }
    out
}

/// Writes to stdout; a closed pipe (`leap handoff parse x | head`) ends quietly.
pub(crate) fn print(s: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(s.as_bytes()).and_then(|_| stdout.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}
