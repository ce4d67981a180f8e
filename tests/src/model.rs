//! A scripted model endpoint: a tiny local HTTP server that the real Claude Code CLI
//! (`ANTHROPIC_BASE_URL`) and the real Codex CLI (an OpenAI Responses provider `base_url`) talk
//! to instead of the model APIs, so tests drive real agents through a known conversation.
//!
//! Each agent has a [`Script`]: rules matched against the latest user prompt. A matching rule
//! answers one model turn per [`Step`] (a shell tool call, or an HTTP error) and then its
//! `reply` with end of turn. The answer is picked statelessly from the conversation in the
//! request: the step is the number of tool calls the model already made after the prompt.
//! The one piece of state is the set of error steps already served (see [`Step::Error`]).
//!
//! Routing: `/agent/<name>/v1/...` uses the script of agent `<name>` ([`ModelEndpoint::base_url`]),
//! `/v1/...` the script under the key `""`. Anthropic: `POST /v1/messages` (and
//! `/v1/messages/count_tokens`); OpenAI: `POST /v1/responses`. Everything else is a 404.
//!
//! Plain std: one thread per connection, every response is `Connection: close` (streams are
//! close-delimited server-sent events).

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use regex::{Captures, Regex};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The text answered to side requests (requests without tools, e.g. session-title generation).
pub const SIDE_TEXT: &str = "Leapfrog test session";
/// The text answered to a side request that asks for a JSON object with a `title`.
pub const SIDE_TITLE_JSON: &str = r#"{"title":"Leapfrog test"}"#;
/// The text answered when no rule matches the latest prompt.
pub const NO_SCRIPT: &str = "No script for this prompt.";
/// The `description` of every scripted Claude `Bash` tool call.
pub const BASH_DESCRIPTION: &str = "Run a step of the script";

/// The rules of one agent. JSON: `{"rules": [Rule, ...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// One scripted exchange. JSON: `{"when": "regex", "steps": [Step, ...], "reply": "text"}`
/// (`steps` may be left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A regex searched for (`Regex::captures`) in the latest user prompt (trimmed). Its
    /// captures can be used as `$1`, `${1}`, `${name}` in the steps and the reply
    /// (`Captures::expand`; write `${1}x`, not `$1x`).
    pub when: String,
    /// One model turn per step, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// The final assistant text after the last step (end of turn).
    pub reply: String,
}

/// JSON: `{"shell": "cmd"}` | `{"escalated": "cmd"}` | `{"say": "text"}` | `{"error": ErrorReply}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// A turn that calls the shell tool with this command and stops for the tool result.
    /// Claude: tool `Bash`, input `{"command", "description"}`; Codex: function `exec_command`,
    /// arguments `{"cmd"}`.
    Shell(String),
    /// Like `Shell`, but asking to run outside the CLI's sandbox: Codex gets
    /// `sandbox_permissions: "require_escalated"` with a justification (so an `on-request` Codex
    /// shows its approval prompt); Claude's Bash has no such flag and gets a plain `Shell`.
    Escalated(String),
    /// Not a turn of its own: text streamed at the start of the next answered turn (before the
    /// next `Shell` step's tool call, or before the reply).
    Say(String),
    /// Answer this turn with an HTTP error instead. An error makes no tool call, so it is served
    /// once per (agent, prompt text, step index) for the life of the endpoint: when the same
    /// request comes again (the CLI retried, or the user sent the same prompt again) the error
    /// step is skipped and the next step answers.
    Error(ErrorReply),
}

/// JSON: `{"type": "overloaded"}` | `{"type": "server_error"}` |
/// `{"type": "rate_limited", "reset_unix": 1700000000}` (`reset_unix` optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ErrorReply {
    /// Anthropic 529 `overloaded_error`; OpenAI 503 `server_is_overloaded`.
    Overloaded,
    /// HTTP 500.
    ServerError,
    /// HTTP 429 with the rate-limit headers of each API; the reset defaults to a minute ahead.
    /// `retry_after` (seconds, default: until the reset) decides whether a CLI retries by itself:
    /// Claude Code 2.1.332 retries up to 60 s and shows its final limit screen at once from about
    /// 100 s. Claude Code shows a usage limit (not a generic 429) only in a subscriber or gateway
    /// session and with `anthropic-ratelimit-unified-representative-claim`, which is sent.
    RateLimited {
        #[serde(default)]
        reset_unix: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
}

/// One request the endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedRequest {
    /// The agent of the `/agent/<name>` prefix, `""` without one.
    pub agent: String,
    /// `"anthropic"`, `"openai"` or `"other"`.
    pub api: String,
    pub method: String,
    /// The request target as sent, query string included.
    pub path: String,
    /// The latest user prompt of a main request.
    pub prompt: Option<String>,
    /// The index of the matching rule.
    pub rule: Option<usize>,
    /// The index of the answered step in the rule's `steps`; `steps.len()` for the reply.
    pub step: Option<usize>,
    /// What was answered, in short: `shell:CMD`, `text:TEXT`, `error:429`, `http 404`, ...
    pub answer: String,
    pub unix_ms: u64,
}

/// A running scripted model endpoint on 127.0.0.1; dropping it stops the server.
pub struct ModelEndpoint {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl ModelEndpoint {
    /// Serves `scripts` (agent name → script; `""` for un-prefixed `/v1/...` paths) on a free
    /// port of 127.0.0.1.
    pub fn start(scripts: BTreeMap<String, Script>) -> Result<ModelEndpoint> {
        ModelEndpoint::start_on(0, scripts, false)
    }

    /// [`ModelEndpoint::start`] on a given port (0: any free one), optionally logging one line
    /// per request to stderr.
    pub fn start_on(
        port: u16,
        scripts: BTreeMap<String, Script>,
        log_to_stderr: bool,
    ) -> Result<ModelEndpoint> {
        let mut compiled = BTreeMap::new();
        for (agent, script) in scripts {
            let mut rules = Vec::new();
            for rule in script.rules {
                let regex = Regex::new(&rule.when).with_context(|| {
                    format!("agent {agent:?}: bad `when` regex {:?}", rule.when)
                })?;
                rules.push((regex, rule));
            }
            compiled.insert(agent, rules);
        }
        let listener = TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("binding 127.0.0.1:{port}"))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            scripts: compiled,
            served_errors: Mutex::new(HashSet::new()),
            log: Mutex::new(Vec::new()),
            log_to_stderr,
            stop: AtomicBool::new(false),
        });
        let accept_shared = shared.clone();
        let accept = std::thread::Builder::new()
            .name("scripted-model".into())
            .spawn(move || accept_loop(listener, accept_shared))?;
        Ok(ModelEndpoint {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:PORT`: requests here use the script under `""`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/agent/<agent>`: the base URL to give the CLI of `agent`.
    pub fn base_url(&self, agent: &str) -> String {
        format!("http://{}/agent/{agent}", self.addr)
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.log.lock().unwrap().clone()
    }
}

impl Drop for ModelEndpoint {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Unblock accept().
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

struct Shared {
    scripts: BTreeMap<String, Vec<(Regex, Rule)>>,
    /// (agent, prompt, step index) of the error steps already answered.
    served_errors: Mutex<HashSet<(String, String, usize)>>,
    log: Mutex<Vec<LoggedRequest>>,
    log_to_stderr: bool,
    stop: AtomicBool,
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = conn else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let shared = shared.clone();
        let _ = std::thread::Builder::new()
            .name("scripted-model-conn".into())
            .spawn(move || handle_connection(stream, &shared));
    }
}

fn handle_connection(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_nodelay(true);
    let (response, entry) = match read_request(&stream) {
        Ok(None) => return, // closed without a request
        Ok(Some(request)) => shared.answer(&request),
        Err(e) => {
            let response = Response::json(
                400,
                json!({"type": "error", "error": {"type": "invalid_request_error", "message": format!("bad HTTP request: {e:#}")}}),
            );
            let entry = LoggedRequest {
                agent: String::new(),
                api: "other".into(),
                method: String::new(),
                path: String::new(),
                prompt: None,
                rule: None,
                step: None,
                answer: "http 400 (bad HTTP request)".into(),
                unix_ms: unix_ms(),
            };
            (response, entry)
        }
    };
    if shared.log_to_stderr {
        eprintln!(
            "scripted-model: {} {} agent={:?} api={} prompt={:?} rule={:?} step={:?} -> {}",
            entry.method,
            entry.path,
            entry.agent,
            entry.api,
            entry.prompt,
            entry.rule,
            entry.step,
            entry.answer
        );
    }
    shared.log.lock().unwrap().push(entry);
    let _ = response.write_to(&stream);
    let _ = stream.shutdown(Shutdown::Write);
    // Drain until the client closes, so unread input cannot turn our close into a reset.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while drained < (1 << 20) {
        match (&stream).read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

struct Request {
    method: String,
    target: String,
    body: Vec<u8>,
}

const MAX_HEAD: usize = 1 << 20;
const MAX_BODY: usize = 256 << 20;

/// Reads one request; `None` when the peer closed before sending anything.
fn read_request(stream: &TcpStream) -> Result<Option<Request>> {
    let mut reader = BufReader::new(stream);
    let mut head_len = 0;
    let mut line = Vec::new();
    // Request line (skipping stray empty lines).
    let request_line = loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            if head_len == 0 {
                return Ok(None);
            }
            bail!("connection closed in the request line");
        }
        head_len += n;
        if head_len > MAX_HEAD {
            bail!("request head too long");
        }
        let text = String::from_utf8_lossy(&line).trim().to_string();
        if !text.is_empty() {
            break text;
        }
    };
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        bail!("bad request line {request_line:?}");
    };
    let (method, target) = (method.to_string(), target.to_string());

    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    let mut expect_continue = false;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            bail!("connection closed in the headers");
        }
        head_len += n;
        if head_len > MAX_HEAD {
            bail!("request head too long");
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        let Some((name, value)) = text.split_once(':') else {
            bail!("bad header line {text:?}");
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        match name.as_str() {
            "content-length" => {
                content_length = Some(value.parse().context("bad Content-Length")?);
            }
            "transfer-encoding" => {
                chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            }
            "expect" => expect_continue = value.eq_ignore_ascii_case("100-continue"),
            _ => {}
        }
    }
    if expect_continue && (chunked || content_length.unwrap_or(0) > 0) {
        let mut out = stream;
        out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        out.flush()?;
    }

    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                bail!("connection closed in a chunk size");
            }
            let size_line = String::from_utf8_lossy(&line);
            let size_hex = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16)
                .with_context(|| format!("bad chunk size {size_hex:?}"))?;
            if size == 0 {
                // Trailers up to the empty line.
                loop {
                    line.clear();
                    let n = reader.read_until(b'\n', &mut line)?;
                    if n == 0 || line.iter().all(|b| matches!(b, b'\r' | b'\n')) {
                        break;
                    }
                }
                break;
            }
            if body.len() + size > MAX_BODY {
                bail!("request body too large");
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
            if &crlf != b"\r\n" {
                bail!("chunk not followed by CRLF");
            }
        }
    } else if let Some(len) = content_length {
        if len > MAX_BODY {
            bail!("request body too large");
        }
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some(Request {
        method,
        target,
        body,
    }))
}

struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    content_type: &'static str,
    body: Vec<u8>,
    /// A close-delimited event stream (no Content-Length).
    stream: bool,
    /// Answer to HEAD: headers only.
    head: bool,
}

impl Response {
    fn json(status: u16, body: Value) -> Response {
        Response {
            status,
            headers: Vec::new(),
            content_type: "application/json",
            body: body.to_string().into_bytes(),
            stream: false,
            head: false,
        }
    }

    fn sse(body: String) -> Response {
        Response {
            status: 200,
            headers: Vec::new(),
            content_type: "text/event-stream",
            body: body.into_bytes(),
            stream: true,
            head: false,
        }
    }

    fn write_to(&self, mut stream: &TcpStream) -> std::io::Result<()> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            529 => "Overloaded",
            _ => "Unknown",
        };
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\n",
            self.status, self.content_type
        );
        if self.stream {
            head.push_str("Cache-Control: no-cache\r\n");
        } else {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str("Connection: close\r\n");
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if !self.head {
            out.extend_from_slice(&self.body);
        }
        stream.write_all(&out)?;
        stream.flush()
    }
}

// ---------------------------------------------------------------------------------------------
// Picking the answer

#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    Anthropic,
    OpenAi,
    Other,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Anthropic => "anthropic",
            Api::OpenAi => "openai",
            Api::Other => "other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Text(String),
    /// A shell command; `true` when it asks to leave the sandbox ([`Step::Escalated`]).
    Shell(String, bool),
}

enum Decision {
    Turn(Vec<Block>),
    Error(ErrorReply),
}

impl Shared {
    fn answer(&self, request: &Request) -> (Response, LoggedRequest) {
        let path = request.target.split('?').next().unwrap_or("");
        let (agent, rest) = match path.strip_prefix("/agent/") {
            Some(tail) => match tail.find('/') {
                Some(slash) => (&tail[..slash], &tail[slash..]),
                None => (tail, ""),
            },
            None => ("", path),
        };
        let rest = rest.trim_end_matches('/');
        let api = match rest {
            "/v1/messages" | "/v1/messages/count_tokens" => Api::Anthropic,
            "/v1/responses" => Api::OpenAi,
            _ => Api::Other,
        };
        let mut entry = LoggedRequest {
            agent: agent.to_string(),
            api: api.name().to_string(),
            method: request.method.clone(),
            path: request.target.clone(),
            prompt: None,
            rule: None,
            step: None,
            answer: String::new(),
            unix_ms: unix_ms(),
        };

        if request.method != "POST" || api == Api::Other {
            entry.answer = "http 404".into();
            let mut response = Response::json(
                404,
                json!({"type": "error", "error": {"type": "not_found_error", "message": format!("scripted model: no route for {} {}", request.method, path)}}),
            );
            response.head = request.method == "HEAD";
            return (response, entry);
        }
        let body = match serde_json::from_slice::<Value>(&request.body) {
            Ok(body) if body.is_object() => body,
            _ => {
                entry.answer = "http 400 (body is not a JSON object)".into();
                let message = "scripted model: the request body is not a JSON object";
                let body = match api {
                    Api::Anthropic => {
                        json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
                    }
                    _ => {
                        json!({"error": {"type": "invalid_request_error", "message": message}})
                    }
                };
                return (Response::json(400, body), entry);
            }
        };
        if rest == "/v1/messages/count_tokens" {
            entry.answer = "count_tokens".into();
            return (Response::json(200, json!({"input_tokens": 10})), entry);
        }

        let decision = if is_side_request(&body) {
            let text = if wants_title_json(api, &body) {
                SIDE_TITLE_JSON
            } else {
                SIDE_TEXT
            };
            entry.answer = "side ".into();
            Decision::Turn(vec![Block::Text(text.to_string())])
        } else {
            let (prompt, tool_calls) = match api {
                Api::Anthropic => anthropic_prompt(&body),
                _ => openai_prompt(&body),
            };
            entry.prompt = prompt.clone();
            self.decide(agent, prompt.as_deref(), tool_calls, &mut entry)
        };

        let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
        let response = match decision {
            Decision::Error(error) => {
                entry
                    .answer
                    .push_str(&format!("error:{}", error_status(api, error)));
                error_response(api, error)
            }
            Decision::Turn(blocks) => {
                entry.answer.push_str(&summarize(&blocks));
                match api {
                    Api::Anthropic => anthropic_turn(&blocks, &body, stream),
                    _ => openai_turn(&blocks, &body, stream),
                }
            }
        };
        (response, entry)
    }

    fn decide(
        &self,
        agent: &str,
        prompt: Option<&str>,
        tool_calls: usize,
        entry: &mut LoggedRequest,
    ) -> Decision {
        let no_script = || Decision::Turn(vec![Block::Text(NO_SCRIPT.to_string())]);
        let Some(prompt) = prompt else {
            return no_script();
        };
        let Some(rules) = self.scripts.get(agent) else {
            return no_script();
        };
        let Some((index, rule, caps)) = rules
            .iter()
            .enumerate()
            .find_map(|(i, (regex, rule))| regex.captures(prompt).map(|c| (i, rule, c)))
        else {
            return no_script();
        };
        entry.rule = Some(index);
        let (step, decision) = plan(rule, &caps, tool_calls, |step| {
            self.served_errors
                .lock()
                .unwrap()
                .insert((agent.to_string(), prompt.to_string(), step))
        });
        entry.step = Some(step);
        decision
    }
}

/// The step of `rule` that answers after `tool_calls` tool calls: `(index, decision)`, index
/// `steps.len()` for the reply. `serve_error(i)` says whether error step `i` is to be served now
/// (and remembers that it was).
fn plan(
    rule: &Rule,
    caps: &Captures,
    tool_calls: usize,
    mut serve_error: impl FnMut(usize) -> bool,
) -> (usize, Decision) {
    let expand = |template: &str| {
        let mut out = String::new();
        caps.expand(template, &mut out);
        out
    };
    let mut passed = 0; // tool-call steps before step i
    let mut said: Vec<Block> = Vec::new();
    for (i, step) in rule.steps.iter().enumerate() {
        match step {
            Step::Say(text) => said.push(Block::Text(expand(text))),
            Step::Shell(command) | Step::Escalated(command) => {
                if passed == tool_calls {
                    let escalated = matches!(step, Step::Escalated(_));
                    said.push(Block::Shell(expand(command), escalated));
                    return (i, Decision::Turn(said));
                }
                passed += 1;
                said.clear();
            }
            Step::Error(error) => {
                if passed == tool_calls && serve_error(i) {
                    return (i, Decision::Error(*error));
                }
            }
        }
    }
    said.push(Block::Text(expand(&rule.reply)));
    (rule.steps.len(), Decision::Turn(said))
}

/// A request without tools: title generation, quota probes and the like.
fn is_side_request(body: &Value) -> bool {
    match body.get("tools") {
        None | Some(Value::Null) => true,
        Some(Value::Array(tools)) => tools.is_empty(),
        Some(_) => false,
    }
}

/// Whether the request asks for a JSON object with a `title` property (structured output).
fn wants_title_json(api: Api, body: &Value) -> bool {
    let formats: Vec<&Value> = match api {
        Api::OpenAi => vec![&body["text"]["format"]],
        _ => vec![&body["output_format"], &body["output_config"]["format"]],
    };
    formats.into_iter().any(|format| {
        format["type"] == "json_schema" && format["schema"]["properties"].get("title").is_some()
    })
}

/// A user text that is a real prompt, trimmed: leading `<system-reminder>` sections are
/// dropped, and a text that is empty or (still) starts with `<` is context injected by the
/// CLI, not a prompt.
fn real_prompt(text: &str) -> Option<String> {
    const OPEN: &str = "<system-reminder>";
    const CLOSE: &str = "</system-reminder>";
    let mut text = text.trim();
    while let Some(rest) = text.strip_prefix(OPEN) {
        let end = rest.find(CLOSE)?;
        text = rest[end + CLOSE.len()..].trim();
    }
    (!text.is_empty() && !text.starts_with('<')).then(|| text.to_string())
}

/// The latest user prompt of an Anthropic Messages request and the number of assistant
/// messages with a `tool_use` block after the message holding it.
fn anthropic_prompt(body: &Value) -> (Option<String>, usize) {
    let Some(messages) = body["messages"].as_array() else {
        return (None, 0);
    };
    for (index, message) in messages.iter().enumerate().rev() {
        if message["role"] != "user" {
            continue;
        }
        let texts: Vec<&str> = match &message["content"] {
            Value::String(text) => vec![text],
            Value::Array(blocks) => blocks
                .iter()
                .filter(|b| b["type"] == "text")
                .filter_map(|b| b["text"].as_str())
                .collect(),
            _ => Vec::new(),
        };
        if let Some(prompt) = texts.into_iter().rev().find_map(real_prompt) {
            let tool_calls = messages[index + 1..]
                .iter()
                .filter(|m| m["role"] == "assistant")
                .filter(|m| {
                    m["content"]
                        .as_array()
                        .is_some_and(|blocks| blocks.iter().any(|b| b["type"] == "tool_use"))
                })
                .count();
            return (Some(prompt), tool_calls);
        }
    }
    (None, 0)
}

/// The latest user prompt of an OpenAI Responses request and the number of `function_call`
/// items after the item holding it.
fn openai_prompt(body: &Value) -> (Option<String>, usize) {
    let items = match &body["input"] {
        Value::String(text) => return (real_prompt(text), 0),
        Value::Array(items) => items,
        _ => return (None, 0),
    };
    for (index, item) in items.iter().enumerate().rev() {
        let is_message = item["type"] == "message" || (item.get("type").is_none());
        if !is_message || item["role"] != "user" {
            continue;
        }
        let texts: Vec<&str> = match &item["content"] {
            Value::String(text) => vec![text],
            Value::Array(parts) => parts
                .iter()
                .filter(|p| p["type"] == "input_text" || p["type"] == "text")
                .filter_map(|p| p["text"].as_str())
                .collect(),
            _ => Vec::new(),
        };
        if let Some(prompt) = texts.into_iter().rev().find_map(real_prompt) {
            let tool_calls = items[index + 1..]
                .iter()
                .filter(|i| i["type"] == "function_call")
                .count();
            return (Some(prompt), tool_calls);
        }
    }
    (None, 0)
}

fn summarize(blocks: &[Block]) -> String {
    let short = |text: &str| {
        let mut s: String = text.chars().take(80).collect();
        if s.len() < text.len() {
            s.push('…');
        }
        s
    };
    blocks
        .iter()
        .map(|b| match b {
            Block::Text(text) => format!("text:{}", short(text)),
            Block::Shell(command, _) => format!("shell:{}", short(command)),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

// ---------------------------------------------------------------------------------------------
// Wire formats

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

fn sse_event(out: &mut String, event: &str, data: Value) {
    out.push_str(&format!("event: {event}\ndata: {data}\n\n"));
}

fn bash_input(command: &str) -> Value {
    json!({"command": command, "description": BASH_DESCRIPTION})
}

fn anthropic_turn(blocks: &[Block], body: &Value, stream: bool) -> Response {
    let id = format!("msg_{}", next_id());
    let model = body["model"]
        .as_str()
        .unwrap_or("claude-scripted")
        .to_string();
    let blocks: Vec<&Block> = blocks
        .iter()
        .filter(|b| !matches!(b, Block::Text(t) if t.is_empty()))
        .collect();
    let stop_reason = if blocks.iter().any(|b| matches!(b, Block::Shell(..))) {
        "tool_use"
    } else {
        "end_turn"
    };
    if !stream {
        let content: Vec<Value> = blocks
            .iter()
            .map(|b| match b {
                Block::Text(text) => json!({"type": "text", "text": text}),
                Block::Shell(command, _) => json!({
                    "type": "tool_use",
                    "id": format!("toolu_{}", next_id()),
                    "name": "Bash",
                    "input": bash_input(command),
                }),
            })
            .collect();
        return Response::json(
            200,
            json!({
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": content, "stop_reason": stop_reason, "stop_sequence": null,
                "usage": {"input_tokens": 1, "output_tokens": 3},
            }),
        );
    }
    let mut out = String::new();
    sse_event(
        &mut out,
        "message_start",
        json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }}),
    );
    for (index, block) in blocks.iter().enumerate() {
        let (start, delta) = match block {
            Block::Text(text) => (
                json!({"type": "text", "text": ""}),
                json!({"type": "text_delta", "text": text}),
            ),
            Block::Shell(command, _) => (
                json!({"type": "tool_use", "id": format!("toolu_{}", next_id()), "name": "Bash", "input": {}}),
                json!({"type": "input_json_delta", "partial_json": bash_input(command).to_string()}),
            ),
        };
        sse_event(
            &mut out,
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": start}),
        );
        sse_event(
            &mut out,
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": delta}),
        );
        sse_event(
            &mut out,
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        );
    }
    sse_event(
        &mut out,
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": {"output_tokens": 3}}),
    );
    sse_event(&mut out, "message_stop", json!({"type": "message_stop"}));
    Response::sse(out)
}

/// The function call that runs `command` with the shell tool the request offers: Codex's
/// `exec_command` (`{"cmd"}`), else `shell_command` (`{"command": "..."}`) or `shell`
/// (`{"command": [argv]}`) when only those are offered.
fn openai_shell_call(body: &Value, command: &str) -> (&'static str, Value) {
    let offered = |name: &str| {
        body["tools"]
            .as_array()
            .is_some_and(|tools| tools.iter().any(|t| t["name"] == name))
    };
    if !offered("exec_command") && offered("shell_command") {
        ("shell_command", json!({"command": command}))
    } else if !offered("exec_command") && offered("shell") {
        ("shell", json!({"command": ["bash", "-lc", command]}))
    } else {
        ("exec_command", json!({"cmd": command}))
    }
}

fn openai_turn(blocks: &[Block], body: &Value, stream: bool) -> Response {
    let id = format!("resp_{}", next_id());
    let items: Vec<Value> = blocks
        .iter()
        .filter(|b| !matches!(b, Block::Text(t) if t.is_empty()))
        .map(|b| match b {
            Block::Text(text) => json!({
                "type": "message", "role": "assistant", "id": format!("msg_{}", next_id()),
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }),
            Block::Shell(command, escalated) => {
                let (name, mut arguments) = openai_shell_call(body, command);
                if *escalated && name == "exec_command" {
                    arguments["sandbox_permissions"] = json!("require_escalated");
                    arguments["justification"] =
                        json!("Run this command outside the sandbox for the script?");
                }
                let n = next_id();
                json!({
                    "type": "function_call", "id": format!("fc_{n}"), "call_id": format!("call_{n}"),
                    "name": name, "arguments": arguments.to_string(),
                })
            }
        })
        .collect();
    let usage = json!({
        "input_tokens": 1, "input_tokens_details": null, "output_tokens": 1,
        "output_tokens_details": null, "total_tokens": 2,
    });
    if !stream {
        return Response::json(
            200,
            json!({
                "id": id, "object": "response", "status": "completed",
                "model": body["model"], "output": items, "usage": usage,
            }),
        );
    }
    let mut out = String::new();
    sse_event(
        &mut out,
        "response.created",
        json!({"type": "response.created", "response": {"id": id}}),
    );
    for (index, item) in items.into_iter().enumerate() {
        sse_event(
            &mut out,
            "response.output_item.done",
            json!({"type": "response.output_item.done", "output_index": index, "item": item}),
        );
    }
    sse_event(
        &mut out,
        "response.completed",
        json!({"type": "response.completed", "response": {"id": id, "usage": usage}}),
    );
    Response::sse(out)
}

fn error_status(api: Api, error: ErrorReply) -> u16 {
    match (api, error) {
        (Api::Anthropic, ErrorReply::Overloaded) => 529,
        (_, ErrorReply::Overloaded) => 503,
        (_, ErrorReply::ServerError) => 500,
        (_, ErrorReply::RateLimited { .. }) => 429,
    }
}

fn error_response(api: Api, error: ErrorReply) -> Response {
    let status = error_status(api, error);
    let anthropic = api == Api::Anthropic;
    let body = match error {
        ErrorReply::Overloaded if anthropic => {
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
        }
        ErrorReply::Overloaded => {
            json!({"error": {"type": "server_error", "code": "server_is_overloaded", "message": "Overloaded"}})
        }
        ErrorReply::ServerError if anthropic => {
            json!({"type": "error", "error": {"type": "api_error", "message": "Internal server error"}})
        }
        ErrorReply::ServerError => {
            json!({"error": {"type": "server_error", "message": "Internal server error"}})
        }
        ErrorReply::RateLimited {
            reset_unix,
            retry_after,
        } => {
            let now = unix_ms() / 1000;
            let reset = reset_unix.unwrap_or(now + 60);
            let secs = retry_after.unwrap_or(reset.saturating_sub(now));
            let mut response;
            if anthropic {
                response = Response::json(
                    status,
                    json!({"type": "error", "error": {"type": "rate_limit_error", "message": "This request would exceed your account's rate limit."}}),
                );
                response.headers.push(("retry-after", secs.to_string()));
                response
                    .headers
                    .push(("anthropic-ratelimit-unified-status", "rejected".into()));
                response.headers.push((
                    "anthropic-ratelimit-unified-representative-claim",
                    "five_hour".into(),
                ));
                if let Some(reset) = reset_unix {
                    response
                        .headers
                        .push(("anthropic-ratelimit-unified-reset", reset.to_string()));
                }
                response
                    .headers
                    .push(("anthropic-ratelimit-requests-reset", rfc3339(reset)));
            } else {
                let mut error = json!({
                    "type": "usage_limit_reached", "code": "rate_limit_exceeded",
                    "message": "You've hit your usage limit.", "resets_in_seconds": secs,
                });
                if let Some(reset) = reset_unix {
                    error["resets_at"] = json!(reset);
                }
                response = Response::json(status, json!({ "error": error }));
                response.headers.push(("retry-after", secs.to_string()));
                response
                    .headers
                    .push(("x-ratelimit-reset-requests", format!("{secs}s")));
                if let Some(reset) = reset_unix {
                    response
                        .headers
                        .push(("x-codex-primary-reset-at", reset.to_string()));
                }
            }
            return response;
        }
    };
    Response::json(status, body)
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a unix time.
fn rfc3339(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // --- a raw HTTP client ---------------------------------------------------------------------

    struct Reply {
        /// The whole response, interim responses included.
        raw: String,
        status: u16,
        headers: BTreeMap<String, String>,
        body: String,
    }

    fn send_raw(ep: &ModelEndpoint, request: &[u8]) -> Reply {
        let mut stream = TcpStream::connect(ep.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request).unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        let raw = String::from_utf8(bytes).unwrap();
        let mut text = raw.as_str();
        // Skip interim responses (100 Continue).
        while text.starts_with("HTTP/1.1 1") {
            text = text.split_once("\r\n\r\n").unwrap().1;
        }
        let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap();
        let headers = lines
            .map(|l| {
                let (name, value) = l.split_once(':').unwrap();
                (name.to_ascii_lowercase(), value.trim().to_string())
            })
            .collect::<BTreeMap<_, _>>();
        assert_eq!(headers["connection"], "close");
        if request.starts_with(b"HEAD ") {
            assert!(body.is_empty());
        } else if let Some(len) = headers.get("content-length") {
            assert_eq!(len.parse::<usize>().unwrap(), body.len());
        }
        Reply {
            raw: raw.clone(),
            status: status.parse().unwrap(),
            headers,
            body: body.to_string(),
        }
    }

    fn post(ep: &ModelEndpoint, path: &str, body: &Value) -> Reply {
        let body = body.to_string();
        let raw = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        send_raw(ep, raw.as_bytes())
    }

    /// The events of a server-sent event stream.
    fn parse_sse(body: &str) -> Vec<(String, Value)> {
        body.split("\n\n")
            .filter(|e| !e.trim().is_empty())
            .map(|event| {
                let mut name = None;
                let mut data = None;
                for line in event.lines() {
                    if let Some(n) = line.strip_prefix("event: ") {
                        name = Some(n.to_string());
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data = Some(serde_json::from_str::<Value>(d).unwrap());
                    } else {
                        panic!("unexpected SSE line {line:?}");
                    }
                }
                let (name, data) = (name.unwrap(), data.unwrap());
                assert_eq!(data["type"], name.as_str());
                (name, data)
            })
            .collect()
    }

    /// A short, checked summary of an answer: `text:..; bash:..; end_turn` (Anthropic),
    /// `text:..; exec:..; completed` (OpenAI), `http 429 rate_limit_error` (errors).
    fn summary(reply: &Reply) -> String {
        if reply.status != 200 {
            let body: Value = serde_json::from_str(&reply.body).unwrap();
            let error = &body["error"];
            let kind = error["code"].as_str().or(error["type"].as_str()).unwrap();
            return format!("http {} {kind}", reply.status);
        }
        let content_type = reply.headers["content-type"].as_str();
        if content_type == "application/json" {
            let body: Value = serde_json::from_str(&reply.body).unwrap();
            if body["type"] == "message" {
                let mut parts: Vec<String> = body["content"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(anthropic_block)
                    .collect();
                parts.push(body["stop_reason"].as_str().unwrap().to_string());
                return format!("json {}", parts.join("; "));
            }
            if body["object"] == "response" {
                let mut parts: Vec<String> = body["output"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(openai_item)
                    .collect();
                parts.push(body["status"].as_str().unwrap().to_string());
                return format!("json {}", parts.join("; "));
            }
            return format!("json {body}");
        }
        assert_eq!(content_type, "text/event-stream");
        assert_eq!(reply.headers["cache-control"], "no-cache");
        let events = parse_sse(&reply.body);
        if events[0].0 == "message_start" {
            anthropic_summary(&events)
        } else {
            openai_summary(&events)
        }
    }

    fn anthropic_block(block: &Value) -> String {
        match block["type"].as_str().unwrap() {
            "text" => format!("text:{}", block["text"].as_str().unwrap()),
            "tool_use" => {
                assert_eq!(block["name"], "Bash");
                assert!(block["id"].as_str().unwrap().starts_with("toolu_"));
                assert_eq!(block["input"]["description"], BASH_DESCRIPTION);
                format!("bash:{}", block["input"]["command"].as_str().unwrap())
            }
            other => panic!("unexpected block type {other}"),
        }
    }

    fn anthropic_summary(events: &[(String, Value)]) -> String {
        let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names[0], "message_start");
        assert_eq!(names[names.len() - 2..], ["message_delta", "message_stop"]);
        let message = &events[0].1["message"];
        assert!(message["content"].as_array().unwrap().is_empty());
        assert!(message["id"].as_str().unwrap().starts_with("msg_"));
        let mut parts = Vec::new();
        let blocks = &events[1..events.len() - 2];
        assert_eq!(blocks.len() % 3, 0, "{names:?}");
        for (index, chunk) in blocks.chunks(3).enumerate() {
            let [(start, s), (delta, d), (stop, e)] = chunk else {
                unreachable!()
            };
            assert_eq!(
                [start.as_str(), delta.as_str(), stop.as_str()],
                [
                    "content_block_start",
                    "content_block_delta",
                    "content_block_stop"
                ]
            );
            for event in [s, d, e] {
                assert_eq!(event["index"], index);
            }
            let mut block = s["content_block"].clone();
            match block["type"].as_str().unwrap() {
                "text" => {
                    assert_eq!(d["delta"]["type"], "text_delta");
                    block["text"] = d["delta"]["text"].clone();
                }
                "tool_use" => {
                    assert_eq!(d["delta"]["type"], "input_json_delta");
                    let json = d["delta"]["partial_json"].as_str().unwrap();
                    block["input"] = serde_json::from_str(json).unwrap();
                }
                other => panic!("unexpected block type {other}"),
            }
            parts.push(anthropic_block(&block));
        }
        let delta = &events[events.len() - 2].1;
        parts.push(delta["delta"]["stop_reason"].as_str().unwrap().to_string());
        parts.join("; ")
    }

    fn openai_item(item: &Value) -> String {
        match item["type"].as_str().unwrap() {
            "message" => {
                assert_eq!(item["role"], "assistant");
                assert_eq!(item["content"][0]["type"], "output_text");
                format!("text:{}", item["content"][0]["text"].as_str().unwrap())
            }
            "function_call" => {
                assert!(item["call_id"].as_str().unwrap().starts_with("call_"));
                let args: Value =
                    serde_json::from_str(item["arguments"].as_str().unwrap()).unwrap();
                match item["name"].as_str().unwrap() {
                    "exec_command" => format!("exec:{}", args["cmd"].as_str().unwrap()),
                    other => format!("{other}:{}", args["command"]),
                }
            }
            other => panic!("unexpected item type {other}"),
        }
    }

    fn openai_summary(events: &[(String, Value)]) -> String {
        assert_eq!(events[0].0, "response.created");
        let id = &events[0].1["response"]["id"];
        let (last, completed) = events.last().unwrap();
        assert_eq!(last, "response.completed");
        assert_eq!(&completed["response"]["id"], id);
        assert_eq!(completed["response"]["usage"]["total_tokens"], 2);
        let mut parts = Vec::new();
        for (index, (name, event)) in events[1..events.len() - 1].iter().enumerate() {
            assert_eq!(name, "response.output_item.done");
            assert_eq!(event["output_index"], index);
            parts.push(openai_item(&event["item"]));
        }
        parts.push("completed".into());
        parts.join("; ")
    }

    /// POSTs `request` to `path` and checks the answer's summary.
    fn check(ep: &ModelEndpoint, path: &str, request: Value, expected: &str) -> Reply {
        let reply = post(ep, path, &request);
        assert_eq!(summary(&reply), expected, "POST {path} {request:#}");
        reply
    }

    // --- scripts and conversations -------------------------------------------------------------

    const RESET: u64 = 4_102_444_800; // 2100-01-01T00:00:00Z

    fn endpoint() -> ModelEndpoint {
        let rules = json!([
            {"when": r"^make (?P<name>\w+) with (\d+) lines$",
             "steps": [{"shell": "seq ${2} > ${name}.txt"}, {"say": "Checking ${name}."}, {"shell": "wc -l ${name}.txt"}],
             "reply": "Made ${name}.txt."},
            {"when": "^flaky$",
             "steps": [{"error": {"type": "rate_limited", "reset_unix": RESET}}, {"shell": "echo ok"}],
             "reply": "Recovered."},
            {"when": "^busy$",
             "steps": [{"error": {"type": "overloaded"}}, {"error": {"type": "server_error"}}],
             "reply": "Done despite errors."},
            {"when": "^limit$", "steps": [{"error": {"type": "rate_limited"}}], "reply": "Later."},
            {"when": "hello", "reply": "Hello!"},
        ]);
        let scripts: BTreeMap<String, Script> = serde_json::from_value(json!({
            "claude": {"rules": rules},
            "codex": {"rules": rules},
            "": {"rules": [{"when": "hello", "reply": "Hi from the default script."}]},
        }))
        .unwrap();
        ModelEndpoint::start(scripts).unwrap()
    }

    fn claude(messages: Value) -> Value {
        json!({"model": "claude-test", "stream": true, "max_tokens": 1000,
               "tools": [{"name": "Bash", "input_schema": {}}], "messages": messages})
    }

    fn user(text: &str) -> Value {
        json!({"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>\nSome context.\n</system-reminder>"},
            {"type": "text", "text": text},
        ]})
    }

    fn tool_use(id: &str) -> Value {
        json!({"role": "assistant", "content": [
            {"type": "text", "text": "Sure."},
            {"type": "tool_use", "id": id, "name": "Bash", "input": {"command": "x"}},
        ]})
    }

    /// A tool result, with a new prompt after it in the same message when `prompt` is given.
    fn tool_result(id: &str, prompt: Option<&str>) -> Value {
        let mut content = vec![json!({"type": "tool_result", "tool_use_id": id, "content": "ok"})];
        content.push(json!({"type": "text", "text": "<system-reminder>todo</system-reminder>"}));
        if let Some(prompt) = prompt {
            content.push(json!({"type": "text", "text": prompt}));
        }
        json!({"role": "user", "content": content})
    }

    fn assistant(text: &str) -> Value {
        json!({"role": "assistant", "content": [{"type": "text", "text": text}]})
    }

    fn codex(input: Value) -> Value {
        json!({"model": "gpt-test", "stream": true, "instructions": "be helpful",
               "tools": [{"type": "function", "name": "exec_command", "parameters": {}}], "input": input})
    }

    fn codex_context() -> Vec<Value> {
        vec![
            json!({"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions instructions>x</permissions instructions>"}]}),
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>\n  <cwd>/tmp</cwd>\n</environment_context>"}]}),
        ]
    }

    fn prompt_item(text: &str) -> Value {
        json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    }

    /// A function call and its output.
    fn call_items(id: &str) -> Value {
        json!([
            {"type": "function_call", "name": "exec_command", "arguments": "{\"cmd\":\"x\"}", "call_id": id},
            {"type": "function_call_output", "call_id": id, "output": "ok"},
        ])
    }

    /// The CLI's context items, then `parts` (an array part adds its items).
    fn codex_items(parts: &[Value]) -> Value {
        let mut items = codex_context();
        for part in parts {
            match part {
                Value::Array(part) => items.extend(part.iter().cloned()),
                item => items.push(item.clone()),
            }
        }
        Value::Array(items)
    }

    // --- tests ---------------------------------------------------------------------------------

    #[test]
    fn side_requests_answer_a_title() {
        let ep = endpoint();
        let cases = [
            (
                "/agent/claude/v1/messages?beta=true",
                json!({"model": "haiku", "stream": true, "messages": [{"role": "user", "content": "make a with 3 lines"}]}),
                "text:Leapfrog test session; end_turn",
            ),
            (
                "/agent/claude/v1/messages",
                json!({"model": "haiku", "tools": [], "messages": [{"role": "user", "content": "hello"}]}),
                "json text:Leapfrog test session; end_turn",
            ),
            (
                "/agent/codex/v1/responses",
                json!({"model": "gpt", "stream": true, "input": [prompt_item("hello")],
                       "text": {"format": {"type": "json_schema", "name": "t", "schema": {"type": "object", "properties": {"title": {"type": "string"}}}}}}),
                r#"text:{"title":"Leapfrog test"}; completed"#,
            ),
            (
                "/agent/codex/v1/responses",
                json!({"model": "gpt", "stream": true, "tools": [], "input": [prompt_item("hello")]}),
                "text:Leapfrog test session; completed",
            ),
        ];
        for (path, request, expected) in cases {
            check(&ep, path, request, expected);
        }
        assert!(ep.requests().iter().all(|r| r.rule.is_none()));
    }

    #[test]
    fn anthropic_conversation_walks_the_script() {
        let ep = endpoint();
        let path = "/agent/claude/v1/messages?beta=true";
        let cases = [
            (
                json!([user("make foo with 3 lines")]),
                "bash:seq 3 > foo.txt; tool_use",
            ),
            (
                json!([
                    user("make foo with 3 lines"),
                    tool_use("t1"),
                    tool_result("t1", None)
                ]),
                "text:Checking foo.; bash:wc -l foo.txt; tool_use",
            ),
            (
                json!([
                    user("make foo with 3 lines"),
                    tool_use("t1"),
                    tool_result("t1", None),
                    tool_use("t2"),
                    tool_result("t2", None)
                ]),
                "text:Made foo.txt.; end_turn",
            ),
            // The next prompt: its text follows the previous turn's tool result in one message.
            (
                json!([
                    user("make foo with 3 lines"),
                    tool_use("t1"),
                    tool_result("t1", None),
                    tool_use("t2"),
                    tool_result("t2", Some("make bar with 5 lines"))
                ]),
                "bash:seq 5 > bar.txt; tool_use",
            ),
            (
                json!([
                    user("make foo with 3 lines"),
                    tool_use("t1"),
                    tool_result("t1", None),
                    tool_use("t2"),
                    tool_result("t2", Some("make bar with 5 lines")),
                    tool_use("t3"),
                    tool_result("t3", None)
                ]),
                "text:Checking bar.; bash:wc -l bar.txt; tool_use",
            ),
            // A plain string prompt after a finished turn.
            (
                json!([user("make foo with 3 lines"), assistant("Made foo.txt."),
                       {"role": "user", "content": "hello there"}]),
                "text:Hello!; end_turn",
            ),
            (
                json!([user("what is this?")]),
                "text:No script for this prompt.; end_turn",
            ),
            (
                json!([tool_result("t9", None)]),
                "text:No script for this prompt.; end_turn",
            ),
        ];
        for (messages, expected) in cases {
            check(&ep, path, claude(messages), expected);
        }
        // Non-streaming.
        let mut request = claude(json!([user("make foo with 3 lines")]));
        request["stream"] = json!(false);
        check(&ep, path, request, "json bash:seq 3 > foo.txt; tool_use");
        // No agent prefix: the "" script; an agent without a script.
        check(
            &ep,
            "/v1/messages",
            claude(json!([user("hello")])),
            "text:Hi from the default script.; end_turn",
        );
        check(
            &ep,
            "/agent/nobody/v1/messages",
            claude(json!([user("hello")])),
            "text:No script for this prompt.; end_turn",
        );

        let log = ep.requests();
        assert_eq!(log.len(), 11);
        assert_eq!(log[0].agent, "claude");
        assert_eq!(log[0].api, "anthropic");
        assert_eq!(log[0].method, "POST");
        assert_eq!(log[0].path, path);
        assert_eq!(log[0].prompt.as_deref(), Some("make foo with 3 lines"));
        assert_eq!((log[0].rule, log[0].step), (Some(0), Some(0)));
        assert_eq!(log[0].answer, "shell:seq 3 > foo.txt");
        assert_eq!((log[1].rule, log[1].step), (Some(0), Some(2)));
        assert_eq!((log[2].rule, log[2].step), (Some(0), Some(3)));
        assert_eq!(log[2].answer, "text:Made foo.txt.");
        assert_eq!((log[6].rule, log[6].step), (None, None));
        assert_eq!(log[9].agent, "");
        assert!(log[0].unix_ms > 1_600_000_000_000);
    }

    #[test]
    fn openai_conversation_walks_the_script() {
        let ep = endpoint();
        let path = "/agent/codex/v1/responses";
        let foo = prompt_item("make foo with 3 lines");
        let bar = prompt_item("make bar with 5 lines");
        let reply = json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Made foo.txt."}]});
        let cases = [
            (
                codex_items(std::slice::from_ref(&foo)),
                "exec:seq 3 > foo.txt; completed",
            ),
            (
                codex_items(&[foo.clone(), call_items("c1")]),
                "text:Checking foo.; exec:wc -l foo.txt; completed",
            ),
            (
                codex_items(&[foo.clone(), call_items("c1"), call_items("c2")]),
                "text:Made foo.txt.; completed",
            ),
            (
                codex_items(&[
                    foo.clone(),
                    call_items("c1"),
                    call_items("c2"),
                    reply.clone(),
                    bar.clone(),
                ]),
                "exec:seq 5 > bar.txt; completed",
            ),
            (
                codex_items(&[
                    foo.clone(),
                    call_items("c1"),
                    call_items("c2"),
                    reply,
                    bar,
                    call_items("c3"),
                ]),
                "text:Checking bar.; exec:wc -l bar.txt; completed",
            ),
            (
                codex_items(&[prompt_item("nope")]),
                "text:No script for this prompt.; completed",
            ),
            (json!("hello"), "text:Hello!; completed"),
        ];
        for (input, expected) in cases {
            check(&ep, path, codex(input), expected);
        }
        let mut request = codex(codex_items(&[foo]));
        request["stream"] = json!(false);
        check(&ep, path, request, "json exec:seq 3 > foo.txt; completed");
        // Other shell tools when exec_command is not offered.
        let mut request = codex(codex_items(&[prompt_item("make x with 1 lines")]));
        request["tools"] = json!([{"type": "function", "name": "shell_command"}]);
        check(
            &ep,
            path,
            request,
            r#"shell_command:"seq 1 > x.txt"; completed"#,
        );

        let log = ep.requests();
        assert_eq!(log[0].api, "openai");
        assert_eq!((log[1].rule, log[1].step), (Some(0), Some(2)));
    }

    #[test]
    fn error_steps_are_served_once() {
        let ep = endpoint();
        let path = "/agent/claude/v1/messages";
        let flaky = claude(json!([user("flaky")]));
        let reply = check(&ep, path, flaky.clone(), "http 429 rate_limit_error");
        assert!(reply.headers["retry-after"].parse::<u64>().unwrap() > 0);
        assert_eq!(
            reply.headers["anthropic-ratelimit-unified-status"],
            "rejected"
        );
        assert_eq!(
            reply.headers["anthropic-ratelimit-unified-reset"],
            RESET.to_string()
        );
        assert_eq!(
            reply.headers["anthropic-ratelimit-requests-reset"],
            "2100-01-01T00:00:00Z"
        );
        // The retry skips the error.
        check(&ep, path, flaky.clone(), "bash:echo ok; tool_use");
        check(&ep, path, flaky, "bash:echo ok; tool_use");
        check(
            &ep,
            path,
            claude(json!([
                user("flaky"),
                tool_use("t1"),
                tool_result("t1", None)
            ])),
            "text:Recovered.; end_turn",
        );
        // Two errors in a row, then the reply; the same prompt of another agent has its own.
        let busy = claude(json!([user("busy")]));
        check(&ep, path, busy.clone(), "http 529 overloaded_error");
        check(&ep, path, busy.clone(), "http 500 api_error");
        check(
            &ep,
            path,
            busy.clone(),
            "text:Done despite errors.; end_turn",
        );
        let reply = check(
            &ep,
            path,
            claude(json!([user("limit")])),
            "http 429 rate_limit_error",
        );
        assert_eq!(reply.headers["retry-after"], "60");
        assert!(!reply
            .headers
            .contains_key("anthropic-ratelimit-unified-reset"));

        let path = "/agent/codex/v1/responses";
        let flaky = codex(codex_items(&[prompt_item("flaky")]));
        let reply = check(&ep, path, flaky.clone(), "http 429 rate_limit_exceeded");
        let body: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["error"]["type"], "usage_limit_reached");
        assert_eq!(body["error"]["resets_at"], RESET);
        let secs = reply.headers["retry-after"].clone();
        assert_eq!(body["error"]["resets_in_seconds"].to_string(), secs);
        assert_eq!(
            reply.headers["x-ratelimit-reset-requests"],
            format!("{secs}s")
        );
        assert_eq!(reply.headers["x-codex-primary-reset-at"], RESET.to_string());
        check(&ep, path, flaky, "exec:echo ok; completed");
        let busy = codex(codex_items(&[prompt_item("busy")]));
        check(&ep, path, busy.clone(), "http 503 server_is_overloaded");
        check(&ep, path, busy.clone(), "http 500 server_error");
        check(&ep, path, busy, "text:Done despite errors.; completed");

        let log = ep.requests();
        assert_eq!(log[0].answer, "error:429");
        assert_eq!((log[0].rule, log[0].step), (Some(1), Some(0)));
        assert_eq!((log[1].rule, log[1].step), (Some(1), Some(1)));
    }

    #[test]
    fn other_requests() {
        let ep = endpoint();
        check(
            &ep,
            "/agent/claude/v1/messages/count_tokens?beta=true",
            json!({"model": "m", "messages": []}),
            r#"json {"input_tokens":10}"#,
        );
        for path in [
            "/agent/claude/v1/complete",
            "/v1/models",
            "/",
            "/agent/claude",
        ] {
            let reply = post(&ep, path, &json!({}));
            assert_eq!(summary(&reply), "http 404 not_found_error", "{path}");
        }
        let reply = send_raw(
            &ep,
            b"GET /agent/claude/v1/messages HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert_eq!(reply.status, 404);
        let reply = send_raw(&ep, b"HEAD /v1/responses HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!((reply.status, reply.body.as_str()), (404, ""));
        let bad = b"POST /v1/messages HTTP/1.1\r\nContent-Length: 5\r\n\r\n{nope";
        assert_eq!(
            summary(&send_raw(&ep, bad)),
            "http 400 invalid_request_error"
        );

        // A chunked body (with a chunk extension and a trailer), sent after 100-continue.
        let body = claude(json!([user("make foo with 3 lines")])).to_string();
        let (a, b) = body.split_at(body.len() / 2);
        let raw = format!(
            "POST /agent/claude/v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n{:x};ext=1\r\n{a}\r\n{:X}\r\n{b}\r\n0\r\nX-Trailer: 1\r\n\r\n",
            a.len(),
            b.len()
        );
        let reply = send_raw(&ep, raw.as_bytes());
        assert!(reply
            .raw
            .starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));
        assert_eq!(summary(&reply), "bash:seq 3 > foo.txt; tool_use");

        let apis: Vec<String> = ep.requests().iter().map(|r| r.api.clone()).collect();
        assert_eq!(
            apis[..6],
            ["anthropic", "other", "other", "other", "other", "anthropic"]
        );
    }

    #[test]
    fn scripts_from_json() {
        let script: Script = serde_json::from_str(
            r#"{"rules": [{"when": "x", "steps": [{"shell": "ls"}, {"say": "hm"},
                {"error": {"type": "overloaded"}}, {"error": {"type": "server_error"}},
                {"error": {"type": "rate_limited", "reset_unix": 5}}, {"error": {"type": "rate_limited"}}],
                "reply": "done"}, {"when": "y", "reply": "z"}]}"#,
        )
        .unwrap();
        assert_eq!(
            script.rules[0].steps,
            [
                Step::Shell("ls".into()),
                Step::Say("hm".into()),
                Step::Error(ErrorReply::Overloaded),
                Step::Error(ErrorReply::ServerError),
                Step::Error(ErrorReply::RateLimited {
                    reset_unix: Some(5),
                    retry_after: None,
                }),
                Step::Error(ErrorReply::RateLimited {
                    reset_unix: None,
                    retry_after: None,
                }),
            ]
        );
        assert!(script.rules[1].steps.is_empty());
        let round: Script = serde_json::from_value(serde_json::to_value(&script).unwrap()).unwrap();
        assert_eq!(round, script);
        assert!(serde_json::from_str::<Script>(
            r#"{"rules": [{"when": "x", "reply": "y", "step": []}]}"#
        )
        .is_err());
        let bad = BTreeMap::from([(
            "a".to_string(),
            Script {
                rules: vec![Rule {
                    when: "(".into(),
                    steps: vec![],
                    reply: String::new(),
                }],
            },
        )]);
        assert!(ModelEndpoint::start(bad).is_err());
    }

    #[test]
    fn prompts_and_times() {
        assert_eq!(real_prompt("  hi \n"), Some("hi".into()));
        assert_eq!(
            real_prompt("<system-reminder>a</system-reminder>\n\nhi"),
            Some("hi".into())
        );
        assert_eq!(real_prompt("<system-reminder>a</system-reminder>"), None);
        assert_eq!(real_prompt("<system-reminder>unclosed"), None);
        assert_eq!(
            real_prompt("<environment_context>x</environment_context>"),
            None
        );
        assert_eq!(real_prompt(""), None);
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(RESET), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn drop_stops_the_server() {
        let ep = endpoint();
        let addr = ep.addr;
        assert!(ep.url().starts_with("http://127.0.0.1:"));
        assert_eq!(ep.base_url("claude"), format!("{}/agent/claude", ep.url()));
        drop(ep);
        assert!(TcpStream::connect(addr).is_err());
    }
}
