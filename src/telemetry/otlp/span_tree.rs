//! Builds a run's OpenTelemetry spans and log records from its stream events.
//!
//! Spans are opened and closed by the lifecycle events (`workflow_*`, `node_*`,
//! `agent_turn_*`, `agent_tool_called`), filled with attributes by the resource events
//! (`token_usage`, `cost_incurred`) and given span events by retries, checkpoints, branch
//! iterations and signals. Ids come from [`trace_context`](crate::telemetry::trace_context),
//! so they match the `TRACEPARENT` the engine hands to tools, agent CLIs and triggered runs.
//! A span is emitted when it ends; spans still open when the stream ends are closed at the
//! last event's time and marked `trident.span.unfinished`.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::SystemTime;

use opentelemetry::trace::{
    Event as SpanEvent, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId,
    TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue, Value as OtelValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use serde_json::{Map, Value};

use super::semconv as sc;
use super::stream_event::StreamEvent;
use crate::telemetry::trace_context::{
    SpanPart, TraceParent, attempt_of, derived_trace_id, span_id,
};

/// A log record waiting for export.
#[derive(Debug, Clone)]
pub struct LogItem {
    pub time: SystemTime,
    /// OTLP severity number (DEBUG 5, INFO 9, WARNING 13, ERROR 17).
    pub severity_number: i32,
    pub severity_text: &'static str,
    /// The event name.
    pub body: String,
    pub attributes: Vec<KeyValue>,
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
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
    start: SystemTime,
    attributes: Vec<KeyValue>,
    events: Vec<SpanEvent>,
    links: Vec<Link>,
    status: Status,
}

impl OpenSpan {
    fn set(&mut self, key: &'static str, value: impl Into<OtelValue>) {
        let value = value.into();
        match self.attributes.iter_mut().find(|kv| kv.key.as_str() == key) {
            Some(kv) => kv.value = value,
            None => self.attributes.push(KeyValue::new(key, value)),
        }
    }

    fn fail(&mut self, message: &str, error_type: &str) {
        self.status = Status::error(message.to_string());
        self.set(sc::ERROR_TYPE, error_type.to_string());
    }

    fn finish(self, end: SystemTime, scope: &InstrumentationScope) -> SpanData {
        let flags = TraceFlags::new(self.flags);
        let state = self
            .trace_state
            .as_deref()
            .and_then(|s| TraceState::from_str(s).ok())
            .unwrap_or_default();
        let mut events = SpanEvents::default();
        events.events = self.events;
        let mut links = SpanLinks::default();
        links.links = self.links;
        SpanData {
            span_context: SpanContext::new(
                TraceId::from_bytes(self.trace_id),
                SpanId::from_bytes(self.span_id),
                flags,
                false,
                state,
            ),
            parent_span_id: SpanId::from_bytes(self.parent.unwrap_or([0; 8])),
            parent_span_is_remote: self.parent_remote,
            span_kind: self.kind,
            name: self.name.into(),
            start_time: self.start,
            end_time: end.max(self.start),
            attributes: self.attributes,
            dropped_attributes_count: 0,
            events,
            links,
            status: self.status,
            instrumentation_scope: scope.clone(),
        }
    }
}

/// What a node span knows besides its [`OpenSpan`].
struct NodeSpan {
    span: OpenSpan,
    node_type: String,
    model: Option<String>,
    turns: u64,
    tool_calls: u64,
    open_tool: Option<OpenSpan>,
    open_turn: Option<OpenSpan>,
    /// Agent turns that ended, kept until the node ends and its model is known, each with
    /// its end time.
    ended_turns: Vec<(OpenSpan, SystemTime)>,
}

struct RunSpan {
    span: OpenSpan,
    failed_error_type: Option<String>,
}

/// Turns stream events into spans and log records.
pub struct SpanTree {
    parent: Option<TraceParent>,
    scope: InstrumentationScope,
    traces: HashMap<String, ([u8; 16], u8, Option<String>)>,
    runs: HashMap<String, RunSpan>,
    nodes: HashMap<(String, String), NodeSpan>,
    last_time: SystemTime,
    /// Spans finished since the last [`SpanTree::take`].
    finished: Vec<SpanData>,
}

impl SpanTree {
    /// A tree whose root runs continue `parent` (the incoming `TRACEPARENT`), if any.
    pub fn new(parent: Option<TraceParent>) -> SpanTree {
        SpanTree {
            parent,
            scope: InstrumentationScope::builder("trident")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
            traces: HashMap::new(),
            runs: HashMap::new(),
            nodes: HashMap::new(),
            last_time: SystemTime::UNIX_EPOCH,
            finished: Vec::new(),
        }
    }

    /// The instrumentation scope of every span and log record.
    pub fn scope(&self) -> &InstrumentationScope {
        &self.scope
    }

    /// The spans finished so far (and forgets them).
    pub fn take(&mut self) -> Vec<SpanData> {
        std::mem::take(&mut self.finished)
    }

    /// The log record of `event` (correlated to its node's span, else its run's).
    pub fn log_record(&mut self, event: &StreamEvent) -> LogItem {
        let (trace_id, _, _) = self.trace_of(event);
        let part = match &event.node_id {
            Some(node) => SpanPart::Node(node),
            None => SpanPart::Run,
        };
        let (severity_number, severity_text) = match event.level.as_str() {
            "DEBUG" => (5, "DEBUG"),
            "WARNING" => (13, "WARNING"),
            "ERROR" => (17, "ERROR"),
            _ => (9, "INFO"),
        };
        let mut attributes = vec![
            KeyValue::new("trident.event", event.event.clone()),
            KeyValue::new("trident.seq", event.seq as i64),
            KeyValue::new(sc::RUN_ID, event.run_id.clone()),
        ];
        if let Some(v) = &event.parent_run_id {
            attributes.push(KeyValue::new(sc::PARENT_RUN_ID, v.clone()));
        }
        if let Some(v) = &event.parent_node_id {
            attributes.push(KeyValue::new("trident.parent_node_id", v.clone()));
        }
        if let Some(v) = &event.node_id {
            attributes.push(KeyValue::new(sc::NODE_ID, v.clone()));
        }
        flatten(&event.data, "", &mut attributes);
        LogItem {
            time: event.time(),
            severity_number,
            severity_text,
            body: event.event.clone(),
            attributes,
            trace_id,
            span_id: span_id(&trace_id, &event.run_id, part),
        }
    }

    /// The trace id, flags and trace state of `event`'s run (decided at its
    /// `workflow_started`; a sub-workflow shares its parent run's).
    fn trace_of(&mut self, event: &StreamEvent) -> ([u8; 16], u8, Option<String>) {
        if let Some(t) = self.traces.get(&event.run_id) {
            return t.clone();
        }
        let inherited = event
            .parent_run_id
            .as_ref()
            .and_then(|p| self.traces.get(p))
            .cloned();
        let t = inherited.unwrap_or_else(|| match &self.parent {
            Some(p) => (p.trace_id, p.flags, p.state.clone()),
            None => {
                let resumed = event.text("resumed_from").is_some();
                let attempt = attempt_of(resumed, event.uint("attempt"));
                (derived_trace_id(&event.run_id, attempt), 1, None)
            }
        });
        self.traces.insert(event.run_id.clone(), t.clone());
        t
    }

    fn open(&mut self, event: &StreamEvent, part: SpanPart<'_>, parent: [u8; 8]) -> OpenSpan {
        let (trace_id, flags, trace_state) = self.trace_of(event);
        OpenSpan {
            trace_id,
            span_id: span_id(&trace_id, &event.run_id, part),
            parent: Some(parent),
            parent_remote: false,
            trace_state,
            flags,
            name: String::new(),
            kind: SpanKind::Internal,
            start: event.time(),
            attributes: Vec::new(),
            events: Vec::new(),
            links: Vec::new(),
            status: Status::Unset,
        }
    }

    fn finish(&mut self, span: OpenSpan, end: SystemTime) {
        self.finished.push(span.finish(end, &self.scope));
    }

    /// Takes in one event.
    pub fn record(&mut self, event: &StreamEvent) {
        let time = event.time();
        self.last_time = self.last_time.max(time);
        match event.event.as_str() {
            "workflow_started" => self.workflow_started(event),
            "workflow_completed" | "workflow_failed" | "workflow_interrupted" => {
                self.workflow_ended(event)
            }
            "node_started" => self.node_started(event),
            "node_completed" | "node_failed" => self.node_ended(event),
            "node_skipped" => self.node_skipped(event),
            "token_usage" => self.token_usage(event),
            "cost_incurred" => {
                if let Some(node) = self.node_mut(event)
                    && let Some(cost) = event.float("cost_usd")
                {
                    node.span.set(sc::COST_USD, cost);
                }
            }
            "agent_turn_started" => self.agent_turn_started(event),
            "agent_turn_completed" => self.agent_turn_completed(event),
            "agent_tool_called" => self.agent_tool_called(event),
            "provider_retry" | "checkpoint_saved" | "branch_iteration" | "signal_emitted"
            | "signal_received" | "otlp_export_failed" => self.span_event(event),
            _ => {}
        }
    }

    fn workflow_started(&mut self, event: &StreamEvent) {
        let (trace_id, flags, trace_state) = self.trace_of(event);
        let (parent, remote) = match (&event.parent_run_id, &event.parent_node_id) {
            (Some(run), Some(node)) => (Some(span_id(&trace_id, run, SpanPart::Node(node))), false),
            _ => match &self.parent {
                Some(p) => (Some(p.span_id), true),
                None => (None, false),
            },
        };
        let name = event.text("name").unwrap_or("workflow").to_string();
        let resumed = event.text("resumed_from");
        let attempt = attempt_of(resumed.is_some(), event.uint("attempt"));
        let mut span = OpenSpan {
            trace_id,
            span_id: span_id(&trace_id, &event.run_id, SpanPart::Run),
            parent,
            parent_remote: remote,
            trace_state,
            flags,
            name: format!("{} {name}", sc::OP_INVOKE_WORKFLOW),
            kind: SpanKind::Internal,
            start: event.time(),
            attributes: Vec::new(),
            events: Vec::new(),
            links: Vec::new(),
            status: Status::Unset,
        };
        span.set(sc::OPERATION_NAME, sc::OP_INVOKE_WORKFLOW);
        span.set(sc::WORKFLOW_NAME, name);
        span.set(sc::RUN_ID, event.run_id.clone());
        span.set(
            sc::DRY_RUN,
            event.data.get("dry_run") == Some(&Value::Bool(true)),
        );
        span.set(sc::ATTEMPT, attempt as i64);
        if let Some(parent_run) = &event.parent_run_id {
            span.set(sc::PARENT_RUN_ID, parent_run.clone());
        }
        if let Some(previous) = resumed.filter(|_| attempt > 1 && event.parent_run_id.is_none()) {
            // Each attempt is its own trace, linked to the previous attempt's root.
            let previous_trace = derived_trace_id(previous, attempt - 1);
            let context = SpanContext::new(
                TraceId::from_bytes(previous_trace),
                SpanId::from_bytes(span_id(&previous_trace, previous, SpanPart::Run)),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            );
            span.links.push(Link::new(
                context,
                vec![KeyValue::new("trident.link", "previous_attempt")],
                0,
            ));
        }
        self.runs.insert(
            event.run_id.clone(),
            RunSpan {
                span,
                failed_error_type: None,
            },
        );
    }

    fn workflow_ended(&mut self, event: &StreamEvent) {
        let end = event.time();
        // Nodes of this run still open (an interruption) end with it.
        let open: Vec<(String, String)> = self
            .nodes
            .keys()
            .filter(|(run, _)| *run == event.run_id)
            .cloned()
            .collect();
        for key in open {
            if let Some(node) = self.nodes.remove(&key) {
                self.close_node(node, end, true);
            }
        }
        let Some(mut run) = self.runs.remove(&event.run_id) else {
            return;
        };
        match event.event.as_str() {
            "workflow_completed" => {
                if let Some(n) = event.uint("input_tokens") {
                    run.span.set(sc::USAGE_INPUT_TOKENS, n as i64);
                }
                if let Some(n) = event.uint("output_tokens") {
                    run.span.set(sc::USAGE_OUTPUT_TOKENS, n as i64);
                }
                if let Some(n) = event.uint("cache_read_input_tokens") {
                    run.span.set(sc::USAGE_CACHE_READ_INPUT_TOKENS, n as i64);
                }
                if let Some(cost) = event.float("cost_usd") {
                    run.span.set(sc::COST_USD, cost);
                }
                run.span.status = Status::Ok;
            }
            "workflow_failed" => {
                let error_type = run
                    .failed_error_type
                    .clone()
                    .unwrap_or_else(|| "TridentError".to_string());
                run.span
                    .fail(event.text("error").unwrap_or("failed"), &error_type);
            }
            _ => {
                let signal = event.text("signal").unwrap_or("signal");
                run.span
                    .fail(&format!("interrupted by {signal}"), "Interrupted");
            }
        }
        self.finish(run.span, end);
    }

    fn node_started(&mut self, event: &StreamEvent) {
        let Some(node_id) = event.node_id.as_deref() else {
            return;
        };
        let parent = {
            let (trace_id, _, _) = self.trace_of(event);
            span_id(&trace_id, &event.run_id, SpanPart::Run)
        };
        let mut span = self.open(event, SpanPart::Node(node_id), parent);
        let node_type = event.text("type").unwrap_or("node").to_string();
        span.set(sc::NODE_ID, node_id.to_string());
        span.set(sc::NODE_TYPE, node_type.clone());
        match node_type.as_str() {
            "prompt" => {
                span.kind = SpanKind::Client;
                span.set(sc::OPERATION_NAME, sc::OP_CHAT);
                if let Some(t) = event.float("temperature") {
                    span.set(sc::REQUEST_TEMPERATURE, t);
                }
                if let Some(n) = event.uint("max_tokens") {
                    span.set(sc::REQUEST_MAX_TOKENS, n as i64);
                }
            }
            "tool" => {
                span.set(sc::OPERATION_NAME, sc::OP_EXECUTE_TOOL);
                span.set(sc::TOOL_NAME, node_id.to_string());
                span.set(sc::TOOL_TYPE, "function");
                if let Some(d) = event.text("description").filter(|d| !d.is_empty()) {
                    span.set(sc::TOOL_DESCRIPTION, d.to_string());
                }
            }
            "agent" => {
                span.set(sc::OPERATION_NAME, sc::OP_INVOKE_AGENT);
                span.set(sc::PROVIDER_NAME, "anthropic");
                span.set(sc::AGENT_NAME, node_id.to_string());
            }
            _ => {}
        }
        let model = event.text("model").map(str::to_string);
        self.nodes.insert(
            (event.run_id.clone(), node_id.to_string()),
            NodeSpan {
                span,
                node_type,
                model,
                turns: 0,
                tool_calls: 0,
                open_tool: None,
                open_turn: None,
                ended_turns: Vec::new(),
            },
        );
    }

    fn node_mut(&mut self, event: &StreamEvent) -> Option<&mut NodeSpan> {
        let node = event.node_id.as_ref()?;
        self.nodes.get_mut(&(event.run_id.clone(), node.clone()))
    }

    fn node_ended(&mut self, event: &StreamEvent) {
        let Some(node_id) = event.node_id.clone() else {
            return;
        };
        let Some(mut node) = self.nodes.remove(&(event.run_id.clone(), node_id)) else {
            return;
        };
        if let Some(model) = event.text("model") {
            node.model = Some(model.to_string());
        }
        if node.node_type == "prompt" || node.node_type == "agent" {
            for (key, field) in [
                (sc::USAGE_INPUT_TOKENS, "input_tokens"),
                (sc::USAGE_OUTPUT_TOKENS, "output_tokens"),
                (sc::USAGE_CACHE_READ_INPUT_TOKENS, "cache_read_input_tokens"),
            ] {
                if let Some(n) = event.uint(field) {
                    node.span.set(key, n as i64);
                }
            }
        }
        if let Some(cost) = event.float("cost_usd") {
            node.span.set(sc::COST_USD, cost);
        }
        if let Some(session) = event.text("session_id") {
            node.span.set(sc::CONVERSATION_ID, session.to_string());
        }
        if let Some(reason) = event.text("finish_reason") {
            node.span.set(
                sc::RESPONSE_FINISH_REASONS,
                OtelValue::Array(vec![opentelemetry::StringValue::from(reason.to_string())].into()),
            );
        }
        if let Some(model) = event.text("response_model") {
            node.span.set(sc::RESPONSE_MODEL, model.to_string());
        }
        if event.event == "node_failed" {
            let error_type = event.text("error_type").unwrap_or("Error").to_string();
            node.span
                .fail(event.text("error").unwrap_or("failed"), &error_type);
            if let Some(run) = self.runs.get_mut(&event.run_id) {
                run.failed_error_type.get_or_insert(error_type);
            }
        } else {
            node.span.status = Status::Ok;
        }
        self.close_node(node, event.time(), false);
    }

    /// Names the node's span from what it learnt, closes its open children and emits it.
    fn close_node(&mut self, mut node: NodeSpan, end: SystemTime, unfinished: bool) {
        let node_id = node
            .span
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == sc::NODE_ID)
            .map(|kv| kv.value.as_str().into_owned())
            .unwrap_or_default();
        node.span.name = match node.node_type.as_str() {
            "prompt" => {
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
            "tool" => format!("{} {node_id}", sc::OP_EXECUTE_TOOL),
            "agent" => {
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

    fn node_skipped(&mut self, event: &StreamEvent) {
        let Some(node_id) = event.node_id.as_deref() else {
            return;
        };
        let key = (event.run_id.clone(), node_id.to_string());
        // A node that started and was then skipped (a false trigger condition) ends here.
        let mut span = match self.nodes.remove(&key) {
            Some(node) => node.span,
            None => {
                let (trace_id, _, _) = self.trace_of(event);
                let parent = span_id(&trace_id, &event.run_id, SpanPart::Run);
                let mut span = self.open(event, SpanPart::Node(node_id), parent);
                span.set(sc::NODE_ID, node_id.to_string());
                span
            }
        };
        span.name = format!("trident.node {node_id}");
        span.set(sc::NODE_SKIPPED, true);
        if let Some(reason) = event.text("reason") {
            span.set(sc::NODE_SKIP_REASON, reason.to_string());
        }
        self.finish(span, event.time());
    }

    fn token_usage(&mut self, event: &StreamEvent) {
        let Some(node) = self.node_mut(event) else {
            return;
        };
        if node.model.is_none()
            && let Some(m) = event.text("model")
        {
            node.model = Some(m.to_string());
        }
        for (key, field) in [
            (sc::USAGE_INPUT_TOKENS, "input_tokens"),
            (sc::USAGE_OUTPUT_TOKENS, "output_tokens"),
            (sc::USAGE_CACHE_READ_INPUT_TOKENS, "cache_read_input_tokens"),
        ] {
            if let Some(n) = event.uint(field) {
                node.span.set(key, n as i64);
            }
        }
    }

    fn agent_turn_started(&mut self, event: &StreamEvent) {
        let Some(node_id) = event.node_id.clone() else {
            return;
        };
        let turn = event.uint("turn_number").unwrap_or(1);
        let Some(agent_span) = self.node_mut(event).map(|n| n.span.span_id) else {
            return;
        };
        let mut span = self.open(event, SpanPart::AgentTurn(&node_id, turn), agent_span);
        span.name = sc::OP_CHAT.to_string();
        span.kind = SpanKind::Client;
        span.set(sc::OPERATION_NAME, sc::OP_CHAT);
        span.set(sc::PROVIDER_NAME, "anthropic");
        span.set(sc::NODE_ID, node_id.clone());
        span.set("trident.agent.turn", turn as i64);
        let time = event.time();
        let mut ended = Vec::new();
        if let Some(node) = self.node_mut(event) {
            node.turns = turn;
            ended.extend(node.open_tool.take());
            ended.extend(node.open_turn.replace(span));
        }
        for s in ended {
            self.finish(s, time);
        }
    }

    fn agent_turn_completed(&mut self, event: &StreamEvent) {
        let time = event.time();
        let mut ended = Vec::new();
        if let Some(node) = self.node_mut(event) {
            ended.extend(node.open_tool.take());
            if let Some(mut turn) = node.open_turn.take() {
                for (key, field) in [
                    (sc::USAGE_INPUT_TOKENS, "input_tokens"),
                    (sc::USAGE_OUTPUT_TOKENS, "output_tokens"),
                ] {
                    if let Some(n) = event.uint(field) {
                        turn.set(key, n as i64);
                    }
                }
                if let Some(n) = event.uint("tool_calls") {
                    turn.set("trident.agent.tool_calls", n as i64);
                }
                turn.status = Status::Ok;
                node.ended_turns.push((turn, time));
            }
        }
        for s in ended {
            self.finish(s, time);
        }
    }

    fn agent_tool_called(&mut self, event: &StreamEvent) {
        let Some(node_id) = event.node_id.clone() else {
            return;
        };
        let Some((agent_span, n)) = self.node_mut(event).map(|n| {
            n.tool_calls += 1;
            (n.span.span_id, n.tool_calls)
        }) else {
            return;
        };
        let tool = event.text("tool_name").unwrap_or("tool").to_string();
        let mut span = self.open(event, SpanPart::AgentTool(&node_id, n), agent_span);
        span.name = format!("{} {tool}", sc::OP_EXECUTE_TOOL);
        span.set(sc::OPERATION_NAME, sc::OP_EXECUTE_TOOL);
        span.set(sc::TOOL_NAME, tool);
        span.set(sc::TOOL_TYPE, "function");
        span.set(sc::NODE_ID, node_id.clone());
        let time = event.time();
        let previous = self.node_mut(event).and_then(|n| n.open_tool.replace(span));
        if let Some(previous) = previous {
            self.finish(previous, time);
        }
    }

    /// Retries, checkpoints, iterations and signals: a span event on the node's span (or
    /// the run's, when the node's span is not open).
    fn span_event(&mut self, event: &StreamEvent) {
        let mut attributes = Vec::new();
        flatten(&event.data, "", &mut attributes);
        let span_event = SpanEvent::new(event.event.clone(), event.time(), attributes, 0);
        if let Some(node) = self.node_mut(event) {
            node.span.events.push(span_event);
        } else if let Some(run) = self.runs.get_mut(&event.run_id) {
            run.span.events.push(span_event);
        }
    }

    /// Ends every span still open (the stream ended early), at the last event's time.
    pub fn close_all(&mut self) {
        let end = self.last_time;
        let nodes: Vec<NodeSpan> = self.nodes.drain().map(|(_, n)| n).collect();
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

/// Appends `data` as attributes: nested objects with dotted keys, arrays as JSON text.
pub fn flatten(data: &Map<String, Value>, prefix: &str, out: &mut Vec<KeyValue>) {
    for (key, value) in data {
        let key = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Null => {}
            Value::Bool(b) => out.push(KeyValue::new(key, *b)),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => out.push(KeyValue::new(key, i)),
                (None, Some(f)) => out.push(KeyValue::new(key, f)),
                _ => out.push(KeyValue::new(key, n.to_string())),
            },
            Value::String(s) => out.push(KeyValue::new(key, s.clone())),
            Value::Object(map) => flatten(map, &key, out),
            Value::Array(_) => out.push(KeyValue::new(key, value.to_string())),
        }
    }
}
