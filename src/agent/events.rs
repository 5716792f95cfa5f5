//! Where an agent run sends its telemetry events, built only when someone listens, and the
//! size limits applied to what the agent said (tool inputs, malformed lines) before it
//! travels: a tool input can hold a whole file (`Write`), and a line can be megabytes.

use serde_json::Value;

use crate::telemetry::Event;

/// Longest string kept in a tool input or a skipped line, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Most items kept from one array or object of a tool input.
pub const MAX_ITEMS: usize = 100;
/// Deepest nesting kept in a tool input; deeper values become a placeholder string.
pub const MAX_DEPTH: usize = 16;

/// The receiver of an agent run's events (none: events are never even built).
pub struct AgentEvents<'a> {
    sink: Option<&'a mut dyn FnMut(Event)>,
}

impl<'a> AgentEvents<'a> {
    /// Events go nowhere and are not built.
    pub fn none() -> Self {
        AgentEvents { sink: None }
    }

    /// Events go to `sink`, in the order they happen.
    pub fn to(sink: &'a mut dyn FnMut(Event)) -> Self {
        AgentEvents { sink: Some(sink) }
    }

    /// Sends the event `make` builds, if anyone listens.
    pub fn emit(&mut self, make: impl FnOnce() -> Event) {
        if let Some(sink) = self.sink.as_mut() {
            sink(make());
        }
    }
}

/// `text` cut to [`MAX_TEXT_CHARS`] characters, saying how much was cut.
pub fn truncate_text(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        None => text.to_string(),
        Some((cut, _)) => {
            let dropped = text[cut..].chars().count();
            format!("{}...[truncated {dropped} chars]", &text[..cut])
        }
    }
}

/// A tool input with long strings cut, long arrays/objects shortened and deep nesting
/// replaced, so its size is bounded whatever the agent sent.
pub fn truncate_value(value: &Value) -> Value {
    truncate_at(value, 0)
}

fn truncate_at(value: &Value, depth: usize) -> Value {
    match value {
        Value::String(s) => Value::String(truncate_text(s)),
        Value::Array(_) | Value::Object(_) if depth >= MAX_DEPTH => {
            Value::String("[nested too deep]".into())
        }
        Value::Array(items) => {
            let mut kept: Vec<Value> = items
                .iter()
                .take(MAX_ITEMS)
                .map(|v| truncate_at(v, depth + 1))
                .collect();
            if items.len() > MAX_ITEMS {
                kept.push(Value::String(format!(
                    "...[{} more items]",
                    items.len() - MAX_ITEMS
                )));
            }
            Value::Array(kept)
        }
        Value::Object(map) => {
            let mut kept: serde_json::Map<String, Value> = map
                .iter()
                .take(MAX_ITEMS)
                .map(|(k, v)| (truncate_text(k), truncate_at(v, depth + 1)))
                .collect();
            if map.len() > MAX_ITEMS {
                kept.insert(
                    "...".into(),
                    Value::String(format!("[{} more keys]", map.len() - MAX_ITEMS)),
                );
            }
            Value::Object(kept)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_values_are_unchanged() {
        let input = json!({"command": "ls -la", "n": 3, "flags": [true, null]});
        assert_eq!(truncate_value(&input), input);
        assert_eq!(truncate_text("héllo"), "héllo");
    }

    #[test]
    fn long_strings_are_cut_on_char_boundaries() {
        let long = "é".repeat(MAX_TEXT_CHARS + 10);
        let cut = truncate_text(&long);
        assert!(cut.starts_with(&"é".repeat(MAX_TEXT_CHARS)));
        assert!(cut.ends_with("...[truncated 10 chars]"), "{cut}");
        let value = truncate_value(&json!({"content": long}));
        assert_eq!(value["content"], Value::String(cut));
    }

    #[test]
    fn wide_and_deep_values_are_bounded() {
        let wide: Vec<u32> = (0..250).collect();
        let cut = truncate_value(&json!(wide));
        assert_eq!(cut.as_array().unwrap().len(), MAX_ITEMS + 1);
        assert_eq!(cut[MAX_ITEMS], "...[150 more items]");

        let mut deep = json!(1);
        for _ in 0..50 {
            deep = json!([deep]);
        }
        let mut cut = truncate_value(&deep);
        let mut depth = 0;
        while let Value::Array(items) = cut {
            cut = items[0].clone();
            depth += 1;
        }
        assert_eq!(depth, MAX_DEPTH);
        assert_eq!(cut, "[nested too deep]");
    }

    #[test]
    fn events_are_built_only_when_someone_listens() {
        let mut built = false;
        AgentEvents::none().emit(|| {
            built = true;
            Event::AgentTurnStarted {
                turn_number: 1,
                subagent: None,
            }
        });
        assert!(!built);
        let mut seen = Vec::new();
        let mut sink = |e: Event| seen.push(format!("{e:?}"));
        AgentEvents::to(&mut sink).emit(|| Event::AgentTurnStarted {
            turn_number: 1,
            subagent: None,
        });
        assert_eq!(
            seen,
            ["AgentTurnStarted { turn_number: 1, subagent: None }"]
        );
    }
}
