//! The one error type of agent nodes: a message that names the node and says what to do,
//! the `error_type` recorded in trace.json and `node_failed` events, whether the model API
//! failed (exit 3, like other provider failures), and what the run had reported before it
//! failed (session, cost, turns, tokens), which the failed node keeps.

use super::AgentStats;

/// The `error_type` of every agent failure. The original runtime raised `CLIAgentError` for
/// all of them, and the monitoring dashboard reads this name from trace.json.
pub const CLI_AGENT_ERROR: &str = "CLIAgentError";

/// Why an agent node failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct AgentError {
    /// A complete sentence naming the node, what went wrong and, where possible, the fix.
    pub message: String,
    /// The error class shown in artifacts (`CLIAgentError`, as in the original).
    pub error_type: String,
    /// The Anthropic API failed (or refused the credentials): the run exits 3.
    pub api_failure: bool,
    /// What the CLI reported before failing (its `result` line), when it got that far.
    pub stats: Option<Box<AgentStats>>,
}

impl AgentError {
    /// A failure of the Claude CLI or of what it returned.
    pub fn cli(message: impl Into<String>) -> AgentError {
        AgentError {
            message: message.into(),
            error_type: CLI_AGENT_ERROR.to_string(),
            api_failure: false,
            stats: None,
        }
    }

    /// A failure of the model API behind the CLI (exit 3).
    pub fn api(message: impl Into<String>) -> AgentError {
        AgentError {
            api_failure: true,
            ..AgentError::cli(message)
        }
    }

    /// This error, keeping what the run reported before it failed.
    pub fn with_stats(mut self, stats: AgentStats) -> AgentError {
        self.stats = Some(Box::new(stats));
        self
    }
}
