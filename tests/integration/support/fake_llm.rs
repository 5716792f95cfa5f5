#![allow(dead_code)]
//! A fake LLM server for tests: it speaks the Anthropic Messages API (`POST .../v1/messages`)
//! and OpenAI Chat Completions (`POST .../chat/completions`) well enough for Trident's
//! providers, and records every request it gets.
//!
//! It uses only std: one thread accepting on `127.0.0.1:0`, HTTP/1.1 with `Content-Length`
//! bodies, one request per connection (every response says `Connection: close`). Scripted
//! answers are queued and used in order, one per request to a known endpoint:
//!
//! ```ignore
//! let fake = FakeLlm::start();
//! fake.push_status(429)
//!     .push_reply(FakeReply::text("hi").tokens(12, 40))
//!     .push_reply(FakeReply::json(serde_json::json!({"title": "T"})));
//! // ANTHROPIC_BASE_URL / OPENAI_BASE_URL = fake.url(); or `.envs(fake.env())`
//! assert_eq!(fake.requests()[0].path, "/v1/messages");
//! ```
//!
//! With the queue empty, the default reply echoes the prompt (`echo: <prompt>`), or, when
//! the request asks for structured output, fills the requested schema (`"fake <field>"` for
//! strings, 42 for numbers, true, [] and {}). Unless set with [`FakeReply::tokens`], input
//! tokens are the number of words of the prompt and output tokens the number of words of the
//! reply (at least 1 each).
//!
//! JSON replies take the shape of the endpoint hit: for Anthropic a `tool_use` block named
//! after the forced tool (`structured_output`) when the request had tools, else a text block
//! holding the JSON text; for OpenAI the JSON text as the message content. The server stops
//! when the handle is dropped.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

/// The largest request body accepted (larger ones get 413).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A running fake server; dropping it stops the server.
pub struct FakeLlm {
    addr: SocketAddr,
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

/// A successful reply to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeReply {
    content: FakeContent,
    tokens: Option<(u64, u64)>,
}

#[derive(Debug, Clone, PartialEq)]
enum FakeContent {
    Text(String),
    Json(Value),
}

/// A request the server received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// The request target, such as `/v1/messages`.
    pub path: String,
    /// Header names in lowercase, values as sent, in order.
    pub headers: Vec<(String, String)>,
    /// The body as JSON (`Value::Null` when it was empty or not JSON).
    pub body: Value,
}

#[derive(Debug, Clone)]
enum Scripted {
    Reply(FakeReply),
    Status {
        status: u16,
        retry_after_secs: Option<u64>,
    },
    Disconnect,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Scripted>,
    requests: Vec<RecordedRequest>,
}

struct Shared {
    state: Mutex<State>,
    stopping: AtomicBool,
    replies_sent: AtomicU64,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl FakeReply {
    /// A text reply.
    pub fn text(text: impl Into<String>) -> Self {
        FakeReply {
            content: FakeContent::Text(text.into()),
            tokens: None,
        }
    }

    /// A structured (json) reply.
    pub fn json(value: Value) -> Self {
        FakeReply {
            content: FakeContent::Json(value),
            tokens: None,
        }
    }

    /// Report these token counts in the reply's usage.
    pub fn tokens(mut self, input: u64, output: u64) -> Self {
        self.tokens = Some((input, output));
        self
    }
}

impl RecordedRequest {
    /// The value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The content of the last message of the request, for both API shapes.
    pub fn prompt(&self) -> Option<&str> {
        self.body["messages"].as_array()?.last()?["content"].as_str()
    }

    /// The `model` of the request body.
    pub fn model(&self) -> Option<&str> {
        self.body["model"].as_str()
    }
}

impl FakeLlm {
    /// Start a server on a free local port.
    pub fn start() -> FakeLlm {
        let listener = TcpListener::bind("127.0.0.1:0").expect("fake LLM: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake LLM: local address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            stopping: AtomicBool::new(false),
            replies_sent: AtomicU64::new(0),
        });
        let worker_shared = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name("fake-llm".into())
            .spawn(move || serve(listener, &worker_shared))
            .expect("fake LLM: spawn thread");
        FakeLlm {
            addr,
            shared,
            worker: Some(worker),
        }
    }

    /// The base URL, `http://127.0.0.1:<port>`, for `ANTHROPIC_BASE_URL` or `OPENAI_BASE_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Environment pointing both providers at this server with fake keys and 1 ms retry
    /// delays, for `Command::envs`.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("ANTHROPIC_BASE_URL", self.url()),
            ("ANTHROPIC_API_KEY", "fake-anthropic-key".to_string()),
            ("OPENAI_BASE_URL", self.url()),
            ("OPENAI_API_KEY", "fake-openai-key".to_string()),
            ("TRIDENT_RETRY_BASE_MS", "1".to_string()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
    }

    /// Queue a successful reply.
    pub fn push_reply(&self, reply: FakeReply) -> &Self {
        self.push(Scripted::Reply(reply))
    }

    /// Queue an error status (429, 500, 401...) with an error body of the endpoint's shape.
    pub fn push_status(&self, status: u16) -> &Self {
        self.push(Scripted::Status {
            status,
            retry_after_secs: None,
        })
    }

    /// Queue an error status carrying a `Retry-After: <secs>` header.
    pub fn push_status_with_retry_after(&self, status: u16, secs: u64) -> &Self {
        self.push(Scripted::Status {
            status,
            retry_after_secs: Some(secs),
        })
    }

    /// Queue a network failure: the connection is closed without a response.
    pub fn push_disconnect(&self) -> &Self {
        self.push(Scripted::Disconnect)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// How many scripted entries are still queued.
    pub fn pending(&self) -> usize {
        self.shared.state().queue.len()
    }

    fn push(&self, entry: Scripted) -> &Self {
        self.shared.state().queue.push_back(entry);
        self
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn serve(listener: TcpListener, shared: &Shared) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        if let Ok(stream) = stream {
            // A misbehaving client must not stop the server.
            let _ = handle_connection(stream, shared);
        }
    }
}

/// An HTTP response to write.
struct Answer {
    status: u16,
    body: Value,
    retry_after_secs: Option<u64>,
}

fn handle_connection(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;

    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    if method.is_empty() {
        // A wake-up connection from Drop, or a client that went away.
        return Ok(());
    }

    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };

    if header("transfer-encoding").is_some() {
        return write_answer(
            &mut writer,
            &error_answer(&path, 411, "send a Content-Length body"),
        );
    }
    let length: usize = header("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    if length > MAX_BODY {
        return write_answer(&mut writer, &error_answer(&path, 413, "body too large"));
    }
    if header("expect").is_some_and(|value| value.eq_ignore_ascii_case("100-continue")) {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let mut raw_body = vec![0u8; length];
    reader.read_exact(&mut raw_body)?;
    let body: Value = serde_json::from_slice(&raw_body).unwrap_or(Value::Null);

    let request = RecordedRequest {
        method,
        path,
        headers,
        body,
    };
    let api = Api::of(&request.path);
    let scripted = {
        let mut state = shared.state();
        state.requests.push(request.clone());
        match api {
            Some(_) if request.method == "POST" => state.queue.pop_front(),
            _ => None,
        }
    };

    let answer = match (api, request.method.as_str()) {
        (None, _) => error_answer(&request.path, 404, "no such endpoint on the fake LLM"),
        (Some(_), method) if method != "POST" => {
            error_answer(&request.path, 405, "only POST is supported")
        }
        (Some(_), _) if request.body.is_null() => {
            error_answer(&request.path, 400, "the request body is not JSON")
        }
        (Some(api), _) => match scripted {
            Some(Scripted::Disconnect) => return Ok(()),
            Some(Scripted::Status {
                status,
                retry_after_secs,
            }) => Answer {
                retry_after_secs,
                ..error_answer(&request.path, status, "scripted failure")
            },
            Some(Scripted::Reply(reply)) => reply_answer(api, &request, &reply, shared),
            None => {
                let reply = default_reply(&request);
                reply_answer(api, &request, &reply, shared)
            }
        },
    };
    write_answer(&mut writer, &answer)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Anthropic,
    OpenAi,
}

impl Api {
    fn of(path: &str) -> Option<Api> {
        let path = path.split('?').next().unwrap_or_default();
        if path.ends_with("/messages") {
            Some(Api::Anthropic)
        } else if path.ends_with("/chat/completions") {
            Some(Api::OpenAi)
        } else {
            None
        }
    }
}

/// The schema properties a request asks the reply to follow, if it asks for structured output.
fn requested_properties(request: &RecordedRequest) -> Option<&serde_json::Map<String, Value>> {
    let body = &request.body;
    body["tools"][0]["input_schema"]["properties"]
        .as_object()
        .or_else(|| body["response_format"]["json_schema"]["schema"]["properties"].as_object())
}

fn default_reply(request: &RecordedRequest) -> FakeReply {
    if let Some(properties) = requested_properties(request) {
        let object = properties
            .iter()
            .map(|(name, property)| {
                let value = match property["type"].as_str() {
                    Some("number") => json!(42),
                    Some("boolean") => json!(true),
                    Some("array") => json!([]),
                    Some("object") => json!({}),
                    _ => json!(format!("fake {name}")),
                };
                (name.clone(), value)
            })
            .collect();
        return FakeReply::json(Value::Object(object));
    }
    let prompt = request.prompt().unwrap_or_default();
    if request.body["response_format"]["type"] == "json_object" {
        return FakeReply::json(json!({ "echo": prompt }));
    }
    FakeReply::text(format!("echo: {prompt}"))
}

fn word_count(text: &str) -> u64 {
    (text.split_whitespace().count() as u64).max(1)
}

fn reply_answer(api: Api, request: &RecordedRequest, reply: &FakeReply, shared: &Shared) -> Answer {
    let serial = shared.replies_sent.fetch_add(1, Ordering::SeqCst) + 1;
    let model = request.model().unwrap_or("fake-model");
    let content_text = match &reply.content {
        FakeContent::Text(text) => text.clone(),
        FakeContent::Json(value) => value.to_string(),
    };
    let (input_tokens, output_tokens) = reply.tokens.unwrap_or_else(|| {
        (
            word_count(request.prompt().unwrap_or_default()),
            word_count(&content_text),
        )
    });
    let body = match api {
        Api::Anthropic => {
            let forced_tool = request.body["tool_choice"]["name"]
                .as_str()
                .or_else(|| request.body["tools"][0]["name"].as_str());
            let (block, stop_reason) = match (&reply.content, forced_tool) {
                (FakeContent::Json(value), Some(tool)) => (
                    json!({"type": "tool_use", "id": format!("toolu_fake_{serial}"),
                           "name": tool, "input": value}),
                    "tool_use",
                ),
                _ => (json!({"type": "text", "text": content_text}), "end_turn"),
            };
            json!({
                "id": format!("msg_fake_{serial}"),
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [block],
                "stop_reason": stop_reason,
                "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
            })
        }
        Api::OpenAi => json!({
            "id": format!("chatcmpl-fake-{serial}"),
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content_text},
                "finish_reason": "stop",
            }],
            "usage": {
                "prompt_tokens": input_tokens,
                "completion_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens,
            },
        }),
    };
    Answer {
        status: 200,
        body,
        retry_after_secs: None,
    }
}

/// An error response in the shape of the API at `path`.
fn error_answer(path: &str, status: u16, message: &str) -> Answer {
    let message = format!("fake LLM: {message} (HTTP {status})");
    let kind = match status {
        400 | 413 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    let body = match Api::of(path) {
        Some(Api::OpenAi) => {
            json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
        }
        _ => json!({"type": "error", "error": {"type": kind, "message": message}}),
    };
    Answer {
        status,
        body,
        retry_after_secs: None,
    }
}

fn write_answer(writer: &mut TcpStream, answer: &Answer) -> io::Result<()> {
    let body = answer.body.to_string();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n",
        answer.status,
        reason(answer.status),
        body.len()
    );
    if let Some(secs) = answer.retry_after_secs {
        head.push_str(&format!("retry-after: {secs}\r\n"));
    }
    head.push_str("\r\n");
    writer.write_all(head.as_bytes())?;
    writer.write_all(body.as_bytes())?;
    writer.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
