//! Where formatted lines go: one small [`Sink`] trait and its implementations (stdout, a
//! rotating file, memory for tests). A network or OpenTelemetry sink is one more impl.
//!
//! The writer thread owns every sink and hands it whole lines only, so a sink never sees
//! half an event. A sink that returns an error is disabled by the writer with one warning;
//! the run goes on.

mod file;
mod memory;
mod stdout;

pub use file::{FileSink, Rotation};
pub use memory::MemorySink;
pub use stdout::StdoutSink;

use std::io;

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

    /// Pushes buffered bytes out (called after every batch).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
