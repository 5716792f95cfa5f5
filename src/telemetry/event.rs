//! The telemetry event catalogue: one typed variant per event of TELEMETRY.md, and the
//! order and spelling of each event's `data` fields on the wire.
//!
//! The envelope (timestamp, seq, run ids, node id) is added by the emitter; name, category,
//! level and verbosity come from [`EventKind`]. Optional fields marked
//! `?` in the catalogue are omitted when `None`; `WorkflowFailed.failed_node` is not
//! optional in the catalogue and is written as `null` when unknown.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::catalogue::{Category, EventKind, Level, Verbosity};
use super::fields::DataVisitor;
use crate::fields::FieldMap;
use crate::project::NodeKind;

/// A payload of named fields shared with the engine (the same type as
/// `crate::artifacts::SharedFields`).
pub type Fields = Arc<FieldMap>;

/// `value`'s fields as a shared payload (a value that is not an object becomes the single
/// field `value`); for callers that build a payload rather than share one.
pub fn fields(value: Value) -> Fields {
    match value {
        Value::Object(map) => FieldMap::new(map),
        other => FieldMap::new(Map::from_iter([("value".to_string(), other)])),
    }
}

/// Why a node did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    EdgeConditionFalse,
    BranchConditionFalse,
    TriggerConditionFalse,
    CachedFromCheckpoint,
}

impl SkipReason {
    /// The wire spelling (`edge_condition_false`...).
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::EdgeConditionFalse => "edge_condition_false",
            SkipReason::BranchConditionFalse => "branch_condition_false",
            SkipReason::TriggerConditionFalse => "trigger_condition_false",
            SkipReason::CachedFromCheckpoint => "cached_from_checkpoint",
        }
    }
}

/// Which kind of condition was evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionKind {
    Edge,
    Branch,
    Loop,
    Trigger,
}

impl ConditionKind {
    /// The wire spelling (`edge`, `branch`, `loop`, `trigger`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionKind::Edge => "edge",
            ConditionKind::Branch => "branch",
            ConditionKind::Loop => "loop",
            ConditionKind::Trigger => "trigger",
        }
    }
}

/// One telemetry event, without its envelope (timestamp, seq, run_id, node_id are added
/// by the emitter).
#[derive(Debug, Clone)]
pub enum Event {
    /// `workflow_started` {name, entrypoint, dry_run, trident_version, resumed_from?}.
    WorkflowStarted {
        name: String,
        entrypoint: String,
        dry_run: bool,
        resumed_from: Option<String>,
        /// 1 for a new run, 2, 3... for each `--resume` of it.
        attempt: u64,
    },
    /// `workflow_completed` {name, duration_ms, nodes{succeeded, skipped, failed, cached},
    /// input_tokens, output_tokens, cost_usd}.
    WorkflowCompleted {
        name: String,
        duration_ms: u64,
        succeeded: u64,
        skipped: u64,
        failed: u64,
        /// Nodes restored from the checkpoint by a resume (not counted as succeeded).
        cached: u64,
        input_tokens: u64,
        output_tokens: u64,
        cost_usd: f64,
    },
    /// `workflow_failed` {name, error, failed_node (null when unknown), duration_ms}.
    WorkflowFailed {
        name: String,
        error: String,
        failed_node: Option<String>,
        duration_ms: u64,
    },
    /// `workflow_interrupted` {name, signal, duration_ms}.
    WorkflowInterrupted {
        name: String,
        signal: String,
        duration_ms: u64,
    },
    /// `node_started` {type, temperature?, max_tokens?, description?}: a prompt node's
    /// request settings (its frontmatter or the manifest's `defaults:`), a tool node's
    /// description.
    NodeStarted {
        node_type: NodeKind,
        temperature: Option<f64>,
        max_tokens: Option<u64>,
        description: Option<String>,
    },
    /// `node_completed` {type, duration_ms, input_tokens, output_tokens, model?, cost_usd?,
    /// response_model?, finish_reason?, session_id?}: what the provider answered (the model
    /// that replied, why it stopped) and an agent's Claude session.
    NodeCompleted {
        node_type: NodeKind,
        duration_ms: u64,
        input_tokens: u64,
        output_tokens: u64,
        model: Option<String>,
        cost_usd: Option<f64>,
        response_model: Option<String>,
        finish_reason: Option<String>,
        session_id: Option<String>,
    },
    /// `node_failed` {type, error, error_type, duration_ms}.
    NodeFailed {
        node_type: NodeKind,
        error: String,
        error_type: String,
        duration_ms: u64,
    },
    /// `node_skipped` {reason, edge?}.
    NodeSkipped {
        reason: SkipReason,
        edge: Option<String>,
    },
    /// `input_received` {inputs}: the node's gathered inputs, shared with the engine.
    InputReceived { inputs: Fields },
    /// `output_produced` {outputs}: the node's output, shared with the engine.
    OutputProduced { outputs: Fields },
    /// `condition_evaluated` {kind, expression, result, edge_id?, error?}.
    ConditionEvaluated {
        kind: ConditionKind,
        expression: String,
        result: bool,
        edge_id: Option<String>,
        error: Option<String>,
    },
    /// `token_usage` {model, input_tokens, output_tokens, cache_read_input_tokens?,
    /// cache_creation_input_tokens?, cost_usd (null when the price is unknown)}.
    TokenUsage {
        model: String,
        input_tokens: u64,
        output_tokens: u64,
        cache_read_input_tokens: Option<u64>,
        cache_creation_input_tokens: Option<u64>,
        cost_usd: Option<f64>,
    },
    /// `cost_incurred` {cost_usd, total_cost_usd}.
    CostIncurred { cost_usd: f64, total_cost_usd: f64 },
    /// `timing_metric` {name, value}.
    TimingMetric { name: &'static str, value: f64 },
    /// `provider_retry` {provider, attempt, status?, error, delay_ms}.
    ProviderRetry {
        provider: String,
        attempt: u32,
        status: Option<u16>,
        error: String,
        delay_ms: u64,
    },
    /// `checkpoint_saved` {completed_nodes, pending_nodes, total_cost_usd, path}.
    CheckpointSaved {
        completed_nodes: usize,
        pending_nodes: usize,
        total_cost_usd: f64,
        path: String,
    },
    /// `artifact_saved` {kind, path, bytes}.
    ArtifactSaved {
        kind: &'static str,
        path: String,
        bytes: u64,
    },
    /// `signal_emitted` {signal_type, workflow, path}.
    SignalEmitted {
        signal_type: String,
        workflow: String,
        path: String,
    },
    /// `signal_received` {signal, path, waited_ms}.
    SignalReceived {
        signal: String,
        path: String,
        waited_ms: u64,
    },
    /// `branch_iteration` {iteration, max_iterations, continue}.
    BranchIteration {
        iteration: u64,
        max_iterations: u64,
        continues: bool,
    },
    /// `agent_turn_started` {turn_number, subagent?}; `subagent` is the id of the tool call
    /// that started the subagent whose turn this is (absent for the agent's own turns).
    AgentTurnStarted {
        turn_number: u64,
        subagent: Option<String>,
    },
    /// `agent_turn_completed` {turn_number, tool_calls, input_tokens?, output_tokens?,
    /// subagent?}.
    AgentTurnCompleted {
        turn_number: u64,
        tool_calls: u64,
        input_tokens: Option<u64>,
        output_tokens: Option<u64>,
        subagent: Option<String>,
    },
    /// `agent_tool_called` {tool_name, tool_input, subagent?}.
    AgentToolCalled {
        tool_name: String,
        tool_input: Value,
        subagent: Option<String>,
    },
    /// `agent_output_skipped` {line, error}: a malformed line of the agent CLI's stream.
    AgentOutputSkipped { line: String, error: String },
    /// `prompt_rendered` {model, prompt, chars}: a prompt node's rendered prompt.
    PromptRendered {
        model: String,
        /// Shared with the node's trace (`prompt` of trace.json).
        prompt: Arc<str>,
        chars: u64,
    },
    /// `price_unknown` {model}: a model without a price (its cost is `null`).
    PriceUnknown { model: String },
    /// `agent_permission_denied` {tool_name, tool_input?, reason?}: a tool call the Claude
    /// CLI refused (its permission mode or `allowed_tools` did not allow it).
    AgentPermissionDenied {
        tool_name: String,
        tool_input: Option<Value>,
        reason: Option<String>,
    },
    /// `agent_notice` {kind, detail}: a line of the Claude CLI's stream (or a field of its
    /// result) that is not reported otherwise: rate-limit events, status and task notices,
    /// the result's `terminal_reason`, durations and stop reason.
    AgentNotice { kind: String, detail: Value },
    /// `telemetry_dropped` {sink, count, reason}: events that could not be written.
    TelemetryDropped {
        sink: String,
        count: u64,
        reason: String,
    },
    /// `tool_event` {name, data}: an event a tool reported itself, at the level it gave.
    ToolEvent {
        name: String,
        level: Level,
        data: Value,
    },
    /// `tool_output` {line}: one line a tool printed, as it printed it.
    ToolOutput { line: String },
    /// `otlp_export_failed` {endpoint, error, dropped}: the OpenTelemetry export failed
    /// (reported once, at the end of the stream).
    OtlpExportFailed {
        endpoint: String,
        error: String,
        dropped: u64,
    },
    /// `hook_failed` {hook, error}: a `telemetry.hooks` hook failed, timed out or could not
    /// run; the run goes on.
    HookFailed { hook: String, error: String },
}

impl Event {
    /// `node_started` of a node of kind `node_type` with no request settings or description.
    pub fn node_started(node_type: NodeKind) -> Event {
        Event::NodeStarted {
            node_type,
            temperature: None,
            max_tokens: None,
            description: None,
        }
    }

    /// The kind of this event (what filters look at).
    pub fn kind(&self) -> EventKind {
        match self {
            Event::WorkflowStarted { .. } => EventKind::WorkflowStarted,
            Event::WorkflowCompleted { .. } => EventKind::WorkflowCompleted,
            Event::WorkflowFailed { .. } => EventKind::WorkflowFailed,
            Event::WorkflowInterrupted { .. } => EventKind::WorkflowInterrupted,
            Event::NodeStarted { .. } => EventKind::NodeStarted,
            Event::NodeCompleted { .. } => EventKind::NodeCompleted,
            Event::NodeFailed { .. } => EventKind::NodeFailed,
            Event::NodeSkipped { .. } => EventKind::NodeSkipped,
            Event::InputReceived { .. } => EventKind::InputReceived,
            Event::OutputProduced { .. } => EventKind::OutputProduced,
            Event::ConditionEvaluated { .. } => EventKind::ConditionEvaluated,
            Event::TokenUsage { .. } => EventKind::TokenUsage,
            Event::CostIncurred { .. } => EventKind::CostIncurred,
            Event::TimingMetric { .. } => EventKind::TimingMetric,
            Event::ProviderRetry { .. } => EventKind::ProviderRetry,
            Event::CheckpointSaved { .. } => EventKind::CheckpointSaved,
            Event::ArtifactSaved { .. } => EventKind::ArtifactSaved,
            Event::SignalEmitted { .. } => EventKind::SignalEmitted,
            Event::SignalReceived { .. } => EventKind::SignalReceived,
            Event::BranchIteration { .. } => EventKind::BranchIteration,
            Event::AgentTurnStarted { .. } => EventKind::AgentTurnStarted,
            Event::AgentTurnCompleted { .. } => EventKind::AgentTurnCompleted,
            Event::AgentToolCalled { .. } => EventKind::AgentToolCalled,
            Event::AgentOutputSkipped { .. } => EventKind::AgentOutputSkipped,
            Event::AgentPermissionDenied { .. } => EventKind::AgentPermissionDenied,
            Event::AgentNotice { .. } => EventKind::AgentNotice,
            Event::TelemetryDropped { .. } => EventKind::TelemetryDropped,
            Event::ToolEvent { .. } => EventKind::ToolEvent,
            Event::ToolOutput { .. } => EventKind::ToolOutput,
            Event::PromptRendered { .. } => EventKind::PromptRendered,
            Event::PriceUnknown { .. } => EventKind::PriceUnknown,
            Event::OtlpExportFailed { .. } => EventKind::OtlpExportFailed,
            Event::HookFailed { .. } => EventKind::HookFailed,
        }
    }

    /// The snake_case wire name.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The severity written in `level`: the catalogue's, or for a `tool_event` the tool's.
    pub fn level(&self) -> Level {
        match self {
            Event::ToolEvent { level, .. } => *level,
            other => other.kind().level(),
        }
    }

    /// The catalogue category.
    pub fn category(&self) -> Category {
        self.kind().category()
    }

    /// The lowest verbosity that writes this event.
    pub fn verbosity(&self) -> Verbosity {
        self.kind().verbosity()
    }

    /// The `data` object as written with redaction off and nothing truncated (for tests and
    /// for callers that want the documented shape without the stream).
    pub fn data(&self) -> Value {
        super::format::jsonl::plain_data(self)
    }

    /// Walks the `data` fields in their documented order.
    pub(crate) fn visit_data(&self, v: &mut impl DataVisitor) {
        match self {
            Event::WorkflowStarted {
                name,
                entrypoint,
                dry_run,
                resumed_from,
                attempt,
            } => {
                v.text("name", name);
                v.text("entrypoint", entrypoint);
                v.boolean("dry_run", *dry_run);
                v.label("trident_version", env!("CARGO_PKG_VERSION"));
                v.opt_text("resumed_from", resumed_from.as_deref());
                v.uint("attempt", *attempt);
            }
            Event::WorkflowCompleted {
                name,
                duration_ms,
                succeeded,
                skipped,
                failed,
                cached,
                input_tokens,
                output_tokens,
                cost_usd,
            } => {
                v.text("name", name);
                v.uint("duration_ms", *duration_ms);
                v.begin_object("nodes");
                v.uint("succeeded", *succeeded);
                v.uint("skipped", *skipped);
                v.uint("failed", *failed);
                v.uint("cached", *cached);
                v.end_object();
                v.uint("input_tokens", *input_tokens);
                v.uint("output_tokens", *output_tokens);
                v.float("cost_usd", *cost_usd);
            }
            Event::WorkflowFailed {
                name,
                error,
                failed_node,
                duration_ms,
            } => {
                v.text("name", name);
                v.text("error", error);
                match failed_node {
                    Some(node) => v.text("failed_node", node),
                    None => v.null("failed_node"),
                }
                v.uint("duration_ms", *duration_ms);
            }
            Event::WorkflowInterrupted {
                name,
                signal,
                duration_ms,
            } => {
                v.text("name", name);
                v.label("signal", signal);
                v.uint("duration_ms", *duration_ms);
            }
            Event::NodeStarted {
                node_type,
                temperature,
                max_tokens,
                description,
            } => {
                v.label("type", node_type.as_str());
                v.opt_float("temperature", *temperature);
                v.opt_uint("max_tokens", *max_tokens);
                v.opt_text("description", description.as_deref());
            }
            Event::NodeCompleted {
                node_type,
                duration_ms,
                input_tokens,
                output_tokens,
                model,
                cost_usd,
                response_model,
                finish_reason,
                session_id,
            } => {
                v.label("type", node_type.as_str());
                v.uint("duration_ms", *duration_ms);
                v.uint("input_tokens", *input_tokens);
                v.uint("output_tokens", *output_tokens);
                v.opt_text("model", model.as_deref());
                // A prompt node always says what it cost: null when its price is unknown.
                match (node_type, cost_usd) {
                    (NodeKind::Prompt, None) => v.null("cost_usd"),
                    _ => v.opt_float("cost_usd", *cost_usd),
                }
                v.opt_text("response_model", response_model.as_deref());
                v.opt_text("finish_reason", finish_reason.as_deref());
                v.opt_text("session_id", session_id.as_deref());
            }
            Event::NodeFailed {
                node_type,
                error,
                error_type,
                duration_ms,
            } => {
                v.label("type", node_type.as_str());
                v.text("error", error);
                v.label("error_type", error_type);
                v.uint("duration_ms", *duration_ms);
            }
            Event::NodeSkipped { reason, edge } => {
                v.label("reason", reason.as_str());
                v.opt_text("edge", edge.as_deref());
            }
            Event::InputReceived { inputs } => v.fields("inputs", inputs),
            Event::OutputProduced { outputs } => v.fields("outputs", outputs),
            Event::ConditionEvaluated {
                kind,
                expression,
                result,
                edge_id,
                error,
            } => {
                v.label("kind", kind.as_str());
                v.text("expression", expression);
                v.boolean("result", *result);
                v.opt_text("edge_id", edge_id.as_deref());
                v.opt_text("error", error.as_deref());
            }
            Event::TokenUsage {
                model,
                input_tokens,
                output_tokens,
                cache_read_input_tokens,
                cache_creation_input_tokens,
                cost_usd,
            } => {
                v.text("model", model);
                v.uint("input_tokens", *input_tokens);
                v.uint("output_tokens", *output_tokens);
                v.opt_uint("cache_read_input_tokens", *cache_read_input_tokens);
                v.opt_uint("cache_creation_input_tokens", *cache_creation_input_tokens);
                match cost_usd {
                    Some(cost) => v.float("cost_usd", *cost),
                    None => v.null("cost_usd"),
                }
            }
            Event::CostIncurred {
                cost_usd,
                total_cost_usd,
            } => {
                v.float("cost_usd", *cost_usd);
                v.float("total_cost_usd", *total_cost_usd);
            }
            Event::TimingMetric { name, value } => {
                v.label("name", name);
                v.float("value", *value);
            }
            Event::ProviderRetry {
                provider,
                attempt,
                status,
                error,
                delay_ms,
            } => {
                v.label("provider", provider);
                v.uint("attempt", u64::from(*attempt));
                v.opt_uint("status", status.map(u64::from));
                v.text("error", error);
                v.uint("delay_ms", *delay_ms);
            }
            Event::CheckpointSaved {
                completed_nodes,
                pending_nodes,
                total_cost_usd,
                path,
            } => {
                v.uint("completed_nodes", *completed_nodes as u64);
                v.uint("pending_nodes", *pending_nodes as u64);
                v.float("total_cost_usd", *total_cost_usd);
                v.text("path", path);
            }
            Event::ArtifactSaved { kind, path, bytes } => {
                v.label("kind", kind);
                v.text("path", path);
                v.uint("bytes", *bytes);
            }
            Event::SignalEmitted {
                signal_type,
                workflow,
                path,
            } => {
                v.text("signal_type", signal_type);
                v.text("workflow", workflow);
                v.text("path", path);
            }
            Event::SignalReceived {
                signal,
                path,
                waited_ms,
            } => {
                v.text("signal", signal);
                v.text("path", path);
                v.uint("waited_ms", *waited_ms);
            }
            Event::BranchIteration {
                iteration,
                max_iterations,
                continues,
            } => {
                v.uint("iteration", *iteration);
                v.uint("max_iterations", *max_iterations);
                v.boolean("continue", *continues);
            }
            Event::AgentTurnStarted {
                turn_number,
                subagent,
            } => {
                v.uint("turn_number", *turn_number);
                v.opt_text("subagent", subagent.as_deref());
            }
            Event::AgentTurnCompleted {
                turn_number,
                tool_calls,
                input_tokens,
                output_tokens,
                subagent,
            } => {
                v.uint("turn_number", *turn_number);
                v.uint("tool_calls", *tool_calls);
                v.opt_uint("input_tokens", *input_tokens);
                v.opt_uint("output_tokens", *output_tokens);
                v.opt_text("subagent", subagent.as_deref());
            }
            Event::AgentToolCalled {
                tool_name,
                tool_input,
                subagent,
            } => {
                v.text("tool_name", tool_name);
                v.payload("tool_input", tool_input);
                v.opt_text("subagent", subagent.as_deref());
            }
            Event::AgentOutputSkipped { line, error } => {
                v.text("line", line);
                v.text("error", error);
            }
            Event::PromptRendered {
                model,
                prompt,
                chars,
            } => {
                v.text("model", model);
                v.text("prompt", prompt);
                v.uint("chars", *chars);
            }
            Event::PriceUnknown { model } => v.text("model", model),
            Event::AgentPermissionDenied {
                tool_name,
                tool_input,
                reason,
            } => {
                v.text("tool_name", tool_name);
                if let Some(input) = tool_input {
                    v.payload("tool_input", input);
                }
                v.opt_text("reason", reason.as_deref());
            }
            Event::AgentNotice { kind, detail } => {
                v.text("kind", kind);
                v.payload("detail", detail);
            }
            Event::TelemetryDropped {
                sink,
                count,
                reason,
            } => {
                v.text("sink", sink);
                v.uint("count", *count);
                v.text("reason", reason);
            }
            Event::ToolEvent { name, data, .. } => {
                v.text("name", name);
                v.payload("data", data);
            }
            Event::ToolOutput { line } => v.text("line", line),
            Event::OtlpExportFailed {
                endpoint,
                error,
                dropped,
            } => {
                v.text("endpoint", endpoint);
                v.text("error", error);
                v.uint("dropped", *dropped);
            }
            Event::HookFailed { hook, error } => {
                v.text("hook", hook);
                v.text("error", error);
            }
        }
    }
}
