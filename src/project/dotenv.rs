//! The project's `.env` file: `KEY=VALUE` lines loaded into the environment without
//! overriding variables that are already set.

use std::path::Path;

/// Parse `.env` text into `(key, value)` pairs: blank lines and `#` comments skipped,
/// an optional `export ` prefix tolerated, matching quotes stripped.
pub fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for line in text.lines() {
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
        if !key.is_empty() {
            pairs.push((key.to_string(), value.to_string()));
        }
    }
    pairs
}

/// Load `root/.env` into the process environment (never overriding) and return every
/// value it holds, so telemetry can redact them.
pub fn load_dotenv(root: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(root.join(".env")) else {
        return Vec::new();
    };
    let mut values = Vec::new();
    for (key, value) in parse_dotenv(&text) {
        if std::env::var_os(&key).is_none() {
            // SAFETY: called while loading the project, before the engine starts threads
            // that read the environment.
            unsafe { std::env::set_var(&key, &value) };
        }
        if !value.is_empty() {
            values.push(value);
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quotes_comments_and_export() {
        let pairs = parse_dotenv("# c\n\nA=1\nexport B = \"two words\"\nC='x'\nnoequals\n");
        assert_eq!(
            pairs,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x".into())
            ]
        );
    }
}
