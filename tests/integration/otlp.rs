//! OpenTelemetry export against an in-test OTLP/HTTP receiver: the span tree (names, kinds,
//! parents, attributes), log records correlated to their spans, W3C trace context in and
//! out, both encodings, and endpoints that refuse, fail or hang.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::Fixture;
use crate::support::fake_llm::FakeLlm;
use crate::support::otlp_receiver::{Behaviour, OtlpReceiver, Span, dead_url};

const INTERNAL: i32 = 1;
const CLIENT: i32 = 3;
const OK: i32 = 1;
const ERROR: i32 = 2;

fn run_hello(f: &Fixture, extra: &[&str]) -> crate::support::Out {
    let mut args = vec![
        "project",
        "run",
        "-i",
        r#"{"name": "Ada"}"#,
        "--run-id",
        "r1",
    ];
    args.extend_from_slice(extra);
    f.run(&args)
}

fn child_of(span: &Span, parent: &Span) {
    assert_eq!(
        span.parent_span_id, parent.span_id,
        "{} should be a child of {}",
        span.name, parent.name
    );
    assert_eq!(span.trace_id, parent.trace_id, "{}", span.name);
}

#[test]
fn a_prompt_run_is_a_genai_trace_with_correlated_logs() {
    let llm = FakeLlm::start();
    let rx = OtlpReceiver::start(Behaviour::Healthy);
    let f = Fixture::new("hello").llm(&llm);
    // The URL as the next word, as the specification writes the flag.
    let out = run_hello(&f, &["--telemetry-otlp", &rx.url()]);
    out.code(0);
    // OTLP alone turns telemetry on, and leaves stdout to the result.
    assert!(!out.stdout.contains("workflow_started"), "{}", out.stdout);
    assert!(
        out.stderr.is_empty() || !out.stderr.contains("telemetry:"),
        "{}",
        out.stderr
    );

    let root = rx.span("invoke_workflow hello");
    assert_eq!(root.parent_span_id, "");
    assert_eq!(root.kind, INTERNAL);
    assert_eq!(root.status_code, OK);
    assert_eq!(root.attr("gen_ai.operation.name"), "invoke_workflow");
    assert_eq!(root.attr("gen_ai.workflow.name"), "hello");
    assert_eq!(root.attr("trident.run_id"), "r1");
    assert_eq!(root.attr("trident.dry_run"), false);
    assert_eq!(root.attr("trident.attempt"), 1);
    assert!(root.attr("gen_ai.usage.input_tokens").as_i64().unwrap() > 0);
    assert!(root.attr("gen_ai.usage.output_tokens").as_i64().unwrap() > 0);
    assert!(root.attributes.contains_key("trident.cost.usd"));
    assert_eq!(root.resource["service.name"], "trident");
    assert_eq!(root.resource["service.version"], env!("CARGO_PKG_VERSION"));

    let chat = rx.span("chat claude-test");
    child_of(&chat, &root);
    assert_eq!(chat.kind, CLIENT);
    assert_eq!(chat.status_code, OK);
    assert_eq!(chat.attr("gen_ai.operation.name"), "chat");
    assert_eq!(chat.attr("gen_ai.provider.name"), "anthropic");
    assert_eq!(chat.attr("gen_ai.request.model"), "claude-test");
    assert_eq!(chat.attr("trident.node.id"), "greet");
    // Request settings from node_started (the manifest's defaults), the answer from
    // node_completed (the fake Anthropic API's `model` and `stop_reason`).
    assert_eq!(chat.attr("gen_ai.request.max_tokens"), 64);
    assert_eq!(chat.attr("gen_ai.request.temperature"), Value::Null);
    assert_eq!(chat.attr("gen_ai.response.model"), "claude-test");
    assert_eq!(
        chat.attr("gen_ai.response.finish_reasons"),
        json!(["end_turn"])
    );
    assert_eq!(
        chat.attr("gen_ai.usage.input_tokens"),
        root.attr("gen_ai.usage.input_tokens")
    );
    assert!(chat.start_ns >= root.start_ns && chat.end_ns <= root.end_ns);

    for (name, node_type) in [("input", "input"), ("output", "output")] {
        let span = rx.span(&format!("trident.node {name}"));
        child_of(&span, &root);
        assert_eq!(span.attr("trident.node.type"), node_type);
        assert_eq!(span.attr("trident.node.id"), name);
    }
    assert_eq!(rx.spans().len(), 4, "{:#?}", rx.spans());

    // Every event that passes the stream's filter (normal) is a log record of its span.
    let logs = rx.logs();
    let bodies: Vec<&str> = logs.iter().map(|l| l.body.as_str()).collect();
    assert_eq!(bodies[0], "workflow_started", "{bodies:?}");
    assert_eq!(*bodies.last().unwrap(), "workflow_completed", "{bodies:?}");
    assert!(
        !bodies.contains(&"input_received"),
        "verbose events are filtered: {bodies:?}"
    );
    for log in &logs {
        assert_eq!(log.trace_id, root.trace_id, "{log:?}");
        assert_eq!(log.attr("trident.run_id"), "r1");
        let expected = match log.attr("trident.node.id").as_str() {
            Some("greet") => &chat.span_id,
            Some(other) => &rx.span(&format!("trident.node {other}")).span_id,
            None => &root.span_id,
        };
        assert_eq!(&log.span_id, expected, "{log:?}");
    }
    let completed = logs
        .iter()
        .find(|l| l.body == "node_completed" && l.attr("trident.node.id") == "greet")
        .unwrap();
    assert_eq!(completed.severity_number, 9);
    assert_eq!(completed.severity_text, "INFO");
    assert_eq!(completed.attr("type"), "prompt");
    assert_eq!(completed.attr("trident.event"), "node_completed");
    assert!(completed.attr("duration_ms").is_i64());
    let finished = logs
        .iter()
        .find(|l| l.body == "workflow_completed")
        .unwrap();
    assert!(finished.attr("nodes.succeeded").as_i64().unwrap() >= 3);

    // Protobuf is the default encoding.
    let requests = rx.requests();
    assert!(requests.iter().any(|r| r.path == "/v1/traces"));
    assert!(requests.iter().any(|r| r.path == "/v1/logs"));
    assert!(
        requests
            .iter()
            .all(|r| r.content_type == "application/x-protobuf"),
        "{requests:?}"
    );
}

#[test]
fn openai_json_encoding_headers_and_resource_from_the_environment() {
    let llm = FakeLlm::start();
    let rx = OtlpReceiver::start(Behaviour::Healthy);
    let f = Fixture::new("hello")
        .llm(&llm)
        .file(
            "prompts/greet.prompt",
            "---\nid: greet\nmodel: openai/gpt-test\ntemperature: 0.2\ninput:\n  name: {type: string, required: true}\noutput:\n  format: text\n---\nSay hello to {{ name }}.\n",
        )
        .env("TRIDENT_TELEMETRY_OTLP", "on")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &rx.url())
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .env("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Basic%20c2VjcmV0")
        .env("OTEL_SERVICE_NAME", "nightly")
        .env("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test");
    let out = run_hello(&f, &["--telemetry-level", "verbose", "--telemetry-stdout"]);
    out.code(0);
    let chat = rx.span("chat gpt-test");
    assert_eq!(chat.attr("gen_ai.provider.name"), "openai");
    assert_eq!(chat.attr("gen_ai.request.model"), "gpt-test");
    assert_eq!(chat.attr("gen_ai.request.temperature"), 0.2);
    assert_eq!(chat.attr("gen_ai.request.max_tokens"), 64);
    assert_eq!(chat.attr("gen_ai.response.model"), "gpt-test");
    assert_eq!(chat.attr("gen_ai.response.finish_reasons"), json!(["stop"]));
    assert_eq!(chat.kind, CLIENT);
    assert_eq!(chat.resource["service.name"], "nightly");
    assert_eq!(chat.resource["deployment.environment"], "test");
    let requests = rx.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert_eq!(r.content_type, "application/json", "{r:?}");
        assert!(
            r.headers
                .iter()
                .any(|(k, v)| k == "authorization" && v == "Basic c2VjcmV0"),
            "{r:?}"
        );
    }
    // The header value is a secret: never in the stream, never on stderr.
    assert!(!out.stdout.contains("c2VjcmV0") && !out.stderr.contains("c2VjcmV0"));
    // At verbose, token_usage is a log record too.
    assert!(rx.logs().iter().any(|l| l.body == "token_usage"));
    // stdout is not the default destination when OTLP is on, but can be asked for.
    assert!(
        out.stdout.contains("\"workflow_started\""),
        "{}",
        out.stdout
    );
}

#[test]
fn header_values_never_reach_the_events() {
    let rx = OtlpReceiver::start(Behaviour::Healthy);
    // A tool that prints its environment would put the credential into the events.
    let f = Fixture::empty()
        .file(
            "agent.tml",
            r#"trident: "0.1"
name: leaky
nodes:
  input: {type: input, schema: {x: {type: string, description: x}}}
  output: {type: output}
tools:
  leak:
    type: shell
    command: "printenv OTEL_EXPORTER_OTLP_HEADERS"
edges:
  a: {from: input, to: leak, mapping: {x: x}}
  b: {from: leak, to: output, mapping: {seen: output}}
"#,
        )
        .env(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "x-honeycomb-team=hc%2Dteam%2Dkey%2D42,x-team=data",
        );
    let log = f.join("t.jsonl");
    let out = f.run(&[
        "project",
        "run",
        "-i",
        r#"{"x": "1"}"#,
        "--run-id",
        "leaky-1",
        &format!("--telemetry-otlp={}", rx.url()),
        "--telemetry-level",
        "verbose",
        "--telemetry-file",
        log.to_str().unwrap(),
    ]);
    out.code(0);
    assert!(rx.requests().iter().all(|r| {
        r.headers
            .iter()
            .any(|(k, v)| k == "x-honeycomb-team" && v == "hc-team-key-42")
    }));
    let file = std::fs::read_to_string(&log).unwrap();
    let history = std::fs::read_to_string(f.join(".trident/runs/leaky-1/events.jsonl")).unwrap();
    let logs = format!("{:?}", rx.logs());
    for (what, text) in [
        ("file", &file),
        ("events.jsonl", &history),
        ("OTLP logs", &logs),
    ] {
        assert!(!text.contains("hc%2Dteam"), "{what}: {text}");
        assert!(
            text.contains("[REDACTED]"),
            "{what}: the tool output is there, redacted"
        );
        // A short value is no credential and stays readable.
        assert!(text.contains("x-team=data"), "{what}: {text}");
    }
}

#[test]
fn tools_failures_and_skips() {
    let rx = OtlpReceiver::start(Behaviour::Healthy);
    let f = Fixture::new("failing");
    let manifest = std::fs::read_to_string(f.join("agent.tml"))
        .unwrap()
        .replace(
            "    function: ok\n  boom:",
            "    function: ok\n    description: Checks the number\n  boom:",
        );
    // Docstrings describe python tools the manifest leaves undescribed.
    let ops = "def ok(n):\n    \"\"\"Passes the number on.\"\"\"\n    return {\"n\": n}\n\n\n\
               def boom(n):\n    \"\"\"\n    Fails on purpose.\n\n    Always.\n    \"\"\"\n    \
               raise ValueError(f\"bad value {n}\")\n";
    let f = f.file("agent.tml", &manifest).file("tools/ops.py", ops);
    let out = f.run(&[
        "project",
        "run",
        "-i",
        r#"{"n": 1}"#,
        &format!("--telemetry-otlp={}", rx.url()),
    ]);
    out.code(1);
    let root = rx.span("invoke_workflow failing");
    assert_eq!(root.status_code, ERROR);
    assert_eq!(root.attr("error.type"), "ToolError");
    assert!(
        root.status_message.contains("bad value 1"),
        "{}",
        root.status_message
    );
    let first = rx.span("execute_tool first");
    child_of(&first, &root);
    assert_eq!(first.kind, INTERNAL);
    assert_eq!(first.status_code, OK);
    assert_eq!(first.attr("gen_ai.operation.name"), "execute_tool");
    assert_eq!(first.attr("gen_ai.tool.name"), "first");
    assert_eq!(first.attr("gen_ai.tool.type"), "function");
    assert_eq!(first.attr("gen_ai.tool.description"), "Checks the number");
    let boom = rx.span("execute_tool boom");
    assert_eq!(
        boom.attr("gen_ai.tool.description"),
        "Fails on purpose.\n\nAlways."
    );
    // The signature cache keeps the docstrings (its format changed with them).
    let cache: Value = serde_json::from_str(
        &std::fs::read_to_string(f.join(".trident/cache/python-signatures.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cache["format"], 2);
    let docs: Vec<&str> = cache["entries"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|e| e["reply"]["doc"].as_str())
        .collect();
    assert!(docs.contains(&"Fails on purpose.\n\nAlways."), "{cache}");
    assert_eq!(boom.status_code, ERROR);
    assert_eq!(boom.attr("error.type"), "ToolError");
    assert!(!boom.status_message.is_empty());
    let failed_log = rx
        .logs()
        .into_iter()
        .find(|l| l.body == "node_failed")
        .unwrap();
    assert_eq!(failed_log.severity_number, 17);
    assert_eq!(failed_log.span_id, boom.span_id);
    assert!(rx.spans().iter().all(|s| s.trace_id == root.trace_id));
}

/// Runs a dry run with OTLP to `url` (export timeout 1 s); returns the output and how long
/// the run took.
fn dry_run_to(url: &str) -> (crate::support::Out, Duration) {
    let f = Fixture::new("hello").env("OTEL_EXPORTER_OTLP_TIMEOUT", "1000");
    let started = Instant::now();
    let out = f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name": "Ada"}"#,
        &format!("--telemetry-otlp={url}"),
        "--telemetry-file",
        "t.jsonl",
    ]);
    let took = started.elapsed();
    let events = std::fs::read_to_string(f.join("t.jsonl")).unwrap_or_default();
    (
        crate::support::Out {
            code: out.code,
            stdout: events,
            stderr: out.stderr,
        },
        took,
    )
}

#[test]
fn a_dead_failing_or_hanging_collector_never_breaks_a_run() {
    let failing = OtlpReceiver::start(Behaviour::Fails500);
    let hanging = OtlpReceiver::start(Behaviour::Hangs);
    let healthy = OtlpReceiver::start(Behaviour::Healthy);
    let (reference, base) = dry_run_to(&healthy.url());
    reference.code(0);
    assert!(!reference.stdout.contains("otlp_export_failed"));
    for (what, url) in [
        ("refused", dead_url()),
        ("500", failing.url()),
        ("hanging", hanging.url()),
    ] {
        let (out, took) = dry_run_to(&url);
        out.code(0);
        // At most the export timeout (1 s here) added at the end, with slack for a busy
        // machine; without the bound a hanging collector would hold the run forever.
        assert!(
            took < base + Duration::from_millis(1000 + 1500),
            "{what}: took {took:?} (healthy: {base:?})"
        );
        let warnings: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("OpenTelemetry export"))
            .collect();
        assert_eq!(warnings.len(), 1, "{what}: one warning\n{}", out.stderr);
        assert!(warnings[0].contains("127.0.0.1"), "{}", warnings[0]);
        let failed: Vec<Value> = out
            .stdout
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|e| e["event"] == "otlp_export_failed")
            .collect();
        assert_eq!(failed.len(), 1, "{what}: {}", out.stdout);
        assert_eq!(failed[0]["level"], "WARNING");
        assert!(
            failed[0]["data"]["endpoint"]
                .as_str()
                .unwrap()
                .ends_with("/v1/traces")
        );
        assert!(failed[0]["data"]["dropped"].as_u64().unwrap() > 0, "{what}");
        // The error says why: the HTTP status, or why no answer came.
        let error = failed[0]["data"]["error"].as_str().unwrap().to_lowercase();
        let why = match what {
            "refused" => "refused",
            "500" => "500",
            _ => "time",
        };
        assert!(error.contains(why), "{what}: {error}");
        // The run's own result is unchanged.
        assert!(out.stdout.contains("\"workflow_completed\""));
    }
}

#[test]
fn traceparent_in_makes_the_run_a_child_and_tools_get_their_span() {
    let rx = OtlpReceiver::start(Behaviour::Healthy);
    let f = Fixture::empty()
        .file(
            "agent.tml",
            r#"trident: "0.1"
name: traced
nodes:
  input: {type: input, schema: {x: {type: string, description: x}}}
  output: {type: output}
tools:
  probe:
    type: shell
    command: "printf '%s|%s' \"$TRACEPARENT\" \"$TRACESTATE\""
  pyprobe:
    type: python
    module: pyprobe
edges:
  a: {from: input, to: probe, mapping: {x: x}}
  b: {from: probe, to: output, mapping: {seen: output}}
  c: {from: input, to: pyprobe, mapping: {x: x}}
  d: {from: pyprobe, to: output, mapping: {seen_py: traceparent}}
"#,
        )
        .file(
            "tools/pyprobe.py",
            "import os\n\ndef execute(x):\n    return {\"traceparent\": os.environ.get(\"TRACEPARENT\")}\n",
        )
        .env(
            "TRACEPARENT",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .env("TRACESTATE", "vendor=abc")
        // A traces-only backend: no log requests, so nothing refused and no warning.
        .env("OTEL_LOGS_EXPORTER", "none");
    let out = f.run(&[
        "project",
        "run",
        "-i",
        r#"{"x": "1"}"#,
        "-o",
        "json",
        &format!("--telemetry-otlp={}", rx.url()),
    ]);
    out.code(0);
    let root = rx.span("invoke_workflow traced");
    assert_eq!(root.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(root.parent_span_id, "00f067aa0ba902b7");
    assert_eq!(root.trace_state, "vendor=abc");
    let probe = rx.span("execute_tool probe");
    child_of(&probe, &root);
    // Neither a `description:` nor a docstring: no description attribute.
    assert_eq!(probe.attr("gen_ai.tool.description"), Value::Null);
    assert!(rx.logs().is_empty());
    assert!(
        rx.requests().iter().all(|r| r.path == "/v1/traces"),
        "{:?}",
        rx.requests().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert!(!out.stderr.contains("OpenTelemetry"), "{}", out.stderr);
    let seen = out.json()["outputs"]["output"]["seen"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        seen,
        format!(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01|vendor=abc",
            probe.span_id
        )
    );
    // A python tool (run by a pooled worker) gets its own node's span for the call.
    let pyprobe = rx.span("execute_tool pyprobe");
    assert_eq!(
        out.json()["outputs"]["output"]["seen_py"],
        format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", pyprobe.span_id)
    );
}

#[test]
fn without_otlp_no_trace_context_is_passed() {
    let f = Fixture::empty().file(
        "agent.tml",
        r#"trident: "0.1"
name: untraced
nodes:
  input: {type: input, schema: {x: {type: string, description: x}}}
  output: {type: output}
tools:
  probe: {type: shell, command: "printf '[%s]' \"$TRACEPARENT\""}
edges:
  a: {from: input, to: probe, mapping: {x: x}}
  b: {from: probe, to: output, mapping: {seen: output}}
"#,
    );
    let out = f.run(&["project", "run", "-i", r#"{"x": "1"}"#, "-o", "json"]);
    out.code(0);
    assert_eq!(out.json()["outputs"]["output"]["seen"], "[]");
}

#[test]
fn sub_workflows_nest_under_their_branch_and_trigger_nodes() {
    let rx = OtlpReceiver::start(Behaviour::Healthy);
    let f = Fixture::new("looping");
    f.run(&[
        "project",
        "run",
        "-i",
        r#"{"count": 0}"#,
        &format!("--telemetry-otlp={}", rx.url()),
    ])
    .code(0);
    let root = rx.span("invoke_workflow looping");
    let counter = rx.span("trident.node counter");
    child_of(&counter, &root);
    assert_eq!(counter.attr("trident.node.type"), "branch");
    let iterations: Vec<&(String, _)> = counter
        .events
        .iter()
        .filter(|(name, _)| name == "branch_iteration")
        .collect();
    assert_eq!(iterations.len(), 3, "{:?}", counter.events);
    let spans = rx.spans();
    let subs: Vec<&Span> = spans
        .iter()
        .filter(|s| s.attr("gen_ai.operation.name") == "invoke_workflow" && s.name != root.name)
        .collect();
    assert_eq!(subs.len(), 3, "one sub-workflow per iteration");
    for sub in &subs {
        child_of(sub, &counter);
        assert_eq!(
            sub.attr("trident.parent_run_id"),
            root.attr("trident.run_id")
        );
        let increments: Vec<&Span> = spans
            .iter()
            .filter(|s| s.parent_span_id == sub.span_id && s.name.starts_with("execute_tool"))
            .collect();
        assert_eq!(increments.len(), 1, "{}", sub.name);
    }

    let rx = OtlpReceiver::start(Behaviour::Healthy);
    let f = Fixture::new("triggers");
    f.run(&[
        "project",
        "run",
        "-i",
        r#"{"word": "hi"}"#,
        &format!("--telemetry-otlp={}", rx.url()),
    ])
    .code(0);
    let root = rx.span("invoke_workflow parent");
    let trigger = rx.span("trident.node child");
    child_of(&trigger, &root);
    let spans = rx.spans();
    let sub = spans
        .iter()
        .find(|s| {
            s.parent_span_id == trigger.span_id
                && s.attr("gen_ai.operation.name") == "invoke_workflow"
        })
        .expect("the triggered workflow's span");
    assert_eq!(sub.trace_id, root.trace_id);
    assert_eq!(sub.status_code, OK);
}

#[test]
fn retries_are_span_events_and_a_resume_links_to_the_previous_attempt() {
    let llm = FakeLlm::start();
    llm.push_status(500);
    let rx = OtlpReceiver::start(Behaviour::Healthy);
    let f = Fixture::new("hello").llm(&llm);
    run_hello(&f, &[&format!("--telemetry-otlp={}", rx.url())]).code(0);
    let chat = rx.span("chat claude-test");
    let retry = chat
        .events
        .iter()
        .find(|(name, _)| name == "provider_retry")
        .expect("a provider_retry span event");
    assert_eq!(retry.1["status"], json!(500));
    assert_eq!(retry.1["provider"], "anthropic");
    let first_root = rx.span("invoke_workflow hello");

    // A failing run, then its resume: each attempt is its own trace, linked to the last.
    let (first, rx) = fail_then_resume(&Fixture::new("failing"));
    let attempt1 = first.span("invoke_workflow failing");
    assert_eq!(attempt1.attr("trident.attempt"), 1);
    assert!(attempt1.links.is_empty());
    assert_ne!(attempt1.trace_id, first_root.trace_id);
    let attempt2 = rx.span("invoke_workflow failing");
    assert_eq!(attempt2.status_code, OK);
    assert_eq!(attempt2.attr("trident.attempt"), 2);
    assert_ne!(attempt2.trace_id, attempt1.trace_id);
    assert_eq!(
        attempt2.links,
        vec![(attempt1.trace_id.clone(), attempt1.span_id.clone())]
    );
    // The node done in the first attempt is a skipped span; the others run again.
    let cached = rx.span("trident.node first");
    child_of(&cached, &attempt2);
    assert_eq!(cached.attr("trident.node.skipped"), true);
    assert_eq!(
        cached.attr("trident.node.skip_reason"),
        "cached_from_checkpoint"
    );
    child_of(&rx.span("execute_tool boom"), &attempt2);
}

/// Runs the `failing` fixture `f` as run `again` (it fails at `boom`), then makes `boom`
/// pass and resumes it, each attempt exporting to its own receiver; returns them in order.
fn fail_then_resume(f: &Fixture) -> (OtlpReceiver, OtlpReceiver) {
    let first = OtlpReceiver::start(Behaviour::Healthy);
    f.run(&[
        "project",
        "run",
        "-i",
        r#"{"n": 1}"#,
        "--run-id",
        "again",
        &format!("--telemetry-otlp={}", first.url()),
    ])
    .code(1);
    std::fs::write(
        f.join("tools/ops.py"),
        "def ok(n):\n    return {\"n\": n}\n\n\ndef boom(n):\n    return {\"n\": n}\n",
    )
    .unwrap();
    let second = OtlpReceiver::start(Behaviour::Healthy);
    f.run(&[
        "project",
        "run",
        "--resume",
        "again",
        &format!("--telemetry-otlp={}", second.url()),
    ])
    .code(0);
    (first, second)
}

#[test]
fn a_resume_under_the_same_traceparent_gets_its_own_span_ids() {
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let (first, rx) = fail_then_resume(&Fixture::new("failing").env("TRACEPARENT", caller));
    let attempt1 = first.span("invoke_workflow failing");
    let boom1 = first.span("execute_tool boom");
    let attempt2 = rx.span("invoke_workflow failing");
    // Both attempts continue the caller's trace, under its span, with distinct ids, and
    // the second links to the first's root.
    for root in [&attempt1, &attempt2] {
        assert_eq!(root.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(root.parent_span_id, "00f067aa0ba902b7");
    }
    assert_ne!(attempt2.span_id, attempt1.span_id);
    assert_eq!(
        attempt2.links,
        vec![(attempt1.trace_id.clone(), attempt1.span_id.clone())]
    );
    let boom2 = rx.span("execute_tool boom");
    child_of(&boom2, &attempt2);
    assert_ne!(boom2.span_id, boom1.span_id);
}

const FAKE_CLAUDE: &str = r#"#!/bin/sh
d="$(dirname "$0")"
env > "$d/env"
cat "$d/script"
"#;

#[test]
fn an_agent_is_invoke_agent_with_a_chat_per_turn_and_its_tool_calls() {
    use std::os::unix::fs::PermissionsExt;
    let rx = OtlpReceiver::start(Behaviour::Healthy);
    let assistant = |text: &str, tool: Option<&str>, tokens: (u64, u64)| {
        let mut content = vec![json!({"type": "text", "text": text})];
        if let Some(name) = tool {
            content.push(
                json!({"type": "tool_use", "id": "t1", "name": name, "input": {"file_path": "x"}}),
            );
        }
        json!({"type": "assistant", "session_id": "sess-42", "message": {"id": format!("m-{text}"),
            "content": content, "usage": {"input_tokens": tokens.0, "output_tokens": tokens.1}}})
        .to_string()
    };
    let script = [
        json!({"type": "system", "subtype": "init", "session_id": "sess-42", "model": "claude-test-model"}).to_string(),
        assistant("looking", Some("Read"), (10, 5)),
        json!({"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}}).to_string(),
        assistant("done", None, (20, 8)),
        json!({"type": "result", "subtype": "success", "is_error": false, "result": "{\"answer\": \"42\"}",
            "session_id": "sess-42", "num_turns": 2, "total_cost_usd": 0.0123,
            "usage": {"input_tokens": 100, "output_tokens": 20}}).to_string(),
    ];
    let f = Fixture::empty()
        .file(
            "agent.tml",
            r#"trident: "0.1"
name: agents
nodes:
  input: {type: input, schema: {task: {type: string, description: t}}}
  worker: {type: agent, prompt: prompts/worker.prompt, allowed_tools: [Read]}
  output: {type: output}
edges:
  a: {from: input, to: worker, mapping: {task: task}}
  b: {from: worker, to: output, mapping: {answer: answer}}
"#,
        )
        .file(
            "prompts/worker.prompt",
            "---\nid: worker\ninput:\n  task: {type: string}\noutput:\n  format: json\n  schema:\n    answer: {type: string, description: a}\n---\nDo {{ task }}.\n",
        )
        .file("bin/script", &(script.join("\n") + "\n"));
    let bin = f.join("bin/claude");
    std::fs::write(&bin, FAKE_CLAUDE).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        f.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let f = f.env("PATH", &path);
    f.run(&[
        "project",
        "run",
        "-i",
        r#"{"task": "count"}"#,
        &format!("--telemetry-otlp={}", rx.url()),
    ])
    .code(0);

    let root = rx.span("invoke_workflow agents");
    let agent = rx.span("invoke_agent worker");
    child_of(&agent, &root);
    assert_eq!(agent.kind, INTERNAL);
    assert_eq!(agent.attr("gen_ai.operation.name"), "invoke_agent");
    assert_eq!(agent.attr("gen_ai.provider.name"), "anthropic");
    assert_eq!(agent.attr("gen_ai.agent.name"), "worker");
    assert_eq!(agent.attr("gen_ai.conversation.id"), "sess-42");
    assert_eq!(agent.attr("gen_ai.usage.input_tokens"), 100);
    assert_eq!(agent.attr("gen_ai.usage.output_tokens"), 20);
    assert_eq!(agent.attr("trident.cost.usd"), 0.0123);
    let spans = rx.spans();
    let turns: Vec<&Span> = spans
        .iter()
        .filter(|s| s.attr("gen_ai.operation.name") == "chat")
        .collect();
    assert_eq!(turns.len(), 2, "{spans:#?}");
    for turn in &turns {
        child_of(turn, &agent);
        assert_eq!(turn.kind, CLIENT);
        assert_eq!(turn.name, "chat claude-test-model");
    }
    assert_eq!(turns[0].attr("trident.agent.turn"), 1);
    let tool = rx.span("execute_tool Read");
    child_of(&tool, &agent);
    assert_eq!(tool.attr("gen_ai.tool.name"), "Read");
    // The CLI got the agent span's trace context.
    let env = std::fs::read_to_string(f.join("bin/env")).unwrap();
    let expected = format!("TRACEPARENT=00-{}-{}-01", agent.trace_id, agent.span_id);
    assert!(
        env.lines().any(|l| l == expected),
        "{expected} not in\n{env}"
    );
}

#[test]
fn a_fire_and_forget_run_joins_its_parents_trace() {
    let rx = OtlpReceiver::start(Behaviour::Healthy);
    let f = Fixture::new("triggers");
    let manifest = std::fs::read_to_string(f.join("agent.tml"))
        .unwrap()
        .replace("mode: wait", "mode: fire-and-forget")
        .replace("mapping: {result: output.upper}", "mapping: {pid: pid}");
    std::fs::write(f.join("agent.tml"), manifest).unwrap();
    // The settings come from the flags: the child inherits them through its environment
    // (its events go to the parent's file too).
    let log = f.join("events.jsonl");
    f.run(&[
        "project",
        "run",
        "-i",
        r#"{"word": "hi"}"#,
        &format!("--telemetry-otlp={}", rx.url()),
        "--telemetry-file",
        log.to_str().unwrap(),
    ])
    .code(0);
    let root = rx.span("invoke_workflow parent");
    let trigger = rx.span("trident.node child");
    crate::support::wait_until("the triggered run's trace", || {
        rx.spans().iter().any(|s| {
            s.parent_span_id == trigger.span_id
                && s.attr("gen_ai.operation.name") == "invoke_workflow"
        })
    });
    let spans = rx.spans();
    let child = spans
        .iter()
        .find(|s| s.parent_span_id == trigger.span_id)
        .unwrap();
    assert_eq!(child.trace_id, root.trace_id);
    assert_ne!(child.attr("trident.run_id"), root.attr("trident.run_id"));
    let child_run = child.attr("trident.run_id").as_str().unwrap().to_string();
    crate::support::wait_until("the triggered run's events in the parent's file", || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .any(|l| {
                serde_json::from_str::<Value>(l).is_ok_and(|e| {
                    e["run_id"] == child_run.as_str() && e["event"] == "workflow_completed"
                })
            })
    });
}
