//! Whole-process benchmark of the two schedules on a real-shaped run: a 50-node DAG of
//! prompt nodes (random edges and random fake-model latencies, fixed seed) against the fake
//! LLM server of the integration tests (`@sleep` in each prompt). Prints the DAG's critical
//! path and sum of level maxima (the ideal timings of the two schedules), then the median and
//! min wall time of `trident project run` with `--schedule dependencies` and `--schedule
//! levels`, run alternately, and of the original Python runtime when `TRIDENT_ORIGINAL` names
//! its `trident` executable (install it in a throwaway venv; it is never part of the repo).
//!
//! Run: `cargo bench --bench schedule` (`SCHEDULE_BENCH_RUNS` sets the runs per command,
//! default 5; `SCHEDULE_BENCH_SEED` the seed, default 14).

#[path = "../tests/integration/support/fake_llm.rs"]
mod fake_llm;

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fake_llm::FakeLlm;

const NODES: usize = 50;

/// A small deterministic generator (64-bit LCG, high bits), so the DAG is the same everywhere.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One prompt node: its upstream nodes (indices; empty = the input node) and latency.
struct BenchNode {
    upstream: Vec<usize>,
    latency_ms: u64,
}

/// The DAG: node i reads from 1 to 3 of the 8 nodes before it (a quarter of the nodes read
/// only the input), latencies 50 to 800 ms, skewed low as model calls are.
fn generate(seed: u64) -> Vec<BenchNode> {
    let mut rng = Lcg(seed);
    (0..NODES)
        .map(|i| {
            let mut upstream = Vec::new();
            if i > 0 && rng.below(4) != 0 {
                for _ in 0..=rng.below(3) {
                    let from = i - 1 - (rng.below(i.min(8) as u64) as usize);
                    if !upstream.contains(&from) {
                        upstream.push(from);
                    }
                }
            }
            let a = rng.below(751);
            let b = rng.below(751);
            BenchNode {
                upstream,
                latency_ms: 50 + a.min(b),
            }
        })
        .collect()
}

/// Longest path (sum of latencies) ending at each node.
fn finish_times(nodes: &[BenchNode]) -> Vec<u64> {
    let mut finish = vec![0u64; nodes.len()];
    for (i, node) in nodes.iter().enumerate() {
        let start = node.upstream.iter().map(|&u| finish[u]).max().unwrap_or(0);
        finish[i] = start + node.latency_ms;
    }
    finish
}

/// Kahn level of each node (0 = reads only the input).
fn levels(nodes: &[BenchNode]) -> Vec<usize> {
    let mut level = vec![0usize; nodes.len()];
    for (i, node) in nodes.iter().enumerate() {
        level[i] = node
            .upstream
            .iter()
            .map(|&u| level[u] + 1)
            .max()
            .unwrap_or(0);
    }
    level
}

fn write_project(dir: &Path, nodes: &[BenchNode]) {
    let prompts = dir.join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    let mut manifest = String::from(
        "trident: \"0.1\"\nname: schedule-bench\ndefaults:\n  model: anthropic/claude-bench\n\
         nodes:\n  input:\n    type: input\n    schema:\n      topic: {type: string, description: t}\n\
         \x20 output:\n    type: output\nedges:\n",
    );
    for (i, node) in nodes.iter().enumerate() {
        let sources: Vec<String> = if node.upstream.is_empty() {
            vec!["input".into()]
        } else {
            node.upstream.iter().map(|u| format!("n{u}")).collect()
        };
        for from in sources {
            writeln!(
                manifest,
                "  {from}_n{i}:\n    from: {from}\n    to: n{i}\n    mapping: {{x: text}}"
            )
            .unwrap();
        }
        if !nodes.iter().any(|other| other.upstream.contains(&i)) {
            writeln!(
                manifest,
                "  n{i}_out:\n    from: n{i}\n    to: output\n    mapping: {{n{i}: text}}"
            )
            .unwrap();
        }
        // The body does not render its input, so upstream replies never carry their @sleep.
        let prompt = format!(
            "---\nid: n{i}\ninput:\n  x: {{type: string, required: false}}\noutput:\n  format: text\n---\n\
             Node {i}. @sleep {}\n",
            node.latency_ms
        );
        std::fs::write(prompts.join(format!("n{i}.prompt")), prompt).unwrap();
    }
    std::fs::write(dir.join("agent.tml"), manifest).unwrap();
}

/// Run one command to completion in `dir`; its wall time.
fn measure(dir: &Path, program: &str, args: &[&str], env: &[(String, String)]) -> Duration {
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    let took = start.elapsed();
    assert!(status.success(), "{program} {args:?} failed: {status}");
    took
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn main() {
    let runs: usize = std::env::var("SCHEDULE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let seed: u64 = std::env::var("SCHEDULE_BENCH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(14);
    let nodes = generate(seed);
    let finish = finish_times(&nodes);
    let critical = finish.iter().copied().max().unwrap_or(0);
    let level_of = levels(&nodes);
    let depth = level_of.iter().copied().max().unwrap_or(0) + 1;
    let level_sum: u64 = (0..depth)
        .map(|l| {
            nodes
                .iter()
                .zip(&level_of)
                .filter(|(_, level)| **level == l)
                .map(|(n, _)| n.latency_ms)
                .max()
                .unwrap_or(0)
        })
        .sum();
    let total: u64 = nodes.iter().map(|n| n.latency_ms).sum();
    let edges: usize = nodes.iter().map(|n| n.upstream.len().max(1)).sum();

    let fake = FakeLlm::start();
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path(), &nodes);
    let env = fake.env();
    let binary = env!("CARGO_BIN_EXE_trident");
    let original = std::env::var("TRIDENT_ORIGINAL").ok();

    let mut commands: Vec<(String, String, Vec<&str>)> = vec![
        (
            "trident, `--schedule dependencies`".into(),
            binary.into(),
            vec![
                "project",
                "run",
                "--no-artifacts",
                "--schedule",
                "dependencies",
            ],
        ),
        (
            "trident, `--schedule levels`".into(),
            binary.into(),
            vec!["project", "run", "--no-artifacts", "--schedule", "levels"],
        ),
    ];
    if let Some(original) = &original {
        commands.push((
            "original (Python)".into(),
            original.clone(),
            vec!["project", "run", ".", "--no-artifacts"],
        ));
    }
    // Alternate the commands, in both orders, so drift on a shared machine hits all alike.
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); commands.len()];
    let mut connections = vec![0u64; commands.len()];
    for run in 0..runs {
        let mut order: Vec<usize> = (0..commands.len()).collect();
        if run % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let (_, program, args) = &commands[i];
            let before = fake.connections();
            times[i].push(measure(dir.path(), program, args, &env));
            connections[i] += fake.connections() - before;
        }
    }

    let mut table = String::new();
    writeln!(
        table,
        "50 prompt nodes, {edges} edges, {depth} levels, seed {seed}; fake-model latencies \
         50-800 ms (sum {}):\n",
        seconds(Duration::from_millis(total))
    )
    .unwrap();
    writeln!(
        table,
        "| run | median wall | min wall | vs critical path | TCP connections per run |"
    )
    .unwrap();
    writeln!(table, "|---|---:|---:|---:|---:|").unwrap();
    writeln!(
        table,
        "| critical path (ideal, dependencies) | {} | | 1.00x | |",
        seconds(Duration::from_millis(critical))
    )
    .unwrap();
    writeln!(
        table,
        "| sum of level maxima (ideal, levels) | {} | | {:.2}x | |",
        seconds(Duration::from_millis(level_sum)),
        level_sum as f64 / critical as f64
    )
    .unwrap();
    for (((name, _, _), samples), opened) in commands.iter().zip(&mut times).zip(&connections) {
        samples.sort();
        let median = samples[samples.len() / 2];
        writeln!(
            table,
            "| {name} | {} | {} | {:.2}x | {:.0} |",
            seconds(median),
            seconds(samples[0]),
            median.as_secs_f64() * 1000.0 / critical as f64,
            *opened as f64 / runs as f64
        )
        .unwrap();
    }
    writeln!(
        table,
        "\n({runs} runs per command, alternating order; {NODES} model calls per run.)"
    )
    .unwrap();
    print!("{table}");
}
