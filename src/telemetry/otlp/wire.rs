//! OTLP protobuf on the wire, written as the records are made: a log record is encoded
//! straight from its event into the batch's bytes, a span from its open state when it ends
//! (no message structs allocated, built and encoded again: only span events and links,
//! rare, are `prost` messages), and an export request is the resource and scope (encoded
//! once) framed around those bytes. `prost`'s encoding primitives write every key, length
//! and value; JSON (`http/json`) decodes the same request and lets `serde_json` write it.

use opentelemetry_proto::tonic::trace::v1::span::{Event as SpanEvent, Link};
use prost::Message as _;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use super::attributes::{Attr, AttributeSink};

/// A span attribute's value, kept until the span ends (its names are the `semconv`
/// constants, never copied).
#[derive(Debug, Clone, PartialEq)]
pub enum SpanValue {
    Static(&'static str),
    Text(String),
    Int(i64),
    Double(f64),
    Bool(bool),
    /// A list of strings (`gen_ai.response.finish_reasons`).
    Texts(Vec<String>),
}

impl From<&'static str> for SpanValue {
    fn from(v: &'static str) -> Self {
        SpanValue::Static(v)
    }
}

impl From<String> for SpanValue {
    fn from(v: String) -> Self {
        SpanValue::Text(v)
    }
}

impl From<i64> for SpanValue {
    fn from(v: i64) -> Self {
        SpanValue::Int(v)
    }
}

impl From<f64> for SpanValue {
    fn from(v: f64) -> Self {
        SpanValue::Double(v)
    }
}

impl From<bool> for SpanValue {
    fn from(v: bool) -> Self {
        SpanValue::Bool(v)
    }
}

impl From<Vec<String>> for SpanValue {
    fn from(v: Vec<String>) -> Self {
        SpanValue::Texts(v)
    }
}

/// Length of a length-delimited field `value_len` long (key, length, value).
fn field_len(value_len: usize) -> usize {
    1 + encoded_len_varint(value_len as u64) + value_len
}

/// Writes the key and length of length-delimited field `tag`.
fn put_len(buf: &mut Vec<u8>, tag: u32, len: usize) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
}

fn put_bytes(buf: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    put_len(buf, tag, bytes.len());
    buf.extend_from_slice(bytes);
}

fn put_fixed64(buf: &mut Vec<u8>, tag: u32, value: u64) {
    encode_key(tag, WireType::SixtyFourBit, buf);
    buf.extend_from_slice(&value.to_le_bytes());
}

/// Length of an `AnyValue` holding `value`.
fn any_value_len(value: &Attr<'_>) -> usize {
    match value {
        Attr::Str(s) => field_len(s.len()),
        Attr::Int(i) => 1 + encoded_len_varint(*i as u64),
        Attr::Double(_) => 9,
        Attr::Bool(_) => 2,
    }
}

/// Writes the fields of an `AnyValue` holding `value`.
fn put_any_value(buf: &mut Vec<u8>, value: &Attr<'_>) {
    match value {
        Attr::Str(s) => put_bytes(buf, 1, s.as_bytes()),
        Attr::Bool(b) => {
            encode_key(2, WireType::Varint, buf);
            encode_varint(u64::from(*b), buf);
        }
        Attr::Int(i) => {
            encode_key(3, WireType::Varint, buf);
            encode_varint(*i as u64, buf);
        }
        Attr::Double(f) => put_fixed64(buf, 4, f.to_bits()),
    }
}

/// Writes a `KeyValue` as field `tag`.
fn put_key_value(buf: &mut Vec<u8>, tag: u32, key: &str, value: &Attr<'_>) {
    let any = any_value_len(value);
    put_len(buf, tag, field_len(key.len()) + field_len(any));
    put_bytes(buf, 1, key.as_bytes());
    put_len(buf, 2, any);
    put_any_value(buf, value);
}

/// The attributes of a log record being written (`LogRecord.attributes`, field 6).
pub struct LogAttributes<'a>(&'a mut Vec<u8>);

impl AttributeSink for LogAttributes<'_> {
    fn attr(&mut self, key: &str, value: Attr<'_>) {
        put_key_value(self.0, 6, key, &value);
    }
}

/// What a log record says besides its attributes.
pub struct LogFields<'a> {
    /// Nanoseconds since the Unix epoch.
    pub time: u64,
    pub severity_number: i32,
    pub severity_text: &'a str,
    /// The event name.
    pub body: &'a str,
    pub trace_id: &'a [u8; 16],
    pub span_id: &'a [u8; 8],
    /// The W3C trace flags.
    pub flags: u32,
}

/// Appends one `LogRecord` to `out` as a record of a `ScopeLogs` (field 2); `attributes`
/// writes its attributes. `scratch` is reused from record to record.
pub fn put_log_record(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    fields: &LogFields<'_>,
    attributes: impl FnOnce(&mut LogAttributes<'_>),
) {
    scratch.clear();
    put_fixed64(scratch, 1, fields.time);
    encode_key(2, WireType::Varint, scratch);
    encode_varint(fields.severity_number as u64, scratch);
    put_bytes(scratch, 3, fields.severity_text.as_bytes());
    let body = Attr::Str(fields.body);
    put_len(scratch, 5, any_value_len(&body));
    put_any_value(scratch, &body);
    attributes(&mut LogAttributes(scratch));
    encode_key(8, WireType::ThirtyTwoBit, scratch);
    scratch.extend_from_slice(&fields.flags.to_le_bytes());
    put_bytes(scratch, 9, fields.trace_id);
    put_bytes(scratch, 10, fields.span_id);
    put_fixed64(scratch, 11, fields.time);
    put_bytes(out, 2, scratch);
}

/// Writes a span attribute (`Span.attributes`, field 9).
fn put_span_attribute(buf: &mut Vec<u8>, key: &str, value: &SpanValue) {
    let scalar = match value {
        SpanValue::Static(s) => Attr::Str(s),
        SpanValue::Text(s) => Attr::Str(s),
        SpanValue::Int(i) => Attr::Int(*i),
        SpanValue::Double(f) => Attr::Double(*f),
        SpanValue::Bool(b) => Attr::Bool(*b),
        SpanValue::Texts(items) => {
            // AnyValue.array_value (5): ArrayValue.values (1), each an AnyValue string.
            let array: usize = items.iter().map(|s| field_len(field_len(s.len()))).sum();
            let any = field_len(array);
            put_len(buf, 9, field_len(key.len()) + field_len(any));
            put_bytes(buf, 1, key.as_bytes());
            put_len(buf, 2, any);
            put_len(buf, 5, array);
            for item in items {
                put_len(buf, 1, field_len(item.len()));
                put_bytes(buf, 1, item.as_bytes());
            }
            return;
        }
    };
    put_key_value(buf, 9, key, &scalar);
}

/// What a span says.
pub struct SpanFields<'a> {
    pub trace_id: &'a [u8; 16],
    pub span_id: &'a [u8; 8],
    /// Empty when there is none.
    pub trace_state: &'a str,
    pub parent_span_id: Option<&'a [u8; 8]>,
    /// OTLP span flags (W3C trace flags and the remote-parent bits).
    pub flags: u32,
    pub name: &'a str,
    /// `SpanKind` as its number.
    pub kind: i32,
    /// Nanoseconds since the Unix epoch.
    pub start: u64,
    pub end: u64,
    pub attributes: &'a [(&'static str, SpanValue)],
    pub events: &'a [SpanEvent],
    pub links: &'a [Link],
    /// `StatusCode` as its number, and the status message.
    pub status_code: i32,
    pub status_message: &'a str,
}

/// Appends `span` to `out` as a span of a `ScopeSpans` (field 2). `scratch` is reused
/// from span to span.
pub fn put_span(out: &mut Vec<u8>, scratch: &mut Vec<u8>, span: &SpanFields<'_>) {
    scratch.clear();
    put_bytes(scratch, 1, span.trace_id);
    put_bytes(scratch, 2, span.span_id);
    if !span.trace_state.is_empty() {
        put_bytes(scratch, 3, span.trace_state.as_bytes());
    }
    if let Some(parent) = span.parent_span_id {
        put_bytes(scratch, 4, parent);
    }
    put_bytes(scratch, 5, span.name.as_bytes());
    if span.kind != 0 {
        encode_key(6, WireType::Varint, scratch);
        encode_varint(span.kind as u64, scratch);
    }
    put_fixed64(scratch, 7, span.start);
    put_fixed64(scratch, 8, span.end);
    for (key, value) in span.attributes {
        put_span_attribute(scratch, key, value);
    }
    for event in span.events {
        put_len(scratch, 11, event.encoded_len());
        event.encode_raw(scratch);
    }
    for link in span.links {
        put_len(scratch, 13, link.encoded_len());
        link.encode_raw(scratch);
    }
    // Status (15): message (2), code (3).
    let message = span.status_message;
    let message_len = if message.is_empty() {
        0
    } else {
        field_len(message.len())
    };
    let code_len = if span.status_code == 0 {
        0
    } else {
        1 + encoded_len_varint(span.status_code as u64)
    };
    put_len(scratch, 15, message_len + code_len);
    if !message.is_empty() {
        put_bytes(scratch, 2, message.as_bytes());
    }
    if span.status_code != 0 {
        encode_key(3, WireType::Varint, scratch);
        encode_varint(span.status_code as u64, scratch);
    }
    encode_key(16, WireType::ThirtyTwoBit, scratch);
    scratch.extend_from_slice(&span.flags.to_le_bytes());
    put_bytes(out, 2, scratch);
}

/// An export request (`ExportTraceServiceRequest` or `ExportLogsServiceRequest`, which
/// have the same frame): one resource, one scope, and `items`, the spans or log records
/// written by [`put_span`] or [`put_log_record`]. `resource` and `scope` are encoded
/// messages.
pub fn request(resource: &[u8], scope: &[u8], items: &[u8]) -> Vec<u8> {
    let scoped = field_len(scope.len()) + items.len();
    let resourced = field_len(resource.len()) + field_len(scoped);
    let mut out = Vec::with_capacity(field_len(resourced));
    put_len(&mut out, 1, resourced);
    put_bytes(&mut out, 1, resource);
    put_len(&mut out, 2, scoped);
    put_bytes(&mut out, 1, scope);
    out.extend_from_slice(items);
    out
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::trace::v1::{Span, Status};
    use prost::Message;

    use super::*;
    use crate::telemetry::otlp::proto::{kv, scope};

    #[test]
    fn written_log_records_and_spans_decode_as_otlp_requests() {
        let mut items = Vec::new();
        let mut scratch = Vec::new();
        for n in 0..2 {
            let fields = LogFields {
                time: 1_700_000_000_123_000_000 + n,
                severity_number: 13,
                severity_text: "WARNING",
                body: "node_completed",
                trace_id: &[7; 16],
                span_id: &[9; 8],
                flags: 1,
            };
            put_log_record(&mut items, &mut scratch, &fields, |a| {
                a.attr("trident.node.id", Attr::Str("greet"));
                a.attr("duration_ms", Attr::Int(-3));
                a.attr("cost_usd", Attr::Double(0.25));
                a.attr("dry_run", Attr::Bool(true));
                a.attr(&"k".repeat(200), Attr::Str(&"v".repeat(300)));
            });
        }
        let resource = crate::telemetry::otlp::proto::resource_of("svc", &[]);
        let bytes = request(&resource.encode_to_vec(), &scope().encode_to_vec(), &items);
        let decoded = ExportLogsServiceRequest::decode(&bytes[..]).unwrap();
        let rl = &decoded.resource_logs[0];
        assert_eq!(rl.resource.as_ref().unwrap(), &resource);
        let sl = &rl.scope_logs[0];
        assert_eq!(sl.scope.as_ref().unwrap(), &scope());
        assert_eq!(sl.log_records.len(), 2);
        let log = &sl.log_records[1];
        assert_eq!(log.time_unix_nano, 1_700_000_000_123_000_001);
        assert_eq!(log.observed_time_unix_nano, log.time_unix_nano);
        assert_eq!(
            (log.severity_number, log.severity_text.as_str()),
            (13, "WARNING")
        );
        assert_eq!(
            log.body.as_ref().unwrap().value,
            Some(Value::StringValue("node_completed".into()))
        );
        assert_eq!(
            (log.trace_id.as_slice(), log.span_id.as_slice()),
            (&[7; 16][..], &[9; 8][..])
        );
        assert_eq!(log.flags, 1);
        let values: Vec<(&str, Option<&Value>)> = log
            .attributes
            .iter()
            .map(|kv| {
                (
                    kv.key.as_str(),
                    kv.value.as_ref().and_then(|v| v.value.as_ref()),
                )
            })
            .collect();
        assert_eq!(
            values[0],
            ("trident.node.id", Some(&Value::StringValue("greet".into())))
        );
        assert_eq!(values[1], ("duration_ms", Some(&Value::IntValue(-3))));
        assert_eq!(values[2], ("cost_usd", Some(&Value::DoubleValue(0.25))));
        assert_eq!(values[3], ("dry_run", Some(&Value::BoolValue(true))));
        assert_eq!(values[4].1, Some(&Value::StringValue("v".repeat(300))));

        let event = SpanEvent {
            time_unix_nano: 5,
            name: "provider_retry".into(),
            attributes: vec![kv("attempt", 2i64)],
            dropped_attributes_count: 0,
        };
        let link = Link {
            trace_id: vec![3; 16],
            span_id: vec![4; 8],
            attributes: vec![kv("trident.link", "previous_attempt")],
            ..Link::default()
        };
        let attributes = [
            ("gen_ai.operation.name", SpanValue::Static("chat")),
            ("gen_ai.request.model", SpanValue::Text("m".repeat(200))),
            ("gen_ai.usage.input_tokens", SpanValue::Int(12)),
            ("trident.cost.usd", SpanValue::Double(0.5)),
            ("trident.dry_run", SpanValue::Bool(false)),
            (
                "gen_ai.response.finish_reasons",
                SpanValue::Texts(vec!["stop".into(), "length".into()]),
            ),
        ];
        let fields = SpanFields {
            trace_id: &[1; 16],
            span_id: &[2; 8],
            trace_state: "vendor=x",
            parent_span_id: Some(&[8; 8]),
            flags: 0x301,
            name: "chat m",
            kind: 3,
            start: 1_700_000_000_000_000_000,
            end: 1_700_000_000_500_000_000,
            attributes: &attributes,
            events: std::slice::from_ref(&event),
            links: std::slice::from_ref(&link),
            status_code: 2,
            status_message: "failed: 500",
        };
        let expected = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            trace_state: "vendor=x".into(),
            parent_span_id: vec![8; 8],
            flags: 0x301,
            name: "chat m".into(),
            kind: 3,
            start_time_unix_nano: 1_700_000_000_000_000_000,
            end_time_unix_nano: 1_700_000_000_500_000_000,
            attributes: vec![
                kv("gen_ai.operation.name", "chat"),
                kv("gen_ai.request.model", "m".repeat(200)),
                kv("gen_ai.usage.input_tokens", 12i64),
                kv("trident.cost.usd", 0.5),
                kv("trident.dry_run", false),
                kv(
                    "gen_ai.response.finish_reasons",
                    vec!["stop".to_string(), "length".to_string()],
                ),
            ],
            events: vec![event.clone()],
            links: vec![link.clone()],
            status: Some(Status {
                message: "failed: 500".into(),
                code: 2,
            }),
            ..Span::default()
        };
        // A span with nothing optional: no parent, state, kind, attributes or status.
        let bare = SpanFields {
            trace_id: &[1; 16],
            span_id: &[2; 8],
            trace_state: "",
            parent_span_id: None,
            flags: 0,
            name: "",
            kind: 0,
            start: 0,
            end: 0,
            attributes: &[],
            events: &[],
            links: &[],
            status_code: 0,
            status_message: "",
        };
        let mut items = Vec::new();
        put_span(&mut items, &mut scratch, &fields);
        put_span(&mut items, &mut scratch, &bare);
        put_span(&mut items, &mut scratch, &fields);
        let bytes = request(&resource.encode_to_vec(), &scope().encode_to_vec(), &items);
        let decoded = ExportTraceServiceRequest::decode(&bytes[..]).unwrap();
        let bare_expected = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            status: Some(Status::default()),
            ..Span::default()
        };
        assert_eq!(
            decoded.resource_spans[0].scope_spans[0].spans,
            vec![expected.clone(), bare_expected, expected]
        );
    }
}
