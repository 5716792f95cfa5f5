//! The stdout sink: lines go to the process's standard output, through the same lock as
//! the rest of the program's stdout so lines never interleave.

use std::io::{self, IsTerminal, Write};

use super::Sink;

/// Writes telemetry lines to stdout.
#[derive(Debug, Clone, Default)]
pub struct StdoutSink {
    colors: bool,
}

impl StdoutSink {
    /// A stdout sink; `colors` asks for ANSI colours in the human format.
    pub fn new(colors: bool) -> StdoutSink {
        StdoutSink { colors }
    }

    /// Whether stdout is a terminal (colours are only ever used then).
    pub fn is_terminal() -> bool {
        io::stdout().is_terminal()
    }
}

impl Sink for StdoutSink {
    fn describe(&self) -> String {
        "stdout".to_string()
    }

    fn colors(&self) -> bool {
        self.colors
    }

    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(lines)?;
        out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush()
    }
}
