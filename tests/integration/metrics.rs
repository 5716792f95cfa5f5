//! Prometheus metrics of a run: `--metrics-file` parsed with a Prometheus text parser (and
//! checked by `promtool` where installed), values against the run; `--metrics-push` to a
//! Pushgateway stand-in; unwritable files and unreachable gateways only warn.

use std::collections::HashMap;

use prometheus_parse::{Sample, Scrape, Value as Metric};

use crate::support::fake_llm::{FakeLlm, FakeReply};
use crate::support::http_recorder::HttpRecorder;
use crate::support::{Fixture, Out};

fn parse(text: &str) -> Vec<Sample> {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    Scrape::parse(lines).expect("Prometheus text").samples
}

/// The value of the sample `name` whose labels include all of `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .collect();
    assert_eq!(found.len(), 1, "one {name}{labels:?} in {samples:#?}");
    match &found[0].value {
        Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v) => *v,
        other => panic!("{name} is not a single value: {other:?}"),
    }
}

/// `promtool check metrics` on `text` where Debian's `prometheus` package is installed.
fn promtool_check(text: &str) {
    let Ok(mut child) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!(
            "WARNING: promtool is not installed (apt-get install prometheus): the metrics \
             text was checked with the prometheus-parse parser only"
        );
        return;
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    // promtool exits 0 for valid text (lint advice, if any, is printed but not an error).
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The metrics file `rel` of `f`, checked (promtool where installed) and parsed.
fn read_metrics(f: &Fixture, rel: &str) -> Vec<Sample> {
    let text = std::fs::read_to_string(f.join(rel)).unwrap();
    promtool_check(&text);
    parse(&text)
}

/// `trident project run --dry-run -i {"name": "A"} <extra>` of the hello fixture `f`.
fn hello_dry_run(f: &Fixture, extra: &[&str]) -> Out {
    let mut args = vec!["project", "run", "--dry-run", "-i", r#"{"name": "A"}"#];
    args.extend_from_slice(extra);
    f.run(&args)
}

#[test]
fn metrics_file_counts_the_run() {
    let fake = FakeLlm::start();
    fake.push_reply(FakeReply::text("Hello Ada").tokens(12, 40));
    let f = Fixture::new("hello").llm(&fake);
    let before = chrono::Utc::now().timestamp() as f64;
    f.run(&[
        "project",
        "run",
        "-i",
        r#"{"name": "Ada"}"#,
        "--metrics-file",
        "out/trident.prom",
    ])
    .code(0);
    let samples = read_metrics(&f, "out/trident.prom");
    let hello = ("workflow", "hello");
    assert_eq!(
        value(
            &samples,
            "trident_runs_total",
            &[hello, ("status", "completed")]
        ),
        1.0
    );
    let duration = value(&samples, "trident_run_duration_seconds", &[hello]);
    assert!(duration > 0.0 && duration < 60.0, "{duration}");
    let success = value(
        &samples,
        "trident_run_last_success_timestamp_seconds",
        &[hello],
    );
    assert!(
        success >= before - 1.0 && success <= before + 120.0,
        "{success}"
    );
    let tokens = |direction| {
        value(
            &samples,
            "trident_tokens_total",
            &[hello, ("direction", direction)],
        )
    };
    assert_eq!((tokens("input"), tokens("output")), (12.0, 40.0));
    assert_eq!(
        value(
            &samples,
            "trident_node_failures_total",
            &[hello, ("node", "greet")]
        ),
        0.0
    );
    assert_eq!(
        value(
            &samples,
            "trident_telemetry_dropped_total",
            &[("sink", "queue")]
        ),
        0.0
    );
    // One observation per node that ran, in the buckets of LLM latencies.
    let greet = samples
        .iter()
        .find(|s| {
            s.metric == "trident_node_duration_seconds"
                && s.labels.get("node") == Some("greet")
                && s.labels.get("type") == Some("prompt")
        })
        .expect("greet's histogram");
    let Metric::Histogram(buckets) = &greet.value else {
        panic!("a histogram: {greet:?}");
    };
    let bounds: Vec<f64> = buckets.iter().map(|b| b.less_than).collect();
    assert_eq!(bounds.first(), Some(&0.1));
    assert!(
        bounds.contains(&600.0) && bounds.last() == Some(&f64::INFINITY),
        "{bounds:?}"
    );
    assert_eq!(buckets.last().unwrap().count, 1.0);
    // No run id in any label.
    let run_id = f.last_run_id();
    let text = std::fs::read_to_string(f.join("out/trident.prom")).unwrap();
    assert!(!text.contains(&run_id), "{text}");
    // The classic format, not OpenMetrics.
    assert!(
        !text.contains("# EOF") && !text.contains("# UNIT"),
        "{text}"
    );
    // Written atomically: no temp file left beside it.
    let names: Vec<_> = std::fs::read_dir(f.join("out")).unwrap().collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn a_failed_run_counts_its_failure_and_keeps_the_last_success() {
    let f = Fixture::new("failing").env("TRIDENT_METRICS_FILE", "m.prom");
    std::fs::write(
        f.join("m.prom"),
        "trident_run_last_success_timestamp_seconds{workflow=\"failing\"} 1700000000\n",
    )
    .unwrap();
    f.run(&["project", "run", "-i", r#"{"n": 1}"#]).code(1);
    let samples = read_metrics(&f, "m.prom");
    let failing = ("workflow", "failing");
    assert_eq!(
        value(
            &samples,
            "trident_runs_total",
            &[failing, ("status", "failed")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "trident_node_failures_total",
            &[failing, ("node", "boom")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "trident_node_failures_total",
            &[failing, ("node", "first")]
        ),
        0.0
    );
    assert_eq!(
        value(
            &samples,
            "trident_run_last_success_timestamp_seconds",
            &[failing]
        ),
        1_700_000_000.0
    );
}

#[test]
fn manifest_metrics_file_is_relative_to_the_project() {
    let f = Fixture::new("hello");
    let manifest = std::fs::read_to_string(f.join("agent.tml")).unwrap();
    let f = f.file(
        "agent.tml",
        &format!("{manifest}\ntelemetry:\n  metrics_file: metrics/hello.prom\n"),
    );
    hello_dry_run(&f, &[]).code(0);
    let text = std::fs::read_to_string(f.join("metrics/hello.prom")).unwrap();
    assert!(text.contains("trident_runs_total{status=\"completed\",workflow=\"hello\"} 1"));
}

#[test]
fn a_dry_run_shows_its_models_with_zero_tokens() {
    // The mock answers report no tokens: the series exist at 0 (like the cost), so a
    // dashboard's query finds them from the first run on.
    let f = Fixture::new("hello");
    hello_dry_run(&f, &["--metrics-file", "m.prom"]).code(0);
    let samples = read_metrics(&f, "m.prom");
    let labels = |direction| {
        [
            ("workflow", "hello"),
            ("model", "anthropic/claude-test"),
            ("direction", direction),
        ]
    };
    for direction in ["input", "output"] {
        assert_eq!(
            value(&samples, "trident_tokens_total", &labels(direction)),
            0.0
        );
    }
    assert_eq!(
        value(
            &samples,
            "trident_cost_usd_total",
            &[("workflow", "hello"), ("model", "anthropic/claude-test")]
        ),
        0.0
    );
}

#[test]
fn metrics_push_to_a_pushgateway() {
    let gateway = HttpRecorder::start();
    let f = Fixture::new("hello");
    hello_dry_run(&f, &["--metrics-push", &format!("{}/", gateway.url())]).code(0);
    let requests = gateway.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let push = &requests[0];
    assert_eq!(push.method, "POST");
    assert_eq!(push.path, "/metrics/job/trident/workflow/hello");
    assert!(
        push.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "{push:?}"
    );
    let samples = parse(&push.body);
    // The grouping key carries job and workflow: the pushed series must not repeat them.
    assert!(samples.iter().all(|s| s.labels.get("workflow").is_none()));
    assert_eq!(
        value(&samples, "trident_runs_total", &[("status", "completed")]),
        1.0
    );
    let by_name: HashMap<&str, usize> = samples.iter().fold(HashMap::new(), |mut m, s| {
        *m.entry(s.metric.as_str()).or_default() += 1;
        m
    });
    assert!(
        by_name.contains_key("trident_node_duration_seconds"),
        "{by_name:?}"
    );
}

#[test]
fn unreachable_gateway_and_unwritable_file_only_warn() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let f = Fixture::new("hello").file("blocker", "a file, not a folder");
    let started = std::time::Instant::now();
    let push = format!("http://127.0.0.1:{port}");
    let out = hello_dry_run(
        &f,
        &[
            "-o",
            "json",
            "--metrics-file",
            "blocker/m.prom",
            "--metrics-push",
            &push,
        ],
    );
    out.code(0);
    assert_eq!(out.json()["success"], true);
    assert!(
        out.stderr.contains("cannot write the metrics file"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("cannot push metrics"), "{}", out.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn invalid_metrics_settings_stop_the_run_before_it_starts() {
    let f = Fixture::new("hello");
    let out = hello_dry_run(&f, &["--metrics-push", "pushgateway:9091"]);
    out.code(2);
    assert!(out.stderr.contains("--metrics-push"), "{}", out.stderr);
    assert!(!f.join(".trident").exists());
}
