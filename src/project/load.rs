//! Finding and loading a project: manifest discovery, `.env`, prompt files, implicit
//! input/output nodes and the default entrypoint.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::Value;

use super::dotenv::load_dotenv;
use super::manifest::project_from_manifest;
use super::model::{InputNode, OutputNode, Project, PromptFile};
use super::prompt::load_prompt_file;
use super::yaml::parse_yaml;
use crate::error::TridentError;

/// Manifest names searched in a project folder, in order.
pub const MANIFEST_NAMES: [&str; 3] = ["agent.tml", "trident.tml", "trident.yaml"];

/// Resolve a path given on the command line to `(manifest file, project root)`.
pub fn find_manifest(path: &Path) -> Result<(PathBuf, PathBuf), TridentError> {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if abs.is_file() {
        let root = abs.parent().map(Path::to_path_buf).unwrap_or_default();
        return Ok((abs, root));
    }
    if !abs.exists() {
        return Err(TridentError::Validation(format!(
            "Project path not found: {}. Give a project folder (holding agent.tml) or a manifest \
             file.",
            path.display()
        )));
    }
    for name in MANIFEST_NAMES {
        let candidate = abs.join(name);
        if candidate.is_file() {
            return Ok((candidate, abs));
        }
    }
    Err(TridentError::Parse(format!(
        "No agent.tml, trident.tml, or trident.yaml found in {}. Create one with `trident \
         project init {}`.",
        abs.display(),
        path.display()
    )))
}

/// Load a project from a manifest file or a folder.
pub fn load_project(path: &Path) -> Result<Project, TridentError> {
    let (manifest_path, root) = find_manifest(path)?;
    let dotenv = load_dotenv(&root)?;
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        TridentError::Parse(format!("Cannot read {}: {e}", manifest_path.display()))
    })?;
    // Prompt files are parsed while the manifest is: both are mostly YAML parsing.
    let (manifest, prompts) = std::thread::scope(|scope| {
        let prompts = scope.spawn(|| read_prompts(&root));
        let manifest = parse_yaml(&text, &manifest_path);
        let prompts = prompts.join().unwrap_or_else(|_| {
            Err(TridentError::Parse(
                "internal error while reading prompt files".into(),
            ))
        });
        (manifest, prompts)
    });
    let manifest = manifest?;
    let mut project = project_from_manifest(&manifest, &root, &manifest_path)?;
    project.dotenv = dotenv;
    project.prompts = prompts?;
    check_declared_prompts(&project, &manifest)?;
    check_agent_prompts(&project)?;
    add_implicit_nodes(&mut project);
    if project.entrypoints.is_empty()
        && let Some(first) = project.inputs.keys().next()
    {
        project.entrypoints.push(first.clone());
    }
    Ok(project)
}

/// Read every `prompts/*.prompt` of `root`, keyed by id (sorted by file name).
fn read_prompts(root: &Path) -> Result<IndexMap<String, PromptFile>, TridentError> {
    let mut prompts = IndexMap::new();
    let Ok(entries) = std::fs::read_dir(root.join("prompts")) else {
        return Ok(prompts);
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "prompt"))
        .collect();
    files.sort();
    for prompt in load_prompt_files(&files) {
        let prompt = prompt?;
        if let Some(previous) = prompts.get(&prompt.id) {
            let previous: &PromptFile = previous;
            return Err(TridentError::Validation(format!(
                "Two prompt files declare id '{}': {} and {}. Give each prompt a unique `id:`.",
                prompt.id,
                previous.path.display(),
                prompt.path.display()
            )));
        }
        prompts.insert(prompt.id.clone(), prompt);
    }
    Ok(prompts)
}

/// Parse prompt files, in parallel for large projects (YAML parsing is most of a big
/// project's load time); results keep the order of `files`.
fn load_prompt_files(files: &[PathBuf]) -> Vec<Result<PromptFile, TridentError>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if files.len() < 64 || threads < 2 {
        return files.iter().map(|f| load_prompt_file(f)).collect();
    }
    let chunk = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().map(|f| load_prompt_file(f)).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![Err(TridentError::Parse(
                        "internal error while reading prompt files".into(),
                    ))]
                })
            })
            .collect()
    })
}

/// A `type: prompt` entry under `nodes:` must have a prompt file with that id.
fn check_declared_prompts(project: &Project, manifest: &Value) -> Result<(), TridentError> {
    let Some(nodes) = manifest.get("nodes").and_then(Value::as_object) else {
        return Ok(());
    };
    for (id, spec) in nodes {
        let Some(spec) = spec.as_object() else {
            continue;
        };
        let is_prompt = spec.get("type").and_then(Value::as_str).unwrap_or("prompt") == "prompt";
        if is_prompt && !project.prompts.contains_key(id) {
            let file = spec
                .get("prompt")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("prompts/{id}.prompt"));
            return Err(TridentError::Validation(format!(
                "{}: node '{id}' is a prompt node, but no file in {} declares `id: {id}`. Create \
                 {file} with `id: {id}` in its frontmatter.",
                project.manifest_path.display(),
                project.root.join("prompts").display()
            )));
        }
    }
    Ok(())
}

fn check_agent_prompts(project: &Project) -> Result<(), TridentError> {
    for agent in project.agents.values() {
        let path = project.root.join(&agent.prompt_path);
        if !path.is_file() {
            return Err(TridentError::Validation(format!(
                "{}: agent node '{}' uses prompt {}, which does not exist. Create it or fix the \
                 node's `prompt:` path.",
                project.manifest_path.display(),
                agent.id,
                path.display()
            )));
        }
    }
    Ok(())
}

fn add_implicit_nodes(project: &mut Project) {
    let known = project.all_nodes();
    // In order of first appearance; the sets keep a big manifest linear.
    let mut implicit_inputs = Vec::new();
    let mut implicit_outputs = Vec::new();
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for edge in project.edges.values() {
        if !known.contains_key(&edge.from) && seen.insert(edge.from.as_str()) {
            implicit_inputs.push(edge.from.clone());
        }
    }
    for edge in project.edges.values() {
        if !known.contains_key(&edge.to) && seen.insert(edge.to.as_str()) {
            implicit_outputs.push(edge.to.clone());
        }
    }
    project.implicit_nodes = implicit_inputs
        .iter()
        .chain(&implicit_outputs)
        .cloned()
        .collect();
    for id in implicit_inputs {
        project.inputs.insert(
            id.clone(),
            InputNode {
                id,
                ..InputNode::default()
            },
        );
    }
    for id in implicit_outputs {
        project.outputs.insert(
            id.clone(),
            OutputNode {
                id,
                format: "json".into(),
            },
        );
    }
}
