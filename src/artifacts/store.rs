//! The run store: where one run's artifacts live under the artifact folder (default
//! `<project>/.trident`) and how each is written: metadata, trace, outputs (with publishing
//! and export), branch iterations and orchestration signals. Metadata and trace are watched
//! artifacts (rewritten in place with a recovery copy, see [`super::watched`]); every other
//! write is atomic. Each returns `(path, bytes)` so the engine can report it.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::atomic::{copy_atomic, write_atomic_with, write_json, write_pretty_json};
use super::records::{BranchIteration, RunMetadata, Signal, Trace, now_iso};
use super::run_index::RunIndexFile;
use super::run_outputs::RunOutputs;
use super::watched::write_watched_json;
use crate::project::Orchestration;

/// A saved artifact: where and how many bytes.
pub type Saved = (PathBuf, u64);

/// Paths and writers of one run's artifacts.
#[derive(Debug, Clone)]
pub struct RunStore {
    base_dir: PathBuf,
    project_root: PathBuf,
    run_id: String,
    orchestration: Option<Orchestration>,
}

/// The signal types a workflow emits.
pub const SIGNAL_TYPES: [&str; 4] = ["started", "completed", "failed", "ready"];

impl RunStore {
    /// The store of `run_id` under `base_dir`.
    pub fn new(
        base_dir: &Path,
        project_root: &Path,
        run_id: &str,
        orchestration: Option<Orchestration>,
    ) -> RunStore {
        RunStore {
            base_dir: base_dir.to_path_buf(),
            project_root: project_root.to_path_buf(),
            run_id: run_id.to_string(),
            orchestration,
        }
    }

    /// The artifact folder (`.trident` or `--artifact-dir`).
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// `runs/<run_id>`.
    pub fn run_dir(&self) -> PathBuf {
        self.base_dir.join("runs").join(&self.run_id)
    }

    /// The run index (`runs/manifest.json`).
    pub fn index(&self) -> RunIndexFile {
        RunIndexFile::new(&self.base_dir)
    }

    pub fn checkpoint_path(&self) -> PathBuf {
        self.run_dir().join("checkpoint.json")
    }

    pub fn outputs_path(&self) -> PathBuf {
        self.run_dir().join("outputs.json")
    }

    /// `runs/<run_id>/branches/<branch>`.
    pub fn branch_dir(&self, branch_id: &str) -> PathBuf {
        self.run_dir().join("branches").join(branch_id)
    }

    /// `branches/<branch>/iteration_<n>.json`.
    pub fn iteration_path(&self, branch_id: &str, iteration: u64) -> PathBuf {
        self.branch_dir(branch_id)
            .join(format!("iteration_{iteration}.json"))
    }

    /// The signals folder (manifest `orchestration.signals.directory`, relative to the
    /// project root; default `.trident/signals`).
    pub fn signals_dir(&self) -> PathBuf {
        Orchestration::signals_dir(self.orchestration.as_ref(), &self.project_root)
    }

    pub fn save_metadata(&self, metadata: &RunMetadata) -> std::io::Result<Saved> {
        let path = self.run_dir().join("metadata.json");
        write_watched_json(&path, metadata).map(|n| (path, n))
    }

    pub fn save_trace(&self, trace: &Trace) -> std::io::Result<Saved> {
        let path = self.run_dir().join("trace.json");
        write_watched_json(&path, trace).map(|n| (path, n))
    }

    pub fn save_iteration(&self, state: &BranchIteration) -> std::io::Result<Saved> {
        let path = self.iteration_path(&state.branch_id, state.iteration);
        write_json(&path, state).map(|n| (path, n))
    }

    fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.project_root.join(p)
        }
    }

    /// Write `outputs.json`, then, when `publish` (a successful run), publish
    /// (`--publish-to`, else manifest `publish.path` with its alias link in
    /// `.trident/outputs/<alias>.json`) and export: a failed run never replaces the last
    /// good published outputs. Returns every file written with its kind (`outputs`,
    /// `published`, `alias`, `export`).
    pub fn save_outputs(
        &self,
        outputs: &RunOutputs,
        publish_to: Option<&str>,
        publish: bool,
    ) -> std::io::Result<Vec<(&'static str, PathBuf, u64)>> {
        let mut saved = Vec::new();
        let path = self.outputs_path();
        // Streamed to outputs.json; the copies are made from that file, not from memory.
        let (mut written, len) = write_atomic_with(&path, |out| write_pretty_json(out, outputs))?;
        saved.push(("outputs", path.clone(), len));
        if !publish {
            return Ok(saved);
        }
        let orch = self.orchestration.as_ref();
        if let Some(target) = publish_to {
            let path = self.resolve(target);
            saved.push(("published", path.clone(), copy_atomic(&mut written, &path)?));
        } else if let Some(target) = orch.and_then(|o| o.publish_path.as_deref()) {
            let path = self.resolve(target);
            saved.push(("published", path.clone(), copy_atomic(&mut written, &path)?));
            if let Some(alias) = orch.and_then(|o| o.publish_alias.as_deref()) {
                let link = self
                    .project_root
                    .join(".trident")
                    .join("outputs")
                    .join(format!("{alias}.json"));
                if link != path {
                    if let Some(dir) = link.parent() {
                        std::fs::create_dir_all(dir)?;
                    }
                    let _ = std::fs::remove_file(&link);
                    let absolute = std::path::absolute(&path).unwrap_or(path.clone());
                    std::os::unix::fs::symlink(&absolute, &link)?;
                    saved.push(("alias", link, len));
                }
            }
        }
        if let Some(target) = orch.and_then(|o| o.export_path.as_deref()) {
            let path = self.resolve(target);
            saved.push(("export", path.clone(), copy_atomic(&mut written, &path)?));
        }
        Ok(saved)
    }

    /// Remove this workflow's old signals (at the start of a run that emits signals).
    pub fn clear_signals(&self, workflow: &str) {
        let dir = self.signals_dir();
        for kind in SIGNAL_TYPES {
            let _ = std::fs::remove_file(dir.join(format!("{workflow}.{kind}")));
        }
    }

    /// Write `<signals>/<workflow>.<signal_type>`.
    pub fn emit_signal(
        &self,
        signal_type: &str,
        workflow: &str,
        outputs_path: Option<String>,
        metadata: Map<String, Value>,
    ) -> std::io::Result<Saved> {
        let signal = Signal {
            signal_type: signal_type.to_string(),
            run_id: self.run_id.clone(),
            timestamp: now_iso(),
            workflow: workflow.to_string(),
            outputs_path,
            metadata,
        };
        let path = self.signals_dir().join(format!("{workflow}.{signal_type}"));
        write_json(&path, &signal).map(|n| (path, n))
    }
}
