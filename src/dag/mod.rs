//! The project's DAG: nodes with their incoming and outgoing edges, Kahn levels (the
//! scheduler's start order, and the unit of `--schedule levels`; ids sorted within a level), cycle detection and ancestors.

pub mod draw;

use std::collections::{BTreeSet, HashMap, HashSet};

use indexmap::IndexMap;

use crate::error::TridentError;
use crate::project::{Edge, NodeKind, Project};

/// One node of the DAG, with the ids of its edges (keys into `Project::edges`).
#[derive(Debug, Clone)]
pub struct DagNode {
    pub id: String,
    pub kind: NodeKind,
    pub incoming: Vec<String>,
    pub outgoing: Vec<String>,
}

/// The levelled DAG of a project.
#[derive(Debug, Clone)]
pub struct Dag {
    pub nodes: IndexMap<String, DagNode>,
    /// Levels in execution order; ids sorted within a level.
    pub levels: Vec<Vec<String>>,
    /// All ids, level by level.
    pub order: Vec<String>,
}

/// One cycle among the nodes Kahn's algorithm could not order, as `a -> b -> a`. Each of
/// them has a predecessor among them, so walking back from one repeats a node: the nodes
/// between the two visits are a cycle (nodes merely downstream of it are left out).
fn find_cycle(
    project: &Project,
    nodes: &IndexMap<String, DagNode>,
    remaining: &BTreeSet<&String>,
) -> Vec<String> {
    let Some(start) = remaining.iter().next() else {
        return Vec::new();
    };
    let mut path: Vec<&str> = vec![start.as_str()];
    loop {
        let current = path[path.len() - 1];
        let previous = nodes[current]
            .incoming
            .iter()
            .map(|e| project.edges[e].from.as_str())
            .filter(|from| remaining.iter().any(|r| r.as_str() == *from))
            .min();
        let Some(previous) = previous else {
            return path.iter().rev().map(|s| s.to_string()).collect();
        };
        if let Some(at) = path.iter().position(|p| *p == previous) {
            let mut cycle: Vec<String> = path[at..].iter().rev().map(|s| s.to_string()).collect();
            // Start from the smallest id, so the message is the same whatever the walk.
            if let Some(first) = (0..cycle.len()).min_by_key(|i| &cycle[*i]) {
                cycle.rotate_left(first);
            }
            cycle.push(cycle[0].clone());
            return cycle;
        }
        path.push(previous);
    }
}

impl Dag {
    /// Build and level the DAG; unknown edge endpoints and cycles are validation errors.
    pub fn build(project: &Project) -> Result<Dag, TridentError> {
        let mut nodes: IndexMap<String, DagNode> = project
            .all_nodes()
            .into_iter()
            .map(|(id, kind)| {
                let node = DagNode {
                    id: id.clone(),
                    kind,
                    incoming: Vec::new(),
                    outgoing: Vec::new(),
                };
                (id, node)
            })
            .collect();
        for edge in project.edges.values() {
            for (end, id) in [("source", &edge.from), ("target", &edge.to)] {
                if !nodes.contains_key(id) {
                    return Err(TridentError::Validation(format!(
                        "{}: edge '{}' references unknown {end} node '{id}'. Define the node (in \
                         nodes:, tools: or a prompt file) or fix the edge.",
                        project.manifest_path.display(),
                        edge.id
                    )));
                }
            }
            if let Some(n) = nodes.get_mut(&edge.from) {
                n.outgoing.push(edge.id.clone());
            }
            if let Some(n) = nodes.get_mut(&edge.to) {
                n.incoming.push(edge.id.clone());
            }
        }

        let mut in_degree: HashMap<&str, usize> = nodes
            .values()
            .map(|n| (n.id.as_str(), n.incoming.len()))
            .collect();
        let mut current: Vec<String> = nodes
            .values()
            .filter(|n| n.incoming.is_empty())
            .map(|n| n.id.clone())
            .collect();
        let mut levels = Vec::new();
        let mut order = Vec::with_capacity(nodes.len());
        while !current.is_empty() {
            current.sort();
            let mut next = Vec::new();
            for id in &current {
                for edge_id in &nodes[id].outgoing {
                    let to = project.edges[edge_id].to.as_str();
                    if let Some(d) = in_degree.get_mut(to) {
                        *d -= 1;
                        if *d == 0 {
                            next.push(to.to_string());
                        }
                    }
                }
            }
            order.extend(current.iter().cloned());
            levels.push(std::mem::replace(&mut current, next));
        }
        if order.len() != nodes.len() {
            let done: HashSet<&String> = order.iter().collect();
            let remaining: BTreeSet<&String> = nodes.keys().filter(|k| !done.contains(k)).collect();
            let cycle = find_cycle(project, &nodes, &remaining);
            return Err(TridentError::Validation(format!(
                "{}: cycle detected in the DAG: {}. Workflows must be acyclic: remove an edge of \
                 the cycle (use a branch node with loop_while to repeat work).",
                project.manifest_path.display(),
                cycle.join(" -> ")
            )));
        }
        Ok(Dag {
            nodes,
            levels,
            order,
        })
    }

    /// The incoming edges of a node, in declaration order.
    pub fn incoming<'p>(&self, project: &'p Project, id: &str) -> Vec<&'p Edge> {
        self.nodes
            .get(id)
            .map(|n| n.incoming.iter().map(|e| &project.edges[e]).collect())
            .unwrap_or_default()
    }

    /// Every node upstream of `id`, excluding `id` itself.
    pub fn ancestors(&self, project: &Project, id: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut stack: Vec<String> = self
            .incoming(project, id)
            .iter()
            .map(|e| e.from.clone())
            .collect();
        while let Some(current) = stack.pop() {
            if seen.insert(current.clone()) {
                stack.extend(
                    self.incoming(project, &current)
                        .iter()
                        .map(|e| e.from.clone()),
                );
            }
        }
        seen
    }
}
