//! `TRIDENT_MAX_OUTPUT_SIZE`: what programs run by nodes hand over is taken in only up to the
//! limit (small limits here; `fuzz/limits.sh` runs the 100 MB cases). A result or event over
//! it fails the node naming it and the variable; a CLI line or `$TRIDENT_EVENTS` line over it
//! is skipped and reported; of stderr only the end is kept.

use crate::support::{Fixture, Out};

/// A project whose tool `t` (defined by `tool`, plus `files`) feeds the output.
fn tool_project(tool: &str, files: &[(&str, &str)]) -> Fixture {
    let mut f = Fixture::empty()
        .file(
            "agent.tml",
            &format!(
                "trident: \"0.1\"\nname: out\nnodes:\n  input: {{type: input}}\n  output: {{type: \
                 output}}\ntools:\n  t: {tool}\nedges:\n  a: {{from: input, to: t, mapping: {{x: \
                 x}}}}\n  b: {{from: t, to: output, mapping: {{n: output}}}}\n"
            ),
        )
        .env("TRIDENT_MAX_OUTPUT_SIZE", "4KB");
    for (path, text) in files {
        f = f.file(path, text);
    }
    f
}

fn run(f: &Fixture) -> Out {
    f.run(&["project", "run", "--no-artifacts", "-i", r#"{"x": 1}"#])
}

fn assert_no_crash(out: &Out) {
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn a_shell_result_over_the_limit_fails_its_node_and_stops_the_command() {
    // Without the limit this command would print for ever.
    let f = tool_project("{type: shell, command: \"yes xxxxxxxxxxxxxxxx\"}", &[]);
    let out = run(&f);
    assert_no_crash(&out);
    out.code(1);
    assert!(
        out.stdout
            .contains("Shell tool 't' printed more than 4KB (TRIDENT_MAX_OUTPUT_SIZE) on stdout")
            && out.stdout.contains("raise TRIDENT_MAX_OUTPUT_SIZE"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_python_result_or_event_over_the_limit_fails_its_node() {
    for body in [
        "    return 'x' * 10000",
        "    import trident_tool\n    trident_tool.emit('big', x='x' * 10000)\n    return 'ok'",
    ] {
        let f = tool_project(
            "{type: python, module: big, function: run}",
            &[("tools/big.py", &format!("def run(x=None):\n{body}\n"))],
        );
        let out = run(&f);
        assert_no_crash(&out);
        out.code(1);
        assert!(
            out.stdout.contains(
                "Tool 't' sent a result or a trident_tool.emit event of 100" // 10 0xx bytes
            ) && out.stdout.contains("over 4KB (TRIDENT_MAX_OUTPUT_SIZE)"),
            "{body}: {}",
            out.stdout
        );
    }
}

#[test]
fn stderr_over_the_limit_keeps_its_end_and_says_how_much_is_left_out() {
    let f = tool_project(
        "{type: shell, command: \"head -c 10000 /dev/zero | tr '\\\\0' a >&2; echo THE-END >&2; \
         echo done\"}",
        &[],
    );
    let out = run(&f);
    assert_no_crash(&out);
    out.code(0);
    assert!(
        out.stderr
            .contains("[trident: the first 5912 bytes tool 't' printed are left out; only the last 4KB (TRIDENT_MAX_OUTPUT_SIZE) are kept]")
            && out.stderr.contains("THE-END"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_events_line_over_the_limit_is_reported_and_skipped() {
    let script = "import os\nwith open(os.environ['TRIDENT_EVENTS'], 'a') as f:\n    f.write('{\"event\": \"big\", \"data\": {\"x\": \"' + 'x' * 10000 + '\"}}\\n')\n    f.write('{\"event\": \"small\"}\\n')\nprint('done')\n";
    let f = tool_project(
        "{type: shell, command: \"python3 tools/ev.py\"}",
        &[("tools/ev.py", script)],
    );
    let out = f.run(&[
        "project",
        "run",
        "--no-artifacts",
        "-i",
        r#"{"x": 1}"#,
        "--telemetry",
        "--telemetry-file",
        "events.jsonl",
    ]);
    assert_no_crash(&out);
    out.code(0);
    let events = std::fs::read_to_string(f.join("events.jsonl")).unwrap();
    let tool_events: Vec<serde_json::Value> = events
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "tool_event")
        .collect();
    assert_eq!(tool_events.len(), 2, "{events}");
    assert_eq!(tool_events[0]["data"]["name"], "invalid_tool_event");
    let error = tool_events[0]["data"]["data"]["error"].as_str().unwrap();
    assert!(
        error.contains("line longer than 4KB (TRIDENT_MAX_OUTPUT_SIZE): skipped"),
        "{error}"
    );
    assert_eq!(tool_events[1]["data"]["name"], "small");
}

#[test]
fn a_claude_cli_line_over_the_limit_is_skipped_and_named_if_it_was_the_result() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::empty()
        .file(
            "agent.tml",
            "trident: \"0.1\"\nname: agent\nnodes:\n  input: {type: input}\n  worker: {type: \
             agent, prompt: agent_prompts/worker.prompt}\n  output: {type: output}\nedges:\n  a: \
             {from: input, to: worker, mapping: {x: x}}\n  b: {from: worker, to: output, \
             mapping: {text: text}}\n",
        )
        .file(
            "agent_prompts/worker.prompt",
            "---\nid: worker\ninput:\n  x: {type: number}\n---\nSay {{ x }}.\n",
        )
        .env("TRIDENT_MAX_OUTPUT_SIZE", "4KB");
    let bin = f.join("claude");
    std::fs::write(
        &bin,
        "#!/bin/sh\nhead -c 10000 /dev/zero | tr '\\0' x; echo\necho '{\"type\": \"result\", \
         \"subtype\": \"success\", \"is_error\": false, \"result\": \"'\"$(head -c 10000 \
         /dev/zero | tr '\\0' y)\"'\", \"session_id\": \"s\"}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let f = f.env("TRIDENT_CLAUDE_BIN", bin.to_str().unwrap());
    let out = run(&f);
    assert_no_crash(&out);
    out.code(1);
    assert!(
        out.stdout
            .contains("skipped 2 as malformed; 2 of them longer than 4KB (TRIDENT_MAX_OUTPUT_SIZE): raise TRIDENT_MAX_OUTPUT_SIZE to read them"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_bad_limit_is_refused_before_anything_runs() {
    for value in ["lots", "10"] {
        let f = tool_project("{type: shell, command: \"echo hi\"}", &[])
            .env("TRIDENT_MAX_OUTPUT_SIZE", value);
        let out = run(&f);
        assert_no_crash(&out);
        out.code(2);
        assert!(
            out.stderr
                .contains("TRIDENT_MAX_OUTPUT_SIZE (from the environment) must be a size"),
            "{value}: {}",
            out.stderr
        );
    }
}

#[test]
fn a_shell_input_too_big_for_a_command_line_says_how_to_pass_it() {
    let f = tool_project("{type: shell, command: \"printf %s {{ x }} | wc -c\"}", &[]).file(
        "in.json",
        &format!("{{\"x\": \"{}\"}}", "y".repeat(300_000)),
    );
    let out = f.run(&["project", "run", "--no-artifacts", "-f", "in.json"]);
    assert_no_crash(&out);
    out.code(1);
    assert!(
        out.stdout
            .contains("Shell tool 't' cannot start: its inputs are too big for a command line")
            && out.stdout.contains("pass big data in a file"),
        "{}",
        out.stdout
    );
}
