//! Checkpoints and resume: a failed run resumes from its checkpoint without redoing
//! completed nodes; --start-from keeps only ancestors; a crash mid-run loses nothing.

use serde_json::json;

use crate::support::{Fixture, read_text, wait_until};

/// A chain input -> first -> flaky -> last -> output; `flaky` fails while the file `fail`
/// exists; every tool appends its name to `calls.log`.
pub(crate) fn chain() -> Fixture {
    Fixture::empty()
        .file(
            "agent.tml",
            r#"trident: "0.1"
name: chain
nodes:
  input: {type: input, schema: {n: {type: number, description: n}}}
  output: {type: output}
tools:
  first: {type: python, module: steps, function: first}
  flaky: {type: python, module: steps, function: flaky}
  last: {type: python, module: steps, function: last}
edges:
  a: {from: input, to: first, mapping: {n: n}}
  b: {from: first, to: flaky, mapping: {n: n}}
  c: {from: flaky, to: last, mapping: {n: n}}
  d: {from: last, to: output, mapping: {n: n}}
"#,
        )
        .file(
            "tools/steps.py",
            r#"import os

def _log(name):
    with open("calls.log", "a") as f:
        f.write(name + "\n")

def first(n):
    _log("first")
    return {"n": n + 1}

def flaky(n):
    _log("flaky")
    if os.path.exists("fail"):
        raise RuntimeError("flaky failed")
    return {"n": n * 10}

def last(n):
    _log("last")
    return {"n": n + 5}
"#,
        )
}

pub(crate) fn calls(f: &Fixture) -> Vec<String> {
    std::fs::read_to_string(f.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn resume_latest_skips_completed_nodes() {
    let f = chain().file("fail", "");
    f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "r1"])
        .code(1);
    assert_eq!(calls(&f), ["first", "flaky"]);
    let checkpoint = f.read_json(".trident/runs/r1/checkpoint.json");
    assert_eq!(checkpoint["status"], "failed");
    assert!(checkpoint["completed_nodes"]["first"].is_object());
    std::fs::remove_file(f.join("fail")).unwrap();
    let out = f.run(&["project", "run", "--resume", "latest", "-o", "json"]);
    out.code(0);
    assert_eq!(out.json()["outputs"]["output"], json!({"n": 25}));
    assert_eq!(
        calls(&f),
        ["first", "flaky", "flaky", "last"],
        "first was not redone"
    );
    let index = f.read_json(".trident/runs/manifest.json");
    assert_eq!(
        index["runs"].as_array().unwrap().len(),
        1,
        "same run id, same entry"
    );
    assert_eq!(index["runs"][0]["status"], "completed");
    let trace = f.read_json(".trident/runs/r1/trace.json");
    assert_eq!(trace["nodes"][1]["id"], "first");
    assert_eq!(trace["nodes"][1]["output"], json!({"n": 2}));
}

#[test]
fn start_from_reruns_the_node_and_its_descendants() {
    let f = chain();
    f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "r1"])
        .code(0);
    let out = f.run(&[
        "project",
        "run",
        "--resume",
        "r1",
        "--start-from",
        "flaky",
        "-o",
        "json",
    ]);
    out.code(0);
    assert_eq!(calls(&f), ["first", "flaky", "last", "flaky", "last"]);
}

#[test]
fn checkpoint_journal_keeps_nodes_of_an_unfinished_level() {
    // Simulate a crash: a run's checkpoint.json without node `first`, but its journal has it.
    let f = chain();
    f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "r1"])
        .code(0);
    let path = f.join(".trident/runs/r1/checkpoint.json");
    let mut checkpoint = f.read_json(".trident/runs/r1/checkpoint.json");
    let first = checkpoint["completed_nodes"]["first"].clone();
    let completed = checkpoint["completed_nodes"].as_object_mut().unwrap();
    completed.retain(|k, _| k == "input");
    checkpoint["status"] = json!("running");
    std::fs::write(&path, serde_json::to_string_pretty(&checkpoint).unwrap()).unwrap();
    std::fs::write(
        f.join(".trident/runs/r1/checkpoint.journal"),
        format!("{}\n", json!({"node": "first", "data": first})),
    )
    .unwrap();
    f.run(&["project", "run", "--resume", "r1"]).code(0);
    assert_eq!(calls(&f), ["first", "flaky", "last", "flaky", "last"]);
}

#[test]
fn checkpoint_is_written_during_the_run() {
    // A slow second level: the checkpoint shows `first` done while `flaky` still runs.
    let f = chain().file(
        "tools/steps.py",
        r#"import time

def first(n):
    return {"n": n}

def flaky(n):
    time.sleep(3)
    return {"n": n}

def last(n):
    return {"n": n}
"#,
    );
    let mut child = f
        .command(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "slow"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let journal = f.join(".trident/runs/slow/checkpoint.json");
    let mut status = serde_json::Value::Null;
    wait_until(
        "checkpoint.json to show `first` while the run goes on",
        || {
            let v: serde_json::Value =
                serde_json::from_str(&read_text(&journal)).unwrap_or_default();
            status = v["status"].clone();
            v["completed_nodes"]["first"].is_object()
        },
    );
    assert_eq!(status, "running");
    assert!(child.wait().unwrap().success());
}
