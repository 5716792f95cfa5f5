//! What a run spends: pricing a model call with the project's price table (a model without
//! a price costs `None` and is reported once per run as `price_unknown`), and charging a
//! node's cost to the run's total (`cost_incurred`).

use super::context::RunContext;
use crate::pricing::TokenUsage;
use crate::telemetry::Event;

/// The cost of `usage` on `model`, or `None` (with one `price_unknown` per model and run)
/// when the model has no price.
pub fn price_call(ctx: &RunContext, node_id: &str, model: &str, usage: &TokenUsage) -> Option<f64> {
    let cost = ctx.project.pricing.cost(model, usage);
    if cost.is_none() {
        let first = ctx
            .unpriced_models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(model.to_string());
        if first {
            ctx.tel.emit(Some(node_id), || Event::PriceUnknown {
                model: model.to_string(),
            });
        }
    }
    cost
}

/// Add a node's cost to the run's spend and report it (`cost_incurred`).
pub fn charge(ctx: &RunContext, node_id: &str, cost: f64) {
    let total = ctx.add_cost(cost);
    ctx.tel.emit(Some(node_id), || Event::CostIncurred {
        cost_usd: cost,
        total_cost_usd: total,
    });
}
