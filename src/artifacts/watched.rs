//! Watched artifacts (run index, checkpoint, trace, metadata): rewritten IN PLACE, so the
//! file keeps its inode and every update is an `IN_MODIFY` / `IN_CLOSE_WRITE` on the same
//! path for inotify watchers (the original dashboard's recursive `fs.watch` on Linux only
//! reports the first replacement of a file swapped in by rename), yet crash-safe.
//!
//! An update is two steps:
//! 1. the new content goes to a recovery copy beside the file, `.<stem>.prev.json`,
//!    atomically (temp file, then rename): that copy is always complete, the new version
//!    or the one before;
//! 2. the file itself is cut (to its first byte when the new content starts with the same
//!    `{`, else to zero) and rewritten under an exclusive `flock` on it, so at any moment it
//!    holds a prefix of the new content.
//!
//! A `kill -9` during step 2 leaves a torn file whose recovery copy holds the new
//! content; during step 1, an intact file and a complete older copy. Nothing is `fsync`ed
//! (as before, and as the checkpoint journal): the page cache survives the death of the
//! process; a power loss is left to the file system (ext4's default `auto_da_alloc` flushes
//! a file replaced by rename, i.e. the copy). Syncing the copies cost 5 fsyncs a run: +33 ms
//! (x2.7 wall) on a 10-node dry run on the development machine. [`read_watched_json`]
//! (every reader of ours: resume, show, watch, runs, monitor) takes a shared `flock` on the
//! file, so it never reads one being rewritten by a live writer, and falls back to the
//! recovery copy when the file is missing, torn or not valid. The copy's name contains
//! neither `manifest.json`, `checkpoint.json` nor `trace.json`, which the original
//! dashboard matches file names against.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::atomic::{ArtifactWriter, write_atomic_with, write_pretty_json};

/// The recovery copy of `path`: `dir/trace.json` -> `dir/.trace.prev.json`.
pub fn recovery_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("artifact");
    let name = match path.extension().and_then(|e| e.to_str()) {
        Some(ext) => format!(".{stem}.prev.{ext}"),
        None => format!(".{stem}.prev"),
    };
    path.with_file_name(name)
}

/// Write `bytes` to `path` in place (same inode), after a complete copy of them went to its
/// recovery copy. Creates parent folders. Returns the byte count.
pub fn write_watched(path: &Path, bytes: &[u8]) -> std::io::Result<u64> {
    write_watched_with(path, |out| out.write_all(bytes))
}

/// [`write_watched`] of what `write` writes: the content is streamed to the recovery copy,
/// then copied from it into the file, never held in memory whole.
fn write_watched_with(
    path: &Path,
    write: impl FnOnce(&mut ArtifactWriter) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let (mut content, len) = write_atomic_with(&recovery_path(path), write)?;
    let file = File::options()
        .create(true)
        .read(true)
        .write(true)
        .truncate(false)
        .open(path)?;
    file.lock()?;
    let written = rewrite(&file, &mut content);
    let _ = file.unlock();
    written.map(|_| len)
}

/// Replace the content of `file` by that of `content`, so that a reader or a crash in the
/// middle only ever finds a strict prefix of the new content (never valid JSON). When the
/// old content starts with the same byte (`{`), that byte is kept rather than truncating to
/// zero: ext4 (`auto_da_alloc`) flushes a file truncated to zero when it is closed, which
/// costs milliseconds per update; the copy, replaced by rename, is the one that reaches the
/// disk.
fn rewrite(mut file: &File, content: &mut File) -> std::io::Result<()> {
    let (mut old_first, mut new_first) = ([0u8; 1], [0u8; 1]);
    let old = file.read_at(&mut old_first, 0)?;
    let new = content.read_at(&mut new_first, 0)?;
    let keep = u64::from(old == 1 && new == 1 && old_first == new_first);
    file.set_len(keep)?;
    file.seek(SeekFrom::Start(0))?;
    content.seek(SeekFrom::Start(0))?;
    std::io::copy(content, &mut file).map(|_| ())
}

/// Write `value` as indented JSON to `path` with [`write_watched`], streamed.
pub fn write_watched_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<u64> {
    write_watched_with(path, |out| write_pretty_json(out, value))
}

/// Why neither a watched file nor its recovery copy could be read.
#[derive(Debug)]
pub enum WatchedReadError {
    /// Neither exists (or neither can be opened): the error opening the file itself.
    Missing(std::io::Error),
    /// One of them exists, but neither holds valid content: the file's parse error.
    Invalid(String),
}

impl std::fmt::Display for WatchedReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WatchedReadError::Missing(e) => write!(f, "{e}"),
            WatchedReadError::Invalid(e) => write!(f, "{e}"),
        }
    }
}

/// Read `path` under a shared lock (never half-written by a live writer).
fn read_locked(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    // A file system without locks still reads: a torn read falls back to the copy.
    let locked = file.lock_shared().is_ok();
    let mut bytes = Vec::new();
    let read = file.read_to_end(&mut bytes);
    if locked {
        let _ = file.unlock();
    }
    read.map(|_| bytes)
}

/// Read a watched JSON artifact: the file, or its recovery copy when the file is missing,
/// torn (a crash while it was rewritten) or invalid.
pub fn read_watched_json<T: DeserializeOwned>(path: &Path) -> Result<T, WatchedReadError> {
    let main = read_locked(path);
    let main_error = match &main {
        Ok(bytes) => match serde_json::from_slice::<T>(bytes) {
            Ok(value) => return Ok(value),
            Err(e) => Some(e.to_string()),
        },
        Err(_) => None,
    };
    let copy = std::fs::read(recovery_path(path))
        .ok()
        .map(|bytes| serde_json::from_slice::<T>(&bytes));
    match (copy, main, main_error) {
        (Some(Ok(value)), _, _) => Ok(value),
        (_, _, Some(e)) => Err(WatchedReadError::Invalid(e)),
        (Some(Err(e)), _, None) => Err(WatchedReadError::Invalid(e.to_string())),
        (None, Err(e), None) => Err(WatchedReadError::Missing(e)),
        (None, Ok(_), None) => unreachable!("a readable file either parsed or failed to"),
    }
}

/// Whether `path` or its recovery copy exists (a crash between writing the copy and
/// creating the file leaves only the copy).
pub fn watched_exists(path: &Path) -> bool {
    path.is_file() || recovery_path(path).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn write(path: &Path, value: Value) {
        write_watched_json(path, &value).unwrap();
    }

    fn read(path: &Path) -> Result<Value, WatchedReadError> {
        read_watched_json::<Value>(path)
    }

    #[test]
    fn recovery_copy_names_avoid_the_dashboards_patterns() {
        let copy = recovery_path(Path::new("/r/x/trace.json"));
        assert_eq!(copy, Path::new("/r/x/.trace.prev.json"));
        for name in ["manifest.json", "checkpoint.json", "trace.json"] {
            let copy = recovery_path(&Path::new("/r").join(name));
            let copy = copy.file_name().unwrap().to_str().unwrap();
            assert!(!copy.contains(name), "{copy} contains {name}");
        }
    }

    #[test]
    fn rewrites_keep_the_inode_and_the_copy_matches() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs/manifest.json");
        write(&path, json!({"runs": [1]}));
        let inode = std::fs::metadata(&path).unwrap().ino();
        write(&path, json!({"runs": [1, 2]}));
        write(&path, json!({"runs": [1, 2, 3]}));
        assert_eq!(std::fs::metadata(&path).unwrap().ino(), inode);
        assert_eq!(read(&path).unwrap(), json!({"runs": [1, 2, 3]}));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(recovery_path(&path)).unwrap()
        );
        // A shorter content leaves no tail of the longer one; a different first byte too.
        write(&path, json!({}));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
        write(&path, json!([7]));
        assert_eq!(read(&path).unwrap(), json!([7]));
        write(&path, json!({"a": 1}));
        assert_eq!(read(&path).unwrap(), json!({"a": 1}));
        assert_eq!(std::fs::metadata(&path).unwrap().ino(), inode);
    }

    #[test]
    fn a_big_artifact_is_streamed_to_the_copy_then_into_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.json");
        write(&path, json!({"short": true}));
        let rows: Vec<Value> = (0..30_000).map(|i| json!({"n": i, "s": "é"})).collect();
        let value = json!({"nodes": rows});
        let expected = serde_json::to_vec_pretty(&value).unwrap();
        assert_eq!(
            write_watched_json(&path, &value).unwrap(),
            expected.len() as u64
        );
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        assert_eq!(std::fs::read(recovery_path(&path)).unwrap(), expected);
        // Back to a short content: nothing of the long one is left.
        write(&path, json!({"short": true}));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            serde_json::to_vec_pretty(&json!({"short": true})).unwrap()
        );
    }

    #[test]
    fn a_torn_or_garbage_file_is_recovered_from_the_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.json");
        write(&path, json!({"completed_nodes": {"a": 1, "b": 2}}));
        let full = std::fs::read(&path).unwrap();
        for torn in [
            full[..full.len() / 2].to_vec(),
            Vec::new(),
            vec![0u8; full.len()],
            b"garbage".to_vec(),
        ] {
            std::fs::write(&path, &torn).unwrap();
            assert_eq!(
                read(&path).unwrap(),
                json!({"completed_nodes": {"a": 1, "b": 2}}),
                "torn: {torn:?}"
            );
        }
        // Crash between the copy and the first creation of the file: the copy alone.
        std::fs::remove_file(&path).unwrap();
        assert!(watched_exists(&path));
        assert_eq!(read(&path).unwrap()["completed_nodes"]["b"], 2);
    }

    #[test]
    fn a_crash_while_writing_the_copy_keeps_the_intact_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.json");
        write(&path, json!({"nodes": ["a"]}));
        // The copy is replaced by rename, so a crash leaves at worst a stray temp file;
        // even a copy damaged by hand does not hide a valid file.
        std::fs::write(recovery_path(&path), b"{\"nod").unwrap();
        std::fs::write(dir.path().join(".trace.prev.json.1.0.tmp"), b"{").unwrap();
        assert_eq!(read(&path).unwrap(), json!({"nodes": ["a"]}));
    }

    #[test]
    fn missing_and_invalid_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metadata.json");
        assert!(matches!(read(&path), Err(WatchedReadError::Missing(_))));
        std::fs::write(&path, b"not json").unwrap();
        let e = read(&path).unwrap_err();
        assert!(matches!(e, WatchedReadError::Invalid(_)), "{e}");
        assert!(!watched_exists(&dir.path().join("other.json")));
    }

    #[test]
    fn a_reader_never_sees_a_half_written_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        let big = |n: usize| json!({"runs": vec![format!("{n:0>64}"); 2000]});
        write(&path, big(0));
        let writer = {
            let path = path.clone();
            std::thread::spawn(move || {
                for n in 1..40 {
                    write(&path, big(n));
                }
            })
        };
        let mut reads = 0;
        while !writer.is_finished() {
            let value = read(&path).unwrap();
            let runs = value["runs"].as_array().unwrap();
            assert_eq!(runs.len(), 2000);
            assert!(runs.iter().all(|r| r == &runs[0]), "a mixed read");
            reads += 1;
        }
        writer.join().unwrap();
        assert!(reads > 0);
    }
}
