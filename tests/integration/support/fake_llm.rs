//! A fake LLM server for tests: it speaks the Anthropic Messages API (`POST .../v1/messages`)
//! and OpenAI Chat Completions (`POST .../chat/completions`) well enough for Trident's
//! providers, and records every request it gets.
//!
//! It uses only std: one thread accepting on `127.0.0.1:0` and one thread per connection,
//! HTTP/1.1 with `Content-Length` bodies and keep-alive (a connection serves requests until
//! the client closes it; [`FakeLlm::connections`] counts the connections accepted, and
//! [`FakeLlm::close_idle_after`] makes the server close connections left idle). Scripted
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
//! reply (at least 1 each); [`FakeReply::cache_tokens`] adds prompt-cache counts.
//!
//! A prompt can also steer its own reply, whatever the queue holds: `@sleep 250` anywhere in
//! it delays the reply by 250 ms (concurrent requests sleep concurrently), and `@status 401`
//! answers with that error status instead (`@status 200` is a normal reply).
//!
//! JSON replies take the shape of the endpoint hit: for Anthropic a `tool_use` block named
//! after the forced tool (`structured_output`) when the request had tools, else a text block
//! holding the JSON text; for OpenAI the JSON text as the message content. The server stops
//! when the handle is dropped.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
    /// Prompt-cache tokens (read, written) reported in the usage.
    cache: Option<(u64, u64)>,
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
    /// Connections accepted.
    connections: AtomicU64,
    /// Close a connection once it has been idle this long (`None`: keep it open).
    idle_close: Mutex<Option<Duration>>,
    /// The threads serving connections, joined when the server stops.
    handlers: Mutex<Vec<JoinHandle<()>>>,
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
            cache: None,
        }
    }

    /// A structured (json) reply.
    pub fn json(value: Value) -> Self {
        FakeReply {
            content: FakeContent::Json(value),
            tokens: None,
            cache: None,
        }
    }

    /// Report these token counts in the reply's usage.
    pub fn tokens(mut self, input: u64, output: u64) -> Self {
        self.tokens = Some((input, output));
        self
    }

    /// Report prompt-cache tokens: Anthropic `cache_read_input_tokens` and
    /// `cache_creation_input_tokens`; OpenAI `prompt_tokens_details.cached_tokens` (= `read`,
    /// which OpenAI counts inside `prompt_tokens`).
    pub fn cache_tokens(mut self, read: u64, written: u64) -> Self {
        self.cache = Some((read, written));
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
            connections: AtomicU64::new(0),
            idle_close: Mutex::new(None),
            handlers: Mutex::new(Vec::new()),
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

    /// How many TCP connections the server has accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// From now on, close any connection that stays idle (no new request) for `idle`, as
    /// servers and load balancers do.
    pub fn close_idle_after(&self, idle: Duration) -> &Self {
        *self
            .shared
            .idle_close
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(idle);
        self
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
        let handlers = std::mem::take(
            &mut *self
                .shared
                .handlers
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        for handler in handlers {
            let _ = handler.join();
        }
    }
}

fn serve(listener: TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        if let Ok(stream) = stream {
            shared.connections.fetch_add(1, Ordering::SeqCst);
            let connection_shared = Arc::clone(shared);
            let handler = std::thread::Builder::new()
                .name("fake-llm-connection".into())
                // A misbehaving client must not stop the server.
                .spawn(move || {
                    let _ = serve_connection(stream, &connection_shared);
                });
            if let Ok(handler) = handler {
                shared
                    .handlers
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(handler);
            }
        }
    }
}

/// How often a waiting connection checks whether the server is stopping.
const POLL: Duration = Duration::from_millis(20);

/// Serve requests on one connection until the client closes it, a request asks to close it,
/// it stays idle too long, or the server stops.
fn serve_connection(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        if reader.buffer().is_empty() && !wait_for_request(&writer, shared)? {
            return Ok(());
        }
        writer.set_read_timeout(Some(Duration::from_secs(10)))?;
        if !handle_request(&mut reader, &mut writer, shared)? {
            return Ok(());
        }
    }
}

/// Wait until the next request starts arriving: `false` when the connection should close
/// instead (closed by the client, idle too long, server stopping).
fn wait_for_request(stream: &TcpStream, shared: &Shared) -> io::Result<bool> {
    let idle_since = Instant::now();
    let idle_limit = *shared
        .idle_close
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut byte = [0u8; 1];
    loop {
        if shared.stopping.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let wait = match idle_limit {
            Some(limit) => match limit.checked_sub(idle_since.elapsed()) {
                Some(left) if !left.is_zero() => left.min(POLL),
                _ => return Ok(false),
            },
            None => POLL,
        };
        stream.set_read_timeout(Some(wait))?;
        match stream.peek(&mut byte) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Sleep `duration`, waking early when the server stops.
fn sleep_unless_stopping(duration: Duration, shared: &Shared) {
    let deadline = Instant::now() + duration;
    while !shared.stopping.load(Ordering::SeqCst) {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return;
        };
        std::thread::sleep(left.min(POLL));
    }
}

/// The number after `directive` (`@sleep`, `@status`) in a prompt, if any.
fn directive(prompt: &str, name: &str) -> Option<u64> {
    let rest = prompt.split(name).nth(1)?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// An HTTP response to write.
struct Answer {
    status: u16,
    body: Value,
    retry_after_secs: Option<u64>,
}

/// Reads one HTTP/1.1 request (a `Content-Length` body); `None` for a connection closed
/// without one (a wake-up from Drop, a client that went away) or a request already answered
/// with an error (411, 413), after which the connection must close. With the request: whether
/// the client keeps the connection alive. Shared with the streaming fake of
/// `fake_claude_api`.
pub fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> io::Result<Option<(RecordedRequest, bool)>> {
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    if method.is_empty() {
        return Ok(None);
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

    // A body that is not read leaves the connection unusable: answer, then close it.
    if header("transfer-encoding").is_some() {
        let answer = error_answer(&path, 411, "send a Content-Length body");
        write_answer(writer, &answer, false)?;
        return Ok(None);
    }
    let length: usize = header("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    if length > MAX_BODY {
        write_answer(writer, &error_answer(&path, 413, "body too large"), false)?;
        return Ok(None);
    }
    let keep_alive = !header("connection").is_some_and(|value| value.eq_ignore_ascii_case("close"));
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
    Ok(Some((request, keep_alive)))
}

/// Read one request and answer it; `Ok(false)` when the connection must close afterwards.
fn handle_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    shared: &Shared,
) -> io::Result<bool> {
    let Some((request, keep_alive)) = read_request(reader, writer)? else {
        return Ok(false);
    };
    let api = Api::of(&request.path);
    let prompt = request.prompt().unwrap_or_default().to_string();
    if let Some(ms) = directive(&prompt, "@sleep") {
        sleep_unless_stopping(Duration::from_millis(ms), shared);
    }
    let steered_status = directive(&prompt, "@status")
        .and_then(|status| u16::try_from(status).ok())
        .filter(|status| *status != 200);
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
        (Some(_), _) if steered_status.is_some() => error_answer(
            &request.path,
            steered_status.unwrap_or(500),
            "status asked for by @status",
        ),
        (Some(api), _) => match scripted {
            Some(Scripted::Disconnect) => return Ok(false),
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
    write_answer(writer, &answer, keep_alive)?;
    Ok(keep_alive)
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
                "usage": match reply.cache {
                    None => json!({"input_tokens": input_tokens, "output_tokens": output_tokens}),
                    Some((read, written)) => json!({
                        "input_tokens": input_tokens,
                        "cache_creation_input_tokens": written,
                        "cache_read_input_tokens": read,
                        "output_tokens": output_tokens,
                    }),
                },
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
            "usage": match reply.cache {
                None => json!({
                    "prompt_tokens": input_tokens,
                    "completion_tokens": output_tokens,
                    "total_tokens": input_tokens + output_tokens,
                }),
                Some((read, _)) => json!({
                    "prompt_tokens": input_tokens,
                    "completion_tokens": output_tokens,
                    "total_tokens": input_tokens + output_tokens,
                    "prompt_tokens_details": {"cached_tokens": read},
                }),
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

fn write_answer(writer: &mut TcpStream, answer: &Answer, keep_alive: bool) -> io::Result<()> {
    let body = answer.body.to_string();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        answer.status,
        reason(answer.status),
        body.len()
    );
    if !keep_alive {
        head.push_str("connection: close\r\n");
    }
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
