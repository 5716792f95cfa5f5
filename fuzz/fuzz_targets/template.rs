//! `{{ }}` templates: rendering never panics and stays linear; a template without `{{`
//! renders to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trident::template::{render, variable_names};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let vars = serde_json::json!({
        "name": "Ada", "user": {"address": {"city": "Paris"}}, "n": 3, "o": {"a": [1]},
        "z": null, "{{": "braces"
    });
    let rendered = render(text, vars.as_object().unwrap());
    if !text.contains("{{") {
        assert_eq!(rendered, text);
    }
    let _ = variable_names(text);
});
