//! Whole-process benchmark of the OpenTelemetry export on the 1000-node dry run (the
//! projects of `dry_run.rs`): telemetry off vs OTLP on to a healthy collector running in
//! this process, and a telemetry file vs the file plus OTLP, in alternating order; then what
//! a collector that refuses connections, answers 500 or never answers adds at the end.
//!
//! Run: `cargo bench --bench otlp` (`OTLP_BENCH_RUNS` pairs, default 10).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "common/project.rs"]
mod project;
use project::write_project;

#[derive(Clone, Copy, PartialEq)]
enum Collector {
    Healthy,
    Fails500,
    Hangs,
}

/// A collector on 127.0.0.1 in this process; returns its base URL. Counts bytes received.
fn collector(kind: Collector, received: Arc<AtomicU64>) -> String {
    collector_at("127.0.0.1:0", kind, received)
}

/// [`collector`] listening on `address`.
fn collector_at(address: &str, kind: Collector, received: Arc<AtomicU64>) -> String {
    let listener = TcpListener::bind(address).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            if kind == Collector::Hangs {
                held.push(stream);
                continue;
            }
            let received = Arc::clone(&received);
            std::thread::spawn(move || answer(stream, kind, &received));
        }
    });
    url
}

/// Answers the requests of one connection, kept alive as real collectors do (HTTP/1.1),
/// each as soon as its body is read.
fn answer(stream: TcpStream, kind: Collector, received: &AtomicU64) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    let status = if kind == Collector::Fails500 {
        "500 Internal Server Error"
    } else {
        "200 OK"
    };
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        received.fetch_add(length as u64, Ordering::Relaxed);
        let answered = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"
        );
        if answered.is_err() {
            return;
        }
    }
}

fn run(dir: &Path, extra: &[&str]) -> Duration {
    let start = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_trident"))
        .args([
            "project",
            "run",
            "--dry-run",
            "-i",
            r#"{"text":"hello"}"#,
            "-o",
            "json",
        ])
        .args(extra)
        .current_dir(dir)
        .env_remove("TRACEPARENT")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "trident failed in {}", dir.display());
    start.elapsed()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Median wall times of `a` and `b` and the median of their paired ratios, alternating
/// which goes first.
fn compare(dir: &Path, runs: usize, a: &[&str], b: &[&str]) -> (f64, f64, f64) {
    run(dir, a);
    run(dir, b);
    let (mut ta, mut tb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        let (x, y) = if i % 2 == 0 {
            let x = run(dir, a);
            (x, run(dir, b))
        } else {
            let y = run(dir, b);
            (run(dir, a), y)
        };
        ta.push(x.as_secs_f64() * 1000.0);
        tb.push(y.as_secs_f64() * 1000.0);
        ratios.push(y.as_secs_f64() / x.as_secs_f64());
    }
    (median(ta), median(tb), (median(ratios) - 1.0) * 100.0)
}

/// The value after `flag` on the command line.
fn arg_value(flag: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == flag)?;
    args.get(at + 1).cloned()
}

/// `--write-project DIR [--chain]` writes the 1000-node project, `--serve ADDRESS` runs
/// the healthy collector until killed, so that whole commands can be timed from outside
/// (`/usr/bin/time`, `hyperfine`) against the same collector.
fn helper_modes() -> bool {
    let mut helped = false;
    if let Some(dir) = arg_value("--write-project") {
        let chain = std::env::args().any(|a| a == "--chain");
        write_project(Path::new(&dir), 1000, chain);
        helped = true;
    }
    if let Some(address) = arg_value("--serve") {
        let received = Arc::new(AtomicU64::new(0));
        println!("{}", collector_at(&address, Collector::Healthy, received));
        loop {
            std::thread::park();
        }
    }
    helped
}

fn main() {
    if std::env::args().any(|a| a == "--list") || helper_modes() {
        return;
    }
    let runs: usize = std::env::var("OTLP_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let received = Arc::new(AtomicU64::new(0));
    let healthy = collector(Collector::Healthy, Arc::clone(&received));
    println!("1000-node dry runs, {runs} pairs each, alternating order (median wall time):\n");
    println!("| shape | compared | without OTLP | with OTLP (healthy collector) | overhead |");
    println!("|-------|----------|-------------:|------------------------------:|---------:|");
    for chain in [false, true] {
        let shape = if chain { "chain" } else { "wide" };
        let dir = tempfile::tempdir().unwrap();
        write_project(dir.path(), 1000, chain);
        let log = dir.path().join("t.jsonl");
        let log = log.to_str().unwrap();
        let otlp_flag = format!("--telemetry-otlp={healthy}");
        let otlp = [otlp_flag.as_str()];
        let (a, b, o) = compare(dir.path(), runs, &[], &otlp);
        println!("| {shape} | telemetry off / OTLP only | {a:.1} ms | {b:.1} ms | {o:+.1} % |");
        let file = ["--telemetry", "--telemetry-file", log];
        let both = ["--telemetry", "--telemetry-file", log, otlp_flag.as_str()];
        let (a, b, o) = compare(dir.path(), runs, &file, &both);
        println!("| {shape} | file / file + OTLP | {a:.1} ms | {b:.1} ms | {o:+.1} % |");
    }
    println!(
        "\n(the collector received {:.1} MiB of protobuf)\n",
        received.load(Ordering::Relaxed) as f64 / (1 << 20) as f64
    );

    println!("A collector that misbehaves (export timeout 2 s, the default), 1000 nodes wide:\n");
    println!("| collector | median wall | added at the end vs healthy |");
    println!("|-----------|------------:|----------------------------:|");
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path(), 1000, false);
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let failing = collector(Collector::Fails500, Arc::new(AtomicU64::new(0)));
    let hanging = collector(Collector::Hangs, Arc::new(AtomicU64::new(0)));
    let base = median(
        (0..3)
            .map(|_| {
                run(dir.path(), &[&format!("--telemetry-otlp={healthy}")]).as_secs_f64() * 1000.0
            })
            .collect(),
    );
    println!("| healthy | {base:.0} ms | - |");
    for (name, url) in [
        ("refuses connections", dead),
        ("answers 500", failing),
        ("never answers", hanging),
    ] {
        let t = median(
            (0..3)
                .map(|_| {
                    run(dir.path(), &[&format!("--telemetry-otlp={url}")]).as_secs_f64() * 1000.0
                })
                .collect(),
        );
        println!("| {name} | {t:.0} ms | {:+.0} ms |", t - base);
    }
}
