//! Starting a stream: turns resolved settings (or explicit sinks, for tests and embedding)
//! into the shared queue, the writer thread and the guard.

use std::sync::Arc;
use std::time::Duration;

use super::clock::Clock;
use super::emitter::{Core, Telemetry};
use super::filter::EventFilter;
use super::guard::{SHUTDOWN_TIMEOUT, TelemetryGuard};
use super::notice::Notices;
use super::policy::{MAX_PAYLOAD_CHARS, PayloadPolicy};
use super::queue::EventQueue;
use super::redact::Redactor;
use super::settings::TelemetrySettings;
use super::sink::{FileSink, Rotation, Sink, StdoutSink};
use super::writer::{EventWriter, FLUSH_INTERVAL};

/// How many events may wait for the writer before new ones are dropped (and reported).
pub const DEFAULT_QUEUE_CAPACITY: usize = 32 * 1024;

/// Configures and starts a telemetry stream.
#[must_use]
pub struct TelemetryBuilder {
    settings: TelemetrySettings,
    secrets: Vec<String>,
    sinks: Option<Vec<Box<dyn Sink>>>,
    capacity: usize,
    flush_interval: Duration,
    shutdown_timeout: Duration,
    notices: Notices,
}

impl TelemetryBuilder {
    /// A builder for `settings`, with the sinks they describe.
    pub fn new(settings: &TelemetrySettings) -> TelemetryBuilder {
        TelemetryBuilder {
            settings: settings.clone(),
            secrets: Vec::new(),
            sinks: None,
            capacity: DEFAULT_QUEUE_CAPACITY,
            flush_interval: FLUSH_INTERVAL,
            shutdown_timeout: SHUTDOWN_TIMEOUT,
            notices: Notices::stderr(),
        }
    }

    /// Values to redact wherever they appear.
    pub fn secrets(mut self, secrets: Vec<String>) -> Self {
        self.secrets = secrets;
        self
    }

    /// Adds a sink; once any sink is added, the settings' stdout and file are not used.
    pub fn sink(mut self, sink: Box<dyn Sink>) -> Self {
        self.sinks.get_or_insert_with(Vec::new).push(sink);
        self
    }

    /// The queue bound (default [`DEFAULT_QUEUE_CAPACITY`]).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// How often the writer drains while events flow (default [`FLUSH_INTERVAL`]).
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// How long the guard waits for the writer at shutdown.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Where warnings about telemetry itself go (default stderr).
    pub fn notices(mut self, notices: Notices) -> Self {
        self.notices = notices;
        self
    }

    /// Starts the writer thread. Off settings, no sink, or a thread that cannot be started
    /// (with a notice) give a disabled stream: telemetry never stops a run.
    pub fn start(self) -> (Telemetry, TelemetryGuard) {
        let settings = self.settings;
        if !settings.enabled {
            return (Telemetry::disabled(), TelemetryGuard::disabled());
        }
        let sinks = self.sinks.unwrap_or_else(|| default_sinks(&settings));
        if sinks.is_empty() {
            return (Telemetry::disabled(), TelemetryGuard::disabled());
        }
        let filter = EventFilter::new(settings.level, &settings.filter);
        let max_chars = if settings.keeps_payloads_whole() {
            None
        } else {
            Some(MAX_PAYLOAD_CHARS)
        };
        let redactor = Redactor::new(settings.redact, self.secrets, &settings.redact_keys);
        let policy = PayloadPolicy::new(redactor, max_chars);
        let capacity = self.capacity.max(2);
        let core = Arc::new(Core {
            queue: EventQueue::new(capacity, Clock::start()),
            filter,
        });
        let writer = EventWriter::new(
            Arc::clone(&core),
            sinks,
            settings.format,
            policy,
            self.notices.clone(),
            self.flush_interval,
            capacity,
        );
        match writer.spawn() {
            Ok(worker) => {
                let guard = TelemetryGuard::new(
                    Arc::clone(&core),
                    worker,
                    self.notices,
                    self.shutdown_timeout,
                );
                (Telemetry::from_core(core), guard)
            }
            Err(e) => {
                self.notices.warn(&format!(
                    "cannot start the writer thread ({e}); telemetry is off"
                ));
                (Telemetry::disabled(), TelemetryGuard::disabled())
            }
        }
    }
}

/// The sinks `settings` ask for: stdout and/or the file.
fn default_sinks(settings: &TelemetrySettings) -> Vec<Box<dyn Sink>> {
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if settings.stdout {
        let colors = settings.colors && StdoutSink::is_terminal();
        sinks.push(Box::new(StdoutSink::new(colors)));
    }
    if let Some(file) = &settings.file {
        let rotation = settings.max_size.map(|max_size| Rotation {
            max_size,
            max_files: settings.max_files,
        });
        sinks.push(Box::new(FileSink::new(file.clone(), rotation)));
    }
    sinks
}
