//! `trident project runs`: the most recent runs from the run index.

use crate::artifacts::RunIndexFile;
use crate::cli::RunsArgs;
use crate::error::TridentError;
use crate::exit::ExitCode;

pub fn runs(args: &RunsArgs) -> Result<ExitCode, TridentError> {
    let root = std::path::absolute(&args.path).unwrap_or(args.path.clone());
    let root = if root.is_file() {
        root.parent().map(|p| p.to_path_buf()).unwrap_or(root)
    } else {
        root
    };
    let base = root.join(".trident");
    let index = RunIndexFile::new(&base).load();
    if index.runs.is_empty() {
        println!("No runs found.");
        println!(
            "  Run a project with: trident project run {}",
            args.path.display()
        );
        return Ok(ExitCode::Success);
    }
    let shown: Vec<_> = index.runs.iter().rev().take(args.limit).collect();
    println!("Recent runs ({} of {}):", shown.len(), index.runs.len());
    println!();
    for run in shown {
        let icon = match run.status.as_str() {
            "completed" => "✓",
            "failed" => "✗",
            "running" => "…",
            "interrupted" => "⊘",
            _ => "?",
        };
        let success = match run.success {
            Some(true) => " (success)",
            Some(false) => " (failed)",
            None => "",
        };
        let short: String = run.run_id.chars().take(8).collect();
        println!("  [{icon}] {short}...");
        println!("      Status: {}{success}", run.status);
        println!("      Started: {}", run.started_at);
        if let Some(ended) = &run.ended_at {
            println!("      Ended: {ended}");
        }
        if let Some(error) = &run.error_summary {
            let cut: String = error.chars().take(60).collect();
            println!("      Error: {cut}...");
        }
        println!();
    }
    println!("Artifacts directory: {}", base.join("runs").display());
    Ok(ExitCode::Success)
}
