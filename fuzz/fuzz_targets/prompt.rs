//! A `.prompt` file: frontmatter split, YAML, input/output schemas, then the template's
//! variables. Never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use trident::project::prompt::parse_prompt;
use trident::template::variable_names;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(prompt) = parse_prompt(text, Path::new("/nonexistent/prompts/a.prompt")) {
        let _ = variable_names(&prompt.body);
    }
});
