//! `trident project runs`: the most recent runs from the run index, each shown by the
//! shortest prefix of its id (8 characters at least) that `--resume` and `--run` accept,
//! followed by `...` when it is cut, as the original printed its 8-character prefixes;
//! `--json` prints the full index records.

use crate::artifacts::{RunIndexFile, unique_prefix};
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
    if args.json {
        let runs: Vec<_> = index.runs.iter().rev().take(args.limit).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "runs": runs })).unwrap_or_default()
        );
        return Ok(ExitCode::Success);
    }
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
        // An interrupted run is never shown as failed (its record says `success: false`).
        let success = match run.success {
            Some(true) => " (success)",
            Some(false) if run.status != "interrupted" => " (failed)",
            _ => "",
        };
        let ids = index.runs.iter().map(|r| r.run_id.as_str());
        // `...` marks a cut id, as the original printed it (`[✓] 9edc89ab...`).
        let prefix = unique_prefix(&run.run_id, ids);
        let cut = if prefix.len() < run.run_id.len() {
            "..."
        } else {
            ""
        };
        println!("  [{icon}] {prefix}{cut}");
        println!("      Status: {}{success}", run.status);
        if run.attempts > 1 {
            println!("      Attempts: {}", run.attempts);
        }
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
