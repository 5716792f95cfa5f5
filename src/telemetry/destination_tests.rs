//! Tests of destinations: each sink's own filter, format, truncation and `seq`, the
//! emit-time union mask, `Sink::close` and `Sink::recorded_seq`, per-destination loss.

use std::cell::Cell;
use std::io;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::Value;

use super::tests::GatedSink;
use super::*;
use crate::project::NodeKind;

fn started() -> Event {
    Event::node_started(NodeKind::Prompt)
}

fn failed() -> Event {
    Event::NodeFailed {
        node_type: NodeKind::Prompt,
        error: "boom".into(),
        error_type: "Error".into(),
        duration_ms: 1,
    }
}

fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

fn minimal() -> EventFilter {
    EventFilter::new(Some(LevelSetting::Verbosity(Verbosity::Minimal)), &[])
}

#[test]
fn each_destination_has_its_own_filter_format_and_seq() {
    let everything = MemorySink::new();
    let failures = MemorySink::new();
    let human = MemorySink::new();
    let (telemetry, guard) = Telemetry::builder(&TelemetrySettings::default())
        .destination(
            everything.boxed(),
            DestinationOptions::new(EventFilter::all(), Format::Jsonl),
        )
        .destination(
            failures.boxed(),
            DestinationOptions::new(minimal(), Format::Jsonl),
        )
        .destination(
            human.boxed(),
            DestinationOptions::new(minimal(), Format::Human),
        )
        .start();
    let run = telemetry.for_run("r");
    for i in 0..10 {
        if i % 3 == 0 {
            run.emit(Some("n"), failed);
        } else {
            run.emit(Some("n"), started);
        }
    }
    assert!(guard.finish());
    let all = everything.events();
    assert_eq!(seqs(&all), (1..=10).collect::<Vec<u64>>());
    let only_failures = failures.events();
    assert_eq!(only_failures.len(), 4);
    assert!(only_failures.iter().all(|e| e["event"] == "node_failed"));
    assert_eq!(
        seqs(&only_failures),
        vec![1, 2, 3, 4],
        "no gap: nothing was lost"
    );
    let text = human.text();
    assert_eq!(text.lines().count(), 4);
    assert!(text.contains("NODE_FAILED"), "{text}");
    assert!(!text.contains("NODE_STARTED"), "{text}");
}

#[test]
fn off_settings_with_a_destination_still_write_it_and_the_stream_sinks_stay_quiet() {
    let history = MemorySink::new();
    let stream = MemorySink::new();
    let (telemetry, guard) = Telemetry::builder(&TelemetrySettings::default())
        .sink(stream.boxed())
        .destination(history.boxed(), DestinationOptions::run_history())
        .start();
    let run = telemetry.for_run("r");
    assert!(run.wants(EventKind::InputReceived), "verbose history");
    assert!(
        !run.wants(EventKind::TimingMetric),
        "debug is not in the history"
    );
    run.emit(Some("n"), started);
    assert!(guard.finish());
    assert_eq!(history.events().len(), 1);
    assert!(stream.lines().is_empty(), "telemetry off: no stream");
}

#[test]
fn the_emit_mask_is_the_union_of_the_destinations() {
    let a = MemorySink::new();
    let b = MemorySink::new();
    let only = |name: &str| EventFilter::new(None, &Selector::parse_list([name]).unwrap());
    let (telemetry, guard) = Telemetry::builder(&TelemetrySettings::default())
        .destination(
            a.boxed(),
            DestinationOptions::new(only("node_failed"), Format::Jsonl),
        )
        .destination(
            b.boxed(),
            DestinationOptions::new(only("node_started"), Format::Jsonl),
        )
        .start();
    let run = telemetry.for_run("r");
    assert!(run.wants(EventKind::NodeFailed));
    assert!(run.wants(EventKind::NodeStarted));
    assert!(!run.wants(EventKind::NodeCompleted));
    let built = Cell::new(false);
    run.emit(Some("n"), || {
        built.set(true);
        Event::AgentTurnStarted {
            turn_number: 1,
            subagent: None,
        }
    });
    assert!(
        built.get(),
        "the closure runs when on; the kind is then refused"
    );
    run.emit(Some("n"), started);
    run.emit(Some("n"), failed);
    assert!(guard.finish());
    assert_eq!(a.events().len(), 1);
    assert_eq!(a.events()[0]["event"], "node_failed");
    assert_eq!(b.events().len(), 1);
    assert_eq!(b.events()[0]["event"], "node_started");
}

#[test]
fn payload_truncation_is_per_destination() {
    let cut = MemorySink::new();
    let whole = MemorySink::new();
    let long = "x".repeat(policy::MAX_PAYLOAD_CHARS + 50);
    let (telemetry, guard) = Telemetry::builder(&TelemetrySettings::default())
        .destination(
            cut.boxed(),
            DestinationOptions::new(EventFilter::all(), Format::Jsonl),
        )
        .destination(
            whole.boxed(),
            DestinationOptions::new(EventFilter::all(), Format::Jsonl).payloads_whole(true),
        )
        .start();
    let error = long.clone();
    telemetry
        .for_run("r")
        .emit(Some("n"), move || Event::NodeFailed {
            node_type: NodeKind::Tool,
            error,
            error_type: "Error".into(),
            duration_ms: 1,
        });
    assert!(guard.finish());
    let cut_error = cut.events()[0]["data"]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(cut_error.contains("[truncated 50 chars]"), "{cut_error}");
    assert_eq!(whole.events()[0]["data"]["error"], long.as_str());
}

/// Records how it was used, and starts numbering after `recorded`.
#[derive(Clone, Default)]
struct ProbeSink {
    memory: MemorySink,
    recorded: u64,
    closes: Arc<Mutex<u32>>,
}

impl Sink for ProbeSink {
    fn describe(&self) -> String {
        "probe".into()
    }
    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        self.memory.boxed().write_lines(lines)
    }
    fn recorded_seq(&self) -> u64 {
        self.recorded
    }
    fn close(&mut self) -> io::Result<()> {
        *self.closes.lock().unwrap() += 1;
        Err(io::Error::other("close failed on purpose"))
    }
}

#[test]
fn close_is_called_once_and_numbering_continues_after_the_recorded_seq() {
    let probe = ProbeSink {
        recorded: 41,
        ..ProbeSink::default()
    };
    let (notices, seen) = Notices::capture();
    let (telemetry, guard) = Telemetry::builder(&TelemetrySettings::default())
        .destination(Box::new(probe.clone()), DestinationOptions::run_history())
        .notices(notices)
        .start();
    let run = telemetry.for_run("r");
    run.emit(Some("n"), started);
    run.emit(Some("n"), started);
    assert_eq!(
        *probe.closes.lock().unwrap(),
        0,
        "not before the writer stops"
    );
    assert!(guard.finish());
    assert_eq!(seqs(&probe.memory.events()), vec![42, 43]);
    assert_eq!(*probe.closes.lock().unwrap(), 1);
    let notices = seen.lock().unwrap().join("\n");
    assert!(
        notices.contains("closing probe failed: close failed on purpose"),
        "{notices}"
    );
}

#[test]
fn queue_overflow_shows_as_a_gap_of_what_each_destination_wanted() {
    let gated = GatedSink::default();
    let failures = MemorySink::new();
    let (notices, _seen) = Notices::capture();
    let (telemetry, guard) = Telemetry::builder(&TelemetrySettings::default())
        .destination(
            Box::new(gated.clone()),
            DestinationOptions::new(EventFilter::all(), Format::Jsonl),
        )
        .destination(
            failures.boxed(),
            DestinationOptions::new(minimal(), Format::Jsonl),
        )
        .queue_capacity(8)
        .notices(notices)
        .start();
    let run = telemetry.for_run("r");
    run.emit(Some("n"), started);
    thread::sleep(Duration::from_millis(50));
    for i in 0..60 {
        if i % 2 == 0 {
            run.emit(Some("n"), failed);
        } else {
            run.emit(Some("n"), started);
        }
    }
    assert!(telemetry.dropped_events() > 0);
    gated.release();
    assert!(guard.finish());
    for (events, emitted) in [(gated.inner.events(), 61u64), (failures.events(), 30)] {
        let reports: Vec<&Value> = events
            .iter()
            .filter(|e| e["event"] == "telemetry_dropped")
            .collect();
        let lost: u64 = reports
            .iter()
            .map(|r| r["data"]["count"].as_u64().unwrap())
            .sum();
        let written = (events.len() - reports.len()) as u64;
        assert_eq!(written + lost, emitted, "each event written or counted");
        let s = seqs(&events);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        // The gaps add up to the loss: the last seq counts written, lost and reports.
        assert_eq!(*s.last().unwrap(), emitted + reports.len() as u64);
    }
}
