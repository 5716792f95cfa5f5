//! What a run spends: pricing a model call with the project's price table (a model without
//! a price costs `None` and is reported once per run as `price_unknown`), charging a node's
//! cost to the run's total (`cost_incurred`), and the [`Spend`] account that rolls a
//! sub-workflow's spend into every run it is nested in.

use std::sync::{Arc, Mutex};

use super::context::RunContext;
use crate::artifacts::{NodeTrace, Trace};
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
    let total = ctx.spend.add(cost);
    ctx.tel.emit(Some(node_id), || Event::CostIncurred {
        cost_usd: cost,
        total_cost_usd: total,
    });
}

/// A run's spend so far (prompt and agent nodes, earlier attempts included), inside the
/// account of the run it is nested in (a branch iteration or a `wait` trigger runs a
/// sub-workflow): a charge counts in every enclosing run at once, so a parent's total and
/// its `--max-cost` budget cover all of its sub-workflows while they run.
#[derive(Debug, Default)]
pub struct Spend {
    total: Mutex<f64>,
    parent: Option<Arc<Spend>>,
}

impl Spend {
    /// The account of a top-level run that had spent `initial` in earlier attempts.
    pub fn top_level(initial: f64) -> Arc<Spend> {
        Arc::new(Spend {
            total: Mutex::new(initial),
            parent: None,
        })
    }

    /// A new account for a sub-workflow of the run owning `parent`.
    pub fn nested_in(parent: &Arc<Spend>) -> Arc<Spend> {
        Arc::new(Spend {
            total: Mutex::new(0.0),
            parent: Some(parent.clone()),
        })
    }

    /// Charge `cost` here and to every enclosing run. Returns this run's total.
    pub fn add(&self, cost: f64) -> f64 {
        let total = {
            let mut total = self.total.lock().unwrap_or_else(|e| e.into_inner());
            *total += cost;
            *total
        };
        if let Some(parent) = &self.parent {
            parent.add(cost);
        }
        total
    }

    /// This run's spend, its sub-workflows' included.
    pub fn total(&self) -> f64 {
        *self.total.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The spend of the outermost run (the one `--max-cost` was given to).
    pub fn outermost(&self) -> f64 {
        match &self.parent {
            Some(parent) => parent.outermost(),
            None => self.total(),
        }
    }
}

/// Roll a sub-workflow run by a branch iteration or `wait` trigger into the node that ran
/// it: the run's spend (`account`, its own nested runs included) and its tokens become the
/// node's, so the node's `cost_usd` and tokens (trace.json, `node_completed`, the
/// checkpoint's `total_cost_usd`) and the parent run's totals include them.
pub fn roll_up(trace: &mut NodeTrace, account: &Spend, sub: &Trace) {
    let cost = account.total();
    if cost > 0.0 {
        trace.cost_usd = Some(trace.cost_usd.unwrap_or(0.0) + cost);
    }
    for node in sub.nodes.iter().filter(|n| !n.cached) {
        for (kind, count) in node.tokens.iter().filter(|(_, c)| **c > 0) {
            *trace.tokens.entry(kind.clone()).or_insert(0) += count;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_charges_count_in_every_enclosing_run() {
        let top = Spend::top_level(1.0);
        let branch = Spend::nested_in(&top);
        let trigger = Spend::nested_in(&branch);
        assert_eq!(trigger.add(0.25), 0.25);
        assert_eq!(branch.add(0.5), 0.75);
        assert_eq!(top.add(0.125), 1.875);
        assert_eq!(top.total(), 1.875);
        assert_eq!(trigger.outermost(), 1.875);
        assert_eq!(branch.total(), 0.75);
    }
}
