//! The writer thread: drains the queue in batches and, for each destination, keeps the
//! events its filter wants, numbers them (its own `seq`), formats them in its format with
//! its redaction and truncation, writes whole lines to its sink (or hands the events typed
//! to a sink that takes events) and flushes, then reports what could not be written. At the
//! end every sink is flushed and closed once.
//!
//! Batches come every [`FLUSH_INTERVAL`] while events flow, at once for urgent events
//! (ERROR, lifecycle), flush requests and shutdown. A sink that fails is disabled with one
//! notice and a `telemetry_dropped` event in the remaining sinks; queue overflow becomes, in
//! each destination that wanted some of the dropped events, a `seq` gap of that many and a
//! `telemetry_dropped` event with that count (always written, whatever the filters), and a
//! notice.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::destination::Destination;
use super::emitter::Core;
use super::event::Event;
use super::format::Envelope;
use super::notice::Notices;
use super::queue::DropReport;
use super::record::{Record, ScopeCache, ScopeId};

/// How long events may wait in the queue while events flow (the real-time bound is this
/// plus the time to write one batch).
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(2);

/// The drain interval of a stream nobody reads live (no stdout, file or OTLP stream: a
/// run's own `events.jsonl` and local consumers such as progress, metrics and hooks): still
/// far inside the 100 ms real-time bound, with a fifth of the writer's wake-ups and writes.
pub const HISTORY_FLUSH_INTERVAL: Duration = Duration::from_millis(10);

/// Formatted bytes are handed to the sinks in chunks of about this size.
const CHUNK_BYTES: usize = 256 * 1024;

/// The batch buffer's usual capacity; one taken far beyond it by a huge line (a node's
/// output as big as the run's inputs) is given back once that line is written.
const BUFFER_BYTES: usize = 64 * 1024;

/// Owns the destinations; runs on its own thread.
pub(crate) struct EventWriter {
    core: Arc<Core>,
    destinations: Vec<Destination>,
    notices: Notices,
    tick: Duration,
    capacity: usize,
    scopes: ScopeCache,
    opened: bool,
    last_scope: ScopeId,
    buf: Vec<u8>,
    dropped_total: u64,
}

impl EventWriter {
    pub fn new(
        core: Arc<Core>,
        destinations: Vec<Destination>,
        notices: Notices,
        tick: Duration,
        capacity: usize,
    ) -> EventWriter {
        EventWriter {
            core,
            destinations,
            notices,
            tick,
            capacity,
            scopes: ScopeCache::default(),
            opened: false,
            last_scope: 0,
            buf: Vec::with_capacity(BUFFER_BYTES),
            dropped_total: 0,
        }
    }

    /// Starts the thread.
    pub fn spawn(self) -> io::Result<JoinHandle<()>> {
        thread::Builder::new()
            .name("trident-telemetry".to_string())
            .spawn(move || self.run())
    }

    fn run(mut self) {
        /// Tells waiting flushers the writer is gone, however the thread ends.
        struct Finished(Arc<Core>);
        impl Drop for Finished {
            fn drop(&mut self) {
                self.0.queue.writer_finished();
            }
        }
        let _finished = Finished(Arc::clone(&self.core));
        let outcome = catch_unwind(AssertUnwindSafe(|| self.drain_until_closed()));
        if outcome.is_err() {
            self.notices
                .warn("the writer stopped unexpectedly; later events are not written");
        }
    }

    fn drain_until_closed(&mut self) {
        let mut records = Vec::new();
        loop {
            let batch = self.core.queue.next_batch(&mut records, self.tick);
            self.write_batch(&records, batch.dropped);
            records.clear();
            self.core.queue.mark_written(batch.upto);
            if batch.closing && self.core.queue.is_drained() {
                break;
            }
        }
        self.finish();
    }

    fn open_all(&mut self, first: ScopeId) {
        self.opened = true;
        let root = self
            .scopes
            .get(first, self.core.queue.scopes())
            .root_run_id
            .clone();
        for i in 0..self.destinations.len() {
            match self.destinations[i].sink.open(&root) {
                Ok(()) => {
                    let d = &mut self.destinations[i];
                    d.seq = d.sink.recorded_seq();
                }
                Err(e) => self.disable(i, &e, 0),
            }
        }
    }

    fn write_batch(&mut self, records: &[Record], dropped: Option<DropReport>) {
        if records.is_empty() && dropped.is_none() {
            return;
        }
        if let Some(last) = records.last() {
            self.last_scope = last.scope;
        }
        if !self.opened {
            self.open_all(records.first().map_or(self.last_scope, |r| r.scope));
        }
        for i in 0..self.destinations.len() {
            self.write_to(i, records, dropped.as_ref());
        }
        for i in 0..self.destinations.len() {
            if self.destinations[i].active
                && let Err(e) = self.destinations[i].sink.flush()
            {
                self.disable(i, &e, 0);
            }
            if self.destinations[i].active {
                for event in self.destinations[i].sink.reports() {
                    self.core.queue.push_internal(self.last_scope, event);
                }
            }
        }
        self.report_disabled_sinks();
        if let Some(d) = dropped {
            if self.dropped_total == 0 {
                self.notices.warn(&format!(
                    "the event queue is full (capacity {}): events are being dropped; telemetry_dropped events report how many",
                    self.capacity
                ));
            }
            self.dropped_total += d.count;
        }
    }

    /// Formats and hands destination `index` the records it wants, numbering them, then
    /// its share of a queue overflow: a `seq` gap and a `telemetry_dropped` line.
    fn write_to(&mut self, index: usize, records: &[Record], dropped: Option<&DropReport>) {
        self.buf.clear();
        let mut lines = 0u64;
        for record in records {
            if !self.destinations[index].wants_event(&record.event) {
                continue;
            }
            self.destinations[index].seq += 1;
            if !self.destinations[index].active {
                self.destinations[index].count_lost(1);
                continue;
            }
            let seq = self.destinations[index].seq;
            lines += self.format(index, record, seq);
            if self.buf.len() >= CHUNK_BYTES {
                self.deliver(index, lines);
                lines = 0;
            }
        }
        if let Some(report) = dropped {
            let lost = report.count_for(|k| self.destinations[index].wants(k));
            if lost > 0 {
                let destination = &mut self.destinations[index];
                destination.seq += lost + 1;
                if destination.active {
                    let record = Record {
                        stamp: report.stamp,
                        scope: self.last_scope,
                        node_id: None,
                        event: Event::TelemetryDropped {
                            sink: "queue".to_string(),
                            count: lost,
                            reason: format!("event queue full (capacity {})", self.capacity),
                        },
                    };
                    let seq = destination.seq;
                    lines += self.format(index, &record, seq);
                } else {
                    destination.count_lost(1);
                }
            }
        }
        if lines > 0 {
            self.deliver(index, lines);
        }
    }

    /// Formats `record` into the batch buffer, or hands it typed to a sink that takes
    /// events (which is then disabled if it fails). Returns the lines added to the buffer.
    fn format(&mut self, index: usize, record: &Record, seq: u64) -> u64 {
        let scope = self.scopes.get(record.scope, self.core.queue.scopes());
        let envelope = Envelope {
            unix_millis: self.core.queue.clock().unix_millis(record.stamp),
            seq,
            scope,
            node_id: record.node_id.as_ref().map(|n| n.as_str()),
            event: &record.event,
        };
        let destination = &mut self.destinations[index];
        if !destination.typed {
            destination
                .formatter
                .write(&envelope, &destination.policy, &mut self.buf);
            return 1;
        }
        if let Err(e) = destination.sink.write_event(&envelope, &destination.policy) {
            self.disable(index, &e, 1);
        }
        0
    }

    /// Hands the buffer (`lines` complete lines) to destination `index` and empties it.
    fn deliver(&mut self, index: usize, lines: u64) {
        let destination = &mut self.destinations[index];
        if !destination.active {
            destination.count_lost(lines);
        } else if let Err(e) = destination.sink.write_lines(&self.buf) {
            self.disable(index, &e, lines);
        }
        self.buf.clear();
        if self.buf.capacity() > 4 * CHUNK_BYTES {
            self.buf = Vec::with_capacity(BUFFER_BYTES);
        }
    }

    fn disable(&mut self, index: usize, error: &io::Error, lost: u64) {
        let output = &mut self.destinations[index];
        output.active = false;
        output.count_lost(lost);
        let name = output.sink.describe();
        if error.kind() == io::ErrorKind::BrokenPipe {
            output.reason = "broken pipe".to_string();
            self.notices.warn(&format!(
                "{name} was closed (broken pipe); telemetry to {name} stopped"
            ));
        } else {
            output.reason = error.to_string();
            self.notices
                .warn(&format!("{name} sink disabled: {}", output.reason));
        }
    }

    /// Reports once, through the sinks still working, the events a sink disabled in this
    /// batch failed to write (later losses are totalled in a notice at the end).
    fn report_disabled_sinks(&mut self) {
        let any_active = self.destinations.iter().any(|o| o.active);
        for output in &mut self.destinations {
            let lost = std::mem::take(&mut output.lost_in_batch);
            if output.active || output.reported || lost == 0 {
                continue;
            }
            output.reported = true;
            if !any_active {
                continue;
            }
            let event = Event::TelemetryDropped {
                sink: output.sink.describe(),
                count: lost,
                reason: format!("sink disabled: {}", output.reason),
            };
            self.core.queue.push_internal(self.last_scope, event);
        }
    }

    fn finish(&mut self) {
        // Sinks that export elsewhere finish first (bounded), so that what they report (an
        // export failure) is written to every destination before any is closed.
        let mut reports = Vec::new();
        for output in &mut self.destinations {
            if output.active {
                reports.extend(output.sink.finish());
            }
        }
        if !reports.is_empty() {
            let stamp = self.core.queue.clock().now();
            let records: Vec<Record> = reports
                .into_iter()
                .map(|event| Record {
                    stamp,
                    scope: self.last_scope,
                    node_id: None,
                    event,
                })
                .collect();
            self.write_batch(&records, None);
        }
        for output in &mut self.destinations {
            if output.active {
                let _ = output.sink.flush();
            }
            if let Err(e) = output.sink.close()
                && output.active
            {
                self.notices
                    .warn(&format!("closing {} failed: {e}", output.sink.describe()));
            }
        }
        for output in &self.destinations {
            // A closed pipe was reported once already; its reader is gone on purpose.
            if !output.active && output.lost > 0 && output.reason != "broken pipe" {
                self.notices.warn(&format!(
                    "{} events were not written to {} ({})",
                    output.lost,
                    output.sink.describe(),
                    output.reason
                ));
            }
        }
        if self.dropped_total > 0 {
            self.notices.warn(&format!(
                "{} events were dropped because the event queue was full",
                self.dropped_total
            ));
        }
    }
}
