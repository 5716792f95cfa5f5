//! Shell tool commands: their `{{ name }}` / `{{ a.b }}` placeholders, and rendering them with
//! every substituted value quoted as one shell word.
//!
//! A placeholder is `{{`, a path without `}`, and `}}`; spaces around the path are ignored
//! (the rule of the runtime's prompt templates). The path is an input name, optionally followed
//! by `.field` steps into objects or `.N` steps into arrays.
//!
//! Values are never pasted raw: each one is wrapped in single quotes, with `'` written as
//! `'\''`, so the shell sees exactly one word whatever the value holds (`$(...)`, backquotes,
//! `;`, quotes, newlines). Do not put quotes around placeholders in the command yourself:
//! `echo {{ name }}` is right, `echo "{{ name }}"` prints the quotes too.

use std::ops::Range;

use serde_json::{Map, Value};

/// A placeholder found in a command.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Placeholder<'a> {
    /// Byte range of the whole `{{ ... }}` in the command.
    span: Range<usize>,
    /// The trimmed path between the braces.
    path: &'a str,
}

/// A placeholder whose value is not among the inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingInput {
    /// The placeholder's path, e.g. `user.name`.
    pub path: String,
}

/// The input names a command uses (the first step of each placeholder path), each once, in
/// order of first use.
pub fn placeholder_names(command: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for placeholder in placeholders(command) {
        let name = placeholder
            .path
            .split('.')
            .next()
            .unwrap_or(placeholder.path);
        if !names.iter().any(|known| known == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// `command` with each placeholder replaced by its value from `inputs`, quoted for the shell.
pub fn render_command(command: &str, inputs: &Map<String, Value>) -> Result<String, MissingInput> {
    let mut rendered = String::with_capacity(command.len());
    let mut copied_up_to = 0;
    for placeholder in placeholders(command) {
        let value = lookup(inputs, placeholder.path).ok_or_else(|| MissingInput {
            path: placeholder.path.to_string(),
        })?;
        rendered.push_str(&command[copied_up_to..placeholder.span.start]);
        rendered.push_str(&shell_quote(&shell_text(value)));
        copied_up_to = placeholder.span.end;
    }
    rendered.push_str(&command[copied_up_to..]);
    Ok(rendered)
}

/// The text a value stands for in a shell command or environment variable: a string as is,
/// `null` as the empty string, anything else as compact JSON (`true`, `3.5`, `{"a":1}`).
pub fn shell_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `text` as a single shell word: single-quoted, each `'` written as `'\''`.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Every placeholder of `command`, left to right, never overlapping.
fn placeholders(command: &str) -> Vec<Placeholder<'_>> {
    let mut found = Vec::new();
    let mut search_from = 0;
    while let Some(offset) = command[search_from..].find("{{") {
        let start = search_from + offset;
        let inner_start = start + 2;
        // The path may not contain `}`, so it ends at the first `}`, which must open `}}`.
        let candidate = command[inner_start..]
            .find('}')
            .map(|length| inner_start + length)
            .filter(|&close| command[close..].starts_with("}}"))
            .map(|close| (close, command[inner_start..close].trim()))
            .filter(|(_, path)| !path.is_empty());
        match candidate {
            Some((close, path)) => {
                found.push(Placeholder {
                    span: start..close + 2,
                    path,
                });
                search_from = close + 2;
            }
            // Not a placeholder here; a later `{` may still start one (`{{{x}}`).
            None => search_from = start + 1,
        }
    }
    found
}

/// The value at dotted `path` in `inputs`.
fn lookup<'a>(inputs: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut steps = path.split('.');
    let mut current = inputs.get(steps.next()?)?;
    for step in steps {
        current = match current {
            Value::Object(fields) => fields.get(step)?,
            Value::Array(items) => items.get(step.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inputs(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn finds_placeholders_with_or_without_spaces() {
        assert_eq!(
            placeholder_names("grep {{pattern}} {{ file }} | head -n {{ opts.n }} {{file}}"),
            ["pattern", "file", "opts"]
        );
        assert!(placeholder_names("echo {} {{ }} {{a}b}} }}").is_empty());
        assert_eq!(placeholder_names("awk '{{{x}}'"), ["{x"]);
    }

    #[test]
    fn renders_strings_numbers_nested_and_null_as_quoted_words() {
        let values = inputs(json!({
            "name": "Ada", "n": 3, "flag": true, "none": null,
            "user": {"tags": ["a", "b"], "age": 36}
        }));
        assert_eq!(
            render_command(
                "echo {{name}} {{ n }} {{flag}} {{none}} {{user.age}} {{ user.tags.1 }} {{user}}",
                &values
            )
            .unwrap(),
            r#"echo 'Ada' '3' 'true' '' '36' 'b' '{"tags":["a","b"],"age":36}'"#
        );
    }

    #[test]
    fn quoting_defeats_injection() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(shell_quote(""), "''");
        let values = inputs(json!({"x": "a'; touch pwned; echo '`id`"}));
        assert_eq!(
            render_command("echo {{x}}", &values).unwrap(),
            r"echo 'a'\''; touch pwned; echo '\''`id`'"
        );
    }

    #[test]
    fn missing_inputs_are_reported_by_path() {
        let values = inputs(json!({"user": {"name": "x"}, "list": [1]}));
        for path in ["other", "user.age", "user.name.first", "list.4", "list.x"] {
            assert_eq!(
                render_command(&format!("echo {{{{ {path} }}}}"), &values),
                Err(MissingInput {
                    path: path.to_string()
                })
            );
        }
    }

    #[test]
    fn text_without_placeholders_is_unchanged() {
        let command = "printf '%s\\n' \"${HOME}\" {} { {x} }";
        assert_eq!(render_command(command, &Map::new()).unwrap(), command);
    }
}
