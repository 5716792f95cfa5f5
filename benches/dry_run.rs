//! Whole-process benchmark of dry runs: projects of 50, 200 and 1000 prompt nodes, in a
//! wide shape (one level) and a chain, artifacts on. Prints a table of wall time (median
//! and min of several runs) and peak RSS (max over runs) of the `trident` binary.
//!
//! Run: `cargo bench --bench dry_run` (set `DRY_RUN_BENCH_RUNS` to change the run count).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "common/project.rs"]
mod project;
use project::write_project;

/// Run the command once (with `extra` arguments); wall time and the child's peak RSS in KiB.
fn measure(dir: &Path, extra: &[&str]) -> (Duration, i64) {
    let start = Instant::now();
    #[allow(clippy::zombie_processes)] // reaped by wait4 below
    let child = Command::new(env!("CARGO_BIN_EXE_trident"))
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
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child with valid out-pointers.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert!(
        pid > 0 && status == 0,
        "trident failed in {}",
        dir.display()
    );
    (elapsed, usage.ru_maxrss)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runs: usize = std::env::var("DRY_RUN_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    println!("Telemetry off, then on (jsonl to a file, default level), run alternately:\n");
    println!("| nodes | shape | median wall | min wall | peak RSS | telemetry on | overhead |");
    println!("|------:|-------|------------:|---------:|---------:|-------------:|---------:|");
    for nodes in [50, 200, 1000] {
        for chain in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            write_project(dir.path(), nodes, chain);
            let log = dir.path().join("telemetry.jsonl");
            let log = log.to_str().unwrap();
            let on = ["--telemetry", "--telemetry-file", log];
            measure(dir.path(), &[]); // warm the page cache
            measure(dir.path(), &on);
            let (mut off_times, mut on_times, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            let mut peak = 0;
            for _ in 0..runs {
                let (a, rss) = measure(dir.path(), &[]);
                let (b, _) = measure(dir.path(), &on);
                peak = peak.max(rss);
                off_times.push(a.as_secs_f64() * 1000.0);
                on_times.push(b.as_secs_f64() * 1000.0);
                ratios.push(b.as_secs_f64() / a.as_secs_f64());
            }
            let min = off_times.iter().copied().fold(f64::INFINITY, f64::min);
            println!(
                "| {nodes} | {} | {:.1} ms | {min:.1} ms | {:.1} MiB | {:.1} ms | {:+.1} % |",
                if chain { "chain" } else { "wide" },
                median(off_times),
                peak as f64 / 1024.0,
                median(on_times),
                (median(ratios) - 1.0) * 100.0
            );
        }
    }
}
