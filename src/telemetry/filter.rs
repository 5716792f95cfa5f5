//! Which events are written: the verbosity level, the original runtime's severity floors and
//! `--telemetry-filter` selectors, folded once into a 64-bit mask of event kinds.
//!
//! The emitter tests one bit per event before anything is built or formatted, and
//! `RunTelemetry::wants` lets the engine skip building payloads nobody will see.

use super::catalogue::{Category, EventKind, Level, Verbosity};

/// The `level` setting: a verbosity, or one of the original's severity floors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelSetting {
    /// `minimal`, `normal` (also spelled `info`), `verbose`, `debug`.
    Verbosity(Verbosity),
    /// `warning` or `error`: only events of that severity or worse.
    Floor(Level),
}

impl LevelSetting {
    /// Every accepted spelling, for error messages.
    pub const ACCEPTED: &'static str = "minimal, normal, verbose, debug, info, warning, error";

    /// Parses a level (case-insensitive); `info` is the original's name for `normal`.
    pub fn parse(text: &str) -> Option<LevelSetting> {
        let setting = match text.trim().to_ascii_lowercase().as_str() {
            "minimal" => LevelSetting::Verbosity(Verbosity::Minimal),
            "normal" | "info" => LevelSetting::Verbosity(Verbosity::Normal),
            "verbose" => LevelSetting::Verbosity(Verbosity::Verbose),
            "debug" => LevelSetting::Verbosity(Verbosity::Debug),
            "warning" | "warn" => LevelSetting::Floor(Level::Warning),
            "error" => LevelSetting::Floor(Level::Error),
            _ => return None,
        };
        Some(setting)
    }

    /// The spelling [`LevelSetting::parse`] reads back.
    pub fn as_str(self) -> &'static str {
        match self {
            LevelSetting::Verbosity(v) => v.as_str(),
            LevelSetting::Floor(Level::Error) => "error",
            // `parse` makes floors of WARNING and ERROR only.
            LevelSetting::Floor(_) => "warning",
        }
    }

    /// Whether an event of `kind` passes this level on its own.
    pub fn admits(self, kind: EventKind) -> bool {
        self.admits_at(kind, kind.level())
    }

    /// Whether an event of `kind` written at `level` passes this level on its own.
    pub fn admits_at(self, kind: EventKind, level: Level) -> bool {
        match self {
            LevelSetting::Verbosity(v) => level >= Level::Warning || kind.verbosity() <= v,
            LevelSetting::Floor(floor) => level >= floor,
        }
    }

    /// Whether payload strings are kept whole (only at `debug`).
    pub fn keeps_payloads_whole(self) -> bool {
        self == LevelSetting::Verbosity(Verbosity::Debug)
    }
}

/// One item of a `--telemetry-filter` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    /// An event name (`node_failed`).
    Event(EventKind),
    /// A category (`node`, `agent`...).
    Category(Category),
    /// A severity and everything worse (`error` = ERROR, `warning` = WARNING and ERROR).
    Severity(Level),
}

impl Selector {
    /// Parses one selector (case-insensitive).
    pub fn parse(text: &str) -> Option<Selector> {
        let text = text.trim().to_ascii_lowercase();
        if let Some(kind) = EventKind::from_name(&text) {
            return Some(Selector::Event(kind));
        }
        if let Some(category) = Category::from_name(&text) {
            return Some(Selector::Category(category));
        }
        let level = match text.as_str() {
            "error" => Level::Error,
            "warning" | "warn" => Level::Warning,
            "info" => Level::Info,
            "debug" => Level::Debug,
            _ => return None,
        };
        Some(Selector::Severity(level))
    }

    /// The spelling [`Selector::parse`] reads back.
    pub fn as_str(self) -> &'static str {
        match self {
            Selector::Event(kind) => kind.name(),
            Selector::Category(category) => category.as_str(),
            Selector::Severity(Level::Error) => "error",
            Selector::Severity(Level::Warning) => "warning",
            Selector::Severity(Level::Info) => "info",
            Selector::Severity(Level::Debug) => "debug",
        }
    }

    /// Parses a comma-separated list; empty items are ignored. On failure returns the
    /// offending item.
    pub fn parse_list<'a>(
        items: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<Selector>, String> {
        let mut selectors = Vec::new();
        for item in items.into_iter().flat_map(|s| s.split(',')) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            match Selector::parse(item) {
                Some(s) => selectors.push(s),
                None => return Err(item.to_string()),
            }
        }
        Ok(selectors)
    }

    /// A description of the accepted selectors, for error messages.
    pub fn accepted() -> String {
        let events: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
        let categories: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        format!(
            "a comma-separated list of event names ({}), categories ({}) or severities (error, warning, info, debug)",
            events.join(", "),
            categories.join(", ")
        )
    }

    /// Whether an event of `kind` matches this selector.
    pub fn matches(self, kind: EventKind) -> bool {
        self.matches_at(kind, kind.level())
    }

    /// Whether an event of `kind` written at `level` matches this selector.
    pub fn matches_at(self, kind: EventKind, level: Level) -> bool {
        match self {
            Selector::Event(k) => k == kind,
            Selector::Category(c) => kind.category() == c,
            Selector::Severity(l) => level >= l,
        }
    }
}

/// Every severity, lowest first.
const LEVELS: [Level; 4] = [Level::Debug, Level::Info, Level::Warning, Level::Error];

/// The set of event kinds that are written, as a bit mask; for `tool_event`, whose level
/// the tool chooses, also the set of levels that are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFilter {
    mask: u64,
    /// Bit `level as u8` set when a `tool_event` at that level is written.
    tool_event_levels: u8,
}

impl EventFilter {
    /// Builds the filter. With no selectors, the level decides (default `normal`). With
    /// selectors and an explicit level, an event must pass both. With selectors and no
    /// level set anywhere, the selectors alone decide, so `--telemetry-filter execution`
    /// shows execution events without also asking for `--telemetry-level verbose`.
    pub fn new(level: Option<LevelSetting>, selectors: &[Selector]) -> EventFilter {
        let admitted = |kind: EventKind, at: Level| {
            let by_level = level
                .unwrap_or(LevelSetting::Verbosity(Verbosity::Normal))
                .admits_at(kind, at);
            let by_selector = selectors.iter().any(|s| s.matches_at(kind, at));
            match (level.is_some(), selectors.is_empty()) {
                (_, true) => by_level,
                (true, false) => by_level && by_selector,
                (false, false) => by_selector,
            }
        };
        let mut mask = 0;
        for kind in EventKind::ALL {
            if admitted(kind, kind.level()) {
                mask |= kind.bit();
            }
        }
        let mut tool_event_levels = 0u8;
        for at in LEVELS {
            if admitted(EventKind::ToolEvent, at) {
                tool_event_levels |= 1 << (at as u8);
            }
        }
        if tool_event_levels != 0 {
            // `wants(ToolEvent)` answers whether one could pass at some level.
            mask |= EventKind::ToolEvent.bit();
        }
        EventFilter {
            mask,
            tool_event_levels,
        }
    }

    /// A filter that admits every event.
    pub fn all() -> EventFilter {
        EventFilter {
            mask: u64::MAX,
            tool_event_levels: u8::MAX,
        }
    }

    /// A filter that admits nothing.
    pub fn none() -> EventFilter {
        EventFilter {
            mask: 0,
            tool_event_levels: 0,
        }
    }

    /// The events admitted by either filter.
    pub fn union(self, other: EventFilter) -> EventFilter {
        EventFilter {
            mask: self.mask | other.mask,
            tool_event_levels: self.tool_event_levels | other.tool_event_levels,
        }
    }

    /// Whether no event is admitted.
    pub fn is_empty(self) -> bool {
        self.mask == 0
    }

    /// Whether events of `kind` are written (for `tool_event`: at some level).
    #[inline]
    pub fn allows(self, kind: EventKind) -> bool {
        self.mask & kind.bit() != 0
    }

    /// Whether `event` is written, its level included.
    #[inline]
    pub fn allows_event(self, event: &super::event::Event) -> bool {
        match event {
            super::event::Event::ToolEvent { level, .. } => {
                self.tool_event_levels & (1 << (*level as u8)) != 0
            }
            other => self.allows(other.kind()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(filter: EventFilter) -> Vec<&'static str> {
        EventKind::ALL
            .into_iter()
            .filter(|k| filter.allows(*k))
            .map(|k| k.name())
            .collect()
    }

    fn level(text: &str) -> Option<LevelSetting> {
        Some(LevelSetting::parse(text).unwrap())
    }

    #[test]
    fn default_is_normal() {
        let f = EventFilter::new(None, &[]);
        assert_eq!(f, EventFilter::new(level("normal"), &[]));
        assert!(f.allows(EventKind::NodeStarted));
        assert!(f.allows(EventKind::ProviderRetry));
        assert!(!f.allows(EventKind::TokenUsage));
        assert!(!f.allows(EventKind::InputReceived));
    }

    #[test]
    fn minimal_keeps_lifecycle_and_failures() {
        let got = admitted(EventFilter::new(level("minimal"), &[]));
        assert_eq!(
            got,
            vec![
                "workflow_started",
                "workflow_completed",
                "workflow_failed",
                "workflow_interrupted",
                "node_failed",
                "provider_retry",
                "agent_output_skipped",
                "agent_permission_denied",
                "telemetry_dropped",
                // A tool may report a WARNING or ERROR event; those pass every verbosity.
                "tool_event",
                "price_unknown",
                "otlp_export_failed",
                "hook_failed"
            ]
        );
    }

    #[test]
    fn verbosity_is_cumulative() {
        let sizes: Vec<usize> = ["minimal", "normal", "verbose", "debug"]
            .iter()
            .map(|l| admitted(EventFilter::new(level(l), &[])).len())
            .collect();
        assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
        assert_eq!(sizes[3], EventKind::ALL.len());
        let verbose = EventFilter::new(level("verbose"), &[]);
        assert!(verbose.allows(EventKind::TokenUsage));
        assert!(verbose.allows(EventKind::InputReceived));
        assert!(!verbose.allows(EventKind::TimingMetric));
    }

    #[test]
    fn warnings_and_errors_pass_every_verbosity() {
        for l in ["minimal", "normal", "verbose", "debug"] {
            let f = EventFilter::new(level(l), &[]);
            for kind in EventKind::ALL {
                if kind.level() >= Level::Warning {
                    assert!(f.allows(kind), "{l} {}", kind.name());
                }
            }
        }
    }

    #[test]
    fn original_severity_floors() {
        assert_eq!(level("info"), level("normal"));
        assert_eq!(level("INFO"), level("normal"));
        let errors = admitted(EventFilter::new(level("error"), &[]));
        assert_eq!(errors, vec!["workflow_failed", "node_failed", "tool_event"]);
        let warnings = EventFilter::new(level("warning"), &[]);
        assert!(warnings.allows(EventKind::ProviderRetry));
        assert!(warnings.allows(EventKind::NodeFailed));
        assert!(!warnings.allows(EventKind::NodeCompleted));
        assert!(LevelSetting::parse("loud").is_none());
    }

    #[test]
    fn selectors_by_name_category_and_severity() {
        let only = |s: &str| admitted(EventFilter::new(None, &Selector::parse_list([s]).unwrap()));
        assert_eq!(only("node_failed"), vec!["node_failed"]);
        assert_eq!(
            only("node"),
            vec![
                "node_started",
                "node_completed",
                "node_failed",
                "node_skipped"
            ]
        );
        assert_eq!(
            only("error"),
            vec!["workflow_failed", "node_failed", "tool_event"]
        );
        let warning = only("warning");
        assert!(warning.contains(&"provider_retry") && warning.contains(&"node_failed"));
        assert!(!warning.contains(&"node_completed"));
        // Selectors alone pull in events beyond the default verbosity.
        assert_eq!(
            only("execution"),
            vec![
                "input_received",
                "output_produced",
                "condition_evaluated",
                "tool_output",
                "prompt_rendered"
            ]
        );
        assert_eq!(only("custom"), vec!["tool_event"]);
    }

    #[test]
    fn tool_events_pass_or_not_by_the_level_the_tool_gave() {
        let tool_event = |level: Level| crate::telemetry::Event::ToolEvent {
            name: "x".into(),
            level,
            data: serde_json::Value::Null,
        };
        let minimal = EventFilter::new(level("minimal"), &[]);
        assert!(!minimal.allows_event(&tool_event(Level::Info)));
        assert!(minimal.allows_event(&tool_event(Level::Warning)));
        let normal = EventFilter::new(None, &[]);
        assert!(normal.allows_event(&tool_event(Level::Info)));
        assert!(normal.allows_event(&tool_event(Level::Debug)));
        let errors = EventFilter::new(None, &Selector::parse_list(["error"]).unwrap());
        assert!(errors.allows_event(&tool_event(Level::Error)));
        assert!(!errors.allows_event(&tool_event(Level::Warning)));
        let by_name = EventFilter::new(None, &Selector::parse_list(["tool_event"]).unwrap());
        assert!(by_name.allows_event(&tool_event(Level::Debug)));
        assert!(!by_name.allows(EventKind::ToolOutput));
    }

    #[test]
    fn selectors_are_a_union() {
        let sel = Selector::parse_list(["node_failed, agent ,workflow_started"]).unwrap();
        let got = admitted(EventFilter::new(None, &sel));
        assert_eq!(
            got,
            vec![
                "workflow_started",
                "node_failed",
                "agent_turn_started",
                "agent_turn_completed",
                "agent_tool_called",
                "agent_output_skipped",
                "agent_permission_denied",
                "agent_notice"
            ]
        );
    }

    #[test]
    fn explicit_level_and_selectors_intersect() {
        let sel = Selector::parse_list(["node", "resource"]).unwrap();
        let got = admitted(EventFilter::new(level("minimal"), &sel));
        assert_eq!(got, vec!["node_failed", "provider_retry", "price_unknown"]);
    }

    #[test]
    fn bad_selector_is_reported() {
        assert_eq!(
            Selector::parse_list(["node,nodez"]).unwrap_err(),
            "nodez".to_string()
        );
        assert!(Selector::accepted().contains("node_completed"));
        assert!(Selector::accepted().contains("lifecycle"));
    }
}
