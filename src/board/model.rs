//! The board of one run: the state of each node and the run's totals, folded from its
//! events by the one fold (`crate::eventlog::fold`). One model for the live progress of
//! `trident project run` and for `trident project watch`.
//!
//! Only the top-level run's events move nodes (a sub-workflow's nodes are its own).

use crate::dag::Dag;
use crate::eventlog::{EventLine, RunState};
pub use crate::eventlog::{NodeCounts, NodeState, NodeStatus, RunStatus};

/// The state of one run, built event by event.
#[derive(Debug, Clone, Default)]
pub struct Board {
    run: RunState,
    /// The run's process died without a final event (see [`Board::mark_process_died`]).
    process_died: bool,
}

impl Board {
    /// An empty board; nodes appear as their events arrive.
    pub fn new() -> Board {
        Board::default()
    }

    /// A board that knows the run's nodes up front (all pending), in this order.
    pub fn with_nodes<'a>(ids: impl IntoIterator<Item = (&'a str, &'a str)>) -> Board {
        let mut board = Board::new();
        for (id, node_type) in ids {
            board.run.node_mut(id).node_type = Some(node_type.to_string());
        }
        board
    }

    /// A board of `dag`'s nodes, all pending, in execution order.
    pub fn for_dag(dag: &Dag) -> Board {
        Board::with_nodes(dag.order.iter().filter_map(|id| {
            dag.nodes
                .get(id)
                .map(|node| (id.as_str(), node.kind.as_str()))
        }))
    }

    /// The run: id (empty until its first event), name, attempt, status, times, error.
    pub fn run(&self) -> &RunState {
        &self.run
    }

    /// The nodes, in the order they were declared or first seen.
    pub fn nodes(&self) -> &[NodeState] {
        self.run.nodes()
    }

    /// Whether the run has ended (completed, failed or interrupted).
    pub fn is_finished(&self) -> bool {
        self.run.is_finished()
    }

    /// Node counts by state.
    pub fn counts(&self) -> NodeCounts {
        NodeCounts::of(self.nodes())
    }

    /// Input and output tokens of the nodes so far.
    pub fn tokens(&self) -> (u64, u64) {
        self.nodes().iter().fold((0, 0), |(i, o), n| {
            (i + n.input_tokens, o + n.output_tokens)
        })
    }

    /// The cost of the nodes so far (`None` when no node reported one).
    pub fn cost_usd(&self) -> Option<f64> {
        self.nodes()
            .iter()
            .filter_map(|n| n.cost_usd)
            .fold(None, |sum, c| Some(sum.unwrap_or(0.0) + c))
    }

    /// How long the run has taken: its final duration, or until `now_ms` while it runs.
    pub fn elapsed_ms(&self, now_ms: i64) -> Option<u64> {
        if let Some(d) = self.run.duration_ms {
            return Some(d);
        }
        let start = self.run.started_ms?;
        let end = if self.is_finished() {
            self.run.last_event_ms.unwrap_or(now_ms)
        } else {
            now_ms
        };
        Some(u64::try_from(end - start).unwrap_or(0))
    }

    /// Applies one event: the board's run's own events only (not a sub-workflow's, not
    /// another run's; the run is known by its first `workflow_started`).
    pub fn apply(&mut self, event: &EventLine) {
        if event.parent_run_id.is_some() {
            return;
        }
        if let Some(theirs) = event.run_id.as_deref()
            && !self.run.run_id.is_empty()
            && self.run.run_id != theirs
        {
            return;
        }
        self.run.apply(event);
    }

    /// The run's process is gone and its events end without `workflow_completed`,
    /// `workflow_failed` or `workflow_interrupted`: the run is interrupted (resumable like
    /// one), its nodes as they were last seen.
    pub fn mark_process_died(&mut self) {
        if !self.run.is_finished() {
            self.run.status = Some(RunStatus::Interrupted);
            self.process_died = true;
        }
    }

    /// Whether the run was found dead (see [`Board::mark_process_died`]).
    pub fn process_died(&self) -> bool {
        self.process_died
    }

    /// Applies one jsonl line; a line that is not an event is an error (and changes
    /// nothing).
    pub fn apply_line(&mut self, line: &[u8]) -> Result<(), serde_json::Error> {
        self.apply(&EventLine::parse(line)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::eventlog::timestamp::parse_millis;

    fn at(second: u32, event: &str, node: Option<&str>, data: Value) -> Value {
        let mut e = json!({
            "timestamp": format!("2026-01-23T10:00:{second:02}.000Z"),
            "run_id": "r1",
            "event": event,
            "data": data,
        });
        if let Some(node) = node {
            e["node_id"] = json!(node);
        }
        e
    }

    fn line(event: &Value) -> Vec<u8> {
        serde_json::to_vec(event).unwrap()
    }

    #[test]
    fn a_run_folds_into_node_states_and_totals() {
        let mut b = Board::with_nodes([("a", "prompt"), ("b", "tool"), ("c", "tool")]);
        assert_eq!(b.counts().pending, 3);
        b.apply_line(&line(&at(
            0,
            "workflow_started",
            None,
            json!({"name": "demo", "attempt": 1}),
        )))
        .unwrap();
        b.apply_line(&line(&at(
            1,
            "node_started",
            Some("a"),
            json!({"type": "prompt"}),
        )))
        .unwrap();
        assert_eq!(b.nodes()[0].status, NodeStatus::Running);
        assert_eq!(
            b.nodes()[0].started_ms,
            parse_millis("2026-01-23T10:00:01Z")
        );
        b.apply_line(&line(&at(
            3,
            "node_completed",
            Some("a"),
            json!({"type": "prompt", "duration_ms": 2000, "input_tokens": 10, "output_tokens": 5, "cost_usd": 0.5, "model": "m"}),
        ))).unwrap();
        b.apply_line(&line(&at(
            3,
            "node_started",
            Some("b"),
            json!({"type": "tool"}),
        )))
        .unwrap();
        b.apply_line(&line(&at(
            4,
            "node_failed",
            Some("b"),
            json!({"type": "tool", "error": "the whole\nerror", "error_type": "ToolError", "duration_ms": 1000}),
        ))).unwrap();
        b.apply_line(&line(&at(
            4,
            "node_skipped",
            Some("c"),
            json!({"reason": "edge_condition_false"}),
        )))
        .unwrap();
        assert!(!b.is_finished());
        assert_eq!(
            b.elapsed_ms(parse_millis("2026-01-23T10:00:09Z").unwrap()),
            Some(9000)
        );
        b.apply_line(&line(&at(
            5,
            "workflow_failed",
            None,
            json!({"name": "demo", "error": "b failed", "failed_node": "b", "duration_ms": 5000}),
        )))
        .unwrap();
        let c = b.counts();
        assert_eq!(
            (c.completed, c.failed, c.skipped, c.total(), c.done()),
            (1, 1, 1, 3, 3)
        );
        assert_eq!(b.tokens(), (10, 5));
        assert_eq!(b.cost_usd(), Some(0.5));
        assert_eq!(b.nodes()[1].error.as_deref(), Some("the whole\nerror"));
        assert_eq!(b.run().status, Some(RunStatus::Failed));
        assert!(b.is_finished());
        assert_eq!(b.elapsed_ms(0), Some(5000));
        assert_eq!(b.run().name.as_deref(), Some("demo"));
    }

    #[test]
    fn a_resumed_attempt_shows_cached_nodes_and_sub_runs_are_ignored() {
        let mut b = Board::new();
        b.apply_line(&line(&at(
            0,
            "workflow_started",
            None,
            json!({"attempt": 1}),
        )))
        .unwrap();
        b.apply_line(&line(&at(1, "node_started", Some("a"), json!({}))))
            .unwrap();
        b.apply_line(&line(&at(
            2,
            "workflow_interrupted",
            None,
            json!({"duration_ms": 2000}),
        )))
        .unwrap();
        assert_eq!(b.run().status, Some(RunStatus::Interrupted));
        b.apply_line(&line(&at(
            5,
            "workflow_started",
            None,
            json!({"attempt": 2}),
        )))
        .unwrap();
        assert_eq!(b.run().attempts, 2);
        assert_eq!(
            b.nodes()[0].status,
            NodeStatus::Pending,
            "no longer running"
        );
        assert_eq!(b.run().started_ms, parse_millis("2026-01-23T10:00:00Z"));
        b.apply_line(&line(&at(
            5,
            "node_skipped",
            Some("a"),
            json!({"reason": "cached_from_checkpoint"}),
        )))
        .unwrap();
        assert_eq!(b.nodes()[0].status, NodeStatus::Cached);
        let mut sub = at(6, "node_started", Some("inner"), json!({}));
        sub["parent_run_id"] = json!("r1");
        sub["run_id"] = json!("r1-sub");
        b.apply_line(&line(&sub)).unwrap();
        let mut other = at(6, "node_started", Some("x"), json!({}));
        other["run_id"] = json!("another");
        b.apply_line(&line(&other)).unwrap();
        assert_eq!(b.nodes().len(), 1);
        b.apply_line(&line(&at(
            7,
            "workflow_completed",
            None,
            json!({"duration_ms": 2500}),
        )))
        .unwrap();
        assert_eq!(b.run().status, Some(RunStatus::Completed));
        b.mark_process_died();
        assert!(!b.process_died(), "a finished run did not die");
    }

    #[test]
    fn a_run_whose_process_died_is_interrupted() {
        let mut b = Board::new();
        b.apply_line(&line(&at(
            0,
            "workflow_started",
            None,
            json!({"attempt": 1}),
        )))
        .unwrap();
        b.apply_line(&line(&at(1, "node_started", Some("a"), json!({}))))
            .unwrap();
        assert!(!b.is_finished());
        b.mark_process_died();
        assert!(b.is_finished() && b.process_died());
        assert_eq!(b.run().status, Some(RunStatus::Interrupted));
        assert_eq!(b.elapsed_ms(i64::MAX), Some(1000));
    }
}
