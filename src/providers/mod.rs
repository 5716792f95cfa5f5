//! Model providers: the contract the engine calls for a prompt node, and its two
//! implementations, the Anthropic Messages API ([`AnthropicProvider`]) and OpenAI Chat
//! Completions ([`OpenAiProvider`], which also serves OpenAI-compatible local servers such as
//! Ollama or vLLM).
//!
//! The engine resolves a model id such as `anthropic/claude-sonnet-4-20250514` through the
//! run's [`ProviderClients`] (one provider, so one HTTP client and connection pool, per
//! provider endpoint per run), renders the prompt, then calls [`Provider::complete`]. Every provider retries
//! through the same loop (`retry.rs`): 429, 5xx and network errors are retried up to three
//! times after 1 s, 2 s and 4 s (longer if a `Retry-After` header asks, up to a minute); any
//! other failure is returned at once as a [`ProviderError`], which the engine reports with
//! exit code 3.
//!
//! Environment (read by [`ProviderClients`] when a run first needs the provider, then kept for
//! the run):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `ANTHROPIC_API_KEY` | none (required) | sent as `x-api-key` |
//! | `ANTHROPIC_BASE_URL` | `https://api.anthropic.com` | requests go to `{base}/v1/messages` (a base already ending in `/v1` gets `/messages`) |
//! | `OPENAI_API_KEY` | none (required unless `OPENAI_BASE_URL` is set) | sent as `Authorization: Bearer` |
//! | `OPENAI_BASE_URL` | `https://api.openai.com/v1` | requests go to `{base}/chat/completions` when the base ends in `/v1`, else `{base}/v1/chat/completions`; a base that already ends in `/chat/completions` is used as is |
//! | `TRIDENT_RETRY_BASE_MS` | `1000` | first retry delay; later ones double (1 s, 2 s, 4 s) |
//! | `TRIDENT_PROVIDER_TIMEOUT_SECS` | `600` | limit on one whole HTTP request (connecting has its own 10 s limit) |
//!
//! Empty variables count as unset. Files of this module:
//! - `anthropic.rs` and `openai.rs`: request bodies and response parsing, one per API.
//! - `registry.rs`: [`resolve_with_env`], from a model id and an environment to a provider.
//! - `clients.rs`: [`ProviderClients`], the providers of one run, created once and shared.
//! - `settings.rs`: retry and timeout settings read from the environment.
//! - `retry.rs`: the one retry loop, its policy, and which failures are transient.
//! - `http.rs`: the blocking HTTP client (ureq), its timeouts and its keep-alive pool.
//! - `endpoint.rs`: base URL checks and the `/v1` rule.
//! - `profile.rs`: each provider's name and environment variables.
//! - `schema.rs`: output schema fields to JSON Schema.
//! - `crate::python_json`: JSON text written the way the original's `json.dumps` wrote it.
//! - `error.rs`: [`ProviderError`], with messages naming the provider, model and the fix.

mod anthropic;
mod clients;
mod endpoint;
mod error;
mod http;
mod openai;
mod profile;
mod registry;
mod retry;
mod schema;
mod settings;

#[cfg(test)]
mod test_fixtures;
// The fake LLM server of the integration tests, reused here so that unit tests and
// integration tests exercise one implementation of the wire formats.
#[cfg(test)]
#[path = "../../tests/integration/support/fake_llm.rs"]
mod test_server;

pub use anthropic::{
    ANTHROPIC_API_VERSION, AnthropicProvider, DEFAULT_MAX_TOKENS, STRUCTURED_OUTPUT_TOOL,
};
pub use clients::{EnvLookup, ProviderClients};
pub use error::{ProviderError, ProviderErrorKind};
pub use http::{IDLE_CONNECTION_AGE, IDLE_CONNECTIONS_PER_HOST};
pub use openai::OpenAiProvider;
pub use profile::{ANTHROPIC, OPENAI, ProviderProfile};
pub use registry::resolve_with_env;
pub use retry::RetryPolicy;
pub use settings::{
    CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, ProviderSettings, RETRY_BASE_MS_VAR, TIMEOUT_SECS_VAR,
};

use indexmap::IndexMap;

use crate::pricing::TokenUsage;
use crate::project::SchemaField;

/// One completion to ask of a provider: a single user message, as the original sent it.
#[derive(Debug, Clone, Copy)]
pub struct CompletionRequest<'a> {
    /// The model name without the provider prefix (`claude-sonnet-4-20250514`, `gpt-4o-mini`).
    pub model: &'a str,
    /// The rendered prompt, sent as the user message.
    pub prompt: &'a str,
    /// Sampling temperature; omitted from the request when `None`.
    pub temperature: Option<f64>,
    /// Output token limit. Anthropic requires one and gets 4096 when this is `None` or 0;
    /// OpenAI gets none in that case.
    pub max_tokens: Option<u64>,
    /// `Some` for a json prompt: the output fields to force. An empty schema still asks for
    /// JSON where the API allows it (OpenAI `json_object`); Anthropic then gets a plain request,
    /// as in the original.
    pub json_schema: Option<&'a IndexMap<String, SchemaField>>,
}

/// What a provider answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The text reply, or for a json prompt the JSON text of the structured output.
    pub content: String,
    /// Prompt tokens as reported by the API (0 when it reports none).
    pub input_tokens: u64,
    /// Completion tokens as reported by the API (0 when it reports none).
    pub output_tokens: u64,
    /// The same tokens split by how they are billed, cache reads and writes apart
    /// (Anthropic `cache_read_input_tokens` / `cache_creation_input_tokens`, which its
    /// `input_tokens` excludes; OpenAI `prompt_tokens_details.cached_tokens`, which its
    /// `prompt_tokens` includes).
    pub usage: TokenUsage,
    /// Wall time of the successful attempt, in milliseconds (retries and sleeps excluded).
    pub latency_ms: u64,
    /// The model that answered, as the API names it (Anthropic `model`, OpenAI `model`).
    pub response_model: Option<String>,
    /// Why the model stopped (Anthropic `stop_reason`, OpenAI `choices[0].finish_reason`).
    pub finish_reason: Option<String>,
}

/// Reported before each retry sleep, so the engine can emit a `provider_retry` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryNotice {
    /// `anthropic` or `openai`.
    pub provider: &'static str,
    /// The 1-based attempt that failed; the retry about to happen is retry number `attempt`.
    pub attempt: u32,
    /// The HTTP status of the failed attempt, `None` for a network error or timeout.
    pub status: Option<u16>,
    /// A one-line description of the failure (never contains the API key).
    pub error: String,
    /// How long the provider sleeps before the next attempt.
    pub delay_ms: u64,
}

/// A model API that completes a prompt. Implementations are blocking and thread-safe, so the
/// engine can call one provider from several node threads at once.
pub trait Provider: Send + Sync {
    /// The provider prefix of model ids: `anthropic` or `openai`.
    fn name(&self) -> &'static str;

    /// Send the request, retrying transient failures, and return the reply. `on_retry` is
    /// called before each retry sleep.
    fn complete(
        &self,
        request: &CompletionRequest,
        on_retry: &mut dyn FnMut(RetryNotice),
    ) -> Result<Completion, ProviderError>;
}
