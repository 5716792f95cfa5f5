//! Sub-workflow spend in the parent: a branch loop of priced prompts is rolled into the
//! branch node and the parent's totals (workflow_completed, trace.json, checkpoint, show,
//! stats), and `--max-cost` counts it: a budget crossed inside the loop fails the parent
//! with `BudgetExceeded`, and a resume with a higher budget finishes with every attempt's
//! spend in the total.

use serde_json::{Value, json};

use crate::support::fake_llm::{FakeLlm, FakeReply};
use crate::support::{Fixture, trace_node, wait_until};

/// A branch `loop` running `sub/step.tml` while `n < 3`: each iteration calls `think`
/// (text) then `count` (json `{n}`), on a model that costs exactly $1 per call.
fn priced_loop() -> Fixture {
    priced_loop_with("")
}

/// [`priced_loop`] with `extra` appended to the sub-workflow's manifest.
fn priced_loop_with(extra: &str) -> Fixture {
    let pricing = "defaults:\n  model: openai/metered\npricing:\n  openai/metered: {input: 1000000, output: 0}\n";
    Fixture::empty()
        .file(
            "agent.tml",
            "trident: \"0.1\"\nname: parent\nnodes:\n  input: {type: input}\n  \
             loop: {type: branch, workflow: ./sub/step.tml, loop_while: \"n < 3\", max_iterations: 5}\n  \
             output: {type: output}\nedges:\n  \
             in: {from: input, to: loop, mapping: {n: n}}\n  \
             out: {from: loop, to: output, mapping: {n: n}}\n",
        )
        .file(
            "sub/step.tml",
            &format!(
                "trident: \"0.1\"\nname: step\n{pricing}nodes:\n  input: {{type: input}}\n  \
                 output: {{type: output}}\nedges:\n  \
                 a: {{from: input, to: think, mapping: {{n: n}}}}\n  \
                 b: {{from: input, to: count, mapping: {{n: n}}}}\n  \
                 c: {{from: think, to: count, mapping: {{thought: text}}}}\n  \
                 d: {{from: count, to: output, mapping: {{n: n}}}}\n{extra}"
            ),
        )
        .file(
            "sub/prompts/think.prompt",
            "---\nid: think\ninput:\n  n: {type: number}\noutput:\n  format: text\n---\nThink about {{ n }}.\n",
        )
        .file(
            "sub/prompts/count.prompt",
            "---\nid: count\ninput:\n  n: {type: number}\n  thought: {type: string}\noutput:\n  \
             format: json\n  schema:\n    n: {type: number, description: next}\n---\nCount from {{ n }}.\n",
        )
}

/// The fake's replies for iterations `from..=to`: think, then count returning `n`.
fn iterations(fake: &FakeLlm, from: u64, to: u64) {
    for n in from..=to {
        fake.push_reply(FakeReply::text("hmm").tokens(1, 2));
        fake.push_reply(FakeReply::json(json!({"n": n})).tokens(1, 2));
    }
}

fn events(f: &Fixture, file: &str) -> Vec<Value> {
    std::fs::read_to_string(f.join(file))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The top-level run's `event` (sub-runs carry a `parent_run_id`).
fn top_level<'a>(events: &'a [Value], event: &str) -> &'a Value {
    events
        .iter()
        .rfind(|e| e["event"] == event && e.get("parent_run_id").is_none_or(Value::is_null))
        .unwrap_or_else(|| panic!("no top-level {event}"))
}

fn close(actual: &Value, expected: f64) {
    let got = actual
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {actual}"));
    assert!((got - expected).abs() < 1e-9, "{got} != {expected}");
}

/// Resume run `id` (with `extra` flags) to its end (`n` = 3): the checkpoint's total and
/// `workflow_completed.cost_usd` are both `total`, every attempt included.
fn finish_resumed(f: &Fixture, id: &str, extra: &[&str], total: f64) {
    let resume = ["project", "run", "--resume", id, "-o", "json"];
    let telemetry = ["--telemetry", "--telemetry-file", "t.jsonl"];
    let out = f.run(&[&resume[..], extra, &telemetry[..]].concat());
    out.code(0);
    assert_eq!(out.json()["outputs"]["output"]["n"], 3);
    let checkpoint = f.read_json(&format!(".trident/runs/{id}/checkpoint.json"));
    close(&checkpoint["total_cost_usd"], total);
    let events = events(f, "t.jsonl");
    close(
        &top_level(&events, "workflow_completed")["data"]["cost_usd"],
        total,
    );
}

#[test]
fn a_branch_loops_spend_is_in_the_parents_totals() {
    let fake = FakeLlm::start();
    iterations(&fake, 1, 3);
    let f = priced_loop().llm(&fake);
    let run = ["project", "run", "-i", r#"{"n": 0}"#, "--run-id", "p1"];
    let telemetry = ["--telemetry", "--telemetry-file", "t.jsonl"];
    let out = f.run(&[&run[..], &telemetry[..], &["-o", "json"]].concat());
    out.code(0);
    assert_eq!(out.json()["outputs"]["output"]["n"], 3);
    assert_eq!(fake.requests().len(), 6, "three iterations of two calls");

    // Six calls of $1, 1 input and 2 output tokens each.
    let events = events(&f, "t.jsonl");
    let done = &top_level(&events, "workflow_completed")["data"];
    close(&done["cost_usd"], 6.0);
    assert_eq!(done["input_tokens"], 6);
    assert_eq!(done["output_tokens"], 12);
    let node = events
        .iter()
        .find(|e| e["event"] == "node_completed" && e["node_id"] == "loop")
        .unwrap();
    close(&node["data"]["cost_usd"], 6.0);
    assert_eq!(node["data"]["output_tokens"], 12);
    let trace = f.read_json(".trident/runs/p1/trace.json");
    close(&trace_node(&trace, "loop")["cost_usd"], 6.0);
    assert_eq!(trace_node(&trace, "loop")["tokens"]["input"], 6);
    let checkpoint = f.read_json(".trident/runs/p1/checkpoint.json");
    close(&checkpoint["total_cost_usd"], 6.0);

    // `project show` and `telemetry stats` report the same totals, counted once.
    let show = f.run(&["project", "show", "--run", "p1", "--json"]);
    show.code(0);
    close(&show.json()["run"]["cost_usd"], 6.0);
    assert_eq!(show.json()["run"]["output_tokens"], 12);
    let stats = f.run(&["telemetry", "stats", "t.jsonl", "--json"]);
    stats.code(0);
    let stats = stats.json();
    assert_eq!(
        stats["runs"].as_array().unwrap().len(),
        4,
        "p1 and 3 sub-runs"
    );
    close(&stats["across_runs"]["cost_usd"], 6.0);
    assert_eq!(stats["across_runs"]["input_tokens"], 6);
}

#[test]
fn max_cost_crossed_inside_a_loop_fails_the_parent_and_resumes() {
    let fake = FakeLlm::start();
    // Iteration 1 spends $2; iteration 2's `think` reaches the $3 budget, so its `count`
    // is refused inside the sub-workflow.
    iterations(&fake, 1, 1);
    fake.push_reply(FakeReply::text("hmm").tokens(1, 2));
    let f = priced_loop().llm(&fake);
    let out = f.run(&[
        "project",
        "run",
        "-i",
        r#"{"n": 0}"#,
        "--run-id",
        "b1",
        "--max-cost",
        "3",
        "-o",
        "json",
    ]);
    out.code(1);
    let result = out.json();
    assert_eq!(result["error"]["cause_type"], "BudgetExceeded", "{result}");
    assert_eq!(result["error"]["node_id"], "loop");
    let message = result["error"]["message"].as_str().unwrap();
    assert!(message.contains("--resume b1 --max-cost"), "{message}");
    assert!(
        message.contains("node 'count' of the sub-workflow of 'loop'"),
        "{message}"
    );
    assert_eq!(
        fake.requests().len(),
        3,
        "count of iteration 2 never called"
    );
    let trace = f.read_json(".trident/runs/b1/trace.json");
    assert_eq!(trace_node(&trace, "loop")["error_type"], "BudgetExceeded");
    close(&trace_node(&trace, "loop")["cost_usd"], 3.0);
    let checkpoint = f.read_json(".trident/runs/b1/checkpoint.json");
    assert_eq!(checkpoint["status"], "failed");
    close(&checkpoint["total_cost_usd"], 3.0);
    assert_eq!(checkpoint["branch_states"]["loop"], 0, "iteration 1 done");

    // The same budget is spent already: the resume stops before iteration 2.
    let again = f.run(&["project", "run", "--resume", "b1", "--max-cost", "3"]);
    again.code(1);
    let said = format!("{}{}", again.stdout, again.stderr);
    assert!(said.contains("node 'loop' was not started"), "{said}");
    assert_eq!(fake.requests().len(), 3);

    // A higher budget redoes iteration 2 and runs iteration 3: every attempt's spend counts.
    iterations(&fake, 2, 3);
    finish_resumed(&f, "b1", &["--max-cost", "100"], 7.0);
    assert_eq!(fake.requests().len(), 7);
}

#[test]
fn an_interrupted_loop_keeps_its_spend_for_the_resume() {
    let fake = FakeLlm::start();
    iterations(&fake, 1, 2);
    // Each iteration also naps 2 s after `count`: the signal lands in iteration 2's nap.
    let f = priced_loop_with(
        "  e: {from: count, to: nap, mapping: {n: n}}\n  f: {from: nap, to: output, mapping: {z: output}}\n\
         tools:\n  nap: {type: shell, command: \"sleep 2 && echo rested\"}\n",
    )
    .llm(&fake);
    let mut child = f
        .command(&["project", "run", "-i", r#"{"n": 0}"#, "--run-id", "i1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("iteration 1 done and iteration 2 called the model", || {
        f.join(".trident/runs/i1/branches/loop/iteration_0.json")
            .is_file()
            && fake.requests().len() >= 4
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let checkpoint = f.read_json(".trident/runs/i1/checkpoint.json");
    assert_eq!(checkpoint["status"], "interrupted");
    // Two iterations of two $1 calls, none of them a completed node of the parent.
    close(&checkpoint["total_cost_usd"], 4.0);
    assert_eq!(checkpoint["branch_states"]["loop"], 0);

    // The resume redoes iteration 2 and runs iteration 3: $4 more.
    iterations(&fake, 2, 3);
    finish_resumed(&f, "i1", &[], 8.0);
}
