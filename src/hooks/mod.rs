//! Event hooks (OBSERVABILITY.md section 7): the manifest's `telemetry.hooks` ([`config`])
//! run a command or post a webhook when a matching event happens. A sink of the telemetry
//! writer ([`sink`]) matches events and queues them; the [`runner`] runs them off the run's
//! threads with bounded concurrency, `command` and `webhook` do the work, and a failure is a
//! `hook_failed` event that never changes the run's outcome.

mod command;
pub mod config;
mod job;
pub mod runner;
pub mod sink;
mod webhook;

pub use config::{Hook, HookAction, parse_hooks};
pub use runner::HookRunner;
pub use sink::HookSink;
