//! Reading whole event files: the files named, in stream order (rotated `f.2 f.1 f` oldest
//! first), in large blocks split into numbered lines ([`whole_lines`]), each parsed into
//! an [`EventLine`] (in parallel parts when the block is large) for an [`EventVisitor`],
//! in order; a corrupt line or a partial last line is reported with its file and line
//! number and skipped.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::event_line::EventLine;
use super::lines::{Line, whole_lines};

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
///
/// The file is read in blocks of whole lines. A large block is split into one part per
/// core: the other threads parse theirs (one of them then reads the next block) while this
/// thread parses a smaller part and gives it to `visitor`, then the others' parts, in
/// order. The visitor always runs on this thread.
pub fn read_lines(
    mut reader: impl Read + Send,
    name: &str,
    visitor: &mut impl EventVisitor,
    skipped: &mut Vec<SkippedLine>,
) -> std::io::Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_WORKERS));
    let block = PART * workers;
    let mut buf: Vec<u8> = Vec::with_capacity(block);
    let mut next: Vec<u8> = Vec::with_capacity(block);
    // Lines before the block.
    let mut lines_before = 0u64;
    let mut eof = fill(&mut reader, &mut buf, block)?;
    loop {
        let Some(end) = memchr::memrchr(b'\n', &buf).map(|i| i + 1) else {
            if eof {
                break;
            }
            // One line longer than the block: read on.
            let want = buf.len() + block;
            eof = fill(&mut reader, &mut buf, want)?;
            continue;
        };
        let (lines, tail) = buf.split_at(end);
        next.clear();
        next.extend_from_slice(tail);
        let (count, read) = if workers == 1 || lines.len() < PART {
            // Small (one run's events.jsonl): no threads.
            let read = if eof {
                Ok(true)
            } else {
                fill(&mut reader, &mut next, block)
            };
            let count = parse_and_visit(lines, lines_before, name, visitor, skipped);
            (count, read)
        } else {
            parse_in_parts_and_read(
                lines,
                lines_before,
                workers,
                (&mut reader, &mut next, block, eof),
                name,
                visitor,
                skipped,
            )
        };
        lines_before += count;
        eof = read?;
        std::mem::swap(&mut buf, &mut next);
    }
    if !buf.is_empty() {
        // A partial last line (a writer in the middle of it, or a file cut short).
        let line = Line {
            number: lines_before + 1,
            bytes: &buf,
        };
        if let Some(parsed) = parse_line(line, false) {
            deliver(parsed, name, visitor, skipped);
        }
    }
    Ok(())
}

/// Reads into `buf` until it holds `want` bytes or the file ends (`true` then). Reads go
/// into the spare capacity (`read_to_end` of a `take`): no zero-filling.
fn fill(reader: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    while buf.len() < want {
        let limit = CHUNK.min(want - buf.len()) as u64;
        match (&mut *reader).take(limit).read_to_end(buf) {
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// How much of a file one thread parses at a time.
const PART: usize = 4 << 20;

/// At most this many threads parse one file.
const MAX_WORKERS: usize = 4;

/// A line parsed (or not), with its number.
type Parsed<'a> = (u64, Result<EventLine<'a>, String>);

/// Parses whole `lines` (the first numbered `lines_before + 1`) on this thread and gives
/// them to `visitor`. Returns how many lines there were.
fn parse_and_visit(
    lines: &[u8],
    lines_before: u64,
    name: &str,
    visitor: &mut impl EventVisitor,
    skipped: &mut Vec<SkippedLine>,
) -> u64 {
    let mut count = 0;
    for line in whole_lines(lines, lines_before + 1) {
        count += 1;
        if let Some(parsed) = parse_line(line, true) {
            deliver(parsed, name, visitor, skipped);
        }
    }
    count
}

/// The next block to read while a block is parsed: the reader, the buffer (holding the
/// partial line the block ended with), its size, and whether the file has ended already.
type NextBlock<'r, R> = (&'r mut R, &'r mut Vec<u8>, usize, bool);

/// Parses `lines` in `workers` parts: this thread takes a smaller first part and gives it
/// to `visitor` (it also folds everything), the other threads parse the rest, the first
/// of them then reads the next block. Returns the line count and what the read gave.
fn parse_in_parts_and_read<R: Read + Send>(
    lines: &[u8],
    lines_before: u64,
    workers: usize,
    (reader, next, block, eof): NextBlock<'_, R>,
    name: &str,
    visitor: &mut impl EventVisitor,
    skipped: &mut Vec<SkippedLine>,
) -> (u64, std::io::Result<bool>) {
    // This thread's share: 2 of 3 n - 1 (the others 3 each), for the fold it also does.
    let mine = lines.len() * 2 / (3 * workers - 1);
    let (first, rest) = match memchr::memchr(b'\n', &lines[mine..]) {
        Some(i) => lines.split_at(mine + i + 1),
        None => (lines, &lines[lines.len()..]),
    };
    let parts = split_at_lines(rest, workers - 1);
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(parts.len());
        let mut reading = Some((reader, next));
        for part in parts.iter().copied() {
            let read = reading.take();
            handles.push(scope.spawn(move || {
                let parsed = parse_part(part);
                let read = read.map(|(reader, next)| {
                    if eof {
                        Ok(true)
                    } else {
                        fill(reader, next, block)
                    }
                });
                (parsed, read)
            }));
        }
        let mut count = parse_and_visit(first, lines_before, name, visitor, skipped);
        let mut read = reading.map(|(reader, next)| {
            if eof {
                Ok(true)
            } else {
                fill(reader, next, block)
            }
        });
        for handle in handles {
            let ((part_count, parsed), part_read) = handle
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            let before = lines_before + count;
            for (number, result) in parsed {
                deliver((before + number, result), name, visitor, skipped);
            }
            count += part_count;
            read = read.or(part_read);
        }
        (count, read.unwrap_or(Ok(eof)))
    })
}

/// `lines` cut into at most `n` parts of about equal size, each ending with a newline.
fn split_at_lines(lines: &[u8], n: usize) -> Vec<&[u8]> {
    let mut parts = Vec::with_capacity(n);
    let mut rest = lines;
    for k in (1..n).rev() {
        let target = rest.len() / (k + 1);
        match memchr::memchr(b'\n', &rest[target..]) {
            Some(i) if target + i + 1 < rest.len() => {
                let (part, tail) = rest.split_at(target + i + 1);
                parts.push(part);
                rest = tail;
            }
            _ => break,
        }
    }
    parts.push(rest);
    parts
}

/// Parses whole lines numbered from 1: how many lines, and the events or problems.
fn parse_part(part: &[u8]) -> (u64, Vec<Parsed<'_>>) {
    let mut parsed = Vec::with_capacity(part.len() / 200);
    let mut count = 0;
    for line in whole_lines(part, 1) {
        count += 1;
        parsed.extend(parse_line(line, true));
    }
    (count, parsed)
}

/// A line parsed into an event, or what is wrong with it; `None` for a blank line. A
/// partial last line (`complete` false) that parses is an event.
fn parse_line(line: Line<'_>, complete: bool) -> Option<Parsed<'_>> {
    if line.is_blank() {
        return None;
    }
    let result = EventLine::parse(line.bytes).map_err(|e| {
        if complete {
            format!("not a telemetry event: {e}")
        } else {
            "partial last line (still being written?)".to_string()
        }
    });
    Some((line.number, result))
}

/// One parsed line to `visitor`, or to `skipped`.
fn deliver(
    (number, result): Parsed<'_>,
    name: &str,
    visitor: &mut impl EventVisitor,
    skipped: &mut Vec<SkippedLine>,
) {
    match result {
        Ok(event) => visitor.event(&event, name, number),
        Err(problem) => skipped.push(SkippedLine {
            file: name.to_string(),
            line: number,
            problem,
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

    #[test]
    fn a_large_file_parsed_in_parallel_parts_keeps_order_and_line_numbers() {
        let mut text = String::new();
        let lines = 100_000u64;
        for n in 1..=lines {
            if n % 9_999 == 0 {
                text.push_str("{broken\n");
            } else {
                text.push_str(&format!(
                    "{{\"seq\":{n},\"event\":\"node_started\",\"node_id\":\"{}\",\"data\":{{\"type\":\"tool\"}}}}\n",
                    "n".repeat(40)
                ));
            }
        }
        assert!(
            text.len() > 2 * PART,
            "parts, and more than one block on two cores"
        );
        let mut seen = Seen::default();
        let mut skipped = Vec::new();
        read_lines(text.as_bytes(), "big.jsonl", &mut seen, &mut skipped).unwrap();
        // The same through a reader that gives a few bytes at a time (the next block is
        // read by a parsing thread, lines cross reads and blocks): the same result.
        let (mut again, mut skipped_again) = (Seen::default(), Vec::new());
        read_lines(
            Trickle(text.as_bytes()),
            "big.jsonl",
            &mut again,
            &mut skipped_again,
        )
        .unwrap();
        assert_eq!((&again.0, &skipped_again), (&seen.0, &skipped));
        let broken: Vec<u64> = skipped.iter().map(|s| s.line).collect();
        assert_eq!(
            broken,
            (1..=lines / 9_999).map(|k| k * 9_999).collect::<Vec<_>>()
        );
        assert_eq!(seen.0.len() as u64, lines - broken.len() as u64);
        // Each event on its own line number, in order.
        assert!(seen.0.iter().all(|(_, line, seq)| Some(*line) == *seq));
        assert!(seen.0.windows(2).all(|w| w[0].1 < w[1].1));
        assert_eq!(
            split_at_lines(b"a\nb\nc\n", 2),
            [&b"a\nb\n"[..], &b"c\n"[..]]
        );
        assert_eq!(split_at_lines(b"abc\n", 4), [&b"abc\n"[..]]);
    }
}
