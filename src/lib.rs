//! Trident: a runtime for LLM workflows (DAGs of input, prompt, tool, agent, branch, trigger
//! and output nodes) with a real-time telemetry stream.
//!
//! Module map:
//! - [`cli`]: raw command-line flags (clap), and [`commands`]: one file per subcommand.
//! - [`project`]: manifest and prompt-file loading, `.env`, validation.
//! - [`dag`]: levels, cycles, ancestors, ascii/mermaid drawing.
//! - [`expr`] and [`template`]: conditions and `{{ }}` rendering.
//! - [`engine`]: running a project's nodes as their inputs are done (or level by level),
//!   one file per node kind.
//! - [`providers`]: Anthropic and OpenAI-compatible model APIs, with retries.
//! - [`tools`]: python and shell tool execution.
//! - [`pricing`]: model prices (built-in table, manifest `pricing:`) and call costs.
//! - [`agent`]: agent nodes through the Claude Code CLI, streamed turn by turn.
//! - [`artifacts`]: the `.trident/` run store (atomic writes, journaled checkpoints).
//! - [`telemetry`]: the event stream (events, emitter, writer, sinks, formats).
//! - [`analysis`]: reports of runs from artifacts and telemetry files (`show`, `stats`).
//! - [`metrics`] and [`hooks`]: Prometheus metrics and event hooks, sinks of that stream;
//!   [`delivery`]: their best-effort HTTP sends (Pushgateway, webhooks);
//!   [`resolve_once`]: host lookups once per HTTP client (providers, OTLP), not per request.
//! - [`process_group`], [`death_watch`] and [`pipe_reader`]: child processes (tools, agent
//!   CLIs): their process groups, stopped on interruption or when trident dies, and their
//!   output pipes; [`output_limit`] (`TRIDENT_MAX_OUTPUT_SIZE`) and [`tail_buffer`]: how much
//!   of what they print is taken in.
//! - [`temp_folder`]: where trident's own temporary files go (`TMPDIR`), resolved once.
//! - [`parsers`]: every parser of untrusted text in one place (fuzz targets, properties).
//! - [`colour_choice`]: whether output gets colours (terminal, `NO_COLOR`, `TERM=dumb`).
//! - [`python_json`]: JSON text as the original's Python `json.dumps` wrote it.
//! - [`settings`]: the run's environment (process + `.env` overlay) and runtime settings,
//!   resolved once before the run; [`trigger_depth`]: how deep a chain of fire-and-forget
//!   triggered runs may go.
//! - [`eventlog`]: reading event files (numbered lines, follow by name, a run's file).
//! - [`board`]: one run's node states folded from its events, drawn as live progress
//!   (`project run --progress`) and by `project watch`.
//! - [`monitor`]: `trident monitor`, the live web page and API of runs (axum + tokio, used
//!   only there).

pub mod agent;
pub mod analysis;
pub mod artifacts;
pub mod board;
pub mod checks;
pub mod cli;
pub mod colour_choice;
pub mod commands;
pub mod dag;
pub mod death_watch;
pub mod delivery;
pub mod engine;
pub mod error;
pub mod eventlog;
pub mod exit;
pub mod expr;
pub mod fields;
pub mod fnv;
pub mod hooks;
pub mod metrics;
pub mod monitor;
pub mod output_limit;
pub mod parsers;
pub mod path_search;
pub mod pipe_reader;
pub mod pricing;
pub mod process_group;
pub mod project;
pub mod providers;
pub mod python_json;
pub mod resolve_once;
pub mod settings;
pub mod tail_buffer;
pub mod telemetry;
pub mod temp_folder;
pub mod template;
pub mod tools;
pub mod trigger_depth;

pub use error::{Result, TridentError};
pub use exit::ExitCode;

use clap::Parser;

/// Run the command line and return the process exit code. Errors are printed here, once.
pub fn run_cli<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match cli::Cli::try_parse_from(telemetry::args::attach_otlp_urls(args)) {
        Ok(cli) => cli,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // `trident project` (or `trident telemetry`) alone asks for the command list, as
            // bare `trident` does: help on stdout, exit 0, like the original.
            print!("{}", e.render());
            return ExitCode::Success.code();
        }
        Err(e) => {
            // Usage errors exit 2 (clap's convention matches ours); --help exits 0.
            let _ = e.print();
            return e.exit_code();
        }
    };
    // The monitor writes to sockets: a client gone must not kill it either.
    let is_run = matches!(
        cli.command,
        Some(cli::Command::Project(cli::ProjectCommand::Run(_))) | Some(cli::Command::Monitor(_))
    );
    if !is_run {
        // Reporting commands behave like Unix tools when their reader goes away
        // (`| head`); `run` keeps SIGPIPE ignored so a closed pipe never stops a workflow.
        // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    match commands::dispatch(cli) {
        Ok(code) => code.code(),
        Err(e) => {
            eprintln!("Error: {e}");
            e.exit_code().code()
        }
    }
}
