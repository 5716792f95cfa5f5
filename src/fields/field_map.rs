//! [`FieldMap`]: the named fields a node reads or produces (a run's inputs, a node's inputs
//! and outputs), held so that big data is neither parsed nor copied until something reads it.
//!
//! A map built in memory (a model's answer, a tool's result) is a plain parsed
//! [`Map`]. A map read from big JSON input keeps each field as its checked JSON text
//! ([`Field::Raw`]); a map gathered along edges refers to the upstream fields it maps
//! ([`Field::Linked`]) instead of copying them. Writing such a map (artifacts, events, the
//! result) streams the text or the linked values; reading it as a [`Map`] (through `Deref`,
//! e.g. a prompt rendering `{{ rows }}`) parses it once and keeps the parsed form.

use std::sync::{Arc, OnceLock};

use indexmap::IndexMap;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::template::get_path;

/// A node's fields: parsed, or held as JSON text and links until read.
#[derive(Clone, Default)]
pub struct FieldMap {
    /// The fields as parsed values: set when built from a [`Map`], on first read otherwise.
    parsed: OnceLock<Map<String, Value>>,
    /// The fields not parsed yet, in order; empty for a map built from a [`Map`].
    lazy: IndexMap<String, Field>,
}

/// One field of a lazily held map.
#[derive(Clone)]
pub enum Field {
    /// JSON text, checked when it was read (valid, nesting within serde_json's limit, no
    /// repeated key in any object), not parsed yet.
    Raw(Box<RawValue>),
    /// A value held here.
    Value(Value),
    /// The field at dotted `path` of another map, shared rather than copied (present and
    /// not null there when the link was made). Made by [`FieldMap::link`], which points it
    /// at the map owning the value: a link never leads to another link.
    Linked(Arc<FieldMap>, String),
}

/// A field's value as it is held: parsed, or JSON text.
#[derive(Clone, Copy, Debug)]
pub enum FieldRef<'a> {
    /// A parsed value.
    Value(&'a Value),
    /// Checked JSON text.
    Raw(&'a RawValue),
}

impl FieldRef<'_> {
    /// Whether the value is JSON `null`.
    pub fn is_null(self) -> bool {
        match self {
            FieldRef::Value(v) => v.is_null(),
            FieldRef::Raw(raw) => raw.get().trim() == "null",
        }
    }

    /// The value parsed (a copy).
    pub fn to_value(self) -> Value {
        match self {
            FieldRef::Value(v) => v.clone(),
            // Checked when read: parsing it again cannot fail.
            FieldRef::Raw(raw) => serde_json::from_str(raw.get()).unwrap_or(Value::Null),
        }
    }
}

impl Serialize for FieldRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldRef::Value(v) => v.serialize(serializer),
            // Streamed from the text to the serializer, exactly as its parsed value would
            // be written (same numbers, escapes, indentation), without building it.
            FieldRef::Raw(raw) => {
                let mut reader = serde_json::Deserializer::from_str(raw.get());
                serde_transcode::transcode(&mut reader, serializer)
            }
        }
    }
}

impl Field {
    /// The value this field stands for, following links.
    pub fn resolve(&self) -> Option<FieldRef<'_>> {
        match self {
            Field::Raw(raw) => Some(FieldRef::Raw(raw)),
            Field::Value(v) => Some(FieldRef::Value(v)),
            Field::Linked(map, path) => map.lookup(path),
        }
    }
}

impl From<Map<String, Value>> for FieldMap {
    fn from(map: Map<String, Value>) -> FieldMap {
        FieldMap {
            parsed: OnceLock::from(map),
            lazy: IndexMap::new(),
        }
    }
}

impl FromIterator<(String, Field)> for FieldMap {
    /// A lazily held map of `fields` (a later field of the same name replaces the earlier
    /// one in its place, as in a parsed object).
    fn from_iter<I: IntoIterator<Item = (String, Field)>>(fields: I) -> FieldMap {
        let lazy: IndexMap<String, Field> = fields.into_iter().collect();
        if lazy.is_empty() {
            return FieldMap::default();
        }
        FieldMap {
            parsed: OnceLock::new(),
            lazy,
        }
    }
}

impl FieldMap {
    /// A shared map of `map`'s fields.
    pub fn new(map: Map<String, Value>) -> Arc<FieldMap> {
        Arc::new(FieldMap::from(map))
    }

    /// A link to the field at dotted `path` of `map` (which must hold it, not null), to the
    /// map that owns the value: when `map` itself links that field elsewhere, the new link
    /// goes there. Links are never chained, so a chain of 100 000 nodes each mapping the
    /// previous one's field resolves in one step (not 100 000 nested calls, a stack overflow).
    pub fn link(map: &Arc<FieldMap>, path: &str) -> Field {
        if map.parsed.get().is_none()
            && !path.contains('.')
            && let Some(Field::Linked(owner, owner_path)) = map.lazy.get(path)
        {
            return Field::Linked(Arc::clone(owner), owner_path.clone());
        }
        Field::Linked(Arc::clone(map), path.to_string())
    }

    /// The fields parsed: parsed now (and kept) when they were held as text or links.
    pub fn map(&self) -> &Map<String, Value> {
        self.parsed.get_or_init(|| {
            self.lazy
                .iter()
                .map(|(key, field)| {
                    let value = field.resolve().map_or(Value::Null, FieldRef::to_value);
                    (key.clone(), value)
                })
                .collect()
        })
    }

    /// Whether the fields are held as text or links and have not been parsed.
    pub fn is_lazy(&self) -> bool {
        !self.lazy.is_empty() && self.parsed.get().is_none()
    }

    /// How many fields (without parsing).
    pub fn len(&self) -> usize {
        if self.lazy.is_empty() {
            self.parsed.get().map_or(0, Map::len)
        } else {
            self.lazy.len()
        }
    }

    /// Whether there are no fields (without parsing).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The field names in order (without parsing).
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        let (lazy, parsed) = if self.lazy.is_empty() {
            (None, self.parsed.get().map(Map::keys))
        } else {
            (Some(self.lazy.keys()), None)
        };
        lazy.into_iter()
            .flatten()
            .chain(parsed.into_iter().flatten())
    }

    /// The fields in order as they are held (without parsing what is not parsed yet).
    pub fn entries(&self) -> impl Iterator<Item = (&String, Option<FieldRef<'_>>)> {
        let (lazy, parsed) = match self.parsed.get() {
            Some(map) => (None, Some(map.iter())),
            None => (Some(self.lazy.iter()), None),
        };
        let lazy = lazy
            .into_iter()
            .flatten()
            .map(|(key, field)| (key, field.resolve()));
        let parsed = parsed
            .into_iter()
            .flatten()
            .map(|(key, value)| (key, Some(FieldRef::Value(value))));
        lazy.chain(parsed)
    }

    /// The field `name` as it is held (null included), without parsing.
    pub fn field(&self, name: &str) -> Option<FieldRef<'_>> {
        match self.parsed.get() {
            Some(map) => map.get(name).map(FieldRef::Value),
            None => self.lazy.get(name)?.resolve(),
        }
    }

    /// The value at dotted `path` (`a.b.c`), `None` when any step is missing or it is
    /// null: [`get_path`] on the parsed fields. A single name is answered without parsing.
    pub fn lookup(&self, path: &str) -> Option<FieldRef<'_>> {
        if let Some(map) = self.parsed.get() {
            return get_path(map, path).map(FieldRef::Value);
        }
        if !path.contains('.') {
            let found = self.lazy.get(path)?.resolve()?;
            return (!found.is_null()).then_some(found);
        }
        get_path(self.map(), path).map(FieldRef::Value)
    }
}

impl std::ops::Deref for FieldMap {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Map<String, Value> {
        self.map()
    }
}

impl std::fmt::Debug for FieldMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.map().fmt(f)
    }
}

impl PartialEq for FieldMap {
    fn eq(&self, other: &FieldMap) -> bool {
        self.map() == other.map()
    }
}

impl Serialize for FieldMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(map) = self.parsed.get() {
            return map.serialize(serializer);
        }
        let mut out = serializer.serialize_map(Some(self.lazy.len()))?;
        for (key, field) in self.entries() {
            match field {
                Some(value) => out.serialize_entry(key, &value)?,
                None => out.serialize_entry(key, &Value::Null)?,
            }
        }
        out.end()
    }
}

impl<'de> Deserialize<'de> for FieldMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FieldMap, D::Error> {
        Map::deserialize(deserializer).map(FieldMap::from)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_long_chain_of_links_resolves_in_one_step() {
        let first = FieldMap::new(json!({"v": [1, 2, 3]}).as_object().unwrap().clone());
        let mut last = Arc::clone(&first);
        // Each map takes the previous one's `v` as `v` and as `n` (not a pass-through).
        for _ in 0..100_000 {
            let next: FieldMap = [
                ("v".to_string(), FieldMap::link(&last, "v")),
                ("n".to_string(), FieldMap::link(&last, "v")),
            ]
            .into_iter()
            .collect();
            last = Arc::new(next);
        }
        match last.lazy.get("n") {
            Some(Field::Linked(owner, path)) => {
                assert!(Arc::ptr_eq(owner, &first), "links lead to the owner");
                assert_eq!(path, "v");
            }
            _ => panic!("a link"),
        }
        assert_eq!(
            serde_json::to_value(&*last).unwrap(),
            json!({"v": [1, 2, 3], "n": [1, 2, 3]})
        );
        assert_eq!(last.lookup("n").unwrap().to_value(), json!([1, 2, 3]));
    }
}
