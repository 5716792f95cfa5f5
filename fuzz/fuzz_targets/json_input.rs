//! Run inputs (`-i JSON`, `-f FILE`): parsed into an object or a clear error, then checked
//! against input schemas of every type. Never a panic or a stack overflow (deep nesting is
//! refused by the JSON reader).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use trident::parsers::parse_run_inputs;
use trident::project::manifest::project_from_manifest;
use trident::checks::preflight::check_inputs;
use trident::project::yaml::parse_yaml;

const SCHEMA: &str = "trident: \"0.1\"\nname: inputs\nnodes:\n  input:\n    type: input\n    \
schema:\n      s: {type: string, required: true}\n      n: {type: number}\n      i: {type: \
integer}\n      b: {type: boolean}\n      l: {type: array}\n      o: {type: object}\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(inputs) = parse_run_inputs(text, "--input") else {
        return;
    };
    let path = Path::new("/nonexistent/agent.tml");
    let manifest = parse_yaml(SCHEMA, path).expect("the schema fixture parses");
    let project = project_from_manifest(&manifest, Path::new("/nonexistent"), path)
        .expect("the schema fixture is a project");
    let _ = check_inputs(&project, &inputs, " given with -i");
});
