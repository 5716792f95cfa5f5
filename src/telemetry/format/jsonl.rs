//! The JSON Lines format: one object per line, fields in a fixed order.
//!
//! ```text
//! {"timestamp":"2026-01-23T10:15:30.123Z","seq":7,"run_id":"0194...","event":"node_completed","level":"INFO","node_id":"greet","data":{"type":"prompt","duration_ms":333,"input_tokens":12,"output_tokens":40}}
//! ```
//! Envelope order: `timestamp`, `seq`, `run_id`, `parent_run_id`?, `parent_node_id`?,
//! `event`, `level`, `node_id`?, `data`. Written by hand into the batch buffer (no
//! intermediate map), strings escaped by serde_json.

use serde_json::{Map, Value};

use super::Envelope;
use super::raw_payload::write_raw;
use crate::fields::{FieldMap, FieldRef};
use crate::telemetry::clock::TimestampText;
use crate::telemetry::event::Event;
use crate::telemetry::fields::DataVisitor;
use crate::telemetry::policy::PayloadPolicy;
use crate::telemetry::redact::REDACTED;

/// Appends one event as a JSON line.
pub(crate) fn write_line(
    envelope: &Envelope<'_>,
    time: &mut TimestampText,
    policy: &PayloadPolicy,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(b"{\"timestamp\":\"");
    time.rfc3339(envelope.unix_millis, out);
    out.extend_from_slice(b"\",\"seq\":");
    write_uint(out, envelope.seq);
    out.extend_from_slice(b",\"run_id\":");
    write_str(out, &envelope.scope.run_id);
    if let Some(parent) = &envelope.scope.parent_run_id {
        out.extend_from_slice(b",\"parent_run_id\":");
        write_str(out, parent);
    }
    if let Some(parent_node) = &envelope.scope.parent_node_id {
        out.extend_from_slice(b",\"parent_node_id\":");
        write_str(out, parent_node);
    }
    out.extend_from_slice(b",\"event\":\"");
    out.extend_from_slice(envelope.event.name().as_bytes());
    out.extend_from_slice(b"\",\"level\":\"");
    out.extend_from_slice(envelope.event.level().as_str().as_bytes());
    out.push(b'"');
    if let Some(node_id) = envelope.node_id {
        out.extend_from_slice(b",\"node_id\":");
        write_str(out, node_id);
    }
    out.extend_from_slice(b",\"data\":");
    write_data(envelope.event, policy, out);
    out.extend_from_slice(b"}\n");
}

/// Appends the `data` object of `event`.
pub(crate) fn write_data(event: &Event, policy: &PayloadPolicy, out: &mut Vec<u8>) {
    out.push(b'{');
    let mut writer = JsonData {
        out,
        policy,
        need_comma: false,
    };
    event.visit_data(&mut writer);
    writer.out.push(b'}');
}

/// The `data` object with nothing redacted or truncated.
pub(crate) fn plain_data(event: &Event) -> Value {
    let mut out = Vec::with_capacity(128);
    write_data(event, &PayloadPolicy::passthrough(), &mut out);
    serde_json::from_slice(&out).unwrap_or(Value::Null)
}

/// Appends a JSON string literal.
#[inline]
pub(crate) fn write_str(out: &mut Vec<u8>, text: &str) {
    // Most strings need no escape (serde_json escapes only `"`, `\\` and control
    // characters): copied whole, in one check and one copy.
    if !needs_escape(text.as_bytes()) {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
        return;
    }
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// Whether `bytes` hold a byte JSON escapes (`"`, `\\` or a control character), tested eight
/// bytes at a time: a byte is below 0x20, or equal to `"` or `\\` (zero after an XOR), when
/// subtracting 0x20 (or 1) from it borrows while its own top bit is clear.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let control = x.wrapping_sub(ONES * 0x20) & !x;
        let quote = (x ^ QUOTES).wrapping_sub(ONES) & !(x ^ QUOTES);
        let backslash = (x ^ BACKSLASHES).wrapping_sub(ONES) & !(x ^ BACKSLASHES);
        if (control | quote | backslash) & TOPS != 0 {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

fn write_uint(out: &mut Vec<u8>, value: u64) {
    let _ = serde_json::to_writer(&mut *out, &value);
}

/// Appends a JSON payload with secret keys hidden and strings redacted and truncated.
pub(crate) fn write_value(out: &mut Vec<u8>, value: &Value, policy: &PayloadPolicy) {
    match value {
        Value::String(s) => write_str(out, &policy.text(s)),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, policy);
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(out, map, policy),
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

/// Appends a JSON object payload, as [`write_value`] writes the same object.
pub(crate) fn write_object(out: &mut Vec<u8>, map: &Map<String, Value>, policy: &PayloadPolicy) {
    let entries = map
        .iter()
        .map(|(key, item)| (key, Some(FieldRef::Value(item))));
    write_entries(out, entries, policy);
}

/// Appends a map of fields as [`write_object`] appends the same map parsed; fields held as
/// JSON text are streamed, not parsed.
pub(crate) fn write_fields(out: &mut Vec<u8>, fields: &FieldMap, policy: &PayloadPolicy) {
    write_entries(out, fields.entries(), policy);
}

/// An object of `entries`, a secret key's value hidden unless it is null.
fn write_entries<'a>(
    out: &mut Vec<u8>,
    entries: impl Iterator<Item = (&'a String, Option<FieldRef<'a>>)>,
    policy: &PayloadPolicy,
) {
    out.push(b'{');
    for (i, (key, field)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, key);
        out.push(b':');
        match field {
            None => out.extend_from_slice(b"null"),
            Some(field) if !field.is_null() && policy.redactor().is_secret_key(key) => {
                write_str(out, REDACTED);
            }
            Some(FieldRef::Value(value)) => write_value(out, value, policy),
            Some(FieldRef::Raw(raw)) => write_raw(out, raw, policy),
        }
    }
    out.push(b'}');
}

struct JsonData<'a> {
    out: &'a mut Vec<u8>,
    policy: &'a PayloadPolicy,
    need_comma: bool,
}

impl JsonData<'_> {
    fn key(&mut self, key: &str) {
        if self.need_comma {
            self.out.push(b',');
        }
        self.need_comma = true;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }
}

impl DataVisitor for JsonData<'_> {
    fn text(&mut self, key: &'static str, value: &str) {
        self.key(key);
        write_str(self.out, &self.policy.text(value));
    }

    fn label(&mut self, key: &'static str, value: &str) {
        self.key(key);
        write_str(self.out, value);
    }

    fn uint(&mut self, key: &'static str, value: u64) {
        self.key(key);
        write_uint(self.out, value);
    }

    fn float(&mut self, key: &'static str, value: f64) {
        self.key(key);
        // `-0.0` (a sum of nothing, a rounding) is written as `0.0`; serde_json writes
        // non-finite numbers as `null`.
        let value = if value == 0.0 { 0.0 } else { value };
        let _ = serde_json::to_writer(&mut *self.out, &value);
    }

    fn boolean(&mut self, key: &'static str, value: bool) {
        self.key(key);
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn null(&mut self, key: &'static str) {
        self.key(key);
        self.out.extend_from_slice(b"null");
    }

    fn payload(&mut self, key: &'static str, value: &Value) {
        self.key(key);
        write_value(self.out, value, self.policy);
    }

    fn fields(&mut self, key: &'static str, value: &FieldMap) {
        self.key(key);
        write_fields(self.out, value, self.policy);
    }

    fn begin_object(&mut self, key: &'static str) {
        self.key(key);
        self.out.push(b'{');
        self.need_comma = false;
    }

    fn end_object(&mut self) {
        self.out.push(b'}');
        self.need_comma = true;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::project::NodeKind;
    use crate::telemetry::event::fields;
    use crate::telemetry::event::{ConditionKind, SkipReason};
    use crate::telemetry::policy::MAX_PAYLOAD_CHARS;
    use crate::telemetry::record::RunScope;
    use crate::telemetry::redact::Redactor;

    fn scope() -> RunScope {
        RunScope {
            run_id: "0194ab12-7c3d".into(),
            parent_run_id: None,
            parent_node_id: None,
            root_run_id: "0194ab12-7c3d".into(),
        }
    }

    fn line(
        event: &Event,
        node_id: Option<&str>,
        scope: &RunScope,
        policy: &PayloadPolicy,
    ) -> Value {
        let mut out = Vec::new();
        let envelope = Envelope {
            unix_millis: 1_769_163_330_123,
            seq: 7,
            scope,
            node_id,
            event,
        };
        write_line(&envelope, &mut TimestampText::default(), policy, &mut out);
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
        assert_eq!(out.last(), Some(&b'\n'));
        serde_json::from_slice(&out).expect("valid JSON")
    }

    #[test]
    fn envelope_shape_and_order() {
        let event = Event::NodeCompleted {
            node_type: NodeKind::Prompt,
            duration_ms: 333,
            input_tokens: 12,
            output_tokens: 40,
            model: None,
            cost_usd: None,
            response_model: None,
            finish_reason: None,
            session_id: None,
        };
        let mut out = Vec::new();
        let scope = scope();
        let envelope = Envelope {
            unix_millis: 1_769_163_330_123,
            seq: 7,
            scope: &scope,
            node_id: Some("greet"),
            event: &event,
        };
        write_line(
            &envelope,
            &mut TimestampText::default(),
            &PayloadPolicy::passthrough(),
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"timestamp\":\"2026-01-23T10:15:30.123Z\",\"seq\":7,\"run_id\":\"0194ab12-7c3d\",\"event\":\"node_completed\",\"level\":\"INFO\",\"node_id\":\"greet\",\"data\":{\"type\":\"prompt\",\"duration_ms\":333,\"input_tokens\":12,\"output_tokens\":40,\"cost_usd\":null}}\n"
        );
    }

    #[test]
    fn payload_lines_are_byte_for_byte_the_documented_shape() {
        // Golden lines (the JSONL envelope is a public contract): shared maps and text are
        // written exactly as the values they stand for, redacted and truncated.
        let policy = PayloadPolicy::new(
            Redactor::new(true, vec!["dotenv-secret".into()], &[]),
            Some(MAX_PAYLOAD_CHARS),
        );
        let inputs = fields(json!({
            "text": "é \"q\"\n\tdotenv-secret",
            "api_key": "k",
            "nested": {"password": null, "list": [1, 2.5, -0.0, true, null]},
        }));
        let scope = scope();
        let golden = |event: &Event| {
            let mut out = Vec::new();
            let envelope = Envelope {
                unix_millis: 1_769_163_330_123,
                seq: 3,
                scope: &scope,
                node_id: Some("n"),
                event,
            };
            write_line(&envelope, &mut TimestampText::default(), &policy, &mut out);
            String::from_utf8(out).unwrap()
        };
        let head =
            "{\"timestamp\":\"2026-01-23T10:15:30.123Z\",\"seq\":3,\"run_id\":\"0194ab12-7c3d\",";
        let data = "{\"text\":\"é \\\"q\\\"\\n\\t[REDACTED]\",\"api_key\":\"[REDACTED]\",\"nested\":{\"password\":null,\"list\":[1,2.5,-0.0,true,null]}}";
        assert_eq!(
            golden(&Event::InputReceived {
                inputs: inputs.clone()
            }),
            format!(
                "{head}\"event\":\"input_received\",\"level\":\"DEBUG\",\"node_id\":\"n\",\"data\":{{\"inputs\":{data}}}}}\n"
            )
        );
        assert_eq!(
            golden(&Event::OutputProduced { outputs: inputs }),
            format!(
                "{head}\"event\":\"output_produced\",\"level\":\"DEBUG\",\"node_id\":\"n\",\"data\":{{\"outputs\":{data}}}}}\n"
            )
        );
        assert_eq!(
            golden(&Event::PromptRendered {
                model: "anthropic/m".into(),
                prompt: "Say hi, sk-abcdefghijkl".into(),
                chars: 23,
            }),
            format!(
                "{head}\"event\":\"prompt_rendered\",\"level\":\"DEBUG\",\"node_id\":\"n\",\"data\":{{\"model\":\"anthropic/m\",\"prompt\":\"Say hi, [REDACTED]\",\"chars\":23}}}}\n"
            )
        );
        // A map payload and the same object as a JSON value give the same bytes.
        let map = fields(json!({"a": {"secret": "s", "b": "x".repeat(1500)}, "c": [1]}));
        let (mut as_map, mut as_value) = (Vec::new(), Vec::new());
        write_object(&mut as_map, &map, &policy);
        write_value(&mut as_value, &Value::Object(map.map().clone()), &policy);
        assert_eq!(as_map, as_value);
        // The same map held as text, written by the visitor's `fields`, gives them too.
        let text = serde_json::to_string(&Value::Object(map.map().clone())).unwrap();
        let held = crate::fields::read_object(&text).unwrap();
        let mut as_held = Vec::new();
        write_fields(&mut as_held, &held, &policy);
        assert!(held.is_lazy());
        assert_eq!(as_held, as_value);
    }

    #[test]
    fn the_escape_test_sees_every_byte_json_escapes_wherever_it_is() {
        let naive = |bytes: &[u8]| bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        for len in 0..20 {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = byte;
                    assert_eq!(
                        needs_escape(&bytes),
                        naive(&bytes),
                        "{byte:#x} at {at}/{len}"
                    );
                }
            }
        }
        for text in [
            "",
            "plain ascii text",
            "é ü 日本語 €",
            "\u{7f}\u{80}\u{ff}",
            "ab\"",
            "\\x",
        ] {
            assert_eq!(
                needs_escape(text.as_bytes()),
                naive(text.as_bytes()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn sub_workflow_envelope() {
        let child = RunScope {
            run_id: "child".into(),
            parent_run_id: Some("parent".into()),
            parent_node_id: Some("loop".into()),
            root_run_id: "parent".into(),
        };
        let v = line(
            &Event::AgentTurnStarted {
                turn_number: 1,
                subagent: None,
            },
            None,
            &child,
            &PayloadPolicy::passthrough(),
        );
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "timestamp",
                "seq",
                "run_id",
                "parent_run_id",
                "parent_node_id",
                "event",
                "level",
                "data"
            ]
        );
        assert_eq!(v["parent_run_id"], "parent");
        assert_eq!(v["parent_node_id"], "loop");
        assert!(v.get("node_id").is_none());
    }

    #[test]
    fn payloads_are_redacted_and_truncated() {
        let policy = PayloadPolicy::new(
            Redactor::new(true, vec!["dotenv-secret-value".into()], &["ssn".into()]),
            Some(MAX_PAYLOAD_CHARS),
        );
        let inputs = json!({
            "topic": "cats",
            "api_key": "plain-looking",
            "nested": {"Authorization": "Bearer abcdefghij", "input_tokens": 5, "list": ["sk-abcdefghijk", "ok"]},
            "note": "uses dotenv-secret-value here",
            "ssn": 123,
            "password": null,
            "long": "z".repeat(1200),
        });
        let v = line(
            &Event::InputReceived {
                inputs: fields(inputs),
            },
            Some("n"),
            &scope(),
            &policy,
        );
        let d = &v["data"]["inputs"];
        assert_eq!(d["topic"], "cats");
        assert_eq!(d["api_key"], "[REDACTED]");
        assert_eq!(d["nested"]["Authorization"], "[REDACTED]");
        assert_eq!(d["nested"]["input_tokens"], 5);
        assert_eq!(d["nested"]["list"][0], "[REDACTED]");
        assert_eq!(d["nested"]["list"][1], "ok");
        assert_eq!(d["note"], "uses [REDACTED] here");
        assert_eq!(d["ssn"], "[REDACTED]");
        assert_eq!(d["password"], Value::Null);
        let long = d["long"].as_str().unwrap();
        assert!(long.starts_with(&"z".repeat(1000)));
        assert!(long.ends_with("...[truncated 200 chars]"));

        let error = Event::NodeFailed {
            node_type: NodeKind::Prompt,
            error: "401: invalid x-api-key sk-ant-api03-secretsecret".into(),
            error_type: "ProviderError".into(),
            duration_ms: 3,
        };
        let v = line(&error, Some("n"), &scope(), &policy);
        assert_eq!(v["data"]["error"], "401: invalid x-api-key [REDACTED]");
        let v = line(&error, Some("n"), &scope(), &PayloadPolicy::passthrough());
        assert!(v["data"]["error"].as_str().unwrap().contains("sk-ant"));
    }

    /// Every variant's `data`, field by field.
    #[test]
    fn every_variant_serialises_to_the_documented_fields() {
        let version = env!("CARGO_PKG_VERSION");
        let cases: Vec<(Event, Value)> = vec![
            (
                Event::WorkflowStarted {
                    name: "demo".into(),
                    entrypoint: "input".into(),
                    dry_run: true,
                    resumed_from: None,
                    attempt: 1,
                },
                json!({"name":"demo","entrypoint":"input","dry_run":true,"trident_version":version,"attempt":1}),
            ),
            (
                Event::WorkflowStarted {
                    name: "demo".into(),
                    entrypoint: "input".into(),
                    dry_run: false,
                    resumed_from: Some("0194".into()),
                    attempt: 2,
                },
                json!({"name":"demo","entrypoint":"input","dry_run":false,"trident_version":version,"resumed_from":"0194","attempt":2}),
            ),
            (
                Event::WorkflowCompleted {
                    name: "demo".into(),
                    duration_ms: 1200,
                    succeeded: 3,
                    skipped: 1,
                    failed: 0,
                    cached: 0,
                    input_tokens: 10,
                    output_tokens: 20,
                    cost_usd: 0.0015,
                },
                json!({"name":"demo","duration_ms":1200,"nodes":{"succeeded":3,"skipped":1,"failed":0,"cached":0},"input_tokens":10,"output_tokens":20,"cost_usd":0.0015}),
            ),
            (
                Event::WorkflowFailed {
                    name: "demo".into(),
                    error: "boom".into(),
                    failed_node: Some("greet".into()),
                    duration_ms: 5,
                },
                json!({"name":"demo","error":"boom","failed_node":"greet","duration_ms":5}),
            ),
            (
                Event::WorkflowFailed {
                    name: "demo".into(),
                    error: "boom".into(),
                    failed_node: None,
                    duration_ms: 5,
                },
                json!({"name":"demo","error":"boom","failed_node":null,"duration_ms":5}),
            ),
            (
                Event::WorkflowInterrupted {
                    name: "demo".into(),
                    signal: "SIGTERM".into(),
                    duration_ms: 9,
                },
                json!({"name":"demo","signal":"SIGTERM","duration_ms":9}),
            ),
            (Event::node_started(NodeKind::Tool), json!({"type":"tool"})),
            (
                Event::NodeCompleted {
                    node_type: NodeKind::Prompt,
                    duration_ms: 333,
                    input_tokens: 12,
                    output_tokens: 40,
                    model: Some("claude-x".into()),
                    cost_usd: Some(0.25),
                    response_model: None,
                    finish_reason: None,
                    session_id: None,
                },
                json!({"type":"prompt","duration_ms":333,"input_tokens":12,"output_tokens":40,"model":"claude-x","cost_usd":0.25}),
            ),
            (
                Event::NodeFailed {
                    node_type: NodeKind::Agent,
                    error: "bad".into(),
                    error_type: "ToolError".into(),
                    duration_ms: 1,
                },
                json!({"type":"agent","error":"bad","error_type":"ToolError","duration_ms":1}),
            ),
            (
                Event::NodeSkipped {
                    reason: SkipReason::EdgeConditionFalse,
                    edge: Some("e1".into()),
                },
                json!({"reason":"edge_condition_false","edge":"e1"}),
            ),
            (
                Event::NodeSkipped {
                    reason: SkipReason::CachedFromCheckpoint,
                    edge: None,
                },
                json!({"reason":"cached_from_checkpoint"}),
            ),
            (
                Event::InputReceived {
                    inputs: fields(json!({"a":1})),
                },
                json!({"inputs":{"a":1}}),
            ),
            (
                Event::OutputProduced {
                    outputs: fields(json!({"text":"hi"})),
                },
                json!({"outputs":{"text":"hi"}}),
            ),
            (
                Event::ConditionEvaluated {
                    kind: ConditionKind::Loop,
                    expression: "x > 1".into(),
                    result: false,
                    edge_id: Some("e2".into()),
                    error: Some("undefined x".into()),
                },
                json!({"kind":"loop","expression":"x > 1","result":false,"edge_id":"e2","error":"undefined x"}),
            ),
            (
                Event::ConditionEvaluated {
                    kind: ConditionKind::Trigger,
                    expression: "true".into(),
                    result: true,
                    edge_id: None,
                    error: None,
                },
                json!({"kind":"trigger","expression":"true","result":true}),
            ),
            (
                Event::TokenUsage {
                    model: "m".into(),
                    input_tokens: 1,
                    output_tokens: 2,
                    cache_read_input_tokens: None,
                    cache_creation_input_tokens: None,
                    cost_usd: None,
                },
                json!({"model":"m","input_tokens":1,"output_tokens":2,"cost_usd":null}),
            ),
            (
                Event::TokenUsage {
                    model: "m".into(),
                    input_tokens: 1,
                    output_tokens: 2,
                    cache_read_input_tokens: Some(3),
                    cache_creation_input_tokens: Some(4),
                    cost_usd: Some(0.25),
                },
                json!({"model":"m","input_tokens":1,"output_tokens":2,
                       "cache_read_input_tokens":3,"cache_creation_input_tokens":4,
                       "cost_usd":0.25}),
            ),
            (
                Event::PromptRendered {
                    model: "anthropic/m".into(),
                    prompt: "Hello Ada".into(),
                    chars: 9,
                },
                json!({"model":"anthropic/m","prompt":"Hello Ada","chars":9}),
            ),
            (
                Event::PriceUnknown {
                    model: "openai/local".into(),
                },
                json!({"model":"openai/local"}),
            ),
            (
                Event::CostIncurred {
                    cost_usd: 0.5,
                    total_cost_usd: 1.5,
                },
                json!({"cost_usd":0.5,"total_cost_usd":1.5}),
            ),
            (
                Event::TimingMetric {
                    name: "provider_latency_ms",
                    value: 12.5,
                },
                json!({"name":"provider_latency_ms","value":12.5}),
            ),
            (
                Event::ProviderRetry {
                    provider: "anthropic".into(),
                    attempt: 2,
                    status: Some(429),
                    error: "rate limited".into(),
                    delay_ms: 1000,
                },
                json!({"provider":"anthropic","attempt":2,"status":429,"error":"rate limited","delay_ms":1000}),
            ),
            (
                Event::ProviderRetry {
                    provider: "openai".into(),
                    attempt: 1,
                    status: None,
                    error: "timeout".into(),
                    delay_ms: 500,
                },
                json!({"provider":"openai","attempt":1,"error":"timeout","delay_ms":500}),
            ),
            (
                Event::CheckpointSaved {
                    completed_nodes: 2,
                    pending_nodes: 3,
                    total_cost_usd: 0.0,
                    path: "/r/checkpoint.json".into(),
                },
                json!({"completed_nodes":2,"pending_nodes":3,"total_cost_usd":0.0,"path":"/r/checkpoint.json"}),
            ),
            (
                Event::ArtifactSaved {
                    kind: "trace",
                    path: "/r/trace.json".into(),
                    bytes: 99,
                },
                json!({"kind":"trace","path":"/r/trace.json","bytes":99}),
            ),
            (
                Event::SignalEmitted {
                    signal_type: "completed".into(),
                    workflow: "wf".into(),
                    path: "/s".into(),
                },
                json!({"signal_type":"completed","workflow":"wf","path":"/s"}),
            ),
            (
                Event::SignalReceived {
                    signal: "wf.completed".into(),
                    path: "/s".into(),
                    waited_ms: 40,
                },
                json!({"signal":"wf.completed","path":"/s","waited_ms":40}),
            ),
            (
                Event::BranchIteration {
                    iteration: 2,
                    max_iterations: 5,
                    continues: true,
                },
                json!({"iteration":2,"max_iterations":5,"continue":true}),
            ),
            (
                Event::AgentTurnStarted {
                    turn_number: 1,
                    subagent: None,
                },
                json!({"turn_number":1}),
            ),
            (
                Event::AgentTurnCompleted {
                    turn_number: 1,
                    tool_calls: 2,
                    input_tokens: Some(3),
                    output_tokens: None,
                    subagent: None,
                },
                json!({"turn_number":1,"tool_calls":2,"input_tokens":3}),
            ),
            (
                Event::AgentToolCalled {
                    tool_name: "Read".into(),
                    tool_input: json!({"file_path":"/x"}),
                    subagent: None,
                },
                json!({"tool_name":"Read","tool_input":{"file_path":"/x"}}),
            ),
            (
                Event::AgentTurnCompleted {
                    turn_number: 2,
                    tool_calls: 0,
                    input_tokens: None,
                    output_tokens: Some(51),
                    subagent: Some("toolu_A".into()),
                },
                json!({"turn_number":2,"tool_calls":0,"output_tokens":51,"subagent":"toolu_A"}),
            ),
            (
                Event::AgentPermissionDenied {
                    tool_name: "Bash".into(),
                    tool_input: Some(json!({"command":"rm -rf x"})),
                    reason: Some("needs approval".into()),
                },
                json!({"tool_name":"Bash","tool_input":{"command":"rm -rf x"},"reason":"needs approval"}),
            ),
            (
                Event::AgentNotice {
                    kind: "rate_limit_event".into(),
                    detail: json!({"rate_limit_info":{"status":"allowed_warning"}}),
                },
                json!({"kind":"rate_limit_event","detail":{"rate_limit_info":{"status":"allowed_warning"}}}),
            ),
            (
                Event::AgentOutputSkipped {
                    line: "{not json".into(),
                    error: "EOF while parsing".into(),
                },
                json!({"line":"{not json","error":"EOF while parsing"}),
            ),
            (
                Event::TelemetryDropped {
                    sink: "queue".into(),
                    count: 4,
                    reason: "queue full".into(),
                },
                json!({"sink":"queue","count":4,"reason":"queue full"}),
            ),
            (
                Event::ToolEvent {
                    name: "rows_fetched".into(),
                    level: crate::telemetry::Level::Warning,
                    data: json!({"count":120,"api_key":"k"}),
                },
                json!({"name":"rows_fetched","data":{"count":120,"api_key":"k"}}),
            ),
            (
                Event::ToolOutput {
                    line: "fetching page 2".into(),
                },
                json!({"line":"fetching page 2"}),
            ),
            (
                Event::OtlpExportFailed {
                    endpoint: "http://c:4318/v1/traces".into(),
                    error: "connection refused".into(),
                    dropped: 12,
                },
                json!({"endpoint":"http://c:4318/v1/traces","error":"connection refused","dropped":12}),
            ),
            (
                Event::HookFailed {
                    hook: "run ./notify.sh".into(),
                    error: "exited with status 1".into(),
                },
                json!({"hook":"run ./notify.sh","error":"exited with status 1"}),
            ),
        ];
        let mut seen = std::collections::HashSet::new();
        for (event, data) in cases {
            seen.insert(event.kind());
            let v = line(&event, Some("n"), &scope(), &PayloadPolicy::passthrough());
            assert_eq!(v["event"], event.name());
            assert_eq!(v["level"], event.level().as_str());
            if let Event::ToolEvent { level, .. } = &event {
                // The level the tool gave, not the catalogue's INFO.
                assert_eq!(v["level"], level.as_str());
            }
            assert_eq!(v["data"], data, "{}", event.name());
            // Field order is the documented order, too.
            let got: Vec<&String> = v["data"].as_object().unwrap().keys().collect();
            let want: Vec<&String> = data.as_object().unwrap().keys().collect();
            assert_eq!(got, want, "{}", event.name());
            assert_eq!(event.data(), data);
        }
        assert_eq!(
            seen.len(),
            crate::telemetry::EventKind::ALL.len(),
            "every variant covered"
        );
    }

    #[test]
    fn non_finite_floats_are_null_and_strings_escaped() {
        let v = line(
            &Event::CostIncurred {
                cost_usd: f64::NAN,
                total_cost_usd: f64::INFINITY,
            },
            Some("quote\"d\nnode"),
            &scope(),
            &PayloadPolicy::passthrough(),
        );
        assert_eq!(v["data"]["cost_usd"], Value::Null);
        assert_eq!(v["node_id"], "quote\"d\nnode");
        let v = line(
            &Event::CostIncurred {
                cost_usd: -0.0,
                total_cost_usd: 0.5,
            },
            None,
            &scope(),
            &PayloadPolicy::passthrough(),
        );
        assert_eq!(v["data"]["cost_usd"].to_string(), "0.0");
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;
        use crate::eventlog::EventLine;

        fn json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<f64>()
                    .prop_filter_map("finite", serde_json::Number::from_f64)
                    .prop_map(Value::Number),
                "\\PC{0,12}".prop_map(Value::String),
            ];
            leaf.prop_recursive(4, 32, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::vec(("\\PC{1,6}", inner), 0..4)
                        .prop_map(|kv| Value::Object(kv.into_iter().collect())),
                ]
            })
        }

        fn event() -> impl Strategy<Value = Event> {
            prop_oneof![
                json().prop_map(|outputs| Event::OutputProduced {
                    outputs: fields(outputs),
                }),
                json().prop_map(|inputs| Event::InputReceived {
                    inputs: fields(inputs),
                }),
                ("\\PC{0,30}", "\\PC{0,10}", any::<u64>()).prop_map(|(error, error_type, ms)| {
                    Event::NodeFailed {
                        node_type: NodeKind::Tool,
                        error,
                        error_type,
                        duration_ms: ms,
                    }
                }),
                ("\\PC{0,30}", any::<bool>()).prop_map(|(expression, result)| {
                    Event::ConditionEvaluated {
                        kind: ConditionKind::Edge,
                        expression,
                        result,
                        edge_id: Some("e".into()),
                        error: None,
                    }
                }),
            ]
        }

        /// A secret as `.env` values look: long enough, not a number or a common word.
        fn secret() -> impl Strategy<Value = String> {
            "[a-z]{3}[A-Za-z0-9_-]{6,14}"
        }

        /// `value` with `secret` put somewhere in it: as a value, inside a longer string,
        /// at some depth.
        fn with_secret(value: Value, secret: &str, where_: usize) -> Value {
            let placed = match where_ % 3 {
                0 => Value::String(secret.to_string()),
                1 => Value::String(format!("before {secret} after")),
                _ => Value::String(format!("{secret}{secret}")),
            };
            match value {
                Value::Object(mut map) if !map.is_empty() && where_.is_multiple_of(2) => {
                    let key = map
                        .keys()
                        .nth(where_ % map.len())
                        .cloned()
                        .unwrap_or_default();
                    let inner = map.remove(&key).unwrap_or(Value::Null);
                    map.insert(key, with_secret(inner, secret, where_ / 2));
                    Value::Object(map)
                }
                Value::Array(mut items) if !items.is_empty() => {
                    let at = where_ % items.len();
                    let inner = std::mem::take(&mut items[at]);
                    items[at] = with_secret(inner, secret, where_ / 2);
                    Value::Array(items)
                }
                other => json!({"kept": other, "value": placed}),
            }
        }

        proptest! {
            #[test]
            fn a_written_line_parses_back_to_the_same_event(
                event in event(),
                run_id in "\\PC{1,12}",
                parent in proptest::option::of(("\\PC{1,8}", "\\PC{1,8}")),
                node_id in proptest::option::of("\\PC{1,8}"),
                seq in any::<u64>(),
            ) {
                let scope = RunScope {
                    run_id: run_id.clone(),
                    parent_run_id: parent.as_ref().map(|p| p.0.clone()),
                    parent_node_id: parent.as_ref().map(|p| p.1.clone()),
                    root_run_id: run_id.clone(),
                };
                let mut out = Vec::new();
                let envelope = Envelope {
                    unix_millis: 1_769_163_330_123,
                    seq,
                    scope: &scope,
                    node_id: node_id.as_deref(),
                    event: &event,
                };
                write_line(&envelope, &mut TimestampText::default(), &PayloadPolicy::passthrough(), &mut out);
                prop_assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
                let v: Value = serde_json::from_slice(&out).expect("one JSON object");
                prop_assert_eq!(&v["seq"], &json!(seq));
                prop_assert_eq!(&v["run_id"], &json!(run_id));
                let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
                prop_assert_eq!(text(v.get("parent_run_id")), scope.parent_run_id.clone());
                prop_assert_eq!(text(v.get("parent_node_id")), scope.parent_node_id.clone());
                prop_assert_eq!(text(v.get("node_id")), node_id.clone());
                prop_assert_eq!(&v["event"], &json!(event.name()));
                prop_assert_eq!(&v["level"], &json!(event.level().as_str()));
                prop_assert_eq!(&v["data"], &plain_data(&event));
                // The analysis reader sees the same envelope.
                let line = EventLine::parse(&out[..out.len() - 1]).expect("an event line");
                prop_assert_eq!(&*line.event, event.name());
                prop_assert_eq!(line.seq, Some(seq));
                prop_assert_eq!(line.run_id.as_deref(), Some(run_id.as_str()));
                prop_assert_eq!(line.node_id.as_deref(), node_id.as_deref());
            }

            #[test]
            fn a_secret_value_never_survives_redaction(
                value in json(),
                secret in secret(),
                where_ in any::<usize>(),
            ) {
                let inputs = with_secret(value, &secret, where_);
                prop_assert!(inputs.to_string().contains(&secret));
                let policy = PayloadPolicy::new(Redactor::new(true, vec![secret.clone()], &[]), None);
                let inputs = fields(inputs);
                let v = line(&Event::InputReceived { inputs }, Some("n"), &scope(), &policy);
                let text = v.to_string();
                prop_assert!(!text.contains(&secret), "{} in {}", secret, text);
            }

            #[test]
            fn fields_held_as_text_write_as_their_parsed_value(
                value in json(),
                secret in secret(),
                where_ in any::<usize>(),
                secret_key in prop::sample::select(vec!["api_key", "password", "name"]),
                max_chars in proptest::option::of(1usize..20),
            ) {
                // Secret keys, secret values and truncation all apply to held text as they
                // apply to the parsed value.
                let value = json!({secret_key: value.clone(), "v": with_secret(value, &secret, where_)});
                let policy = PayloadPolicy::new(Redactor::new(true, vec![secret.clone()], &[]), max_chars);
                // Both read from the same text, as a run reads its input either way.
                let text = value.to_string();
                let value: Value = serde_json::from_str(&text).unwrap();
                let parsed = fields(value.clone());
                let held = crate::fields::read_object(&text).expect("an object");
                prop_assert!(held.is_lazy());
                let (mut from_parsed, mut from_held) = (Vec::new(), Vec::new());
                write_fields(&mut from_parsed, &parsed, &policy);
                write_fields(&mut from_held, &held, &policy);
                prop_assert_eq!(String::from_utf8_lossy(&from_held), String::from_utf8_lossy(&from_parsed));
                prop_assert!(held.is_lazy(), "writing did not parse");
                // And written as artifacts are (serde, pretty), they are the parsed value's bytes.
                prop_assert_eq!(
                    serde_json::to_string_pretty(&*held).unwrap(),
                    serde_json::to_string_pretty(&value).unwrap()
                );
            }
        }
    }
}
