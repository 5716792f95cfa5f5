//! End-to-end tests of a stream: emitters, queue, writer thread and sinks together.
//! Waits are generous ("visible within seconds"); nothing asserts on tight timings.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;
use crate::project::NodeKind;

const WAIT: Duration = Duration::from_secs(10);

fn started() -> Event {
    Event::node_started(NodeKind::Prompt)
}

fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

fn memory_stream(
    settings: &TelemetrySettings,
) -> (
    Telemetry,
    TelemetryGuard,
    MemorySink,
    Arc<Mutex<Vec<String>>>,
) {
    let memory = MemorySink::new();
    let (notices, seen) = Notices::capture();
    let mut settings = settings.clone();
    settings.enabled = true;
    let (telemetry, guard) = Telemetry::builder(&settings)
        .sink(memory.boxed())
        .notices(notices)
        .start();
    (telemetry, guard, memory, seen)
}

/// Waits until `check` holds, at most `WAIT`.
fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        thread::sleep(Duration::from_millis(2));
    }
    check()
}

#[test]
fn five_hundred_threads_seq_without_gaps_and_time_never_decreases() {
    let (telemetry, guard, memory, notices) = memory_stream(&TelemetrySettings::on());
    let run = telemetry.for_run("run-1");
    let per_thread = 20u64;
    let threads: Vec<_> = (0..500)
        .map(|t| {
            let run = run.clone();
            thread::spawn(move || {
                let node = format!("node-{t}");
                for turn in 0..per_thread {
                    run.emit(Some(&node), || Event::AgentTurnStarted {
                        turn_number: turn,
                        subagent: None,
                    });
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(guard.finish());
    let events = memory.events();
    assert_eq!(events.len(), 500 * per_thread as usize);
    assert_eq!(seqs(&events), (1..=events.len() as u64).collect::<Vec<_>>());
    let stamps: Vec<&str> = events
        .iter()
        .map(|e| e["timestamp"].as_str().unwrap())
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] <= w[1]),
        "timestamps never decrease"
    );
    assert!(stamps.iter().all(|s| s.len() == 24 && s.ends_with('Z')));
    // Each thread's events keep their emission order.
    let mut last: std::collections::HashMap<String, i64> = Default::default();
    for e in &events {
        let node = e["node_id"].as_str().unwrap().to_string();
        let turn = e["data"]["turn_number"].as_i64().unwrap();
        let prev = last.insert(node, turn).unwrap_or(-1);
        assert_eq!(turn, prev + 1);
    }
    assert!(notices.lock().unwrap().is_empty());
    assert_eq!(telemetry.dropped_events(), 0);
}

#[test]
fn sub_workflows_share_the_stream_and_carry_their_parents() {
    let (telemetry, guard, memory, _) = memory_stream(&TelemetrySettings::on());
    let run = telemetry.for_run("parent-run");
    run.emit(Some("loop"), started);
    let child = run.child("child-run", "loop");
    child.emit(Some("draft"), started);
    let grandchild = child.child("grandchild", "draft");
    grandchild.emit(None, || Event::BranchIteration {
        iteration: 1,
        max_iterations: 3,
        continues: false,
    });
    assert_eq!(child.run_id(), Some("child-run"));
    drop(guard);
    let events = memory.events();
    assert_eq!(seqs(&events), vec![1, 2, 3]);
    assert_eq!(events[0]["run_id"], "parent-run");
    assert!(events[0].get("parent_run_id").is_none());
    assert_eq!(events[1]["run_id"], "child-run");
    assert_eq!(events[1]["parent_run_id"], "parent-run");
    assert_eq!(events[1]["parent_node_id"], "loop");
    assert_eq!(events[1]["node_id"], "draft");
    assert_eq!(events[2]["parent_run_id"], "child-run");
    assert_eq!(events[2]["parent_node_id"], "draft");
    assert_eq!(events[2]["data"]["continue"], false);
}

#[test]
fn filters_apply_before_anything_is_written() {
    let mut settings = TelemetrySettings::on();
    settings.level = LevelSetting::parse("minimal");
    let (telemetry, guard, memory, _) = memory_stream(&settings);
    let run = telemetry.for_run("r");
    run.emit(Some("n"), started);
    run.emit(Some("n"), || Event::NodeFailed {
        node_type: NodeKind::Tool,
        error: "x".into(),
        error_type: "ToolError".into(),
        duration_ms: 1,
    });
    run.emit(None, || Event::TimingMetric {
        name: "queue_wait_ms",
        value: 1.0,
    });
    drop(guard);
    let events = memory.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["event"], "node_failed");
    assert_eq!(events[0]["level"], "ERROR");
    assert_eq!(
        events[0]["seq"], 1,
        "seq counts events that pass the filters"
    );

    let mut settings = TelemetrySettings::on();
    settings.filter = Selector::parse_list(["error,agent"]).unwrap();
    let (telemetry, guard, memory, _) = memory_stream(&settings);
    let run = telemetry.for_run("r");
    run.emit(Some("n"), started);
    run.emit(Some("a"), || Event::AgentTurnStarted {
        turn_number: 1,
        subagent: None,
    });
    run.emit(None, || Event::WorkflowFailed {
        name: "w".into(),
        error: "e".into(),
        failed_node: None,
        duration_ms: 1,
    });
    drop(guard);
    let names: Vec<Value> = memory.events().iter().map(|e| e["event"].clone()).collect();
    assert_eq!(
        names,
        vec![json!("agent_turn_started"), json!("workflow_failed")]
    );
}

#[test]
fn secrets_from_start_are_redacted_but_token_counts_are_not() {
    let memory = MemorySink::new();
    let mut settings = TelemetrySettings::on();
    settings.level = LevelSetting::parse("verbose");
    let (telemetry, guard) = Telemetry::builder(&settings)
        .secrets(vec!["dotenv-value-123".into(), "no".into()])
        .sink(memory.boxed())
        .start();
    let run = telemetry.for_run("r");
    run.emit(Some("n"), || Event::InputReceived {
        inputs: fields(json!({
            "question": "is dotenv-value-123 safe? no",
            "api_key": "whatever",
            "input_tokens": 10,
            "header": "Bearer abcdefghijkl",
            "key": "sk-live-abcdefghijkl",
        })),
    });
    run.emit(Some("n"), || Event::NodeCompleted {
        node_type: NodeKind::Prompt,
        duration_ms: 1,
        input_tokens: 12,
        output_tokens: 40,
        model: None,
        cost_usd: None,
        response_model: None,
        finish_reason: None,
        session_id: None,
    });
    drop(guard);
    let text = memory.text();
    assert!(!text.contains("dotenv-value-123"));
    assert!(!text.contains("whatever"));
    assert!(!text.contains("abcdefghijkl"));
    let events = memory.events();
    let inputs = &events[0]["data"]["inputs"];
    assert_eq!(inputs["question"], "is [REDACTED] safe? no");
    assert_eq!(inputs["api_key"], "[REDACTED]");
    assert_eq!(inputs["input_tokens"], 10);
    assert_eq!(inputs["header"], "[REDACTED]");
    assert_eq!(inputs["key"], "[REDACTED]");
    assert_eq!(events[1]["data"]["input_tokens"], 12);
    assert_eq!(events[1]["data"]["output_tokens"], 40);
}

#[test]
fn redaction_can_be_turned_off() {
    let mut settings = TelemetrySettings::on();
    settings.redact = false;
    let (telemetry, guard, memory, _) = memory_stream(&settings);
    telemetry
        .for_run("r")
        .emit(None, || Event::AgentToolCalled {
            tool_name: "Bash".into(),
            tool_input: json!({"password": "hunter22"}),
            subagent: None,
        });
    drop(guard);
    assert_eq!(
        memory.events()[0]["data"]["tool_input"]["password"],
        "hunter22"
    );
}

#[test]
fn payloads_are_truncated_except_at_debug() {
    let long = "a".repeat(5000);
    let emit = |settings: TelemetrySettings| {
        let (telemetry, guard, memory, _) = memory_stream(&settings);
        let long = long.clone();
        telemetry
            .for_run("r")
            .emit(Some("n"), move || Event::OutputProduced {
                outputs: fields(json!({ "text": long })),
            });
        drop(guard);
        memory.events()[0]["data"]["outputs"]["text"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let mut verbose = TelemetrySettings::on();
    verbose.level = LevelSetting::parse("verbose");
    let cut = emit(verbose);
    assert!(cut.starts_with(&"a".repeat(policy::MAX_PAYLOAD_CHARS)));
    assert!(
        cut.ends_with("...[truncated 4000 chars]"),
        "{}",
        &cut[990..]
    );
    let mut debug = TelemetrySettings::on();
    debug.level = LevelSetting::parse("debug");
    assert_eq!(emit(debug), long);
}

#[test]
fn human_format_end_to_end() {
    let mut settings = TelemetrySettings::on();
    settings.format = Format::Human;
    let (telemetry, guard, memory, _) = memory_stream(&settings);
    telemetry
        .for_run("0194ab12-aaaa-bbbb")
        .emit(Some("greet"), || Event::NodeCompleted {
            node_type: NodeKind::Prompt,
            duration_ms: 333,
            input_tokens: 12,
            output_tokens: 40,
            model: None,
            cost_usd: None,
            response_model: None,
            finish_reason: None,
            session_id: None,
        });
    drop(guard);
    let lines = memory.lines();
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].ends_with("] [INFO] NODE_COMPLETED run=0194ab12 node=greet type=prompt duration=333ms tokens=12+40"),
        "{}",
        lines[0]
    );
    assert!(!lines[0].contains('\x1b'));
}

fn file_settings(path: &Path) -> TelemetrySettings {
    TelemetrySettings {
        file: Some(path.to_path_buf()),
        stdout: false,
        ..TelemetrySettings::on()
    }
}

#[test]
fn a_file_event_is_visible_without_an_explicit_flush() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("logs/{run_id}/telemetry.jsonl");
    let (telemetry, _guard) = Telemetry::start(&file_settings(&template), Vec::new());
    let run = telemetry.for_run("run-42");
    let path = dir.path().join("logs/run-42/telemetry.jsonl");
    let begun = Instant::now();
    run.emit(Some("slow"), started);
    // Nothing else happens: the node is "still running". The line must show up on its own.
    let visible = eventually(|| fs::read_to_string(&path).is_ok_and(|t| t.ends_with('\n')));
    let elapsed = begun.elapsed();
    assert!(visible, "the event never reached the file");
    eprintln!("first event visible in the file after {elapsed:?}");
    let text = fs::read_to_string(&path).unwrap();
    let v: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["event"], "node_started");
    assert_eq!(v["run_id"], "run-42");

    // A second event while the writer is busy-idle also shows up on its own.
    run.emit(Some("slow"), started);
    assert!(eventually(
        || fs::read_to_string(&path).is_ok_and(|t| t.lines().count() == 2)
    ));
}

#[test]
fn flush_blocking_returns_once_everything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    // A long tick: only the flush request can make the writer drain quickly.
    let (telemetry, guard) = Telemetry::builder(&file_settings(&path))
        .flush_interval(Duration::from_secs(30))
        .start();
    let run = telemetry.for_run("r");
    for _ in 0..1000 {
        run.emit(Some("n"), started);
    }
    let flusher = {
        let telemetry = telemetry.clone();
        thread::spawn(move || telemetry.flush_blocking(WAIT))
    };
    assert!(flusher.join().unwrap());
    assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 1000);
    assert_eq!(telemetry.last_seq(), 1000);
    assert!(guard.finish());
    assert!(telemetry.flush_blocking(Duration::from_millis(10)));
    // After the guard: ignored, no panic.
    run.emit(Some("n"), started);
}

#[test]
fn error_events_are_written_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let (telemetry, _guard) = Telemetry::builder(&file_settings(&path))
        .flush_interval(Duration::from_secs(30))
        .start();
    let run = telemetry.for_run("r");
    run.emit(Some("n"), started);
    thread::sleep(Duration::from_millis(50));
    run.emit(Some("n"), started);
    run.emit(Some("n"), || Event::NodeFailed {
        node_type: NodeKind::Prompt,
        error: "boom".into(),
        error_type: "ProviderError".into(),
        duration_ms: 3,
    });
    // With a 30 s tick, only the ERROR's urgency can write these within the wait.
    assert!(eventually(
        || fs::read_to_string(&path).is_ok_and(|t| t.lines().count() == 3)
    ));
}

fn rotated_files(path: &Path) -> Vec<PathBuf> {
    let mut files = vec![path.to_path_buf()];
    for n in 1.. {
        let p = PathBuf::from(format!("{}.{n}", path.display()));
        if !p.exists() {
            break;
        }
        files.push(p);
    }
    files
}

#[test]
fn rotation_under_load_loses_and_splits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rot.jsonl");
    let mut settings = file_settings(&path);
    settings.max_size = Some(16 * 1024);
    settings.max_files = 1000;
    let (telemetry, guard) = Telemetry::start(&settings, Vec::new());
    let run = telemetry.for_run("r");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let run = run.clone();
            thread::spawn(move || {
                for i in 0..2000u64 {
                    run.emit(Some(&format!("node-{t}")), || Event::AgentToolCalled {
                        tool_name: "Read".into(),
                        tool_input: json!({ "i": i, "pad": "x".repeat((i % 50) as usize) }),
                        subagent: None,
                    });
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(guard.finish());
    let files = rotated_files(&path);
    assert!(
        files.len() > 10,
        "rotation happened ({} files)",
        files.len()
    );
    let mut seen = HashSet::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        assert!(
            text.len() as u64 <= 16 * 1024,
            "{} is {} bytes",
            file.display(),
            text.len()
        );
        assert!(text.is_empty() || text.ends_with('\n'));
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).expect("every line is whole JSON");
            assert!(seen.insert(v["seq"].as_u64().unwrap()), "no duplicates");
        }
    }
    assert_eq!(seen.len(), 16_000);
    assert_eq!(seen.iter().max(), Some(&16_000));
}

/// A sink that blocks its first write until released.
#[derive(Clone, Default)]
pub(super) struct GatedSink {
    gate: Arc<(Mutex<bool>, Condvar)>,
    pub(super) inner: MemorySink,
}

impl GatedSink {
    pub(super) fn release(&self) {
        *self.gate.0.lock().unwrap() = true;
        self.gate.1.notify_all();
    }
}

impl Sink for GatedSink {
    fn describe(&self) -> String {
        "gated".into()
    }
    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        let mut open = self.gate.0.lock().unwrap();
        while !*open {
            open = self.gate.1.wait(open).unwrap();
        }
        self.inner.write_lines(lines)
    }
}

#[test]
fn overflow_is_dropped_counted_and_reported() {
    let gated = GatedSink::default();
    let (notices, seen) = Notices::capture();
    let (telemetry, guard) = Telemetry::builder(&TelemetrySettings::on())
        .sink(Box::new(gated.clone()))
        .queue_capacity(8)
        .notices(notices)
        .start();
    let run = telemetry.for_run("r");
    run.emit(Some("n"), started);
    // Let the writer take the first event and block on the gated write.
    thread::sleep(Duration::from_millis(50));
    let begun = Instant::now();
    for _ in 0..99 {
        run.emit(Some("n"), started);
    }
    assert!(begun.elapsed() < WAIT, "emitting never waits for the sink");
    let dropped = telemetry.dropped_events();
    assert!(dropped > 0);
    gated.release();
    assert!(guard.finish());

    let events = gated.inner.events();
    let reports: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "telemetry_dropped")
        .collect();
    let reported: u64 = reports
        .iter()
        .map(|r| r["data"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(reported, dropped);
    assert_eq!(reports[0]["level"], "WARNING");
    assert_eq!(reports[0]["data"]["sink"], "queue");
    let written = events.len() - reports.len();
    assert_eq!(
        written as u64 + dropped,
        100,
        "every event is written or counted"
    );
    // Seq gaps match the loss; seq stays increasing.
    let s = seqs(&events);
    assert!(s.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(*s.last().unwrap(), 100 + reports.len() as u64);
    let notices = seen.lock().unwrap().join("\n");
    assert!(
        notices.contains("trident: telemetry: the event queue is full"),
        "{notices}"
    );
    assert!(
        notices.contains(&format!("{dropped} events were dropped")),
        "{notices}"
    );
}

/// A sink that always fails with `kind`.
struct FailingSink(io::ErrorKind);

impl Sink for FailingSink {
    fn describe(&self) -> String {
        "failing".into()
    }
    fn write_lines(&mut self, _lines: &[u8]) -> io::Result<()> {
        Err(io::Error::new(self.0, "no luck"))
    }
}

#[test]
fn an_unwritable_file_disables_that_sink_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    fs::write(&blocker, "x").unwrap();
    let memory = MemorySink::new();
    let (notices, seen) = Notices::capture();
    let (telemetry, guard) = Telemetry::builder(&TelemetrySettings::on())
        .sink(Box::new(FileSink::new(blocker.join("t.jsonl"), None)))
        .sink(memory.boxed())
        .notices(notices)
        .start();
    let run = telemetry.for_run("r");
    for _ in 0..5 {
        run.emit(Some("n"), started);
        assert!(telemetry.flush_blocking(WAIT));
    }
    assert!(guard.finish());
    let seen = seen.lock().unwrap().clone();
    let disabled: Vec<&String> = seen.iter().filter(|l| l.contains("disabled")).collect();
    assert_eq!(disabled.len(), 1, "{seen:?}");
    assert!(
        disabled[0].starts_with("trident: telemetry: file "),
        "{}",
        disabled[0]
    );
    assert!(
        disabled[0].contains("sink disabled: cannot create"),
        "{}",
        disabled[0]
    );
    // The five events and the loss report itself never reached the file.
    assert!(
        seen.iter()
            .any(|l| l.contains("6 events were not written to file")),
        "{seen:?}"
    );
    // The memory sink got every event, and a report naming the broken sink.
    let events = memory.events();
    assert_eq!(
        events
            .iter()
            .filter(|e| e["event"] == "node_started")
            .count(),
        5
    );
    let report = memory.events_named("telemetry_dropped");
    assert_eq!(report.len(), 1);
    assert!(
        report[0]["data"]["sink"]
            .as_str()
            .unwrap()
            .starts_with("file ")
    );
    assert_eq!(report[0]["data"]["count"], 1);
}

#[test]
fn a_full_disk_disables_the_file_sink_and_nothing_panics() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let (notices, seen) = Notices::capture();
    let (telemetry, guard) = Telemetry::builder(&file_settings(Path::new("/dev/full")))
        .notices(notices)
        .start();
    let run = telemetry.for_run("r");
    for _ in 0..3 {
        run.emit(Some("n"), started);
    }
    assert!(telemetry.flush_blocking(WAIT));
    run.emit(Some("n"), started);
    assert!(guard.finish());
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().filter(|l| l.contains("disabled")).count(),
        1,
        "{seen:?}"
    );
    assert!(seen[0].contains("/dev/full"), "{seen:?}");
}

#[test]
fn a_closed_pipe_is_one_quiet_notice() {
    let (notices, seen) = Notices::capture();
    let (telemetry, guard) = Telemetry::builder(&TelemetrySettings::on())
        .sink(Box::new(FailingSink(io::ErrorKind::BrokenPipe)))
        .notices(notices)
        .start();
    let run = telemetry.for_run("r");
    for _ in 0..10 {
        run.emit(Some("n"), started);
        telemetry.flush_blocking(WAIT);
    }
    assert!(guard.finish());
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().filter(|l| l.contains("broken pipe")).count(),
        1,
        "{seen:?}"
    );
}

/// A sink that panics: the writer must contain it.
struct PanickingSink;

impl Sink for PanickingSink {
    fn describe(&self) -> String {
        "panicking".into()
    }
    fn write_lines(&mut self, _lines: &[u8]) -> io::Result<()> {
        panic!("sink bug")
    }
}

#[test]
fn a_panicking_sink_does_not_take_the_run_down() {
    let (notices, seen) = Notices::capture();
    let (telemetry, guard) = Telemetry::builder(&TelemetrySettings::on())
        .sink(Box::new(PanickingSink))
        .notices(notices)
        .start();
    let run = telemetry.for_run("r");
    run.emit(Some("n"), started);
    // The flush ends early (the writer is gone) instead of hanging.
    telemetry.flush_blocking(WAIT);
    for _ in 0..100 {
        run.emit(Some("n"), started);
    }
    assert!(guard.finish());
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("stopped unexpectedly"))
    );
}

#[test]
fn off_settings_give_a_disabled_stream() {
    let (telemetry, guard) = Telemetry::start(&TelemetrySettings::default(), vec![]);
    assert!(!telemetry.enabled());
    assert!(!telemetry.for_run("r").enabled());
    assert!(guard.finish());
    let (telemetry, guard, memory) = Telemetry::in_memory(&TelemetrySettings::default());
    telemetry.for_run("r").emit(None, started);
    drop(guard);
    assert_eq!(memory.lines().len(), 1);
}
