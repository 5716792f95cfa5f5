//! [`ToolObserver`]: what a running tool reports while it runs (its own events, and the lines
//! it prints), handed to the caller as it happens. The engine turns them into `tool_event` and
//! `tool_output` telemetry events; the tools module itself knows nothing of telemetry streams.
//!
//! [`OutputLines`] splits what a tool prints into lines for [`ToolObserver::output_line`],
//! bounded: at most [`MAX_OUTPUT_LINES`] lines per call, each cut to [`MAX_LINE_CHARS`]
//! characters, so a chatty tool cannot flood the stream.

use serde_json::{Map, Value};

use crate::telemetry::Level;

/// Most output lines reported per tool call; the rest are counted, not reported.
pub const MAX_OUTPUT_LINES: usize = 1000;

/// Longest output line reported, in characters (longer lines are cut, marked `...`).
pub const MAX_LINE_CHARS: usize = 2000;

/// A tool's own event: `emit(name, **data)` in python, a JSON line in `$TRIDENT_EVENTS` for
/// shell tools.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolReport {
    pub name: String,
    pub level: Level,
    pub data: Map<String, Value>,
}

/// Receives what a running tool reports, on the thread running the tool, as it happens.
pub trait ToolObserver: Sync {
    /// The tool reported an event of its own.
    fn tool_event(&self, report: ToolReport);
    /// Whether [`output_line`](Self::output_line) is wanted (splitting output costs a little).
    fn wants_output(&self) -> bool {
        false
    }
    /// One line the tool printed (stdout or stderr), without its end of line.
    fn output_line(&self, _line: &str) {}
    /// Trace context for the tool's environment (`TRACEPARENT` of its node's span, when
    /// OpenTelemetry export is on).
    fn trace_env(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// An observer that ignores everything (validation, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct IgnoreReports;

impl ToolObserver for IgnoreReports {
    fn tool_event(&self, _report: ToolReport) {}
}

/// Splits a tool's output into bounded lines for an observer.
pub struct OutputLines<'a> {
    observer: &'a dyn ToolObserver,
    wanted: bool,
    partial: Vec<u8>,
    reported: usize,
    /// Lines past [`MAX_OUTPUT_LINES`], not reported.
    pub suppressed: usize,
}

impl<'a> OutputLines<'a> {
    pub fn new(observer: &'a dyn ToolObserver) -> OutputLines<'a> {
        OutputLines {
            wanted: observer.wants_output(),
            observer,
            partial: Vec::new(),
            reported: 0,
            suppressed: 0,
        }
    }

    /// Feeds bytes the tool wrote; complete lines are reported.
    pub fn feed(&mut self, bytes: &[u8]) {
        if !self.wanted {
            return;
        }
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            self.partial.extend_from_slice(&rest[..end]);
            self.report_partial();
            rest = &rest[end + 1..];
        }
        // Keep a bounded unfinished line: its end would be cut anyway.
        let room = (MAX_LINE_CHARS * 4 + 4).saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&rest[..rest.len().min(room)]);
    }

    /// The tool is done: report an unfinished last line.
    pub fn finish(&mut self) {
        if self.wanted && !self.partial.is_empty() {
            self.report_partial();
        }
    }

    fn report_partial(&mut self) {
        let bytes = std::mem::take(&mut self.partial);
        if self.reported >= MAX_OUTPUT_LINES {
            self.suppressed += 1;
            return;
        }
        self.reported += 1;
        let text = String::from_utf8_lossy(&bytes);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        match text.char_indices().nth(MAX_LINE_CHARS) {
            Some((cut, _)) => self.observer.output_line(&format!("{}...", &text[..cut])),
            None => self.observer.output_line(text),
        }
    }
}

#[cfg(test)]
pub(crate) mod recording {
    //! An observer that records everything, for tests.
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    pub struct Recorder {
        pub events: Mutex<Vec<ToolReport>>,
        pub lines: Mutex<Vec<String>>,
    }

    impl ToolObserver for Recorder {
        fn tool_event(&self, report: ToolReport) {
            self.events.lock().unwrap().push(report);
        }
        fn wants_output(&self) -> bool {
            true
        }
        fn output_line(&self, line: &str) {
            self.lines.lock().unwrap().push(line.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::recording::Recorder;
    use super::*;

    #[test]
    fn splits_lines_across_chunks_and_reports_the_last_partial_line() {
        let recorder = Recorder::default();
        let mut lines = OutputLines::new(&recorder);
        lines.feed(b"one\ntw");
        lines.feed(b"o\r\nthree");
        lines.finish();
        assert_eq!(*recorder.lines.lock().unwrap(), ["one", "two", "three"]);
    }

    #[test]
    fn bounds_line_count_and_length() {
        let recorder = Recorder::default();
        let mut lines = OutputLines::new(&recorder);
        lines.feed("é".repeat(MAX_LINE_CHARS * 3).as_bytes());
        lines.feed(b"\n");
        for _ in 0..MAX_OUTPUT_LINES + 5 {
            lines.feed(b"x\n");
        }
        let got = recorder.lines.lock().unwrap();
        assert_eq!(got.len(), MAX_OUTPUT_LINES);
        assert_eq!(got[0].chars().count(), MAX_LINE_CHARS + 3);
        assert_eq!(lines.suppressed, 6);
    }

    #[test]
    fn nothing_is_split_when_output_is_not_wanted() {
        let mut lines = OutputLines::new(&IgnoreReports);
        lines.feed(b"a\nb\n");
        lines.finish();
        assert_eq!(lines.suppressed, 0);
    }
}
