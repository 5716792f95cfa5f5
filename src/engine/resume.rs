//! `--resume` and `--start-from`: finding a run's checkpoint (with its journal), keeping
//! only the ancestors of the start node, and the agents' sessions to continue.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::console::Console;
use super::context::RunOptions;
use crate::artifacts::{Checkpoint, CheckpointStore, now_iso};
use crate::dag::Dag;
use crate::error::TridentError;
use crate::project::Project;

/// The state a resumed run starts from.
pub struct Resumed {
    /// The checkpoint, marked `running`, without the nodes `--start-from` re-runs.
    pub checkpoint: Checkpoint,
    /// Session ids of completed agents (taken before `--start-from` drops nodes: an agent
    /// that runs again continues its Claude session).
    pub sessions: HashMap<String, String>,
}

/// Locate the checkpoint to resume: a path to a checkpoint file, or a run id under the
/// artifact folder.
fn resume_checkpoint_path(resume: &str, base_dir: &Path) -> Result<PathBuf, TridentError> {
    let direct = Path::new(resume);
    if direct.is_file() {
        return Ok(direct.to_path_buf());
    }
    let by_id = base_dir.join("runs").join(resume).join("checkpoint.json");
    if by_id.is_file() {
        return Ok(by_id);
    }
    Err(TridentError::Validation(format!(
        "Checkpoint not found: {resume} (looked for {}). List resumable runs with `trident \
         project runs`, or use `--resume latest`.",
        by_id.display()
    )))
}

/// Load what `opts.resume_from` / `opts.start_from` ask for (`None` when not resuming).
/// Nothing is written: a refused resume leaves every artifact as it was.
pub fn load_resume(
    project: &Project,
    dag: &Dag,
    opts: &RunOptions,
    base_dir: &Path,
    console: &Console,
) -> Result<Option<Resumed>, TridentError> {
    if opts.start_from.is_some() && opts.resume_from.is_none() {
        return Err(TridentError::Validation(
            "--start-from requires --resume to specify which run to use cached outputs from \
             (e.g. `--resume latest --start-from NODE`)."
                .into(),
        ));
    }
    let Some(resume) = &opts.resume_from else {
        return Ok(None);
    };
    let path = resume_checkpoint_path(resume, base_dir)?;
    let mut checkpoint = CheckpointStore::load(&path).map_err(|e| {
        TridentError::Validation(format!(
            "Cannot resume: {e}. Start a new run instead, or resume another run id."
        ))
    })?;
    let sessions = checkpoint
        .completed_nodes
        .iter()
        .filter_map(|(id, n)| n.session_id.clone().map(|s| (id.clone(), s)))
        .collect();
    if let Some(start) = &opts.start_from {
        if !dag.nodes.contains_key(start) {
            return Err(TridentError::Validation(format!(
                "Start-from node not found in DAG: '{start}'. Known nodes: {}.",
                dag.order.join(", ")
            )));
        }
        let ancestors = dag.ancestors(project, start);
        let before = checkpoint.completed_nodes.len();
        checkpoint
            .completed_nodes
            .retain(|id, _| ancestors.contains(id));
        console.progress(format!("Starting from node: {start}"));
        console.progress(format!(
            "  Keeping {} of {before} cached nodes",
            checkpoint.completed_nodes.len()
        ));
    } else {
        console.progress(format!("Resuming from checkpoint: {}", checkpoint.run_id));
        console.progress(format!(
            "  Completed nodes: {}",
            checkpoint.completed_nodes.len()
        ));
    }
    checkpoint.status = "running".into();
    checkpoint.updated_at = now_iso();
    checkpoint.pending_nodes = dag
        .order
        .iter()
        .filter(|id| !checkpoint.completed_nodes.contains_key(*id))
        .cloned()
        .collect();
    Ok(Some(Resumed {
        checkpoint,
        sessions,
    }))
}
