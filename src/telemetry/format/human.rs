//! The human format: one readable line per event.
//!
//! ```text
//! [2026-01-23 10:15:30.123] [INFO] NODE_COMPLETED run=0194ab12 node=greet type=prompt duration=333ms tokens=12+40
//! ```
//! Timestamp (UTC), level, event name in capitals, the run id cut to 8 characters
//! (sub-workflows add `parent_run=` and `parent_node=`), `node=`, then `key=value` for each
//! field of `data`: `*_ms` fields lose the suffix and gain a `ms` unit, an `input_tokens` /
//! `output_tokens` pair becomes `tokens=IN+OUT` (left out when both are 0: no model was
//! called), nested objects are flattened, JSON payloads are shown compact. Values longer
//! than [`MAX_VALUE_CHARS`] are cut with `...` (an `error` only after [`MAX_ERROR_CHARS`],
//! and never at `debug`); values
//! with spaces are quoted; control characters are escaped so a value cannot forge a line
//! or a terminal escape. Colours (level and event name) only when the sink asks for them.

use serde_json::{Map, Value};

use super::Envelope;
use super::jsonl;
use crate::telemetry::catalogue::Level;
use crate::telemetry::clock::TimestampText;
use crate::telemetry::fields::DataVisitor;
use crate::telemetry::policy::PayloadPolicy;

/// Values longer than this many characters are cut with `...` in the human format.
pub const MAX_VALUE_CHARS: usize = 80;

/// Error messages are cut no shorter than this (never at `debug`, where the payload policy
/// keeps text whole): the end of an error is often what says what went wrong.
pub const MAX_ERROR_CHARS: usize = 300;

/// How many characters of a run id are shown.
const RUN_ID_CHARS: usize = 8;

const RESET: &[u8] = b"\x1b[0m";
const BOLD: &[u8] = b"\x1b[1m";

fn level_color(level: Level) -> &'static [u8] {
    match level {
        Level::Error => b"\x1b[1;31m",
        Level::Warning => b"\x1b[33m",
        Level::Info => b"\x1b[32m",
        Level::Debug => b"\x1b[2m",
    }
}

/// Appends one event as a human line.
pub(crate) fn write_line(
    envelope: &Envelope<'_>,
    time: &mut TimestampText,
    policy: &PayloadPolicy,
    colors: bool,
    out: &mut Vec<u8>,
) {
    let event = envelope.event;
    out.push(b'[');
    time.human(envelope.unix_millis, out);
    push_head(out, event.level(), event.name(), colors);
    let scope = envelope.scope;
    push_pair(out, "run", short_id(&scope.run_id));
    if let Some(parent) = &scope.parent_run_id {
        push_pair(out, "parent_run", short_id(parent));
    }
    if let Some(parent_node) = &scope.parent_node_id {
        push_pair(out, "parent_node", parent_node);
    }
    if let Some(node_id) = envelope.node_id {
        push_pair(out, "node", node_id);
    }
    let mut data = HumanData {
        out,
        policy,
        input_tokens: None,
    };
    event.visit_data(&mut data);
    data.flush_tokens();
    out.push(b'\n');
}

/// One event of the jsonl format, parsed back (as readers of event files have it), as the
/// same human line the stream would have written; its payload is already redacted and
/// truncated. Data fields keep their order; an object of numbers (`nodes`) is flattened,
/// other objects and arrays are shown as compact JSON.
pub fn human_line(event: &Map<String, Value>, colors: bool) -> String {
    let text = |key: &str| event.get(key).and_then(Value::as_str).unwrap_or("");
    let level = match text("level") {
        "ERROR" => Level::Error,
        "WARNING" => Level::Warning,
        "DEBUG" => Level::Debug,
        _ => Level::Info,
    };
    let timestamp = text("timestamp").replace('T', " ");
    let mut out = Vec::new();
    out.push(b'[');
    out.extend_from_slice(timestamp.trim_end_matches('Z').as_bytes());
    push_head(&mut out, level, text("event"), colors);
    for (key, short) in [("run_id", "run"), ("parent_run_id", "parent_run")] {
        if let Some(id) = event.get(key).and_then(Value::as_str) {
            push_pair(&mut out, short, short_id(id));
        }
    }
    for (key, short) in [("parent_node_id", "parent_node"), ("node_id", "node")] {
        if let Some(id) = event.get(key).and_then(Value::as_str) {
            push_pair(&mut out, short, id);
        }
    }
    let policy = PayloadPolicy::passthrough();
    let mut data = HumanData {
        out: &mut out,
        policy: &policy,
        input_tokens: None,
    };
    if let Some(Value::Object(fields)) = event.get("data") {
        for (key, value) in fields {
            data.json_field(key, value);
        }
    }
    data.flush_tokens();
    out.push(b'\n');
    String::from_utf8_lossy(&out).into_owned()
}

fn short_id(id: &str) -> &str {
    match id.char_indices().nth(RUN_ID_CHARS) {
        Some((cut, _)) => &id[..cut],
        None => id,
    }
}

/// Appends `] [LEVEL] EVENT_NAME` (after the timestamp), coloured if asked.
fn push_head(out: &mut Vec<u8>, level: Level, name: &str, colors: bool) {
    out.extend_from_slice(b"] [");
    if colors {
        out.extend_from_slice(level_color(level));
    }
    out.extend_from_slice(level.as_str().as_bytes());
    if colors {
        out.extend_from_slice(RESET);
    }
    out.extend_from_slice(b"] ");
    if colors {
        out.extend_from_slice(BOLD);
    }
    out.extend(name.bytes().map(|b| b.to_ascii_uppercase()));
    if colors {
        out.extend_from_slice(RESET);
    }
}

/// Appends ` key=value`, cutting, quoting and escaping the value as needed.
fn push_pair(out: &mut Vec<u8>, key: &str, value: &str) {
    push_pair_cut(out, key, value, Some(MAX_VALUE_CHARS));
}

/// [`push_pair`] with the value cut after `max_chars` characters (`None`: never).
fn push_pair_cut(out: &mut Vec<u8>, key: &str, value: &str, max_chars: Option<usize>) {
    out.push(b' ');
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    push_value(out, value, max_chars);
}

fn push_value(out: &mut Vec<u8>, value: &str, max_chars: Option<usize>) {
    let (shown, cut) = match max_chars.and_then(|max| value.char_indices().nth(max)) {
        Some((at, _)) => (&value[..at], true),
        None => (value, false),
    };
    let quote = value.is_empty() || value.chars().any(char::is_whitespace);
    if quote {
        out.push(b'"');
    }
    for c in shown.chars() {
        match c {
            '"' if quote => out.extend_from_slice(b"\\\""),
            '\\' if quote => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if c.is_control() => {
                out.extend_from_slice(format!("\\u{{{:x}}}", u32::from(c)).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    if cut {
        out.extend_from_slice(b"...");
    }
    if quote {
        out.push(b'"');
    }
}

struct HumanData<'a> {
    out: &'a mut Vec<u8>,
    policy: &'a PayloadPolicy,
    /// An `input_tokens` waiting for its `output_tokens` to make `tokens=IN+OUT`.
    input_tokens: Option<u64>,
}

impl HumanData<'_> {
    fn flush_tokens(&mut self) {
        if let Some(n) = self.input_tokens.take() {
            push_pair(self.out, "input_tokens", &n.to_string());
        }
    }
}

impl HumanData<'_> {
    fn text_field(&mut self, key: &str, value: &str) {
        self.flush_tokens();
        let max_chars = match key {
            "error" => self.policy.max_chars().map(|_| MAX_ERROR_CHARS),
            _ => Some(MAX_VALUE_CHARS),
        };
        push_pair_cut(self.out, key, &self.policy.text(value), max_chars);
    }

    fn uint_field(&mut self, key: &str, value: u64) {
        match key {
            "input_tokens" => {
                self.flush_tokens();
                self.input_tokens = Some(value);
            }
            "output_tokens" => match self.input_tokens.take() {
                // A node that called no model: nothing to say.
                Some(0) if value == 0 => {}
                Some(input) => push_pair(self.out, "tokens", &format!("{input}+{value}")),
                None => push_pair(self.out, key, &value.to_string()),
            },
            _ => {
                self.flush_tokens();
                match key.strip_suffix("_ms") {
                    Some(short) => push_pair(self.out, short, &format!("{value}ms")),
                    None => push_pair(self.out, key, &value.to_string()),
                }
            }
        }
    }

    fn float_field(&mut self, key: &str, value: f64) {
        self.flush_tokens();
        let value = if value == 0.0 { 0.0 } else { value };
        let text = serde_json::to_string(&value).unwrap_or_default();
        push_pair(self.out, key, &text);
    }

    fn boolean_field(&mut self, key: &str, value: bool) {
        self.flush_tokens();
        push_pair(self.out, key, if value { "true" } else { "false" });
    }

    fn payload_field(&mut self, key: &str, value: &Value) {
        let mut json = Vec::new();
        jsonl::write_value(&mut json, value, self.policy);
        self.json_pair(key, &json);
    }

    /// ` key=<json text>` of a payload written by the JSON Lines format.
    fn json_pair(&mut self, key: &str, json: &[u8]) {
        self.flush_tokens();
        push_pair(self.out, key, &String::from_utf8_lossy(json));
    }

    /// A field read back from a jsonl line.
    fn json_field(&mut self, key: &str, value: &Value) {
        match value {
            Value::String(text) => self.text_field(key, text),
            Value::Bool(b) => self.boolean_field(key, *b),
            Value::Null => self.flush_tokens(),
            Value::Number(n) => match n.as_u64() {
                Some(u) => self.uint_field(key, u),
                None => self.float_field(key, n.as_f64().unwrap_or_default()),
            },
            Value::Object(fields) if fields.values().all(Value::is_number) => {
                self.flush_tokens();
                for (key, value) in fields {
                    self.json_field(key, value);
                }
                self.flush_tokens();
            }
            other => self.payload_field(key, other),
        }
    }
}

impl DataVisitor for HumanData<'_> {
    fn text(&mut self, key: &'static str, value: &str) {
        self.text_field(key, value);
    }

    fn label(&mut self, key: &'static str, value: &str) {
        self.flush_tokens();
        push_pair(self.out, key, value);
    }

    fn uint(&mut self, key: &'static str, value: u64) {
        self.uint_field(key, value);
    }

    fn float(&mut self, key: &'static str, value: f64) {
        self.float_field(key, value);
    }

    fn boolean(&mut self, key: &'static str, value: bool) {
        self.boolean_field(key, value);
    }

    fn null(&mut self, _key: &'static str) {
        self.flush_tokens();
    }

    fn payload(&mut self, key: &'static str, value: &Value) {
        self.payload_field(key, value);
    }

    fn fields(&mut self, key: &'static str, value: &crate::fields::FieldMap) {
        let mut json = Vec::new();
        jsonl::write_fields(&mut json, value, self.policy);
        self.json_pair(key, &json);
    }

    fn begin_object(&mut self, _key: &'static str) {
        self.flush_tokens();
    }

    fn end_object(&mut self) {
        self.flush_tokens();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::project::NodeKind;
    use crate::telemetry::event::fields;
    use crate::telemetry::event::{Event, SkipReason};
    use crate::telemetry::record::RunScope;
    use crate::telemetry::redact::Redactor;

    fn render(events: &[(Option<&str>, Event)], colors: bool, child: bool) -> String {
        let scope = RunScope {
            run_id: if child {
                "0194cd34-child"
            } else {
                "0194ab12-7c3d-7000-8000-1234"
            }
            .into(),
            parent_run_id: child.then(|| "0194ab12-7c3d-7000-8000-1234".to_string()),
            parent_node_id: child.then(|| "review_loop".to_string()),
            root_run_id: "0194ab12".into(),
        };
        let policy = PayloadPolicy::new(Redactor::new(true, vec![], &[]), Some(1000));
        let mut time = TimestampText::default();
        let mut out = Vec::new();
        for (i, (node, event)) in events.iter().enumerate() {
            let envelope = Envelope {
                unix_millis: 1_769_163_330_123 + 111 * i as u64,
                seq: i as u64 + 1,
                scope: &scope,
                node_id: *node,
                event,
            };
            write_line(&envelope, &mut time, &policy, colors, &mut out);
        }
        String::from_utf8(out).unwrap()
    }

    fn sample() -> Vec<(Option<&'static str>, Event)> {
        vec![
            (
                None,
                Event::WorkflowStarted {
                    name: "newsletter".into(),
                    entrypoint: "input".into(),
                    dry_run: false,
                    resumed_from: None,
                    attempt: 1,
                },
            ),
            (Some("greet"), Event::node_started(NodeKind::Prompt)),
            (
                Some("greet"),
                Event::NodeCompleted {
                    node_type: NodeKind::Prompt,
                    duration_ms: 333,
                    input_tokens: 12,
                    output_tokens: 40,
                    model: None,
                    cost_usd: None,
                    response_model: None,
                    finish_reason: None,
                    session_id: None,
                },
            ),
            (
                Some("greet"),
                Event::OutputProduced {
                    outputs: fields(json!({"text": "Hello there", "api_key": "x", "n": [1, 2]})),
                },
            ),
            (
                Some("check"),
                Event::NodeSkipped {
                    reason: SkipReason::EdgeConditionFalse,
                    edge: Some("greet->check".into()),
                },
            ),
            (
                Some("fetch"),
                Event::NodeFailed {
                    node_type: NodeKind::Tool,
                    error: format!(
                        "exit status 1: {} with Bearer abcdefghijkl",
                        "very long message ".repeat(6)
                    ),
                    error_type: "ToolError".into(),
                    duration_ms: 12,
                },
            ),
            (
                Some("agent"),
                Event::AgentTurnCompleted {
                    turn_number: 2,
                    tool_calls: 1,
                    input_tokens: Some(5),
                    output_tokens: None,
                    subagent: None,
                },
            ),
            (
                None,
                Event::WorkflowCompleted {
                    name: "newsletter".into(),
                    duration_ms: 1500,
                    succeeded: 3,
                    skipped: 1,
                    failed: 0,
                    cached: 0,
                    input_tokens: 12,
                    output_tokens: 40,
                    cost_usd: 0.0012,
                },
            ),
        ]
    }

    fn failed_line(policy: &PayloadPolicy, error: &str) -> String {
        let scope = RunScope {
            run_id: "r".into(),
            parent_run_id: None,
            parent_node_id: None,
            root_run_id: "r".into(),
        };
        let event = Event::NodeFailed {
            node_type: NodeKind::Tool,
            error: error.into(),
            error_type: "ToolError".into(),
            duration_ms: 1,
        };
        let envelope = Envelope {
            unix_millis: 0,
            seq: 1,
            scope: &scope,
            node_id: Some("t"),
            event: &event,
        };
        let mut out = Vec::new();
        write_line(
            &envelope,
            &mut TimestampText::default(),
            policy,
            false,
            &mut out,
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn errors_are_cut_late_and_never_at_debug() {
        let error = format!("{}END", "x".repeat(400));
        let normal = PayloadPolicy::new(Redactor::new(true, vec![], &[]), Some(1000));
        let line = failed_line(&normal, &error);
        assert!(
            line.contains(&format!("error={}...", "x".repeat(300))),
            "{line}"
        );
        let debug = PayloadPolicy::new(Redactor::new(true, vec![], &[]), None);
        assert!(failed_line(&debug, &error).contains("END"));
    }

    #[test]
    fn human_lines() {
        insta::assert_snapshot!(render(&sample(), false, false));
    }

    #[test]
    fn human_lines_of_a_sub_workflow() {
        let events = vec![(
            Some("draft"),
            Event::BranchIteration {
                iteration: 2,
                max_iterations: 5,
                continues: true,
            },
        )];
        insta::assert_snapshot!(render(&events, false, true));
    }

    #[test]
    fn human_lines_with_colours() {
        let text = render(&sample()[..2], true, false);
        insta::assert_snapshot!(text.replace('\x1b', "<ESC>"));
        assert!(!render(&sample(), false, false).contains('\x1b'));
    }

    #[test]
    fn the_documented_example() {
        let line = render(&sample()[2..3], false, false);
        assert_eq!(
            line,
            "[2026-01-23 10:15:30.123] [INFO] NODE_COMPLETED run=0194ab12 node=greet type=prompt duration=333ms tokens=12+40\n"
        );
    }

    #[test]
    fn values_cannot_forge_lines_or_escapes() {
        let mut out = Vec::new();
        push_pair(&mut out, "k", "a\nb\x1b[31m");
        assert_eq!(String::from_utf8(out).unwrap(), " k=\"a\\nb\\u{1b}[31m\"");
        let mut out = Vec::new();
        push_pair(&mut out, "k", "");
        assert_eq!(out, b" k=\"\"");
    }
}
