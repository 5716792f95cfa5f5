//! Claude Code's `stream-json` output, one JSON object per line, read into typed messages.
//!
//! The lines used (as printed by the real CLI, 2.1.x, with `--verbose
//! --include-partial-messages`):
//! - `{"type":"system","subtype":"init","session_id":..,"model":..}`: the session starts.
//! - `{"type":"assistant","message":{"id":..,"model":..,"content":[..],"usage":{..}},
//!   "parent_tool_use_id":..,"session_id":..}`: one content block of a model response (the
//!   CLI prints one line per block, all with the same message id; their `usage` is the
//!   partial count of `message_start`). A failed API call is a synthetic assistant line with
//!   `"error"`, `"api_error_status"` and model `<synthetic>`.
//! - `{"type":"stream_event","event":{"type":"message_delta","usage":{"output_tokens":..}},
//!   "api_message_id":..}`: the response's final usage. Other partial events (text deltas)
//!   repeat what the assistant lines say and are not kept.
//! - `{"type":"user",..,"parent_tool_use_id":..}`: tool results going back to the model.
//! - `{"type":"system","subtype":"api_retry","attempt":..,"retry_delay_ms":..,
//!   "error_status":..,"error":..}`: the CLI retries an API call.
//! - `{"type":"system","subtype":"permission_denied","tool_name":..,"message":..}`.
//! - `{"type":"result","subtype":..,"is_error":..,"result":..,"session_id":..,"num_turns":..,
//!   "total_cost_usd":..,"usage":{..},"modelUsage":{MODEL:{"inputTokens":..}},
//!   "permission_denials":[..],"terminal_reason":..,"api_error_status":..,
//!   "structured_output":..}`: the end of a run; with background subagents the CLI prints a
//!   second one after them (`result_index` 1), whose costs and `modelUsage` cover the whole
//!   session.
//!
//! A `parent_tool_use_id` marks a subagent's line (the id of the `Agent`/`Task` tool call
//! that started it). Fields are read leniently (a missing or oddly typed field is `None`);
//! any other line becomes a [`StreamMessage::Notice`] (rate-limit events, status and task
//! notices), so new CLI versions do not break us and nothing is silently dropped. Only a
//! line that is not a JSON object with a string `type` is malformed.

use serde_json::{Map, Value};

/// One line of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamMessage {
    /// `system`/`init`: the session has started (with the model it uses).
    Init {
        session_id: Option<String>,
        model: Option<String>,
    },
    /// A message from the model (or one content block of it).
    Assistant(AssistantMessage),
    /// The final usage of a model response (`stream_event` / `message_delta`).
    MessageDelta {
        message_id: Option<String>,
        parent_tool_use_id: Option<String>,
        usage: Usage,
    },
    /// A partial-message event whose content the assistant lines repeat.
    Partial,
    /// Tool results sent back to the model (by the agent or by a subagent).
    User { parent_tool_use_id: Option<String> },
    /// `system`/`api_retry`: an API call failed and is retried after `delay_ms`.
    ApiRetry {
        attempt: u32,
        status: Option<u16>,
        error: String,
        delay_ms: u64,
    },
    /// `system`/`permission_denied`: a tool call the CLI refused.
    PermissionDenied(PermissionDenial),
    /// The final line (or, with background subagents, one of two).
    Result(ResultMessage),
    /// Any other line: `kind` is `type` or `type/subtype`; `detail` the line without the
    /// fields every line repeats (`type`, `subtype`, `session_id`, `uuid`).
    Notice { kind: String, detail: Value },
}

/// What the model said in one assistant line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AssistantMessage {
    /// The API message id (`message.id`), shared by the lines of one model response.
    pub message_id: Option<String>,
    pub session_id: Option<String>,
    /// The model that wrote the message (`message.model`; `<synthetic>` for CLI-made lines).
    pub model: Option<String>,
    /// Set on a subagent's message: the tool call that started the subagent.
    pub parent_tool_use_id: Option<String>,
    pub tool_uses: Vec<ToolUse>,
    pub usage: Usage,
    /// A failed API call the CLI reports as a message (`error`, `api_error_status`).
    pub api_error: Option<ApiError>,
}

/// An API failure reported on an assistant line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiError {
    /// `authentication_failed`, `rate_limit`, `server_error`...
    pub error: String,
    /// The HTTP status, when the API answered (none: no credentials, network).
    pub status: Option<u16>,
    /// The text of the message (e.g. `Not logged in · Please run /login`).
    pub text: String,
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

/// A tool call the CLI refused (`permission_denials` of the result, or a
/// `permission_denied` line).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PermissionDenial {
    pub tool_name: String,
    pub tool_use_id: Option<String>,
    /// The tool's input (result lines carry it).
    pub tool_input: Option<Value>,
    /// Why (the `permission_denied` line carries it).
    pub message: Option<String>,
}

/// Per-model totals of a result's `modelUsage` (subagents included).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelUsage {
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: Option<f64>,
}

/// A `result` line.
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
    /// `modelUsage`, in the order given.
    pub model_usage: Vec<ModelUsage>,
    /// The schema-checked answer when `--json-schema` was given (`null` counts as absent).
    pub structured_output: Option<Value>,
    /// Error details some CLI versions list on error results.
    pub errors: Vec<String>,
    /// The HTTP status of a failed API call that ended the run.
    pub api_error_status: Option<u16>,
    /// Why the run ended: `completed`, `max_turns`, `api_error`...
    pub terminal_reason: Option<String>,
    pub stop_reason: Option<String>,
    pub duration_ms: Option<u64>,
    pub duration_api_ms: Option<u64>,
    pub permission_denials: Vec<PermissionDenial>,
}

impl ResultMessage {
    /// Tokens summed over `modelUsage` (every model, subagents included), if given.
    pub fn model_usage_total(&self) -> Option<Usage> {
        if self.model_usage.is_empty() {
            return None;
        }
        let sum = |f: fn(&ModelUsage) -> u64| self.model_usage.iter().map(f).sum::<u64>();
        Some(Usage {
            input_tokens: Some(sum(|m| m.input_tokens)),
            output_tokens: Some(sum(|m| m.output_tokens)),
        })
    }
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
    let subtype = text(&object, "subtype");
    Ok(Some(match (kind, subtype.as_deref()) {
        ("system", Some("init")) => StreamMessage::Init {
            session_id: text(&object, "session_id"),
            model: text(&object, "model"),
        },
        ("system", Some("api_retry")) => StreamMessage::ApiRetry {
            attempt: number(&object, "attempt").map_or(0, |n| n as u32),
            status: number(&object, "error_status").and_then(|n| u16::try_from(n).ok()),
            error: text(&object, "error").unwrap_or_default(),
            delay_ms: number(&object, "retry_delay_ms").unwrap_or(0),
        },
        ("system", Some("permission_denied")) => StreamMessage::PermissionDenied(denial(&object)),
        ("assistant", _) => StreamMessage::Assistant(assistant(&object)),
        ("user", _) => StreamMessage::User {
            parent_tool_use_id: text(&object, "parent_tool_use_id"),
        },
        ("result", _) => StreamMessage::Result(result(&object)),
        ("stream_event", _) => stream_event(&object),
        _ => notice(kind, subtype.as_deref(), &object),
    }))
}

fn notice(kind: &str, subtype: Option<&str>, object: &Map<String, Value>) -> StreamMessage {
    let detail: Map<String, Value> = object
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "type" | "subtype" | "session_id" | "uuid"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    StreamMessage::Notice {
        kind: match subtype {
            Some(subtype) => format!("{kind}/{subtype}"),
            None => kind.to_string(),
        },
        detail: Value::Object(detail),
    }
}

fn stream_event(object: &Map<String, Value>) -> StreamMessage {
    let event = object.get("event").and_then(Value::as_object);
    if event.and_then(|e| text(e, "type")).as_deref() != Some("message_delta") {
        return StreamMessage::Partial;
    }
    StreamMessage::MessageDelta {
        message_id: text(object, "api_message_id"),
        parent_tool_use_id: text(object, "parent_tool_use_id"),
        usage: usage(event.and_then(|e| e.get("usage"))),
    }
}

fn assistant(object: &Map<String, Value>) -> AssistantMessage {
    let message = object.get("message").and_then(Value::as_object);
    let blocks = message
        .and_then(|m| m.get("content"))
        .and_then(Value::as_array);
    let tool_uses = blocks
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
    let api_error = text(object, "error").map(|error| ApiError {
        error,
        status: number(object, "api_error_status").and_then(|n| u16::try_from(n).ok()),
        text: blocks
            .map(|blocks| {
                blocks
                    .iter()
                    .filter_map(|b| b.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
    });
    AssistantMessage {
        message_id: message.and_then(|m| text(m, "id")),
        model: message.and_then(|m| text(m, "model")),
        session_id: text(object, "session_id"),
        parent_tool_use_id: text(object, "parent_tool_use_id"),
        tool_uses,
        usage: usage(message.and_then(|m| m.get("usage"))),
        api_error,
    }
}

fn denial(object: &Map<String, Value>) -> PermissionDenial {
    PermissionDenial {
        tool_name: text(object, "tool_name").unwrap_or_else(|| "unknown".into()),
        tool_use_id: text(object, "tool_use_id"),
        tool_input: object.get("tool_input").filter(|v| !v.is_null()).cloned(),
        message: text(object, "message"),
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
    let model_usage = object
        .get("modelUsage")
        .and_then(Value::as_object)
        .map(|models| {
            models
                .iter()
                .filter_map(|(model, u)| {
                    let u = u.as_object()?;
                    Some(ModelUsage {
                        model: model.clone(),
                        input_tokens: number(u, "inputTokens").unwrap_or(0),
                        output_tokens: number(u, "outputTokens").unwrap_or(0),
                        cost_usd: u.get("costUSD").and_then(Value::as_f64),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let permission_denials = object
        .get("permission_denials")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_object)
                .map(denial)
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
        num_turns: number(object, "num_turns"),
        total_cost_usd: object.get("total_cost_usd").and_then(Value::as_f64),
        usage: usage(object.get("usage")),
        model_usage,
        structured_output: object
            .get("structured_output")
            .filter(|v| !v.is_null())
            .cloned(),
        errors,
        api_error_status: number(object, "api_error_status").and_then(|n| u16::try_from(n).ok()),
        terminal_reason: text(object, "terminal_reason"),
        stop_reason: text(object, "stop_reason"),
        duration_ms: number(object, "duration_ms"),
        duration_api_ms: number(object, "duration_api_ms"),
        permission_denials,
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

fn number(object: &Map<String, Value>, key: &str) -> Option<u64> {
    object.get(key).and_then(Value::as_u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> StreamMessage {
        parse_line(&value.to_string()).unwrap().unwrap()
    }

    #[test]
    fn init_and_system_notices() {
        let line = json!({"type": "system", "subtype": "init", "session_id": "s1", "tools": [],
            "model": "claude-sonnet-4-5"});
        assert_eq!(
            parse(line),
            StreamMessage::Init {
                session_id: Some("s1".into()),
                model: Some("claude-sonnet-4-5".into()),
            }
        );
        let other = json!({"type": "system", "subtype": "compact_boundary", "uuid": "u",
            "session_id": "s1", "trigger": "auto"});
        assert_eq!(
            parse(other),
            StreamMessage::Notice {
                kind: "system/compact_boundary".into(),
                detail: json!({"trigger": "auto"}),
            }
        );
        let rate =
            json!({"type": "rate_limit_event", "rate_limit_info": {"status": "allowed_warning"}});
        assert_eq!(
            parse(rate),
            StreamMessage::Notice {
                kind: "rate_limit_event".into(),
                detail: json!({"rate_limit_info": {"status": "allowed_warning"}}),
            }
        );
    }

    #[test]
    fn api_retry_and_permission_denied_lines() {
        let retry = json!({"type": "system", "subtype": "api_retry", "attempt": 2,
            "max_retries": 10, "retry_delay_ms": 1002, "error_status": 529, "error": "overloaded"});
        assert_eq!(
            parse(retry),
            StreamMessage::ApiRetry {
                attempt: 2,
                status: Some(529),
                error: "overloaded".into(),
                delay_ms: 1002
            }
        );
        let network = json!({"type": "system", "subtype": "api_retry", "attempt": 1,
            "retry_delay_ms": 500, "error_status": null, "error": "connection_error"});
        let StreamMessage::ApiRetry { status, .. } = parse(network) else {
            panic!()
        };
        assert_eq!(status, None);
        let denied = json!({"type": "system", "subtype": "permission_denied",
            "tool_name": "Bash", "tool_use_id": "t1", "message": "needs approval"});
        assert_eq!(
            parse(denied),
            StreamMessage::PermissionDenied(PermissionDenial {
                tool_name: "Bash".into(),
                tool_use_id: Some("t1".into()),
                tool_input: None,
                message: Some("needs approval".into()),
            })
        );
    }

    #[test]
    fn assistant_line_with_tools_usage_and_parent() {
        let line = json!({"type": "assistant", "session_id": "s1", "parent_tool_use_id": "toolu_A",
            "message": {
            "id": "msg_1", "role": "assistant", "model": "claude-x",
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
        assert_eq!(message.model.as_deref(), Some("claude-x"));
        assert_eq!(message.parent_tool_use_id.as_deref(), Some("toolu_A"));
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
        assert_eq!(message.api_error, None);
    }

    #[test]
    fn synthetic_api_error_message() {
        let line = json!({"type": "assistant", "message": {"id": "x", "model": "<synthetic>",
            "content": [{"type": "text", "text": "Not logged in · Please run /login"}]},
            "error": "authentication_failed", "is_api_error_message": true, "api_error_status": 401});
        let StreamMessage::Assistant(message) = parse(line) else {
            panic!()
        };
        assert_eq!(
            message.api_error,
            Some(ApiError {
                error: "authentication_failed".into(),
                status: Some(401),
                text: "Not logged in · Please run /login".into(),
            })
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
    fn message_delta_carries_the_final_usage() {
        let line = json!({"type": "stream_event", "event": {"type": "message_delta",
            "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 51}},
            "api_message_id": "msg_1", "parent_tool_use_id": null});
        assert_eq!(
            parse(line),
            StreamMessage::MessageDelta {
                message_id: Some("msg_1".into()),
                parent_tool_use_id: None,
                usage: Usage {
                    input_tokens: None,
                    output_tokens: Some(51)
                },
            }
        );
        let delta = json!({"type": "stream_event", "event": {"type": "content_block_delta"}});
        assert_eq!(parse(delta), StreamMessage::Partial);
    }

    #[test]
    fn result_line() {
        let line = json!({"type": "result", "subtype": "success", "is_error": false,
            "result": "done", "session_id": "s1", "num_turns": 3, "total_cost_usd": 0.0123,
            "usage": {"input_tokens": 100, "output_tokens": 50},
            "modelUsage": {"claude-a": {"inputTokens": 150, "outputTokens": 70, "costUSD": 0.01},
                           "claude-b": {"inputTokens": 10, "outputTokens": 5}},
            "permission_denials": [{"tool_name": "Bash", "tool_use_id": "t1",
                "tool_input": {"command": "rm x"}}],
            "terminal_reason": "completed", "stop_reason": "end_turn", "api_error_status": null,
            "duration_ms": 374, "duration_api_ms": 113,
            "structured_output": {"a": 1}});
        let StreamMessage::Result(r) = parse(line) else {
            panic!()
        };
        assert_eq!(
            r,
            ResultMessage {
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
                model_usage: vec![
                    ModelUsage {
                        model: "claude-a".into(),
                        input_tokens: 150,
                        output_tokens: 70,
                        cost_usd: Some(0.01)
                    },
                    ModelUsage {
                        model: "claude-b".into(),
                        input_tokens: 10,
                        output_tokens: 5,
                        cost_usd: None
                    },
                ],
                structured_output: Some(json!({"a": 1})),
                errors: vec![],
                api_error_status: None,
                terminal_reason: Some("completed".into()),
                stop_reason: Some("end_turn".into()),
                duration_ms: Some(374),
                duration_api_ms: Some(113),
                permission_denials: vec![PermissionDenial {
                    tool_name: "Bash".into(),
                    tool_use_id: Some("t1".into()),
                    tool_input: Some(json!({"command": "rm x"})),
                    message: None,
                }],
            }
        );
        assert_eq!(
            r.model_usage_total(),
            Some(Usage {
                input_tokens: Some(160),
                output_tokens: Some(75)
            })
        );
        let StreamMessage::Result(r) = parse(
            json!({"type": "result", "subtype": "error_during_execution",
            "is_error": true, "structured_output": null, "errors": ["boom", {"code": 1}],
            "api_error_status": 401, "usage": {"input": 7, "output": 8}}),
        ) else {
            panic!("not a result")
        };
        assert!(r.is_error && r.result.is_none() && r.structured_output.is_none());
        assert_eq!(r.errors, ["boom", "{\"code\":1}"]);
        assert_eq!(r.api_error_status, Some(401));
        assert_eq!(r.model_usage_total(), None);
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
            parse(json!({"type": "user", "message": {}, "parent_tool_use_id": "p"})),
            StreamMessage::User {
                parent_tool_use_id: Some("p".into())
            }
        );
        assert_eq!(
            parse(json!({"type": "something_new", "x": 1})),
            StreamMessage::Notice {
                kind: "something_new".into(),
                detail: json!({"x": 1}),
            }
        );
        assert_eq!(parse_line("   \r"), Ok(None));
        assert!(parse_line("{not json").unwrap_err().starts_with("not JSON"));
        assert_eq!(parse_line("[1,2]").unwrap_err(), "not a JSON object");
        assert_eq!(parse_line("{\"x\":1}").unwrap_err(), "no \"type\" field");
        assert_eq!(parse_line("{\"type\":3}").unwrap_err(), "no \"type\" field");
    }
}
