//! The in-memory sink for tests: a shared buffer that can be read back as lines or as
//! parsed JSON events while the stream is running.

use std::io;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::Sink;
use crate::telemetry::queue::lock;

/// Collects telemetry lines in memory. Clones share the same buffer, so keep one clone to
/// read what the writer thread wrote through the other.
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    bytes: Arc<Mutex<Vec<u8>>>,
    colors: bool,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// An empty sink that asks for colours (to test the human format's colours).
    pub fn with_colors() -> MemorySink {
        MemorySink {
            colors: true,
            ..MemorySink::default()
        }
    }

    /// A boxed clone sharing this buffer, ready to hand to the builder.
    pub fn boxed(&self) -> Box<dyn Sink> {
        Box::new(self.clone())
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.bytes)).into_owned()
    }

    /// The lines written so far, without their `\n`.
    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_string).collect()
    }

    /// The lines written so far, parsed as JSON (a line that is not JSON becomes a string).
    pub fn events(&self) -> Vec<Value> {
        self.lines()
            .into_iter()
            .map(|l| serde_json::from_str(&l).unwrap_or(Value::String(l)))
            .collect()
    }

    /// The parsed events named `name`.
    pub fn events_named(&self, name: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e.get("event").and_then(Value::as_str) == Some(name))
            .collect()
    }

    /// Forgets what was written.
    pub fn clear(&self) {
        lock(&self.bytes).clear();
    }
}

impl Sink for MemorySink {
    fn describe(&self) -> String {
        "memory".to_string()
    }

    fn colors(&self) -> bool {
        self.colors
    }

    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        lock(&self.bytes).extend_from_slice(lines);
        Ok(())
    }
}
