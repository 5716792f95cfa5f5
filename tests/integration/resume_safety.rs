//! Resume safety and run history: a resume that would mix two runs is refused, nothing on
//! disk damaged; each resume is an attempt (first `started_at` kept, `attempts` counted,
//! cached nodes in trace.json with their original times); run ids by unique prefix.

use std::process::Stdio;

use serde_json::{Value, json};

use crate::resume::{calls, chain};
use crate::support::{Fixture, read_text, trace_node, wait_until};

/// Every file under `.trident`, with its bytes (to prove a refused command wrote nothing).
fn snapshot(f: &Fixture) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut files = Vec::new();
    walk(&f.join(".trident"), &mut files);
    files.sort();
    files
}

#[test]
fn dry_run_checkpoint_is_refused_for_a_real_resume() {
    let f = Fixture::new("hello");
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name":"A"}"#,
        "--run-id",
        "d1",
    ])
    .code(0);
    assert_eq!(
        f.read_json(".trident/runs/d1/checkpoint.json")["dry_run"],
        true
    );
    let before = snapshot(&f);
    let out = f.run(&["project", "run", "--resume", "d1", "-o", "json"]);
    out.code(2);
    assert!(out.stderr.contains("was a --dry-run"), "{}", out.stderr);
    assert!(out.stderr.contains("--resume d1"), "{}", out.stderr);
    assert!(!out.stdout.contains("DRY RUN"), "{}", out.stdout);
    assert_eq!(snapshot(&f), before, "a refused resume writes nothing");
    // A real run resumed with --dry-run would mix mocks into it: refused too.
    let g = chain();
    g.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "r1"])
        .code(0);
    let out = g.run(&[
        "project",
        "run",
        "--resume",
        "r1",
        "--dry-run",
        "--start-from",
        "last",
    ]);
    out.code(2);
    assert!(out.stderr.contains("real run"), "{}", out.stderr);
}

#[test]
fn resume_with_other_inputs_is_refused_naming_the_fields() {
    let f = chain().file("fail", "");
    f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "r1"])
        .code(1);
    let before = snapshot(&f);
    let out = f.run(&["project", "run", "--resume", "r1", "-i", r#"{"n": 2}"#]);
    out.code(2);
    assert!(out.stderr.contains("field(s) 'n'"), "{}", out.stderr);
    assert!(out.stderr.contains("Omit"), "{}", out.stderr);
    assert_eq!(snapshot(&f), before);
    assert_eq!(calls(&f), ["first", "flaky"], "nothing ran");
    // The same inputs (in any key order) are accepted.
    std::fs::remove_file(f.join("fail")).unwrap();
    f.run(&["project", "run", "--resume", "r1", "-i", r#"{"n": 1}"#])
        .code(0);
}

#[test]
fn resumed_trace_keeps_cached_nodes_with_original_times_and_attempt() {
    let f = chain().file("fail", "");
    f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "r1"])
        .code(1);
    let first_trace = f.read_json(".trident/runs/r1/trace.json");
    let first_node = trace_node(&first_trace, "first");
    let index = f.read_json(".trident/runs/manifest.json");
    let started_at = index["runs"][0]["started_at"].clone();
    std::fs::remove_file(f.join("fail")).unwrap();
    let out = f.run(&[
        "project",
        "run",
        "--resume",
        "r1",
        "--telemetry",
        "--telemetry-file",
        "t.jsonl",
    ]);
    out.code(0);
    let trace = f.read_json(".trident/runs/r1/trace.json");
    let first = trace_node(&trace, "first");
    assert_eq!(first["cached"], true);
    assert_eq!(first["start_time"], first_node["start_time"]);
    assert_eq!(first["end_time"], first_node["end_time"]);
    assert!(trace_node(&trace, "last").get("cached").is_none());
    for node in trace["nodes"].as_array().unwrap() {
        assert!(
            node["start_time"].as_str() <= node["end_time"].as_str(),
            "{node} ends before it starts"
        );
    }
    let index = f.read_json(".trident/runs/manifest.json");
    assert_eq!(index["runs"][0]["started_at"], started_at);
    assert_eq!(index["runs"][0]["attempts"], 2);
    let metadata = f.read_json(".trident/runs/r1/metadata.json");
    assert_eq!(metadata["started_at"], started_at);
    assert_eq!(metadata["attempts"], 2);
    let events: Vec<Value> = read_text(&f.join("t.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let started = events
        .iter()
        .find(|e| e["event"] == "workflow_started")
        .unwrap();
    assert_eq!(started["data"]["attempt"], 2);
    let completed = events
        .iter()
        .find(|e| e["event"] == "workflow_completed")
        .unwrap();
    // input and first come from the checkpoint; flaky, last and output ran.
    assert_eq!(
        completed["data"]["nodes"],
        json!({"succeeded": 3, "skipped": 0, "failed": 0, "cached": 2})
    );
}

#[test]
fn four_attempts_keep_the_run_history() {
    let f = chain().file("fail", "");
    f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "r4"])
        .code(1);
    let started_at = f.read_json(".trident/runs/r4/metadata.json")["started_at"].clone();
    for _ in 0..2 {
        f.run(&["project", "run", "--resume", "r4"]).code(1);
    }
    std::fs::remove_file(f.join("fail")).unwrap();
    let out = f.run(&["project", "run", "--resume", "r4", "-o", "json"]);
    out.code(0);
    assert_eq!(out.json()["outputs"]["output"], json!({"n": 25}));
    assert_eq!(
        calls(&f),
        ["first", "flaky", "flaky", "flaky", "flaky", "last"],
        "first ran once, in the first attempt"
    );
    let index = f.read_json(".trident/runs/manifest.json");
    assert_eq!(index["runs"].as_array().unwrap().len(), 1);
    let entry = &index["runs"][0];
    assert_eq!(entry["attempts"], 4);
    assert_eq!(entry["started_at"], started_at);
    assert_eq!(entry["status"], "completed");
    let checkpoint = f.read_json(".trident/runs/r4/checkpoint.json");
    assert_eq!(checkpoint["attempts"], 4);
    assert_eq!(checkpoint["started_at"], started_at);
    let metadata = f.read_json(".trident/runs/r4/metadata.json");
    assert_eq!(metadata["attempts"], 4);
    let trace = f.read_json(".trident/runs/r4/trace.json");
    assert_eq!(trace["start_time"], started_at);
    assert_eq!(trace_node(&trace, "first")["cached"], true);
}

#[test]
fn resuming_a_completed_run_says_so_and_rewrites_nothing() {
    let f = chain();
    f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "done"])
        .code(0);
    let before = snapshot(&f);
    let out = f.run(&["project", "run", "--resume", "done", "-o", "json"]);
    out.code(0);
    assert!(out.stderr.contains("already completed"), "{}", out.stderr);
    assert_eq!(out.json()["outputs"]["output"], json!({"n": 25}));
    assert_eq!(snapshot(&f), before);
    assert_eq!(calls(&f), ["first", "flaky", "last"]);
}

#[test]
fn a_completed_run_killed_before_its_outputs_file_still_resumes_with_its_outputs() {
    // outputs.json is written after the checkpoint says `completed`: a kill -9 between
    // the two leaves the outputs in the checkpoint only.
    let f = chain();
    f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "cut"])
        .code(0);
    std::fs::remove_file(f.join(".trident/runs/cut/outputs.json")).unwrap();
    let out = f.run(&["project", "run", "--resume", "cut", "-o", "json"]);
    out.code(0);
    assert!(out.stderr.contains("already completed"), "{}", out.stderr);
    assert_eq!(out.json()["outputs"]["output"], json!({"n": 25}));
}

#[test]
fn run_id_of_an_existing_run_needs_resume() {
    let f = chain();
    f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "same"])
        .code(0);
    let before = snapshot(&f);
    let out = f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "same"]);
    out.code(2);
    assert!(out.stderr.contains("--resume same"), "{}", out.stderr);
    assert_eq!(snapshot(&f), before);
}

#[test]
fn unique_run_id_prefixes_are_accepted_and_runs_json_lists_records() {
    let f = chain().file("fail", "");
    f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "abc-1"])
        .code(1);
    f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "abd-2"])
        .code(1);
    let out = f.run(&["project", "run", "--resume", "ab"]);
    out.code(2);
    assert!(out.stderr.contains("abc-1, abd-2"), "{}", out.stderr);
    let out = f.run(&["project", "run", "--resume", "zz"]);
    out.code(2);
    assert!(out.stderr.contains("project runs"), "{}", out.stderr);
    std::fs::remove_file(f.join("fail")).unwrap();
    f.run(&["project", "run", "--resume", "abc"]).code(0);
    let runs = f.run(&["project", "runs", "--json"]);
    runs.code(0);
    let runs = runs.json();
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs[0]["run_id"], "abd-2", "newest first");
    assert_eq!(runs[1]["run_id"], "abc-1");
    assert_eq!(runs[1]["status"], "completed");
    assert_eq!(runs[1]["attempts"], 2);
    // The text listing shows ids `--resume` accepts as they are.
    let text = f.run(&["project", "runs"]).stdout;
    assert!(text.contains("] abc-1\n"), "{text}");
}

#[test]
fn changed_project_warns_once_naming_the_changed_nodes() {
    let f = chain().file("fail", "");
    f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "r1"])
        .code(1);
    std::fs::remove_file(f.join("fail")).unwrap();
    let manifest = read_text(&f.join("agent.tml")).replace(
        "last: {type: python, module: steps, function: last}",
        "last: {type: python, module: steps, function: first}",
    );
    std::fs::write(f.join("agent.tml"), manifest).unwrap();
    let out = f.run(&["project", "run", "--resume", "r1"]);
    out.code(0);
    assert_eq!(
        out.stderr.matches("project changed").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("'last'"), "{}", out.stderr);
    assert!(!out.stderr.contains("'first'"), "{}", out.stderr);
}

#[test]
fn failed_run_outputs_never_hold_the_inputs() {
    let f = chain().file("fail", "");
    let out = f.run(&[
        "project",
        "run",
        "-i",
        r#"{"n": 1}"#,
        "--run-id",
        "r1",
        "-o",
        "json",
    ]);
    out.code(1);
    assert_eq!(out.json()["outputs"], json!({}));
    assert_eq!(f.read_json(".trident/runs/r1/outputs.json"), json!({}));
}

#[test]
fn interruption_tells_the_user_how_to_resume_even_with_telemetry_off() {
    let f = chain().file(
        "tools/steps.py",
        "import time\n\ndef first(n):\n    open('started', 'w').write('1')\n    time.sleep(30)\n    return {'n': n}\n\ndef flaky(n):\n    return {'n': n}\n\ndef last(n):\n    return {'n': n}\n",
    );
    let child = f
        .command(&[
            "project",
            "run",
            "-i",
            r#"{"n": 1}"#,
            "--run-id",
            "int1",
            "-o",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the slow tool to start", || f.join("started").exists());
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("Interrupted by SIGINT after "))
        .unwrap_or_else(|| panic!("no interruption line in {stderr}"));
    assert!(line.contains("run int1"), "{line}");
    assert!(
        line.contains("trident project run . --resume int1"),
        "{line}"
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["success"], false);
    assert_eq!(json["interrupted"], true);
    assert_eq!(json["run_id"], "int1");
    // The `-o json` shape of every run (FORMAT.md), plus the interruption's fields.
    assert_eq!(json["outputs"], serde_json::json!({}));
    assert_eq!(json["error"]["cause_type"], "Interrupted");
    assert!(json["error"]["node_id"].is_null());
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SIGINT"),
        "{json}"
    );
}
