//! Evaluating a [`Condition`] against a context of values, without copying the context:
//! identifiers are looked up by reference, and a node output is seen with `output` bound
//! to itself (the edge and branch conditions' context) without building that map.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::ConditionError;
use super::tree::{CompareOp, Condition, Term};
use crate::fields::{FieldMap, FieldRef};
use crate::template::get_path;

/// Where identifiers are looked up.
#[derive(Clone, Copy)]
pub enum Scope<'a> {
    /// The map's fields.
    Fields(&'a Map<String, Value>),
    /// A node output: its fields, plus `output` bound to the whole output (a field named
    /// `output` wins).
    Output(&'a Map<String, Value>),
    /// A node output as the engine holds it ([`FieldMap`]), seen as [`Scope::Output`]: only
    /// the fields the condition names are read (a field held as text is parsed alone).
    HeldOutput(&'a FieldMap),
}

impl<'a> Scope<'a> {
    /// The value at dotted `path` (missing or null: `None`).
    fn lookup(self, path: &str) -> Option<Cow<'a, Value>> {
        match self {
            Scope::Fields(map) => get_path(map, path).map(Cow::Borrowed),
            Scope::Output(map) => in_output(
                path,
                map.contains_key("output"),
                |path| get_path(map, path).map(Cow::Borrowed),
                || map.clone(),
            ),
            Scope::HeldOutput(fields) => in_output(
                path,
                fields.field("output").is_some(),
                |path| fields.lookup(path).map(held_value),
                || fields.map().clone(),
            ),
        }
    }
}

/// `path` in a node output: its fields (`field`), plus `output` bound to the whole output
/// (`whole`) unless a field is named `output` (`has_output_field`), which then wins.
fn in_output<'a>(
    path: &str,
    has_output_field: bool,
    field: impl Fn(&str) -> Option<Cow<'a, Value>>,
    whole: impl FnOnce() -> Map<String, Value>,
) -> Option<Cow<'a, Value>> {
    let first = path.split('.').next().unwrap_or(path);
    if first != "output" || has_output_field {
        return field(path);
    }
    match path.strip_prefix("output.") {
        Some(rest) => field(rest),
        // `output` alone: the whole output (only its truthiness or equality can matter,
        // so the copy is rare).
        None if path == "output" => Some(Cow::Owned(Value::Object(whole()))),
        None => None,
    }
}

/// A field's value: borrowed when parsed, parsed (that field alone) when held as text.
fn held_value(field: FieldRef<'_>) -> Cow<'_, Value> {
    match field {
        FieldRef::Value(value) => Cow::Borrowed(value),
        raw => Cow::Owned(raw.to_value()),
    }
}

/// Python-style truthiness: null, false, 0, "", [] and {} are false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

impl Condition {
    /// The condition's value in `scope`. `and`/`or` evaluate every operand, left to right
    /// (an error in any operand is the result, as it always was).
    pub fn evaluate(&self, scope: Scope) -> Result<bool, ConditionError> {
        match self {
            Condition::Or(items) => {
                let mut any = false;
                for item in items {
                    any |= item.evaluate(scope)?;
                }
                Ok(any)
            }
            Condition::And(items) => {
                let mut all = true;
                for item in items {
                    all &= item.evaluate(scope)?;
                }
                Ok(all)
            }
            Condition::Not(inner) => Ok(!inner.evaluate(scope)?),
            Condition::Truthy(term) => Ok(truthy(term.value(scope)?.as_ref())),
            Condition::Compare(left, op, right) => {
                let (a, b) = (left.value(scope)?, right.value(scope)?);
                Ok(match op {
                    CompareOp::Eq => equal(&a, &b),
                    CompareOp::Ne => !equal(&a, &b),
                    CompareOp::Lt => order(&a, &b, *op)? == Ordering::Less,
                    CompareOp::Gt => order(&a, &b, *op)? == Ordering::Greater,
                    CompareOp::Le => order(&a, &b, *op)? != Ordering::Greater,
                    CompareOp::Ge => order(&a, &b, *op)? != Ordering::Less,
                })
            }
        }
    }
}

impl Term {
    fn value<'a>(&'a self, scope: Scope<'a>) -> Result<Cow<'a, Value>, ConditionError> {
        Ok(match self {
            Term::Literal(v) => Cow::Borrowed(v),
            Term::Path(path) => scope.lookup(path).unwrap_or(Cow::Owned(Value::Null)),
            Term::Group(inner) => Cow::Owned(Value::Bool(inner.evaluate(scope)?)),
        })
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (as_number(a), as_number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn order(a: &Value, b: &Value, op: CompareOp) -> Result<Ordering, ConditionError> {
    if let (Some(x), Some(y)) = (as_number(a), as_number(b)) {
        return x
            .partial_cmp(&y)
            .ok_or_else(|| ConditionError("cannot order NaN".into()));
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => Err(ConditionError(format!(
            "'{}' not supported between {} and {}",
            op.as_str(),
            kind(a),
            kind(b)
        ))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
