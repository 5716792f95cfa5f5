//! Shared pieces of the provider unit tests: fast retry settings, schemas, a URL where
//! nothing listens, and environments made of pairs.

use std::net::TcpListener;
use std::time::Duration;

use indexmap::IndexMap;

use super::{ProviderSettings, RetryNotice, RetryPolicy};
use crate::project::SchemaField;

/// Settings with a 1 ms retry base (delays 1, 2, 4 ms; `Retry-After` capped at 60 ms).
pub(crate) fn fast_settings() -> ProviderSettings {
    ProviderSettings {
        retry: RetryPolicy::with_base_delay(Duration::from_millis(1)),
        ..ProviderSettings::default()
    }
}

/// An output schema from `(name, type, description)` triples.
pub(crate) fn schema(fields: &[(&str, &str, &str)]) -> IndexMap<String, SchemaField> {
    fields
        .iter()
        .map(|(name, field_type, description)| {
            let field = SchemaField {
                field_type: field_type.to_string(),
                description: description.to_string(),
            };
            (name.to_string(), field)
        })
        .collect()
}

/// A `http://127.0.0.1:<port>` URL whose port was just free, so connecting is refused.
pub(crate) fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A retry callback that keeps the notices.
pub(crate) fn recorder(notices: &mut Vec<RetryNotice>) -> impl FnMut(RetryNotice) + '_ {
    move |notice| notices.push(notice)
}

/// An environment made of `pairs` (for `resolve_with_env` and `ProviderSettings::from_env`).
pub(crate) fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}
