//! The event catalogue of TELEMETRY.md as data: every event kind with its wire name,
//! category, severity and verbosity, and the small enums that describe them.
//!
//! Filters, the emitter and the formats all read this one table, so adding an event is
//! one variant in `Event`, one in [`EventKind`] and one row in `EventKind::row`.

/// Severity of an event (`level` in the envelope).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
}

impl Level {
    /// The wire spelling: `DEBUG`, `INFO`, `WARNING`, `ERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

/// The group an event belongs to (usable as a `--telemetry-filter` selector).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Lifecycle,
    Node,
    Execution,
    Resource,
    State,
    Agent,
    Telemetry,
    /// Events a tool reports itself (`tool_event`).
    Custom,
}

impl Category {
    /// Every category, in catalogue order.
    pub const ALL: [Category; 8] = [
        Category::Lifecycle,
        Category::Node,
        Category::Execution,
        Category::Resource,
        Category::State,
        Category::Agent,
        Category::Telemetry,
        Category::Custom,
    ];

    /// The selector spelling (`lifecycle`, `node`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Lifecycle => "lifecycle",
            Category::Node => "node",
            Category::Execution => "execution",
            Category::Resource => "resource",
            Category::State => "state",
            Category::Agent => "agent",
            Category::Telemetry => "telemetry",
            Category::Custom => "custom",
        }
    }

    /// The category spelled `name`, if any.
    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// How much an operator asked to see; cumulative (`minimal` < `normal` < `verbose` < `debug`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Verbosity {
    Minimal,
    #[default]
    Normal,
    Verbose,
    Debug,
}

impl Verbosity {
    /// The setting's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Verbosity::Minimal => "minimal",
            Verbosity::Normal => "normal",
            Verbosity::Verbose => "verbose",
            Verbosity::Debug => "debug",
        }
    }
}

/// The kind of an event, without its data: what filters and `RunTelemetry::wants` look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EventKind {
    WorkflowStarted,
    WorkflowCompleted,
    WorkflowFailed,
    WorkflowInterrupted,
    NodeStarted,
    NodeCompleted,
    NodeFailed,
    NodeSkipped,
    InputReceived,
    OutputProduced,
    ConditionEvaluated,
    TokenUsage,
    CostIncurred,
    TimingMetric,
    ProviderRetry,
    CheckpointSaved,
    ArtifactSaved,
    SignalEmitted,
    SignalReceived,
    BranchIteration,
    AgentTurnStarted,
    AgentTurnCompleted,
    AgentToolCalled,
    AgentOutputSkipped,
    AgentPermissionDenied,
    AgentNotice,
    TelemetryDropped,
    ToolEvent,
    ToolOutput,
    PromptRendered,
    PriceUnknown,
    OtlpExportFailed,
    HookFailed,
}

/// One row of the catalogue.
struct Row {
    name: &'static str,
    category: Category,
    level: Level,
    verbosity: Verbosity,
}

const fn row(name: &'static str, category: Category, level: Level, verbosity: Verbosity) -> Row {
    Row {
        name,
        category,
        level,
        verbosity,
    }
}

impl EventKind {
    /// Every event kind, in catalogue order.
    pub const ALL: [EventKind; 33] = [
        EventKind::WorkflowStarted,
        EventKind::WorkflowCompleted,
        EventKind::WorkflowFailed,
        EventKind::WorkflowInterrupted,
        EventKind::NodeStarted,
        EventKind::NodeCompleted,
        EventKind::NodeFailed,
        EventKind::NodeSkipped,
        EventKind::InputReceived,
        EventKind::OutputProduced,
        EventKind::ConditionEvaluated,
        EventKind::TokenUsage,
        EventKind::CostIncurred,
        EventKind::TimingMetric,
        EventKind::ProviderRetry,
        EventKind::CheckpointSaved,
        EventKind::ArtifactSaved,
        EventKind::SignalEmitted,
        EventKind::SignalReceived,
        EventKind::BranchIteration,
        EventKind::AgentTurnStarted,
        EventKind::AgentTurnCompleted,
        EventKind::AgentToolCalled,
        EventKind::AgentOutputSkipped,
        EventKind::AgentPermissionDenied,
        EventKind::AgentNotice,
        EventKind::TelemetryDropped,
        EventKind::ToolEvent,
        EventKind::ToolOutput,
        EventKind::PromptRendered,
        EventKind::PriceUnknown,
        EventKind::OtlpExportFailed,
        EventKind::HookFailed,
    ];

    const fn row(self) -> Row {
        use Category as C;
        use Level as L;
        use Verbosity as V;
        match self {
            EventKind::WorkflowStarted => {
                row("workflow_started", C::Lifecycle, L::Info, V::Minimal)
            }
            EventKind::WorkflowCompleted => {
                row("workflow_completed", C::Lifecycle, L::Info, V::Minimal)
            }
            EventKind::WorkflowFailed => row("workflow_failed", C::Lifecycle, L::Error, V::Minimal),
            EventKind::WorkflowInterrupted => {
                row("workflow_interrupted", C::Lifecycle, L::Warning, V::Minimal)
            }
            EventKind::NodeStarted => row("node_started", C::Node, L::Info, V::Normal),
            EventKind::NodeCompleted => row("node_completed", C::Node, L::Info, V::Normal),
            EventKind::NodeFailed => row("node_failed", C::Node, L::Error, V::Minimal),
            EventKind::NodeSkipped => row("node_skipped", C::Node, L::Info, V::Normal),
            EventKind::InputReceived => row("input_received", C::Execution, L::Debug, V::Verbose),
            EventKind::OutputProduced => row("output_produced", C::Execution, L::Debug, V::Verbose),
            EventKind::ConditionEvaluated => {
                row("condition_evaluated", C::Execution, L::Debug, V::Verbose)
            }
            EventKind::TokenUsage => row("token_usage", C::Resource, L::Info, V::Verbose),
            EventKind::CostIncurred => row("cost_incurred", C::Resource, L::Info, V::Verbose),
            EventKind::TimingMetric => row("timing_metric", C::Resource, L::Debug, V::Debug),
            EventKind::ProviderRetry => row("provider_retry", C::Resource, L::Warning, V::Normal),
            EventKind::CheckpointSaved => row("checkpoint_saved", C::State, L::Info, V::Normal),
            EventKind::ArtifactSaved => row("artifact_saved", C::State, L::Debug, V::Verbose),
            EventKind::SignalEmitted => row("signal_emitted", C::State, L::Info, V::Normal),
            EventKind::SignalReceived => row("signal_received", C::State, L::Info, V::Normal),
            EventKind::BranchIteration => row("branch_iteration", C::State, L::Info, V::Normal),
            EventKind::AgentTurnStarted => row("agent_turn_started", C::Agent, L::Info, V::Normal),
            EventKind::AgentTurnCompleted => {
                row("agent_turn_completed", C::Agent, L::Info, V::Normal)
            }
            EventKind::AgentToolCalled => row("agent_tool_called", C::Agent, L::Info, V::Normal),
            EventKind::AgentOutputSkipped => {
                row("agent_output_skipped", C::Agent, L::Warning, V::Normal)
            }
            EventKind::AgentPermissionDenied => {
                row("agent_permission_denied", C::Agent, L::Warning, V::Normal)
            }
            EventKind::AgentNotice => row("agent_notice", C::Agent, L::Debug, V::Verbose),
            EventKind::TelemetryDropped => {
                row("telemetry_dropped", C::Telemetry, L::Warning, V::Minimal)
            }
            // INFO unless the tool gives another level (see `Event::level`).
            EventKind::ToolEvent => row("tool_event", C::Custom, L::Info, V::Normal),
            EventKind::ToolOutput => row("tool_output", C::Execution, L::Debug, V::Debug),
            EventKind::PromptRendered => row("prompt_rendered", C::Execution, L::Debug, V::Verbose),
            EventKind::PriceUnknown => row("price_unknown", C::Resource, L::Warning, V::Normal),
            EventKind::OtlpExportFailed => {
                row("otlp_export_failed", C::Telemetry, L::Warning, V::Normal)
            }
            EventKind::HookFailed => row("hook_failed", C::Telemetry, L::Warning, V::Normal),
        }
    }

    /// The snake_case wire name (`node_completed`).
    pub const fn name(self) -> &'static str {
        self.row().name
    }

    /// The category of the catalogue.
    pub const fn category(self) -> Category {
        self.row().category
    }

    /// The severity written in `level` (a `tool_event` may carry another one: the tool's).
    pub const fn level(self) -> Level {
        self.row().level
    }

    /// The lowest verbosity at which the event is written (WARNING and ERROR events pass
    /// every verbosity whatever this says).
    pub const fn verbosity(self) -> Verbosity {
        self.row().verbosity
    }

    /// The kind named `name` (wire spelling), if any.
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// This kind's bit in an event mask (see `filter::EventFilter`).
    pub(crate) const fn bit(self) -> u64 {
        1u64 << (self as u8)
    }

    /// This kind's position (0..64), for per-kind counters.
    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
        }
        let mut names: Vec<_> = EventKind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventKind::ALL.len());
    }

    #[test]
    fn catalogue_table_matches_the_contract() {
        // (event, category, level, verbosity) straight from TELEMETRY.md.
        let table = [
            ("workflow_started", "lifecycle", "INFO", "minimal"),
            ("workflow_completed", "lifecycle", "INFO", "minimal"),
            ("workflow_failed", "lifecycle", "ERROR", "minimal"),
            ("workflow_interrupted", "lifecycle", "WARNING", "minimal"),
            ("node_started", "node", "INFO", "normal"),
            ("node_completed", "node", "INFO", "normal"),
            ("node_failed", "node", "ERROR", "minimal"),
            ("node_skipped", "node", "INFO", "normal"),
            ("input_received", "execution", "DEBUG", "verbose"),
            ("output_produced", "execution", "DEBUG", "verbose"),
            ("condition_evaluated", "execution", "DEBUG", "verbose"),
            ("token_usage", "resource", "INFO", "verbose"),
            ("cost_incurred", "resource", "INFO", "verbose"),
            ("timing_metric", "resource", "DEBUG", "debug"),
            ("provider_retry", "resource", "WARNING", "normal"),
            ("checkpoint_saved", "state", "INFO", "normal"),
            ("artifact_saved", "state", "DEBUG", "verbose"),
            ("signal_emitted", "state", "INFO", "normal"),
            ("signal_received", "state", "INFO", "normal"),
            ("branch_iteration", "state", "INFO", "normal"),
            ("agent_turn_started", "agent", "INFO", "normal"),
            ("agent_turn_completed", "agent", "INFO", "normal"),
            ("agent_tool_called", "agent", "INFO", "normal"),
            ("agent_output_skipped", "agent", "WARNING", "normal"),
            ("agent_permission_denied", "agent", "WARNING", "normal"),
            ("agent_notice", "agent", "DEBUG", "verbose"),
            ("telemetry_dropped", "telemetry", "WARNING", "minimal"),
            ("tool_event", "custom", "INFO", "normal"),
            ("tool_output", "execution", "DEBUG", "debug"),
            ("prompt_rendered", "execution", "DEBUG", "verbose"),
            ("price_unknown", "resource", "WARNING", "normal"),
            ("otlp_export_failed", "telemetry", "WARNING", "normal"),
            ("hook_failed", "telemetry", "WARNING", "normal"),
        ];
        assert_eq!(table.len(), EventKind::ALL.len());
        for (name, category, level, verbosity) in table {
            let kind = EventKind::from_name(name).expect(name);
            assert_eq!(kind.category().as_str(), category, "{name}");
            assert_eq!(kind.level().as_str(), level, "{name}");
            assert_eq!(kind.verbosity().as_str(), verbosity, "{name}");
        }
    }

    #[test]
    fn kinds_fit_in_a_64_bit_mask() {
        assert!(EventKind::ALL.len() <= 64);
        let all = EventKind::ALL.iter().fold(0u64, |m, k| m | k.bit());
        assert_eq!(all.count_ones() as usize, EventKind::ALL.len());
    }
}
