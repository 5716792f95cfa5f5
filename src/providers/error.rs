//! [`ProviderError`]: why a completion failed, in one paragraph that names the provider, the
//! model, the HTTP status when there is one, and what to do about it. Messages are built from
//! the provider, model, endpoint and status, never from the key; text echoed back by an API
//! (which may quote the key) is scrubbed of it before it is kept.

use super::http::TransportError;
use super::profile::ProviderProfile;
use super::retry::{FailedAttempt, Undelivered};
use crate::error::TridentError;

/// The longest excerpt of an API's error body kept in a message.
const DETAIL_LIMIT: usize = 300;
/// Keys shorter than this are not scrubbed from echoed text: such a string is no credential
/// (real keys are dozens of characters), and replacing it would garble ordinary words.
const MIN_SCRUBBED_KEY_LEN: usize = 8;

/// What kind of failure a [`ProviderError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderErrorKind {
    /// The model id or the environment is wrong: unknown provider, missing key, bad base URL
    /// or setting. Nothing was sent.
    Configuration,
    /// The API answered with an error status (see [`ProviderError::status`]).
    Status,
    /// The API could not be reached, or did not answer in time.
    Network,
    /// The API answered 2xx with a body that is not a reply of its kind.
    InvalidResponse,
}

/// A provider failure; the engine reports it with exit code 3.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// The whole message, ready to print.
    pub message: String,
    /// The HTTP status of the last attempt, if the API answered.
    pub status: Option<u16>,
    /// What kind of failure this is.
    pub kind: ProviderErrorKind,
    /// `anthropic` or `openai`, when known.
    pub provider: Option<&'static str>,
    /// Attempts made (0 when nothing was sent).
    pub attempts: u32,
}

impl From<ProviderError> for TridentError {
    fn from(error: ProviderError) -> Self {
        TridentError::Provider(error.message)
    }
}

impl ProviderError {
    /// A failure before anything was sent.
    pub(crate) fn configuration(provider: Option<&'static str>, message: String) -> Self {
        ProviderError {
            message,
            status: None,
            kind: ProviderErrorKind::Configuration,
            provider,
            attempts: 0,
        }
    }

    /// A 2xx answer that could not be read as a reply.
    pub(crate) fn invalid_response(
        profile: &ProviderProfile,
        model: &str,
        endpoint: &str,
        problem: &str,
        body: &str,
        secret: Option<&str>,
    ) -> Self {
        ProviderError {
            message: format!(
                "{label} request for model '{model}' got a reply from {endpoint} that {problem}: \
                 {excerpt}. Check that {var} points at a {label}-compatible API.",
                label = profile.label,
                excerpt = excerpt(body, secret),
                var = profile.base_url_var,
            ),
            status: None,
            kind: ProviderErrorKind::InvalidResponse,
            provider: Some(profile.name),
            attempts: 1,
        }
    }

    /// The final failure of a request, after any retries.
    pub(crate) fn undelivered(
        profile: &ProviderProfile,
        model: &str,
        endpoint: &str,
        failure: Undelivered,
        secret: Option<&str>,
    ) -> Self {
        let attempts = failure.attempts;
        let after = if attempts > 1 {
            format!(" after {attempts} attempts")
        } else {
            String::new()
        };
        let label = profile.label;
        match failure.last {
            FailedAttempt::Status(response) => {
                let status = response.status;
                let hint = status_hint(profile, model, endpoint, status, secret, &response);
                ProviderError {
                    message: format!(
                        "{label} request for model '{model}' failed with {summary}{after}. {hint}",
                        summary = status_summary(status, &response.body, secret),
                    ),
                    status: Some(status),
                    kind: ProviderErrorKind::Status,
                    provider: Some(profile.name),
                    attempts,
                }
            }
            FailedAttempt::Transport(error) => ProviderError {
                message: transport_message(profile, model, endpoint, &error, &after),
                status: None,
                kind: ProviderErrorKind::Network,
                provider: Some(profile.name),
                attempts,
            },
        }
    }
}

fn transport_message(
    profile: &ProviderProfile,
    model: &str,
    endpoint: &str,
    error: &TransportError,
    after: &str,
) -> String {
    let label = profile.label;
    let var = profile.base_url_var;
    let description = &error.description;
    if error.timed_out {
        format!(
            "{label} request for model '{model}' to {endpoint} timed out{after} ({description}). \
             Raise TRIDENT_PROVIDER_TIMEOUT_SECS if the model needs longer, or check {var} and \
             the network connection."
        )
    } else {
        format!(
            "{label} request for model '{model}' could not reach {endpoint}{after}: \
             {description}. Check the network connection and {var}."
        )
    }
}

fn status_hint(
    profile: &ProviderProfile,
    model: &str,
    endpoint: &str,
    status: u16,
    secret: Option<&str>,
    response: &super::http::HttpResponse,
) -> String {
    let key_var = profile.api_key_var;
    let base_var = profile.base_url_var;
    match status {
        400 => "The API refused the request: check the prompt's model, max_tokens, temperature \
                and output schema."
            .to_string(),
        401 if secret.is_none() => {
            format!("The server at {endpoint} requires an API key: set {key_var}.")
        }
        401 => format!("The API did not accept the key: check {key_var}."),
        403 => {
            format!("The key in {key_var} is not allowed to use model '{model}' or this endpoint.")
        }
        404 => format!(
            "Check the model name '{model}' and {base_var} (the request went to {endpoint})."
        ),
        429 => "The provider is rate limiting this key: wait and run again, or run fewer \
                prompts at once."
            .to_string(),
        300..=399 => format!(
            "The server redirected the request to {}: set {base_var} to the URL it should be.",
            response.location.as_deref().unwrap_or("another URL")
        ),
        500..=599 => "The provider is failing or overloaded: try again later.".to_string(),
        _ => format!("Check {base_var} (the request went to {endpoint})."),
    }
}

/// `HTTP 429 Too Many Requests: <the API's message>`, on one line, without the key.
pub(crate) fn status_summary(status: u16, body: &str, secret: Option<&str>) -> String {
    let reason = match reason_phrase(status) {
        Some(reason) => format!("HTTP {status} {reason}"),
        None => format!("HTTP {status}"),
    };
    let detail = api_error_detail(body, secret);
    if detail.is_empty() {
        reason
    } else {
        format!("{reason}: {detail}")
    }
}

fn reason_phrase(status: u16) -> Option<&'static str> {
    Some(match status {
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Overloaded",
        _ => return None,
    })
}

/// The message inside an API error body (`{"error": {"message": ...}}` for both APIs,
/// `{"error": "..."}` for Ollama), else an excerpt of the body.
fn api_error_detail(body: &str, secret: Option<&str>) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|value| {
        let error = value.get("error");
        error
            .and_then(|e| e.get("message"))
            .or(error)
            .or_else(|| value.get("message"))
            .and_then(|m| m.as_str())
    });
    excerpt(message.unwrap_or(body), secret)
}

/// `text` on one line, shortened, with the key replaced.
fn excerpt(text: &str, secret: Option<&str>) -> String {
    let mut text = text.to_string();
    if let Some(secret) = secret.filter(|s| s.len() >= MIN_SCRUBBED_KEY_LEN) {
        text = text.replace(secret, "[redacted]");
    }
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(DETAIL_LIMIT) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarizes_api_error_bodies() {
        let anthropic =
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"Slow down"}}"#;
        assert_eq!(
            status_summary(429, anthropic, None),
            "HTTP 429 Too Many Requests: Slow down"
        );
        assert_eq!(
            status_summary(404, r#"{"error":"model 'x' not found"}"#, None),
            "HTTP 404 Not Found: model 'x' not found"
        );
        assert_eq!(
            status_summary(502, "<html>\n bad\n gateway</html>", None),
            "HTTP 502 Bad Gateway: <html> bad gateway</html>"
        );
        assert_eq!(status_summary(599, "", None), "HTTP 599");
    }

    #[test]
    fn removes_the_key_and_shortens() {
        let body = r#"{"error":{"message":"Incorrect API key provided: sk-secret-123"}}"#;
        let summary = status_summary(401, body, Some("sk-secret-123"));
        assert!(!summary.contains("sk-secret-123"), "{summary}");
        assert!(summary.contains("[redacted]"), "{summary}");
        assert_eq!(excerpt("a fake key", Some("k")), "a fake key");
        let long = "x".repeat(1000);
        assert_eq!(excerpt(&long, None).chars().count(), DETAIL_LIMIT + 1);
    }

    #[test]
    fn converts_to_a_provider_trident_error() {
        let error = ProviderError::configuration(Some("openai"), "set OPENAI_API_KEY".into());
        let trident: TridentError = error.into();
        assert_eq!(trident.exit_code(), crate::exit::ExitCode::Provider);
        assert_eq!(trident.to_string(), "set OPENAI_API_KEY");
    }
}
