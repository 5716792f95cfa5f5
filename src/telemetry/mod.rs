//! Real-time telemetry (contract stub; see TELEMETRY.md).

pub mod event;

pub use event::{ConditionKind, Event, SkipReason};

/// A handle that emits the events of one run. Cheap to clone.
#[derive(Clone, Default)]
pub struct RunTelemetry {
    _private: (),
}

impl RunTelemetry {
    /// A handle that emits nothing.
    pub fn disabled() -> Self {
        RunTelemetry::default()
    }
    /// Whether any event can pass.
    pub fn enabled(&self) -> bool {
        false
    }
    /// Emit an event built by `make` (called only when telemetry is on).
    pub fn emit(&self, _node_id: Option<&str>, _make: impl FnOnce() -> Event) {}
    /// A handle for a sub-workflow run started by `parent_node_id` of this run.
    pub fn child(&self, _run_id: &str, _parent_node_id: &str) -> RunTelemetry {
        self.clone()
    }
}
