//! `trident project init`: a new project that validates and dry-runs as created.

use std::path::Path;

use crate::cli::{InitArgs, Template};
use crate::error::TridentError;
use crate::exit::ExitCode;
use crate::project::load::MANIFEST_NAMES;

fn manifest(name: &str) -> String {
    format!(
        r#"trident: "0.1"
name: {name}
description: A Trident project

defaults:
  model: anthropic/claude-sonnet-4-20250514
  temperature: 0.7
  max_tokens: 1024

entrypoints:
  - input

nodes:
  input:
    type: input
    schema:
      text:
        type: string
        description: Text to process

  output:
    type: output
    format: json

edges:
  input_to_example:
    from: input
    to: example
    mapping:
      content: text

  example_to_output:
    from: example
    to: output
    mapping:
      result: result
      length: length
"#
    )
}

const EXAMPLE_PROMPT: &str = r#"---
id: example
name: Example
description: Summarises the input text

input:
  content:
    type: string
    description: The text to process

output:
  format: json
  schema:
    result:
      type: string
      description: A one-sentence summary of the text
    length:
      type: number
      description: The number of characters in the text
---
Summarise the following text in one sentence and count its characters.

Text: {{ content }}

Reply with JSON holding `result` (the summary) and `length` (the character count).
"#;

const EXAMPLE_TOOL: &str = r#""""Example tool: counts words and characters."""


def process(text: str) -> dict:
    return {"word_count": len(text.split()), "char_count": len(text)}
"#;

fn write(path: &Path, text: &str) -> Result<(), TridentError> {
    std::fs::write(path, text)
        .map_err(|e| TridentError::Runtime(format!("Cannot write {}: {e}", path.display())))
}

pub fn init(args: &InitArgs) -> Result<ExitCode, TridentError> {
    let path = std::path::absolute(&args.path).unwrap_or(args.path.clone());
    std::fs::create_dir_all(&path)
        .map_err(|e| TridentError::Runtime(format!("Cannot create {}: {e}", path.display())))?;
    for existing in MANIFEST_NAMES {
        if path.join(existing).exists() {
            return Err(TridentError::Validation(format!(
                "{} already contains {existing}: choose another folder (nothing was changed).",
                path.display()
            )));
        }
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "trident-project".into());
    let prompts = path.join("prompts");
    std::fs::create_dir_all(&prompts)
        .map_err(|e| TridentError::Runtime(format!("Cannot create {}: {e}", prompts.display())))?;
    write(&path.join("agent.tml"), &manifest(&name))?;
    write(&prompts.join("example.prompt"), EXAMPLE_PROMPT)?;
    let standard = matches!(args.template, Template::Standard);
    if standard {
        for dir in ["tools", "schemas"] {
            std::fs::create_dir_all(path.join(dir))
                .map_err(|e| TridentError::Runtime(format!("Cannot create {dir}/: {e}")))?;
        }
        write(&path.join("tools").join("example_tool.py"), EXAMPLE_TOOL)?;
    }
    println!("Created Trident project at {}", path.display());
    println!(
        "  Template: {}",
        if standard { "standard" } else { "minimal" }
    );
    println!("  Manifest: agent.tml");
    println!("  Prompts:  prompts/example.prompt");
    if standard {
        println!("  Tools:    tools/");
        println!("  Schemas:  schemas/");
    }
    println!();
    println!("Next steps:");
    println!("  cd {}", path.display());
    println!("  trident project validate");
    println!("  trident project run --dry-run -i '{{\"text\": \"hello\"}}'");
    Ok(ExitCode::Success)
}
