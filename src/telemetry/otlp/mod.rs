//! OpenTelemetry export: every run as a GenAI trace and every event as a log record, sent
//! over OTLP/HTTP by one more sink of the telemetry writer (`docs/TELEMETRY.md`,
//! "OpenTelemetry export").
//!
//! Module map: [`settings`] (the switch and the `OTEL_*` variables; always built), and,
//! with the `otlp` cargo feature: `semconv` (attribute names), `proto` (the OTLP messages),
//! `attributes` (an event's data as attributes), `span_tree` (events to spans and log
//! records), `wire` (protobuf encoding as records are made), `exporter` (the export
//! thread), `http_client` (OTLP/HTTP over `ureq`) and
//! [`OtlpSink`], which takes the writer's events typed.

pub mod settings;

#[cfg(feature = "otlp")]
mod attributes;
#[cfg(feature = "otlp")]
mod exporter;
#[cfg(feature = "otlp")]
mod http_client;
#[cfg(feature = "otlp")]
mod proto;
#[cfg(feature = "otlp")]
mod semconv;
#[cfg(feature = "otlp")]
mod sink;
#[cfg(feature = "otlp")]
mod span_tree;
#[cfg(feature = "otlp")]
mod wire;

#[cfg(feature = "otlp")]
pub use sink::OtlpSink;
