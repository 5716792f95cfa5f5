//! The raw metrics flags of `trident project run`; `settings::MetricsSettings::resolve`
//! combines them with the environment and the manifest and refuses invalid values.

use std::path::PathBuf;

/// Metrics flags (flatten into a run command with `#[command(flatten)]`).
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
#[command(next_help_heading = "Metrics")]
pub struct MetricsArgs {
    /// Write Prometheus metrics (text format 0.0.4) to this file at the run's end, atomically,
    /// for the node_exporter textfile collector [env: TRIDENT_METRICS_FILE; manifest:
    /// telemetry.metrics_file]
    #[arg(long = "metrics-file", value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,

    /// Push the same metrics to this Pushgateway (base URL, e.g. http://pushgateway:9091)
    /// under job=trident, workflow=NAME [env: TRIDENT_METRICS_PUSH; manifest:
    /// telemetry.metrics_push]
    #[arg(long = "metrics-push", value_name = "URL")]
    pub metrics_push: Option<String>,
}
