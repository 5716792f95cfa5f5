//! The execution engine: runs a project's DAG (each node as soon as its upstream nodes are
//! done, or level by level with `--schedule levels`), one file per node kind, with
//! checkpoints, artifacts, signals and telemetry at every step.

pub mod agent_node;
pub mod branch_node;
pub mod budget;
pub mod checkpoint_folder;
pub mod console;
pub mod context;
pub mod fingerprint;
pub mod gate;
pub mod gather;
pub mod interrupt;
pub mod node;
pub mod node_error;
pub mod outcome;
pub mod prompt_node;
pub mod ready;
pub mod recorder;
pub mod resume;
pub mod run;
pub mod schedule;
pub mod scheduler;
pub mod spend;
pub mod tool_node;
pub mod trigger_node;

pub use console::Console;
pub use context::{RunOptions, Runtime, TelemetryScope};
pub use run::{RunError, RunOutcome, run_workflow};
pub use schedule::Schedule;

#[cfg(test)]
mod tests;
