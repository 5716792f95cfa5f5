//! Benchmark of python tools: the per-call overhead of a warm worker (in-process, through the
//! library), and whole-process runs of a 100-node python tool chain and a 200-wide level of
//! python tools, optionally against other builds of trident or the original Python runtime.
//! Prints a markdown table.
//!
//! Run: `cargo bench --bench python_tools`. Optional comparisons (commands run alternately
//! with this build, run by run):
//! - `PYTHON_TOOLS_BENCH_BEFORE=/path/to/trident` another trident build (e.g. the commit
//!   before the worker pool);
//! - `PYTHON_TOOLS_BENCH_ORIGINAL=/path/to/venv/bin/trident` the original runtime
//!   (`pip install -e runtime` of groksrc/trident in a throwaway virtualenv).
//!
//! `PYTHON_TOOLS_BENCH_RUNS` sets the whole-process run count (default 7), and
//! `PYTHON_TOOLS_BENCH_CALLS` the warm call count (default 2000).

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use trident::project::ToolDef;
use trident::tools::{IgnoreReports, ToolRunner};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

/// Writes a project of `nodes` python tools: a chain (each feeding the next) or one level.
fn write_project(dir: &Path, nodes: usize, chain: bool) {
    std::fs::create_dir_all(dir.join("tools")).unwrap();
    std::fs::write(
        dir.join("tools/step.py"),
        "def execute(x):\n    return {'x': x + 1}\n",
    )
    .unwrap();
    let mut manifest = String::from(
        "trident: \"0.1\"\nname: bench\nnodes:\n  input:\n    type: input\n    schema:\n      \
         x: {type: number, description: x}\ntools:\n",
    );
    for i in 0..nodes {
        writeln!(
            manifest,
            "  t{i}:\n    type: python\n    module: step\n    function: execute"
        )
        .unwrap();
    }
    manifest.push_str("edges:\n");
    for i in 0..nodes {
        let from = if chain && i > 0 {
            format!("t{}", i - 1)
        } else {
            "input".into()
        };
        writeln!(
            manifest,
            "  e{i}:\n    from: {from}\n    to: t{i}\n    mapping:\n      x: x"
        )
        .unwrap();
    }
    std::fs::write(dir.join("agent.tml"), manifest).unwrap();
}

/// One whole-process run of `program project run DIR`; its wall time.
fn run_once(program: &str, extra: &[&str], dir: &Path) -> Duration {
    let started = Instant::now();
    let status = Command::new(program)
        .args(["project", "run"])
        .arg(dir)
        .args(["-i", r#"{"x": 1}"#, "-o", "json"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(status.success(), "{program} failed on {}", dir.display());
    started.elapsed()
}

/// The warm per-call overhead: a no-op tool called `calls` times on one worker.
fn warm_call_overhead(calls: usize) -> (f64, f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tools")).unwrap();
    std::fs::write(
        dir.path().join("tools/noop.py"),
        "def execute(x):\n    return x\n",
    )
    .unwrap();
    let tool = ToolDef {
        id: "noop".into(),
        tool_type: "python".into(),
        path: None,
        module: Some("noop".into()),
        function: None,
        command: None,
        description: String::new(),
        timeout: None,
        outputs: Default::default(),
    };
    let runner = ToolRunner::default();
    let mut inputs = Map::new();
    inputs.insert("x".into(), json!({"city": "Paris", "n": [1, 2, 3]}));
    let inputs = trident::fields::FieldMap::from(inputs);
    // The first call starts the worker and imports the module.
    let first = Instant::now();
    runner
        .run(dir.path(), &tool, &inputs, &IgnoreReports)
        .unwrap();
    let cold = first.elapsed().as_secs_f64() * 1000.0;
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let output = runner
            .run(dir.path(), &tool, &inputs, &IgnoreReports)
            .unwrap();
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(output["city"], Value::from("Paris"));
    }
    runner.shutdown();
    (cold, median(samples.clone()), percentile(samples, 0.9))
}

fn main() {
    let runs = env_number("PYTHON_TOOLS_BENCH_RUNS", 7);
    let calls = env_number("PYTHON_TOOLS_BENCH_CALLS", 2000);
    let ours = env!("CARGO_BIN_EXE_trident").to_string();
    let before = std::env::var("PYTHON_TOOLS_BENCH_BEFORE").ok();
    let original = std::env::var("PYTHON_TOOLS_BENCH_ORIGINAL").ok();

    let (cold, warm_median, warm_p90) = warm_call_overhead(calls);
    println!("warm per-call overhead ({calls} calls of a no-op tool on one worker):");
    println!(
        "  median {:.3} ms, p90 {:.3} ms (first call, starting the worker: {:.1} ms)\n",
        warm_median, warm_p90, cold
    );

    let mut commands: Vec<(&str, String, Vec<&str>)> = vec![("this build", ours, vec![])];
    if let Some(before) = before {
        commands.push(("before", before, vec![]));
    }
    if let Some(original) = original {
        commands.push(("original", original, vec!["--no-telemetry"]));
    }
    let mut table =
        String::from("| workflow | runtime | median wall | min wall | vs this build |\n");
    table.push_str("|---|---|---:|---:|---:|\n");
    for (label, nodes, chain) in [
        ("100-node chain", 100, true),
        ("200-wide level", 200, false),
    ] {
        // One copy of the project per runtime: their `.trident/` folders stay apart.
        let dirs: Vec<tempfile::TempDir> = commands
            .iter()
            .map(|_| {
                let dir = tempfile::tempdir().unwrap();
                write_project(dir.path(), nodes, chain);
                dir
            })
            .collect();
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); commands.len()];
        for run in 0..runs + 1 {
            // Alternate the order run by run, so drift on a shared machine hits all alike.
            let mut order: Vec<usize> = (0..commands.len()).collect();
            order.rotate_left(run % commands.len().max(1));
            for index in order {
                let (_, program, extra) = &commands[index];
                let wall = run_once(program, extra, dirs[index].path()).as_secs_f64() * 1000.0;
                if run > 0 {
                    // Run 0 warms caches (page cache, .pyc files) and is not counted.
                    times[index].push(wall);
                }
            }
        }
        let ours = median(times[0].clone());
        for ((name, _, _), samples) in commands.iter().zip(&times) {
            let m = median(samples.clone());
            let min = samples.iter().cloned().fold(f64::INFINITY, f64::min);
            writeln!(
                table,
                "| {label} | {name} | {} | {} | {:.1}x |",
                show(m),
                show(min),
                m / ours
            )
            .unwrap();
        }
    }
    println!("{table}");
    println!("({runs} runs each after one warm-up, alternating; wall time of the whole process)");
}

fn show(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}
