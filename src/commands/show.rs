//! `trident project show [PATH] [--run ID|latest] [--json]`: one run from its artifacts
//! (see `crate::analysis`), as tables or as JSON.

use std::io::Write;

use serde_json::json;

use crate::analysis::render::{render_loss, render_run};
use crate::analysis::{Colour, ProjectShape, run_id_message, show_run};
use crate::artifacts::RunIndexFile;
use crate::cli::ShowArgs;
use crate::dag::Dag;
use crate::error::TridentError;
use crate::exit::ExitCode;
use crate::project::{Project, find_manifest, load_project};

/// The node order, kinds and edges of a project, for the report.
fn shape(project: &Project) -> Option<ProjectShape> {
    Dag::build(project)
        .ok()
        .map(|dag| ProjectShape::of(project, &dag))
}

pub fn show(args: &ShowArgs) -> Result<ExitCode, TridentError> {
    let (_, root) = find_manifest(&args.path)?;
    let base = root.join(".trident");
    let index = RunIndexFile::new(&base);
    let ids = index.known_ids();
    let run_id = index
        .resolve(&args.run)
        .map_err(|e| TridentError::Validation(run_id_message(&e, &ids)))?;
    // The project gives node types, pending nodes and the DAG's edges; a run still shows
    // when the manifest has changed or no longer loads.
    let project_shape = load_project(&args.path).ok().as_ref().and_then(shape);
    let shown = show_run(&base, &run_id, project_shape.as_ref());
    let mut err = std::io::stderr().lock();
    for line in &shown.skipped_lines {
        let _ = writeln!(
            err,
            "warning: {}:{}: {}; skipped",
            line.file, line.line, line.problem
        );
    }
    let text = if args.json {
        let value = json!({
            "run": shown.report,
            "source": shown.source,
            "loss": shown.loss,
            "skipped_lines": shown.skipped_lines,
        });
        format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        )
    } else {
        let colour = Colour::of_stdout();
        let mut text = render_run(&shown.report, Some(shown.source), colour);
        if shown.source == "events.jsonl" {
            text.push('\n');
            text.push_str(&render_loss(
                &shown.loss,
                shown.events,
                &shown.skipped_lines,
            ));
        }
        text
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(ExitCode::Success)
}
