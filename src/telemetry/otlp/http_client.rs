//! The OTLP exporter's HTTP client: a small blocking `opentelemetry_http::HttpClient` over
//! the `ureq` agent the providers already use, so no async runtime is pulled in. The
//! exporter runs on its own thread; every request is bounded by the export timeout.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

use crate::telemetry::queue::lock;

/// The reason of the last request that failed before any answer (refused, timed out...),
/// which the exporter crate reports only as "network error".
pub type NetworkError = Arc<Mutex<Option<String>>>;

/// A blocking OTLP/HTTP client.
#[derive(Debug)]
pub struct UreqClient {
    agent: ureq::Agent,
    last_error: NetworkError,
}

impl UreqClient {
    /// A client whose every request (connect, send, answer) takes at most `timeout`; the
    /// reason of a request that gets no answer is left in `last_error`.
    pub fn new(timeout: Duration, last_error: NetworkError) -> UreqClient {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build();
        UreqClient {
            agent: config.into(),
            last_error,
        }
    }

    fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let request = Request::from_parts(parts, body.to_vec());
        let answer = self.agent.run(request).and_then(|response| {
            let (parts, mut body) = response.into_parts();
            let bytes = body.read_to_vec()?;
            Ok(Response::from_parts(parts, Bytes::from(bytes)))
        });
        if let Err(e) = &answer {
            *lock(&self.last_error) = Some(e.to_string());
        }
        Ok(answer?)
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
