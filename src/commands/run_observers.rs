//! The consumers `trident project run` adds to the telemetry writer beyond the stream:
//! Prometheus metrics (`--metrics-file`, `--metrics-push`) and `telemetry.hooks`. Each is a
//! destination of the one writer, with its own filter, whether or not the stream is on.
//!
//! Their end of run comes in two steps: [`RunObservers::before_stream_stops`] lets pending
//! hooks finish (bounded) while their `hook_failed` events can still be written, and
//! [`RunObservers::after_stream_stopped`] publishes the metrics once every event, loss
//! reports included, has been counted.

use std::path::Path;
use std::time::Duration;

use crate::error::TridentError;
use crate::hooks::{HookRunner, HookSink, parse_hooks};
use crate::metrics::publish::publish;
use crate::metrics::{MetricsArgs, MetricsSettings, MetricsSink};
use crate::telemetry::{
    Category, DestinationOptions, EventFilter, EventKind, Format, Notices, RunEndWait, Selector,
    Telemetry, TelemetryBuilder, TelemetrySection,
};

/// How long the end of a run waits for the writer to hand the last events to the hooks.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Metrics and hooks of one run, as configured.
#[derive(Debug, Clone, Default)]
pub struct RunObservers {
    metrics: Option<(MetricsSink, MetricsSettings)>,
    hooks: Option<HookRunner>,
}

impl RunObservers {
    /// Resolves `--metrics-*` (over the environment over the manifest) and
    /// `telemetry.hooks` (headers expanded from `env`); invalid values are validation
    /// errors naming their source.
    pub fn resolve(
        args: &MetricsArgs,
        env: &dyn Fn(&str) -> Option<String>,
        telemetry_section: TelemetrySection<'_>,
        project_root: &Path,
        cwd: &Path,
    ) -> Result<RunObservers, TridentError> {
        let metrics = MetricsSettings::resolve(args, env, telemetry_section, project_root, cwd)?;
        let hooks = parse_hooks(telemetry_section, Some(env))?;
        Ok(RunObservers {
            metrics: metrics.enabled().then(|| (MetricsSink::new(), metrics)),
            hooks: (!hooks.is_empty())
                .then(|| HookRunner::new(hooks, project_root.to_path_buf(), Notices::stderr())),
        })
    }

    /// Adds the metrics and hook destinations to `builder`.
    pub fn attach(&self, mut builder: TelemetryBuilder) -> TelemetryBuilder {
        if let Some((sink, _)) = &self.metrics {
            builder = builder.destination(sink.boxed(), metrics_options());
        }
        if let Some(runner) = &self.hooks {
            let selectors: Vec<Selector> = runner
                .hooks()
                .iter()
                .flat_map(|h| h.selectors.iter().copied())
                .collect();
            let options =
                DestinationOptions::new(EventFilter::new(None, &selectors), Format::Jsonl);
            builder = builder.destination(Box::new(HookSink::new(runner.clone())), options);
            // The failures of hooks fired by earlier events come before the run's last
            // event (those of hooks on that event can only follow it).
            builder = builder.before_run_ends(RunEndWait::new(runner.settle_fn()));
        }
        builder
    }

    /// Tells the hooks where to report their failures, once the stream is started.
    pub fn started(&self, telemetry: &Telemetry) {
        if let Some(runner) = &self.hooks {
            runner.report_to(telemetry.clone());
        }
    }

    /// Waits (bounded) for the hooks of every event emitted so far; call while the stream
    /// still runs.
    pub fn before_stream_stops(&self, telemetry: &Telemetry) {
        if let Some(runner) = &self.hooks {
            telemetry.flush_blocking(FLUSH_TIMEOUT);
            runner.finish();
        }
    }

    /// Writes and pushes the metrics; failures are warnings on stderr.
    pub fn after_stream_stopped(&self) {
        if let Some((sink, settings)) = &self.metrics {
            let notices = Notices::stderr();
            for warning in publish(&mut sink.registry(), settings) {
                notices.warn(&warning);
            }
        }
    }
}

/// What the metrics need: run and node lifecycle, token usage (and loss reports, which
/// every destination gets).
fn metrics_options() -> DestinationOptions {
    let selectors = [
        Selector::Category(Category::Lifecycle),
        Selector::Category(Category::Node),
        Selector::Event(EventKind::TokenUsage),
    ];
    DestinationOptions::new(EventFilter::new(None, &selectors), Format::Jsonl)
}
