//! Control endpoint and screen detector figures on this machine.
//!
//! `cargo run --release -p leapfrog-engine --example control_roundtrip`

use std::sync::Arc;
use std::time::{Duration, Instant};

use leapfrog_engine::agents::detect_screen_status;
use leapfrog_engine::control::server::ServerConfig;
use leapfrog_engine::control::{
    CompleteRequest, ControlClient, ControlHandler, ControlServer, HandoffRequest, HookRequest,
    Reply, Request,
};
use leapfrog_engine::model::CliKind;

struct Nop;

impl ControlHandler for Nop {
    fn complete(&self, _: Option<&str>, _: CompleteRequest) -> Result<Reply, String> {
        Ok(Reply::message("ok"))
    }
    fn handoff(&self, _: Option<&str>, _: HandoffRequest) -> Result<Reply, String> {
        Ok(Reply::message("ok"))
    }
    fn status(&self, _: Option<&str>) -> Result<Reply, String> {
        Ok(Reply::message("ok"))
    }
    fn verify(&self, _: Option<&str>) -> Result<Reply, String> {
        Ok(Reply::message("ok"))
    }
    fn hook(&self, _: Option<&str>, _: HookRequest) -> Result<Reply, String> {
        Ok(Reply::message(""))
    }
}

fn main() {
    let dir = std::env::temp_dir().join(format!("leapfrog-bench-{}", std::process::id()));
    let server = ControlServer::start(
        ServerConfig {
            dir: dir.clone(),
            write_token_file: false,
        },
        Arc::new(Nop),
    )
    .expect("server");
    let client = ControlClient::new(server.endpoint().clone(), Some("bench".into()));
    let n = 5_000;
    let hook = || {
        Request::Hook(HookRequest {
            event: "stop".into(),
            payload: serde_json::json!({"session_id": "0b4f7f5e-2f5c-4a59-9a3f-5d7d3e6c1a10", "hook_event_name": "Stop"}),
        })
    };
    for _ in 0..200 {
        client.request(hook()).expect("warm-up");
    }
    let start = Instant::now();
    for _ in 0..n {
        client.request(hook()).expect("request");
    }
    let per = start.elapsed() / n;
    println!(
        "control: {n} hook requests, one connection each: {:.1} µs per request ({:.0} per second)",
        per.as_secs_f64() * 1e6,
        1.0 / per.as_secs_f64()
    );
    server.shutdown();
    let _ = std::fs::remove_dir_all(&dir);

    // The screen detector on a full 40x120 screen (the Claude Code idle screen, padded).
    let claude_idle = include_str!("../tests/agents_screens/claude-idle.txt");
    let codex_working = include_str!("../tests/agents_screens/codex-working.txt");
    let screens = [
        (CliKind::ClaudeCode, claude_idle),
        (CliKind::Codex, codex_working),
    ];
    let m = 50_000;
    let start = Instant::now();
    let mut working = 0;
    for i in 0..m {
        let (cli, screen) = screens[i % 2];
        let obs = detect_screen_status(cli, screen, Duration::from_secs(10));
        working += (obs.status == leapfrog_engine::agents::AgentStatus::Working) as usize;
    }
    let per = start.elapsed() / m as u32;
    println!(
        "screen detector: {m} screens ({working} working): {:.1} µs per screen",
        per.as_secs_f64() * 1e6
    );
}
