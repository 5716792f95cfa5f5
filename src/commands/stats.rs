//! `trident telemetry stats FILE... [--run ID] [--json]`: the analysis of telemetry files
//! (see `crate::analysis`): one run in detail, or several with per-node percentiles, and
//! what was lost.

use std::io::Write;

use serde::Serialize;

use crate::analysis::render::{render_across, render_loss, render_run};
use crate::analysis::{
    AcrossRuns, Colour, EventFold, Loss, RunReport, across_runs, run_id_message,
};
use crate::artifacts::{RunIdError, resolve_among};
use crate::cli::StatsArgs;
use crate::error::TridentError;
use crate::eventlog::{SkippedLine, check_readable, read_files, stream_order};
use crate::exit::ExitCode;

/// The `--json` document (field order as documented).
#[derive(Serialize)]
struct StatsJson<'a> {
    files: &'a [String],
    events: u64,
    skipped_lines: &'a [SkippedLine],
    loss: &'a Loss,
    runs: &'a [RunReport],
    across_runs: &'a AcrossRuns,
}

pub fn stats(args: &StatsArgs) -> Result<ExitCode, TridentError> {
    let files = stream_order(&args.files);
    check_readable(&files).map_err(TridentError::Validation)?;
    let mut fold = EventFold::default();
    let skipped = read_files(&files, &mut fold).map_err(TridentError::Runtime)?;
    let mut err = std::io::stderr().lock();
    for line in &skipped {
        let _ = writeln!(
            err,
            "warning: {}:{}: {}; skipped",
            line.file, line.line, line.problem
        );
    }
    let events = fold.events;
    let (mut runs, loss) = fold.finish();
    if let Some(query) = &args.run {
        let ids: Vec<String> = runs.iter().map(|r| r.run_id.clone()).collect();
        let id = match query.as_str() {
            "latest" => runs
                .iter()
                .rev()
                .find(|r| r.parent_run_id.is_none())
                .map(|r| r.run_id.clone())
                .ok_or(RunIdError::NoRuns),
            q => resolve_among(q, &ids),
        }
        .map_err(|e| TridentError::Validation(run_id_message(&e, &ids)))?;
        runs.retain(|r| r.run_id == id || r.parent_run_id.as_deref() == Some(id.as_str()));
    }
    let across = across_runs(&runs);
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if args.json {
        let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        let report = StatsJson {
            files: &files,
            events,
            skipped_lines: &skipped,
            loss: &loss,
            runs: &runs,
            across_runs: &across,
        };
        // Written as it is serialised (a report of many runs is large).
        let _ = serde_json::to_writer_pretty(&mut out, &report).and_then(|()| {
            out.write_all(b"\n")
                .and_then(|()| out.flush())
                .map_err(serde_json::Error::io)
        });
        return Ok(ExitCode::Success);
    }
    let colour = Colour::of_stdout();
    let mut text = String::new();
    if runs.is_empty() {
        text.push_str("No runs found (no event carries a run_id).\n");
    } else if args.run.is_some() || runs.len() == 1 {
        for run in &runs {
            text.push_str(&render_run(run, None, colour));
            text.push('\n');
        }
    } else {
        text.push_str(&render_across(&across, &runs, colour));
        text.push('\n');
    }
    text.push_str(&render_loss(&loss, events, &skipped));
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    Ok(ExitCode::Success)
}
