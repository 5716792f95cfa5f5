//! The failure of one node: its message, the error type recorded in trace.json
//! (`error_type`, the original's exception class names) and the exit code it maps to.

use crate::exit::ExitCode;

/// Why a node failed.
#[derive(Debug, Clone)]
pub struct NodeError {
    pub message: String,
    /// e.g. `SchemaValidationError`, `ProviderError`, `ToolError`, `BranchError`.
    pub error_type: String,
    pub exit: ExitCode,
}

impl NodeError {
    /// A runtime failure (exit 1) of the given type.
    pub fn new(error_type: &str, message: impl Into<String>) -> NodeError {
        NodeError {
            message: message.into(),
            error_type: error_type.to_string(),
            exit: ExitCode::Runtime,
        }
    }

    /// A generic runtime failure.
    pub fn runtime(message: impl Into<String>) -> NodeError {
        NodeError::new("TridentError", message)
    }

    /// A provider failure (exit 3).
    pub fn provider(message: impl Into<String>) -> NodeError {
        NodeError {
            message: message.into(),
            error_type: "ProviderError".into(),
            exit: ExitCode::Provider,
        }
    }
}

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
