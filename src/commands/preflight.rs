//! The pre-flight of `trident project run`: everything that can be known wrong before the
//! first node starts is refused then (exit 2, naming the file, node, field or variable), and
//! warnings are printed once on stderr. See `checks::preflight` for the checks.

use std::collections::HashMap;

use crate::checks::preflight::{check_inputs, check_project};
use crate::checks::validate::ValidationReport;
use crate::cli::RunArgs;
use crate::dag::Dag;
use crate::engine::resume::check_start_from;
use crate::engine::run::entrypoint_of;
use crate::engine::{Console, RunOptions};
use crate::error::TridentError;
use crate::project::Project;
use crate::project::recursion::endless_recursion_errors;
use crate::tools::{SignatureCacheUpdate, SignatureCheck};

/// Where the run's inputs came from, for messages.
fn input_origin(args: &RunArgs) -> String {
    if args.input.is_some() {
        " given with -i".to_string()
    } else if let Some(file) = &args.input_file {
        format!(" of -f {}", file.display())
    } else if let Some(source) = &args.input_from {
        format!(" of --input-from {source}")
    } else {
        " (none given: pass them with -i JSON, -f FILE or --input-from)".to_string()
    }
}

/// Warnings to stderr; errors as one validation error.
fn settle(report: ValidationReport, console: &Console) -> Result<(), TridentError> {
    for warning in &report.warnings {
        console.warn(warning.to_string());
    }
    match report.errors.len() {
        0 => Ok(()),
        1 => Err(TridentError::Validation(report.errors[0].clone())),
        n => Err(TridentError::Validation(format!(
            "{n} problems found before the run:\n  - {}",
            report.errors.join("\n  - ")
        ))),
    }
}

/// Check the run's flags, the project and the run's inputs (unless a resume reuses the
/// checkpoint's); returns the python tools' signatures it read, and the new ones to keep
/// for the next run once this one goes ahead. The engine then checks the resume itself and,
/// for a real run, that every provider the prompt nodes call is configured, still before
/// any node runs.
pub fn check_before_run(
    args: &RunArgs,
    opts: &RunOptions,
    project: &Project,
    dag: &Dag,
    tools: &crate::tools::ToolRunner,
    console: &Console,
) -> Result<(HashMap<String, SignatureCheck>, SignatureCacheUpdate), TridentError> {
    entrypoint_of(project, dag, opts)?;
    check_start_from(dag, opts)?;
    // The run's own pool: the interpreter it resolved (or is resolving for the worker
    // booting meanwhile) serves the introspection too.
    let cache = opts.artifact_dir.as_ref().map(|dir| dir.join("cache"));
    let (signatures, cache_update) =
        tools.python_signatures(&project.root, project.tools.values(), cache.as_deref());
    let mut report = check_project(project, dag, &signatures);
    report.errors.extend(endless_recursion_errors(project));
    if opts.resume_from.is_none() || !opts.inputs.is_empty() {
        report.merge(check_inputs(project, &opts.inputs, &input_origin(args)));
    }
    settle(report, console)?;
    Ok((signatures, cache_update))
}
