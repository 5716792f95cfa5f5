//! Agent nodes through a fake `claude` executable (written by the test, first on PATH) that
//! records its arguments and plays a scripted stream-json session with pauses.

use serde_json::{Value, json};

use crate::support::{Fixture, read_text, trace_node, wait_until};

const FAKE_CLAUDE: &str = r#"#!/bin/sh
d="$(dirname "$0")"
printf '%s\n' "$@" > "$d/argv"
env > "$d/env"
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    "sleep "*) sleep "${line#sleep }" ;;
    "exit "*) exit "${line#exit }" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$d/script"
"#;

fn assistant(text: &str, tool: Option<(&str, Value)>, tokens: (u64, u64)) -> String {
    let mut content = vec![json!({"type": "text", "text": text})];
    if let Some((name, input)) = tool {
        content.push(json!({"type": "tool_use", "id": "t1", "name": name, "input": input}));
    }
    json!({"type": "assistant", "session_id": "sess-42", "message": {"id": format!("m-{text}"), "content": content,
        "usage": {"input_tokens": tokens.0, "output_tokens": tokens.1}}})
    .to_string()
}

fn result(text: &str) -> String {
    json!({"type": "result", "subtype": "success", "is_error": false, "result": text, "session_id": "sess-42",
        "num_turns": 2, "total_cost_usd": 0.0123, "usage": {"input_tokens": 100, "output_tokens": 20}})
    .to_string()
}

/// A project with one agent node `worker` (json output) and a fake CLI playing `script`.
fn project(script: &[String]) -> Fixture {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::empty()
        .file(
            "agent.tml",
            r#"trident: "0.1"
name: agents
nodes:
  input: {type: input, schema: {task: {type: string, description: t}}}
  worker:
    type: agent
    prompt: prompts/worker.prompt
    allowed_tools: [Read, Bash]
    max_turns: 7
  output: {type: output}
edges:
  a: {from: input, to: worker, mapping: {task: task}}
  b: {from: worker, to: output, mapping: {answer: answer}}
"#,
        )
        .file(
            "prompts/worker.prompt",
            "---\nid: worker\ninput:\n  task: {type: string}\noutput:\n  format: json\n  schema:\n    answer: {type: string, description: a}\n---\nDo {{ task }}.\n",
        )
        .file("bin/script", &script.join("\n"));
    let bin = f.join("bin/claude");
    std::fs::write(&bin, FAKE_CLAUDE).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        f.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    f.env("PATH", &path)
        .env("ANTHROPIC_API_KEY", "sk-ant-not-for-the-cli")
}

fn session() -> Vec<String> {
    vec![
        json!({"type": "system", "subtype": "init", "session_id": "sess-42", "model": "claude-test-model"})
            .to_string(),
        assistant("looking", Some(("Read", json!({"file_path": "README.md"}))), (10, 5)),
        json!({"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}}).to_string(),
        "sleep 2".into(),
        assistant("done", None, (20, 8)),
        result("```json\n{\"answer\": \"42\"}\n```"),
    ]
}

#[test]
fn turns_stream_while_the_agent_works_and_results_land_in_artifacts() {
    let f = project(&session());
    let mut child = f
        .command(&[
            "project",
            "run",
            "-i",
            r#"{"task": "count"}"#,
            "--run-id",
            "a1",
            "--telemetry",
            "--telemetry-file",
            "t.jsonl",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("agent_tool_called in the telemetry file", || {
        read_text(&f.join("t.jsonl")).contains("agent_tool_called")
    });
    // The agent pauses 2 s before its last turn: it is still working.
    assert!(
        child.try_wait().unwrap().is_none(),
        "the agent is still working"
    );
    assert!(
        !read_text(&f.join("t.jsonl"))
            .contains("\"node_completed\",\"level\":\"INFO\",\"node_id\":\"worker\""),
        "agent_tool_called was written before the agent finished"
    );
    assert!(child.wait().unwrap().success());

    let events: Vec<Value> = std::fs::read_to_string(f.join("t.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &Value| e["node_id"] == "worker")
        .collect();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "node_started",
            "agent_turn_started",
            "agent_tool_called",
            "agent_turn_completed",
            "agent_turn_started",
            "agent_turn_completed",
            "node_completed",
            "checkpoint_saved",
        ]
    );
    assert_eq!(events[1]["data"]["turn_number"], 1);
    assert_eq!(events[2]["data"]["tool_name"], "Read");
    assert_eq!(events[2]["data"]["tool_input"]["file_path"], "README.md");
    assert_eq!(events[3]["data"]["tool_calls"], 1);
    let completed = &events[6]["data"];
    assert_eq!(completed["cost_usd"], 0.0123);
    assert_eq!(completed["input_tokens"], 100);

    let trace = f.read_json(".trident/runs/a1/trace.json");
    let worker = trace_node(&trace, "worker");
    assert_eq!(worker["output"], json!({"answer": "42"}));
    assert_eq!(worker["session_id"], "sess-42");
    assert_eq!(worker["model"], "claude-test-model");
    assert_eq!(worker["num_turns"], 2);
    assert_eq!(worker["cost_usd"], 0.0123);
    assert_eq!(worker["tokens"], json!({"input": 100, "output": 20}));
    let checkpoint = f.read_json(".trident/runs/a1/checkpoint.json");
    assert_eq!(
        checkpoint["completed_nodes"]["worker"]["session_id"],
        "sess-42"
    );
    assert_eq!(checkpoint["total_cost_usd"], 0.0123);

    let argv = std::fs::read_to_string(f.join("bin/argv")).unwrap();
    for expected in [
        "-p",
        "--output-format\nstream-json",
        "--verbose",
        "--max-turns\n7",
        "--json-schema",
    ] {
        assert!(argv.contains(expected), "argv lacks {expected:?}:\n{argv}");
    }
    let env = std::fs::read_to_string(f.join("bin/env")).unwrap();
    assert!(
        !env.contains("ANTHROPIC_API_KEY"),
        "the API key is not passed to the CLI"
    );
}

#[test]
fn cost_and_token_events_at_verbose() {
    let f = project(&session());
    let out = f.run(&[
        "project",
        "run",
        "-i",
        r#"{"task": "x"}"#,
        "--telemetry",
        "--telemetry-level",
        "verbose",
        "--telemetry-filter",
        "resource",
    ]);
    out.code(0);
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cost = events
        .iter()
        .find(|e| e["event"] == "cost_incurred")
        .unwrap();
    assert_eq!(cost["data"]["cost_usd"], 0.0123);
    assert_eq!(cost["data"]["total_cost_usd"], 0.0123);
    let usage = events.iter().find(|e| e["event"] == "token_usage").unwrap();
    assert_eq!(usage["data"]["model"], "claude-test-model");
    assert_eq!(usage["data"]["input_tokens"], 100);
}

#[test]
fn start_from_an_agent_resumes_its_session() {
    let f = project(&session());
    f.run(&["project", "run", "-i", r#"{"task": "x"}"#, "--run-id", "r"])
        .code(0);
    f.run(&["project", "run", "--resume", "r", "--start-from", "worker"])
        .code(0);
    let argv = std::fs::read_to_string(f.join("bin/argv")).unwrap();
    assert!(argv.contains("--resume\nsess-42"), "{argv}");
}

#[test]
fn failures_are_clear_node_failures() {
    // is_error result
    let f = project(&[
        json!({"type": "result", "subtype": "error_during_execution", "is_error": true,
        "result": "tool exploded", "session_id": "s"})
        .to_string(),
    ]);
    let out = f.run(&["project", "run", "-i", r#"{"task": "x"}"#, "-o", "json"]);
    out.code(1);
    assert_eq!(out.json()["error"]["node_id"], "worker");
    // max turns
    let f = project(&[json!({"type": "result", "subtype": "error_max_turns", "is_error": true, "session_id": "s", "num_turns": 7}).to_string()]);
    let out = f.run(&["project", "run", "-i", r#"{"task": "x"}"#, "-o", "json"]);
    out.code(1);
    assert!(
        out.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_turns"),
        "{}",
        out.stdout
    );
    // non-zero exit with stderr
    let f = project(&["exit 3".into()]);
    f.run(&["project", "run", "-i", r#"{"task": "x"}"#]).code(1);
    // CLI not installed: known before any node runs (exit 2, nothing written)
    let f = project(&session()).env("PATH", "/usr/bin:/bin");
    let out = f.run(&["project", "run", "-i", r#"{"task": "x"}"#, "-o", "json"]);
    out.code(2);
    assert!(
        out.stderr.contains("Agent node 'worker' cannot run")
            && out
                .stderr
                .contains("npm install -g @anthropic-ai/claude-code"),
        "{}",
        out.stderr
    );
    assert!(!f.join(".trident").exists());
}

#[test]
fn malformed_lines_are_skipped_with_a_warning() {
    let mut script = vec!["this is not json".to_string()];
    script.extend(session());
    let f = project(&script);
    let out = f.run(&[
        "project",
        "run",
        "-i",
        r#"{"task": "x"}"#,
        "--telemetry",
        "--telemetry-filter",
        "warning",
    ]);
    out.code(0);
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{}", out.stdout);
    assert_eq!(events[0]["event"], "agent_output_skipped");
    assert_eq!(events[0]["level"], "WARNING");
}

#[test]
fn dry_run_makes_no_agent_call() {
    let f = project(&session());
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"task": "x"}"#,
        "-o",
        "json",
    ]);
    out.code(0);
    assert_eq!(out.json()["outputs"]["output"]["answer"], "[mock_answer]");
    assert!(!f.join("bin/argv").exists());
}
