//! The telemetry event catalogue: one typed variant per event of TELEMETRY.md.
//!
//! (Contract stub written by the runtime; the telemetry work fills in serialisation,
//! levels, categories and verbosity.)

use serde_json::Value;

use crate::project::NodeKind;

/// Why a node did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    EdgeConditionFalse,
    BranchConditionFalse,
    TriggerConditionFalse,
    CachedFromCheckpoint,
}

/// Which kind of condition was evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionKind {
    Edge,
    Branch,
    Loop,
    Trigger,
}

/// One telemetry event, without its envelope (timestamp, seq, run_id, node_id are added
/// by the emitter).
#[derive(Debug, Clone)]
pub enum Event {
    WorkflowStarted {
        name: String,
        entrypoint: String,
        dry_run: bool,
        resumed_from: Option<String>,
    },
    WorkflowCompleted {
        name: String,
        duration_ms: u64,
        succeeded: u64,
        skipped: u64,
        failed: u64,
        input_tokens: u64,
        output_tokens: u64,
        cost_usd: f64,
    },
    WorkflowFailed {
        name: String,
        error: String,
        failed_node: Option<String>,
        duration_ms: u64,
    },
    WorkflowInterrupted {
        name: String,
        signal: String,
        duration_ms: u64,
    },
    NodeStarted {
        node_type: NodeKind,
    },
    NodeCompleted {
        node_type: NodeKind,
        duration_ms: u64,
        input_tokens: u64,
        output_tokens: u64,
        model: Option<String>,
        cost_usd: Option<f64>,
    },
    NodeFailed {
        node_type: NodeKind,
        error: String,
        error_type: String,
        duration_ms: u64,
    },
    NodeSkipped {
        reason: SkipReason,
        edge: Option<String>,
    },
    InputReceived {
        inputs: Value,
    },
    OutputProduced {
        outputs: Value,
    },
    ConditionEvaluated {
        kind: ConditionKind,
        expression: String,
        result: bool,
        edge_id: Option<String>,
        error: Option<String>,
    },
    TokenUsage {
        model: String,
        input_tokens: u64,
        output_tokens: u64,
    },
    CostIncurred {
        cost_usd: f64,
        total_cost_usd: f64,
    },
    TimingMetric {
        name: &'static str,
        value: f64,
    },
    ProviderRetry {
        provider: String,
        attempt: u32,
        status: Option<u16>,
        error: String,
        delay_ms: u64,
    },
    CheckpointSaved {
        completed_nodes: usize,
        pending_nodes: usize,
        total_cost_usd: f64,
        path: String,
    },
    ArtifactSaved {
        kind: &'static str,
        path: String,
        bytes: u64,
    },
    SignalEmitted {
        signal_type: String,
        workflow: String,
        path: String,
    },
    SignalReceived {
        signal: String,
        path: String,
        waited_ms: u64,
    },
    BranchIteration {
        iteration: u64,
        max_iterations: u64,
        continues: bool,
    },
    AgentTurnStarted {
        turn_number: u64,
    },
    AgentTurnCompleted {
        turn_number: u64,
        tool_calls: u64,
        input_tokens: Option<u64>,
        output_tokens: Option<u64>,
    },
    AgentToolCalled {
        tool_name: String,
        tool_input: Value,
    },
    AgentOutputSkipped {
        line: String,
        error: String,
    },
    TelemetryDropped {
        sink: String,
        count: u64,
        reason: String,
    },
}
