//! Run inputs from `-i JSON`, `-f FILE` or `--input-from file|alias:NAME|run:ID` (first one
//! given wins, in that order). Every failure names the flag and is a validation error.

use std::path::Path;

use serde_json::{Map, Value};

use crate::cli::RunArgs;
use crate::error::TridentError;
use crate::fields::{FieldMap, HELD_AS_TEXT_FROM, read_object};
use crate::settings::MAX_INPUT_SIZE_VAR;
use crate::telemetry::values::format_size;

fn object(value: Value, origin: &str) -> Result<Map<String, Value>, TridentError> {
    match value {
        Value::Object(o) => Ok(o),
        other => Err(TridentError::Validation(format!(
            "{origin} must be a JSON object of inputs, like '{{\"name\": \"Ada\"}}', got {}",
            match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            }
        ))),
    }
}

/// Inputs from JSON text as the run holds them: big inputs (from
/// [`HELD_AS_TEXT_FROM`] bytes) as checked text, parsed only if a node reads them; a
/// validation error naming `origin` (the flag) when the text is not a JSON object.
pub fn read_inputs(text: &str, origin: &str) -> Result<FieldMap, TridentError> {
    if text.len() >= HELD_AS_TEXT_FROM
        && let Some(held) = read_object(text)
    {
        return Ok(held);
    }
    parse_inputs(text, origin).map(FieldMap::from)
}

/// Inputs from JSON text: an object, or a validation error naming `origin` (the flag).
pub fn parse_inputs(text: &str, origin: &str) -> Result<Map<String, Value>, TridentError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        TridentError::Validation(format!(
            "Invalid JSON in {origin}: {e}. Pass a JSON object, e.g. -i '{{\"name\": \"Ada\"}}'."
        ))
    })?;
    object(value, origin)
}

fn read(path: &Path, origin: &str, max_bytes: u64) -> Result<FieldMap, TridentError> {
    // Refused before it is read: parsed JSON takes several times its size in memory.
    if let Ok(meta) = std::fs::metadata(path)
        && meta.len() > max_bytes
    {
        return Err(TridentError::Validation(format!(
            "{origin} file {} is {} bytes, more than the {} a run reads as input \
             ({MAX_INPUT_SIZE_VAR}); raise {MAX_INPUT_SIZE_VAR}, or pass a smaller input.",
            path.display(),
            meta.len(),
            format_size(max_bytes)
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        TridentError::Validation(format!(
            "Input source not found: {} ({origin}: {e}). Check the path.",
            path.display()
        ))
    })?;
    read_inputs(&text, &format!("{origin} file {}", path.display()))
}

/// Resolve `--input-from`: a file (relative to the project root), `alias:NAME` or `run:ID`.
pub fn resolve_input_source(
    source: &str,
    project_root: &Path,
    max_bytes: u64,
) -> Result<FieldMap, TridentError> {
    let path = if let Some(alias) = source.strip_prefix("alias:") {
        project_root
            .join(".trident")
            .join("outputs")
            .join(format!("{alias}.json"))
    } else if let Some(run) = source.strip_prefix("run:") {
        let base = project_root.join(".trident");
        let run = crate::artifacts::RunIndexFile::new(&base)
            .resolve(run)
            .map_err(|e| TridentError::Validation(format!("--input-from {source}: {e}.")))?;
        base.join("runs").join(run).join("outputs.json")
    } else {
        let p = Path::new(source);
        if p.is_absolute() || p.exists() {
            p.to_path_buf()
        } else {
            project_root.join(p)
        }
    };
    read(&path, "--input-from", max_bytes)
}

/// The run's inputs from the flags (empty when none is given); an input file over
/// `max_bytes` is refused before it is read.
pub fn run_inputs(
    args: &RunArgs,
    project_root: &Path,
    max_bytes: u64,
) -> Result<FieldMap, TridentError> {
    if let Some(json) = &args.input {
        return read_inputs(json, "--input");
    }
    if let Some(file) = &args.input_file {
        return read(file, "--input-file", max_bytes);
    }
    if let Some(source) = &args.input_from {
        return resolve_input_source(source, project_root, max_bytes);
    }
    Ok(FieldMap::default())
}
