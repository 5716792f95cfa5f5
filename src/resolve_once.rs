//! Host names resolved once per HTTP client, not once per request.
//!
//! `ureq`'s resolver, given a timeout (every client of ours has one), starts a new thread
//! for each lookup so that it can stop waiting for it, even for `127.0.0.1`, and it looks the
//! host up before every request, pooled connection or not: a run with a thousand model calls
//! started a thousand threads. [`ResolveOnce`] keeps each answer for [`KEEP_ADDRESSES`]
//! (long enough for a run's burst of calls, short enough to follow a DNS change during a
//! long run), so the lookup thread is paid once per host and minute. A failed lookup is not
//! kept: the next request tries again. Shared by the providers' client and the OTLP
//! exporter (see [`agent_resolving_once`]).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// How long a resolved address is used before the host is looked up again.
pub const KEEP_ADDRESSES: Duration = Duration::from_secs(60);

/// A `ureq` agent with `config` whose host lookups go through a [`ResolveOnce`].
pub fn agent_resolving_once(config: Config) -> ureq::Agent {
    ureq::Agent::with_parts(
        config,
        DefaultConnector::default(),
        ResolveOnce::<DefaultResolver>::default(),
    )
}

/// A resolver answering from memory what `inner` resolved less than [`KEEP_ADDRESSES`]
/// ago for the same scheme and authority (host and port). One lookup runs at a time (a
/// client talks to one host, or a few).
#[derive(Debug, Default)]
pub struct ResolveOnce<R = DefaultResolver> {
    inner: R,
    known: Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
}

impl<R> ResolveOnce<R> {
    /// The cache, usable even if a thread panicked while holding it (it only holds copies
    /// of answers).
    fn known(&self) -> MutexGuard<'_, HashMap<String, (Instant, ResolvedSocketAddrs)>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<R: Resolver> Resolver for ResolveOnce<R> {
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
        // Held during the lookup: the concurrent first requests of a wide level wait for
        // its answer instead of each starting a lookup thread of its own.
        let mut known = self.known();
        if let Some((at, addresses)) = known.get(&key)
            && at.elapsed() < KEEP_ADDRESSES
        {
            return Ok(addresses.clone());
        }
        let addresses = self.inner.resolve(uri, config, timeout)?;
        known.insert(key, (Instant::now(), addresses.clone()));
        Ok(addresses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The default resolver, counting its lookups; host `unknown` is not found (no lookup
    /// leaves the machine).
    #[derive(Debug, Default)]
    struct Counting {
        lookups: AtomicUsize,
        inner: DefaultResolver,
    }

    impl Resolver for Counting {
        fn resolve(
            &self,
            uri: &Uri,
            config: &Config,
            timeout: NextTimeout,
        ) -> Result<ResolvedSocketAddrs, ureq::Error> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            if uri.host() == Some("unknown") {
                return Err(ureq::Error::HostNotFound);
            }
            self.inner.resolve(uri, config, timeout)
        }
    }

    fn resolve(
        resolver: &ResolveOnce<Counting>,
        url: &str,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let uri: Uri = url.parse().unwrap();
        resolver.resolve(&uri, &Config::default(), NextTimeout::default())
    }

    #[test]
    fn a_host_is_looked_up_once_per_scheme_and_port() {
        let resolver = ResolveOnce::<Counting>::default();
        let first = resolve(&resolver, "http://127.0.0.1:8080/v1/messages").unwrap();
        let again = resolve(&resolver, "http://127.0.0.1:8080/other?x=1").unwrap();
        assert_eq!(format!("{first:?}"), format!("{again:?}"));
        assert_eq!(resolver.inner.lookups.load(Ordering::SeqCst), 1);
        resolve(&resolver, "http://127.0.0.1:9090/v1/messages").unwrap();
        resolve(&resolver, "https://127.0.0.1:8080/v1/messages").unwrap();
        assert_eq!(resolver.inner.lookups.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_failed_lookup_is_tried_again() {
        let resolver = ResolveOnce::<Counting>::default();
        for _ in 0..2 {
            assert!(resolve(&resolver, "http://unknown:80/").is_err());
        }
        assert_eq!(resolver.inner.lookups.load(Ordering::SeqCst), 2);
    }
}
