//! One run's board: node states and totals folded from its events ([`model`]) and drawn as
//! text ([`render`]); shown live during `trident project run` by the [`progress`] sink and
//! by `trident project watch` from the run's `events.jsonl`.

pub mod model;
pub mod progress;
pub mod render;

pub use model::{Board, NodeCounts, NodeState, NodeStatus, RunStatus};
pub use progress::{ProgressMode, ProgressSink};
pub use render::BoardText;
