//! OpenAI Chat Completions: `POST {base}/chat/completions` with `Authorization: Bearer`.
//!
//! Any OpenAI-compatible server works by pointing `OPENAI_BASE_URL` at it (Ollama:
//! `http://localhost:11434/v1`, vLLM: `http://localhost:8000/v1`); see the endpoint module
//! for how `/v1` is handled. Local servers often need no key, so the key is optional: without
//! one no `Authorization` header is sent.
//!
//! A json prompt with output fields gets `response_format: json_schema` (strict, named
//! `response`, `additionalProperties: false`); one without fields gets `json_object`. The
//! completion is `choices[0].message.content` (a `null` content reads as empty), with tokens
//! from `usage.prompt_tokens` / `usage.completion_tokens` (0 when missing) and the cached
//! share of the prompt from `usage.prompt_tokens_details.cached_tokens`. As in the original,
//! the limit is sent as `max_tokens`, which compatible servers and older OpenAI models accept.

use std::fmt;

use serde_json::{Value, json};

use super::endpoint::{normalize_base_url, versioned_endpoint};
use super::error::ProviderError;
use super::http::HttpClient;
use super::profile::{OPENAI, ProviderProfile};
use super::retry::{RetriedPost, RetryPolicy, post_with_retries};
use super::schema::object_schema;
use super::settings::ProviderSettings;
use super::{Completion, CompletionRequest, Provider, RetryNotice};
use crate::pricing::TokenUsage;

/// A client of OpenAI Chat Completions or an OpenAI-compatible server.
pub struct OpenAiProvider {
    endpoint: String,
    api_key: Option<String>,
    client: HttpClient,
    retry: RetryPolicy,
}

impl fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.api_key.as_ref().map(|_| "[redacted]");
        f.debug_struct("OpenAiProvider")
            .field("endpoint", &self.endpoint)
            .field("api_key", &key)
            .field("retry", &self.retry)
            .finish()
    }
}

impl OpenAiProvider {
    /// A provider sending to `base_url` (`https://api.openai.com/v1` for the real API), with
    /// `api_key` as a bearer token when there is one. Fails when `base_url` is not an
    /// http(s) URL.
    pub fn new(
        api_key: Option<String>,
        base_url: &str,
        settings: &ProviderSettings,
    ) -> Result<Self, ProviderError> {
        let base = normalize_base_url(&OPENAI, base_url)?;
        Ok(OpenAiProvider {
            endpoint: versioned_endpoint(&base, "chat/completions"),
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
        &OPENAI
    }
}

impl Provider for OpenAiProvider {
    fn name(&self) -> &'static str {
        OPENAI.name
    }

    fn complete(
        &self,
        request: &CompletionRequest,
        on_retry: &mut dyn FnMut(RetryNotice),
    ) -> Result<Completion, ProviderError> {
        let body = request_body(request).to_string();
        let authorization = self.api_key.as_ref().map(|key| format!("Bearer {key}"));
        let headers: Vec<(&str, &str)> = authorization
            .iter()
            .map(|value| ("authorization", value.as_str()))
            .collect();
        let secret = self.api_key.as_deref();
        let post = RetriedPost {
            provider: OPENAI.name,
            url: &self.endpoint,
            headers: &headers,
            body: body.as_bytes(),
            secret,
        };
        let delivered =
            post_with_retries(&self.client, &self.retry, &post, on_retry).map_err(|failure| {
                ProviderError::undelivered(&OPENAI, request.model, &self.endpoint, failure, secret)
            })?;
        let reply = parse_reply(&delivered.response.body).map_err(|problem| {
            ProviderError::invalid_response(
                &OPENAI,
                request.model,
                &self.endpoint,
                problem,
                &delivered.response.body,
                secret,
            )
        })?;
        Ok(Completion {
            latency_ms: delivered.latency_ms,
            ..reply
        })
    }
}

/// The Chat Completions body for `request`.
fn request_body(request: &CompletionRequest) -> Value {
    let mut body = json!({
        "model": request.model,
        "messages": [{"role": "user", "content": request.prompt}],
    });
    if let Some(max_tokens) = request.max_tokens.filter(|&n| n > 0) {
        body["max_tokens"] = json!(max_tokens);
    }
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
    match request.json_schema {
        Some(fields) if !fields.is_empty() => {
            let mut schema = object_schema(fields);
            schema.insert("additionalProperties".into(), json!(false));
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": "response", "strict": true, "schema": schema},
            });
        }
        Some(_) => body["response_format"] = json!({"type": "json_object"}),
        None => {}
    }
    body
}

/// The completion in a Chat Completions reply (latency left at 0), or what is wrong with it.
fn parse_reply(body: &str) -> Result<Completion, &'static str> {
    let reply: Value = serde_json::from_str(body).map_err(|_| "is not JSON")?;
    if !reply.is_object() {
        return Err("is not a JSON object");
    }
    let content = reply["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let usage = &reply["usage"];
    let prompt_tokens = usage["prompt_tokens"].as_u64().unwrap_or(0);
    let output_tokens = usage["completion_tokens"].as_u64().unwrap_or(0);
    // Cached prompt tokens are part of prompt_tokens, billed at the cached price.
    let cached = usage["prompt_tokens_details"]["cached_tokens"]
        .as_u64()
        .unwrap_or(0)
        .min(prompt_tokens);
    Ok(Completion {
        content,
        input_tokens: prompt_tokens,
        output_tokens,
        usage: TokenUsage {
            input: prompt_tokens - cached,
            output: output_tokens,
            cache_read: cached,
            cache_write: 0,
        },
        latency_ms: 0,
        response_model: reply["model"].as_str().map(str::to_string),
        finish_reason: reply["choices"][0]["finish_reason"]
            .as_str()
            .map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::providers::ProviderErrorKind;
    use crate::providers::test_fixtures::{fast_settings, recorder, refused_url, schema};
    use crate::providers::test_server::{FakeLlm, FakeReply};

    const KEY: &str = "sk-openai-test-key";

    fn provider_for(base_url: &str, key: Option<&str>) -> OpenAiProvider {
        OpenAiProvider::new(key.map(str::to_string), base_url, &fast_settings()).unwrap()
    }

    fn text_request<'a>(prompt: &'a str) -> CompletionRequest<'a> {
        CompletionRequest {
            model: "gpt-test",
            prompt,
            temperature: None,
            max_tokens: None,
            json_schema: None,
        }
    }

    #[test]
    fn text_prompt_request_shape_and_tokens() {
        let fake = FakeLlm::start();
        fake.push_reply(FakeReply::text("Hello!").tokens(21, 5));
        let provider = provider_for(&format!("{}/v1", fake.url()), Some(KEY));
        let request = CompletionRequest {
            temperature: Some(0.7),
            max_tokens: Some(64),
            ..text_request("Greet me.")
        };
        let mut notices = Vec::new();
        let completion = provider
            .complete(&request, &mut recorder(&mut notices))
            .unwrap();

        assert_eq!(completion.content, "Hello!");
        assert_eq!((completion.input_tokens, completion.output_tokens), (21, 5));
        assert!(notices.is_empty());
        let sent = &fake.requests()[0];
        assert_eq!(sent.path, "/v1/chat/completions");
        assert_eq!(
            sent.header("authorization"),
            Some("Bearer sk-openai-test-key")
        );
        assert_eq!(sent.header("content-type"), Some("application/json"));
        assert_eq!(sent.header("x-api-key"), None);
        assert_eq!(
            sent.body,
            json!({
                "model": "gpt-test",
                "messages": [{"role": "user", "content": "Greet me."}],
                "max_tokens": 64,
                "temperature": 0.7,
            })
        );
    }

    #[test]
    fn omits_unset_limits() {
        let fake = FakeLlm::start();
        let provider = provider_for(&fake.url(), Some(KEY));
        provider.complete(&text_request("hi"), &mut |_| {}).unwrap();
        let body = &fake.requests()[0].body;
        assert!(body.get("max_tokens").is_none());
        assert!(body.get("temperature").is_none());
        assert!(body.get("response_format").is_none());
    }

    #[test]
    fn base_url_with_or_without_v1() {
        let fake = FakeLlm::start();
        let bare = provider_for(&fake.url(), Some(KEY));
        assert_eq!(
            bare.endpoint(),
            format!("{}/v1/chat/completions", fake.url())
        );
        let prefixed = provider_for(&format!("{}/ollama/v1/", fake.url()), Some(KEY));
        prefixed.complete(&text_request("hi"), &mut |_| {}).unwrap();
        bare.complete(&text_request("hi"), &mut |_| {}).unwrap();
        let paths: Vec<String> = fake.requests().into_iter().map(|r| r.path).collect();
        assert_eq!(
            paths,
            ["/ollama/v1/chat/completions", "/v1/chat/completions"]
        );
    }

    #[test]
    fn local_server_without_a_key_gets_no_authorization() {
        let fake = FakeLlm::start();
        let provider = provider_for(&fake.url(), None);
        let completion = provider
            .complete(&text_request("ping"), &mut |_| {})
            .unwrap();
        assert_eq!(completion.content, "echo: ping");
        assert_eq!(fake.requests()[0].header("authorization"), None);
        assert!(format!("{provider:?}").contains("api_key: None"));
    }

    #[test]
    fn json_prompt_sends_a_strict_json_schema() {
        let fake = FakeLlm::start();
        let reply = json!({"verdict": "yes", "confidence": 0.9, "ok": true});
        fake.push_reply(FakeReply::json(reply.clone()).tokens(30, 12));
        let provider = provider_for(&fake.url(), Some(KEY));
        let fields = schema(&[
            ("verdict", "string", "Yes or no"),
            ("confidence", "number", "0 to 1"),
            ("ok", "boolean", ""),
        ]);
        let request = CompletionRequest {
            json_schema: Some(&fields),
            ..text_request("Judge.")
        };
        let completion = provider.complete(&request, &mut |_| {}).unwrap();

        let parsed: Value = serde_json::from_str(&completion.content).unwrap();
        assert_eq!(parsed, reply);
        assert_eq!(
            (completion.input_tokens, completion.output_tokens),
            (30, 12)
        );
        assert_eq!(
            fake.requests()[0].body["response_format"],
            json!({
                "type": "json_schema",
                "json_schema": {
                    "name": "response",
                    "strict": true,
                    "schema": {
                        "type": "object",
                        "properties": {
                            "verdict": {"type": "string", "description": "Yes or no"},
                            "confidence": {"type": "number", "description": "0 to 1"},
                            "ok": {"type": "boolean", "description": "The ok field"},
                        },
                        "required": ["verdict", "confidence", "ok"],
                        "additionalProperties": false,
                    },
                },
            })
        );
    }

    #[test]
    fn json_prompt_without_fields_asks_for_a_json_object() {
        let fake = FakeLlm::start();
        let provider = provider_for(&fake.url(), Some(KEY));
        let fields = schema(&[]);
        let request = CompletionRequest {
            json_schema: Some(&fields),
            ..text_request("anything")
        };
        let completion = provider.complete(&request, &mut |_| {}).unwrap();
        assert_eq!(
            fake.requests()[0].body["response_format"],
            json!({"type": "json_object"})
        );
        let parsed: Value = serde_json::from_str(&completion.content).unwrap();
        assert_eq!(parsed, json!({"echo": "anything"}));
    }

    #[test]
    fn unavailable_is_retried_then_succeeds() {
        let fake = FakeLlm::start();
        fake.push_status(503)
            .push_status(502)
            .push_reply(FakeReply::text("ok"));
        let provider = provider_for(&fake.url(), Some(KEY));
        let mut notices = Vec::new();
        let completion = provider
            .complete(&text_request("hi"), &mut recorder(&mut notices))
            .unwrap();
        assert_eq!(completion.content, "ok");
        let seen: Vec<(u32, Option<u16>, u64)> = notices
            .iter()
            .map(|n| (n.attempt, n.status, n.delay_ms))
            .collect();
        assert_eq!(seen, [(1, Some(503), 1), (2, Some(502), 2)]);
        assert!(notices.iter().all(|n| n.provider == "openai"));
    }

    #[test]
    fn rate_limit_exhausts_retries() {
        let fake = FakeLlm::start();
        for _ in 0..4 {
            fake.push_status(429);
        }
        let provider = provider_for(&fake.url(), Some(KEY));
        let mut notices = Vec::new();
        let error = provider
            .complete(&text_request("hi"), &mut recorder(&mut notices))
            .unwrap_err();
        assert_eq!(notices.len(), 3);
        assert_eq!(fake.requests().len(), 4);
        assert_eq!(error.status, Some(429));
        let message = error.to_string();
        assert!(
            message.contains("OpenAI request for model 'gpt-test'"),
            "{message}"
        );
        assert!(message.contains("HTTP 429 Too Many Requests"), "{message}");
        assert!(message.contains("after 4 attempts"), "{message}");
        assert!(message.contains("rate limiting"), "{message}");
    }

    #[test]
    fn not_found_names_the_model_and_base_url() {
        let fake = FakeLlm::start();
        fake.push_status(404);
        let provider = provider_for(&fake.url(), Some(KEY));
        let error = provider
            .complete(&text_request("hi"), &mut |_| {})
            .unwrap_err();
        assert_eq!(fake.requests().len(), 1);
        let message = error.to_string();
        assert!(message.contains("HTTP 404 Not Found"), "{message}");
        assert!(
            message.contains("Check the model name 'gpt-test' and OPENAI_BASE_URL"),
            "{message}"
        );
    }

    #[test]
    fn unauthorized_without_a_key_says_to_set_one() {
        let fake = FakeLlm::start();
        fake.push_status(401);
        let provider = provider_for(&fake.url(), None);
        let error = provider
            .complete(&text_request("hi"), &mut |_| {})
            .unwrap_err();
        assert_eq!(error.kind, ProviderErrorKind::Status);
        assert!(
            error
                .message
                .contains("requires an API key: set OPENAI_API_KEY"),
            "{error}"
        );
    }

    #[test]
    fn refused_connections_are_retried_then_reported() {
        let provider = provider_for(&refused_url(), None);
        let mut notices = Vec::new();
        let error = provider
            .complete(&text_request("hi"), &mut recorder(&mut notices))
            .unwrap_err();
        assert_eq!(notices.len(), 3);
        assert_eq!(error.kind, ProviderErrorKind::Network);
        assert!(error.message.contains("connection refused"), "{error}");
        assert!(error.message.contains("OPENAI_BASE_URL"), "{error}");
    }

    #[test]
    fn reads_replies_like_the_original() {
        let reply = parse_reply(
            r#"{"choices": [{"message": {"role": "assistant", "content": null}}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 0}}"#,
        )
        .unwrap();
        assert_eq!(reply.content, "");
        assert_eq!((reply.input_tokens, reply.output_tokens), (3, 0));
        assert_eq!(parse_reply(r#"{"choices": []}"#).unwrap().content, "");
        assert_eq!(parse_reply("").unwrap_err(), "is not JSON");
    }
}
