//! Checks of a loaded project before anything runs: `trident project validate` (edge
//! mappings, sub-workflows, recursion) and the pre-flight of a run (conditions, templates,
//! python signatures, inputs, providers). They sit above `project`, `dag` and `tools`, which
//! they combine, so none of those folders reaches up to them.

pub mod preflight;
pub mod validate;
