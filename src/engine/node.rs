//! Executing one node: edge conditions, the budget gate, input gathering, dispatch to the
//! node kind, timing, and the node's telemetry (started, then exactly one of completed,
//! failed or skipped; a node refused by the budget gets `node_failed` alone).

use super::agent_node::run_agent_node;
use super::branch_node::run_branch;
use super::budget::budget_refuses;
use super::context::RunContext;
use super::gather::{Outputs, edge_allows, gather_shared};
use super::node_error::NodeError;
use super::prompt_node::run_prompt;
use super::tool_node::run_tool_node;
use super::trigger_node::run_trigger;
use crate::artifacts::{CheckpointNode, NodeTrace, SharedFields, iso};
use crate::fields::FieldMap;
use crate::project::NodeKind;
use crate::telemetry::{ConditionKind, Event, EventKind, SkipReason};

/// The result of executing one node.
pub struct NodeRun {
    pub trace: NodeTrace,
    /// The output to hand downstream (`None` when an edge condition skipped the node or it
    /// failed).
    pub output: Option<SharedFields>,
    pub error: Option<NodeError>,
}

/// How a node finished, before bookkeeping.
enum Finish {
    Done(SharedFields),
    /// A false branch/trigger condition: output kept, node marked skipped.
    ConditionSkipped(SharedFields, SkipReason),
}

fn duration_ms(start: chrono::DateTime<chrono::Utc>, end: chrono::DateTime<chrono::Utc>) -> u64 {
    (end - start).num_milliseconds().max(0) as u64
}

/// A node that was not started (the budget gate): failed at once, without `node_started`.
fn refused(ctx: &RunContext, node_id: &str, kind: NodeKind, error: NodeError) -> NodeRun {
    let mut trace = NodeTrace::start(node_id);
    trace.end_time = Some(trace.start_time.clone());
    trace.error = Some(error.message.clone());
    trace.error_type = Some(error.error_type.clone());
    ctx.runtime
        .console
        .progress(format!("  Node {node_id} not started: {}", error.message));
    ctx.tel.emit(Some(node_id), || Event::NodeFailed {
        node_type: kind,
        error: error.message.clone(),
        error_type: error.error_type.clone(),
        duration_ms: 0,
    });
    NodeRun {
        trace,
        output: None,
        error: Some(error),
    }
}

/// Execute `node_id` of kind `kind` against the outputs of earlier levels.
pub fn execute_node(ctx: &RunContext, node_id: &str, kind: NodeKind, outputs: &Outputs) -> NodeRun {
    let tel = &ctx.tel;
    let console = &ctx.runtime.console;

    // Any false incoming edge condition skips the node.
    for edge in ctx.dag.incoming(ctx.project, node_id) {
        let (allowed, error) = edge_allows(edge, outputs);
        if let Some(condition) = edge
            .condition
            .as_ref()
            .filter(|_| tel.wants(EventKind::ConditionEvaluated))
        {
            tel.emit(Some(node_id), || Event::ConditionEvaluated {
                kind: ConditionKind::Edge,
                expression: condition.text().to_string(),
                result: allowed,
                edge_id: Some(edge.id.clone()),
                error: error.clone(),
            });
        }
        if !allowed {
            let mut trace = NodeTrace::start(node_id);
            trace.skipped = true;
            trace.end_time = Some(crate::artifacts::now_iso());
            console.progress(format!(
                "Skipping node: {node_id} (edge {} condition false)",
                edge.id
            ));
            tel.emit(Some(node_id), || Event::NodeSkipped {
                reason: SkipReason::EdgeConditionFalse,
                edge: Some(edge.id.clone()),
            });
            return NodeRun {
                trace,
                output: None,
                error: None,
            };
        }
    }

    if let Some(error) = budget_refuses(ctx, node_id) {
        return refused(ctx, node_id, kind, error);
    }

    let started = chrono::Utc::now();
    let mut trace = NodeTrace::start(node_id);
    trace.start_time = iso(started);
    console.progress(format!("Executing node: {node_id}"));
    tel.emit(Some(node_id), || node_started(ctx, node_id, kind));

    let result: Result<Finish, NodeError> = match kind {
        // The run's inputs, shared (not copied) by the input node.
        NodeKind::Input => Ok(Finish::Done(
            outputs.get(node_id).cloned().unwrap_or_default(),
        )),
        _ => {
            let gathered = gather_shared(ctx.project, ctx.dag, node_id, outputs);
            if tel.wants(EventKind::InputReceived) {
                tel.emit(Some(node_id), || Event::InputReceived {
                    inputs: gathered.clone(),
                });
            }
            trace.input = gathered.clone();
            let done = |output| Finish::Done(FieldMap::new(output));
            match kind {
                // An output node's output is its inputs: one shared map.
                NodeKind::Output => Ok(Finish::Done(gathered)),
                NodeKind::Prompt => run_prompt(ctx, node_id, &gathered, &mut trace).map(done),
                NodeKind::Tool => run_tool_node(ctx, node_id, &gathered).map(done),
                NodeKind::Agent => run_agent_node(ctx, node_id, &gathered, &mut trace).map(done),
                NodeKind::Branch => run_branch(ctx, node_id, &gathered, &mut trace).map(|r| {
                    if r.skipped {
                        Finish::ConditionSkipped(r.output, SkipReason::BranchConditionFalse)
                    } else {
                        Finish::Done(r.output)
                    }
                }),
                NodeKind::Trigger => run_trigger(ctx, node_id, &gathered, &mut trace).map(|r| {
                    if r.skipped {
                        Finish::ConditionSkipped(
                            FieldMap::new(r.output),
                            SkipReason::TriggerConditionFalse,
                        )
                    } else {
                        done(r.output)
                    }
                }),
                NodeKind::Input => unreachable!("handled above"),
            }
        }
    };

    let ended = chrono::Utc::now();
    let end_time = iso(ended);
    trace.end_time = Some(end_time.clone());
    let elapsed = duration_ms(started, ended);

    let output = match result {
        Err(error) => {
            trace.error = Some(error.message.clone());
            trace.error_type = Some(error.error_type.clone());
            if trace.session_id.is_some() || trace.cost_usd.is_some_and(|c| c > 0.0) {
                // A failed agent whose session started: `--resume` continues the session.
                // A failed node that spent (a sub-workflow's spend, a call whose answer was
                // refused): its cost stays in the run's spend after a resume.
                let record = checkpoint_record(&trace, SharedFields::default(), end_time.clone());
                let mut checkpoint = ctx.checkpoint.lock().unwrap_or_else(|e| e.into_inner());
                if let Err(e) = checkpoint.record_failed(node_id, record) {
                    console.warn(format!(
                        "could not journal failed node '{node_id}' in the checkpoint: {e}"
                    ));
                }
            }
            // After Ctrl-C/SIGTERM a node fails because its process was stopped: the run is
            // interrupted (its hook wrote `workflow_interrupted`), this node was not failed.
            if !ctx.runtime.is_interrupted() {
                console.progress(format!("  Node {node_id} failed: {}", error.message));
                tel.emit(Some(node_id), || Event::NodeFailed {
                    node_type: kind,
                    error: error.message.clone(),
                    error_type: error.error_type.clone(),
                    duration_ms: elapsed,
                });
            }
            return NodeRun {
                trace,
                output: None,
                error: Some(error),
            };
        }
        Ok(Finish::ConditionSkipped(output, reason)) => {
            trace.skipped = true;
            tel.emit(Some(node_id), || Event::NodeSkipped { reason, edge: None });
            output
        }
        Ok(Finish::Done(output)) => {
            if tel.wants(EventKind::OutputProduced) {
                tel.emit(Some(node_id), || Event::OutputProduced {
                    outputs: output.clone(),
                });
            }
            tel.emit(Some(node_id), || Event::NodeCompleted {
                node_type: kind,
                duration_ms: elapsed,
                input_tokens: trace.input_tokens(),
                output_tokens: trace.output_tokens(),
                model: trace.model.clone(),
                cost_usd: trace.cost_usd,
                response_model: trace.response_model.clone(),
                finish_reason: trace.finish_reason.clone(),
                session_id: trace.session_id.clone(),
            });
            output
        }
    };
    trace.output = output.clone();

    // Durable at once: the checkpoint journal gets the node before the level ends.
    let record = checkpoint_record(&trace, output.clone(), end_time);
    let mut checkpoint = ctx.checkpoint.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(e) = checkpoint.record_node(node_id, record) {
        console.warn(format!(
            "could not journal node '{node_id}' in the checkpoint: {e}"
        ));
    }
    if tel.wants(EventKind::CheckpointSaved) && checkpoint.path().is_some() {
        let state = checkpoint.state();
        let (done, pending, cost) = (
            state.completed_nodes.len(),
            checkpoint.pending_count(),
            state.total_cost_usd,
        );
        // The node is durable in the journal beside checkpoint.json.
        let path = checkpoint.path_text().to_string();
        drop(checkpoint);
        tel.emit(Some(node_id), || Event::CheckpointSaved {
            completed_nodes: done,
            pending_nodes: pending,
            total_cost_usd: cost,
            path,
        });
    }
    NodeRun {
        trace,
        output: Some(output),
        error: None,
    }
}

/// `node_started` of `node_id`: a prompt's request settings (its frontmatter, else the
/// manifest's `defaults:`), a tool's description (its `description:`, else a python
/// tool's docstring).
fn node_started(ctx: &RunContext, node_id: &str, kind: NodeKind) -> Event {
    let project = ctx.project;
    let mut event = Event::node_started(kind);
    if let Event::NodeStarted {
        temperature,
        max_tokens,
        description,
        ..
    } = &mut event
    {
        match kind {
            NodeKind::Prompt => {
                let prompt = project.prompts.get(node_id);
                *temperature = prompt
                    .and_then(|p| p.temperature)
                    .or(project.defaults.temperature);
                *max_tokens = prompt
                    .and_then(|p| p.max_tokens)
                    .or(project.defaults.max_tokens);
            }
            NodeKind::Tool => {
                // The manifest's `description:`, else the python function's docstring.
                *description = project
                    .tools
                    .get(node_id)
                    .map(|t| t.description.trim())
                    .filter(|d| !d.is_empty())
                    .or_else(|| ctx.opts.tool_docstrings.get(node_id).map(String::as_str))
                    .map(str::to_string);
            }
            _ => {}
        }
    }
    event
}

/// The checkpoint's record of a node that ended at `end_time` with `outputs` (empty for a
/// failed agent, whose session, cost and turns are what matter).
fn checkpoint_record(trace: &NodeTrace, outputs: SharedFields, end_time: String) -> CheckpointNode {
    CheckpointNode {
        outputs,
        completed_at: end_time,
        started_at: Some(trace.start_time.clone()),
        session_id: trace.session_id.clone(),
        cost_usd: trace.cost_usd,
        num_turns: trace.num_turns,
    }
}
