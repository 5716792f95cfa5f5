//! The Anthropic Messages API: `POST {base}/v1/messages` with `x-api-key` and
//! `anthropic-version` headers.
//!
//! A json prompt with output fields gets one tool, `structured_output`, whose input schema is
//! the output schema, and `tool_choice` forces the model to call it; the completion is then
//! the JSON text of the tool call's input. Replies are read as the original read them: the
//! first `text` or `tool_use` block of `content`, and `usage.input_tokens` /
//! `usage.output_tokens` (0 when missing), plus the prompt-cache counts
//! `cache_read_input_tokens` / `cache_creation_input_tokens` for pricing.

use std::fmt;

use serde_json::{Value, json};

use super::endpoint::{normalize_base_url, versioned_endpoint};
use super::error::ProviderError;
use super::http::HttpClient;
use super::profile::{ANTHROPIC, ProviderProfile};
use super::retry::{RetriedPost, RetryPolicy, post_with_retries};
use super::schema::object_schema;
use super::settings::ProviderSettings;
use super::{Completion, CompletionRequest, Provider, RetryNotice};
use crate::pricing::TokenUsage;
use crate::python_json;

/// The API version sent in `anthropic-version`.
pub const ANTHROPIC_API_VERSION: &str = "2023-06-01";
/// The output token limit sent when the prompt sets none (the API requires one).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;
/// The name of the tool that carries structured output.
pub const STRUCTURED_OUTPUT_TOOL: &str = "structured_output";

/// A client of the Anthropic Messages API (or a server speaking it).
pub struct AnthropicProvider {
    endpoint: String,
    api_key: String,
    client: HttpClient,
    retry: RetryPolicy,
}

impl fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicProvider")
            .field("endpoint", &self.endpoint)
            .field("api_key", &"[redacted]")
            .field("retry", &self.retry)
            .finish()
    }
}

impl AnthropicProvider {
    /// A provider sending to `base_url` (`https://api.anthropic.com` for the real API) with
    /// `api_key`. Fails when `base_url` is not an http(s) URL.
    pub fn new(
        api_key: String,
        base_url: &str,
        settings: &ProviderSettings,
    ) -> Result<Self, ProviderError> {
        let base = normalize_base_url(&ANTHROPIC, base_url)?;
        Ok(AnthropicProvider {
            endpoint: versioned_endpoint(&base, "messages"),
            api_key,
            client: HttpClient::new(settings),
            retry: settings.retry.clone(),
        })
    }

    /// The URL requests are sent to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The fixed facts used in messages.
    pub fn profile(&self) -> &'static ProviderProfile {
        &ANTHROPIC
    }
}

impl Provider for AnthropicProvider {
    fn name(&self) -> &'static str {
        ANTHROPIC.name
    }

    fn complete(
        &self,
        request: &CompletionRequest,
        on_retry: &mut dyn FnMut(RetryNotice),
    ) -> Result<Completion, ProviderError> {
        let body = request_body(request).to_string();
        let headers = [
            ("x-api-key", self.api_key.as_str()),
            ("anthropic-version", ANTHROPIC_API_VERSION),
        ];
        let post = RetriedPost {
            provider: ANTHROPIC.name,
            url: &self.endpoint,
            headers: &headers,
            body: body.as_bytes(),
            secret: Some(&self.api_key),
        };
        let delivered =
            post_with_retries(&self.client, &self.retry, &post, on_retry).map_err(|failure| {
                ProviderError::undelivered(
                    &ANTHROPIC,
                    request.model,
                    &self.endpoint,
                    failure,
                    Some(&self.api_key),
                )
            })?;
        let reply = parse_reply(&delivered.response.body).map_err(|problem| {
            ProviderError::invalid_response(
                &ANTHROPIC,
                request.model,
                &self.endpoint,
                problem,
                &delivered.response.body,
                Some(&self.api_key),
            )
        })?;
        Ok(Completion {
            latency_ms: delivered.latency_ms,
            ..reply
        })
    }
}

/// The Messages API body for `request`.
fn request_body(request: &CompletionRequest) -> Value {
    let max_tokens = request
        .max_tokens
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    let mut body = json!({
        "model": request.model,
        "messages": [{"role": "user", "content": request.prompt}],
        "max_tokens": max_tokens,
    });
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
    if let Some(fields) = request.json_schema.filter(|fields| !fields.is_empty()) {
        body["tools"] = json!([{
            "name": STRUCTURED_OUTPUT_TOOL,
            "description": "Return structured output",
            "input_schema": object_schema(fields),
        }]);
        body["tool_choice"] = json!({"type": "tool", "name": STRUCTURED_OUTPUT_TOOL});
    }
    body
}

/// The completion in a Messages API reply (latency left at 0), or what is wrong with it.
fn parse_reply(body: &str) -> Result<Completion, &'static str> {
    let reply: Value = serde_json::from_str(body).map_err(|_| "is not JSON")?;
    if !reply.is_object() {
        return Err("is not a JSON object");
    }
    let mut content = String::new();
    let blocks = reply["content"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for block in blocks {
        match block["type"].as_str() {
            Some("text") => {
                content = block["text"].as_str().unwrap_or_default().to_string();
                break;
            }
            Some("tool_use") => {
                let input = block.get("input").cloned().unwrap_or_else(|| json!({}));
                content = python_json::dumps(&input);
                break;
            }
            _ => {}
        }
    }
    let count = |key: &str| reply["usage"][key].as_u64().unwrap_or(0);
    Ok(Completion {
        content,
        input_tokens: count("input_tokens"),
        output_tokens: count("output_tokens"),
        usage: TokenUsage {
            input: count("input_tokens"),
            output: count("output_tokens"),
            cache_read: count("cache_read_input_tokens"),
            cache_write: count("cache_creation_input_tokens"),
        },
        latency_ms: 0,
        response_model: reply["model"].as_str().map(str::to_string),
        finish_reason: reply["stop_reason"].as_str().map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::providers::ProviderErrorKind;
    use crate::providers::test_fixtures::{fast_settings, recorder, refused_url, schema};
    use crate::providers::test_server::{FakeLlm, FakeReply};

    const KEY: &str = "sk-ant-test-key";

    fn provider_for(base_url: &str) -> AnthropicProvider {
        AnthropicProvider::new(KEY.to_string(), base_url, &fast_settings()).unwrap()
    }

    fn text_request<'a>(prompt: &'a str) -> CompletionRequest<'a> {
        CompletionRequest {
            model: "claude-test",
            prompt,
            temperature: None,
            max_tokens: None,
            json_schema: None,
        }
    }

    #[test]
    fn text_prompt_request_shape_and_tokens() {
        let fake = FakeLlm::start();
        fake.push_reply(FakeReply::text("Hello, Ada!").tokens(12, 40));
        let provider = provider_for(&fake.url());
        let request = CompletionRequest {
            temperature: Some(0.2),
            max_tokens: Some(256),
            ..text_request("Say hello to Ada.")
        };
        let mut notices = Vec::new();
        let completion = provider
            .complete(&request, &mut recorder(&mut notices))
            .unwrap();

        assert_eq!(completion.content, "Hello, Ada!");
        assert_eq!(
            (completion.input_tokens, completion.output_tokens),
            (12, 40)
        );
        assert!(notices.is_empty());
        let requests = fake.requests();
        assert_eq!(requests.len(), 1);
        let sent = &requests[0];
        assert_eq!(
            (sent.method.as_str(), sent.path.as_str()),
            ("POST", "/v1/messages")
        );
        assert_eq!(sent.header("x-api-key"), Some(KEY));
        assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(sent.header("content-type"), Some("application/json"));
        assert_eq!(sent.header("authorization"), None);
        assert_eq!(
            sent.body,
            json!({
                "model": "claude-test",
                "messages": [{"role": "user", "content": "Say hello to Ada."}],
                "max_tokens": 256,
                "temperature": 0.2,
            })
        );
    }

    #[test]
    fn defaults_max_tokens_and_omits_temperature() {
        let fake = FakeLlm::start();
        let provider = provider_for(&fake.url());
        let request = CompletionRequest {
            max_tokens: Some(0),
            ..text_request("one two three")
        };
        let completion = provider.complete(&request, &mut |_| {}).unwrap();

        // The fake's default reply echoes the prompt and counts words as tokens.
        assert_eq!(completion.content, "echo: one two three");
        assert_eq!((completion.input_tokens, completion.output_tokens), (3, 4));
        let body = &fake.requests()[0].body;
        assert_eq!(body["max_tokens"], 4096);
        assert!(body.get("temperature").is_none());
        assert!(body.get("tools").is_none());
        assert!(body.get("tool_choice").is_none());
    }

    #[test]
    fn json_prompt_forces_the_structured_output_tool() {
        let fake = FakeLlm::start();
        fake.push_reply(
            FakeReply::json(json!({"title": "Café", "score": 0.5, "tags": ["a"]})).tokens(7, 9),
        );
        let provider = provider_for(&fake.url());
        let fields = schema(&[
            ("title", "string", "The title"),
            ("score", "number", ""),
            ("tags", "array", "Tags"),
        ]);
        let request = CompletionRequest {
            json_schema: Some(&fields),
            ..text_request("Rate it.")
        };
        let completion = provider.complete(&request, &mut |_| {}).unwrap();

        // The tool input, written as the original's json.dumps wrote it.
        assert_eq!(
            completion.content,
            r#"{"title": "Caf\u00e9", "score": 0.5, "tags": ["a"]}"#
        );
        assert_eq!((completion.input_tokens, completion.output_tokens), (7, 9));
        let body = &fake.requests()[0].body;
        assert_eq!(
            body["tools"],
            json!([{
                "name": "structured_output",
                "description": "Return structured output",
                "input_schema": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string", "description": "The title"},
                        "score": {"type": "number", "description": "The score field"},
                        "tags": {"type": "array", "description": "Tags"},
                    },
                    "required": ["title", "score", "tags"],
                },
            }])
        );
        assert_eq!(
            body["tool_choice"],
            json!({"type": "tool", "name": "structured_output"})
        );
    }

    #[test]
    fn json_prompt_without_fields_sends_no_tool() {
        let fake = FakeLlm::start();
        fake.push_reply(FakeReply::text(r#"{"a": 1}"#));
        let provider = provider_for(&fake.url());
        let fields = schema(&[]);
        let request = CompletionRequest {
            json_schema: Some(&fields),
            ..text_request("Give JSON.")
        };
        let completion = provider.complete(&request, &mut |_| {}).unwrap();
        assert_eq!(completion.content, r#"{"a": 1}"#);
        assert!(fake.requests()[0].body.get("tools").is_none());
    }

    #[test]
    fn rate_limit_is_retried_with_a_notice() {
        let fake = FakeLlm::start();
        fake.push_status(429).push_reply(FakeReply::text("ok"));
        let provider = provider_for(&fake.url());
        let mut notices = Vec::new();
        let completion = provider
            .complete(&text_request("hi"), &mut recorder(&mut notices))
            .unwrap();

        assert_eq!(completion.content, "ok");
        assert_eq!(fake.requests().len(), 2);
        assert_eq!(notices.len(), 1);
        let notice = &notices[0];
        assert_eq!(notice.provider, "anthropic");
        assert_eq!(notice.attempt, 1);
        assert_eq!(notice.status, Some(429));
        assert_eq!(notice.delay_ms, 1);
        assert!(
            notice.error.starts_with("HTTP 429 Too Many Requests: "),
            "{notice:?}"
        );
    }

    #[test]
    fn retry_after_header_lengthens_the_wait_up_to_the_cap() {
        let fake = FakeLlm::start();
        fake.push_status_with_retry_after(429, 30)
            .push_reply(FakeReply::text("ok"));
        let provider = provider_for(&fake.url());
        let mut notices = Vec::new();
        provider
            .complete(&text_request("hi"), &mut recorder(&mut notices))
            .unwrap();
        // 30 s asked, capped at 60 × the 1 ms base.
        assert_eq!(notices[0].delay_ms, 60);
    }

    #[test]
    fn server_errors_fail_after_three_retries() {
        let fake = FakeLlm::start();
        for _ in 0..4 {
            fake.push_status(500);
        }
        fake.push_reply(FakeReply::text("too late"));
        let provider = provider_for(&fake.url());
        let mut notices = Vec::new();
        let error = provider
            .complete(&text_request("hi"), &mut recorder(&mut notices))
            .unwrap_err();

        assert_eq!(fake.requests().len(), 4);
        let delays: Vec<u64> = notices.iter().map(|n| n.delay_ms).collect();
        assert_eq!(delays, [1, 2, 4]);
        let attempts: Vec<u32> = notices.iter().map(|n| n.attempt).collect();
        assert_eq!(attempts, [1, 2, 3]);
        assert_eq!(error.status, Some(500));
        assert_eq!(error.kind, ProviderErrorKind::Status);
        assert_eq!(error.attempts, 4);
        assert_eq!(error.provider, Some("anthropic"));
        let message = error.to_string();
        assert!(
            message.contains("Anthropic request for model 'claude-test'"),
            "{message}"
        );
        assert!(
            message.contains("HTTP 500 Internal Server Error"),
            "{message}"
        );
        assert!(message.contains("after 4 attempts"), "{message}");
        assert!(message.contains("try again later"), "{message}");
    }

    #[test]
    fn unauthorized_fails_at_once_without_leaking_the_key() {
        let fake = FakeLlm::start();
        fake.push_status(401).push_reply(FakeReply::text("never"));
        let provider = provider_for(&fake.url());
        let mut notices = Vec::new();
        let error = provider
            .complete(&text_request("hi"), &mut recorder(&mut notices))
            .unwrap_err();

        assert_eq!(fake.requests().len(), 1);
        assert!(notices.is_empty());
        assert_eq!(error.status, Some(401));
        assert_eq!(error.attempts, 1);
        let message = error.to_string();
        assert!(message.contains("HTTP 401 Unauthorized"), "{message}");
        assert!(message.contains("check ANTHROPIC_API_KEY"), "{message}");
        assert!(!message.contains("after"), "{message}");
        assert!(!message.contains(KEY), "{message}");
        assert!(!format!("{provider:?}").contains(KEY));
    }

    #[test]
    fn other_client_errors_fail_at_once() {
        for status in [400, 403, 404, 422] {
            let fake = FakeLlm::start();
            fake.push_status(status);
            let provider = provider_for(&fake.url());
            let error = provider
                .complete(&text_request("hi"), &mut |_| {})
                .unwrap_err();
            assert_eq!(error.status, Some(status));
            assert_eq!(fake.requests().len(), 1, "HTTP {status} was retried");
        }
    }

    #[test]
    fn refused_connections_are_retried_then_reported() {
        let url = refused_url();
        let provider = provider_for(&url);
        let mut notices = Vec::new();
        let error = provider
            .complete(&text_request("hi"), &mut recorder(&mut notices))
            .unwrap_err();

        assert_eq!(notices.len(), 3);
        assert!(notices.iter().all(|n| n.status.is_none()));
        assert_eq!(notices[0].error, "connection refused");
        assert_eq!(error.kind, ProviderErrorKind::Network);
        assert_eq!(error.status, None);
        assert_eq!(error.attempts, 4);
        let message = error.to_string();
        assert!(
            message.contains(&format!("could not reach {url}/v1/messages")),
            "{message}"
        );
        assert!(message.contains("ANTHROPIC_BASE_URL"), "{message}");
    }

    #[test]
    fn a_dropped_connection_is_retried() {
        let fake = FakeLlm::start();
        fake.push_disconnect().push_reply(FakeReply::text("back"));
        let provider = provider_for(&fake.url());
        let mut notices = Vec::new();
        let completion = provider
            .complete(&text_request("hi"), &mut recorder(&mut notices))
            .unwrap();
        assert_eq!(completion.content, "back");
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].status, None);
    }

    #[test]
    fn base_url_ending_in_v1_is_not_doubled() {
        let fake = FakeLlm::start();
        let provider = provider_for(&format!("{}/v1/", fake.url()));
        assert_eq!(provider.endpoint(), format!("{}/v1/messages", fake.url()));
        provider.complete(&text_request("hi"), &mut |_| {}).unwrap();
        assert_eq!(fake.requests()[0].path, "/v1/messages");
    }

    #[test]
    fn reads_replies_like_the_original() {
        let reply = parse_reply(
            r#"{"content": [{"type": "thinking", "thinking": "hm"},
                            {"type": "text", "text": "first"},
                            {"type": "text", "text": "second"}]}"#,
        )
        .unwrap();
        assert_eq!(reply.content, "first");
        assert_eq!((reply.input_tokens, reply.output_tokens), (0, 0));

        let reply = parse_reply(r#"{"content": [{"type": "tool_use", "name": "x"}]}"#).unwrap();
        assert_eq!(reply.content, "{}");
        assert_eq!(parse_reply("{}").unwrap().content, "");
        assert_eq!(parse_reply("<html>").unwrap_err(), "is not JSON");
        assert_eq!(parse_reply("[1]").unwrap_err(), "is not a JSON object");
    }
}
