//! The `.trident/` layout and field names (a public interface the dashboard reads).

use serde_json::Value;

use crate::support::Fixture;

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn layout_and_field_names() {
    let f = Fixture::new("hello");
    f.run(&["project", "run", "--dry-run", "-i", r#"{"name":"Ada"}"#])
        .code(0);
    let index = f.read_json(".trident/runs/manifest.json");
    assert_eq!(index["version"], "1");
    let entry = &index["runs"][0];
    assert_eq!(
        keys(entry),
        [
            "run_id",
            "project_name",
            "entrypoint",
            "status",
            "started_at",
            "ended_at",
            "success",
            "error_summary",
            "attempts"
        ]
    );
    assert_eq!(entry["status"], "completed");
    assert_eq!(entry["success"], true);
    assert_eq!(
        keys(&f.run_file("metadata.json")),
        [
            "run_id",
            "project_name",
            "project_root",
            "entrypoint",
            "inputs",
            "started_at",
            "ended_at",
            "trident_version",
            "attempts",
            // Extra fields (allowed): the process of the current attempt, for `watch`.
            "pid",
            "host"
        ]
    );
    let checkpoint = f.run_file("checkpoint.json");
    assert_eq!(
        keys(&checkpoint),
        [
            "run_id",
            "project_name",
            "started_at",
            "updated_at",
            "status",
            "completed_nodes",
            "pending_nodes",
            "total_cost_usd",
            "inputs",
            "entrypoint",
            "branch_states",
            "dry_run",
            "attempts",
            "fingerprint"
        ]
    );
    assert_eq!(checkpoint["status"], "completed");
    assert_eq!(
        keys(&checkpoint["completed_nodes"]["greet"]),
        [
            "outputs",
            "completed_at",
            "started_at",
            "session_id",
            "cost_usd",
            "num_turns"
        ]
    );
    assert_eq!(checkpoint["pending_nodes"], serde_json::json!([]));
    let trace = f.run_file("trace.json");
    assert_eq!(
        keys(&trace),
        ["run_id", "start_time", "end_time", "error", "nodes"]
    );
    assert_eq!(
        keys(&trace["nodes"][0]),
        [
            "id",
            "start_time",
            "end_time",
            "input",
            "output",
            "model",
            "tokens",
            "skipped",
            "error",
            "error_type",
            "cost_usd",
            "session_id",
            "num_turns"
        ]
    );
    let ts = trace["start_time"].as_str().unwrap();
    assert!(ts.ends_with("+00:00") && ts.contains('T'), "{ts}");
    assert_eq!(
        f.run_file("outputs.json")["output"]["greeting"],
        "[DRY RUN] Mock text response"
    );
}

#[test]
fn no_artifacts_and_artifact_dir() {
    let f = Fixture::new("hello");
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "--no-artifacts",
        "-i",
        r#"{"name":"A"}"#,
    ])
    .code(0);
    assert!(!f.join(".trident").exists());
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "--artifact-dir",
        "elsewhere",
        "--run-id",
        "r1",
        "-i",
        r#"{"name":"A"}"#,
    ])
    .code(0);
    assert!(f.join("elsewhere/runs/r1/trace.json").is_file());
    assert!(!f.join(".trident/runs").exists());
}

#[test]
fn concurrent_runs_keep_the_index_whole() {
    let f = Fixture::new("hello");
    let children: Vec<_> = (0..8)
        .map(|i| {
            f.command(&[
                "project",
                "run",
                "--dry-run",
                "--run-id",
                &format!("run-{i}"),
                "-i",
                r#"{"name":"A"}"#,
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let index = f.read_json(".trident/runs/manifest.json");
    let runs = index["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 8);
    assert!(runs.iter().all(|r| r["status"] == "completed"));
}

#[test]
fn runs_command_lists_recent_runs() {
    let f = Fixture::new("hello");
    assert!(
        f.run(&["project", "runs"])
            .stdout
            .contains("No runs found.")
    );
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "--run-id",
        "abcdef123456",
        "-i",
        r#"{"name":"A"}"#,
    ])
    .code(0);
    let out = f.run(&["project", "runs", "-n", "5"]);
    out.code(0);
    assert!(out.stdout.contains("Recent runs (1 of 1):"));
    // Cut ids end in `...`, as the original printed them.
    assert!(out.stdout.contains("[✓] abcdef12...\n"), "{}", out.stdout);
    assert!(out.stdout.contains("Status: completed (success)"));
}
