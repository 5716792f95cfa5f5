//! The one error type of agent nodes: a message that names the node and says what to do, and
//! the `error_type` recorded in trace.json and `node_failed` events.

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
}

impl AgentError {
    /// A failure of the Claude CLI or of what it returned.
    pub fn cli(message: impl Into<String>) -> AgentError {
        AgentError {
            message: message.into(),
            error_type: CLI_AGENT_ERROR.to_string(),
        }
    }
}
