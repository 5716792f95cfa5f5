//! Reading event files (a run's `events.jsonl`, a `--telemetry-file`): numbered lines with
//! a partial last line held back and corrupt lines reported by number ([`lines`]),
//! following a file by name across rotation and truncation ([`follow`]), and finding a
//! run's file in a project ([`locate`]). Used by `telemetry tail`, `project watch` and the
//! run analysis commands; it never writes.

pub mod follow;
pub mod lines;
pub mod locate;

pub use follow::{FileChange, Follower};
pub use lines::{CorruptLine, Line, LineSplitter};
pub use locate::{RunEvents, artifact_dir, locate_run};
