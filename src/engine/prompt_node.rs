//! Prompt nodes: required-input check, model resolution, template rendering (kept in
//! trace.json's `prompt`, reported as `prompt_rendered`), the provider call (or the dry-run
//! mock), its tokens and cost, and parsing/validating the output against the schema.

use serde_json::{Map, Value};

use super::context::RunContext;
use super::node_error::NodeError;
use super::spend::{charge, price_call};
use crate::artifacts::{CACHE_READ_TOKENS, CACHE_WRITE_TOKENS, NodeTrace, SharedText};
use crate::project::{OutputFormat, PromptFile, SchemaField};
use crate::providers::{Completion, CompletionRequest};
use crate::telemetry::{Event, EventKind};
use crate::template::render;

/// Fail when a required input (without default) is missing or null.
pub fn check_required_inputs(
    prompt: &PromptFile,
    gathered: &Map<String, Value>,
) -> Result<(), NodeError> {
    let missing: Vec<&str> = prompt
        .inputs
        .values()
        .filter(|i| i.required && i.default.is_null())
        .filter(|i| gathered.get(&i.name).is_none_or(Value::is_null))
        .map(|i| i.name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(NodeError::new(
        "SchemaValidationError",
        format!(
            "Missing required input(s) for '{}': {}. Check edge mappings to ensure these fields \
             are provided.",
            prompt.id,
            missing.join(", ")
        ),
    ))
}

/// The template variables: gathered inputs plus declared defaults for absent inputs.
pub fn template_variables(
    prompt: &PromptFile,
    gathered: &Map<String, Value>,
) -> Map<String, Value> {
    let mut vars = gathered.clone();
    for input in prompt.inputs.values() {
        if !input.default.is_null() && vars.get(&input.name).is_none_or(Value::is_null) {
            vars.insert(input.name.clone(), input.default.clone());
        }
    }
    vars
}

/// The dry-run output of a prompt: mock text, or mock schema fields plus their JSON text.
pub fn mock_output(prompt: &PromptFile) -> Map<String, Value> {
    let mut out = Map::new();
    if prompt.output_format == OutputFormat::Text {
        out.insert(
            "text".into(),
            Value::String("[DRY RUN] Mock text response".into()),
        );
        return out;
    }
    let mut mock = Map::new();
    for (name, field) in &prompt.output_fields {
        let value = match field.field_type.as_str() {
            "string" => Value::String(format!("[mock_{name}]")),
            "number" => Value::from(0),
            "boolean" => Value::Bool(true),
            "array" => Value::Array(Vec::new()),
            "object" => Value::Object(Map::new()),
            _ => Value::Null,
        };
        mock.insert(name.clone(), value);
    }
    out.insert(
        "text".into(),
        Value::String(crate::python_json::dumps(&Value::Object(mock.clone()))),
    );
    out.extend(mock);
    out
}

/// Python's name for a JSON value's type, for messages matching the original's.
fn python_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Check parsed output against the schema: every field present, of its declared type.
pub fn validate_schema(
    data: &Map<String, Value>,
    schema: &indexmap::IndexMap<String, SchemaField>,
) -> Result<(), NodeError> {
    for (name, field) in schema {
        let Some(value) = data.get(name) else {
            return Err(NodeError::new(
                "SchemaValidationError",
                format!("Missing required field: {name}"),
            ));
        };
        let ok = match field.field_type.as_str() {
            "string" => value.is_string(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        };
        if !ok {
            return Err(NodeError::new(
                "SchemaValidationError",
                format!(
                    "Field '{name}' expected {}, got {}",
                    field.field_type,
                    python_type(value)
                ),
            ));
        }
    }
    Ok(())
}

/// Turn a model's reply into the node output (`text` plus parsed fields for json prompts).
pub fn parse_reply(prompt: &PromptFile, content: &str) -> Result<Map<String, Value>, NodeError> {
    let mut out = Map::new();
    out.insert("text".into(), Value::String(content.to_string()));
    if prompt.output_format == OutputFormat::Text {
        return Ok(out);
    }
    let parsed: Map<String, Value> = match serde_json::from_str::<Value>(content) {
        Ok(Value::Object(o)) => o,
        _ => {
            let start: String = content.chars().take(100).collect();
            return Err(NodeError::new(
                "SchemaValidationError",
                format!("LLM returned invalid JSON. Response started with: {start:?}"),
            ));
        }
    };
    validate_schema(&parsed, &prompt.output_fields)?;
    out.extend(parsed);
    Ok(out)
}

/// Run a prompt node with its gathered inputs; fills the trace's model and tokens.
pub fn run_prompt(
    ctx: &RunContext,
    node_id: &str,
    gathered: &Map<String, Value>,
    trace: &mut NodeTrace,
) -> Result<Map<String, Value>, NodeError> {
    let project = ctx.project;
    let Some(prompt) = project.prompts.get(node_id) else {
        return Err(NodeError::runtime("Prompt definition not found in project"));
    };
    check_required_inputs(prompt, gathered)?;
    let Some(model) = prompt
        .model
        .clone()
        .or_else(|| project.defaults.model.clone())
    else {
        return Err(NodeError::runtime(format!(
            "No model specified for prompt '{node_id}'. Set `model:` in {} or `defaults.model` \
             in the manifest.",
            prompt.path.display()
        )));
    };
    trace.model = Some(model.clone());
    let tel = &ctx.tel;
    let rendered = SharedText::from(render(&prompt.body, &template_variables(prompt, gathered)));
    if tel.wants(EventKind::PromptRendered) {
        tel.emit(Some(node_id), || Event::PromptRendered {
            model: model.clone(),
            prompt: SharedText::clone(&rendered),
            chars: rendered.chars().count() as u64,
        });
    }
    if ctx.opts.dry_run {
        trace.prompt = Some(rendered);
        trace.tokens.insert("input".into(), 0);
        trace.tokens.insert("output".into(), 0);
        // No call, nothing spent, whatever the model's price.
        trace.cost_usd = Some(0.0);
        return Ok(mock_output(prompt));
    }
    let (provider, model_name) = ctx
        .runtime
        .providers
        .resolve(&model)
        .map_err(|e| NodeError::provider(e.to_string()))?;
    let request = CompletionRequest {
        model: &model_name,
        prompt: &rendered,
        temperature: prompt.temperature.or(project.defaults.temperature),
        max_tokens: prompt.max_tokens.or(project.defaults.max_tokens),
        json_schema: (prompt.output_format == OutputFormat::Json).then_some(&prompt.output_fields),
    };
    let completion = provider.complete(&request, &mut |notice| {
        tel.emit(Some(node_id), || Event::ProviderRetry {
            provider: notice.provider.to_string(),
            attempt: notice.attempt,
            status: notice.status,
            error: notice.error.clone(),
            delay_ms: notice.delay_ms,
        })
    });
    trace.prompt = Some(rendered);
    let completion = completion.map_err(|e| NodeError::provider(e.to_string()))?;
    record_usage(ctx, node_id, &model, &completion, trace);
    trace.response_model = completion.response_model;
    trace.finish_reason = completion.finish_reason;
    parse_reply(prompt, &completion.content)
}

/// Record a model call's tokens (cache tokens too, when the API reported some) and cost on
/// the trace, and report them (`timing_metric`, `token_usage`, `cost_incurred`).
fn record_usage(
    ctx: &RunContext,
    node_id: &str,
    model: &str,
    completion: &Completion,
    trace: &mut NodeTrace,
) {
    let usage = &completion.usage;
    trace.tokens.insert("input".into(), completion.input_tokens);
    trace
        .tokens
        .insert("output".into(), completion.output_tokens);
    let cache_read = (usage.cache_read > 0).then_some(usage.cache_read);
    let cache_write = (usage.cache_write > 0).then_some(usage.cache_write);
    if let Some(n) = cache_read {
        trace.tokens.insert(CACHE_READ_TOKENS.into(), n);
    }
    if let Some(n) = cache_write {
        trace.tokens.insert(CACHE_WRITE_TOKENS.into(), n);
    }
    let cost = price_call(ctx, node_id, model, usage);
    trace.cost_usd = cost;
    let tel = &ctx.tel;
    tel.emit(Some(node_id), || Event::TimingMetric {
        name: "provider_latency_ms",
        value: completion.latency_ms as f64,
    });
    tel.emit(Some(node_id), || Event::TokenUsage {
        model: model.to_string(),
        input_tokens: completion.input_tokens,
        output_tokens: completion.output_tokens,
        cache_read_input_tokens: cache_read,
        cache_creation_input_tokens: cache_write,
        cost_usd: cost,
    });
    if let Some(cost) = cost {
        charge(ctx, node_id, cost);
    }
}
