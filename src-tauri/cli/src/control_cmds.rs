//! `leap complete | handoff | status | verify | hook`: clients of the running app's control endpoint.
//! `leap agents`: the agent CLIs on this machine.

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use leapfrog_engine::agents::prompts::PromptPhase;
use leapfrog_engine::control::{
    ClientError, CompleteRequest, ControlClient, Endpoint, HandoffRequest, HookRequest, Outcome,
    Request, ENV_SOCKET,
};

#[derive(Args, Debug, Clone, Default)]
pub struct CompleteArgs {
    /// The batch the phase was for (omit for discovery, requirements, plan).
    #[arg(long)]
    pub batch: Option<u32>,
    /// The phase that finished: discovery, requirements, plan, design, build, review, fix, qa, recheck.
    /// Default: the phase the app gave this agent.
    #[arg(long)]
    pub phase: Option<String>,
    /// passed or failed: the verify run (build, fix) or the verdict (review, qa).
    #[arg(long)]
    pub verify: Option<String>,
    /// Commit hashes, comma or space separated.
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    pub commits: Vec<String>,
    /// Free notes (review findings, what is left).
    #[arg(long)]
    pub notes: Option<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct HandoffArgs {
    #[arg(long)]
    pub batch: u32,
    /// Ticket ids, comma or space separated (T-004,T-005).
    #[arg(long, num_args = 1.., value_delimiter = ',', required = true)]
    pub tickets: Vec<String>,
    /// Files affected, comma or space separated.
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    pub files: Vec<String>,
    /// Setup the batch needs.
    #[arg(long)]
    pub dependencies: Option<String>,
    /// The command that verifies the batch.
    #[arg(long)]
    pub verify_command: Option<String>,
    #[arg(long)]
    pub notes: Option<String>,
}

/// Splits values that may also contain spaces ("T-1 T-2") and drops empties.
fn words(values: Vec<String>) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split_whitespace())
        .map(str::to_string)
        .collect()
}

/// Builds the request of `leap complete`, checking its values. Errors are one line.
pub fn complete_request(args: CompleteArgs) -> Result<CompleteRequest, String> {
    let phase = args
        .phase
        .as_deref()
        .map(|p| {
            PromptPhase::parse(&p.to_ascii_lowercase()).ok_or_else(|| {
                format!(
                    "--phase {p:?} is not a phase (one of: {})",
                    PromptPhase::ALL.map(|p| p.as_str()).join(", ")
                )
            })
        })
        .transpose()?;
    let verify = args
        .verify
        .as_deref()
        .map(|v| {
            Outcome::parse(v).ok_or_else(|| format!("--verify {v:?} must be passed or failed"))
        })
        .transpose()?;
    if args.batch.is_none() && !phase.is_some_and(PromptPhase::is_preamble) {
        return Err(
            "--batch is required (only discovery, requirements and plan have no batch)".into(),
        );
    }
    if args.batch == Some(0) {
        return Err("--batch counts from 1".into());
    }
    Ok(CompleteRequest {
        batch: args.batch,
        phase,
        verify,
        commits: words(args.commits),
        notes: args.notes,
    })
}

/// Builds the request of `leap handoff`.
pub fn handoff_request(args: HandoffArgs) -> Result<HandoffRequest, String> {
    if args.batch == 0 {
        return Err("--batch counts from 1".into());
    }
    let tickets = words(args.tickets);
    if tickets.is_empty() {
        return Err("--tickets needs at least one ticket id".into());
    }
    Ok(HandoffRequest {
        batch: args.batch,
        tickets,
        files: words(args.files),
        dependencies: args.dependencies,
        verify_command: args.verify_command,
        notes: args.notes,
    })
}

fn client() -> Result<ControlClient, String> {
    ControlClient::discover().map_err(|e| e.to_string())
}

fn send(client: &ControlClient, req: Request) -> Result<leapfrog_engine::control::Reply, String> {
    client.request(req).map_err(|e| match e {
        ClientError::NotRunning(_) => format!("{e}; start Leapfrog first"),
        e => e.to_string(),
    })
}

fn print_message(msg: &str) {
    if !msg.is_empty() {
        println!("{}", msg.trim_end());
    }
}

/// The app's reply as `--json` asks (its data) or as words (its message).
fn print_reply(reply: &leapfrog_engine::control::Reply, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&reply.data).expect("json value")
        );
    } else {
        print_message(&reply.message);
    }
}

pub fn complete(args: CompleteArgs) -> Result<ExitCode, String> {
    let req = complete_request(args)?;
    let reply = send(&client()?, Request::Complete(req))?;
    print_message(&reply.message);
    Ok(ExitCode::SUCCESS)
}

pub fn handoff(args: HandoffArgs) -> Result<ExitCode, String> {
    let req = handoff_request(args)?;
    let reply = send(&client()?, Request::Handoff(req))?;
    print_message(&reply.message);
    Ok(ExitCode::SUCCESS)
}

pub fn status(json: bool) -> Result<ExitCode, String> {
    let reply = send(&client()?, Request::Status)?;
    print_reply(&reply, json);
    Ok(ExitCode::SUCCESS)
}

/// Runs verify in the app; exits 1 when the app says it failed (`data.passed == false`).
pub fn verify(json: bool) -> Result<ExitCode, String> {
    let mut c = client()?;
    c.timeout = None;
    let reply = send(&c, Request::Verify)?;
    print_reply(&reply, json);
    let failed = reply.data.get("passed").and_then(|p| p.as_bool()) == Some(false);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `leap review`: approves a batch whose review is running, or requests changes with comments
/// that go together into its builder's fix prompt.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("verdict").required(true).args(["approve", "request_changes"])))]
pub struct ReviewArgs {
    /// The batch.
    #[arg(long)]
    pub batch: u32,
    /// The batch is good: its review passes.
    #[arg(long)]
    pub approve: bool,
    /// The batch needs changes: its review fails and the builder gets a fix with the comments.
    #[arg(long)]
    pub request_changes: bool,
    /// A comment, as FILE:LINE:TEXT, FILE::TEXT or TEXT (repeat for more).
    #[arg(long = "comment", value_name = "FILE:LINE:TEXT")]
    pub comments: Vec<String>,
    /// Print JSON instead of a line.
    #[arg(long)]
    pub json: bool,
}

pub fn review(args: ReviewArgs) -> Result<ExitCode, String> {
    let comments = args
        .comments
        .iter()
        .map(|c| leapfrog_engine::orchestrator::ReviewComment::parse(c))
        .collect::<Result<Vec<_>, _>>()?;
    let reply = send(
        &client()?,
        Request::Review(leapfrog_engine::control::ReviewRequest {
            batch: args.batch,
            approve: args.approve,
            comments,
        }),
    )?;
    print_reply(&reply, args.json);
    Ok(ExitCode::SUCCESS)
}

/// The hook's payload: the argument when given (Codex), else stdin when it is not a terminal.
/// Text that is not JSON is passed on as a JSON string.
fn hook_payload(arg: Option<&str>) -> serde_json::Value {
    let text = match arg {
        Some(a) => a.to_string(),
        None => {
            use std::io::IsTerminal;
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                String::new()
            } else {
                let mut s = String::new();
                let _ = stdin.lock().take(1 << 20).read_to_string(&mut s);
                s
            }
        }
    };
    let t = text.trim();
    if t.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(t).unwrap_or_else(|_| serde_json::Value::String(t.to_string()))
    }
}

/// `leap hook <event>`: silent on stdout (Claude Code adds a UserPromptSubmit hook's stdout to the
/// prompt), never fails the CLI that called it: problems go to stderr and the exit code stays 0.
pub fn hook(event: &str, payload: Option<&str>) {
    if std::env::var(ENV_SOCKET)
        .map(|s| s.is_empty())
        .unwrap_or(true)
    {
        return;
    }
    let payload = hook_payload(payload);
    let result = Endpoint::from_env()
        .map_err(|e| e.to_string())
        .and_then(|ep| {
            let ep = ep.ok_or_else(|| format!("{ENV_SOCKET} is unset"))?;
            let agent = std::env::var(leapfrog_engine::control::ENV_AGENT).ok();
            let mut client = ControlClient::new(ep, agent);
            client.timeout = Some(Duration::from_secs(5));
            client
                .request(Request::Hook(HookRequest {
                    event: event.to_string(),
                    payload,
                }))
                .map_err(|e| e.to_string())
        });
    if let Err(e) = result {
        eprintln!("leap hook {event}: {e}");
    }
}

/// `leap agents`: every shipped CLI profile, whether it is installed, its version, and the command
/// line a fresh agent of that profile would run in the current directory.
pub fn agents(json: bool, timeout_ms: u64) -> Result<ExitCode, String> {
    use leapfrog_engine::agents::launch::{build_launch, LaunchContext, SessionPlan};
    use leapfrog_engine::agents::{cli_display_name, cli_id, detect_installed, AgentProfile};
    let path = std::env::var_os("PATH");
    let found = detect_installed(path.as_deref(), Duration::from_millis(timeout_ms));
    let cwd = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    let leap = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "leap".into());
    let mut rows = Vec::new();
    for inst in found {
        let profile = AgentProfile::builtin(inst.cli);
        let ctx = LaunchContext {
            project_dir: cwd.clone(),
            agent_dir: cwd.join(".leapfrog").join("agents").join(&profile.id),
            leap_program: leap.clone(),
            session: SessionPlan::fresh(),
        };
        let launch = build_launch(&profile, &ctx)?;
        rows.push(serde_json::json!({
            "cli": cli_id(inst.cli),
            "name": cli_display_name(inst.cli),
            "path": inst.path,
            "version": inst.version,
            "error": inst.error,
            "roles": profile.roles,
            "command": launch.command_line(),
            "enforcement": launch.enforcement.description,
            "hooks": launch.hooks,
        }));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rows).expect("json"));
        return Ok(ExitCode::SUCCESS);
    }
    for r in &rows {
        let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
        let state = match (r["path"].as_str(), r["version"].as_str()) {
            (None, _) => "not installed".to_string(),
            (Some(p), Some(v)) => format!("{v}  ({p})"),
            (Some(p), None) => format!("{}  ({p})", s("error")),
        };
        println!("{:<12} {state}", s("name"));
        if r["path"].is_string() {
            println!("{:<12} runs: {}", "", s("command"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
