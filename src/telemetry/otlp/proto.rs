//! The OTLP messages built as structs (the official `opentelemetry-proto` types): attribute
//! values, the resource and the instrumentation scope. Spans are made once, from the typed
//! events, with no intermediate SDK records to convert and copy again (log records skip the
//! structs altogether: `wire`).

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::semconv as sc;
use super::settings::OtlpSettings;

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrValue(pub Value);

impl From<String> for AttrValue {
    fn from(v: String) -> Self {
        AttrValue(Value::StringValue(v))
    }
}

impl From<&str> for AttrValue {
    fn from(v: &str) -> Self {
        AttrValue(Value::StringValue(v.to_string()))
    }
}

impl From<i64> for AttrValue {
    fn from(v: i64) -> Self {
        AttrValue(Value::IntValue(v))
    }
}

impl From<f64> for AttrValue {
    fn from(v: f64) -> Self {
        AttrValue(Value::DoubleValue(v))
    }
}

impl From<bool> for AttrValue {
    fn from(v: bool) -> Self {
        AttrValue(Value::BoolValue(v))
    }
}

impl From<Vec<String>> for AttrValue {
    fn from(v: Vec<String>) -> Self {
        let values = v
            .into_iter()
            .map(|s| AnyValue {
                value: Some(Value::StringValue(s)),
            })
            .collect();
        AttrValue(Value::ArrayValue(ArrayValue { values }))
    }
}

/// The attribute `key` = `value`.
pub fn kv(key: impl Into<String>, value: impl Into<AttrValue>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(value.into().0),
        }),
        ..KeyValue::default()
    }
}

/// `service.name`, `service.version` and `OTEL_RESOURCE_ATTRIBUTES`.
pub fn resource(settings: &OtlpSettings) -> Resource {
    resource_of(&settings.service_name, &settings.resource_attributes)
}

/// The resource of service `name` with `extra` attributes.
pub fn resource_of(name: &str, extra: &[(String, String)]) -> Resource {
    let mut attributes = vec![
        kv(sc::SERVICE_NAME, name),
        kv(sc::SERVICE_VERSION, env!("CARGO_PKG_VERSION")),
    ];
    attributes.extend(extra.iter().map(|(k, v)| kv(k.as_str(), v.as_str())));
    Resource {
        attributes,
        ..Resource::default()
    }
}

/// The instrumentation scope of every span and log record: `trident` and its version.
pub fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: "trident".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        ..InstrumentationScope::default()
    }
}
