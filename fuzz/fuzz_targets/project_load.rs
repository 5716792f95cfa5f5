//! A whole project loaded from a temporary folder: the input is split at lines `=====` into
//! `agent.tml`, `prompts/a.prompt`, `.env` and `sub/agent.tml` (a sub-workflow), then
//! loaded, its DAG built and validated like `trident project validate` (pre-flight checks,
//! sub-workflows, endless recursion). Never a panic, a hang or a stack overflow.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use trident::dag::Dag;
use trident::project::load_project;
use trident::checks::preflight::check_project;
use trident::checks::validate::validate_project;

const FILES: [&str; 4] = ["agent.tml", "prompts/a.prompt", ".env", "sub/agent.tml"];

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    for (name, part) in FILES.iter().zip(split_parts(data)) {
        let path = dir.path().join(name);
        let _ = std::fs::create_dir_all(path.parent().unwrap());
        let _ = std::fs::write(path, part);
    }
    let Ok(project) = load_project(dir.path()) else {
        return;
    };
    let Ok(dag) = Dag::build(&project) else {
        return;
    };
    let _ = check_project(&project, &dag, &HashMap::new());
    let _ = validate_project(&project, &dag, true, None);
});

/// The parts of `data` between lines that are exactly `=====`.
fn split_parts(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut line_start = 0;
    while line_start <= data.len() {
        let end = data[line_start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| line_start + i);
        if &data[line_start..end] == b"=====" {
            parts.push(&data[start..line_start]);
            start = (end + 1).min(data.len());
        }
        line_start = end + 1;
    }
    parts.push(&data[start..]);
    parts
}
