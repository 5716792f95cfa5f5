//! The critical path of a run: the chain of dependent nodes, walked back from the node that
//! ended last, each step to the upstream node that ended last before it (the one it was
//! waiting for). Upstream nodes are the DAG's edges when the project is known; from a
//! telemetry file alone, any node that ended before this one started counts. The chain's
//! durations add up to (nearly) the run's duration; the rest is scheduling overhead.

use std::cmp::Ordering;
use std::collections::HashSet;

use serde::Serialize;

use super::report::{NodeReport, NodeStatus};

/// How much later than a node's start an upstream node may end and still count as
/// finished before it (timestamps are in milliseconds, taken a moment apart).
const CLOCK_SLACK_MS: i64 = 2;

/// A node's upstream node ids (the DAG's edges).
pub type Predecessors<'a> = &'a dyn Fn(&str) -> Vec<String>;

/// The chain, first node first.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CriticalPath {
    /// Node ids in execution order.
    pub nodes: Vec<String>,
    /// Sum of their durations.
    pub duration_ms: u64,
}

/// Which of two candidates ended last (then started last; then the first id).
fn later(a: &NodeReport, b: &NodeReport) -> Ordering {
    a.ended_ms
        .cmp(&b.ended_ms)
        .then(a.started_ms.cmp(&b.started_ms))
        .then_with(|| b.id.cmp(&a.id))
}

/// The critical path of `nodes` (those with start and end times).
pub fn critical_path(nodes: &[NodeReport], predecessors: Option<Predecessors>) -> CriticalPath {
    let timed: Vec<&NodeReport> = nodes
        .iter()
        .filter(|n| n.started_ms.is_some() && n.ended_ms.is_some())
        // Only nodes that ran in this attempt (not skipped, not restored by a resume).
        .filter(|n| matches!(n.status, NodeStatus::Completed | NodeStatus::Failed))
        .collect();
    let chain = match predecessors {
        Some(p) => chain_by_dag(&timed, p),
        None => chain_by_time(timed),
    };
    CriticalPath {
        duration_ms: chain.iter().filter_map(|n| n.duration_ms).sum(),
        nodes: chain.into_iter().map(|n| n.id.clone()).collect(),
    }
}

/// With the DAG: each step to the upstream node that ended last. Linear in the nodes per
/// step of the chain.
fn chain_by_dag<'a>(timed: &[&'a NodeReport], predecessors: Predecessors) -> Vec<&'a NodeReport> {
    let Some(last) = (0..timed.len()).max_by(|&a, &b| later(timed[a], timed[b])) else {
        return Vec::new();
    };
    let mut in_chain = vec![false; timed.len()];
    in_chain[last] = true;
    let mut chain = vec![timed[last]];
    let mut current = timed[last];
    loop {
        let upstream: HashSet<String> = predecessors(&current.id).into_iter().collect();
        let previous = (0..timed.len())
            .filter(|&i| !in_chain[i] && upstream.contains(&timed[i].id))
            .max_by(|&a, &b| later(timed[a], timed[b]));
        match previous {
            Some(i) => {
                in_chain[i] = true;
                chain.push(timed[i]);
                current = timed[i];
            }
            None => break,
        }
    }
    chain.reverse();
    chain
}

/// From times alone: each step to the node that ended last among those that ended before
/// the current one started (and started before it). Along the chain the current node's
/// start and end only move earlier, so a node that does not qualify at one step never
/// does later: one pass over the nodes sorted by [`later`], last first (n log n).
fn chain_by_time(mut timed: Vec<&NodeReport>) -> Vec<&NodeReport> {
    timed.sort_by(|a, b| later(b, a));
    let Some((&last, rest)) = timed.split_first() else {
        return Vec::new();
    };
    let mut chain = vec![last];
    let mut current = last;
    for &n in rest {
        let start = current.started_ms.unwrap_or(i64::MIN);
        // Ended before this one started, and started before it.
        if n.ended_ms.unwrap_or(i64::MAX) <= start + CLOCK_SLACK_MS
            && n.started_ms.unwrap_or(i64::MAX) <= start
            && n.ended_ms <= current.ended_ms
        {
            chain.push(n);
            current = n;
        }
    }
    chain.reverse();
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, start: i64, end: i64) -> NodeReport {
        let mut n = NodeReport::new(id);
        n.status = NodeStatus::Completed;
        n.started_ms = Some(start);
        n.ended_ms = Some(end);
        n.duration_ms = Some((end - start) as u64);
        n
    }

    #[test]
    fn follows_the_upstream_node_that_ended_last() {
        // input -> {fast, slow} -> join; untimed node ignored.
        let nodes = vec![
            node("input", 0, 1),
            node("fast", 1, 10),
            node("slow", 1, 90),
            node("join", 90, 100),
            NodeReport::new("pending"),
        ];
        let by_time = critical_path(&nodes, None);
        assert_eq!(by_time.nodes, ["input", "slow", "join"]);
        assert_eq!(by_time.duration_ms, 1 + 89 + 10);
        // With the DAG: join depends on fast only, so the chain goes through fast.
        let preds = |id: &str| match id {
            "join" => vec!["fast".to_string()],
            "fast" | "slow" => vec!["input".to_string()],
            _ => vec![],
        };
        let by_dag = critical_path(&nodes, Some(&preds));
        assert_eq!(by_dag.nodes, ["input", "fast", "join"]);
        assert_eq!(critical_path(&[], None), CriticalPath::default());
        // Millisecond-fast nodes: order by start breaks the ties.
        let quick = vec![node("a", 5, 5), node("b", 5, 6), node("c", 6, 6)];
        assert_eq!(critical_path(&quick, None).nodes, ["a", "b", "c"]);
    }
}
