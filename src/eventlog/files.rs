//! Reading whole event files: the files named, in stream order (rotated `f.2 f.1 f` oldest
//! first), in large chunks split into numbered lines ([`LineSplitter`]), each parsed into
//! an [`EventLine`] for a [`EventVisitor`]; a corrupt line or a partial last line is
//! reported with its file and line number and skipped.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::event_line::EventLine;
use super::lines::{Line, LineSplitter};

/// A line that could not be read as an event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SkippedLine {
    pub file: String,
    /// 1-based.
    pub line: u64,
    pub problem: String,
}

/// What receives the events of the files read.
pub trait EventVisitor {
    /// A new stream of `seq` numbers starts (a file that is not a rotation of the previous
    /// one).
    fn begin_stream(&mut self) {}
    /// One event, from line `line` (1-based) of `file`.
    fn event(&mut self, event: &EventLine<'_>, file: &str, line: u64);
}

/// How much of a file is read at once.
const CHUNK: usize = 1 << 20;

/// `path` split into its base and rotation number (`run.jsonl.2` → (`run.jsonl`, 2);
/// `run.jsonl` → (`run.jsonl`, 0)).
fn rotation(path: &Path) -> (PathBuf, u32) {
    let text = path.to_string_lossy();
    if let Some((base, n)) = text.rsplit_once('.')
        && !n.is_empty()
        && n.len() <= 4
        && n.bytes().all(|b| b.is_ascii_digit())
    {
        return (PathBuf::from(base), n.parse().unwrap_or(0));
    }
    (path.to_path_buf(), 0)
}

/// The files in stream order: rotations of one file together, oldest (highest number)
/// first, each group where its first file was named.
pub fn stream_order(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut groups: Vec<(PathBuf, Vec<(u32, PathBuf)>)> = Vec::new();
    for path in paths {
        let (base, n) = rotation(path);
        match groups.iter_mut().find(|(b, _)| *b == base) {
            Some((_, members)) => {
                if !members.iter().any(|(_, p)| p == path) {
                    members.push((n, path.clone()));
                }
            }
            None => groups.push((base, vec![(n, path.clone())])),
        }
    }
    groups
        .into_iter()
        .flat_map(|(_, mut members)| {
            members.sort_by_key(|m| std::cmp::Reverse(m.0));
            members.into_iter().map(|(_, p)| p)
        })
        .collect()
}

/// Check that every file can be opened (before anything is read), with a message that
/// names the file and, when it looks rotated away, its rotations.
pub fn check_readable(paths: &[PathBuf]) -> Result<(), String> {
    for path in paths {
        if let Err(e) = File::open(path) {
            let rotated = PathBuf::from(format!("{}.1", path.display()));
            let hint = if rotated.exists() {
                format!(
                    " ({} exists: it may have been rotated; name the rotated files too)",
                    rotated.display()
                )
            } else {
                String::new()
            };
            return Err(format!(
                "cannot read telemetry file {}: {e}{hint}",
                path.display()
            ));
        }
    }
    Ok(())
}

/// Read `paths` (already in stream order) into `visitor`; returns the skipped lines.
pub fn read_files(
    paths: &[PathBuf],
    visitor: &mut impl EventVisitor,
) -> Result<Vec<SkippedLine>, String> {
    let mut skipped = Vec::new();
    let mut previous_base: Option<PathBuf> = None;
    for path in paths {
        let base = rotation(path).0;
        if previous_base.as_ref() != Some(&base) {
            visitor.begin_stream();
        }
        previous_base = Some(base);
        let name = path.display().to_string();
        let file =
            File::open(path).map_err(|e| format!("cannot read telemetry file {name}: {e}"))?;
        read_lines(file, &name, visitor, &mut skipped)
            .map_err(|e| format!("cannot read telemetry file {name}: {e}"))?;
    }
    Ok(skipped)
}

/// Read every line of `reader` into `visitor`; `name` is the file's name in reports.
pub fn read_lines(
    mut reader: impl Read,
    name: &str,
    visitor: &mut impl EventVisitor,
    skipped: &mut Vec<SkippedLine>,
) -> std::io::Result<()> {
    let mut splitter = LineSplitter::new();
    let mut chunk = vec![0; CHUNK];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        splitter.feed(&chunk[..n], |line| {
            visit(line, true, name, visitor, skipped);
        });
    }
    if let Some(line) = splitter.pending() {
        visit(line, false, name, visitor, skipped);
    }
    Ok(())
}

/// One line to `visitor`, or to `skipped`. A partial last line that parses is an event.
fn visit(
    line: Line<'_>,
    complete: bool,
    name: &str,
    visitor: &mut impl EventVisitor,
    skipped: &mut Vec<SkippedLine>,
) {
    if line.is_blank() {
        return;
    }
    match EventLine::parse(line.bytes) {
        Ok(event) => visitor.event(&event, name, line.number),
        Err(e) => skipped.push(SkippedLine {
            file: name.to_string(),
            line: line.number,
            problem: if complete {
                format!("not a telemetry event: {e}")
            } else {
                "partial last line (still being written?)".to_string()
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_files_are_read_oldest_first() {
        let named: Vec<PathBuf> = ["a.jsonl", "b.jsonl", "a.jsonl.1", "a.jsonl.2"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let order: Vec<String> = stream_order(&named)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(order, ["a.jsonl.2", "a.jsonl.1", "a.jsonl", "b.jsonl"]);
    }

    /// Records what it is given.
    #[derive(Default)]
    struct Seen(Vec<(String, u64, Option<u64>)>);

    impl EventVisitor for Seen {
        fn event(&mut self, event: &EventLine<'_>, _file: &str, line: u64) {
            self.0.push((event.event.to_string(), line, event.seq));
        }
    }

    /// A reader that gives a few bytes at a time (lines cross chunk boundaries).
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(7);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn corrupt_and_partial_lines_are_reported_and_skipped() {
        let text = "{\"seq\":1,\"run_id\":\"r\",\"event\":\"workflow_started\",\"data\":{}}\n\
                    not json\n\
                    \n\
                    {\"seq\":3,\"run_id\":\"r\",\"event\":\"node_started\",\"node_id\":\"n\",\"data\":{}}\r\n\
                    {\"seq\":4,\"run_id\":\"r\",\"ev";
        let mut seen = Seen::default();
        let mut skipped = Vec::new();
        read_lines(Trickle(text.as_bytes()), "t.jsonl", &mut seen, &mut skipped).unwrap();
        assert_eq!(
            seen.0,
            [
                ("workflow_started".to_string(), 1, Some(1)),
                ("node_started".to_string(), 4, Some(3))
            ]
        );
        assert_eq!(skipped.len(), 2);
        assert_eq!((skipped[0].line, skipped[1].line), (2, 5));
        assert!(skipped[0].problem.starts_with("not a telemetry event"));
        assert!(skipped[1].problem.starts_with("partial last line"));
    }
}
