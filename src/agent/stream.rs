//! Claude Code's `stream-json` output, one JSON object per line, read into typed messages.
//!
//! The lines we use: `{"type":"system","subtype":"init","session_id":..}`,
//! `{"type":"assistant","message":{"id":..,"content":[{"type":"text"..},{"type":"tool_use",
//! "name":..,"input":{..}}],"usage":{..}},"session_id":..}`, `{"type":"user",..}` (tool
//! results going back to the model) and the final `{"type":"result","subtype":..,
//! "is_error":..,"result":..,"session_id":..,"num_turns":..,"total_cost_usd":..,"usage":{..},
//! "structured_output":..}`. Fields are read leniently (a missing or oddly typed field is
//! `None`); other line types are [`StreamMessage::Other`], so new CLI versions do not break
//! us. Only a line that is not a JSON object with a string `type` is malformed.

use serde_json::{Map, Value};

/// One line of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamMessage {
    /// `system`/`init`: the session has started (with the model it uses).
    Init {
        session_id: Option<String>,
        model: Option<String>,
    },
    /// A message from the model (or one content block of it: the CLI may print one line per
    /// block, all with the same message id).
    Assistant(AssistantMessage),
    /// Tool results sent back to the model.
    User,
    /// The final line.
    Result(ResultMessage),
    /// Any other line type (`system` notices, partial-message events...).
    Other { kind: String },
}

/// What the model said in one assistant line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AssistantMessage {
    /// The API message id (`message.id`), shared by the lines of one model response.
    pub message_id: Option<String>,
    pub session_id: Option<String>,
    /// The model that wrote the message (`message.model`).
    pub model: Option<String>,
    pub tool_uses: Vec<ToolUse>,
    pub usage: Usage,
}

/// A tool the model asked to run.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolUse {
    pub name: String,
    pub input: Value,
}

/// Token counts, when reported.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
}

/// The final `result` line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultMessage {
    /// `success`, `error_max_turns`, `error_during_execution`...
    pub subtype: String,
    pub is_error: bool,
    /// The final text (absent on some error subtypes).
    pub result: Option<String>,
    pub session_id: Option<String>,
    pub num_turns: Option<u64>,
    pub total_cost_usd: Option<f64>,
    pub usage: Usage,
    /// The schema-checked answer when `--json-schema` was given (`null` counts as absent).
    pub structured_output: Option<Value>,
    /// Error details some CLI versions list on error results.
    pub errors: Vec<String>,
}

/// Reads one line: `Ok(None)` for a blank line, `Err(reason)` for a malformed one.
pub fn parse_line(line: &str) -> Result<Option<StreamMessage>, String> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(object) = value else {
        return Err("not a JSON object".to_string());
    };
    let Some(kind) = object.get("type").and_then(Value::as_str) else {
        return Err("no \"type\" field".to_string());
    };
    Ok(Some(match kind {
        "system" if text(&object, "subtype").as_deref() == Some("init") => StreamMessage::Init {
            session_id: text(&object, "session_id"),
            model: text(&object, "model"),
        },
        "assistant" => StreamMessage::Assistant(assistant(&object)),
        "user" => StreamMessage::User,
        "result" => StreamMessage::Result(result(&object)),
        other => StreamMessage::Other {
            kind: other.to_string(),
        },
    }))
}

fn assistant(object: &Map<String, Value>) -> AssistantMessage {
    let message = object.get("message").and_then(Value::as_object);
    let tool_uses = message
        .and_then(|m| m.get("content"))
        .and_then(Value::as_array)
        .map(|blocks| {
            blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
                .map(|b| ToolUse {
                    name: b
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown")
                        .to_string(),
                    input: b.get("input").cloned().unwrap_or(Value::Null),
                })
                .collect()
        })
        .unwrap_or_default();
    AssistantMessage {
        message_id: message.and_then(|m| text(m, "id")),
        model: message.and_then(|m| text(m, "model")),
        session_id: text(object, "session_id"),
        tool_uses,
        usage: usage(message.and_then(|m| m.get("usage"))),
    }
}

fn result(object: &Map<String, Value>) -> ResultMessage {
    let errors = object
        .get("errors")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ResultMessage {
        subtype: text(object, "subtype").unwrap_or_default(),
        is_error: object
            .get("is_error")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        result: text(object, "result"),
        session_id: text(object, "session_id"),
        num_turns: object.get("num_turns").and_then(Value::as_u64),
        total_cost_usd: object.get("total_cost_usd").and_then(Value::as_f64),
        usage: usage(object.get("usage")),
        structured_output: object
            .get("structured_output")
            .filter(|v| !v.is_null())
            .cloned(),
        errors,
    }
}

/// `input_tokens`/`output_tokens` (or `input`/`output`, which the original also accepted).
fn usage(value: Option<&Value>) -> Usage {
    let Some(Value::Object(usage)) = value else {
        return Usage::default();
    };
    let count = |names: [&str; 2]| names.iter().find_map(|n| usage.get(*n)?.as_u64());
    Usage {
        input_tokens: count(["input_tokens", "input"]),
        output_tokens: count(["output_tokens", "output"]),
    }
}

fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> StreamMessage {
        parse_line(&value.to_string()).unwrap().unwrap()
    }

    #[test]
    fn init_line() {
        let line = json!({"type": "system", "subtype": "init", "session_id": "s1", "tools": [],
            "model": "claude-sonnet-4-5"});
        assert_eq!(
            parse(line),
            StreamMessage::Init {
                session_id: Some("s1".into()),
                model: Some("claude-sonnet-4-5".into()),
            }
        );
        let other = json!({"type": "system", "subtype": "compact_boundary"});
        assert_eq!(
            parse(other),
            StreamMessage::Other {
                kind: "system".into()
            }
        );
    }

    #[test]
    fn assistant_line_with_tools_and_usage() {
        let line = json!({"type": "assistant", "session_id": "s1", "message": {
            "id": "msg_1", "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "a.txt"}},
                {"type": "tool_use", "id": "t2", "name": "Bash", "input": {"command": "ls"}}
            ],
            "usage": {"input_tokens": 12, "output_tokens": 34, "cache_read_input_tokens": 500}
        }});
        let StreamMessage::Assistant(message) = parse(line) else {
            panic!("not an assistant message")
        };
        assert_eq!(message.message_id.as_deref(), Some("msg_1"));
        assert_eq!(message.session_id.as_deref(), Some("s1"));
        assert_eq!(
            message.tool_uses,
            [
                ToolUse {
                    name: "Read".into(),
                    input: json!({"file_path": "a.txt"})
                },
                ToolUse {
                    name: "Bash".into(),
                    input: json!({"command": "ls"})
                },
            ]
        );
        assert_eq!(
            message.usage,
            Usage {
                input_tokens: Some(12),
                output_tokens: Some(34)
            }
        );
    }

    #[test]
    fn assistant_line_without_message_is_lenient() {
        let StreamMessage::Assistant(message) = parse(json!({"type": "assistant"})) else {
            panic!("not an assistant message")
        };
        assert_eq!(message, AssistantMessage::default());
    }

    #[test]
    fn result_line() {
        let line = json!({"type": "result", "subtype": "success", "is_error": false,
            "result": "done", "session_id": "s1", "num_turns": 3, "total_cost_usd": 0.0123,
            "usage": {"input_tokens": 100, "output_tokens": 50},
            "structured_output": {"a": 1}});
        assert_eq!(
            parse(line),
            StreamMessage::Result(ResultMessage {
                subtype: "success".into(),
                is_error: false,
                result: Some("done".into()),
                session_id: Some("s1".into()),
                num_turns: Some(3),
                total_cost_usd: Some(0.0123),
                usage: Usage {
                    input_tokens: Some(100),
                    output_tokens: Some(50)
                },
                structured_output: Some(json!({"a": 1})),
                errors: vec![],
            })
        );
        let StreamMessage::Result(r) = parse(
            json!({"type": "result", "subtype": "error_during_execution",
            "is_error": true, "structured_output": null, "errors": ["boom", {"code": 1}],
            "usage": {"input": 7, "output": 8}}),
        ) else {
            panic!("not a result")
        };
        assert!(r.is_error && r.result.is_none() && r.structured_output.is_none());
        assert_eq!(r.errors, ["boom", "{\"code\":1}"]);
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: Some(7),
                output_tokens: Some(8)
            }
        );
    }

    #[test]
    fn user_unknown_blank_and_malformed_lines() {
        assert_eq!(
            parse(json!({"type": "user", "message": {}})),
            StreamMessage::User
        );
        assert_eq!(
            parse(json!({"type": "stream_event"})),
            StreamMessage::Other {
                kind: "stream_event".into()
            }
        );
        assert_eq!(parse_line("   \r"), Ok(None));
        assert!(parse_line("{not json").unwrap_err().starts_with("not JSON"));
        assert_eq!(parse_line("[1,2]").unwrap_err(), "not a JSON object");
        assert_eq!(parse_line("{\"x\":1}").unwrap_err(), "no \"type\" field");
        assert_eq!(parse_line("{\"type\":3}").unwrap_err(), "no \"type\" field");
    }
}
