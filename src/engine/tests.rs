//! The exact telemetry event sequence of small fixture runs, through the in-memory sink:
//! success, failure, skipped branches, loops, sub-workflows, resume, dry run.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::{RunOptions, RunOutcome, Runtime, TelemetryScope, run_workflow};
use crate::project::load_project;
use crate::telemetry::settings::TelemetrySettings;
use crate::telemetry::{LevelSetting, MemorySink, Telemetry};

fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/integration/fixtures")
        .join(name);
    copy(&src, dir.path());
    let root = dir.path().to_path_buf();
    (dir, root)
}

fn inputs(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// Run a project with telemetry into memory at `level`; returns the outcome and events.
fn run_with(
    root: &Path,
    opts: RunOptions,
    level: Option<LevelSetting>,
) -> (RunOutcome, Vec<Value>) {
    let project = load_project(root).unwrap();
    let mut settings = TelemetrySettings::on();
    settings.level = level;
    let (telemetry, guard, sink): (Telemetry, _, MemorySink) = Telemetry::in_memory(&settings);
    let runtime = Runtime {
        max_parallel: 8,
        ..Runtime::default()
    };
    let outcome =
        run_workflow(&project, &opts, TelemetryScope::Root(&telemetry), &runtime).unwrap();
    guard.finish();
    (outcome, sink.events())
}

fn opts(root: &Path, input: Value) -> RunOptions {
    RunOptions {
        inputs: crate::fields::FieldMap::new(inputs(input)),
        artifact_dir: Some(root.join(".trident")),
        run_id: Some("run-1".into()),
        ..RunOptions::default()
    }
}

/// `event` or `event:node` for each event, for sequence assertions.
fn names(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e["node_id"].as_str() {
            Some(node) => format!("{}:{node}", e["event"].as_str().unwrap()),
            None => e["event"].as_str().unwrap().to_string(),
        })
        .collect()
}

fn assert_envelope(events: &[Value]) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], (i + 1) as u64, "seq without gaps: {e}");
        assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(e["run_id"].is_string());
        assert!(matches!(
            e["level"].as_str().unwrap(),
            "DEBUG" | "INFO" | "WARNING" | "ERROR"
        ));
    }
    let stamps: Vec<&str> = events
        .iter()
        .map(|e| e["timestamp"].as_str().unwrap())
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] <= w[1]),
        "timestamps never decrease"
    );
}

#[test]
fn dry_run_sequence() {
    let (_dir, root) = fixture("hello");
    let mut o = opts(&root, json!({"name": "Ada"}));
    o.dry_run = true;
    let (outcome, events) = run_with(&root, o, None);
    assert!(outcome.success());
    assert_envelope(&events);
    assert_eq!(
        names(&events),
        [
            "workflow_started",
            "node_started:input",
            "node_completed:input",
            "checkpoint_saved:input",
            "node_started:greet",
            "node_completed:greet",
            "checkpoint_saved:greet",
            "node_started:output",
            "node_completed:output",
            "checkpoint_saved:output",
            "workflow_completed",
        ]
    );
    let started = &events[0]["data"];
    assert_eq!(started["name"], "hello");
    assert_eq!(started["dry_run"], true);
    assert_eq!(started["entrypoint"], "input");
    let greet = &events[5]["data"];
    assert_eq!(greet["type"], "prompt");
    assert_eq!(greet["model"], "anthropic/claude-test");
    let saved = &events[3]["data"];
    assert!(
        saved["path"]
            .as_str()
            .unwrap()
            .ends_with(".trident/runs/run-1/checkpoint.json"),
        "{saved}"
    );
    assert_eq!(saved["completed_nodes"], 1);
    assert_eq!(saved["pending_nodes"], 2);
    let done = &events[10]["data"];
    assert_eq!(
        done["nodes"],
        json!({"succeeded": 3, "skipped": 0, "failed": 0, "cached": 0})
    );
}

#[test]
fn node_completed_duration_equals_trace() {
    let (_dir, root) = fixture("tools");
    let (outcome, events) = run_with(&root, opts(&root, json!({"city": "Rome"})), None);
    assert!(outcome.success());
    for e in events.iter().filter(|e| e["event"] == "node_completed") {
        let node = e["node_id"].as_str().unwrap();
        let trace = outcome.trace.nodes.iter().find(|n| n.id == node).unwrap();
        let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
        let ms = (parse(trace.end_time.as_deref().unwrap()) - parse(&trace.start_time))
            .num_milliseconds();
        assert_eq!(e["data"]["duration_ms"], ms, "{node}");
    }
}

#[test]
fn failure_sequence_stops_after_the_level() {
    let (_dir, root) = fixture("failing");
    let (outcome, events) = run_with(
        &root,
        opts(&root, json!({"n": 1})),
        LevelSetting::parse("minimal"),
    );
    assert!(!outcome.success());
    assert_envelope(&events);
    assert_eq!(
        names(&events),
        ["workflow_started", "node_failed:boom", "workflow_failed"]
    );
    let failed = &events[1]["data"];
    assert_eq!(failed["type"], "tool");
    assert_eq!(failed["error_type"], "ToolError");
    assert!(failed["error"].as_str().unwrap().contains("bad value 1"));
    let wf = &events[2]["data"];
    assert_eq!(wf["failed_node"], "boom");
    assert_eq!(events[1]["level"], "ERROR");
}

#[test]
fn skipped_branches_report_their_edge() {
    let (_dir, root) = fixture("branching");
    let mut o = opts(&root, json!({"message": "hi"}));
    o.dry_run = true;
    let (_, events) = run_with(&root, o, LevelSetting::parse("verbose"));
    // The nodes of a level run concurrently: their events may come in either order.
    let by_node = |e: &&Value| e["node_id"].as_str().unwrap_or_default().to_string();
    let mut skipped: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "node_skipped")
        .collect();
    skipped.sort_by_key(by_node);
    assert_eq!(skipped.len(), 2);
    assert_eq!(skipped[0]["node_id"], "negative");
    assert_eq!(
        skipped[0]["data"],
        json!({"reason": "edge_condition_false", "edge": "to_neg"})
    );
    let mut conditions: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "condition_evaluated")
        .collect();
    conditions.sort_by_key(by_node);
    assert_eq!(conditions.len(), 2);
    assert_eq!(conditions[0]["data"]["kind"], "edge");
    assert_eq!(conditions[0]["data"]["result"], false);
    assert_eq!(
        conditions[0]["data"]["expression"],
        "sentiment == 'negative'"
    );
    // Skipped nodes never start.
    assert!(!names(&events).contains(&"node_started:negative".to_string()));
}

#[test]
fn loop_iterations_and_sub_workflow_parent_ids() {
    let (_dir, root) = fixture("looping");
    let (outcome, events) = run_with(&root, opts(&root, json!({"count": 1})), None);
    assert!(outcome.success());
    assert_envelope(&events);
    let iterations: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "branch_iteration")
        .collect();
    assert_eq!(iterations.len(), 2);
    assert_eq!(
        iterations[0]["data"],
        json!({"iteration": 1, "max_iterations": 5, "continue": true})
    );
    assert_eq!(
        iterations[1]["data"],
        json!({"iteration": 2, "max_iterations": 5, "continue": false})
    );
    let sub_runs: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "workflow_started" && e["run_id"] != "run-1")
        .collect();
    assert_eq!(sub_runs.len(), 2, "one sub-run per iteration");
    for sub in sub_runs {
        assert_eq!(sub["parent_run_id"], "run-1");
        assert_eq!(sub["parent_node_id"], "counter");
        assert_eq!(sub["data"]["name"], "step");
    }
    let top: Vec<String> = names(
        &events
            .iter()
            .filter(|e| e["run_id"] == "run-1")
            .cloned()
            .collect::<Vec<_>>(),
    );
    assert_eq!(top.first().unwrap(), "workflow_started");
    assert_eq!(top.last().unwrap(), "workflow_completed");
}

#[test]
fn wait_trigger_events_carry_parent_ids() {
    let (_dir, root) = fixture("triggers");
    let (outcome, events) = run_with(
        &root,
        opts(&root, json!({"word": "yo"})),
        LevelSetting::parse("minimal"),
    );
    assert!(outcome.success());
    let child: Vec<&Value> = events
        .iter()
        .filter(|e| e["parent_node_id"] == "child")
        .collect();
    assert_eq!(
        child
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["workflow_started", "workflow_completed"]
    );
}

#[test]
fn resume_reports_cached_nodes() {
    let (_dir, root) = fixture("tools");
    let (first, _) = run_with(&root, opts(&root, json!({"city": "Rome"})), None);
    assert!(first.success());
    let mut o = opts(&root, json!({}));
    o.resume_from = Some("run-1".into());
    o.start_from = Some("shout".into());
    let (outcome, events) = run_with(&root, o, None);
    assert!(outcome.success());
    let seq = names(&events);
    assert_eq!(
        seq,
        [
            "workflow_started",
            "node_skipped:input",
            "node_skipped:weather",
            "node_started:shout",
            "node_completed:shout",
            "checkpoint_saved:shout",
            "node_started:output",
            "node_completed:output",
            "checkpoint_saved:output",
            "workflow_completed",
        ]
    );
    assert_eq!(events[1]["data"]["reason"], "cached_from_checkpoint");
    assert_eq!(events[0]["data"]["resumed_from"], "run-1");
}

#[test]
fn debug_level_reports_inputs_outputs_and_artifacts() {
    let (_dir, root) = fixture("tools");
    let (_, events) = run_with(
        &root,
        opts(&root, json!({"city": "Rome"})),
        LevelSetting::parse("debug"),
    );
    let input = events
        .iter()
        .find(|e| e["event"] == "input_received" && e["node_id"] == "weather")
        .unwrap();
    assert_eq!(input["data"]["inputs"], json!({"city": "Rome"}));
    let output = events
        .iter()
        .find(|e| e["event"] == "output_produced" && e["node_id"] == "weather")
        .unwrap();
    assert_eq!(output["data"]["outputs"]["summary"], "sunny in Rome");
    let kinds: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "artifact_saved")
        .map(|e| e["data"]["kind"].as_str().unwrap())
        .collect();
    for kind in ["manifest", "metadata", "trace", "outputs", "checkpoint"] {
        assert!(kinds.contains(&kind), "artifact_saved {kind} in {kinds:?}");
    }
}

#[test]
fn off_emits_nothing_and_changes_nothing() {
    let (_dir, root) = fixture("hello");
    let project = load_project(&root).unwrap();
    let mut o = opts(&root, json!({"name": "Ada"}));
    o.dry_run = true;
    let outcome = run_workflow(
        &project,
        &o,
        TelemetryScope::Root(&Telemetry::disabled()),
        &Runtime {
            max_parallel: 4,
            ..Runtime::default()
        },
    )
    .unwrap();
    assert!(outcome.success());
}

#[test]
fn seq_has_no_gaps_with_500_nodes_running_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest =
        String::from("trident: \"0.1\"\nname: wide\nnodes:\n  input: {type: input}\nedges:\n");
    for i in 0..500 {
        manifest.push_str(&format!(
            "  e{i}: {{from: input, to: out{i}, mapping: {{v: v}}}}\n"
        ));
    }
    std::fs::write(dir.path().join("agent.tml"), manifest).unwrap();
    let project = load_project(dir.path()).unwrap();
    let mut settings = TelemetrySettings::on();
    settings.level = LevelSetting::parse("debug");
    let (telemetry, guard, sink) = Telemetry::in_memory(&settings);
    let runtime = Runtime {
        max_parallel: 500,
        ..Runtime::default()
    };
    let o = opts(dir.path(), json!({"v": 1}));
    let outcome = run_workflow(&project, &o, TelemetryScope::Root(&telemetry), &runtime).unwrap();
    guard.finish();
    assert!(outcome.success());
    assert_eq!(outcome.outputs.len(), 500);
    let events = sink.events();
    assert_envelope(&events);
    let completed = events
        .iter()
        .filter(|e| e["event"] == "node_completed")
        .count();
    assert_eq!(completed, 501);
}
