//! The `.trident/` artifact store: its JSON records (field names are a public interface read
//! by the monitoring dashboard), atomic writes, watched artifacts (rewritten in place with a
//! recovery copy), the locked run index, journaled checkpoints and the per-run store.
//!
//! ```text
//! .trident/runs/manifest.json            run index
//! .trident/runs/<run_id>/metadata.json   checkpoint.json (+ checkpoint.journal)
//! .trident/runs/<run_id>/trace.json      outputs.json   branches/<b>/iteration_<n>.json
//! (manifest, metadata, checkpoint and trace each have a recovery copy `.<stem>.prev.json`)
//! .trident/signals/<workflow>.<type>     .trident/outputs/<alias>.json
//! ```

pub mod atomic;
pub mod checkpoint;
pub mod closest;
pub mod liveness;
pub mod records;
pub mod run_index;
pub mod run_outputs;
pub mod shared_fields;
pub mod shared_text;
pub mod short_id;
pub mod store;
pub mod watched;

pub use checkpoint::CheckpointStore;
pub use closest::{closest_ids, run_id_message};
pub use records::*;
pub use run_index::{RunIdError, RunIndexFile, resolve_among};
pub use run_outputs::{OutputValue, RunOutputs, flatten_fields};
pub use shared_fields::SharedFields;
pub use shared_text::SharedText;
pub use short_id::unique_prefix;
pub use store::RunStore;
pub use watched::{read_watched_json, watched_exists};
