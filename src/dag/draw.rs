//! Drawing the DAG for `trident project graph`: the original's ascii listing and a Mermaid
//! flowchart, identical in text to the original's output.

use std::collections::HashSet;

use super::Dag;
use crate::project::{NodeKind, Project};

fn symbol(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Input => "[I]",
        NodeKind::Prompt => "[P]",
        NodeKind::Tool => "[T]",
        NodeKind::Output => "[O]",
        NodeKind::Agent => "[A]",
        NodeKind::Branch => "[B]",
        NodeKind::Trigger => "[R]",
    }
}

/// The ascii drawing: each node in execution order with its outgoing connections.
pub fn ascii(dag: &Dag, project: &Project) -> String {
    if dag.nodes.is_empty() {
        return "No nodes found".into();
    }
    let mut lines = vec!["DAG Visualization:".to_string(), String::new()];
    for (i, id) in dag.order.iter().enumerate() {
        let node = &dag.nodes[id];
        lines.push(format!("{} {id}", symbol(node.kind)));
        for (j, edge_id) in node.outgoing.iter().enumerate() {
            let connector = if j + 1 == node.outgoing.len() {
                "└──"
            } else {
                "├──"
            };
            let to = &project.edges[edge_id].to;
            lines.push(format!(
                "  {connector}> {} {to}",
                symbol(dag.nodes[to].kind)
            ));
        }
        if i + 1 < dag.order.len() {
            lines.push(String::new());
        }
    }
    lines.push(String::new());
    lines.push(
        "Legend: [I] Input, [P] Prompt, [T] Tool, [A] Agent, [B] Branch, [R] Trigger, [O] Output"
            .into(),
    );
    lines.join("\n")
}

fn mermaid_id(id: &str) -> String {
    id.replace(['-', ' '], "_")
}

/// The Mermaid flowchart (fenced as a ```mermaid block), `direction` one of TD/LR/BT/RL.
pub fn mermaid(dag: &Dag, project: &Project, direction: &str) -> String {
    if dag.nodes.is_empty() {
        return "```mermaid\nflowchart TD\n    empty[No nodes]\n```".into();
    }
    let mut lines = vec![
        "```mermaid".to_string(),
        format!("flowchart {direction}"),
        String::new(),
        "    %% Nodes".into(),
    ];
    for id in &dag.order {
        let kind = dag.nodes[id].kind;
        let (left, right) = match kind {
            NodeKind::Input | NodeKind::Output => ("([", "])"),
            NodeKind::Prompt => ("[", "]"),
            NodeKind::Tool => ("{{", "}}"),
            NodeKind::Agent => ("[[", "]]"),
            NodeKind::Branch => ("{", "}"),
            NodeKind::Trigger => ("((", "))"),
        };
        let label = match kind {
            NodeKind::Input | NodeKind::Output => id.clone(),
            _ => format!("{}: {id}", kind.as_str()),
        };
        lines.push(format!("    {}{left}{label}{right}", mermaid_id(id)));
    }
    lines.push(String::new());
    lines.push("    %% Edges".into());
    let mut seen = HashSet::new();
    for id in &dag.order {
        for edge_id in &dag.nodes[id].outgoing {
            let edge = &project.edges[edge_id];
            if seen.insert((edge.from.as_str(), edge.to.as_str())) {
                lines.push(format!(
                    "    {} --> {}",
                    mermaid_id(&edge.from),
                    mermaid_id(&edge.to)
                ));
            }
        }
    }
    lines.push("```".into());
    lines.join("\n")
}
