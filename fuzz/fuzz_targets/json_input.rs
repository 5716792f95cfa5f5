//! Run inputs (`-i JSON`, `-f FILE`): parsed into an object or a clear error, then checked
//! against input schemas of every type. Never a panic or a stack overflow (deep nesting is
//! refused by the JSON reader). Inputs held as text (as big inputs are) read, check and write
//! exactly as the same inputs parsed.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use trident::fields::{FieldMap, read_object};
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
    let held = read_object(text);
    let Ok(inputs) = parse_run_inputs(text, "--input") else {
        assert!(held.is_none(), "held text that does not parse: {text:?}");
        return;
    };
    let inputs = FieldMap::from(inputs);
    let path = Path::new("/nonexistent/agent.tml");
    let manifest = parse_yaml(SCHEMA, path).expect("the schema fixture parses");
    let project = project_from_manifest(&manifest, Path::new("/nonexistent"), path)
        .expect("the schema fixture is a project");
    let report = check_inputs(&project, &inputs, " given with -i");
    let Some(held) = held else {
        return;
    };
    assert_eq!(
        format!("{:?}", check_inputs(&project, &held, " given with -i")),
        format!("{report:?}")
    );
    assert_eq!(
        serde_json::to_string(&held).unwrap(),
        serde_json::to_string(&inputs).unwrap()
    );
    assert_eq!(held.map(), inputs.map());
});
