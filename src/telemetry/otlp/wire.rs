//! OTLP protobuf on the wire, written as the records are made: a log record is encoded
//! straight from its event into the batch's bytes (no message structs allocated, built and
//! encoded again), a finished span is encoded once by `prost`, and an export request is the
//! resource and scope (encoded once) framed around those bytes. `prost`'s encoding
//! primitives write every key, length and value; JSON (`http/json`) decodes the same
//! request and lets `serde_json` write it.

use prost::Message as _;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use super::attributes::{Attr, AttributeSink};

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

/// Appends `span` to `out` as a span of a `ScopeSpans` (field 2).
pub fn put_span(out: &mut Vec<u8>, span: &opentelemetry_proto::tonic::trace::v1::Span) {
    put_len(out, 2, span.encoded_len());
    span.encode_raw(out);
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
    use opentelemetry_proto::tonic::trace::v1::Span;
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

        let span = Span {
            name: "chat m".into(),
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            attributes: vec![kv("gen_ai.request.model", "m")],
            ..Span::default()
        };
        let mut items = Vec::new();
        put_span(&mut items, &span);
        put_span(&mut items, &span);
        let bytes = request(&resource.encode_to_vec(), &scope().encode_to_vec(), &items);
        let decoded = ExportTraceServiceRequest::decode(&bytes[..]).unwrap();
        assert_eq!(
            decoded.resource_spans[0].scope_spans[0].spans,
            vec![span.clone(), span]
        );
    }
}
