//! `telemetry.hooks`: commands with the event on stdin and in their environment, webhooks
//! with headers, retries and timeouts against a stand-in server, failures reported as
//! `hook_failed` without changing the run's outcome, and bad hooks refused with exit 2.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::Fixture;
use crate::support::http_recorder::HttpRecorder;

/// The hello fixture (run with `--dry-run`) with `hooks` as its `telemetry.hooks` (YAML).
fn hello_with_hooks(hooks: &str) -> Fixture {
    let f = Fixture::new("hello");
    let manifest = std::fs::read_to_string(f.join("agent.tml")).unwrap();
    f.file(
        "agent.tml",
        &format!("{manifest}\ntelemetry:\n  hooks:\n{hooks}"),
    )
}

fn dry_run(f: &Fixture, extra: &[&str]) -> crate::support::Out {
    let mut args = vec!["project", "run", "--dry-run", "-i", r#"{"name": "Ada"}"#];
    args.extend_from_slice(extra);
    f.run(&args)
}

fn events(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn a_command_hook_gets_the_event_on_stdin_and_in_its_environment() {
    let f = Fixture::new("failing");
    let manifest = std::fs::read_to_string(f.join("agent.tml")).unwrap();
    let f = f
        .file(
            "agent.tml",
            &format!(
                "{manifest}\ntelemetry:\n  hooks:\n    - on: [node_failed, workflow_failed]\n      run: ./hooks/notify.sh\n"
            ),
        )
        .file(
            "hooks/notify.sh",
            "#!/bin/sh\nline=$(cat)\nprintf '%s|%s|%s|%s|%s\\n' \"$TRIDENT_EVENT\" \"$TRIDENT_RUN_ID\" \"$TRIDENT_NODE_ID\" \"$(pwd)\" \"$line\" >> hooks/seen.log\n",
        );
    let script = f.join("hooks/notify.sh");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();

    let out = f.run(&["project", "run", "-i", r#"{"n": 1}"#, "--telemetry"]);
    out.code(1);
    let run_id = f.last_run_id();
    let seen = std::fs::read_to_string(f.join("hooks/seen.log")).unwrap();
    let mut lines: Vec<&str> = seen.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines.len(), 2, "{seen}");
    let root = std::fs::canonicalize(f.path()).unwrap();
    let parts: Vec<&str> = lines[0].splitn(5, '|').collect();
    assert_eq!(parts[..3], ["node_failed", run_id.as_str(), "boom"]);
    assert_eq!(std::fs::canonicalize(parts[3]).unwrap(), root);
    let event: Value = serde_json::from_str(parts[4]).unwrap();
    assert_eq!(event["event"], "node_failed");
    assert_eq!(event["node_id"], "boom");
    assert_eq!(event["data"]["error_type"], "ToolError");
    // The same line as in the stream (the hook's own numbering aside).
    let stream = events(&out.stdout);
    let failed = stream.iter().find(|e| e["event"] == "node_failed").unwrap();
    assert_eq!(failed["data"], event["data"]);
    let parts: Vec<&str> = lines[1].splitn(5, '|').collect();
    assert_eq!(parts[..3], ["workflow_failed", run_id.as_str(), ""]);
    // Hook output never reaches the stream.
    assert!(stream.iter().all(|e| e["event"] != "hook_failed"));
}

#[test]
fn failing_missing_and_hanging_commands_are_reported_and_bounded() {
    let f = hello_with_hooks(
        "    - on: workflow_completed\n      run: exit 3\n\
         \x20   - on: workflow_completed\n      run: ./no-such-hook.sh\n\
         \x20   - on: workflow_completed\n      run: sleep 30\n      timeout: 1s\n",
    );
    let started = Instant::now();
    let out = dry_run(&f, &["--telemetry"]);
    out.code(0);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let failures: Vec<Value> = events(&out.stdout)
        .into_iter()
        .filter(|e| e["event"] == "hook_failed")
        .collect();
    assert_eq!(failures.len(), 3, "{}", out.stdout);
    let error_of = |hook: &str| {
        failures
            .iter()
            .find(|e| e["data"]["hook"] == hook)
            .unwrap_or_else(|| panic!("no hook_failed for {hook}: {failures:?}"))["data"]["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(error_of("hook 1 (run exit 3)"), "exited with status 3");
    let missing = error_of("hook 2 (run ./no-such-hook.sh)");
    assert!(missing.starts_with("exited with status 127"), "{missing}");
    let hanging = error_of("hook 3 (run sleep 30)");
    assert!(hanging.starts_with("timed out after 1"), "{hanging}");
    assert!(failures.iter().all(|e| e["level"] == "WARNING"));
    // One stderr warning per failing hook.
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("failed on workflow_completed"))
        .collect();
    assert_eq!(warnings.len(), 3, "{}", out.stderr);
}

#[test]
fn failures_of_hooks_on_earlier_events_come_before_the_runs_last_event() {
    let f = hello_with_hooks(
        "    - on: node_completed\n      run: sleep 0.3; exit 3\n\
         \x20   - on: workflow_completed\n      run: exit 4\n",
    );
    let out = dry_run(&f, &["--telemetry"]);
    out.code(0);
    let names: Vec<String> = events(&out.stdout)
        .iter()
        .map(|e| {
            let node = e["node_id"].as_str().unwrap_or("-");
            format!("{} {node}", e["event"].as_str().unwrap())
        })
        .filter(|n| n.starts_with("hook_failed") || n.starts_with("workflow_completed"))
        .collect();
    // Each node's hook failed before the run ended (the run waited for them); the hook on
    // `workflow_completed` itself can only fail after it.
    let last = names
        .iter()
        .position(|n| n == "workflow_completed -")
        .unwrap();
    let mut before = names[..last].to_vec();
    before.sort();
    assert_eq!(
        before,
        [
            "hook_failed greet",
            "hook_failed input",
            "hook_failed output"
        ],
        "{names:?}"
    );
    assert_eq!(names[last + 1..], ["hook_failed -"], "{names:?}");
}

#[test]
fn hooks_run_without_a_telemetry_stream() {
    let f = hello_with_hooks("    - on: lifecycle\n      run: cat >> seen.jsonl\n");
    let out = dry_run(&f, &["-o", "json"]);
    out.code(0);
    assert_eq!(out.json()["success"], true);
    let seen = events(&std::fs::read_to_string(f.join("seen.jsonl")).unwrap());
    let mut names: Vec<&str> = seen.iter().map(|e| e["event"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, vec!["workflow_completed", "workflow_started"]);
}

#[test]
fn a_webhook_posts_the_event_with_expanded_headers_and_retries() {
    let receiver = HttpRecorder::start();
    receiver.answer(503).answer(500);
    let hooks = format!(
        "    - on: workflow_completed\n      webhook: {}/hook\n      headers: {{Authorization: \"Bearer ${{HOOK_TOKEN}}\", X-Trident: yes}}\n      timeout: 10s\n",
        receiver.url()
    );
    let f = hello_with_hooks(&hooks).env("HOOK_TOKEN", "tok-123");
    let out = dry_run(&f, &["--telemetry"]);
    out.code(0);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3, "two retries after 5xx: {requests:#?}");
    let last = &requests[2];
    assert_eq!(last.method, "POST");
    assert_eq!(last.path, "/hook");
    assert_eq!(last.header("authorization"), Some("Bearer tok-123"));
    assert_eq!(last.header("x-trident"), Some("yes"));
    assert_eq!(last.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&last.body).unwrap();
    assert_eq!(body["event"], "workflow_completed");
    assert_eq!(body["run_id"], f.last_run_id().as_str());
    assert_eq!(body["data"]["name"], "hello");
    assert!(
        events(&out.stdout)
            .iter()
            .all(|e| e["event"] != "hook_failed")
    );
    assert!(!out.stderr.contains("hook"), "{}", out.stderr);
}

#[test]
fn a_webhook_gives_up_on_4xx_and_on_its_timeout() {
    let rejecting = HttpRecorder::start();
    rejecting.answer(404);
    let slow = HttpRecorder::start();
    slow.answer_after(200, Duration::from_secs(8));
    let hooks = format!(
        "    - on: workflow_completed\n      webhook: {}/a\n\
         \x20   - on: workflow_completed\n      webhook: {}/b\n      timeout: 1s\n",
        rejecting.url(),
        slow.url()
    );
    let f = hello_with_hooks(&hooks);
    let started = Instant::now();
    let out = dry_run(&f, &["--telemetry"]);
    out.code(0);
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(rejecting.requests().len(), 1, "no retry after a 4xx");
    let failures: Vec<Value> = events(&out.stdout)
        .into_iter()
        .filter(|e| e["event"] == "hook_failed")
        .collect();
    assert_eq!(failures.len(), 2, "{}", out.stdout);
    let error = |n: &str| {
        failures
            .iter()
            .find(|e| e["data"]["hook"].as_str().unwrap().starts_with(n))
            .unwrap()["data"]["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(error("hook 1"), "HTTP status 404");
    assert!(error("hook 2").contains("timed out"), "{}", error("hook 2"));
}

#[test]
fn bad_hooks_are_refused_with_exit_2() {
    let cases = [
        (
            "    - on: workflow_completed\n      webhook: ftp://example.invalid/hook\n",
            "hook 1 (webhook ftp://example.invalid/hook)",
        ),
        (
            "    - on: [node_failed, nodez]\n      run: ./notify.sh\n",
            "unknown selector \"nodez\"",
        ),
    ];
    for (hooks, message) in cases {
        let f = hello_with_hooks(hooks);
        let out = f.run(&["project", "validate"]);
        out.code(2);
        assert!(out.stderr.contains(message), "{}", out.stderr);
        let out = dry_run(&f, &[]);
        out.code(2);
        assert!(out.stderr.contains(message), "{}", out.stderr);
        assert!(!f.join(".trident").exists(), "no node ran");
    }
    let f = hello_with_hooks(
        "    - on: workflow_completed\n      webhook: https://example.invalid/hook\n      headers: {Authorization: \"Bearer ${HOOK_TOKEN}\"}\n",
    );
    let out = f.run(&["project", "validate"]);
    out.code(0);
    assert!(out.stdout.contains("Hooks: 1"), "{}", out.stdout);
    let out = dry_run(&f, &[]);
    out.code(2);
    assert!(
        out.stderr.contains("HOOK_TOKEN is not set"),
        "{}",
        out.stderr
    );
}
