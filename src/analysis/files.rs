//! Reading telemetry files for analysis: the files named, in stream order (rotated
//! `f.2 f.1 f` oldest first), line by line into an [`EventFold`]; a corrupt line or a
//! partial last line is reported with its file and line number and skipped.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::event_line::EventLine;
use super::fold::EventFold;

/// A line that could not be read as an event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SkippedLine {
    pub file: String,
    /// 1-based.
    pub line: u64,
    pub problem: String,
}

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

/// Read `paths` (already in stream order) into `fold`; returns the skipped lines.
pub fn read_files(paths: &[PathBuf], fold: &mut EventFold) -> Result<Vec<SkippedLine>, String> {
    let mut skipped = Vec::new();
    let mut previous_base: Option<PathBuf> = None;
    for path in paths {
        let base = rotation(path).0;
        if previous_base.as_ref() != Some(&base) {
            fold.begin_stream();
        }
        previous_base = Some(base);
        let file = File::open(path)
            .map_err(|e| format!("cannot read telemetry file {}: {e}", path.display()))?;
        let name = path.display().to_string();
        read_lines(
            BufReader::with_capacity(1 << 20, file),
            &name,
            fold,
            &mut skipped,
        )
        .map_err(|e| format!("cannot read telemetry file {name}: {e}"))?;
    }
    Ok(skipped)
}

/// Fold every line of `reader`; `name` is the file's name in reports.
pub fn read_lines(
    mut reader: impl BufRead,
    name: &str,
    fold: &mut EventFold,
    skipped: &mut Vec<SkippedLine>,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut number = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        number += 1;
        let complete = buf.last() == Some(&b'\n');
        let line = trim_newline(&buf);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match EventLine::parse(line) {
            Ok(event) if complete || !line.is_empty() => fold.add(&event, name, number),
            Ok(_) => {}
            Err(e) => skipped.push(SkippedLine {
                file: name.to_string(),
                line: number,
                problem: if complete {
                    format!("not a telemetry event: {e}")
                } else {
                    "partial last line (still being written?)".to_string()
                },
            }),
        }
    }
}

fn trim_newline(buf: &[u8]) -> &[u8] {
    let mut end = buf.len();
    while end > 0 && matches!(buf[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &buf[..end]
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

    #[test]
    fn corrupt_and_partial_lines_are_reported_and_skipped() {
        let text = "{\"seq\":1,\"run_id\":\"r\",\"event\":\"workflow_started\",\"data\":{}}\n\
                    not json\n\
                    \n\
                    {\"seq\":3,\"run_id\":\"r\",\"event\":\"node_started\",\"node_id\":\"n\",\"data\":{}}\n\
                    {\"seq\":4,\"run_id\":\"r\",\"ev";
        let mut fold = EventFold::default();
        let mut skipped = Vec::new();
        read_lines(text.as_bytes(), "t.jsonl", &mut fold, &mut skipped).unwrap();
        assert_eq!(fold.events, 2);
        assert_eq!(skipped.len(), 2);
        assert_eq!((skipped[0].line, skipped[1].line), (2, 5));
        assert!(skipped[0].problem.starts_with("not a telemetry event"));
        assert!(skipped[1].problem.starts_with("partial last line"));
        // seq 1 then 3: one event lost.
        assert_eq!(fold.loss.missing_events, 1);
    }
}
