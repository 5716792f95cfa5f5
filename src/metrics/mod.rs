//! Prometheus metrics of runs (OBSERVABILITY.md section 7): a registry built from telemetry
//! events ([`registry`]), fed during a run by a sink of the telemetry writer ([`sink`]), and
//! published at the run's end to `--metrics-file` and `--metrics-push` ([`publish`]), as
//! [`settings`] resolved from flags ([`args`]), environment and manifest.

pub mod args;
pub mod publish;
pub mod registry;
pub mod settings;
pub mod sink;

pub use args::MetricsArgs;
pub use registry::MetricsRegistry;
pub use settings::MetricsSettings;
pub use sink::MetricsSink;
