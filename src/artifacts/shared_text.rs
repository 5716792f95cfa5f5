//! Text shared between a record and the telemetry event that reports it (a prompt node's
//! rendered prompt: trace.json's `prompt` and the `prompt_rendered` event hold one copy).
//! Serialised exactly as the string itself.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A shared, read-only text.
pub type SharedText = Arc<str>;

/// `#[serde(with = "shared_text")]` on an `Option<SharedText>`: write the string (or null).
pub fn serialize<S: Serializer>(
    text: &Option<SharedText>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    text.as_deref().serialize(serializer)
}

/// `#[serde(with = "shared_text")]` on an `Option<SharedText>`: read a string (or null).
pub fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SharedText>, D::Error> {
    Option::<String>::deserialize(deserializer).map(|text| text.map(SharedText::from))
}
