//! Running a workflow from start to end: the entrypoint, resume state, artifacts at the
//! start and the end, the nodes (scheduled by [`super::scheduler`]), the checkpoint folder,
//! final outputs, signals and the lifecycle telemetry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::checkpoint_folder::CheckpointFolder;
use super::context::{RunContext, RunOptions, Runtime, TelemetryScope};
use super::fingerprint::run_fingerprint;
use super::gather::Outputs;
use super::interrupt::install_run_hook;
pub use super::outcome::{RunError, RunOutcome};
use super::recorder::RunRecorder;
use super::resume::load_resume;
use super::scheduler::run_nodes;
use super::spend::Spend;
use crate::artifacts::{
    Checkpoint, CheckpointNode, CheckpointStore, NodeTrace, RunMetadata, RunOutputs, RunStore,
    SharedFields, Trace, now_iso, read_watched_json,
};
use crate::dag::Dag;
use crate::error::TridentError;
use crate::project::Project;
use crate::telemetry::Event;

/// The node a run starts from: `-e`, else the manifest's first entrypoint (or input node).
pub fn entrypoint_of(
    project: &Project,
    dag: &Dag,
    opts: &RunOptions,
) -> Result<String, TridentError> {
    match &opts.entrypoint {
        Some(e) if dag.nodes.contains_key(e) => Ok(e.clone()),
        Some(e) => Err(TridentError::Validation(format!(
            "Entrypoint '{e}' is not a node of {}. Known nodes: {}.",
            project.name,
            dag.order.join(", ")
        ))),
        None => project.entrypoints.first().cloned().ok_or_else(|| {
            TridentError::Validation(format!(
                "No entrypoint specified and none defined in {}: add an input node or \
                 `entrypoints: [...]` to the manifest, or pass `-e NODE`.",
                project.manifest_path.display()
            ))
        }),
    }
}

/// Refuse a real run when a provider one of its prompt nodes calls is not configured (no
/// key, no endpoint, unknown provider, bad `TRIDENT_*` setting): before any node runs.
pub fn check_providers(
    project: &Project,
    dag: &Dag,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), TridentError> {
    let errors: Vec<String> = crate::checks::preflight::prompt_models(project, dag)
        .into_iter()
        .filter_map(|(model, node)| {
            crate::providers::resolve_with_env(&model, env).err().map(|e| {
                format!("Prompt node '{node}' cannot call {model}: {e} (a --dry-run calls no provider)")
            })
        })
        .collect();
    match errors.len() {
        0 => Ok(()),
        _ => Err(TridentError::Validation(errors.join("\n"))),
    }
}

/// Refuse a real run whose agent nodes the Claude CLI would refuse to start (see
/// [`agent_settings::root_refusal`]), before any node runs.
///
/// [`agent_settings::root_refusal`]: crate::project::agent_settings::root_refusal
pub fn check_agents_may_start(project: &Project) -> Result<(), TridentError> {
    use crate::project::agent_settings::{root_refusal, running_as_root};
    let as_root = running_as_root();
    let errors: Vec<String> = project
        .agents
        .values()
        .filter_map(|agent| root_refusal(&agent.id, &agent.permission_mode, as_root))
        .map(|problem| format!("{problem} (a --dry-run starts no agent)"))
        .collect();
    match errors.len() {
        0 => Ok(()),
        _ => Err(TridentError::Validation(errors.join("\n"))),
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

    let entrypoint = entrypoint_of(project, &dag, opts)?;

    // Resume: load the checkpoint (and its journal) before anything is written.
    let base_dir = opts
        .artifact_dir
        .clone()
        .unwrap_or_else(|| project.root.join(".trident"));
    let (resumed, resume_sessions, previous_trace) =
        match load_resume(project, &dag, opts, &base_dir, &runtime.console)? {
            Some(r) if r.already_completed => {
                return Ok(completed_outcome(
                    project,
                    &dag,
                    r.checkpoint,
                    r.previous_trace,
                    &base_dir,
                ));
            }
            Some(r) => (Some(r.checkpoint), r.sessions, r.previous_trace),
            None => (None, HashMap::new(), HashMap::new()),
        };
    // A real run refuses to start when a provider it will call is not configured.
    if is_root && !opts.dry_run {
        let env = runtime.providers.env();
        check_providers(project, &dag, &|name| env(name))?;
        check_agents_may_start(project)?;
        if let Some(agent) = project.agents.keys().next()
            && let Err(e) = runtime.agent_env.claude_program()
        {
            return Err(TridentError::Validation(format!(
                "Agent node '{agent}' cannot run: {} (a --dry-run calls no agent)",
                e.message
            )));
        }
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
    // A resume is one more attempt of the same run: it keeps the first start time.
    let attempt = resumed.as_ref().map_or(1, |c| c.attempts);
    let started_at = resumed
        .as_ref()
        .map_or_else(now_iso, |c| c.started_at.clone());
    tel.emit(None, || Event::WorkflowStarted {
        name: project.name.clone(),
        entrypoint: entrypoint.clone(),
        dry_run: opts.dry_run,
        resumed_from: resumed.as_ref().map(|c| c.run_id.clone()),
        attempt,
    });

    let store = opts
        .artifact_dir
        .as_ref()
        .map(|dir| RunStore::new(dir, &project.root, &run_id, project.orchestration.clone()));
    let (pid, host) = crate::artifacts::liveness::this_process();
    let mut recorder = RunRecorder {
        store: store.clone(),
        tel: &tel,
        console: &runtime.console,
        metadata: RunMetadata {
            run_id: run_id.clone(),
            project_name: project.name.clone(),
            project_root: project.root.display().to_string(),
            entrypoint: Some(entrypoint.clone()),
            inputs: inputs.clone(),
            started_at: started_at.clone(),
            ended_at: None,
            trident_version: env!("CARGO_PKG_VERSION").to_string(),
            attempts: attempt,
            pid: Some(pid),
            host,
        },
    };
    recorder.begin(opts.emit_signals);

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
        dry_run: Some(opts.dry_run),
        attempts: 1,
        fingerprint: Some(run_fingerprint(project, &inputs)),
        failed_nodes: Default::default(),
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
        // A sub-workflow charges the account its branch/trigger node nested in the parent's.
        spend: opts
            .spend
            .clone()
            .unwrap_or_else(|| Spend::top_level(initial_cost)),
        unpriced_models: Mutex::new(Default::default()),
    };

    if is_root {
        install_run_hook(&ctx, clock);
    }

    // Seed input nodes, then restore completed nodes from the checkpoint.
    let mut outputs: Outputs = HashMap::new();
    if !inputs.is_empty() {
        for id in project.inputs.keys() {
            outputs.insert(id.clone(), inputs.clone());
        }
    }
    let cached: HashMap<String, CheckpointNode> = checkpoint
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .state()
        .completed_nodes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (id, node) in &cached {
        outputs.insert(id.clone(), node.outputs.clone());
    }

    let mut trace = Trace {
        run_id: run_id.clone(),
        start_time: started_at.clone(),
        end_time: None,
        error: None,
        nodes: Vec::with_capacity(dag.order.len()),
    };
    let folder = CheckpointFolder::start(&checkpoint, store.is_some(), &runtime.console);
    let scheduled = run_nodes(&ctx, &cached, &previous_trace, &mut outputs, is_root);
    trace.nodes = scheduled.traces;
    let error = scheduled.error;
    if let Some(e) = &error {
        trace.error = Some(e.to_string());
    }
    folder.stop();

    if runtime.is_interrupted() {
        // The signal thread records the interruption and exits the process; finishing the
        // run here would overwrite its `interrupted` checkpoint.
        return Err(TridentError::Interrupted);
    }

    let final_outputs = final_outputs(project, &dag, &outputs, error.is_none());
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

    recorder.finish(
        &trace,
        &final_outputs,
        error.as_ref(),
        opts.publish_to.as_deref(),
        opts.emit_signals,
    );

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
                cached: count(|n| n.cached),
                failed: count(|n| n.error.is_some()),
                input_tokens: trace.nodes.iter().map(NodeTrace::input_tokens).sum(),
                output_tokens: trace.nodes.iter().map(NodeTrace::output_tokens).sum(),
                // The run's spend, earlier attempts and sub-workflows included:
                // checkpoint.json's `total_cost_usd`, also after a resume.
                cost_usd: ctx.spend.total(),
            }
        }),
    }

    Ok(RunOutcome {
        run_id,
        outputs: final_outputs,
        trace,
        error,
        run_dir: store.map(|s| s.run_dir()),
        already_completed: false,
    })
}

/// A run's outputs: every output node that produced something; else, for a successful
/// run, the last node's output (as the original). A failed run never reports its inputs (or
/// any intermediate node) as its outputs.
fn final_outputs(project: &Project, dag: &Dag, outputs: &Outputs, succeeded: bool) -> RunOutputs {
    let by_node: Vec<(String, SharedFields)> = project
        .outputs
        .keys()
        .filter_map(|id| outputs.get(id).map(|o| (id.clone(), o.clone())))
        .collect();
    if !by_node.is_empty() {
        return RunOutputs::Nodes(by_node);
    }
    match dag.order.iter().rev().find_map(|id| outputs.get(id)) {
        Some(last) if succeeded => RunOutputs::Fields(last.clone()),
        _ => RunOutputs::default(),
    }
}

/// The outcome of resuming a run that had completed: its saved outputs and trace, nothing
/// run and nothing written.
fn completed_outcome(
    project: &Project,
    dag: &Dag,
    checkpoint: Checkpoint,
    previous_trace: HashMap<String, NodeTrace>,
    base_dir: &std::path::Path,
) -> RunOutcome {
    let run_dir = base_dir.join("runs").join(&checkpoint.run_id);
    // outputs.json is written after the checkpoint says `completed`: a run killed between
    // the two has its outputs in the checkpoint only.
    let outputs = std::fs::read(run_dir.join("outputs.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<RunOutputs>(&b).ok())
        .unwrap_or_else(|| {
            let saved: Outputs = checkpoint
                .completed_nodes
                .iter()
                .map(|(id, node)| (id.clone(), node.outputs.clone()))
                .collect();
            final_outputs(project, dag, &saved, true)
        });
    let trace = read_watched_json::<Trace>(&run_dir.join("trace.json"))
        .ok()
        .unwrap_or_else(|| Trace {
            run_id: checkpoint.run_id.clone(),
            start_time: checkpoint.started_at.clone(),
            end_time: Some(checkpoint.updated_at.clone()),
            error: None,
            nodes: previous_trace.into_values().collect(),
        });
    RunOutcome {
        run_id: checkpoint.run_id,
        outputs,
        trace,
        error: None,
        run_dir: Some(run_dir),
        already_completed: true,
    }
}
