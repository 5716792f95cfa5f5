//! A fake Anthropic Messages API that streams (SSE), for the real Claude Code CLI, and the
//! way tests find that CLI.
//!
//! The CLI (`TRIDENT_CLAUDE_BIN`) is pointed at the server with `ANTHROPIC_BASE_URL` and
//! authenticates with a fake `ANTHROPIC_AUTH_TOKEN`; its home is a temp folder, and its
//! telemetry, auto-updater, error reporting and other non-essential traffic are off, so it
//! talks to nothing but this server. Each request is answered by the test's `responder`,
//! which sees the recorded request (the conversation so far) and returns an [`ApiReply`]:
//! a message streamed as `message_start`, content blocks, `message_delta` (the final usage)
//! and `message_stop`, or an error status with the API's error body. Connections are served
//! on threads of their own (a subagent's requests overlap the agent's). The server stops
//! when the handle is dropped.
//!
//! The CLI comes from `TRIDENT_TEST_CLAUDE_CLI` (set by `.ci/run`, which installs the pinned
//! `@anthropic-ai/claude-code` from npm into `~/.cache/trident-ci/`), else from that cache;
//! without it, [`real_claude_cli`] prints a visible skip message.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

use super::fake_llm::{RecordedRequest, read_request};

/// The pinned CLI version `.ci/run` installs.
pub const CLAUDE_CLI_VERSION: &str = "2.1.332";
/// Set by `.ci/run` to the installed `claude` executable.
pub const CLAUDE_CLI_ENV: &str = "TRIDENT_TEST_CLAUDE_CLI";

/// The real Claude CLI to test against, or `None` after printing why the test is skipped.
pub fn real_claude_cli(test: &str) -> Option<PathBuf> {
    let from_env = std::env::var_os(CLAUDE_CLI_ENV).map(PathBuf::from);
    let cached = std::env::var_os("HOME").map(|home| {
        PathBuf::from(home).join(format!(
            ".cache/trident-ci/claude-code-{CLAUDE_CLI_VERSION}/node_modules/.bin/claude"
        ))
    });
    let found = from_env.or(cached).filter(|path| path.is_file());
    if found.is_none() {
        eprintln!(
            "SKIPPED {test}: the real Claude CLI is not installed. `.ci/run` installs \
             @anthropic-ai/claude-code@{CLAUDE_CLI_VERSION} from npm and sets {CLAUDE_CLI_ENV}; \
             run it (npm must be reachable)."
        );
    }
    found
}

/// What the fake API answers to one request.
#[derive(Debug, Clone)]
pub enum ApiReply {
    /// A streamed message with these content blocks and token counts.
    Message {
        blocks: Vec<Value>,
        input_tokens: u64,
        output_tokens: u64,
    },
    /// An error status with the API's error body (`error.type` = `kind`).
    Error { status: u16, kind: &'static str },
}

impl ApiReply {
    /// A text answer (100 input, 50 output tokens unless changed with [`ApiReply::tokens`]).
    pub fn text(text: &str) -> ApiReply {
        ApiReply::Message {
            blocks: vec![json!({"type": "text", "text": text})],
            input_tokens: 100,
            output_tokens: 50,
        }
    }

    /// A call of tool `name` with `input`, id `id`.
    pub fn tool(id: &str, name: &str, input: Value) -> ApiReply {
        ApiReply::Message {
            blocks: vec![json!({"type": "tool_use", "id": id, "name": name, "input": input})],
            input_tokens: 100,
            output_tokens: 50,
        }
    }

    /// The same message with these token counts.
    pub fn tokens(self, input: u64, output: u64) -> ApiReply {
        match self {
            ApiReply::Message { blocks, .. } => ApiReply::Message {
                blocks,
                input_tokens: input,
                output_tokens: output,
            },
            other => other,
        }
    }
}

type Responder = dyn Fn(&RecordedRequest) -> ApiReply + Send + Sync;

struct Shared {
    responder: Box<Responder>,
    requests: Mutex<Vec<RecordedRequest>>,
    /// (input, output) tokens of every message sent.
    sent_tokens: Mutex<Vec<(u64, u64)>>,
    stopping: AtomicBool,
    serial: AtomicU64,
}

/// A running fake Messages API.
pub struct FakeClaudeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

impl FakeClaudeApi {
    /// Starts a server on a free port of 127.0.0.1 answering with `responder`.
    pub fn start(
        responder: impl Fn(&RecordedRequest) -> ApiReply + Send + Sync + 'static,
    ) -> FakeClaudeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("fake API: bind");
        let addr = listener.local_addr().expect("fake API: address");
        let shared = Arc::new(Shared {
            responder: Box::new(responder),
            requests: Mutex::new(Vec::new()),
            sent_tokens: Mutex::new(Vec::new()),
            stopping: AtomicBool::new(false),
            serial: AtomicU64::new(0),
        });
        let serving = Arc::clone(&shared);
        let worker = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if serving.stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let shared = Arc::clone(&serving);
                    std::thread::spawn(move || {
                        let _ = serve(stream, &shared);
                    });
                }
            }
        });
        FakeClaudeApi {
            addr,
            shared,
            worker: Some(worker),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `/v1/messages` requests received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Sums of the input and output tokens of every message sent.
    pub fn tokens_sent(&self) -> (u64, u64) {
        let sent = self.shared.sent_tokens.lock().unwrap();
        (
            sent.iter().map(|t| t.0).sum(),
            sent.iter().map(|t| t.1).sum(),
        )
    }

    /// The environment for a `trident` run whose agents use the CLI `cli` against this
    /// server (its home in `home`, nothing else contacted).
    pub fn cli_env(&self, cli: &std::path::Path, home: &std::path::Path) -> Vec<(String, String)> {
        [
            ("TRIDENT_CLAUDE_BIN", cli.display().to_string()),
            ("ANTHROPIC_BASE_URL", self.url()),
            ("ANTHROPIC_AUTH_TOKEN", "fake-token".to_string()),
            ("HOME", home.display().to_string()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_string()),
            ("DISABLE_AUTOUPDATER", "1".to_string()),
            ("DISABLE_TELEMETRY", "1".to_string()),
            ("DISABLE_ERROR_REPORTING", "1".to_string()),
            ("CLAUDE_CODE_MAX_RETRIES", "2".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

impl Drop for FakeClaudeApi {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    use std::io::Write;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = std::io::BufReader::new(stream.try_clone()?);
    let mut out = stream;
    // One request per connection: every answer says `connection: close`.
    let Some((request, _keep_alive)) = read_request(&mut reader, &mut out)? else {
        return Ok(());
    };
    let path = request
        .path
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    if path.ends_with("/count_tokens") {
        return respond_json(&mut out, 200, &json!({"input_tokens": 100}));
    }
    if !path.ends_with("/v1/messages") {
        return respond_json(
            &mut out,
            404,
            &json!({"type": "error", "error": {"type": "not_found_error", "message": path}}),
        );
    }
    shared.requests.lock().unwrap().push(request.clone());
    match (shared.responder)(&request) {
        ApiReply::Error { status, kind } => respond_json(
            &mut out,
            status,
            &json!({"type": "error", "error": {"type": kind, "message": format!("fake {kind}")}}),
        ),
        ApiReply::Message {
            blocks,
            input_tokens,
            output_tokens,
        } => {
            shared
                .sent_tokens
                .lock()
                .unwrap()
                .push((input_tokens, output_tokens));
            let serial = shared.serial.fetch_add(1, Ordering::SeqCst);
            let model = request.model().unwrap_or("claude-fake").to_string();
            let stop_reason = if blocks.iter().any(|b| b["type"] == "tool_use") {
                "tool_use"
            } else {
                "end_turn"
            };
            let mut body = String::new();
            let mut event = |name: &str, data: Value| {
                body.push_str(&format!("event: {name}\ndata: {data}\n\n"));
            };
            event(
                "message_start",
                json!({"type": "message_start", "message": {"id": format!("msg_fake_{serial}"),
                    "type": "message", "role": "assistant", "model": model, "content": [],
                    "stop_reason": null, "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}),
            );
            for (index, block) in blocks.iter().enumerate() {
                let (start, delta) = if block["type"] == "tool_use" {
                    (
                        json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
                        json!({"type": "input_json_delta", "partial_json": block["input"].to_string()}),
                    )
                } else {
                    (
                        json!({"type": "text", "text": ""}),
                        json!({"type": "text_delta", "text": block["text"]}),
                    )
                };
                event(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": index, "content_block": start}),
                );
                event(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": index, "delta": delta}),
                );
                event(
                    "content_block_stop",
                    json!({"type": "content_block_stop", "index": index}),
                );
            }
            event(
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": stop_reason,
                    "stop_sequence": null}, "usage": {"output_tokens": output_tokens}}),
            );
            event("message_stop", json!({"type": "message_stop"}));
            write!(
                out,
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
                 connection: close\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )?;
            out.flush()
        }
    }
}

fn respond_json(out: &mut TcpStream, status: u16, body: &Value) -> std::io::Result<()> {
    use std::io::Write;
    let text = body.to_string();
    write!(
        out,
        "HTTP/1.1 {status} Fake\r\ncontent-type: application/json\r\nconnection: close\r\n\
         content-length: {}\r\n\r\n{text}",
        text.len()
    )?;
    out.flush()
}

/// How many answers of the model a request's conversation already holds.
pub fn model_turns(request: &RecordedRequest) -> usize {
    request.body["messages"]
        .as_array()
        .map_or(0, |m| m.iter().filter(|m| m["role"] == "assistant").count())
}

/// The text of the first user message of a request (the prompt that started this
/// conversation: the agent's, or a subagent's).
pub fn first_user_text(request: &RecordedRequest) -> String {
    let first = &request.body["messages"][0]["content"];
    match first {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The whole request body as text (to look for a marker anywhere in the conversation).
pub fn body_text(request: &RecordedRequest) -> String {
    request.body.to_string()
}
