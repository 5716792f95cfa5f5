//! What the final `result` line means for the node: a failure, or the node's output.
//!
//! - Failures: `is_error: true`, an `error_*` subtype (`error_max_turns` says how to raise
//!   the limit), checked before anything else.
//! - Text prompts output `{"text": result}`.
//! - JSON prompts output `structured_output` (what the CLI checked against `--json-schema`)
//!   when present, else JSON found in the result text: the whole text, else a fenced block
//!   (```` ```json ```` first, then any ```` ``` ````), else the first `{...}` object embedded
//!   in prose. A JSON value that is not an object becomes `{"result": value}`, and the output
//!   has no `text` key: both as in the original.
//! - The schema is checked loosely: a declared field that is present (and not null) must
//!   have its declared type, else the node fails naming the field; a missing field is
//!   accepted, as the original accepted any JSON object; undeclared fields are kept.

use serde_json::{Map, Value};

use super::command::schema_type;
use super::error::AgentError;
use super::stream::{ApiError, ResultMessage};
use crate::project::{AgentNode, OutputFormat, PromptFile};

/// How many `{` positions the embedded-object search tries before giving up (bounds the
/// work on long prose full of braces).
const MAX_EMBEDDED_ATTEMPTS: usize = 200;

/// The failure a result line reports, if any. `api_error` is the last failed API call
/// the CLI reported as a message (it carries the error kind the result lacks).
///
/// API failures (`api_error_status` set, `terminal_reason: api_error`, or an API error
/// message) are [`AgentError::api`] (exit 3): a 401 says the API refused the credentials,
/// a missing login says how to give the CLI credentials. Errors the CLI reports with
/// subtype `success` do not show that subtype.
pub fn result_failure(
    node_id: &str,
    node: &AgentNode,
    result: &ResultMessage,
    api_error: Option<&ApiError>,
) -> Option<AgentError> {
    let details = || {
        let mut parts: Vec<String> = result.result.iter().cloned().collect();
        parts.extend(result.errors.iter().cloned());
        let joined = parts.join("; ");
        if joined.trim().is_empty() {
            "no details given".to_string()
        } else {
            joined
        }
    };
    if result.subtype == "error_max_turns" {
        let turns = result
            .num_turns
            .map_or_else(String::new, |n| format!(" after {n} turns"));
        return Some(AgentError::cli(format!(
            "Agent '{node_id}' reached its max_turns limit ({}){turns} without finishing; raise \
             `max_turns` on the node or give it a smaller task.",
            node.max_turns
        )));
    }
    if !result.is_error && !result.subtype.starts_with("error") {
        return None;
    }
    let status = result
        .api_error_status
        .or_else(|| api_error.and_then(|e| e.status));
    let api_failed = status.is_some()
        || api_error.is_some()
        || result.terminal_reason.as_deref() == Some("api_error");
    if api_failed {
        let kind = api_error
            .map(|e| e.error.as_str())
            .filter(|k| !k.is_empty());
        return Some(AgentError::api(match (status, kind) {
            (Some(401), _) => format!(
                "Agent '{node_id}': the Anthropic API rejected the Claude CLI's credentials \
                 (HTTP 401{}). The CLI has credentials but they are invalid or expired: check \
                 ANTHROPIC_AUTH_TOKEN, its apiKeyHelper, or log in again with `claude` (with \
                 `pass_api_key: true`: ANTHROPIC_API_KEY). The CLI said: {}",
                kind.map_or_else(String::new, |k| format!(", {k}")),
                details()
            ),
            (Some(status), _) => format!(
                "Agent '{node_id}': the Anthropic API failed (HTTP {status}{}) and the Claude \
                 CLI gave up: {}",
                kind.map_or_else(String::new, |k| format!(", {k}")),
                details()
            ),
            (None, Some("authentication_failed")) => format!(
                "Agent '{node_id}': the Claude CLI is not logged in (it said: {}). Trident \
                 removes ANTHROPIC_API_KEY from the CLI's environment so that it uses your \
                 Claude subscription: log in once with `claude`, or give the CLI credentials \
                 with ANTHROPIC_AUTH_TOKEN or an apiKeyHelper in its settings, or set \
                 `pass_api_key: true` on the node to let it use ANTHROPIC_API_KEY.",
                details()
            ),
            (None, kind) => format!(
                "Agent '{node_id}': the Claude CLI's API call failed{}: {}",
                kind.map_or_else(String::new, |k| format!(" ({k})")),
                details()
            ),
        }));
    }
    let mut labels = Vec::new();
    if !result.subtype.is_empty() && result.subtype != "success" {
        labels.push(result.subtype.clone());
    }
    if let Some(reason) = result
        .terminal_reason
        .as_deref()
        .filter(|r| *r != "completed")
    {
        labels.push(format!("terminal_reason {reason}"));
    }
    let labels = if labels.is_empty() {
        String::new()
    } else {
        format!(" ({})", labels.join(", "))
    };
    Some(AgentError::cli(format!(
        "Agent '{node_id}' CLI reported an error{labels}: {}",
        details()
    )))
}

/// The node's output for a successful result.
pub fn node_output(
    node_id: &str,
    prompt: &PromptFile,
    result: &ResultMessage,
) -> Result<Map<String, Value>, AgentError> {
    let text = result.result.as_deref().unwrap_or("");
    if prompt.output_format == OutputFormat::Text {
        let mut output = Map::new();
        output.insert("text".into(), Value::String(text.to_string()));
        return Ok(output);
    }
    let value = match &result.structured_output {
        Some(value) => value.clone(),
        None => extract_json(text).ok_or_else(|| {
            AgentError::cli(format!(
                "Agent '{node_id}' returned invalid JSON in response (its prompt asks for json \
                 output; expected a JSON object, a ```json block or an object in the text). \
                 Response preview: {:?}",
                preview(text, 200)
            ))
        })?,
    };
    let output = match value {
        Value::Object(map) => map,
        other => {
            let mut wrapped = Map::new();
            wrapped.insert("result".into(), other);
            wrapped
        }
    };
    check_schema(node_id, prompt, &output)?;
    Ok(output)
}

/// The first JSON found in `text` (see the module header for the order of the searches).
pub fn extract_json(text: &str) -> Option<Value> {
    let text = text.trim();
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return Some(value);
    }
    let blocks = fenced_blocks(text);
    let tagged = blocks
        .iter()
        .filter(|(lang, _)| lang.eq_ignore_ascii_case("json"));
    let untagged = blocks
        .iter()
        .filter(|(lang, _)| !lang.eq_ignore_ascii_case("json"));
    for (_, body) in tagged.chain(untagged) {
        if let Ok(value) = serde_json::from_str::<Value>(body.trim()) {
            return Some(value);
        }
    }
    embedded_object(text)
}

/// The ```` ``` ```` blocks of `text` as (language tag, body).
fn fenced_blocks(text: &str) -> Vec<(&str, &str)> {
    // Between the 1st and 2nd fence is a block, between the 2nd and 3rd is prose, and so on.
    text.split("```")
        .skip(1)
        .step_by(2)
        .map(|inside| match inside.split_once('\n') {
            Some((tag, body)) if tag.len() < 20 && !tag.trim().contains(char::is_whitespace) => {
                (tag.trim(), body)
            }
            _ => ("", inside),
        })
        .collect()
}

/// The first `{...}` in `text` that parses as a JSON object (what follows it is ignored).
fn embedded_object(text: &str) -> Option<Value> {
    text.match_indices('{')
        .take(MAX_EMBEDDED_ATTEMPTS)
        .find_map(|(start, _)| {
            let mut values =
                serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
            match values.next() {
                Some(Ok(value @ Value::Object(_))) => Some(value),
                _ => None,
            }
        })
}

/// The loose schema check described in the module header.
fn check_schema(
    node_id: &str,
    prompt: &PromptFile,
    output: &Map<String, Value>,
) -> Result<(), AgentError> {
    for (name, field) in &prompt.output_fields {
        let Some(value) = output.get(name).filter(|v| !v.is_null()) else {
            continue;
        };
        let Some(expected) = schema_type(&field.field_type) else {
            continue;
        };
        let fits = match expected {
            "string" => value.is_string(),
            "integer" => {
                value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            _ => value.is_object(),
        };
        if !fits {
            return Err(AgentError::cli(format!(
                "Agent '{node_id}' output field '{name}' should be {} ({}), got {}: {}",
                article(expected),
                field.field_type,
                json_type_name(value),
                preview(&value.to_string(), 100)
            )));
        }
    }
    Ok(())
}

fn article(json_type: &str) -> String {
    match json_type {
        "integer" | "array" | "object" => format!("an {json_type}"),
        other => format!("a {other}"),
    }
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The first `chars` characters of `text`.
pub fn preview(text: &str, chars: usize) -> &str {
    text.char_indices()
        .nth(chars)
        .map_or(text, |(cut, _)| &text[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::command::tests::{agent_node, prompt_file};
    use serde_json::json;

    fn success(text: &str) -> ResultMessage {
        ResultMessage {
            subtype: "success".into(),
            result: Some(text.into()),
            ..ResultMessage::default()
        }
    }

    #[test]
    fn text_output() {
        let prompt = prompt_file(OutputFormat::Text, &[], "");
        let output = node_output("w", &prompt, &success("All done.")).unwrap();
        assert_eq!(Value::Object(output), json!({"text": "All done."}));
    }

    #[test]
    fn json_from_structured_output_first() {
        let prompt = prompt_file(OutputFormat::Json, &[("summary", "string")], "");
        let mut result = success("{\"summary\": \"from text\"}");
        result.structured_output = Some(json!({"summary": "structured", "extra": 1}));
        let output = node_output("w", &prompt, &result).unwrap();
        assert_eq!(
            Value::Object(output),
            json!({"summary": "structured", "extra": 1})
        );
        result.structured_output = Some(json!([1, 2]));
        let output = node_output("w", &prompt, &result).unwrap();
        assert_eq!(Value::Object(output), json!({"result": [1, 2]}));
    }

    #[test]
    fn json_found_in_text() {
        let cases = [
            (" {\"a\": 1} ", json!({"a": 1})),
            (
                "Here you go:\n```json\n{\"a\": 2}\n```\nDone.",
                json!({"a": 2}),
            ),
            ("```\n{\"a\": 3}\n```", json!({"a": 3})),
            (
                "```python\nprint(1)\n```\n```JSON\n{\"a\": 4}\n```",
                json!({"a": 4}),
            ),
            (
                "The answer is {\"a\": \"}{\", \"b\": {\"c\": 5}} as requested.",
                json!({"a": "}{", "b": {"c": 5}}),
            ),
            (
                "Set {braces} aside: {\"a\": 6} and {\"a\": 7}",
                json!({"a": 6}),
            ),
            ("[1, 2, 3]", json!([1, 2, 3])),
        ];
        for (text, expected) in cases {
            assert_eq!(extract_json(text), Some(expected), "{text}");
        }
        assert_eq!(extract_json("no json here { at all"), None);
        assert_eq!(extract_json(""), None);
        let prompt = prompt_file(OutputFormat::Json, &[], "");
        let output = node_output("w", &prompt, &success("[1, 2, 3]")).unwrap();
        assert_eq!(Value::Object(output), json!({"result": [1, 2, 3]}));
    }

    #[test]
    fn invalid_json_is_a_clear_failure() {
        let prompt = prompt_file(OutputFormat::Json, &[], "");
        let error = node_output("w", &prompt, &success("I could not do it.")).unwrap_err();
        assert!(
            error.message.starts_with("Agent 'w' returned invalid JSON"),
            "{}",
            error.message
        );
        assert!(error.message.contains("I could not do it."));
        assert_eq!(error.error_type, "CLIAgentError");
    }

    #[test]
    fn schema_is_checked_loosely() {
        let prompt = prompt_file(
            OutputFormat::Json,
            &[
                ("title", "string"),
                ("count", "int"),
                ("score", "number"),
                ("tags", "list"),
                ("odd", "weird"),
            ],
            "",
        );
        let ok = success(r#"{"title": "t", "count": 2.0, "score": 1.5, "odd": [1], "more": true}"#);
        let output = node_output("w", &prompt, &ok).unwrap();
        assert_eq!(
            output["more"],
            json!(true),
            "undeclared fields are kept; missing tags accepted"
        );
        let null_ok = success(r#"{"title": null}"#);
        assert!(node_output("w", &prompt, &null_ok).is_ok());
        let bad = success(r#"{"title": "t", "count": "two"}"#);
        let error = node_output("w", &prompt, &bad).unwrap_err();
        assert_eq!(
            error.message,
            "Agent 'w' output field 'count' should be an integer (int), got a string: \"two\""
        );
        let fractional = success(r#"{"count": 2.5}"#);
        assert!(node_output("w", &prompt, &fractional).is_err());
    }

    #[test]
    fn failures_of_the_result_line() {
        let node = agent_node("w");
        assert_eq!(result_failure("w", &node, &success("fine"), None), None);

        let mut max_turns = ResultMessage {
            subtype: "error_max_turns".into(),
            num_turns: Some(51),
            ..ResultMessage::default()
        };
        let error = result_failure("w", &node, &max_turns, None).unwrap();
        assert_eq!(
            error.message,
            "Agent 'w' reached its max_turns limit (50) after 51 turns without finishing; raise \
             `max_turns` on the node or give it a smaller task."
        );
        assert!(!error.api_failure);
        max_turns.is_error = true;
        assert!(result_failure("w", &node, &max_turns, None).is_some());

        // An error reported with subtype `success` does not say "(success)".
        let reported = ResultMessage {
            subtype: "success".into(),
            is_error: true,
            result: Some("Credit balance is too low".into()),
            ..ResultMessage::default()
        };
        let error = result_failure("w", &node, &reported, None).unwrap();
        assert_eq!(
            error.message,
            "Agent 'w' CLI reported an error: Credit balance is too low"
        );

        let during = ResultMessage {
            subtype: "error_during_execution".into(),
            errors: vec!["tool crashed".into()],
            terminal_reason: Some("aborted".into()),
            ..ResultMessage::default()
        };
        let error = result_failure("w", &node, &during, None).unwrap();
        assert_eq!(
            error.message,
            "Agent 'w' CLI reported an error (error_during_execution, terminal_reason aborted): \
             tool crashed"
        );
        let bare = ResultMessage {
            is_error: true,
            ..ResultMessage::default()
        };
        assert_eq!(
            result_failure("w", &node, &bare, None).unwrap().message,
            "Agent 'w' CLI reported an error: no details given"
        );
    }

    #[test]
    fn api_failures_exit_3_and_say_what_happened() {
        let node = agent_node("w");
        let not_logged_in = "Not logged in · Please run /login";
        let result = |status: Option<u16>| ResultMessage {
            subtype: "success".into(),
            is_error: true,
            result: Some(not_logged_in.into()),
            api_error_status: status,
            terminal_reason: Some("api_error".into()),
            ..ResultMessage::default()
        };
        let auth = ApiError {
            error: "authentication_failed".into(),
            status: None,
            text: not_logged_in.into(),
        };
        // A 401: the credentials were refused, not missing.
        let error = result_failure("w", &node, &result(Some(401)), Some(&auth)).unwrap();
        assert!(error.api_failure);
        assert!(
            error.message.contains(
                "rejected the Claude CLI's credentials (HTTP 401, authentication_failed)"
            ),
            "{}",
            error.message
        );
        assert!(
            !error.message.contains("not logged in"),
            "{}",
            error.message
        );
        // No credentials at all: say how to give some.
        let error = result_failure("w", &node, &result(None), Some(&auth)).unwrap();
        assert!(error.api_failure);
        for hint in [
            "not logged in",
            "ANTHROPIC_AUTH_TOKEN",
            "apiKeyHelper",
            "pass_api_key: true",
        ] {
            assert!(error.message.contains(hint), "{hint}: {}", error.message);
        }
        // Overloaded after retries.
        let mut overloaded = result(Some(529));
        overloaded.result = Some("API Error: 529 overloaded".into());
        let error = result_failure("w", &node, &overloaded, None).unwrap();
        assert!(error.api_failure);
        assert_eq!(
            error.message,
            "Agent 'w': the Anthropic API failed (HTTP 529) and the Claude CLI gave up: API \
             Error: 529 overloaded"
        );
        assert!(!error.message.contains("(success)"));
    }

    #[test]
    fn preview_cuts_on_char_boundaries() {
        assert_eq!(preview("héllo", 2), "hé");
        assert_eq!(preview("hi", 10), "hi");
    }
}
