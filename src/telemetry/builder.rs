//! Starting a stream: turns resolved settings (or explicit sinks, for tests and embedding)
//! and any extra destinations (a run's `events.jsonl`, progress, OTLP, metrics, hooks) into
//! the shared queue, the writer thread and the guard.

use std::sync::Arc;
use std::time::Duration;

use super::clock::Clock;
use super::destination::{Destination, DestinationOptions, Redactors};
use super::emitter::{Core, Telemetry};
use super::filter::{EventFilter, Selector};
use super::format::Format;
use super::guard::{SHUTDOWN_TIMEOUT, TelemetryGuard};
use super::notice::Notices;
use super::propagation::Propagation;
use super::queue::EventQueue;
use super::run_end_wait::RunEndWait;
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
    destinations: Vec<(Box<dyn Sink>, DestinationOptions)>,
    capacity: usize,
    flush_interval: Duration,
    shutdown_timeout: Duration,
    notices: Notices,
    run_end_waits: Vec<RunEndWait>,
}

impl TelemetryBuilder {
    /// A builder for `settings`, with the sinks they describe.
    pub fn new(settings: &TelemetrySettings) -> TelemetryBuilder {
        TelemetryBuilder {
            settings: settings.clone(),
            secrets: Vec::new(),
            sinks: None,
            destinations: Vec::new(),
            capacity: DEFAULT_QUEUE_CAPACITY,
            flush_interval: FLUSH_INTERVAL,
            shutdown_timeout: SHUTDOWN_TIMEOUT,
            notices: Notices::stderr(),
            run_end_waits: Vec::new(),
        }
    }

    /// Runs `wait` before each top-level run's `workflow_completed`/`workflow_failed` is
    /// queued, once the earlier events are handed to the destinations (see
    /// [`RunEndWait`]).
    pub fn before_run_ends(mut self, wait: RunEndWait) -> Self {
        self.run_end_waits.push(wait);
        self
    }

    /// Values to redact wherever they appear.
    pub fn secrets(mut self, secrets: Vec<String>) -> Self {
        self.secrets = secrets;
        self
    }

    /// Adds a stream sink, receiving what the settings' level, filter and format ask for
    /// ([`DestinationOptions::stream`]); once any is added, the settings' stdout and file
    /// are not used. Like them it is only written when the settings turn telemetry on.
    pub fn sink(mut self, sink: Box<dyn Sink>) -> Self {
        self.sinks.get_or_insert_with(Vec::new).push(sink);
        self
    }

    /// Adds a destination: `sink` receives the events `options` ask for, in their format,
    /// numbered by its own `seq`, whether or not the settings turn the stream on. This is
    /// how a consumer of events (a run's `events.jsonl`, live progress, an OTLP exporter,
    /// a metrics file, hooks) joins the one writer without touching the engine: its
    /// [`Sink::close`] is called once when the writer stops. See
    /// [`DestinationOptions`] for an example.
    pub fn destination(mut self, sink: Box<dyn Sink>, options: DestinationOptions) -> Self {
        self.destinations.push((sink, options));
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

    /// Starts the writer thread. No destination (off settings and none added), or a
    /// thread that cannot be started (with a notice), give a disabled stream: telemetry
    /// never stops a run.
    pub fn start(self) -> (Telemetry, TelemetryGuard) {
        let settings = self.settings;
        let mut wanted: Vec<(Box<dyn Sink>, DestinationOptions)> = Vec::new();
        if settings.enabled {
            let options = DestinationOptions::stream(&settings);
            let explicit = self.sinks.is_some();
            let sinks = self.sinks.unwrap_or_else(|| default_sinks(&settings));
            wanted.extend(sinks.into_iter().map(|sink| (sink, options)));
            if !explicit && let Some(otlp) = otlp_destination(&settings, &self.notices) {
                wanted.push(otlp);
            }
        }
        wanted.extend(self.destinations);
        let mask = wanted
            .iter()
            .fold(EventFilter::none(), |mask, (_, o)| mask.union(o.filter));
        if wanted.is_empty() {
            return (Telemetry::disabled(), TelemetryGuard::disabled());
        }
        // The OTLP header values are secrets too, wherever they would appear.
        let mut secrets = self.secrets;
        secrets.extend(settings.otlp.iter().flat_map(|o| o.secret_values()));
        let redactors = Redactors::new(secrets, &settings.redact_keys);
        let destinations = wanted
            .into_iter()
            .map(|(sink, options)| Destination::new(sink, options, &redactors))
            .collect();
        let capacity = self.capacity.max(2);
        let core = Arc::new(Core {
            queue: EventQueue::new(capacity, Clock::start()),
            filter: mask,
            propagation: settings.otlp.as_ref().map(Propagation::new),
            triggered_env: settings.triggered_run_env(),
            run_end_waits: self.run_end_waits,
        });
        let writer = EventWriter::new(
            Arc::clone(&core),
            destinations,
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

/// The OpenTelemetry exporter, when `settings` turn it on: it receives the events its spans
/// are built from (`otlp::settings::SPAN_EVENTS`) whatever the stream's level and filter, so
/// that the span tree is always complete, plus what the stream takes; it makes log records
/// only of the events the stream's own filter passes.
fn otlp_destination(
    settings: &TelemetrySettings,
    notices: &Notices,
) -> Option<(Box<dyn Sink>, DestinationOptions)> {
    let otlp = settings.otlp.as_ref()?;
    let stream = DestinationOptions::stream(settings);
    let selectors: Vec<Selector> = super::otlp::settings::SPAN_EVENTS
        .into_iter()
        .map(Selector::Event)
        .collect();
    let spans = EventFilter::new(None, &selectors);
    let options = DestinationOptions::new(spans.union(stream.filter), Format::Jsonl)
        .payloads_whole(stream.payloads_whole);
    #[cfg(feature = "otlp")]
    match super::otlp::OtlpSink::start(otlp, stream.filter, notices.clone()) {
        Ok(sink) => Some((Box::new(sink), options)),
        Err(e) => {
            notices.warn(&format!("OpenTelemetry export is off: {e}"));
            None
        }
    }
    #[cfg(not(feature = "otlp"))]
    {
        let _ = (otlp, options);
        notices
            .warn("OpenTelemetry export is off: this trident was built without the `otlp` feature");
        None
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
