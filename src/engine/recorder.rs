//! A run's artifacts at its start and end: the run index entry, metadata, trace, outputs
//! (published and exported), orchestration signals, each reported as telemetry, or as one
//! warning when it cannot be written (an artifact write never fails a run).

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::console::Console;
use super::outcome::RunError;
use crate::artifacts::{RunEntry, RunMetadata, RunOutputs, RunStore, Trace, now_iso};
use crate::telemetry::{Event, RunTelemetry};

/// Writes one run's artifacts (nothing with `--no-artifacts`: `store` is `None`).
pub struct RunRecorder<'a> {
    pub store: Option<RunStore>,
    pub tel: &'a RunTelemetry,
    pub console: &'a Console,
    pub metadata: RunMetadata,
}

impl RunRecorder<'_> {
    /// Report a saved artifact, or warn that it could not be written.
    fn report(&self, kind: &'static str, result: std::io::Result<(PathBuf, u64)>) {
        match result {
            Ok((path, bytes)) => self.tel.emit(None, || Event::ArtifactSaved {
                kind,
                path: path.display().to_string(),
                bytes,
            }),
            Err(e) => self
                .console
                .warn(format!("could not write the {kind} artifact: {e}")),
        }
    }

    fn signal(
        &self,
        store: &RunStore,
        kind: &str,
        outputs_path: Option<String>,
        meta: Map<String, Value>,
    ) {
        let workflow = &self.metadata.project_name;
        match store.emit_signal(kind, workflow, outputs_path, meta) {
            Ok((path, _)) => {
                self.console
                    .progress(format!("Signal emitted: {workflow}.{kind}"));
                self.tel.emit(None, || Event::SignalEmitted {
                    signal_type: kind.to_string(),
                    workflow: workflow.to_string(),
                    path: path.display().to_string(),
                });
            }
            Err(e) => self
                .console
                .warn(format!("could not write signal {workflow}.{kind}: {e}")),
        }
    }

    /// At the start: the run index entry (`running`), metadata, the `started` signal.
    pub fn begin(&self, emit_signals: bool) {
        let Some(store) = &self.store else {
            return;
        };
        let m = &self.metadata;
        let entry = RunEntry {
            run_id: m.run_id.clone(),
            project_name: m.project_name.clone(),
            entrypoint: m.entrypoint.clone(),
            status: "running".into(),
            started_at: m.started_at.clone(),
            ended_at: None,
            success: None,
            error_summary: None,
            attempts: m.attempts,
        };
        let index = store.index();
        self.report(
            "manifest",
            index.upsert(entry).map(|n| (index.path().to_path_buf(), n)),
        );
        self.report("metadata", store.save_metadata(m));
        if emit_signals {
            store.clear_signals(&m.project_name);
            self.signal(store, "started", None, Map::new());
        }
        self.console
            .progress(format!("Artifacts: {}", store.run_dir().display()));
    }

    /// At the end: trace, outputs (and their publishing), metadata, the run index entry
    /// (`completed` or `failed`), and the `completed`+`ready` or `failed` signals.
    pub fn finish(
        &mut self,
        trace: &Trace,
        outputs: &RunOutputs,
        error: Option<&RunError>,
        publish_to: Option<&str>,
        emit_signals: bool,
    ) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let ended_at = trace.end_time.clone().unwrap_or_else(now_iso);
        self.report("trace", store.save_trace(trace));
        match store.save_outputs(outputs, publish_to, error.is_none()) {
            Ok(saved) => {
                for (kind, path, bytes) in saved {
                    self.tel.emit(None, || Event::ArtifactSaved {
                        kind,
                        path: path.display().to_string(),
                        bytes,
                    });
                }
            }
            Err(e) => self
                .console
                .warn(format!("could not write or publish outputs: {e}")),
        }
        self.metadata.ended_at = Some(ended_at.clone());
        self.report("metadata", store.save_metadata(&self.metadata));
        let index = store.index();
        let status = if error.is_some() {
            "failed"
        } else {
            "completed"
        };
        self.report(
            "manifest",
            index
                .finish(
                    &self.metadata.run_id,
                    status,
                    Some(error.is_none()),
                    error.map(|e| e.to_string()),
                    ended_at,
                )
                .map(|n| (index.path().to_path_buf(), n)),
        );
        if emit_signals {
            match error {
                Some(e) => {
                    let mut meta = Map::new();
                    meta.insert("error".into(), Value::String(e.to_string()));
                    self.signal(&store, "failed", None, meta);
                }
                None => {
                    let outputs_path = Some(store.outputs_path().display().to_string());
                    for kind in ["completed", "ready"] {
                        self.signal(&store, kind, outputs_path.clone(), Map::new());
                    }
                }
            }
        }
        self.console
            .progress(format!("Artifacts saved to: {}", store.run_dir().display()));
    }
}
