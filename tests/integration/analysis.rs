//! `trident telemetry stats` and `trident project show`: fixture streams (deterministic
//! snapshots), real runs (success, failure, resume with cached nodes), hand-written run
//! folders (interrupted, running), and bad input (corrupt lines, missing files, unknown ids).

use serde_json::{Value, json};

use crate::resume::chain;
use crate::support::Fixture;
use crate::support::fake_llm::{FakeLlm, FakeReply};

fn widest_line(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

fn node<'a>(run: &'a Value, id: &str) -> &'a Value {
    run["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == id)
        .unwrap_or_else(|| panic!("no node {id} in {run}"))
}

#[test]
fn stats_of_one_run() {
    let f = Fixture::new("analysis");
    let out = f.run(&["telemetry", "stats", "one_run.jsonl"]);
    out.code(0);
    assert!(widest_line(&out.stdout) <= 100);
    assert!(
        !out.stdout.contains('\x1b'),
        "no colour when not a terminal"
    );
    insta::assert_snapshot!("stats_one_run", out.stdout);
    let json = f
        .run(&["telemetry", "stats", "one_run.jsonl", "--json"])
        .json();
    let run = &json["runs"][0];
    assert_eq!(run["status"], "completed");
    assert_eq!(run["retries"], 1);
    assert_eq!(node(run, "polish")["queue_wait_ms"], 35.0);
    assert_eq!(
        run["critical_path"]["nodes"],
        json!(["input", "draft", "polish", "output"])
    );
    assert_eq!(run["critical_path"]["duration_ms"], 2002);
    assert_eq!(run["duration_ms"], 2043);
    assert_eq!(run["slowest"][0], "draft");
    assert_eq!(run["models"][0]["model"], "anthropic/claude-sonnet-4-5");
    assert_eq!(json["loss"]["missing_events"], 0);
}

#[test]
fn stats_of_several_runs_with_loss_and_bad_lines() {
    let f = Fixture::new("analysis");
    let out = f.run(&["telemetry", "stats", "many_runs.jsonl"]);
    out.code(0);
    assert!(widest_line(&out.stdout) <= 100);
    insta::assert_snapshot!("stats_many_runs", out.stdout);
    assert!(
        out.stderr
            .contains("many_runs.jsonl:6: not a telemetry event"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("many_runs.jsonl:41: partial last line (still being written?)"),
        "{}",
        out.stderr
    );
    let json = f
        .run(&["telemetry", "stats", "many_runs.jsonl", "--json"])
        .json();
    assert_eq!(json["events"], 39);
    assert_eq!(json["skipped_lines"].as_array().unwrap().len(), 2);
    assert_eq!(json["loss"]["missing_events"], 2);
    assert_eq!(json["loss"]["seq_gaps"][0]["after"], 18);
    assert_eq!(json["loss"]["dropped"], 4);
    assert_eq!(json["loss"]["dropped_by_sink"]["queue"], 4);
    let statuses: Vec<&str> = json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["completed", "completed", "failed"]);
    let across = &json["across_runs"];
    let draft = across["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node_id"] == "draft")
        .unwrap();
    assert_eq!(
        (draft["p50_ms"].as_u64(), draft["p95_ms"].as_u64()),
        (Some(1500), Some(2000))
    );
    let polish = across["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node_id"] == "polish")
        .unwrap();
    assert_eq!(
        (polish["runs"].as_u64(), polish["failures"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(across["by_run"].as_array().unwrap().len(), 3);
    assert!((across["cost_usd"].as_f64().unwrap() - 0.0328).abs() < 1e-9);
}

#[test]
fn stats_run_filter_unknown_ids_and_missing_files() {
    let f = Fixture::new("analysis");
    let one = f
        .run(&[
            "telemetry",
            "stats",
            "many_runs.jsonl",
            "--run",
            "3333",
            "--json",
        ])
        .json();
    assert_eq!(one["runs"].as_array().unwrap().len(), 1);
    assert_eq!(
        one["runs"][0]["run_id"],
        "33333333-cccc-4000-8000-000000000002"
    );
    let latest = f
        .run(&[
            "telemetry",
            "stats",
            "many_runs.jsonl",
            "--run",
            "latest",
            "--json",
        ])
        .json();
    assert_eq!(latest["runs"][0]["status"], "failed");

    let out = f.run(&["telemetry", "stats", "many_runs.jsonl", "--run", "3334"]);
    out.code(2);
    assert!(
        out.stderr
            .contains("--run 3334: no run id is or starts with it; the closest are: 33333333"),
        "{}",
        out.stderr
    );
    let out = f.run(&["telemetry", "stats", "nope.jsonl"]);
    out.code(2);
    assert!(
        out.stderr.contains("cannot read telemetry file nope.jsonl"),
        "{}",
        out.stderr
    );
}

#[test]
fn stats_reads_rotated_files_oldest_first() {
    let f = Fixture::new("analysis");
    let text = std::fs::read_to_string(f.join("one_run.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(f.join("r.jsonl.1"), lines[..7].join("\n") + "\n").unwrap();
    std::fs::write(f.join("r.jsonl"), lines[7..].join("\n") + "\n").unwrap();
    // Named newest first: still read as one stream, oldest first, without a gap.
    let json = f
        .run(&["telemetry", "stats", "r.jsonl", "r.jsonl.1", "--json"])
        .json();
    assert_eq!(json["files"], json!(["r.jsonl.1", "r.jsonl"]));
    assert_eq!(json["events"], 14);
    assert_eq!(json["loss"]["missing_events"], 0);
    assert_eq!(json["runs"][0]["status"], "completed");
    assert_eq!(json["runs"][0]["counts"]["completed"], 5);
    // Only the newest file: the run is seen from its middle, still analysed.
    let partial = f.run(&["telemetry", "stats", "r.jsonl", "--json"]).json();
    assert_eq!(partial["runs"][0]["status"], "completed");
}

#[test]
fn stats_of_a_real_run_priced_from_the_fake_provider() {
    let fake = FakeLlm::start();
    fake.push_reply(FakeReply::text("Hello").tokens(1000, 100));
    let f = Fixture::hello_with_model("anthropic/claude-haiku-4-5").llm(&fake);
    f.run(&[
        "project",
        "run",
        "-i",
        r#"{"name":"Ada"}"#,
        "--telemetry",
        "--telemetry-file",
        "t.jsonl",
        "--telemetry-level",
        "debug",
    ])
    .code(0);
    let json = f.run(&["telemetry", "stats", "t.jsonl", "--json"]).json();
    let run = &json["runs"][0];
    assert_eq!(run["status"], "completed");
    assert_eq!(run["name"], "hello");
    let greet = node(run, "greet");
    assert_eq!(greet["input_tokens"], 1000);
    // claude-haiku-4-5: $1 input, $5 output per million tokens.
    let cost = greet["cost_usd"].as_f64().unwrap();
    assert!((cost - (1000.0 * 1.0 + 100.0 * 5.0) / 1e6).abs() < 1e-12);
    assert_eq!(
        run["critical_path"]["nodes"],
        json!(["input", "greet", "output"])
    );
    assert_eq!(json["loss"]["missing_events"], 0);
    let text = f.run(&["telemetry", "stats", "t.jsonl"]);
    assert!(widest_line(&text.stdout) <= 100);
    assert!(text.stdout.contains("anthropic/claude-haiku-4-5"));
}

#[test]
fn show_a_failed_run_then_its_resume_with_cached_nodes() {
    let f = chain().file("fail", "");
    f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", "r1"])
        .code(1);
    let out = f.run(&["project", "show"]);
    out.code(0);
    assert!(widest_line(&out.stdout) <= 100, "{}", out.stdout);
    assert!(
        out.stdout.starts_with("Run r1  chain  failed"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("flaky (ToolError): "), "{}", out.stdout);
    let json = f.run(&["project", "show", "--run", "r1", "--json"]).json();
    let run = &json["run"];
    assert_eq!(json["source"], "events.jsonl");
    assert_eq!(run["status"], "failed");
    assert_eq!(run["failed_node"], "flaky");
    assert_eq!(node(run, "first")["status"], "completed");
    assert_eq!(node(run, "flaky")["status"], "failed");
    assert_eq!(node(run, "last")["status"], "pending");
    assert_eq!(node(run, "flaky")["type"], "tool");

    std::fs::remove_file(f.join("fail")).unwrap();
    f.run(&["project", "run", "--resume", "r1"]).code(0);
    let json = f.run(&["project", "show", "--json"]).json();
    let run = &json["run"];
    assert_eq!(run["status"], "completed");
    assert_eq!(run["attempts"], 2);
    assert_eq!(node(run, "first")["status"], "cached");
    assert_eq!(node(run, "flaky")["status"], "completed");
    assert_eq!(run["counts"]["cached"], 2, "input and first were restored");
    assert!(
        !run["critical_path"]["nodes"]
            .as_array()
            .unwrap()
            .contains(&json!("first")),
        "a cached node ran in an earlier attempt"
    );
    assert_eq!(
        json["loss"]["missing_events"], 0,
        "seq continues across attempts"
    );

    // Without its events.jsonl the run still shows, from trace.json.
    std::fs::remove_file(f.join(".trident/runs/r1/events.jsonl")).unwrap();
    let json = f.run(&["project", "show", "--run", "r1", "--json"]).json();
    assert_eq!(json["source"], "trace.json");
    let run = &json["run"];
    assert_eq!(run["status"], "completed");
    assert_eq!(node(run, "first")["status"], "cached");
    assert_eq!(node(run, "flaky")["status"], "completed");
    assert_eq!(node(run, "flaky")["type"], "tool");
}

/// A run folder written by hand: the chain project, `first` done, the rest not.
fn stopped_run(status: &str) -> Fixture {
    let f = chain();
    let runs = f.join(".trident/runs");
    std::fs::create_dir_all(runs.join("r-stopped")).unwrap();
    let write = |rel: &str, value: Value| {
        std::fs::write(
            runs.join(rel),
            serde_json::to_string_pretty(&value).unwrap(),
        )
        .unwrap()
    };
    write(
        "manifest.json",
        json!({"version": "1", "runs": [
            {"run_id": "r-stopped", "project_name": "chain", "entrypoint": "input",
             "status": status, "started_at": "2026-01-23T10:00:00.000000+00:00",
             "ended_at": null, "success": null, "error_summary": null, "attempts": 1},
            {"run_id": "r-other", "project_name": "chain", "entrypoint": "input",
             "status": "completed", "started_at": "2026-01-22T10:00:00.000000+00:00",
             "ended_at": "2026-01-22T10:00:01.000000+00:00", "success": true,
             "error_summary": null, "attempts": 1}]}),
    );
    write(
        "r-stopped/metadata.json",
        json!({"run_id": "r-stopped", "project_name": "chain", "project_root": "/x",
               "entrypoint": "input", "inputs": {"n": 1},
               "started_at": "2026-01-23T10:00:00.000000+00:00", "ended_at": null,
               "trident_version": "0.12.0"}),
    );
    write(
        "r-stopped/checkpoint.json",
        json!({"run_id": "r-stopped", "project_name": "chain",
               "started_at": "2026-01-23T10:00:00.000000+00:00",
               "updated_at": "2026-01-23T10:00:02.000000+00:00", "status": status,
               "completed_nodes": {
                   "input": {"outputs": {"n": 1}, "completed_at": "2026-01-23T10:00:00.100000+00:00"},
                   "first": {"outputs": {"n": 2}, "completed_at": "2026-01-23T10:00:01.000000+00:00"}},
               "pending_nodes": ["flaky", "last", "output"], "total_cost_usd": 0.0,
               "inputs": {"n": 1}, "entrypoint": "input"}),
    );
    f
}

#[test]
fn interrupted_and_running_runs_are_shown_as_such_never_as_failed() {
    let f = stopped_run("interrupted");
    let out = f.run(&["project", "show", "--run", "r-st"]);
    out.code(0);
    insta::assert_snapshot!("show_interrupted", out.stdout);
    assert!(!out.stdout.contains("failed  "), "{}", out.stdout);

    let f = stopped_run("running");
    let json = f
        .run(&["project", "show", "--run", "r-stopped", "--json"])
        .json();
    assert_eq!(json["run"]["status"], "running");
    assert_eq!(json["source"], "checkpoint.json");
    assert_eq!(node(&json["run"], "first")["status"], "completed");
    assert_eq!(node(&json["run"], "flaky")["status"], "pending");
    assert_eq!(json["run"]["counts"]["failed"], 0);
}

#[test]
fn show_reads_the_runs_events_jsonl_when_it_has_one() {
    let f = stopped_run("completed");
    let events = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/integration/fixtures/analysis/one_run.jsonl"),
    )
    .unwrap()
    .replace("11111111-aaaa-4000-8000-000000000001", "r-stopped");
    std::fs::write(f.join(".trident/runs/r-stopped/events.jsonl"), events).unwrap();
    let json = f
        .run(&["project", "show", "--run", "r-stopped", "--json"])
        .json();
    assert_eq!(json["source"], "events.jsonl");
    let run = &json["run"];
    assert_eq!(node(run, "polish")["queue_wait_ms"], 35.0);
    assert_eq!(node(run, "draft")["retries"], 1);
    assert_eq!(json["loss"]["missing_events"], 0);
}

#[test]
fn show_refuses_unknown_runs_with_the_closest_ids() {
    let f = stopped_run("completed");
    let out = f.run(&["project", "show", "--run", "r-stoped"]);
    out.code(2);
    assert!(
        out.stderr.contains(
            "--run r-stoped: no run id is or starts with it; the closest are: r-stopped, r-other"
        ),
        "{}",
        out.stderr
    );
    let out = f.run(&["project", "show", "--run", "r-"]);
    out.code(2);
    assert!(out.stderr.contains("start of 2 run ids"), "{}", out.stderr);
    let empty = chain();
    let out = empty.run(&["project", "show"]);
    out.code(2);
    assert!(out.stderr.contains("No previous runs"), "{}", out.stderr);
}

#[test]
fn stats_of_a_branch_loop_counts_each_iteration_as_a_sub_workflow_run() {
    let f = Fixture::new("looping");
    f.run(&[
        "project",
        "run",
        "-i",
        r#"{"count": 0}"#,
        "--run-id",
        "loop-run",
        "--telemetry",
        "--telemetry-file",
        "t.jsonl",
    ])
    .code(0);
    let all = f.run(&["telemetry", "stats", "t.jsonl", "--json"]).json();
    let runs = all["runs"].as_array().unwrap();
    assert_eq!(runs[0]["run_id"], "loop-run");
    let iterations = runs
        .iter()
        .filter(|r| r["parent_run_id"] == "loop-run")
        .count();
    assert_eq!(iterations, 3, "one sub-workflow run per iteration");
    assert!(runs.iter().all(|r| r["status"] == "completed"));
    let one = f
        .run(&["telemetry", "stats", "t.jsonl", "--run", "loop", "--json"])
        .json();
    assert_eq!(
        one["runs"].as_array().unwrap().len(),
        4,
        "the run and its sub-runs"
    );
    let text = f.run(&["telemetry", "stats", "t.jsonl", "--run", "loop-run"]);
    assert!(
        text.stdout.contains("sub-workflow of run loop-run"),
        "{}",
        text.stdout
    );
    assert!(widest_line(&text.stdout) <= 100);
}
