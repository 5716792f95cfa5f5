//! From a model id (`anthropic/claude-...`, `openai/gpt-...`) and an environment to a ready
//! provider. There is no global registry: a run keeps the providers it created in its
//! [`super::ProviderClients`], and tests pass their own environment.

use super::Provider;
use super::anthropic::AnthropicProvider;
use super::error::ProviderError;
use super::openai::OpenAiProvider;
use super::profile::{ANTHROPIC, OPENAI, ProviderProfile};
use super::settings::{ProviderSettings, env_value};

/// Resolve `model_id` with `env` as the environment (`ANTHROPIC_API_KEY`,
/// `ANTHROPIC_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `TRIDENT_RETRY_BASE_MS`,
/// `TRIDENT_PROVIDER_TIMEOUT_SECS`), returning a new provider (with its own HTTP client) and
/// the model name without its prefix.
///
/// - `anthropic/<model>` needs `ANTHROPIC_API_KEY`.
/// - `openai/<model>` needs `OPENAI_API_KEY`, unless `OPENAI_BASE_URL` is set: a local
///   OpenAI-compatible server (Ollama, vLLM) usually needs no key, and then no
///   `Authorization` header is sent.
///
/// An id without a known provider prefix, a missing key, a base URL that is not http(s) or
/// a malformed `TRIDENT_*` setting is a [`ProviderError`] of kind `Configuration` whose
/// message says which variable to set.
pub fn resolve_with_env(
    model_id: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Box<dyn Provider>, String), ProviderError> {
    let (prefix, model) = split_model_id(model_id)?;
    let settings = ProviderSettings::from_env(env)?;
    let provider: Box<dyn Provider> = match prefix {
        "anthropic" => {
            let key = env_value(env, ANTHROPIC.api_key_var)
                .ok_or_else(|| missing_key(&ANTHROPIC, model_id, ""))?;
            let base = env_value(env, ANTHROPIC.base_url_var);
            let base = base.as_deref().unwrap_or(ANTHROPIC.default_base_url);
            Box::new(AnthropicProvider::new(key, base, &settings)?)
        }
        "openai" => {
            let key = env_value(env, OPENAI.api_key_var);
            let base = env_value(env, OPENAI.base_url_var);
            if key.is_none() && base.is_none() {
                return Err(missing_key(
                    &OPENAI,
                    model_id,
                    " For a local OpenAI-compatible server that needs no key (Ollama, vLLM), \
                     set OPENAI_BASE_URL to it instead, for example http://localhost:11434/v1.",
                ));
            }
            let base = base.as_deref().unwrap_or(OPENAI.default_base_url);
            Box::new(OpenAiProvider::new(key, base, &settings)?)
        }
        unknown => return Err(unknown_provider(model_id, unknown)),
    };
    Ok((provider, model.to_string()))
}

/// `("openai", "gpt-4o")` from `openai/gpt-4o`; the model part may itself contain slashes
/// (`openai/meta-llama/Llama-3-8B` for vLLM).
pub(crate) fn split_model_id(model_id: &str) -> Result<(&str, &str), ProviderError> {
    let Some((prefix, model)) = model_id.split_once('/') else {
        return Err(ProviderError::configuration(
            None,
            format!(
                "Model '{model_id}' has no provider prefix. Write models as 'provider/model-name', \
                 for example 'anthropic/claude-sonnet-4-20250514' or 'openai/{model_id}'."
            ),
        ));
    };
    if model.trim().is_empty() {
        return Err(ProviderError::configuration(
            None,
            format!(
                "Model '{model_id}' has no model name after '{prefix}/'. Write it as \
                 '{prefix}/<model-name>'."
            ),
        ));
    }
    Ok((prefix, model))
}

fn unknown_provider(model_id: &str, prefix: &str) -> ProviderError {
    let lowercase = prefix.to_ascii_lowercase();
    let hint = if lowercase == ANTHROPIC.name || lowercase == OPENAI.name {
        format!(" Provider names are lowercase: write '{lowercase}/...'.")
    } else {
        " OpenAI-compatible servers (Ollama, vLLM, ...) use 'openai/<model>' with \
         OPENAI_BASE_URL pointing at the server."
            .to_string()
    };
    ProviderError::configuration(
        None,
        format!(
            "Model '{model_id}' names an unknown provider '{prefix}'. Known providers are \
             'anthropic' (ANTHROPIC_API_KEY) and 'openai' (OPENAI_API_KEY).{hint}"
        ),
    )
}

fn missing_key(profile: &ProviderProfile, model_id: &str, extra: &str) -> ProviderError {
    let var = profile.api_key_var;
    ProviderError::configuration(
        Some(profile.name),
        format!(
            "Model '{model_id}' needs {var}, which is not set. Set {var} in the environment or \
             in the project's .env file.{extra}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_fixtures::env_of;
    use crate::providers::test_server::{FakeLlm, FakeReply};
    use crate::providers::{CompletionRequest, ProviderErrorKind, RetryNotice};

    fn resolve_error(model_id: &str, pairs: &[(&str, &str)]) -> ProviderError {
        match resolve_with_env(model_id, &env_of(pairs)) {
            Ok(_) => panic!("'{model_id}' resolved"),
            Err(error) => error,
        }
    }

    #[test]
    fn resolves_both_prefixes() {
        let env = env_of(&[("ANTHROPIC_API_KEY", "a"), ("OPENAI_API_KEY", "o")]);
        let (provider, model) =
            resolve_with_env("anthropic/claude-sonnet-4-20250514", &env).unwrap();
        assert_eq!(
            (provider.name(), model.as_str()),
            ("anthropic", "claude-sonnet-4-20250514")
        );
        let (provider, model) = resolve_with_env("openai/meta-llama/Llama-3-8B", &env).unwrap();
        assert_eq!(
            (provider.name(), model.as_str()),
            ("openai", "meta-llama/Llama-3-8B")
        );
    }

    #[test]
    fn missing_anthropic_key_says_what_to_set() {
        let error = resolve_error("anthropic/claude-x", &[("ANTHROPIC_API_KEY", "  ")]);
        assert_eq!(error.kind, ProviderErrorKind::Configuration);
        assert_eq!(error.provider, Some("anthropic"));
        assert_eq!(
            error.message,
            "Model 'anthropic/claude-x' needs ANTHROPIC_API_KEY, which is not set. Set \
             ANTHROPIC_API_KEY in the environment or in the project's .env file."
        );
    }

    #[test]
    fn missing_openai_key_mentions_local_servers() {
        let error = resolve_error("openai/gpt-4o", &[]);
        assert!(error.message.contains("needs OPENAI_API_KEY"), "{error}");
        assert!(error.message.contains("set OPENAI_BASE_URL"), "{error}");
        let env = env_of(&[("OPENAI_BASE_URL", "http://localhost:11434/v1")]);
        let (provider, model) = resolve_with_env("openai/llama3.2", &env).unwrap();
        assert_eq!((provider.name(), model.as_str()), ("openai", "llama3.2"));
    }

    #[test]
    fn unknown_or_missing_prefixes_are_explained() {
        let error = resolve_error("gemini/gemini-pro", &[]);
        assert_eq!(error.kind, ProviderErrorKind::Configuration);
        assert!(
            error.message.contains("unknown provider 'gemini'"),
            "{error}"
        );
        assert!(error.message.contains("'anthropic'"), "{error}");
        assert!(error.message.contains("'openai/<model>'"), "{error}");

        let error = resolve_error("OpenAI/gpt-4o", &[("OPENAI_API_KEY", "k")]);
        assert!(error.message.contains("write 'openai/...'"), "{error}");

        let error = resolve_error("gpt-4o", &[]);
        assert!(error.message.contains("no provider prefix"), "{error}");
        assert!(error.message.contains("'openai/gpt-4o'"), "{error}");

        let error = resolve_error("anthropic/", &[("ANTHROPIC_API_KEY", "k")]);
        assert!(error.message.contains("no model name"), "{error}");
    }

    #[test]
    fn bad_settings_are_reported() {
        let error = resolve_error(
            "anthropic/claude-x",
            &[
                ("ANTHROPIC_API_KEY", "k"),
                ("ANTHROPIC_BASE_URL", "api.example.com"),
            ],
        );
        assert!(
            error
                .message
                .contains("ANTHROPIC_BASE_URL is set to 'api.example.com'"),
            "{error}"
        );
        let error = resolve_error(
            "openai/gpt-4o",
            &[("OPENAI_API_KEY", "k"), ("TRIDENT_RETRY_BASE_MS", "fast")],
        );
        assert!(error.message.contains("TRIDENT_RETRY_BASE_MS"), "{error}");
    }

    #[test]
    fn environment_overrides_reach_the_wire() {
        let fake = FakeLlm::start();
        fake.push_status(500)
            .push_reply(FakeReply::text("from anthropic").tokens(1, 2))
            .push_reply(FakeReply::text("from openai").tokens(3, 4));
        let url = fake.url();
        let env = env_of(&[
            ("ANTHROPIC_API_KEY", "ant-key"),
            ("ANTHROPIC_BASE_URL", &url),
            ("OPENAI_BASE_URL", &url),
            ("TRIDENT_RETRY_BASE_MS", "2"),
        ]);
        let request = |model| CompletionRequest {
            model,
            prompt: "hi",
            temperature: None,
            max_tokens: None,
            json_schema: None,
        };

        let (anthropic, model) = resolve_with_env("anthropic/claude-x", &env).unwrap();
        let mut notices: Vec<RetryNotice> = Vec::new();
        let completion = anthropic
            .complete(&request(&model), &mut |notice| notices.push(notice))
            .unwrap();
        assert_eq!(completion.content, "from anthropic");
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].delay_ms, 2);

        let (openai, model) = resolve_with_env("openai/local-model", &env).unwrap();
        let completion = openai.complete(&request(&model), &mut |_| {}).unwrap();
        assert_eq!(
            (completion.content.as_str(), completion.output_tokens),
            ("from openai", 4)
        );

        let requests = fake.requests();
        let seen: Vec<(&str, Option<&str>)> = requests
            .iter()
            .map(|r| (r.path.as_str(), r.model()))
            .collect();
        assert_eq!(
            seen,
            [
                ("/v1/messages", Some("claude-x")),
                ("/v1/messages", Some("claude-x")),
                ("/v1/chat/completions", Some("local-model")),
            ]
        );
        assert_eq!(requests[0].header("x-api-key"), Some("ant-key"));
        assert_eq!(requests[2].header("authorization"), None);
    }
}
