//! One line of a telemetry file, read for analysis: the envelope and the few `data` fields
//! the reports use, borrowed from the line where possible. Every other field (payloads such
//! as `inputs` and `outputs` included) is skipped without being built.

use std::borrow::Cow;

use serde::Deserialize;

/// The parts of an event line the analysis reads.
#[derive(Debug, Deserialize)]
pub struct EventLine<'a> {
    #[serde(borrow)]
    pub timestamp: Option<Cow<'a, str>>,
    pub seq: Option<u64>,
    #[serde(borrow)]
    pub run_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub parent_run_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub event: Cow<'a, str>,
    #[serde(borrow)]
    pub node_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub data: EventData<'a>,
}

/// The `data` fields the analysis reads (all optional; their meaning depends on the event).
#[derive(Debug, Default, Deserialize)]
pub struct EventData<'a> {
    #[serde(borrow, rename = "type")]
    pub node_type: Option<Cow<'a, str>>,
    pub duration_ms: Option<u64>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    #[serde(borrow)]
    pub model: Option<Cow<'a, str>>,
    pub cost_usd: Option<f64>,
    #[serde(borrow)]
    pub error: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub error_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub reason: Option<Cow<'a, str>>,
    /// Project name (`workflow_*`) or metric name (`timing_metric`).
    #[serde(borrow)]
    pub name: Option<Cow<'a, str>>,
    pub value: Option<f64>,
    pub count: Option<u64>,
    #[serde(borrow)]
    pub sink: Option<Cow<'a, str>>,
    pub dry_run: Option<bool>,
    /// `workflow_started`: the attempt (1, 2...).
    pub attempt: Option<u64>,
    #[serde(borrow)]
    pub failed_node: Option<Cow<'a, str>>,
}

impl<'a> EventLine<'a> {
    /// Parse one line (without its newline).
    pub fn parse(line: &'a [u8]) -> Result<EventLine<'a>, serde_json::Error> {
        serde_json::from_slice(line)
    }
}
