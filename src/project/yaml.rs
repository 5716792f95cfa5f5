//! YAML parsing into `serde_json::Value`, shared by manifests and prompt frontmatter.
//!
//! `serde-saphyr` is panic-free and reports line and column; its errors are wrapped with the
//! file they come from.

use std::path::Path;

use serde_json::Value;

use crate::error::TridentError;

/// The YAML options: PyYAML-compatible where it matters for manifests. Booleans are the
/// YAML 1.2 spellings (`true`/`false`), so that a field named `n` or `y` stays a string (the
/// original's PyYAML does not read `y`/`n` as booleans); `yes`/`no`/`on`/`off` are accepted
/// by the boolean fields themselves. A duplicate key keeps its last value, as in PyYAML.
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
    }
}

/// A boolean field: JSON booleans, or the YAML 1.1 words PyYAML reads as booleans.
pub fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "yes" | "on" | "true" => Some(true),
            "no" | "off" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Parse a YAML document into a JSON value (an empty document is `{}`).
pub fn parse_yaml(text: &str, path: &Path) -> Result<Value, TridentError> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    match serde_saphyr::from_str_with_options::<Value>(text, options()) {
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
