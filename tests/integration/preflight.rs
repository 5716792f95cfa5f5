//! Pre-flight checks: every mistake in a project or its inputs is caught by `validate` and
//! before `run` starts any node (exit 2, naming the file, node, edge or field), or warned
//! about (an error with `--strict`); nothing is written by a refused run.

use crate::support::{Fixture, Out};

/// input -> (tool `shout`) -> output, with `extra` manifest text appended.
fn project(edges: &str, extra: &str) -> Fixture {
    Fixture::empty().file(
        "agent.tml",
        &format!(
            r#"trident: "0.1"
name: pre
nodes:
  input:
    type: input
    schema:
      text: {{type: string, description: Text, required: true}}
      count: {{type: integer, description: How many}}
  output: {{type: output}}
tools:
  shout: {{type: shell, command: "echo {{{{ text }}}}"}}
edges:
{edges}
{extra}"#
        ),
    )
}

const EDGES: &str = "  a: {from: input, to: shout, mapping: {text: text}}\n  b: {from: shout, to: output, mapping: {said: output}}\n";

fn refused(out: &Out, needles: &[&str]) {
    out.code(2);
    for needle in needles {
        assert!(
            out.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            out.stderr
        );
    }
}

fn run(f: &Fixture, inputs: &str) -> Out {
    f.run(&["project", "run", "-i", inputs])
}

#[test]
fn clean_project_passes_strict_validation_and_runs() {
    let f = project(EDGES, "");
    let out = f.run(&["project", "validate", "--strict"]);
    out.code(0);
    assert!(!out.stdout.contains("Warnings"), "{}", out.stdout);
    let out = run(&f, r#"{"text": "hi", "count": 2}"#);
    out.code(0);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

#[test]
fn condition_syntax_errors_name_the_edge_and_file() {
    let edges = EDGES.replace(
        "mapping: {said: output}",
        "mapping: {said: output}, condition: \"output ==\"",
    );
    let f = project(&edges, "");
    for args in [
        &["project", "validate"][..],
        &["project", "run", "-i", r#"{"text": "x"}"#],
    ] {
        refused(
            &f.run(args),
            &["agent.tml", "Edge 'b' (shout -> output)", "`output ==`"],
        );
    }
    assert!(!f.join(".trident").exists());
    let f = Fixture::empty().file(
        "agent.tml",
        "trident: \"0.1\"\nname: n\nnodes:\n  again: {type: branch, workflow: self, loop_while: \"score <\"}\n",
    );
    refused(
        &f.run(&["project", "validate"]),
        &["Branch node 'again'", "loop_while", "score <"],
    );
}

fn read(f: &Fixture) -> String {
    std::fs::read_to_string(f.join("agent.tml")).unwrap()
}

#[test]
fn undeclared_edge_endpoint_suggests_the_closest_node() {
    let f = project(&EDGES.replace("to: output", "to: ouput"), "");
    let out = f.run(&["project", "validate"]);
    out.code(0);
    assert!(
        out.stdout.contains("Node 'ouput' is declared nowhere"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("did you mean 'output'?"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("(edge: b)"), "{}", out.stdout);
    f.run(&["project", "validate", "--strict"]).code(2);
    let out = run(&f, r#"{"text": "x"}"#);
    out.code(0);
    assert!(
        out.stderr.contains("did you mean 'output'?"),
        "{}",
        out.stderr
    );
}

#[test]
fn unknown_template_variable_warns() {
    let f = project(
        &format!("{EDGES}  c: {{from: input, to: greet, mapping: {{text: text}}}}\n"),
        "",
    )
    .file(
        "prompts/greet.prompt",
        "---\nid: greet\ninput:\n  text: {type: string}\n---\nSay {{ text }} to {{ nmae }}.\n",
    );
    let out = f.run(&["project", "validate"]);
    out.code(0);
    assert!(out.stdout.contains("greet.prompt"), "{}", out.stdout);
    assert!(out.stdout.contains("{{ nmae }}"), "{}", out.stdout);
    assert!(!out.stdout.contains("{{ text }}"), "{}", out.stdout);
    f.run(&["project", "validate", "--strict"]).code(2);
}

#[test]
fn shell_placeholder_without_mapping_is_refused_before_the_run() {
    let f = project(
        &EDGES.replace("mapping: {text: text}", "mapping: {txt: text}"),
        "",
    );
    refused(
        &f.run(&["project", "validate"]),
        &["shell tool 'shout' uses {{ text }}", "mapped: txt"],
    );
    refused(&run(&f, r#"{"text": "x"}"#), &["shell tool 'shout'"]);
    assert!(!f.join(".trident").exists());
}

#[test]
fn declared_tool_outputs_are_checked_and_undeclared_ones_are_not_guessed() {
    let edges = "  a: {from: input, to: shout, mapping: {text: text}}\n  b: {from: shout, to: output, mapping: {said: spoken}}\n";
    let f = project(edges, "");
    let out = f.run(&["project", "validate", "--strict"]);
    out.code(0);
    let declared = Fixture::empty().file(
        "agent.tml",
        &read(&f).replace(
            "command: \"echo {{ text }}\"}",
            "command: \"echo {{ text }}\", outputs: {output: {type: string, description: Said}}}",
        ),
    );
    let out = declared.run(&["project", "validate"]);
    out.code(0);
    assert!(
        out.stdout.contains("Source field 'spoken' may not exist in 'shout' (tool) output. Available fields: ['output']"),
        "{}",
        out.stdout
    );
}

#[test]
fn inputs_are_checked_against_the_input_schema() {
    let f = project(EDGES, "");
    refused(
        &run(&f, r#"{"count": 2}"#),
        &["Input 'text' of node 'input' is required", "-i"],
    );
    refused(
        &run(&f, r#"{"text": "x", "count": "two"}"#),
        &["Input 'count'", "must be an integer"],
    );
    refused(
        &run(&f, r#"{"text": 5}"#),
        &["Input 'text'", "must be a string"],
    );
    assert!(!f.join(".trident").exists(), "refused runs write nothing");
    let out = run(&f, r#"{"text": "x"}"#);
    out.code(0);
    assert!(
        out.stderr
            .contains("Input 'count' of node 'input' (integer) is missing"),
        "{}",
        out.stderr
    );
}

#[test]
fn manifest_telemetry_section_is_validated_like_a_run() {
    let f = project(EDGES, "telemetry:\n  format: xml\n");
    refused(
        &f.run(&["project", "validate"]),
        &["telemetry.format", "jsonl, human"],
    );
}

#[test]
fn manifest_telemetry_errors_name_the_manifest_and_the_key() {
    // `<manifest path>: telemetry.<key>: ...` for the stream settings, the metrics
    // destinations and the hooks, from `validate` and from `run` alike, before any node.
    let cases = [
        (
            "telemetry:\n  level: loud\n",
            "telemetry.level: invalid value \"loud\"",
        ),
        (
            "telemetry:\n  colour: red\n",
            "telemetry.colour: unknown key",
        ),
        (
            "telemetry:\n  metrics_file: 5\n",
            "telemetry.metrics_file: invalid value 5",
        ),
        (
            "telemetry:\n  hooks:\n    - on: node_failed\n      webhook: ftp://x\n",
            "telemetry.hooks: hook 1 (webhook ftp://x): ",
        ),
    ];
    for (section, message) in cases {
        let f = Fixture::hello_with_manifest_tail(section);
        let expected = format!("{}: {message}", f.join("agent.tml").display());
        for args in [
            &["project", "validate"][..],
            &["project", "run", "--dry-run", "-i", r#"{"name": "A"}"#],
        ] {
            let out = f.run(args);
            out.code(2);
            assert!(out.stderr.contains(&expected), "{args:?}: {}", out.stderr);
        }
        assert!(!f.join(".trident").exists(), "no node ran");
    }
}

#[test]
fn manifest_numbers_are_typed() {
    let f = Fixture::empty().file(
        "agent.tml",
        "trident: \"0.1\"\nname: n\nnodes:\n  b: {type: branch, workflow: self, max_iterations: \"five\"}\n",
    );
    refused(
        &f.run(&["project", "validate"]),
        &[
            "Branch node 'b'",
            "`max_iterations` must be a whole number",
            "five",
        ],
    );
    let f = Fixture::empty().file(
        "agent.tml",
        "trident: \"0.1\"\nname: n\ndefaults:\n  temperature: warm\n",
    );
    refused(
        &f.run(&["project", "validate"]),
        &["defaults", "`temperature`", "warm"],
    );
}

#[test]
fn prompt_frontmatter_errors_report_the_file_line() {
    // Line 4 of the file holds the bad YAML (line 1 is `---`).
    let f = Fixture::empty()
        .file("agent.tml", "trident: \"0.1\"\nname: p\n")
        .file(
            "prompts/p.prompt",
            "---\nid: p\nname: ok\nbad: [unclosed\n---\nHi\n",
        );
    let out = f.run(&["project", "validate"]);
    refused(&out, &["p.prompt", "line 4"]);
}

#[test]
fn shipped_example_passes_strict_validation_without_warnings() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/weather-report");
    let out = Fixture::empty().run(&["project", "validate", "--strict", example.to_str().unwrap()]);
    out.code(0);
    assert!(!out.stdout.contains("Warnings"), "{}", out.stdout);
}

#[test]
fn python_tool_problems_are_found_without_running_user_code() {
    let manifest = "trident: \"0.1\"\nname: py\nnodes:\n  input: {type: input, schema: {n: {type: number, description: n}}}\n  output: {type: output}\ntools:\n  calc: {type: python, module: calc, function: compute}\nedges:\n  a: {from: input, to: calc, mapping: {n: n}}\n  b: {from: calc, to: output, mapping: {n: n}}\n";
    let side_effect = "open('imported.txt', 'w').write('user code ran')\n";
    let f = Fixture::empty().file("agent.tml", manifest).file(
        "tools/calc.py",
        &format!("{side_effect}def other(n):\n    return n\n"),
    );
    refused(
        &f.run(&["project", "validate"]),
        &["Tool 'calc'", "defines no function 'compute'"],
    );
    refused(
        &f.run(&["project", "run", "-i", r#"{"n": 1}"#]),
        &["defines no function 'compute'"],
    );
    let f = f.file(
        "tools/calc.py",
        &format!("{side_effect}def compute(n):\n    return {{'n': n}}\n"),
    );
    f.run(&["project", "validate", "--strict"]).code(0);
    assert!(
        !f.join("imported.txt").exists(),
        "validation imported the module"
    );
    let f = Fixture::empty().file("agent.tml", manifest);
    refused(
        &f.run(&["project", "validate"]),
        &["Tool module not found for tool 'calc'"],
    );
}
