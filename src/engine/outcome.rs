//! What a run produced: its outputs and trace, and its first failed node if any.

use crate::artifacts::{RunOutputs, Trace};
use crate::exit::ExitCode;
use crate::project::NodeKind;

/// The failure of a run: its first failed node.
#[derive(Debug, Clone)]
pub struct RunError {
    pub node_id: String,
    pub node_type: NodeKind,
    /// The node's own error message.
    pub message: String,
    /// The error type (`ProviderError`, `ToolError`...).
    pub cause_type: String,
    pub exit: ExitCode,
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Node '{}' ({}) failed: {}",
            self.node_id, self.node_type, self.message
        )
    }
}

/// What a run produced (always returned once the run started, even on failure).
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub run_id: String,
    pub outputs: RunOutputs,
    pub trace: Trace,
    pub error: Option<RunError>,
    /// Where the run's artifacts are (`None` with `--no-artifacts`).
    pub run_dir: Option<std::path::PathBuf>,
    /// `--resume` of a run that had completed: nothing ran, nothing was rewritten; the
    /// outputs and trace are the saved ones.
    pub already_completed: bool,
}

impl RunOutcome {
    /// Completed without a failed node.
    pub fn success(&self) -> bool {
        self.error.is_none()
    }
}
