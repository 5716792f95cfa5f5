//! Moving data along edges: gathering a node's inputs from its upstream outputs through
//! edge mappings, and evaluating edge conditions.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::dag::Dag;
use crate::expr::evaluate_on_output;
use crate::project::{Edge, Project};
use crate::template::get_path;

/// Outputs of finished nodes, shared read-only with the nodes that read them.
pub type Outputs = HashMap<String, Arc<Map<String, Value>>>;

/// Look up a mapping's source expression (a field or a dotted path, `output.` tolerated).
pub fn lookup_source<'v>(output: &'v Map<String, Value>, expr: &str) -> Option<&'v Value> {
    get_path(output, expr).or_else(|| {
        expr.strip_prefix("output.")
            .and_then(|rest| get_path(output, rest))
    })
}

/// The inputs of `node_id`: each incoming edge's mappings applied to its source's output.
/// Edges from nodes without output (skipped) contribute nothing; a mapping whose source is
/// missing gives `null` unless another edge already set that input.
pub fn gather_inputs(
    project: &Project,
    dag: &Dag,
    node_id: &str,
    outputs: &Outputs,
) -> Map<String, Value> {
    let mut inputs = Map::new();
    for edge in dag.incoming(project, node_id) {
        let Some(source) = outputs.get(&edge.from).filter(|o| !o.is_empty()) else {
            continue;
        };
        for mapping in &edge.mappings {
            let value = lookup_source(source, &mapping.source).cloned();
            match value {
                Some(v) => {
                    inputs.insert(mapping.target.clone(), v);
                }
                None => {
                    inputs.entry(mapping.target.clone()).or_insert(Value::Null);
                }
            }
        }
    }
    inputs
}

/// Whether `edge` lets its target run, given its source's output. An error counts as
/// false and is returned for reporting.
pub fn edge_allows(edge: &Edge, outputs: &Outputs) -> (bool, Option<String>) {
    let Some(condition) = edge.condition.as_deref().filter(|c| !c.trim().is_empty()) else {
        return (true, None);
    };
    let empty = Map::new();
    let source = outputs
        .get(&edge.from)
        .map(|o| o.as_ref())
        .unwrap_or(&empty);
    match evaluate_on_output(condition, source) {
        Ok(result) => (result, None),
        Err(e) => (false, Some(e.0)),
    }
}
