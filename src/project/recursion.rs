//! Workflows that run themselves without end: a branch (`workflow: self`, `.`, its own
//! manifest, or through other workflows) or a trigger that leads back into a workflow
//! already running it, with nothing that could stop the recursion.
//!
//! A reference is *unconditional* when its node has no `condition:` and no edge into it has
//! a `condition:` (the only ways a node is skipped). A cycle of workflows made of
//! unconditional in-process references nests runs until the stack overflows, so it is
//! refused by `project validate` and before a run starts (exit 2, naming the node and the
//! cycle). `loop_while` does not help: each iteration runs the sub-workflow, which recurses
//! before the loop condition is read. A fire-and-forget trigger starts a separate process, so
//! it never nests, but a cycle through one is endless all the same: each run starts the next
//! `trident` process (two such triggers double them at every step), so it is refused too.
//! Recursion that a condition can stop is allowed; the engine bounds its in-process depth at
//! run time ([`MAX_WORKFLOW_DEPTH`]).

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use super::load::{find_manifest, load_project};
use super::model::{Project, TriggerMode};
use crate::expr::ParsedCondition;

/// Most nested in-process sub-workflow runs (branch and `mode: wait` trigger) below a
/// top-level run; the node that would start one more fails with a clear error.
pub const MAX_WORKFLOW_DEPTH: usize = 32;

/// A node that runs a workflow, with nothing that can skip it.
struct UnconditionalReference<'p> {
    label: &'static str,
    node_id: &'p str,
    workflow_path: &'p str,
    /// A fire-and-forget trigger: the workflow runs in a new process.
    detached: bool,
}

impl UnconditionalReference<'_> {
    /// `(branch 'again')`, `(fire-and-forget trigger 'again')`, as shown in a cycle.
    fn shown(&self) -> String {
        let kind = if self.detached {
            "fire-and-forget trigger"
        } else if self.label == "Branch" {
            "branch"
        } else {
            "trigger"
        };
        format!("({kind} '{}')", self.node_id)
    }
}

/// One workflow on the path being explored, and the reference that led out of it: how it is
/// shown, and whether it starts a new process.
struct Step {
    manifest: PathBuf,
    via: Option<(String, bool)>,
}

/// An error for each cycle of workflows that would run itself without end, starting from
/// `project` (each cycle reported once). Sub-workflows that cannot be loaded are skipped
/// (validation and the run report them where they are used).
pub fn endless_recursion_errors(project: &Project) -> Vec<String> {
    let top = canonical(&project.manifest_path);
    let base = top.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut walk = Walk {
        base,
        path: vec![Step {
            manifest: top,
            via: None,
        }],
        finished: HashSet::new(),
        errors: Vec::new(),
    };
    walk.explore(project);
    walk.errors
}

struct Walk {
    /// Folder that cycle paths are shown relative to (the top project's).
    base: PathBuf,
    path: Vec<Step>,
    /// Workflows whose unconditional references are all explored.
    finished: HashSet<PathBuf>,
    errors: Vec<String>,
}

impl Walk {
    fn explore(&mut self, project: &Project) {
        for reference in unconditional_references(project) {
            let target = if reference.workflow_path == "self" {
                canonical(&project.manifest_path)
            } else {
                match find_manifest(&project.root.join(reference.workflow_path)) {
                    Ok((manifest, _)) => canonical(&manifest),
                    Err(_) => continue,
                }
            };
            if let Some(start) = self.path.iter().position(|s| s.manifest == target) {
                self.errors
                    .push(self.cycle_error(&reference, start, &target));
                continue;
            }
            if self.finished.contains(&target) {
                continue;
            }
            let Ok(sub_project) = load_project(&target) else {
                continue;
            };
            if let Some(last) = self.path.last_mut() {
                last.via = Some((reference.shown(), reference.detached));
            }
            self.path.push(Step {
                manifest: target,
                via: None,
            });
            self.explore(&sub_project);
            if let Some(done) = self.path.pop() {
                self.finished.insert(done.manifest);
            }
        }
    }

    fn cycle_error(
        &self,
        reference: &UnconditionalReference,
        start: usize,
        target: &Path,
    ) -> String {
        let UnconditionalReference {
            label,
            node_id,
            workflow_path,
            ..
        } = reference;
        let mut cycle: Vec<String> = Vec::new();
        let mut detached = reference.detached;
        for step in &self.path[start..] {
            cycle.push(self.shown(&step.manifest));
            if let Some((shown, step_detached)) = &step.via {
                cycle.push(shown.clone());
                detached |= step_detached;
            }
        }
        cycle.push(reference.shown());
        cycle.push(self.shown(target));
        let outcome = if detached {
            "as a new trident process, without end"
        } else {
            "until the stack overflows"
        };
        format!(
            "{label} '{node_id}': circular workflow reference to {workflow_path} that never \
             ends: {} (none of these nodes has a `condition:` or a conditional edge into it, \
             so every run starts the next one {outcome}). Add a `condition:` that stops the \
             recursion, or remove the reference.",
            cycle.join(" -> ")
        )
    }

    fn shown(&self, manifest: &Path) -> String {
        relative(&self.base, manifest).display().to_string()
    }
}

/// The branch and trigger nodes of `project` that nothing can skip.
fn unconditional_references(project: &Project) -> Vec<UnconditionalReference<'_>> {
    let blank = |c: &Option<ParsedCondition>| c.as_deref().is_none_or(|c| c.trim().is_empty());
    let gated: HashSet<&str> = project
        .edges
        .values()
        .filter(|edge| !blank(&edge.condition))
        .map(|edge| edge.to.as_str())
        .collect();
    let unconditional =
        |id: &str, condition: &Option<ParsedCondition>| blank(condition) && !gated.contains(id);
    let branches = project
        .branches
        .values()
        .filter(|b| unconditional(&b.id, &b.condition))
        .map(|b| UnconditionalReference {
            label: "Branch",
            node_id: &b.id,
            workflow_path: &b.workflow_path,
            detached: false,
        });
    let triggers = project
        .triggers
        .values()
        .filter(|t| unconditional(&t.id, &t.condition))
        .map(|t| UnconditionalReference {
            label: "Trigger",
            node_id: &t.id,
            workflow_path: &t.workflow_path,
            detached: t.mode == TriggerMode::FireAndForget,
        });
    branches.chain(triggers).collect()
}

/// The canonical form of a manifest path, or the path itself when it cannot be resolved.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `path` relative to folder `base` (with `..` steps), both absolute; `path` itself when
/// they share no root.
fn relative(base: &Path, path: &Path) -> PathBuf {
    let base: Vec<Component> = base.components().collect();
    let target: Vec<Component> = path.components().collect();
    let shared = base.iter().zip(&target).take_while(|(a, b)| a == b).count();
    if shared == 0 {
        return path.to_path_buf();
    }
    let mut out = PathBuf::new();
    for _ in shared..base.len() {
        out.push("..");
    }
    for part in &target[shared..] {
        out.push(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project_in(dir: &Path, files: &[(&str, &str)]) -> Project {
        for (rel, text) in files {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        load_project(&dir.join(files[0].0)).unwrap()
    }

    fn manifest(nodes: &str, edges: &str) -> String {
        format!(
            "trident: \"0.1\"\nname: rec\nnodes:\n  input: {{type: input}}\n{nodes}  output: \
             {{type: output}}\nedges:\n{edges}"
        )
    }

    const THROUGH_AGAIN: &str = "  a: {from: input, to: again, mapping: {x: x}}\n  b: {from: \
                                 again, to: output, mapping: {x: x}}\n";

    #[test]
    fn a_workflow_running_itself_unconditionally_is_refused_however_named() {
        for workflow in ["self", ".", "./agent.tml"] {
            for extra in ["", ", loop_while: \"x < 3\""] {
                let dir = tempfile::tempdir().unwrap();
                let nodes = format!("  again: {{type: branch, workflow: {workflow}{extra}}}\n");
                let project = project_in(
                    dir.path(),
                    &[("agent.tml", &manifest(&nodes, THROUGH_AGAIN))],
                );
                let errors = endless_recursion_errors(&project);
                assert_eq!(errors.len(), 1, "{workflow}{extra}: {errors:?}");
                assert!(
                    errors[0].starts_with(&format!(
                        "Branch 'again': circular workflow reference to {workflow} that never \
                         ends: agent.tml -> (branch 'again') -> agent.tml"
                    )),
                    "{errors:?}"
                );
            }
        }
    }

    #[test]
    fn a_trigger_of_its_own_folder_is_refused_waiting_or_detached() {
        let dir = tempfile::tempdir().unwrap();
        let nodes = "  again: {type: trigger, workflow: ., mode: wait}\n";
        let project = project_in(
            dir.path(),
            &[("agent.tml", &manifest(nodes, THROUGH_AGAIN))],
        );
        let errors = endless_recursion_errors(&project);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("agent.tml -> (trigger 'again') -> agent.tml"));

        let nodes = "  again: {type: trigger, workflow: .}\n";
        let project = project_in(
            dir.path(),
            &[("agent.tml", &manifest(nodes, THROUGH_AGAIN))],
        );
        let errors = endless_recursion_errors(&project);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains(
                "agent.tml -> (fire-and-forget trigger 'again') -> agent.tml (none of these \
                 nodes has a `condition:` or a conditional edge into it, so every run starts \
                 the next one as a new trident process, without end)"
            ),
            "{errors:?}"
        );
        // With a condition it may stop: allowed.
        let nodes = "  again: {type: trigger, workflow: ., condition: \"x < 3\"}\n";
        let project = project_in(
            dir.path(),
            &[("agent.tml", &manifest(nodes, THROUGH_AGAIN))],
        );
        assert!(endless_recursion_errors(&project).is_empty());
    }

    #[test]
    fn a_cycle_with_one_detached_step_is_an_endless_chain_of_processes() {
        let dir = tempfile::tempdir().unwrap();
        let a = manifest(
            "  to_b: {type: trigger, workflow: ../b, mode: fire-and-forget}\n",
            "  e: {from: input, to: to_b}\n",
        );
        let b = manifest(
            "  to_a: {type: branch, workflow: ../a/agent.tml}\n",
            "  e: {from: input, to: to_a}\n",
        );
        let project = project_in(dir.path(), &[("a/agent.tml", &a), ("b/agent.tml", &b)]);
        let errors = endless_recursion_errors(&project);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains(
                "agent.tml -> (fire-and-forget trigger 'to_b') -> ../b/agent.tml -> (branch \
                 'to_a') -> agent.tml"
            ) && errors[0].contains("as a new trident process, without end"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_condition_on_the_node_or_an_edge_into_it_allows_the_recursion() {
        let dir = tempfile::tempdir().unwrap();
        let nodes = "  again: {type: branch, workflow: self, condition: \"x < 3\"}\n";
        let project = project_in(
            dir.path(),
            &[("agent.tml", &manifest(nodes, THROUGH_AGAIN))],
        );
        assert!(endless_recursion_errors(&project).is_empty());

        let nodes = "  again: {type: branch, workflow: self}\n";
        let edges = "  a: {from: input, to: again, mapping: {x: x}, condition: \"x < 3\"}\n  b: \
                     {from: again, to: output}\n";
        let project = project_in(dir.path(), &[("agent.tml", &manifest(nodes, edges))]);
        assert!(endless_recursion_errors(&project).is_empty());
    }

    #[test]
    fn a_cycle_through_other_workflows_names_each_step() {
        let dir = tempfile::tempdir().unwrap();
        let a = manifest(
            "  to_b: {type: branch, workflow: ../b/agent.tml}\n",
            "  e: {from: input, to: to_b}\n",
        );
        let b = manifest(
            "  to_a: {type: trigger, workflow: ../a, mode: wait}\n",
            "  e: {from: input, to: to_a}\n",
        );
        let project = project_in(dir.path(), &[("a/agent.tml", &a), ("b/agent.tml", &b)]);
        let errors = endless_recursion_errors(&project);
        assert_eq!(
            errors,
            vec![
                "Trigger 'to_a': circular workflow reference to ../a that never ends: agent.tml \
                 -> (branch 'to_b') -> ../b/agent.tml -> (trigger 'to_a') -> agent.tml (none of \
                 these nodes has a `condition:` or a conditional edge into it, so every run \
                 starts the next one until the stack overflows). Add a `condition:` that stops \
                 the recursion, or remove the reference."
                    .to_string()
            ]
        );
    }

    #[test]
    fn relative_paths_climb_with_dot_dot() {
        assert_eq!(
            relative(Path::new("/p/a"), Path::new("/p/b/agent.tml")),
            PathBuf::from("../b/agent.tml")
        );
        assert_eq!(
            relative(Path::new("/p"), Path::new("/p/agent.tml")),
            PathBuf::from("agent.tml")
        );
    }
}
