//! The handles the runtime emits through: [`Telemetry`] (one per invocation) and
//! [`RunTelemetry`] (one per run or sub-workflow run). Both are cheap to clone and share
//! across concurrent nodes.
//!
//! Off, a handle is `None` and `emit` is one branch: the closure that builds the event is
//! never called. On, `emit` builds the event, tests its kind against the filter mask, stamps
//! it and appends it to the bounded queue; formatting, redaction and I/O happen on the
//! writer thread.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::builder::TelemetryBuilder;
use super::catalogue::{Category, EventKind, Level};
use super::event::Event;
use super::filter::EventFilter;
use super::guard::TelemetryGuard;
use super::propagation::Propagation;
use super::queue::EventQueue;
use super::record::{NodeId, RunScope, ScopeId};
use super::run_end_wait::{HAND_OVER_TIMEOUT, RunEndWait};
use super::settings::TelemetrySettings;
use super::sink::MemorySink;

/// The state shared by every handle of one stream.
#[derive(Debug)]
pub(crate) struct Core {
    pub queue: EventQueue,
    pub filter: EventFilter,
    /// Trace context handed to child processes, when OpenTelemetry export is on.
    pub propagation: Option<Propagation>,
    /// The stream's settings as variables, for `fire-and-forget` runs
    /// ([`TelemetrySettings::triggered_run_env`]).
    pub triggered_env: Vec<(&'static str, String)>,
    /// What runs before a top-level run's `workflow_completed`/`workflow_failed` is
    /// queued ([`RunEndWait`]).
    pub run_end_waits: Vec<RunEndWait>,
}

/// The telemetry stream of one `trident` invocation. Cheap to clone.
#[derive(Clone, Default)]
pub struct Telemetry {
    core: Option<Arc<Core>>,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("enabled", &self.enabled())
            .finish()
    }
}

impl Telemetry {
    /// A stream that emits nothing.
    pub fn disabled() -> Telemetry {
        Telemetry::default()
    }

    /// Starts the stream described by `settings` (disabled if telemetry is off).
    /// `secrets` are values to redact wherever they appear (the project's `.env` values,
    /// API keys). Keep the guard alive for the whole invocation: dropping it (or calling
    /// [`TelemetryGuard::finish`]) writes everything and stops the writer thread.
    pub fn start(
        settings: &TelemetrySettings,
        secrets: Vec<String>,
    ) -> (Telemetry, TelemetryGuard) {
        TelemetryBuilder::new(settings).secrets(secrets).start()
    }

    /// A builder, for custom sinks, queue size or notices.
    pub fn builder(settings: &TelemetrySettings) -> TelemetryBuilder {
        TelemetryBuilder::new(settings)
    }

    /// A stream writing to memory, for tests: telemetry is turned on whatever
    /// `settings.enabled` says; filters, format and redaction follow `settings`.
    pub fn in_memory(settings: &TelemetrySettings) -> (Telemetry, TelemetryGuard, MemorySink) {
        let memory = MemorySink::new();
        let mut settings = settings.clone();
        settings.enabled = true;
        let (telemetry, guard) = TelemetryBuilder::new(&settings)
            .sink(memory.boxed())
            .start();
        (telemetry, guard, memory)
    }

    pub(crate) fn from_core(core: Arc<Core>) -> Telemetry {
        Telemetry { core: Some(core) }
    }

    /// Whether events can be written.
    pub fn enabled(&self) -> bool {
        self.core.is_some()
    }

    /// The handle for the top-level run `run_id`.
    pub fn for_run(&self, run_id: &str) -> RunTelemetry {
        let Some(core) = &self.core else {
            return RunTelemetry::disabled();
        };
        let scope = RunScope {
            run_id: run_id.to_string(),
            parent_run_id: None,
            parent_node_id: None,
            root_run_id: run_id.to_string(),
        };
        RunTelemetry::new(Arc::clone(core), scope)
    }

    /// Waits until every event emitted before the call is written and flushed, at most
    /// `timeout`; returns whether that happened. Safe to call from any thread, including a
    /// signal-handling thread, and while other threads keep emitting.
    pub fn flush_blocking(&self, timeout: Duration) -> bool {
        match &self.core {
            Some(core) => core.queue.flush(timeout),
            None => true,
        }
    }

    /// How many events were dropped because the queue was full, so far.
    pub fn dropped_events(&self) -> u64 {
        self.core.as_ref().map_or(0, |c| c.queue.dropped_total())
    }

    /// The `seq` of the last event emitted (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.core.as_ref().map_or(0, |c| c.queue.last_seq())
    }
}

/// Emits the events of one run (or sub-workflow run). Cheap to clone.
#[derive(Clone, Default)]
pub struct RunTelemetry {
    inner: Option<Arc<RunHandle>>,
}

struct RunHandle {
    core: Arc<Core>,
    scope_id: ScopeId,
    scope: RunScope,
}

impl fmt::Debug for RunTelemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunTelemetry")
            .field("run_id", &self.run_id())
            .finish()
    }
}

impl RunTelemetry {
    fn new(core: Arc<Core>, scope: RunScope) -> RunTelemetry {
        let scope_id = core.queue.scopes().register(scope.clone());
        RunTelemetry {
            inner: Some(Arc::new(RunHandle {
                core,
                scope_id,
                scope,
            })),
        }
    }

    /// A handle that emits nothing.
    pub fn disabled() -> RunTelemetry {
        RunTelemetry::default()
    }

    /// Whether any event can pass.
    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Whether an event of `kind` would be written: lets the caller skip building a costly
    /// payload (`input_received`, `output_produced`) that the filters would drop.
    #[inline]
    pub fn wants(&self, kind: EventKind) -> bool {
        match &self.inner {
            Some(h) => h.core.filter.allows(kind),
            None => false,
        }
    }

    /// Emits the event built by `make`; `make` is only called when telemetry is on.
    /// `node_id` is for node-scoped events. Never blocks for long, never panics.
    #[inline]
    pub fn emit(&self, node_id: Option<&str>, make: impl FnOnce() -> Event) {
        if let Some(handle) = &self.inner {
            handle.emit(node_id, make);
        }
    }

    /// The handle for a sub-workflow run `run_id` started by node `parent_node_id` of this
    /// run: its events carry `run_id`, `parent_run_id` (this run) and `parent_node_id`, in
    /// the same stream and `seq` sequence.
    pub fn child(&self, run_id: &str, parent_node_id: &str) -> RunTelemetry {
        let Some(handle) = &self.inner else {
            return RunTelemetry::disabled();
        };
        let scope = RunScope {
            run_id: run_id.to_string(),
            parent_run_id: Some(handle.scope.run_id.clone()),
            parent_node_id: Some(parent_node_id.to_string()),
            root_run_id: handle.scope.root_run_id.clone(),
        };
        RunTelemetry::new(Arc::clone(&handle.core), scope)
    }

    /// This handle's run id (`None` when disabled).
    pub fn run_id(&self) -> Option<&str> {
        self.inner.as_ref().map(|h| h.scope.run_id.as_str())
    }

    /// The stream this run belongs to.
    pub fn telemetry(&self) -> Telemetry {
        match &self.inner {
            Some(h) => Telemetry::from_core(Arc::clone(&h.core)),
            None => Telemetry::disabled(),
        }
    }

    /// See [`Telemetry::flush_blocking`].
    pub fn flush_blocking(&self, timeout: Duration) -> bool {
        match &self.inner {
            Some(h) => h.core.queue.flush(timeout),
            None => true,
        }
    }

    /// The variables a process started by node `node_id` (a tool, an agent CLI) gets so it
    /// continues this run's trace: `TRACEPARENT` for the node's span (and `TRACESTATE`).
    /// Empty when OpenTelemetry export is off.
    pub fn trace_env(&self, node_id: &str) -> Vec<(&'static str, String)> {
        match self.inner.as_ref().map(|h| (h, &h.core.propagation)) {
            Some((h, Some(p))) => p.trace_env(&h.scope, node_id),
            _ => Vec::new(),
        }
    }

    /// The variables a `fire-and-forget` run started by node `node_id` gets: this run's
    /// telemetry settings and, with OpenTelemetry export on, the trace context of
    /// [`RunTelemetry::trace_env`] and the export settings, so it writes and exports where
    /// this run does and appears in this run's trace.
    pub fn triggered_run_env(&self, node_id: &str) -> Vec<(&'static str, String)> {
        let Some(h) = &self.inner else {
            return Vec::new();
        };
        let mut vars = h.core.triggered_env.clone();
        if let Some(p) = &h.core.propagation {
            vars.extend(p.trace_env(&h.scope, node_id));
            vars.extend(p.settings_env());
        }
        vars
    }
}

impl RunHandle {
    #[inline(never)]
    fn emit(&self, node_id: Option<&str>, make: impl FnOnce() -> Event) {
        let event = make();
        if let (Some(p), Event::WorkflowStarted { attempt, .. }) = (&self.core.propagation, &event)
            && self.scope.parent_run_id.is_none()
        {
            p.root_started(*attempt);
        }
        if !self.core.run_end_waits.is_empty()
            && self.scope.parent_run_id.is_none()
            && matches!(
                event,
                Event::WorkflowCompleted { .. } | Event::WorkflowFailed { .. }
            )
        {
            self.core.queue.flush(HAND_OVER_TIMEOUT);
            for wait in &self.core.run_end_waits {
                wait.run();
            }
        }
        if !self.core.filter.allows_event(&event) {
            return;
        }
        let urgent = event.level() == Level::Error || event.category() == Category::Lifecycle;
        self.core
            .queue
            .push(self.scope_id, node_id.map(NodeId::new), event, urgent);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::project::NodeKind;

    #[test]
    fn disabled_never_builds_the_event() {
        let run = Telemetry::disabled().for_run("r");
        let called = Cell::new(false);
        run.emit(Some("n"), || {
            called.set(true);
            Event::AgentTurnStarted {
                turn_number: 1,
                subagent: None,
            }
        });
        assert!(!called.get());
        assert!(!run.enabled());
        assert!(!run.wants(EventKind::NodeFailed));
        assert!(!run.child("c", "n").enabled());
        assert!(run.flush_blocking(Duration::from_millis(1)));
        assert_eq!(RunTelemetry::disabled().run_id(), None);
        assert_eq!(format!("{run:?}"), "RunTelemetry { run_id: None }");
    }

    #[test]
    fn handles_are_shareable_across_threads() {
        fn shareable<T: Send + Sync + Clone>() {}
        fn sendable<T: Send>() {}
        shareable::<Telemetry>();
        shareable::<RunTelemetry>();
        sendable::<TelemetryGuard>();
        sendable::<Event>();
    }

    #[test]
    fn wants_follows_the_filter() {
        let (telemetry, _guard, _memory) = Telemetry::in_memory(&TelemetrySettings::on());
        let run = telemetry.for_run("r");
        assert!(run.wants(EventKind::NodeStarted));
        assert!(!run.wants(EventKind::InputReceived));
        let called = Cell::new(false);
        run.emit(None, || {
            called.set(true);
            Event::node_started(NodeKind::Input)
        });
        assert!(called.get());
    }
}
