//! `trident monitor [PATH...] [--host H] [--port P] [--token T] [--allow-runs]`: serve the
//! live page of the projects' runs (see `crate::monitor`).

use std::time::Duration;

use crate::cli::MonitorArgs;
use crate::error::TridentError;
use crate::exit::ExitCode;
use crate::monitor::{MonitorFlags, MonitorSettings, TOKEN_VAR, serve};

pub fn monitor(args: &MonitorArgs) -> Result<ExitCode, TridentError> {
    let flags = MonitorFlags {
        paths: args.paths.clone(),
        host: args.host.clone(),
        port: args.port,
        token: args.token.clone(),
        token_env: std::env::var(TOKEN_VAR).ok().filter(|t| !t.is_empty()),
        allow_runs: args.allow_runs,
    };
    let settings = MonitorSettings::resolve(&flags)?;
    if !(args.keep_alive > 0.0 && args.keep_alive <= 3600.0) {
        return Err(TridentError::Validation(format!(
            "--keep-alive {}: give seconds between 0 and 3600 (default 15)",
            args.keep_alive
        )));
    }
    serve(settings, Duration::from_secs_f64(args.keep_alive))
}
