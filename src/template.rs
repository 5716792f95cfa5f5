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

/// The `{{ key }}` placeholders of a template, left to right: `(byte range of the whole
/// placeholder, trimmed key)`. The key runs up to the first `}`, which must open the closing
/// `}}`; anything else (stray braces, JSON) is plain text.
fn placeholders(template: &str) -> impl Iterator<Item = (std::ops::Range<usize>, &str)> {
    let mut from = 0;
    std::iter::from_fn(move || {
        loop {
            let start = from + template[from..].find("{{")?;
            let after = &template[start + 2..];
            let close = after.find('}')?;
            let key = after[..close].trim();
            if !after[close..].starts_with("}}") {
                // Every `{{` before this lone `}` would stop at it too: resume after it, so
                // text full of `{{` stays linear.
                from = start + 2 + close + 1;
                continue;
            }
            if key.is_empty() {
                from = start + 2;
                continue;
            }
            let end = start + 2 + close + 2;
            from = end;
            return Some((start..end, key));
        }
    })
}

/// The variables a template uses (the first step of each dotted key), each once, in order;
/// keys that cannot be variable names (`{{ {x}}`) are text.
pub fn variable_names(template: &str) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for (_, key) in placeholders(template) {
        let name = key.split('.').next().unwrap_or(key);
        let word = name.starts_with(|c: char| c.is_alphabetic() || c == '_');
        if word && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Render `template` with `variables`.
pub fn render(template: &str, variables: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut copied = 0;
    for (range, key) in placeholders(template) {
        out.push_str(&template[copied..range.start]);
        match get_path(variables, key) {
            Some(v) => out.push_str(&value_text(v)),
            None => out.push_str(&template[range.clone()]),
        }
        copied = range.end;
    }
    out.push_str(&template[copied..]);
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
    fn variable_names_are_first_steps_once() {
        assert_eq!(
            variable_names("{{ a.b }} {{a}} {{ {x}} {{ c }} {\"k\": 1}"),
            ["a", "c"]
        );
    }

    #[test]
    fn many_openings_before_a_lone_brace_are_text() {
        let text = format!("{}}} {{{{a}}}}", "{{".repeat(200_000));
        let v = vars(json!({"a": "x"}));
        assert_eq!(render(&text, &v), format!("{}}} x", "{{".repeat(200_000)));
        assert_eq!(variable_names(&text), ["a"]);
    }

    #[test]
    fn tolerates_stray_braces() {
        let v = vars(json!({"a": "x"}));
        assert_eq!(render("{{ {a}} {{a}} {{", &v), "{{ {a}} x {{");
        assert_eq!(render("json: {\"k\": 1} {{a}}", &v), "json: {\"k\": 1} x");
    }

    proptest::proptest! {
        #[test]
        fn rendering_never_panics(text in "(\\{\\{|\\}\\}|[{} a-z.]|\\PC){0,40}") {
            let v = vars(json!({"a": "x", "b": {"c": [1]}, "n": null, "é": 1}));
            let _ = render(&text, &v);
            let _ = variable_names(&text);
        }

        #[test]
        fn a_template_without_double_braces_renders_to_itself(text in "\\PC{0,60}") {
            proptest::prop_assume!(!text.contains("{{"));
            let v = vars(json!({"a": "x"}));
            proptest::prop_assert_eq!(render(&text, &v), text);
        }
    }
}
