//! A run's outputs (outputs.json, `-o json`, a sub-workflow's result) pointing at the maps
//! the nodes produced instead of copying them: an output node's output is as big as what it
//! passes through, and the run's outputs are written and printed from the same map the
//! trace and the checkpoint hold. Serialised exactly as the map of outputs it stands for.

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use std::sync::Arc;

use super::shared_fields::SharedFields;
use crate::fields::FieldMap;

/// The outputs of a run.
#[derive(Debug, Clone)]
pub enum RunOutputs {
    /// `{output_node: its output, ...}`: each output node that produced something.
    Nodes(Vec<(String, SharedFields)>),
    /// One map of fields (the last node's output when there is no output node, or outputs
    /// read back from outputs.json).
    Fields(SharedFields),
}

impl Default for RunOutputs {
    fn default() -> Self {
        RunOutputs::Fields(SharedFields::default())
    }
}

/// One top-level value of [`RunOutputs`], borrowed.
#[derive(Debug, Clone, Copy)]
pub enum OutputValue<'a> {
    /// An output node's output (an object).
    Node(&'a FieldMap),
    /// A field of a single map of outputs.
    Value(&'a Value),
}

impl Serialize for OutputValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OutputValue::Node(map) => map.serialize(serializer),
            OutputValue::Value(value) => value.serialize(serializer),
        }
    }
}

impl RunOutputs {
    /// How many top-level outputs there are.
    pub fn len(&self) -> usize {
        match self {
            RunOutputs::Nodes(nodes) => nodes.len(),
            RunOutputs::Fields(fields) => fields.len(),
        }
    }

    /// Whether there is no output.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The top-level outputs with their keys, in order.
    pub fn entries(&self) -> Vec<(&str, OutputValue<'_>)> {
        match self {
            RunOutputs::Nodes(nodes) => nodes
                .iter()
                .map(|(id, map)| (id.as_str(), OutputValue::Node(map)))
                .collect(),
            RunOutputs::Fields(fields) => fields
                .iter()
                .map(|(key, value)| (key.as_str(), OutputValue::Value(value)))
                .collect(),
        }
    }

    /// A copy as one JSON map (for a record that owns its outputs).
    pub fn to_map(&self) -> Map<String, Value> {
        match self {
            RunOutputs::Nodes(nodes) => nodes
                .iter()
                .map(|(id, map)| (id.clone(), Value::Object(map.map().clone())))
                .collect(),
            RunOutputs::Fields(fields) => fields.map().clone(),
        }
    }

    /// [`flatten`](Self::flatten), shared: a single output node's map itself (as a branch
    /// passes it to its next iteration or its own output), a copy only when several maps
    /// merge.
    pub fn flatten_shared(&self) -> SharedFields {
        match self {
            RunOutputs::Nodes(nodes) if nodes.len() == 1 => Arc::clone(&nodes[0].1),
            _ => FieldMap::new(self.flatten()),
        }
    }

    /// A sub-workflow's outputs flattened for its caller: a single output node's object as
    /// it is; several objects merged; anything else kept as is.
    pub fn flatten(&self) -> Map<String, Value> {
        match self {
            RunOutputs::Nodes(nodes) if nodes.len() == 1 => nodes[0].1.map().clone(),
            RunOutputs::Nodes(nodes) => {
                let mut flat = Map::new();
                for (_, map) in nodes {
                    flat.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                flat
            }
            RunOutputs::Fields(raw) => flatten_fields(raw),
        }
    }
}

/// [`RunOutputs::flatten`] of a single map of outputs (as outputs.json holds them).
pub fn flatten_fields(raw: &Map<String, Value>) -> Map<String, Value> {
    if raw.len() == 1 {
        if let Some(Value::Object(only)) = raw.values().next() {
            return only.clone();
        }
        return raw.clone();
    }
    let mut flat = Map::new();
    for value in raw.values() {
        match value {
            Value::Object(o) => flat.extend(o.iter().map(|(k, v)| (k.clone(), v.clone()))),
            _ => return raw.clone(),
        }
    }
    flat
}

impl Serialize for RunOutputs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RunOutputs::Fields(fields) => fields.serialize(serializer),
            RunOutputs::Nodes(nodes) => {
                let mut map = serializer.serialize_map(Some(nodes.len()))?;
                for (id, output) in nodes {
                    map.serialize_entry(id, output.as_ref())?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for RunOutputs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::deserialize(deserializer).map(|map| RunOutputs::Fields(FieldMap::new(map)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;

    fn fields(value: Value) -> SharedFields {
        match value {
            Value::Object(map) => FieldMap::new(map),
            _ => unreachable!("test objects only"),
        }
    }

    #[test]
    fn one_output_node_flattens_to_its_own_map_and_several_merge() {
        let a = fields(json!({"rows": [1, 2], "t": "x"}));
        let one = RunOutputs::Nodes(vec![("a".into(), a.clone())]);
        assert!(Arc::ptr_eq(&one.flatten_shared(), &a), "shared, not copied");
        let b = fields(json!({"score": 0.5}));
        let two = RunOutputs::Nodes(vec![("a".into(), a), ("b".into(), b)]);
        assert_eq!(
            Value::Object(two.flatten_shared().map().clone()),
            json!({"rows": [1, 2], "t": "x", "score": 0.5})
        );
        // Read back from a file (a branch iteration's record), as written.
        let back: RunOutputs = serde_json::from_str(&serde_json::to_string(&one).unwrap()).unwrap();
        assert_eq!(
            Value::Object(back.flatten_shared().map().clone()),
            json!({"rows": [1, 2], "t": "x"})
        );
    }

    #[test]
    fn node_outputs_serialise_as_the_map_of_copies_did() {
        let a = fields(json!({"text": "hi", "n": [1, 2, {"x": null}]}));
        let b = fields(json!({"score": 0.5}));
        let outputs = RunOutputs::Nodes(vec![("a".into(), a.clone()), ("b".into(), b)]);
        let expected = json!({"a": {"text": "hi", "n": [1, 2, {"x": null}]}, "b": {"score": 0.5}});
        assert_eq!(
            serde_json::to_vec_pretty(&outputs).unwrap(),
            serde_json::to_vec_pretty(&expected).unwrap()
        );
        assert_eq!(Value::Object(outputs.to_map()), expected);
        assert_eq!(outputs.len(), 2);
        assert!(Arc::ptr_eq(
            &a,
            match &outputs {
                RunOutputs::Nodes(nodes) => &nodes[0].1,
                RunOutputs::Fields(_) => unreachable!(),
            }
        ));
        let entries: Vec<String> = outputs
            .entries()
            .iter()
            .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap()))
            .collect();
        assert_eq!(
            entries,
            [
                "a={\"text\":\"hi\",\"n\":[1,2,{\"x\":null}]}",
                "b={\"score\":0.5}"
            ]
        );
    }

    #[test]
    fn fields_read_back_serialise_unchanged() {
        let text = "{\n  \"x\": 1,\n  \"y\": \"two\"\n}";
        let outputs: RunOutputs = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string_pretty(&outputs).unwrap(), text);
        assert!(!outputs.is_empty());
        assert!(RunOutputs::default().is_empty());
    }

    #[test]
    fn flattening_matches_the_single_map_rule() {
        let one = RunOutputs::Nodes(vec![("out".into(), fields(json!({"a": 1})))]);
        assert_eq!(Value::Object(one.flatten()), json!({"a": 1}));
        let two = RunOutputs::Nodes(vec![
            ("o1".into(), fields(json!({"a": 1}))),
            ("o2".into(), fields(json!({"b": 2}))),
        ]);
        assert_eq!(Value::Object(two.flatten()), json!({"a": 1, "b": 2}));
        let as_map = RunOutputs::Fields(FieldMap::new(two.to_map()));
        assert_eq!(as_map.flatten(), two.flatten());
        let scalar = RunOutputs::Fields(fields(json!({"a": 1, "b": 2})));
        assert_eq!(Value::Object(scalar.flatten()), json!({"a": 1, "b": 2}));
        let single_scalar = RunOutputs::Fields(fields(json!({"a": 1})));
        assert_eq!(Value::Object(single_scalar.flatten()), json!({"a": 1}));
    }
}
