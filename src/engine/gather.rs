//! Moving data along edges: gathering a node's inputs from its upstream outputs through
//! edge mappings (sharing the upstream map when a node passes it through unchanged, and
//! linking to the upstream fields it maps rather than copying them), and evaluating edge
//! conditions.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::dag::Dag;
use crate::fields::{Field, FieldMap, FieldRef};
use crate::project::{Edge, Project};

/// Outputs of finished nodes, shared read-only with the nodes that read them.
pub type Outputs = HashMap<String, Arc<FieldMap>>;

/// The path a mapping's source expression names in `output` (a field or a dotted path,
/// `output.` tolerated), and its value there; `None` when missing or null.
fn resolve_source<'v, 'e>(output: &'v FieldMap, expr: &'e str) -> Option<(&'e str, FieldRef<'v>)> {
    if let Some(found) = output.lookup(expr) {
        return Some((expr, found));
    }
    let rest = expr.strip_prefix("output.")?;
    output.lookup(rest).map(|found| (rest, found))
}

/// The inputs of `node_id`: each incoming edge's mappings applied to its source's output,
/// each mapped value a link to the upstream field (nothing is copied until the node reads
/// it). Edges from nodes without output (skipped) contribute nothing; a mapping whose source
/// is missing gives `null` unless another edge already set that input.
pub fn gather_inputs(project: &Project, dag: &Dag, node_id: &str, outputs: &Outputs) -> FieldMap {
    let mut inputs: indexmap::IndexMap<String, Field> = indexmap::IndexMap::new();
    for edge in dag.incoming(project, node_id) {
        let Some(source) = outputs.get(&edge.from).filter(|o| !o.is_empty()) else {
            continue;
        };
        for mapping in &edge.mappings {
            match resolve_source(source, &mapping.source) {
                Some((path, _)) => {
                    inputs.insert(mapping.target.clone(), FieldMap::link(source, path));
                }
                None => {
                    inputs
                        .entry(mapping.target.clone())
                        .or_insert(Field::Value(Value::Null));
                }
            }
        }
    }
    inputs.into_iter().collect()
}

/// The inputs of `node_id`, shared: the very map of its one upstream output when every field
/// of that output is mapped to itself, in order (a pass-through: the inputs would be an
/// exact copy, as big as the data passed through); built by [`gather_inputs`] otherwise.
pub fn gather_shared(
    project: &Project,
    dag: &Dag,
    node_id: &str,
    outputs: &Outputs,
) -> Arc<FieldMap> {
    match pass_through_source(project, dag, node_id, outputs) {
        Some(source) => Arc::clone(source),
        None => Arc::new(gather_inputs(project, dag, node_id, outputs)),
    }
}

/// The output `node_id` would gather whole and unchanged, if that is what its edges do:
/// exactly one incoming edge contributes (a source with output, mappings), and its mappings
/// are each field of that output to the same name, in the output's order.
fn pass_through_source<'o>(
    project: &Project,
    dag: &Dag,
    node_id: &str,
    outputs: &'o Outputs,
) -> Option<&'o Arc<FieldMap>> {
    let mut contributing = dag
        .incoming(project, node_id)
        .into_iter()
        .filter(|edge| !edge.mappings.is_empty())
        .filter_map(|edge| {
            let source = outputs.get(&edge.from).filter(|o| !o.is_empty())?;
            Some((edge, source))
        });
    let (edge, source) = contributing.next()?;
    if contributing.next().is_some() || edge.mappings.len() != source.len() {
        return None;
    }
    let identity = edge
        .mappings
        .iter()
        .zip(source.keys())
        .all(|(m, key)| m.source == *key && m.target == *key && !key.contains('.'));
    identity.then_some(source)
}

/// Whether `edge` lets its target run, given its source's output. An error counts as
/// false and is returned for reporting.
pub fn edge_allows(edge: &Edge, outputs: &Outputs) -> (bool, Option<String>) {
    let Some(condition) = edge.condition.as_ref().filter(|c| !c.trim().is_empty()) else {
        return (true, None);
    };
    let empty = FieldMap::default();
    let source = outputs
        .get(&edge.from)
        .map(|o| o.as_ref())
        .unwrap_or(&empty);
    match condition.evaluate_on_fields(source) {
        Ok(result) => (result, None),
        Err(e) => (false, Some(e.0)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::project::load_project;

    /// `upstream` (an input node) feeding `down` (an output node) through `edges`.
    fn project(edges: &str) -> (tempfile::TempDir, Project, Dag) {
        let dir = tempfile::tempdir().unwrap();
        let manifest = format!(
            "trident: \"0.1\"\nname: g\nnodes:\n  up: {{type: input}}\n  other: {{type: input}}\n  \
             down: {{type: output}}\nedges:\n{edges}"
        );
        std::fs::write(dir.path().join("agent.tml"), manifest).unwrap();
        let project = load_project(dir.path()).unwrap();
        let dag = Dag::build(&project).unwrap();
        (dir, project, dag)
    }

    fn outputs(up: Value, other: Value) -> Outputs {
        let map = |v: Value| FieldMap::new(v.as_object().unwrap().clone());
        HashMap::from([
            ("up".to_string(), map(up)),
            ("other".to_string(), map(other)),
        ])
    }

    #[test]
    fn a_pass_through_shares_the_upstream_map_and_anything_else_is_built() {
        let up = json!({"rows": [1, 2, {"a": null}], "text": "t", "none": null});
        let cases = [
            // Every field to itself, in order: the same map.
            (
                "  a: {from: up, to: down, mapping: {rows: rows, text: text, none: none}}\n",
                true,
            ),
            // A subset, a rename, another order, a missing field, a dotted path.
            (
                "  a: {from: up, to: down, mapping: {rows: rows, text: text}}\n",
                false,
            ),
            (
                "  a: {from: up, to: down, mapping: {rows: rows, txt: text, none: none}}\n",
                false,
            ),
            (
                "  a: {from: up, to: down, mapping: {text: text, rows: rows, none: none}}\n",
                false,
            ),
            (
                "  a: {from: up, to: down, mapping: {rows: rows, text: text, gone: gone}}\n",
                false,
            ),
            // A second edge that contributes too.
            (
                "  a: {from: up, to: down, mapping: {rows: rows, text: text, none: none}}\n  \
                 b: {from: other, to: down, mapping: {x: x}}\n",
                false,
            ),
        ];
        for (edges, shared) in cases {
            let (_dir, project, dag) = project(edges);
            let outputs = outputs(up.clone(), json!({"x": 1}));
            let got = gather_shared(&project, &dag, "down", &outputs);
            assert_eq!(
                *got,
                gather_inputs(&project, &dag, "down", &outputs),
                "{edges}"
            );
            assert_eq!(Arc::ptr_eq(&got, &outputs["up"]), shared, "{edges}");
        }
    }
}
