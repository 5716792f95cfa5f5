//! What `trident project run` tells the user when Ctrl-C, SIGTERM or SIGHUP stops a run,
//! whatever the telemetry settings: one stderr line with the signal, the elapsed time, the
//! run id and the exact command to resume; with `-o json`, the result object of every run
//! (`{success, outputs, error{node_id, node_type, message, cause_type}}`, FORMAT's shape,
//! with `cause_type: "Interrupted"`) plus `interrupted: true`, `run_id` and
//! `resume_command`.

use std::io::Write;
use std::time::Duration;

use serde_json::json;

use crate::cli::{OutputMode, RunArgs};

/// What the report needs to know about the run, captured before it starts.
#[derive(Debug, Clone)]
pub struct InterruptReport {
    pub run_id: String,
    /// `None` with `--no-artifacts`: nothing to resume from.
    pub resume_command: Option<String>,
    pub json: bool,
    pub stdout_is_telemetry: bool,
}

/// A path as one shell word (quoted only when it needs to be).
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@+=,".contains(c));
    if plain {
        text.to_string()
    } else {
        crate::tools::shell_quote(text)
    }
}

impl InterruptReport {
    /// The report of run `run_id` started with `args`.
    pub fn new(args: &RunArgs, run_id: &str, stdout_is_telemetry: bool) -> InterruptReport {
        let resume_command = (!args.no_artifacts).then(|| {
            let mut command = format!(
                "trident project run {} --resume {}",
                shell_word(&args.path.display().to_string()),
                shell_word(run_id)
            );
            if let Some(dir) = &args.artifact_dir {
                command.push_str(&format!(
                    " --artifact-dir {}",
                    shell_word(&dir.display().to_string())
                ));
            }
            if args.dry_run {
                command.push_str(" --dry-run");
            }
            command
        });
        InterruptReport {
            run_id: run_id.to_string(),
            resume_command,
            json: matches!(args.output, OutputMode::Json),
            stdout_is_telemetry,
        }
    }

    /// The stderr line.
    pub fn line(&self, signal: &str, elapsed: Duration) -> String {
        let resume = match &self.resume_command {
            Some(command) => format!("resume with: {command}"),
            None => "not resumable (--no-artifacts)".to_string(),
        };
        format!(
            "Interrupted by {signal} after {:.1}s: run {}; {resume}",
            elapsed.as_secs_f64(),
            self.run_id
        )
    }

    /// Print the report (stderr line; the JSON result on stdout with `-o json`, on stderr
    /// when telemetry owns stdout).
    pub fn print(&self, signal: &str, elapsed: Duration) {
        let line = self.line(signal, elapsed);
        let _ = writeln!(std::io::stderr().lock(), "{line}");
        if self.json {
            let message = format!(
                "Interrupted by {signal} after {:.1}s",
                elapsed.as_secs_f64()
            );
            let result = json!({
                "success": false,
                "outputs": {},
                "error": {
                    "node_id": null,
                    "node_type": null,
                    "message": message,
                    "cause_type": "Interrupted",
                },
                "interrupted": true,
                "run_id": self.run_id,
                "resume_command": self.resume_command,
            });
            let text = format!(
                "{}\n",
                serde_json::to_string_pretty(&result).unwrap_or_default()
            );
            if self.stdout_is_telemetry {
                let _ = std::io::stderr().lock().write_all(text.as_bytes());
            } else {
                let _ = std::io::stdout().lock().write_all(text.as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> RunArgs {
        let mut argv = vec!["trident", "project", "run", "my flow"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::parse_from(argv).command {
            Some(crate::cli::Command::Project(crate::cli::ProjectCommand::Run(r))) => *r,
            other => panic!("not a run command: {other:?}"),
        }
    }

    #[test]
    fn line_names_signal_time_run_and_resume_command() {
        let report = InterruptReport::new(&args(&["--dry-run"]), "abc", false);
        assert_eq!(
            report.line("SIGTERM", Duration::from_millis(2500)),
            "Interrupted by SIGTERM after 2.5s: run abc; resume with: trident project run \
             'my flow' --resume abc --dry-run"
        );
        let report = InterruptReport::new(&args(&["--no-artifacts"]), "abc", false);
        assert!(
            report
                .line("SIGINT", Duration::ZERO)
                .ends_with("not resumable (--no-artifacts)")
        );
    }
}
