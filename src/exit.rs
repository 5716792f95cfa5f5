//! Process exit codes, as documented in FORMAT.md (and 130 for an interrupted run).

/// The exit status of a `trident` invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// The command succeeded.
    Success = 0,
    /// A runtime error (a node failed).
    Runtime = 1,
    /// A parse or validation error (project, flag or input).
    Validation = 2,
    /// A model provider failed.
    Provider = 3,
    /// Timed out waiting for `--wait-for` signals.
    Timeout = 4,
    /// Interrupted by Ctrl-C or SIGTERM.
    Interrupted = 130,
}

impl ExitCode {
    /// The numeric code handed to `std::process::exit`.
    pub fn code(self) -> i32 {
        self as i32
    }
}
