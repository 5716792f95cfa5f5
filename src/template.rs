//! `{{ var }}` / `{{ a.b.c }}` template rendering and dotted-path lookup.
//!
//! Spaces inside the braces are ignored; an unknown (or null) variable is left as written;
//! strings render raw, objects and arrays as compact JSON, other scalars as JSON text.

use serde_json::{Map, Value};

/// Look up a dotted path (`a.b.c`) in an object; `None` when any step is missing or null.
pub fn get_path<'v>(data: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut current = data.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    (!current.is_null()).then_some(current)
}

/// A value as template text.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Render `template` with `variables`.
pub fn render(template: &str, variables: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        // The key runs up to the first `}`, which must open the closing `}}`.
        let Some(close) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let key = after[..close].trim();
        if !after[close..].starts_with("}}") || key.is_empty() {
            out.push_str("{{");
            rest = after;
            continue;
        }
        let whole = &rest[start..start + 2 + close + 2];
        match get_path(variables, key) {
            Some(v) => out.push_str(&value_text(v)),
            None => out.push_str(whole),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn renders_plain_nested_and_unknown() {
        let v = vars(
            json!({"name": "Ada", "user": {"address": {"city": "Paris"}}, "n": 3, "o": {"a": [1]}, "z": null}),
        );
        assert_eq!(
            render(
                "Hi {{name}}, {{ user.address.city }}! {{ missing }} {{n}} {{o}} {{z}}",
                &v
            ),
            "Hi Ada, Paris! {{ missing }} 3 {\"a\":[1]} {{z}}"
        );
    }

    #[test]
    fn tolerates_stray_braces() {
        let v = vars(json!({"a": "x"}));
        assert_eq!(render("{{ {a}} {{a}} {{", &v), "{{ {a}} x {{");
        assert_eq!(render("json: {\"k\": 1} {{a}}", &v), "json: {\"k\": 1} x");
    }
}
