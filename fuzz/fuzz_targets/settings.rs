//! Flag, variable and manifest values of the telemetry, OTLP, metrics and hook settings
//! (sizes, levels, filters, selectors, formats, booleans, URLs, timeouts, headers). Input:
//! `KEY=VALUE` lines (the environment) up to a line `---`, then the YAML of a manifest's
//! `telemetry:` section. Each value is also fed to the single-value parsers. Resolution
//! gives settings or an error naming the source, never a panic.
#![no_main]

use std::collections::HashMap;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use trident::hooks::config::{expand_vars, parse_hooks, parse_timeout};
use trident::metrics::{MetricsArgs, MetricsSettings};
use trident::parsers::{format_size, parse_bool, parse_max_files, parse_size};
use trident::project::yaml::parse_yaml;
use trident::telemetry::otlp::settings::{OtlpSettings, OtlpSwitch};
use trident::telemetry::section::TelemetrySection;
use trident::telemetry::settings::TelemetrySettings;
use trident::telemetry::{LevelSetting, Selector, TelemetryArgs};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (vars, section) = text.split_once("\n---\n").unwrap_or((text, ""));
    let env: HashMap<String, String> = vars
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for value in env.values() {
        let _ = (parse_bool(value), parse_max_files(value));
        if let Some(bytes) = parse_size(value) {
            assert_eq!(parse_size(&format_size(bytes)), Some(bytes), "{value:?}");
        }
        let _ = (LevelSetting::parse(value), Selector::parse_list(value.split(',')));
        let _ = parse_timeout(&serde_json::Value::String(value.clone()));
        let _ = OtlpSwitch::parse(value);
        let _ = expand_vars(value, Some(&|name: &str| env.get(name).cloned()));
    }
    let lookup = |name: &str| env.get(name).cloned();
    let root = Path::new("/nonexistent");
    let manifest = Path::new("/nonexistent/agent.tml");
    let section = parse_yaml(section, manifest).ok();
    let section = TelemetrySection::new(section.as_ref().filter(|s| !s.is_null()), manifest);
    let _ = TelemetrySettings::resolve(&TelemetryArgs::default(), &lookup, section, root, root);
    let _ = MetricsSettings::resolve(&MetricsArgs::default(), &lookup, section, root, root);
    let _ = parse_hooks(section, Some(&lookup));
    let _ = parse_hooks(section, None);
    if let Some(switch) = env.get("TRIDENT_TELEMETRY_OTLP").and_then(|v| OtlpSwitch::parse(v)) {
        let _ = OtlpSettings::resolve(Some(&switch), &lookup);
    }
});
