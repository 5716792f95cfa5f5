//! Agent nodes: the Claude CLI run (or its dry-run mock), with the agent's cost, session and
//! turns recorded on the trace and reported as telemetry.

use serde_json::{Map, Value};

use super::context::RunContext;
use super::node_error::NodeError;
use super::spend::charge;
use crate::agent::{AgentRequest, dry_run_output, run_agent_cancellable};
use crate::artifacts::NodeTrace;
use crate::engine::prompt_node::check_required_inputs;
use crate::project::prompt::load_prompt_file;
use crate::telemetry::Event;

/// Run agent `node_id` with its gathered inputs; fills tokens, cost, session and turns.
pub fn run_agent_node(
    ctx: &RunContext,
    node_id: &str,
    gathered: &Map<String, Value>,
    trace: &mut NodeTrace,
) -> Result<Map<String, Value>, NodeError> {
    let Some(node) = ctx.project.agents.get(node_id) else {
        return Err(NodeError::runtime("Agent definition not found in project"));
    };
    let prompt_path = ctx.project.root.join(&node.prompt_path);
    let prompt = load_prompt_file(&prompt_path).map_err(|e| NodeError::runtime(e.to_string()))?;
    check_required_inputs(&prompt, gathered)?;
    if ctx.opts.dry_run {
        trace.tokens.insert("input".into(), 0);
        trace.tokens.insert("output".into(), 0);
        return Ok(dry_run_output(&prompt));
    }
    let request = AgentRequest {
        node,
        prompt: &prompt,
        inputs: gathered,
        project_root: &ctx.project.root,
        resume_session: ctx.resume_sessions.get(node_id).map(String::as_str),
        telemetry: &ctx.tel,
        node_id,
    };
    let interrupted = || ctx.runtime.is_interrupted();
    let outcome = run_agent_cancellable(&request, &ctx.runtime.env_overlay, &interrupted)
        .map_err(|e| NodeError::new(&e.error_type, e.message))?;
    trace.tokens.insert("input".into(), outcome.input_tokens);
    trace.tokens.insert("output".into(), outcome.output_tokens);
    trace.cost_usd = outcome.cost_usd;
    trace.session_id = outcome.session_id.clone();
    trace.num_turns = outcome.num_turns;
    // The original records no model for agents; the one the CLI reports is more useful.
    trace.model = outcome.model.clone();
    ctx.tel.emit(Some(node_id), || Event::TokenUsage {
        model: outcome.model.clone().unwrap_or_else(|| "claude-cli".into()),
        input_tokens: outcome.input_tokens,
        output_tokens: outcome.output_tokens,
        cache_read_input_tokens: None,
        cache_creation_input_tokens: None,
        cost_usd: outcome.cost_usd,
    });
    // The CLI reports the agent's price itself.
    if let Some(cost) = outcome.cost_usd {
        charge(ctx, node_id, cost);
    }
    Ok(outcome.output)
}
