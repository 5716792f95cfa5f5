//! The error type shared by every area of the runtime and its mapping to exit codes.
//!
//! Errors carry the file, node, edge or flag they are about in their message; they are
//! printed exactly once, at the top (`lib::run_cli`).

use crate::exit::ExitCode;

/// Every error the runtime can report, classified by the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum TridentError {
    /// A project file could not be read or parsed (exit 2).
    #[error("{0}")]
    Parse(String),
    /// The project, a flag or an input is invalid (exit 2).
    #[error("{0}")]
    Validation(String),
    /// A failure while running (exit 1).
    #[error("{0}")]
    Runtime(String),
    /// A model provider failed (exit 3).
    #[error("{0}")]
    Provider(String),
    /// Waiting for signals timed out (exit 4).
    #[error("{0}")]
    Timeout(String),
    /// The run was interrupted by Ctrl-C or SIGTERM (exit 130).
    #[error("interrupted")]
    Interrupted,
}

impl TridentError {
    /// The process exit code this error maps to.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            TridentError::Parse(_) | TridentError::Validation(_) => ExitCode::Validation,
            TridentError::Runtime(_) => ExitCode::Runtime,
            TridentError::Provider(_) => ExitCode::Provider,
            TridentError::Timeout(_) => ExitCode::Timeout,
            TridentError::Interrupted => ExitCode::Interrupted,
        }
    }
}

/// Shorthand for results carrying a [`TridentError`].
pub type Result<T, E = TridentError> = std::result::Result<T, E>;
