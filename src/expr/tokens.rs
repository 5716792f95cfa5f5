//! Splitting a condition into tokens: operators, keywords, literals, dotted identifiers and
//! parentheses. Positions in errors are character offsets.

use serde_json::Value;

use super::{ConditionError, shown};

/// One token of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A comparison operator (`==`, `!=`, `<`, `>`, `<=`, `>=`).
    Op(&'static str),
    And,
    Or,
    Not,
    /// A string, number, `true`, `false` or `null`.
    Literal(Value),
    /// A dotted identifier, looked up in the context.
    Ident(String),
    LParen,
    RParen,
}

impl Token {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Token::Op(op) => format!("operator '{op}'"),
            Token::And => "'and'".into(),
            Token::Or => "'or'".into(),
            Token::Not => "'not'".into(),
            Token::Literal(v) => format!("value {}", shown(&v.to_string())),
            Token::Ident(name) => format!("name '{}'", shown(name)),
            Token::LParen => "'('".into(),
            Token::RParen => "')'".into(),
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The tokens of `expr`, in order.
pub fn tokenize(expr: &str) -> Result<Vec<Token>, ConditionError> {
    let chars: Vec<char> = expr.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let two = match (c, next) {
            ('=', Some('=')) => Some("=="),
            ('!', Some('=')) => Some("!="),
            ('<', Some('=')) => Some("<="),
            ('>', Some('=')) => Some(">="),
            _ => None,
        };
        if let Some(op) = two {
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
                    "unterminated string starting at position {i} in `{}`",
                    shown(expr)
                )));
            };
            let s: String = chars[i + 1..i + 1 + len].iter().collect();
            tokens.push(Token::Literal(Value::String(s)));
            i += len + 2;
            continue;
        }
        let starts_number =
            c.is_ascii_digit() || (c == '-' && next.is_some_and(|d| d.is_ascii_digit()));
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
                    "invalid number `{}` in `{}` (integers fit in 64 bits)",
                    shown(&text),
                    shown(expr)
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
            "invalid character {c:?} at position {i} in `{}`",
            shown(expr)
        )));
    }
    Ok(tokens)
}
