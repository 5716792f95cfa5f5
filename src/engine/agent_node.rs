//! Agent nodes: the Claude CLI run (or its dry-run mock), with the agent's cost, session,
//! turns, tokens and refused tool calls recorded on the trace and reported as telemetry,
//! whether the agent succeeded or failed after its session started.

use serde_json::{Map, Value};

use super::context::RunContext;
use super::node_error::NodeError;
use super::spend::charge;
use crate::agent::{AgentRequest, AgentStats, dry_run_output, run_agent_cancellable};
use crate::artifacts::NodeTrace;
use crate::engine::prompt_node::check_required_inputs;
use crate::exit::ExitCode;
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
    // A sub-workflow's agents were not seen by the parent's pre-run check.
    let as_root = crate::project::agent_settings::running_as_root();
    if let Some(problem) =
        crate::project::agent_settings::root_refusal(node_id, &node.permission_mode, as_root)
    {
        return Err(NodeError::runtime(problem));
    }
    let request = AgentRequest {
        node,
        prompt: &prompt,
        inputs: gathered,
        project_root: &ctx.project.root,
        resume_session: ctx.resume_sessions.get(node_id).map(String::as_str),
        telemetry: &ctx.tel,
        node_id,
        output_limit: ctx.runtime.output_limit,
    };
    let interrupted = || ctx.runtime.is_interrupted();
    match run_agent_cancellable(&request, &ctx.runtime.agent_env, &interrupted) {
        Ok(outcome) => {
            record(ctx, node_id, &outcome.stats, trace);
            Ok(outcome.output)
        }
        Err(error) => {
            if let Some(stats) = &error.stats {
                record(ctx, node_id, stats, trace);
            }
            Err(NodeError {
                exit: if error.api_failure {
                    ExitCode::Provider
                } else {
                    ExitCode::Runtime
                },
                message: error.message,
                error_type: error.error_type,
            })
        }
    }
}

/// Puts what the agent reported on its trace and tells telemetry (tokens, cost).
fn record(ctx: &RunContext, node_id: &str, stats: &AgentStats, trace: &mut NodeTrace) {
    trace.tokens.insert("input".into(), stats.input_tokens);
    trace.tokens.insert("output".into(), stats.output_tokens);
    trace.cost_usd = stats.cost_usd;
    trace.session_id = stats.session_id.clone();
    trace.num_turns = stats.num_turns;
    trace.permission_denials = stats.permission_denials.clone();
    // The original records no model for agents; the one the API used is more useful.
    trace.model = stats.model.clone();
    ctx.tel.emit(Some(node_id), || Event::TokenUsage {
        model: stats.model.clone().unwrap_or_else(|| "claude-cli".into()),
        input_tokens: stats.input_tokens,
        output_tokens: stats.output_tokens,
        cache_read_input_tokens: None,
        cache_creation_input_tokens: None,
        cost_usd: stats.cost_usd,
    });
    // The CLI reports the agent's price itself.
    if let Some(cost) = stats.cost_usd {
        charge(ctx, node_id, cost);
    }
}
