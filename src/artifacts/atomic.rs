//! Atomic file replacement: write a temp file beside the target, then rename it over, so a
//! reader (or a crash) never sees a half-written artifact.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The buffer between a serialiser and an artifact file.
const WRITE_BUFFER: usize = 64 * 1024;

/// Write `bytes` to `path` atomically, creating parent folders. Returns the byte count.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<u64> {
    write_atomic_with(path, |out| out.write_all(bytes)).map(|(_, written)| written)
}

/// Write to `path` atomically what `write` writes (through a buffer, so an artifact is never
/// built in memory whole), creating parent folders. Returns the written file, still open
/// (to copy it elsewhere without reading it into memory), and its byte count.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
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
    out: &mut dyn Write,
    value: &T,
) -> std::io::Result<()> {
    serde_json::to_writer_pretty(out, value).map_err(std::io::Error::from)
}

/// Write `value` as indented JSON to `path` atomically. Returns the byte count.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<u64> {
    write_atomic_with(path, |out| write_pretty_json(out, value)).map(|(_, written)| written)
}
