//! The OTLP exporter's HTTP client: a small blocking `opentelemetry_http::HttpClient` over
//! the `ureq` agent the providers already use, so no async runtime is pulled in. The
//! exporter runs on its own thread; every request is bounded by the export timeout.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

/// A blocking OTLP/HTTP client.
#[derive(Debug)]
pub struct UreqClient {
    agent: ureq::Agent,
}

impl UreqClient {
    /// A client whose every request (connect, send, answer) takes at most `timeout`.
    pub fn new(timeout: Duration) -> UreqClient {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build();
        UreqClient {
            agent: config.into(),
        }
    }

    fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let request = Request::from_parts(parts, body.to_vec());
        let response = self.agent.run(request)?;
        let (parts, mut body) = response.into_parts();
        let bytes = body.read_to_vec()?;
        Ok(Response::from_parts(parts, Bytes::from(bytes)))
    }
}

impl HttpClient for UreqClient {
    fn send_bytes<'a, 'b>(
        &'a self,
        request: Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        // The request is made here, synchronously: the future is ready at once.
        let result = self.send(request);
        Box::pin(std::future::ready(result))
    }
}
