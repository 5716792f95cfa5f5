//! `trident project validate`: load (conditions and typed numbers are checked there), build
//! the DAG, check the manifest's `telemetry:` section as `run` does (its hooks and metrics
//! destinations too), run the pre-flight checks, report edge-mapping warnings and
//! sub-workflow problems (recursively); `--strict` turns warnings into a failure.

use crate::checks::preflight::{check_project, tool_signatures};
use crate::checks::validate::{validate_edge_mappings_with, validate_subworkflows};
use crate::cli::ValidateArgs;
use crate::dag::Dag;
use crate::error::TridentError;
use crate::exit::ExitCode;
use crate::hooks::parse_hooks;
use crate::metrics::{MetricsArgs, MetricsSettings};
use crate::project::load_project;
use crate::settings::{Environment, PYTHON_VAR};
use crate::telemetry::TelemetrySection;
use crate::telemetry::args::TelemetryArgs;
use crate::telemetry::settings::TelemetrySettings;

pub fn validate(args: &ValidateArgs) -> Result<ExitCode, TridentError> {
    let project = load_project(&args.path)?;
    let dag = Dag::build(&project)?;
    // The manifest's telemetry section alone (no flags, no environment): the same
    // resolution, and so the same errors, as a run.
    let section = TelemetrySection::new(project.telemetry.as_ref(), &project.manifest_path);
    TelemetrySettings::resolve(
        &TelemetryArgs::default(),
        &|_| None,
        section,
        &project.root,
        &project.root,
    )?;
    // Its hooks and metrics destinations, as written (headers' `${VAR}`: syntax only).
    let hooks = parse_hooks(section, None)?;
    MetricsSettings::resolve(
        &MetricsArgs::default(),
        &|_| None,
        section,
        &project.root,
        &project.root,
    )?;
    let env = Environment::capture(&project.dotenv);
    let python = env.get(PYTHON_VAR).map(std::ffi::OsString::from);
    let signatures = tool_signatures(&project, python.clone());
    let preflight = check_project(&project, &dag, &signatures);
    let mut warnings = preflight.warnings;
    let mut errors = preflight.errors;
    warnings.extend(validate_edge_mappings_with(&project, &dag, &signatures));
    let sub = validate_subworkflows(&project, args.strict, python.as_ref());
    warnings.extend(sub.warnings);
    errors.extend(sub.errors);

    println!("Project: {}", project.name);
    println!("  Prompts: {}", project.prompts.len());
    println!("  Tools: {}", project.tools.len());
    println!("  Agents: {}", project.agents.len());
    println!("  Branches: {}", project.branches.len());
    println!("  Edges: {}", project.edges.len());
    println!("  Nodes in execution order: {}", dag.order.len());
    if !hooks.is_empty() {
        println!("  Hooks: {}", hooks.len());
    }
    println!();
    if !warnings.is_empty() {
        println!("Warnings:");
        for w in &warnings {
            println!("  ⚠ {w}");
        }
        println!();
    }
    if !errors.is_empty() {
        eprintln!("✗ Validation failed: {} error(s)", errors.len());
        for e in &errors {
            eprintln!("  ✗ {e}");
        }
        return Ok(ExitCode::Validation);
    }
    if args.strict && !warnings.is_empty() {
        eprintln!(
            "FAILED: {} warning(s) in strict mode (fix them above, or run without --strict)",
            warnings.len()
        );
        return Ok(ExitCode::Validation);
    }
    println!("✓ Validation passed");
    Ok(ExitCode::Success)
}
