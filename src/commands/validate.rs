//! `trident project validate`: load, build the DAG, report edge-mapping warnings and
//! sub-workflow problems (recursively); `--strict` turns warnings into a failure.

use crate::cli::ValidateArgs;
use crate::dag::Dag;
use crate::error::TridentError;
use crate::exit::ExitCode;
use crate::project::load_project;
use crate::project::validate::{validate_edge_mappings, validate_subworkflows};

pub fn validate(args: &ValidateArgs) -> Result<ExitCode, TridentError> {
    let project = load_project(&args.path)?;
    let dag = Dag::build(&project)?;
    let mut warnings = validate_edge_mappings(&project, &dag);
    let sub = validate_subworkflows(&project, args.strict);
    warnings.extend(sub.warnings);
    let errors = sub.errors;

    println!("Project: {}", project.name);
    println!("  Prompts: {}", project.prompts.len());
    println!("  Tools: {}", project.tools.len());
    println!("  Agents: {}", project.agents.len());
    println!("  Branches: {}", project.branches.len());
    println!("  Edges: {}", project.edges.len());
    println!("  Nodes in execution order: {}", dag.order.len());
    println!();
    if !warnings.is_empty() {
        println!("Warnings:");
        for w in &warnings {
            let edge = w
                .edge_id
                .as_ref()
                .map(|e| format!(" (edge: {e})"))
                .unwrap_or_default();
            println!("  ⚠ {}{edge}", w.message);
        }
        println!();
    }
    if args.strict && !warnings.is_empty() {
        eprintln!(
            "FAILED: {} warning(s) in strict mode (fix the mappings above, or run without \
             --strict)",
            warnings.len()
        );
        return Ok(ExitCode::Validation);
    }
    if errors.is_empty() {
        println!("✓ Validation passed");
        Ok(ExitCode::Success)
    } else {
        eprintln!("✗ Validation failed: {} error(s)", errors.len());
        for e in &errors {
            eprintln!("  ✗ {e}");
        }
        Ok(ExitCode::Validation)
    }
}
