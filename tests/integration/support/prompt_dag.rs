//! Generated projects of text prompt nodes, for scheduling and connection tests: each node
//! names the nodes it reads from, and its prompt text can steer the fake provider
//! (`@sleep`, `@status`).

use super::Fixture;

/// A node of a generated project: its id, the nodes it reads from (none: the input node),
/// and the prompt's text (`@sleep`/`@status` steer the fake provider).
pub struct Node {
    pub id: String,
    pub upstream: Vec<String>,
    pub body: String,
}

pub fn node(id: &str, upstream: &[&str], body: &str) -> Node {
    Node {
        id: id.to_string(),
        upstream: upstream.iter().map(|s| s.to_string()).collect(),
        body: body.to_string(),
    }
}

pub fn sleeping(id: &str, upstream: &[&str], ms: u64) -> Node {
    node(id, upstream, &format!("Node {id}. @sleep {ms}"))
}

/// A project of text prompt nodes: `input` feeds the nodes without upstream, nodes nothing
/// reads from feed `output`. Prompt bodies do not render their inputs, so an upstream
/// reply's `@sleep` never reaches a downstream prompt.
pub fn project(nodes: &[Node]) -> Fixture {
    let mut manifest = String::from(
        "trident: \"0.1\"\nname: sched\ndefaults:\n  model: anthropic/claude-test\n\
         nodes:\n  input: {type: input}\n  output: {type: output}\nedges:\n",
    );
    let mut f = Fixture::empty();
    for n in nodes {
        let sources: Vec<&str> = if n.upstream.is_empty() {
            vec!["input"]
        } else {
            n.upstream.iter().map(String::as_str).collect()
        };
        for from in sources {
            manifest.push_str(&format!(
                "  {from}_{id}: {{from: {from}, to: {id}, mapping: {{x: text}}}}\n",
                id = n.id
            ));
        }
        if !nodes.iter().any(|other| other.upstream.contains(&n.id)) {
            manifest.push_str(&format!(
                "  {id}_out: {{from: {id}, to: output, mapping: {{{id}: text}}}}\n",
                id = n.id
            ));
        }
        f = f.file(
            &format!("prompts/{}.prompt", n.id),
            &format!(
                "---\nid: {}\ninput:\n  x: {{type: string, required: false}}\noutput:\n  \
                 format: text\n---\n{}\n",
                n.id, n.body
            ),
        );
    }
    f.file("agent.tml", &manifest)
}
