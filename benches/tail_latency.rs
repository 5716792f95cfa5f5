//! `trident telemetry tail -f` latency: how long after a line is appended to a followed file
//! it is printed. Starts the `trident` binary on a temp file, appends one event line at a
//! time (also right after a rotation), reads its stdout, and prints a table of latencies
//! (min, median, p95, max). Target: an appended line printed within 50 ms.
//!
//! Run: `cargo bench --bench tail_latency` (`TAIL_BENCH_LINES` changes the line count).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn line(seq: usize) -> String {
    format!(
        r#"{{"timestamp":"2026-01-23T10:15:30.123Z","seq":{seq},"run_id":"bench","event":"node_started","level":"INFO","node_id":"n{seq}","data":{{"type":"tool"}}}}"#
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at]
}

fn main() {
    let count: usize = std::env::var("TAIL_BENCH_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    std::fs::write(&path, format!("{}\n", line(0))).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_trident"))
        .args(["telemetry", "tail", "-f", "--format", "jsonl"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<(String, Instant)>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines() {
            let Ok(l) = l else { break };
            if tx.send((l, Instant::now())).is_err() {
                break;
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the first line");
    let mut plain = Vec::new();
    let mut rotated = Vec::new();
    for seq in 1..=count {
        let rotate = seq % 20 == 0;
        if rotate {
            std::fs::rename(&path, dir.path().join("run.jsonl.1")).unwrap();
        }
        // Appended at a random point of the poll cycle.
        std::thread::sleep(Duration::from_micros(3_000 + (seq as u64 * 7_919) % 9_000));
        let text = format!("{}\n", line(seq));
        let written = Instant::now();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
        drop(file);
        let (got, at) = rx.recv_timeout(Duration::from_secs(10)).expect("the line");
        assert_eq!(got, line(seq));
        let latency = at.duration_since(written);
        if rotate {
            rotated.push(latency);
        } else {
            plain.push(latency);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    println!("telemetry tail -f: time from append to printed line ({count} lines)\n");
    println!("| case | lines | min | median | p95 | max |\n|---|---:|---:|---:|---:|---:|");
    for (name, mut samples) in [
        ("appended", plain),
        ("first line after a rotation", rotated),
    ] {
        samples.sort();
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            samples.len(),
            ms(samples[0]),
            ms(percentile(&samples, 0.5)),
            ms(percentile(&samples, 0.95)),
            ms(*samples.last().unwrap())
        );
    }
}
