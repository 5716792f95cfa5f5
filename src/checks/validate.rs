//! Project validation beyond what loading enforces: warnings for edge mappings that do not fit
//! the input/output contracts of the nodes they join, and recursive validation of the
//! workflows that branch and trigger nodes run (`trident project validate [--strict]`).
//!
//! The warning and error texts follow the original runtime word for word (including its
//! Python-style field lists such as `['output', 'text']`), so that operators' scripts and grep
//! habits keep working. Where the original is buggy we do what a user would expect instead:
//! - a mapping source written with the `output.` prefix (`output.summary`) is checked as
//!   `summary` when `output` itself is not a field of the source, as the runtime resolves it;
//! - an agent's prompt is the file at its `prompt:` path, not a prompt id guessed from the path;
//! - a cycle of workflows is an error only when nothing can stop it (`crate::project::recursion`; the
//!   original refused every branch cycle and missed `self`); cycles are detected on canonical
//!   manifest paths, so two manifests in one folder are not mistaken for a cycle;
//! - trigger workflows are validated too (the original only followed branches).

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::dag::Dag;
use crate::project::load::{find_manifest, load_project};
use crate::project::model::{AgentNode, NodeKind, OutputFormat, Project, PromptFile};
use crate::project::prompt::load_prompt_file;
use crate::project::recursion::endless_recursion_errors;

/// A non-fatal problem found while validating a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationWarning {
    pub message: String,
    /// The edge the warning is about, when there is one.
    pub edge_id: Option<String>,
}

impl fmt::Display for ValidationWarning {
    /// The message, followed by ` (edge: <id>)` when the warning is about an edge, as
    /// `project validate` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(edge_id) = &self.edge_id {
            write!(f, " (edge: {edge_id})")?;
        }
        Ok(())
    }
}

/// Everything validation found: warnings, and errors that make the project invalid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationReport {
    pub warnings: Vec<ValidationWarning>,
    pub errors: Vec<String>,
}

impl ValidationReport {
    /// True when there are no errors (warnings alone leave a project valid).
    pub fn valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// Append another report's warnings and errors to this one.
    pub fn merge(&mut self, other: ValidationReport) {
        self.warnings.extend(other.warnings);
        self.errors.extend(other.errors);
    }

    /// In strict mode every warning is also an error (each message listed once).
    fn promote_warnings(&mut self) {
        for warning in &self.warnings {
            if !self.errors.contains(&warning.message) {
                self.errors.push(warning.message.clone());
            }
        }
    }
}

/// Everything `trident project validate` checks after loading: the project's own edge
/// mappings, then its sub-workflows. With `strict`, warnings are errors too.
/// `python` is `TRIDENT_PYTHON` as the run's settings resolved it.
pub fn validate_project(
    project: &Project,
    dag: &Dag,
    strict: bool,
    python: Option<&OsString>,
) -> ValidationReport {
    let mut report = ValidationReport {
        warnings: validate_edge_mappings(project, dag, python),
        errors: Vec::new(),
    };
    report.merge(validate_subworkflows(project, strict, python));
    if strict {
        report.promote_warnings();
    }
    report
}

/// Warnings for edge mappings whose source field the source node does not produce, whose
/// target the node does not accept, or whose types are incompatible — same rules and same
/// message wording as the original (so operators' grep habits keep working).
/// Python tool signatures are read with `python` (`TRIDENT_PYTHON`) when given.
pub fn validate_edge_mappings(
    project: &Project,
    dag: &Dag,
    python: Option<&OsString>,
) -> Vec<ValidationWarning> {
    let cache = ContractCache {
        python: python.cloned(),
        ..ContractCache::default()
    };
    mapping_warnings(project, dag, cache)
}

/// [`validate_edge_mappings`] with the python tool signatures already read (by the
/// pre-flight checks), so the project's modules are parsed once.
pub fn validate_edge_mappings_with(
    project: &Project,
    dag: &Dag,
    signatures: &HashMap<String, crate::tools::SignatureCheck>,
) -> Vec<ValidationWarning> {
    let cache = ContractCache {
        tool_inputs: Some(crate::tools::introspect::parameters_from(
            signatures,
            project.tools.values(),
        )),
        ..ContractCache::default()
    };
    mapping_warnings(project, dag, cache)
}

fn mapping_warnings(
    project: &Project,
    dag: &Dag,
    mut contracts: ContractCache,
) -> Vec<ValidationWarning> {
    let mut warnings = Vec::new();
    for edge in project.edges.values() {
        let (Some(source_node), Some(target_node)) =
            (dag.nodes.get(&edge.from), dag.nodes.get(&edge.to))
        else {
            // Dag::build refuses edges to unknown nodes; nothing to check here.
            continue;
        };
        let produces = contracts
            .get(project, &edge.from, source_node.kind)
            .produces
            .clone();
        let accepts = contracts
            .get(project, &edge.to, target_node.kind)
            .accepts
            .clone();

        for mapping in &edge.mappings {
            let base_field = source_base_field(&mapping.source, &produces);
            if !produces.is_empty() && !produces.contains_key(base_field) {
                warnings.push(ValidationWarning {
                    message: format!(
                        "Source field '{}' may not exist in '{}' ({}) output. Available fields: \
                         {}",
                        mapping.source,
                        edge.from,
                        source_node.kind,
                        python_list_repr(produces.keys())
                    ),
                    edge_id: Some(edge.id.clone()),
                });
            }
            if !accepts.is_empty() && !accepts.contains_key(&mapping.target) {
                warnings.push(ValidationWarning {
                    message: format!(
                        "Target field '{}' not expected by '{}' ({}). Expected inputs: {}",
                        mapping.target,
                        edge.to,
                        target_node.kind,
                        python_list_repr(accepts.keys())
                    ),
                    edge_id: Some(edge.id.clone()),
                });
            }
            let source_type = produces.get(base_field).and_then(Option::as_deref);
            let target_type = accepts.get(&mapping.target).and_then(Option::as_deref);
            if let (Some(source_type), Some(target_type)) = (source_type, target_type)
                && !types_compatible(source_type, target_type)
            {
                warnings.push(ValidationWarning {
                    message: format!(
                        "Type mismatch: '{base_field}' ({source_type}) from '{}' may not be \
                         compatible with '{}' ({target_type}) in '{}'",
                        edge.from, mapping.target, edge.to
                    ),
                    edge_id: Some(edge.id.clone()),
                });
            }
        }
    }
    warnings
}

/// Recursively load and validate every branch (non-`self`) and trigger workflow: a missing
/// workflow, a sub-project that fails to load or has an invalid DAG, and a cycle of workflows
/// that can never end (`crate::project::recursion`) are errors naming the node and path; the sub-workflows' mapping warnings are included, prefixed
/// with the node and path. With `strict`, warnings are errors too. Their python tools are read
/// with `python` (`TRIDENT_PYTHON`) when given.
pub fn validate_subworkflows(
    project: &Project,
    strict: bool,
    python: Option<&OsString>,
) -> ValidationReport {
    let mut chain = vec![canonical(&project.manifest_path)];
    let mut report = subworkflows_report(project, &mut chain, strict, python);
    report.errors.extend(endless_recursion_errors(project));
    if strict {
        report.promote_warnings();
    }
    report
}

/// A node that runs another workflow.
struct WorkflowReference<'p> {
    /// `Branch` or `Trigger`, the first word of every message about the reference.
    label: &'static str,
    node_id: &'p str,
    workflow_path: &'p str,
}

/// The sub-workflow report of `project`; `chain` holds the canonical manifest paths of the
/// project and of the workflows that (transitively) run it.
fn subworkflows_report(
    project: &Project,
    chain: &mut Vec<PathBuf>,
    strict: bool,
    python: Option<&OsString>,
) -> ValidationReport {
    let branches = project
        .branches
        .values()
        // `self` re-runs this very project: recursion by design, not a cycle.
        .filter(|branch| branch.workflow_path != "self")
        .map(|branch| WorkflowReference {
            label: "Branch",
            node_id: &branch.id,
            workflow_path: &branch.workflow_path,
        });
    let triggers = project.triggers.values().map(|trigger| WorkflowReference {
        label: "Trigger",
        node_id: &trigger.id,
        workflow_path: &trigger.workflow_path,
    });

    let mut report = ValidationReport::default();
    for reference in branches.chain(triggers) {
        let WorkflowReference {
            label,
            node_id,
            workflow_path,
        } = reference;
        let location = project.root.join(workflow_path);
        if !location.exists() {
            report.errors.push(format!(
                "{label} '{node_id}': workflow file not found: {workflow_path}"
            ));
            continue;
        }
        let manifest_path = match find_manifest(&location) {
            Ok((manifest_path, _root)) => canonical(&manifest_path),
            Err(error) => {
                report.errors.push(format!(
                    "{label} '{node_id}': failed to load workflow {workflow_path}: {error}"
                ));
                continue;
            }
        };
        if chain.contains(&manifest_path) {
            // Validated already; whether the cycle can end is `recursion`'s question.
            continue;
        }
        let sub_project = match load_project(&manifest_path) {
            Ok(sub_project) => sub_project,
            Err(error) => {
                report.errors.push(format!(
                    "{label} '{node_id}': failed to load workflow {workflow_path}: {error}"
                ));
                continue;
            }
        };
        let sub_dag = match Dag::build(&sub_project) {
            Ok(sub_dag) => sub_dag,
            Err(error) => {
                report.errors.push(format!(
                    "{label} '{node_id}': invalid DAG in {workflow_path}: {error}"
                ));
                continue;
            }
        };
        for warning in validate_edge_mappings(&sub_project, &sub_dag, python) {
            let message = format!("{label} '{node_id}' ({workflow_path}): {}", warning.message);
            if strict {
                report.errors.push(message.clone());
            }
            report.warnings.push(ValidationWarning {
                message,
                edge_id: warning.edge_id,
            });
        }
        chain.push(manifest_path);
        let nested = subworkflows_report(&sub_project, chain, strict, python);
        chain.pop();
        report.merge(nested);
    }
    report
}

/// The canonical form of a manifest path, or the path itself when it cannot be resolved.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Field name -> declared type (`None`: unknown, or any type accepted).
type FieldTypes = IndexMap<String, Option<String>>;

/// What a node produces (fields usable in mapping sources) and accepts (mapping targets).
/// An empty `accepts` means the node takes any input.
#[derive(Debug, Default)]
struct NodeContract {
    produces: FieldTypes,
    accepts: FieldTypes,
}

/// Contracts computed once per node. Tool inputs are read once for all the project's tools
/// (python signatures statically, with one interpreter), the first time a tool needs them.
#[derive(Default)]
struct ContractCache {
    by_node: HashMap<String, NodeContract>,
    tool_inputs: Option<HashMap<String, Vec<String>>>,
    /// `TRIDENT_PYTHON`, when set: the interpreter that reads the tools' signatures.
    python: Option<OsString>,
}

impl ContractCache {
    fn get(&mut self, project: &Project, node_id: &str, kind: NodeKind) -> &NodeContract {
        if kind == NodeKind::Tool && self.tool_inputs.is_none() {
            let runner = crate::tools::ToolRunner::new(self.python.clone());
            self.tool_inputs = Some(crate::tools::tool_parameters(
                &runner,
                &project.root,
                project.tools.values(),
            ));
        }
        let tool_inputs = self.tool_inputs.as_ref();
        self.by_node
            .entry(node_id.to_string())
            .or_insert_with(|| node_contract(project, node_id, kind, tool_inputs))
    }
}

fn node_contract(
    project: &Project,
    node_id: &str,
    kind: NodeKind,
    tool_inputs: Option<&HashMap<String, Vec<String>>>,
) -> NodeContract {
    match kind {
        NodeKind::Input => NodeContract {
            produces: project
                .inputs
                .get(node_id)
                .map(|input| {
                    input
                        .schema
                        .iter()
                        .map(|(name, field)| (name.clone(), Some(field.field_type.clone())))
                        .collect()
                })
                .unwrap_or_default(),
            accepts: FieldTypes::new(),
        },
        NodeKind::Prompt => prompt_contract(project.prompts.get(node_id)),
        NodeKind::Agent => {
            let prompt = project
                .agents
                .get(node_id)
                .and_then(|agent| agent_prompt(project, agent));
            prompt_contract(prompt.as_ref())
        }
        NodeKind::Tool => NodeContract {
            // The fields a tool declares under `outputs:`; a tool that declares none may
            // return any dict, so its mapping sources are not guessed at (no warning).
            produces: project
                .tools
                .get(node_id)
                .map(|tool| {
                    tool.outputs
                        .iter()
                        .map(|(name, field)| (name.clone(), Some(field.field_type.clone())))
                        .collect()
                })
                .unwrap_or_default(),
            accepts: tool_inputs
                .and_then(|inputs| inputs.get(node_id))
                .map(|parameters| parameters.iter().map(|p| (p.clone(), None)).collect())
                .unwrap_or_default(),
        },
        NodeKind::Branch => NodeContract {
            produces: fields(&[("output", None), ("text", Some("string"))]),
            accepts: FieldTypes::new(),
        },
        NodeKind::Trigger => NodeContract {
            produces: fields(&[
                ("triggered", Some("boolean")),
                ("status", Some("string")),
                ("output", None),
            ]),
            accepts: FieldTypes::new(),
        },
        NodeKind::Output => NodeContract::default(),
    }
}

/// A prompt (or agent) produces `text`, plus its schema fields when its output is json, and
/// accepts its declared inputs. Without a prompt file, only `text` is known.
fn prompt_contract(prompt: Option<&PromptFile>) -> NodeContract {
    let mut produces = fields(&[("text", Some("string"))]);
    let Some(prompt) = prompt else {
        return NodeContract {
            produces,
            accepts: FieldTypes::new(),
        };
    };
    if prompt.output_format == OutputFormat::Json {
        for (name, field) in &prompt.output_fields {
            produces.insert(name.clone(), Some(field.field_type.clone()));
        }
    }
    let accepts = prompt
        .inputs
        .iter()
        .map(|(name, input)| (name.clone(), Some(input.field_type.clone())))
        .collect();
    NodeContract { produces, accepts }
}

/// The prompt file an agent runs: the loaded prompt at its `prompt:` path, else the file read
/// directly (an agent prompt may live outside `prompts/`).
fn agent_prompt(project: &Project, agent: &AgentNode) -> Option<PromptFile> {
    let path = canonical(&project.root.join(&agent.prompt_path));
    project
        .prompts
        .values()
        .find(|prompt| canonical(&prompt.path) == path)
        .cloned()
        .or_else(|| load_prompt_file(&path).ok())
}

fn fields(pairs: &[(&str, Option<&str>)]) -> FieldTypes {
    pairs
        .iter()
        .map(|(name, field_type)| (name.to_string(), field_type.map(str::to_string)))
        .collect()
}

/// The source field a mapping expression reads: its first dotted segment, or the second one
/// for `output.<field>` when the node has no `output` field (the runtime strips that prefix).
fn source_base_field<'e>(expression: &'e str, produces: &FieldTypes) -> &'e str {
    let mut segments = expression.split('.');
    let first = segments.next().unwrap_or(expression);
    match segments.next() {
        Some(second) if first == "output" && !produces.contains_key(first) => second,
        _ => first,
    }
}

/// Whether a value of `source_type` may feed an input declared as `target_type`.
fn types_compatible(source_type: &str, target_type: &str) -> bool {
    source_type == target_type
        || matches!(
            (source_type, target_type),
            // number and integer convert both ways; objects and arrays render as JSON text.
            ("integer", "number")
                | ("number", "integer")
                | ("object", "string")
                | ("array", "string")
        )
}

/// A sorted list of names as Python prints it: `['a', 'b']`.
fn python_list_repr<'n>(names: impl Iterator<Item = &'n String>) -> String {
    let mut names: Vec<&String> = names.collect();
    names.sort();
    let items: Vec<String> = names.iter().map(|name| python_str_repr(name)).collect();
    format!("[{}]", items.join(", "))
}

/// A string as Python's `repr` prints it: single quotes unless the text holds a single quote
/// and no double quote.
fn python_str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A project folder in a temp dir, with files written relative to it.
    struct Fixture {
        dir: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture {
                dir: tempfile::tempdir().expect("temp dir"),
            }
        }

        fn file(&self, relative: &str, text: &str) -> &Fixture {
            let path = self.dir.path().join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create dir");
            }
            std::fs::write(path, text).expect("write file");
            self
        }

        fn path(&self, relative: &str) -> PathBuf {
            self.dir.path().join(relative)
        }

        fn load(&self, relative: &str) -> (Project, Dag) {
            let project = load_project(&self.path(relative)).expect("project loads");
            let dag = Dag::build(&project).expect("dag builds");
            (project, dag)
        }

        fn mapping_warnings(&self, relative: &str) -> Vec<ValidationWarning> {
            let (project, dag) = self.load(relative);
            validate_edge_mappings(&project, &dag, None)
        }

        fn subworkflow_report(&self, relative: &str, strict: bool) -> ValidationReport {
            let (project, _dag) = self.load(relative);
            validate_subworkflows(&project, strict, None)
        }
    }

    const SUMMARIZE_PROMPT: &str = "---
id: summarize
input:
  text:
    type: string
    description: Text to summarize
  count:
    type: integer
    description: How many points
output:
  format: json
  schema:
    summary:
      type: string
      description: The summary
    points:
      type: array
      description: Key points
    score:
      type: number
      description: Quality
---
Summarize {{ text }} in {{ count }} points.
";

    const REPORT_PROMPT: &str = "---
id: report
input:
  summary:
    type: string
    description: A summary
  flag:
    type: boolean
    description: A flag
---
Report on {{ summary }}.
";

    fn manifest(edges: &str) -> String {
        format!(
            "trident: \"0.1\"
name: demo
nodes:
  input:
    type: input
    schema:
      text:
        type: string
        description: Input text
      num:
        type: integer
        description: A count
  out:
    type: output
edges:
{edges}"
        )
    }

    fn demo(edges: &str) -> Fixture {
        let fixture = Fixture::new();
        fixture
            .file("agent.tml", &manifest(edges))
            .file("prompts/summarize.prompt", SUMMARIZE_PROMPT)
            .file("prompts/report.prompt", REPORT_PROMPT);
        fixture
    }

    const CLEAN_EDGES: &str = "  e1:
    from: input
    to: summarize
    mapping: {text: text, count: num}
  e2:
    from: summarize
    to: report
    mapping: {summary: summary}
  e3:
    from: report
    to: out
    mapping: {result: text}
";

    #[test]
    fn clean_project_has_no_warnings() {
        assert_eq!(demo(CLEAN_EDGES).mapping_warnings("agent.tml"), vec![]);
    }

    #[test]
    fn output_prefix_and_nested_paths_are_accepted() {
        let warnings = demo(
            "  e1:
    from: input
    to: summarize
    mapping: {text: text}
  e2:
    from: summarize
    to: out
    mapping: {s: output.summary, p: points.0, t: text}
",
        )
        .mapping_warnings("agent.tml");
        assert_eq!(warnings, vec![]);
    }

    #[test]
    fn unknown_source_field_warns_with_edge_id() {
        let warnings = demo(
            "  e1:
    from: input
    to: summarize
    mapping: {text: text}
  e2:
    from: summarize
    to: report
    mapping: {summary: missing.deep}
",
        )
        .mapping_warnings("agent.tml");
        assert_eq!(
            warnings,
            vec![ValidationWarning {
                message: "Source field 'missing.deep' may not exist in 'summarize' (prompt) \
                          output. Available fields: ['points', 'score', 'summary', 'text']"
                    .into(),
                edge_id: Some("e2".into()),
            }]
        );
        assert_eq!(
            warnings[0].to_string(),
            format!("{} (edge: e2)", warnings[0].message)
        );
    }

    #[test]
    fn json_schema_type_mismatch_warns() {
        let warnings = demo(
            "  e1:
    from: input
    to: summarize
    mapping: {text: text}
  e2:
    from: summarize
    to: report
    mapping: {summary: points, flag: score}
",
        )
        .mapping_warnings("agent.tml");
        // array -> string is fine (rendered as JSON); number -> boolean is not.
        assert_eq!(
            warnings,
            vec![ValidationWarning {
                message: "Type mismatch: 'score' (number) from 'summarize' may not be compatible \
                          with 'flag' (boolean) in 'report'"
                    .into(),
                edge_id: Some("e2".into()),
            }]
        );
    }

    #[test]
    fn unknown_target_input_warns() {
        let warnings = demo(
            "  e1:
    from: input
    to: summarize
    mapping: {text: text, colour: text}
",
        )
        .mapping_warnings("agent.tml");
        assert_eq!(
            warnings,
            vec![ValidationWarning {
                message: "Target field 'colour' not expected by 'summarize' (prompt). Expected \
                          inputs: ['count', 'text']"
                    .into(),
                edge_id: Some("e1".into()),
            }]
        );
    }

    #[test]
    fn node_kind_contracts() {
        let fixture = Fixture::new();
        fixture
            .file(
                "agent.tml",
                "trident: \"0.1\"
name: kinds
nodes:
  input: {type: input, schema: {text: {type: string, description: t}}}
  worker: {type: agent, prompt: agents/worker.prompt}
  sub: {type: branch, workflow: self}
  notify: {type: trigger, workflow: ./agent.tml}
  out: {type: output}
edges:
  e1: {from: input, to: worker, mapping: {task: text, extra: text}}
  e2: {from: worker, to: sub, mapping: {a: verdict, b: text, c: nope}}
  e3: {from: sub, to: notify, mapping: {x: output, y: text, z: status}}
  e4: {from: notify, to: out, mapping: {t: triggered, s: status, o: output}}
",
            )
            .file(
                "agents/worker.prompt",
                "---
id: worker-prompt
input:
  task: {type: string, description: The task}
output:
  format: json
  schema:
    verdict: {type: boolean, description: Done}
---
Do {{ task }}.
",
            );
        let messages: Vec<String> = fixture
            .mapping_warnings("agent.tml")
            .into_iter()
            .map(|w| w.message)
            .collect();
        assert_eq!(
            messages,
            vec![
                "Target field 'extra' not expected by 'worker' (agent). Expected inputs: \
                 ['task']"
                    .to_string(),
                "Source field 'nope' may not exist in 'worker' (agent) output. Available \
                 fields: ['text', 'verdict']"
                    .to_string(),
                "Source field 'status' may not exist in 'sub' (branch) output. Available \
                 fields: ['output', 'text']"
                    .to_string(),
            ]
        );
    }

    #[test]
    fn tool_outputs_are_checked_only_when_declared() {
        let fixture = Fixture::new();
        fixture.file(
            "agent.tml",
            &parent_with(
                "  out: {type: output}
tools:
  lookup: {type: python, module: not_there, function: run}
  typed:
    type: python
    module: not_there
    function: run
    outputs:
      city: {type: string, description: The city}
edges:
  e1: {from: input, to: lookup, mapping: {anything: text}}
  e2: {from: lookup, to: out, mapping: {a: output.city, b: city}}
  e3: {from: input, to: typed, mapping: {anything: text}}
  e4: {from: typed, to: out, mapping: {c: city, d: country}}
",
            ),
        );
        let messages: Vec<String> = fixture
            .mapping_warnings("agent.tml")
            .into_iter()
            .map(|w| w.message)
            .collect();
        assert_eq!(
            messages,
            vec![
                "Source field 'country' may not exist in 'typed' (tool) output. Available \
                 fields: ['city']"
                    .to_string()
            ]
        );
    }

    #[test]
    fn python_repr_quotes_like_python() {
        assert_eq!(python_str_repr("plain"), "'plain'");
        assert_eq!(python_str_repr("it's"), "\"it's\"");
        assert_eq!(python_str_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(python_str_repr("tab\there"), "'tab\\there'");
        let names = ["b".to_string(), "a".to_string()];
        assert_eq!(python_list_repr(names.iter()), "['a', 'b']");
    }

    const SUB_WITH_WARNING: &str = "trident: \"0.1\"
name: sub
nodes:
  start: {type: input, schema: {text: {type: string, description: t}}}
  done: {type: output}
edges:
  s1: {from: start, to: done, mapping: {x: nothere}}
";

    fn parent_with(nodes: &str) -> String {
        format!(
            "trident: \"0.1\"
name: parent
nodes:
  input: {{type: input, schema: {{text: {{type: string, description: t}}}}}}
{nodes}"
        )
    }

    #[test]
    fn missing_subworkflow_is_an_error() {
        let fixture = Fixture::new();
        fixture.file(
            "agent.tml",
            &parent_with(
                "  refine: {type: branch, workflow: ./missing.tml}
  notify: {type: trigger, workflow: ./gone}
",
            ),
        );
        let report = fixture.subworkflow_report("agent.tml", false);
        assert_eq!(
            report.errors,
            vec![
                "Branch 'refine': workflow file not found: ./missing.tml".to_string(),
                "Trigger 'notify': workflow file not found: ./gone".to_string(),
            ]
        );
        assert!(!report.valid());
    }

    #[test]
    fn subworkflow_warnings_surface_with_prefix() {
        let fixture = Fixture::new();
        fixture
            .file(
                "agent.tml",
                &parent_with("  refine: {type: branch, workflow: ./sub.tml}\n"),
            )
            .file("sub.tml", SUB_WITH_WARNING);
        let report = fixture.subworkflow_report("agent.tml", false);
        assert!(report.valid(), "{:?}", report.errors);
        assert_eq!(
            report.warnings,
            vec![ValidationWarning {
                message: "Branch 'refine' (./sub.tml): Source field 'nothere' may not exist in \
                          'start' (input) output. Available fields: ['text']"
                    .into(),
                edge_id: Some("s1".into()),
            }]
        );

        let strict = fixture.subworkflow_report("agent.tml", true);
        assert_eq!(strict.errors, vec![strict.warnings[0].message.clone()]);
        assert!(!strict.valid());
    }

    #[test]
    fn trigger_workflow_folder_is_validated_recursively() {
        let fixture = Fixture::new();
        fixture
            .file(
                "agent.tml",
                &parent_with("  notify: {type: trigger, workflow: ./downstream}\n"),
            )
            .file(
                "downstream/agent.tml",
                &parent_with("  deeper: {type: branch, workflow: ../deep/trident.tml}\n"),
            )
            .file("deep/trident.tml", SUB_WITH_WARNING);
        let report = fixture.subworkflow_report("agent.tml", false);
        assert!(report.valid(), "{:?}", report.errors);
        let messages: Vec<&str> = report.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(messages.len(), 1);
        assert!(
            messages[0].starts_with("Branch 'deeper' (../deep/trident.tml): Source field"),
            "{messages:?}"
        );
    }

    #[test]
    fn broken_subworkflow_is_an_error_prefixed_with_the_node() {
        let fixture = Fixture::new();
        fixture
            .file(
                "agent.tml",
                &parent_with("  refine: {type: branch, workflow: ./broken.tml}\n"),
            )
            .file("broken.tml", "name: no-version\n");
        let report = fixture.subworkflow_report("agent.tml", false);
        assert_eq!(report.errors.len(), 1);
        assert!(
            report.errors[0].starts_with("Branch 'refine': failed to load workflow ./broken.tml: "),
            "{:?}",
            report.errors
        );
    }

    #[test]
    fn conditional_self_branch_is_not_recursed_into() {
        let fixture = Fixture::new();
        fixture.file(
            "agent.tml",
            &parent_with(
                "  again: {type: branch, workflow: self, condition: \"text\"}
  out: {type: output}
edges:
  e1: {from: input, to: out, mapping: {x: nothere}}
",
            ),
        );
        let report = fixture.subworkflow_report("agent.tml", false);
        assert_eq!(report, ValidationReport::default());
    }

    #[test]
    fn sibling_manifests_in_one_folder_are_not_a_cycle() {
        let fixture = Fixture::new();
        fixture
            .file(
                "agent.tml",
                &parent_with("  refine: {type: branch, workflow: ./sub.tml}\n"),
            )
            .file("sub.tml", SUB_WITH_WARNING);
        let report = fixture.subworkflow_report("agent.tml", false);
        assert!(report.valid(), "{:?}", report.errors);
    }

    #[test]
    fn workflow_cycles_terminate() {
        let fixture = Fixture::new();
        fixture
            .file(
                "a/agent.tml",
                &parent_with(
                    "  to_b: {type: branch, workflow: ../b/agent.tml}
  ping: {type: trigger, workflow: ../b}
",
                ),
            )
            .file(
                "b/agent.tml",
                &parent_with(
                    "  to_a: {type: branch, workflow: ../a}
  pong: {type: trigger, workflow: ../a/agent.tml}
",
                ),
            );
        let report = fixture.subworkflow_report("a/agent.tml", false);
        // Each cycle is reported once: the branch cycle, and the one through a detached
        // trigger (an endless chain of processes).
        assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
        assert!(
            report.errors[0].starts_with(
                "Branch 'to_a': circular workflow reference to ../a that never ends: \
                 agent.tml -> (branch 'to_b') -> ../b/agent.tml -> (branch 'to_a') -> agent.tml"
            ),
            "{:?}",
            report.errors
        );
        assert!(
            report.errors[1].starts_with(
                "Trigger 'pong': circular workflow reference to ../a/agent.tml that never \
                 ends: agent.tml -> (branch 'to_b') -> ../b/agent.tml -> (fire-and-forget \
                 trigger 'pong') -> agent.tml"
            ),
            "{:?}",
            report.errors
        );
        assert!(report.warnings.is_empty());
    }
}
