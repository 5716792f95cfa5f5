//! Finding a run's `events.jsonl` in a project: `latest`, an exact run id or a unique
//! prefix of one (the run index's own resolution, as `--resume` accepts), and for an
//! unknown id an error (exit 2) that lists the closest known ids (`artifacts::closest`).

use std::path::{Path, PathBuf};

use crate::artifacts::run_id_message;
use crate::artifacts::{RunIdError, RunIndexFile};
use crate::error::TridentError;
use crate::telemetry::RunHistorySink;

/// A run's id and its event history file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEvents {
    pub run_id: String,
    pub path: PathBuf,
}

/// The artifact folder of the project at `project` (a folder or its manifest file).
pub fn artifact_dir(project: &Path) -> PathBuf {
    let root = std::path::absolute(project).unwrap_or(project.to_path_buf());
    let root = if root.is_file() {
        root.parent().map(Path::to_path_buf).unwrap_or(root)
    } else {
        root
    };
    root.join(".trident")
}

/// The events file of run `run` (`latest`, an id or a unique prefix) of the project at
/// `project`.
pub fn locate_run(project: &Path, run: &str) -> Result<RunEvents, TridentError> {
    let base = artifact_dir(project);
    let index = RunIndexFile::new(&base);
    let run_id = index.resolve(run).map_err(|e| match e {
        RunIdError::NoRuns => TridentError::Validation(format!(
            "No runs found in {}: run the workflow first (or pass --project PATH).",
            base.join("runs").display()
        )),
        other => TridentError::Validation(format!(
            "{} (runs of {}; list them with `trident project runs`)",
            run_id_message(&other, &index.known_ids()),
            base.join("runs").display()
        )),
    })?;
    let path = RunHistorySink::path_for(&base, &run_id);
    Ok(RunEvents { run_id, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_found_by_prefix_and_unknown_ids_list_the_closest() {
        let dir = tempfile::tempdir().unwrap();
        for id in ["0194aaaa-1", "0194bbbb-2"] {
            std::fs::create_dir_all(dir.path().join(".trident/runs").join(id)).unwrap();
        }
        let found = locate_run(dir.path(), "0194b").unwrap();
        assert_eq!(found.run_id, "0194bbbb-2");
        assert!(
            found
                .path
                .ends_with(".trident/runs/0194bbbb-2/events.jsonl")
        );
        let err = locate_run(dir.path(), "0194c").unwrap_err();
        assert_eq!(err.exit_code(), crate::ExitCode::Validation);
        let text = err.to_string();
        assert!(
            text.contains("--run 0194c: no run id is or starts with it"),
            "{text}"
        );
        assert!(text.contains("0194aaaa-1"), "{text}");
        let empty = tempfile::tempdir().unwrap();
        let err = locate_run(empty.path(), "latest").unwrap_err();
        assert!(err.to_string().contains("No runs found"), "{err}");
    }
}
