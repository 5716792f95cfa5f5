//! Destinations: a sink plus what it wants from the stream — its own filter, line format,
//! payload truncation and `seq` numbering.
//!
//! The emitter tests an event against the union of every destination's filter (so a stream
//! nobody wants stays one branch, and payloads are only built when some destination wants
//! them); the writer then tests each event against each destination's own filter and
//! numbers the lines it hands that destination 1, 2, 3... (after the last `seq` the sink
//! already holds, see [`Sink::recorded_seq`]). In every destination a `seq` gap means loss:
//! queue overflow is counted per destination from the kinds of the events dropped.
//!
//! Register one with [`TelemetryBuilder::destination`](super::TelemetryBuilder::destination):
//! ```
//! use trident::telemetry::{
//!     DestinationOptions, EventFilter, Format, LevelSetting, MemorySink, Telemetry,
//!     TelemetrySettings, Verbosity,
//! };
//!
//! let errors_only = MemorySink::new();
//! let options = DestinationOptions::new(
//!     EventFilter::new(Some(LevelSetting::Verbosity(Verbosity::Minimal)), &[]),
//!     Format::Jsonl,
//! );
//! // Telemetry is off in these settings: only the registered destination is written.
//! let (telemetry, guard) = Telemetry::builder(&TelemetrySettings::default())
//!     .destination(errors_only.boxed(), options)
//!     .start();
//! assert!(telemetry.enabled());
//! drop(guard);
//! ```

use super::catalogue::{EventKind, Verbosity};
use super::filter::{EventFilter, LevelSetting};
use super::format::{Format, LineFormatter};
use super::policy::{MAX_PAYLOAD_CHARS, PayloadPolicy};
use super::redact::Redactor;
use super::settings::TelemetrySettings;
use super::sink::Sink;

/// What one destination receives: which events, in which format, how payloads are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestinationOptions {
    /// The events this destination records (`telemetry_dropped` always passes).
    pub filter: EventFilter,
    /// The line format.
    pub format: Format,
    /// Keep payload strings whole instead of truncating them to
    /// [`MAX_PAYLOAD_CHARS`] (the stream does at `debug`).
    pub payloads_whole: bool,
    /// Redact secrets (always, for a run's history; as the settings say, for the stream).
    pub redact: bool,
}

impl DestinationOptions {
    /// A destination of events passing `filter`, in `format`, payloads truncated.
    pub fn new(filter: EventFilter, format: Format) -> DestinationOptions {
        DestinationOptions {
            filter,
            format,
            payloads_whole: false,
            redact: true,
        }
    }

    /// What the stream settings ask for (their level, filter, format and truncation): the
    /// options of stdout, the telemetry file and any other stream sink (OTLP).
    pub fn stream(settings: &TelemetrySettings) -> DestinationOptions {
        DestinationOptions {
            filter: settings.event_filter(),
            format: settings.format,
            payloads_whole: settings.keeps_payloads_whole(),
            redact: settings.redact,
        }
    }

    /// A run's own history (`.trident/runs/<run_id>/events.jsonl`): JSON Lines, `verbose`,
    /// every category, truncated and always redacted, whatever the stream settings say.
    pub fn run_history() -> DestinationOptions {
        DestinationOptions::new(
            EventFilter::new(Some(LevelSetting::Verbosity(Verbosity::Verbose)), &[]),
            Format::Jsonl,
        )
    }

    /// The same options with payload strings kept whole (or not).
    pub fn payloads_whole(mut self, whole: bool) -> DestinationOptions {
        self.payloads_whole = whole;
        self
    }

    /// The same options with redaction on or off.
    pub fn redact(mut self, redact: bool) -> DestinationOptions {
        self.redact = redact;
        self
    }

    /// The redaction and truncation for these options, from the stream's redactors.
    pub(crate) fn policy(&self, redactors: &Redactors) -> PayloadPolicy {
        let max_chars = (!self.payloads_whole).then_some(MAX_PAYLOAD_CHARS);
        let redactor = if self.redact {
            &redactors.on
        } else {
            &redactors.off
        };
        PayloadPolicy::new(redactor.clone(), max_chars)
    }
}

/// The stream's redaction (its secrets and extra keys), on and off.
pub(crate) struct Redactors {
    pub on: Redactor,
    pub off: Redactor,
}

impl Redactors {
    /// Both redactors for `secrets` and `extra_keys`.
    pub fn new(secrets: Vec<String>, extra_keys: &[String]) -> Redactors {
        Redactors {
            on: Redactor::new(true, secrets, extra_keys),
            off: Redactor::new(false, Vec::new(), extra_keys),
        }
    }
}

/// A destination as the writer thread holds it: the sink, its options and its counters.
pub(crate) struct Destination {
    pub sink: Box<dyn Sink>,
    pub filter: EventFilter,
    pub formatter: LineFormatter,
    pub policy: PayloadPolicy,
    /// The sink takes typed events instead of lines ([`Sink::takes_events`]).
    pub typed: bool,
    /// The `seq` of the last line handed to (or lost by) this destination.
    pub seq: u64,
    pub active: bool,
    /// Events not written to this sink since it was disabled.
    pub lost: u64,
    /// Events lost in the current batch, reported at the end of the batch.
    pub lost_in_batch: u64,
    /// Whether the loss was reported with a `telemetry_dropped` event.
    pub reported: bool,
    pub reason: String,
}

impl Destination {
    /// A destination for `sink`; redaction comes from the stream, the rest from `options`.
    pub fn new(sink: Box<dyn Sink>, options: DestinationOptions, redactors: &Redactors) -> Self {
        let formatter = LineFormatter::new(options.format, sink.colors());
        let typed = sink.takes_events();
        Destination {
            sink,
            filter: options.filter,
            formatter,
            policy: options.policy(redactors),
            typed,
            seq: 0,
            active: true,
            lost: 0,
            lost_in_batch: 0,
            reported: false,
            reason: String::new(),
        }
    }

    /// Counts `n` events this destination should have had but did not get.
    pub fn count_lost(&mut self, n: u64) {
        self.lost += n;
        self.lost_in_batch += n;
    }

    /// Whether this destination records events of `kind` (loss reports always pass).
    #[inline]
    pub fn wants(&self, kind: EventKind) -> bool {
        kind == EventKind::TelemetryDropped || self.filter.allows(kind)
    }

    /// Whether this destination records `event` (its level included: a `tool_event`
    /// carries the level its tool gave).
    #[inline]
    pub fn wants_event(&self, event: &super::event::Event) -> bool {
        event.kind() == EventKind::TelemetryDropped || self.filter.allows_event(event)
    }
}
