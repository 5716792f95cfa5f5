//! version, help, init, validate and graph.

use crate::support::Fixture;

#[test]
fn version_both_ways() {
    let f = Fixture::empty();
    let a = f.run(&["version"]);
    a.code(0);
    assert_eq!(
        a.stdout.trim(),
        format!("trident {}", env!("CARGO_PKG_VERSION"))
    );
    let b = f.run(&["--version"]);
    b.code(0);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn every_command_has_help() {
    let f = Fixture::empty();
    for cmd in [
        "init", "validate", "graph", "run", "runs", "signals", "schedule",
    ] {
        let out = f.run(&["project", cmd, "--help"]);
        out.code(0);
        assert!(
            out.stdout.contains("Usage: trident project"),
            "{cmd}: {}",
            out.stdout
        );
    }
    let run = f.run(&["project", "run", "--help"]);
    for flag in [
        "--dry-run",
        "--resume",
        "--start-from",
        "--wait-for",
        "--telemetry-format",
        "--telemetry-file",
        "--telemetry-level",
        "--telemetry-filter",
        "--emit-signal",
    ] {
        assert!(run.stdout.contains(flag), "run --help lacks {flag}");
    }
}

#[test]
fn a_command_group_alone_prints_its_commands_on_stdout() {
    // As the original: `trident project` with no subcommand is a request for the list.
    let f = Fixture::empty();
    for (group, command) in [("project", "run"), ("telemetry", "stats")] {
        let out = f.run(&[group]);
        out.code(0);
        assert!(
            out.stdout
                .contains(&format!("Usage: trident {group} <COMMAND>"))
                && out.stdout.contains(command),
            "{group}: {}",
            out.stdout
        );
        assert_eq!(out.stderr, "", "{group}");
    }
    // A wrong subcommand is still a usage error.
    let wrong = f.run(&["project", "nope"]);
    wrong.code(2);
    assert!(wrong.stderr.contains("nope"), "{}", wrong.stderr);
}

#[test]
fn init_creates_a_project_that_validates_and_dry_runs() {
    let f = Fixture::empty();
    f.run(&["project", "init", "demo", "--template", "standard"])
        .code(0);
    assert!(f.join("demo/agent.tml").is_file());
    assert!(f.join("demo/prompts/example.prompt").is_file());
    assert!(f.join("demo/tools/example_tool.py").is_file());
    let v = f.run(&["project", "validate", "demo"]);
    v.code(0);
    assert!(v.stdout.contains("✓ Validation passed"), "{}", v.stdout);
    assert!(!v.stdout.contains("Warnings"), "{}", v.stdout);
    f.run(&[
        "project",
        "run",
        "demo",
        "--dry-run",
        "-i",
        r#"{"text": "hi"}"#,
    ])
    .code(0);
    // A second init refuses and leaves the project alone.
    let again = f.run(&["project", "init", "demo"]);
    again.code(2);
    assert!(again.stderr.contains("already contains agent.tml"));
}

#[test]
fn validate_reports_counts() {
    let f = Fixture::new("branching");
    let out = f.run(&["project", "validate"]);
    out.code(0);
    assert!(out.stdout.contains("Project: branching"));
    assert!(out.stdout.contains("Prompts: 3"));
    assert!(out.stdout.contains("Edges: 5"));
    assert!(out.stdout.contains("Nodes in execution order: 5"));
}

#[test]
fn validate_strict_fails_on_mapping_warnings() {
    let f = Fixture::new("hello").file(
        "agent.tml",
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/integration/fixtures/hello/agent.tml"),
        )
        .unwrap()
        .replace("greeting: text", "greeting: no_such_field"),
    );
    let lax = f.run(&["project", "validate"]);
    lax.code(0);
    assert!(lax.stdout.contains("no_such_field"), "{}", lax.stdout);
    let strict = f.run(&["project", "validate", "--strict"]);
    strict.code(2);
    assert!(strict.stderr.contains("strict mode"));
}

#[test]
fn graph_ascii_and_mermaid() {
    let f = Fixture::new("hello");
    let ascii = f.run(&["project", "graph"]);
    ascii.code(0);
    insta::assert_snapshot!("graph_ascii", ascii.stdout);
    let mermaid = f.run(&[
        "project",
        "graph",
        "--format",
        "mermaid",
        "--direction",
        "LR",
    ]);
    mermaid.code(0);
    insta::assert_snapshot!("graph_mermaid", mermaid.stdout);
}

#[test]
fn schedule_formats_and_dependencies() {
    let base = "trident: \"0.1\"\nname: nightly\nnodes:\n  input: {type: input}\n";
    let none = Fixture::empty().file("agent.tml", base);
    let out = none.run(&["project", "schedule"]);
    out.code(2);
    assert!(out.stderr.contains("orchestration"), "{}", out.stderr);
    none.run(&["project", "schedule", "--show"]).code(0);

    let f = Fixture::empty().file(
        "agent.tml",
        &format!(
            "{base}orchestration:\n  schedule: {{cron: \"0 3 * * *\", description: Nightly}}\n  \
             depends_on:\n    - {{workflow: upstream, signal: ready}}\n"
        ),
    );
    let cron = f.run(&["project", "schedule"]);
    cron.code(0);
    assert!(cron.stdout.starts_with("0 3 * * * cd "), "{}", cron.stdout);
    assert!(
        cron.stdout
            .contains("project run --emit-signal --wait-for signal:upstream.ready")
    );
    let show = f.run(&["project", "schedule", "--show"]);
    show.code(0);
    assert!(show.stdout.contains("Cron: 0 3 * * *"));
    assert!(show.stdout.contains("- upstream.ready"));
    let systemd = f.run(&["project", "schedule", "--format", "systemd"]);
    assert!(
        systemd.stdout.contains("[Timer]") && systemd.stdout.contains("trident-nightly.service")
    );
    let launchd = f.run(&["project", "schedule", "--format", "launchd"]);
    assert!(
        launchd
            .stdout
            .contains("<string>com.trident.nightly</string>")
    );
}
