//! A `webhook:` hook: the event's jsonl line POSTed as a JSON body with the hook's headers,
//! through the shared best-effort delivery (retries with backoff on network errors and 5xx,
//! all within the hook's deadline).

use std::time::Instant;

use super::job::HookJob;
use crate::delivery::{Delivery, DeliveryClient};

/// Posts `job`'s event to `url` before `deadline`, through `client` (the run's).
pub fn post_event(
    client: &DeliveryClient,
    url: &str,
    headers: &[(String, String)],
    job: &HookJob,
    deadline: Instant,
) -> Result<(), String> {
    client
        .deliver(&Delivery {
            method: "POST",
            url,
            headers,
            content_type: "application/json",
            body: &job.line,
            timeout: deadline.saturating_duration_since(Instant::now()),
        })
        .map(|_| ())
}
