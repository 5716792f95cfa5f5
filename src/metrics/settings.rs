//! Where a run's metrics go, resolved once before the run: `--metrics-file` /
//! `--metrics-push` over `TRIDENT_METRICS_FILE` / `TRIDENT_METRICS_PUSH` over the manifest's
//! `telemetry.metrics_file` / `telemetry.metrics_push`. An invalid value is a validation
//! error (exit 2) naming its source.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::args::MetricsArgs;
use crate::TridentError;
use crate::telemetry::TelemetrySection;

/// Environment variable names.
pub mod env_vars {
    pub const FILE: &str = "TRIDENT_METRICS_FILE";
    pub const PUSH: &str = "TRIDENT_METRICS_PUSH";
}

/// The manifest keys (under `telemetry:`) read here.
pub const MANIFEST_KEYS: [&str; 2] = ["metrics_file", "metrics_push"];

/// Resolved metrics destinations; both `None`: no metrics are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSettings {
    /// The file rewritten at the run's end (absolute, or relative to the current folder).
    pub file: Option<PathBuf>,
    /// The Pushgateway base URL (no trailing `/`).
    pub push: Option<String>,
}

impl MetricsSettings {
    /// Whether any metrics are wanted.
    pub fn enabled(&self) -> bool {
        self.file.is_some() || self.push.is_some()
    }

    /// Resolves the settings. A relative file from the manifest is relative to
    /// `project_root`; from the flag or the environment, to `cwd`.
    pub fn resolve(
        args: &MetricsArgs,
        env: &dyn Fn(&str) -> Option<String>,
        telemetry_section: TelemetrySection<'_>,
        project_root: &Path,
        cwd: &Path,
    ) -> Result<MetricsSettings, TridentError> {
        let manifest = |key: &str| -> Result<Option<String>, TridentError> {
            match telemetry_section.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => Ok(Some(text.clone())),
                Some(other) => Err(telemetry_section
                    .error(key, format!("invalid value {other} (expected a string)"))),
            }
        };
        let env_text = |var: &str| env(var).filter(|v| !v.trim().is_empty());
        let flag = |name: &str| Source::Named(name.to_string());
        let variable = |var: &str| Source::Named(format!("environment variable {var}"));
        let key = |key| Source::Manifest(telemetry_section, key);

        // Every source is checked, whichever wins, so a typo is never silently ignored.
        let flag_file = match &args.metrics_file {
            Some(path) => Some(check_file(cwd.join(path), flag("--metrics-file"))?),
            None => None,
        };
        let env_file = match env_text(env_vars::FILE) {
            Some(text) => Some(check_file(cwd.join(text.trim()), variable(env_vars::FILE))?),
            None => None,
        };
        let manifest_file = match manifest("metrics_file")? {
            Some(text) => Some(check_file(
                project_root.join(text.trim()),
                key("metrics_file"),
            )?),
            None => None,
        };
        let flag_push = match &args.metrics_push {
            Some(url) => Some(check_url(url, flag("--metrics-push"))?),
            None => None,
        };
        let env_push = match env_text(env_vars::PUSH) {
            Some(url) => Some(check_url(&url, variable(env_vars::PUSH))?),
            None => None,
        };
        let manifest_push = match manifest("metrics_push")? {
            Some(url) => Some(check_url(&url, key("metrics_push"))?),
            None => None,
        };
        Ok(MetricsSettings {
            file: flag_file.or(env_file).or(manifest_file),
            push: flag_push.or(env_push).or(manifest_push),
        })
    }
}

/// Where a value came from, as named in its error.
enum Source<'a> {
    /// A flag or an environment variable, as named.
    Named(String),
    /// A key of the manifest's `telemetry:` section.
    Manifest(TelemetrySection<'a>, &'static str),
}

impl Source<'_> {
    /// `invalid value <value> for --flag<detail>`, or for the manifest
    /// `<manifest>: telemetry.<key>: invalid value <value><detail>`.
    fn invalid(&self, value: &str, detail: &str) -> TridentError {
        match self {
            Source::Named(name) => {
                TridentError::Validation(format!("invalid value {value:?} for {name}{detail}"))
            }
            Source::Manifest(section, key) => {
                section.error(key, format!("invalid value {value:?}{detail}"))
            }
        }
    }
}

fn check_file(path: PathBuf, origin: Source<'_>) -> Result<PathBuf, TridentError> {
    if path.as_os_str().is_empty() || path.is_dir() || path.file_name().is_none() {
        return Err(origin.invalid(
            &path.display().to_string(),
            ": expected a file path (the metrics file is replaced at the run's end), found a \
             folder",
        ));
    }
    Ok(path)
}

/// A Pushgateway base URL: `http(s)://host[:port][/path]`, without the `/metrics/job/...`
/// part (Trident adds it).
fn check_url(url: &str, origin: Source<'_>) -> Result<String, TridentError> {
    let url = url.trim().trim_end_matches('/');
    let ok = crate::hooks::config::is_http_url(url) && !url.contains("/metrics/job/");
    if !ok {
        return Err(origin.invalid(
            url,
            " (accepted: the Pushgateway's http(s) base URL, e.g. http://pushgateway:9091; \
             Trident adds /metrics/job/trident/workflow/<name>)",
        ));
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn resolve(
        args: MetricsArgs,
        env: &[(&str, &str)],
        manifest: Option<Value>,
    ) -> Result<MetricsSettings, TridentError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        MetricsSettings::resolve(
            &args,
            &lookup,
            TelemetrySection::new(manifest.as_ref(), Path::new("/project/agent.tml")),
            Path::new("/project"),
            Path::new("/cwd"),
        )
    }

    #[test]
    fn flag_over_env_over_manifest() {
        let manifest = json!({"metrics_file": "m.prom", "metrics_push": "http://pg:9091/"});
        let s = resolve(MetricsArgs::default(), &[], Some(manifest.clone())).unwrap();
        assert_eq!(s.file, Some(PathBuf::from("/project/m.prom")));
        assert_eq!(s.push.as_deref(), Some("http://pg:9091"));
        let env = [
            ("TRIDENT_METRICS_FILE", "e.prom"),
            ("TRIDENT_METRICS_PUSH", "https://e:1"),
        ];
        let s = resolve(MetricsArgs::default(), &env, Some(manifest.clone())).unwrap();
        assert_eq!(s.file, Some(PathBuf::from("/cwd/e.prom")));
        assert_eq!(s.push.as_deref(), Some("https://e:1"));
        let args = MetricsArgs {
            metrics_file: Some("/abs/f.prom".into()),
            metrics_push: Some("http://f:2".into()),
        };
        let s = resolve(args, &env, Some(manifest)).unwrap();
        assert_eq!(s.file, Some(PathBuf::from("/abs/f.prom")));
        assert_eq!(s.push.as_deref(), Some("http://f:2"));
        assert!(s.enabled());
        assert!(
            !resolve(MetricsArgs::default(), &[], None)
                .unwrap()
                .enabled()
        );
    }

    #[test]
    fn bad_values_name_their_source() {
        let args = MetricsArgs {
            metrics_push: Some("ftp://x".into()),
            ..MetricsArgs::default()
        };
        let e = resolve(args, &[], None).unwrap_err().to_string();
        assert!(e.contains("--metrics-push") && e.contains("http(s)"), "{e}");
        let e = resolve(
            MetricsArgs::default(),
            &[("TRIDENT_METRICS_PUSH", "pg:9091")],
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("TRIDENT_METRICS_PUSH"), "{e}");
        let e = resolve(
            MetricsArgs::default(),
            &[],
            Some(json!({"metrics_push": "http://pg/metrics/job/x"})),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with(
                "/project/agent.tml: telemetry.metrics_push: invalid value \"http://pg/metrics/job/x\""
            ),
            "{e}"
        );
        let e = resolve(
            MetricsArgs::default(),
            &[],
            Some(json!({"metrics_file": 3})),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "/project/agent.tml: telemetry.metrics_file: invalid value 3 (expected a string)"
        );
        let dir = tempfile::tempdir().unwrap();
        let args = MetricsArgs {
            metrics_file: Some(dir.path().to_path_buf()),
            ..MetricsArgs::default()
        };
        let e = resolve(args, &[], None).unwrap_err();
        assert!(e.to_string().contains("--metrics-file"), "{e}");
        assert_eq!(e.exit_code(), crate::ExitCode::Validation);
    }
}
