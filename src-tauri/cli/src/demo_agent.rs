//! `leap demo-agent`: a scripted stand-in for an AI coding CLI.
//!
//! It behaves like one in a terminal: a banner, a prompt box, a spinner with "esc to interrupt"
//! while it works, and it takes prompts typed or pasted (bracketed paste `ESC[200~ ... ESC[201~`, then
//! Enter). It understands Leapfrog's prompts ("Read TICKETS.md. Execute Batch 1 only."), does the
//! phase for real in the project's git repository (designer: specs tickets in TICKETS.md and writes a
//! design doc; builder: writes a script per ticket and commits; reviewer: reads the batch's commits
//! and passes or fails), reports with `leap complete` / `leap handoff` when inside Leapfrog, prints a
//! HANDOFF / COMPLETE block in the seed's format, and returns to its prompt.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use leapfrog_engine::agents::prompts::{parse_prompt, PromptPhase};
use leapfrog_engine::control::{
    CompleteRequest, ControlClient, HandoffRequest, HookRequest, Outcome, Request, ENV_SOCKET,
};

use crate::demo::git;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoRole {
    Designer,
    Builder,
    Reviewer,
}

#[derive(Args, Debug, Clone)]
pub struct DemoAgentArgs {
    /// Who it pretends to be (it still does any phase it is asked for).
    #[arg(long, value_enum)]
    pub role: DemoRole,
    /// How fast it works: 1 = a few seconds per phase, 10 = ten times faster, 0.5 = twice slower.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Probability (0..1) that a review fails.
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Seed of the review verdicts, for repeatable runs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Batches whose first review fails, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub fail_batches: Vec<u32>,
    /// The project directory (default: the current directory).
    #[arg(long)]
    pub project: Option<PathBuf>,
    /// Ask the user before each file edit ("Allow edit to src/t-001.sh? [y/n]") and wait for the
    /// answer on stdin, like a CLI's permission prompt: `y` goes on, `n`, Esc or Ctrl-C stop the
    /// phase. Inside Leapfrog it also calls the Notification hook, as Claude Code does.
    #[arg(long)]
    pub ask_before_edit: bool,
    /// Ignore Enter for this many seconds after starting, as Claude Code 2.1 does for a few
    /// seconds after it draws its prompt (what is typed or pasted stays in the input box).
    #[arg(long, default_value_t = 0.0)]
    pub deaf_for: f64,
    /// Ignore an Enter that comes within this many milliseconds of a paste, as Gemini CLI does
    /// (about 40 ms).
    #[arg(long, default_value_t = 0)]
    pub paste_settle_ms: u64,
    /// Take this many more seconds over each review (reading every line), so that a user's own
    /// review (`leap review`, the app's review view) can come in while it runs.
    #[arg(long, default_value_t = 0.0)]
    pub review_secs: f64,
    /// Each build also appends a line to this file (relative to the project) and commits it:
    /// two batches built apart then touch one file, so their merge conflicts.
    #[arg(long)]
    pub touch: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Terminal

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const ORANGE: &str = "\x1b[38;5;208m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const CYAN: &str = "\x1b[36m";
const WIDTH: usize = 64;
const SPINNER: [&str; 6] = ["·", "✢", "✳", "✶", "✻", "✽"];

/// Puts stdin in raw-ish mode (no line buffering, no echo, Ctrl-C as a byte) while it lives.
struct RawMode {
    orig: libc::termios,
}

impl RawMode {
    fn enable() -> Option<RawMode> {
        // SAFETY: plain termios calls on fd 0 with a zeroed struct that tcgetattr fills.
        unsafe {
            if libc::isatty(0) != 1 {
                return None;
            }
            let mut orig: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut orig) != 0 {
                return None;
            }
            let mut raw = orig;
            raw.c_lflag &= !(libc::ICANON | libc::ECHO | libc::ISIG | libc::IEXTEN);
            raw.c_iflag &= !(libc::IXON | libc::ICRNL);
            raw.c_cc[libc::VMIN] = 1;
            raw.c_cc[libc::VTIME] = 0;
            if libc::tcsetattr(0, libc::TCSANOW, &raw) != 0 {
                return None;
            }
            Some(RawMode { orig })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the attributes read in enable().
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.orig);
        }
    }
}

/// A key or paste read from the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Text(Vec<u8>),
    Paste(Vec<u8>),
    Enter,
    Backspace,
    KillLine,
    CtrlC,
    CtrlD,
    Esc,
}

#[derive(Debug, Default)]
enum ParseState {
    #[default]
    Normal,
    Esc,
    Csi(Vec<u8>),
    Ss3,
}

/// Turns terminal bytes into keys: escape sequences, bracketed paste, control keys.
#[derive(Debug, Default)]
pub struct KeyParser {
    state: ParseState,
    paste: Option<Vec<u8>>,
    last_cr: bool,
}

const PASTE_END: &[u8] = b"\x1b[201~";

impl KeyParser {
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Key> {
        let mut keys = Vec::new();
        let mut text = Vec::new();
        let flush = |text: &mut Vec<u8>, keys: &mut Vec<Key>| {
            if !text.is_empty() {
                keys.push(Key::Text(std::mem::take(text)));
            }
        };
        for &b in bytes {
            if let Some(p) = &mut self.paste {
                p.push(b);
                if p.ends_with(PASTE_END) {
                    let mut p = self.paste.take().expect("paste");
                    p.truncate(p.len() - PASTE_END.len());
                    keys.push(Key::Paste(p));
                }
                continue;
            }
            match std::mem::take(&mut self.state) {
                ParseState::Normal => {
                    let was_cr = std::mem::replace(&mut self.last_cr, false);
                    match b {
                        0x1b => {
                            flush(&mut text, &mut keys);
                            self.state = ParseState::Esc;
                        }
                        b'\r' => {
                            flush(&mut text, &mut keys);
                            keys.push(Key::Enter);
                            self.last_cr = true;
                        }
                        b'\n' => {
                            if !was_cr {
                                flush(&mut text, &mut keys);
                                keys.push(Key::Enter);
                            }
                        }
                        0x7f | 0x08 => {
                            flush(&mut text, &mut keys);
                            keys.push(Key::Backspace);
                        }
                        0x03 => {
                            flush(&mut text, &mut keys);
                            keys.push(Key::CtrlC);
                        }
                        0x04 => {
                            flush(&mut text, &mut keys);
                            keys.push(Key::CtrlD);
                        }
                        0x15 => {
                            flush(&mut text, &mut keys);
                            keys.push(Key::KillLine);
                        }
                        b'\t' => text.push(b' '),
                        b if b < 0x20 => {}
                        b => text.push(b),
                    }
                }
                ParseState::Esc => match b {
                    b'[' => self.state = ParseState::Csi(Vec::new()),
                    b'O' => self.state = ParseState::Ss3,
                    0x1b => {
                        keys.push(Key::Esc);
                        self.state = ParseState::Esc;
                    }
                    _ => {} // Alt+key: ignored.
                },
                ParseState::Csi(mut params) => {
                    if (0x40..=0x7e).contains(&b) {
                        if b == b'~' && params == b"200" {
                            self.paste = Some(Vec::new());
                        }
                    } else if params.len() < 32 {
                        params.push(b);
                        self.state = ParseState::Csi(params);
                    }
                }
                ParseState::Ss3 => {}
            }
        }
        flush(&mut text, &mut keys);
        keys
    }

    /// A lone ESC with nothing after it, once input has paused, is the Esc key.
    pub fn flush_lone_esc(&mut self) -> Option<Key> {
        if matches!(self.state, ParseState::Esc) {
            self.state = ParseState::Normal;
            Some(Key::Esc)
        } else {
            None
        }
    }
}

/// Keys from stdin, read by a thread.
struct Input {
    rx: Receiver<Vec<u8>>,
    parser: KeyParser,
    queue: VecDeque<Key>,
    eof: bool,
}

impl Input {
    fn start() -> Input {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin();
            let mut buf = [0u8; 4096];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Vec::new());
                        return;
                    }
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Input {
            rx,
            parser: KeyParser::default(),
            queue: VecDeque::new(),
            eof: false,
        }
    }

    /// Reads what arrived within `timeout` into the queue. Returns false when nothing came.
    fn pump(&mut self, timeout: Duration) -> bool {
        if self.eof {
            return false;
        }
        match self.rx.recv_timeout(timeout) {
            Ok(bytes) if bytes.is_empty() => {
                self.eof = true;
                false
            }
            Ok(bytes) => {
                let keys = self.parser.feed(&bytes);
                self.queue.extend(keys);
                true
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Some(k) = self.parser.flush_lone_esc() {
                    self.queue.push_back(k);
                    return true;
                }
                false
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.eof = true;
                false
            }
        }
    }

    /// The next key, waiting for it; `None` at end of input.
    fn next_key(&mut self) -> Option<Key> {
        loop {
            if let Some(k) = self.queue.pop_front() {
                return Some(k);
            }
            if self.eof {
                return None;
            }
            self.pump(Duration::from_millis(200));
        }
    }

    /// Whether Ctrl-C or Esc came during work (other keys stay queued for the prompt).
    fn interrupted(&mut self) -> bool {
        while self.pump(Duration::ZERO) {}
        if let Some(i) = self
            .queue
            .iter()
            .position(|k| matches!(k, Key::CtrlC | Key::Esc))
        {
            self.queue.remove(i);
            return true;
        }
        false
    }
}

fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.replace('\n', "\r\n").as_bytes());
    let _ = o.flush();
}

fn rule() -> String {
    format!("{DIM}{}{RESET}", "─".repeat(WIDTH))
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let tail: String = s
            .chars()
            .rev()
            .take(n.saturating_sub(1))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}

/// The input line as shown: pasted newlines as ⏎, the end of long text.
fn render_input(buf: &[u8]) -> String {
    let text = String::from_utf8_lossy(buf).replace('\n', " ⏎ ");
    truncate(&text, WIDTH - 4)
}

// ---------------------------------------------------------------------------------------------
// The agent

struct Agent {
    args: DemoAgentArgs,
    project: PathBuf,
    /// Reviews done per batch, to fail only the first review of a scripted batch.
    reviews: std::collections::HashMap<u32, u32>,
    /// The findings the current fix prompt names ("Findings: ...").
    findings: Option<String>,
}

/// The findings a fix prompt names: what follows `Findings: ` up to `. Fix this batch` (the
/// default template) or the end of the prompt.
/// A conflict Leapfrog hands over ("Batch 2's branch leapfrog/batch-2 conflicts with main in
/// ... run `git merge main` ..."): the batch and the branch to merge.
fn conflict_prompt(prompt: &str) -> Option<(u32, String)> {
    if !prompt.contains("conflicts with") {
        return None;
    }
    let after = prompt.split("`git merge ").nth(1)?;
    let integration = after.split('`').next()?.trim().to_string();
    let batch = prompt
        .split("--batch ")
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((batch, integration))
}

fn findings_in(prompt: &str) -> Option<String> {
    let start = prompt.find("Findings: ")? + "Findings: ".len();
    let rest = &prompt[start..];
    let end = rest.find(". Fix this batch").unwrap_or(rest.len());
    let f = rest[..end].trim();
    (!f.is_empty()).then(|| f.to_string())
}

struct Interrupted;

/// What a finished phase reports.
struct Report {
    request: Request,
    /// The equivalent `leap ...` command line.
    command: String,
    /// The HANDOFF / COMPLETE / REVIEW block.
    block: String,
}

impl Agent {
    fn role_name(&self) -> &'static str {
        match self.args.role {
            DemoRole::Designer => "designer",
            DemoRole::Builder => "builder",
            DemoRole::Reviewer => "reviewer",
        }
    }

    fn banner(&self) {
        let inner = WIDTH - 2;
        let line = |s: &str| {
            let pad = inner.saturating_sub(s.chars().count() + 1);
            format!("{DIM}│{RESET} {s}{}{DIM}│{RESET}\n", " ".repeat(pad))
        };
        let title = format!("✻ Leapfrog demo agent · {}", self.role_name());
        let dir = truncate(&self.project.display().to_string(), inner - 4);
        let mut s = format!("{DIM}╭{}╮{RESET}\n", "─".repeat(inner));
        let pad = inner.saturating_sub(title.chars().count() + 1);
        s.push_str(&format!(
            "{DIM}│{RESET} {ORANGE}{BOLD}{title}{RESET}{}{DIM}│{RESET}\n",
            " ".repeat(pad)
        ));
        s.push_str(&line(&format!("  {dir}")));
        let inside = match (
            std::env::var(ENV_SOCKET).ok().filter(|v| !v.is_empty()),
            std::env::var(leapfrog_engine::control::ENV_AGENT).ok(),
        ) {
            (Some(_), Some(agent)) => format!("  inside Leapfrog as agent {agent}"),
            (Some(_), None) => "  inside Leapfrog".to_string(),
            (None, _) => "  standalone (LEAPFROG_SOCKET unset)".to_string(),
        };
        s.push_str(&line(&truncate(&inside, inner - 2)));
        let scripted = if self.args.fail_batches.is_empty() {
            String::new()
        } else {
            let b: Vec<String> = self.args.fail_batches.iter().map(u32::to_string).collect();
            format!(" · first review fails: batch {}", b.join(", "))
        };
        let ask = if self.args.ask_before_edit {
            " · asks before edits"
        } else {
            ""
        };
        s.push_str(&line(&format!(
            "  speed {}x · reviews fail {:.0}%{scripted}{ask}",
            self.args.speed,
            self.args.fail_rate * 100.0
        )));
        s.push_str(&format!("{DIM}╰{}╯{RESET}\n", "─".repeat(inner)));
        out(&s);
    }

    fn draw_prompt(&self, buf: &[u8]) {
        out(&format!(
            "\n{}\n❯ {}\n{}\n{DIM}  ? paste a Leapfrog prompt · ctrl-d to quit{RESET}\x1b[2A\r\x1b[K❯ {}",
            rule(),
            render_input(buf),
            rule(),
            render_input(buf)
        ));
    }

    fn redraw_input(&self, buf: &[u8]) {
        out(&format!("\r\x1b[K❯ {}", render_input(buf)));
    }

    /// Idle loop: read a prompt, run it, repeat until end of input or Ctrl-D.
    fn run(&mut self, input: &mut Input) {
        self.banner();
        let mut buf: Vec<u8> = Vec::new();
        self.draw_prompt(&buf);
        let mut ctrl_c_armed = false;
        let start = Instant::now();
        let mut pasted_at: Option<Instant> = None;
        while let Some(key) = input.next_key() {
            match key {
                Key::Text(t) => {
                    buf.extend(t);
                    ctrl_c_armed = false;
                }
                Key::Paste(p) => {
                    let p = String::from_utf8_lossy(&p)
                        .replace("\r\n", "\n")
                        .replace('\r', "\n");
                    buf.extend(p.as_bytes());
                    pasted_at = Some(Instant::now());
                }
                Key::Backspace => {
                    while let Some(b) = buf.pop() {
                        if b & 0xc0 != 0x80 {
                            break;
                        }
                    }
                }
                Key::KillLine => buf.clear(),
                Key::Esc => {}
                Key::CtrlD => {
                    if buf.is_empty() {
                        break;
                    }
                }
                Key::CtrlC => {
                    if buf.is_empty() && ctrl_c_armed {
                        break;
                    }
                    buf.clear();
                    ctrl_c_armed = true;
                    self.redraw_input(&buf);
                    out(&format!("{DIM}   (ctrl-c again to quit){RESET}"));
                    continue;
                }
                Key::Enter => {
                    let deaf = start.elapsed().as_secs_f64() < self.args.deaf_for
                        || pasted_at.is_some_and(|t| {
                            t.elapsed() < Duration::from_millis(self.args.paste_settle_ms)
                        });
                    if deaf {
                        continue;
                    }
                    let prompt = String::from_utf8_lossy(&buf).trim().to_string();
                    if prompt.is_empty() {
                        continue;
                    }
                    buf.clear();
                    // Replace the box by the prompt as history.
                    out(&format!(
                        "\r\x1b[1A\x1b[J{BOLD}❯ {}{RESET}\n\n",
                        truncate(&prompt.replace('\n', " "), 200)
                    ));
                    self.handle(&prompt, input);
                    self.draw_prompt(&buf);
                    continue;
                }
            }
            self.redraw_input(&buf);
        }
        out("\r\x1b[1A\x1b[J");
    }

    fn handle(&mut self, prompt: &str, input: &mut Input) {
        if let Some((batch, integration)) = conflict_prompt(prompt) {
            let result = self.resolve_conflict(batch, &integration, input);
            self.finish(result, Instant::now());
            return;
        }
        let Some((phase, batch)) = parse_prompt(prompt) else {
            out(&format!(
                "{ORANGE}⏺{RESET} I am a demo agent: I understand Leapfrog prompts such as\n  \
                 \"Read TICKETS.md. Execute Batch 1 only.\" or \"Read TICKETS.md. Design Batch 2 only.\"\n"
            ));
            return;
        };
        let started = Instant::now();
        let result = match (phase, batch) {
            (PromptPhase::Design, Some(b)) => self.design(b, input, false),
            (PromptPhase::Recheck, Some(b)) => self.design(b, input, true),
            (PromptPhase::Build, Some(b)) => self.build(b, input, false),
            (PromptPhase::Fix, Some(b)) => {
                self.findings = findings_in(prompt);
                if let Some(f) = &self.findings {
                    out(&format!("{GREEN}⏺{RESET} Addressing the review: {f}\n"));
                }
                self.build(b, input, true)
            }
            (PromptPhase::Review, Some(b)) => self.review(b, input, PromptPhase::Review),
            (PromptPhase::Qa, Some(b)) => self.review(b, input, PromptPhase::Qa),
            (p, _) if p.is_preamble() => self.preamble(p, input),
            (p, None) => Ok(Err(format!("the {} prompt names no batch", p.as_str()))),
            (p, Some(_)) => Ok(Err(format!("no script for {}", p.as_str()))),
        };
        self.finish(result, started);
    }

    fn finish(&mut self, result: Result<Result<Report, String>, Interrupted>, started: Instant) {
        out("\r\x1b[K");
        match result {
            Err(Interrupted) => out(&format!(
                "{RED}  └  Interrupted{RESET} · what should I do instead?\n"
            )),
            Ok(Err(e)) => out(&format!("{RED}⏺ {e}{RESET}\n")),
            Ok(Ok(report)) => {
                out(&format!("{CYAN}${RESET} {}\n", report.command));
                self.send(report.request);
                out(&format!("\n{}\n", report.block));
                out(&format!(
                    "{DIM}✻ Worked for {}s{RESET}\n",
                    started.elapsed().as_secs()
                ));
            }
        }
    }

    /// Reports to Leapfrog when inside it.
    fn send(&self, request: Request) {
        if std::env::var(ENV_SOCKET)
            .map(|s| s.is_empty())
            .unwrap_or(true)
        {
            out(&format!(
                "{DIM}  └  not inside Leapfrog ({ENV_SOCKET} unset): report printed only{RESET}\n"
            ));
            return;
        }
        match ControlClient::discover().and_then(|c| c.request(request)) {
            Ok(reply) if reply.message.is_empty() => {
                out(&format!("{DIM}  └  reported to Leapfrog{RESET}\n"))
            }
            Ok(reply) => out(&format!("{DIM}  └  {}{RESET}\n", reply.message.trim_end())),
            Err(e) => out(&format!("{RED}  └  leap: {e}{RESET}\n")),
        }
    }

    /// One visible step of work: a line, then the spinner for the step's share of the phase's time.
    fn step(
        &self,
        input: &mut Input,
        verb: &str,
        text: &str,
        secs: f64,
        started: Instant,
    ) -> Result<(), Interrupted> {
        out(&format!("\r\x1b[K{GREEN}⏺{RESET} {text}\n"));
        let speed = if self.args.speed > 0.0 {
            self.args.speed
        } else {
            1.0
        };
        let until = Instant::now() + Duration::from_secs_f64((secs / speed).clamp(0.0, 3600.0));
        let mut frame = 0usize;
        loop {
            if input.interrupted() {
                return Err(Interrupted);
            }
            out(&format!(
                "\r\x1b[K{ORANGE}{}{RESET} {verb}… {DIM}({}s · esc to interrupt){RESET}",
                SPINNER[frame % SPINNER.len()],
                started.elapsed().as_secs()
            ));
            frame += 1;
            let now = Instant::now();
            if now >= until {
                return Ok(());
            }
            std::thread::sleep((until - now).min(Duration::from_millis(100)));
        }
    }

    /// A permission prompt: asks `question` (it ends with `[y/n]`) and waits for the answer.
    /// Inside Leapfrog, calls the Notification hook as Claude Code does. `y` allows; `n`, Esc,
    /// Ctrl-C or the end of input stop the phase. The question is replaced by the answer, as a
    /// CLI's dialog closes.
    fn ask(&self, input: &mut Input, what: &str) -> Result<(), Interrupted> {
        let question = format!("Allow {what}? [y/n]");
        out(&format!(
            "\r\x1b[K{ORANGE}?{RESET} {BOLD}{question}{RESET} "
        ));
        self.notify_hook(&format!("Demo agent needs your permission: {what}"));
        let allowed = loop {
            match input.next_key() {
                Some(Key::Text(t)) => match t.first().map(u8::to_ascii_lowercase) {
                    Some(b'y') => break true,
                    Some(b'n') => break false,
                    _ => {}
                },
                Some(Key::CtrlC | Key::Esc | Key::CtrlD) | None => break false,
                Some(_) => {}
            }
        };
        if allowed {
            out(&format!("\r\x1b[K{DIM}  └  allowed: {what}{RESET}\n"));
            Ok(())
        } else {
            out(&format!("\r\x1b[K{DIM}  └  not allowed: {what}{RESET}\n"));
            Err(Interrupted)
        }
    }

    /// Claude Code's Notification hook, through the control endpoint when inside Leapfrog.
    fn notify_hook(&self, message: &str) {
        if std::env::var(ENV_SOCKET).map_or(true, |s| s.is_empty()) {
            return;
        }
        let request = Request::Hook(HookRequest {
            event: "notification".into(),
            payload: serde_json::json!({
                "hook_event_name": "Notification",
                "notification_type": "permission_prompt",
                "message": message,
            }),
        });
        // Like a CLI hook: a failure never disturbs the agent.
        let _ = ControlClient::discover().and_then(|c| c.request(request));
    }

    fn tickets_path(&self) -> PathBuf {
        self.project.join("TICKETS.md")
    }

    fn read_tickets(&self) -> Result<String, String> {
        std::fs::read_to_string(self.tickets_path())
            .map_err(|e| format!("cannot read {}: {e}", self.tickets_path().display()))
    }

    fn verify_command(&self) -> String {
        std::fs::read_to_string(self.project.join(".leapfrog/project.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.get("verify").and_then(|v| v.as_str()).map(str::to_string))
            .unwrap_or_else(|| "sh verify.sh".to_string())
    }

    fn run_verify(&self) -> (Outcome, String) {
        let cmd = self.verify_command();
        match std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .current_dir(&self.project)
            .output()
        {
            Ok(o) if o.status.success() => (Outcome::Passed, cmd),
            Ok(_) | Err(_) => (Outcome::Failed, cmd),
        }
    }

    fn commit(&self, paths: &[&str], message: &str) -> Result<Option<String>, String> {
        let mut add = vec!["add", "--"];
        add.extend(paths);
        git(&self.project, &add)?;
        let mut status = vec!["status", "--porcelain", "--"];
        status.extend(paths);
        if git(&self.project, &status)?.trim().is_empty() {
            return Ok(None);
        }
        let mut commit = vec!["commit", "-q", "-m", message, "--"];
        commit.extend(paths);
        git(&self.project, &commit)?;
        let mut log = vec!["log", "-1", "--format=%h", "--"];
        log.extend(paths);
        Ok(Some(git(&self.project, &log)?.trim().to_string()))
    }

    fn preamble(
        &mut self,
        phase: PromptPhase,
        input: &mut Input,
    ) -> Result<Result<Report, String>, Interrupted> {
        let started = Instant::now();
        let verb = match phase {
            PromptPhase::Discovery => "Discovering",
            PromptPhase::Requirements => "Gathering requirements",
            _ => "Planning",
        };
        self.step(
            input,
            verb,
            "Reading the repository and TICKETS.md",
            1.5,
            started,
        )?;
        let name = phase.as_str().to_uppercase();
        let rel = format!("docs/{name}.md");
        let text = format!(
            "# {name}\n\nWritten by the demo {} agent.\n\n- The project is a greeting script with a verify.sh.\n- TICKETS.md holds the batches.\n",
            self.role_name()
        );
        self.step(input, verb, &format!("Writing {rel}"), 1.5, started)?;
        let write = std::fs::create_dir_all(self.project.join("docs"))
            .and_then(|_| std::fs::write(self.project.join(&rel), text));
        if let Err(e) = write {
            return Ok(Err(format!("cannot write {rel}: {e}")));
        }
        let commit = match self.commit(&[&rel], &format!("{}: {rel}", capitalise(phase.as_str()))) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let commits: Vec<String> = commit.into_iter().collect();
        Ok(Ok(Report {
            command: format!("leap complete --phase {}", phase.as_str()),
            request: Request::Complete(CompleteRequest {
                batch: None,
                phase: Some(phase),
                verify: None,
                commits,
                notes: None,
            }),
            block: format!(
                "## COMPLETE — {} Done\n\nOutput: {rel}\n\nReady for: Next phase",
                capitalise(phase.as_str())
            ),
        }))
    }

    fn design(
        &mut self,
        batch: u32,
        input: &mut Input,
        recheck: bool,
    ) -> Result<Result<Report, String>, Interrupted> {
        let started = Instant::now();
        let verb = if recheck { "Re-checking" } else { "Designing" };
        self.step(input, verb, "Reading TICKETS.md", 1.0, started)?;
        let text = match self.read_tickets() {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        };
        let (mut text, tickets) = match batch_tickets(&text, batch) {
            Some(t) if !t.is_empty() => (text, t),
            _ => {
                self.step(
                    input,
                    verb,
                    &format!("Adding Batch {batch} to TICKETS.md"),
                    1.0,
                    started,
                )?;
                let t = add_batch(&text, batch);
                let tickets = batch_tickets(&t, batch).unwrap_or_default();
                (t, tickets)
            }
        };
        for (id, title) in &tickets {
            self.step(
                input,
                verb,
                &format!("Specifying {id}: {title}"),
                1.0,
                started,
            )?;
            text = spec_ticket(&text, id);
        }
        // Re-read just before writing so a concurrent edit by another agent is kept where possible.
        let now = self.read_tickets().unwrap_or_default();
        let fresh = tickets
            .iter()
            .fold(now.clone(), |t, (id, _)| spec_ticket(&t, id));
        let final_text = if batch_tickets(&now, batch).is_some_and(|t| !t.is_empty()) {
            fresh
        } else {
            text
        };
        if let Err(e) = std::fs::write(self.tickets_path(), &final_text) {
            return Ok(Err(format!("cannot write TICKETS.md: {e}")));
        }
        let doc_rel = format!("docs/design/batch-{batch}.md");
        self.step(input, verb, &format!("Writing {doc_rel}"), 1.0, started)?;
        let doc_path = self.project.join(&doc_rel);
        let mut doc = std::fs::read_to_string(&doc_path).unwrap_or_else(|_| {
            let mut d = format!("# Design of Batch {batch}\n\n");
            for (id, title) in &tickets {
                d.push_str(&format!(
                    "## {id}: {title}\n\nA POSIX sh script, `{}`, prints what the ticket asks. It \
                     must pass `sh -n` (verify.sh).\n\n",
                    script_for(id)
                ));
            }
            d
        });
        if recheck {
            doc.push_str("Re-checked after an earlier batch's review failed: still valid.\n");
        }
        let write = std::fs::create_dir_all(doc_path.parent().expect("parent"))
            .and_then(|_| std::fs::write(&doc_path, doc));
        if let Err(e) = write {
            return Ok(Err(format!("cannot write {doc_rel}: {e}")));
        }
        let ids: Vec<String> = tickets.iter().map(|(id, _)| id.clone()).collect();
        let msg = format!(
            "{} Batch {batch}: {}",
            if recheck { "Re-check" } else { "Design" },
            ids.join(", ")
        );
        if let Err(e) = self.commit(&["TICKETS.md", &doc_rel], &msg) {
            return Ok(Err(e));
        }
        let files: Vec<String> = ids.iter().map(|id| script_for(id)).collect();
        let verify = self.verify_command();
        Ok(Ok(Report {
            command: format!(
                "leap handoff --batch {batch} --tickets {} --files {}",
                ids.join(","),
                files.join(",")
            ),
            request: Request::Handoff(HandoffRequest {
                batch,
                tickets: ids.clone(),
                files: files.clone(),
                dependencies: Some("none".into()),
                verify_command: Some(verify.clone()),
                notes: recheck.then(|| "re-checked".to_string()),
            }),
            block: format!(
                "## HANDOFF — Batch {batch} Ready\n\nTickets: {}\nFiles affected: {}\nDependencies: none\nVerify command: {verify}\n\nBuilder: Execute when ready. Don't wait for my next output.",
                ticket_range(&ids),
                files.join(", ")
            ),
        }))
    }

    /// A merge conflict Leapfrog handed over: merges `integration` into the batch's branch
    /// checked out here and keeps both sides of every conflicting file (ours, then the lines of
    /// theirs ours lacks), commits, and reports it as the batch's fix.
    fn resolve_conflict(
        &mut self,
        batch: u32,
        integration: &str,
        input: &mut Input,
    ) -> Result<Result<Report, String>, Interrupted> {
        let started = Instant::now();
        self.step(
            input,
            "Merging",
            &format!("git merge {integration}"),
            1.0,
            started,
        )?;
        let merged = git(&self.project, &["merge", "--no-edit", integration]).is_ok();
        if !merged {
            let files = match git(&self.project, &["diff", "--name-only", "--diff-filter=U"]) {
                Ok(f) => f,
                Err(e) => return Ok(Err(e)),
            };
            for file in files.lines().filter(|l| !l.is_empty()) {
                self.step(input, "Merging", &format!("Resolving {file}"), 1.0, started)?;
                let side = |n: u8| git(&self.project, &["show", &format!(":{n}:{file}")]);
                let ours = side(2).unwrap_or_default();
                let theirs = side(3).unwrap_or_default();
                let mut text = ours.clone();
                for line in theirs.lines() {
                    if !ours.lines().any(|l| l == line) {
                        if !text.is_empty() && !text.ends_with('\n') {
                            text.push('\n');
                        }
                        text.push_str(line);
                        text.push('\n');
                    }
                }
                if let Err(e) = std::fs::write(self.project.join(file), text) {
                    return Ok(Err(format!("cannot write {file}: {e}")));
                }
                if let Err(e) = git(&self.project, &["add", "--", file]) {
                    return Ok(Err(e));
                }
            }
            if let Err(e) = git(&self.project, &["commit", "-q", "--no-edit"]) {
                return Ok(Err(e));
            }
        }
        let head = git(&self.project, &["rev-parse", "--short", "HEAD"])
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        out(&format!(
            "\r\x1b[K{DIM}  └  merged {integration} into Batch {batch}'s branch: {head}{RESET}\n"
        ));
        Ok(Ok(Report {
            command: format!("leap complete --batch {batch} --phase fix --commits {head}"),
            request: Request::Complete(CompleteRequest {
                batch: Some(batch),
                phase: Some(PromptPhase::Fix),
                verify: None,
                commits: vec![head.clone()],
                notes: None,
            }),
            block: format!(
                "## COMPLETE — Batch {batch} Done\n\nMerged {integration}: {head}\n\nReady for: Sync point"
            ),
        }))
    }

    fn build(
        &mut self,
        batch: u32,
        input: &mut Input,
        fix: bool,
    ) -> Result<Result<Report, String>, Interrupted> {
        let started = Instant::now();
        let verb = if fix { "Fixing" } else { "Building" };
        self.step(input, verb, "Reading TICKETS.md", 1.0, started)?;
        let text = match self.read_tickets() {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        };
        let tickets = match batch_tickets(&text, batch) {
            Some(t) if !t.is_empty() => t,
            _ => return Ok(Err(format!("Batch {batch} has no tickets in TICKETS.md"))),
        };
        let mut commits = Vec::new();
        for (id, title) in &tickets {
            let rel = script_for(id);
            let path = self.project.join(&rel);
            let what = if fix { "Fixing" } else { "Implementing" };
            self.step(input, verb, &format!("{what} {id}: {title}"), 2.0, started)?;
            if self.args.ask_before_edit {
                self.ask(input, &format!("edit to {rel}"))?;
            }
            let body = if fix {
                let mut b = std::fs::read_to_string(&path).unwrap_or_default();
                b.push_str(&format!("# Fixed after the review of Batch {batch}.\n"));
                if let Some(f) = &self.findings {
                    b.push_str(&format!("# Addressed: {}\n", f.replace('\n', " ")));
                }
                b
            } else {
                format!(
                    "#!/bin/sh\n# {id}: {title} (Batch {batch})\necho \"{}\"\n",
                    format!("{id}: {title}").replace(['"', '`', '$', '\\'], "")
                )
            };
            let write = std::fs::create_dir_all(path.parent().expect("parent"))
                .and_then(|_| std::fs::write(&path, body));
            if let Err(e) = write {
                return Ok(Err(format!("cannot write {rel}: {e}")));
            }
            let msg = if fix {
                format!("{id}: fix after the review of Batch {batch}")
            } else {
                format!("{id}: {title}")
            };
            match self.commit(&[&rel], &msg) {
                Ok(Some(h)) => {
                    out(&format!("\r\x1b[K{DIM}  └  committed {h} {msg}{RESET}\n"));
                    commits.push(h);
                }
                Ok(None) => {}
                Err(e) => return Ok(Err(e)),
            }
        }
        if let (Some(rel), false, Some((id, _))) = (self.args.touch.clone(), fix, tickets.first()) {
            let path = self.project.join(&rel);
            let mut text = std::fs::read_to_string(&path).unwrap_or_default();
            text.push_str(&format!("Batch {batch} was built here.\n"));
            if let Err(e) = std::fs::write(&path, text) {
                return Ok(Err(format!("cannot write {rel}: {e}")));
            }
            match self.commit(&[&rel], &format!("{id}: note Batch {batch} in {rel}")) {
                Ok(Some(h)) => commits.push(h),
                Ok(None) => {}
                Err(e) => return Ok(Err(e)),
            }
        }
        let (outcome, cmd) = {
            self.step(input, verb, "Running the verify command", 1.0, started)?;
            self.run_verify()
        };
        let verdict = outcome.as_str().to_uppercase();
        out(&format!("\r\x1b[K{DIM}  └  {cmd}: {verdict}{RESET}\n"));
        let ids: Vec<String> = tickets.iter().map(|(id, _)| id.clone()).collect();
        let phase = if fix {
            PromptPhase::Fix
        } else {
            PromptPhase::Build
        };
        let phase_flag = if fix { " --phase fix" } else { "" };
        Ok(Ok(Report {
            command: format!(
                "leap complete --batch {batch}{phase_flag} --verify {} --commits {}",
                outcome.as_str(),
                commits.join(",")
            ),
            request: Request::Complete(CompleteRequest {
                batch: Some(batch),
                phase: Some(phase),
                verify: Some(outcome),
                commits: commits.clone(),
                notes: None,
            }),
            block: format!(
                "## COMPLETE — Batch {batch} Done\n\nTickets completed: {}\nCommits: {}\nVerify: {verdict}\n\nReady for: Review / Next batch",
                ticket_range(&ids),
                commits.join(", ")
            ),
        }))
    }

    fn review(
        &mut self,
        batch: u32,
        input: &mut Input,
        phase: PromptPhase,
    ) -> Result<Result<Report, String>, Interrupted> {
        let started = Instant::now();
        let verb = if phase == PromptPhase::Qa {
            "Testing"
        } else {
            "Reviewing"
        };
        self.step(
            input,
            verb,
            &format!("Reading the Batch {batch} diff"),
            1.0,
            started,
        )?;
        if self.args.review_secs > 0.0 {
            let speed = if self.args.speed > 0.0 {
                self.args.speed
            } else {
                1.0
            };
            self.step(
                input,
                verb,
                "Reading every line of it",
                self.args.review_secs * speed,
                started,
            )?;
        }
        let tickets = self
            .read_tickets()
            .ok()
            .and_then(|t| batch_tickets(&t, batch))
            .unwrap_or_default();
        // The batch's recorded diff when the run keeps one (its commits may be on a branch
        // that is not checked out here), else the history of HEAD.
        let range = format!("refs/leapfrog/batch-{batch}/base..refs/leapfrog/batch-{batch}/head");
        let ranged = git(
            &self.project,
            &[
                "rev-parse",
                "-q",
                "--verify",
                &format!("refs/leapfrog/batch-{batch}/head"),
            ],
        )
        .is_ok();
        let mut log_args = vec!["log", "--format=%h%x09%s"];
        if ranged {
            log_args.push(&range);
        }
        let log = match git(&self.project, &log_args) {
            Ok(l) => l,
            Err(e) => return Ok(Err(e)),
        };
        let commits: Vec<&str> = log
            .lines()
            .filter(|l| {
                let subject = l.split_once('\t').map(|(_, s)| s).unwrap_or("");
                tickets
                    .iter()
                    .any(|(id, _)| subject.starts_with(&format!("{id}:")))
            })
            .collect();
        out(&format!(
            "\r\x1b[K{DIM}  └  {} commit{} for Batch {batch}{RESET}\n",
            commits.len(),
            if commits.len() == 1 { "" } else { "s" }
        ));
        for line in &commits {
            let hash = line.split('\t').next().unwrap_or("");
            let stat =
                git(&self.project, &["show", "--numstat", "--format=", hash]).unwrap_or_default();
            for s in stat.lines().filter(|l| !l.trim().is_empty()) {
                let mut parts = s.split('\t');
                let (added, removed, file) = (
                    parts.next().unwrap_or("0"),
                    parts.next().unwrap_or("0"),
                    parts.next().unwrap_or(""),
                );
                out(&format!(
                    "{DIM}     {hash} {file} {GREEN}+{added}{RESET}{DIM} {RED}-{removed}{RESET}\n"
                ));
            }
        }
        for (id, title) in &tickets {
            self.step(
                input,
                verb,
                &format!("Checking {id}: {title} against its acceptance criteria"),
                1.0,
                started,
            )?;
        }
        let attempt = {
            let n = self.reviews.entry(batch).or_insert(0);
            *n += 1;
            *n
        };
        let unbuilt: Vec<&str> = tickets
            .iter()
            .map(|(id, _)| id.as_str())
            .filter(|id| {
                !commits.iter().any(|l| {
                    l.split_once('\t')
                        .is_some_and(|(_, s)| s.starts_with(&format!("{id}:")))
                })
            })
            .collect();
        let findings;
        let outcome = if commits.is_empty() {
            findings = format!("no commits found for the tickets of Batch {batch}");
            Outcome::Failed
        } else if !unbuilt.is_empty() {
            findings = format!("no commit for {}", unbuilt.join(", "));
            Outcome::Failed
        } else if phase == PromptPhase::Review
            && attempt == 1
            && self.args.fail_batches.contains(&batch)
        {
            findings = format!(
                "{} prints its text but has no usage line (scripted failure)",
                tickets.first().map(|t| t.0.as_str()).unwrap_or("the batch")
            );
            Outcome::Failed
        } else if phase == PromptPhase::Review
            && unit_random(self.args.seed, batch, attempt) < self.args.fail_rate
        {
            findings = format!(
                "{} lacks an error message for bad input",
                tickets.last().map(|t| t.0.as_str()).unwrap_or("the batch")
            );
            Outcome::Failed
        } else {
            findings = "every ticket meets its acceptance criteria".into();
            Outcome::Passed
        };
        let verdict = outcome.as_str().to_uppercase();
        let colour = if outcome == Outcome::Passed {
            GREEN
        } else {
            RED
        };
        out(&format!("\r\x1b[K{colour}⏺ {verdict}{RESET}: {findings}\n"));
        let ids: Vec<String> = tickets.iter().map(|(id, _)| id.clone()).collect();
        let title = if phase == PromptPhase::Qa {
            "QA"
        } else {
            "REVIEW"
        };
        Ok(Ok(Report {
            command: format!(
                "leap complete --batch {batch} --phase {} --verify {} --notes '{findings}'",
                phase.as_str(),
                outcome.as_str()
            ),
            request: Request::Complete(CompleteRequest {
                batch: Some(batch),
                phase: Some(phase),
                verify: Some(outcome),
                commits: Vec::new(),
                notes: Some(findings.clone()),
            }),
            block: format!(
                "## {title} — Batch {batch} {verdict}\n\nTickets reviewed: {}\nFindings: {findings}\n\nReady for: {}",
                ticket_range(&ids),
                if outcome == Outcome::Passed {
                    "Next batch"
                } else {
                    "Fix"
                }
            ),
        }))
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The ticket ids for a HANDOFF / COMPLETE block.
fn ticket_range(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".into()
    } else {
        ids.join(", ")
    }
}

/// The file a ticket's code goes to: `src/t-001.sh`.
fn script_for(id: &str) -> String {
    format!("src/{}.sh", id.to_ascii_lowercase())
}

/// A number in [0, 1) from the seed, batch and attempt (splitmix64).
fn unit_random(seed: u64, batch: u32, attempt: u32) -> f64 {
    let mut z = seed
        .wrapping_add(0x9e37_79b9_7f4a_7c15u64.wrapping_mul(batch as u64 + 1))
        .wrapping_add((attempt as u64) << 32);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn batch_heading(line: &str) -> Option<u32> {
    let rest = line.strip_prefix("## ")?;
    let mut words = rest.split_whitespace();
    words.next()?;
    let n = words.next()?;
    n.trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()
}

fn ticket_heading(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("### ")?;
    let (id, title) = rest.split_once(':')?;
    let id = id.trim();
    let valid = id.split_once('-').is_some_and(|(p, n)| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
    });
    valid.then(|| (id.to_string(), title.trim().to_string()))
}

/// The tickets (`### ID: Title`) of batch `n` (`## <Word> n: ...`); `None` when the batch is absent.
pub fn batch_tickets(text: &str, n: u32) -> Option<Vec<(String, String)>> {
    let mut in_batch = false;
    let mut found = false;
    let mut tickets = Vec::new();
    for line in text.lines() {
        if line.starts_with("## ") {
            in_batch = batch_heading(line) == Some(n);
            found |= in_batch;
        } else if in_batch {
            if let Some(t) = ticket_heading(line) {
                tickets.push(t);
            }
        }
    }
    found.then_some(tickets)
}

/// Appends batch `n` with two new tickets numbered after the file's highest `T-NNN`.
pub fn add_batch(text: &str, n: u32) -> String {
    let max = text
        .lines()
        .filter_map(ticket_heading)
        .filter_map(|(id, _)| id.strip_prefix("T-").and_then(|d| d.parse::<u32>().ok()))
        .max()
        .unwrap_or(0);
    let mut t = text.trim_end_matches('\n').to_string();
    t.push_str(&format!(
        "\n\n## Batch {n}: Demo batch {n}\nGoal: more of the same.\n"
    ));
    for k in 1..=2 {
        t.push_str(&format!(
            "\n### T-{:03}: Demo feature {n}.{k}\n- **Status:** todo\n\nA small script for batch {n}.\n",
            max + k
        ));
    }
    t
}

/// Adds a `Files` field and acceptance criteria to ticket `id` when it has none. Other lines are
/// untouched.
pub fn spec_ticket(text: &str, id: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let Some(start) = lines
        .iter()
        .position(|l| ticket_heading(l.trim_end()).is_some_and(|(i, _)| i == id))
    else {
        return text.to_string();
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with('#') && (l.starts_with("## ") || l.starts_with("### ")))
        .map(|p| start + 1 + p)
        .unwrap_or(lines.len());
    let body = &lines[start + 1..end];
    let mut fields_end = start + 1;
    while fields_end < end && lines[fields_end].starts_with("- **") {
        fields_end += 1;
    }
    let has_files = lines[start + 1..fields_end]
        .iter()
        .any(|l| l.starts_with("- **Files:**"));
    let has_ac = body.iter().any(|l| l.contains("**Acceptance criteria**"));
    let script = script_for(id);
    let mut result = String::with_capacity(text.len() + 200);
    for (i, l) in lines.iter().enumerate() {
        if i == fields_end && !has_files {
            result.push_str(&format!("- **Files:** `{script}`\n"));
        }
        if i == end && !has_ac {
            ac_block(&mut result, &script);
        }
        result.push_str(l);
        if i + 1 == lines.len() && !l.ends_with('\n') {
            result.push('\n');
        }
    }
    if fields_end == lines.len() && !has_files {
        result.push_str(&format!("- **Files:** `{script}`\n"));
    }
    if end == lines.len() && !has_ac {
        ac_block(&mut result, &script);
    }
    result
}

fn ac_block(result: &mut String, script: &str) {
    // Exactly one blank line before the block and after it.
    while result.ends_with("\n\n") {
        result.pop();
    }
    result.push_str(&format!(
        "\n**Acceptance criteria**\n- [ ] `sh {script}` prints the ticket's text\n- [ ] `sh verify.sh` passes\n\n"
    ));
}

pub fn run(args: DemoAgentArgs) -> Result<ExitCode, String> {
    if !(0.0..=1.0).contains(&args.fail_rate) {
        return Err(format!(
            "--fail-rate {} must be between 0 and 1",
            args.fail_rate
        ));
    }
    if args.speed.is_nan() || args.speed <= 0.0 {
        return Err(format!("--speed {} must be above 0", args.speed));
    }
    let project = match &args.project {
        Some(p) => p.clone(),
        None => std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?,
    };
    if !Path::new(&project).join("TICKETS.md").exists() {
        out(&format!(
            "{ORANGE}warning:{RESET} no TICKETS.md in {} (try `leap demo init DIR`)\n",
            project.display()
        ));
    }
    let raw = RawMode::enable();
    out("\x1b[?2004h");
    let mut agent = Agent {
        args,
        project,
        reviews: Default::default(),
        findings: None,
    };
    let mut input = Input::start();
    agent.run(&mut input);
    out("\x1b[?2004l");
    drop(raw);
    out("\n");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fix_prompt_names_its_findings() {
        assert_eq!(
            findings_in("Fix Batch 1: its review failed. Findings: from the user's review: src/a.sh:2: add usage; test it. Fix this batch only and commit."),
            Some("from the user's review: src/a.sh:2: add usage; test it".into())
        );
        assert_eq!(findings_in("Fix Batch 1. Findings: . Fix this batch"), None);
        assert_eq!(findings_in("Fix Batch 1."), None);
    }

    fn check_keys(chunks: &[&[u8]], expect: &[Key]) {
        let mut p = KeyParser::default();
        let got: Vec<Key> = chunks.iter().flat_map(|c| p.feed(c)).collect();
        assert_eq!(got, expect, "{chunks:?}");
    }

    #[test]
    fn keys_and_pastes() {
        use Key::*;
        let t = |s: &str| Text(s.as_bytes().to_vec());
        let p = |s: &str| Paste(s.as_bytes().to_vec());
        check_keys(&[b"hi\r"], &[t("hi"), Enter]);
        check_keys(&[b"a\r\nb\n"], &[t("a"), Enter, t("b"), Enter]);
        check_keys(
            &[b"\x1b[200~Read TICKETS.md.\nExecute Batch 1 only.\x1b[201~\r"],
            &[p("Read TICKETS.md.\nExecute Batch 1 only."), Enter],
        );
        // A paste split across reads, its end marker too.
        check_keys(
            &[b"\x1b[20", b"0~abc\x1b[2", b"01~", b"\r"],
            &[p("abc"), Enter],
        );
        // Control bytes and escape sequences inside a paste are its text.
        check_keys(&[b"\x1b[200~a\x03\x1b[Ab\x1b[201~"], &[p("a\x03\x1b[Ab")]);
        check_keys(
            &[b"x\x7f\x1b[A\x1bOPy\x03\x04\x15"],
            &[t("x"), Backspace, t("y"), CtrlC, CtrlD, KillLine],
        );
        check_keys(&[b"\x1b\x1b["], &[Esc]);
    }

    #[test]
    fn lone_esc_after_a_pause() {
        let mut p = KeyParser::default();
        assert_eq!(p.feed(b"\x1b"), vec![]);
        assert_eq!(p.flush_lone_esc(), Some(Key::Esc));
        assert_eq!(p.flush_lone_esc(), None);
    }

    #[test]
    fn tickets_of_a_batch() {
        let text = crate::demo::DEMO_TICKETS;
        let ids =
            |n| batch_tickets(text, n).map(|t| t.into_iter().map(|(i, _)| i).collect::<Vec<_>>());
        assert_eq!(ids(1), Some(vec!["T-001".into(), "T-002".into()]));
        assert_eq!(
            ids(2),
            Some(vec!["T-003".into(), "T-004".into(), "T-005".into()])
        );
        assert_eq!(ids(4), Some(vec!["T-008".into(), "T-009".into()]));
        assert_eq!(ids(5), None);
        let added = add_batch(text, 5);
        assert!(added.starts_with(text.trim_end()));
        assert_eq!(
            batch_tickets(&added, 5),
            Some(vec![
                ("T-010".into(), "Demo feature 5.1".into()),
                ("T-011".into(), "Demo feature 5.2".into())
            ])
        );
    }

    #[test]
    fn spec_ticket_edits_only_its_ticket() {
        let text = "## Batch 1: A\n\n### T-001: One\n- **Status:** todo\n- **Depends on:** —\n\nBody.\n\n### T-002: Two\n- **Status:** todo\n";
        let once = spec_ticket(text, "T-001");
        assert_eq!(
            once,
            "## Batch 1: A\n\n### T-001: One\n- **Status:** todo\n- **Depends on:** —\n- **Files:** `src/t-001.sh`\n\nBody.\n\n**Acceptance criteria**\n- [ ] `sh src/t-001.sh` prints the ticket's text\n- [ ] `sh verify.sh` passes\n\n### T-002: Two\n- **Status:** todo\n"
        );
        // Idempotent, and the last ticket of the file gets its block at the end.
        assert_eq!(spec_ticket(&once, "T-001"), once);
        let both = spec_ticket(&once, "T-002");
        assert!(both.starts_with(&once));
        assert!(both.ends_with("### T-002: Two\n- **Status:** todo\n- **Files:** `src/t-002.sh`\n\n**Acceptance criteria**\n- [ ] `sh src/t-002.sh` prints the ticket's text\n- [ ] `sh verify.sh` passes\n\n"), "{both}");
        assert_eq!(spec_ticket(text, "T-404"), text);
    }

    #[test]
    fn verdicts_are_repeatable() {
        let a: Vec<f64> = (1..20).map(|b| unit_random(7, b, 1)).collect();
        let b: Vec<f64> = (1..20).map(|b| unit_random(7, b, 1)).collect();
        assert_eq!(a, b);
        assert!(a.iter().all(|x| (0.0..1.0).contains(x)));
        assert_ne!(unit_random(7, 1, 1), unit_random(8, 1, 1));
        assert_ne!(unit_random(7, 1, 1), unit_random(7, 1, 2));
    }
}
