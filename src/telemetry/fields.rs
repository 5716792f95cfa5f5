//! The field visitor through which an event describes its `data` to the formats.
//!
//! An [`Event`](super::Event) never builds a map: it walks its own fields in documented
//! order, saying for each one what it is (free text, a fixed word, a number, a JSON
//! payload...). The JSON Lines and human formats implement the visitor; redaction and
//! truncation apply to `text` and `payload` only, so fixed vocabulary is never mangled.

use serde_json::Value;

use crate::fields::FieldMap;

/// Receives the fields of one event's `data`, in order.
pub(crate) trait DataVisitor {
    /// Free text that came from the run (names, errors, paths): redacted and truncated.
    fn text(&mut self, key: &'static str, value: &str);
    /// A word of a fixed vocabulary (node type, skip reason...): written as is.
    fn label(&mut self, key: &'static str, value: &str);
    /// A whole number.
    fn uint(&mut self, key: &'static str, value: u64);
    /// A number with a fraction (non-finite values are written as `null`).
    fn float(&mut self, key: &'static str, value: f64);
    /// A boolean.
    fn boolean(&mut self, key: &'static str, value: bool);
    /// A field that is documented as always present but has no value this time.
    fn null(&mut self, key: &'static str);
    /// A JSON payload (node inputs, outputs, tool input): redacted by key and by value,
    /// strings truncated.
    fn payload(&mut self, key: &'static str, value: &Value);
    /// A JSON object payload held as its map (node inputs and outputs): visited exactly as
    /// [`payload`](Self::payload) visits the same object.
    fn fields(&mut self, key: &'static str, value: &FieldMap);
    /// Opens a nested object; the fields up to [`end_object`](Self::end_object) are its own.
    fn begin_object(&mut self, key: &'static str);
    /// Closes the innermost nested object.
    fn end_object(&mut self);

    /// Visits `value` as text when present; omits the field otherwise.
    fn opt_text(&mut self, key: &'static str, value: Option<&str>) {
        if let Some(v) = value {
            self.text(key, v);
        }
    }
    /// Visits `value` as a number when present; omits the field otherwise.
    fn opt_uint(&mut self, key: &'static str, value: Option<u64>) {
        if let Some(v) = value {
            self.uint(key, v);
        }
    }
    /// Visits `value` as a number when present; omits the field otherwise.
    fn opt_float(&mut self, key: &'static str, value: Option<f64>) {
        if let Some(v) = value {
            self.float(key, v);
        }
    }
}
