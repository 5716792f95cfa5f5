//! The budget gate of `--max-cost`: consulted before a node starts (and before each
//! iteration of a branch loop), it refuses to start anything once the spend of the
//! outermost run (earlier attempts and sub-workflows included) has reached the budget. The
//! run then fails with `BudgetExceeded` (exit 1); `--resume` with a higher budget continues.
//! A sub-workflow stopped by the budget fails its branch/trigger node with `BudgetExceeded`
//! too, so the parent stops the same way.

use super::context::RunContext;
use super::node_error::NodeError;
use super::outcome::RunError;

/// The error type of a node refused by the budget.
pub const BUDGET_EXCEEDED: &str = "BudgetExceeded";

/// `Some(error)` when `--max-cost` is set and the run's spend has reached it: `node_id` must
/// not start.
pub fn budget_refuses(ctx: &RunContext, node_id: &str) -> Option<NodeError> {
    budget_stops(ctx, &format!("node '{node_id}' was not started"))
}

/// `Some(error)` when `--max-cost` is set and the outermost run's spend has reached it:
/// what `stopped` describes must not start.
pub fn budget_stops(ctx: &RunContext, stopped: &str) -> Option<NodeError> {
    let max = ctx.opts.max_cost?;
    (ctx.spend.outermost() >= max).then(|| exceeded(ctx, max, stopped))
}

fn exceeded(ctx: &RunContext, max: f64, stopped: &str) -> NodeError {
    let spent = ctx.spend.outermost();
    NodeError::new(
        BUDGET_EXCEEDED,
        format!(
            "Budget exceeded: the run has spent ${spent:.6} of its --max-cost ${max}, so \
             {stopped}. Resume with a higher budget: trident project run --resume {} \
             --max-cost <USD>",
            ctx.run_id
        ),
    )
}

/// The failure of the branch/trigger node `node_id` whose sub-workflow failed with `error`:
/// `BudgetExceeded`, naming this run's id to resume, when the budget stopped it.
pub fn nested_budget_error(ctx: &RunContext, node_id: &str, error: &RunError) -> Option<NodeError> {
    if error.cause_type != BUDGET_EXCEEDED {
        return None;
    }
    let stopped = format!(
        "node '{}' of the sub-workflow of '{node_id}' was not started",
        error.node_id
    );
    Some(exceeded(ctx, ctx.opts.max_cost.unwrap_or(0.0), &stopped))
}
