//! Settings resolved once: every variable the runtime reads comes from the environment or
//! the project's `.env` (which never overrides it), is validated before the run (exit 2,
//! naming the variable and its source), and `.env` values reach tools as an overlay.

use crate::support::Fixture;

/// input -> shell tool printing $GREETING -> python tool reading os.environ -> output.
fn project() -> Fixture {
    Fixture::empty()
        .file(
            "agent.tml",
            r#"trident: "0.1"
name: envs
nodes:
  input: {type: input, schema: {x: {type: string, description: x}}}
  output: {type: output}
tools:
  say: {type: shell, command: "printf '%s %s' \"$GREETING\" {{ x }}"}
  read: {type: python, module: env_tool, function: read}
edges:
  a: {from: input, to: say, mapping: {x: x}}
  b: {from: say, to: read, mapping: {said: output}}
  c: {from: read, to: output, mapping: {said: said, seen: seen}}
"#,
        )
        .file(
            "tools/env_tool.py",
            "import os\n\ndef read(said):\n    return {'said': said, 'seen': os.environ.get('GREETING')}\n",
        )
}

#[test]
fn dotenv_values_reach_tools_without_overriding_the_environment() {
    let f = project().file(".env", "GREETING=from-dotenv\n");
    let out = f.run(&["project", "run", "-i", r#"{"x": "A"}"#, "-o", "json"]);
    out.code(0);
    let outputs = &out.json()["outputs"]["output"];
    assert_eq!(outputs["said"], "from-dotenv A");
    assert_eq!(outputs["seen"], "from-dotenv");
    let f = f.env("GREETING", "from-env");
    let out = f.run(&["project", "run", "-i", r#"{"x": "A"}"#, "-o", "json"]);
    assert_eq!(out.json()["outputs"]["output"]["seen"], "from-env");
}

#[test]
fn bad_settings_are_refused_before_the_run_naming_their_source() {
    let f = project().file(".env", "TRIDENT_MAX_PARALLEL=lots\n");
    let out = f.run(&["project", "run", "--dry-run", "-i", r#"{"x": "A"}"#]);
    out.code(2);
    assert!(
        out.stderr
            .contains("TRIDENT_MAX_PARALLEL (from the project's .env)"),
        "{}",
        out.stderr
    );
    assert!(!f.join(".trident").exists(), "nothing ran");
    // A provider setting is checked even when no prompt node would call a provider.
    let f = project().env("TRIDENT_PROVIDER_TIMEOUT_SECS", "forever");
    let out = f.run(&["project", "run", "--dry-run", "-i", r#"{"x": "A"}"#]);
    out.code(2);
    assert!(
        out.stderr.contains("TRIDENT_PROVIDER_TIMEOUT_SECS"),
        "{}",
        out.stderr
    );
    assert!(!f.join(".trident").exists());
}
