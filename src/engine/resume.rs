//! `--resume` and `--start-from`: finding a run's checkpoint (with its journal), refusing a
//! resume that would mix two different runs (a dry-run checkpoint resumed for real, other
//! inputs), warning about nodes changed since, keeping only the ancestors of the start node,
//! and the agents' sessions to continue.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::console::Console;
use super::context::RunOptions;
use super::fingerprint::{inputs_fingerprint, project_fingerprint};
use crate::artifacts::{
    Checkpoint, CheckpointStore, NodeTrace, Trace, now_iso, read_watched_json, watched_exists,
};
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
    /// The previous attempt's trace entries, by node id (original times, tokens, inputs).
    pub previous_trace: HashMap<String, NodeTrace>,
    /// The run had completed already (and no `--start-from` asks to re-run part of it):
    /// there is nothing to do, and nothing must be rewritten.
    pub already_completed: bool,
}

/// Locate the checkpoint to resume: a path to a checkpoint file, or a run id under the
/// artifact folder.
fn resume_checkpoint_path(resume: &str, base_dir: &Path) -> Result<PathBuf, TridentError> {
    let direct = Path::new(resume);
    if direct.is_file() {
        return Ok(direct.to_path_buf());
    }
    let by_id = base_dir.join("runs").join(resume).join("checkpoint.json");
    if watched_exists(&by_id) {
        return Ok(by_id);
    }
    Err(TridentError::Validation(format!(
        "Checkpoint not found: {resume} (looked for {}). List resumable runs with `trident \
         project runs`, or use `--resume latest`.",
        by_id.display()
    )))
}

/// `--start-from` needs `--resume` and a node of the DAG.
pub fn check_start_from(dag: &Dag, opts: &RunOptions) -> Result<(), TridentError> {
    let Some(start) = &opts.start_from else {
        return Ok(());
    };
    if opts.resume_from.is_none() {
        return Err(TridentError::Validation(
            "--start-from requires --resume to specify which run to use cached outputs from \
             (e.g. `--resume latest --start-from NODE`)."
                .into(),
        ));
    }
    if !dag.nodes.contains_key(start) {
        return Err(TridentError::Validation(format!(
            "Start-from node not found in DAG: '{start}'. Known nodes: {}.",
            dag.order.join(", ")
        )));
    }
    Ok(())
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
    check_start_from(dag, opts)?;
    let Some(resume) = &opts.resume_from else {
        return Ok(None);
    };
    let path = resume_checkpoint_path(resume, base_dir)?;
    let mut checkpoint = CheckpointStore::load(&path).map_err(|e| {
        TridentError::Validation(format!(
            "Cannot resume: {e}. Start a new run instead, or resume another run id."
        ))
    })?;
    check_same_run(&checkpoint, opts, resume)?;
    let already_completed = checkpoint.status == "completed" && opts.start_from.is_none();
    let previous_trace = path
        .parent()
        .map(|dir| dir.join("trace.json"))
        .and_then(|p| read_watched_json::<Trace>(&p).ok())
        .map(|t| t.nodes.into_iter().map(|n| (n.id.clone(), n)).collect())
        .unwrap_or_default();
    if already_completed {
        return Ok(Some(Resumed {
            checkpoint,
            sessions: HashMap::new(),
            previous_trace,
            already_completed,
        }));
    }
    let now = project_fingerprint(project);
    if let Some(then) = checkpoint.fingerprint.as_ref().map(|f| &f.project) {
        let changed = then.changed_nodes(&now);
        if !changed.is_empty() {
            console.warn(format!(
                "the project changed since run {} was checkpointed: node(s) {} differ \
                 (definition, edges, prompt file or tool module); their cached outputs may be \
                 stale. Re-run them with `--start-from NODE`.",
                checkpoint.run_id,
                changed
                    .iter()
                    .map(|id| format!("'{id}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else if then.manifest != now.manifest {
            console.warn(format!(
                "the manifest changed since run {} was checkpointed (no node definition or \
                 edge differs).",
                checkpoint.run_id
            ));
        }
    }
    // Failed agents too: re-running one continues its session.
    let sessions = checkpoint
        .completed_nodes
        .iter()
        .chain(&checkpoint.failed_nodes)
        .filter_map(|(id, n)| n.session_id.clone().map(|s| (id.clone(), s)))
        .collect();
    if let Some(start) = &opts.start_from {
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
    checkpoint.attempts += 1;
    checkpoint.dry_run = Some(opts.dry_run);
    if let Some(fingerprint) = &mut checkpoint.fingerprint {
        fingerprint.project = now;
    }
    // Failed agents run again (continuing their sessions); their cost stays in the run's
    // spend (`total_cost_usd`, earlier attempts included).
    checkpoint.failed_nodes.clear();
    checkpoint.pending_nodes = dag
        .order
        .iter()
        .filter(|id| !checkpoint.completed_nodes.contains_key(*id))
        .cloned()
        .collect();
    Ok(Some(Resumed {
        checkpoint,
        sessions,
        previous_trace,
        already_completed,
    }))
}

/// Refuse a resume that would mix two runs: a dry-run checkpoint resumed for real (or the
/// reverse), or inputs other than the checkpoint's.
fn check_same_run(
    checkpoint: &Checkpoint,
    opts: &RunOptions,
    resume: &str,
) -> Result<(), TridentError> {
    match (checkpoint.dry_run, opts.dry_run) {
        (Some(true), false) => {
            return Err(TridentError::Validation(format!(
                "--resume {resume}: run {} was a --dry-run, so its checkpoint holds mocked model \
                 and agent results. Resume it with --dry-run, or start a real run without \
                 --resume.",
                checkpoint.run_id
            )));
        }
        (Some(false), true) => {
            return Err(TridentError::Validation(format!(
                "--resume {resume}: run {} is a real run; resuming it with --dry-run would mix \
                 mocked results into it. Drop --dry-run, or start a new dry run without \
                 --resume.",
                checkpoint.run_id
            )));
        }
        _ => {}
    }
    if opts.inputs.is_empty() {
        return Ok(());
    }
    let same = match &checkpoint.fingerprint {
        Some(f) => f.inputs == inputs_fingerprint(&opts.inputs),
        None => checkpoint.inputs == opts.inputs,
    };
    if same {
        return Ok(());
    }
    let mut fields: Vec<&String> = checkpoint
        .inputs
        .keys()
        .chain(opts.inputs.keys())
        .filter(|k| checkpoint.inputs.get(*k) != opts.inputs.get(*k))
        .collect();
    fields.sort();
    fields.dedup();
    Err(TridentError::Validation(format!(
        "--resume {resume}: the inputs given differ from run {}'s in field(s) {}. Omit \
         -i/-f/--input-from to reuse the checkpoint's inputs, or start a new run without \
         --resume.",
        checkpoint.run_id,
        fields
            .iter()
            .map(|f| format!("'{f}'"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}
