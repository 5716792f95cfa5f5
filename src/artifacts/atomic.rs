//! Atomic file replacement: write a temp file beside the target, then rename it over, so a
//! reader (or a crash) never sees a half-written artifact.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The buffer between a serialiser and an artifact file.
const WRITE_BUFFER: usize = 64 * 1024;

/// What an artifact is written through: a concrete type, so a serialiser's many small
/// writes are inlined copies into the buffer rather than calls through a `dyn Write`.
pub type ArtifactWriter = BufWriter<File>;

/// Write `bytes` to `path` atomically, creating parent folders. Returns the byte count.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<u64> {
    write_atomic_with(path, |out| out.write_all(bytes)).map(|(_, written)| written)
}

/// Write to `path` atomically what `write` writes (through a buffer, so an artifact is never
/// built in memory whole), creating parent folders. Returns the written file, still open
/// (to copy it elsewhere without reading it into memory), and its byte count.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut ArtifactWriter) -> std::io::Result<()>,
) -> std::io::Result<(File, u64)> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("artifact");
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{unique}.tmp", std::process::id()));
    let result = (|| {
        // Readable too: the caller may copy the file on.
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        let written = file.metadata()?.len();
        std::fs::rename(&tmp, path)?;
        Ok((file, written))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Copy the whole of `from` (an open file, read from its start) to `path` atomically, in
/// the kernel where it can (no copy of the content in memory). Returns the byte count.
pub fn copy_atomic(from: &mut File, path: &Path) -> std::io::Result<u64> {
    write_atomic_with(path, |out| {
        from.seek(SeekFrom::Start(0))?;
        std::io::copy(from, out).map(|_| ())
    })
    .map(|(_, written)| written)
}

/// Serialise `value` as indented JSON (the original's `json.dumps(indent=2)` shape) into
/// `out`.
pub fn write_pretty_json<T: serde::Serialize + ?Sized>(
    out: &mut impl Write,
    value: &T,
) -> std::io::Result<()> {
    serde_json::to_writer_pretty(out, value).map_err(std::io::Error::from)
}

/// Write `value` as indented JSON to `path` atomically. Returns the byte count.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<u64> {
    write_atomic_with(path, |out| write_pretty_json(out, value)).map(|(_, written)| written)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// A value whose indented JSON is several times the write buffer.
    fn big() -> Value {
        let rows: Vec<Value> = (0..20_000)
            .map(|i| json!({"id": i, "v": format!("välue-{i}"), "x": null}))
            .collect();
        json!({"rows": rows, "text": "a \"quoted\"\nline"})
    }

    #[test]
    fn streamed_json_is_byte_for_byte_the_serialised_value() {
        let dir = tempfile::tempdir().unwrap();
        let value = big();
        let expected = serde_json::to_vec_pretty(&value).unwrap();
        assert!(expected.len() > 4 * WRITE_BUFFER);
        let path = dir.path().join("sub/outputs.json");
        assert_eq!(write_json(&path, &value).unwrap(), expected.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        // The copy is made from the written file, whole.
        let (mut written, len) =
            write_atomic_with(&path, |out| write_pretty_json(out, &value)).unwrap();
        assert_eq!(len, expected.len() as u64);
        let copy = dir.path().join("published/result.json");
        assert_eq!(copy_atomic(&mut written, &copy).unwrap(), len);
        assert_eq!(std::fs::read(&copy).unwrap(), expected);
        assert_eq!(copy_atomic(&mut written, &copy).unwrap(), len, "again");
        assert_eq!(std::fs::read(&copy).unwrap(), expected);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["outputs.json"], "no temp file left");
    }

    #[test]
    fn a_failed_write_leaves_the_target_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outputs.json");
        write_atomic(&path, b"{\"old\": 1}").unwrap();
        let err = write_atomic_with(&path, |out| {
            out.write_all(&[b' '; 3 * WRITE_BUFFER])?;
            Err(std::io::Error::other("serialiser failed"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "serialiser failed");
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"old\": 1}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
