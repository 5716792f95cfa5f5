//! `TRIDENT_MAX_OUTPUT_SIZE`: the most bytes a program a node runs may hand to trident in
//! one piece — a shell tool's stdout (its result), a python tool's result or one
//! `trident_tool.emit` event, one `$TRIDENT_EVENTS` line, one Claude CLI `stream-json` line.
//! Over it the piece is refused (the node fails, or the line is skipped and reported) before
//! it is held in memory; what tools print as diagnostics is kept as a tail of this size.
//! Resolved once with the run's settings ([`crate::settings::RunSettings`]) and passed down.

use crate::telemetry::values::format_size;

/// The environment variable setting the limit (a size: `64MB`, `1GB`, `500KB`).
pub const MAX_OUTPUT_SIZE_VAR: &str = "TRIDENT_MAX_OUTPUT_SIZE";

/// The default limit: 64 MB.
pub const DEFAULT_MAX_OUTPUT_SIZE: usize = 64 << 20;

/// The smallest limit accepted: a smaller one would refuse ordinary protocol lines.
pub const MIN_MAX_OUTPUT_SIZE: usize = 1 << 10;

/// The largest piece of program output trident takes in, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit(usize);

impl Default for OutputLimit {
    fn default() -> Self {
        OutputLimit(DEFAULT_MAX_OUTPUT_SIZE)
    }
}

impl OutputLimit {
    /// A limit of `bytes` (at least [`MIN_MAX_OUTPUT_SIZE`]).
    pub fn new(bytes: u64) -> OutputLimit {
        let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        OutputLimit(bytes.max(MIN_MAX_OUTPUT_SIZE))
    }

    /// The limit in bytes.
    pub fn bytes(self) -> usize {
        self.0
    }

    /// Whether `size` bytes are over the limit.
    pub fn exceeded_by(self, size: usize) -> bool {
        size > self.0
    }

    /// `64MB (TRIDENT_MAX_OUTPUT_SIZE)`, for messages.
    pub fn describe(self) -> String {
        format!("{} ({MAX_OUTPUT_SIZE_VAR})", format_size(self.0 as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_at_least_the_minimum_and_described_with_their_variable() {
        assert_eq!(OutputLimit::default().bytes(), 64 << 20);
        assert_eq!(OutputLimit::new(3).bytes(), MIN_MAX_OUTPUT_SIZE);
        assert_eq!(
            OutputLimit::new(2 << 20).describe(),
            "2MB (TRIDENT_MAX_OUTPUT_SIZE)"
        );
        assert!(OutputLimit::new(2048).exceeded_by(2049));
        assert!(!OutputLimit::new(2048).exceeded_by(2048));
    }
}
