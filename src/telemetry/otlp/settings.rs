//! OpenTelemetry export settings: the switch (`--telemetry-otlp[=URL]`,
//! `TRIDENT_TELEMETRY_OTLP`, manifest `telemetry.otlp`: a URL, `on` or `off`) combined with
//! the standard `OTEL_*` variables, resolved once before a run.
//!
//! Endpoints: a URL in the switch is a base URL (`/v1/traces` and `/v1/logs` appended);
//! without one, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`
//! (used as they are), else `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL), else
//! `http://localhost:4318`. Header values (`OTEL_EXPORTER_OTLP_HEADERS`) are secrets: they
//! are never printed, not even in an error about them.

use std::fmt;
use std::time::Duration;

use crate::TridentError;
use crate::telemetry::catalogue::EventKind;
use crate::telemetry::trace_context::{TRACEPARENT_ENV, TRACESTATE_ENV, TraceParent};

/// The OTLP variables read (besides `TRACEPARENT`/`TRACESTATE`).
pub mod otel_vars {
    pub const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    pub const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
    pub const LOGS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT";
    pub const HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
    pub const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
    pub const TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
    pub const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
    pub const RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
    pub const TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
    pub const LOGS_EXPORTER: &str = "OTEL_LOGS_EXPORTER";
}

/// The endpoint used when nothing names one.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4318";
/// The export timeout when `OTEL_EXPORTER_OTLP_TIMEOUT` is unset.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// `service.name` when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` set it.
pub const DEFAULT_SERVICE_NAME: &str = "trident";

/// The events the exporter builds spans from, which it receives whatever the stream's
/// level and filter (payload events such as `input_received` are not among them: the spans
/// do not need them, and formatting them for nothing would cost the run time).
pub const SPAN_EVENTS: [EventKind; 20] = [
    EventKind::WorkflowStarted,
    EventKind::WorkflowCompleted,
    EventKind::WorkflowFailed,
    EventKind::WorkflowInterrupted,
    EventKind::NodeStarted,
    EventKind::NodeCompleted,
    EventKind::NodeFailed,
    EventKind::NodeSkipped,
    EventKind::TokenUsage,
    EventKind::CostIncurred,
    EventKind::ProviderRetry,
    EventKind::CheckpointSaved,
    EventKind::SignalEmitted,
    EventKind::SignalReceived,
    EventKind::BranchIteration,
    EventKind::AgentTurnStarted,
    EventKind::AgentTurnCompleted,
    EventKind::AgentToolCalled,
    EventKind::TelemetryDropped,
    EventKind::OtlpExportFailed,
];

/// The accepted values of the switch, for error messages.
pub const SWITCH_ACCEPTED: &str = "an http(s) URL, on, off";

/// What the switch says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtlpSwitch {
    /// Export off.
    Off,
    /// Export on, endpoints from the `OTEL_*` variables.
    On,
    /// Export on to this base URL.
    Url(String),
}

impl OtlpSwitch {
    /// Parses `on`/`off` (and the usual boolean spellings) or an `http(s)://` URL.
    pub fn parse(text: &str) -> Option<OtlpSwitch> {
        let text = text.trim();
        if is_http_url(text) {
            return Some(OtlpSwitch::Url(text.to_string()));
        }
        crate::telemetry::values::parse_bool(text)
            .map(|on| if on { OtlpSwitch::On } else { OtlpSwitch::Off })
    }
}

fn is_http_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace))
}

/// The OTLP/HTTP encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// `http/protobuf` (the default).
    HttpProtobuf,
    /// `http/json`.
    HttpJson,
}

impl OtlpProtocol {
    /// The `OTEL_EXPORTER_OTLP_PROTOCOL` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OtlpProtocol::HttpProtobuf => "http/protobuf",
            OtlpProtocol::HttpJson => "http/json",
        }
    }
}

/// Resolved OpenTelemetry export settings.
#[derive(Clone, PartialEq)]
pub struct OtlpSettings {
    /// Where spans are POSTed.
    pub traces_endpoint: String,
    /// Where log records are POSTed.
    pub logs_endpoint: String,
    /// Whether spans are exported (`OTEL_TRACES_EXPORTER`: `otlp`, the default, or `none`).
    pub traces: bool,
    /// Whether log records are exported (`OTEL_LOGS_EXPORTER`: `otlp` or `none`): a
    /// backend that takes traces only (Jaeger, Langfuse, Phoenix) would refuse them.
    pub logs: bool,
    /// Extra request headers (secrets: never printed).
    pub headers: Vec<(String, String)>,
    /// The header values as given (percent-encoded) and decoded, to redact wherever they
    /// appear in events ([`OtlpSettings::secret_values`]).
    pub header_secrets: Vec<String>,
    /// The encoding.
    pub protocol: OtlpProtocol,
    /// The most one export may take, and the most the run's end waits for the exporter.
    pub timeout: Duration,
    /// `service.name`.
    pub service_name: String,
    /// Resource attributes from `OTEL_RESOURCE_ATTRIBUTES` (besides `service.name`).
    pub resource_attributes: Vec<(String, String)>,
    /// The span the run continues (`TRACEPARENT`/`TRACESTATE`), when valid.
    pub parent: Option<TraceParent>,
}

impl fmt::Debug for OtlpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("OtlpSettings")
            .field("traces_endpoint", &self.traces_endpoint)
            .field("logs_endpoint", &self.logs_endpoint)
            .field("traces", &self.traces)
            .field("logs", &self.logs)
            .field("headers", &header_names)
            .field("protocol", &self.protocol)
            .field("timeout", &self.timeout)
            .field("service_name", &self.service_name)
            .field("resource_attributes", &self.resource_attributes)
            .field("parent", &self.parent)
            .finish()
    }
}

impl OtlpSettings {
    /// The settings for `switch` (as combined from flag, variable and manifest) and the
    /// `OTEL_*` variables of `env`; `None` when the export is off. The `OTEL_*` variables
    /// are only read (and validated) when the export is on: other programs share them.
    pub fn resolve(
        switch: Option<&OtlpSwitch>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<OtlpSettings>, TridentError> {
        let base = match switch {
            None | Some(OtlpSwitch::Off) => return Ok(None),
            Some(OtlpSwitch::On) => None,
            Some(OtlpSwitch::Url(url)) => Some(url.as_str()),
        };
        let var = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let url_var = |name: &'static str| -> Result<Option<String>, TridentError> {
            match var(name) {
                Some(v) if !is_http_url(&v) => Err(TridentError::Validation(format!(
                    "invalid value {v:?} for environment variable {name} (accepted: an http(s) URL, e.g. http://localhost:4318)"
                ))),
                other => Ok(other),
            }
        };
        let general = url_var(otel_vars::ENDPOINT)?;
        let traces = url_var(otel_vars::TRACES_ENDPOINT)?;
        let logs = url_var(otel_vars::LOGS_ENDPOINT)?;
        let (traces_endpoint, logs_endpoint) = match base {
            Some(base) => (join(base, "v1/traces"), join(base, "v1/logs")),
            None => {
                let base = general.as_deref().unwrap_or(DEFAULT_ENDPOINT);
                (
                    traces.unwrap_or_else(|| join(base, "v1/traces")),
                    logs.unwrap_or_else(|| join(base, "v1/logs")),
                )
            }
        };
        let protocol = match var(otel_vars::PROTOCOL).as_deref() {
            None | Some("http/protobuf") => OtlpProtocol::HttpProtobuf,
            Some("http/json") => OtlpProtocol::HttpJson,
            Some(other) => {
                return Err(TridentError::Validation(format!(
                    "invalid value {other:?} for environment variable {} (accepted: http/protobuf, http/json; gRPC is not supported: point the exporter at the collector's OTLP/HTTP port, usually 4318)",
                    otel_vars::PROTOCOL
                )));
            }
        };
        let timeout = match var(otel_vars::TIMEOUT) {
            None => DEFAULT_TIMEOUT,
            Some(text) => match text.parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => {
                    return Err(TridentError::Validation(format!(
                        "invalid value {text:?} for environment variable {} (accepted: a positive number of milliseconds, e.g. 2000)",
                        otel_vars::TIMEOUT
                    )));
                }
            },
        };
        let header_secrets = var(otel_vars::HEADERS)
            .map(|text| header_secrets(&text))
            .unwrap_or_default();
        let headers = match var(otel_vars::HEADERS) {
            None => Vec::new(),
            Some(text) => parse_pairs(&text).ok_or_else(|| {
                TridentError::Validation(format!(
                    "invalid environment variable {}: expected comma-separated key=value pairs (values URL-encoded), e.g. Authorization=Basic%20abc (the value is not shown: it may hold a secret)",
                    otel_vars::HEADERS
                ))
            })?,
        };
        let mut resource_attributes = match var(otel_vars::RESOURCE_ATTRIBUTES) {
            None => Vec::new(),
            Some(text) => parse_pairs(&text).ok_or_else(|| {
                TridentError::Validation(format!(
                    "invalid value {text:?} for environment variable {} (accepted: comma-separated key=value pairs, e.g. deployment.environment=prod,team=data)",
                    otel_vars::RESOURCE_ATTRIBUTES
                ))
            })?,
        };
        let from_attributes = resource_attributes
            .iter()
            .position(|(k, _)| k == "service.name")
            .map(|i| resource_attributes.remove(i).1);
        let service_name = var(otel_vars::SERVICE_NAME)
            .or(from_attributes)
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_string());
        let exporter = |name: &'static str| -> Result<bool, TridentError> {
            let Some(text) = var(name) else {
                return Ok(true);
            };
            let names: Vec<String> = text
                .split(',')
                .map(|n| n.trim().to_ascii_lowercase())
                .collect();
            if names.iter().any(|n| n == "otlp") {
                Ok(true)
            } else if names.iter().all(|n| n == "none") {
                Ok(false)
            } else {
                Err(TridentError::Validation(format!(
                    "invalid value {text:?} for environment variable {name} (accepted: otlp, none; trident exports OTLP only)"
                )))
            }
        };
        let traces = exporter(otel_vars::TRACES_EXPORTER)?;
        let logs = exporter(otel_vars::LOGS_EXPORTER)?;
        let parent = env(TRACEPARENT_ENV)
            .and_then(|tp| TraceParent::parse(&tp, env(TRACESTATE_ENV).as_deref()));
        Ok(Some(OtlpSettings {
            traces_endpoint,
            logs_endpoint,
            traces,
            logs,
            headers,
            header_secrets,
            protocol,
            timeout,
            service_name,
            resource_attributes,
            parent,
        }))
    }

    /// Values to redact wherever they appear in events (a tool may print its environment):
    /// the header values, as given and decoded, of 8 characters or more.
    pub fn secret_values(&self) -> Vec<String> {
        self.header_secrets.clone()
    }

    /// The variables a `fire-and-forget` run is started with so that it exports where this
    /// run does, however this run got its settings (headers and resource attributes can only
    /// come from the environment, which the child inherits).
    pub fn child_env(&self) -> Vec<(&'static str, String)> {
        vec![
            (crate::telemetry::settings::env_vars::OTLP, "on".to_string()),
            (otel_vars::TRACES_ENDPOINT, self.traces_endpoint.clone()),
            (otel_vars::LOGS_ENDPOINT, self.logs_endpoint.clone()),
            (otel_vars::PROTOCOL, self.protocol.as_str().to_string()),
            (otel_vars::TIMEOUT, self.timeout.as_millis().to_string()),
            (otel_vars::SERVICE_NAME, self.service_name.clone()),
        ]
    }
}

/// Header values shorter than this are not redacted in events (`x-team=data` would
/// otherwise hide every "data").
const MIN_SECRET_LEN: usize = 8;

/// The values of `OTEL_EXPORTER_OTLP_HEADERS` as given and decoded, long enough to be
/// credentials.
fn header_secrets(text: &str) -> Vec<String> {
    let mut secrets = Vec::new();
    for value in text
        .split(',')
        .filter_map(|i| i.split_once('='))
        .map(|(_, v)| v.trim())
    {
        secrets.push(value.to_string());
        secrets.extend(percent_decode(value));
    }
    secrets.retain(|v| v.len() >= MIN_SECRET_LEN);
    secrets.sort();
    secrets.dedup();
    secrets
}

/// `base` with `path` appended after exactly one `/`.
fn join(base: &str, path: &str) -> String {
    format!("{}/{path}", base.trim_end_matches('/'))
}

/// `k=v,k2=v2` with percent-encoded values (the W3C baggage form the OTel spec uses).
fn parse_pairs(text: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (key, value) = item.split_once('=')?;
        let key = key.trim();
        if key.is_empty() {
            return None;
        }
        pairs.push((key.to_string(), percent_decode(value.trim())?));
    }
    Some(pairs)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn resolve(
        switch: &OtlpSwitch,
        vars: &[(&str, &str)],
    ) -> Result<Option<OtlpSettings>, TridentError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        OtlpSettings::resolve(Some(switch), &|name| map.get(name).cloned())
    }

    fn on(vars: &[(&str, &str)]) -> OtlpSettings {
        resolve(&OtlpSwitch::On, vars).unwrap().unwrap()
    }

    #[test]
    fn switch_spellings() {
        assert_eq!(OtlpSwitch::parse("on"), Some(OtlpSwitch::On));
        assert_eq!(OtlpSwitch::parse("OFF"), Some(OtlpSwitch::Off));
        assert_eq!(
            OtlpSwitch::parse("http://c:4318/"),
            Some(OtlpSwitch::Url("http://c:4318/".into()))
        );
        assert_eq!(OtlpSwitch::parse("ftp://c"), None);
        assert_eq!(OtlpSwitch::parse("http://"), None);
        assert_eq!(OtlpSwitch::parse("maybe"), None);
        assert!(resolve(&OtlpSwitch::Off, &[]).unwrap().is_none());
        assert!(OtlpSettings::resolve(None, &|_| None).unwrap().is_none());
    }

    #[test]
    fn endpoint_precedence() {
        let s = on(&[]);
        assert_eq!(s.traces_endpoint, "http://localhost:4318/v1/traces");
        assert_eq!(s.logs_endpoint, "http://localhost:4318/v1/logs");
        let s = on(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://otel.example:4318/")]);
        assert_eq!(s.traces_endpoint, "https://otel.example:4318/v1/traces");
        let s = on(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/custom"),
        ]);
        assert_eq!(s.traces_endpoint, "http://t:1/custom");
        assert_eq!(s.logs_endpoint, "http://base:4318/v1/logs");
        let s = resolve(
            &OtlpSwitch::Url("http://flag:4318".into()),
            &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/custom")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.traces_endpoint, "http://flag:4318/v1/traces");
        assert_eq!(s.logs_endpoint, "http://flag:4318/v1/logs");
    }

    #[test]
    fn protocol_timeout_service_and_resource() {
        let s = on(&[]);
        assert_eq!(s.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
        assert_eq!(s.service_name, "trident");
        let s = on(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=fromattrs,team=data%20eng",
            ),
        ]);
        assert_eq!(s.protocol, OtlpProtocol::HttpJson);
        assert_eq!(s.timeout, Duration::from_millis(500));
        assert_eq!(s.service_name, "fromattrs");
        assert_eq!(
            s.resource_attributes,
            vec![("team".into(), "data eng".into())]
        );
        let s = on(&[
            ("OTEL_SERVICE_NAME", "svc"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=fromattrs"),
        ]);
        assert_eq!(s.service_name, "svc");
    }

    #[test]
    fn traces_or_logs_can_be_left_out() {
        let s = on(&[]);
        assert!(s.traces && s.logs);
        let s = on(&[("OTEL_LOGS_EXPORTER", "none")]);
        assert!(s.traces && !s.logs);
        let s = on(&[
            ("OTEL_TRACES_EXPORTER", " None "),
            ("OTEL_LOGS_EXPORTER", "otlp"),
        ]);
        assert!(!s.traces && s.logs);
        assert!(on(&[("OTEL_TRACES_EXPORTER", "otlp,console")]).traces);
        let Err(TridentError::Validation(message)) =
            resolve(&OtlpSwitch::On, &[("OTEL_LOGS_EXPORTER", "console")])
        else {
            panic!("console is not an exporter trident has");
        };
        assert!(message.contains("OTEL_LOGS_EXPORTER"), "{message}");
        assert!(message.contains("otlp, none"), "{message}");
        // Not judged when the export is off (other programs share the variables).
        assert!(
            resolve(&OtlpSwitch::Off, &[("OTEL_LOGS_EXPORTER", "console")])
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn headers_are_decoded_and_never_shown() {
        let s = on(&[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Authorization=Basic%20c2VjcmV0, x-team = a",
        )]);
        assert_eq!(
            s.headers,
            vec![
                ("Authorization".into(), "Basic c2VjcmV0".into()),
                ("x-team".into(), "a".into())
            ]
        );
        assert!(!format!("{s:?}").contains("c2VjcmV0"));
        // Redacted in events as given and decoded; the short value is no credential.
        assert_eq!(s.secret_values(), ["Basic c2VjcmV0", "Basic%20c2VjcmV0"]);
        let e = resolve(
            &OtlpSwitch::On,
            &[("OTEL_EXPORTER_OTLP_HEADERS", "Authorization:Bearer sekrit")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("OTEL_EXPORTER_OTLP_HEADERS"), "{e}");
        assert!(!e.contains("sekrit"), "{e}");
    }

    #[test]
    fn invalid_values_name_the_variable() {
        for (var, value, hint) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "http/json"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2s", "milliseconds"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "0", "milliseconds"),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "localhost:4318",
                "http(s) URL",
            ),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "x", "http(s) URL"),
            ("OTEL_RESOURCE_ATTRIBUTES", "novalue", "key=value"),
        ] {
            let e = resolve(&OtlpSwitch::On, &[(var, value)]).unwrap_err();
            assert_eq!(e.exit_code(), crate::ExitCode::Validation);
            let e = e.to_string();
            assert!(e.contains(var) && e.contains(hint), "{e}");
        }
        // Off: the OTEL_* variables belong to other programs, and are not judged.
        assert!(
            resolve(&OtlpSwitch::Off, &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")])
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn traceparent_in() {
        let s = on(&[
            (
                "TRACEPARENT",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            ("TRACESTATE", "k=v"),
        ]);
        let parent = s.parent.unwrap();
        assert_eq!(parent.state.as_deref(), Some("k=v"));
        assert!(on(&[("TRACEPARENT", "garbage")]).parent.is_none());
    }
}
