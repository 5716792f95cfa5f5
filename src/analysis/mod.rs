//! Analysing runs for operators: `trident project show` (one run, from its artifacts) and
//! `trident telemetry stats` (telemetry files, any number of runs).
//!
//! - `fold.rs`: event lines → runs (each the one fold of `crate::eventlog::fold`), plus
//!   loss (`seq` gaps, `telemetry_dropped`). Files are read by `crate::eventlog::files`.
//! - `from_artifacts.rs`: one run from `.trident/runs/<id>/` (events.jsonl, trace.json,
//!   checkpoint, metadata, run index).
//! - `report.rs`: the run report (`--json` shape); `critical_path.rs`; `across_runs.rs`
//!   (percentiles, by model, by run).
//! - `render.rs`: the human tables.

pub mod across_runs;
pub mod critical_path;
pub mod fold;
pub mod from_artifacts;
pub mod render;
pub mod report;

pub use crate::artifacts::{closest_ids, run_id_message};
pub use crate::eventlog::{files, timestamp};
pub use across_runs::{AcrossRuns, across_runs};
pub use fold::{EventFold, Loss};
pub use from_artifacts::{ProjectShape, ShownRun, show_run};
pub use render::Colour;
pub use report::{NodeReport, NodeStatus, RunReport, RunStatus};
