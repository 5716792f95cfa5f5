//! `.prompt` files: YAML frontmatter between `---` lines, then the template body.

use std::path::Path;

use indexmap::IndexMap;
use serde_json::Value;

use super::model::{OutputFormat, PromptFile, PromptInput, SchemaField};
use super::yaml::{as_bool, parse_yaml, type_name};
use crate::error::TridentError;

/// Read and parse a prompt file.
pub fn load_prompt_file(path: &Path) -> Result<PromptFile, TridentError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| TridentError::Parse(format!("Cannot read {}: {e}", path.display())))?;
    parse_prompt(&text, path)
}

/// Split `text` at the first two lines that are exactly `---` (trailing spaces allowed):
/// `(where the frontmatter starts, the frontmatter, the body)`.
fn split_frontmatter(text: &str) -> Option<(usize, &str, &str)> {
    let mut delimiters = Vec::with_capacity(2);
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        if content.starts_with("---") && content[3..].trim().is_empty() {
            delimiters.push((offset, offset + line.len()));
            if delimiters.len() == 2 {
                break;
            }
        }
        offset += line.len();
    }
    if delimiters.len() < 2 {
        return None;
    }
    let front = &text[delimiters[0].1..delimiters[1].0];
    let body = &text[delimiters[1].1..];
    Some((delimiters[0].1, front, body))
}

pub(crate) fn schema_fields(
    spec: &serde_json::Map<String, Value>,
    path: &Path,
    section: &str,
) -> Result<IndexMap<String, SchemaField>, TridentError> {
    let mut fields = IndexMap::new();
    for (name, field) in spec {
        let Value::Object(field) = field else {
            return Err(TridentError::Parse(format!(
                "Invalid schema field '{name}' in {} ({section}): expected a mapping with \
                 'type' and 'description', got {} `{}`. Write it as:\n  {name}:\n    type: \
                 string\n    description: ...",
                path.display(),
                type_name(field),
                crate::project::manifest::scalar_text(field),
            )));
        };
        fields.insert(
            name.clone(),
            SchemaField {
                field_type: field
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("string")
                    .to_string(),
                description: field
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            },
        );
    }
    Ok(fields)
}

/// Parse prompt text (the path is used for messages and kept on the result).
pub fn parse_prompt(text: &str, path: &Path) -> Result<PromptFile, TridentError> {
    let Some((front_start, front, body)) = split_frontmatter(text) else {
        return Err(TridentError::Parse(format!(
            "Invalid .prompt format in {}: missing frontmatter delimiters. A prompt file starts \
             with a `---` line, the YAML frontmatter (at least `id:`), another `---` line, then \
             the template.",
            path.display()
        )));
    };
    // Pad the frontmatter with the lines before it, so YAML errors report file lines.
    // (Found by fuzzing: this was cut at `len - front - body`, inside a multi-byte
    // character when the frontmatter held one: a panic.)
    let lines_before = text[..front_start].lines().count();
    let padded = format!("{}{front}", "\n".repeat(lines_before));
    let fm = parse_yaml(&padded, path)?;
    let Value::Object(fm) = fm else {
        return Err(TridentError::Parse(format!(
            "Invalid frontmatter in {}: expected a mapping of keys (id, input, output...), got a \
             {}",
            path.display(),
            type_name(&fm)
        )));
    };
    let id = match fm.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(v @ Value::Number(_)) => v.to_string(),
        Some(v) if !v.is_null() => {
            return Err(TridentError::Parse(format!(
                "Invalid 'id' in {}: expected a name like `id: greet`, got {} `{v}`.",
                path.display(),
                type_name(v)
            )));
        }
        _ => {
            return Err(TridentError::Parse(format!(
                "Missing required 'id' in {}: add `id: <node_id>` to the frontmatter.",
                path.display()
            )));
        }
    };
    let text_of = |key: &str| {
        fm.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let temperature = match fm.get("temperature") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_f64().ok_or_else(|| {
            TridentError::Parse(format!(
                "Invalid temperature {v} in {}: use a number such as 0.7.",
                path.display()
            ))
        })?),
    };
    let max_tokens = match fm.get("max_tokens") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
            TridentError::Parse(format!(
                "Invalid max_tokens {v} in {}: use a positive whole number such as 1024.",
                path.display()
            ))
        })?),
    };

    let mut inputs = IndexMap::new();
    if let Some(Value::Object(spec)) = fm.get("input") {
        for (name, field) in spec {
            let input = match field {
                Value::Object(f) => PromptInput {
                    name: name.clone(),
                    field_type: f
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("string")
                        .to_string(),
                    description: f
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    required: f.get("required").and_then(as_bool).unwrap_or(true),
                    default: f.get("default").cloned().unwrap_or(Value::Null),
                },
                _ => PromptInput {
                    name: name.clone(),
                    field_type: "string".into(),
                    description: String::new(),
                    required: true,
                    default: Value::Null,
                },
            };
            inputs.insert(name.clone(), input);
        }
    }

    let mut output_format = OutputFormat::Text;
    let mut output_fields = IndexMap::new();
    if let Some(Value::Object(out)) = fm.get("output") {
        match out.get("format").and_then(Value::as_str) {
            None | Some("text") => {}
            Some("json") => output_format = OutputFormat::Json,
            Some(other) => {
                return Err(TridentError::Parse(format!(
                    "Invalid output format '{other}' in {}: use `format: text` or `format: json`.",
                    path.display()
                )));
            }
        }
        // `schema` is the documented key; `fields` is accepted as an alias (some projects,
        // such as the original's browser-mcp example, use it).
        if let Some(Value::Object(spec)) = out.get("schema").or_else(|| out.get("fields")) {
            output_fields = schema_fields(spec, path, "output.schema")?;
        }
    }

    Ok(PromptFile {
        id,
        name: text_of("name"),
        description: text_of("description"),
        model: fm.get("model").and_then(Value::as_str).map(str::to_string),
        temperature,
        max_tokens,
        inputs,
        output_format,
        output_fields,
        body: body.trim().to_string(),
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_frontmatter_is_parsed_not_cut_inside_a_character() {
        let text = "---\nid:\u{6dc}schema  mossage&---\nid: 'posilassify\n---\nbody\n";
        assert!(parse_prompt(text, Path::new("p.prompt")).is_err());
        let p = parse_prompt("notes\n---\nid: é\n---\nHi {{ x }}", Path::new("p.prompt")).unwrap();
        assert_eq!((p.id.as_str(), p.body.as_str()), ("é", "Hi {{ x }}"));
        // YAML errors name file lines: one more line before the `---`, one line later.
        let line = |text: &str| {
            let error = parse_prompt(text, Path::new("p.prompt"))
                .unwrap_err()
                .to_string();
            let at = error.find("line ").expect("a line number") + 5;
            error[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        };
        let first = line("---\nid: x\n@bad\n---\nx");
        assert_eq!(line("note\n---\nid: x\n@bad\n---\nx"), first + 1);
        assert_eq!(first, 3, "the bad line is the file's third");
    }

    #[test]
    fn parses_frontmatter_and_body() {
        let p = parse_prompt(
            "---\nid: greet\nmodel: openai/gpt-4o\ninput:\n  name: {type: string}\noutput:\n  format: json\n  schema:\n    a: {type: number, description: x}\n---\nHello {{ name }}\n---\nmore\n",
            Path::new("greet.prompt"),
        )
        .unwrap();
        assert_eq!(p.id, "greet");
        assert_eq!(p.model.as_deref(), Some("openai/gpt-4o"));
        assert_eq!(p.output_format, OutputFormat::Json);
        assert_eq!(p.output_fields["a"].field_type, "number");
        assert_eq!(p.body, "Hello {{ name }}\n---\nmore");
        assert!(p.inputs["name"].required);
    }

    #[test]
    fn rejects_missing_delimiters_and_id() {
        let e = parse_prompt("hello", Path::new("x.prompt")).unwrap_err();
        assert!(e.to_string().contains("missing frontmatter"));
        let e = parse_prompt("---\nname: x\n---\nbody", Path::new("x.prompt")).unwrap_err();
        assert!(e.to_string().contains("Missing required 'id' in x.prompt"));
    }

    #[test]
    fn rejects_bad_scalars() {
        for (front, needle) in [
            ("id: [1]", "Invalid 'id'"),
            ("id: a\ntemperature: hot", "Invalid temperature"),
            ("id: a\nmax_tokens: -5", "Invalid max_tokens"),
            (
                "id: a\noutput: {format: yaml}",
                "Invalid output format 'yaml'",
            ),
        ] {
            let e = parse_prompt(&format!("---\n{front}\n---\nb"), Path::new("a.prompt"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle) && e.contains("a.prompt"), "{e}");
        }
    }

    #[test]
    fn rejects_shorthand_schema() {
        let e = parse_prompt(
            "---\nid: a\noutput:\n  format: json\n  schema:\n    x: string, the x\n---\nb",
            Path::new("a.prompt"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("Invalid schema field 'x'"), "{e}");
    }
}
