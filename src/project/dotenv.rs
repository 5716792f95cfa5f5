//! The project's `.env` file: `KEY=VALUE` lines, read into a map that overlays the run's
//! environment without overriding variables that are already set (`crate::settings`).

use std::path::Path;

use indexmap::IndexMap;

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

/// Read `root/.env` (none: empty). The values are an overlay for the run's environment
/// (see `crate::settings::Environment`), never written into the process environment.
pub fn load_dotenv(root: &Path) -> IndexMap<String, String> {
    let Ok(text) = std::fs::read_to_string(root.join(".env")) else {
        return IndexMap::new();
    };
    parse_dotenv(&text).into_iter().collect()
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
