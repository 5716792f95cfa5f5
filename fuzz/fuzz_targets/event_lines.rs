//! Telemetry files fed to `telemetry stats`/`tail`/`project show`: bytes split into lines,
//! each read as an event line and folded into run and node states and the stats report.
//! Corrupt lines are skipped with a reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trident::analysis::fold::EventFold;
use trident::eventlog::{LineSplitter, RunState};

fuzz_target!(|data: &[u8]| {
    let mut splitter = LineSplitter::new();
    let mut run = RunState::new("");
    let mut fold = EventFold::default();
    fold.begin_stream();
    let mut visit = |line: trident::eventlog::Line<'_>| {
        let _ = line.parse();
        if let Ok(event) = line.event() {
            run.apply(&event);
            fold.add(&event, "events.jsonl", line.number);
        }
    };
    // Two chunks, so lines also arrive cut in the middle.
    let cut = data.len() / 2;
    splitter.feed(&data[..cut], &mut visit);
    splitter.feed(&data[cut..], &mut visit);
    if let Some(last) = splitter.pending() {
        let _ = last.event();
    }
    let _ = fold.finish();
});
