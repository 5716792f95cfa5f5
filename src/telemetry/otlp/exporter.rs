//! The export thread: spans and log records go through a bounded channel to one thread
//! that batches them into OTLP export requests, encodes them (protobuf or JSON) and POSTs
//! them, so a slow or dead collector never slows the run. What cannot be queued or
//! exported is counted; at the end the stream waits for the thread at most the export
//! timeout and reports the loss.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;

use super::http_client::OtlpHttp;
use super::proto::{resource, scope};
use super::settings::{OtlpProtocol, OtlpSettings};
use super::wire::request;
use crate::telemetry::queue::lock;

/// Batches waiting for the export thread; more are dropped (and counted).
const QUEUE_BATCHES: usize = 256;
/// How long the thread gathers before exporting what it has.
const EXPORT_INTERVAL: Duration = Duration::from_millis(200);
/// Spans or log records gathered that make the thread export at once (a request holds
/// them and what came with the last writer batch): the OpenTelemetry SDKs' default batch
/// size. A large run is exported while it goes, in requests of about 100 KB, and its end
/// waits only for the last one.
const MAX_BATCH: u64 = 512;

/// Spans or log records already encoded (`wire`), and how many.
#[derive(Debug, Default)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub count: u64,
}

impl Encoded {
    fn append(&mut self, mut other: Encoded) {
        if self.bytes.is_empty() {
            self.bytes = other.bytes;
        } else {
            self.bytes.append(&mut other.bytes);
        }
        self.count += other.count;
    }
}

/// One writer batch's worth of telemetry.
struct Item {
    spans: Encoded,
    logs: Encoded,
}

/// Loss and the first error, shared with the thread.
#[derive(Debug, Default)]
struct Status {
    error: Option<String>,
    dropped: u64,
    exported: u64,
    /// Queued or being exported.
    in_flight: u64,
}

/// What went wrong, reported once at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportFailure {
    /// The first error (never a header value).
    pub error: String,
    /// Spans and log records that did not reach the collector.
    pub dropped: u64,
}

/// Sends batches to the export thread.
pub struct Exporter {
    tx: Option<SyncSender<Item>>,
    status: Arc<Mutex<Status>>,
    done: Receiver<()>,
    timeout: Duration,
}

impl Exporter {
    /// Starts the export thread for `settings`.
    pub fn start(settings: &OtlpSettings) -> Result<Exporter, String> {
        let worker = Worker {
            http: OtlpHttp::new(settings.timeout, settings.headers.clone()),
            traces_url: settings.traces_endpoint.clone(),
            logs_url: settings.logs_endpoint.clone(),
            protocol: settings.protocol,
            resource: resource(settings).encode_to_vec(),
            scope: scope().encode_to_vec(),
            status: Arc::new(Mutex::new(Status::default())),
            secrets: secrets_of(settings),
        };
        let status = Arc::clone(&worker.status);
        let (tx, rx) = mpsc::sync_channel::<Item>(QUEUE_BATCHES);
        let (done_tx, done) = mpsc::channel();
        thread::Builder::new()
            .name("trident-otlp".to_string())
            .spawn(move || {
                worker.run(rx);
                let _ = done_tx.send(());
            })
            .map_err(|e| format!("cannot start the export thread: {e}"))?;
        Ok(Exporter {
            tx: Some(tx),
            status,
            done,
            timeout: settings.timeout,
        })
    }

    /// Queues spans and log records; never blocks (a full queue drops them, counted).
    pub fn send(&mut self, spans: Encoded, logs: Encoded) {
        let count = spans.count + logs.count;
        if count == 0 {
            return;
        }
        let Some(tx) = &self.tx else {
            return;
        };
        // Counted before sending, so the thread's accounting never runs ahead of it.
        lock(&self.status).in_flight += count;
        match tx.try_send(Item { spans, logs }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let mut st = lock(&self.status);
                st.in_flight -= count;
                st.dropped += count;
                st.error
                    .get_or_insert_with(|| "the export queue is full".to_string());
            }
            Err(TrySendError::Disconnected(_)) => {
                let mut st = lock(&self.status);
                st.in_flight -= count;
                st.dropped += count;
            }
        }
    }

    /// Ends the thread after its last export, waiting at most the export timeout; what was
    /// still queued then is counted as dropped. `None` when everything was exported.
    pub fn close(&mut self) -> Option<ExportFailure> {
        drop(self.tx.take()?);
        let finished = self.done.recv_timeout(self.timeout).is_ok();
        let mut st = lock(&self.status);
        if !finished {
            st.error.get_or_insert_with(|| {
                "the collector did not answer within the export timeout".to_string()
            });
            // What the thread still holds is lost: the run does not wait for it.
            st.dropped += std::mem::take(&mut st.in_flight);
        }
        st.error.clone().map(|error| ExportFailure {
            error,
            dropped: st.dropped,
        })
    }

    /// Spans and log records exported so far.
    pub fn exported(&self) -> u64 {
        lock(&self.status).exported
    }

    /// The first error and the loss so far, once an export has failed.
    pub fn failure(&self) -> Option<ExportFailure> {
        let st = lock(&self.status);
        st.error.clone().map(|error| ExportFailure {
            error,
            dropped: st.dropped,
        })
    }
}

/// What must never appear in an error message: header values and the endpoints'
/// `user:password`.
fn secrets_of(settings: &OtlpSettings) -> Vec<String> {
    let mut secrets: Vec<String> = settings
        .headers
        .iter()
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
        .collect();
    for url in [&settings.traces_endpoint, &settings.logs_endpoint] {
        if let Some((_, rest)) = url.split_once("://") {
            let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
            if let Some((userinfo, _)) = authority.rsplit_once('@') {
                secrets.push(userinfo.to_string());
            }
        }
    }
    secrets
}

struct Worker {
    http: OtlpHttp,
    traces_url: String,
    logs_url: String,
    protocol: OtlpProtocol,
    /// The resource and the scope, encoded once.
    resource: Vec<u8>,
    scope: Vec<u8>,
    status: Arc<Mutex<Status>>,
    /// Hidden from error messages.
    secrets: Vec<String>,
}

impl Worker {
    fn run(self, rx: Receiver<Item>) {
        let mut spans = Encoded::default();
        let mut logs = Encoded::default();
        let mut since = Instant::now();
        loop {
            let wait = EXPORT_INTERVAL.saturating_sub(since.elapsed());
            let closed = match rx.recv_timeout(wait) {
                Ok(item) => {
                    spans.append(item.spans);
                    logs.append(item.logs);
                    false
                }
                Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => true,
            };
            let due = since.elapsed() >= EXPORT_INTERVAL;
            let full = spans.count >= MAX_BATCH || logs.count >= MAX_BATCH;
            if closed || due || full {
                self.export(std::mem::take(&mut spans), &self.traces_url, true);
                self.export(std::mem::take(&mut logs), &self.logs_url, false);
                since = Instant::now();
            }
            if closed {
                break;
            }
        }
    }

    /// Sends `items` (spans, or log records) in one request.
    fn export(&self, items: Encoded, url: &str, spans: bool) {
        if items.count == 0 {
            return;
        }
        let body = request(&self.resource, &self.scope, &items.bytes);
        let body = match self.protocol {
            OtlpProtocol::HttpProtobuf => Ok(body),
            // The same request, decoded and written as OTLP/JSON.
            OtlpProtocol::HttpJson if spans => ExportTraceServiceRequest::decode(&body[..])
                .map_err(|e| e.to_string())
                .and_then(|r| serde_json::to_vec(&r).map_err(|e| e.to_string())),
            OtlpProtocol::HttpJson => ExportLogsServiceRequest::decode(&body[..])
                .map_err(|e| e.to_string())
                .and_then(|r| serde_json::to_vec(&r).map_err(|e| e.to_string())),
        };
        self.account(items.count, body.and_then(|b| self.post(url, &b)));
    }

    /// POSTs one encoded request; an error never shows a secret.
    fn post(&self, url: &str, body: &[u8]) -> Result<(), String> {
        let content_type = match self.protocol {
            OtlpProtocol::HttpProtobuf => "application/x-protobuf",
            OtlpProtocol::HttpJson => "application/json",
        };
        self.http.post(url, content_type, body).map_err(|mut text| {
            for secret in &self.secrets {
                text = text.replace(secret.as_str(), "[REDACTED]");
            }
            text
        })
    }

    fn account(&self, n: u64, result: Result<(), String>) {
        let mut st = lock(&self.status);
        st.in_flight = st.in_flight.saturating_sub(n);
        match result {
            Ok(()) => st.exported += n,
            Err(e) => {
                st.dropped += n;
                st.error.get_or_insert(e);
            }
        }
    }
}
