//! Whether output gets colours: the one rule for every command that writes to a terminal
//! (the telemetry stream's human format, `project show`, `telemetry stats`, `telemetry
//! tail`, `project watch`): only on a terminal, never with `NO_COLOR` set to anything but
//! the empty string (<https://no-color.org>), never when `TERM` is `dumb`.

use std::io::IsTerminal;

/// Whether colours are allowed at all, given `NO_COLOR` and `TERM`.
pub fn colours_allowed(no_color: Option<&str>, term: Option<&str>) -> bool {
    no_color.is_none_or(str::is_empty) && term != Some("dumb")
}

/// Whether output to a terminal (`is_terminal`) gets colours.
pub fn colours_for(is_terminal: bool, no_color: Option<&str>, term: Option<&str>) -> bool {
    is_terminal && colours_allowed(no_color, term)
}

/// Whether this process's stdout gets colours (reads `NO_COLOR` and `TERM`: call it once,
/// where a command starts).
pub fn stdout_colours() -> bool {
    let var = |name: &str| std::env::var(name).ok();
    colours_for(
        std::io::stdout().is_terminal(),
        var("NO_COLOR").as_deref(),
        var("TERM").as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_only_on_a_terminal_without_no_color_or_a_dumb_term() {
        assert!(colours_for(true, None, Some("xterm-256color")));
        assert!(colours_for(true, Some(""), None));
        assert!(!colours_for(false, None, None));
        assert!(!colours_for(true, Some("1"), None));
        assert!(!colours_for(true, None, Some("dumb")));
        assert!(colours_allowed(None, Some("xterm")));
        assert!(!colours_allowed(Some("yes"), Some("xterm")));
    }
}
