//! Branch nodes: run a sub-workflow (`self` = this project) with the gathered inputs; with
//! `loop_while`, feed each iteration's flattened outputs to the next until the condition is
//! false or `max_iterations` is reached. Each iteration is saved to
//! `branches/<id>/iteration_<n>.json` and journaled in the checkpoint, and a resumed run
//! continues after the last finished iteration, with that iteration's outputs.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::budget::{budget_stops, nested_budget_error};
use super::context::{RunContext, RunOptions, TelemetryScope};
use super::node_error::NodeError;
use super::run::run_workflow;
use super::spend::{Spend, roll_up};
use crate::artifacts::{BranchIteration, NodeTrace, now_iso};
use crate::expr::ParsedCondition;
use crate::fields::FieldMap;
use crate::project::{Project, load_project};
use crate::telemetry::{ConditionKind, Event};

/// What a branch node produced.
pub struct BranchResult {
    /// Shared with the sub-workflow's output node (or the gathered inputs), not copied.
    pub output: Arc<FieldMap>,
    /// The `condition` was false: inputs passed through, node marked skipped.
    pub skipped: bool,
}

fn branch_error(message: String) -> NodeError {
    NodeError::new("BranchError", message)
}

/// Evaluate a branch/loop/trigger condition against `data`, reporting it as telemetry.
pub fn check_condition(
    ctx: &RunContext,
    node_id: &str,
    kind: ConditionKind,
    expression: &ParsedCondition,
    data: &FieldMap,
) -> Result<bool, String> {
    let result = expression.evaluate_on_fields(data);
    ctx.tel.emit(Some(node_id), || Event::ConditionEvaluated {
        kind,
        expression: expression.text().to_string(),
        result: *result.as_ref().unwrap_or(&false),
        edge_id: None,
        error: result.as_ref().err().map(|e| e.0.clone()),
    });
    result.map_err(|e| e.0)
}

/// Run branch `node_id` with its gathered inputs.
/// Each iteration's spend and tokens are added to `trace` (see [`roll_up`]), also when
/// the node fails.
pub fn run_branch(
    ctx: &RunContext,
    node_id: &str,
    gathered: &Arc<FieldMap>,
    trace: &mut NodeTrace,
) -> Result<BranchResult, NodeError> {
    let Some(branch) = ctx.project.branches.get(node_id) else {
        return Err(NodeError::runtime(format!(
            "Branch definition not found: {node_id}"
        )));
    };
    if let Some(condition) = branch.condition.as_ref() {
        let run = check_condition(ctx, node_id, ConditionKind::Branch, condition, gathered)
            .map_err(|e| {
                branch_error(format!(
                    "Failed to evaluate branch condition: {condition} ({e})"
                ))
            })?;
        if !run {
            ctx.runtime
                .console
                .progress(format!("  Branch {node_id} skipped (condition false)"));
            return Ok(BranchResult {
                output: Arc::clone(gathered),
                skipped: true,
            });
        }
    }
    if ctx.opts.dry_run {
        let mut output = Map::new();
        output.insert("dry_run".into(), Value::Bool(true));
        output.extend(gathered.map().clone());
        return Ok(BranchResult {
            output: FieldMap::new(output),
            skipped: false,
        });
    }
    let depth = ctx.opts.nested_depth(node_id).map_err(branch_error)?;
    let sub_project: Cow<Project> = if branch.workflow_path == "self" {
        Cow::Borrowed(ctx.project)
    } else {
        let path = ctx.project.root.join(&branch.workflow_path);
        if !path.exists() {
            return Err(branch_error(format!(
                "Sub-workflow not found: {}",
                path.display()
            )));
        }
        Cow::Owned(load_project(&path).map_err(|e| branch_error(e.to_string()))?)
    };

    // Resume: continue after the last finished iteration, from its outputs.
    let last_done = ctx
        .checkpoint
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .state()
        .branch_states
        .get(node_id)
        .copied();
    let mut iteration = last_done.map_or(0, |n| n + 1);
    // Each iteration's inputs: shared with the previous iteration's outputs (no copy).
    let mut current = Arc::clone(gathered);
    if let (Some(done), Some(store)) = (last_done, &ctx.store) {
        let previous = std::fs::read(store.iteration_path(node_id, done))
            .ok()
            .and_then(|b| serde_json::from_slice::<BranchIteration>(&b).ok());
        if let Some(previous) = previous {
            current = previous.outputs.flatten_shared();
        }
        ctx.runtime.console.progress(format!(
            "  Resuming branch {node_id} from iteration {}",
            iteration + 1
        ));
    }
    let max = branch.max_iterations;
    if branch.loop_while.is_some() && iteration >= max {
        return Err(branch_error(format!("Max iterations ({max}) reached")));
    }

    loop {
        if branch.loop_while.is_some() {
            ctx.runtime
                .console
                .progress(format!("  [{node_id}] Iteration {}/{max}", iteration + 1));
        } else {
            ctx.runtime.console.progress(format!(
                "  Executing sub-workflow: {}",
                branch.workflow_path
            ));
        }
        if let Some(error) = budget_stops(
            ctx,
            &format!(
                "iteration {} of branch '{node_id}' was not started",
                iteration + 1
            ),
        ) {
            return Err(error);
        }
        let started_at = now_iso();
        let account = Spend::nested_in(&ctx.spend);
        let sub_opts = RunOptions {
            inputs: Arc::clone(&current),
            dry_run: ctx.opts.dry_run,
            artifact_dir: ctx
                .store
                .as_ref()
                .map(|s| s.branch_dir(node_id).join(format!("iter_{iteration}"))),
            max_cost: ctx.opts.max_cost,
            spend: Some(account.clone()),
            depth,
            ..RunOptions::default()
        };
        let scope = TelemetryScope::Child {
            parent: &ctx.tel,
            node_id,
        };
        let sub = run_workflow(&sub_project, &sub_opts, scope, ctx.runtime).map_err(|e| {
            branch_error(format!(
                "Sub-workflow failed at iteration {}: {e}",
                iteration + 1
            ))
        })?;
        roll_up(trace, &account, &sub.trace);
        let ended_at = now_iso();
        if let Some(store) = &ctx.store {
            let state = BranchIteration {
                branch_id: node_id.to_string(),
                iteration,
                inputs: Arc::clone(&current),
                outputs: sub.outputs.clone(),
                started_at,
                ended_at: Some(ended_at),
                success: sub.error.is_none(),
                error: sub.error.as_ref().map(|e| e.to_string()),
            };
            match store.save_iteration(&state) {
                Ok((path, bytes)) => ctx.tel.emit(Some(node_id), || Event::ArtifactSaved {
                    kind: "iteration",
                    path: path.display().to_string(),
                    bytes,
                }),
                Err(e) => ctx.runtime.console.warn(format!(
                    "could not save iteration {iteration} of branch '{node_id}': {e}"
                )),
            }
        }
        if let Some(error) = &sub.error {
            if let Some(budget) = nested_budget_error(ctx, node_id, error) {
                return Err(budget);
            }
            return Err(branch_error(format!(
                "Sub-workflow failed at iteration {}: {error}",
                iteration + 1
            )));
        }
        if let Err(e) = ctx
            .checkpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record_branch(node_id, iteration)
        {
            ctx.runtime
                .console
                .warn(format!("could not journal branch '{node_id}': {e}"));
        }
        let flat = sub.outputs.flatten_shared();
        let Some(loop_while) = branch.loop_while.as_ref() else {
            ctx.tel.emit(Some(node_id), || Event::BranchIteration {
                iteration: iteration + 1,
                max_iterations: max,
                continues: false,
            });
            return Ok(BranchResult {
                output: flat,
                skipped: false,
            });
        };
        let again =
            check_condition(ctx, node_id, ConditionKind::Loop, loop_while, &flat).map_err(|e| {
                branch_error(format!(
                    "Failed to evaluate loop condition: {loop_while} ({e})"
                ))
            })?;
        ctx.tel.emit(Some(node_id), || Event::BranchIteration {
            iteration: iteration + 1,
            max_iterations: max,
            continues: again,
        });
        if !again {
            ctx.runtime.console.progress(format!(
                "  [{node_id}] Loop condition false, stopping after {} iterations",
                iteration + 1
            ));
            return Ok(BranchResult {
                output: flat,
                skipped: false,
            });
        }
        iteration += 1;
        if iteration >= max {
            return Err(branch_error(format!(
                "Max iterations ({max}) reached (loop_while `{loop_while}` still true after \
                 iteration {iteration}/{max})"
            )));
        }
        if ctx.runtime.is_interrupted() {
            return Err(branch_error("Interrupted".into()));
        }
        current = flat;
    }
}
