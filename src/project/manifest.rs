//! The manifest (`agent.tml`): turning its YAML into the [`Project`] model, with the
//! validation errors FORMAT.md lists (each naming the file and node or edge, and the fix).

use std::path::Path;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::agent_settings;
use super::model::*;
use super::prompt::schema_fields;
use super::yaml::{as_bool, type_name};
use crate::error::TridentError;
use crate::expr::ParsedCondition;
use crate::pricing::{PriceTable, parse_pricing};

/// A scalar as text (`"a"` -> `a`, `3` -> `3`, `true` -> `true`), JSON for anything else.
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn opt_text(spec: &Map<String, Value>, key: &str) -> Option<String> {
    spec.get(key).filter(|v| !v.is_null()).map(scalar_text)
}

fn invalid(path: &Path, msg: String) -> TridentError {
    TridentError::Validation(format!("{}: {msg}", path.display()))
}

/// A number field: absent or null is `None`; a value `read` refuses is an error naming
/// `owner`, the key and `expected` (what to write instead).
fn opt_number<T>(
    spec: &Map<String, Value>,
    key: &str,
    owner: &str,
    path: &Path,
    read: impl Fn(&Value) -> Option<T>,
    expected: &str,
) -> Result<Option<T>, TridentError> {
    match spec.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => read(v).map(Some).ok_or_else(|| {
            invalid(
                path,
                format!(
                    "{owner}: `{key}` must be {expected}, got {} `{}`.",
                    type_name(v),
                    scalar_text(v)
                ),
            )
        }),
    }
}

/// A whole-number field (`max_iterations`, `max_turns`, `max_tokens`).
fn opt_u64(
    spec: &Map<String, Value>,
    key: &str,
    owner: &str,
    path: &Path,
) -> Result<Option<u64>, TridentError> {
    opt_number(
        spec,
        key,
        owner,
        path,
        Value::as_u64,
        "a whole number such as 5",
    )
}

/// A non-negative number field (`timeout`, `temperature`).
fn opt_f64(
    spec: &Map<String, Value>,
    key: &str,
    owner: &str,
    path: &Path,
) -> Result<Option<f64>, TridentError> {
    let read = |v: &Value| v.as_f64().filter(|n| *n >= 0.0);
    opt_number(
        spec,
        key,
        owner,
        path,
        read,
        "a non-negative number such as 0.7 or 30",
    )
}

/// A condition field, parsed now (a typo is a validation error, not a condition silently
/// false at run time; a run evaluates the parsed tree).
fn opt_condition(
    spec: &Map<String, Value>,
    key: &str,
    owner: &str,
    path: &Path,
) -> Result<Option<ParsedCondition>, TridentError> {
    let Some(text) = opt_text(spec, key) else {
        return Ok(None);
    };
    let parsed = ParsedCondition::parse(text.clone()).map_err(|e| {
        invalid(
            path,
            format!(
                "{owner}: invalid `{key}` `{text}`: {e}. Conditions use `== != < > <= >=`, \
                 `and or not`, parentheses, 'strings', numbers, true/false/null and dotted \
                 field names."
            ),
        )
    })?;
    Ok(Some(parsed))
}

/// The node types accepted under `nodes:`.
const NODE_TYPES: &str = "input, output, prompt, agent, branch, trigger";

/// Build the project model from a parsed manifest. Prompt files are attached by the loader.
pub fn project_from_manifest(
    manifest: &Value,
    root: &Path,
    manifest_path: &Path,
) -> Result<Project, TridentError> {
    let Value::Object(m) = manifest else {
        return Err(invalid(
            manifest_path,
            format!(
                "the manifest must be a mapping of keys (trident, name, nodes, edges...), got a {}",
                type_name(manifest)
            ),
        ));
    };
    if !m.contains_key("trident") {
        return Err(invalid(
            manifest_path,
            "Missing 'trident' version in manifest: add `trident: \"0.1\"` at the top.".into(),
        ));
    }
    let name = match m.get("name") {
        Some(v) if !v.is_null() && !scalar_text(v).is_empty() => scalar_text(v),
        _ => {
            return Err(invalid(
                manifest_path,
                "Missing 'name' in manifest: add `name: <project-name>`.".into(),
            ));
        }
    };
    let section = |key: &str| -> Result<Option<&Map<String, Value>>, TridentError> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(other) => Err(invalid(
                manifest_path,
                format!(
                    "'{key}' must be a mapping keyed by id, got a {}",
                    type_name(other)
                ),
            )),
        }
    };

    let defaults_map = section("defaults")?;
    let empty = Map::new();
    let d = defaults_map.unwrap_or(&empty);
    let defaults = Defaults {
        model: opt_text(d, "model"),
        temperature: opt_f64(d, "temperature", "defaults", manifest_path)?,
        max_tokens: opt_u64(d, "max_tokens", "defaults", manifest_path)?,
        execution_mode: opt_text(d, "execution_mode"),
    };
    let entrypoints = match m.get("entrypoints") {
        Some(Value::Array(a)) => a.iter().map(scalar_text).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };

    let mut project = Project {
        name,
        root: root.to_path_buf(),
        manifest_path: manifest_path.to_path_buf(),
        version: m
            .get("version")
            .map(scalar_text)
            .unwrap_or_else(|| "0.1".into()),
        description: m.get("description").map(scalar_text).unwrap_or_default(),
        defaults,
        entrypoints,
        inputs: IndexMap::new(),
        outputs: IndexMap::new(),
        prompts: IndexMap::new(),
        tools: IndexMap::new(),
        agents: IndexMap::new(),
        branches: IndexMap::new(),
        triggers: IndexMap::new(),
        edges: IndexMap::new(),
        orchestration: None,
        telemetry: m.get("telemetry").cloned(),
        dotenv: IndexMap::new(),
        implicit_nodes: Vec::new(),
        pricing: match m.get("pricing") {
            None => PriceTable::default(),
            Some(section) => PriceTable::with_overrides(
                parse_pricing(section).map_err(|e| invalid(manifest_path, e))?,
            ),
        },
    };

    if let Some(o) = section("orchestration")? {
        let publish = o.get("publish").and_then(Value::as_object);
        let signals = o.get("signals").and_then(Value::as_object);
        project.orchestration = Some(Orchestration {
            publish_path: publish.and_then(|p| opt_text(p, "path")),
            publish_alias: publish.and_then(|p| opt_text(p, "alias")),
            export_path: o
                .get("export")
                .and_then(Value::as_object)
                .and_then(|e| opt_text(e, "path")),
            signals_enabled: signals
                .and_then(|s| s.get("enabled"))
                .and_then(as_bool)
                .unwrap_or(true),
            signals_dir: signals
                .and_then(|s| opt_text(s, "directory"))
                .unwrap_or_else(|| ".trident/signals".into()),
            raw: Value::Object(o.clone()),
        });
    }

    if let Some(nodes) = section("nodes")? {
        for (id, spec) in nodes {
            let Value::Object(spec) = spec else {
                continue;
            };
            parse_node(&mut project, id, spec, manifest_path)?;
        }
    }

    if let Some(edges) = section("edges")? {
        for (id, spec) in edges {
            let Value::Object(spec) = spec else {
                continue;
            };
            let from = opt_text(spec, "from").unwrap_or_default();
            let to = opt_text(spec, "to").unwrap_or_default();
            if from.is_empty() || to.is_empty() {
                let missing = if from.is_empty() { "from" } else { "to" };
                return Err(invalid(
                    manifest_path,
                    format!(
                        "Edge '{id}' has no '{missing}' node: every edge needs `from: <node>` and \
                         `to: <node>`."
                    ),
                ));
            }
            let mut mappings = Vec::new();
            match spec.get("mapping") {
                Some(Value::Object(map)) => {
                    for (target, source) in map {
                        mappings.push(EdgeMapping {
                            target: target.clone(),
                            source: scalar_text(source),
                        });
                    }
                }
                None | Some(Value::Null) => {}
                Some(other) => {
                    return Err(invalid(
                        manifest_path,
                        format!(
                            "Edge '{id}' has a mapping that is a {}, not a mapping of \
                             `target_input: source_field` pairs.",
                            type_name(other)
                        ),
                    ));
                }
            }
            let condition = opt_condition(
                spec,
                "condition",
                &format!("Edge '{id}' ({from} -> {to})"),
                manifest_path,
            )?;
            project.edges.insert(
                id.clone(),
                Edge {
                    id: id.clone(),
                    from,
                    to,
                    mappings,
                    condition,
                },
            );
        }
    }

    if let Some(tools) = section("tools")? {
        for (id, spec) in tools {
            let Value::Object(spec) = spec else {
                continue;
            };
            let tool_type = opt_text(spec, "type").unwrap_or_else(|| "python".into());
            if tool_type != "python" && tool_type != "shell" {
                return Err(invalid(
                    manifest_path,
                    format!(
                        "Tool '{id}' has type '{tool_type}', which this runtime cannot run: use \
                         `type: python` (module + function) or `type: shell` (command)."
                    ),
                ));
            }
            let command = opt_text(spec, "command");
            if tool_type == "shell" && command.is_none() {
                return Err(invalid(
                    manifest_path,
                    format!("Shell tool '{id}' has no `command:` to run."),
                ));
            }
            let timeout = tool_timeout(spec, id, manifest_path)?;
            project.tools.insert(
                id.clone(),
                ToolDef {
                    id: id.clone(),
                    tool_type,
                    path: opt_text(spec, "path"),
                    module: opt_text(spec, "module"),
                    function: opt_text(spec, "function"),
                    command,
                    description: opt_text(spec, "description").unwrap_or_default(),
                    timeout,
                    outputs: match spec.get("outputs") {
                        None | Some(Value::Null) => IndexMap::new(),
                        Some(Value::Object(fields)) => {
                            schema_fields(fields, manifest_path, &format!("tools.{id}.outputs"))?
                        }
                        Some(other) => {
                            return Err(invalid(
                                manifest_path,
                                format!(
                                    "Tool '{id}': `outputs` must be a mapping of fields like \
                                     a prompt's output.schema (`name: {{type: string, \
                                     description: ...}}`), got a {}.",
                                    type_name(other)
                                ),
                            ));
                        }
                    },
                },
            );
        }
    }
    Ok(project)
}

/// A tool's `timeout:` (seconds, a positive number); `None` when absent (no limit).
fn tool_timeout(
    spec: &Map<String, Value>,
    id: &str,
    manifest_path: &Path,
) -> Result<Option<std::time::Duration>, TridentError> {
    let Some(value) = spec.get("timeout").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    value
        .as_f64()
        .filter(|secs| secs.is_finite() && *secs > 0.0)
        .and_then(|secs| std::time::Duration::try_from_secs_f64(secs).ok())
        .map(Some)
        .ok_or_else(|| {
            invalid(
                manifest_path,
                format!(
                    "Tool '{id}' has `timeout: {}`, which is not a number of seconds: use a \
                     positive number (e.g. `timeout: 30` or `timeout: 0.5`), or remove it for no \
                     limit.",
                    scalar_text(value)
                ),
            )
        })
}

fn parse_node(
    project: &mut Project,
    id: &str,
    spec: &Map<String, Value>,
    path: &Path,
) -> Result<(), TridentError> {
    let node_type = opt_text(spec, "type").unwrap_or_else(|| "prompt".into());
    match node_type.as_str() {
        "input" => {
            let mut schema = IndexMap::new();
            let mut required = Vec::new();
            if let Some(Value::Object(fields)) = spec.get("schema") {
                for (fname, fspec) in fields {
                    let Value::Object(f) = fspec else {
                        return Err(invalid(
                            path,
                            format!(
                                "Invalid schema field '{fname}' in node '{id}': expected a \
                                 mapping with 'type' and 'description', got {} `{}`. Write it \
                                 as:\n  {fname}:\n    type: string\n    description: ...",
                                type_name(fspec),
                                scalar_text(fspec)
                            ),
                        ));
                    };
                    if f.get("required").and_then(as_bool) == Some(true) {
                        required.push(fname.clone());
                    }
                    schema.insert(
                        fname.clone(),
                        SchemaField {
                            field_type: opt_text(f, "type").unwrap_or_else(|| "string".into()),
                            description: opt_text(f, "description").unwrap_or_default(),
                        },
                    );
                }
            }
            project.inputs.insert(
                id.to_string(),
                InputNode {
                    id: id.to_string(),
                    schema,
                    required,
                },
            );
        }
        "output" => {
            project.outputs.insert(
                id.to_string(),
                OutputNode {
                    id: id.to_string(),
                    format: opt_text(spec, "format").unwrap_or_else(|| "json".into()),
                },
            );
        }
        "tool" => {
            return Err(invalid(
                path,
                format!(
                    "Node '{id}' has type 'tool', but tools must be defined in the 'tools:' \
                     section of the manifest, not in 'nodes:'. Move it:\n\n  tools:\n    {id}:\n      \
                     type: python\n      module: <module_name>\n      function: <function_name>\n\n\
                     and keep using '{id}' as the from/to of edges."
                ),
            ));
        }
        // Prompt nodes come from prompts/*.prompt; the entry under nodes: is informational
        // and checked by the loader once prompt files are read.
        "prompt" => {}
        "agent" => {
            let mut mcp_servers = IndexMap::new();
            if let Some(Value::Object(servers)) = spec.get("mcp_servers") {
                for (sname, sspec) in servers {
                    let Value::Object(s) = sspec else { continue };
                    mcp_servers.insert(
                        sname.clone(),
                        McpServer {
                            command: opt_text(s, "command").unwrap_or_default(),
                            args: s
                                .get("args")
                                .and_then(Value::as_array)
                                .map(|a| a.iter().map(scalar_text).collect())
                                .unwrap_or_default(),
                            env: s
                                .get("env")
                                .and_then(Value::as_object)
                                .map(|e| {
                                    e.iter().map(|(k, v)| (k.clone(), scalar_text(v))).collect()
                                })
                                .unwrap_or_default(),
                        },
                    );
                }
            }
            let allowed_tools = match spec.get("allowed_tools") {
                Some(Value::Array(a)) => a.iter().map(scalar_text).collect(),
                Some(Value::String(s)) => vec![s.clone()],
                _ => Vec::new(),
            };
            let execution_mode = opt_text(spec, "execution_mode")
                .or_else(|| project.defaults.execution_mode.clone())
                .unwrap_or_else(|| "cli".into());
            if execution_mode != "cli" && execution_mode != "sdk" {
                return Err(invalid(
                    path,
                    format!(
                        "Agent node '{id}' has invalid execution_mode '{execution_mode}'. Must be \
                         'cli' or 'sdk'."
                    ),
                ));
            }
            if execution_mode == "sdk" {
                return Err(invalid(
                    path,
                    format!(
                        "Agent node '{id}' uses execution_mode 'sdk' (the Python Claude Agent \
                         SDK), which has no Rust equivalent. Use `execution_mode: cli`: the node \
                         then runs through the Claude Code CLI (`claude`), with the same prompt, \
                         tools and MCP servers."
                    ),
                ));
            }
            let permission_mode =
                opt_text(spec, "permission_mode").unwrap_or_else(|| "acceptEdits".into());
            if let Some(problem) = agent_settings::permission_mode_problem(id, &permission_mode) {
                return Err(invalid(path, problem));
            }
            let model = opt_text(spec, "model");
            if let Some(Err(problem)) = model.as_deref().map(agent_settings::cli_model) {
                return Err(invalid(path, format!("Agent node '{id}': {problem}")));
            }
            let pass_api_key = match spec.get("pass_api_key") {
                None | Some(Value::Null) => false,
                Some(value) if as_bool(value).is_some() => as_bool(value) == Some(true),
                Some(other) => {
                    return Err(invalid(
                        path,
                        format!(
                            "Agent node '{id}' has pass_api_key {other}: expected true or false."
                        ),
                    ));
                }
            };
            project.agents.insert(
                id.to_string(),
                AgentNode {
                    id: id.to_string(),
                    prompt_path: opt_text(spec, "prompt")
                        .unwrap_or_else(|| format!("prompts/{id}.prompt")),
                    allowed_tools,
                    mcp_servers,
                    max_turns: opt_u64(spec, "max_turns", &format!("Agent node '{id}'"), path)?
                        .unwrap_or(50),
                    permission_mode,
                    cwd: opt_text(spec, "cwd"),
                    execution_mode,
                    timeout_secs: opt_f64(spec, "timeout", &format!("Agent node '{id}'"), path)?,
                    model,
                    pass_api_key,
                },
            );
        }
        "branch" => {
            let workflow_path = opt_text(spec, "workflow").unwrap_or_default();
            if workflow_path.is_empty() {
                return Err(invalid(
                    path,
                    format!(
                        "Branch node '{id}' missing required 'workflow' path: add `workflow: \
                         ./sub.tml` (or `workflow: self`)."
                    ),
                ));
            }
            let owner = format!("Branch node '{id}'");
            project.branches.insert(
                id.to_string(),
                BranchNode {
                    id: id.to_string(),
                    workflow_path,
                    condition: opt_condition(spec, "condition", &owner, path)?,
                    loop_while: opt_condition(spec, "loop_while", &owner, path)?,
                    max_iterations: opt_u64(spec, "max_iterations", &owner, path)?.unwrap_or(10),
                },
            );
        }
        "trigger" => {
            let workflow_path = opt_text(spec, "workflow").unwrap_or_default();
            if workflow_path.is_empty() {
                return Err(invalid(
                    path,
                    format!(
                        "Trigger node '{id}' missing required 'workflow' path: add `workflow: \
                         ./other-project`."
                    ),
                ));
            }
            let mode = match opt_text(spec, "mode").as_deref() {
                None | Some("fire-and-forget") => TriggerMode::FireAndForget,
                Some("wait") => TriggerMode::Wait,
                Some(other) => {
                    return Err(invalid(
                        path,
                        format!(
                            "Trigger node '{id}' has invalid mode '{other}'. Must be \
                             'fire-and-forget' or 'wait'."
                        ),
                    ));
                }
            };
            project.triggers.insert(
                id.to_string(),
                TriggerNode {
                    id: id.to_string(),
                    workflow_path,
                    mode,
                    pass_outputs: spec.get("pass_outputs").and_then(as_bool).unwrap_or(true),
                    emit_signal: spec.get("emit_signal").and_then(as_bool).unwrap_or(true),
                    condition: opt_condition(
                        spec,
                        "condition",
                        &format!("Trigger node '{id}'"),
                        path,
                    )?,
                },
            );
        }
        other => {
            return Err(invalid(
                path,
                format!(
                    "Node '{id}' has unknown type '{other}'. Accepted types: {NODE_TYPES} (tools \
                     go in the 'tools:' section)."
                ),
            ));
        }
    }
    Ok(())
}
