//! Where formatted lines go: one small [`Sink`] trait and its implementations (stdout, a
//! rotating file, memory for tests). A network or OpenTelemetry sink is one more impl.
//!
//! The writer thread owns every sink and hands it whole lines only, so a sink never sees
//! half an event; a sink that builds something else from events (the OTLP exporter) takes
//! them typed instead ([`Sink::takes_events`]), so nothing is formatted only to be parsed
//! back. Each sink is a destination with its own filter, format and `seq` numbering
//! (`DestinationOptions`). A sink that returns an error is disabled by the writer with one
//! warning; the run goes on.

mod file;
mod memory;
mod run_history;
mod stdout;

pub use file::{FileSink, Rotation};
pub use memory::MemorySink;
pub use run_history::{RUN_EVENTS_FILE, RunHistorySink, last_seq};
pub use stdout::StdoutSink;

use std::io;

use super::format::Envelope;
use super::policy::PayloadPolicy;

/// A destination for telemetry lines.
pub trait Sink: Send {
    /// A short description for warnings and `telemetry_dropped` (`stdout`, `file run.log`).
    fn describe(&self) -> String;

    /// Whether this sink wants ANSI colours in the human format.
    fn colors(&self) -> bool {
        false
    }

    /// Called once, before the first write, with the top-level run id of the first event
    /// (a file sink resolves `{run_id}` in its path and opens the file here).
    fn open(&mut self, _run_id: &str) -> io::Result<()> {
        Ok(())
    }

    /// Writes complete lines, each ending in `\n`.
    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()>;

    /// Whether the writer hands this sink each event typed ([`write_event`](Sink::write_event))
    /// instead of formatted lines. Asked once, when the stream starts.
    fn takes_events(&self) -> bool {
        false
    }

    /// Takes one event with its envelope, for a sink that
    /// [takes events](Sink::takes_events); `policy` is the destination's redaction and
    /// truncation, for the free text and payloads the sink copies. [`flush`](Sink::flush)
    /// follows every batch.
    fn write_event(&mut self, _event: &Envelope<'_>, _policy: &PayloadPolicy) -> io::Result<()> {
        Err(io::Error::other("this sink takes formatted lines"))
    }

    /// The `seq` of the last line this destination already holds, called once after
    /// [`open`](Sink::open): the writer numbers the next line one more. A run's
    /// `events.jsonl` reopened by a resume returns its last `seq`; most sinks start afresh
    /// (0).
    fn recorded_seq(&self) -> u64 {
        0
    }

    /// Pushes buffered bytes out (called after every batch).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Events to report now, asked after every batch of a sink still active (an export
    /// that just failed): the writer writes them to every destination that wants them with
    /// the next batch.
    fn reports(&mut self) -> Vec<crate::telemetry::event::Event> {
        Vec::new()
    }

    /// Called once when the stream ends, after the last batch and before any sink is
    /// closed, for a sink still active: finish pending work (bounded in time, like an
    /// export) and return events to report (an export failure), which the writer then
    /// writes to every destination that wants them.
    fn finish(&mut self) -> Vec<crate::telemetry::event::Event> {
        Vec::new()
    }

    /// Called once when the writer stops, after the last write and flush, whether or not
    /// the sink was ever opened or was disabled: write a metrics file, make a final
    /// export, wait for pending work (bounded). An error is reported as a notice.
    fn close(&mut self) -> io::Result<()> {
        Ok(())
    }
}
