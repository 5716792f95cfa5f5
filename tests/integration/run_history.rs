//! Each run's own `events.jsonl`: written without `--telemetry`, verbose and redacted, not
//! with `--no-artifacts`; a resume appends a new attempt and continues its `seq`; the
//! stream numbers its own `seq`.

use crate::resume::chain;
use crate::support::{Fixture, jsonl_events, read_text, seqs};

fn history(f: &Fixture, run_id: &str) -> String {
    read_text(&f.join(&format!(".trident/runs/{run_id}/events.jsonl")))
}

fn names(events: &[serde_json::Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect()
}

#[test]
fn a_run_without_telemetry_keeps_its_verbose_redacted_history() {
    let f = Fixture::new("hello").file(".env", "SECRET_WORD=hunter2-secret\n");
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name": "hunter2-secret"}"#,
        "--run-id",
        "r1",
    ]);
    out.code(0);
    assert!(!out.stdout.contains("\"seq\""), "no stream on stdout");
    let text = history(&f, "r1");
    assert!(!text.contains("hunter2-secret"), "redacted: {text}");
    let events = jsonl_events(&text);
    assert_eq!(seqs(&events), (1..=events.len() as u64).collect::<Vec<_>>());
    let names = names(&events);
    assert_eq!(names.first(), Some(&"workflow_started"));
    assert_eq!(names.last(), Some(&"workflow_completed"));
    assert!(names.contains(&"input_received"), "verbose: {names:?}");
    assert!(names.contains(&"node_completed"));
    assert!(!names.contains(&"timing_metric"), "not debug: {names:?}");
    assert!(events.iter().all(|e| e["run_id"] == "r1"));
}

#[test]
fn no_artifacts_means_no_history() {
    let f = Fixture::new("hello");
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "--no-artifacts",
        "-i",
        r#"{"name": "x"}"#,
    ])
    .code(0);
    assert!(!f.join(".trident/runs").exists());
}

#[test]
fn the_stream_and_the_history_each_number_their_own_seq() {
    let f = Fixture::new("hello");
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name": "x"}"#,
        "--run-id",
        "r1",
        "--telemetry",
        "--telemetry-level",
        "minimal",
    ]);
    out.code(0);
    let stream = jsonl_events(&out.stdout);
    assert_eq!(
        names(&stream),
        ["workflow_started", "workflow_completed"],
        "minimal"
    );
    assert_eq!(
        seqs(&stream),
        [1, 2],
        "the stream counts what passes its filter"
    );
    let history = jsonl_events(&history(&f, "r1"));
    assert!(history.len() > 2);
    assert_eq!(history.last().unwrap()["seq"], history.len() as u64);
}

#[test]
fn a_resume_appends_a_new_attempt_and_continues_the_seq() {
    let f = chain().file("fail", "");
    f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "r1"])
        .code(1);
    let first = jsonl_events(&history(&f, "r1"));
    assert_eq!(names(&first).last(), Some(&"workflow_failed"));
    // A crash mid-line left a partial last line.
    let path = f.join(".trident/runs/r1/events.jsonl");
    let mut text = read_text(&path);
    text.push_str("{\"timestamp\":\"2026-01-01T00:00:00.000Z\",\"seq\":99");
    std::fs::write(&path, text).unwrap();
    std::fs::remove_file(f.join("fail")).unwrap();
    f.run(&["project", "run", "--resume", "r1"]).code(0);

    let text = history(&f, "r1");
    let lines: Vec<&str> = text.lines().collect();
    let partial = first.len();
    assert!(
        lines[partial].ends_with("\"seq\":99"),
        "kept as one corrupt line"
    );
    let events: Vec<serde_json::Value> = jsonl_events(
        &lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != partial)
            .map(|(_, l)| format!("{l}\n"))
            .collect::<String>(),
    );
    assert_eq!(
        seqs(&events),
        (1..=events.len() as u64).collect::<Vec<_>>(),
        "one numbering over both attempts"
    );
    let starts: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "workflow_started")
        .collect();
    assert_eq!(starts.len(), 2, "one workflow_started per attempt");
    assert_eq!(starts[1]["data"]["resumed_from"], "r1");
    assert_eq!(starts[0]["data"]["attempt"], 1);
    assert_eq!(starts[1]["data"]["attempt"], 2);
    assert_eq!(names(&events).last(), Some(&"workflow_completed"));
}
