//! A manifest (`agent.tml` YAML) parsed and built into a project model in memory, its DAG
//! built, its edge mappings checked and a run's inputs checked against its schemas: any
//! text must give a project or an error, never a panic or a hang.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use trident::dag::Dag;
use trident::project::manifest::project_from_manifest;
use trident::checks::preflight::check_inputs;
use trident::checks::validate::validate_edge_mappings;
use trident::project::yaml::parse_yaml;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/nonexistent/agent.tml");
    let Ok(manifest) = parse_yaml(text, path) else {
        return;
    };
    let Ok(project) = project_from_manifest(&manifest, Path::new("/nonexistent"), path) else {
        return;
    };
    let inputs = serde_json::json!({"text": "x", "n": 1, "items": [1, 2]});
    let _ = check_inputs(
        &project,
        &trident::fields::FieldMap::from(inputs.as_object().unwrap().clone()),
        " given with -i",
    );
    if let Ok(dag) = Dag::build(&project) {
        let _ = validate_edge_mappings(&project, &dag, None);
        let _ = dag.order.len();
    }
});
