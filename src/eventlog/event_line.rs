//! One line of a telemetry file, read for analysis: the envelope and the few `data` fields
//! the reports use, borrowed from the line where possible. Every other field (payloads such
//! as `inputs` and `outputs` included) is skipped without being built.

use std::borrow::Cow;

use serde::Deserialize;

/// The parts of an event line the analysis reads.
#[derive(Debug, Deserialize)]
pub struct EventLine<'a> {
    #[serde(borrow)]
    pub timestamp: Option<Text<'a>>,
    pub seq: Option<u64>,
    #[serde(borrow)]
    pub run_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub parent_run_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub event: Text<'a>,
    #[serde(borrow)]
    pub node_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub data: EventData<'a>,
}

/// The `data` fields the analysis reads (all optional; their meaning depends on the event).
#[derive(Debug, Default, Deserialize)]
pub struct EventData<'a> {
    #[serde(borrow, rename = "type")]
    pub node_type: Option<Text<'a>>,
    pub duration_ms: Option<u64>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    #[serde(borrow)]
    pub model: Option<Text<'a>>,
    pub cost_usd: Option<f64>,
    #[serde(borrow)]
    pub error: Option<Text<'a>>,
    #[serde(borrow)]
    pub error_type: Option<Text<'a>>,
    #[serde(borrow)]
    pub reason: Option<Text<'a>>,
    /// Project name (`workflow_*`) or metric name (`timing_metric`).
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    pub value: Option<f64>,
    pub count: Option<u64>,
    #[serde(borrow)]
    pub sink: Option<Text<'a>>,
    pub dry_run: Option<bool>,
    /// `workflow_started`: the attempt (1, 2...).
    pub attempt: Option<u64>,
    #[serde(borrow)]
    pub failed_node: Option<Text<'a>>,
}

/// A string of the line: borrowed when it has no escapes (the usual case), owned otherwise.
/// (serde borrows a `Cow` only as a field of its own, not inside an `Option`.)
#[derive(Debug)]
pub struct Text<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> serde::de::Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

impl<'a> EventLine<'a> {
    /// Parse one line (without its newline).
    pub fn parse(line: &'a [u8]) -> Result<EventLine<'a>, serde_json::Error> {
        serde_json::from_slice(line)
    }
}
