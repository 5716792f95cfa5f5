//! In-process cost of the writer's destinations on the event stream of the 1000-node dry
//! run (the ~6000 events `benches/dry_run.rs`'s wide project emits: per prompt node
//! `node_started`, `input_received`, `prompt_rendered`, `output_produced`,
//! `node_completed`, `checkpoint_saved`): the same events emitted from one thread with no
//! destination (what the engine pays when nothing wants events), with the run's
//! `events.jsonl` only (the default run), and with the OpenTelemetry export added (to a
//! healthy collector in this process). One iteration starts the stream, emits the run and
//! drops the guard, which waits for the writer and the export thread: the whole cost.
//!
//! Run: `cargo bench --bench destinations`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use trident::project::NodeKind;
use trident::telemetry::otlp::settings::{OtlpProtocol, OtlpSettings};
use trident::telemetry::{
    DestinationOptions, Event, RunHistorySink, RunTelemetry, Telemetry, TelemetrySettings, fields,
};

const NODES: usize = 1000;
const MODEL: &str = "anthropic/claude-sonnet-4-20250514";

/// A collector on 127.0.0.1 answering 200 to every request; counts the bytes received.
fn collector(received: Arc<AtomicU64>) -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let mut body = Vec::new();
            let _ = std::io::Read::read_to_end(request.as_reader(), &mut body);
            received.fetch_add(body.len() as u64, Ordering::Relaxed);
            let _ = request.respond(tiny_http::Response::empty(200));
        }
    });
    url
}

fn otlp_settings(url: &str) -> OtlpSettings {
    OtlpSettings {
        traces_endpoint: format!("{url}/v1/traces"),
        logs_endpoint: format!("{url}/v1/logs"),
        traces: true,
        logs: true,
        headers: Vec::new(),
        header_secrets: Vec::new(),
        protocol: OtlpProtocol::HttpProtobuf,
        timeout: Duration::from_secs(10),
        service_name: "trident".into(),
        resource_attributes: Vec::new(),
        parent: None,
    }
}

/// The events of one 1000-node wide dry run, as the engine emits them.
fn emit_run(run: &RunTelemetry, checkpoint: &str) {
    run.emit(None, || Event::WorkflowStarted {
        name: "bench".into(),
        entrypoint: "input".into(),
        dry_run: true,
        resumed_from: None,
        attempt: 1,
    });
    let mock = json!({"text": "[mock_text]", "score": 0});
    for i in 0..NODES {
        let id = format!("p{i}");
        let node = Some(id.as_str());
        run.emit(node, || Event::node_started(NodeKind::Prompt));
        run.emit(node, || Event::InputReceived {
            inputs: fields(json!({"text": "hello"})),
        });
        run.emit(node, || Event::PromptRendered {
            model: MODEL.into(),
            prompt: "Rewrite hello and score it.".into(),
            chars: 27,
        });
        run.emit(node, || Event::OutputProduced {
            outputs: fields(json!({"text": mock.to_string(), "score": 0})),
        });
        run.emit(node, || Event::NodeCompleted {
            node_type: NodeKind::Prompt,
            duration_ms: 0,
            input_tokens: 0,
            output_tokens: 0,
            model: Some(MODEL.into()),
            cost_usd: Some(0.0),
            response_model: None,
            finish_reason: None,
            session_id: None,
        });
        run.emit(node, || Event::CheckpointSaved {
            completed_nodes: i + 2,
            pending_nodes: NODES - i - 1,
            total_cost_usd: 0.0,
            path: checkpoint.to_string(),
        });
    }
    run.emit(None, || Event::WorkflowCompleted {
        name: "bench".into(),
        duration_ms: 100,
        succeeded: NODES as u64 + 2,
        skipped: 0,
        failed: 0,
        cached: 0,
        input_tokens: 0,
        output_tokens: 0,
        cost_usd: 0.0,
    });
}

/// One run: a stream with the run's history under `dir` (if `history`) and OTLP to `url`
/// (if given), the run's events, then the guard dropped (everything written and exported).
fn one_run(dir: &Path, history: bool, otlp: Option<&str>, n: u64) {
    let settings = match otlp {
        Some(url) => TelemetrySettings {
            enabled: true,
            stdout: false,
            otlp: Some(otlp_settings(url)),
            ..TelemetrySettings::default()
        },
        None => TelemetrySettings::default(),
    };
    let mut builder = Telemetry::builder(&settings);
    if history {
        builder = builder.destination(
            Box::new(RunHistorySink::new(dir)),
            DestinationOptions::run_history(),
        );
    }
    let (telemetry, guard) = builder.start();
    let run_id = format!("bench-{n}");
    let checkpoint = format!(".trident/runs/{run_id}/checkpoint.json");
    emit_run(&telemetry.for_run(&run_id), &checkpoint);
    drop(black_box(guard));
    if history {
        let _ = std::fs::remove_dir_all(dir.join("runs").join(&run_id));
    }
}

fn destinations(c: &mut Criterion) {
    let received = Arc::new(AtomicU64::new(0));
    let url = collector(Arc::clone(&received));
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("dry_run_1000_events");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(6 * NODES as u64 + 2));
    let mut n = 0u64;
    let cases: [(&str, bool, Option<&str>); 4] = [
        ("no destination", false, None),
        ("events.jsonl", true, None),
        ("events.jsonl + otlp", true, Some(&url)),
        ("otlp", false, Some(&url)),
    ];
    for (name, history, otlp) in cases {
        group.bench_function(name, |b| {
            b.iter(|| {
                n += 1;
                one_run(dir.path(), history, otlp, n);
            })
        });
    }
    group.finish();
    println!(
        "(the collector received {:.1} MiB)",
        received.load(Ordering::Relaxed) as f64 / (1 << 20) as f64
    );
}

criterion_group!(benches, destinations);
criterion_main!(benches);
