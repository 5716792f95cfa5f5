//! Running a workflow: resume handling, artifacts at start and end, level-by-level
//! execution (nodes of a level run concurrently on a bounded pool of threads), checkpoint
//! folding at level ends, final outputs, signals and lifecycle telemetry.
//!
//! Concurrency uses scoped OS threads rather than an async runtime: node work is blocking
//! (HTTP calls, python and shell subprocesses, the Claude CLI), a level needs no more than
//! "run these and wait for all", and threads keep every node's code plain and synchronous.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Map, Value};

use super::context::{RunContext, RunOptions, Runtime, TelemetryScope};
use super::gather::Outputs;
use super::node::{NodeRun, execute_node};
use crate::artifacts::{
    Checkpoint, CheckpointStore, NodeTrace, RunEntry, RunIndexFile, RunMetadata, RunStore, Trace,
    now_iso,
};
use crate::dag::Dag;
use crate::error::TridentError;
use crate::exit::ExitCode;
use crate::project::{NodeKind, Project};
use crate::telemetry::{Event, EventKind, RunTelemetry, SkipReason};

/// The failure of a run: its first failed node.
#[derive(Debug, Clone)]
pub struct RunError {
    pub node_id: String,
    pub node_type: NodeKind,
    /// The node's own error message.
    pub message: String,
    /// The error type (`ProviderError`, `ToolError`...).
    pub cause_type: String,
    pub exit: ExitCode,
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Node '{}' ({}) failed: {}",
            self.node_id, self.node_type, self.message
        )
    }
}

/// What a run produced (always returned once the run started, even on failure).
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub run_id: String,
    pub outputs: Map<String, Value>,
    pub trace: Trace,
    pub error: Option<RunError>,
    /// Where the run's artifacts are (`None` with `--no-artifacts`).
    pub run_dir: Option<PathBuf>,
}

impl RunOutcome {
    /// Completed without a failed node.
    pub fn success(&self) -> bool {
        self.error.is_none()
    }
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

/// Report a saved artifact, or warn that it could not be written.
fn report_saved(
    ctx_tel: &RunTelemetry,
    runtime: &Runtime,
    kind: &'static str,
    result: std::io::Result<(PathBuf, u64)>,
) {
    match result {
        Ok((path, bytes)) => ctx_tel.emit(None, || Event::ArtifactSaved {
            kind,
            path: path.display().to_string(),
            bytes,
        }),
        Err(e) => runtime
            .console
            .warn(format!("could not write the {kind} artifact: {e}")),
    }
}

/// Run `project` with `opts`. Returns `Err` only for problems found before the run starts
/// (bad resume id, unknown start node, invalid DAG); node failures are in the outcome.
pub fn run_workflow(
    project: &Project,
    opts: &RunOptions,
    scope: TelemetryScope,
    runtime: &Runtime,
) -> Result<RunOutcome, TridentError> {
    let dag = Dag::build(project)?;
    let is_root = scope.is_root();

    if opts.start_from.is_some() && opts.resume_from.is_none() {
        return Err(TridentError::Validation(
            "--start-from requires --resume to specify which run to use cached outputs from \
             (e.g. `--resume latest --start-from NODE`)."
                .into(),
        ));
    }
    let entrypoint = match &opts.entrypoint {
        Some(e) => {
            if !dag.nodes.contains_key(e) {
                return Err(TridentError::Validation(format!(
                    "Entrypoint '{e}' is not a node of {}. Known nodes: {}.",
                    project.name,
                    dag.order.join(", ")
                )));
            }
            e.clone()
        }
        None => match project.entrypoints.first() {
            Some(e) => e.clone(),
            None => {
                return Err(TridentError::Validation(format!(
                    "No entrypoint specified and none defined in {}: add an input node or \
                     `entrypoints: [...]` to the manifest, or pass `-e NODE`.",
                    project.manifest_path.display()
                )));
            }
        },
    };

    // Resume: load the checkpoint (and its journal) before anything is written.
    let base_dir = opts
        .artifact_dir
        .clone()
        .unwrap_or_else(|| project.root.join(".trident"));
    let mut resumed: Option<Checkpoint> = None;
    let mut resume_sessions: HashMap<String, String> = HashMap::new();
    if let Some(resume) = &opts.resume_from {
        let path = resume_checkpoint_path(resume, &base_dir)?;
        let mut checkpoint = CheckpointStore::load(&path).map_err(|e| {
            TridentError::Validation(format!(
                "Cannot resume: {e}. Start a new run instead, or resume another run id."
            ))
        })?;
        // Agents' sessions, taken before --start-from drops nodes: an agent that runs again
        // continues its Claude session (`claude --resume SESSION`).
        resume_sessions = checkpoint
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
            runtime
                .console
                .progress(format!("Starting from node: {start}"));
            runtime.console.progress(format!(
                "  Keeping {} of {before} cached nodes",
                checkpoint.completed_nodes.len()
            ));
        } else {
            runtime
                .console
                .progress(format!("Resuming from checkpoint: {}", checkpoint.run_id));
            runtime.console.progress(format!(
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
        resumed = Some(checkpoint);
    }

    let inputs = match (&resumed, opts.inputs.is_empty()) {
        (Some(c), true) => c.inputs.clone(),
        _ => opts.inputs.clone(),
    };
    let run_id = opts
        .run_id
        .clone()
        .or_else(|| resumed.as_ref().map(|c| c.run_id.clone()))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());

    let tel = scope.handle(&run_id);
    let clock = Instant::now();
    let started_at = now_iso();
    tel.emit(None, || Event::WorkflowStarted {
        name: project.name.clone(),
        entrypoint: entrypoint.clone(),
        dry_run: opts.dry_run,
        resumed_from: opts.resume_from.as_ref().map(|_| run_id.clone()),
    });

    let store = opts
        .artifact_dir
        .as_ref()
        .map(|dir| RunStore::new(dir, &project.root, &run_id, project.orchestration.clone()));
    let mut metadata = RunMetadata {
        run_id: run_id.clone(),
        project_name: project.name.clone(),
        project_root: project.root.display().to_string(),
        entrypoint: Some(entrypoint.clone()),
        inputs: inputs.clone(),
        started_at: started_at.clone(),
        ended_at: None,
        trident_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    if let Some(store) = &store {
        let entry = RunEntry {
            run_id: run_id.clone(),
            project_name: project.name.clone(),
            entrypoint: Some(entrypoint.clone()),
            status: "running".into(),
            started_at: started_at.clone(),
            ended_at: None,
            success: None,
            error_summary: None,
        };
        let index = store.index();
        report_saved(
            &tel,
            runtime,
            "manifest",
            index.upsert(entry).map(|n| (index.path().to_path_buf(), n)),
        );
        report_saved(&tel, runtime, "metadata", store.save_metadata(&metadata));
        if opts.emit_signals {
            store.clear_signals(&project.name);
            emit_signal(
                &tel,
                runtime,
                store,
                "started",
                &project.name,
                None,
                Map::new(),
            );
        }
        runtime
            .console
            .progress(format!("Artifacts: {}", store.run_dir().display()));
    }

    let state = resumed.unwrap_or_else(|| Checkpoint {
        run_id: run_id.clone(),
        project_name: project.name.clone(),
        started_at: started_at.clone(),
        updated_at: now_iso(),
        status: "running".into(),
        completed_nodes: Default::default(),
        pending_nodes: dag.order.clone(),
        total_cost_usd: 0.0,
        inputs: inputs.clone(),
        entrypoint: Some(entrypoint.clone()),
        branch_states: Default::default(),
    });
    let checkpoint = match &store {
        Some(store) => match CheckpointStore::create(state.clone(), &store.checkpoint_path()) {
            Ok(c) => c,
            Err(e) => {
                runtime
                    .console
                    .warn(format!("could not write the checkpoint: {e}"));
                CheckpointStore::in_memory(state)
            }
        },
        None => CheckpointStore::in_memory(state),
    };
    let checkpoint = Arc::new(Mutex::new(checkpoint));
    let initial_cost = checkpoint
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .state()
        .total_cost_usd;

    let ctx = RunContext {
        project,
        dag: &dag,
        opts,
        runtime,
        run_id: run_id.clone(),
        tel: tel.clone(),
        store: store.clone(),
        checkpoint: checkpoint.clone(),
        resume_sessions,
        cost: Mutex::new(initial_cost),
    };

    if is_root {
        install_interrupt_hook(&ctx, clock);
    }

    // Seed input nodes, then restore completed nodes from the checkpoint.
    let mut outputs: Outputs = HashMap::new();
    if !inputs.is_empty() {
        let shared = Arc::new(inputs.clone());
        for id in project.inputs.keys() {
            outputs.insert(id.clone(), shared.clone());
        }
    }
    let cached: HashMap<String, crate::artifacts::CheckpointNode> = checkpoint
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .state()
        .completed_nodes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (id, node) in &cached {
        outputs.insert(id.clone(), Arc::new(node.outputs.clone()));
    }

    let mut trace = Trace {
        run_id: run_id.clone(),
        start_time: started_at.clone(),
        end_time: None,
        error: None,
        nodes: Vec::with_capacity(dag.order.len()),
    };
    let mut error: Option<RunError> = None;

    for level in &dag.levels {
        if error.is_some() || runtime.is_interrupted() {
            break;
        }
        let mut to_run = Vec::with_capacity(level.len());
        for id in level {
            match cached.get(id) {
                Some(node) => {
                    let mut t = NodeTrace::start(id);
                    t.output = node.outputs.clone();
                    t.session_id = node.session_id.clone();
                    t.cost_usd = node.cost_usd;
                    t.num_turns = node.num_turns;
                    t.end_time = Some(node.completed_at.clone());
                    trace.nodes.push(t);
                    runtime
                        .console
                        .progress(format!("Skipping completed node: {id}"));
                    tel.emit(Some(id), || Event::NodeSkipped {
                        reason: SkipReason::CachedFromCheckpoint,
                        edge: None,
                    });
                }
                None => to_run.push(id.as_str()),
            }
        }
        if to_run.is_empty() {
            continue;
        }
        if to_run.len() > 1 {
            runtime.console.progress(format!(
                "Executing {} nodes in parallel: {:?}",
                to_run.len(),
                to_run
            ));
        }
        let results = run_level(&ctx, &to_run, &outputs);
        for (id, result) in to_run.iter().zip(results) {
            let NodeRun {
                trace: node_trace,
                output,
                error: node_error,
            } = result;
            if let Some(e) = node_error {
                if error.is_none() {
                    let run_error = RunError {
                        node_id: id.to_string(),
                        node_type: dag.nodes[*id].kind,
                        message: e.message.clone(),
                        cause_type: e.error_type.clone(),
                        exit: e.exit,
                    };
                    trace.error = Some(run_error.to_string());
                    error = Some(run_error);
                }
            } else if let Some(output) = output {
                outputs.insert(id.to_string(), Arc::new(output));
            }
            trace.nodes.push(node_trace);
        }
        // Level end: fold the journal into checkpoint.json (at once on failure, else at
        // most every FOLD_INTERVAL).
        let mut cp = checkpoint.lock().unwrap_or_else(|e| e.into_inner());
        let folded = if error.is_some() {
            cp.state_mut().status = "failed".into();
            cp.fold()
        } else {
            cp.fold_if_due()
        };
        if let Err(e) = folded {
            runtime
                .console
                .warn(format!("could not write the checkpoint: {e}"));
        }
    }

    if runtime.is_interrupted() {
        // The signal thread records the interruption and exits the process; finishing the
        // run here would overwrite its `interrupted` checkpoint.
        return Err(TridentError::Interrupted);
    }

    // Final outputs: every output node that produced something, else the last output.
    let mut final_outputs = Map::new();
    for id in project.outputs.keys() {
        if let Some(o) = outputs.get(id) {
            final_outputs.insert(id.clone(), Value::Object((**o).clone()));
        }
    }
    if final_outputs.is_empty()
        && let Some(last) = dag.order.iter().rev().find_map(|id| outputs.get(id))
    {
        final_outputs = (**last).clone();
    }
    let ended_at = now_iso();
    trace.end_time = Some(ended_at.clone());

    let status = if error.is_some() {
        "failed"
    } else {
        "completed"
    };
    {
        let mut cp = checkpoint.lock().unwrap_or_else(|e| e.into_inner());
        cp.state_mut().status = status.into();
        cp.state_mut().updated_at = now_iso();
        match cp.finish() {
            Ok(bytes) if bytes > 0 => {
                let path = cp
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                tel.emit(None, || Event::ArtifactSaved {
                    kind: "checkpoint",
                    path,
                    bytes,
                })
            }
            Ok(_) => {}
            Err(e) => runtime
                .console
                .warn(format!("could not write the checkpoint: {e}")),
        }
    }
    if is_root {
        runtime.interrupt_hook.clear();
    }

    if let Some(store) = &store {
        report_saved(&tel, runtime, "trace", store.save_trace(&trace));
        match store.save_outputs(&final_outputs, opts.publish_to.as_deref()) {
            Ok(saved) => {
                for (kind, path, bytes) in saved {
                    tel.emit(None, || Event::ArtifactSaved {
                        kind,
                        path: path.display().to_string(),
                        bytes,
                    });
                }
            }
            Err(e) => runtime
                .console
                .warn(format!("could not write or publish outputs: {e}")),
        }
        metadata.ended_at = Some(ended_at.clone());
        report_saved(&tel, runtime, "metadata", store.save_metadata(&metadata));
        let index = store.index();
        report_saved(
            &tel,
            runtime,
            "manifest",
            index
                .finish(
                    &run_id,
                    status,
                    Some(error.is_none()),
                    error.as_ref().map(|e| e.to_string()),
                    ended_at.clone(),
                )
                .map(|n| (index.path().to_path_buf(), n)),
        );
        if opts.emit_signals {
            let outputs_path = Some(store.outputs_path().display().to_string());
            match &error {
                Some(e) => {
                    let mut meta = Map::new();
                    meta.insert("error".into(), Value::String(e.to_string()));
                    emit_signal(&tel, runtime, store, "failed", &project.name, None, meta);
                }
                None => {
                    for kind in ["completed", "ready"] {
                        emit_signal(
                            &tel,
                            runtime,
                            store,
                            kind,
                            &project.name,
                            outputs_path.clone(),
                            Map::new(),
                        );
                    }
                }
            }
        }
        runtime
            .console
            .progress(format!("Artifacts saved to: {}", store.run_dir().display()));
    }

    let duration_ms = clock.elapsed().as_millis() as u64;
    match &error {
        Some(e) => tel.emit(None, || Event::WorkflowFailed {
            name: project.name.clone(),
            error: e.to_string(),
            failed_node: Some(e.node_id.clone()),
            duration_ms,
        }),
        None => tel.emit(None, || {
            let count =
                |f: fn(&NodeTrace) -> bool| trace.nodes.iter().filter(|n| f(n)).count() as u64;
            Event::WorkflowCompleted {
                name: project.name.clone(),
                duration_ms,
                succeeded: count(NodeTrace::succeeded),
                skipped: count(|n| n.skipped),
                failed: count(|n| n.error.is_some()),
                input_tokens: trace.nodes.iter().map(NodeTrace::input_tokens).sum(),
                output_tokens: trace.nodes.iter().map(NodeTrace::output_tokens).sum(),
                cost_usd: trace
                    .nodes
                    .iter()
                    .filter_map(|n| n.cost_usd)
                    .fold(0.0, |a, b| a + b),
            }
        }),
    }

    Ok(RunOutcome {
        run_id,
        outputs: final_outputs,
        trace,
        error,
        run_dir: store.map(|s| s.run_dir()),
    })
}

fn emit_signal(
    tel: &RunTelemetry,
    runtime: &Runtime,
    store: &RunStore,
    kind: &str,
    workflow: &str,
    outputs_path: Option<String>,
    metadata: Map<String, Value>,
) {
    match store.emit_signal(kind, workflow, outputs_path, metadata) {
        Ok((path, _)) => {
            runtime
                .console
                .progress(format!("Signal emitted: {workflow}.{kind}"));
            tel.emit(None, || Event::SignalEmitted {
                signal_type: kind.to_string(),
                workflow: workflow.to_string(),
                path: path.display().to_string(),
            });
        }
        Err(e) => runtime
            .console
            .warn(format!("could not write signal {workflow}.{kind}: {e}")),
    }
}

/// Run the nodes of one level concurrently (at most `runtime.max_parallel` at once) and
/// return their results in the level's order.
fn run_level(ctx: &RunContext, ids: &[&str], outputs: &Outputs) -> Vec<NodeRun> {
    let kind = |id: &str| ctx.dag.nodes[id].kind;
    if ids.len() == 1 {
        return vec![execute_node(ctx, ids[0], kind(ids[0]), outputs)];
    }
    // Nodes wait on models, tools and agents, so a level runs up to `max_parallel` of
    // them at once. A dry run of a level without tools waits on nothing: one thread per
    // core is then faster than many contending ones.
    let cpu_bound = ctx.opts.dry_run && ids.iter().all(|id| kind(id) != NodeKind::Tool);
    let limit = if cpu_bound {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        ctx.runtime.max_parallel
    };
    let workers = ids.len().min(limit.max(1));
    let next = AtomicUsize::new(0);
    // How long a node waited for a free worker (reported as `timing_metric`).
    let level_start = Instant::now();
    let slots: Vec<Mutex<Option<NodeRun>>> = ids.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(id) = ids.get(i) else { break };
                    let waited = level_start.elapsed();
                    if waited.as_millis() > 0 && ctx.tel.wants(EventKind::TimingMetric) {
                        ctx.tel.emit(Some(id), || Event::TimingMetric {
                            name: "queue_wait_ms",
                            value: waited.as_secs_f64() * 1000.0,
                        });
                    }
                    let run = execute_node(ctx, id, kind(id), outputs);
                    *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(run);
                }
            });
        }
    });
    slots
        .into_iter()
        .zip(ids)
        .map(|(slot, id)| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_else(|| {
                    // A node thread panicked: report it as that node's failure.
                    let mut trace = NodeTrace::start(id);
                    trace.error = Some("internal error: the node's thread panicked".into());
                    NodeRun {
                        trace,
                        output: None,
                        error: Some(super::node_error::NodeError::runtime(
                            "internal error: the node's thread panicked",
                        )),
                    }
                })
        })
        .collect()
}

/// On Ctrl-C / SIGTERM: checkpoint `interrupted` (folded, resumable), run index updated,
/// `workflow_interrupted` emitted. Telemetry is flushed by the caller of the hook.
fn install_interrupt_hook(ctx: &RunContext, clock: Instant) {
    let checkpoint = ctx.checkpoint.clone();
    let tel = ctx.tel.clone();
    let index = ctx.store.as_ref().map(|s| RunIndexFile::new(s.base_dir()));
    let run_id = ctx.run_id.clone();
    let name = ctx.project.name.clone();
    ctx.runtime.interrupt_hook.install(move |signal| {
        {
            let mut cp = checkpoint.lock().unwrap_or_else(|e| e.into_inner());
            cp.state_mut().status = "interrupted".into();
            cp.state_mut().updated_at = now_iso();
            let _ = cp.fold();
        }
        if let Some(index) = &index {
            let _ = index.finish(
                &run_id,
                "interrupted",
                Some(false),
                Some(format!("Interrupted by {signal}")),
                now_iso(),
            );
        }
        tel.emit(None, || Event::WorkflowInterrupted {
            name: name.clone(),
            signal: signal.to_string(),
            duration_ms: clock.elapsed().as_millis() as u64,
        });
    });
}
