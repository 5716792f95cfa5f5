//! OTLP/HTTP requests over the `ureq` agent the providers already use (blocking, no async
//! runtime): one POST per export request from the export thread, bounded by the export
//! timeout, a failure said with the HTTP status and its reason, or why no answer came. The
//! connection is kept alive between requests and the collector's address is resolved once
//! per run.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// Resolves each collector address once, then answers from memory: ureq's resolver, given
/// a timeout, starts a thread for every request to bound the lookup (a 1000-node run sends
/// a dozen requests, each of which then paid a thread start, even for `127.0.0.1`).
#[derive(Debug, Default)]
struct ResolveOnce {
    resolver: DefaultResolver,
    known: Mutex<HashMap<String, ResolvedSocketAddrs>>,
}

impl Resolver for ResolveOnce {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let key = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or_default(),
            uri.authority().map(|a| a.as_str()).unwrap_or_default()
        );
        let known = |k: &str| crate::telemetry::queue::lock(&self.known).get(k).cloned();
        if let Some(addresses) = known(&key) {
            return Ok(addresses);
        }
        let addresses = self.resolver.resolve(uri, config, timeout)?;
        crate::telemetry::queue::lock(&self.known).insert(key, addresses.clone());
        Ok(addresses)
    }
}

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
            agent: ureq::Agent::with_parts(
                config,
                DefaultConnector::default(),
                ResolveOnce::default(),
            ),
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
