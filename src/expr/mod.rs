//! Condition expressions for edges, branch `condition`/`loop_while` and trigger `condition`.
//!
//! Grammar: `or` of `and` of `not`-prefixed comparisons; a comparison is `term (op term)?`
//! with `== != < > <= >=`; a term is a parenthesised expression, a literal (`'s'`, `"s"`,
//! `12`, `3.5`, `true`, `false`, `null`) or a dotted identifier looked up in the context
//! (missing -> null). A term alone is a truthiness test. Comparing values of types that have
//! no order (`'a' < 3`) is an error, which callers of edge conditions treat as false.
//!
//! Text is split into tokens ([`tokens`]), parsed into a [`Condition`] tree ([`mod@parse`],
//! nesting bounded by [`MAX_DEPTH`]) that prints back as text ([`tree`]), and evaluated
//! against a context ([`eval`]).

pub mod eval;
pub mod parse;
pub mod parsed_condition;
pub mod tokens;
pub mod tree;

use serde_json::{Map, Value};

pub use eval::{Scope, truthy};
pub use parse::MAX_DEPTH;
pub use parsed_condition::ParsedCondition;
pub use tree::{CompareOp, Condition, Term};

/// A condition that could not be parsed or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ConditionError(pub String);

/// At most the first 80 characters of a condition, for messages (a condition can be long).
pub(crate) fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    const LIMIT: usize = 80;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]).into(),
        None => text.into(),
    }
}

/// Parse `expr` into a tree; `None` for an empty (always true) condition.
pub fn parse(expr: &str) -> Result<Option<Condition>, ConditionError> {
    parse::parse_tokens(tokens::tokenize(expr)?, expr)
}

/// Evaluate `expr` against `context`; an empty expression is true.
pub fn evaluate(expr: &str, context: &Map<String, Value>) -> Result<bool, ConditionError> {
    evaluate_in(expr, Scope::Fields(context))
}

/// Evaluate `expr` against a node's `output`: its fields, and `output` bound to it (edge,
/// branch, loop and trigger conditions); an empty expression is true.
pub fn evaluate_on_output(expr: &str, output: &Map<String, Value>) -> Result<bool, ConditionError> {
    evaluate_in(expr, Scope::Output(output))
}

fn evaluate_in(expr: &str, scope: Scope) -> Result<bool, ConditionError> {
    match parse(expr)? {
        Some(condition) => condition.evaluate(scope),
        None => Ok(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conditions_on_held_fields_read_only_what_they_name() {
        let text =
            r#"{"n": 3, "rows": [{"id": 1}, {"id": 2}], "s": "go", "z": null, "o": {"k": true}}"#;
        let parsed: Map<String, Value> = serde_json::from_str(text).unwrap();
        for condition in [
            "n < 5",
            "n >= 3 and s == 'go'",
            "output.n == 3",
            "rows",
            "not z",
            "o.k",
            "output.o.k and not output.missing",
            "output",
            "s != 'stop' or n > 100",
        ] {
            let held = crate::fields::read_object(text).unwrap();
            let parsed_condition = ParsedCondition::parse(condition.to_string()).unwrap();
            assert_eq!(
                parsed_condition.evaluate_on_fields(&held),
                evaluate_on_output(condition, &parsed),
                "{condition}"
            );
        }
        let held = crate::fields::read_object(text).unwrap();
        let small = ParsedCondition::parse("n < 5 and s == 'go'".to_string()).unwrap();
        assert_eq!(small.evaluate_on_fields(&held), Ok(true));
        assert!(
            held.is_lazy(),
            "a condition on small fields leaves the rest as text"
        );
    }

    #[test]
    fn syntax_check_refuses_malformed_and_accepts_unorderable() {
        assert!(syntax_ok("score < 8 and (name == 'x' or not done)").is_ok());
        assert!(
            syntax_ok("'a' < 3").is_ok(),
            "a type error, found at run time"
        );
        for bad in ["score <", "(a == 1", "a == 1)", "a = 1", "'open", "a && b"] {
            assert!(syntax_ok(bad).is_err(), "{bad}");
        }
    }

    /// Whether `expr` parses (an error is the syntax error a project load reports).
    fn syntax_ok(expr: &str) -> Result<(), ConditionError> {
        parse(expr).map(|_| ())
    }

    fn eval(expr: &str, ctx: Value) -> Result<bool, ConditionError> {
        evaluate_on_output(expr, ctx.as_object().unwrap())
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

    #[test]
    fn output_is_bound_to_the_output_unless_a_field_has_that_name() {
        let ctx = json!({"n": 3});
        assert!(eval("output.n == 3 and output and n == output.n", ctx).unwrap());
        let ctx = json!({"output": {"n": 4}, "n": 3});
        assert!(eval("output.n == 4 and n == 3", ctx).unwrap());
        assert!(evaluate("output.n == null", &Map::new()).unwrap());
    }

    #[test]
    fn the_deepest_conditions_fit_a_small_worker_stack() {
        // Engine workers evaluate conditions on spawned threads (2 MB stacks by default):
        // the deepest accepted condition, and the refusal of a 10 000-deep one, fit in half
        // of that even in a debug build (measured: over 512 KB, under 1 MB).
        let worker = std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(|| {
                let deepest = format!(
                    "{}not (output.a.b.c == 1 or x){}",
                    "(".repeat(MAX_DEPTH - 2),
                    ")".repeat(MAX_DEPTH - 2)
                );
                let data = json!({"a": {"b": {"c": 1}}});
                let accepted = evaluate_on_output(&deepest, data.as_object().unwrap());
                let refused = syntax_ok(&format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000)));
                (accepted, refused.is_err())
            })
            .unwrap();
        let (accepted, refused) = worker.join().expect("no stack overflow");
        assert!(!accepted.unwrap());
        assert!(refused);
    }

    #[test]
    fn nesting_is_bounded_and_long_chains_are_flat() {
        let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
        let error = syntax_ok(&deep).unwrap_err();
        assert!(error.0.contains("nested more than 64 levels"), "{error}");
        assert!(
            error.0.len() < 300,
            "the message quotes a bounded prefix: {error}"
        );
        assert!(syntax_ok(&"not ".repeat(10_000)).is_err());
        let fine = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(syntax_ok(&fine).is_ok());
        let chain = vec!["a == 1"; 100_000].join(" and ");
        let Some(Condition::And(items)) = parse(&chain).unwrap() else {
            panic!("a chain of `and` is one node");
        };
        assert_eq!(items.len(), 100_000);
        assert!(!evaluate(&chain, &Map::new()).unwrap());
    }

    #[test]
    fn prints_what_it_parsed() {
        for text in [
            "a == 1 and (b or not c.d) or 'x' != \"it's\"",
            "not not x >= -2.5",
            "n < 1.0 or m > 100000000000000000000.0",
        ] {
            let tree = parse(text).unwrap().unwrap();
            assert_eq!(
                parse(&tree.to_string()).unwrap().unwrap(),
                tree,
                "{text} -> {tree}"
            );
        }
        assert_eq!(
            parse("a==1 and(b)").unwrap().unwrap().to_string(),
            "a == 1 and (b)"
        );
    }

    mod properties {
        use proptest::prelude::*;
        use serde_json::{Map, Value};

        use super::super::{CompareOp, Condition, Scope, Term, parse};

        fn literal() -> impl Strategy<Value = Value> {
            prop_oneof![
                // Strings: any text without one of the quotes (there are no escapes).
                "[^\"]{0,8}".prop_map(Value::String),
                "[^']{0,8}".prop_map(Value::String),
                any::<i64>().prop_map(Value::from),
                any::<f64>()
                    .prop_filter_map("finite", serde_json::Number::from_f64)
                    .prop_map(Value::Number),
                any::<bool>().prop_map(Value::Bool),
                Just(Value::Null),
            ]
        }

        fn path() -> impl Strategy<Value = String> {
            "[a-z_][a-z0-9_]{0,4}(\\.[a-z0-9_]{1,4}){0,2}".prop_filter("not a keyword", |p| {
                !["and", "or", "not", "true", "false", "null"].contains(&p.as_str())
            })
        }

        fn op() -> impl Strategy<Value = CompareOp> {
            prop_oneof![
                Just(CompareOp::Eq),
                Just(CompareOp::Ne),
                Just(CompareOp::Lt),
                Just(CompareOp::Gt),
                Just(CompareOp::Le),
                Just(CompareOp::Ge),
            ]
        }

        /// Trees the parser builds: `or` holds `and`s or lower, `and` holds `not`s or
        /// lower, `not` holds a `not` or a comparison; groups hold anything.
        fn condition() -> impl Strategy<Value = Condition> {
            let leaf = prop_oneof![
                literal().prop_map(Term::Literal),
                path().prop_map(Term::Path)
            ];
            let comparison = (leaf.clone(), op(), leaf.clone())
                .prop_map(|(a, op, b)| Condition::Compare(a, op, b))
                .boxed();
            let truthy = leaf.prop_map(Condition::Truthy).boxed();
            prop_oneof![comparison, truthy].prop_recursive(5, 48, 4, |inner| {
                let group = inner.clone().prop_map(|c| Term::Group(Box::new(c)));
                let unit = prop_oneof![
                    group.clone().prop_map(Condition::Truthy),
                    (
                        group,
                        op(),
                        inner.clone().prop_map(|c| Term::Group(Box::new(c)))
                    )
                        .prop_map(|(a, op, b)| Condition::Compare(a, op, b)),
                    inner
                        .clone()
                        .prop_filter_map("a not-level operand", |c| match c {
                            c @ (Condition::Not(_)
                            | Condition::Compare(..)
                            | Condition::Truthy(_)) => {
                                Some(Condition::Not(Box::new(c)))
                            }
                            _ => None,
                        }),
                ];
                let not_level = prop_oneof![
                    unit.clone(),
                    inner.clone().prop_filter("not-level", |c| !matches!(
                        c,
                        Condition::And(_) | Condition::Or(_)
                    ))
                ];
                let and = prop::collection::vec(not_level.clone(), 2..4).prop_map(Condition::And);
                let and_level = prop_oneof![and.clone(), not_level.clone()];
                let or = prop::collection::vec(and_level, 2..4).prop_map(Condition::Or);
                prop_oneof![unit, and, or]
            })
        }

        fn json() -> impl Strategy<Value = Value> {
            literal().prop_recursive(4, 32, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::vec(("[a-z]{1,3}", inner), 0..4)
                        .prop_map(|kv| Value::Object(kv.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn a_printed_tree_parses_back_to_itself(tree in condition()) {
                let text = tree.to_string();
                prop_assert_eq!(parse(&text), Ok(Some(tree)), "{}", text);
            }

            #[test]
            fn whatever_parses_prints_back_to_the_same_tree(text in "[a-z .()'<>=!0-9-]{0,40}") {
                if let Ok(Some(tree)) = parse(&text) {
                    prop_assert_eq!(parse(&tree.to_string()), Ok(Some(tree)));
                }
            }

            #[test]
            fn evaluation_never_panics_on_any_context(
                tree in condition(),
                fields in prop::collection::vec(("[a-z_]{1,4}", json()), 0..6),
            ) {
                let context: Map<String, Value> = fields.into_iter().collect();
                let _ = tree.evaluate(Scope::Fields(&context));
                let _ = tree.evaluate(Scope::Output(&context));
            }
        }
    }
}
