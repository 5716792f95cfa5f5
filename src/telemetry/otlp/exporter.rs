//! The export thread: spans and log records go through a bounded channel to one thread
//! that batches them and POSTs them with the official OTLP exporters, so a slow or dead
//! collector never slows the run. What cannot be queued or exported is counted; at the end
//! the stream waits for the thread at most the export timeout and reports the loss.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use opentelemetry::{InstrumentationScope, KeyValue, Value as OtelValue};
use opentelemetry_otlp::{
    LogExporter, Protocol, SpanExporter, WithExportConfig as _, WithHttpConfig as _,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{LogBatch, LogExporter as _, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};

use super::http_client::{NetworkError, UreqClient};
use super::settings::{OtlpProtocol, OtlpSettings};
use super::span_tree::LogItem;
use crate::telemetry::queue::lock;

/// Batches waiting for the export thread; more are dropped (and counted).
const QUEUE_BATCHES: usize = 256;
/// How long the thread gathers before exporting what it has.
const EXPORT_INTERVAL: Duration = Duration::from_millis(200);
/// Most spans or log records in one request.
const MAX_BATCH: usize = 2048;

/// One writer batch's worth of telemetry.
struct Item {
    spans: Vec<SpanData>,
    logs: Vec<LogItem>,
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

/// Polls a future that completes without waiting (the HTTP client is blocking).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

impl Exporter {
    /// Builds both exporters and starts the thread.
    pub fn start(settings: &OtlpSettings, scope: InstrumentationScope) -> Result<Exporter, String> {
        let protocol = match settings.protocol {
            OtlpProtocol::HttpProtobuf => Protocol::HttpBinary,
            OtlpProtocol::HttpJson => Protocol::HttpJson,
        };
        let headers: std::collections::HashMap<String, String> =
            settings.headers.iter().cloned().collect();
        let retry = opentelemetry_otlp::RetryPolicy::disabled();
        let network_error = NetworkError::default();
        let mut spans = SpanExporter::builder()
            .with_http()
            .with_http_client(UreqClient::new(settings.timeout, network_error.clone()))
            .with_endpoint(settings.traces_endpoint.clone())
            .with_protocol(protocol)
            .with_timeout(settings.timeout)
            .with_headers(headers.clone())
            .with_retry_policy(retry.clone())
            .build()
            .map_err(|e| e.to_string())?;
        let mut logs = LogExporter::builder()
            .with_http()
            .with_http_client(UreqClient::new(settings.timeout, network_error.clone()))
            .with_endpoint(settings.logs_endpoint.clone())
            .with_protocol(protocol)
            .with_timeout(settings.timeout)
            .with_headers(headers)
            .with_retry_policy(retry)
            .build()
            .map_err(|e| e.to_string())?;
        let resource = resource(settings);
        spans.set_resource(&resource);
        logs.set_resource(&resource);
        let secrets = secrets_of(settings);
        let (tx, rx) = mpsc::sync_channel::<Item>(QUEUE_BATCHES);
        let (done_tx, done) = mpsc::channel();
        let status = Arc::new(Mutex::new(Status::default()));
        let shared = Arc::clone(&status);
        thread::Builder::new()
            .name("trident-otlp".to_string())
            .spawn(move || {
                let worker = Worker {
                    spans,
                    logs,
                    scope,
                    status: shared,
                    network_error,
                    secrets,
                    provider: SdkLoggerProvider::builder().build(),
                };
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
    pub fn send(&mut self, spans: Vec<SpanData>, logs: Vec<LogItem>) {
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
    spans: opentelemetry_otlp::SpanExporter,
    logs: opentelemetry_otlp::LogExporter,
    scope: InstrumentationScope,
    status: Arc<Mutex<Status>>,
    /// Why the last request got no answer (the crate only says "network error").
    network_error: NetworkError,
    /// Hidden from error messages.
    secrets: Vec<String>,
    provider: SdkLoggerProvider,
}

impl Worker {
    fn run(self, rx: Receiver<Item>) {
        let mut spans: Vec<SpanData> = Vec::new();
        let mut logs: Vec<LogItem> = Vec::new();
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

    fn export(&self, spans: &mut Vec<SpanData>, logs: &mut Vec<LogItem>) {
        while !spans.is_empty() {
            let rest = spans.split_off(spans.len().min(MAX_BATCH));
            let batch = std::mem::replace(spans, rest);
            let n = batch.len() as u64;
            let result = block_on(self.spans.export(batch));
            self.account(n, result.map_err(|e| self.describe(e.to_string())));
        }
        while !logs.is_empty() {
            let rest = logs.split_off(logs.len().min(MAX_BATCH));
            let batch = std::mem::replace(logs, rest);
            let n = batch.len() as u64;
            let result = self.export_logs(batch);
            self.account(n, result);
        }
    }

    fn export_logs(&self, batch: Vec<LogItem>) -> Result<(), String> {
        let logger = self.provider.logger_with_scope(self.scope.clone());
        let records: Vec<_> = batch
            .into_iter()
            .map(|item| {
                let mut record = logger.create_log_record();
                record.set_timestamp(item.time);
                record.set_observed_timestamp(item.time);
                record.set_severity_number(severity(item.severity_number));
                record.set_severity_text(item.severity_text);
                record.set_body(AnyValue::from(item.body));
                record.add_attributes(item.attributes.into_iter().map(any_value));
                record.set_trace_context(
                    TraceId::from_bytes(item.trace_id),
                    SpanId::from_bytes(item.span_id),
                    Some(TraceFlags::SAMPLED),
                );
                record
            })
            .collect();
        let pairs: Vec<_> = records.iter().map(|r| (r, &self.scope)).collect();
        block_on(self.logs.export(LogBatch::new(&pairs))).map_err(|e| self.describe(e.to_string()))
    }

    /// The crate's error message, with the reason of a request that got no answer (which
    /// it reduces to "network error"), secrets hidden.
    fn describe(&self, error: String) -> String {
        let reason = lock(&self.network_error).take();
        let mut text = match reason {
            Some(reason) if error.contains("network error") => format!("{error} ({reason})"),
            _ => error,
        };
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), "[REDACTED]");
        }
        text
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

fn severity(number: i32) -> Severity {
    match number {
        5 => Severity::Debug,
        13 => Severity::Warn,
        17 => Severity::Error,
        _ => Severity::Info,
    }
}

fn any_value(kv: KeyValue) -> (opentelemetry::Key, AnyValue) {
    let value = match kv.value {
        OtelValue::Bool(b) => AnyValue::Boolean(b),
        OtelValue::I64(i) => AnyValue::Int(i),
        OtelValue::F64(f) => AnyValue::Double(f),
        OtelValue::String(s) => AnyValue::String(s),
        other => AnyValue::String(other.as_str().into_owned().into()),
    };
    (kv.key, value)
}

/// `service.name`, `service.version` and `OTEL_RESOURCE_ATTRIBUTES`.
fn resource(settings: &OtlpSettings) -> Resource {
    let mut attributes = vec![
        KeyValue::new(super::semconv::SERVICE_NAME, settings.service_name.clone()),
        KeyValue::new(super::semconv::SERVICE_VERSION, env!("CARGO_PKG_VERSION")),
    ];
    attributes.extend(
        settings
            .resource_attributes
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
    );
    Resource::builder_empty()
        .with_attributes(attributes)
        .build()
}
