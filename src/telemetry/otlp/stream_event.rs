//! One line of the JSON Lines stream, read back: the exporter builds its spans and log
//! records from exactly what the stream says.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::{Map, Value};

/// An event as written in the jsonl format.
#[derive(Debug, Clone, Deserialize)]
pub struct StreamEvent {
    /// RFC 3339 time stamp with milliseconds.
    pub timestamp: String,
    pub seq: u64,
    pub run_id: String,
    #[serde(default)]
    pub parent_run_id: Option<String>,
    #[serde(default)]
    pub parent_node_id: Option<String>,
    pub event: String,
    pub level: String,
    #[serde(default)]
    pub node_id: Option<String>,
    #[serde(default)]
    pub data: Map<String, Value>,
}

impl StreamEvent {
    /// Parses one line; `None` when it is not an event of the jsonl format.
    pub fn parse(line: &[u8]) -> Option<StreamEvent> {
        serde_json::from_slice(line).ok()
    }

    /// The time stamp as a system time (the Unix epoch when unreadable).
    pub fn time(&self) -> SystemTime {
        chrono::DateTime::parse_from_rfc3339(&self.timestamp)
            .ok()
            .and_then(|t| u64::try_from(t.timestamp_millis()).ok())
            .map_or(UNIX_EPOCH, |ms| UNIX_EPOCH + Duration::from_millis(ms))
    }

    /// A text field of `data`.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }

    /// An unsigned integer field of `data`.
    pub fn uint(&self, key: &str) -> Option<u64> {
        self.data.get(key).and_then(Value::as_u64)
    }

    /// A number field of `data`.
    pub fn float(&self, key: &str) -> Option<f64> {
        self.data.get(key).and_then(Value::as_f64)
    }
}
