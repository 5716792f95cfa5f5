//! A big-ish input passed through a project (input -> output) with every artifact on and
//! telemetry on stdout: each record that holds the data (outputs, the result, trace,
//! checkpoint, metadata, the run's events, the published copy) holds it exactly, written
//! as the plain JSON it always was (the engine shares one map between them and streams the
//! files instead of copying the data into each).

use serde_json::{Value, json};

use crate::support::Fixture;

/// 20 000 small objects (about 1.4 MB of JSON) and a few other kinds of values.
fn big_input() -> Value {
    let rows: Vec<Value> = (0..20_000)
        .map(|i| json!({"id": i, "v": format!("value-{i}"), "ok": i % 2 == 0, "n": f64::from(i) * 0.5, "x": null}))
        .collect();
    json!({
        "rows": rows,
        "text": "héllo \"quoted\"\n\ttabbed",
        "nested": {"deep": {"list": [1, 2.5, -3, true, null, "z"]}},
    })
}

/// `input` written to `input.json` and run with `-f`, the result as JSON and telemetry on
/// stdout (so the result goes to stderr), plus `extra` flags.
fn run_with_input(f: &Fixture, input: &Value, extra: &[&str]) -> crate::support::Out {
    std::fs::write(f.join("input.json"), serde_json::to_vec(input).unwrap()).unwrap();
    let mut args = vec![
        "project",
        "run",
        "-f",
        "input.json",
        "-o",
        "json",
        "--telemetry",
    ];
    args.extend_from_slice(extra);
    f.run(&args)
}

const PASS_THROUGH: &str = "trident: \"0.1\"\nname: pass\norchestration:\n  publish:\n    path: published/result.json\nnodes:\n  input: {type: input}\n  output: {type: output}\nedges:\n  a: {from: input, to: output, mapping: {rows: rows, text: text, nested: nested}}\n";

#[test]
fn a_big_input_passes_through_every_record_unchanged() {
    let f = Fixture::empty().file("agent.tml", PASS_THROUGH);
    let input = big_input();
    let out = run_with_input(&f, &input, &[]);
    out.code(0);

    // With telemetry on stdout, the result goes to stderr.
    let result: Value = serde_json::from_str(&out.stderr).expect("the -o json result");
    assert_eq!(result["outputs"]["output"], input);
    assert!(
        out.stdout
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "every stdout line is an event"
    );

    let outputs = f.run_file("outputs.json");
    assert_eq!(outputs, json!({ "output": input }));
    let id = f.last_run_id();
    let run_dir = f.join(&format!(".trident/runs/{id}"));
    // Written as indented JSON, byte for byte as serialising the value whole gives.
    let expected = serde_json::to_vec_pretty(&json!({ "output": input })).unwrap();
    assert_eq!(
        std::fs::read(run_dir.join("outputs.json")).unwrap(),
        expected
    );
    assert_eq!(
        std::fs::read(f.join("published/result.json")).unwrap(),
        expected
    );

    let trace = f.run_file("trace.json");
    let node = |id: &str| {
        trace["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["id"] == id)
            .unwrap_or_else(|| panic!("{id} in trace"))
            .clone()
    };
    assert_eq!(node("input")["output"], input);
    assert_eq!(node("output")["input"], input);
    assert_eq!(node("output")["output"], input);

    let checkpoint = f.run_file("checkpoint.json");
    assert_eq!(checkpoint["inputs"], input);
    assert_eq!(checkpoint["completed_nodes"]["output"]["outputs"], input);
    assert_eq!(f.run_file("metadata.json")["inputs"], input);

    // Each watched file and its recovery copy are the same bytes, and valid indented JSON.
    for name in ["trace", "checkpoint", "metadata"] {
        let file = std::fs::read(run_dir.join(format!("{name}.json"))).unwrap();
        let copy = std::fs::read(run_dir.join(format!(".{name}.prev.json"))).unwrap();
        assert_eq!(file, copy, "{name}.json and its recovery copy");
        let value: Value = serde_json::from_slice(&file).unwrap();
        assert_eq!(
            serde_json::to_vec_pretty(&value).unwrap(),
            file,
            "{name}.json"
        );
    }

    // The run's history carries the payloads whole (short strings are not truncated).
    let history = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    let events: Vec<Value> = history
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let payload = |event: &str, node: &str, field: &str| {
        events
            .iter()
            .find(|e| e["event"] == event && e["node_id"] == node)
            .unwrap_or_else(|| panic!("{event} of {node}"))["data"][field]
            .clone()
    };
    assert_eq!(payload("output_produced", "input", "outputs"), input);
    assert_eq!(payload("input_received", "output", "inputs"), input);
    assert_eq!(payload("output_produced", "output", "outputs"), input);
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as u64).collect::<Vec<_>>(),
        "no gap"
    );
}

const MAPPED: &str = "trident: \"0.1\"\nname: mapped\ndefaults: {model: anthropic/claude-test}\nnodes:\n  input: {type: input}\n  output: {type: output}\nedges:\n  a: {from: input, to: output, mapping: {table: rows, words: text, list: nested.deep.list, none: missing, api_key: token}}\n  b: {from: input, to: p, mapping: {text: text}}\n  c: {from: p, to: output, mapping: {said: text}}\n";

/// A big input (held as text, not parsed) mapped under other names, through a dotted path,
/// to a prompt node that reads it, with a secret key: every record holds exactly what the
/// parsed input would give, events hide the secret, and a resume checks the same inputs.
#[test]
fn a_big_input_mapped_renamed_and_read_gives_what_the_parsed_input_gives() {
    let f = Fixture::empty()
        .file("agent.tml", MAPPED)
        .file("prompts/p.prompt", "---\nid: p\n---\nSay {{ text }}\n");
    let mut input = big_input();
    input["token"] = json!("tok-1234567890abcdef");
    let out = run_with_input(&f, &input, &["--dry-run", "--telemetry-level", "debug"]);
    out.code(0);
    let result: Value = serde_json::from_str(&out.stderr).expect("the -o json result");
    let output = &result["outputs"]["output"];
    assert_eq!(output["table"], input["rows"]);
    assert_eq!(output["words"], input["text"]);
    assert_eq!(output["list"], json!([1, 2.5, -3, true, null, "z"]));
    assert_eq!(output["none"], Value::Null);
    assert_eq!(
        output["api_key"], input["token"],
        "outputs keep values whole"
    );
    assert_eq!(
        output.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["table", "words", "list", "none", "api_key", "said"],
        "mapping order"
    );

    // The prompt read its input: the rendered prompt carries the text.
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let rendered = events
        .iter()
        .find(|e| e["event"] == "prompt_rendered")
        .expect("prompt_rendered at debug");
    assert_eq!(
        rendered["data"]["prompt"],
        json!("Say héllo \"quoted\"\n\ttabbed")
    );
    // Events hide a secret key's value held as text, and carry the rest whole.
    let received = events
        .iter()
        .find(|e| e["event"] == "input_received" && e["node_id"] == "output")
        .expect("input_received of output");
    assert_eq!(received["data"]["inputs"]["api_key"], "[REDACTED]");
    assert_eq!(received["data"]["inputs"]["table"], input["rows"]);
    assert!(!out.stdout.contains("tok-1234567890abcdef"));

    let checkpoint = f.run_file("checkpoint.json");
    assert_eq!(checkpoint["inputs"], input);
    assert_eq!(checkpoint["completed_nodes"]["output"]["outputs"], *output);

    // A resume with the same (big) inputs is accepted; with other inputs it is refused.
    let id = f.last_run_id();
    let again = f.run(&[
        "project",
        "run",
        "--resume",
        &id,
        "-f",
        "input.json",
        "--dry-run",
    ]);
    again.code(0);
    input["rows"][7]["v"] = json!("changed");
    std::fs::write(f.join("other.json"), serde_json::to_vec(&input).unwrap()).unwrap();
    let other = f.run(&[
        "project",
        "run",
        "--resume",
        &id,
        "-f",
        "other.json",
        "--dry-run",
    ]);
    other.code(2);
    assert!(other.stderr.contains("field(s) 'rows'"), "{}", other.stderr);
}
