//! `leap attach AGENT [--project DIR]`: an agent's terminal from the Leapfrog service in this
//! terminal, as the window shows it: its screen and recent scrollback first, then its live output;
//! what you type goes to the agent. Ctrl+\ detaches; the agent keeps working.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use leapfrog_engine::service::{
    Incoming, ServiceClient, ServiceError, ServicePaths, ServiceRequest,
};

/// The key that detaches: Ctrl+\ (FS), as dtach.
const DETACH: u8 = 0x1c;

#[derive(Args, Debug)]
pub struct AttachArgs {
    /// The agent's id (as in .leapfrog/project.json).
    pub agent: String,
    /// The project folder (default: the current folder).
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// Lines of scrollback to show above the screen.
    #[arg(long, default_value_t = 1000)]
    pub scrollback: usize,
}

/// The terminal in raw mode while attached; restored on drop.
struct RawMode {
    saved: Option<libc::termios>,
}

impl RawMode {
    fn enter() -> RawMode {
        if !std::io::stdin().is_terminal() {
            return RawMode { saved: None };
        }
        // SAFETY: tcgetattr/tcsetattr on stdin with a termios this function owns.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return RawMode { saved: None };
            }
            let saved = t;
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(0, libc::TCSANOW, &t);
            RawMode { saved: Some(saved) }
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = self.saved {
            // SAFETY: restores the attributes read in `enter`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, &t);
            }
        }
    }
}

/// This terminal's size, when stdout is one.
fn terminal_size() -> Option<(u16, u16)> {
    // SAFETY: TIOCGWINSZ fills a winsize this function owns.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
            .then_some((ws.ws_row, ws.ws_col))
    }
}

pub fn run(args: AttachArgs) -> Result<ExitCode, String> {
    let dir = match &args.project {
        Some(d) => d.clone(),
        None => std::env::current_dir().map_err(|e| e.to_string())?,
    };
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
    let client = ServiceClient::connect(&ServicePaths::for_user()).map_err(|e| match e {
        ServiceError::NotRunning(_) => format!(
            "no Leapfrog service runs, so nothing runs to attach to (leap run {} starts the run)",
            dir.display()
        ),
        other => other.to_string(),
    })?;
    let projects = client.projects().map_err(|e| e.to_string())?;
    let project = projects
        .iter()
        .filter(|p| dir.starts_with(&p.project))
        .max_by_key(|p| p.project.len())
        .ok_or_else(|| {
            format!(
                "the Leapfrog service runs no project at {} (leap serve --status lists them; leap run DIR starts one)",
                dir.display()
            )
        })?;
    if !project.agents.contains(&args.agent) {
        return Err(format!(
            "{} has no agent {:?} (its agents: {})",
            project.name,
            args.agent,
            project.agents.join(", ")
        ));
    }
    if let Some((rows, cols)) = terminal_size() {
        // The pane takes this terminal's size, as tmux does: the agent redraws for it.
        let _ = client.request(ServiceRequest::Resize {
            project: project.project.clone(),
            agent: args.agent.clone(),
            rows,
            cols,
        });
    }
    let attachment = client
        .attach(&project.project, &args.agent, args.scrollback)
        .map_err(|e| e.to_string())?;
    let raw = RawMode::enter();
    // Keystrokes to the agent until Ctrl+\ (or the end of input).
    let (done_tx, done_rx) = std::sync::mpsc::channel::<&'static str>();
    {
        let input = client.pane_input(attachment);
        let done = done_tx.clone();
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = [0u8; 4096];
            loop {
                let n = match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = done.send("the input ended");
                        return;
                    }
                    Ok(n) => n,
                };
                let bytes = &buf[..n];
                let (send, detach) = match bytes.iter().position(|&b| b == DETACH) {
                    Some(i) => (&bytes[..i], true),
                    None => (bytes, false),
                };
                if !send.is_empty() && input.send(send).is_err() {
                    let _ = done.send("the Leapfrog service stopped");
                    return;
                }
                if detach {
                    let _ = done.send("detached");
                    return;
                }
            }
        });
    }
    let mut out = std::io::stdout().lock();
    let why = loop {
        if let Ok(why) = done_rx.try_recv() {
            break why;
        }
        match client
            .incoming()
            .recv_timeout(std::time::Duration::from_millis(100))
        {
            Ok(
                Incoming::Screen {
                    attachment: a,
                    bytes,
                    ..
                }
                | Incoming::Output {
                    attachment: a,
                    bytes,
                },
            ) if a == attachment => {
                if out.write_all(&bytes).and_then(|_| out.flush()).is_err() {
                    break "the output closed";
                }
            }
            Ok(Incoming::Closed) => break "the Leapfrog service stopped",
            Ok(_) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break "the Leapfrog service stopped",
        }
    };
    drop(raw);
    let _ = client.detach(attachment);
    let _ = write!(
        out,
        "\x1b[m\r\nleap: {why} from {} ({}); the agent keeps working\r\n",
        args.agent, project.name
    );
    let _ = out.flush();
    Ok(if why == "the Leapfrog service stopped" {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
