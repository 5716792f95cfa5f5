//! Publishing a run's metrics at its end: the `--metrics-file` (rewritten atomically, keeping
//! an earlier run's `trident_run_last_success_timestamp_seconds`) and the `--metrics-push`
//! Pushgateway groups. A failure is a warning: the run's outcome never changes.

use std::path::Path;
use std::time::Duration;

use super::registry::{CONTENT_TYPE, MetricsRegistry, names};
use super::settings::MetricsSettings;
use crate::artifacts::atomic::write_atomic;
use crate::delivery::{Delivery, DeliveryClient};

/// How long a push may take, retries included.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Writes and pushes `registry` as `settings` ask; returns one warning per failure.
pub fn publish(registry: &mut MetricsRegistry, settings: &MetricsSettings) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(path) = &settings.file
        && let Err(e) = write_file(registry, path)
    {
        warnings.push(format!(
            "cannot write the metrics file {}: {e} (the run is not affected)",
            path.display()
        ));
    }
    if let Some(base) = &settings.push {
        let client = DeliveryClient::new();
        let root = registry.root_workflow().map(str::to_string);
        for workflow in registry.workflows() {
            let body = registry.render_group(workflow, root.as_deref() == Some(workflow));
            let url = group_url(base, workflow);
            let delivery = Delivery {
                method: "POST",
                url: &url,
                headers: &[],
                content_type: CONTENT_TYPE,
                body: body.as_bytes(),
                timeout: PUSH_TIMEOUT,
            };
            if let Err(e) = client.deliver(&delivery) {
                warnings.push(format!(
                    "cannot push metrics to the Pushgateway {url}: {e} (the run is not affected)"
                ));
            }
        }
    }
    warnings
}

/// Rewrites `path` with the registry, keeping the last-success time stamps the previous
/// file had for workflows that did not succeed this time.
fn write_file(registry: &mut MetricsRegistry, path: &Path) -> std::io::Result<()> {
    if let Ok(previous) = std::fs::read_to_string(path) {
        for (workflow, at) in last_successes(&previous) {
            registry.keep_last_success(&workflow, at);
        }
    }
    write_atomic(path, registry.render().as_bytes()).map(|_| ())
}

/// The `trident_run_last_success_timestamp_seconds{workflow="..."} V` samples of a file
/// this module wrote.
fn last_successes(text: &str) -> Vec<(String, f64)> {
    let prefix = format!("{}{{workflow=\"", names::RUN_LAST_SUCCESS_TIMESTAMP_SECONDS);
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (name, value) = rest.split_once("\"} ")?;
            if name.contains('\\') {
                return None;
            }
            Some((name.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

/// `<base>/metrics/job/trident/workflow/<name>`; a name that is empty or holds a `/` is sent
/// base64url-encoded (`workflow@base64/...`), as the Pushgateway asks.
pub fn group_url(base: &str, workflow: &str) -> String {
    let plain = !workflow.is_empty()
        && workflow
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
    if plain {
        format!("{base}/metrics/job/trident/workflow/{workflow}")
    } else {
        let encoded = base64url(workflow.as_bytes());
        let encoded = if encoded.is_empty() {
            "=".to_string()
        } else {
            encoded
        };
        format!("{base}/metrics/job/trident/workflow@base64/{encoded}")
    }
}

/// RFC 4648 base64url with padding.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_urls() {
        assert_eq!(
            group_url("http://pg:9091", "daily-report"),
            "http://pg:9091/metrics/job/trident/workflow/daily-report"
        );
        assert_eq!(
            group_url("http://pg:9091", "a/b c"),
            "http://pg:9091/metrics/job/trident/workflow@base64/YS9iIGM="
        );
        assert_eq!(
            group_url("http://pg", ""),
            "http://pg/metrics/job/trident/workflow@base64/="
        );
        assert_eq!(base64url(b"\xfb\xff"), "-_8=");
        assert_eq!(base64url(b"abc"), "YWJj");
        assert_eq!(base64url(b"ab"), "YWI=");
    }

    #[test]
    fn a_file_keeps_the_previous_last_success() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/trident.prom");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            "trident_run_last_success_timestamp_seconds{workflow=\"daily\"} 1700000000.5\n",
        )
        .unwrap();
        let mut registry = MetricsRegistry::new();
        let settings = MetricsSettings {
            file: Some(path.clone()),
            push: None,
        };
        assert!(publish(&mut registry, &settings).is_empty());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(
                "trident_run_last_success_timestamp_seconds{workflow=\"daily\"} 1700000000.5"
            ),
            "{text}"
        );
        // No temp file is left beside it.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn an_unwritable_file_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let settings = MetricsSettings {
            file: Some(blocker.join("m.prom")),
            push: None,
        };
        let warnings = publish(&mut MetricsRegistry::new(), &settings);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("cannot write the metrics file"),
            "{warnings:?}"
        );
    }
}
