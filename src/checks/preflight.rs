//! Pre-flight checks of a loaded project, run by `trident project validate` and by
//! `trident project run` before any node starts: mistakes that would otherwise surface in
//! the middle of a run (or never, as a silently wrong result).
//!
//! - an edge endpoint declared nowhere (it becomes an implicit input/output node, as in the
//!   original): a warning suggesting the closest declared node;
//! - a `{{ var }}` in a prompt or agent template that is neither a declared input nor the
//!   target of an incoming mapping: a warning;
//! - a shell tool placeholder that no incoming edge maps: an error (the node cannot run);
//! - a python tool whose module is missing, is not valid Python or defines no such function
//!   (read statically by `tools::introspect`): an error;
//! - run inputs against the input nodes' schemas: a missing `required: true` field or a
//!   value of the wrong type is an error, another missing field a warning;
//! - every provider a real run will call has its key/endpoint: an error otherwise.
//!
//! With `--strict`, `validate` turns every warning into an error.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::validate::{ValidationReport, ValidationWarning};
use crate::dag::Dag;
use crate::fields::{FieldMap, FieldRef};
use crate::project::model::{NodeKind, Project};
use crate::template::variable_names;
use crate::tools::SignatureCheck;

/// The python tools' signatures, read statically (`ast`, one interpreter for the whole
/// project, never importing user code), with `interpreter` as `TRIDENT_PYTHON` gives it.
pub fn tool_signatures(
    project: &Project,
    interpreter: Option<std::ffi::OsString>,
) -> HashMap<String, SignatureCheck> {
    let pool = crate::tools::PythonPool::new(interpreter);
    crate::tools::introspect::python_signatures(
        &pool.interpreter(&project.root),
        &project.root,
        project.tools.values(),
    )
}

/// Every project-level pre-flight check (not the inputs or providers of one run), with the
/// python tools' `signatures` from [`tool_signatures`].
pub fn check_project(
    project: &Project,
    dag: &Dag,
    signatures: &HashMap<String, SignatureCheck>,
) -> ValidationReport {
    let mut report = ValidationReport::default();
    report.warnings.extend(implicit_node_warnings(project));
    report
        .warnings
        .extend(template_variable_warnings(project, dag));
    report.errors.extend(shell_placeholder_errors(project, dag));
    // A python tool whose module is missing, is not valid Python or defines no such
    // function cannot run.
    for tool in project.tools.values() {
        if let Some(SignatureCheck::Problem(message)) = signatures.get(&tool.id) {
            report
                .errors
                .push(format!("{}: {message}", project.manifest_path.display()));
        }
    }
    report
}

/// Levenshtein distance between two short names.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// The declared node closest to `name`, if it is close enough to be a typo of it.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    candidates
        .map(|c| (distance(name, c), c))
        .filter(|(d, c)| *d <= (name.chars().count().max(c.chars().count()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn implicit_node_warnings(project: &Project) -> Vec<ValidationWarning> {
    let declared: Vec<String> = project
        .all_nodes()
        .into_keys()
        .filter(|id| !project.implicit_nodes.contains(id))
        .collect();
    let mut warnings = Vec::new();
    for id in &project.implicit_nodes {
        let kind = if project.inputs.contains_key(id) {
            "input"
        } else {
            "output"
        };
        let Some(edge) = project
            .edges
            .values()
            .find(|e| &e.from == id || &e.to == id)
        else {
            continue;
        };
        let hint = match closest(id, declared.iter()) {
            Some(near) => format!("did you mean '{near}'?"),
            None => format!("declare it under `nodes:` (type: {kind}) if that is what you mean"),
        };
        warnings.push(ValidationWarning {
            message: format!(
                "Node '{id}' is declared nowhere: the edge makes it an implicit {kind} node; \
                 {hint}"
            ),
            edge_id: Some(edge.id.clone()),
        });
    }
    warnings
}

/// The input names incoming edges map into `node_id`.
fn mapped_inputs<'p>(project: &'p Project, dag: &Dag, node_id: &str) -> Vec<&'p str> {
    dag.incoming(project, node_id)
        .into_iter()
        .flat_map(|e| e.mappings.iter().map(|m| m.target.as_str()))
        .collect()
}

fn template_variable_warnings(project: &Project, dag: &Dag) -> Vec<ValidationWarning> {
    let mut warnings = Vec::new();
    for (id, node) in &dag.nodes {
        let prompt = match node.kind {
            NodeKind::Prompt => project.prompts.get(id).cloned(),
            NodeKind::Agent => project.agents.get(id).and_then(|a| {
                crate::project::prompt::load_prompt_file(&project.root.join(&a.prompt_path)).ok()
            }),
            _ => None,
        };
        let Some(prompt) = prompt else {
            continue;
        };
        let mapped = mapped_inputs(project, dag, id);
        for name in variable_names(&prompt.body) {
            if prompt.inputs.contains_key(name) || mapped.contains(&name) {
                continue;
            }
            warnings.push(ValidationWarning {
                message: format!(
                    "{}: the template of {} '{id}' uses {{{{ {name} }}}}, which is neither a \
                     declared input nor mapped by an edge into '{id}': it would be left as \
                     written. Declare it under `input:` and map it, or fix the name.",
                    prompt.path.display(),
                    node.kind
                ),
                edge_id: None,
            });
        }
    }
    warnings
}

fn shell_placeholder_errors(project: &Project, dag: &Dag) -> Vec<String> {
    let mut errors = Vec::new();
    for tool in project.tools.values().filter(|t| t.tool_type == "shell") {
        let Some(command) = &tool.command else {
            continue;
        };
        let mapped = mapped_inputs(project, dag, &tool.id);
        for name in variable_names(command) {
            if !mapped.contains(&name) {
                errors.push(format!(
                    "{}: shell tool '{}' uses {{{{ {name} }}}} in its command, but no edge into \
                     '{}' maps an input named '{name}' (mapped: {}). Add `{name}: <field>` to \
                     the mapping of an edge into '{}', or fix the placeholder.",
                    project.manifest_path.display(),
                    tool.id,
                    tool.id,
                    if mapped.is_empty() {
                        "none".to_string()
                    } else {
                        mapped.join(", ")
                    },
                    tool.id
                ));
            }
        }
    }
    errors
}

/// Whether `value` fits a schema `type` (unknown types accept anything).
fn has_type(value: &Value, field_type: &str) -> bool {
    match field_type {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

/// The run's inputs against every input node's schema (`origin` names where they came
/// from, e.g. `-i`): a missing `required: true` field or a value of the wrong type is an
/// error, another missing field a warning.
pub fn check_inputs(project: &Project, inputs: &FieldMap, origin: &str) -> ValidationReport {
    let mut report = ValidationReport::default();
    for node in project.inputs.values() {
        for (name, field) in &node.schema {
            // Held text is not parsed: a scalar is, an array or object is known by its bracket.
            let found = inputs.field(name);
            let value = found.map(|found| match found {
                FieldRef::Value(value) => Cow::Borrowed(value),
                FieldRef::Raw(raw) => Cow::Owned(match raw.get().trim_start().as_bytes()[0] {
                    b'[' => Value::Array(Vec::new()),
                    b'{' => Value::Object(Map::new()),
                    _ => found.to_value(),
                }),
            });
            match value.as_deref() {
                None | Some(Value::Null) if node.required.contains(name) => {
                    report.errors.push(format!(
                        "Input '{name}' of node '{}' is required ({}: {}) but missing from the \
                         inputs{origin}. Pass it, e.g. -i '{{\"{name}\": ...}}'.",
                        node.id, field.field_type, field.description
                    ));
                }
                None | Some(Value::Null) => report.warnings.push(ValidationWarning {
                    message: format!(
                        "Input '{name}' of node '{}' ({}) is missing from the inputs{origin}; \
                         nodes mapping it get null. Mark it `required: true` in the schema to \
                         make this an error.",
                        node.id, field.field_type
                    ),
                    edge_id: None,
                }),
                Some(value) if !has_type(value, &field.field_type) => {
                    let value = found.map_or(Value::Null, FieldRef::to_value);
                    report.errors.push(format!(
                        "Input '{name}' of node '{}' must be {} {}, got `{value}`{origin}. Fix \
                         its value.",
                        node.id,
                        if field.field_type.starts_with(['a', 'e', 'i', 'o', 'u']) {
                            "an"
                        } else {
                            "a"
                        },
                        field.field_type
                    ));
                }
                Some(_) => {}
            }
        }
    }
    report
}

/// The models the prompt nodes of `project` call, each with the first node using it.
pub fn prompt_models(project: &Project, dag: &Dag) -> Vec<(String, String)> {
    let mut models: Vec<(String, String)> = Vec::new();
    for (id, node) in &dag.nodes {
        if node.kind != NodeKind::Prompt {
            continue;
        }
        let Some(model) = project
            .prompts
            .get(id)
            .and_then(|p| p.model.clone())
            .or_else(|| project.defaults.model.clone())
        else {
            continue;
        };
        if !models.iter().any(|(m, _)| *m == model) {
            models.push((model, id.clone()));
        }
    }
    models
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_name_is_a_plausible_typo_only() {
        let names = ["output".to_string(), "summarize".to_string()];
        assert_eq!(closest("ouput", names.iter()), Some(&names[0]));
        assert_eq!(closest("summarise", names.iter()), Some(&names[1]));
        assert_eq!(closest("report", names.iter()), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn input_types() {
        assert!(has_type(&serde_json::json!(3), "integer"));
        assert!(!has_type(&serde_json::json!(3.5), "integer"));
        assert!(has_type(&serde_json::json!(3.5), "number"));
        assert!(!has_type(&serde_json::json!("3"), "number"));
        assert!(has_type(&serde_json::json!("x"), "enum-like"));
    }
}
