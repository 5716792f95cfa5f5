//! Following an event file by name, like `tail -F`: everything new is read on each poll;
//! when the name comes to point at another file (rotation `f` -> `f.1`, or a new run's file)
//! the rest of the old file is read, then the new one from its start; a file that shrank
//! (truncated), or whose last bytes read changed (rewritten in place), is read again from
//! its start; a missing file is waited for.
//!
//! Lines come out whole and numbered ([`LineSplitter`]); a partial last line is held until
//! it is complete. Polling is cheap (one `stat` and one `read` when nothing changed), so a
//! caller polling every few milliseconds sees an appended line within that delay.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::lines::{Line, LineSplitter};

/// What happened to the followed file during one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// The file was opened (first time, or after it appeared).
    Opened,
    /// The name now points at another file; the old one was read to its end. Its partial
    /// last line, which can no longer be completed, is given with its line number.
    Replaced { unfinished_line: Option<u64> },
    /// The file became shorter than what was read: it is read again from its start.
    Truncated,
    /// The file is gone (removed or rotated away with no new file yet).
    Removed,
}

/// Reads a file by name as it grows.
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    file: Option<File>,
    identity: (u64, u64),
    offset: u64,
    /// The last bytes read (up to [`FINGERPRINT`]): a file rewritten in place no longer
    /// has them just before `offset`, even when it grew past it.
    last_bytes: Vec<u8>,
    lines: LineSplitter,
    chunk: Vec<u8>,
}

/// How many of the last bytes read are compared to notice a file rewritten in place.
const FINGERPRINT: usize = 32;

impl Follower {
    /// A follower of `path` (which need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Follower {
        Follower {
            path: path.into(),
            file: None,
            identity: (0, 0),
            offset: 0,
            last_bytes: Vec::new(),
            lines: LineSplitter::new(),
            chunk: vec![0; 64 * 1024],
        }
    }

    /// The followed path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a file is open.
    pub fn is_open(&self) -> bool {
        self.file.is_some()
    }

    /// The partial last line held back, if any.
    pub fn pending(&self) -> Option<Line<'_>> {
        self.lines.pending()
    }

    /// Reads everything new, calling `on_line` for each complete line, and returns what
    /// happened to the file.
    pub fn poll(&mut self, on_line: impl FnMut(Line<'_>)) -> io::Result<Vec<FileChange>> {
        self.poll_limited(u64::MAX, on_line)
    }

    /// Like [`Follower::poll`], but stops once about `max_bytes` were read (a reader that
    /// hands lines on at its own pace keeps only that much in memory); the rest is read by
    /// the next polls.
    pub fn poll_limited(
        &mut self,
        max_bytes: u64,
        mut on_line: impl FnMut(Line<'_>),
    ) -> io::Result<Vec<FileChange>> {
        let mut changes = Vec::new();
        if self.file.is_none() {
            if !self.open()? {
                return Ok(changes);
            }
            changes.push(FileChange::Opened);
        }
        let mut budget = max_bytes;
        self.read_available(&mut on_line, &mut changes, &mut budget)?;
        if budget == 0 {
            return Ok(changes);
        }
        let mut budget = u64::MAX;
        match fs::metadata(&self.path) {
            Ok(meta) if (meta.dev(), meta.ino()) != self.identity => {
                // Lines written to the old file just before the switch are read first.
                self.read_available(&mut on_line, &mut changes, &mut budget)?;
                let unfinished_line = self.lines.pending().map(|l| l.number);
                changes.push(FileChange::Replaced { unfinished_line });
                if self.open()? {
                    self.read_available(&mut on_line, &mut changes, &mut budget)?;
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.read_available(&mut on_line, &mut changes, &mut budget)?;
                self.file = None;
                self.lines.reset();
                changes.push(FileChange::Removed);
            }
            Err(e) => return Err(e),
        }
        Ok(changes)
    }

    /// Whether the open file is shorter than what was read, or the bytes just before
    /// `offset` are no longer the ones read there (truncated, then written again past where
    /// it was read).
    fn truncated(&self) -> io::Result<bool> {
        let Some(file) = &self.file else {
            return Ok(false);
        };
        if file.metadata()?.len() < self.offset {
            return Ok(true);
        }
        if self.last_bytes.is_empty() {
            return Ok(false);
        }
        let mut now = vec![0; self.last_bytes.len()];
        let at = self.offset - self.last_bytes.len() as u64;
        match file.read_exact_at(&mut now, at) {
            Ok(()) => Ok(now != self.last_bytes),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Opens the file at the path from its start; `false` if there is none.
    fn open(&mut self) -> io::Result<bool> {
        match File::open(&self.path) {
            Ok(file) => {
                let meta = file.metadata()?;
                self.identity = (meta.dev(), meta.ino());
                self.file = Some(file);
                self.offset = 0;
                self.last_bytes.clear();
                self.lines.reset();
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.file = None;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Reads to the end of the file, or until `budget` bytes were read (it is lowered by
    /// what was read, to 0 when it stopped the reading); before each read, a file truncated
    /// or rewritten in place (even while it is being read) is noticed and read again from
    /// its start.
    fn read_available(
        &mut self,
        on_line: &mut impl FnMut(Line<'_>),
        changes: &mut Vec<FileChange>,
        budget: &mut u64,
    ) -> io::Result<()> {
        loop {
            if *budget == 0 {
                return Ok(());
            }
            if self.truncated()? {
                changes.push(FileChange::Truncated);
                if let Some(file) = &mut self.file {
                    file.seek(SeekFrom::Start(0))?;
                }
                self.offset = 0;
                self.last_bytes.clear();
                self.lines.reset();
            }
            let Some(file) = &mut self.file else {
                return Ok(());
            };
            let n = match file.read(&mut self.chunk) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.offset += n as u64;
            *budget = budget.saturating_sub(n as u64);
            let read = &self.chunk[..n];
            let keep = FINGERPRINT.min(read.len());
            if keep == FINGERPRINT {
                self.last_bytes.clear();
            } else {
                let drop = (self.last_bytes.len() + keep).saturating_sub(FINGERPRINT);
                self.last_bytes.drain(..drop);
            }
            self.last_bytes
                .extend_from_slice(&read[read.len() - keep..]);
            self.lines.feed(read, &mut *on_line);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn poll(f: &mut Follower) -> (Vec<String>, Vec<FileChange>) {
        let mut lines = Vec::new();
        let changes = f
            .poll(|l| lines.push(format!("{}:{}", l.number, String::from_utf8_lossy(l.bytes))))
            .unwrap();
        (lines, changes)
    }

    fn append(path: &Path, text: &str) {
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn waits_for_the_file_then_reads_what_is_appended_holding_partial_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let mut f = Follower::new(&path);
        assert_eq!(poll(&mut f), (vec![], vec![]));
        append(&path, "a\nb");
        assert_eq!(poll(&mut f), (vec!["1:a".into()], vec![FileChange::Opened]));
        assert_eq!(f.pending().unwrap().bytes, b"b");
        append(&path, "c\n");
        assert_eq!(poll(&mut f), (vec!["2:bc".into()], vec![]));
        assert_eq!(poll(&mut f), (vec![], vec![]));
    }

    #[test]
    fn follows_the_name_across_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        append(&path, "1\n2\n");
        let mut f = Follower::new(&path);
        assert_eq!(poll(&mut f).0, ["1:1", "2:2"]);
        // The writer finishes the old file, rotates, then starts the new one.
        append(&path, "3\n");
        fs::rename(&path, dir.path().join("run.jsonl.1")).unwrap();
        append(&path, "4\n");
        let (lines, changes) = poll(&mut f);
        assert_eq!(lines, ["3:3", "1:4"]);
        assert_eq!(
            changes,
            [FileChange::Replaced {
                unfinished_line: None
            }]
        );
    }

    #[test]
    fn a_rotated_then_rewritten_file_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        append(&path, "1 first line of the old file, long enough\n");
        let mut f = Follower::new(&path);
        poll(&mut f);
        fs::rename(&path, dir.path().join("run.jsonl.1")).unwrap();
        append(&path, "2 the first line of the new file, also long\n");
        assert_eq!(
            poll(&mut f).0,
            ["1:2 the first line of the new file, also long"]
        );
        fs::write(
            &path,
            "3 a rewritten file, longer than the line before it was\n",
        )
        .unwrap();
        assert_eq!(
            poll(&mut f),
            (
                vec!["1:3 a rewritten file, longer than the line before it was".into()],
                vec![FileChange::Truncated]
            )
        );
    }

    #[test]
    fn a_truncated_file_is_read_again_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        append(&path, "one\ntwo\n");
        let mut f = Follower::new(&path);
        poll(&mut f);
        fs::write(&path, "x\n").unwrap();
        assert_eq!(
            poll(&mut f),
            (vec!["1:x".into()], vec![FileChange::Truncated])
        );
    }

    #[test]
    fn a_file_rewritten_past_where_it_was_read_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        append(&path, "one\n");
        let mut f = Follower::new(&path);
        poll(&mut f);
        fs::write(&path, "a longer first line\n").unwrap();
        assert_eq!(
            poll(&mut f),
            (
                vec!["1:a longer first line".into()],
                vec![FileChange::Truncated]
            )
        );
        append(&path, "next\n");
        assert_eq!(poll(&mut f), (vec!["2:next".into()], vec![]));
    }

    #[test]
    fn a_limited_poll_reads_about_that_much_and_the_next_polls_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let line = "y".repeat(999);
        append(&path, &format!("{line}\n").repeat(300));
        let mut f = Follower::new(&path);
        let mut counts = Vec::new();
        loop {
            let mut n = 0;
            f.poll_limited(100_000, |_| n += 1).unwrap();
            if n == 0 {
                break;
            }
            counts.push(n);
        }
        assert_eq!(counts.iter().sum::<usize>(), 300);
        assert!(counts.len() >= 3 && counts[0] <= 140, "{counts:?}");
    }

    #[test]
    fn a_removed_file_is_reported_and_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        append(&path, "one\n");
        let mut f = Follower::new(&path);
        poll(&mut f);
        fs::remove_file(&path).unwrap();
        assert_eq!(poll(&mut f), (vec![], vec![FileChange::Removed]));
        assert!(!f.is_open());
        append(&path, "new\n");
        assert_eq!(
            poll(&mut f),
            (vec!["1:new".into()], vec![FileChange::Opened])
        );
    }
}
