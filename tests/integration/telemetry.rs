//! The telemetry stream seen from the CLI: stdout discipline, files, real time, failing
//! sinks, secrets, configuration errors and precedence, interruption.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::Value;

use crate::support::fake_llm::{FakeLlm, FakeReply};
use crate::support::{Fixture, read_text, wait_until};

fn events(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON event ({e}): {l}")))
        .collect()
}

fn names(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect()
}

/// input -> slow (sleeps `secs`) -> output.
fn slow(secs: f64) -> Fixture {
    Fixture::empty()
        .file(
            "agent.tml",
            "trident: \"0.1\"\nname: slow\nnodes:\n  input: {type: input}\n  output: {type: output}\n\
             tools:\n  slow: {type: python, module: slow, function: run}\n\
             edges:\n  a: {from: input, to: slow, mapping: {x: x}}\n  b: {from: slow, to: output, mapping: {x: x}}\n",
        )
        .file(
            "tools/slow.py",
            &format!("import time\n\ndef run(x):\n    time.sleep({secs})\n    return {{\"x\": x}}\n"),
        )
}

#[test]
fn stdout_carries_only_events() {
    let f = Fixture::new("hello");
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name":"A"}"#,
        "--telemetry",
        "-v",
    ]);
    out.code(0);
    let evs = events(&out.stdout);
    assert_eq!(names(&evs).first(), Some(&"workflow_started"));
    assert_eq!(names(&evs).last(), Some(&"workflow_completed"));
    assert!(
        out.stderr.contains("=== Execution Complete ==="),
        "result moved to stderr"
    );
    assert!(
        out.stderr.contains("Executing node: greet"),
        "--verbose moved to stderr"
    );
}

#[test]
fn human_format_to_stdout() {
    let f = Fixture::new("hello");
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name":"A"}"#,
        "--telemetry",
        "--telemetry-format",
        "human",
    ]);
    out.code(0);
    let first = out.stdout.lines().next().unwrap();
    assert!(first.starts_with('['), "{first}");
    assert!(first.contains("[INFO] WORKFLOW_STARTED run="), "{first}");
    assert!(out.stdout.contains("NODE_COMPLETED"));
    assert!(
        !out.stdout.contains("\u{1b}["),
        "no colours when not a terminal"
    );
}

#[test]
fn file_sink_with_run_id_and_unchanged_stdout() {
    let f = Fixture::new("hello");
    let plain = f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name":"A"}"#,
        "-o",
        "json",
        "--no-artifacts",
    ]);
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name":"A"}"#,
        "-o",
        "json",
        "--no-artifacts",
        "--run-id",
        "r42",
        "--telemetry",
        "--telemetry-file",
        "logs/{run_id}.jsonl",
    ]);
    out.code(0);
    assert_eq!(
        out.stdout, plain.stdout,
        "with a file sink only, stdout is as without telemetry"
    );
    let evs = events(&std::fs::read_to_string(f.join("logs/r42.jsonl")).unwrap());
    assert!(evs.iter().all(|e| e["run_id"] == "r42"));
    // Appending: a second run adds to the file.
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name":"A"}"#,
        "--no-artifacts",
        "--run-id",
        "r42",
        "--telemetry",
        "--telemetry-file",
        "logs/{run_id}.jsonl",
    ])
    .code(0);
    let again = events(&std::fs::read_to_string(f.join("logs/r42.jsonl")).unwrap());
    assert_eq!(again.len(), evs.len() * 2);
}

#[test]
fn a_reader_sees_node_started_before_a_slow_node_ends() {
    let f = slow(3.0);
    let mut child = f
        .command(&[
            "project",
            "run",
            "-i",
            r#"{"x": 1}"#,
            "--telemetry",
            "--telemetry-file",
            "t.jsonl",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("node_started of the slow node in the file", || {
        read_text(&f.join("t.jsonl"))
            .lines()
            .any(|l| l.contains("\"node_started\"") && l.contains("\"slow\""))
    });
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run is still going"
    );
    assert!(
        !read_text(&f.join("t.jsonl"))
            .contains("\"node_completed\",\"level\":\"INFO\",\"node_id\":\"slow\""),
        "node_started of the slow node was readable while it ran"
    );
    assert!(child.wait().unwrap().success());
}

#[test]
fn failing_sinks_never_break_the_run() {
    let f = Fixture::new("hello").file("blocker", "a file, not a folder");
    for target in ["/dev/full", "blocker/sub/t.jsonl"] {
        let out = f.run(&[
            "project",
            "run",
            "--dry-run",
            "-i",
            r#"{"name":"A"}"#,
            "-o",
            "json",
            "--telemetry",
            "--telemetry-file",
            target,
        ]);
        out.code(0);
        assert_eq!(out.json()["success"], true);
        let warnings = out.stderr.matches("telemetry").count();
        assert!(
            warnings >= 1,
            "one clear warning for {target}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"));
    }
    assert_eq!(f.run_file("checkpoint.json")["status"], "completed");
}

#[test]
fn closed_stdout_pipe_is_not_a_crash() {
    let f = slow(0.5);
    let mut child = f
        .command(&[
            "project",
            "run",
            "-i",
            r#"{"x": 1}"#,
            "--telemetry",
            "--run-id",
            "p1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe (like `| head -1`).
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("workflow_started"));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        f.read_json(".trident/runs/p1/checkpoint.json")["status"],
        "completed"
    );
    assert_eq!(
        f.read_json(".trident/runs/p1/outputs.json")["output"]["x"],
        1
    );
}

#[test]
fn secrets_never_appear_in_events() {
    let fake = FakeLlm::start();
    fake.push_reply(FakeReply::text("hi"));
    let f = Fixture::new("hello")
        .llm(&fake)
        .env("ANTHROPIC_API_KEY", "sk-ant-test-key-123456")
        .file(".env", "SERVICE_PASSWORD=hunter2-dotenv-secret\n");
    let out = f.run(&[
        "project",
        "run",
        "-i",
        r#"{"name":"hunter2-dotenv-secret", "api_key": "x", "auth": "Bearer abc.def"}"#,
        "--telemetry",
        "--telemetry-level",
        "debug",
        "--telemetry-file",
        "t.jsonl",
    ]);
    out.code(0);
    let text = std::fs::read_to_string(f.join("t.jsonl")).unwrap();
    assert!(text.contains("input_received"));
    for secret in [
        "hunter2-dotenv-secret",
        "sk-ant-test-key-123456",
        "Bearer abc.def",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into telemetry");
    }
    assert!(text.contains("[REDACTED]"));
    assert!(
        text.contains("\"input_tokens\""),
        "token counts are not secrets"
    );
}

#[test]
fn invalid_settings_are_refused_before_the_run() {
    let f = Fixture::new("hello");
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "--telemetry",
        "--telemetry-format",
        "xml",
    ]);
    out.code(2);
    assert!(
        out.stderr.contains("jsonl") && out.stderr.contains("human"),
        "{}",
        out.stderr
    );
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "--telemetry",
        "--telemetry-level",
        "loud",
    ]);
    out.code(2);
    assert!(out.stderr.contains("minimal"), "{}", out.stderr);
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "--telemetry",
        "--telemetry-filter",
        "nodez",
    ]);
    out.code(2);
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "--telemetry",
        "--telemetry-max-size",
        "ten",
    ]);
    out.code(2);
    let env = Fixture::new("hello").env("TRIDENT_TELEMETRY_LEVEL", "loud");
    let out = env.run(&["project", "run", "--dry-run", "--telemetry"]);
    out.code(2);
    assert!(
        out.stderr.contains("TRIDENT_TELEMETRY_LEVEL"),
        "{}",
        out.stderr
    );
    assert!(
        !f.join(".trident").exists() && !env.join(".trident").exists(),
        "nothing ran"
    );
}

#[test]
fn precedence_cli_over_env_over_manifest() {
    let f = Fixture::hello_with_manifest_tail(
        "telemetry:\n  enabled: true\n  format: human\n  file: logs/t.log\n",
    );
    let args = [
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name":"A"}"#,
        "--no-artifacts",
    ];
    f.run(&args).code(0);
    let text = std::fs::read_to_string(f.join("logs/t.log")).unwrap();
    assert!(
        text.starts_with('['),
        "manifest: human, file relative to the project"
    );
    let env = Fixture::hello_with_manifest_tail(
        "telemetry:\n  enabled: true\n  format: human\n  file: t.log\n",
    )
    .env("TRIDENT_TELEMETRY_FORMAT", "jsonl");
    env.run(&args).code(0);
    events(&std::fs::read_to_string(env.join("t.log")).unwrap());
    let mut cli_args = args.to_vec();
    cli_args.extend(["--telemetry-format", "human", "--telemetry-file", "cli.log"]);
    env.run(&cli_args).code(0);
    assert!(
        std::fs::read_to_string(env.join("cli.log"))
            .unwrap()
            .starts_with('[')
    );
    let mut off = args.to_vec();
    off.push("--no-telemetry");
    let before = std::fs::read_to_string(env.join("t.log")).unwrap();
    env.run(&off).code(0);
    assert_eq!(
        before,
        std::fs::read_to_string(env.join("t.log")).unwrap(),
        "--no-telemetry wins"
    );
}

#[test]
fn provider_retries_and_tokens_are_reported() {
    let fake = FakeLlm::start();
    fake.push_status(429)
        .push_reply(FakeReply::text("hey").tokens(12, 40));
    let f = Fixture::new("hello").llm(&fake);
    let out = f.run(&[
        "project",
        "run",
        "-i",
        r#"{"name":"A"}"#,
        "--telemetry",
        "--telemetry-level",
        "debug",
        "--telemetry-filter",
        "resource,node_completed",
    ]);
    out.code(0);
    let evs = events(&out.stdout);
    let retry = evs.iter().find(|e| e["event"] == "provider_retry").unwrap();
    assert_eq!(retry["level"], "WARNING");
    assert_eq!(retry["node_id"], "greet");
    assert_eq!(retry["data"]["status"], 429);
    assert_eq!(retry["data"]["provider"], "anthropic");
    let usage = evs.iter().find(|e| e["event"] == "token_usage").unwrap();
    assert_eq!(usage["data"]["input_tokens"], 12);
    assert_eq!(usage["data"]["output_tokens"], 40);
    // A queue_wait_ms timing may come first (a node that waited for a worker).
    let latency = evs
        .iter()
        .find(|e| e["event"] == "timing_metric" && e["data"]["name"] == "provider_latency_ms")
        .expect("a provider_latency_ms timing");
    assert_eq!(latency["node_id"], "greet");
    let completed = evs
        .iter()
        .find(|e| e["event"] == "node_completed" && e["node_id"] == "greet")
        .unwrap();
    assert_eq!(completed["data"]["input_tokens"], 12);
    assert!(evs.iter().all(|e| {
        [
            "provider_retry",
            "token_usage",
            "timing_metric",
            "cost_incurred",
            "price_unknown",
            "node_completed",
        ]
        .contains(&e["event"].as_str().unwrap())
    }));
}

#[test]
fn sigterm_writes_workflow_interrupted_and_leaves_a_resumable_checkpoint() {
    let f = slow(30.0).file(
        "tools/slow.py",
        "import os, time\n\ndef run(x):\n    open('tool.pid', 'w').write(str(os.getpid()))\n    time.sleep(30)\n    return {\"x\": x}\n",
    );
    let mut child = f
        .command(&[
            "project",
            "run",
            "-i",
            r#"{"x": 1}"#,
            "--run-id",
            "i1",
            "--telemetry",
            "--telemetry-file",
            "t.jsonl",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the slow tool to start", || {
        let text = read_text(&f.join("t.jsonl"));
        text.contains("\"node_started\"")
            && text.contains("\"slow\"")
            && f.join("tool.pid").exists()
    });
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let evs = events(&std::fs::read_to_string(f.join("t.jsonl")).unwrap());
    let last = evs.last().unwrap();
    assert_eq!(last["event"], "workflow_interrupted");
    assert_eq!(last["level"], "WARNING");
    assert_eq!(last["data"]["signal"], "SIGTERM");
    let checkpoint = f.read_json(".trident/runs/i1/checkpoint.json");
    assert_eq!(checkpoint["status"], "interrupted");
    assert!(checkpoint["completed_nodes"]["input"].is_object());
    assert_eq!(
        f.read_json(".trident/runs/manifest.json")["runs"][0]["status"],
        "interrupted"
    );
    // The running tool was stopped with the run, not left behind.
    let pid = std::fs::read_to_string(f.join("tool.pid")).unwrap();
    wait_until(&format!("tool process {pid} to be gone"), || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
    });
    // Resume with a fast tool: the run completes from the checkpoint.
    let f = f.file("tools/slow.py", "def run(x):\n    return {\"x\": x}\n");
    let out = f.run(&["project", "run", "--resume", "latest", "-o", "json"]);
    out.code(0);
    assert_eq!(out.json()["outputs"]["output"]["x"], 1);
}

#[test]
fn readme_follow_recipe_works_on_a_fresh_project() {
    // `trident project run . --telemetry-file logs/run.jsonl & tail -F logs/run.jsonl`:
    // the flag alone turns telemetry on, and the missing folder is created.
    let f = Fixture::new("hello");
    assert!(!f.join("logs").exists());
    let out = f.run(&[
        "project",
        "run",
        ".",
        "--dry-run",
        "-i",
        r#"{"name":"A"}"#,
        "--telemetry-file",
        "logs/run.jsonl",
    ]);
    out.code(0);
    let evs = events(&read_text(&f.join("logs/run.jsonl")));
    assert_eq!(evs.first().unwrap()["event"], "workflow_started");
    assert_eq!(evs.last().unwrap()["event"], "workflow_completed");
    let saved = evs
        .iter()
        .find(|e| e["event"] == "checkpoint_saved")
        .unwrap();
    // Absolute, as `artifact_saved` reports the same file and `signal_emitted` its signals.
    let path = saved["data"]["path"].as_str().unwrap();
    let run_id = saved["run_id"].as_str().unwrap();
    assert_eq!(
        std::path::Path::new(path),
        f.join(&format!(".trident/runs/{run_id}/checkpoint.json")),
        "{path}"
    );
    // `--no-telemetry` wins over the implied switch.
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name":"A"}"#,
        "--telemetry-file",
        "logs/off.jsonl",
        "--no-telemetry",
    ])
    .code(0);
    assert!(!f.join("logs/off.jsonl").exists());
}

#[test]
fn human_lines_leave_out_zero_tokens() {
    let f = Fixture::new("hello");
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name":"A"}"#,
        "--telemetry-format",
        "human",
        "--telemetry-level",
        "verbose",
    ]);
    out.code(0);
    assert!(out.stdout.contains("NODE_COMPLETED"), "{}", out.stdout);
    assert!(!out.stdout.contains("tokens=0+0"), "{}", out.stdout);
}
