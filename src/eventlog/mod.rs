//! Reading event files (a run's `events.jsonl`, a `--telemetry-file`) and folding their
//! events into runs; the one reader and the one fold every consumer of event files uses
//! (`telemetry tail`, `telemetry stats`, `project show`, `project watch`, the live progress
//! of `project run`). It never writes.
//!
//! - [`lines`]: bytes in any chunks → numbered lines, a partial last line held back,
//!   corrupt lines reported by number.
//! - [`event_line`]: the fields of an event line, borrowed from it; [`envelope_scan`]: its
//!   fast path.
//! - [`files`]: whole files in stream order (rotations), corrupt and partial lines
//!   reported with file and line number.
//! - [`follow`]: following a file by name across rotation and truncation.
//! - [`fold`]: events → a run's state and its nodes' states.
//! - [`locate`]: a run's file in a project; [`timestamp`]: RFC 3339 → milliseconds.

pub mod envelope_scan;
pub mod event_line;
pub mod files;
pub mod fold;
pub mod follow;
pub mod lines;
pub mod locate;
pub mod timestamp;

pub use event_line::EventLine;
pub use files::{EventVisitor, SkippedLine, check_readable, read_files, read_lines, stream_order};
pub use fold::{NodeCounts, NodeState, NodeStatus, RunState, RunStatus};
pub use follow::{FileChange, Follower};
pub use lines::{CorruptLine, Line, LineSplitter};
pub use locate::{RunEvents, artifact_dir, locate_run};
