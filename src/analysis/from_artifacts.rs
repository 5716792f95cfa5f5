//! One run from its artifacts (`trident project show`): the run index entry, metadata,
//! checkpoint (with its journal, so a running run shows what is done), trace.json, and the
//! run's `events.jsonl` when it has one (queue waits and retries are only there). A run
//! without events.jsonl shows from trace.json; a run still running, from its checkpoint.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::fold::{EventFold, Loss};
use super::report::{NodeReport, NodeStatus, RunReport, RunStatus};
use crate::artifacts::{CheckpointStore, RunIndexFile, RunMetadata, Trace, read_watched_json};
use crate::dag::Dag;
use crate::eventlog::timestamp::parse_millis;
use crate::eventlog::{SkippedLine, read_lines};
use crate::project::Project;

/// What the project says about its nodes (absent when the manifest cannot be loaded).
#[derive(Debug, Clone, Default)]
pub struct ProjectShape {
    /// Node ids in execution order.
    pub order: Vec<String>,
    pub kinds: HashMap<String, String>,
    /// Upstream node ids of each node (the DAG's edges).
    pub predecessors: HashMap<String, Vec<String>>,
}

impl ProjectShape {
    /// The node order (level by level), kinds and edges of a project's DAG.
    pub fn of(project: &Project, dag: &Dag) -> ProjectShape {
        let mut shape = ProjectShape::default();
        for (id, node) in &dag.nodes {
            shape
                .kinds
                .insert(id.clone(), node.kind.as_str().to_string());
            let upstream = node
                .incoming
                .iter()
                .filter_map(|e| project.edges.get(e).map(|edge| edge.from.clone()))
                .collect();
            shape.predecessors.insert(id.clone(), upstream);
        }
        shape.order = dag.levels.concat();
        shape
    }
}

/// A run's report, plus what reading its events.jsonl found.
pub struct ShownRun {
    pub report: RunReport,
    /// Where the node table came from: `events.jsonl`, `trace.json` or `checkpoint.json`.
    pub source: &'static str,
    pub loss: Loss,
    /// Events read from events.jsonl (0 without one).
    pub events: u64,
    pub skipped_lines: Vec<SkippedLine>,
}

/// `name="Ada", n=3`, cut at 80 characters.
pub fn inputs_summary(inputs: &Map<String, Value>) -> String {
    let text = inputs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    if text.chars().count() > 80 {
        format!("{}...", text.chars().take(77).collect::<String>())
    } else {
        text
    }
}

fn from_trace(trace: &Trace) -> Vec<NodeReport> {
    trace
        .nodes
        .iter()
        .map(|t| {
            let mut n = NodeReport::new(&t.id);
            n.started_ms = parse_millis(&t.start_time);
            n.ended_ms = t.end_time.as_deref().and_then(parse_millis);
            n.status = if t.cached {
                NodeStatus::Cached
            } else if t.error.is_some() {
                NodeStatus::Failed
            } else if t.skipped {
                NodeStatus::Skipped
            } else {
                NodeStatus::Completed
            };
            if matches!(
                n.status,
                NodeStatus::Completed | NodeStatus::Failed | NodeStatus::Cached
            ) {
                n.duration_ms = n
                    .started_ms
                    .zip(n.ended_ms)
                    .map(|(s, e)| (e - s).max(0) as u64);
            }
            n.model = t.model.clone();
            n.input_tokens = t.input_tokens();
            n.output_tokens = t.output_tokens();
            n.cost_usd = t.cost_usd;
            n.error = t.error.clone();
            n.error_type = t.error_type.clone();
            n
        })
        .collect()
}

/// The report of run `run_id` stored under `base_dir` (`.trident`).
pub fn show_run(base_dir: &Path, run_id: &str, project: Option<&ProjectShape>) -> ShownRun {
    let run_dir = base_dir.join("runs").join(run_id);
    let mut report = RunReport::new(run_id);
    let mut source = "checkpoint.json";
    let mut loss = Loss::default();
    let mut events = 0;
    let mut skipped_lines = Vec::new();

    let events_path = run_dir.join("events.jsonl");
    let mut from_events = None;
    if let Ok(file) = std::fs::File::open(&events_path) {
        let mut fold = EventFold::default();
        let name = events_path.display().to_string();
        if read_lines(file, &name, &mut fold, &mut skipped_lines).is_ok() {
            events = fold.events;
            let (runs, found_loss) = fold.finish();
            loss = found_loss;
            from_events = runs.into_iter().find(|r| r.run_id == run_id);
        }
    }
    let checkpoint = CheckpointStore::load(&run_dir.join("checkpoint.json")).ok();
    match from_events {
        Some(events_report) => {
            report = events_report;
            source = "events.jsonl";
        }
        None => {
            if let Ok(trace) = read_watched_json::<Trace>(&run_dir.join("trace.json")) {
                report.nodes = from_trace(&trace);
                report.error = trace.error.clone();
                source = "trace.json";
            } else if let Some(c) = &checkpoint {
                for (id, done) in &c.completed_nodes {
                    let mut n = NodeReport::new(id);
                    n.status = NodeStatus::Completed;
                    n.ended_ms = parse_millis(&done.completed_at);
                    n.cost_usd = done.cost_usd;
                    report.nodes.push(n);
                }
            }
        }
    }

    // The run itself: the index entry, else the checkpoint; metadata for the inputs.
    let entry = RunIndexFile::new(base_dir)
        .load()
        .runs
        .into_iter()
        .find(|e| e.run_id == run_id);
    let metadata = read_watched_json::<RunMetadata>(&run_dir.join("metadata.json")).ok();
    if let Some(entry) = &entry {
        report.status = RunStatus::from_index(&entry.status);
        report.attempts = report.attempts.max(entry.attempts);
        report.started_at = Some(entry.started_at.clone());
        report.ended_at = entry.ended_at.clone().or(report.ended_at);
        if report.error.is_none() {
            report.error = entry.error_summary.clone();
        }
        report.name = Some(entry.project_name.clone());
    } else if let Some(c) = &checkpoint {
        report.status = RunStatus::from_index(&c.status);
        report.attempts = report.attempts.max(c.attempts);
        report.started_at = Some(c.started_at.clone());
        report.name = Some(c.project_name.clone());
    }
    if let Some(m) = &metadata {
        report.inputs_summary = Some(inputs_summary(&m.inputs));
        report.name = report.name.take().or(Some(m.project_name.clone()));
    }
    if let Some(c) = &checkpoint {
        report.dry_run = report.dry_run.or(c.dry_run);
    }
    if report.duration_ms.is_none() {
        let start = report.started_at.as_deref().and_then(parse_millis);
        let end = report.ended_at.as_deref().and_then(parse_millis);
        report.duration_ms = start.zip(end).map(|(s, e)| (e - s).max(0) as u64);
    }

    // Nodes the project has that the run has not reached; types from the project.
    let predecessors = project.map(|p| {
        let known: std::collections::HashSet<String> =
            report.nodes.iter().map(|n| n.id.clone()).collect();
        for id in &p.order {
            if !known.contains(id) {
                report.nodes.push(NodeReport::new(id));
            }
        }
        for node in &mut report.nodes {
            if node.node_type.is_none() {
                node.node_type = p.kinds.get(&node.id).cloned();
            }
        }
        let position: HashMap<&str, usize> = p
            .order
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        report
            .nodes
            .sort_by_key(|n| position.get(n.id.as_str()).copied().unwrap_or(usize::MAX));
        p.predecessors.clone()
    });
    // A node still marked running in a run that has ended did not finish.
    if report.status != RunStatus::Running {
        for node in &mut report.nodes {
            if node.status == NodeStatus::Running {
                node.status = NodeStatus::Pending;
            }
        }
    }
    match &predecessors {
        Some(map) => {
            let lookup = |id: &str| map.get(id).cloned().unwrap_or_default();
            report.summarise(Some(&lookup));
        }
        None => report.summarise(None),
    }
    if report.failed_node.is_none() {
        report.failed_node = report
            .nodes
            .iter()
            .find(|n| n.status == NodeStatus::Failed)
            .map(|n| n.id.clone());
    }
    ShownRun {
        report,
        source,
        loss,
        events,
        skipped_lines,
    }
}
