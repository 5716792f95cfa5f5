//! Reading a JSON object's text into a [`FieldMap`] that keeps each field as checked text:
//! a big input costs about its own size in memory instead of a parsed tree many times bigger
//! (600k small objects: 44.5 MB of text, about 440 MB parsed).
//!
//! Each field is checked as it would be parsed: valid JSON, nesting within serde_json's
//! limit, and no object repeating a key (a parsed object keeps the last value of a repeated
//! key; text written back as it is would keep both), so writing the text back gives exactly
//! what writing the parsed value would. A field that fails a check is parsed instead.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::field_map::{Field, FieldMap};

/// The fields of `text`, a JSON object, held as checked text; `None` when `text` is not a
/// valid JSON object (the caller parses it, and reports what is wrong).
pub fn read_object(text: &str) -> Option<FieldMap> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let mut reader = serde_json::Deserializer::from_str(text);
    let fields = reader.deserialize_map(TopLevel).ok()?;
    reader.end().ok()?;
    Some(fields.into_iter().collect())
}

/// The top-level object's fields, each checked as it is read (a field a later one of the
/// same name replaces must be valid too, as the parser sees it).
struct TopLevel;

impl<'de> Visitor<'de> for TopLevel {
    type Value = Vec<(String, Field)>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::new();
        while let Some(key) = entries.next_key::<String>()? {
            let raw: Box<RawValue> = entries.next_value()?;
            let field = match written_back_exactly(&raw) {
                Ok(()) => Field::Raw(raw),
                Err(_) => {
                    Field::Value(serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?)
                }
            };
            fields.push((key, field));
        }
        Ok(fields)
    }
}

/// Whether `raw` parses within serde_json's nesting limit with no object repeating a key.
fn written_back_exactly(raw: &RawValue) -> Result<(), serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_str(raw.get());
    reader.deserialize_any(Checker)?;
    reader.end()
}

/// Walks a value, failing on a repeated key in any object.
struct Checker;

impl<'de> DeserializeSeed<'de> for Checker {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(Checker)
    }
}

impl<'de> Visitor<'de> for Checker {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        while items.next_element_seed(Checker)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        // Most objects are small: a linear look beats hashing up to a few dozen keys.
        let mut keys: Vec<String> = Vec::new();
        let mut set = std::collections::HashSet::new();
        while let Some(key) = entries.next_key::<std::borrow::Cow<'de, str>>()? {
            let repeated = if set.is_empty() && keys.len() < 32 {
                let repeated = keys.iter().any(|k| *k == key);
                keys.push(key.into_owned());
                if keys.len() == 32 {
                    set.extend(keys.drain(..));
                }
                repeated
            } else {
                !set.insert(key.into_owned())
            };
            if repeated {
                return Err(serde::de::Error::custom("repeated key"));
            }
            entries.next_value_seed(Checker)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn an_object_is_held_as_text_and_reads_and_writes_as_its_parsed_value() {
        let text = r#"{"rows": [{"id": 1, "v": "a\u00e9\n", "n": 1.50, "big": 1e3}], "t": "x", "z": null}"#;
        let lazy = read_object(text).unwrap();
        assert!(lazy.is_lazy());
        assert_eq!(lazy.len(), 3);
        assert_eq!(lazy.keys().collect::<Vec<_>>(), ["rows", "t", "z"]);
        let parsed: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            serde_json::to_string(&lazy).unwrap(),
            serde_json::to_string(&parsed).unwrap()
        );
        assert_eq!(
            serde_json::to_string_pretty(&lazy).unwrap(),
            serde_json::to_string_pretty(&parsed).unwrap()
        );
        assert!(lazy.is_lazy(), "writing does not parse");
        assert_eq!(lazy.lookup("t").unwrap().to_value(), json!("x"));
        assert!(
            lazy.lookup("z").is_none(),
            "null is missing, as get_path says"
        );
        assert!(lazy.lookup("nope").is_none());
        assert!(lazy.is_lazy(), "a single name is looked up without parsing");
        assert_eq!(Value::Object(lazy.map().clone()), parsed);
        assert!(!lazy.is_lazy());
    }

    #[test]
    fn a_field_with_a_repeated_key_is_parsed_so_the_last_value_wins() {
        let text = r#"{"a": {"k": 1, "k": 2}, "b": [1], "b": [2]}"#;
        let lazy = read_object(text).unwrap();
        let parsed: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            serde_json::to_string(&lazy).unwrap(),
            serde_json::to_string(&parsed).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&lazy).unwrap(),
            r#"{"a":{"k":2},"b":[2]}"#
        );
        // Many keys: past the linear look.
        let many: String = (0..100).map(|i| format!("\"k{i}\": {i},")).collect();
        let text = format!(r#"{{"a": {{{many} "k7": "again"}}}}"#);
        let lazy = read_object(&text).unwrap();
        assert_eq!(lazy.lookup("a").unwrap().to_value()["k7"], json!("again"));
    }

    #[test]
    fn anything_but_a_valid_object_is_left_to_the_parser() {
        let replaced_bad_number = "{\"b\": 1e999, \"b\": 1}";
        assert!(serde_json::from_str::<Value>(replaced_bad_number).is_err());
        for text in [
            "[1]",
            "\"s\"",
            "1",
            "{\"a\": }",
            "{\"a\": 1} x",
            "",
            "{\"a\": 1",
            replaced_bad_number,
        ] {
            assert!(read_object(text).is_none(), "{text}");
        }
        let deep = format!("{{\"x\": {}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(
            read_object(&deep).is_none(),
            "nesting past serde_json's limit"
        );
    }
}
