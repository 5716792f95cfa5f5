//! Folding event lines into run reports: one pass, any number of runs (and sub-workflow
//! runs) interleaved, attempts appended, in the order lines were written. Also counts what
//! was lost: `seq` gaps within a stream and `telemetry_dropped` reports.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::event_line::EventLine;
use super::report::{NodeReport, NodeStatus, RunReport, RunStatus};
use super::timestamp::parse_millis;

/// A jump in `seq`: events between `after` and `next` never reached the file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SeqGap {
    pub file: String,
    /// The line (1-based) that came after the gap.
    pub line: u64,
    pub after: u64,
    pub next: u64,
    pub missing: u64,
}

/// Everything that says events are missing.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Loss {
    pub seq_gaps: Vec<SeqGap>,
    /// Events missing according to the gaps.
    pub missing_events: u64,
    /// Events reported dropped by `telemetry_dropped`, in total and by sink.
    pub dropped: u64,
    pub dropped_by_sink: BTreeMap<String, u64>,
}

impl Loss {
    /// Whether nothing is known to be missing.
    pub fn is_none(&self) -> bool {
        self.missing_events == 0 && self.dropped == 0
    }
}

struct RunAcc {
    report: RunReport,
    nodes: Vec<NodeReport>,
    node_index: HashMap<String, usize>,
}

impl RunAcc {
    fn node(&mut self, id: &str) -> &mut NodeReport {
        let index = match self.node_index.get(id) {
            Some(&i) => i,
            None => {
                self.nodes.push(NodeReport::new(id));
                self.node_index.insert(id.to_string(), self.nodes.len() - 1);
                self.nodes.len() - 1
            }
        };
        &mut self.nodes[index]
    }
}

/// Accumulates event lines into runs.
#[derive(Default)]
pub struct EventFold {
    runs: Vec<RunAcc>,
    index: HashMap<String, usize>,
    /// The run of the previous line (most lines belong to the same run as the one before).
    last: Option<usize>,
    /// The last `seq` of the current stream.
    last_seq: Option<u64>,
    pub loss: Loss,
    /// Event lines read.
    pub events: u64,
}

impl EventFold {
    /// A new stream of `seq` numbers starts (another file that is not a rotation of the
    /// previous one).
    pub fn begin_stream(&mut self) {
        self.last_seq = None;
    }

    fn run(&mut self, run_id: &str) -> &mut RunAcc {
        let index = match self.last.filter(|&i| self.runs[i].report.run_id == run_id) {
            Some(i) => i,
            None => match self.index.get(run_id) {
                Some(&i) => i,
                None => {
                    self.runs.push(RunAcc {
                        report: RunReport::new(run_id),
                        nodes: Vec::new(),
                        node_index: HashMap::new(),
                    });
                    self.index.insert(run_id.to_string(), self.runs.len() - 1);
                    self.runs.len() - 1
                }
            },
        };
        self.last = Some(index);
        &mut self.runs[index]
    }

    /// Add one parsed line (`file` and `line` locate it for loss reports).
    pub fn add(&mut self, event: &EventLine, file: &str, line: u64) {
        self.events += 1;
        if let Some(seq) = event.seq {
            if let Some(last) = self.last_seq
                && seq > last + 1
            {
                // A stream restarting at 1 (another invocation appended) is no loss.
                if seq != 1 {
                    self.loss.seq_gaps.push(SeqGap {
                        file: file.to_string(),
                        line,
                        after: last,
                        next: seq,
                        missing: seq - last - 1,
                    });
                    self.loss.missing_events += seq - last - 1;
                }
            }
            self.last_seq = Some(seq);
        }
        let data = &event.data;
        let name: &str = &event.event;
        if name == "telemetry_dropped" {
            let count = data.count.unwrap_or(0);
            self.loss.dropped += count;
            let sink = data.sink.as_deref().unwrap_or("unknown").to_string();
            *self.loss.dropped_by_sink.entry(sink).or_default() += count;
        }
        let Some(run_id) = event.run_id.as_deref() else {
            return;
        };
        let at = event.timestamp.as_deref().and_then(parse_millis);
        let run = self.run(run_id);
        let report = &mut run.report;
        match name {
            "workflow_started" => {
                report.attempts = data.attempt.unwrap_or(report.attempts + 1);
                report.status = RunStatus::Running;
                if report.started_at.is_none() {
                    report.started_at = event.timestamp.as_deref().map(str::to_string);
                }
                report.name = data.name.as_deref().map(str::to_string);
                report.dry_run = data.dry_run.or(report.dry_run);
                report.parent_run_id = event.parent_run_id.as_deref().map(str::to_string);
                report.error = None;
                report.failed_node = None;
            }
            end @ ("workflow_completed" | "workflow_failed" | "workflow_interrupted") => {
                report.status = match end {
                    "workflow_completed" => RunStatus::Completed,
                    "workflow_failed" => RunStatus::Failed,
                    _ => RunStatus::Interrupted,
                };
                report.duration_ms = data.duration_ms;
                report.ended_at = event.timestamp.as_deref().map(str::to_string);
                if end == "workflow_failed" {
                    report.error = data.error.as_deref().map(str::to_string);
                    report.failed_node = data.failed_node.as_deref().map(str::to_string);
                }
            }
            _ => {}
        }
        let Some(node_id) = event.node_id.as_deref() else {
            return;
        };
        let node = run.node(node_id);
        if let Some(t) = data.node_type.as_deref()
            && node.node_type.as_deref() != Some(t)
        {
            node.node_type = Some(t.to_string());
        }
        match name {
            "node_started" => {
                node.status = NodeStatus::Running;
                node.started_ms = at;
                node.ended_ms = None;
                node.duration_ms = None;
                node.error = None;
                node.error_type = None;
            }
            "node_completed" | "node_failed" => {
                node.duration_ms = data.duration_ms;
                node.ended_ms = at;
                if node.started_ms.is_none() {
                    node.started_ms = at.zip(data.duration_ms).map(|(t, d)| t - d as i64);
                }
                if name == "node_completed" {
                    node.status = NodeStatus::Completed;
                    node.input_tokens = data.input_tokens.unwrap_or(0);
                    node.output_tokens = data.output_tokens.unwrap_or(0);
                    node.model = data.model.as_deref().map(str::to_string);
                    node.cost_usd = data.cost_usd;
                } else {
                    node.status = NodeStatus::Failed;
                    node.error = data.error.as_deref().map(str::to_string);
                    node.error_type = data.error_type.as_deref().map(str::to_string);
                }
            }
            "node_skipped" => {
                node.status = if data.reason.as_deref() == Some("cached_from_checkpoint") {
                    NodeStatus::Cached
                } else {
                    NodeStatus::Skipped
                };
            }
            "timing_metric" if data.name.as_deref() == Some("queue_wait_ms") => {
                node.queue_wait_ms = data.value;
            }
            "provider_retry" => node.retries += 1,
            _ => {}
        }
    }

    /// The runs, in order of first appearance, summarised.
    pub fn finish(self) -> (Vec<RunReport>, Loss) {
        let runs = self
            .runs
            .into_iter()
            .map(|acc| {
                let mut report = acc.report;
                report.nodes = acc.nodes;
                report.summarise(None);
                report
            })
            .collect();
        (runs, self.loss)
    }
}
