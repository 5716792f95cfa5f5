//! Orchestration: signals emitted and waited for, published outputs, --input-from.

use std::time::Duration;

use crate::support::Fixture;

#[test]
fn emit_signal_writes_started_completed_ready() {
    let f = Fixture::new("hello");
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "--emit-signal",
        "--run-id",
        "s1",
        "-i",
        r#"{"name":"A"}"#,
    ])
    .code(0);
    for kind in ["started", "completed", "ready"] {
        let s = f.read_json(&format!(".trident/signals/hello.{kind}"));
        assert_eq!(s["signal_type"], kind);
        assert_eq!(s["run_id"], "s1");
        assert_eq!(s["workflow"], "hello");
    }
    let ready = f.read_json(".trident/signals/hello.ready");
    assert!(
        ready["outputs_path"]
            .as_str()
            .unwrap()
            .ends_with("runs/s1/outputs.json")
    );
    let list = f.run(&["project", "signals"]);
    list.code(0);
    assert!(list.stdout.contains("hello.ready"));
    assert!(list.stdout.contains("Run ID: s1"));
    f.run(&["project", "signals", "--clear"]).code(0);
    assert!(!f.join(".trident/signals").exists());
}

#[test]
fn signals_command_reads_the_configured_signals_directory() {
    let f = Fixture::hello_with_manifest_tail(
        "orchestration:\n  signals: {enabled: true, directory: shared/sigs}\n",
    );
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "--emit-signal",
        "--run-id",
        "c1",
        "-i",
        r#"{"name":"A"}"#,
    ])
    .code(0);
    assert_eq!(f.read_json("shared/sigs/hello.completed")["run_id"], "c1");
    let list = f.run(&["project", "signals"]);
    list.code(0);
    assert!(list.stdout.contains("shared/sigs"), "{}", list.stdout);
    assert!(list.stdout.contains("hello.completed"), "{}", list.stdout);
    assert!(list.stdout.contains("Run ID: c1"), "{}", list.stdout);
    f.run(&["project", "signals", "--clear"]).code(0);
    assert!(!f.join("shared/sigs").exists());
}

#[test]
fn failed_run_emits_failed_signal() {
    let f = Fixture::new("failing");
    f.run(&["project", "run", "--emit-signal", "-i", r#"{"n": 1}"#])
        .code(1);
    let s = f.read_json(".trident/signals/failing.failed");
    assert!(s["metadata"]["error"].as_str().unwrap().contains("boom"));
    assert!(!f.join(".trident/signals/failing.completed").exists());
}

#[test]
fn wait_for_times_out_with_exit_4() {
    // The original's --timeout is a float: `--timeout 0` says "0.0s", as does ours.
    let f = Fixture::new("hello");
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "--wait-for",
        "signal:up.ready",
        "--timeout",
        "0",
    ]);
    out.code(4);
    let up = f.join(".trident/signals/up.ready");
    assert_eq!(
        out.stderr.lines().last().unwrap_or_default(),
        format!(
            "Error: Timed out after 0.0s waiting for signals: {}",
            up.display()
        ),
        "{}",
        out.stderr
    );
    assert!(!f.join(".trident/runs").exists(), "no run started");
}

#[test]
fn wait_for_proceeds_when_the_signal_appears() {
    let f = Fixture::new("hello");
    let mut child = f
        .command(&[
            "project",
            "run",
            "--dry-run",
            "-i",
            r#"{"name":"A"}"#,
            "--wait-for",
            "signal:up.ready",
            "--timeout",
            "20",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::create_dir_all(f.join(".trident/signals")).unwrap();
    std::fs::write(
        f.join(".trident/signals/up.ready"),
        r#"{"signal_type":"ready","run_id":"x","timestamp":"t","workflow":"up","outputs_path":null,"metadata":{}}"#,
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn publish_alias_and_input_from() {
    let f = Fixture::hello_with_manifest_tail(
        "orchestration:\n  publish:\n    path: .trident/outputs/latest.json\n    alias: greeter\n",
    );
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "--run-id",
        "p1",
        "-i",
        r#"{"name":"A"}"#,
    ])
    .code(0);
    let published = f.read_json(".trident/outputs/latest.json");
    assert_eq!(
        published["output"]["greeting"],
        "[DRY RUN] Mock text response"
    );
    assert_eq!(f.read_json(".trident/outputs/greeter.json"), published);
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "--publish-to",
        "out/x.json",
        "-i",
        r#"{"name":"A"}"#,
    ])
    .code(0);
    assert_eq!(f.read_json("out/x.json"), published);
    // --input-from run:ID and alias:NAME feed a run's outputs as a run's inputs.
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "--input-from",
        "run:p1",
        "--run-id",
        "q1",
    ]);
    assert_eq!(
        f.read_json(".trident/runs/q1/metadata.json")["inputs"],
        published
    );
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "--input-from",
        "alias:greeter",
        "--run-id",
        "q2",
    ]);
    assert_eq!(
        f.read_json(".trident/runs/q2/metadata.json")["inputs"],
        published
    );
    std::fs::write(f.join("in.json"), r#"{"name": "Bo"}"#).unwrap();
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "--input-from",
        "in.json",
        "-o",
        "json",
        "--no-artifacts",
    ]);
    out.code(0);
}
