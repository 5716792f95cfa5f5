//! `cargo bench --bench monitor`: what `trident monitor` costs, whole-process, against a
//! synthetic project (no run needed), printed as a table:
//!
//! - replay: one SSE client reading a 5 000-event history (events/s, median of 5);
//! - live latency: 100 SSE clients connected, 50 lines appended to the run's events.jsonl
//!   20 ms apart; the time from each append to each client receiving it (p50, p95, max);
//! - memory: the monitor's resident set idle and with the 100 streams open;
//! - the runs list: `GET /api/runs` over 200 runs, first request (every run read) and
//!   next ones (cached summaries: a few `stat`s per run).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn line(run_id: &str, seq: u64, extra: &str) -> String {
    format!(
        r#"{{"timestamp":"2026-01-01T00:00:00.000Z","seq":{seq},"run_id":"{run_id}","event":"tool_event","level":"INFO","node_id":"n{}","data":{{"name":"bench","data":{{"sent_us":{extra},"pad":"{}"}}}}}}"#,
        seq % 50,
        "p".repeat(160)
    )
}

fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn start_monitor(project: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trident"))
        .args(["monitor", &project.display().to_string(), "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start trident monitor");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the URL")
        .to_string();
    (child, base)
}

/// Reads SSE `data:` lines of `url` and sends each (with its receive time) until `count`.
fn read_stream(agent: &ureq::Agent, url: &str, count: usize, out: mpsc::Sender<(String, u128)>) {
    let response = agent.get(url).call().expect("GET events");
    let mut reader = BufReader::new(response.into_body().into_reader());
    let mut got = 0;
    let mut text = String::new();
    while got < count {
        text.clear();
        if reader.read_line(&mut text).unwrap_or(0) == 0 {
            return;
        }
        if let Some(data) = text.strip_prefix("data: ") {
            got += 1;
            if out.send((data.to_string(), now_us())).is_err() {
                return;
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path();
    std::fs::write(project.join("agent.tml"), "trident: \"0.1\"\nname: bench\n").unwrap();
    let runs = project.join(".trident/runs");
    // 200 small finished runs for the list, one big running run for the streams.
    for i in 0..200 {
        let id = format!("small-{i:03}");
        std::fs::create_dir_all(runs.join(&id)).unwrap();
        let mut text = String::new();
        for seq in 1..=30 {
            text.push_str(&line(&id, seq, "0"));
            text.push('\n');
        }
        std::fs::write(runs.join(&id).join("events.jsonl"), text).unwrap();
    }
    let big = runs.join("big-run");
    std::fs::create_dir_all(&big).unwrap();
    let history = 5000;
    {
        let mut file =
            std::io::BufWriter::new(std::fs::File::create(big.join("events.jsonl")).unwrap());
        for seq in 1..=history {
            writeln!(file, "{}", line("big-run", seq, "0")).unwrap();
        }
    }
    let (mut monitor, base) = start_monitor(project);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let idle_rss = rss_kib(monitor.id());

    // The runs list.
    let t = Instant::now();
    let mut first = agent.get(format!("{base}api/runs")).call().unwrap();
    let _ = first.body_mut().read_to_string().unwrap();
    let list_cold = t.elapsed();
    let mut warm = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let mut r = agent.get(format!("{base}api/runs")).call().unwrap();
        let _ = r.body_mut().read_to_string().unwrap();
        warm.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    warm.sort_by(f64::total_cmp);

    // Replay.
    let url = format!("{base}api/runs/big-run/events");
    let mut rates = Vec::new();
    for _ in 0..5 {
        let (tx, rx) = mpsc::channel();
        let t = Instant::now();
        read_stream(&agent, &url, history as usize, tx);
        let n = rx.try_iter().count();
        rates.push(n as f64 / t.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);

    // 100 live clients.
    let clients = 100;
    let appended = 50;
    let (tx, rx) = mpsc::channel();
    let readers: Vec<_> = (0..clients)
        .map(|_| {
            let tx = tx.clone();
            let agent = agent.clone();
            let url = format!("{url}?after={history}");
            std::thread::spawn(move || read_stream(&agent, &url, appended, tx))
        })
        .collect();
    drop(tx);
    std::thread::sleep(Duration::from_millis(1500));
    let open_rss = rss_kib(monitor.id());
    {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(big.join("events.jsonl"))
            .unwrap();
        for i in 0..appended {
            let text = format!(
                "{}\n",
                line("big-run", history + 1 + i as u64, &now_us().to_string())
            );
            file.write_all(text.as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let mut latencies: Vec<f64> = Vec::new();
    for (data, received) in rx.iter() {
        let sent: u128 = data
            .split("\"sent_us\":")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        latencies.push((received.saturating_sub(sent)) as f64 / 1000.0);
    }
    for r in readers {
        let _ = r.join();
    }
    latencies.sort_by(f64::total_cmp);
    let _ = monitor.kill();
    let _ = monitor.wait();

    println!(
        "trident monitor ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| measure | value |");
    println!("|---|---:|");
    println!(
        "| `GET /api/runs`, 201 runs, first request | {:.1} ms |",
        list_cold.as_secs_f64() * 1000.0
    );
    println!(
        "| `GET /api/runs`, 201 runs, next requests (median of 10) | {:.1} ms |",
        percentile(&warm, 0.5)
    );
    println!(
        "| SSE replay of a {history}-event history, one client (median of 5) | {:.0} events/s |",
        percentile(&rates, 0.5)
    );
    println!(
        "| live: append -> received, {clients} clients x {appended} events: p50 / p95 / max | {:.1} / {:.1} / {:.1} ms ({} deliveries) |",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        latencies.last().copied().unwrap_or(f64::NAN),
        latencies.len()
    );
    println!(
        "| monitor RSS idle / with {clients} streams open | {:.1} / {:.1} MiB |",
        idle_rss as f64 / 1024.0,
        open_rss as f64 / 1024.0
    );
}
