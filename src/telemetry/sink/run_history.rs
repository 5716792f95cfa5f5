//! A run's own event history: `<artifact dir>/runs/<run_id>/events.jsonl`, one more sink of
//! the writer (registered with `DestinationOptions::run_history`: verbose, JSON Lines).
//!
//! The run id is the top-level run of the first event (so sub-workflow events go into the
//! parent's file). A resume reopens the same file and appends: the writer numbers the new
//! lines after the last `seq` the file holds ([`Sink::recorded_seq`]), so `seq` runs 1, 2,
//! 3... over the run's whole history and a gap means loss. A partial last line left by a
//! crash is ended with a newline first, so it stays one corrupt line (which readers report
//! and skip) instead of spoiling the next one.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::Sink;
use super::file::{FileSink, RUN_ID_PLACEHOLDER};

/// The file name of a run's event history inside its run folder.
pub const RUN_EVENTS_FILE: &str = "events.jsonl";

/// How much of the file's end is read first to find its last `seq`.
const TAIL_WINDOW: u64 = 64 * 1024;

/// Appends a run's events to `runs/<run_id>/events.jsonl` under an artifact folder.
#[derive(Debug)]
pub struct RunHistorySink {
    template: PathBuf,
    file: FileSink,
    recorded: u64,
}

impl RunHistorySink {
    /// A sink writing under `artifact_dir` (`.trident` or `--artifact-dir`); nothing is
    /// opened before the first event.
    pub fn new(artifact_dir: &Path) -> RunHistorySink {
        let template = artifact_dir
            .join("runs")
            .join(RUN_ID_PLACEHOLDER)
            .join(RUN_EVENTS_FILE);
        RunHistorySink {
            file: FileSink::new(&template, None),
            template,
            recorded: 0,
        }
    }

    /// The history file of `run_id` under `artifact_dir`.
    pub fn path_for(artifact_dir: &Path, run_id: &str) -> PathBuf {
        FileSink::resolve_path(&RunHistorySink::new(artifact_dir).template, run_id)
    }
}

impl Sink for RunHistorySink {
    fn describe(&self) -> String {
        let path = self.file.path().unwrap_or(&self.template);
        format!("run history {}", path.display())
    }

    fn open(&mut self, run_id: &str) -> io::Result<()> {
        let path = FileSink::resolve_path(&self.template, run_id);
        let (recorded, ends_cleanly) = match File::open(&path) {
            Ok(mut existing) => last_seq(&mut existing).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => (0, true),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot read {}: {e}", path.display()),
                ));
            }
        };
        self.recorded = recorded;
        self.file.open(run_id)?;
        if !ends_cleanly {
            self.file.write_lines(b"\n")?;
        }
        Ok(())
    }

    fn recorded_seq(&self) -> u64 {
        self.recorded
    }

    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        self.file.write_lines(lines)
    }
}

/// The `seq` of the last complete event line of `file` (0 if none), and whether the file
/// ends with a newline (an empty file does). Reads the end of the file, more if needed.
pub fn last_seq(file: &mut File) -> io::Result<(u64, bool)> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok((0, true));
    }
    let mut window = TAIL_WINDOW.min(len);
    loop {
        let start = len - window;
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::with_capacity(window as usize);
        file.by_ref().take(window).read_to_end(&mut bytes)?;
        let ends_cleanly = bytes.last() == Some(&b'\n');
        let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        // The piece after the last newline is empty or a partial line; the piece before
        // the first may be the end of a line that began before the window.
        lines.pop();
        let whole = if start == 0 {
            &lines[..]
        } else {
            &lines[1.min(lines.len())..]
        };
        if let Some(seq) = whole.iter().rev().find_map(|line| seq_of(line)) {
            return Ok((seq, ends_cleanly));
        }
        if start == 0 {
            return Ok((0, ends_cleanly));
        }
        window = (window * 4).min(len);
    }
}

/// The `seq` of one event line, if it is one.
fn seq_of(line: &[u8]) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    value.get("seq")?.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seq: u64) -> String {
        format!("{{\"timestamp\":\"t\",\"seq\":{seq},\"event\":\"node_started\"}}\n")
    }

    fn sink_in(dir: &Path, run_id: &str) -> RunHistorySink {
        let mut sink = RunHistorySink::new(dir);
        sink.open(run_id).unwrap();
        sink
    }

    #[test]
    fn a_new_run_starts_at_zero_in_its_run_folder() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = sink_in(dir.path(), "r1");
        assert_eq!(sink.recorded_seq(), 0);
        sink.write_lines(line(1).as_bytes()).unwrap();
        let path = RunHistorySink::path_for(dir.path(), "r1");
        assert_eq!(path, dir.path().join("runs/r1/events.jsonl"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), line(1));
        assert!(sink.describe().contains("runs/r1/events.jsonl"));
    }

    #[test]
    fn a_resume_continues_after_the_last_seq() {
        let dir = tempfile::tempdir().unwrap();
        let path = RunHistorySink::path_for(dir.path(), "r1");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("{}{}{}", line(1), line(2), line(3))).unwrap();
        let mut sink = sink_in(dir.path(), "r1");
        assert_eq!(sink.recorded_seq(), 3);
        sink.write_lines(line(4).as_bytes()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with(&format!("{}{}", line(3), line(4))));
    }

    #[test]
    fn a_partial_last_line_is_ended_and_does_not_spoil_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = RunHistorySink::path_for(dir.path(), "r1");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("{}{}{{\"seq\":3,\"ev", line(1), line(2))).unwrap();
        let mut sink = sink_in(dir.path(), "r1");
        assert_eq!(sink.recorded_seq(), 2, "the partial line is not an event");
        sink.write_lines(line(3).as_bytes()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[2], "{\"seq\":3,\"ev");
        assert_eq!(format!("{}\n", lines[3]), line(3));
    }

    #[test]
    fn the_last_seq_is_found_behind_a_long_line_and_corrupt_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let long = format!(
            "{{\"seq\":8,\"data\":\"{}\"}}\n",
            "x".repeat(3 * TAIL_WINDOW as usize)
        );
        std::fs::write(&path, format!("{}{long}not json\n", line(7))).unwrap();
        assert_eq!(
            last_seq(&mut File::open(&path).unwrap()).unwrap(),
            (8, true)
        );
        std::fs::write(&path, "garbage\n").unwrap();
        assert_eq!(
            last_seq(&mut File::open(&path).unwrap()).unwrap(),
            (0, true)
        );
    }

    #[test]
    fn an_unreadable_history_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file should be.
        let path = RunHistorySink::path_for(dir.path(), "r1");
        std::fs::create_dir_all(&path).unwrap();
        let err = RunHistorySink::new(dir.path()).open("r1").unwrap_err();
        assert!(err.to_string().contains("events.jsonl"), "{err}");
    }
}
