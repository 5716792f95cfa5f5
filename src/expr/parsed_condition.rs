//! [`ParsedCondition`]: a condition of the manifest (an edge's `condition`, a branch's
//! `condition`/`loop_while`, a trigger's `condition`) parsed once when the project loads and
//! kept beside its text, so a run evaluates the tree instead of parsing the text again at
//! every edge and loop iteration, and a syntax error is a load-time error.

use std::sync::Arc;

use super::eval::Scope;
use super::tree::Condition;
use super::{ConditionError, parse};
use crate::fields::FieldMap;

/// A condition's text and its parsed tree (`None`: blank, always true).
#[derive(Clone)]
pub struct ParsedCondition {
    text: String,
    tree: Option<Arc<Condition>>,
}

impl ParsedCondition {
    /// Parses `text`: the tree, or the syntax error.
    pub fn parse(text: String) -> Result<ParsedCondition, ConditionError> {
        let tree = parse(&text)?.map(Arc::new);
        Ok(ParsedCondition { text, tree })
    }

    /// The condition as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The condition's value on a node output as the engine holds it (its fields, and
    /// `output` bound to it); a blank condition is true.
    pub fn evaluate_on_fields(&self, output: &FieldMap) -> Result<bool, ConditionError> {
        match &self.tree {
            Some(tree) => tree.evaluate(Scope::HeldOutput(output)),
            None => Ok(true),
        }
    }
}

/// Seen as its text (`.as_deref()` gives `&str`, comparisons and messages use the text).
impl std::ops::Deref for ParsedCondition {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

/// Printed as its text is (the project's node fingerprints hash this `Debug` form, so it
/// stays what the `String` printed).
impl std::fmt::Debug for ParsedCondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.text.fmt(f)
    }
}

impl std::fmt::Display for ParsedCondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for ParsedCondition {
    fn eq(&self, other: &ParsedCondition) -> bool {
        self.text == other.text
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parsed_once_evaluates_as_the_text_does() {
        let fields = FieldMap::from(json!({"n": 3, "s": "go"}).as_object().unwrap().clone());
        for text in [
            "n < 5 and s == 'go'",
            "output.n > 3",
            "",
            "  ",
            "not missing",
        ] {
            let parsed = ParsedCondition::parse(text.to_string()).unwrap();
            assert_eq!(
                parsed.evaluate_on_fields(&fields),
                super::super::evaluate_on_output(text, &fields),
                "{text}"
            );
            assert_eq!(&*parsed, text);
            assert_eq!(format!("{parsed:?}"), format!("{:?}", text.to_string()));
        }
        assert!(ParsedCondition::parse("n <".into()).is_err());
    }
}
