//! Best-effort HTTP deliveries that must never hold a run for long: a hook's webhook POST
//! and a Pushgateway push. One request with a deadline, retried twice with backoff on
//! network errors and 5xx answers; any other answer is final. A [`DeliveryClient`] serves
//! every delivery of a run: one pool of kept-alive connections and one host lookup per
//! host ([`crate::resolve_once`]), where a client per attempt opened a connection and
//! started a lookup thread each time.

use std::time::{Duration, Instant};

/// Retries after the first attempt (network errors and 5xx only).
pub const RETRIES: u32 = 2;

/// The wait before the first retry; doubled for each later one.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// One delivery: where, how, what.
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    /// `POST` or `PUT`.
    pub method: &'a str,
    pub url: &'a str,
    /// Extra headers (name, value), on top of `content-type`.
    pub headers: &'a [(String, String)],
    pub content_type: &'a str,
    pub body: &'a [u8],
    /// The whole delivery, retries and backoff included, ends by this time.
    pub timeout: Duration,
}

/// Most of an answer's body read (to keep its connection for the next delivery); a longer
/// body is dropped with its connection.
const ANSWER_READ: u64 = 64 * 1024;

/// The HTTP client of a run's deliveries. Cheap to clone (clones share the pool).
#[derive(Debug, Clone)]
pub struct DeliveryClient {
    agent: ureq::Agent,
}

impl Default for DeliveryClient {
    fn default() -> Self {
        DeliveryClient::new()
    }
}

impl DeliveryClient {
    /// A client with no connection yet.
    pub fn new() -> DeliveryClient {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("trident/", env!("CARGO_PKG_VERSION")))
            .build();
        DeliveryClient {
            agent: crate::resolve_once::agent_resolving_once(config),
        }
    }

    /// Sends `delivery`; `Ok(status)` for a 2xx answer, else why it failed (the last
    /// attempt's status or network error, and how many attempts were made).
    pub fn deliver(&self, delivery: &Delivery<'_>) -> Result<u16, String> {
        deliver_with(delivery, |left| self.send_once(delivery, left))
    }

    /// One attempt with `left` to finish: the status, or (retryable, why).
    fn send_once(&self, delivery: &Delivery<'_>, left: Duration) -> Result<u16, (bool, String)> {
        if left.is_zero() {
            return Err((false, "timed out".to_string()));
        }
        let mut request = ureq::http::Request::builder()
            .method(delivery.method)
            .uri(delivery.url)
            .header("content-type", delivery.content_type);
        for (name, value) in delivery.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = request
            .body(delivery.body.to_vec())
            .map_err(|e| (false, format!("invalid request: {e}")))?;
        let request = self
            .agent
            .configure_request(request)
            .timeout_global(Some(left))
            .build();
        match self.agent.run(request) {
            Ok(response) => {
                let status = response.status().as_u16();
                let _ = response
                    .into_body()
                    .with_config()
                    .limit(ANSWER_READ)
                    .read_to_vec();
                Ok(status)
            }
            Err(ureq::Error::Timeout(_)) => {
                Err((true, format!("timed out after {}", describe_duration(left))))
            }
            Err(ureq::Error::Io(e)) => Err((true, e.to_string())),
            Err(ureq::Error::HostNotFound) => Err((true, "host not found".to_string())),
            Err(ureq::Error::ConnectionFailed) => Err((true, "connection failed".to_string())),
            Err(e) => Err((false, e.to_string())),
        }
    }
}

/// The attempts of `delivery` (`send` makes one with the time left).
fn deliver_with(
    delivery: &Delivery<'_>,
    send: impl Fn(Duration) -> Result<u16, (bool, String)>,
) -> Result<u16, String> {
    let deadline = Instant::now() + delivery.timeout;
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (retryable, error) = match send(left) {
            Ok(status) if (200..300).contains(&status) => return Ok(status),
            Ok(status) => (status >= 500, format!("HTTP status {status}")),
            Err((retryable, error)) => (retryable, error),
        };
        let attempts = if attempt == 1 {
            String::new()
        } else {
            format!(" (after {attempt} attempts)")
        };
        let out_of_time = Instant::now() + backoff >= deadline;
        if !retryable || attempt > RETRIES || out_of_time {
            let late = if retryable && out_of_time && attempt <= RETRIES {
                format!(" (timeout {} reached)", describe_duration(delivery.timeout))
            } else {
                String::new()
            };
            return Err(format!("{error}{attempts}{late}"));
        }
        std::thread::sleep(backoff);
        backoff *= 2;
        attempt += 1;
    }
}

/// `10s`, `1.5s`, `250ms`.
pub fn describe_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 && duration.as_secs() > 0 {
        format!("{}s", duration.as_secs())
    } else if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_manifest() {
        assert_eq!(describe_duration(Duration::from_secs(10)), "10s");
        assert_eq!(describe_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(describe_duration(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn an_unreachable_endpoint_fails_after_retries_within_the_timeout() {
        // A port nobody listens on: bind, note the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/x");
        let started = Instant::now();
        let err = DeliveryClient::new()
            .deliver(&Delivery {
                method: "POST",
                url: &url,
                headers: &[],
                content_type: "application/json",
                body: b"{}",
                timeout: Duration::from_secs(5),
            })
            .unwrap_err();
        assert!(err.contains("after 3 attempts"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
