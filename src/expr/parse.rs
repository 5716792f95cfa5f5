//! Building a [`Condition`] from tokens, with the nesting of parentheses and `not` bounded
//! ([`MAX_DEPTH`]) so that no input can overflow the stack.

use super::tokens::Token;
use super::tree::{CompareOp, Condition, Term};
use super::{ConditionError, shown};

/// Most nested parentheses and `not`s in one condition.
pub const MAX_DEPTH: usize = 64;

/// Parse `tokens` (of the text `expr`, for messages); `None` when there are none.
pub fn parse_tokens(tokens: Vec<Token>, expr: &str) -> Result<Option<Condition>, ConditionError> {
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
        expr,
    };
    let condition = parser.parse_or()?;
    if let Some(extra) = parser.peek() {
        return Err(ConditionError(format!(
            "unexpected {} in `{}`",
            extra.describe(),
            shown(expr)
        )));
    }
    Ok(Some(condition))
}

struct Parser<'e> {
    tokens: Vec<Token>,
    pos: usize,
    /// Parentheses and `not`s open at this point.
    depth: usize,
    expr: &'e str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get_mut(self.pos)?;
        self.pos += 1;
        // Each token is read once: take it rather than clone it.
        Some(std::mem::replace(token, Token::RParen))
    }

    fn enter(&mut self) -> Result<(), ConditionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ConditionError(format!(
                "condition nested more than {MAX_DEPTH} levels deep (parentheses and `not`) in \
                 `{}`; simplify it",
                shown(self.expr)
            )));
        }
        Ok(())
    }

    fn parse_or(&mut self) -> Result<Condition, ConditionError> {
        let first = self.parse_and()?;
        if self.peek() != Some(&Token::Or) {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            items.push(self.parse_and()?);
        }
        Ok(Condition::Or(items))
    }

    fn parse_and(&mut self) -> Result<Condition, ConditionError> {
        let first = self.parse_not()?;
        if self.peek() != Some(&Token::And) {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            items.push(self.parse_not()?);
        }
        Ok(Condition::And(items))
    }

    fn parse_not(&mut self) -> Result<Condition, ConditionError> {
        if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            self.enter()?;
            let inner = self.parse_not()?;
            self.depth -= 1;
            return Ok(Condition::Not(Box::new(inner)));
        }
        self.parse_comparison()
    }

    fn parse_comparison(&mut self) -> Result<Condition, ConditionError> {
        let left = self.parse_term()?;
        let Some(Token::Op(op)) = self.peek() else {
            return Ok(Condition::Truthy(left));
        };
        let op = CompareOp::from_text(op).unwrap_or(CompareOp::Eq);
        self.pos += 1;
        let right = self.parse_term()?;
        Ok(Condition::Compare(left, op, right))
    }

    fn parse_term(&mut self) -> Result<Term, ConditionError> {
        let Some(token) = self.next() else {
            return Err(ConditionError(format!(
                "unexpected end of expression `{}`",
                shown(self.expr)
            )));
        };
        match token {
            Token::LParen => {
                self.enter()?;
                let inner = self.parse_or()?;
                if self.peek() != Some(&Token::RParen) {
                    return Err(ConditionError(format!(
                        "expected ')' in `{}`",
                        shown(self.expr)
                    )));
                }
                self.pos += 1;
                self.depth -= 1;
                Ok(Term::Group(Box::new(inner)))
            }
            Token::Literal(v) => Ok(Term::Literal(v)),
            Token::Ident(name) => Ok(Term::Path(name)),
            other => Err(ConditionError(format!(
                "unexpected {} in `{}`",
                other.describe(),
                shown(self.expr)
            ))),
        }
    }
}
