//! `trident project signals`: list (or `--clear`) the project's orchestration signals, in
//! the folder the runs write them to (`orchestration.signals.directory`, default
//! `.trident/signals`; the original always looked in `.trident/signals`).

use crate::artifacts::Signal;
use crate::cli::SignalsArgs;
use crate::error::TridentError;
use crate::exit::ExitCode;
use crate::project::{Orchestration, load_project};

pub fn signals(args: &SignalsArgs) -> Result<ExitCode, TridentError> {
    let project = load_project(&args.path)?;
    let dir = Orchestration::signals_dir(project.orchestration.as_ref(), &project.root);
    if args.clear {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| {
                TridentError::Runtime(format!("Cannot clear {}: {e}", dir.display()))
            })?;
            println!("Cleared signals directory: {}", dir.display());
        } else {
            println!("No signals directory to clear");
        }
        return Ok(ExitCode::Success);
    }
    println!("Project: {}", project.name);
    println!("Signals directory: {}", dir.display());
    println!();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| {
        !p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    });
    if files.is_empty() {
        println!("No signals found");
        return Ok(ExitCode::Success);
    }
    files.sort();
    println!("Current signals:");
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let parsed = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<Signal>(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(signal) => {
                println!("  {name}");
                println!("    Run ID: {}", signal.run_id);
                println!("    Timestamp: {}", signal.timestamp);
                if let Some(out) = signal.outputs_path {
                    println!("    Outputs: {out}");
                }
            }
            Err(e) => println!("  {name} (error reading: {e})"),
        }
    }
    Ok(ExitCode::Success)
}
