//! `trident telemetry stats` throughput over a 1-million-event file (target: at least one
//! million events per second). Writes a realistic jsonl stream (runs of 200 prompt nodes:
//! started, tokens, cost, completed, checkpoint events; a few retries), then times
//! (a) the analysis in-process (read, parse, fold, summarise), (b) the whole `trident`
//! process printing the tables and (c) with `--json` output, alternately (each round starts
//! with another), wall-clock and CPU time (user + system, which a machine busy with other
//! work does not inflate), and prints a table; then the parse alone on one thread, the
//! envelope scanner against serde_json for every line.
//!
//! Run: `cargo bench --bench stats` (`STATS_BENCH_EVENTS`, `STATS_BENCH_RUNS` to change the
//! event count and the repetitions).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use trident::analysis::EventFold;
use trident::eventlog::lines::whole_lines;
use trident::eventlog::{EventLine, read_files, stream_order};

fn write_stream(path: &Path, events: usize) -> u64 {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let (mut seq, mut written, mut run) = (0u64, 0usize, 0u64);
    let mut ms: u64 = 0;
    let stamp = |ms: u64| {
        let secs = ms / 1000;
        format!(
            "2026-01-23T{:02}:{:02}:{:02}.{:03}Z",
            (10 + secs / 3600) % 24,
            (secs / 60) % 60,
            secs % 60,
            ms % 1000
        )
    };
    let mut line = String::new();
    while written < events {
        run += 1;
        let run_id = format!("0194ab12-7c3d-7000-8000-{run:012}");
        let mut emit = |line: &mut String,
                        ms: u64,
                        event: &str,
                        level: &str,
                        node: Option<&str>,
                        data: &str| {
            seq += 1;
            line.clear();
            write!(line, "{{\"timestamp\":\"{}\",\"seq\":{seq},\"run_id\":\"{run_id}\",\"event\":\"{event}\",\"level\":\"{level}\"", stamp(ms)).unwrap();
            if let Some(n) = node {
                write!(line, ",\"node_id\":\"{n}\"").unwrap();
            }
            writeln!(line, ",\"data\":{data}}}").unwrap();
            out.write_all(line.as_bytes()).unwrap();
        };
        emit(
            &mut line,
            ms,
            "workflow_started",
            "INFO",
            None,
            r#"{"name":"bench","entrypoint":"input","dry_run":false,"trident_version":"0.12.0","attempt":1}"#,
        );
        written += 1;
        for i in 0..200 {
            if written >= events {
                break;
            }
            let node = format!("summarise_{i}");
            ms += 3;
            emit(
                &mut line,
                ms,
                "node_started",
                "INFO",
                Some(&node),
                r#"{"type":"prompt"}"#,
            );
            if i % 50 == 0 {
                emit(
                    &mut line,
                    ms + 1,
                    "provider_retry",
                    "WARNING",
                    Some(&node),
                    r#"{"provider":"anthropic","attempt":1,"status":429,"error":"rate limited","delay_ms":1000}"#,
                );
                written += 1;
            }
            ms += 250 + (i as u64 % 7) * 40;
            emit(
                &mut line,
                ms,
                "token_usage",
                "INFO",
                Some(&node),
                r#"{"model":"anthropic/claude-sonnet-4-5","input_tokens":1234,"output_tokens":321,"cost_usd":0.008517}"#,
            );
            emit(
                &mut line,
                ms,
                "cost_incurred",
                "INFO",
                Some(&node),
                r#"{"cost_usd":0.008517,"total_cost_usd":1.234567}"#,
            );
            emit(
                &mut line,
                ms,
                "node_completed",
                "INFO",
                Some(&node),
                r#"{"type":"prompt","duration_ms":290,"input_tokens":1234,"output_tokens":321,"model":"anthropic/claude-sonnet-4-5","cost_usd":0.008517}"#,
            );
            emit(
                &mut line,
                ms,
                "checkpoint_saved",
                "INFO",
                Some(&node),
                r#"{"completed_nodes":12,"pending_nodes":188,"total_cost_usd":1.234567,"path":"/home/op/project/.trident/runs/0194ab12/checkpoint.json"}"#,
            );
            written += 5;
        }
        emit(
            &mut line,
            ms,
            "workflow_completed",
            "INFO",
            None,
            r#"{"name":"bench","duration_ms":60000,"nodes":{"succeeded":200,"skipped":0,"failed":0,"cached":0},"input_tokens":246800,"output_tokens":64200,"cost_usd":1.7034}"#,
        );
        written += 1;
    }
    out.flush().unwrap();
    seq
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn cpu_of(usage: &libc::rusage) -> Duration {
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// CPU time (user + system) this process has used so far.
fn own_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    cpu_of(&usage)
}

/// Wall and CPU time of one `trident telemetry stats` process (output discarded).
fn stats_process(path: &Path, json: bool) -> (Duration, Duration) {
    let start = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_trident"));
    command.args(["telemetry", "stats"]);
    if json {
        command.arg("--json");
    }
    #[allow(clippy::zombie_processes)] // reaped by wait4 below
    let child = command.arg(path).stdout(Stdio::null()).spawn().unwrap();
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid out-value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child with valid out-pointers.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert!(pid > 0 && status == 0, "trident telemetry stats failed");
    (wall, cpu_of(&usage))
}

fn main() {
    let events: usize = std::env::var("STATS_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = std::env::var("STATS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let written = write_stream(&path, events);
    let bytes = std::fs::metadata(&path).unwrap().len();
    let files: Vec<PathBuf> = stream_order(std::slice::from_ref(&path));
    // What is timed: a name, then wall and CPU times.
    type Series = (&'static str, Vec<Duration>, Vec<Duration>);
    let series_of = |names: &[&'static str]| -> Vec<Series> {
        names.iter().map(|n| (*n, Vec::new(), Vec::new())).collect()
    };
    let mut series = series_of(&[
        "in-process: read, parse, fold, summarise",
        "whole `trident telemetry stats` process (tables)",
        "whole `trident telemetry stats --json` process",
    ]);
    for round in 0..runs {
        // The three alternate, starting with a different one each round.
        for k in 0..3 {
            let which = (round + k) % 3;
            let (wall, cpu) = match which {
                0 => {
                    let (start, cpu) = (Instant::now(), own_cpu());
                    let mut fold = EventFold::default();
                    let skipped = read_files(&files, &mut fold).unwrap();
                    let (reports, _) = fold.finish();
                    let measured = (start.elapsed(), own_cpu() - cpu);
                    assert!(skipped.is_empty() && !reports.is_empty());
                    drop(reports);
                    measured
                }
                1 => stats_process(&path, false),
                _ => stats_process(&path, true),
            };
            series[which].1.push(wall);
            series[which].2.push(cpu);
        }
    }
    // The parse alone, one thread, the envelope scanner against serde_json on the same
    // lines (what the scanner saves).
    let text = std::fs::read(&path).unwrap();
    let mut parse_only = series_of(&[
        "parse only, one thread: envelope scanner (+ fallback)",
        "parse only, one thread: serde_json for every line",
    ]);
    for round in 0..runs {
        for k in 0..2 {
            let which = (round + k) % 2;
            let (start, cpu) = (Instant::now(), own_cpu());
            let mut seen = 0u64;
            for line in whole_lines(&text, 1) {
                let parsed = if which == 0 {
                    EventLine::parse(line.bytes)
                } else {
                    EventLine::parse_with_serde(std::str::from_utf8(line.bytes).unwrap())
                };
                seen += parsed.map_or(0, |e| e.seq.unwrap_or(0) & 1);
            }
            parse_only[which].1.push(start.elapsed());
            parse_only[which].2.push(own_cpu() - cpu);
            assert!(seen > 0);
        }
    }
    println!(
        "stats over {written} events ({:.0} MB), median of {runs} runs, alternately:",
        bytes as f64 / 1e6
    );
    println!(
        "| what | wall median | wall min | CPU median | events/s (wall median) | events/s (CPU median) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (what, wall, cpu) in series.into_iter().chain(parse_only) {
        let min = *wall.iter().min().unwrap();
        let (wall, cpu) = (median(wall), median(cpu));
        println!(
            "| {what} | {:.0} ms | {:.0} ms | {:.0} ms | {:.2} million | {:.2} million |",
            wall.as_secs_f64() * 1000.0,
            min.as_secs_f64() * 1000.0,
            cpu.as_secs_f64() * 1000.0,
            written as f64 / wall.as_secs_f64() / 1e6,
            written as f64 / cpu.as_secs_f64() / 1e6,
        );
    }
}
