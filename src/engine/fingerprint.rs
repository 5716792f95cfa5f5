//! Fingerprints a checkpoint keeps of what its run started from: a hash of the inputs, and
//! per node a hash of what defines it (its manifest definition and incoming edges, its
//! prompt file, its tool module). A resume compares them to refuse other inputs and to name
//! the nodes changed since (see `resume.rs`).
//!
//! FNV-1a ([`crate::fnv`]): collisions only cost a missed warning.

use crate::artifacts::{ProjectFingerprint, RunFingerprint};
use crate::fields::FieldMap;
use crate::fnv::Fnv;
use crate::project::Project;

/// The hash of a run's inputs (key order matters as little as it does to the run: none).
pub fn inputs_fingerprint(inputs: &FieldMap) -> String {
    let mut entries: Vec<_> = inputs.entries().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = Fnv::new();
    for (key, value) in entries {
        h.feed(key.as_bytes());
        match value {
            Some(value) => h.feed_json(&value),
            None => h.feed(b"null"),
        };
    }
    h.hex()
}

/// The hashes of `project`'s manifest and of each node's definition and files.
pub fn project_fingerprint(project: &Project) -> ProjectFingerprint {
    let mut nodes = indexmap::IndexMap::new();
    // Each node's incoming edges, found once (a lookup per node was quadratic).
    let mut incoming: std::collections::HashMap<&str, Vec<&crate::project::Edge>> =
        std::collections::HashMap::new();
    for edge in project.edges.values() {
        incoming.entry(edge.to.as_str()).or_default().push(edge);
    }
    for (id, kind) in project.all_nodes() {
        let mut h = Fnv::new();
        h.feed(kind.as_str().as_bytes());
        if let Some(n) = project.inputs.get(&id) {
            h.debug(&n.schema);
        }
        if let Some(n) = project.outputs.get(&id) {
            h.debug(n);
        }
        if let Some(p) = project.prompts.get(&id) {
            h.debug(p);
        }
        if let Some(t) = project.tools.get(&id) {
            h.debug(t);
            if let Ok(location) = crate::tools::locate_module(&project.root, t) {
                h.file(&location.file);
            }
        }
        if let Some(a) = project.agents.get(&id) {
            h.debug(a).file(&project.root.join(&a.prompt_path));
        }
        if let Some(b) = project.branches.get(&id) {
            h.debug(b);
        }
        if let Some(t) = project.triggers.get(&id) {
            h.debug(t);
        }
        for edge in incoming.get(id.as_str()).into_iter().flatten() {
            h.debug(edge);
        }
        nodes.insert(id, h.hex());
    }
    let mut manifest = Fnv::new();
    manifest.file(&project.manifest_path);
    ProjectFingerprint {
        manifest: manifest.hex(),
        nodes,
    }
}

/// The fingerprint a new checkpoint records.
pub fn run_fingerprint(project: &Project, inputs: &FieldMap) -> RunFingerprint {
    RunFingerprint {
        inputs: inputs_fingerprint(inputs),
        project: project_fingerprint(project),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inputs_hash_ignores_key_order_and_sees_values() {
        let a = json!({"x": 1, "y": "two"});
        let b = json!({"y": "two", "x": 1});
        let c = json!({"y": "two", "x": 2});
        let fp = |v: &serde_json::Value| {
            inputs_fingerprint(&FieldMap::from(v.as_object().unwrap().clone()))
        };
        assert_eq!(fp(&a), fp(&b));
        assert_ne!(fp(&a), fp(&c));
        // Inputs held as text hash as the same inputs parsed.
        let text = r#"{"y": "two", "x": 1, "z": [1.50, {"k": null}]}"#;
        let held = crate::fields::read_object(text).unwrap();
        assert!(held.is_lazy());
        assert_eq!(
            inputs_fingerprint(&held),
            fp(&serde_json::from_str(text).unwrap())
        );
    }
}
