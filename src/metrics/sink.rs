//! The metrics sink: one more sink of the telemetry writer. It reads the jsonl lines the
//! writer hands it and folds each event into a shared [`MetricsRegistry`], which the run
//! command publishes once the writer has stopped.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use super::registry::MetricsRegistry;
use crate::telemetry::Sink;

/// Feeds a shared registry from telemetry lines. Clones share the registry.
#[derive(Debug, Clone, Default)]
pub struct MetricsSink {
    registry: Arc<Mutex<MetricsRegistry>>,
}

impl MetricsSink {
    /// A sink with an empty registry.
    pub fn new() -> MetricsSink {
        MetricsSink::default()
    }

    /// The registry (for publishing once the writer has stopped).
    pub fn registry(&self) -> MutexGuard<'_, MetricsRegistry> {
        // Only this sink's thread writes; a poisoned registry is still a registry.
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// This sink, boxed for the telemetry builder.
    pub fn boxed(&self) -> Box<dyn Sink> {
        Box::new(self.clone())
    }
}

impl Sink for MetricsSink {
    fn describe(&self) -> String {
        "metrics".to_string()
    }

    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        let mut registry = self.registry();
        for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            registry.observe_line(line);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_folded_into_the_shared_registry() {
        let sink = MetricsSink::new();
        let mut writer = sink.boxed();
        writer
            .write_lines(
                b"{\"run_id\":\"r\",\"event\":\"workflow_started\",\"data\":{\"name\":\"w\"}}\n\
                  {\"run_id\":\"r\",\"event\":\"workflow_completed\",\"data\":{\"name\":\"w\",\"duration_ms\":10}}\n",
            )
            .unwrap();
        assert_eq!(writer.describe(), "metrics");
        let text = sink.registry().render();
        assert!(text.contains("trident_runs_total{status=\"completed\",workflow=\"w\"} 1"));
    }
}
