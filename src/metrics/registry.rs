//! The metrics registry: Prometheus counters, gauges and histograms built from telemetry
//! events (the jsonl lines of `docs/TELEMETRY.md`), rendered in the classic Prometheus text
//! format 0.0.4 (what the node_exporter textfile collector and the Pushgateway accept).
//!
//! It is fed event by event ([`MetricsRegistry::observe_line`]), so the same type serves a
//! run's `--metrics-file` / `--metrics-push` (fed by a sink of the telemetry writer) and any
//! reader of past runs' `events.jsonl` files (a `/metrics` page over several runs).
//!
//! Labels never carry a run id: `workflow` is the run's project name (a sub-workflow run
//! counts under its own name), `node` the node id, `model` the model name.

use std::collections::HashMap;

use prometheus::{
    CounterVec, Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry,
    TextEncoder,
};
use serde_json::Value;

/// The Content-Type of the rendered text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Histogram buckets (seconds) for node durations: LLM calls take from a tenth of a second
/// to many minutes.
pub const DURATION_BUCKETS: [f64; 12] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// The metric names (a public interface: dashboards and alerts use them).
pub mod names {
    pub const RUNS_TOTAL: &str = "trident_runs_total";
    pub const RUN_DURATION_SECONDS: &str = "trident_run_duration_seconds";
    pub const RUN_LAST_SUCCESS_TIMESTAMP_SECONDS: &str =
        "trident_run_last_success_timestamp_seconds";
    pub const NODE_DURATION_SECONDS: &str = "trident_node_duration_seconds";
    pub const NODE_FAILURES_TOTAL: &str = "trident_node_failures_total";
    pub const TOKENS_TOTAL: &str = "trident_tokens_total";
    pub const COST_USD_TOTAL: &str = "trident_cost_usd_total";
    pub const TELEMETRY_DROPPED_TOTAL: &str = "trident_telemetry_dropped_total";
}

/// The label value used when an event does not say (a node event of a run whose
/// `workflow_started` was not seen, a cost without a model).
const UNKNOWN: &str = "unknown";

/// Prometheus metrics of Trident runs.
pub struct MetricsRegistry {
    registry: Registry,
    runs: IntCounterVec,
    run_duration: GaugeVec,
    last_success: GaugeVec,
    node_duration: HistogramVec,
    node_failures: IntCounterVec,
    tokens: IntCounterVec,
    cost: CounterVec,
    dropped: IntCounterVec,
    /// Workflow name of each run id seen in a `workflow_started` / terminal event.
    workflows: HashMap<String, String>,
    /// The name of the first top-level run seen (no `parent_run_id`).
    root_workflow: Option<String>,
}

impl std::fmt::Debug for MetricsRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsRegistry")
            .field("runs_seen", &self.workflows.len())
            .finish()
    }
}

impl Default for MetricsRegistry {
    fn default() -> Self {
        MetricsRegistry::new()
    }
}

impl MetricsRegistry {
    /// An empty registry (`trident_telemetry_dropped_total{sink="queue"}` starts at 0).
    pub fn new() -> MetricsRegistry {
        let registry = Registry::new();
        let runs = IntCounterVec::new(
            Opts::new(names::RUNS_TOTAL, "Workflow runs that ended, by status."),
            &["workflow", "status"],
        )
        .expect("valid metric");
        let run_duration = GaugeVec::new(
            Opts::new(
                names::RUN_DURATION_SECONDS,
                "Wall time of the workflow's last run, in seconds.",
            ),
            &["workflow"],
        )
        .expect("valid metric");
        let last_success = GaugeVec::new(
            Opts::new(
                names::RUN_LAST_SUCCESS_TIMESTAMP_SECONDS,
                "Unix time at which the workflow's last successful run ended.",
            ),
            &["workflow"],
        )
        .expect("valid metric");
        let node_duration = HistogramVec::new(
            HistogramOpts::new(
                names::NODE_DURATION_SECONDS,
                "Duration of nodes that completed or failed, in seconds.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["workflow", "node", "type"],
        )
        .expect("valid metric");
        let node_failures = IntCounterVec::new(
            Opts::new(names::NODE_FAILURES_TOTAL, "Nodes that failed."),
            &["workflow", "node"],
        )
        .expect("valid metric");
        let tokens = IntCounterVec::new(
            Opts::new(
                names::TOKENS_TOTAL,
                "Model tokens, by model and direction (input, output).",
            ),
            &["workflow", "model", "direction"],
        )
        .expect("valid metric");
        let cost = CounterVec::new(
            Opts::new(
                names::COST_USD_TOTAL,
                "Model spend in US dollars, by model.",
            ),
            &["workflow", "model"],
        )
        .expect("valid metric");
        let dropped = IntCounterVec::new(
            Opts::new(
                names::TELEMETRY_DROPPED_TOTAL,
                "Telemetry events that could not be written, by sink.",
            ),
            &["sink"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(runs.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(run_duration.clone()),
            Box::new(last_success.clone()),
            Box::new(node_duration.clone()),
            Box::new(node_failures.clone()),
            Box::new(tokens.clone()),
            Box::new(cost.clone()),
            Box::new(dropped.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        dropped.with_label_values(&["queue"]);
        MetricsRegistry {
            registry,
            runs,
            run_duration,
            last_success,
            node_duration,
            node_failures,
            tokens,
            cost,
            dropped,
            workflows: HashMap::new(),
            root_workflow: None,
        }
    }

    /// Observes one jsonl event line; a line that is not an event is ignored.
    pub fn observe_line(&mut self, line: &[u8]) {
        if let Ok(event) = serde_json::from_slice::<Value>(line) {
            self.observe(&event);
        }
    }

    /// Observes one event (an object with `event`, `run_id`, `node_id?`, `data`).
    pub fn observe(&mut self, event: &Value) {
        let Some(name) = event["event"].as_str() else {
            return;
        };
        let run_id = event["run_id"].as_str().unwrap_or_default();
        let data = &event["data"];
        let text = |key: &str| data[key].as_str().filter(|s| !s.is_empty());
        let seconds = |key: &str| data[key].as_f64().map(|ms| ms / 1000.0);
        match name {
            "workflow_started" => {
                let workflow = text("name").unwrap_or(UNKNOWN).to_string();
                if self.root_workflow.is_none() && event["parent_run_id"].is_null() {
                    self.root_workflow = Some(workflow.clone());
                }
                self.workflows.insert(run_id.to_string(), workflow);
            }
            "workflow_completed" | "workflow_failed" | "workflow_interrupted" => {
                let workflow = match text("name") {
                    Some(name) => {
                        self.workflows.insert(run_id.to_string(), name.to_string());
                        name.to_string()
                    }
                    None => self.workflow_of(run_id).to_string(),
                };
                let status = match name {
                    "workflow_completed" => "completed",
                    "workflow_failed" => "failed",
                    _ => "interrupted",
                };
                self.runs.with_label_values(&[&workflow, status]).inc();
                if let Some(duration) = seconds("duration_ms") {
                    self.run_duration
                        .with_label_values(&[&workflow])
                        .set(duration);
                }
                if status == "completed"
                    && let Some(at) = event["timestamp"].as_str().and_then(unix_seconds)
                {
                    self.last_success.with_label_values(&[&workflow]).set(at);
                }
            }
            "node_started" | "node_completed" | "node_failed" => {
                let workflow = self.workflow_of(run_id).to_string();
                let node = event["node_id"].as_str().unwrap_or(UNKNOWN);
                // Every node that ran has a failure counter, 0 until it fails.
                let failures = self.node_failures.with_label_values(&[&workflow, node]);
                if name == "node_failed" {
                    failures.inc();
                }
                if name != "node_started" {
                    let kind = text("type").unwrap_or(UNKNOWN);
                    if let Some(duration) = seconds("duration_ms") {
                        self.node_duration
                            .with_label_values(&[&workflow, node, kind])
                            .observe(duration);
                    }
                }
                // A branch/trigger node's tokens and cost are its sub-workflows' nodes',
                // counted there.
                if name == "node_completed" && !matches!(text("type"), Some("branch" | "trigger")) {
                    // A model that was called has its token series even when no tokens were
                    // reported (a dry run's mock answers): 0, like its cost, rather than absent.
                    if let Some(model) = text("model") {
                        for direction in ["input", "output"] {
                            self.tokens
                                .with_label_values(&[&workflow, model, direction]);
                        }
                    }
                    if let Some(cost) = data["cost_usd"].as_f64().filter(|c| *c >= 0.0) {
                        let model = text("model").unwrap_or(UNKNOWN);
                        self.cost
                            .with_label_values(&[&workflow, model])
                            .inc_by(cost);
                    }
                }
            }
            "token_usage" => {
                let workflow = self.workflow_of(run_id).to_string();
                let model = text("model").unwrap_or(UNKNOWN);
                for (direction, key) in [("input", "input_tokens"), ("output", "output_tokens")] {
                    let count = data[key].as_u64().unwrap_or(0);
                    self.tokens
                        .with_label_values(&[&workflow, model, direction])
                        .inc_by(count);
                }
            }
            "telemetry_dropped" => {
                let sink = text("sink").unwrap_or(UNKNOWN);
                let count = data["count"].as_u64().unwrap_or(0);
                self.dropped.with_label_values(&[sink]).inc_by(count);
            }
            _ => {}
        }
    }

    fn workflow_of(&self, run_id: &str) -> &str {
        self.workflows.get(run_id).map_or(UNKNOWN, String::as_str)
    }

    /// Sets `trident_run_last_success_timestamp_seconds` for `workflow` unless this registry
    /// saw a later success (carries an earlier run's value into a file that is rewritten).
    pub fn keep_last_success(&mut self, workflow: &str, unix_seconds: f64) {
        let gauge = self.last_success.with_label_values(&[workflow]);
        if gauge.get() < unix_seconds {
            gauge.set(unix_seconds);
        }
    }

    /// The name of the first top-level run seen.
    pub fn root_workflow(&self) -> Option<&str> {
        self.root_workflow.as_deref()
    }

    /// The workflow names seen, sorted.
    pub fn workflows(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.workflows.values().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The metrics in the Prometheus text format 0.0.4.
    pub fn render(&self) -> String {
        encode(&self.registry.gather())
    }

    /// The metrics of `workflow` without their `workflow` label, for a Pushgateway group
    /// whose grouping key carries it (pushed metrics must not repeat a grouping label),
    /// plus, `with_unlabelled`, the metrics that have no `workflow` label.
    pub fn render_group(&self, workflow: &str, with_unlabelled: bool) -> String {
        let mut families = self.registry.gather();
        for family in &mut families {
            let metrics = family.take_metric();
            let kept = metrics
                .into_iter()
                .filter_map(|mut metric| {
                    let labels = metric.take_label();
                    let of = labels.iter().find(|l| l.name() == "workflow");
                    let keep = match of {
                        Some(label) => label.value() == workflow,
                        None => with_unlabelled,
                    };
                    keep.then(|| {
                        let rest = labels.into_iter().filter(|l| l.name() != "workflow");
                        metric.set_label(rest.collect());
                        metric
                    })
                })
                .collect();
            family.set_metric(kept);
        }
        families.retain(|f| !f.get_metric().is_empty());
        encode(&families)
    }
}

fn encode(families: &[prometheus::proto::MetricFamily]) -> String {
    let mut out = Vec::new();
    // Encoding gathered, non-empty families into a Vec cannot fail.
    let _ = TextEncoder::new().encode(families, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// An RFC 3339 time stamp as fractional Unix seconds.
fn unix_seconds(text: &str) -> Option<f64> {
    let at = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(at.timestamp_millis() as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn line(event: &str, run: &str, node: Option<&str>, data: Value) -> Vec<u8> {
        let mut v = json!({"timestamp": "2026-01-23T10:15:30.500Z", "seq": 1, "run_id": run,
                           "event": event, "level": "INFO", "data": data});
        if let Some(node) = node {
            v["node_id"] = json!(node);
        }
        serde_json::to_vec(&v).unwrap()
    }

    fn run_events(m: &mut MetricsRegistry) {
        m.observe_line(&line(
            "workflow_started",
            "r1",
            None,
            json!({"name": "daily"}),
        ));
        m.observe_line(&line(
            "node_started",
            "r1",
            Some("ask"),
            json!({"type": "prompt"}),
        ));
        m.observe_line(&line(
            "token_usage",
            "r1",
            Some("ask"),
            json!({"model": "claude-x", "input_tokens": 12, "output_tokens": 40}),
        ));
        m.observe_line(&line(
            "node_completed",
            "r1",
            Some("ask"),
            json!({"type": "prompt", "duration_ms": 1500, "input_tokens": 12,
                   "output_tokens": 40, "model": "claude-x", "cost_usd": 0.25}),
        ));
        m.observe_line(&line(
            "node_started",
            "r1",
            Some("t"),
            json!({"type": "tool"}),
        ));
        m.observe_line(&line(
            "node_failed",
            "r1",
            Some("t"),
            json!({"type": "tool", "error": "boom", "error_type": "ToolError", "duration_ms": 50}),
        ));
        m.observe_line(&line(
            "telemetry_dropped",
            "r1",
            None,
            json!({"sink": "queue", "count": 3, "reason": "full"}),
        ));
        m.observe_line(&line(
            "workflow_failed",
            "r1",
            None,
            json!({"name": "daily", "error": "boom", "failed_node": "t", "duration_ms": 2000}),
        ));
    }

    #[test]
    fn a_branch_nodes_rolled_up_cost_is_not_counted_twice() {
        let mut m = MetricsRegistry::new();
        run_events(&mut m);
        m.observe_line(&line(
            "node_completed",
            "r1",
            Some("loop"),
            json!({"type": "branch", "duration_ms": 10, "input_tokens": 12,
                   "output_tokens": 40, "cost_usd": 0.25}),
        ));
        let text = m.render();
        assert!(
            text.contains("trident_cost_usd_total{model=\"claude-x\",workflow=\"daily\"} 0.25")
        );
        assert!(
            !text.contains("trident_cost_usd_total{model=\"unknown\""),
            "{text}"
        );
    }

    #[test]
    fn counts_a_run_from_its_events() {
        let mut m = MetricsRegistry::new();
        run_events(&mut m);
        let text = m.render();
        for expected in [
            "trident_runs_total{status=\"failed\",workflow=\"daily\"} 1",
            "trident_run_duration_seconds{workflow=\"daily\"} 2",
            "trident_node_failures_total{node=\"t\",workflow=\"daily\"} 1",
            "trident_node_failures_total{node=\"ask\",workflow=\"daily\"} 0",
            "trident_node_duration_seconds_bucket{node=\"ask\",type=\"prompt\",workflow=\"daily\",le=\"2.5\"} 1",
            "trident_node_duration_seconds_bucket{node=\"ask\",type=\"prompt\",workflow=\"daily\",le=\"1\"} 0",
            "trident_node_duration_seconds_sum{node=\"ask\",type=\"prompt\",workflow=\"daily\"} 1.5",
            "trident_tokens_total{direction=\"input\",model=\"claude-x\",workflow=\"daily\"} 12",
            "trident_tokens_total{direction=\"output\",model=\"claude-x\",workflow=\"daily\"} 40",
            "trident_cost_usd_total{model=\"claude-x\",workflow=\"daily\"} 0.25",
            "trident_telemetry_dropped_total{sink=\"queue\"} 3",
            "# TYPE trident_node_duration_seconds histogram",
            "# TYPE trident_runs_total counter",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert!(!text.contains("last_success_timestamp_seconds{"), "{text}");
        assert!(!text.contains("r1"), "no run id in any label:\n{text}");
    }

    #[test]
    fn success_sets_the_timestamp_and_runs_accumulate() {
        let mut m = MetricsRegistry::new();
        run_events(&mut m);
        for run in ["r2", "r3"] {
            m.observe_line(&line(
                "workflow_started",
                run,
                None,
                json!({"name": "daily"}),
            ));
            m.observe_line(&line(
                "workflow_completed",
                run,
                None,
                json!({"name": "daily", "duration_ms": 250}),
            ));
        }
        let text = m.render();
        assert!(text.contains("trident_runs_total{status=\"completed\",workflow=\"daily\"} 2"));
        assert!(text.contains("trident_run_duration_seconds{workflow=\"daily\"} 0.25"));
        assert!(text.contains(
            "trident_run_last_success_timestamp_seconds{workflow=\"daily\"} 1769163330.5"
        ));
        m.keep_last_success("daily", 5.0);
        m.keep_last_success("weekly", 7.0);
        let text = m.render();
        assert!(text.contains("{workflow=\"daily\"} 1769163330.5"), "{text}");
        assert!(text.contains("{workflow=\"weekly\"} 7"), "{text}");
        assert_eq!(m.workflows(), vec!["daily"]);
        assert_eq!(m.root_workflow(), Some("daily"));
    }

    #[test]
    fn a_push_group_drops_the_grouping_label() {
        let mut m = MetricsRegistry::new();
        run_events(&mut m);
        m.observe_line(&line(
            "workflow_started",
            "s1",
            None,
            json!({"name": "sub"}),
        ));
        m.observe_line(&line(
            "workflow_completed",
            "s1",
            None,
            json!({"name": "sub", "duration_ms": 5}),
        ));
        let daily = m.render_group("daily", true);
        assert!(
            daily.contains("trident_runs_total{status=\"failed\"} 1"),
            "{daily}"
        );
        assert!(daily.contains("trident_telemetry_dropped_total{sink=\"queue\"} 3"));
        assert!(!daily.contains("workflow="), "{daily}");
        let sub = m.render_group("sub", false);
        assert!(
            sub.contains("trident_runs_total{status=\"completed\"} 1"),
            "{sub}"
        );
        assert!(!sub.contains("dropped"), "{sub}");
        assert!(
            !sub.contains("# TYPE trident_node_duration_seconds"),
            "{sub}"
        );
    }

    #[test]
    fn a_model_call_without_token_usage_shows_zero_tokens() {
        // A dry run: the prompt node completes with its model and no `token_usage` event.
        let mut m = MetricsRegistry::new();
        m.observe_line(&line(
            "workflow_started",
            "r1",
            None,
            json!({"name": "daily", "dry_run": true}),
        ));
        m.observe_line(&line(
            "node_completed",
            "r1",
            Some("ask"),
            json!({"type": "prompt", "duration_ms": 3, "model": "claude-x", "cost_usd": 0.0}),
        ));
        m.observe_line(&line(
            "node_completed",
            "r1",
            Some("t"),
            json!({"type": "tool", "duration_ms": 3}),
        ));
        let text = m.render();
        for expected in [
            "trident_tokens_total{direction=\"input\",model=\"claude-x\",workflow=\"daily\"} 0",
            "trident_tokens_total{direction=\"output\",model=\"claude-x\",workflow=\"daily\"} 0",
            "trident_cost_usd_total{model=\"claude-x\",workflow=\"daily\"} 0",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert!(!text.contains("model=\"unknown\""), "{text}");
    }

    #[test]
    fn garbage_is_ignored() {
        let mut m = MetricsRegistry::new();
        m.observe_line(b"not json");
        m.observe_line(b"{\"event\": 3}");
        m.observe_line(&line(
            "node_completed",
            "x",
            None,
            json!({"duration_ms": "slow"}),
        ));
        let text = m.render();
        assert!(text.contains("trident_telemetry_dropped_total{sink=\"queue\"} 0"));
        assert!(
            text.contains("trident_node_failures_total{node=\"unknown\",workflow=\"unknown\"} 0")
        );
    }
}
