//! The one fold of events into a run's state: the run (status, attempts, start and end,
//! error) and each of its nodes (status, timing, queue wait, model, tokens, cost, retries,
//! error), event by event, in the order they were written. The live board of `project run`
//! and `project watch` (`crate::board`) and the reports of `project show` and
//! `telemetry stats` (`crate::analysis`) are all built on it.
//!
//! A resumed attempt (a new `workflow_started`) keeps what earlier attempts did: a node
//! that was running when the attempt ended is pending again, and nodes the new attempt does
//! not redo arrive as `node_skipped` with reason `cached_from_checkpoint` (cached).

use std::collections::HashMap;

use serde::Serialize;

use super::event_line::EventLine;

/// How a run ended, or that it has not (yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Completed,
    Failed,
    Interrupted,
    /// No end recorded: still running, or its process died without a word.
    Running,
}

impl RunStatus {
    /// The word shown and written in `--json`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Running => "running",
        }
    }

    /// The run index's spelling (`running`, `completed`, `failed`, `interrupted`).
    pub fn from_index(status: &str) -> RunStatus {
        match status {
            "completed" => RunStatus::Completed,
            "failed" => RunStatus::Failed,
            "interrupted" => RunStatus::Interrupted,
            _ => RunStatus::Running,
        }
    }

    /// Whether the run has ended (completed, failed or interrupted).
    pub fn is_final(self) -> bool {
        self != RunStatus::Running
    }
}

/// Where a node stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    Completed,
    Failed,
    Skipped,
    /// Restored from the checkpoint by a resume.
    Cached,
    Running,
    Pending,
}

impl NodeStatus {
    /// The word shown and written in `--json`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Completed => "completed",
            NodeStatus::Failed => "failed",
            NodeStatus::Skipped => "skipped",
            NodeStatus::Cached => "cached",
            NodeStatus::Running => "running",
            NodeStatus::Pending => "pending",
        }
    }
}

/// One node of a run (serialised as is in the reports' `--json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeState {
    pub id: String,
    /// `prompt`, `tool`... when known.
    #[serde(rename = "type")]
    pub node_type: Option<String>,
    pub status: NodeStatus,
    /// Start and end, milliseconds since the Unix epoch.
    pub started_ms: Option<i64>,
    pub ended_ms: Option<i64>,
    pub duration_ms: Option<u64>,
    /// How long it waited for a free worker (`timing_metric` `queue_wait_ms`).
    pub queue_wait_ms: Option<f64>,
    pub model: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: Option<f64>,
    /// Model-call retries (`provider_retry`).
    pub retries: u64,
    /// The whole error of a failed node.
    pub error: Option<String>,
    pub error_type: Option<String>,
    /// Why it was skipped (`node_skipped` `reason`); shown on the board.
    #[serde(skip)]
    pub skip_reason: Option<String>,
}

impl NodeState {
    /// A pending node known only by its id.
    pub fn new(id: &str) -> NodeState {
        NodeState {
            id: id.to_string(),
            node_type: None,
            status: NodeStatus::Pending,
            started_ms: None,
            ended_ms: None,
            duration_ms: None,
            queue_wait_ms: None,
            model: None,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: None,
            retries: 0,
            error: None,
            error_type: None,
            skip_reason: None,
        }
    }
}

/// How many nodes are in each state (serialised as is in the reports' `--json`).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct NodeCounts {
    pub completed: u64,
    pub failed: u64,
    pub skipped: u64,
    pub cached: u64,
    pub running: u64,
    pub pending: u64,
}

impl NodeCounts {
    /// The counts of `nodes`.
    pub fn of<'a>(nodes: impl IntoIterator<Item = &'a NodeState>) -> NodeCounts {
        let mut c = NodeCounts::default();
        for node in nodes {
            *match node.status {
                NodeStatus::Completed => &mut c.completed,
                NodeStatus::Failed => &mut c.failed,
                NodeStatus::Skipped => &mut c.skipped,
                NodeStatus::Cached => &mut c.cached,
                NodeStatus::Running => &mut c.running,
                NodeStatus::Pending => &mut c.pending,
            } += 1;
        }
        c
    }

    /// All nodes.
    pub fn total(&self) -> u64 {
        self.done() + self.running + self.pending
    }

    /// Nodes that are finished one way or another.
    pub fn done(&self) -> u64 {
        self.completed + self.failed + self.skipped + self.cached
    }
}

fn owned(text: Option<&str>) -> Option<String> {
    text.map(str::to_string)
}

/// One run folded from its events.
#[derive(Debug, Clone, Default)]
pub struct RunState {
    /// Empty until an event names it.
    pub run_id: String,
    /// The run that started this sub-workflow, if it is one.
    pub parent_run_id: Option<String>,
    /// The project's name (`workflow_started`).
    pub name: Option<String>,
    /// `None` until the run's `workflow_started`.
    pub status: Option<RunStatus>,
    /// The current attempt (1, 2... after resumes).
    pub attempts: u64,
    /// The first attempt's start, as written and in Unix milliseconds.
    pub started_at: Option<String>,
    pub started_ms: Option<i64>,
    /// The final event's time (`None` while running).
    pub ended_at: Option<String>,
    /// The last event's time (Unix milliseconds).
    pub last_event_ms: Option<i64>,
    /// The run's duration as its final event reports it.
    pub duration_ms: Option<u64>,
    pub dry_run: Option<bool>,
    pub error: Option<String>,
    pub failed_node: Option<String>,
    nodes: Vec<NodeState>,
    index: HashMap<String, usize>,
    /// The node of the previous node event (a node's events mostly come together).
    last_node: usize,
}

impl RunState {
    /// A run with no nodes yet (`run_id` may be empty: taken from its first event).
    pub fn new(run_id: &str) -> RunState {
        RunState {
            run_id: run_id.to_string(),
            ..RunState::default()
        }
    }

    /// The nodes, in the order they were declared or first seen.
    pub fn nodes(&self) -> &[NodeState] {
        &self.nodes
    }

    /// The nodes, taken out.
    pub fn into_nodes(self) -> Vec<NodeState> {
        self.nodes
    }

    /// Node `id`, added (pending) if it is not known yet.
    pub fn node_mut(&mut self, id: &str) -> &mut NodeState {
        if self.nodes.get(self.last_node).is_some_and(|n| n.id == id) {
            return &mut self.nodes[self.last_node];
        }
        let at = match self.index.get(id) {
            Some(&at) => at,
            None => {
                self.nodes.push(NodeState::new(id));
                self.index.insert(id.to_string(), self.nodes.len() - 1);
                self.nodes.len() - 1
            }
        };
        self.last_node = at;
        &mut self.nodes[at]
    }

    /// Whether the run has ended (completed, failed or interrupted).
    pub fn is_finished(&self) -> bool {
        self.status.is_some_and(RunStatus::is_final)
    }

    /// Applies one event of this run.
    pub fn apply(&mut self, event: &EventLine) {
        let name: &str = &event.event;
        let timestamp = event.timestamp.as_deref();
        let at = event.at_ms;
        if at.is_some() {
            self.last_event_ms = at;
        }
        let data = &event.data;
        match name {
            "workflow_started" => {
                if self.run_id.is_empty()
                    && let Some(id) = event.run_id.as_deref()
                {
                    self.run_id = id.to_string();
                }
                self.attempts = data.attempt.unwrap_or(self.attempts + 1);
                self.status = Some(RunStatus::Running);
                if self.started_at.is_none() {
                    self.started_at = owned(timestamp);
                    self.started_ms = at;
                }
                if let Some(name) = data.name.as_deref() {
                    self.name = Some(name.to_string());
                }
                self.dry_run = data.dry_run.or(self.dry_run);
                self.parent_run_id = owned(event.parent_run_id.as_deref());
                self.ended_at = None;
                self.duration_ms = None;
                self.error = None;
                self.failed_node = None;
                for node in &mut self.nodes {
                    if node.status == NodeStatus::Running {
                        node.status = NodeStatus::Pending;
                        node.started_ms = None;
                    }
                }
                return;
            }
            "workflow_completed" | "workflow_failed" | "workflow_interrupted" => {
                self.status = Some(match name {
                    "workflow_completed" => RunStatus::Completed,
                    "workflow_failed" => RunStatus::Failed,
                    _ => RunStatus::Interrupted,
                });
                self.duration_ms = data.duration_ms;
                self.ended_at = owned(timestamp);
                if name == "workflow_failed" {
                    self.error = owned(data.error.as_deref());
                    self.failed_node = owned(data.failed_node.as_deref());
                }
                return;
            }
            _ => {}
        }
        let Some(node_id) = event.node_id.as_deref() else {
            return;
        };
        if !(name.starts_with("node_") || matches!(name, "timing_metric" | "provider_retry")) {
            // Other node events (tokens, cost, tool calls, checkpoints...) change nothing
            // the fold keeps: `node_completed` carries the node's totals.
            return;
        }
        let node = self.node_mut(node_id);
        if let Some(t) = data.node_type.as_deref()
            && node.node_type.as_deref() != Some(t)
        {
            node.node_type = Some(t.to_string());
        }
        match name {
            "node_started" => {
                node.status = NodeStatus::Running;
                node.started_ms = at;
                node.ended_ms = None;
                node.duration_ms = None;
                node.error = None;
                node.error_type = None;
            }
            "node_completed" | "node_failed" => {
                node.duration_ms = data.duration_ms;
                node.ended_ms = at;
                if node.started_ms.is_none() {
                    node.started_ms = at.zip(data.duration_ms).map(|(t, d)| t - d as i64);
                }
                if name == "node_completed" {
                    node.status = NodeStatus::Completed;
                    node.input_tokens = data.input_tokens.unwrap_or(0);
                    node.output_tokens = data.output_tokens.unwrap_or(0);
                    if node.model.as_deref() != data.model.as_deref() {
                        node.model = owned(data.model.as_deref());
                    }
                    node.cost_usd = data.cost_usd;
                } else {
                    node.status = NodeStatus::Failed;
                    node.error = owned(data.error.as_deref());
                    node.error_type = owned(data.error_type.as_deref());
                }
            }
            "node_skipped" => {
                let reason = data.reason.as_deref();
                node.status = if reason == Some("cached_from_checkpoint") {
                    NodeStatus::Cached
                } else {
                    NodeStatus::Skipped
                };
                node.skip_reason = owned(reason);
            }
            "timing_metric" if data.name.as_deref() == Some("queue_wait_ms") => {
                node.queue_wait_ms = data.value;
            }
            "provider_retry" => node.retries += 1,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eventlog::timestamp::parse_millis;

    fn apply(run: &mut RunState, line: &str) {
        run.apply(&EventLine::parse(line.as_bytes()).unwrap());
    }

    #[test]
    fn a_resumed_run_keeps_its_start_and_redoes_what_was_running() {
        let mut run = RunState::new("");
        apply(
            &mut run,
            r#"{"timestamp":"2026-01-23T10:00:00Z","run_id":"r","event":"workflow_started","data":{"name":"demo","attempt":1}}"#,
        );
        apply(
            &mut run,
            r#"{"timestamp":"2026-01-23T10:00:01Z","run_id":"r","event":"node_started","node_id":"a","data":{"type":"prompt"}}"#,
        );
        apply(
            &mut run,
            r#"{"timestamp":"2026-01-23T10:00:02Z","run_id":"r","event":"timing_metric","node_id":"a","data":{"name":"queue_wait_ms","value":12.5}}"#,
        );
        apply(
            &mut run,
            r#"{"timestamp":"2026-01-23T10:00:03Z","run_id":"r","event":"workflow_interrupted","data":{"duration_ms":3000}}"#,
        );
        assert_eq!(run.run_id, "r");
        assert_eq!(run.status, Some(RunStatus::Interrupted));
        assert_eq!(run.nodes()[0].status, NodeStatus::Running);
        apply(
            &mut run,
            r#"{"timestamp":"2026-01-23T10:01:00Z","run_id":"r","event":"workflow_started","data":{"attempt":2}}"#,
        );
        assert_eq!((run.attempts, run.status), (2, Some(RunStatus::Running)));
        assert_eq!(run.nodes()[0].status, NodeStatus::Pending);
        assert_eq!(run.started_at.as_deref(), Some("2026-01-23T10:00:00Z"));
        assert_eq!(run.name.as_deref(), Some("demo"));
        assert_eq!((run.ended_at.as_deref(), run.duration_ms), (None, None));
        apply(
            &mut run,
            r#"{"timestamp":"2026-01-23T10:01:02Z","run_id":"r","event":"node_completed","node_id":"a","data":{"type":"prompt","duration_ms":1500,"input_tokens":7,"output_tokens":3,"model":"m","cost_usd":0.25}}"#,
        );
        let a = &run.nodes()[0];
        assert_eq!(a.status, NodeStatus::Completed);
        assert_eq!(a.started_ms, parse_millis("2026-01-23T10:01:00.500Z"));
        assert_eq!(
            (a.input_tokens, a.output_tokens, a.cost_usd),
            (7, 3, Some(0.25))
        );
        assert_eq!(
            (a.queue_wait_ms, a.node_type.as_deref()),
            (Some(12.5), Some("prompt"))
        );
        assert!(!run.is_finished());
    }
}
