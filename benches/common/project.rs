//! The generated projects the whole-process benchmarks run: `nodes` prompt nodes with json
//! schemas, in a wide shape (one level) or a chain.

use std::fmt::Write as _;
use std::path::Path;

/// Writes the project into `dir`.
pub fn write_project(dir: &Path, nodes: usize, chain: bool) {
    let prompts = dir.join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    let mut manifest = String::from(
        "trident: \"0.1\"\nname: bench\ndefaults:\n  model: anthropic/claude-sonnet-4-20250514\n\
         nodes:\n  input:\n    type: input\n    schema:\n      text: {type: string, description: t}\n\
         \x20 output:\n    type: output\n    format: json\nedges:\n",
    );
    for i in 0..nodes {
        let from = if chain && i > 0 {
            format!("p{}", i - 1)
        } else {
            "input".into()
        };
        writeln!(
            manifest,
            "  e{i}:\n    from: {from}\n    to: p{i}\n    mapping:\n      text: text"
        )
        .unwrap();
        let prompt = format!(
            "---\nid: p{i}\nname: Prompt {i}\ndescription: Bench prompt\ninput:\n  text:\n    type: string\n    required: true\n\
             output:\n  format: json\n  schema:\n    text:\n      type: string\n      description: out\n    score:\n      type: number\n      description: s\n---\n\
             Rewrite {{{{ text }}}} and score it.\n"
        );
        std::fs::write(prompts.join(format!("p{i}.prompt")), prompt).unwrap();
    }
    let last = if chain {
        vec![nodes - 1]
    } else {
        (0..nodes).collect()
    };
    for i in last {
        writeln!(
            manifest,
            "  o{i}:\n    from: p{i}\n    to: output\n    mapping:\n      r{i}: score"
        )
        .unwrap();
    }
    std::fs::write(dir.join("agent.tml"), manifest).unwrap();
}
