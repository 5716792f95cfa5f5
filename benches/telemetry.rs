//! Telemetry benchmarks: the cost of `emit` on the calling thread (off and on), the writer's
//! throughput to a file, a bare channel + BufWriter for reference, and the end-to-end
//! overhead on a simulated run of short nodes.
//!
//! Run: `cargo bench --bench telemetry` (add `-- --quick` style criterion flags as needed).
//! The table in docs/TELEMETRY.md comes from this file.

use std::fs::{self, File, OpenOptions};
use std::hint::black_box;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trident::project::NodeKind;
use trident::telemetry::{
    Event, FileSink, Format, RunTelemetry, Sink, Telemetry, TelemetryGuard, TelemetrySettings,
};

/// Discards everything: isolates the emitting side and the formatting.
struct NullSink;

impl Sink for NullSink {
    fn describe(&self) -> String {
        "null".into()
    }
    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        black_box(lines);
        Ok(())
    }
}

/// The baseline's line: what a bare channel + BufWriter writer serialises.
#[derive(serde::Serialize)]
struct BaselineLine {
    timestamp: &'static str,
    seq: u64,
    run_id: &'static str,
    event: &'static str,
    level: &'static str,
    node_id: &'static str,
    data: BaselineData,
}

#[derive(serde::Serialize)]
struct BaselineData {
    r#type: &'static str,
    duration_ms: u64,
    input_tokens: u64,
    output_tokens: u64,
    cost_usd: f64,
}

/// A typical event: about 230 bytes as a JSON line.
fn node_completed() -> Event {
    Event::NodeCompleted {
        node_type: NodeKind::Prompt,
        duration_ms: 333,
        input_tokens: 1200,
        output_tokens: 400,
        model: None,
        cost_usd: Some(0.0123),
        response_model: None,
        finish_reason: None,
        session_id: None,
    }
}

const FLUSH: Duration = Duration::from_secs(60);

fn stream(sink: Box<dyn Sink>, format: Format, capacity: usize) -> (Telemetry, TelemetryGuard) {
    let settings = TelemetrySettings {
        format,
        ..TelemetrySettings::on()
    };
    Telemetry::builder(&settings)
        .sink(sink)
        .queue_capacity(capacity)
        .start()
}

fn emit_cost(c: &mut Criterion) {
    let mut group = c.benchmark_group("emit");
    group.throughput(Throughput::Elements(1));

    let off = RunTelemetry::disabled();
    group.bench_function("off", |b| {
        b.iter(|| black_box(&off).emit(black_box(Some("greet")), node_completed))
    });

    // On: time only the emit calls; the queue is drained between chunks (not timed) so
    // no event is ever dropped and every call takes the full path.
    const CHUNK: u64 = 16 * 1024;
    let (telemetry, guard) = stream(Box::new(NullSink), Format::Jsonl, 64 * 1024);
    let run = telemetry.for_run("0194ab12-7c3d-7000-8000-000000000001");
    group.bench_function("on", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(CHUNK);
                let begun = Instant::now();
                for _ in 0..n {
                    run.emit(black_box(Some("greet")), node_completed);
                }
                spent += begun.elapsed();
                telemetry.flush_blocking(FLUSH);
                left -= n;
            }
            spent
        })
    });
    group.bench_function("on_filtered_out", |b| {
        b.iter(|| {
            run.emit(black_box(Some("greet")), || Event::TimingMetric {
                name: "queue_wait_ms",
                value: 1.0,
            })
        })
    });
    drop(guard);
    group.finish();
}

fn truncate(path: &Path) {
    if let Ok(file) = OpenOptions::new().write(true).open(path) {
        let _ = file.set_len(0);
    }
}

/// Events/s from `emit` to lines written in a file: `n` events, then a flush.
fn writer_throughput(c: &mut Criterion) {
    const N: u64 = 50_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("writer");
    group.throughput(Throughput::Elements(N));
    group.sample_size(20);

    for (name, format) in [("file_jsonl", Format::Jsonl), ("file_human", Format::Human)] {
        let path = dir.path().join(format!("{name}.jsonl"));
        let (telemetry, guard) =
            stream(Box::new(FileSink::new(&path, None)), format, 2 * N as usize);
        let run = telemetry.for_run("0194ab12-7c3d-7000-8000-000000000001");
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let begun = Instant::now();
                    for _ in 0..N {
                        run.emit(Some("greet"), node_completed);
                    }
                    telemetry.flush_blocking(FLUSH);
                    spent += begun.elapsed();
                    truncate(&path);
                }
                spent
            })
        });
        assert_eq!(telemetry.dropped_events(), 0, "the benchmark must not drop");
        drop(guard);
    }

    // Reference: a bare bounded channel of serialised lines and a BufWriter.
    let path = dir.path().join("baseline.jsonl");
    group.bench_function("baseline_channel_bufwriter", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let file = File::create(&path).expect("baseline file");
                let begun = Instant::now();
                let (tx, rx) = mpsc::sync_channel::<(u64, u64, u64)>(N as usize);
                let writer = thread::spawn(move || {
                    let mut out = BufWriter::new(file);
                    for (seq, input_tokens, output_tokens) in rx {
                        let line = BaselineLine {
                            timestamp: "2026-01-23T10:15:30.123Z",
                            seq,
                            run_id: "0194ab12-7c3d-7000-8000-000000000001",
                            event: "node_completed",
                            level: "INFO",
                            node_id: "greet",
                            data: BaselineData {
                                r#type: "prompt",
                                duration_ms: 333,
                                input_tokens,
                                output_tokens,
                                cost_usd: 0.0123,
                            },
                        };
                        let _ = serde_json::to_writer(&mut out, &line);
                        let _ = out.write_all(b"\n");
                    }
                    let _ = out.flush();
                });
                for seq in 0..N {
                    let _ = tx.send((seq, 1200, 400));
                }
                drop(tx);
                let _ = writer.join();
                spent += begun.elapsed();
            }
            spent
        })
    });
    group.finish();
    let _ = fs::remove_dir_all(dir.path());
}

/// Real time: from `emit` to the line being in the file (readable by `tail -f`), no flush.
/// Events follow each other closely here, so the writer is mostly mid-tick: this is the
/// slow case (an event after a quiet period wakes the writer at once).
fn latency(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("latency.jsonl");
    let settings = TelemetrySettings {
        file: Some(path.clone()),
        stdout: false,
        ..TelemetrySettings::on()
    };
    let (telemetry, guard) = Telemetry::start(&settings, Vec::new());
    let run = telemetry.for_run("0194ab12-7c3d-7000-8000-000000000001");
    let size = |p: &Path| fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut group = c.benchmark_group("latency");
    group.sample_size(20);
    group.bench_function("file_visible", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let before = size(&path);
                let begun = Instant::now();
                run.emit(Some("greet"), node_completed);
                while size(&path) == before {
                    std::hint::spin_loop();
                }
                spent += begun.elapsed();
            }
            spent
        })
    });
    group.finish();
    drop(guard);
}

/// A simulated run: `NODES` nodes of ~`WORK` CPU time each, emitting what the engine emits
/// for a prompt node at `verbose` (started, input, token usage, cost, output, completed).
fn end_to_end(c: &mut Criterion) {
    const NODES: u64 = 200;
    const WORK: Duration = Duration::from_micros(50);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("run.jsonl");

    fn busy(d: Duration) {
        let begun = Instant::now();
        while begun.elapsed() < d {
            black_box(());
        }
    }

    fn run_nodes(run: &RunTelemetry) {
        for i in 0..NODES {
            let id = format!("node_{i}");
            run.emit(Some(&id), || Event::node_started(NodeKind::Prompt));
            if run.wants(trident::telemetry::EventKind::InputReceived) {
                run.emit(Some(&id), || Event::InputReceived {
                    inputs: trident::telemetry::fields(
                        serde_json::json!({"topic": "cats", "n": i}),
                    ),
                });
            }
            busy(WORK);
            run.emit(Some(&id), || Event::TokenUsage {
                model: "claude-sonnet".into(),
                input_tokens: 1200,
                output_tokens: 400,
                cache_read_input_tokens: None,
                cache_creation_input_tokens: None,
                cost_usd: Some(0.01),
            });
            run.emit(Some(&id), || Event::CostIncurred {
                cost_usd: 0.01,
                total_cost_usd: 0.01 * i as f64,
            });
            run.emit(Some(&id), || Event::OutputProduced {
                outputs: trident::telemetry::fields(serde_json::json!({"text": "a short answer"})),
            });
            run.emit(Some(&id), node_completed);
        }
    }

    let mut group = c.benchmark_group("end_to_end");
    group.sample_size(20);
    group.throughput(Throughput::Elements(NODES));
    let off = RunTelemetry::disabled();
    group.bench_function("200_nodes_off", |b| b.iter(|| run_nodes(&off)));

    let settings = TelemetrySettings {
        file: Some(path.clone()),
        stdout: false,
        level: trident::telemetry::LevelSetting::parse("verbose"),
        ..TelemetrySettings::on()
    };
    let (telemetry, guard) = Telemetry::start(&settings, vec!["some-dotenv-secret".into()]);
    let run = telemetry.for_run("0194ab12-7c3d-7000-8000-000000000001");
    group.bench_function("200_nodes_on_file_verbose", |b| {
        b.iter_custom(|iters| {
            let begun = Instant::now();
            for _ in 0..iters {
                run_nodes(&run);
            }
            telemetry.flush_blocking(FLUSH);
            let spent = begun.elapsed();
            truncate(&path);
            spent
        })
    });
    drop(guard);
    group.finish();
}

/// Writes a project of `nodes` prompt nodes fed by one input (one wide level).
fn write_project(dir: &Path, nodes: usize) {
    use std::fmt::Write as _;
    let prompts = dir.join("prompts");
    fs::create_dir_all(&prompts).expect("prompts folder");
    let mut manifest = String::from(
        "trident: \"0.1\"\nname: bench\ndefaults:\n  model: anthropic/claude-sonnet-4-20250514\n\
         nodes:\n  input:\n    type: input\n    schema:\n      text: {type: string, description: t}\n\
         \x20 output:\n    type: output\n    format: json\nedges:\n",
    );
    for i in 0..nodes {
        let _ = writeln!(
            manifest,
            "  e{i}:\n    from: input\n    to: p{i}\n    mapping:\n      text: text\n  \
             o{i}:\n    from: p{i}\n    to: output\n    mapping:\n      r{i}: score"
        );
        let prompt = format!(
            "---\nid: p{i}\nname: Prompt {i}\ndescription: Bench prompt\ninput:\n  text:\n    type: string\n    required: true\n\
             output:\n  format: json\n  schema:\n    text:\n      type: string\n      description: out\n    score:\n      type: number\n      description: s\n---\n\
             Rewrite {{{{ text }}}} and score it.\n"
        );
        fs::write(prompts.join(format!("p{i}.prompt")), prompt).expect("prompt file");
    }
    fs::write(dir.join("agent.tml"), manifest).expect("manifest");
}

/// The whole `trident` process: a dry run of 200 prompt nodes, telemetry off and on.
fn process(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    write_project(dir.path(), 200);
    let log = dir.path().join("telemetry.jsonl");
    let log_arg = log.display().to_string();
    let cases: [(&str, Vec<&str>); 3] = [
        ("dry_run_200_off", vec![]),
        (
            "dry_run_200_on_file_verbose",
            vec![
                "--telemetry",
                "--telemetry-level",
                "verbose",
                "--telemetry-file",
                &log_arg,
            ],
        ),
        (
            "dry_run_200_on_stdout_debug",
            vec!["--telemetry", "--telemetry-level", "debug"],
        ),
    ];
    let mut group = c.benchmark_group("process");
    group.sample_size(20);
    for (name, extra) in cases {
        group.bench_function(name, |b| {
            b.iter(|| {
                let status = std::process::Command::new(env!("CARGO_BIN_EXE_trident"))
                    .args(["project", "run", "--dry-run", "--no-artifacts"])
                    .args(["-i", r#"{"text":"hello"}"#, "-o", "json"])
                    .args(&extra)
                    .current_dir(dir.path())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .expect("trident runs");
                assert!(status.success());
            });
            truncate(&log);
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = emit_cost, writer_throughput, latency, end_to_end, process
}
criterion_main!(benches);
