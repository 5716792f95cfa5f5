//! Inputs that used to crash trident (found by fuzzing and by hand), each now a clear error:
//! a NUL byte in `.env`, workflows that run themselves without end, conditions nested too
//! deep. Exit 2 before any node runs where the problem is known then; never a panic.

use crate::support::{Fixture, Out};

fn no_crash(out: &Out) {
    assert!(
        !out.stderr.contains("panicked") && !out.stderr.contains("has overflowed its stack"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_nul_byte_in_dotenv_is_an_error_naming_the_file_and_line() {
    for dotenv in ["A=1\nB=\0\n", "A=1\nB\0C=1\n"] {
        let f = Fixture::new("hello").file(".env", dotenv);
        for args in [
            &["project", "validate"][..],
            &["project", "run", "--dry-run", "-i", r#"{"name": "x"}"#],
        ] {
            let out = f.run(args);
            no_crash(&out);
            out.code(2);
            assert!(
                out.stderr.contains(".env:2: the") && out.stderr.contains("NUL byte"),
                "{args:?}: {}",
                out.stderr
            );
        }
        assert!(!f.join(".trident").exists(), "nothing written");
    }
}

fn recursive(node: &str) -> Fixture {
    Fixture::empty().file(
        "agent.tml",
        &format!(
            "trident: \"0.1\"\nname: rec\nnodes:\n  input: {{type: input}}\n  again: {node}\n  \
             output: {{type: output}}\nedges:\n  a: {{from: input, to: again, mapping: {{x: x}}}}\n  \
             b: {{from: again, to: output, mapping: {{x: x}}}}\n"
        ),
    )
}

#[test]
fn a_workflow_running_itself_without_end_is_refused_before_it_runs() {
    for node in [
        "{type: branch, workflow: self}",
        "{type: branch, workflow: ., loop_while: \"x < 3\"}",
        "{type: branch, workflow: ./agent.tml}",
        "{type: trigger, workflow: ., mode: wait}",
        // A detached run of itself: an endless chain of trident processes.
        "{type: trigger, workflow: ., mode: fire-and-forget}",
    ] {
        let f = recursive(node);
        let validate = f.run(&["project", "validate"]);
        no_crash(&validate);
        validate.code(2);
        assert!(
            validate
                .stderr
                .contains("'again': circular workflow reference to")
                && validate.stderr.contains("agent.tml -> ("),
            "{node}: {}",
            validate.stderr
        );
        let run = f.run(&["project", "run", "-i", r#"{"x": 1}"#]);
        no_crash(&run);
        run.code(2);
        assert!(
            run.stderr.contains("circular workflow reference"),
            "{node}: {}",
            run.stderr
        );
        assert!(!f.join(".trident/runs").exists(), "{node}: nothing ran");
    }
}

#[test]
fn recursion_a_condition_fails_to_stop_ends_at_the_depth_bound() {
    let f = recursive("{type: branch, workflow: self, condition: \"x == 1\"}");
    f.run(&["project", "validate"]).code(0);
    let out = f.run(&["project", "run", "-i", r#"{"x": 1}"#]);
    no_crash(&out);
    out.code(1);
    assert!(
        out.stdout
            .contains("would start a sub-workflow nested 33 levels deep (at most 32)"),
        "{}",
        out.stdout
    );
    // A condition that turns false ends it: the same project with x = 2 runs once.
    f.run(&["project", "run", "-i", r#"{"x": 2}"#]).code(0);
}

#[test]
fn a_condition_nested_ten_thousand_deep_is_a_validation_error() {
    let deep = format!("{}x{}", "(".repeat(10_000), ")".repeat(10_000));
    let f = Fixture::empty().file(
        "agent.tml",
        &format!(
            "trident: \"0.1\"\nname: deep\nnodes:\n  input: {{type: input}}\n  output: {{type: \
             output}}\nedges:\n  a: {{from: input, to: output, condition: \"{deep}\"}}\n"
        ),
    );
    let out = f.run(&["project", "validate"]);
    no_crash(&out);
    out.code(2);
    assert!(
        out.stderr.contains("nested more than 64 levels"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_input_file_over_the_size_limit_is_refused_before_it_is_read() {
    let f = Fixture::new("hello").file(
        "big.json",
        &format!("{{\"name\": \"{}\"}}", "x".repeat(2000)),
    );
    let f = f.env("TRIDENT_MAX_INPUT_SIZE", "1KB");
    let out = f.run(&["project", "run", "--dry-run", "-f", "big.json"]);
    no_crash(&out);
    out.code(2);
    assert!(
        out.stderr
            .contains("big.json is 2012 bytes, more than the 1KB a run reads as input")
            && out.stderr.contains("TRIDENT_MAX_INPUT_SIZE"),
        "{}",
        out.stderr
    );
    // Under the limit it runs; a limit that is not a size is refused, naming the variable.
    let f = f.env("TRIDENT_MAX_INPUT_SIZE", "4KB");
    f.run(&["project", "run", "--dry-run", "-f", "big.json"])
        .code(0);
    let bad = Fixture::new("hello").env("TRIDENT_MAX_INPUT_SIZE", "lots");
    let out = bad.run(&["project", "run", "--dry-run", "-i", r#"{"name": "x"}"#]);
    out.code(2);
    assert!(
        out.stderr
            .contains("TRIDENT_MAX_INPUT_SIZE (from the environment) must be a size"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_variable_that_is_not_utf8_is_no_crash() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new("hello");
    let run = |name: &str| {
        let out = f
            .command(&["project", "run", "--dry-run", "-i", r#"{"name": "x"}"#])
            .env(name, OsStr::from_bytes(b"8\xff"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Any variable: it used to panic while the environment was read (exit 101).
    let (code, stderr) = run("SOME_VARIABLE");
    assert_eq!(code, Some(0), "{stderr}");
    // One trident reads: an error naming it.
    let (code, stderr) = run("TRIDENT_MAX_PARALLEL");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("TRIDENT_MAX_PARALLEL (from the environment) must be a positive integer"),
        "{stderr}"
    );
}
