//! Several runs at once (`trident telemetry stats` over files holding many runs): per-node
//! duration percentiles and failure counts, tokens and cost by model and by run.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::report::{ModelTotals, NodeStatus, RunReport, RunStatus, add_model};

/// One node id across runs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeAcrossRuns {
    pub node_id: String,
    /// Runs in which it executed (completed or failed).
    pub runs: u64,
    pub failures: u64,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub max_ms: Option<u64>,
}

/// One run in the by-run table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunLine {
    pub run_id: String,
    pub name: Option<String>,
    pub status: RunStatus,
    pub attempts: u64,
    pub duration_ms: Option<u64>,
    pub failed_nodes: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

/// The aggregate of several runs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AcrossRuns {
    pub nodes: Vec<NodeAcrossRuns>,
    pub models: Vec<ModelTotals>,
    pub by_run: Vec<RunLine>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

/// The value at percentile `p` (0-100) of sorted `values`, nearest rank.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Aggregate `runs`.
pub fn across_runs(runs: &[RunReport]) -> AcrossRuns {
    let mut durations: BTreeMap<&str, (Vec<u64>, u64, u64)> = BTreeMap::new();
    let mut models = Vec::new();
    for run in runs {
        for node in &run.nodes {
            let executed = matches!(node.status, NodeStatus::Completed | NodeStatus::Failed);
            if !executed {
                continue;
            }
            let entry = durations.entry(node.id.as_str()).or_default();
            entry.1 += 1;
            if node.status == NodeStatus::Failed {
                entry.2 += 1;
            }
            if let Some(d) = node.duration_ms {
                entry.0.push(d);
            }
            if let Some(model) = &node.model {
                add_model(&mut models, model, node);
            }
        }
    }
    let mut nodes: Vec<NodeAcrossRuns> = durations
        .into_iter()
        .map(|(id, (mut ds, runs, failures))| {
            ds.sort_unstable();
            NodeAcrossRuns {
                node_id: id.to_string(),
                runs,
                failures,
                p50_ms: percentile(&ds, 50.0),
                p95_ms: percentile(&ds, 95.0),
                max_ms: ds.last().copied(),
            }
        })
        .collect();
    nodes.sort_by(|a, b| b.p95_ms.cmp(&a.p95_ms).then(a.node_id.cmp(&b.node_id)));
    models.sort_by(|a, b| {
        b.cost_usd
            .unwrap_or(0.0)
            .total_cmp(&a.cost_usd.unwrap_or(0.0))
            .then_with(|| a.model.cmp(&b.model))
    });
    let by_run: Vec<RunLine> = runs
        .iter()
        .map(|r| RunLine {
            run_id: r.run_id.clone(),
            name: r.name.clone(),
            status: r.status,
            attempts: r.attempts,
            duration_ms: r.duration_ms,
            failed_nodes: r.counts.failed,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            cost_usd: r.cost_usd,
        })
        .collect();
    // A sub-workflow's spend is already in the branch/trigger node of its parent: the
    // totals add the outermost runs only (a sub-run whose parent is not here counts).
    let ids: HashSet<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
    let outermost: Vec<&RunLine> = runs
        .iter()
        .zip(&by_run)
        .filter(|(r, _)| {
            r.parent_run_id
                .as_deref()
                .is_none_or(|parent| !ids.contains(parent))
        })
        .map(|(_, line)| line)
        .collect();
    AcrossRuns {
        input_tokens: outermost.iter().map(|r| r.input_tokens).sum(),
        output_tokens: outermost.iter().map(|r| r.output_tokens).sum(),
        cost_usd: outermost.iter().map(|r| r.cost_usd).sum(),
        nodes,
        models,
        by_run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=20).collect();
        assert_eq!(percentile(&v, 50.0), Some(10));
        assert_eq!(percentile(&v, 95.0), Some(19));
        assert_eq!(percentile(&[7], 95.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
