//! Loading a Trident project from disk: manifest discovery, `.env`, the manifest itself,
//! prompt files with frontmatter, and the resulting [`Project`] model.

pub mod agent_settings;
pub mod dotenv;
pub mod load;
pub mod manifest;
pub mod model;
pub mod prompt;
pub mod recursion;
pub mod yaml;

pub use load::{find_manifest, load_project};
pub use model::*;
