//! Provider settings that come from the environment rather than from the model id: the retry
//! base delay and the request timeout. Read through a lookup function so that tests can pass
//! their own environment instead of changing the process's.

use std::time::Duration;

use super::error::ProviderError;
use super::retry::RetryPolicy;

/// Variable holding the first retry delay in milliseconds (default 1000).
pub const RETRY_BASE_MS_VAR: &str = "TRIDENT_RETRY_BASE_MS";
/// Variable holding the limit on one whole HTTP request, in seconds (default 600).
pub const TIMEOUT_SECS_VAR: &str = "TRIDENT_PROVIDER_TIMEOUT_SECS";

/// How long connecting (DNS, TCP and TLS) may take before the attempt counts as a network error.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default limit on one whole HTTP request, response body included. Long generations
/// with large `max_tokens` can take minutes.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// The largest accepted `TRIDENT_RETRY_BASE_MS` (ten minutes), so delays cannot overflow.
const MAX_RETRY_BASE_MS: u64 = 600_000;

/// Retry and timeout settings shared by both providers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSettings {
    /// When and how long to wait before retrying.
    pub retry: RetryPolicy,
    /// Limit on connecting to the API.
    pub connect_timeout: Duration,
    /// Limit on one whole request, from connecting to the last byte of the response.
    pub request_timeout: Duration,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        ProviderSettings {
            retry: RetryPolicy::default(),
            connect_timeout: CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl ProviderSettings {
    /// Read `TRIDENT_RETRY_BASE_MS` and `TRIDENT_PROVIDER_TIMEOUT_SECS` through `env`
    /// (unset or empty means the default). A value that is not a whole number is an error
    /// naming the variable.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ProviderError> {
        let mut settings = ProviderSettings::default();
        if let Some(base_ms) = whole_number(env, RETRY_BASE_MS_VAR, 0, MAX_RETRY_BASE_MS)? {
            settings.retry = RetryPolicy::with_base_delay(Duration::from_millis(base_ms));
        }
        if let Some(secs) = whole_number(env, TIMEOUT_SECS_VAR, 1, u32::MAX.into())? {
            settings.request_timeout = Duration::from_secs(secs);
        }
        Ok(settings)
    }
}

/// The value of `name` through `env`, trimmed, with empty values counted as unset.
pub(crate) fn env_value(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name)
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

fn whole_number(
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, ProviderError> {
    let Some(raw) = env_value(env, name) else {
        return Ok(None);
    };
    match raw.parse::<u64>() {
        Ok(value) if (min..=max).contains(&value) => Ok(Some(value)),
        _ => Err(ProviderError::configuration(
            None,
            format!(
                "{name} is set to '{raw}', but it must be a whole number from {min} to {max}. \
                 Fix or unset {name}."
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::test_fixtures::env_of;

    #[test]
    fn defaults_when_unset_or_empty() {
        let settings = ProviderSettings::from_env(&env_of(&[(RETRY_BASE_MS_VAR, " ")])).unwrap();
        assert_eq!(settings, ProviderSettings::default());
        assert_eq!(settings.retry.base_delay, Duration::from_secs(1));
        assert_eq!(settings.request_timeout, Duration::from_secs(600));
        assert_eq!(settings.connect_timeout, Duration::from_secs(10));
    }

    #[test]
    fn reads_overrides() {
        let env = env_of(&[(RETRY_BASE_MS_VAR, "5"), (TIMEOUT_SECS_VAR, "30")]);
        let settings = ProviderSettings::from_env(&env).unwrap();
        assert_eq!(settings.retry.base_delay, Duration::from_millis(5));
        assert_eq!(settings.request_timeout, Duration::from_secs(30));
    }

    #[test]
    fn rejects_values_that_are_not_whole_numbers() {
        let error =
            ProviderSettings::from_env(&env_of(&[(RETRY_BASE_MS_VAR, "1.5s")])).unwrap_err();
        assert!(error.message.contains("TRIDENT_RETRY_BASE_MS"), "{error}");
        let error = ProviderSettings::from_env(&env_of(&[(TIMEOUT_SECS_VAR, "0")])).unwrap_err();
        assert!(
            error.message.contains("TRIDENT_PROVIDER_TIMEOUT_SECS"),
            "{error}"
        );
    }
}
