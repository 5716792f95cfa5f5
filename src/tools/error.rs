//! [`ToolError`]: why a tool node failed, with the Python exception class when there is one,
//! and the tail of the tool's stderr as context.

/// How many trailing stderr lines a failure message carries.
const STDERR_TAIL_LINES: usize = 10;

/// Longest stderr line (in characters) kept in a failure message; longer lines are cut.
const STDERR_LINE_MAX_CHARS: usize = 400;

/// A tool node failed.
///
/// `message` names the tool and says what went wrong (and, where it helps, how to fix it); its
/// first line is the headline, further lines are context such as the tool's last stderr lines.
/// `error_type` is the Python exception class (`"ValueError"`, `"ModuleNotFoundError"`, ...)
/// when the tool's own code raised, and `"ToolError"` for every failure of the runtime around it
/// (missing module file or function, no `python3`, timeout, non-zero shell exit, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    pub message: String,
    pub error_type: String,
}

impl ToolError {
    /// The `error_type` of failures that are not a Python exception raised by the tool.
    pub const GENERIC_TYPE: &'static str = "ToolError";

    /// A failure of the runtime around the tool (`error_type` = `"ToolError"`).
    pub fn new(message: impl Into<String>) -> Self {
        ToolError {
            message: message.into(),
            error_type: Self::GENERIC_TYPE.to_string(),
        }
    }

    /// An exception of class `error_type` raised by the tool's own Python code.
    pub fn python_exception(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        ToolError {
            message: message.into(),
            error_type: error_type.into(),
        }
    }

    /// Appends the last lines of the tool's stderr (if it wrote any) to the message.
    pub fn with_stderr_tail(mut self, stderr: &[u8]) -> Self {
        let text = String::from_utf8_lossy(stderr);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim_end)
            .filter(|line| !line.is_empty())
            .collect();
        if lines.is_empty() {
            return self;
        }
        let tail = &lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..];
        self.message.push_str(&format!(
            "\n  stderr (last {} line{}):",
            tail.len(),
            if tail.len() == 1 { "" } else { "s" }
        ));
        for line in tail {
            self.message.push_str("\n    ");
            self.message.push_str(&shorten(line));
        }
        self
    }
}

/// `line`, cut to [`STDERR_LINE_MAX_CHARS`] characters (on a character boundary).
fn shorten(line: &str) -> String {
    match line.char_indices().nth(STDERR_LINE_MAX_CHARS) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_errors_are_typed_tool_error() {
        let error = ToolError::new("it broke");
        assert_eq!(error.error_type, "ToolError");
        assert_eq!(error.to_string(), "it broke");
    }

    #[test]
    fn stderr_tail_keeps_only_the_last_non_empty_lines() {
        let stderr: String = (1..=15).map(|n| format!("line {n}\n\n")).collect();
        let error = ToolError::new("failed").with_stderr_tail(stderr.as_bytes());
        assert!(
            error
                .message
                .starts_with("failed\n  stderr (last 10 lines):\n    line 6\n")
        );
        assert!(error.message.ends_with("    line 15"));
        assert!(!error.message.contains("line 5\n"));
    }

    #[test]
    fn empty_stderr_adds_nothing_and_long_lines_are_cut() {
        assert_eq!(ToolError::new("x").with_stderr_tail(b" \n\n").message, "x");
        let long = "é".repeat(1000);
        let error = ToolError::new("x").with_stderr_tail(long.as_bytes());
        assert!(error.message.ends_with("..."));
        assert!(error.message.chars().count() < 500);
    }
}
