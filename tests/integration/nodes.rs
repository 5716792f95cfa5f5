//! Every node kind end to end: prompts (dry run and through the fake provider), conditions,
//! python and shell tools, branch loops, wait triggers, failures.

use serde_json::json;

use crate::support::fake_llm::{FakeLlm, FakeReply};
use crate::support::{Fixture, trace_ids, trace_node, wait_until};

#[test]
fn dry_run_mocks_prompts() {
    let f = Fixture::new("hello");
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name":"Ada"}"#,
        "-o",
        "json",
    ]);
    out.code(0);
    let v = out.json();
    assert_eq!(v["success"], true);
    assert_eq!(
        v["outputs"]["output"]["greeting"],
        "[DRY RUN] Mock text response"
    );
}

#[test]
fn dry_run_json_prompt_mocks_schema_and_conditions_skip() {
    let f = Fixture::new("branching");
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"message":"hi"}"#,
        "-o",
        "json",
        "--trace",
    ]);
    out.code(0);
    let v = out.json();
    // The mock sentiment matches neither condition: both responders are skipped.
    let nodes = v["trace"]["nodes"].as_array().unwrap();
    let skipped: Vec<&str> = nodes
        .iter()
        .filter(|n| n["skipped"] == true)
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, vec!["negative", "positive"]);
    let classify = trace_node(&f.run_file("trace.json"), "classify");
    assert_eq!(classify["output"]["sentiment"], "[mock_sentiment]");
    assert_eq!(
        classify["output"]["text"],
        r#"{"sentiment": "[mock_sentiment]", "message": "[mock_message]"}"#
    );
}

#[test]
fn prompts_through_openai_with_conditions() {
    let fake = FakeLlm::start();
    fake.push_reply(
        FakeReply::json(json!({"sentiment": "positive", "message": "great day"})).tokens(10, 5),
    )
    .push_reply(FakeReply::text("Hooray!").tokens(7, 3));
    let f = Fixture::new("branching").llm(&fake);
    let out = f.run(&[
        "project",
        "run",
        "-i",
        r#"{"message":"great day"}"#,
        "-o",
        "json",
    ]);
    out.code(0);
    let v = out.json();
    assert_eq!(v["outputs"]["output"]["reply"], "Hooray!");
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].path.ends_with("/chat/completions"));
    assert_eq!(requests[0].model(), Some("gpt-test"));
    assert!(
        requests[0]
            .prompt()
            .unwrap()
            .contains("Classify: great day")
    );
    let trace = f.run_file("trace.json");
    let classify = &trace_node(&trace, "classify");
    assert_eq!(classify["tokens"], json!({"input": 10, "output": 5}));
    assert_eq!(classify["model"], "openai/gpt-test");
    assert_eq!(classify["output"]["sentiment"], "positive");
    let negative = trace_node(&trace, "negative");
    assert_eq!(negative["skipped"], true);
}

#[test]
fn anthropic_text_prompt_renders_template() {
    let fake = FakeLlm::start();
    fake.push_reply(FakeReply::text("Hello, Ada!").tokens(12, 40));
    let f = Fixture::new("hello").llm(&fake);
    let out = f.run(&["project", "run", "-i", r#"{"name":"Ada"}"#, "-o", "text"]);
    out.code(0);
    // As the original printed it (Python's `json.dumps`).
    assert_eq!(out.stdout.trim(), r#"{"greeting": "Hello, Ada!"}"#);
    let req = &fake.requests()[0];
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.prompt(), Some("Say hello to Ada."));
    assert_eq!(req.body["max_tokens"], 64);
}

#[test]
fn invalid_json_from_model_fails_the_node() {
    let fake = FakeLlm::start();
    fake.push_reply(FakeReply::text("not json at all"));
    let f = Fixture::new("branching").llm(&fake);
    let out = f.run(&["project", "run", "-i", r#"{"message":"x"}"#, "-o", "json"]);
    out.code(1);
    let v = out.json();
    assert_eq!(v["success"], false);
    assert_eq!(v["error"]["node_id"], "classify");
    assert_eq!(v["error"]["cause_type"], "SchemaValidationError");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid JSON")
    );
}

#[test]
fn missing_required_input_fails_before_any_call() {
    let fake = FakeLlm::start();
    let f = Fixture::new("hello").llm(&fake);
    let out = f.run(&["project", "run", "-i", r#"{"other":"x"}"#, "-o", "json"]);
    out.code(1);
    assert!(
        out.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Missing required input(s) for 'greet': name")
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn python_and_shell_tools() {
    let f = Fixture::new("tools");
    let out = f.run(&["project", "run", "-i", r#"{"city":"Paris"}"#, "-o", "json"]);
    out.code(0);
    assert_eq!(out.json()["outputs"]["output"]["loud"], "SUNNY IN PARIS");
    let trace = f.run_file("trace.json");
    let weather = trace_node(&trace, "weather");
    assert_eq!(
        weather["output"],
        json!({"city": "Paris", "temp_c": 21, "summary": "sunny in Paris"})
    );
    assert_eq!(weather["tokens"], json!({}));
}

#[test]
fn tools_run_in_dry_run_too() {
    let f = Fixture::new("tools");
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"city":"Oslo"}"#,
        "-o",
        "json",
    ]);
    out.code(0);
    assert_eq!(out.json()["outputs"]["output"]["loud"], "SUNNY IN OSLO");
}

#[test]
fn tool_exception_fails_the_run_after_its_level() {
    let f = Fixture::new("failing");
    let out = f.run(&["project", "run", "-i", r#"{"n": 7}"#]);
    out.code(1);
    assert!(out.stdout.contains("=== Execution FAILED ==="));
    assert!(out.stdout.contains("[FAILED] boom"));
    assert!(out.stdout.contains("bad value 7"), "{}", out.stdout);
    let trace = f.run_file("trace.json");
    assert_eq!(
        trace_ids(&trace),
        ["input", "first", "boom"],
        "no later level runs"
    );
    let boom = &trace["nodes"][2];
    assert_eq!(boom["error_type"], "ToolError");
    assert!(
        trace["error"]
            .as_str()
            .unwrap()
            .starts_with("Node 'boom' (tool) failed:")
    );
    assert_eq!(f.run_file("checkpoint.json")["status"], "failed");
}

#[test]
fn branch_loops_until_condition_false() {
    let f = Fixture::new("looping");
    let out = f.run(&["project", "run", "-i", r#"{"count": 0}"#, "-o", "json"]);
    out.code(0);
    assert_eq!(out.json()["outputs"]["output"]["final"], 3);
    let id = f.last_run_id();
    for n in 0..3 {
        let it = f.read_json(&format!(
            ".trident/runs/{id}/branches/counter/iteration_{n}.json"
        ));
        assert_eq!(it["iteration"], n);
        assert_eq!(it["success"], true);
        assert_eq!(it["inputs"]["count"], n);
    }
    assert!(
        !f.join(&format!(
            ".trident/runs/{id}/branches/counter/iteration_3.json"
        ))
        .exists()
    );
    assert_eq!(f.run_file("checkpoint.json")["branch_states"]["counter"], 2);
}

#[test]
fn branch_max_iterations_fails() {
    let f = Fixture::new("looping");
    let out = f.run(&["project", "run", "-i", r#"{"count": -10}"#, "-o", "json"]);
    out.code(1);
    let v = out.json();
    assert_eq!(v["error"]["cause_type"], "BranchError");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Max iterations (5) reached")
    );
}

#[test]
fn branch_dry_run_passes_inputs_through() {
    let f = Fixture::new("looping");
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"count": 1}"#,
        "-o",
        "json",
    ]);
    out.code(0);
    let trace = f.run_file("trace.json");
    let counter = trace_node(&trace, "counter");
    assert_eq!(counter["output"], json!({"dry_run": true, "count": 1}));
}

#[test]
fn wait_trigger_runs_the_child_workflow() {
    let f = Fixture::new("triggers");
    let out = f.run(&["project", "run", "-i", r#"{"word": "hey"}"#, "-o", "json"]);
    out.code(0);
    assert_eq!(out.json()["outputs"]["output"]["result"], "HEY");
    let dry = f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"word": "hey"}"#,
        "-o",
        "json",
        "--no-artifacts",
    ]);
    dry.code(0);
    assert_eq!(dry.json()["outputs"]["output"], json!({"result": null}));
}

#[test]
fn fire_and_forget_trigger_starts_a_detached_run() {
    let f = Fixture::new("triggers").file(
        "agent.tml",
        "trident: \"0.1\"\nname: parent\nnodes:\n  input: {type: input}\n  child: {type: trigger, workflow: ./child}\n  output: {type: output}\n\
         edges:\n  in: {from: input, to: child, mapping: {word: word}}\n  out: {from: child, to: output, mapping: {pid: pid, status: status}}\n",
    );
    let out = f.run(&["project", "run", "-i", r#"{"word": "hey"}"#, "-o", "json"]);
    out.code(0);
    let v = out.json();
    assert_eq!(v["outputs"]["output"]["status"], "success");
    assert!(v["outputs"]["output"]["pid"].as_u64().unwrap() > 0);
    // The child emits its signals (emit_signal defaults to true) into its own project.
    let ready = f.join("child/.trident/signals/child.ready");
    wait_until("the detached child run's ready signal", || ready.exists());
    let outputs: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(f.join("child/.trident/runs/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(outputs["runs"][0]["status"], "completed");
}

#[test]
fn fire_and_forget_inputs_too_long_for_a_command_line_go_in_a_file() {
    // 300 KB of inputs: over Linux's 128 KiB limit for one argument.
    let word = "w".repeat(300_000);
    let f = Fixture::new("triggers")
        .file(
            "agent.tml",
            "trident: \"0.1\"\nname: parent\nnodes:\n  input: {type: input}\n  child: {type: trigger, workflow: ./echo}\n  output: {type: output}\n\
             edges:\n  in: {from: input, to: child, mapping: {word: word}}\n  out: {from: child, to: output, mapping: {status: status}}\n",
        )
        .file(
            "echo/agent.tml",
            "trident: \"0.1\"\nname: echo\nnodes:\n  input: {type: input}\n  output: {type: output}\n\
             edges:\n  out: {from: input, to: output, mapping: {word: word}}\n",
        );
    let inputs = serde_json::json!({ "word": word }).to_string();
    std::fs::write(f.join("inputs.json"), &inputs).unwrap();
    let out = f.run(&["project", "run", "-f", "inputs.json", "-o", "json"]);
    out.code(0);
    assert_eq!(out.json()["outputs"]["output"]["status"], "success");
    // The inputs file is kept with the parent's run.
    let runs = f.join(".trident/runs");
    let parent_run = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let kept = std::fs::read_to_string(parent_run.join("triggers/child.inputs.json")).unwrap();
    assert_eq!(kept, inputs);
    // The detached run got the whole word.
    let ready = f.join("echo/.trident/signals/echo.ready");
    wait_until("the detached child run's ready signal", || ready.exists());
    let index: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(f.join("echo/.trident/runs/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(index["runs"][0]["status"], "completed");
    let child_id = index["runs"][0]["run_id"].as_str().unwrap();
    let outputs: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(f.join(&format!("echo/.trident/runs/{child_id}/outputs.json")))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        outputs["output"]["word"].as_str().map(str::len),
        Some(300_000)
    );
}
