//! A manifest's `pricing:` section (YAML): prices per model or an error naming the entry.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use trident::pricing::parse_pricing;
use trident::project::yaml::parse_yaml;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(section) = parse_yaml(text, Path::new("/nonexistent/agent.tml")) {
        let _ = parse_pricing(&section);
    }
});
