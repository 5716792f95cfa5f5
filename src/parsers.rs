//! Every parser of untrusted text, reachable from one place: the entry points the fuzz
//! targets (`fuzz/`, run by `bash fuzz/run.sh`) and the property tests call. Each returns a
//! value or an error and must never panic, hang, overflow the stack or use memory out of
//! proportion to its input. Most parsers are public where they live; this module re-exports
//! the ones whose modules are private, under names that say what they read:
//!
//! | input | parser |
//! |---|---|
//! | manifest YAML | [`crate::project::yaml::parse_yaml`], [`crate::project::manifest::project_from_manifest`] |
//! | whole project | [`crate::project::load_project`] |
//! | prompt files | [`crate::project::prompt::parse_prompt`] |
//! | conditions | [`crate::expr::parse()`] |
//! | templates | [`crate::template::render`] |
//! | `.env` | [`crate::project::dotenv::parse_dotenv`] |
//! | `-i`/`-f` inputs | [`parse_run_inputs`] |
//! | telemetry settings | [`crate::telemetry::settings::TelemetrySettings::resolve`], [`parse_size`], [`parse_bool`], [`parse_max_files`] |
//! | hooks | [`crate::hooks::config::parse_hooks`] |
//! | `pricing:` | [`crate::pricing::parse_pricing`] |
//! | artifacts | serde of [`crate::artifacts`] records, [`crate::artifacts::CheckpointStore::load`] |
//! | event files | [`crate::eventlog::EventLine::parse`], [`crate::eventlog::LineSplitter`] |
//! | Claude CLI lines | [`agent_stream_line`], [`agent_result_json`] |
//! | tool output | [`FrameReader`], [`tool_event_line`] |

pub use crate::agent::output::extract_json as agent_result_json;
pub use crate::agent::stream::parse_line as agent_stream_line;
pub use crate::commands::inputs::parse_inputs as parse_run_inputs;
pub use crate::telemetry::values::{format_size, parse_bool, parse_max_files, parse_size};
pub use crate::tools::events_file::parse_line as tool_event_line;
pub use crate::tools::frame::FrameReader;
