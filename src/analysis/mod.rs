//! Analysing runs for operators: `trident project show` (one run, from its artifacts) and
//! `trident telemetry stats` (telemetry files, any number of runs).
//!
//! - `event_line.rs`: the fields of an event line the analysis reads (borrowed, fast).
//! - `fold.rs`: event lines → runs and nodes, plus loss (`seq` gaps, `telemetry_dropped`).
//! - `files.rs`: telemetry files in stream order (rotations), corrupt and partial lines.
//! - `from_artifacts.rs`: one run from `.trident/runs/<id>/` (events.jsonl, trace.json,
//!   checkpoint, metadata, run index).
//! - `report.rs`: the run report (`--json` shape); `critical_path.rs`; `across_runs.rs`
//!   (percentiles, by model, by run); `closest.rs` (unknown run ids); `timestamp.rs`.
//! - `render.rs`: the human tables.

pub mod across_runs;
pub mod closest;
pub mod critical_path;
pub mod event_line;
pub mod files;
pub mod fold;
pub mod from_artifacts;
pub mod render;
pub mod report;
pub mod timestamp;

pub use across_runs::{AcrossRuns, across_runs};
pub use closest::{closest_ids, run_id_message};
pub use fold::{EventFold, Loss};
pub use from_artifacts::{ProjectShape, ShownRun, show_run};
pub use render::Colour;
pub use report::{NodeReport, NodeStatus, RunReport, RunStatus};
