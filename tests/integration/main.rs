//! Integration tests: the `trident` binary against small fixture projects, a fake LLM server
//! on 127.0.0.1 and fake `claude` executables. One test binary (see Cargo.toml).

mod support;

mod agents;
mod analysis;
mod artifacts;
mod big_inputs;
mod cli_basics;
mod connections;
mod cost;
mod errors;
mod hooks;
mod hostile_inputs;
mod metrics;
mod monitor;
mod monitor_browser;
mod nodes;
mod otlp;
mod output_limits;
mod preflight;
mod providers;
mod python_tools;
mod real_claude;
mod resume;
mod resume_safety;
mod run_history;
mod schedule_kubernetes;
mod scheduling;
mod settings;
mod signals;
mod sub_workflow_spend;
mod telemetry;
mod trigger_depth;
mod watched_artifacts;
mod watching;
