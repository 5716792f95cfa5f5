//! Agent nodes: a prompt handed to the Claude Code CLI, which works in the node's `cwd`
//! with its tools and MCP servers for up to `max_turns` turns, streaming its progress.
//!
//! [`run_agent_cancellable`] runs `claude -p PROMPT --output-format stream-json --verbose ...` (see
//! `command`), reads its JSON lines as they arrive (`stream`), reports each turn and tool
//! call to telemetry at once (`turns`), and turns the final `result` line into the node's
//! output (`output`) with its session id, turns, cost and tokens. The process side
//! (own process group, reader threads, timeout, kill, reaping) is in `process`; the one
//! place the environment is read is `env`.
//!
//! Files: `command.rs` (argv, cwd, child environment), `mcp.rs` (`--mcp-config`),
//! `leftovers.rs` (the processes the CLI started, so none outlives the node),
//! `env.rs` (`TRIDENT_CLAUDE_BIN`, `PATH`, `${VAR}` values), `stream.rs` (stream-json lines),
//! `turns.rs` (turn events), `events.rs` (event sink, truncation), `output.rs` (result to
//! output, JSON extraction, schema), `process.rs` (the child), `crate::process_group` (live CLIs, for
//! Ctrl-C), `run.rs` (one run), `error.rs`.

mod command;
mod env;
mod error;
mod events;
mod leftovers;
mod mcp;
pub(crate) mod output;
mod process;
mod run;
pub(crate) mod stream;
mod turns;

#[cfg(test)]
mod run_tests;

use std::path::Path;

use serde_json::{Map, Value};

pub use env::{AgentEnv, CLAUDE_BIN_ENV};
pub use error::{AgentError, CLI_AGENT_ERROR};
pub use run::DEFAULT_TIMEOUT_SECS;

use events::AgentEvents;

use crate::output_limit::OutputLimit;
use crate::project::{AgentNode, OutputFormat, PromptFile};
use crate::telemetry::RunTelemetry;

/// Everything one agent run needs.
pub struct AgentRequest<'a> {
    pub node: &'a AgentNode,
    /// The node's prompt file (loaded from `node.prompt_path`).
    pub prompt: &'a PromptFile,
    /// The gathered inputs the prompt body is rendered with.
    pub inputs: &'a Map<String, Value>,
    /// The project root; `node.cwd` is relative to it.
    pub project_root: &'a Path,
    /// The session to continue (`--resume`), from the checkpoint of a resumed run.
    pub resume_session: Option<&'a str>,
    pub telemetry: &'a RunTelemetry,
    pub node_id: &'a str,
    /// The longest CLI output line read (`TRIDENT_MAX_OUTPUT_SIZE`); longer ones are skipped.
    pub output_limit: OutputLimit,
}

/// What a successful agent run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentOutcome {
    /// The node's output: `{"text": ...}` for text prompts, the JSON object for json ones.
    pub output: Map<String, Value>,
    pub stats: AgentStats,
}

/// What an agent run reported (also kept by a failed run that got a `result` line).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgentStats {
    /// Tokens of every model the session used, subagents included (the result's
    /// `modelUsage`; else its `usage`, else the turns' final usage). Input tokens do not
    /// count cache reads, as in the original.
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// The session's `total_cost_usd` (subagents included).
    pub cost_usd: Option<f64>,
    /// The CLI session, for `--resume`.
    pub session_id: Option<String>,
    /// The model the API answered with (the agent's own messages), else the one the CLI
    /// reported at start.
    pub model: Option<String>,
    /// The agent's own turns (the results' `num_turns`, or the turns counted).
    pub num_turns: u64,
    /// Tool calls the CLI refused: `{"tool_name", "tool_input"?, "reason"?}`.
    pub permission_denials: Vec<Value>,
}

/// Runs an agent node through the Claude CLI, its turn and tool events going to
/// `req.telemetry` as they happen.
///
/// `env` is the run's environment, read once before it started ([`AgentEnv::capture`]):
/// for `TRIDENT_CLAUDE_BIN`, `${VAR}` in MCP settings, the temporary folder and the CLI's
/// own environment. The CLI (its whole process group) is stopped within 100 ms once
/// `cancelled` returns true, e.g. on Ctrl-C: the CLI runs in its own process group, so the
/// terminal's signal does not reach it.
pub fn run_agent_cancellable(
    req: &AgentRequest<'_>,
    env: &AgentEnv,
    cancelled: &dyn Fn() -> bool,
) -> Result<AgentOutcome, AgentError> {
    if req.telemetry.enabled() {
        let telemetry = req.telemetry;
        let node_id = req.node_id;
        let mut sink = |event| telemetry.emit(Some(node_id), || event);
        run::run_agent_in(env, req, cancelled, AgentEvents::to(&mut sink))
    } else {
        run::run_agent_in(env, req, cancelled, AgentEvents::none())
    }
}

/// The output of an agent under `--dry-run`, as the original's: for json prompts each
/// declared field as `"[mock_<field>]"` (type `string`), `[]` (type `array`) or `null`
/// (any other type); for text prompts `{"text": "[DRY RUN] Mock agent response"}`.
pub fn dry_run_output(prompt: &PromptFile) -> Map<String, Value> {
    let mut output = Map::new();
    match prompt.output_format {
        OutputFormat::Json => {
            for (name, field) in &prompt.output_fields {
                let mock = match field.field_type.as_str() {
                    "string" => Value::String(format!("[mock_{name}]")),
                    "array" => Value::Array(Vec::new()),
                    _ => Value::Null,
                };
                output.insert(name.clone(), mock);
            }
        }
        OutputFormat::Text => {
            output.insert(
                "text".into(),
                Value::String("[DRY RUN] Mock agent response".into()),
            );
        }
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::command::tests::prompt_file;
    use serde_json::json;

    #[test]
    fn dry_run_outputs_match_the_original() {
        let text = dry_run_output(&prompt_file(OutputFormat::Text, &[], ""));
        assert_eq!(
            Value::Object(text),
            json!({"text": "[DRY RUN] Mock agent response"})
        );
        let prompt = prompt_file(
            OutputFormat::Json,
            &[
                ("summary", "string"),
                ("files", "array"),
                ("count", "number"),
                ("ok", "boolean"),
                ("s", "str"),
            ],
            "",
        );
        assert_eq!(
            Value::Object(dry_run_output(&prompt)),
            json!({"summary": "[mock_summary]", "files": [], "count": null, "ok": null, "s": null})
        );
        assert!(dry_run_output(&prompt_file(OutputFormat::Json, &[], "")).is_empty());
    }
}
