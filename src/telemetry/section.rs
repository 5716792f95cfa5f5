//! The manifest's raw `telemetry:` section together with the manifest file it was read
//! from, so that every error about one of its keys names both
//! (`/path/agent.tml: telemetry.level: invalid value "loud" (accepted: ...)`). The stream
//! settings, the metrics destinations and the hooks all read their keys through it.

use std::path::Path;

use serde_json::Value;

use crate::TridentError;

/// A manifest's `telemetry:` section (`value`, `None` when it has none) and its file.
#[derive(Debug, Clone, Copy)]
pub struct TelemetrySection<'a> {
    /// The raw section.
    pub value: Option<&'a Value>,
    /// The manifest file, named in front of every error about the section.
    pub manifest: &'a Path,
}

impl<'a> TelemetrySection<'a> {
    /// The section `value` of the manifest file `manifest`.
    pub fn new(value: Option<&'a Value>, manifest: &'a Path) -> TelemetrySection<'a> {
        TelemetrySection { value, manifest }
    }

    /// No section (no manifest says anything).
    pub fn absent() -> TelemetrySection<'static> {
        TelemetrySection {
            value: None,
            manifest: Path::new(""),
        }
    }

    /// The raw value of `telemetry.<key>`, if the section has it.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.value.and_then(|section| section.get(key))
    }

    /// A validation error about `telemetry.<key>` (the whole section when `key` is empty):
    /// `<manifest>: telemetry.<key>: <problem>`.
    pub fn error(&self, key: &str, problem: impl std::fmt::Display) -> TridentError {
        let name = if key.is_empty() {
            "telemetry".to_string()
        } else {
            format!("telemetry.{key}")
        };
        self.in_manifest(TridentError::Validation(format!("{name}: {problem}")))
    }

    /// `error` (about this section) with the manifest's path in front of its message.
    pub fn in_manifest(&self, error: TridentError) -> TridentError {
        match error {
            TridentError::Validation(message) if !self.manifest.as_os_str().is_empty() => {
                TridentError::Validation(format!("{}: {message}", self.manifest.display()))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn errors_name_the_manifest_and_the_key() {
        let value = json!({"level": "loud"});
        let section = TelemetrySection::new(Some(&value), Path::new("/p/agent.tml"));
        assert_eq!(section.get("level"), Some(&json!("loud")));
        assert_eq!(
            section.error("level", "invalid value \"loud\"").to_string(),
            "/p/agent.tml: telemetry.level: invalid value \"loud\""
        );
        assert_eq!(
            section.error("", "expected a mapping").to_string(),
            "/p/agent.tml: telemetry: expected a mapping"
        );
        let absent = TelemetrySection::absent();
        assert_eq!(absent.get("level"), None);
        assert_eq!(absent.error("x", "bad").to_string(), "telemetry.x: bad");
    }
}
