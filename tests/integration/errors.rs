//! Bad input: every malformed manifest, prompt, flag or input is a clear one-paragraph
//! error naming the file/flag/node, exit code 2, no panic, nothing on disk damaged.

use crate::support::{Fixture, Out};

const BASE: &str = "trident: \"0.1\"\nname: bad\n";

fn manifest_error(manifest: &str) -> Out {
    let f = Fixture::empty().file("agent.tml", manifest);
    let out = f.run(&["project", "validate"]);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out
}

fn assert_error(out: &Out, needles: &[&str]) {
    out.code(2);
    for needle in needles {
        assert!(
            out.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            out.stderr
        );
    }
    assert!(out.stderr.starts_with("Error: "), "{}", out.stderr);
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let out = manifest_error("trident: \"0.1\"\nname: [bad\nnodes: {}\n");
    assert_error(&out, &["agent.tml", "line"]);
}

#[test]
fn missing_required_keys() {
    assert_error(
        &manifest_error("name: x\n"),
        &["Missing 'trident'", "agent.tml"],
    );
    assert_error(&manifest_error("trident: \"0.1\"\n"), &["Missing 'name'"]);
}

#[test]
fn tool_under_nodes() {
    let out = manifest_error(&format!("{BASE}nodes:\n  t:\n    type: tool\n"));
    assert_error(&out, &["Node 't' has type 'tool'", "tools:"]);
}

#[test]
fn branch_and_trigger_need_workflow_and_valid_mode() {
    assert_error(
        &manifest_error(&format!("{BASE}nodes:\n  b:\n    type: branch\n")),
        &["Branch node 'b' missing required 'workflow'"],
    );
    assert_error(
        &manifest_error(&format!("{BASE}nodes:\n  t:\n    type: trigger\n")),
        &["Trigger node 't' missing required 'workflow'"],
    );
    assert_error(
        &manifest_error(&format!(
            "{BASE}nodes:\n  t:\n    type: trigger\n    workflow: ./x\n    mode: later\n"
        )),
        &["invalid mode 'later'", "fire-and-forget"],
    );
}

#[test]
fn agent_execution_mode() {
    let f = Fixture::empty()
        .file(
            "agent.tml",
            &format!("{BASE}nodes:\n  a:\n    type: agent\n    execution_mode: turbo\n"),
        )
        .file("prompts/a.prompt", "---\nid: a\n---\nDo it");
    assert_error(
        &f.run(&["project", "validate"]),
        &["invalid execution_mode 'turbo'", "'cli'"],
    );
    let f = Fixture::empty()
        .file(
            "agent.tml",
            &format!("{BASE}nodes:\n  a:\n    type: agent\n    execution_mode: sdk\n"),
        )
        .file("prompts/a.prompt", "---\nid: a\n---\nDo it");
    assert_error(
        &f.run(&["project", "validate"]),
        &["execution_mode 'sdk'", "execution_mode: cli"],
    );
}

#[test]
fn shorthand_schema_field() {
    let out = manifest_error(&format!(
        "{BASE}nodes:\n  input:\n    type: input\n    schema:\n      text: string, the text\n"
    ));
    assert_error(
        &out,
        &[
            "Invalid schema field 'text' in node 'input'",
            "type: string",
        ],
    );
}

#[test]
fn cycles_and_unknown_nodes() {
    // Only the nodes on the cycle are named, not `c`, which is merely downstream of it.
    let cycle = format!(
        "{BASE}tools:\n  a: {{type: shell, command: 'echo a'}}\n  b: {{type: shell, command: 'echo b'}}\n\
         \x20 c: {{type: shell, command: 'echo c'}}\n\
         edges:\n  e1: {{from: a, to: b}}\n  e2: {{from: b, to: a}}\n  e3: {{from: b, to: c}}\n"
    );
    let out = manifest_error(&cycle);
    assert_error(&out, &["cycle detected in the DAG: a -> b -> a."]);
    assert!(
        !out.stderr.contains("c,") && !out.stderr.contains("-> c"),
        "{}",
        out.stderr
    );
    let missing_prompt =
        format!("{BASE}nodes:\n  greet:\n    type: prompt\n    prompt: prompts/greet.prompt\n");
    assert_error(
        &manifest_error(&missing_prompt),
        &["greet", "prompts/greet.prompt"],
    );
    let no_to = format!("{BASE}edges:\n  e1: {{from: input}}\n");
    assert_error(&manifest_error(&no_to), &["Edge 'e1'", "'to'"]);
    let unknown_type = format!("{BASE}nodes:\n  x:\n    type: promt\n");
    assert_error(
        &manifest_error(&unknown_type),
        &["unknown type 'promt'", "Accepted types"],
    );
}

#[test]
fn bad_prompt_files() {
    let f = Fixture::empty()
        .file("agent.tml", BASE)
        .file("prompts/a.prompt", "no frontmatter");
    assert_error(
        &f.run(&["project", "validate"]),
        &["a.prompt", "frontmatter"],
    );
    let f = Fixture::empty()
        .file("agent.tml", BASE)
        .file("prompts/a.prompt", "---\nname: x\n---\nbody");
    assert_error(
        &f.run(&["project", "validate"]),
        &["Missing required 'id'", "a.prompt"],
    );
    let f = Fixture::empty()
        .file("agent.tml", BASE)
        .file("prompts/a.prompt", "---\nid: [x\n---\nbody");
    assert_error(&f.run(&["project", "validate"]), &["a.prompt", "line"]);
}

#[test]
fn no_manifest() {
    let f = Fixture::empty();
    assert_error(
        &f.run(&["project", "validate"]),
        &["No agent.tml, trident.tml, or trident.yaml"],
    );
    assert_error(
        &f.run(&["project", "run", "does-not-exist"]),
        &["does-not-exist"],
    );
}

#[test]
fn bad_inputs_and_flags() {
    let f = Fixture::new("hello");
    assert_error(
        &f.run(&["project", "run", "--dry-run", "-i", "{not json"]),
        &["Invalid JSON in --input"],
    );
    assert_error(
        &f.run(&["project", "run", "--dry-run", "-i", "[1,2]"]),
        &["--input must be a JSON object"],
    );
    assert_error(
        &f.run(&["project", "run", "--dry-run", "-f", "nope.json"]),
        &["nope.json", "--input-file"],
    );
    assert_error(
        &f.run(&["project", "run", "--dry-run", "--input-from", "alias:ghost"]),
        &["ghost.json"],
    );
    assert_error(
        &f.run(&["project", "run", "--dry-run", "-e", "ghost"]),
        &["Entrypoint 'ghost'", "Known nodes"],
    );
    let bad_flag = f.run(&["project", "run", "--output", "xml"]);
    bad_flag.code(2);
    assert!(bad_flag.stderr.contains("xml"));
    assert!(!f.join(".trident").exists(), "a refused run writes nothing");
}

#[test]
fn resume_and_start_from_errors_leave_artifacts_intact() {
    let f = Fixture::new("hello");
    f.run(&["project", "run", "--dry-run", "-i", r#"{"name":"Ada"}"#])
        .code(0);
    let before = std::fs::read(f.join(".trident/runs/manifest.json")).unwrap();
    assert_error(
        &f.run(&["project", "run", "--dry-run", "--resume", "nope"]),
        &["Checkpoint not found: nope"],
    );
    assert_error(
        &f.run(&[
            "project",
            "run",
            "--dry-run",
            "--resume",
            "latest",
            "--start-from",
            "ghost",
        ]),
        &["Start-from node not found", "ghost"],
    );
    assert_error(
        &f.run(&["project", "run", "--dry-run", "--start-from", "greet"]),
        &["--start-from requires --resume"],
    );
    assert_eq!(
        before,
        std::fs::read(f.join(".trident/runs/manifest.json")).unwrap()
    );
    // The project still runs.
    f.run(&["project", "run", "--dry-run", "-i", r#"{"name":"Ada"}"#])
        .code(0);
}

#[test]
fn resume_latest_without_runs() {
    let f = Fixture::new("hello");
    assert_error(
        &f.run(&["project", "run", "--resume", "latest"]),
        &["No previous runs found"],
    );
}
