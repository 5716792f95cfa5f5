//! Human progress output of a run (`--verbose`) and warnings.
//!
//! Progress goes to stdout like the original's, unless telemetry owns stdout, in which case
//! it moves to stderr so that every stdout line stays an event.

use std::io::Write;

/// Where `--verbose` progress and warnings are written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Console {
    pub verbose: bool,
    /// Telemetry writes to stdout: keep stdout for events only.
    pub stdout_is_telemetry: bool,
}

impl Console {
    /// A `--verbose` progress line.
    pub fn progress(&self, message: impl AsRef<str>) {
        if !self.verbose {
            return;
        }
        if self.stdout_is_telemetry {
            let _ = writeln!(std::io::stderr(), "{}", message.as_ref());
        } else {
            let _ = writeln!(std::io::stdout(), "{}", message.as_ref());
        }
    }

    /// A warning (always stderr).
    pub fn warn(&self, message: impl AsRef<str>) {
        let _ = writeln!(std::io::stderr(), "trident: warning: {}", message.as_ref());
    }
}
