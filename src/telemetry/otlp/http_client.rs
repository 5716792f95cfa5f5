//! OTLP/HTTP requests over the `ureq` agent the providers already use (blocking, no async
//! runtime): one POST per export request from the export thread, bounded by the export
//! timeout, a failure said with the HTTP status and its reason, or why no answer came. The
//! connection is kept alive between requests and the collector's address is resolved once
//! per run ([`crate::resolve_once`]).

use std::time::Duration;

use crate::resolve_once::agent_resolving_once;

/// Posts export requests to a collector.
#[derive(Debug)]
pub struct OtlpHttp {
    agent: ureq::Agent,
    /// `OTEL_EXPORTER_OTLP_HEADERS` (secrets: never in a message).
    headers: Vec<(String, String)>,
}

impl OtlpHttp {
    /// A client whose every request (connect, send, answer) takes at most `timeout`,
    /// sending `headers` with each.
    pub fn new(timeout: Duration, headers: Vec<(String, String)>) -> OtlpHttp {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build();
        OtlpHttp {
            agent: agent_resolving_once(config),
            headers,
        }
    }

    /// POSTs `body` to `url`; `Err` with the status (`... status code: 500 (Internal
    /// Server Error)`) or the network error (`... network error (io: Connection
    /// refused...)`).
    pub fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<(), String> {
        let mut request = self.agent.post(url).header("Content-Type", content_type);
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request
            .send(body)
            .map_err(|e| format!("HTTP export failed: network error ({e})"))?;
        let status = response.status();
        // The answer is read whole so that the connection can be used again.
        let _ = response.into_body().read_to_vec();
        if status.is_success() {
            return Ok(());
        }
        let reason = status
            .canonical_reason()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        Err(format!(
            "HTTP export failed with status code: {}{reason}",
            status.as_u16()
        ))
    }
}
