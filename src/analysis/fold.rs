//! Folding event lines into run reports: one pass, any number of runs (and sub-workflow
//! runs) interleaved, each folded by the one fold (`crate::eventlog::fold::RunState`),
//! attempts appended, in the order lines were written. Also counts what was lost: `seq`
//! gaps within a stream and `telemetry_dropped` reports.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::report::RunReport;
use crate::eventlog::{EventLine, EventVisitor, RunState};

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

/// Accumulates event lines into runs.
#[derive(Default)]
pub struct EventFold {
    runs: Vec<RunState>,
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

    fn run(&mut self, run_id: &str) -> &mut RunState {
        let index = match self.last.filter(|&i| self.runs[i].run_id == run_id) {
            Some(i) => i,
            None => match self.index.get(run_id) {
                Some(&i) => i,
                None => {
                    self.runs.push(RunState::new(run_id));
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
        if &*event.event == "telemetry_dropped" {
            let count = event.data.count.unwrap_or(0);
            self.loss.dropped += count;
            let sink = event.data.sink.as_deref().unwrap_or("unknown").to_string();
            *self.loss.dropped_by_sink.entry(sink).or_default() += count;
        }
        if let Some(run_id) = event.run_id.as_deref() {
            self.run(run_id).apply(event);
        }
    }

    /// The runs, in order of first appearance, summarised.
    pub fn finish(self) -> (Vec<RunReport>, Loss) {
        let runs = self.runs.into_iter().map(RunReport::from_state).collect();
        (runs, self.loss)
    }
}

impl EventVisitor for EventFold {
    fn begin_stream(&mut self) {
        EventFold::begin_stream(self);
    }

    fn event(&mut self, event: &EventLine<'_>, file: &str, line: u64) {
        self.add(event, file, line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::RunStatus;
    use crate::eventlog::read_lines;

    #[test]
    fn seq_gaps_and_drops_are_loss_and_runs_are_reported() {
        let text = "{\"seq\":1,\"run_id\":\"r\",\"event\":\"workflow_started\",\"data\":{}}\n\
                    {\"seq\":3,\"run_id\":\"r\",\"event\":\"node_started\",\"node_id\":\"n\",\"data\":{}}\n\
                    {\"seq\":4,\"event\":\"telemetry_dropped\",\"data\":{\"count\":2,\"sink\":\"otlp\"}}\n\
                    {\"seq\":5,\"run_id\":\"r\",\"event\":\"workflow_completed\",\"data\":{\"duration_ms\":9}}\n";
        let mut fold = EventFold::default();
        let mut skipped = Vec::new();
        read_lines(text.as_bytes(), "t.jsonl", &mut fold, &mut skipped).unwrap();
        assert_eq!(fold.events, 4);
        assert!(skipped.is_empty());
        // seq 1 then 3: one event lost; two more dropped.
        assert_eq!((fold.loss.missing_events, fold.loss.dropped), (1, 2));
        assert_eq!(fold.loss.seq_gaps[0].line, 2);
        let (runs, loss) = fold.finish();
        assert_eq!(loss.dropped_by_sink["otlp"], 2);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, RunStatus::Completed);
        assert_eq!(runs[0].duration_ms, Some(9));
        assert_eq!(runs[0].counts.running, 1);
    }
}
