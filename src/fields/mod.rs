//! Node data as it moves through a run: a run's inputs, each node's inputs and outputs.
//!
//! [`FieldMap`] holds named fields parsed, or as checked JSON text and links to upstream
//! fields until something reads them, so big inputs are neither parsed nor copied just to
//! be passed along and written.

pub mod field_map;
pub mod raw_object;

pub use field_map::{Field, FieldMap, FieldRef};
pub use raw_object::read_object;

/// Input text from this size on is held as text rather than parsed (below it, parsing
/// costs little and nodes read small inputs anyway).
pub const HELD_AS_TEXT_FROM: usize = 256 * 1024;
