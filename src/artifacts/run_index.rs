//! `.trident/runs/manifest.json`, the index of every run of a project, updated under an
//! exclusive file lock and rewritten in place with a recovery copy (see
//! [`super::watched`]), so concurrent runs never corrupt it, a crash never makes it
//! unreadable, and file watchers see every update.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::records::{RunEntry, RunIndex};
use super::watched::{read_watched_json, write_watched_json};

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

    /// Read the index (from its recovery copy when a crash tore it); a missing or
    /// unreadable index is empty (as in the original).
    pub fn load(&self) -> RunIndex {
        read_watched_json(&self.path).unwrap_or_default()
    }

    /// Apply `change` to the index under an exclusive lock, then rewrite the file in place
    /// (after its recovery copy). Returns the bytes written.
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
        let written = write_watched_json(&self.path, &index);
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

    /// Every known run id: the index's, then run folders missing from it (a run whose
    /// index entry was lost still has its folder).
    pub fn known_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.load().runs.into_iter().map(|r| r.run_id).collect();
        if let Some(runs_dir) = self.path.parent()
            && let Ok(entries) = std::fs::read_dir(runs_dir)
        {
            let mut folders: Vec<String> = entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|name| !ids.contains(name))
                .collect();
            folders.sort();
            ids.extend(folders);
        }
        ids
    }

    /// The full run id that `id_or_prefix` names: `latest`, an exact id, or a unique
    /// prefix of one (as `trident project runs` shows them).
    pub fn resolve(&self, id_or_prefix: &str) -> Result<String, RunIdError> {
        if id_or_prefix == "latest" {
            return self.latest().ok_or(RunIdError::NoRuns);
        }
        resolve_among(id_or_prefix, &self.known_ids())
    }
}

/// The id of `ids` that `id_or_prefix` names: an exact id, or a unique prefix of one.
pub fn resolve_among(id_or_prefix: &str, ids: &[String]) -> Result<String, RunIdError> {
    if ids.iter().any(|id| id == id_or_prefix) {
        return Ok(id_or_prefix.to_string());
    }
    let matches: Vec<String> = ids
        .iter()
        .filter(|id| !id_or_prefix.is_empty() && id.starts_with(id_or_prefix))
        .cloned()
        .collect();
    match matches.len() {
        0 => Err(RunIdError::NotFound(id_or_prefix.to_string())),
        1 => Ok(matches.into_iter().next().unwrap_or_default()),
        _ => Err(RunIdError::Ambiguous(id_or_prefix.to_string(), matches)),
    }
}

/// Why a run id (or prefix) names no single run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunIdError {
    /// The artifact folder has no runs at all.
    NoRuns,
    /// No run id equals or starts with this.
    NotFound(String),
    /// Several run ids start with this prefix.
    Ambiguous(String, Vec<String>),
}

impl std::fmt::Display for RunIdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunIdError::NoRuns => write!(f, "No previous runs found: run the workflow once first"),
            RunIdError::NotFound(id) => write!(
                f,
                "Checkpoint not found: {id} (no run id is or starts with it): list the runs \
                 with `trident project runs`"
            ),
            RunIdError::Ambiguous(id, matches) => write!(
                f,
                "'{id}' is the start of {} run ids ({}): give more characters",
                matches.len(),
                matches.join(", ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::RunEntry;

    fn entry(id: &str) -> RunEntry {
        RunEntry {
            run_id: id.into(),
            project_name: "p".into(),
            entrypoint: None,
            status: "completed".into(),
            started_at: String::new(),
            ended_at: None,
            success: None,
            error_summary: None,
            attempts: 1,
        }
    }

    #[test]
    fn resolves_exact_ids_unique_prefixes_and_latest() {
        let dir = tempfile::tempdir().unwrap();
        let index = RunIndexFile::new(dir.path());
        assert_eq!(index.resolve("latest"), Err(RunIdError::NoRuns));
        for id in ["abc123", "abd456", "ab"] {
            index.upsert(entry(id)).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("runs/zz-folder-only")).unwrap();
        assert_eq!(index.resolve("ab").unwrap(), "ab");
        assert_eq!(index.resolve("abc").unwrap(), "abc123");
        assert_eq!(index.resolve("zz").unwrap(), "zz-folder-only");
        assert_eq!(index.resolve("latest").unwrap(), "ab");
        assert!(matches!(index.resolve("a"), Err(RunIdError::Ambiguous(_, m)) if m.len() == 3));
        assert!(matches!(index.resolve("q"), Err(RunIdError::NotFound(_))));
    }

    #[test]
    fn a_torn_index_is_recovered_and_the_next_update_repairs_it() {
        let dir = tempfile::tempdir().unwrap();
        let index = RunIndexFile::new(dir.path());
        index.upsert(entry("r1")).unwrap();
        index.upsert(entry("r2")).unwrap();
        let full = std::fs::read(index.path()).unwrap();
        // kill -9 in the middle of the in-place rewrite.
        std::fs::write(index.path(), &full[..full.len() / 3]).unwrap();
        assert_eq!(index.known_ids(), ["r1", "r2"]);
        index.upsert(entry("r3")).unwrap();
        let on_disk: RunIndex =
            serde_json::from_slice(&std::fs::read(index.path()).unwrap()).unwrap();
        let ids: Vec<_> = on_disk.runs.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(ids, ["r1", "r2", "r3"]);
    }
}
