//! The file sink: appends lines to a file (parent folders created, `{run_id}` in the path
//! resolved when the first event arrives) with optional size-based rotation
//! `f` -> `f.1` -> `f.2`... that never splits a line.
//!
//! Each batch is written with as few `write` calls as possible and no user-space buffer is
//! kept between batches, so every line is visible to `tail -f` as soon as its batch is
//! written. Rotation renames the file and starts a new one under the same name, which is
//! what `tail -F` and log shippers expect.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::Sink;

/// The placeholder replaced by the run id in a telemetry file path.
pub const RUN_ID_PLACEHOLDER: &str = "{run_id}";

/// Size-based rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// The file is rotated before a line would take it past this many bytes.
    pub max_size: u64,
    /// How many rotated files (`f.1` ... `f.N`) are kept; 0 keeps none.
    pub max_files: u32,
}

/// Appends telemetry lines to a file.
#[derive(Debug)]
pub struct FileSink {
    template: PathBuf,
    path: Option<PathBuf>,
    file: Option<File>,
    size: u64,
    rotation: Option<Rotation>,
}

impl FileSink {
    /// A sink for `template` (which may contain `{run_id}`); nothing is opened yet.
    pub fn new(template: impl Into<PathBuf>, rotation: Option<Rotation>) -> FileSink {
        FileSink {
            template: template.into(),
            path: None,
            file: None,
            size: 0,
            rotation,
        }
    }

    /// The file being written, once opened.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// `template` with every `{run_id}` replaced by `run_id`.
    pub fn resolve_path(template: &Path, run_id: &str) -> PathBuf {
        match template.to_str() {
            Some(text) if text.contains(RUN_ID_PLACEHOLDER) => {
                let safe: String = run_id
                    .chars()
                    .map(|c| if c == '/' || c == '\\' { '_' } else { c })
                    .collect();
                PathBuf::from(text.replace(RUN_ID_PLACEHOLDER, &safe))
            }
            _ => template.to_path_buf(),
        }
    }

    fn open_path(&mut self, path: PathBuf) -> io::Result<()> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display()))
            })?;
        self.size = file.metadata().map(|m| m.len()).unwrap_or(0);
        self.file = Some(file);
        self.path = Some(path);
        Ok(())
    }

    fn numbered(path: &Path, n: u32) -> PathBuf {
        let mut name = OsString::from(path.as_os_str());
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self, rotation: Rotation) -> io::Result<()> {
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        self.file = None;
        let context = |e: io::Error| {
            io::Error::new(e.kind(), format!("rotating {} failed: {e}", path.display()))
        };
        let ignore_missing = |r: io::Result<()>| match r {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        };
        if rotation.max_files == 0 {
            ignore_missing(fs::remove_file(&path)).map_err(context)?;
        } else {
            let oldest = FileSink::numbered(&path, rotation.max_files);
            ignore_missing(fs::remove_file(&oldest)).map_err(context)?;
            for n in (1..rotation.max_files).rev() {
                let from = FileSink::numbered(&path, n);
                let to = FileSink::numbered(&path, n + 1);
                ignore_missing(fs::rename(&from, &to)).map_err(context)?;
            }
            fs::rename(&path, FileSink::numbered(&path, 1)).map_err(context)?;
        }
        self.open_path(path)
    }

    fn write_rotating(&mut self, lines: &[u8], rotation: Rotation) -> io::Result<()> {
        let mut start = 0;
        let mut pos = 0;
        while pos < lines.len() {
            let line_end = lines[pos..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(lines.len(), |i| pos + i + 1);
            let segment = (pos - start) as u64;
            let line = (line_end - pos) as u64;
            if self.size + segment + line > rotation.max_size && self.size + segment > 0 {
                self.write_raw(&lines[start..pos])?;
                self.rotate(rotation)?;
                start = pos;
            }
            pos = line_end;
        }
        self.write_raw(&lines[start..])
    }

    fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("the file is not open"))?;
        file.write_all(bytes)?;
        self.size += bytes.len() as u64;
        Ok(())
    }
}

impl Sink for FileSink {
    fn describe(&self) -> String {
        let path = self.path.as_deref().unwrap_or(&self.template);
        format!("file {}", path.display())
    }

    fn open(&mut self, run_id: &str) -> io::Result<()> {
        if self.file.is_some() {
            return Ok(());
        }
        let path = FileSink::resolve_path(&self.template, run_id);
        self.open_path(path)
    }

    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        if self.file.is_none() {
            self.open("unknown")?;
        }
        match self.rotation {
            Some(rotation) => self.write_rotating(lines, rotation),
            None => self.write_raw(lines),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize, width: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            let text = format!("{i:0width$}\n", width = width - 1);
            out.extend_from_slice(text.as_bytes());
        }
        out
    }

    #[test]
    fn appends_and_creates_parent_folders() {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("a/b/{run_id}.jsonl");
        let mut sink = FileSink::new(&template, None);
        sink.open("r1").unwrap();
        sink.write_lines(b"one\n").unwrap();
        let mut again = FileSink::new(&template, None);
        again.open("r1").unwrap();
        again.write_lines(b"two\n").unwrap();
        let text = fs::read_to_string(dir.path().join("a/b/r1.jsonl")).unwrap();
        assert_eq!(text, "one\ntwo\n");
        assert!(sink.describe().ends_with("r1.jsonl"));
    }

    #[test]
    fn rotation_never_splits_a_line_and_keeps_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.log");
        let rotation = Rotation {
            max_size: 100,
            max_files: 3,
        };
        let mut sink = FileSink::new(&path, Some(rotation));
        sink.open("r").unwrap();
        // 10-byte lines: 10 per file.
        for chunk in lines(45, 10).chunks(30) {
            sink.write_lines(chunk).unwrap();
        }
        let read = |p: PathBuf| fs::read_to_string(p).unwrap_or_default();
        let current = read(path.clone());
        let first = read(FileSink::numbered(&path, 1));
        assert_eq!(current.lines().count(), 5);
        assert_eq!(first.lines().count(), 10);
        assert!(FileSink::numbered(&path, 3).exists());
        assert!(!FileSink::numbered(&path, 4).exists());
        for n in 1..=3 {
            let text = read(FileSink::numbered(&path, n));
            assert!(text.len() as u64 <= rotation.max_size);
            assert!(text.lines().all(|l| l.len() == 9));
        }
        // Lines 0..10 were rotated out; f.3 holds 10..20, f.1 30..40, f 40..45.
        assert!(read(FileSink::numbered(&path, 3)).starts_with("000000010"));
        assert!(first.starts_with("000000030"));
        assert!(current.starts_with("000000040"));
    }

    #[test]
    fn a_line_longer_than_max_size_gets_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        let mut sink = FileSink::new(
            &path,
            Some(Rotation {
                max_size: 8,
                max_files: 5,
            }),
        );
        sink.write_lines(b"ab\n0123456789abcdef\ncd\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "cd\n");
        assert_eq!(
            fs::read_to_string(FileSink::numbered(&path, 1)).unwrap(),
            "0123456789abcdef\n"
        );
        assert_eq!(
            fs::read_to_string(FileSink::numbered(&path, 2)).unwrap(),
            "ab\n"
        );
    }

    #[test]
    fn zero_max_files_keeps_only_the_current_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("z.log");
        let mut sink = FileSink::new(
            &path,
            Some(Rotation {
                max_size: 10,
                max_files: 0,
            }),
        );
        sink.write_lines(&lines(5, 5)).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "0004\n");
        assert!(!FileSink::numbered(&path, 1).exists());
    }

    #[test]
    fn unopenable_path_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, "x").unwrap();
        let mut sink = FileSink::new(blocker.join("sub/t.log"), None);
        let err = sink.open("r").unwrap_err();
        assert!(err.to_string().contains("cannot create"), "{err}");
        assert!(sink.write_lines(b"x\n").is_err());
    }

    #[test]
    fn run_id_placeholder() {
        assert_eq!(
            FileSink::resolve_path(Path::new("/l/{run_id}/t-{run_id}.log"), "abc"),
            PathBuf::from("/l/abc/t-abc.log")
        );
        assert_eq!(
            FileSink::resolve_path(Path::new("/l/t.log"), "abc"),
            PathBuf::from("/l/t.log")
        );
        assert_eq!(
            FileSink::resolve_path(Path::new("{run_id}.log"), "a/b"),
            PathBuf::from("a_b.log")
        );
    }
}
