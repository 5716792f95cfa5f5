//! `GET /api/runs/{run_id}`: one run's summary plus its project's graph and the state of
//! every node of it. The graph comes from the project's manifest as it is now; when the
//! manifest no longer loads, from the nodes the run's events name (no edges), with a
//! warning.

use serde_json::{Map, Value, json};

use super::catalogue::{Catalogue, RunRef, RunSummary, line_warnings};
use crate::analysis::{NodeReport, NodeStatus, ProjectShape};
use crate::dag::Dag;
use crate::project::{Project, load_project};

/// The graph of the API: nodes `{id, type}` and edges `{from, to, condition?}`.
fn graph(project: &Project, dag: &Dag) -> Value {
    let nodes: Vec<Value> = dag
        .levels
        .concat()
        .iter()
        .filter_map(|id| dag.nodes.get(id))
        .map(|n| json!({"id": n.id, "type": n.kind.as_str()}))
        .collect();
    let edges: Vec<Value> = project
        .edges
        .values()
        .map(|e| {
            let mut edge = json!({"from": e.from, "to": e.to});
            if let Some(c) = &e.condition {
                edge["condition"] = json!(c.text());
            }
            edge
        })
        .collect();
    json!({"nodes": nodes, "edges": edges})
}

/// A node's state: `{status, started_at?, duration_ms?, tokens?, cost_usd?, error?}`.
fn node_state(node: &NodeReport, redact: &dyn Fn(&str) -> String) -> Value {
    let mut state = Map::new();
    state.insert("status".into(), json!(node.status.as_str()));
    if let Some(ms) = node.started_ms
        && let Some(at) = chrono::DateTime::from_timestamp_millis(ms)
    {
        state.insert(
            "started_at".into(),
            json!(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
    }
    if let Some(d) = node.duration_ms {
        state.insert("duration_ms".into(), json!(d));
    }
    if node.input_tokens > 0 || node.output_tokens > 0 || node.model.is_some() {
        state.insert(
            "tokens".into(),
            json!({"input": node.input_tokens, "output": node.output_tokens}),
        );
    }
    if let Some(c) = node.cost_usd {
        state.insert("cost_usd".into(), json!(c));
    }
    if let Some(e) = &node.error {
        state.insert("error".into(), json!(redact(e)));
    }
    if node.status == NodeStatus::Failed
        && let Some(t) = &node.error_type
    {
        state.insert("error_type".into(), json!(t));
    }
    Value::Object(state)
}

/// The JSON of `GET /api/runs/{run_id}`.
pub fn run_detail(catalogue: &Catalogue, run: &RunRef) -> Value {
    let served = catalogue.project(run);
    let mut warnings = Vec::new();
    let loaded = load_project(&served.manifest).and_then(|p| {
        let dag = Dag::build(&p)?;
        Ok((p, dag))
    });
    let (graph_value, shape) = match &loaded {
        Ok((project, dag)) => (graph(project, dag), Some(ProjectShape::of(project, dag))),
        Err(e) => {
            warnings.push(format!(
                "{}: {e}; the graph shows the nodes the run's events name",
                served.manifest.display()
            ));
            (Value::Null, None)
        }
    };
    let shown = catalogue.report(run, shape.as_ref());
    warnings.extend(line_warnings(&shown));
    let redact = |text: &str| served.redactor.text(text).into_owned();
    let graph_value = if graph_value.is_null() {
        let nodes: Vec<Value> = shown
            .report
            .nodes
            .iter()
            .map(|n| json!({"id": n.id, "type": n.node_type}))
            .collect();
        json!({"nodes": nodes, "edges": []})
    } else {
        graph_value
    };
    let node_states: Map<String, Value> = shown
        .report
        .nodes
        .iter()
        .map(|n| (n.id.clone(), node_state(n, &redact)))
        .collect();
    let mut detail = match serde_json::to_value(RunSummary::of(served, &shown)) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    detail.insert("dry_run".into(), json!(shown.report.dry_run));
    detail.insert("failed_node".into(), json!(shown.report.failed_node));
    detail.insert("graph".into(), graph_value);
    detail.insert("node_states".into(), Value::Object(node_states));
    detail.insert("warnings".into(), json!(warnings));
    Value::Object(detail)
}
