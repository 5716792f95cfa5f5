//! Atomic file replacement: write a temp file beside the target, then rename it over, so a
//! reader (or a crash) never sees a half-written artifact.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Write `bytes` to `path` atomically, creating parent folders. Returns the byte count.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<u64> {
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
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|_| bytes.len() as u64)
}

/// Serialise `value` as indented JSON (the original's `json.dumps(indent=2)` shape).
pub fn to_pretty_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"null".to_vec())
}

/// Write `value` as indented JSON to `path` atomically. Returns the byte count.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<u64> {
    write_atomic(path, &to_pretty_json(value))
}
