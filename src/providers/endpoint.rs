//! Base URLs from the environment and the endpoint URLs built from them.
//!
//! Both APIs version their paths with `/v1`. The original appended `/v1/...` to the base
//! (`https://api.openai.com` + `/v1/chat/completions`), while OpenAI-compatible servers
//! usually document their base *with* `/v1` (`http://localhost:11434/v1` for Ollama,
//! `http://localhost:8000/v1` for vLLM). So `/v1` is inserted only when the base does not
//! already end with it, and a base that already is the full endpoint is used as it is.

use super::error::ProviderError;
use super::profile::ProviderProfile;

/// Check a base URL taken from `profile.base_url_var` (or its default) and drop trailing
/// slashes. Only `http://` and `https://` URLs with a host are accepted.
pub(crate) fn normalize_base_url(
    profile: &ProviderProfile,
    raw: &str,
) -> Result<String, ProviderError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let host = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match host {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(trimmed.to_string()),
        _ => Err(ProviderError::configuration(
            Some(profile.name),
            format!(
                "{var} is set to '{raw}', which is not an http:// or https:// URL. Set {var} to \
                 the API's base URL (for example {default}), or unset it to use the default.",
                var = profile.base_url_var,
                default = profile.default_base_url,
            ),
        )),
    }
}

/// The URL of `operation` (such as `messages` or `chat/completions`) under `base`, which is
/// already normalized (no trailing slash).
pub(crate) fn versioned_endpoint(base: &str, operation: &str) -> String {
    if base.ends_with(&format!("/{operation}")) {
        base.to_string()
    } else if base.ends_with("/v1") {
        format!("{base}/{operation}")
    } else {
        format!("{base}/v1/{operation}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::profile::{ANTHROPIC, OPENAI};

    #[test]
    fn inserts_v1_only_when_missing() {
        assert_eq!(
            versioned_endpoint("https://api.anthropic.com", "messages"),
            "https://api.anthropic.com/v1/messages"
        );
        assert_eq!(
            versioned_endpoint("https://api.openai.com/v1", "chat/completions"),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(
            versioned_endpoint("http://localhost:11434", "chat/completions"),
            "http://localhost:11434/v1/chat/completions"
        );
        assert_eq!(
            versioned_endpoint("http://h:8000/v1/chat/completions", "chat/completions"),
            "http://h:8000/v1/chat/completions"
        );
    }

    #[test]
    fn normalizes_and_rejects_base_urls() {
        assert_eq!(
            normalize_base_url(&OPENAI, " http://localhost:11434/v1/ ").unwrap(),
            "http://localhost:11434/v1"
        );
        let error = normalize_base_url(&ANTHROPIC, "localhost:8080").unwrap_err();
        assert!(error.message.contains("ANTHROPIC_BASE_URL"), "{error}");
        assert!(normalize_base_url(&OPENAI, "http://").is_err());
        assert!(normalize_base_url(&OPENAI, "https:///v1").is_err());
    }
}
