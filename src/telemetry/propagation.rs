//! W3C trace context out: what a tool, an agent CLI or a `fire-and-forget` run started by a
//! node gets in its environment so that it continues the run's trace (`TRACEPARENT` of the
//! node's span, `TRACESTATE`) and, for a triggered run, exports where this run does.
//!
//! The span ids are derived from the run and node ids exactly as the exporter derives them
//! (`trace_context`), so no state is shared with the exporter; the one thing learnt at run
//! time is the top-level run's attempt number, from its `workflow_started`.

use std::sync::atomic::{AtomicU64, Ordering};

use super::otlp::settings::OtlpSettings;
use super::record::RunScope;
use super::trace_context::{
    SpanPart, TRACEPARENT_ENV, TRACESTATE_ENV, TraceParent, derived_trace_id, span_id,
};

/// Trace context for child processes, when OpenTelemetry export is on.
#[derive(Debug)]
pub(crate) struct Propagation {
    parent: Option<TraceParent>,
    attempt: AtomicU64,
    settings_env: Vec<(&'static str, String)>,
}

impl Propagation {
    pub fn new(settings: &OtlpSettings) -> Propagation {
        Propagation {
            parent: settings.parent.clone(),
            attempt: AtomicU64::new(1),
            settings_env: settings.child_env(),
        }
    }

    /// Records the top-level run's attempt (from its `workflow_started`).
    pub fn root_started(&self, attempt: u64) {
        self.attempt.store(attempt.max(1), Ordering::Relaxed);
    }

    /// `TRACEPARENT` (and `TRACESTATE`) for node `node_id` of the run `scope`.
    pub fn trace_env(&self, scope: &RunScope, node_id: &str) -> Vec<(&'static str, String)> {
        let attempt = self.attempt.load(Ordering::Relaxed);
        let (trace_id, flags, state) = match &self.parent {
            Some(p) => (p.trace_id, p.flags, p.state.clone()),
            None => (derived_trace_id(&scope.root_run_id, attempt), 1, None),
        };
        let context = TraceParent {
            trace_id,
            span_id: span_id(&trace_id, &scope.run_id, attempt, SpanPart::Node(node_id)),
            flags,
            state,
        };
        let mut vars = vec![(TRACEPARENT_ENV, context.header())];
        if let Some(state) = context.state {
            vars.push((TRACESTATE_ENV, state));
        }
        vars
    }

    /// The OpenTelemetry settings as variables, for a `fire-and-forget` run.
    pub fn settings_env(&self) -> Vec<(&'static str, String)> {
        self.settings_env.clone()
    }
}
