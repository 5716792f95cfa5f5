//! Conditions (edges, branch `condition`/`loop_while`, triggers): parsing never panics or
//! overflows the stack; a parsed condition prints as text that parses to the same tree; and
//! evaluating it against a context of every JSON type never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trident::expr::{Scope, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(Some(tree)) = parse(text) else {
        return;
    };
    let printed = tree.to_string();
    let again = parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which fails: {e}"));
    assert_eq!(again.as_ref(), Some(&tree), "{text:?} printed as {printed:?}");
    let context = serde_json::json!({
        "a": 1, "b": 2.5, "s": "text", "t": true, "n": null, "l": [1, "x"],
        "o": {"a": {"b": "deep"}, "n": -3}, "output": {"a": 0}, "e": "", "z": 0
    });
    let context = context.as_object().unwrap();
    let _ = tree.evaluate(Scope::Fields(context));
    let on_output = tree.evaluate(Scope::Output(context));
    // As the engine evaluates it (on a node output held as a FieldMap): the same answer.
    let held = trident::fields::FieldMap::from(context.clone());
    assert_eq!(tree.evaluate(Scope::HeldOutput(&held)), on_output, "{text:?}");
});
