//! YAML parsing into `serde_json::Value`, shared by manifests and prompt frontmatter.
//!
//! `yaml_serde` (the YAML organisation's maintained continuation of `serde_yaml`) is fast and
//! reports line and column. It reads YAML 1.2, so `yes`/`no`/`on`/`off` stay strings (the
//! boolean fields accept them through [`as_bool`]) and a duplicate key keeps its last value,
//! as in the original's PyYAML.

use std::path::Path;

use serde_json::Value;

use crate::error::TridentError;

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
    match yaml_serde::from_str::<Value>(text) {
        Ok(Value::Null) => Ok(Value::Object(Default::default())),
        Ok(v) => Ok(v),
        Err(e) => Err(TridentError::Parse(format!(
            "Cannot parse {}: {e}. Fix the YAML syntax there (indentation, unclosed brackets or \
             quotes, a tab instead of spaces).",
            path.display()
        ))),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyyaml_compatible_scalars() {
        let v = parse_yaml(
            "a: n\nb: yes\nc: 0.1\nd: \"0.1\"\ne: ~\nf: 1\nf: 2\n",
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(v["a"], "n");
        assert_eq!(as_bool(&v["b"]), Some(true));
        assert_eq!(v["c"], 0.1);
        assert_eq!(v["d"], "0.1");
        assert!(v["e"].is_null());
        assert_eq!(v["f"], 2);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse_yaml("a: [1\nb: 2\n", Path::new("agent.tml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("agent.tml") && e.contains("line"), "{e}");
    }
}
