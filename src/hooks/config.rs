//! The manifest's `telemetry.hooks` list, parsed and checked: each hook has `on:` selectors
//! (the syntax of `--telemetry-filter`) and either `run:` (a shell command) or `webhook:` (an
//! http(s) URL, with optional `headers:`), and an optional `timeout:`.
//!
//! `trident project validate` parses the list as written; a run also expands `${VAR}` in
//! webhook headers from the environment. Every error names the manifest and the hook
//! (`/p/agent.tml: telemetry.hooks: hook 2 (webhook ftp://x): ...`) and says what is
//! accepted; it is a validation error (exit 2).

use std::time::Duration;

use serde_json::Value;

use crate::TridentError;
use crate::telemetry::{EventKind, Selector, TelemetrySection};

/// A hook's timeout when it gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest timeout accepted.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// Reads one environment variable (the process environment and the project's `.env`).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The manifest key (under `telemetry:`).
pub const MANIFEST_KEY: &str = "hooks";

const HOOK_KEYS: [&str; 5] = ["on", "run", "webhook", "headers", "timeout"];

/// What a hook does with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookAction {
    /// A shell command (`sh -c`), run in the project root, the event's line on stdin.
    Run { command: String },
    /// An HTTP POST of the event as a JSON body.
    Webhook {
        url: String,
        /// Header names and values (values `${VAR}`-expanded when resolved for a run).
        headers: Vec<(String, String)>,
    },
}

/// One configured hook.
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    /// 1-based position in the list (for messages).
    pub number: usize,
    pub selectors: Vec<Selector>,
    pub action: HookAction,
    pub timeout: Duration,
}

impl Hook {
    /// How the hook is named in messages and in `hook_failed`: `run ./notify.sh`,
    /// `webhook https://example.com/hook`.
    pub fn describe(&self) -> String {
        match &self.action {
            HookAction::Run { command } => format!("run {command}"),
            HookAction::Webhook { url, .. } => format!("webhook {url}"),
        }
    }

    /// Whether an event of `kind` triggers this hook (`hook_failed` never does, so a failing
    /// hook cannot feed itself).
    pub fn wants(&self, kind: EventKind) -> bool {
        kind != EventKind::HookFailed && self.selectors.iter().any(|s| s.matches(kind))
    }
}

/// Parses `telemetry.hooks` from the raw `telemetry:` section. With `env`, webhook headers
/// are expanded (an unset variable is an error); without, only their syntax is checked.
pub fn parse_hooks(
    telemetry_section: TelemetrySection<'_>,
    env: Option<EnvLookup<'_>>,
) -> Result<Vec<Hook>, TridentError> {
    let list = match telemetry_section.get(MANIFEST_KEY) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(telemetry_section.error(
                MANIFEST_KEY,
                format!(
                    "expected a list of hooks (each with `on:` and `run:` or `webhook:`), \
                     found {}",
                    short(other)
                ),
            ));
        }
    };
    list.iter()
        .enumerate()
        .map(|(i, item)| parse_hook(i + 1, item, env))
        .collect::<Result<_, _>>()
        .map_err(|e| telemetry_section.in_manifest(e))
}

fn parse_hook(
    number: usize,
    item: &Value,
    env: Option<EnvLookup<'_>>,
) -> Result<Hook, TridentError> {
    let Some(map) = item.as_object() else {
        return Err(TridentError::Validation(format!(
            "telemetry.hooks: hook {number}: expected a mapping with `on:` and `run:` or \
             `webhook:`, found {}",
            short(item)
        )));
    };
    let run = map.get("run").and_then(Value::as_str).map(str::trim);
    let webhook = map.get("webhook").and_then(Value::as_str).map(str::trim);
    let name = match (run, webhook) {
        (Some(command), _) => format!("hook {number} (run {command})"),
        (None, Some(url)) => format!("hook {number} (webhook {url})"),
        (None, None) => format!("hook {number}"),
    };
    let fail =
        |message: String| TridentError::Validation(format!("telemetry.hooks: {name}: {message}"));
    for key in map.keys() {
        if !HOOK_KEYS.contains(&key.as_str()) {
            return Err(fail(format!(
                "unknown key `{key}` (accepted: {})",
                HOOK_KEYS.join(", ")
            )));
        }
    }
    for key in ["run", "webhook"] {
        if let Some(value) = map.get(key)
            && value.as_str().is_none_or(|s| s.trim().is_empty())
        {
            return Err(fail(format!(
                "`{key}:` must be a non-empty string, found {}",
                short(value)
            )));
        }
    }
    let selectors = parse_selectors(map.get("on")).map_err(fail)?;
    let action = match (run, webhook) {
        (Some(_), Some(_)) => {
            return Err(fail(
                "give either `run:` or `webhook:`, not both (use two hooks)".to_string(),
            ));
        }
        (None, None) => {
            return Err(fail(
                "missing `run:` (a command) or `webhook:` (an http(s) URL)".to_string(),
            ));
        }
        (Some(command), None) => {
            if map.contains_key("headers") {
                return Err(fail("`headers:` is for `webhook:` hooks only".to_string()));
            }
            HookAction::Run {
                command: command.to_string(),
            }
        }
        (None, Some(url)) => {
            if !is_http_url(url) {
                return Err(fail(format!(
                    "the webhook URL {url:?} is not an http:// or https:// URL with a host"
                )));
            }
            HookAction::Webhook {
                url: url.to_string(),
                headers: parse_headers(map.get("headers"), env).map_err(fail)?,
            }
        }
    };
    let timeout = match map.get("timeout") {
        None | Some(Value::Null) => DEFAULT_TIMEOUT,
        Some(value) => parse_timeout(value).ok_or_else(|| {
            fail(format!(
                "invalid `timeout:` {} (accepted: a duration such as 10s, 500ms, 2m, or a \
                 number of seconds; more than 0 and at most {})",
                short(value),
                format_timeout(MAX_TIMEOUT)
            ))
        })?,
    };
    Ok(Hook {
        number,
        selectors,
        action,
        timeout,
    })
}

fn parse_selectors(on: Option<&Value>) -> Result<Vec<Selector>, String> {
    let texts: Vec<&str> = match on {
        Some(Value::String(text)) => vec![text.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| format!("invalid selector {} in `on:`", short(item)))
            })
            .collect::<Result<_, _>>()?,
        None | Some(Value::Null) => {
            return Err(format!(
                "missing `on:` (the events that trigger it: {})",
                Selector::accepted()
            ));
        }
        Some(other) => return Err(format!("invalid `on:` {}", short(other))),
    };
    let selectors = Selector::parse_list(texts).map_err(|bad| {
        format!(
            "unknown selector {bad:?} in `on:` (accepted: {})",
            Selector::accepted()
        )
    })?;
    if selectors.is_empty() {
        return Err("`on:` is empty: name at least one event, category or severity".to_string());
    }
    Ok(selectors)
}

fn parse_headers(
    headers: Option<&Value>,
    env: Option<EnvLookup<'_>>,
) -> Result<Vec<(String, String)>, String> {
    let map = match headers {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(format!(
                "`headers:` must be a mapping of header names to values, found {}",
                short(other)
            ));
        }
    };
    let mut out = Vec::new();
    for (name, value) in map {
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_name {
            return Err(format!("invalid header name {name:?}"));
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => return Err(format!("header {name}: invalid value {}", short(other))),
        };
        let expanded = expand_vars(&text, env).map_err(|e| format!("header {name}: {e}"))?;
        if expanded.contains(['\r', '\n']) {
            return Err(format!(
                "header {name}: a value cannot contain a line break"
            ));
        }
        out.push((name.clone(), expanded));
    }
    Ok(out)
}

/// Replaces each `${NAME}` in `text` with the variable's value; without `env`, checks the
/// syntax only and leaves the text as written.
pub fn expand_vars(text: &str, env: Option<EnvLookup<'_>>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("unclosed `${{` in {text:?}"));
        };
        let name = &after[..end];
        let valid = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit();
        if !valid {
            return Err(format!("invalid variable name {name:?} in {text:?}"));
        }
        match env {
            Some(env) => match env(name) {
                Some(value) => out.push_str(&value),
                None => {
                    return Err(format!(
                        "environment variable {name} is not set (export it, or add it to the \
                         project's .env)"
                    ));
                }
            },
            None => out.push_str(&rest[start..start + 3 + end]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether `url` is `http://` or `https://` followed by a host.
pub fn is_http_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    let Some(rest) = rest else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    !host.is_empty()
        && !host.starts_with(':')
        && !url.contains(char::is_whitespace)
        && url.parse::<ureq::http::Uri>().is_ok()
}

/// `duration` as [`parse_timeout`] reads it back: in the largest unit (`h`, `m`, `s`, `ms`)
/// that divides it exactly (whole milliseconds; below a millisecond is dropped).
pub fn format_timeout(duration: Duration) -> String {
    let millis = duration.as_millis();
    for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1000)] {
        if millis >= size && millis.is_multiple_of(size) {
            return format!("{}{unit}", millis / size);
        }
    }
    format!("{millis}ms")
}

/// `10s`, `500ms`, `2m`, `1h`... or a number of seconds; `None` unless in (0, 10 min].
pub fn parse_timeout(value: &Value) -> Option<Duration> {
    let seconds = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(text) => {
            let text = text.trim().to_ascii_lowercase();
            let split = text
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(text.len());
            let (number, unit) = text.split_at(split);
            let millis_per_unit: u64 = match unit.trim() {
                "" | "s" | "sec" | "secs" | "seconds" => 1000,
                "ms" => 1,
                "m" | "min" | "mins" | "minutes" => 60_000,
                "h" => 3_600_000,
                _ => return None,
            };
            // Whole numbers exactly (`300ms` is 300 ms, not 0.3 s rounded in f64).
            if let Ok(whole) = number.parse::<u64>() {
                let duration = Duration::from_millis(whole.checked_mul(millis_per_unit)?);
                return (!duration.is_zero() && duration <= MAX_TIMEOUT).then_some(duration);
            }
            let number: f64 = number.parse().ok()?;
            number * millis_per_unit as f64 / 1000.0
        }
        _ => return None,
    };
    let duration = Duration::try_from_secs_f64(seconds).ok()?;
    (!duration.is_zero() && duration <= MAX_TIMEOUT).then_some(duration)
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::telemetry::Category;

    fn parse(hooks: Value) -> Result<Vec<Hook>, String> {
        let section = json!({ "hooks": hooks });
        parse_hooks(section_of(&section), None).map_err(|e| e.to_string())
    }

    fn section_of(value: &Value) -> TelemetrySection<'_> {
        TelemetrySection::new(Some(value), std::path::Path::new("/p/agent.tml"))
    }

    #[test]
    fn the_spec_example_parses() {
        let hooks = parse(json!([
            {"on": ["node_failed", "workflow_failed"], "run": "./hooks/notify.sh"},
            {"on": "workflow_completed", "webhook": "https://example.invalid/hook",
             "headers": {"Authorization": "Bearer ${HOOK_TOKEN}"}, "timeout": "10s"}
        ]))
        .unwrap();
        assert_eq!(hooks.len(), 2);
        assert_eq!(hooks[0].describe(), "run ./hooks/notify.sh");
        assert_eq!(hooks[0].timeout, DEFAULT_TIMEOUT);
        assert!(hooks[0].wants(EventKind::NodeFailed));
        assert!(!hooks[0].wants(EventKind::NodeCompleted));
        assert_eq!(
            hooks[1].action,
            HookAction::Webhook {
                url: "https://example.invalid/hook".into(),
                headers: vec![("Authorization".into(), "Bearer ${HOOK_TOKEN}".into())],
            }
        );
        assert_eq!(hooks[1].timeout, Duration::from_secs(10));
        assert!(
            parse_hooks(TelemetrySection::absent(), None)
                .unwrap()
                .is_empty()
        );
        assert!(
            parse_hooks(section_of(&json!({"level": "normal"})), None)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn selectors_are_those_of_the_filter() {
        let hooks = parse(json!([{"on": "node, error", "run": "x"}])).unwrap();
        assert_eq!(
            hooks[0].selectors,
            vec![
                Selector::Category(Category::Node),
                Selector::Severity(crate::telemetry::Level::Error)
            ]
        );
        let warning = parse(json!([{"on": "warning", "run": "x"}])).unwrap();
        assert!(warning[0].wants(EventKind::ProviderRetry));
        assert!(
            !warning[0].wants(EventKind::HookFailed),
            "never on hook_failed"
        );
    }

    #[test]
    fn headers_expand_from_the_environment() {
        let section = json!({"hooks": [{"on": "node", "webhook": "http://h/x",
            "headers": {"Authorization": "Bearer ${TOKEN}", "X-N": 3}}]});
        let env = |name: &str| (name == "TOKEN").then(|| "s3cret".to_string());
        let hooks = parse_hooks(section_of(&section), Some(&env)).unwrap();
        let HookAction::Webhook { headers, .. } = &hooks[0].action else {
            panic!("a webhook");
        };
        assert_eq!(
            headers,
            &vec![
                ("Authorization".to_string(), "Bearer s3cret".to_string()),
                ("X-N".to_string(), "3".to_string())
            ]
        );
        let none = |_: &str| None;
        let e = parse_hooks(section_of(&section), Some(&none))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("hook 1 (webhook http://h/x)") && e.contains("TOKEN is not set"),
            "{e}"
        );
        assert_eq!(
            expand_vars("a${B}c$d", Some(&|_: &str| Some("X".into()))).unwrap(),
            "aXc$d"
        );
        assert!(expand_vars("${", None).unwrap_err().contains("unclosed"));
        assert!(
            expand_vars("${1A}", None)
                .unwrap_err()
                .contains("invalid variable")
        );
    }

    #[test]
    fn bad_hooks_name_the_hook_and_the_fix() {
        let cases = [
            (
                json!([{"on": "node", "webhook": "ftp://h/x"}]),
                "hook 1 (webhook ftp://h/x)",
                "http://",
            ),
            (
                json!([{"on": "node", "webhook": "https://"}]),
                "hook 1",
                "with a host",
            ),
            (
                json!([{"on": "nodez", "run": "x"}]),
                "hook 1 (run x)",
                "unknown selector \"nodez\"",
            ),
            (json!([{"run": "x"}]), "hook 1 (run x)", "missing `on:`"),
            (json!([{"on": []}]), "hook 1", "`on:` is empty"),
            (json!([{"on": "node"}]), "hook 1", "missing `run:`"),
            (
                json!([{"on": "node", "run": "x", "webhook": "http://h"}]),
                "hook 1",
                "not both",
            ),
            (
                json!([{"on": "node", "run": "x", "headers": {}}]),
                "hook 1",
                "webhook:` hooks only",
            ),
            (
                json!([{"on": "node", "run": "x", "timeout": "soon"}]),
                "hook 1",
                "invalid `timeout:`",
            ),
            (
                json!([{"on": "node", "run": "x", "timeout": 0}]),
                "hook 1",
                "more than 0",
            ),
            (
                json!([{"on": "node", "run": "x", "when": 1}]),
                "hook 1",
                "unknown key `when`",
            ),
            (
                json!([{"on": "node", "run": ""}]),
                "hook 1",
                "non-empty string",
            ),
            (
                json!([{"on": "node", "run": "x"}, "y"]),
                "hook 2",
                "expected a mapping",
            ),
            (json!({"on": "node"}), "telemetry.hooks", "expected a list"),
            (
                json!([{"on": "node", "webhook": "http://h", "headers": {"A B": "x"}}]),
                "hook 1",
                "invalid header name",
            ),
        ];
        for (hooks, name, fix) in cases {
            let e = parse(hooks.clone()).unwrap_err();
            assert!(e.contains(name) && e.contains(fix), "{hooks}: {e}");
            assert!(e.starts_with("/p/agent.tml: telemetry.hooks: "), "{e}");
        }
    }

    #[test]
    fn timeouts() {
        let t = |v: Value| parse_timeout(&v);
        assert_eq!(t(json!("10s")), Some(Duration::from_secs(10)));
        assert_eq!(t(json!("250ms")), Some(Duration::from_millis(250)));
        assert_eq!(t(json!("2m")), Some(Duration::from_secs(120)));
        assert_eq!(t(json!(1.5)), Some(Duration::from_millis(1500)));
        assert_eq!(t(json!("3")), Some(Duration::from_secs(3)));
        assert_eq!(t(json!("11m")), None);
        assert_eq!(t(json!("-1s")), None);
        assert_eq!(t(json!(true)), None);
    }

    #[test]
    fn http_urls() {
        assert!(is_http_url("http://127.0.0.1:9091"));
        assert!(is_http_url("HTTPS://example.com/a?b=c"));
        assert!(!is_http_url("ftp://example.com"));
        assert!(!is_http_url("example.com"));
        assert!(!is_http_url("http://"));
        assert!(!is_http_url("http://:80/x"));
        assert!(!is_http_url("http://a b"));
    }

    proptest::proptest! {
        #[test]
        fn a_formatted_timeout_parses_back_to_itself(millis in 1u64..=600_000) {
            let duration = Duration::from_millis(millis);
            let text = format_timeout(duration);
            proptest::prop_assert_eq!(parse_timeout(&Value::String(text)), Some(duration));
        }

        #[test]
        fn any_text_is_a_timeout_or_none(text in ".{0,24}") {
            let _ = parse_timeout(&Value::String(text));
        }
    }
}
