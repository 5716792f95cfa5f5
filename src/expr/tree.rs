//! The parsed form of a condition, and its printer: printing a tree the parser built and
//! parsing the text again gives the same tree (a property test checks it).

use std::fmt;

use serde_json::Value;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl CompareOp {
    /// The operator from its token text.
    pub fn from_text(op: &str) -> Option<CompareOp> {
        Some(match op {
            "==" => CompareOp::Eq,
            "!=" => CompareOp::Ne,
            "<" => CompareOp::Lt,
            ">" => CompareOp::Gt,
            "<=" => CompareOp::Le,
            ">=" => CompareOp::Ge,
            _ => return None,
        })
    }

    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Gt => ">",
            CompareOp::Le => "<=",
            CompareOp::Ge => ">=",
        }
    }
}

/// A condition: `or` of `and` of `not`-prefixed comparisons or truthiness tests. `and` and
/// `or` hold their operands in a list (two or more), so a long chain is a wide tree, never
/// a deep one.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Or(Vec<Condition>),
    And(Vec<Condition>),
    Not(Box<Condition>),
    Compare(Term, CompareOp, Term),
    /// A term alone: true when its value is truthy.
    Truthy(Term),
}

/// An operand of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// A string, number, boolean or null.
    Literal(Value),
    /// A dotted identifier, looked up in the context (missing: null).
    Path(String),
    /// A parenthesised condition; its value is its boolean result.
    Group(Box<Condition>),
}

impl Condition {
    /// Binding strength: `or` 0, `and` 1, everything else 2.
    fn precedence(&self) -> u8 {
        match self {
            Condition::Or(_) => 0,
            Condition::And(_) => 1,
            _ => 2,
        }
    }

    /// Print `self` where an operand of strength `at_least` is expected, in parentheses
    /// when it binds more loosely (only trees not built by the parser need them).
    fn fmt_operand(&self, f: &mut fmt::Formatter<'_>, at_least: u8) -> fmt::Result {
        if self.precedence() < at_least {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Or(items) | Condition::And(items) => {
                let (word, strength) = match self {
                    Condition::Or(_) => (" or ", 1),
                    _ => (" and ", 2),
                };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(word)?;
                    }
                    item.fmt_operand(f, strength)?;
                }
                Ok(())
            }
            Condition::Not(inner) => {
                f.write_str("not ")?;
                inner.fmt_operand(f, 2)
            }
            Condition::Compare(left, op, right) => write!(f, "{left} {} {right}", op.as_str()),
            Condition::Truthy(term) => write!(f, "{term}"),
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Literal(value) => fmt_literal(value, f),
            Term::Path(path) => f.write_str(path),
            Term::Group(inner) => write!(f, "({inner})"),
        }
    }
}

/// A literal as the tokenizer reads it back: strings quoted with a quote they do not
/// contain, floats always with a `.` and never in exponent form.
fn fmt_literal(value: &Value, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match value {
        Value::String(s) if s.contains('\'') => write!(f, "\"{s}\""),
        Value::String(s) => write!(f, "'{s}'"),
        Value::Number(n) if n.is_f64() => {
            let text = n.as_f64().unwrap_or_default().to_string();
            if text.contains('.') {
                f.write_str(&text)
            } else {
                write!(f, "{text}.0")
            }
        }
        other => write!(f, "{other}"),
    }
}
