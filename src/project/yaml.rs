//! YAML parsing into `serde_json::Value`, shared by manifests and prompt frontmatter.
//!
//! `serde-saphyr` is panic-free and reports line and column; its errors are wrapped with the
//! file they come from.

use std::path::Path;

use serde_json::Value;

use crate::error::TridentError;

/// Parse a YAML document into a JSON value (an empty document is `{}`).
pub fn parse_yaml(text: &str, path: &Path) -> Result<Value, TridentError> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    match serde_saphyr::from_str::<Value>(text) {
        Ok(Value::Null) => Ok(Value::Object(Default::default())),
        Ok(v) => Ok(v),
        Err(e) => {
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("invalid YAML").trim_start_matches("error: ");
            Err(TridentError::Parse(format!(
                "Cannot parse {}: {first}. Fix the YAML syntax at that line (indentation, \
                 unclosed brackets or quotes, duplicate keys).",
                path.display()
            )))
        }
    }
}

/// A short name for a JSON value's type, for error messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}
