//! An in-test OTLP/HTTP receiver on 127.0.0.1: it accepts `POST /v1/traces` and
//! `POST /v1/logs` in `http/protobuf` or `http/json`, decodes them with
//! `opentelemetry-proto` and keeps the spans and log records in a simple form for
//! assertions. It can also misbehave: answer 500, or accept and never answer. Stops when
//! dropped.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;
use serde_json::{Value, json};

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Healthy,
    Fails500,
    Hangs,
}

/// A span as received.
#[derive(Debug, Clone)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub trace_state: String,
    pub name: String,
    /// 1 internal, 2 server, 3 client.
    pub kind: i32,
    pub start_ns: u64,
    pub end_ns: u64,
    pub attributes: BTreeMap<String, Value>,
    /// 0 unset, 1 ok, 2 error.
    pub status_code: i32,
    pub status_message: String,
    pub events: Vec<(String, BTreeMap<String, Value>)>,
    /// (trace id, span id) of each link.
    pub links: Vec<(String, String)>,
    pub resource: BTreeMap<String, Value>,
}

impl Span {
    pub fn attr(&self, key: &str) -> Value {
        self.attributes.get(key).cloned().unwrap_or(Value::Null)
    }
}

/// A log record as received.
#[derive(Debug, Clone)]
pub struct Log {
    pub trace_id: String,
    pub span_id: String,
    pub severity_number: i32,
    pub severity_text: String,
    pub body: String,
    pub attributes: BTreeMap<String, Value>,
}

impl Log {
    pub fn attr(&self, key: &str) -> Value {
        self.attributes.get(key).cloned().unwrap_or(Value::Null)
    }
}

/// A request as received (method, path, content type, headers).
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Default)]
struct State {
    spans: Vec<Span>,
    logs: Vec<Log>,
    requests: Vec<Request>,
}

/// A running receiver.
pub struct OtlpReceiver {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
}

impl OtlpReceiver {
    pub fn start(behaviour: Behaviour) -> OtlpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("receiver: bind");
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (Arc::clone(&state), Arc::clone(&stop));
        let worker = std::thread::spawn(move || serve(listener, behaviour, &s, &st));
        OtlpReceiver {
            addr,
            state,
            stop,
            worker: Some(worker),
        }
    }

    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn spans(&self) -> Vec<Span> {
        self.state.lock().unwrap().spans.clone()
    }

    pub fn logs(&self) -> Vec<Log> {
        self.state.lock().unwrap().logs.clone()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The one span named `name`.
    pub fn span(&self, name: &str) -> Span {
        let spans = self.spans();
        let found: Vec<&Span> = spans.iter().filter(|s| s.name == name).collect();
        assert_eq!(
            found.len(),
            1,
            "expected one span {name:?}, got {}: {:#?}",
            found.len(),
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        found[0].clone()
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// A URL where nothing listens (connections are refused).
pub fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

fn serve(
    listener: TcpListener,
    behaviour: Behaviour,
    state: &Arc<Mutex<State>>,
    stop: &AtomicBool,
) {
    let mut held = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                if behaviour == Behaviour::Hangs {
                    // Accept, read nothing, answer nothing: keep the connection open.
                    held.push(stream);
                    continue;
                }
                let state = Arc::clone(state);
                std::thread::spawn(move || handle(stream, behaviour, &state));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn handle(stream: TcpStream, behaviour: Behaviour, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.trim().split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            if k == "content-length" {
                length = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let content_type = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let json = content_type.contains("json");
    let status = if behaviour == Behaviour::Fails500 {
        "500 Internal Server Error"
    } else {
        let mut st = state.lock().unwrap();
        st.requests.push(Request {
            path: path.clone(),
            content_type: content_type.clone(),
            headers: headers.clone(),
        });
        match path.as_str() {
            "/v1/traces" => {
                let request: ExportTraceServiceRequest = if json {
                    serde_json::from_slice(&body).expect("traces: json")
                } else {
                    ExportTraceServiceRequest::decode(body.as_slice()).expect("traces: protobuf")
                };
                st.spans.extend(spans_of(request));
            }
            "/v1/logs" => {
                let request: ExportLogsServiceRequest = if json {
                    serde_json::from_slice(&body).expect("logs: json")
                } else {
                    ExportLogsServiceRequest::decode(body.as_slice()).expect("logs: protobuf")
                };
                st.logs.extend(logs_of(request));
            }
            _ => {}
        }
        "200 OK"
    };
    let (answer_type, answer) = if json {
        ("application/json", "{}")
    } else {
        ("application/x-protobuf", "")
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {answer_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn value(v: &AnyValue) -> Value {
    match &v.value {
        Some(any_value::Value::StringValue(s)) => json!(s),
        Some(any_value::Value::BoolValue(b)) => json!(b),
        Some(any_value::Value::IntValue(i)) => json!(i),
        Some(any_value::Value::DoubleValue(d)) => json!(d),
        Some(any_value::Value::ArrayValue(a)) => Value::Array(a.values.iter().map(value).collect()),
        Some(any_value::Value::KvlistValue(kv)) => Value::Object(
            kv.values
                .iter()
                .map(|k| (k.key.clone(), k.value.as_ref().map_or(Value::Null, value)))
                .collect(),
        ),
        Some(any_value::Value::BytesValue(b)) => json!(hex(b)),
        _ => Value::Null,
    }
}

fn attrs(kvs: &[KeyValue]) -> BTreeMap<String, Value> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(Value::Null, value)))
        .collect()
}

fn spans_of(request: ExportTraceServiceRequest) -> Vec<Span> {
    let mut out = Vec::new();
    for rs in request.resource_spans {
        let resource = rs
            .resource
            .as_ref()
            .map(|r| attrs(&r.attributes))
            .unwrap_or_default();
        for ss in rs.scope_spans {
            for s in ss.spans {
                let status = s.status.clone().unwrap_or_default();
                out.push(Span {
                    trace_id: hex(&s.trace_id),
                    span_id: hex(&s.span_id),
                    parent_span_id: hex(&s.parent_span_id),
                    trace_state: s.trace_state.clone(),
                    name: s.name.clone(),
                    kind: s.kind,
                    start_ns: s.start_time_unix_nano,
                    end_ns: s.end_time_unix_nano,
                    attributes: attrs(&s.attributes),
                    status_code: status.code,
                    status_message: status.message,
                    events: s
                        .events
                        .iter()
                        .map(|e| (e.name.clone(), attrs(&e.attributes)))
                        .collect(),
                    links: s
                        .links
                        .iter()
                        .map(|l| (hex(&l.trace_id), hex(&l.span_id)))
                        .collect(),
                    resource: resource.clone(),
                });
            }
        }
    }
    out
}

fn logs_of(request: ExportLogsServiceRequest) -> Vec<Log> {
    let mut out = Vec::new();
    for rl in request.resource_logs {
        for sl in rl.scope_logs {
            for l in sl.log_records {
                out.push(Log {
                    trace_id: hex(&l.trace_id),
                    span_id: hex(&l.span_id),
                    severity_number: l.severity_number,
                    severity_text: l.severity_text.clone(),
                    body: l
                        .body
                        .as_ref()
                        .map(value)
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    attributes: attrs(&l.attributes),
                });
            }
        }
    }
    out
}
