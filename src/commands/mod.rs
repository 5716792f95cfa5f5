//! One file per subcommand. Each returns its exit code or a [`TridentError`] that
//! `run_cli` prints once.

pub mod graph;
pub mod init;
pub mod inputs;
pub mod interrupted;
pub mod monitor;
pub mod preflight;
pub mod run;
pub mod run_observers;
pub mod runs;
pub mod schedule;
pub mod schedule_kubernetes;
pub mod show;
pub mod signals;
pub mod stats;
pub mod tail;
pub mod validate;
pub mod wait;
pub mod watch;

use crate::cli::{Cli, Command, ProjectCommand, TelemetryCommand};
use crate::error::TridentError;
use crate::exit::ExitCode;

/// Dispatch a parsed command line.
pub fn dispatch(cli: Cli) -> Result<ExitCode, TridentError> {
    if cli.version {
        println!("trident {}", env!("CARGO_PKG_VERSION"));
        return Ok(ExitCode::Success);
    }
    match cli.command {
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            Ok(ExitCode::Success)
        }
        Some(Command::Version) => {
            println!("trident {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::Success)
        }
        Some(Command::Monitor(a)) => monitor::monitor(&a),
        Some(Command::Telemetry(t)) => match t {
            TelemetryCommand::Stats(a) => stats::stats(&a),
            TelemetryCommand::Tail(a) => tail::tail(&a),
        },
        Some(Command::Project(p)) => match p {
            ProjectCommand::Init(a) => init::init(&a),
            ProjectCommand::Validate(a) => validate::validate(&a),
            ProjectCommand::Graph(a) => graph::graph(&a),
            ProjectCommand::Run(a) => run::run(&a),
            ProjectCommand::Runs(a) => runs::runs(&a),
            ProjectCommand::Show(a) => show::show(&a),
            ProjectCommand::Signals(a) => signals::signals(&a),
            ProjectCommand::Schedule(a) => schedule::schedule(&a),
            ProjectCommand::Watch(a) => watch::watch(&a),
        },
    }
}
