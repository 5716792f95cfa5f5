//! Cost: prompt nodes priced from the fake provider's reported usage (cache tokens
//! included), manifest `pricing:`, `price_unknown`, and the `--max-cost` budget.

use serde_json::Value;

use crate::support::fake_llm::{FakeLlm, FakeReply};
use crate::support::{Fixture, trace_node};

fn events(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON event ({e}): {l}")))
        .collect()
}

fn event<'a>(events: &'a [Value], name: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no {name} event"))
}

fn close(actual: &Value, expected: f64) {
    let got = actual
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {actual}"));
    assert!((got - expected).abs() < 1e-12, "{got} != {expected}");
}

/// input -> a, b (two prompts on one model) -> output.
fn two_prompts(model: &str, pricing: &str) -> Fixture {
    let prompt = |id: &str| {
        format!(
            "---\nid: {id}\ninput:\n  name: {{type: string, required: true}}\noutput:\n  \
             format: text\n---\nGreet {{{{ name }}}} as {id}.\n"
        )
    };
    Fixture::empty()
        .file(
            "agent.tml",
            &format!(
                "trident: \"0.1\"\nname: two\ndefaults:\n  model: {model}\n{pricing}\nnodes:\n  \
                 input: {{type: input}}\n  output: {{type: output}}\nedges:\n  \
                 e1: {{from: input, to: a, mapping: {{name: name}}}}\n  \
                 e2: {{from: a, to: b, mapping: {{name: text}}}}\n  \
                 e3: {{from: b, to: output, mapping: {{b: text}}}}\n"
            ),
        )
        .file("prompts/a.prompt", &prompt("a"))
        .file("prompts/b.prompt", &prompt("b"))
}

#[test]
fn anthropic_cost_prices_input_output_and_cache_tokens() {
    let fake = FakeLlm::start();
    fake.push_reply(
        FakeReply::text("Hello Ada")
            .tokens(1000, 500)
            .cache_tokens(2000, 400),
    );
    let f = Fixture::hello_with_model("anthropic/claude-sonnet-4-20250514").llm(&fake);
    let out = f.run(&[
        "project",
        "run",
        "-i",
        r#"{"name":"Ada"}"#,
        "--telemetry",
        "--telemetry-level",
        "verbose",
    ]);
    out.code(0);
    // Built-in price of claude-sonnet-4: 3 / 15 / 0.3 (cache read) / 3.75 (cache write).
    let expected = (1000.0 * 3.0 + 500.0 * 15.0 + 2000.0 * 0.3 + 400.0 * 3.75) / 1e6;

    let trace = f.run_file("trace.json");
    let greet = trace_node(&trace, "greet");
    close(&greet["cost_usd"], expected);
    assert_eq!(greet["tokens"]["input"], 1000);
    assert_eq!(greet["tokens"]["output"], 500);
    assert_eq!(greet["tokens"]["cache_read_input_tokens"], 2000);
    assert_eq!(greet["tokens"]["cache_creation_input_tokens"], 400);
    assert_eq!(greet["prompt"], "Say hello to Ada.");
    assert!(trace_node(&trace, "input").get("prompt").is_none());
    close(&f.run_file("checkpoint.json")["total_cost_usd"], expected);

    let evs = events(&out.stdout);
    let usage = event(&evs, "token_usage");
    assert_eq!(usage["data"]["cache_read_input_tokens"], 2000);
    assert_eq!(usage["data"]["cache_creation_input_tokens"], 400);
    close(&usage["data"]["cost_usd"], expected);
    let incurred = event(&evs, "cost_incurred");
    close(&incurred["data"]["cost_usd"], expected);
    close(&incurred["data"]["total_cost_usd"], expected);
    let completed = evs
        .iter()
        .find(|e| e["event"] == "node_completed" && e["node_id"] == "greet")
        .unwrap();
    close(&completed["data"]["cost_usd"], expected);
    close(
        &event(&evs, "workflow_completed")["data"]["cost_usd"],
        expected,
    );
    let rendered = event(&evs, "prompt_rendered");
    assert_eq!(rendered["level"], "DEBUG");
    assert_eq!(rendered["node_id"], "greet");
    assert_eq!(
        rendered["data"]["model"],
        "anthropic/claude-sonnet-4-20250514"
    );
    assert_eq!(rendered["data"]["prompt"], "Say hello to Ada.");
    assert_eq!(rendered["data"]["chars"], 17);
    assert!(evs.iter().all(|e| e["event"] != "price_unknown"));
}

#[test]
fn openai_usage_and_cached_prompt_tokens_are_recorded_and_priced() {
    let fake = FakeLlm::start();
    fake.push_reply(FakeReply::text("hi").tokens(1000, 200).cache_tokens(600, 0))
        .push_reply(FakeReply::text("hi").tokens(10, 20));
    let f = two_prompts("openai/gpt-4o-mini", "").llm(&fake);
    f.run(&["project", "run", "-i", r#"{"name":"Ada"}"#])
        .code(0);
    let trace = f.run_file("trace.json");
    let a = trace_node(&trace, "a");
    // gpt-4o-mini: 0.15 input, 0.075 cached input, 0.6 output; cached tokens are part of
    // prompt_tokens.
    let cost_a = (400.0 * 0.15 + 600.0 * 0.075 + 200.0 * 0.6) / 1e6;
    close(&a["cost_usd"], cost_a);
    assert_eq!(a["tokens"]["input"], 1000);
    assert_eq!(a["tokens"]["cache_read_input_tokens"], 600);
    assert!(a["tokens"].get("cache_creation_input_tokens").is_none());
    let cost_b = (10.0 * 0.15 + 20.0 * 0.6) / 1e6;
    close(&trace_node(&trace, "b")["cost_usd"], cost_b);
    close(
        &f.run_file("checkpoint.json")["total_cost_usd"],
        cost_a + cost_b,
    );
}

#[test]
fn unknown_models_cost_null_with_one_price_unknown_and_pricing_fills_them_in() {
    let fake = FakeLlm::start();
    let f = two_prompts("openai/my-local-model", "").llm(&fake);
    let out = f.run(&["project", "run", "-i", r#"{"name":"Ada"}"#, "--telemetry"]);
    out.code(0);
    let evs = events(&out.stdout);
    let unknown: Vec<&Value> = evs
        .iter()
        .filter(|e| e["event"] == "price_unknown")
        .collect();
    assert_eq!(unknown.len(), 1, "one warning per model and run");
    assert_eq!(unknown[0]["level"], "WARNING");
    assert_eq!(unknown[0]["data"]["model"], "openai/my-local-model");
    for e in evs
        .iter()
        .filter(|e| e["event"] == "node_completed" && (e["node_id"] == "a" || e["node_id"] == "b"))
    {
        assert!(e["data"]["cost_usd"].is_null(), "never a silent 0: {e}");
    }
    let trace = f.run_file("trace.json");
    assert!(trace_node(&trace, "a")["cost_usd"].is_null());

    // The manifest's pricing: names the price; input 2, output 4 USD per million tokens.
    let priced = two_prompts(
        "openai/my-local-model",
        "pricing:\n  openai/my-local-model: {input: 2, output: 4}",
    )
    .llm(&fake);
    fake.push_reply(FakeReply::text("x").tokens(100, 10))
        .push_reply(FakeReply::text("y").tokens(100, 10));
    let out = priced.run(&["project", "run", "-i", r#"{"name":"Ada"}"#, "--telemetry"]);
    out.code(0);
    assert!(
        events(&out.stdout)
            .iter()
            .all(|e| e["event"] != "price_unknown")
    );
    let trace = priced.run_file("trace.json");
    close(
        &trace_node(&trace, "b")["cost_usd"],
        (100.0 * 2.0 + 10.0 * 4.0) / 1e6,
    );
}

#[test]
fn bad_pricing_entries_are_refused_with_exit_2() {
    for (entry, fragment) in [
        ("{input: -1, output: 2}", "'input' is -1"),
        ("{input: cheap, output: 2}", "not a number"),
    ] {
        let f = two_prompts(
            "openai/gpt-4o",
            &format!("pricing:\n  openai/gpt-4o: {entry}"),
        );
        let out = f.run(&["project", "run", "-i", r#"{"name":"Ada"}"#, "--dry-run"]);
        out.code(2);
        assert!(
            out.stderr.contains("pricing entry 'openai/gpt-4o'"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains(fragment), "{}", out.stderr);
        assert!(out.stderr.contains("agent.tml"), "{}", out.stderr);
        assert!(!f.join(".trident").exists(), "nothing ran");
    }
}

#[test]
fn max_cost_stops_new_nodes_and_a_resume_with_a_higher_budget_finishes() {
    let fake = FakeLlm::start();
    // Every call costs exactly $1: one input token at $1,000,000 per million.
    let f = two_prompts(
        "openai/metered",
        "pricing:\n  openai/metered: {input: 1000000, output: 0}",
    )
    .llm(&fake);
    fake.push_reply(FakeReply::text("x").tokens(1, 1))
        .push_reply(FakeReply::text("y").tokens(1, 1));
    let out = f.run(&[
        "project",
        "run",
        "-i",
        r#"{"name":"Ada"}"#,
        "--max-cost",
        "1",
        "-o",
        "json",
        "--run-id",
        "budget-run",
    ]);
    out.code(1);
    let result = out.json();
    assert_eq!(result["error"]["cause_type"], "BudgetExceeded");
    assert_eq!(result["error"]["node_id"], "b");
    assert!(
        result["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--resume budget-run --max-cost"),
        "{result}"
    );
    assert_eq!(fake.requests().len(), 1, "b never started");
    let trace = f.run_file("trace.json");
    assert_eq!(trace_node(&trace, "b")["error_type"], "BudgetExceeded");
    let checkpoint = f.run_file("checkpoint.json");
    assert_eq!(checkpoint["status"], "failed");
    close(&checkpoint["total_cost_usd"], 1.0);

    // The same budget is still spent: nothing more starts.
    f.run(&[
        "project",
        "run",
        "--resume",
        "budget-run",
        "--max-cost",
        "1",
    ])
    .code(1);
    assert_eq!(fake.requests().len(), 1);
    // A higher budget (here from the environment) continues where the run stopped.
    let out = f
        .command(&["project", "run", "--resume", "budget-run", "-o", "json"])
        .env("TRIDENT_MAX_COST", "5")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fake.requests().len(), 2);
    close(&f.run_file("checkpoint.json")["total_cost_usd"], 2.0);
}

#[test]
fn bad_budgets_are_refused_with_exit_2() {
    let f = two_prompts("openai/gpt-4o", "");
    for value in ["-1", "abc", "0", "nan"] {
        let out = f.run(&["project", "run", "--dry-run", "--max-cost", value]);
        out.code(2);
        assert!(
            out.stderr.contains("--max-cost must be a positive number"),
            "{}",
            out.stderr
        );
    }
    let out = f
        .command(&["project", "run", "--dry-run"])
        .env("TRIDENT_MAX_COST", "-1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TRIDENT_MAX_COST"));
    assert!(!f.join(".trident").exists(), "nothing ran");
}
