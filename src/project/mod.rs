//! Loading a Trident project from disk: manifest discovery, `.env`, the manifest itself,
//! prompt files with frontmatter, and the resulting [`Project`] model.

pub mod model;

pub use model::*;
