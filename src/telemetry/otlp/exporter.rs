//! The export thread: spans and log records go through a bounded channel to one thread
//! that batches them into OTLP export requests, encodes them (protobuf or JSON) and POSTs
//! them, so a slow or dead collector never slows the run. What cannot be queued or
//! exported is counted; at the end the stream waits for the thread at most the export
//! timeout and reports the loss.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;

use super::http_client::OtlpHttp;
use super::proto::{logs_request, resource, traces_request};
use super::settings::{OtlpProtocol, OtlpSettings};
use crate::telemetry::queue::lock;

/// Batches waiting for the export thread; more are dropped (and counted).
const QUEUE_BATCHES: usize = 256;
/// How long the thread gathers before exporting what it has.
const EXPORT_INTERVAL: Duration = Duration::from_millis(200);
/// Most spans or log records in one request.
const MAX_BATCH: usize = 2048;

/// One writer batch's worth of telemetry.
struct Item {
    spans: Vec<Span>,
    logs: Vec<LogRecord>,
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
            resource: resource(settings),
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
    pub fn send(&mut self, spans: Vec<Span>, logs: Vec<LogRecord>) {
        if spans.is_empty() && logs.is_empty() {
            return;
        }
        let Some(tx) = &self.tx else {
            return;
        };
        let count = (spans.len() + logs.len()) as u64;
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
    resource: Resource,
    status: Arc<Mutex<Status>>,
    /// Hidden from error messages.
    secrets: Vec<String>,
}

impl Worker {
    fn run(self, rx: Receiver<Item>) {
        let mut spans: Vec<Span> = Vec::new();
        let mut logs: Vec<LogRecord> = Vec::new();
        let mut since = Instant::now();
        loop {
            let wait = EXPORT_INTERVAL.saturating_sub(since.elapsed());
            let closed = match rx.recv_timeout(wait) {
                Ok(item) => {
                    spans.extend(item.spans);
                    logs.extend(item.logs);
                    false
                }
                Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => true,
            };
            let due = since.elapsed() >= EXPORT_INTERVAL;
            if closed || due || spans.len() >= MAX_BATCH || logs.len() >= MAX_BATCH {
                self.export(&mut spans, &mut logs);
                since = Instant::now();
            }
            if closed {
                break;
            }
        }
    }

    fn export(&self, spans: &mut Vec<Span>, logs: &mut Vec<LogRecord>) {
        while !spans.is_empty() {
            let rest = spans.split_off(spans.len().min(MAX_BATCH));
            let batch = std::mem::replace(spans, rest);
            let n = batch.len() as u64;
            let request = traces_request(&self.resource, batch);
            let body = match self.protocol {
                OtlpProtocol::HttpProtobuf => Ok(request.encode_to_vec()),
                OtlpProtocol::HttpJson => serde_json::to_vec(&request).map_err(|e| e.to_string()),
            };
            self.account(n, body.and_then(|b| self.post(&self.traces_url, &b)));
        }
        while !logs.is_empty() {
            let rest = logs.split_off(logs.len().min(MAX_BATCH));
            let batch = std::mem::replace(logs, rest);
            let n = batch.len() as u64;
            let request = logs_request(&self.resource, batch);
            let body = match self.protocol {
                OtlpProtocol::HttpProtobuf => Ok(request.encode_to_vec()),
                OtlpProtocol::HttpJson => serde_json::to_vec(&request).map_err(|e| e.to_string()),
            };
            self.account(n, body.and_then(|b| self.post(&self.logs_url, &b)));
        }
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
