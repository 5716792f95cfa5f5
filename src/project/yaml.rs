//! YAML parsing into `serde_json::Value`, shared by manifests and prompt frontmatter.
//!
//! `yaml_serde` (the YAML organisation's maintained continuation of `serde_yaml`) is fast and
//! reports line and column. It reads YAML 1.2, so `yes`/`no`/`on`/`off` stay strings (the
//! boolean fields accept them through [`as_bool`]) and a duplicate key keeps its last value,
//! as in the original's PyYAML.
//!
//! Nesting: the parser refuses documents nested deeper than 128 levels, but its scanner
//! takes time quadratic in the depth of unclosed flow brackets (`[[[[...`: 40 000 of them
//! took 9 s in a debug build, 100 000 over two minutes) before that error. So a linear
//! pre-scan ([`flow_nesting_over`]) refuses brackets nested deeper than
//! [`MAX_FLOW_NESTING`] first.

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

/// Flow brackets (`[`, `{`) nested deeper than this are refused before parsing (far over
/// the parser's own limit of 128, so brackets inside text never trip it in practice).
pub const MAX_FLOW_NESTING: usize = 1000;

/// Where (1-based line and column) flow brackets first nest deeper than `limit`, counting
/// `[`/`{` and `]`/`}` outside quoted scalars and comments, in one pass.
pub fn flow_nesting_over(text: &str, limit: usize) -> Option<(usize, usize)> {
    let (mut line, mut column) = (1, 0);
    let mut depth = 0usize;
    let (mut single, mut double, mut comment, mut escaped) = (false, false, false, false);
    // What came before: a quote or `#` only opens a scalar or comment after a separator.
    let mut after_separator = true;
    for c in text.chars() {
        column += 1;
        if c == '\n' {
            (line, column) = (line + 1, 0);
            comment = false;
            after_separator = true;
            continue;
        }
        if comment {
            continue;
        }
        if double {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => double = false,
                _ => {}
            }
            continue;
        }
        if single {
            // `''` inside single quotes closes and reopens: the same as an escaped quote.
            single = c != '\'';
            continue;
        }
        match c {
            '\'' if after_separator => single = true,
            '"' if after_separator => double = true,
            '#' if after_separator => comment = true,
            '[' | '{' => {
                depth += 1;
                if depth > limit {
                    return Some((line, column));
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        after_separator = matches!(c, ' ' | '\t' | '[' | '{' | ',' | ':' | '-' | '?');
    }
    None
}

/// Parse a YAML document into a JSON value (an empty document is `{}`).
pub fn parse_yaml(text: &str, path: &Path) -> Result<Value, TridentError> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    if let Some((line, column)) = flow_nesting_over(text, MAX_FLOW_NESTING) {
        return Err(TridentError::Parse(format!(
            "Cannot parse {}: brackets nested more than {MAX_FLOW_NESTING} levels deep at line \
             {line} column {column} (YAML values may nest at most 128 levels). Flatten that \
             value.",
            path.display()
        )));
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

    #[test]
    fn deep_flow_brackets_are_refused_in_linear_time_naming_the_place() {
        let deep = format!("a: 1\nb: {}{}\n", "[".repeat(200_000), "]".repeat(200_000));
        let e = parse_yaml(&deep, Path::new("agent.tml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "agent.tml: brackets nested more than 1000 levels deep at line 2 column 1004"
            ),
            "{e}"
        );
        // Brackets in quotes and comments do not count; moderate nesting is the parser's.
        let many = "[".repeat(2000);
        let quoted =
            format!("a: '{many}'\nb: \"{many}\\\" {many}\"\nc: it's fine\n# {many}\nd: [[1]]\n");
        assert_eq!(flow_nesting_over(&quoted, MAX_FLOW_NESTING), None);
        let v = parse_yaml(&quoted, Path::new("x")).unwrap();
        assert_eq!(v["d"], serde_json::json!([[1]]));
        // An apostrophe inside a plain scalar opens no quote.
        assert_eq!(
            flow_nesting_over(&format!("c: it's\nd: {many}"), MAX_FLOW_NESTING),
            Some((2, 1004))
        );
        let e = parse_yaml(&format!("a: {}", "[".repeat(500)), Path::new("x"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("recursion limit"), "{e}");
    }
}
