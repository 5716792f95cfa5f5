//! The project's `.env` file: `KEY=VALUE` lines, read into a map that overlays the run's
//! environment without overriding variables that are already set (`crate::settings`).
//!
//! A line no process environment can hold (a NUL byte in its key or value, or a key that is
//! empty after `export `) is an error naming the file and line, raised when the project
//! loads: such a value would otherwise fail every tool, agent or triggered run it reaches.

use std::path::Path;

use indexmap::IndexMap;

use crate::error::TridentError;

/// A `.env` line that cannot be an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvLineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it, and the fix.
    pub message: String,
}

/// Parse `.env` text into `(key, value)` pairs: blank lines and `#` comments skipped,
/// lines without `=` ignored, an optional `export ` prefix tolerated, matching quotes
/// stripped. A NUL byte in a key or value is an error (environment strings are C strings).
pub fn parse_dotenv(text: &str) -> Result<Vec<(String, String)>, DotenvLineError> {
    let mut pairs = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let key = key.strip_prefix("export ").unwrap_or(key).trim();
        let mut value = value.trim();
        if value.len() >= 2
            && ((value.starts_with('"') && value.ends_with('"'))
                || (value.starts_with('\'') && value.ends_with('\'')))
        {
            value = &value[1..value.len() - 1];
        }
        if key.contains('\0') || value.contains('\0') {
            let part = if key.contains('\0') { "key" } else { "value" };
            return Err(DotenvLineError {
                line: index + 1,
                message: format!(
                    "the {part} holds a NUL byte, which no environment variable can contain; \
                     remove it"
                ),
            });
        }
        if !key.is_empty() {
            pairs.push((key.to_string(), value.to_string()));
        }
    }
    Ok(pairs)
}

/// Read `root/.env` (none: empty). The values are an overlay for the run's environment
/// (see `crate::settings::Environment`), never written into the process environment. A file
/// that exists but cannot be read as UTF-8 text, or a line with a NUL byte, is a parse error
/// naming the file (and line).
pub fn load_dotenv(root: &Path) -> Result<IndexMap<String, String>, TridentError> {
    let path = root.join(".env");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(IndexMap::new()),
        Err(e) => {
            return Err(TridentError::Parse(format!(
                "Cannot read {}: {e}. Make it UTF-8 text of KEY=VALUE lines, or remove it.",
                path.display()
            )));
        }
    };
    match parse_dotenv(&text) {
        Ok(pairs) => Ok(first_of_each_key(pairs)),
        Err(e) => Err(TridentError::Parse(format!(
            "{}:{}: {}",
            path.display(),
            e.line,
            e.message
        ))),
    }
}

/// The pairs as a map, a key given twice keeping its first value: the original set each
/// line's variable only when not already set, so its first line won.
fn first_of_each_key(pairs: Vec<(String, String)>) -> IndexMap<String, String> {
    let mut map = IndexMap::with_capacity(pairs.len());
    for (key, value) in pairs {
        map.entry(key).or_insert(value);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_given_twice_keeps_its_first_value() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "A=first\nB=1\nA=second\n").unwrap();
        let env = load_dotenv(dir.path()).unwrap();
        assert_eq!(env["A"], "first");
        assert_eq!(env["B"], "1");
    }

    #[test]
    fn parses_quotes_comments_and_export() {
        let pairs =
            parse_dotenv("# c\n\nA=1\nexport B = \"two words\"\nC='x'\nnoequals\n").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x".into())
            ]
        );
    }

    #[test]
    fn a_nul_byte_in_a_key_or_value_names_the_line() {
        let value = parse_dotenv("A=1\nB=\0\n").unwrap_err();
        assert_eq!(value.line, 2);
        assert!(
            value.message.contains("value holds a NUL byte"),
            "{value:?}"
        );
        let key = parse_dotenv("# c\n\nA\0B=1\n").unwrap_err();
        assert_eq!(key.line, 3);
        assert!(key.message.contains("key holds a NUL byte"), "{key:?}");
        // A NUL in a comment or a line without `=` is ignored like the line.
        assert!(parse_dotenv("# \0\nno\0equals\n").unwrap().is_empty());
    }
}
