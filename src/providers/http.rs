//! The blocking HTTP client under both providers: one JSON POST, its timeouts, its pool of
//! kept-alive connections, and the sorting of transport failures into transient (retried)
//! and permanent ones.
//!
//! A client is shared by all the calls of a run to one endpoint (see `clients.rs`), so its
//! pool keeps up to [`IDLE_CONNECTIONS_PER_HOST`] idle connections for up to
//! [`IDLE_CONNECTION_AGE`]: enough for a wide level of prompt nodes to find warm connections
//! on the next level. A pooled connection is probed before reuse, so one the server closed
//! while idle is dropped and a fresh one is opened.
//!
//! The endpoint's host is looked up once per client (per run), not before every request
//! ([`crate::resolve_once`]): `ureq` would start a thread for each lookup.
//!
//! Error statuses are returned as responses, not errors, so that the retry loop sees the
//! status, the body and the `Retry-After` headers. Redirects are not followed: a POST cannot
//! be replayed safely, and a redirect usually means the base URL is wrong.

use std::time::Duration;

use super::settings::ProviderSettings;

/// Idle connections kept per endpoint (ureq keeps 3 by default, which would close most of
/// the connections a wide level of concurrent prompt nodes opened).
pub const IDLE_CONNECTIONS_PER_HOST: usize = 64;
/// How long an idle connection is kept (ureq's default). Servers and load balancers close
/// idle connections after a while; an old one is more likely to be closing as it is reused,
/// which would cost a retried attempt.
pub const IDLE_CONNECTION_AGE: Duration = Duration::from_secs(15);

/// A response of any status, with the headers the retry loop and error messages use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpResponse {
    pub status: u16,
    /// The `retry-after` header (seconds), if any.
    pub retry_after: Option<String>,
    /// The `retry-after-ms` header OpenAI sends on rate limits, if any.
    pub retry_after_ms: Option<String>,
    /// The `location` header of a redirect, if any.
    pub location: Option<String>,
    pub body: String,
}

/// A request that got no complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TransportError {
    /// Whether trying again may help (refused or reset connections, timeouts, DNS failures).
    pub retryable: bool,
    /// Whether a timeout ended the attempt.
    pub timed_out: bool,
    /// One line saying what went wrong.
    pub description: String,
}

/// A blocking HTTP client with the provider timeouts; cheap to share between threads.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    agent: ureq::Agent,
    request_timeout: Duration,
    connect_timeout: Duration,
}

impl HttpClient {
    pub(crate) fn new(settings: &ProviderSettings) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.request_timeout))
            .user_agent(concat!("trident/", env!("CARGO_PKG_VERSION")))
            .max_idle_connections(IDLE_CONNECTIONS_PER_HOST * 2)
            .max_idle_connections_per_host(IDLE_CONNECTIONS_PER_HOST)
            .max_idle_age(IDLE_CONNECTION_AGE)
            .build();
        HttpClient {
            agent: crate::resolve_once::agent_resolving_once(config),
            request_timeout: settings.request_timeout,
            connect_timeout: settings.connect_timeout,
        }
    }

    /// POST `body` (JSON text) to `url` with `headers` and read the whole response.
    pub(crate) fn post_json(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<HttpResponse, TransportError> {
        let mut request = self
            .agent
            .post(url)
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.send(body).map_err(|error| self.describe(error))?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string)
        };
        let status = response.status().as_u16();
        let retry_after = header("retry-after");
        let retry_after_ms = header("retry-after-ms");
        let location = header("location");
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|error| self.describe(error))?;
        Ok(HttpResponse {
            status,
            retry_after,
            retry_after_ms,
            location,
            body,
        })
    }

    fn describe(&self, error: ureq::Error) -> TransportError {
        use ureq::Error;
        use ureq::Timeout;
        match error {
            Error::Timeout(Timeout::Connect | Timeout::Resolve) => TransportError {
                retryable: true,
                timed_out: true,
                description: format!(
                    "could not connect within {} s",
                    self.connect_timeout.as_secs()
                ),
            },
            Error::Timeout(_) => TransportError {
                retryable: true,
                timed_out: true,
                description: format!(
                    "no complete response within {} s",
                    self.request_timeout.as_secs()
                ),
            },
            Error::Io(io) => TransportError {
                retryable: true,
                timed_out: io.kind() == std::io::ErrorKind::TimedOut,
                description: io_description(&io),
            },
            Error::HostNotFound => transient("host not found (DNS lookup failed)"),
            Error::ConnectionFailed => transient("connection failed"),
            Error::Protocol(protocol) => {
                transient(&format!("the server broke the HTTP protocol: {protocol}"))
            }
            other => TransportError {
                retryable: false,
                timed_out: false,
                description: other.to_string(),
            },
        }
    }
}

fn transient(description: &str) -> TransportError {
    TransportError {
        retryable: true,
        timed_out: false,
        description: description.to_string(),
    }
}

fn io_description(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::ConnectionRefused => "connection refused".to_string(),
        ErrorKind::ConnectionReset => "connection reset by the server".to_string(),
        ErrorKind::ConnectionAborted => "connection aborted".to_string(),
        ErrorKind::UnexpectedEof => "the server closed the connection early".to_string(),
        _ => error.to_string(),
    }
}
