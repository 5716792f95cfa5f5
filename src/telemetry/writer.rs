//! The writer thread: drains the queue in batches, formats each event once per encoding,
//! applies redaction and truncation, writes whole lines to every sink and flushes, then
//! reports what could not be written.
//!
//! Batches come every [`FLUSH_INTERVAL`] while events flow, at once for urgent events
//! (ERROR, lifecycle), flush requests and shutdown. A sink that fails is disabled with one
//! notice and a `telemetry_dropped` event in the remaining sinks; queue overflow becomes a
//! `telemetry_dropped` event (always written, whatever the filters) and a notice.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::emitter::Core;
use super::event::Event;
use super::format::{Envelope, Format, LineFormatter};
use super::notice::Notices;
use super::policy::PayloadPolicy;
use super::queue::DropReport;
use super::record::{Record, ScopeCache, ScopeId};
use super::sink::Sink;

/// How long events may wait in the queue while events flow (the real-time bound is this
/// plus the time to write one batch).
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(2);

/// Formatted bytes are handed to the sinks in chunks of about this size.
const CHUNK_BYTES: usize = 256 * 1024;

struct Output {
    sink: Box<dyn Sink>,
    formatter: usize,
    active: bool,
    /// Events not written to this sink since it was disabled.
    lost: u64,
    /// Events lost in the current batch, reported at the end of the batch.
    lost_in_batch: u64,
    /// Whether the loss was reported with a `telemetry_dropped` event.
    reported: bool,
    reason: String,
}

/// Owns the sinks; runs on its own thread.
pub(crate) struct EventWriter {
    core: Arc<Core>,
    outputs: Vec<Output>,
    formatters: Vec<LineFormatter>,
    policy: PayloadPolicy,
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
        sinks: Vec<Box<dyn Sink>>,
        format: Format,
        policy: PayloadPolicy,
        notices: Notices,
        tick: Duration,
        capacity: usize,
    ) -> EventWriter {
        let mut formatters: Vec<LineFormatter> = Vec::new();
        let mut outputs = Vec::new();
        for sink in sinks {
            let colors = sink.colors();
            let formatter = match formatters.iter().position(|f| f.is(format, colors)) {
                Some(at) => at,
                None => {
                    formatters.push(LineFormatter::new(format, colors));
                    formatters.len() - 1
                }
            };
            outputs.push(Output {
                sink,
                formatter,
                active: true,
                lost: 0,
                lost_in_batch: 0,
                reported: false,
                reason: String::new(),
            });
        }
        EventWriter {
            core,
            outputs,
            formatters,
            policy,
            notices,
            tick,
            capacity,
            scopes: ScopeCache::default(),
            opened: false,
            last_scope: 0,
            buf: Vec::with_capacity(64 * 1024),
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

    fn write_batch(&mut self, records: &[Record], dropped: Option<DropReport>) {
        if records.is_empty() && dropped.is_none() {
            return;
        }
        if let Some(last) = records.last() {
            self.last_scope = last.scope;
        }
        if !self.opened {
            self.opened = true;
            let first = records.first().map_or(self.last_scope, |r| r.scope);
            let root = self
                .scopes
                .get(first, self.core.queue.scopes())
                .root_run_id
                .clone();
            for i in 0..self.outputs.len() {
                if let Err(e) = self.outputs[i].sink.open(&root) {
                    self.disable(i, &e, 0);
                }
            }
        }
        let report = dropped.map(|d| self.drop_record(d));
        let count = records.len() + usize::from(report.is_some());
        for f in 0..self.formatters.len() {
            if !self.outputs.iter().any(|o| o.active && o.formatter == f) {
                for o in self.outputs.iter_mut().filter(|o| o.formatter == f) {
                    o.lost += count as u64;
                    o.lost_in_batch += count as u64;
                }
                continue;
            }
            self.buf.clear();
            let mut lines = 0u64;
            for record in records.iter().chain(report.iter()) {
                self.format(f, record);
                lines += 1;
                if self.buf.len() >= CHUNK_BYTES {
                    self.deliver(f, lines);
                    self.buf.clear();
                    lines = 0;
                }
            }
            if lines > 0 {
                self.deliver(f, lines);
            }
        }
        for i in 0..self.outputs.len() {
            if self.outputs[i].active
                && let Err(e) = self.outputs[i].sink.flush()
            {
                self.disable(i, &e, 0);
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

    fn drop_record(&self, d: DropReport) -> Record {
        Record {
            seq: d.seq,
            stamp: d.stamp,
            scope: self.last_scope,
            node_id: None,
            event: Event::TelemetryDropped {
                sink: "queue".to_string(),
                count: d.count,
                reason: format!("event queue full (capacity {})", self.capacity),
            },
        }
    }

    fn format(&mut self, formatter: usize, record: &Record) {
        let scope = self.scopes.get(record.scope, self.core.queue.scopes());
        let envelope = Envelope {
            unix_millis: self.core.queue.clock().unix_millis(record.stamp),
            seq: record.seq,
            scope,
            node_id: record.node_id.as_ref().map(|n| n.as_str()),
            event: &record.event,
        };
        self.formatters[formatter].write(&envelope, &self.policy, &mut self.buf);
    }

    /// Hands the buffer (`lines` complete lines) to every active sink using `formatter`.
    fn deliver(&mut self, formatter: usize, lines: u64) {
        for i in 0..self.outputs.len() {
            let output = &mut self.outputs[i];
            if output.formatter != formatter {
                continue;
            }
            if !output.active {
                output.lost += lines;
                output.lost_in_batch += lines;
                continue;
            }
            if let Err(e) = output.sink.write_lines(&self.buf) {
                self.disable(i, &e, lines);
            }
        }
    }

    fn disable(&mut self, index: usize, error: &io::Error, lost: u64) {
        let output = &mut self.outputs[index];
        output.active = false;
        output.lost += lost;
        output.lost_in_batch += lost;
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
        let any_active = self.outputs.iter().any(|o| o.active);
        for i in 0..self.outputs.len() {
            let output = &mut self.outputs[i];
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
        for output in &mut self.outputs {
            if output.active {
                let _ = output.sink.flush();
            }
        }
        for output in &self.outputs {
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
