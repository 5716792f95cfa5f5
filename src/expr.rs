//! Condition expressions for edges, branch `condition`/`loop_while` and trigger `condition`.
//!
//! Grammar: `or` of `and` of `not`-prefixed comparisons; a comparison is `term (op term)?`
//! with `== != < > <= >=`; a term is a parenthesised expression, a literal (`'s'`, `"s"`,
//! `12`, `3.5`, `true`, `false`, `null`) or a dotted identifier looked up in the context
//! (missing -> null). A term alone is a truthiness test. Comparing values of types that have
//! no order (`'a' < 3`) is an error, which callers of edge conditions treat as false.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::template::get_path;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Op(&'static str),
    And,
    Or,
    Not,
    Literal(Value),
    Ident(String),
    LParen,
    RParen,
}

/// A condition that could not be parsed or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ConditionError(pub String);

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn tokenize(expr: &str) -> Result<Vec<Token>, ConditionError> {
    let chars: Vec<char> = expr.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        if let Some(op) = ["==", "!=", "<=", ">="].into_iter().find(|op| *op == two) {
            tokens.push(Token::Op(op));
            i += 2;
            continue;
        }
        if c == '<' || c == '>' {
            tokens.push(Token::Op(if c == '<' { "<" } else { ">" }));
            i += 1;
            continue;
        }
        if c == '(' || c == ')' {
            tokens.push(if c == '(' {
                Token::LParen
            } else {
                Token::RParen
            });
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            let Some(len) = chars[i + 1..].iter().position(|&x| x == c) else {
                return Err(ConditionError(format!(
                    "unterminated string starting at position {i} in `{expr}`"
                )));
            };
            let s: String = chars[i + 1..i + 1 + len].iter().collect();
            tokens.push(Token::Literal(Value::String(s)));
            i += len + 2;
            continue;
        }
        let starts_number = c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()));
        if starts_number {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let mut is_float = false;
            if i < chars.len() && chars[i] == '.' {
                is_float = true;
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let text: String = chars[start..i].iter().collect();
            let value = if is_float {
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
            } else {
                text.parse::<i64>().ok().map(Value::from)
            };
            let Some(value) = value else {
                return Err(ConditionError(format!(
                    "invalid number `{text}` in `{expr}`"
                )));
            };
            tokens.push(Token::Literal(value));
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (is_word(chars[i]) || chars[i] == '.') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            tokens.push(match word.as_str() {
                "and" => Token::And,
                "or" => Token::Or,
                "not" => Token::Not,
                "true" => Token::Literal(Value::Bool(true)),
                "false" => Token::Literal(Value::Bool(false)),
                "null" => Token::Literal(Value::Null),
                _ => Token::Ident(word),
            });
            continue;
        }
        return Err(ConditionError(format!(
            "invalid character {c:?} at position {i} in `{expr}`"
        )));
    }
    Ok(tokens)
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

fn order(a: &Value, b: &Value, op: &str) -> Result<Ordering, ConditionError> {
    if let (Some(x), Some(y)) = (as_number(a), as_number(b)) {
        return x
            .partial_cmp(&y)
            .ok_or_else(|| ConditionError("cannot order NaN".into()));
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => Err(ConditionError(format!(
            "'{op}' not supported between {} and {}",
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

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    context: &'a Map<String, Value>,
    /// Only check the grammar: comparisons are not evaluated (so they cannot fail).
    syntax_only: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn parse_or(&mut self) -> Result<bool, ConditionError> {
        let mut left = self.parse_and()?;
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            let right = self.parse_and()?;
            left = left || right;
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<bool, ConditionError> {
        let mut left = self.parse_not()?;
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            let right = self.parse_not()?;
            left = left && right;
        }
        Ok(left)
    }

    fn parse_not(&mut self) -> Result<bool, ConditionError> {
        if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            return Ok(!self.parse_not()?);
        }
        self.parse_comparison()
    }

    fn parse_comparison(&mut self) -> Result<bool, ConditionError> {
        let left = self.parse_term()?;
        let Some(Token::Op(op)) = self.peek().cloned() else {
            return Ok(truthy(&left));
        };
        self.pos += 1;
        let right = self.parse_term()?;
        if self.syntax_only {
            return Ok(false);
        }
        Ok(match op {
            "==" => equal(&left, &right),
            "!=" => !equal(&left, &right),
            "<" => order(&left, &right, op)? == Ordering::Less,
            ">" => order(&left, &right, op)? == Ordering::Greater,
            "<=" => order(&left, &right, op)? != Ordering::Greater,
            _ => order(&left, &right, op)? != Ordering::Less,
        })
    }

    fn parse_term(&mut self) -> Result<Value, ConditionError> {
        let Some(token) = self.peek().cloned() else {
            return Err(ConditionError("unexpected end of expression".into()));
        };
        self.pos += 1;
        match token {
            Token::LParen => {
                let inner = self.parse_or()?;
                if self.peek() != Some(&Token::RParen) {
                    return Err(ConditionError("expected ')'".into()));
                }
                self.pos += 1;
                Ok(Value::Bool(inner))
            }
            Token::Literal(v) => Ok(v),
            Token::Ident(name) => Ok(get_path(self.context, &name)
                .cloned()
                .unwrap_or(Value::Null)),
            other => Err(ConditionError(format!("unexpected token {other:?}"))),
        }
    }
}

/// Evaluate `expr` against `context`; an empty expression is true.
pub fn evaluate(expr: &str, context: &Map<String, Value>) -> Result<bool, ConditionError> {
    run(expr, context, false)
}

/// Check that `expr` is a well-formed condition, without evaluating it (done when a project
/// loads, so a typo is a validation error rather than a condition silently false).
pub fn check_syntax(expr: &str) -> Result<(), ConditionError> {
    run(expr, &Map::new(), true).map(|_| ())
}

fn run(
    expr: &str,
    context: &Map<String, Value>,
    syntax_only: bool,
) -> Result<bool, ConditionError> {
    let tokens = tokenize(expr)?;
    if tokens.is_empty() {
        return Ok(true);
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        context,
        syntax_only,
    };
    let result = parser.parse_or()?;
    if let Some(extra) = parser.peek() {
        return Err(ConditionError(format!(
            "unexpected token {extra:?} in `{expr}`"
        )));
    }
    Ok(result)
}

/// The evaluation context for a node output: its fields plus `output` bound to it.
pub fn output_context(output: &Map<String, Value>) -> Map<String, Value> {
    let mut ctx = Map::with_capacity(output.len() + 1);
    ctx.insert("output".into(), Value::Object(output.clone()));
    for (k, v) in output {
        ctx.insert(k.clone(), v.clone());
    }
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn syntax_check_refuses_malformed_and_accepts_unorderable() {
        assert!(check_syntax("score < 8 and (name == 'x' or not done)").is_ok());
        assert!(
            check_syntax("'a' < 3").is_ok(),
            "a type error, found at run time"
        );
        for bad in ["score <", "(a == 1", "a == 1)", "a = 1", "'open", "a && b"] {
            assert!(check_syntax(bad).is_err(), "{bad}");
        }
    }

    fn eval(expr: &str, ctx: Value) -> Result<bool, ConditionError> {
        evaluate(expr, &output_context(ctx.as_object().unwrap()))
    }

    #[test]
    fn comparisons_and_logic() {
        let ctx = json!({"sentiment": "positive", "confidence": 0.8, "n": 3, "done": false, "user": {"age": 30}});
        assert!(eval("sentiment == 'positive'", ctx.clone()).unwrap());
        assert!(eval("confidence > 0.5 and n >= 3", ctx.clone()).unwrap());
        assert!(eval("not done", ctx.clone()).unwrap());
        assert!(eval("done == false", ctx.clone()).unwrap());
        assert!(eval("output.user.age < 40", ctx.clone()).unwrap());
        assert!(eval("(n == 1 or n == 3) and user.age != 31", ctx.clone()).unwrap());
        assert!(eval("missing == null", ctx.clone()).unwrap());
        assert!(!eval("missing", ctx.clone()).unwrap());
        assert!(eval("n == 3.0", ctx.clone()).unwrap());
        assert!(eval("\"a\" < 'b'", ctx.clone()).unwrap());
        assert!(eval("", ctx.clone()).unwrap());
        assert!(eval("n > -1", ctx.clone()).unwrap());
    }

    #[test]
    fn errors() {
        let ctx = json!({"s": "x"});
        assert!(eval("s < 3", ctx.clone()).is_err());
        assert!(eval("s ==", ctx.clone()).is_err());
        assert!(eval("s # 3", ctx.clone()).is_err());
        assert!(eval("(s", ctx.clone()).is_err());
        assert!(eval("s s", ctx).is_err());
    }
}
