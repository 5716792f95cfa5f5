//! The budget gate of `--max-cost`: consulted before a node starts, it refuses to start any
//! node once the run's spend (earlier attempts included) has reached the budget. The run
//! then fails with `BudgetExceeded` (exit 1); `--resume` with a higher budget continues.

use super::context::RunContext;
use super::node_error::NodeError;

/// The error type of a node refused by the budget.
pub const BUDGET_EXCEEDED: &str = "BudgetExceeded";

/// `Some(error)` when `--max-cost` is set and the run's spend has reached it: `node_id` must
/// not start.
pub fn budget_refuses(ctx: &RunContext, node_id: &str) -> Option<NodeError> {
    let max = ctx.opts.max_cost?;
    let spent = ctx.spent();
    (spent >= max).then(|| {
        NodeError::new(
            BUDGET_EXCEEDED,
            format!(
                "Budget exceeded: the run has spent ${spent:.6} of its --max-cost ${max}, so \
                 node '{node_id}' was not started. Resume with a higher budget: trident \
                 project run --resume {} --max-cost <USD>",
                ctx.run_id
            ),
        )
    })
}
