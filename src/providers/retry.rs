//! The one retry loop both providers send through, and its policy.
//!
//! Transient failures are HTTP 429, any 5xx (the original listed 500/502/503/504; Anthropic
//! also answers 529 when overloaded) and network errors or timeouts. They are retried up to
//! three times, after 1 s, 2 s and 4 s by default. A `retry-after-ms` or `retry-after`
//! (seconds) header lengthens the wait to what the server asked, up to 60 times the base
//! delay. Everything else (400, 401, 403, 404, other statuses, bad URLs) fails at once.

use std::time::{Duration, Instant};

use super::RetryNotice;
use super::error::status_summary;
use super::http::{HttpClient, HttpResponse, TransportError};

/// When to retry and how long to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (3).
    pub max_retries: u32,
    /// The wait before the first retry; each later wait doubles it.
    pub base_delay: Duration,
    /// The longest wait a `Retry-After` header can ask for.
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::with_base_delay(Duration::from_secs(1))
    }
}

impl RetryPolicy {
    /// Three retries after `base`, 2 × `base` and 4 × `base`; `Retry-After` honoured up to
    /// 60 × `base` (a minute by default, and short when tests shrink the base).
    pub fn with_base_delay(base: Duration) -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: base,
            retry_after_cap: base.saturating_mul(60),
        }
    }

    /// The exponential wait before retry number `retry` (1-based).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor)
    }

    /// The wait before retry number `retry`: the backoff, or longer if the server asked for
    /// longer (capped at `retry_after_cap`).
    pub fn delay(&self, retry: u32, server_asked: Option<Duration>) -> Duration {
        let backoff = self.backoff(retry);
        match server_asked {
            Some(asked) => backoff.max(asked.min(self.retry_after_cap)),
            None => backoff,
        }
    }
}

/// Whether an HTTP status is worth retrying.
pub(crate) fn is_transient_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// The wait a response asks for: `retry-after-ms` first, then `retry-after` in (possibly
/// fractional) seconds. HTTP dates are ignored; the backoff applies then.
pub(crate) fn server_requested_delay(response: &HttpResponse) -> Option<Duration> {
    if let Some(ms) = response
        .retry_after_ms
        .as_deref()
        .and_then(|value| value.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        return Some(Duration::from_secs_f64(ms.min(1e9) / 1000.0));
    }
    response
        .retry_after
        .as_deref()
        .and_then(|value| value.trim().parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map(|secs| Duration::from_secs_f64(secs.min(1e6)))
}

/// One JSON POST to send, possibly several times.
pub(crate) struct RetriedPost<'a> {
    pub provider: &'static str,
    pub url: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    /// The API key, kept out of notices and errors.
    pub secret: Option<&'a str>,
}

/// A 2xx response.
#[derive(Debug)]
pub(crate) struct Delivered {
    pub response: HttpResponse,
    /// Wall time of the successful attempt.
    pub latency_ms: u64,
}

/// Why the last attempt failed.
#[derive(Debug)]
pub(crate) enum FailedAttempt {
    Status(HttpResponse),
    Transport(TransportError),
}

/// A request that failed for good.
#[derive(Debug)]
pub(crate) struct Undelivered {
    pub last: FailedAttempt,
    /// Attempts made, the first included.
    pub attempts: u32,
}

/// Send `post` until it gets a 2xx response, a permanent failure, or runs out of retries.
/// `on_retry` is told about each retry before its sleep.
pub(crate) fn post_with_retries(
    client: &HttpClient,
    policy: &RetryPolicy,
    post: &RetriedPost,
    on_retry: &mut dyn FnMut(RetryNotice),
) -> Result<Delivered, Undelivered> {
    let mut attempt = 1;
    loop {
        let started = Instant::now();
        let outcome = client.post_json(post.url, post.headers, post.body);
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (failure, transient, server_asked) = match outcome {
            Ok(response) if (200..300).contains(&response.status) => {
                return Ok(Delivered {
                    response,
                    latency_ms,
                });
            }
            Ok(response) => {
                let transient = is_transient_status(response.status);
                let asked = server_requested_delay(&response);
                (FailedAttempt::Status(response), transient, asked)
            }
            Err(error) => {
                let transient = error.retryable;
                (FailedAttempt::Transport(error), transient, None)
            }
        };
        if !transient || attempt > policy.max_retries {
            return Err(Undelivered {
                last: failure,
                attempts: attempt,
            });
        }
        let delay = policy.delay(attempt, server_asked);
        let (status, error) = match &failure {
            FailedAttempt::Status(response) => (
                Some(response.status),
                status_summary(response.status, &response.body, post.secret),
            ),
            FailedAttempt::Transport(error) => (None, error.description.clone()),
        };
        on_retry(RetryNotice {
            provider: post.provider,
            attempt,
            status,
            error,
            delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        });
        std::thread::sleep(delay);
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response_with(retry_after: Option<&str>, retry_after_ms: Option<&str>) -> HttpResponse {
        HttpResponse {
            status: 429,
            retry_after: retry_after.map(str::to_string),
            retry_after_ms: retry_after_ms.map(str::to_string),
            location: None,
            body: String::new(),
        }
    }

    #[test]
    fn default_backoff_is_one_two_four_seconds() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.max_retries, 3);
        let delays: Vec<u64> = (1..=3).map(|n| policy.backoff(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4]);
    }

    #[test]
    fn retry_after_lengthens_but_never_shortens_and_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            policy.delay(3, Some(Duration::from_secs(1))),
            Duration::from_secs(4)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn reads_retry_after_headers() {
        let delay = |ra, ra_ms| server_requested_delay(&response_with(ra, ra_ms));
        assert_eq!(delay(Some("3"), None), Some(Duration::from_secs(3)));
        assert_eq!(
            delay(Some(" 1.5 "), None),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            delay(Some("3"), Some("250")),
            Some(Duration::from_millis(250))
        );
        assert_eq!(delay(Some("Wed, 21 Oct 2015 07:28:00 GMT"), None), None);
        assert_eq!(delay(Some("-1"), None), None);
        assert_eq!(delay(None, None), None);
    }

    #[test]
    fn classifies_statuses() {
        for status in [429, 500, 502, 503, 504, 529] {
            assert!(is_transient_status(status), "{status}");
        }
        for status in [400, 401, 403, 404, 408, 422] {
            assert!(!is_transient_status(status), "{status}");
        }
    }
}
