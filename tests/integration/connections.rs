//! One HTTP client per provider endpoint per run: prompt nodes share kept-alive connections
//! (counted by the fake provider), concurrent nodes open at most one each, sub-workflows
//! share the run's client, and a connection the server closed while idle is replaced.

use std::time::Duration;

use serde_json::Value;

use crate::support::Fixture;
use crate::support::fake_llm::FakeLlm;
use crate::support::prompt_dag::{Node, project, sleeping};

/// 20 prompt nodes `p0..p19`, each reading from the previous one (`chain`) or all from the
/// input node.
fn twenty(chain: bool, sleep_ms: u64) -> Vec<Node> {
    (0..20)
        .map(|i| {
            let id = format!("p{i}");
            let previous = format!("p{}", i.max(1) - 1);
            let upstream: Vec<&str> = if chain && i > 0 {
                vec![previous.as_str()]
            } else {
                Vec::new()
            };
            sleeping(&id, &upstream, sleep_ms)
        })
        .collect()
}

/// Run a generated project against a fresh fake provider; its requests and connections.
fn run_counting(nodes: &[Node]) -> (usize, u64) {
    let fake = FakeLlm::start();
    let f = project(nodes).llm(&fake);
    f.run(&["project", "run"]).code(0);
    (fake.requests().len(), fake.connections())
}

#[test]
fn sequential_prompt_nodes_share_one_connection() {
    let (requests, connections) = run_counting(&twenty(true, 0));
    assert_eq!(requests, 20);
    assert!(connections <= 2, "{connections} connections");
}

#[test]
fn concurrent_prompt_nodes_open_at_most_one_connection_each() {
    let (requests, connections) = run_counting(&twenty(false, 300));
    assert_eq!(requests, 20);
    assert!(connections <= 20, "{connections} connections");
    // A second wave in the same run reuses them: q_i starts when p_i is done.
    let mut nodes = twenty(false, 300);
    nodes.extend((0..20).map(|i| sleeping(&format!("q{i}"), &[&format!("p{i}")], 0)));
    let (requests, connections) = run_counting(&nodes);
    assert_eq!(requests, 40);
    assert!(connections <= 20, "{connections} connections");
}

#[test]
fn sub_workflows_use_the_run_s_client() {
    let fake = FakeLlm::start();
    let prompt = |id: &str| {
        format!(
            "---\nid: {id}\ninput:\n  x: {{type: string, required: false}}\noutput:\n  \
             format: text\n---\nNode {id}.\n"
        )
    };
    // p → s1 → s2 → z, where s1 and s2 run a sub-workflow with prompt q.
    let f = Fixture::empty()
        .llm(&fake)
        .file(
            "agent.tml",
            "trident: \"0.1\"\nname: main\ndefaults:\n  model: anthropic/claude-test\n\
             nodes:\n  input: {type: input}\n  output: {type: output}\n\
             \x20 s1: {type: branch, workflow: ./sub/agent.tml}\n\
             \x20 s2: {type: branch, workflow: ./sub/agent.tml}\nedges:\n\
             \x20 a: {from: input, to: p, mapping: {x: x}}\n\
             \x20 b: {from: p, to: s1, mapping: {x: text}}\n\
             \x20 c: {from: s1, to: s2, mapping: {x: x}}\n\
             \x20 d: {from: s2, to: z, mapping: {x: x}}\n\
             \x20 e: {from: z, to: output, mapping: {z: text}}\n",
        )
        .file("prompts/p.prompt", &prompt("p"))
        .file("prompts/z.prompt", &prompt("z"))
        .file(
            "sub/agent.tml",
            "trident: \"0.1\"\nname: sub\ndefaults:\n  model: anthropic/claude-test\n\
             nodes:\n  input: {type: input}\n  output: {type: output}\nedges:\n\
             \x20 in: {from: input, to: q, mapping: {x: x}}\n\
             \x20 out: {from: q, to: output, mapping: {x: text}}\n",
        )
        .file("sub/prompts/q.prompt", &prompt("q"));
    f.run(&["project", "run", "-i", r#"{"x": "go"}"#]).code(0);
    let prompts: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.prompt().unwrap_or_default().to_string())
        .collect();
    assert_eq!(prompts, ["Node p.", "Node q.", "Node q.", "Node z."]);
    assert_eq!(fake.connections(), 1);
}

#[test]
fn a_connection_the_server_closed_while_idle_is_replaced_without_a_failure() {
    let fake = FakeLlm::start();
    fake.close_idle_after(Duration::from_millis(100));
    // p → wait (a shell tool sleeping 400 ms) → z: z's connection was closed meanwhile.
    let f = project(&[sleeping("p", &[], 0), sleeping("z", &["p"], 0)]).llm(&fake);
    let manifest = std::fs::read_to_string(f.join("agent.tml"))
        .unwrap()
        .replace(
            "  p_z: {from: p, to: z, mapping: {x: text}}\n",
            "  p_wait: {from: p, to: wait, mapping: {x: text}}\n\
             \x20 wait_z: {from: wait, to: z, mapping: {x: output}}\n",
        )
        + "tools:\n  wait: {type: shell, command: \"sleep 0.4; echo waited\"}\n";
    let f = f.file("agent.tml", &manifest);
    f.run(&[
        "project",
        "run",
        "--telemetry",
        "--telemetry-file",
        "t.jsonl",
    ])
    .code(0);
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(fake.connections(), 2, "a fresh connection for z");
    let text = std::fs::read_to_string(f.join("t.jsonl")).unwrap();
    let retries = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|e| e["event"] == "provider_retry")
        .count();
    assert_eq!(retries, 0, "no failed attempt");
}
