//! The hook sink: one more sink of the telemetry writer. It reads each jsonl line the writer
//! hands it, and queues the event for every hook whose `on:` selectors match; the hooks run
//! on the runner's threads, never on the writer's.

use std::io;

use serde::Deserialize;

use super::job::HookJob;
use super::runner::HookRunner;
use crate::telemetry::{EventKind, Sink};

/// Hands matching events to a [`HookRunner`].
#[derive(Debug, Clone)]
pub struct HookSink {
    runner: HookRunner,
}

/// The envelope fields a hook needs.
#[derive(Deserialize)]
struct Head {
    event: String,
    #[serde(default)]
    run_id: String,
    #[serde(default)]
    node_id: Option<String>,
}

impl HookSink {
    /// A sink feeding `runner`.
    pub fn new(runner: HookRunner) -> HookSink {
        HookSink { runner }
    }

    /// Queues `line` for the hooks it matches.
    fn dispatch(&self, line: &[u8]) {
        let Ok(head) = serde_json::from_slice::<Head>(line) else {
            return;
        };
        let Some(kind) = EventKind::from_name(&head.event) else {
            return;
        };
        for (index, hook) in self.runner.hooks().iter().enumerate() {
            if hook.wants(kind) {
                self.runner.submit(HookJob {
                    hook: index,
                    line: line.to_vec(),
                    event: head.event.clone(),
                    run_id: head.run_id.clone(),
                    node_id: head.node_id.clone(),
                });
            }
        }
    }
}

impl Sink for HookSink {
    fn describe(&self) -> String {
        "hooks".to_string()
    }

    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            self.dispatch(line);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::hooks::config::{Hook, HookAction};
    use crate::telemetry::{Notices, Selector};

    #[test]
    fn only_matching_events_reach_the_hook() {
        let dir = tempfile::tempdir().unwrap();
        let hook = Hook {
            number: 1,
            selectors: Selector::parse_list(["workflow_failed", "node"]).unwrap(),
            action: HookAction::Run {
                command: "cat >> seen".to_string(),
            },
            timeout: Duration::from_secs(10),
        };
        let runner = HookRunner::new(vec![hook], dir.path().into(), Notices::capture().0);
        let mut sink = HookSink::new(runner.clone());
        sink.write_lines(
            b"{\"run_id\":\"r\",\"event\":\"workflow_started\",\"data\":{}}\n\
              {\"run_id\":\"r\",\"event\":\"node_failed\",\"node_id\":\"a\",\"data\":{}}\n\
              not json\n\
              {\"run_id\":\"r\",\"event\":\"workflow_failed\",\"data\":{}}\n",
        )
        .unwrap();
        runner.finish();
        let seen = std::fs::read_to_string(dir.path().join("seen")).unwrap();
        let mut lines: Vec<&str> = seen.lines().collect();
        lines.sort_unstable();
        assert_eq!(lines.len(), 2, "{seen}");
        assert!(lines[0].contains("node_failed") && lines[1].contains("workflow_failed"));
        assert_eq!(sink.describe(), "hooks");
    }
}
