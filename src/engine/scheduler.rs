//! Running a run's nodes: the scheduler loop releases nodes as their upstream nodes finish
//! (see [`ReadyQueue`]), restores cached nodes from the checkpoint, asks the [`StartGate`]
//! before starting any node, and hands the others to a bounded pool of worker threads.
//!
//! Scoped OS threads rather than an async runtime: node work is blocking (HTTP calls,
//! python and shell subprocesses, the Claude CLI), and threads keep every node's code plain
//! and synchronous. Workers are spawned as needed, never more than the parallel limit; the
//! run's own thread only decides what starts and records what finished, so a node's output,
//! trace and failure are handled in one place whatever the schedule.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::context::RunContext;
use super::gate::StartGate;
use super::gather::Outputs;
use super::node::{NodeRun, execute_node};
use super::node_error::NodeError;
use super::outcome::RunError;
use super::ready::ReadyQueue;
use super::schedule::Schedule;
use crate::artifacts::{CheckpointNode, NodeTrace};
use crate::project::NodeKind;
use crate::telemetry::{Event, EventKind, SkipReason};

/// One node handed to a worker: its position, the outputs it reads, and when it became
/// ready (for `queue_wait_ms`).
struct Job {
    position: usize,
    outputs: Outputs,
    ready_since: Instant,
}

/// What the run's nodes produced.
pub struct Scheduled {
    /// Node traces in DAG order (by level, then id), cached nodes included.
    pub traces: Vec<NodeTrace>,
    /// The first failed node, if any.
    pub error: Option<RunError>,
}

/// How many nodes of this run may run at once. A dry run without tool nodes waits on
/// nothing, so more threads than cores would only contend.
fn parallel_limit(ctx: &RunContext) -> usize {
    let configured = ctx.runtime.max_parallel.max(1);
    let cpu_bound = ctx.opts.dry_run && ctx.dag.nodes.values().all(|n| n.kind != NodeKind::Tool);
    if cpu_bound {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        configured.min(cores)
    } else {
        configured
    }
}

/// Run every node of `ctx.dag` that the schedule and the gate let start. `cached` are the
/// nodes restored from the checkpoint (with their `previous` trace entries, if any);
/// `outputs` holds the seeded input and cached outputs, and gains each finished node's
/// output.
/// `announce`: say which schedule runs (`--verbose`), once per top-level run.
pub fn run_nodes(
    ctx: &RunContext,
    cached: &HashMap<String, CheckpointNode>,
    previous: &HashMap<String, NodeTrace>,
    outputs: &mut Outputs,
    announce: bool,
) -> Scheduled {
    let dag = ctx.dag;
    let console = &ctx.runtime.console;
    let schedule = ctx.runtime.schedule;
    let limit = parallel_limit(ctx);
    if announce {
        console.progress(schedule.describe(limit));
    }

    let mut queue = ReadyQueue::new(ctx.project, dag, schedule);
    let mut gate = StartGate::new(ctx);
    let mut traces: Vec<(usize, NodeTrace)> = Vec::with_capacity(dag.order.len());
    let mut error: Option<RunError> = None;

    let (job_tx, job_rx) = channel::<Job>();
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = channel::<(usize, NodeRun)>();
    std::thread::scope(|scope| {
        let mut running = 0usize;
        let mut workers = 0usize;
        loop {
            if gate.check(false).is_none() {
                settle_released(ctx, &mut queue, &gate, cached, previous, &mut traces);
            }
            let level_in_flight = schedule == Schedule::Levels;
            while running < limit && gate.check(level_in_flight).is_none() && queue.has_ready() {
                let Some((position, ready_since)) = queue.pop_ready() else {
                    break;
                };
                if running == workers {
                    workers += 1;
                    let (job_rx, done_tx) = (&job_rx, done_tx.clone());
                    scope.spawn(move || work(ctx, job_rx, done_tx));
                }
                let job = Job {
                    position,
                    outputs: inputs_of(ctx, &dag.order[position], outputs),
                    ready_since,
                };
                if job_tx.send(job).is_err() {
                    break;
                }
                running += 1;
            }
            if running == 0 {
                break;
            }
            let Ok((position, run)) = done_rx.recv() else {
                break;
            };
            running -= 1;
            let id = &dag.order[position];
            let NodeRun {
                trace,
                output,
                error: node_error,
            } = run;
            if let Some(e) = node_error {
                gate.node_failed();
                if error.is_none() {
                    error = Some(RunError {
                        node_id: id.clone(),
                        node_type: dag.nodes[id].kind,
                        message: e.message.clone(),
                        cause_type: e.error_type.clone(),
                        exit: e.exit,
                    });
                    mark_failed(ctx);
                }
            } else if let Some(output) = output {
                outputs.insert(id.clone(), output);
            }
            traces.push((position, trace));
            queue.finish(position);
        }
        // Workers end when the job channel closes.
        drop(job_tx);
    });
    traces.sort_by_key(|(position, _)| *position);
    Scheduled {
        traces: traces.into_iter().map(|(_, t)| t).collect(),
        error,
    }
}

/// Sort newly released nodes: a cached node is done at once (which may release more), the
/// others wait in the ready set. `--verbose` says what became ready and why.
fn settle_released(
    ctx: &RunContext,
    queue: &mut ReadyQueue,
    gate: &StartGate,
    cached: &HashMap<String, CheckpointNode>,
    previous: &HashMap<String, NodeTrace>,
    traces: &mut Vec<(usize, NodeTrace)>,
) {
    let dag = ctx.dag;
    let console = &ctx.runtime.console;
    loop {
        let released = queue.take_released();
        if released.is_empty() || gate.check(false).is_some() {
            return;
        }
        let mut to_run = Vec::with_capacity(released.len());
        for position in released {
            let id = &dag.order[position];
            match cached.get(id) {
                Some(node) => {
                    traces.push((position, restore_cached(ctx, id, node, previous.get(id))));
                    queue.finish(position);
                }
                None => to_run.push(position),
            }
        }
        match ctx.runtime.schedule {
            // The original's line, once per level.
            Schedule::Levels if to_run.len() > 1 => console.progress(format!(
                "Executing {} nodes in parallel: [{}]",
                to_run.len(),
                to_run
                    .iter()
                    .map(|&p| format!("'{}'", dag.order[p]))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Schedule::Levels => {}
            Schedule::Dependencies => {
                for &position in &to_run {
                    let id = &dag.order[position];
                    let upstream: Vec<&str> = ctx
                        .dag
                        .incoming(ctx.project, id)
                        .iter()
                        .map(|e| e.from.as_str())
                        .collect();
                    if !upstream.is_empty() {
                        console.progress(format!(
                            "Ready: {id} (level {}, after {})",
                            queue.level_of(position),
                            upstream.join(", ")
                        ));
                    }
                }
            }
        }
        for position in to_run {
            queue.push_ready(position);
        }
    }
}

/// A node completed in the run being resumed, reported as skipped
/// (`cached_from_checkpoint`): the previous attempt's trace entry when there is one, else
/// rebuilt from the checkpoint; original times, `cached: true`.
fn restore_cached(
    ctx: &RunContext,
    id: &str,
    node: &CheckpointNode,
    previous: Option<&NodeTrace>,
) -> NodeTrace {
    let mut trace = match previous {
        Some(p) if p.error.is_none() => p.clone(),
        _ => {
            let mut t = NodeTrace::start(id);
            t.output = node.outputs.clone();
            t.session_id = node.session_id.clone();
            t.cost_usd = node.cost_usd;
            t.num_turns = node.num_turns;
            t.start_time = node
                .started_at
                .clone()
                .unwrap_or_else(|| node.completed_at.clone());
            t.end_time = Some(node.completed_at.clone());
            t
        }
    };
    trace.cached = true;
    ctx.runtime
        .console
        .progress(format!("Skipping completed node: {id}"));
    ctx.tel.emit(Some(id), || Event::NodeSkipped {
        reason: SkipReason::CachedFromCheckpoint,
        edge: None,
    });
    trace
}

/// The outputs node `id` reads: its upstream nodes' (and, for an input node, its own).
/// Shared pointers, so the scheduler can keep adding outputs while nodes run.
fn inputs_of(ctx: &RunContext, id: &str, outputs: &Outputs) -> Outputs {
    let mut subset = Outputs::new();
    let sources = ctx
        .dag
        .incoming(ctx.project, id)
        .into_iter()
        .map(|e| e.from.as_str())
        .chain(std::iter::once(id));
    for source in sources {
        if let Some(output) = outputs.get(source) {
            subset.insert(source.to_string(), Arc::clone(output));
        }
    }
    subset
}

/// A failure is folded into checkpoint.json at once; otherwise the folder thread refreshes
/// it within its interval. After Ctrl-C/SIGTERM the checkpoint is the interruption's (the
/// signal thread marks it `interrupted`, and a node failing because its process was stopped
/// must not turn it back to `failed`).
fn mark_failed(ctx: &RunContext) {
    if ctx.runtime.is_interrupted() {
        return;
    }
    let mut cp = ctx.checkpoint.lock().unwrap_or_else(|e| e.into_inner());
    // Checked again under the lock the signal thread takes to mark the interruption.
    if ctx.runtime.is_interrupted() {
        return;
    }
    cp.state_mut().status = "failed".into();
    if let Err(e) = cp.fold() {
        ctx.runtime
            .console
            .warn(format!("could not write the checkpoint: {e}"));
    }
}

/// A worker: run jobs until the channel closes.
fn work(ctx: &RunContext, jobs: &Mutex<Receiver<Job>>, done: Sender<(usize, NodeRun)>) {
    loop {
        let job = {
            let jobs = jobs.lock().unwrap_or_else(|e| e.into_inner());
            jobs.recv()
        };
        let Ok(job) = job else { return };
        let id = ctx.dag.order[job.position].as_str();
        let run = execute_guarded(ctx, id, &job);
        if done.send((job.position, run)).is_err() {
            return;
        }
    }
}

/// [`execute_node`] after reporting how long the node waited for a free worker, with a
/// panic (a bug, never an input problem) turned into that node's failure instead of taking
/// the whole run down.
fn execute_guarded(ctx: &RunContext, id: &str, job: &Job) -> NodeRun {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let waited = job.ready_since.elapsed();
        if waited.as_millis() > 0 && ctx.tel.wants(EventKind::TimingMetric) {
            ctx.tel.emit(Some(id), || Event::TimingMetric {
                name: "queue_wait_ms",
                value: waited.as_secs_f64() * 1000.0,
            });
        }
        execute_node(ctx, id, ctx.dag.nodes[id].kind, &job.outputs)
    }))
    .unwrap_or_else(|_| internal_failure(id))
}

fn internal_failure(id: &str) -> NodeRun {
    let message = "internal error: the node's execution panicked (please report it)";
    let mut trace = NodeTrace::start(id);
    trace.error = Some(message.into());
    trace.error_type = Some("TridentError".into());
    trace.end_time = Some(crate::artifacts::now_iso());
    NodeRun {
        trace,
        output: None,
        error: Some(NodeError::runtime(message)),
    }
}
