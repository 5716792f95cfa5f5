//! The board of one run: the state of each node and the run's totals, folded from its
//! events (JSON objects as they appear in the jsonl format). One model for the live
//! progress of `trident project run` and for `trident project watch`.
//!
//! Only the top-level run's events move nodes (a sub-workflow's nodes are its own). A
//! resumed attempt (a new `workflow_started`) keeps what earlier attempts did: nodes it does
//! not redo arrive as `node_skipped` with reason `cached_from_checkpoint` and show as cached.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::analysis::timestamp::parse_millis;
pub use crate::analysis::{NodeStatus, RunStatus};
use crate::dag::Dag;

/// One node of the board.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeState {
    pub id: String,
    pub node_type: Option<String>,
    pub status: NodeStatus,
    /// When it started (Unix milliseconds, from the event's timestamp).
    pub started_at_ms: Option<i64>,
    pub duration_ms: Option<u64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: Option<f64>,
    pub model: Option<String>,
    /// The whole error of a failed node.
    pub error: Option<String>,
    pub error_type: Option<String>,
    pub skip_reason: Option<String>,
}

impl NodeState {
    fn new(id: &str) -> NodeState {
        NodeState {
            id: id.to_string(),
            node_type: None,
            status: NodeStatus::Pending,
            started_at_ms: None,
            duration_ms: None,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: None,
            model: None,
            error: None,
            error_type: None,
            skip_reason: None,
        }
    }
}

/// How many nodes are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending: usize,
    pub running: usize,
    pub completed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub cached: usize,
    pub total: usize,
}

impl Counts {
    /// Nodes that are finished one way or another.
    pub fn done(&self) -> usize {
        self.completed + self.failed + self.skipped + self.cached
    }
}

/// The state of one run, built event by event.
#[derive(Debug, Clone)]
pub struct Board {
    pub run_id: Option<String>,
    pub name: Option<String>,
    pub attempt: u64,
    /// `None` until the run's `workflow_started`.
    pub status: Option<RunStatus>,
    /// The first attempt's start (Unix milliseconds).
    pub started_at_ms: Option<i64>,
    /// The last event's time (Unix milliseconds).
    pub last_event_ms: Option<i64>,
    /// The run's duration as its final event reports it.
    pub duration_ms: Option<u64>,
    pub error: Option<String>,
    pub failed_node: Option<String>,
    nodes: Vec<NodeState>,
    index: HashMap<String, usize>,
}

impl Default for Board {
    fn default() -> Self {
        Board::new()
    }
}

impl Board {
    /// An empty board; nodes appear as their events arrive.
    pub fn new() -> Board {
        Board {
            run_id: None,
            name: None,
            attempt: 0,
            status: None,
            started_at_ms: None,
            last_event_ms: None,
            duration_ms: None,
            error: None,
            failed_node: None,
            nodes: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// A board that knows the run's nodes up front (all pending), in this order.
    pub fn with_nodes<'a>(ids: impl IntoIterator<Item = (&'a str, &'a str)>) -> Board {
        let mut board = Board::new();
        for (id, node_type) in ids {
            board.node(id).node_type = Some(node_type.to_string());
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

    /// The nodes, in the order they were declared or first seen.
    pub fn nodes(&self) -> &[NodeState] {
        &self.nodes
    }

    /// Whether the run has ended (completed, failed or interrupted).
    pub fn is_finished(&self) -> bool {
        matches!(
            self.status,
            Some(RunStatus::Completed | RunStatus::Failed | RunStatus::Interrupted)
        )
    }

    /// Node counts by state.
    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            total: self.nodes.len(),
            ..Counts::default()
        };
        for node in &self.nodes {
            match node.status {
                NodeStatus::Pending => c.pending += 1,
                NodeStatus::Running => c.running += 1,
                NodeStatus::Completed => c.completed += 1,
                NodeStatus::Failed => c.failed += 1,
                NodeStatus::Skipped => c.skipped += 1,
                NodeStatus::Cached => c.cached += 1,
            }
        }
        c
    }

    /// Input and output tokens of the nodes so far.
    pub fn tokens(&self) -> (u64, u64) {
        self.nodes.iter().fold((0, 0), |(i, o), n| {
            (i + n.input_tokens, o + n.output_tokens)
        })
    }

    /// The cost of the nodes so far (`None` when no node reported one).
    pub fn cost_usd(&self) -> Option<f64> {
        self.nodes
            .iter()
            .filter_map(|n| n.cost_usd)
            .fold(None, |sum, c| Some(sum.unwrap_or(0.0) + c))
    }

    /// How long the run has taken: its final duration, or until `now_ms` while it runs.
    pub fn elapsed_ms(&self, now_ms: i64) -> Option<u64> {
        if let Some(d) = self.duration_ms {
            return Some(d);
        }
        let start = self.started_at_ms?;
        let end = if self.is_finished() {
            self.last_event_ms.unwrap_or(now_ms)
        } else {
            now_ms
        };
        Some(u64::try_from(end - start).unwrap_or(0))
    }

    fn node(&mut self, id: &str) -> &mut NodeState {
        let at = match self.index.get(id) {
            Some(at) => *at,
            None => {
                self.nodes.push(NodeState::new(id));
                self.index.insert(id.to_string(), self.nodes.len() - 1);
                self.nodes.len() - 1
            }
        };
        &mut self.nodes[at]
    }

    /// Applies one event (a jsonl line parsed into an object).
    pub fn apply(&mut self, event: &Map<String, Value>) {
        let Some(name) = event.get("event").and_then(Value::as_str) else {
            return;
        };
        if event.get("parent_run_id").is_some_and(|p| !p.is_null()) {
            return;
        }
        let run_id = event.get("run_id").and_then(Value::as_str);
        if let (Some(mine), Some(theirs)) = (&self.run_id, run_id)
            && mine != theirs
        {
            return;
        }
        let at = event
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(parse_millis);
        if at.is_some() {
            self.last_event_ms = at;
        }
        let empty = Map::new();
        let data = event
            .get("data")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let text = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_string);
        let uint = |key: &str| data.get(key).and_then(Value::as_u64);
        match name {
            "workflow_started" => {
                self.run_id = run_id.map(str::to_string).or(self.run_id.take());
                self.name = text("name").or(self.name.take());
                self.attempt = uint("attempt").unwrap_or(self.attempt + 1);
                self.status = Some(RunStatus::Running);
                self.started_at_ms = self.started_at_ms.or(at);
                self.duration_ms = None;
                self.error = None;
                self.failed_node = None;
                for node in &mut self.nodes {
                    if node.status == NodeStatus::Running {
                        node.status = NodeStatus::Pending;
                    }
                }
            }
            "workflow_completed" => {
                self.status = Some(RunStatus::Completed);
                self.duration_ms = uint("duration_ms");
            }
            "workflow_failed" => {
                self.status = Some(RunStatus::Failed);
                self.duration_ms = uint("duration_ms");
                self.error = text("error");
                self.failed_node = text("failed_node");
            }
            "workflow_interrupted" => {
                self.status = Some(RunStatus::Interrupted);
                self.duration_ms = uint("duration_ms");
            }
            _ => self.apply_node_event(name, event, data, at),
        }
    }

    fn apply_node_event(
        &mut self,
        name: &str,
        event: &Map<String, Value>,
        data: &Map<String, Value>,
        at: Option<i64>,
    ) {
        let Some(id) = event.get("node_id").and_then(Value::as_str) else {
            return;
        };
        let text = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_string);
        let uint = |key: &str| data.get(key).and_then(Value::as_u64);
        let node_type = text("type");
        match name {
            "node_started" => {
                let node = self.node(id);
                node.status = NodeStatus::Running;
                node.started_at_ms = at;
                node.duration_ms = None;
                node.error = None;
                node.error_type = None;
                node.node_type = node_type.or(node.node_type.take());
            }
            "node_completed" => {
                let node = self.node(id);
                node.status = NodeStatus::Completed;
                node.duration_ms = uint("duration_ms");
                node.input_tokens = uint("input_tokens").unwrap_or(0);
                node.output_tokens = uint("output_tokens").unwrap_or(0);
                node.cost_usd = data.get("cost_usd").and_then(Value::as_f64);
                node.model = text("model");
                node.node_type = node_type.or(node.node_type.take());
            }
            "node_failed" => {
                let node = self.node(id);
                node.status = NodeStatus::Failed;
                node.duration_ms = uint("duration_ms");
                node.error = text("error");
                node.error_type = text("error_type");
                node.node_type = node_type.or(node.node_type.take());
            }
            "node_skipped" => {
                let reason = text("reason");
                let node = self.node(id);
                node.status = if reason.as_deref() == Some("cached_from_checkpoint") {
                    NodeStatus::Cached
                } else {
                    NodeStatus::Skipped
                };
                node.skip_reason = reason;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ev(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn at(second: u32, event: &str, node: Option<&str>, data: Value) -> Map<String, Value> {
        let mut e = json!({
            "timestamp": format!("2026-01-23T10:00:{second:02}.000Z"),
            "run_id": "r1",
            "event": event,
            "data": data,
        });
        if let Some(node) = node {
            e["node_id"] = json!(node);
        }
        ev(e)
    }

    #[test]
    fn a_run_folds_into_node_states_and_totals() {
        let mut b = Board::with_nodes([("a", "prompt"), ("b", "tool"), ("c", "tool")]);
        assert_eq!(b.counts().pending, 3);
        b.apply(&at(
            0,
            "workflow_started",
            None,
            json!({"name": "demo", "attempt": 1}),
        ));
        b.apply(&at(1, "node_started", Some("a"), json!({"type": "prompt"})));
        assert_eq!(b.nodes()[0].status, NodeStatus::Running);
        assert_eq!(
            b.nodes()[0].started_at_ms,
            parse_millis("2026-01-23T10:00:01Z")
        );
        b.apply(&at(
            3,
            "node_completed",
            Some("a"),
            json!({"type": "prompt", "duration_ms": 2000, "input_tokens": 10, "output_tokens": 5, "cost_usd": 0.5, "model": "m"}),
        ));
        b.apply(&at(3, "node_started", Some("b"), json!({"type": "tool"})));
        b.apply(&at(
            4,
            "node_failed",
            Some("b"),
            json!({"type": "tool", "error": "the whole\nerror", "error_type": "ToolError", "duration_ms": 1000}),
        ));
        b.apply(&at(
            4,
            "node_skipped",
            Some("c"),
            json!({"reason": "edge_condition_false"}),
        ));
        assert!(!b.is_finished());
        assert_eq!(
            b.elapsed_ms(parse_millis("2026-01-23T10:00:09Z").unwrap()),
            Some(9000)
        );
        b.apply(&at(
            5,
            "workflow_failed",
            None,
            json!({"name": "demo", "error": "b failed", "failed_node": "b", "duration_ms": 5000}),
        ));
        let c = b.counts();
        assert_eq!(
            (c.completed, c.failed, c.skipped, c.total, c.done()),
            (1, 1, 1, 3, 3)
        );
        assert_eq!(b.tokens(), (10, 5));
        assert_eq!(b.cost_usd(), Some(0.5));
        assert_eq!(b.nodes()[1].error.as_deref(), Some("the whole\nerror"));
        assert_eq!(b.status, Some(RunStatus::Failed));
        assert!(b.is_finished());
        assert_eq!(b.elapsed_ms(0), Some(5000));
        assert_eq!(b.name.as_deref(), Some("demo"));
    }

    #[test]
    fn a_resumed_attempt_shows_cached_nodes_and_sub_runs_are_ignored() {
        let mut b = Board::new();
        b.apply(&at(0, "workflow_started", None, json!({"attempt": 1})));
        b.apply(&at(1, "node_started", Some("a"), json!({})));
        b.apply(&at(
            2,
            "workflow_interrupted",
            None,
            json!({"duration_ms": 2000}),
        ));
        assert_eq!(b.status, Some(RunStatus::Interrupted));
        b.apply(&at(5, "workflow_started", None, json!({"attempt": 2})));
        assert_eq!(b.attempt, 2);
        assert_eq!(
            b.nodes()[0].status,
            NodeStatus::Pending,
            "no longer running"
        );
        assert_eq!(b.started_at_ms, parse_millis("2026-01-23T10:00:00Z"));
        b.apply(&at(
            5,
            "node_skipped",
            Some("a"),
            json!({"reason": "cached_from_checkpoint"}),
        ));
        assert_eq!(b.nodes()[0].status, NodeStatus::Cached);
        let mut sub = at(6, "node_started", Some("inner"), json!({}));
        sub.insert("parent_run_id".into(), json!("r1"));
        sub.insert("run_id".into(), json!("r1-sub"));
        b.apply(&sub);
        let mut other = at(6, "node_started", Some("x"), json!({}));
        other.insert("run_id".into(), json!("another"));
        b.apply(&other);
        assert_eq!(b.nodes().len(), 1);
        b.apply(&at(
            7,
            "workflow_completed",
            None,
            json!({"duration_ms": 2500}),
        ));
        assert_eq!(b.status, Some(RunStatus::Completed));
    }
}
