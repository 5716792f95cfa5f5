//! Field maps (a node's inputs or outputs, a run's inputs) shared between the records that
//! hold the same values: the trace, the checkpoint, the metadata and the engine's outputs
//! point at one map instead of each holding a deep copy, so a run's memory stays a small
//! multiple of its data. Serialised exactly as the map itself.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::fields::FieldMap;

/// A shared, read-only map of fields.
pub type SharedFields = Arc<FieldMap>;

/// `#[serde(with = "shared_fields")]`: write the map.
pub fn serialize<S: Serializer>(fields: &SharedFields, serializer: S) -> Result<S::Ok, S::Error> {
    fields.as_ref().serialize(serializer)
}

/// `#[serde(with = "shared_fields")]`: read a map.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SharedFields, D::Error> {
    FieldMap::deserialize(deserializer).map(Arc::new)
}
