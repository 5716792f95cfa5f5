//! `.trident/runs/manifest.json`, the index of every run of a project, updated under an
//! exclusive file lock and replaced atomically, so concurrent runs never corrupt it.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::atomic::write_json;
use super::records::{RunEntry, RunIndex};

/// The run index of one artifact folder.
#[derive(Debug, Clone)]
pub struct RunIndexFile {
    path: PathBuf,
}

impl RunIndexFile {
    /// The index under `base_dir` (usually `<project>/.trident`).
    pub fn new(base_dir: &Path) -> RunIndexFile {
        RunIndexFile {
            path: base_dir.join("runs").join("manifest.json"),
        }
    }

    /// Where the index lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read the index; a missing or unreadable index is empty (as in the original).
    pub fn load(&self) -> RunIndex {
        std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Apply `change` to the index under an exclusive lock, then replace the file
    /// atomically. Returns the bytes written.
    pub fn update(&self, change: impl FnOnce(&mut RunIndex)) -> std::io::Result<u64> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".manifest.lock"))?;
        lock.lock()?;
        let mut index = self.load();
        change(&mut index);
        let written = write_json(&self.path, &index);
        let _ = lock.unlock();
        written
    }

    /// Insert or replace the entry with the same run id.
    pub fn upsert(&self, entry: RunEntry) -> std::io::Result<u64> {
        self.update(
            |index| match index.runs.iter_mut().find(|r| r.run_id == entry.run_id) {
                Some(existing) => *existing = entry,
                None => index.runs.push(entry),
            },
        )
    }

    /// Set the final fields of a run.
    pub fn finish(
        &self,
        run_id: &str,
        status: &str,
        success: Option<bool>,
        error_summary: Option<String>,
        ended_at: String,
    ) -> std::io::Result<u64> {
        self.update(|index| {
            if let Some(run) = index.runs.iter_mut().find(|r| r.run_id == run_id) {
                run.status = status.to_string();
                run.success = success;
                run.error_summary = error_summary;
                run.ended_at = Some(ended_at);
            }
        })
    }

    /// The most recent run id.
    pub fn latest(&self) -> Option<String> {
        self.load().runs.last().map(|r| r.run_id.clone())
    }
}
