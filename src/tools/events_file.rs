//! `$TRIDENT_EVENTS` for shell tools: a private file the tool appends JSON lines to,
//! `{"event": NAME, "data": {...}}` (optionally `"level": "warning"`), read while the tool
//! runs so each event reaches telemetry as it happens, not when the tool returns.
//!
//! The file lives in a fresh folder only the user can read (`0700`) under the system's
//! temporary folder, and both are removed when the call ends. A line that is not such an
//! object is reported as a WARNING event `invalid_tool_event` carrying the line and the reason,
//! never dropped silently. A line longer than the [`OutputLimit`] is reported the same way
//! as soon as it passes the limit, and the rest of it is skipped unread into memory.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::observer::{ToolObserver, ToolReport};
use crate::output_limit::OutputLimit;
use crate::telemetry::Level;

/// The environment variable naming the file.
pub const EVENTS_ENV: &str = "TRIDENT_EVENTS";

/// Name of the event reported for an unreadable line.
pub const INVALID_EVENT: &str = "invalid_tool_event";

/// Longest part of an unreadable line kept in the `invalid_tool_event` report.
const INVALID_LINE_CHARS: usize = 2000;

/// One call's events file.
#[derive(Debug)]
pub struct EventsFile {
    folder: PathBuf,
    path: PathBuf,
    reader: File,
    /// The line being written, while under the limit.
    partial: Vec<u8>,
    limit: OutputLimit,
    /// Inside a line over the limit (already reported): skip to its end.
    skipping: bool,
}

impl EventsFile {
    /// Creates a new folder in `temp_folder` and the empty file in it; lines over `limit`
    /// are refused.
    pub fn create(temp_folder: &Path, limit: OutputLimit) -> io::Result<EventsFile> {
        let folder = temp_folder.join(format!("trident-events-{}", uuid::Uuid::new_v4().simple()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&folder)?;
        let path = folder.join("events.jsonl");
        let reader = match File::create_new(&path).and_then(|_| File::open(&path)) {
            Ok(reader) => reader,
            Err(error) => {
                let _ = std::fs::remove_dir_all(&folder);
                return Err(error);
            }
        };
        Ok(EventsFile {
            folder,
            path,
            reader,
            partial: Vec::new(),
            limit,
            skipping: false,
        })
    }

    /// The file's path (the value of `$TRIDENT_EVENTS`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reports the complete lines written since the last look.
    pub fn poll(&mut self, observer: &dyn ToolObserver) {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.reader.read(&mut chunk) {
                Ok(0) => return,
                Ok(read) => self.take(&chunk[..read], observer),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }

    /// Splits freshly read `bytes` into lines (each byte looked at once).
    fn take(&mut self, mut bytes: &[u8], observer: &dyn ToolObserver) {
        while !bytes.is_empty() {
            let end = memchr::memchr(b'\n', bytes);
            let piece = &bytes[..end.unwrap_or(bytes.len())];
            bytes = end.map_or(&[][..], |at| &bytes[at + 1..]);
            if !self.skipping {
                self.partial.extend_from_slice(piece);
                if self.limit.exceeded_by(self.partial.len()) {
                    report_too_long(&std::mem::take(&mut self.partial), self.limit, observer);
                    self.skipping = true;
                } else if end.is_some() {
                    report_line(&std::mem::take(&mut self.partial), observer);
                }
            }
            if end.is_some() {
                self.skipping = false;
            }
        }
    }

    /// The tool is done: reports what is left, including a last line without its newline.
    pub fn finish(&mut self, observer: &dyn ToolObserver) {
        self.poll(observer);
        let rest = std::mem::take(&mut self.partial);
        report_line(&rest, observer);
        self.skipping = false;
    }
}

impl Drop for EventsFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// Parses one line and reports it (blank lines are ignored).
fn report_line(line: &[u8], observer: &dyn ToolObserver) {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    match parse_line(text) {
        Ok(report) => observer.tool_event(report),
        Err(reason) => report_invalid(text, reason, observer),
    }
}

/// Reports the start of a line that passed `limit` (the rest of it is skipped).
fn report_too_long(start: &[u8], limit: OutputLimit, observer: &dyn ToolObserver) {
    let head = String::from_utf8_lossy(&start[..start.len().min(INVALID_LINE_CHARS * 4)]);
    let reason = format!(
        "line longer than {}: skipped; write big data to a file and send its path",
        limit.describe()
    );
    report_invalid(&head, reason, observer);
}

/// Reports `invalid_tool_event` for `text` (cut) and `reason`.
fn report_invalid(text: &str, reason: String, observer: &dyn ToolObserver) {
    let shown: String = text.chars().take(INVALID_LINE_CHARS).collect();
    let data = json!({"line": shown, "error": reason});
    observer.tool_event(ToolReport {
        name: INVALID_EVENT.to_string(),
        level: Level::Warning,
        data: data.as_object().cloned().unwrap_or_default(),
    });
}

/// `{"event": NAME, "data": {...}, "level"?: LEVEL}` as a report, or why not.
pub fn parse_line(text: &str) -> Result<ToolReport, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|error| format!("not valid JSON: {error}"))?;
    let Value::Object(mut object) = value else {
        return Err("not a JSON object".into());
    };
    let name = match object.remove("event") {
        Some(Value::String(name)) if !name.is_empty() => name,
        _ => return Err("no \"event\" name (a non-empty string)".into()),
    };
    let data = match object.remove("data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(data)) => data,
        Some(_) => return Err("\"data\" is not a JSON object".into()),
    };
    let level = match object.remove("level") {
        None | Some(Value::Null) => Level::Info,
        Some(Value::String(level)) => parse_level(&level).ok_or_else(|| {
            format!("unknown level \"{level}\" (use debug, info, warning or error)")
        })?,
        Some(_) => return Err("\"level\" is not a string".into()),
    };
    Ok(ToolReport { name, level, data })
}

/// A level as a tool spells it (any case; `warn` too).
pub fn parse_level(text: &str) -> Option<Level> {
    match text.to_ascii_lowercase().as_str() {
        "debug" => Some(Level::Debug),
        "info" => Some(Level::Info),
        "warning" | "warn" => Some(Level::Warning),
        "error" => Some(Level::Error),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::observer::recording::Recorder;
    use std::io::Write;

    #[test]
    fn lines_are_reported_as_they_complete_and_the_folder_is_removed() {
        let recorder = Recorder::default();
        let mut events = EventsFile::create(&std::env::temp_dir(), OutputLimit::default()).unwrap();
        let path = events.path().to_path_buf();
        let mut writer = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        writer
            .write_all(b"{\"event\": \"rows\", \"data\": {\"count\": 3}}\n{\"event\": \"ha")
            .unwrap();
        events.poll(&recorder);
        assert_eq!(recorder.events.lock().unwrap().len(), 1);
        writer
            .write_all(b"lf\", \"level\": \"WARNING\"}\n\nnot json\n{\"event\": \"last\"}")
            .unwrap();
        events.finish(&recorder);
        let got = recorder.events.lock().unwrap();
        let names: Vec<&str> = got.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["rows", "half", INVALID_EVENT, "last"]);
        assert_eq!(got[0].data["count"], 3);
        assert_eq!(got[1].level, Level::Warning);
        assert_eq!(got[2].level, Level::Warning);
        assert_eq!(got[2].data["line"], "not json");
        assert!(got[3].data.is_empty());
        let folder = path.parent().unwrap().to_path_buf();
        drop(got);
        drop(events);
        assert!(!folder.exists());
    }

    #[test]
    fn malformed_objects_say_what_is_wrong() {
        for (line, reason) in [
            ("[1]", "not a JSON object"),
            ("{\"data\": {}}", "no \"event\""),
            ("{\"event\": \"x\", \"data\": 3}", "\"data\" is not"),
            ("{\"event\": \"x\", \"level\": \"loud\"}", "unknown level"),
        ] {
            let error = parse_line(line).unwrap_err();
            assert!(error.contains(reason), "{line}: {error}");
        }
    }

    #[test]
    fn a_line_over_the_limit_is_reported_once_and_skipped_in_bounded_memory() {
        let recorder = Recorder::default();
        let mut events = EventsFile::create(&std::env::temp_dir(), OutputLimit::new(2048)).unwrap();
        let mut writer = std::fs::OpenOptions::new()
            .append(true)
            .open(events.path())
            .unwrap();
        writer
            .write_all(b"{\"event\": \"big\", \"data\": {\"x\": \"")
            .unwrap();
        for _ in 0..100 {
            writer.write_all(&[b'x'; 1000]).unwrap();
            events.poll(&recorder);
            assert!(events.partial.len() <= 2048 + 1000);
        }
        writer.write_all(b"\"}}\n{\"event\": \"after\"}\n").unwrap();
        // A long line read in one piece, newline included, is refused the same way.
        let mut whole = b"{\"event\": \"big\", \"data\": {\"x\": \"".to_vec();
        whole.extend([b'x'; 5000]);
        whole.extend(b"\"}}\n");
        writer.write_all(&whole).unwrap();
        events.finish(&recorder);
        let got = recorder.events.lock().unwrap();
        let names: Vec<&str> = got.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, [INVALID_EVENT, "after", INVALID_EVENT]);
        let error = got[0].data["error"].as_str().unwrap();
        assert!(
            error.contains("longer than 2KB (TRIDENT_MAX_OUTPUT_SIZE)"),
            "{error}"
        );
        assert!(
            got[0].data["line"]
                .as_str()
                .unwrap()
                .starts_with("{\"event\": \"big\"")
        );
    }
}
