//! A prompt's output schema fields turned into JSON Schema, as both providers send it.
//!
//! As in the original: the five schema types map to themselves and any other type to
//! `string`; a field without a description gets "The `<name>` field"; every field is required.
//! Arrays get no `items` and objects no `properties`.

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use crate::project::SchemaField;

const KNOWN_TYPES: [&str; 5] = ["string", "number", "boolean", "array", "object"];

/// `{"type": "object", "properties": {...}, "required": [...]}` for `fields`, in their order.
pub(crate) fn object_schema(fields: &IndexMap<String, SchemaField>) -> Map<String, Value> {
    let mut properties = Map::new();
    for (name, field) in fields {
        let json_type = if KNOWN_TYPES.contains(&field.field_type.as_str()) {
            field.field_type.as_str()
        } else {
            "string"
        };
        let description = if field.description.is_empty() {
            format!("The {name} field")
        } else {
            field.description.clone()
        };
        properties.insert(
            name.clone(),
            json!({"type": json_type, "description": description}),
        );
    }
    let required: Vec<Value> = fields.keys().map(|name| json!(name)).collect();
    let mut schema = Map::new();
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Value::Object(properties));
    schema.insert("required".into(), Value::Array(required));
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(field_type: &str, description: &str) -> SchemaField {
        SchemaField {
            field_type: field_type.into(),
            description: description.into(),
        }
    }

    #[test]
    fn maps_types_and_descriptions_in_order() {
        let mut fields = IndexMap::new();
        fields.insert("title".to_string(), field("string", "A title"));
        fields.insert("score".to_string(), field("number", ""));
        fields.insert("tags".to_string(), field("array", "Tags"));
        fields.insert("when".to_string(), field("date", "When"));
        let schema = Value::Object(object_schema(&fields));
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "title": {"type": "string", "description": "A title"},
                    "score": {"type": "number", "description": "The score field"},
                    "tags": {"type": "array", "description": "Tags"},
                    "when": {"type": "string", "description": "When"}
                },
                "required": ["title", "score", "tags", "when"]
            })
        );
        let keys: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["title", "score", "tags", "when"]);
    }
}
