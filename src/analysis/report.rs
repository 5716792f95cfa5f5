//! What the analysis of one run says: its status, nodes (status, timing, queue wait,
//! model, tokens, cost, retries, error), critical path, slowest nodes and totals by model.
//! Serialised as is for `--json` (field names are a documented, stable interface).

use serde::Serialize;

use super::critical_path::{CriticalPath, Predecessors, critical_path};
use crate::eventlog::fold::RunState;
pub use crate::eventlog::fold::{NodeCounts, NodeState, NodeStatus, RunStatus};

/// One node of a run: the one fold's node state.
pub type NodeReport = NodeState;

/// Tokens and cost of one model over a run (or several).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ModelTotals {
    pub model: String,
    /// Nodes that called it.
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Sum of the priced calls; `None` when no call had a price.
    pub cost_usd: Option<f64>,
    /// Calls without a price (`cost_usd: null`).
    pub unpriced_calls: u64,
}

/// The analysis of one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    /// The run that started this sub-workflow, if it is one.
    pub parent_run_id: Option<String>,
    pub name: Option<String>,
    pub status: RunStatus,
    pub attempts: u64,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub dry_run: Option<bool>,
    /// The run's inputs, shortened for display (`name="Ada", n=3`).
    pub inputs_summary: Option<String>,
    pub error: Option<String>,
    pub failed_node: Option<String>,
    pub counts: NodeCounts,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub retries: u64,
    pub queue_wait_ms: f64,
    pub nodes: Vec<NodeReport>,
    pub critical_path: CriticalPath,
    /// Node ids, slowest first (at most five executed nodes).
    pub slowest: Vec<String>,
    pub models: Vec<ModelTotals>,
}

impl RunReport {
    /// A report with no nodes yet.
    pub fn new(run_id: &str) -> RunReport {
        RunReport {
            run_id: run_id.to_string(),
            parent_run_id: None,
            name: None,
            status: RunStatus::Running,
            attempts: 0,
            started_at: None,
            ended_at: None,
            duration_ms: None,
            dry_run: None,
            inputs_summary: None,
            error: None,
            failed_node: None,
            counts: NodeCounts::default(),
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: 0.0,
            retries: 0,
            queue_wait_ms: 0.0,
            nodes: Vec::new(),
            critical_path: CriticalPath::default(),
            slowest: Vec::new(),
            models: Vec::new(),
        }
    }

    /// The report of a run folded from its events (summarised without the DAG).
    pub fn from_state(run: RunState) -> RunReport {
        let mut report = RunReport::new(&run.run_id);
        report.parent_run_id = run.parent_run_id.clone();
        report.name = run.name.clone();
        report.status = run.status.unwrap_or(RunStatus::Running);
        report.attempts = run.attempts;
        report.started_at = run.started_at.clone();
        report.ended_at = run.ended_at.clone();
        report.duration_ms = run.duration_ms;
        report.dry_run = run.dry_run;
        report.error = run.error.clone();
        report.failed_node = run.failed_node.clone();
        report.nodes = run.into_nodes();
        report.summarise(None);
        report
    }

    /// Compute the totals, counts, models, slowest nodes and critical path from `nodes`.
    /// `predecessors(id)` gives a node's upstream nodes (the DAG's edges) when the project
    /// is known; without it, dependencies are inferred from the times.
    pub fn summarise(&mut self, predecessors: Option<Predecessors>) {
        let counts = NodeCounts::of(&self.nodes);
        let (mut input, mut output, mut cost, mut retries, mut wait) = (0, 0, 0.0, 0, 0.0);
        let mut models: Vec<ModelTotals> = Vec::new();
        for node in &self.nodes {
            input += node.input_tokens;
            output += node.output_tokens;
            cost += node.cost_usd.unwrap_or(0.0);
            retries += node.retries;
            wait += node.queue_wait_ms.unwrap_or(0.0);
            if let Some(model) = &node.model {
                add_model(&mut models, model, node);
            }
        }
        models.sort_by(|a, b| {
            b.cost_usd
                .unwrap_or(0.0)
                .total_cmp(&a.cost_usd.unwrap_or(0.0))
                .then_with(|| a.model.cmp(&b.model))
        });
        let mut executed: Vec<&NodeReport> = self
            .nodes
            .iter()
            .filter(|n| n.duration_ms.is_some())
            .filter(|n| matches!(n.status, NodeStatus::Completed | NodeStatus::Failed))
            .collect();
        executed.sort_by(|a, b| b.duration_ms.cmp(&a.duration_ms).then(a.id.cmp(&b.id)));
        self.slowest = executed.iter().take(5).map(|n| n.id.clone()).collect();
        self.critical_path = critical_path(&self.nodes, predecessors);
        self.counts = counts;
        self.input_tokens = input;
        self.output_tokens = output;
        self.cost_usd = cost;
        self.retries = retries;
        self.queue_wait_ms = wait;
        self.models = models;
    }
}

/// Add `node`'s call of `model` to the totals.
pub fn add_model(models: &mut Vec<ModelTotals>, model: &str, node: &NodeReport) {
    let index = match models.iter().position(|m| m.model == model) {
        Some(i) => i,
        None => {
            models.push(ModelTotals {
                model: model.to_string(),
                calls: 0,
                input_tokens: 0,
                output_tokens: 0,
                cost_usd: None,
                unpriced_calls: 0,
            });
            models.len() - 1
        }
    };
    let totals = &mut models[index];
    totals.calls += 1;
    totals.input_tokens += node.input_tokens;
    totals.output_tokens += node.output_tokens;
    match node.cost_usd {
        Some(c) => totals.cost_usd = Some(totals.cost_usd.unwrap_or(0.0) + c),
        None => totals.unpriced_calls += 1,
    }
}
