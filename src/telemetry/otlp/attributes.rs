//! An event's `data` as OpenTelemetry attributes, read straight from the typed event through
//! the formats' field visitor (no JSON line written and parsed back): nested objects and
//! payload objects as dotted keys, arrays as JSON text, absent and null values left out.
//! Free text and payloads get the destination's redaction and truncation, exactly as in its
//! lines. The attributes go to an [`AttributeSink`]: OTLP messages being built, or a log
//! record being encoded (`wire`).

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::KeyValue;
use serde_json::{Map, Value};

use super::proto::kv;
use crate::telemetry::event::Event;
use crate::telemetry::fields::DataVisitor;
use crate::telemetry::format::jsonl::write_value;
use crate::telemetry::policy::PayloadPolicy;
use crate::telemetry::redact::REDACTED;

/// One attribute value, borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Attr<'a> {
    Str(&'a str),
    Int(i64),
    Double(f64),
    Bool(bool),
}

/// Where attributes go.
pub trait AttributeSink {
    /// Takes the attribute `key` = `value`.
    fn attr(&mut self, key: &str, value: Attr<'_>);
}

impl AttributeSink for Vec<KeyValue> {
    fn attr(&mut self, key: &str, value: Attr<'_>) {
        self.push(match value {
            Attr::Str(s) => kv(key, s),
            Attr::Int(i) => kv(key, i),
            Attr::Double(f) => kv(key, f),
            Attr::Bool(b) => kv(key, b),
        });
    }
}

/// Gives `out` the attributes of `event`'s data.
pub fn data_attributes(event: &Event, policy: &PayloadPolicy, out: &mut impl AttributeSink) {
    let mut visitor = Attributes {
        out,
        policy,
        prefix: Vec::new(),
    };
    event.visit_data(&mut visitor);
}

struct Attributes<'a, S: AttributeSink> {
    out: &'a mut S,
    policy: &'a PayloadPolicy,
    /// The keys of the nested objects being visited.
    prefix: Vec<&'static str>,
}

impl<S: AttributeSink> Attributes<'_, S> {
    /// The attribute key of field `key` (dotted inside nested objects).
    fn key(&self, key: &'static str) -> Cow<'static, str> {
        if self.prefix.is_empty() {
            Cow::Borrowed(key)
        } else {
            Cow::Owned(format!("{}.{key}", self.prefix.join(".")))
        }
    }

    fn push(&mut self, key: &'static str, value: Attr<'_>) {
        let key = self.key(key);
        self.out.attr(&key, value);
    }

    /// A payload value under the dotted key `key`.
    fn payload_value(&mut self, key: &str, value: &Value) {
        match value {
            Value::Null => {}
            Value::Bool(b) => self.out.attr(key, Attr::Bool(*b)),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => self.out.attr(key, Attr::Int(i)),
                (None, Some(f)) => self.out.attr(key, Attr::Double(f)),
                _ => self.out.attr(key, Attr::Str(&n.to_string())),
            },
            Value::String(s) => {
                let text = self.policy.text(s);
                self.out.attr(key, Attr::Str(&text));
            }
            Value::Object(map) => self.payload_object(key, map),
            Value::Array(_) => {
                let mut text = Vec::new();
                write_value(&mut text, value, self.policy);
                let text = String::from_utf8(text).unwrap_or_default();
                self.out.attr(key, Attr::Str(&text));
            }
        }
    }

    /// An object payload's fields under the dotted key `key` (`key.name`).
    fn payload_object(&mut self, key: &str, map: &Map<String, Value>) {
        for (name, item) in map {
            let nested = format!("{key}.{name}");
            if !item.is_null() && self.policy.redactor().is_secret_key(name) {
                self.out.attr(&nested, Attr::Str(REDACTED));
            } else {
                self.payload_value(&nested, item);
            }
        }
    }
}

impl<S: AttributeSink> DataVisitor for Attributes<'_, S> {
    fn text(&mut self, key: &'static str, value: &str) {
        let value = self.policy.text(value);
        self.push(key, Attr::Str(&value));
    }

    fn label(&mut self, key: &'static str, value: &str) {
        self.push(key, Attr::Str(value));
    }

    fn uint(&mut self, key: &'static str, value: u64) {
        match i64::try_from(value) {
            Ok(v) => self.push(key, Attr::Int(v)),
            Err(_) => self.push(key, Attr::Str(&value.to_string())),
        }
    }

    fn float(&mut self, key: &'static str, value: f64) {
        if value.is_finite() {
            self.push(key, Attr::Double(if value == 0.0 { 0.0 } else { value }));
        }
    }

    fn boolean(&mut self, key: &'static str, value: bool) {
        self.push(key, Attr::Bool(value));
    }

    fn null(&mut self, _key: &'static str) {}

    fn payload(&mut self, key: &'static str, value: &Value) {
        let key = self.key(key);
        self.payload_value(&key, value);
    }

    fn fields(&mut self, key: &'static str, value: &crate::fields::FieldMap) {
        let key = self.key(key);
        // Attributes are flattened per field: held text is parsed here (once per map).
        self.payload_object(&key, value.map());
    }

    fn begin_object(&mut self, key: &'static str) {
        self.prefix.push(key);
    }

    fn end_object(&mut self) {
        self.prefix.pop();
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use serde_json::json;

    use super::*;
    use crate::telemetry::event::fields;
    use crate::telemetry::policy::MAX_PAYLOAD_CHARS;
    use crate::telemetry::redact::Redactor;

    fn attributes(event: &Event) -> Vec<(String, String)> {
        let policy = PayloadPolicy::new(Redactor::new(true, vec![], &[]), Some(MAX_PAYLOAD_CHARS));
        let mut out: Vec<KeyValue> = Vec::new();
        data_attributes(event, &policy, &mut out);
        out.into_iter()
            .map(|kv| {
                let text = match kv.value.and_then(|v| v.value) {
                    Some(Value::StringValue(s)) => s,
                    Some(Value::IntValue(i)) => i.to_string(),
                    Some(Value::DoubleValue(f)) => f.to_string(),
                    Some(Value::BoolValue(b)) => b.to_string(),
                    other => format!("{other:?}"),
                };
                (kv.key, text)
            })
            .collect()
    }

    #[test]
    fn nested_objects_and_payloads_become_dotted_keys_redacted() {
        let event = Event::WorkflowCompleted {
            name: "wf".into(),
            duration_ms: 5,
            succeeded: 2,
            skipped: 1,
            failed: 0,
            cached: 0,
            input_tokens: 3,
            output_tokens: 4,
            cost_usd: f64::NAN,
        };
        let got = attributes(&event);
        assert!(
            got.contains(&("nodes.succeeded".into(), "2".into())),
            "{got:?}"
        );
        assert!(got.contains(&("nodes.skipped".into(), "1".into())));
        assert!(got.contains(&("input_tokens".into(), "3".into())));
        assert!(!got.iter().any(|(k, _)| k == "cost_usd"), "NaN left out");

        let event = Event::InputReceived {
            inputs: fields(json!({
                "q": "key sk-abcdefghijkl here",
                "api_key": "hunter2",
                "deep": {"n": 1, "none": null},
                "list": [1, "sk-abcdefghijkl"],
            })),
        };
        let got = attributes(&event);
        assert_eq!(
            got,
            vec![
                ("inputs.q".to_string(), "key [REDACTED] here".to_string()),
                ("inputs.api_key".into(), "[REDACTED]".into()),
                ("inputs.deep.n".into(), "1".into()),
                ("inputs.list".into(), r#"[1,"[REDACTED]"]"#.into()),
            ]
        );
    }
}
