//! Running the nodes of one level concurrently on a bounded pool of scoped threads.
//!
//! Scoped OS threads rather than an async runtime: node work is blocking (HTTP calls,
//! python and shell subprocesses, the Claude CLI), a level needs no more than "run these and
//! wait for all", and threads keep every node's code plain and synchronous.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::context::RunContext;
use super::gather::Outputs;
use super::node::{NodeRun, execute_node};
use super::node_error::NodeError;
use crate::artifacts::NodeTrace;
use crate::project::NodeKind;
use crate::telemetry::{Event, EventKind};

/// Run the nodes of one level concurrently (at most `runtime.max_parallel` at once) and
/// return their results in the level's order.
pub fn run_level(ctx: &RunContext, ids: &[&str], outputs: &Outputs) -> Vec<NodeRun> {
    let kind = |id: &str| ctx.dag.nodes[id].kind;
    if ids.len() == 1 {
        return vec![execute_guarded(ctx, ids[0], kind(ids[0]), outputs)];
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
                    let run = execute_guarded(ctx, id, kind(id), outputs);
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
                .unwrap_or_else(|| internal_failure(id))
        })
        .collect()
}

/// [`execute_node`], with a panic (a bug, never an input problem) turned into that node's
/// failure instead of taking the whole run down.
fn execute_guarded(ctx: &RunContext, id: &str, kind: NodeKind, outputs: &Outputs) -> NodeRun {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        execute_node(ctx, id, kind, outputs)
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
