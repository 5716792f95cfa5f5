//! Builds a run's OpenTelemetry spans and log records from its stream events, read typed as
//! the writer hands them (the same events, seq and time stamps the lines carry).
//!
//! Spans are opened and closed by the lifecycle events (`workflow_*`, `node_*`,
//! `agent_turn_*`, `agent_tool_called`), filled with attributes by the resource events
//! (`token_usage`, `cost_incurred`) and given span events by retries, checkpoints, branch
//! iterations and signals. Ids come from [`trace_context`](crate::telemetry::trace_context),
//! so they match the `TRACEPARENT` the engine hands to tools, agent CLIs and triggered runs.
//! A span is emitted when it ends; spans still open when the stream ends are closed at the
//! last event's time and marked `trident.span.unfinished`.

use std::collections::HashMap;

use opentelemetry_proto::tonic::trace::v1::SpanFlags;
use opentelemetry_proto::tonic::trace::v1::span::{Event as SpanEvent, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use super::attributes::{Attr, AttributeSink, data_attributes};
use super::proto::kv;
use super::semconv as sc;
use super::wire::{LogFields, SpanFields, SpanValue, put_log_record, put_span};
use crate::project::NodeKind;
use crate::telemetry::catalogue::Level;
use crate::telemetry::event::Event;
use crate::telemetry::format::Envelope;
use crate::telemetry::policy::PayloadPolicy;
use crate::telemetry::trace_context::{
    SpanPart, TraceParent, attempt_of, derived_trace_id, span_id,
};

/// The trace a run's spans belong to, decided at its first event.
#[derive(Debug, Clone)]
struct RunTrace {
    trace_id: [u8; 16],
    flags: u8,
    state: Option<String>,
    /// The top-level run's attempt (part of later attempts' span ids).
    attempt: u64,
}

/// OTLP span flags: the W3C trace flags, and whether the parent is remote (known).
fn span_flags(trace_flags: u8, parent_remote: bool) -> u32 {
    let mut flags = u32::from(trace_flags) | SpanFlags::ContextHasIsRemoteMask as u32;
    if parent_remote {
        flags |= SpanFlags::ContextIsRemoteMask as u32;
    }
    flags
}

struct OpenSpan {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent: Option<[u8; 8]>,
    parent_remote: bool,
    trace_state: Option<String>,
    flags: u8,
    name: String,
    kind: SpanKind,
    /// Nanoseconds since the Unix epoch.
    start: u64,
    attributes: Vec<(&'static str, SpanValue)>,
    events: Vec<SpanEvent>,
    links: Vec<Link>,
    status: StatusCode,
    message: String,
}

impl OpenSpan {
    fn set(&mut self, key: &'static str, value: impl Into<SpanValue>) {
        let value = value.into();
        match self.attributes.iter_mut().find(|(k, _)| *k == key) {
            Some(attribute) => attribute.1 = value,
            None => self.attributes.push((key, value)),
        }
    }

    fn fail(&mut self, message: String, error_type: &str) {
        self.status = StatusCode::Error;
        self.message = message;
        self.set(sc::ERROR_TYPE, error_type.to_string());
    }

    /// Appends this span, ended at `end`, to `out` (`wire::put_span`).
    fn write(&self, end: u64, out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
        let fields = SpanFields {
            trace_id: &self.trace_id,
            span_id: &self.span_id,
            trace_state: self.trace_state.as_deref().unwrap_or_default(),
            parent_span_id: self.parent.as_ref(),
            flags: span_flags(self.flags, self.parent_remote),
            name: &self.name,
            kind: self.kind as i32,
            start: self.start,
            end: end.max(self.start),
            attributes: &self.attributes,
            events: &self.events,
            links: &self.links,
            status_code: self.status as i32,
            status_message: &self.message,
        };
        put_span(out, scratch, &fields);
    }
}

/// What a node span knows besides its [`OpenSpan`].
struct NodeSpan {
    span: OpenSpan,
    node_id: String,
    node_type: NodeKind,
    model: Option<String>,
    tool_calls: u64,
    open_tool: Option<OpenSpan>,
    open_turn: Option<OpenSpan>,
    /// Agent turns that ended, kept until the node ends and its model is known, each with
    /// its end time.
    ended_turns: Vec<(OpenSpan, u64)>,
}

struct RunSpan {
    span: OpenSpan,
    failed_error_type: Option<String>,
}

/// Turns stream events into spans and log records.
pub struct SpanTree {
    parent: Option<TraceParent>,
    traces: HashMap<String, RunTrace>,
    runs: HashMap<String, RunSpan>,
    /// Open node spans by run id, then node id.
    nodes: HashMap<String, HashMap<String, NodeSpan>>,
    last_time: u64,
    /// Spans finished since the last [`SpanTree::take`], encoded, and how many.
    finished: Vec<u8>,
    finished_count: u64,
    /// Reused while a log record is written.
    scratch: Vec<u8>,
}

/// The time of an event, in nanoseconds since the Unix epoch.
fn time_of(event: &Envelope<'_>) -> u64 {
    event.unix_millis.saturating_mul(1_000_000)
}

/// OTLP severity number and text of a level.
fn severity(level: Level) -> (i32, &'static str) {
    match level {
        Level::Debug => (5, "DEBUG"),
        Level::Info => (9, "INFO"),
        Level::Warning => (13, "WARNING"),
        Level::Error => (17, "ERROR"),
    }
}

impl SpanTree {
    /// A tree whose root runs continue `parent` (the incoming `TRACEPARENT`), if any.
    pub fn new(parent: Option<TraceParent>) -> SpanTree {
        SpanTree {
            parent,
            traces: HashMap::new(),
            runs: HashMap::new(),
            nodes: HashMap::new(),
            last_time: 0,
            finished: Vec::new(),
            finished_count: 0,
            scratch: Vec::new(),
        }
    }

    /// The spans finished so far, encoded (`wire::put_span`), and how many (and forgets
    /// them).
    pub fn take(&mut self) -> (Vec<u8>, u64) {
        let count = std::mem::take(&mut self.finished_count);
        (std::mem::take(&mut self.finished), count)
    }

    /// Appends the log record of `event` (correlated to its node's span, else its run's),
    /// encoded (`wire::put_log_record`), to `out`; its data redacted and truncated by
    /// `policy`.
    pub fn log_record(&mut self, event: &Envelope<'_>, policy: &PayloadPolicy, out: &mut Vec<u8>) {
        let run = self.trace_of(event);
        let part = match event.node_id {
            Some(node) => SpanPart::Node(node),
            None => SpanPart::Run,
        };
        let (severity_number, severity_text) = severity(event.event.level());
        let fields = LogFields {
            time: time_of(event),
            severity_number,
            severity_text,
            body: event.event.name(),
            trace_id: &run.trace_id,
            span_id: &span_id(&run.trace_id, &event.scope.run_id, run.attempt, part),
            flags: u32::from(run.flags),
        };
        put_log_record(out, &mut self.scratch, &fields, |attributes| {
            attributes.attr("trident.event", Attr::Str(event.event.name()));
            attributes.attr("trident.seq", Attr::Int(event.seq as i64));
            attributes.attr(sc::RUN_ID, Attr::Str(&event.scope.run_id));
            if let Some(v) = &event.scope.parent_run_id {
                attributes.attr(sc::PARENT_RUN_ID, Attr::Str(v));
            }
            if let Some(v) = &event.scope.parent_node_id {
                attributes.attr("trident.parent_node_id", Attr::Str(v));
            }
            if let Some(v) = event.node_id {
                attributes.attr(sc::NODE_ID, Attr::Str(v));
            }
            data_attributes(event.event, policy, attributes);
        });
    }

    /// The trace of `event`'s run (decided at its `workflow_started`; a sub-workflow shares
    /// its parent run's).
    fn trace_of(&mut self, event: &Envelope<'_>) -> RunTrace {
        let run_id = &event.scope.run_id;
        if let Some(t) = self.traces.get(run_id) {
            return t.clone();
        }
        let inherited = event
            .scope
            .parent_run_id
            .as_ref()
            .and_then(|p| self.traces.get(p));
        let attempt = match event.event {
            Event::WorkflowStarted {
                resumed_from,
                attempt,
                ..
            } => attempt_of(resumed_from.is_some(), Some(*attempt)),
            _ => attempt_of(false, None),
        };
        let t = match (inherited, &self.parent) {
            (Some(t), _) => t.clone(),
            (None, Some(p)) => RunTrace {
                trace_id: p.trace_id,
                flags: p.flags,
                state: p.state.clone(),
                attempt,
            },
            (None, None) => RunTrace {
                trace_id: derived_trace_id(run_id, attempt),
                flags: 1,
                state: None,
                attempt,
            },
        };
        self.traces.insert(run_id.clone(), t.clone());
        t
    }

    fn open(&mut self, event: &Envelope<'_>, part: SpanPart<'_>, parent: [u8; 8]) -> OpenSpan {
        let run = self.trace_of(event);
        OpenSpan {
            trace_id: run.trace_id,
            span_id: span_id(&run.trace_id, &event.scope.run_id, run.attempt, part),
            parent: Some(parent),
            parent_remote: false,
            trace_state: run.state,
            flags: run.flags,
            name: String::new(),
            kind: SpanKind::Internal,
            start: time_of(event),
            attributes: Vec::with_capacity(12),
            events: Vec::new(),
            links: Vec::new(),
            status: StatusCode::Unset,
            message: String::new(),
        }
    }

    fn finish(&mut self, span: OpenSpan, end: u64) {
        span.write(end, &mut self.finished, &mut self.scratch);
        self.finished_count += 1;
    }

    /// Takes in one event; free text copied from it gets `policy` (redaction, truncation).
    pub fn record(&mut self, event: &Envelope<'_>, policy: &PayloadPolicy) {
        let time = time_of(event);
        self.last_time = self.last_time.max(time);
        match event.event {
            Event::WorkflowStarted { .. } => self.workflow_started(event, policy),
            Event::WorkflowCompleted { .. }
            | Event::WorkflowFailed { .. }
            | Event::WorkflowInterrupted { .. } => self.workflow_ended(event, policy),
            Event::NodeStarted { .. } => self.node_started(event, policy),
            Event::NodeCompleted { .. } | Event::NodeFailed { .. } => {
                self.node_ended(event, policy)
            }
            Event::NodeSkipped { reason, .. } => self.node_skipped(event, reason.as_str()),
            Event::TokenUsage {
                model,
                input_tokens,
                output_tokens,
                cache_read_input_tokens,
                ..
            } => {
                let Some(node) = self.node_mut(event) else {
                    return;
                };
                if node.model.is_none() {
                    node.model = Some(policy.text(model).into_owned());
                }
                node.span.set(sc::USAGE_INPUT_TOKENS, *input_tokens as i64);
                node.span
                    .set(sc::USAGE_OUTPUT_TOKENS, *output_tokens as i64);
                if let Some(n) = cache_read_input_tokens {
                    node.span.set(sc::USAGE_CACHE_READ_INPUT_TOKENS, *n as i64);
                }
            }
            Event::CostIncurred { cost_usd, .. } => {
                if let Some(node) = self.node_mut(event) {
                    node.span.set(sc::COST_USD, *cost_usd);
                }
            }
            Event::AgentTurnStarted { turn_number, .. } => {
                self.agent_turn_started(event, *turn_number)
            }
            Event::AgentTurnCompleted {
                tool_calls,
                input_tokens,
                output_tokens,
                ..
            } => self.agent_turn_completed(event, *tool_calls, *input_tokens, *output_tokens),
            Event::AgentToolCalled { tool_name, .. } => {
                let tool = policy.text(tool_name).into_owned();
                self.agent_tool_called(event, tool)
            }
            Event::ProviderRetry { .. }
            | Event::CheckpointSaved { .. }
            | Event::BranchIteration { .. }
            | Event::SignalEmitted { .. }
            | Event::SignalReceived { .. }
            | Event::OtlpExportFailed { .. } => self.span_event(event, policy),
            _ => {}
        }
    }

    fn workflow_started(&mut self, event: &Envelope<'_>, policy: &PayloadPolicy) {
        let Event::WorkflowStarted {
            name,
            dry_run,
            resumed_from,
            attempt,
            ..
        } = event.event
        else {
            return;
        };
        let run = self.trace_of(event);
        let scope = event.scope;
        let (parent, remote) = match (&scope.parent_run_id, &scope.parent_node_id) {
            (Some(parent_run), Some(node)) => (
                Some(span_id(
                    &run.trace_id,
                    parent_run,
                    run.attempt,
                    SpanPart::Node(node),
                )),
                false,
            ),
            _ => match &self.parent {
                Some(p) => (Some(p.span_id), true),
                None => (None, false),
            },
        };
        let name = policy.text(name).into_owned();
        let attempt = attempt_of(resumed_from.is_some(), Some(*attempt));
        let mut span = OpenSpan {
            trace_id: run.trace_id,
            span_id: span_id(&run.trace_id, &scope.run_id, run.attempt, SpanPart::Run),
            parent,
            parent_remote: remote,
            trace_state: run.state.clone(),
            flags: run.flags,
            name: format!("{} {name}", sc::OP_INVOKE_WORKFLOW),
            kind: SpanKind::Internal,
            start: time_of(event),
            attributes: Vec::with_capacity(12),
            events: Vec::new(),
            links: Vec::new(),
            status: StatusCode::Unset,
            message: String::new(),
        };
        span.set(sc::OPERATION_NAME, sc::OP_INVOKE_WORKFLOW);
        span.set(sc::WORKFLOW_NAME, name);
        span.set(sc::RUN_ID, scope.run_id.clone());
        span.set(sc::DRY_RUN, *dry_run);
        span.set(sc::ATTEMPT, attempt as i64);
        if let Some(parent_run) = &scope.parent_run_id {
            span.set(sc::PARENT_RUN_ID, parent_run.clone());
        }
        if let Some(previous) = resumed_from
            .as_deref()
            .filter(|_| attempt > 1 && scope.parent_run_id.is_none())
        {
            // Each attempt is its own trace, linked to the previous attempt's root; under an
            // incoming TRACEPARENT the attempts share the caller's trace (taken to be the
            // previous attempt's too) and differ by their span ids.
            let previous_trace = match &self.parent {
                Some(p) => p.trace_id,
                None => derived_trace_id(previous, attempt - 1),
            };
            span.links.push(Link {
                trace_id: previous_trace.to_vec(),
                span_id: span_id(&previous_trace, previous, attempt - 1, SpanPart::Run).to_vec(),
                attributes: vec![kv("trident.link", "previous_attempt")],
                flags: span_flags(1, false),
                ..Link::default()
            });
        }
        self.runs.insert(
            scope.run_id.clone(),
            RunSpan {
                span,
                failed_error_type: None,
            },
        );
    }

    fn workflow_ended(&mut self, event: &Envelope<'_>, policy: &PayloadPolicy) {
        let end = time_of(event);
        let run_id = &event.scope.run_id;
        // Nodes of this run still open (an interruption) end with it.
        if let Some(open) = self.nodes.remove(run_id) {
            for node in open.into_values() {
                self.close_node(node, end, true);
            }
        }
        let Some(mut run) = self.runs.remove(run_id) else {
            return;
        };
        match event.event {
            Event::WorkflowCompleted {
                input_tokens,
                output_tokens,
                cost_usd,
                ..
            } => {
                run.span.set(sc::USAGE_INPUT_TOKENS, *input_tokens as i64);
                run.span.set(sc::USAGE_OUTPUT_TOKENS, *output_tokens as i64);
                if cost_usd.is_finite() {
                    run.span.set(sc::COST_USD, *cost_usd);
                }
                run.span.status = StatusCode::Ok;
            }
            Event::WorkflowFailed { error, .. } => {
                let error_type = run
                    .failed_error_type
                    .clone()
                    .unwrap_or_else(|| "TridentError".to_string());
                run.span.fail(policy.text(error).into_owned(), &error_type);
            }
            Event::WorkflowInterrupted { signal, .. } => {
                run.span
                    .fail(format!("interrupted by {signal}"), "Interrupted");
            }
            _ => {}
        }
        self.finish(run.span, end);
    }

    fn node_started(&mut self, event: &Envelope<'_>, policy: &PayloadPolicy) {
        let Event::NodeStarted {
            node_type,
            temperature,
            max_tokens,
            description,
        } = event.event
        else {
            return;
        };
        let Some(node_id) = event.node_id else {
            return;
        };
        let parent = {
            let run = self.trace_of(event);
            span_id(
                &run.trace_id,
                &event.scope.run_id,
                run.attempt,
                SpanPart::Run,
            )
        };
        let mut span = self.open(event, SpanPart::Node(node_id), parent);
        span.set(sc::NODE_ID, node_id.to_string());
        span.set(sc::NODE_TYPE, node_type.as_str());
        match node_type {
            NodeKind::Prompt => {
                span.kind = SpanKind::Client;
                span.set(sc::OPERATION_NAME, sc::OP_CHAT);
                if let Some(t) = temperature {
                    span.set(sc::REQUEST_TEMPERATURE, *t);
                }
                if let Some(n) = max_tokens {
                    span.set(sc::REQUEST_MAX_TOKENS, *n as i64);
                }
            }
            NodeKind::Tool => {
                span.set(sc::OPERATION_NAME, sc::OP_EXECUTE_TOOL);
                span.set(sc::TOOL_NAME, node_id.to_string());
                span.set(sc::TOOL_TYPE, "function");
                if let Some(d) = description.as_deref().filter(|d| !d.is_empty()) {
                    span.set(sc::TOOL_DESCRIPTION, policy.text(d).into_owned());
                }
            }
            NodeKind::Agent => {
                span.set(sc::OPERATION_NAME, sc::OP_INVOKE_AGENT);
                span.set(sc::PROVIDER_NAME, "anthropic");
                span.set(sc::AGENT_NAME, node_id.to_string());
            }
            _ => {}
        }
        let run_id = &event.scope.run_id;
        if !self.nodes.contains_key(run_id) {
            self.nodes.insert(run_id.clone(), HashMap::new());
        }
        let Some(open) = self.nodes.get_mut(run_id) else {
            return;
        };
        open.insert(
            node_id.to_string(),
            NodeSpan {
                span,
                node_id: node_id.to_string(),
                node_type: *node_type,
                model: None,
                tool_calls: 0,
                open_tool: None,
                open_turn: None,
                ended_turns: Vec::new(),
            },
        );
    }

    fn node_mut(&mut self, event: &Envelope<'_>) -> Option<&mut NodeSpan> {
        self.nodes
            .get_mut(&event.scope.run_id)?
            .get_mut(event.node_id?)
    }

    fn take_node(&mut self, event: &Envelope<'_>) -> Option<NodeSpan> {
        self.nodes
            .get_mut(&event.scope.run_id)?
            .remove(event.node_id?)
    }

    fn node_ended(&mut self, event: &Envelope<'_>, policy: &PayloadPolicy) {
        let Some(mut node) = self.take_node(event) else {
            return;
        };
        match event.event {
            Event::NodeCompleted {
                input_tokens,
                output_tokens,
                model,
                cost_usd,
                response_model,
                finish_reason,
                session_id,
                ..
            } => {
                if let Some(model) = model {
                    node.model = Some(policy.text(model).into_owned());
                }
                if matches!(node.node_type, NodeKind::Prompt | NodeKind::Agent) {
                    node.span.set(sc::USAGE_INPUT_TOKENS, *input_tokens as i64);
                    node.span
                        .set(sc::USAGE_OUTPUT_TOKENS, *output_tokens as i64);
                }
                if let Some(cost) = cost_usd.filter(|c| c.is_finite()) {
                    node.span.set(sc::COST_USD, cost);
                }
                if let Some(session) = session_id {
                    node.span
                        .set(sc::CONVERSATION_ID, policy.text(session).into_owned());
                }
                if let Some(reason) = finish_reason {
                    let reasons = vec![policy.text(reason).into_owned()];
                    node.span.set(sc::RESPONSE_FINISH_REASONS, reasons);
                }
                if let Some(model) = response_model {
                    node.span
                        .set(sc::RESPONSE_MODEL, policy.text(model).into_owned());
                }
                node.span.status = StatusCode::Ok;
            }
            Event::NodeFailed {
                error, error_type, ..
            } => {
                node.span.fail(policy.text(error).into_owned(), error_type);
                if let Some(run) = self.runs.get_mut(&event.scope.run_id) {
                    run.failed_error_type.get_or_insert(error_type.clone());
                }
            }
            _ => {}
        }
        self.close_node(node, time_of(event), false);
    }

    /// Names the node's span from what it learnt, closes its open children and emits it.
    fn close_node(&mut self, mut node: NodeSpan, end: u64, unfinished: bool) {
        let node_id = &node.node_id;
        node.span.name = match node.node_type {
            NodeKind::Prompt => {
                let (provider, model) = match node.model.as_deref() {
                    Some(m) => match m.split_once('/') {
                        Some((p, rest)) => (Some(p), rest),
                        None => (None, m),
                    },
                    None => (None, ""),
                };
                if let Some(p) = provider {
                    node.span.set(sc::PROVIDER_NAME, p.to_string());
                }
                if !model.is_empty() {
                    node.span.set(sc::REQUEST_MODEL, model.to_string());
                    format!("{} {model}", sc::OP_CHAT)
                } else {
                    sc::OP_CHAT.to_string()
                }
            }
            NodeKind::Tool => format!("{} {node_id}", sc::OP_EXECUTE_TOOL),
            NodeKind::Agent => {
                if let Some(m) = &node.model {
                    node.span.set(sc::REQUEST_MODEL, m.clone());
                }
                format!("{} {node_id}", sc::OP_INVOKE_AGENT)
            }
            _ => format!("trident.node {node_id}"),
        };
        for child in [node.open_tool.take(), node.open_turn.take()]
            .into_iter()
            .flatten()
        {
            self.finish(child, end);
        }
        for (mut turn, turn_end) in std::mem::take(&mut node.ended_turns) {
            if let Some(m) = &node.model {
                turn.set(sc::REQUEST_MODEL, m.clone());
                turn.name = format!("{} {m}", sc::OP_CHAT);
            }
            self.finish(turn, turn_end);
        }
        if unfinished {
            node.span.set(sc::UNFINISHED, true);
        }
        self.finish(node.span, end);
    }

    fn node_skipped(&mut self, event: &Envelope<'_>, reason: &'static str) {
        let Some(node_id) = event.node_id else {
            return;
        };
        // A node that started and was then skipped (a false trigger condition) ends here.
        let mut span = match self.take_node(event) {
            Some(node) => node.span,
            None => {
                let run = self.trace_of(event);
                let parent = span_id(
                    &run.trace_id,
                    &event.scope.run_id,
                    run.attempt,
                    SpanPart::Run,
                );
                let mut span = self.open(event, SpanPart::Node(node_id), parent);
                span.set(sc::NODE_ID, node_id.to_string());
                span
            }
        };
        span.name = format!("trident.node {node_id}");
        span.set(sc::NODE_SKIPPED, true);
        span.set(sc::NODE_SKIP_REASON, reason);
        self.finish(span, time_of(event));
    }

    fn agent_turn_started(&mut self, event: &Envelope<'_>, turn: u64) {
        let Some(node_id) = event.node_id else {
            return;
        };
        let Some(agent_span) = self.node_mut(event).map(|n| n.span.span_id) else {
            return;
        };
        let mut span = self.open(event, SpanPart::AgentTurn(node_id, turn), agent_span);
        span.name = sc::OP_CHAT.to_string();
        span.kind = SpanKind::Client;
        span.set(sc::OPERATION_NAME, sc::OP_CHAT);
        span.set(sc::PROVIDER_NAME, "anthropic");
        span.set(sc::NODE_ID, node_id.to_string());
        span.set("trident.agent.turn", turn as i64);
        let time = time_of(event);
        let mut ended = Vec::new();
        if let Some(node) = self.node_mut(event) {
            ended.extend(node.open_tool.take());
            ended.extend(node.open_turn.replace(span));
        }
        for s in ended {
            self.finish(s, time);
        }
    }

    fn agent_turn_completed(
        &mut self,
        event: &Envelope<'_>,
        tool_calls: u64,
        input_tokens: Option<u64>,
        output_tokens: Option<u64>,
    ) {
        let time = time_of(event);
        let mut ended = Vec::new();
        if let Some(node) = self.node_mut(event) {
            ended.extend(node.open_tool.take());
            if let Some(mut turn) = node.open_turn.take() {
                if let Some(n) = input_tokens {
                    turn.set(sc::USAGE_INPUT_TOKENS, n as i64);
                }
                if let Some(n) = output_tokens {
                    turn.set(sc::USAGE_OUTPUT_TOKENS, n as i64);
                }
                turn.set("trident.agent.tool_calls", tool_calls as i64);
                turn.status = StatusCode::Ok;
                node.ended_turns.push((turn, time));
            }
        }
        for s in ended {
            self.finish(s, time);
        }
    }

    fn agent_tool_called(&mut self, event: &Envelope<'_>, tool: String) {
        let Some(node_id) = event.node_id else {
            return;
        };
        let Some((agent_span, n)) = self.node_mut(event).map(|n| {
            n.tool_calls += 1;
            (n.span.span_id, n.tool_calls)
        }) else {
            return;
        };
        let mut span = self.open(event, SpanPart::AgentTool(node_id, n), agent_span);
        span.name = format!("{} {tool}", sc::OP_EXECUTE_TOOL);
        span.set(sc::OPERATION_NAME, sc::OP_EXECUTE_TOOL);
        span.set(sc::TOOL_NAME, tool);
        span.set(sc::TOOL_TYPE, "function");
        span.set(sc::NODE_ID, node_id.to_string());
        let time = time_of(event);
        let previous = self.node_mut(event).and_then(|n| n.open_tool.replace(span));
        if let Some(previous) = previous {
            self.finish(previous, time);
        }
    }

    /// Retries, checkpoints, iterations and signals: a span event on the node's span (or
    /// the run's, when the node's span is not open).
    fn span_event(&mut self, event: &Envelope<'_>, policy: &PayloadPolicy) {
        let mut attributes = Vec::new();
        data_attributes(event.event, policy, &mut attributes);
        let span_event = SpanEvent {
            time_unix_nano: time_of(event),
            name: event.event.name().to_string(),
            attributes,
            dropped_attributes_count: 0,
        };
        if let Some(node) = self.node_mut(event) {
            node.span.events.push(span_event);
        } else if let Some(run) = self.runs.get_mut(&event.scope.run_id) {
            run.span.events.push(span_event);
        }
    }

    /// Ends every span still open (the stream ended early), at the last event's time.
    pub fn close_all(&mut self) {
        let end = self.last_time;
        let nodes: Vec<NodeSpan> = self
            .nodes
            .drain()
            .flat_map(|(_, n)| n.into_values())
            .collect();
        for node in nodes {
            self.close_node(node, end, true);
        }
        let runs: Vec<RunSpan> = self.runs.drain().map(|(_, r)| r).collect();
        for mut run in runs {
            run.span.set(sc::UNFINISHED, true);
            self.finish(run.span, end);
        }
    }
}
