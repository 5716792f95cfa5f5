//! Real-time telemetry: every significant thing a run does becomes one event, written the
//! moment it happens, one line each, to stdout and/or a file (`docs/TELEMETRY.md`).
//!
//! How an event travels:
//! 1. The engine calls [`RunTelemetry::emit`] with a closure building a typed [`Event`].
//!    Off, that is one branch. On, the event's kind is tested against the union of the
//!    destinations' filter masks ([`filter`]), then it is stamped (monotonic time, queue
//!    order) and appended to a bounded queue under one short lock (`queue`).
//! 2. One writer thread (`writer`) drains the queue every couple of milliseconds (at once
//!    for ERROR and lifecycle events) and, for each [`destination`] (a [`sink`] with its
//!    own filter, format and `seq`), keeps what it wants, numbers it, formats it (`format`:
//!    JSON Lines or human), redacting and truncating payloads ([`redact`], [`policy`]), and
//!    hands whole lines to the sink (stdout, a rotating file, a run's `events.jsonl`,
//!    memory for tests...).
//! 3. The [`TelemetryGuard`] returned by [`Telemetry::start`] writes what is left and
//!    stops the writer when dropped.
//!
//! Module map: [`catalogue`] (event kinds, categories, levels, verbosity), [`event`] (the
//! typed events and their fields), `fields` (the visitor the formats read events through),
//! `record` (an event with its envelope), [`settings`] and [`args`] (flags, environment,
//! manifest), [`section`] (the manifest's section and its file), `values` (value
//! spellings), `clock` (time stamps), `emitter` (the handles),
//! `builder` (starting a stream), `guard`, `notice` (stderr warnings), `run_end_wait`
//! (consumers' waits before a run's last event), [`otlp`]
//! (OpenTelemetry export, a sink), [`trace_context`] and `propagation` (W3C trace context
//! in, and out to tools, agent CLIs and triggered runs).
//!
//! The file path's `{run_id}` is resolved lazily: the file sink is opened when the first
//! event arrives, with that event's top-level run id.

pub mod args;
mod builder;
pub mod catalogue;
mod clock;
pub mod destination;
mod emitter;
pub mod event;
mod fields;
pub mod filter;
mod format;
mod guard;
mod notice;
pub mod otlp;
pub mod policy;
mod propagation;
mod queue;
mod record;
pub mod redact;
mod run_end_wait;
pub mod section;
pub mod settings;
pub mod sink;
pub mod trace_context;
pub(crate) mod values;
mod writer;

pub use args::TelemetryArgs;
pub use builder::{DEFAULT_QUEUE_CAPACITY, TelemetryBuilder};
pub use catalogue::{Category, EventKind, Level, Verbosity};
pub use destination::DestinationOptions;
pub use emitter::{RunTelemetry, Telemetry};
pub use event::{ConditionKind, Event, Fields, SkipReason, fields};
pub use filter::{EventFilter, LevelSetting, Selector};
pub use format::{Envelope, Format, human_line};
pub use guard::{SHUTDOWN_TIMEOUT, TelemetryGuard};
pub use notice::Notices;
pub use record::RunScope;
pub use redact::{Redactor, secret_env_values};
pub use run_end_wait::RunEndWait;
pub use section::TelemetrySection;
pub use settings::TelemetrySettings;
pub use sink::{FileSink, MemorySink, Rotation, RunHistorySink, Sink, StdoutSink};
pub use writer::{FLUSH_INTERVAL, HISTORY_FLUSH_INTERVAL};

#[cfg(test)]
mod destination_tests;
#[cfg(test)]
mod tests;
