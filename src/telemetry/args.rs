//! The raw telemetry flags of `trident project run`, as typed by the user. Nothing is
//! validated here: `settings::TelemetrySettings::resolve` combines them with the
//! environment and the manifest and refuses invalid values with exit code 2.

use std::ffi::OsString;
use std::path::PathBuf;

/// The flag whose value attaches only with `=` (see [`TelemetryArgs::telemetry_otlp`]).
const OTLP_FLAG: &str = "--telemetry-otlp";

/// The command line with `--telemetry-otlp URL` (a separate `http://` or `https://` word,
/// the form the specification writes) joined into `--telemetry-otlp=URL`: a URL is never
/// a project path, so only a URL is taken; `--telemetry-otlp .` keeps `.` as the path.
pub fn attach_otlp_urls<T: Into<OsString>>(args: impl IntoIterator<Item = T>) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    for arg in args {
        let arg: OsString = arg.into();
        let is_url = arg
            .to_str()
            .is_some_and(|a| a.starts_with("http://") || a.starts_with("https://"));
        if is_url && out.last().is_some_and(|previous| previous == OTLP_FLAG) {
            let mut joined = out.pop().unwrap_or_default();
            joined.push("=");
            joined.push(&arg);
            out.push(joined);
        } else {
            out.push(arg);
        }
    }
    out
}

/// Telemetry flags (flatten into a run command with `#[command(flatten)]`).
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
#[command(next_help_heading = "Telemetry")]
pub struct TelemetryArgs {
    /// Stream real-time telemetry events (JSON Lines on stdout unless --telemetry-file is
    /// given) [env: TRIDENT_TELEMETRY_ENABLED; manifest: telemetry.enabled; default: off]
    #[arg(long = "telemetry", overrides_with = "no_telemetry")]
    pub telemetry: bool,

    /// Turn telemetry off, whatever the environment or the manifest say
    #[arg(long = "no-telemetry", overrides_with = "telemetry")]
    pub no_telemetry: bool,

    /// Telemetry line format: jsonl or human [env: TRIDENT_TELEMETRY_FORMAT; default: jsonl]
    #[arg(long = "telemetry-format", value_name = "FORMAT")]
    pub telemetry_format: Option<String>,

    /// Append telemetry to this file (parent folders are created; may contain {run_id})
    /// [env: TRIDENT_TELEMETRY_FILE]
    #[arg(long = "telemetry-file", value_name = "PATH")]
    pub telemetry_file: Option<PathBuf>,

    /// Also write telemetry to stdout when a file is set (the command's own output then goes
    /// to stderr) [env: TRIDENT_TELEMETRY_STDOUT; default: on when no file]
    #[arg(long = "telemetry-stdout", overrides_with = "no_telemetry_stdout")]
    pub telemetry_stdout: bool,

    /// Do not write telemetry to stdout
    #[arg(long = "no-telemetry-stdout", overrides_with = "telemetry_stdout")]
    pub no_telemetry_stdout: bool,

    /// Telemetry verbosity: minimal, normal, verbose or debug; or a severity floor: info
    /// (= normal), warning, error [env: TRIDENT_TELEMETRY_LEVEL; default: normal]
    #[arg(long = "telemetry-level", value_name = "LEVEL")]
    pub telemetry_level: Option<String>,

    /// Only write these events: comma-separated event names (node_failed), categories
    /// (lifecycle, node, execution, resource, state, agent, telemetry) or severities (error,
    /// warning) [env: TRIDENT_TELEMETRY_FILTER]
    #[arg(long = "telemetry-filter", value_name = "LIST")]
    pub telemetry_filter: Option<String>,

    /// Rotate the telemetry file before it grows past this size (B, KB, MB, GB; e.g. 10MB)
    /// [env: TRIDENT_TELEMETRY_MAX_SIZE; default: no rotation]
    #[arg(long = "telemetry-max-size", value_name = "SIZE")]
    pub telemetry_max_size: Option<String>,

    /// How many rotated telemetry files to keep (FILE.1 ... FILE.N)
    /// [env: TRIDENT_TELEMETRY_MAX_FILES; default: 5]
    #[arg(long = "telemetry-max-files", value_name = "N")]
    pub telemetry_max_files: Option<String>,

    /// Redact secrets from telemetry payloads: on or off [env: TRIDENT_TELEMETRY_REDACT;
    /// default: on]
    #[arg(long = "telemetry-redact", value_name = "on|off")]
    pub telemetry_redact: Option<String>,

    /// Export the run as an OpenTelemetry trace (spans) and log records over OTLP/HTTP, to
    /// this base URL (`--telemetry-otlp=URL` or `--telemetry-otlp URL`; `/v1/traces`,
    /// `/v1/logs` appended) or, without one, where the OTEL_EXPORTER_OTLP_* variables say
    /// (default http://localhost:4318); `--telemetry-otlp=off` turns it off. Turns
    /// telemetry on by itself [env: TRIDENT_TELEMETRY_OTLP; manifest: telemetry.otlp]
    // The value only attaches with `=` (`--telemetry-otlp .` keeps `.` as the project
    // path); a separate URL word is joined to it first by `attach_otlp_urls`.
    #[arg(
        long = "telemetry-otlp",
        value_name = "URL",
        num_args = 0..=1,
        default_missing_value = "on",
        require_equals = true
    )]
    pub telemetry_otlp: Option<String>,
}

impl TelemetryArgs {
    /// `--telemetry` / `--no-telemetry`, if either was given. Any other `--telemetry-*`
    /// flag implies `--telemetry` (unless `--no-telemetry`): `--telemetry-file run.log`
    /// alone writes the file.
    pub fn enabled(&self) -> Option<bool> {
        match (self.telemetry, self.no_telemetry) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ if self.any_telemetry_flag() => Some(true),
            _ => None,
        }
    }

    /// Whether a `--telemetry-*` flag (one that configures the stream) was given.
    fn any_telemetry_flag(&self) -> bool {
        let configuring = TelemetryArgs {
            telemetry: false,
            no_telemetry: false,
            no_telemetry_stdout: false,
            ..self.clone()
        };
        configuring != TelemetryArgs::default()
    }

    /// `--telemetry-stdout` / `--no-telemetry-stdout`, if either was given.
    pub fn stdout(&self) -> Option<bool> {
        match (self.telemetry_stdout, self.no_telemetry_stdout) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        telemetry: TelemetryArgs,
    }

    fn parse(args: &[&str]) -> TelemetryArgs {
        let mut all = vec!["trident"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).unwrap().telemetry
    }

    #[test]
    fn every_flag_parses_raw() {
        let a = parse(&[
            "--telemetry",
            "--telemetry-format",
            "human",
            "--telemetry-file",
            "logs/{run_id}.jsonl",
            "--telemetry-stdout",
            "--telemetry-level",
            "verbose",
            "--telemetry-filter",
            "node,error",
            "--telemetry-max-size",
            "10MB",
            "--telemetry-max-files",
            "3",
            "--telemetry-redact",
            "off",
        ]);
        assert_eq!(a.enabled(), Some(true));
        assert_eq!(a.telemetry_format.as_deref(), Some("human"));
        assert_eq!(a.telemetry_file, Some(PathBuf::from("logs/{run_id}.jsonl")));
        assert_eq!(a.stdout(), Some(true));
        assert_eq!(a.telemetry_level.as_deref(), Some("verbose"));
        assert_eq!(a.telemetry_filter.as_deref(), Some("node,error"));
        assert_eq!(a.telemetry_max_size.as_deref(), Some("10MB"));
        assert_eq!(a.telemetry_max_files.as_deref(), Some("3"));
        assert_eq!(a.telemetry_redact.as_deref(), Some("off"));
        // Invalid values are kept raw: validation happens in settings, with exit code 2.
        assert_eq!(
            parse(&["--telemetry-format", "xml"])
                .telemetry_format
                .as_deref(),
            Some("xml")
        );
    }

    #[test]
    fn on_off_flags_last_wins() {
        assert_eq!(parse(&[]).enabled(), None);
        assert_eq!(parse(&["--no-telemetry"]).enabled(), Some(false));
        assert_eq!(
            parse(&["--no-telemetry", "--telemetry"]).enabled(),
            Some(true)
        );
        assert_eq!(
            parse(&["--telemetry", "--no-telemetry"]).enabled(),
            Some(false)
        );
        assert_eq!(parse(&["--no-telemetry-stdout"]).stdout(), Some(false));
        assert_eq!(parse(&[]).stdout(), None);
        assert_eq!(parse(&[]), TelemetryArgs::default());
    }

    #[test]
    fn any_telemetry_flag_implies_telemetry_unless_no_telemetry() {
        for flags in [
            &["--telemetry-file", "run.log"][..],
            &["--telemetry-format", "human"],
            &["--telemetry-level", "debug"],
            &["--telemetry-stdout"],
        ] {
            assert_eq!(parse(flags).enabled(), Some(true), "{flags:?}");
            let mut off = flags.to_vec();
            off.push("--no-telemetry");
            assert_eq!(parse(&off).enabled(), Some(false), "{off:?}");
        }
        assert_eq!(parse(&["--no-telemetry-stdout"]).enabled(), None);
    }

    #[derive(Parser, Debug)]
    struct RunCli {
        path: Option<String>,
        #[command(flatten)]
        telemetry: TelemetryArgs,
    }

    #[test]
    fn otlp_value_attaches_only_with_equals() {
        let run = |args: &[&str]| {
            let mut all = vec!["trident"];
            all.extend_from_slice(args);
            let cli = RunCli::try_parse_from(all).unwrap();
            (cli.path, cli.telemetry.telemetry_otlp)
        };
        assert_eq!(
            run(&["--telemetry-otlp", "."]),
            (Some(".".to_string()), Some("on".to_string()))
        );
        assert_eq!(run(&["--telemetry-otlp"]), (None, Some("on".to_string())));
        assert_eq!(
            run(&["--telemetry-otlp=http://collector:4318", "."]),
            (
                Some(".".to_string()),
                Some("http://collector:4318".to_string())
            )
        );
        assert_eq!(run(&["--telemetry-otlp=off"]).1.as_deref(), Some("off"));
        assert_eq!(run(&["."]), (Some(".".to_string()), None));
    }

    #[test]
    fn a_separate_url_word_is_joined_to_the_flag() {
        let joined = |args: &[&str]| -> Vec<String> {
            attach_otlp_urls(args.iter().copied())
                .into_iter()
                .map(|a| a.into_string().unwrap())
                .collect()
        };
        assert_eq!(
            joined(&["trident", "--telemetry-otlp", "http://c:4318", "."]),
            ["trident", "--telemetry-otlp=http://c:4318", "."]
        );
        assert_eq!(
            joined(&[".", "--telemetry-otlp", "https://c"]),
            [".", "--telemetry-otlp=https://c"]
        );
        // Only a URL is taken: a path, on/off or another flag stay what they are.
        for args in [
            &["--telemetry-otlp", "."][..],
            &["--telemetry-otlp", "off"],
            &["--telemetry-otlp", "--telemetry"],
            &["--telemetry-file", "http://x"],
        ] {
            assert_eq!(joined(args), args);
        }
    }
}
