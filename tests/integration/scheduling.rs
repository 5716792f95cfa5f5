//! When nodes start: the dependency-driven schedule (default) against `--schedule levels`,
//! timed with the fake provider's `@sleep`, the first failure stopping new nodes, the
//! parallel limit, and every fixture project giving the same results under both schedules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::support::fake_llm::FakeLlm;
use crate::support::prompt_dag::{node, project, sleeping};
use crate::support::{Fixture, trace_ids};

/// The events of a telemetry file.
fn events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The position of the first `event` about `node`.
fn position(events: &[Value], event: &str, node: &str) -> Option<usize> {
    events
        .iter()
        .position(|e| e["event"] == event && e["node_id"] == node)
}

/// `node_completed` durations by node.
fn durations(events: &[Value]) -> BTreeMap<String, u64> {
    events
        .iter()
        .filter(|e| e["event"] == "node_completed")
        .map(|e| {
            (
                e["node_id"].as_str().unwrap().to_string(),
                e["data"]["duration_ms"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn workflow_ms(events: &[Value]) -> u64 {
    let end = events
        .iter()
        .find(|e| e["event"] == "workflow_completed" || e["event"] == "workflow_failed")
        .expect("the run ended");
    end["data"]["duration_ms"].as_u64().unwrap()
}

/// Run the project with telemetry into `<name>.jsonl`; returns the events.
fn run(f: &Fixture, name: &str, extra: &[&str], code: i32) -> Vec<Value> {
    let file = format!("{name}.jsonl");
    let mut args = vec![
        "project",
        "run",
        "--telemetry",
        "--telemetry-file",
        &file,
        "--telemetry-level",
        "debug",
    ];
    args.extend_from_slice(extra);
    f.run(&args).code(code);
    events(&f.join(&file))
}

/// input → a (2 s) beside input → b → c → d → e (400 ms each): the chain does not wait for a.
fn unbalanced(fake: &FakeLlm) -> Fixture {
    project(&[
        sleeping("a", &[], 2000),
        sleeping("b", &[], 400),
        sleeping("c", &["b"], 400),
        sleeping("d", &["c"], 400),
        sleeping("e", &["d"], 400),
    ])
    .llm(fake)
}

#[test]
fn an_unbalanced_dag_finishes_at_its_critical_path() {
    let fake = FakeLlm::start();
    let f = unbalanced(&fake);
    let evs = run(&f, "deps", &[], 0);
    // Each node starts only once what it depends on has completed (the order of the events,
    // not wall-clock margins: this machine is shared and noisy)...
    for (before, after) in [
        ("input", "a"),
        ("input", "b"),
        ("b", "c"),
        ("c", "d"),
        ("d", "e"),
    ] {
        let done = position(&evs, "node_completed", before).unwrap();
        let started = position(&evs, "node_started", after).unwrap();
        assert!(done < started, "{after} started before {before} completed");
    }
    let last = position(&evs, "node_completed", "a")
        .unwrap()
        .max(position(&evs, "node_completed", "e").unwrap());
    assert!(position(&evs, "node_started", "output").unwrap() > last);
    // The chain ran beside a, not after it.
    let a_done = position(&evs, "node_completed", "a").unwrap();
    assert!(position(&evs, "node_started", "e").unwrap() < a_done);
    assert_eq!(
        f.run_file("outputs.json")["output"]["e"],
        "echo: Node e. @sleep 400"
    );
}

#[test]
fn levels_keep_the_original_level_timing() {
    let fake = FakeLlm::start();
    let f = unbalanced(&fake);
    let evs = run(&f, "levels", &["--schedule", "levels"], 0);
    let took = durations(&evs);
    // Levels: [input] [a b] [c] [d] [e] [output]; each waits for the slowest of the last.
    let levels = took["input"] + took["a"].max(took["b"]) + took["c"] + took["d"] + took["e"];
    let total = workflow_ms(&evs);
    assert!(
        total + 20 >= levels,
        "{total} ms, sum of level maxima {levels} ms"
    );
    let a_done = position(&evs, "node_completed", "a").unwrap();
    assert!(position(&evs, "node_started", "c").unwrap() > a_done);
    // The environment variable selects it too.
    let f = f.env("TRIDENT_SCHEDULE", "levels");
    let evs = run(&f, "env", &["-v"], 0);
    let a_done = position(&evs, "node_completed", "a").unwrap();
    assert!(position(&evs, "node_started", "c").unwrap() > a_done);
}

#[test]
fn a_bad_schedule_is_refused_before_anything_runs() {
    let fake = FakeLlm::start();
    let f = unbalanced(&fake).env("TRIDENT_SCHEDULE", "fastest");
    let out = f.run(&["project", "run"]);
    out.code(2);
    assert!(
        out.stderr.contains("TRIDENT_SCHEDULE is set to 'fastest'"),
        "{}",
        out.stderr
    );
    let out = f.run(&["project", "run", "--schedule", "soon"]);
    out.code(2);
    assert!(out.stderr.contains("--schedule"), "{}", out.stderr);
    assert!(fake.requests().is_empty());
    assert!(!f.join(".trident").exists());
}

#[test]
fn the_first_failure_stops_new_nodes_while_running_ones_finish() {
    for schedule in ["dependencies", "levels"] {
        let fake = FakeLlm::start();
        let f = project(&[
            sleeping("a", &[], 800),
            sleeping("g", &["a"], 0),
            sleeping("b", &[], 300),
            sleeping("c", &["b"], 0),
            node("f", &[], "Fail at once. @status 401"),
        ])
        .llm(&fake);
        let evs = run(&f, schedule, &["--schedule", schedule], 3);
        let failed = position(&evs, "node_failed", "f").unwrap();
        for running in ["a", "b"] {
            let done = position(&evs, "node_completed", running);
            assert!(
                done.is_some_and(|p| p > failed),
                "{schedule}: {running} finished"
            );
        }
        for waiting in ["c", "g", "output"] {
            assert_eq!(
                position(&evs, "node_started", waiting),
                None,
                "{schedule}: {waiting}"
            );
        }
        assert_eq!(evs.last().unwrap()["event"], "workflow_failed");
        let trace = f.run_file("trace.json");
        assert_eq!(
            trace_ids(&trace),
            ["input", "a", "b", "f"],
            "{schedule}: DAG order"
        );
        assert_eq!(f.run_file("checkpoint.json")["status"], "failed");
    }
}

#[test]
fn ready_nodes_start_by_level_then_id_within_the_parallel_limit() {
    let fake = FakeLlm::start();
    let f = project(&[
        sleeping("z", &[], 150),
        sleeping("y", &[], 150),
        sleeping("x", &[], 150),
        sleeping("w", &["x"], 0),
    ])
    .llm(&fake)
    .env("TRIDENT_MAX_PARALLEL", "1");
    let evs = run(&f, "one", &[], 0);
    let started: Vec<&str> = evs
        .iter()
        .filter(|e| e["event"] == "node_started")
        .map(|e| e["node_id"].as_str().unwrap())
        .collect();
    // w is ready after x, but x, y and z are of an earlier level.
    assert_eq!(started, ["input", "x", "y", "z", "w", "output"]);
    let waited: BTreeSet<&str> = evs
        .iter()
        .filter(|e| e["event"] == "timing_metric" && e["data"]["name"] == "queue_wait_ms")
        .filter(|e| e["data"]["value"].as_f64().unwrap() >= 100.0)
        .map(|e| e["node_id"].as_str().unwrap())
        .collect();
    assert!(waited.contains("y") && waited.contains("z"), "{waited:?}");
}

/// What must not depend on the schedule: exit code, result, trace (ids, skips, errors,
/// outputs, in order), artifact files, and the events (name and node) in any order.
fn run_summary(fixture: &str, input: &str, schedule: &str) -> Value {
    let fake = FakeLlm::start();
    let f = Fixture::new(fixture).llm(&fake);
    let out = f.run(&[
        "project",
        "run",
        "-i",
        input,
        "-o",
        "json",
        "--run-id",
        "same",
        "--schedule",
        schedule,
        "--telemetry",
        "--telemetry-file",
        "t.jsonl",
        "--telemetry-level",
        "verbose",
    ]);
    let trace = f.read_json(".trident/runs/same/trace.json");
    let nodes: Vec<Value> = trace["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| serde_json::json!([n["id"], n["skipped"], n["error"], n["output"]]))
        .collect();
    let mut files: Vec<String> = Vec::new();
    collect_files(&f.join(".trident"), &f.join(".trident"), &mut files);
    files.sort();
    let mut catalogue: Vec<String> = events(&f.join("t.jsonl"))
        .iter()
        .map(|e| format!("{}:{}", e["event"], e["node_id"]))
        .collect();
    catalogue.sort();
    // Tool errors quote the project's (temporary) path.
    let project = f.path().display().to_string();
    let summary = serde_json::json!({
        "code": out.code,
        "result": out.json(),
        "trace": nodes,
        "files": files,
        "events": catalogue,
    });
    serde_json::from_str(&summary.to_string().replace(&project, "<project>")).unwrap()
}

fn collect_files(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(root, &path, files);
        } else {
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            // Sub-workflow run ids are random: keep the file's name and depth.
            files.push(
                rel.split('/')
                    .map(|part| if part.len() == 36 { "<id>" } else { part })
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        }
    }
}

#[test]
fn every_fixture_gives_the_same_results_under_both_schedules() {
    let cases = [
        ("hello", r#"{"name":"Ada"}"#),
        ("branching", r#"{"message":"great day"}"#),
        ("failing", r#"{"n": 7}"#),
        ("looping", r#"{"count": 0}"#),
        ("tools", r#"{"city":"Paris"}"#),
        ("triggers", r#"{"word": "hey"}"#),
    ];
    for (fixture, input) in cases {
        let levels = run_summary(fixture, input, "levels");
        let dependencies = run_summary(fixture, input, "dependencies");
        assert_eq!(levels, dependencies, "{fixture}");
        assert!(
            !levels["events"].as_array().unwrap().is_empty(),
            "{fixture}"
        );
    }
}
