//! Raw command-line flags (clap derive). Resolution into validated settings happens in the
//! commands (`crate::commands`), so every value error names its flag.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::board::progress::ProgressMode;
use crate::engine::Schedule;
use crate::metrics::MetricsArgs;
use crate::telemetry::args::TelemetryArgs;

fn parse_schedule(raw: &str) -> Result<Schedule, String> {
    Schedule::parse(raw).ok_or_else(|| "use dependencies or levels".to_string())
}

/// Trident - a runtime for LLM workflows, with a real-time telemetry stream.
#[derive(Debug, Parser)]
#[command(name = "trident", version, about, long_about = None, disable_version_flag = true)]
pub struct Cli {
    /// Print the version and exit.
    #[arg(long = "version", short = 'V')]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the version.
    Version,
    /// Work with a Trident project (init, validate, graph, run...).
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Read telemetry files and runs' event histories (stats, tail).
    #[command(subcommand)]
    Telemetry(TelemetryCommand),
    /// Serve a live web page (and JSON/SSE API) of the projects' runs, their DAG and events.
    Monitor(MonitorArgs),
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Project folders or manifest files whose runs are served (default: `.`).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Address to listen on. Anything but a loopback address needs --token.
    #[arg(long, default_value = "127.0.0.1", value_name = "HOST")]
    pub host: String,
    /// Port to listen on (0: any free port; the URL printed says which).
    #[arg(long, default_value_t = 7777, value_name = "PORT")]
    pub port: u16,
    /// Require this token on every route but /healthz (`Authorization: Bearer T` or
    /// `?token=T`). Env: TRIDENT_MONITOR_TOKEN.
    #[arg(long, value_name = "T")]
    pub token: Option<String>,
    /// Allow starting runs of the served projects (`POST /api/runs`, the page's form).
    #[arg(long = "allow-runs")]
    pub allow_runs: bool,
    /// Seconds between keep-alive comments on idle event streams.
    #[arg(long = "keep-alive", default_value_t = 15.0, value_name = "SECONDS")]
    pub keep_alive: f64,
}

#[derive(Debug, Subcommand)]
pub enum TelemetryCommand {
    /// Analyse telemetry files: per-node tables, critical path, tokens and cost by model and
    /// by run, p50/p95 across runs, and loss (seq gaps, telemetry_dropped).
    Stats(StatsArgs),
    /// Print (and with -f follow) the events of a telemetry file or of a run's events.jsonl.
    Tail(TailArgs),
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Telemetry files (jsonl). Rotated files (`run.jsonl.1`, `.2`...) are read oldest first
    /// when named.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Only this run (an id, a unique prefix of one, or `latest`) and its sub-workflows.
    #[arg(long = "run", value_name = "ID|latest")]
    pub run: Option<String>,
    /// Print the analysis as JSON (see docs/TELEMETRY.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a new project (agent.tml and an example prompt).
    Init(InitArgs),
    /// Load and validate a project (and its sub-workflows); warnings for edge mappings.
    Validate(ValidateArgs),
    /// Draw the project's DAG as ascii or as a Mermaid flowchart.
    Graph(GraphArgs),
    /// Execute a workflow.
    Run(Box<RunArgs>),
    /// List past runs (from .trident/runs/manifest.json).
    Runs(RunsArgs),
    /// Show one run: status, attempts, nodes (duration, queue wait, model, tokens, cost,
    /// retries, error), critical path, slowest nodes, totals by model.
    Show(ShowArgs),
    /// Follow one run live from its events.jsonl: a board of its nodes; exits with its outcome.
    Watch(WatchArgs),
    /// List or clear orchestration signals (.trident/signals).
    Signals(SignalsArgs),
    /// Print a scheduler configuration (cron, systemd, launchd, kubernetes) for the workflow.
    Schedule(ScheduleArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Template {
    Minimal,
    Standard,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to create the project in.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Project template: minimal (manifest + prompt) or standard (also tools/ and schemas/).
    #[arg(long, short = 't', value_enum, default_value = "minimal")]
    pub template: Template,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Project folder or manifest file.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Treat warnings (such as edge mapping mismatches) as errors.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    Ascii,
    Mermaid,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Direction {
    #[value(name = "TD")]
    Td,
    #[value(name = "LR")]
    Lr,
    #[value(name = "BT")]
    Bt,
    #[value(name = "RL")]
    Rl,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Td => "TD",
            Direction::Lr => "LR",
            Direction::Bt => "BT",
            Direction::Rl => "RL",
        }
    }
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Project folder or manifest file.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "ascii")]
    pub format: GraphFormat,
    /// Mermaid flow direction: TD (top-down), LR (left-right), BT, RL.
    #[arg(long, short = 'd', value_enum, default_value = "TD")]
    pub direction: Direction,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Project folder.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Number of runs to show.
    #[arg(long = "limit", short = 'n', default_value_t = 10)]
    pub limit: usize,
    /// Print the runs' full index records as JSON (`{"runs": [...]}`, newest first).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Project folder or manifest file.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The run: an id, a unique prefix of one, or `latest` (default).
    #[arg(long = "run", value_name = "ID|latest", default_value = "latest")]
    pub run: String,
    /// Print the report as JSON (see docs/TELEMETRY.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SignalsArgs {
    /// Project folder or manifest file.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Remove all signal files.
    #[arg(long)]
    pub clear: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScheduleFormat {
    Cron,
    Systemd,
    Launchd,
    /// A Kubernetes CronJob (a Job without a schedule) and its PersistentVolumeClaim.
    Kubernetes,
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Project folder or manifest file.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "cron")]
    pub format: ScheduleFormat,
    /// Show the schedule configured in the manifest instead.
    #[arg(long)]
    pub show: bool,
    /// Container image for `--format kubernetes`: Trident with the project at /project
    /// (default: registry.example.com/trident-NAME:latest, a placeholder to replace).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputMode {
    /// Human-readable summary and outputs.
    Pretty,
    /// `{success, outputs, error?, trace?}` as JSON.
    Json,
    /// Each output on a line.
    Text,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Project folder or manifest file.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Inputs as a JSON object, e.g. '{"name": "Ada"}'.
    #[arg(long = "input", short = 'i', value_name = "JSON")]
    pub input: Option<String>,
    /// Inputs from a JSON file.
    #[arg(long = "input-file", short = 'f', value_name = "FILE")]
    pub input_file: Option<PathBuf>,
    /// Inputs from a file path, `alias:NAME` (.trident/outputs/NAME.json) or `run:ID`
    /// (that run's outputs.json).
    #[arg(long = "input-from", value_name = "SRC")]
    pub input_from: Option<String>,
    /// Entrypoint node (default: the manifest's first entrypoint).
    #[arg(long = "entrypoint", short = 'e', value_name = "NODE")]
    pub entrypoint: Option<String>,
    /// Result format.
    #[arg(long = "output", short = 'o', value_enum, default_value = "pretty")]
    pub output: OutputMode,
    /// Include the execution trace in the result.
    #[arg(long)]
    pub trace: bool,
    /// Simulate: no model or agent calls (tools still run), mock outputs.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Print node-by-node progress.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Do not write .trident/ artifacts.
    #[arg(long = "no-artifacts")]
    pub no_artifacts: bool,
    /// Artifact folder (default: `<project>/.trident`).
    #[arg(long = "artifact-dir", value_name = "DIR")]
    pub artifact_dir: Option<PathBuf>,
    /// Benchmarks only: keep the other artifacts but do not write the run's events.jsonl
    /// (measures what the history costs; `project show`/`watch` then have no events).
    #[arg(long = "no-run-events", hide = true)]
    pub no_run_events: bool,
    /// Run id (default: a new UUID).
    #[arg(long = "run-id", value_name = "ID")]
    pub run_id: Option<String>,
    /// Resume a previous run from its checkpoint: a run id, `latest`, or a checkpoint path.
    #[arg(long, value_name = "ID|latest")]
    pub resume: Option<String>,
    /// With --resume: re-run from this node (only its ancestors keep cached outputs).
    #[arg(long = "start-from", value_name = "NODE")]
    pub start_from: Option<String>,
    /// Write orchestration signals (started/completed/failed/ready).
    #[arg(long = "emit-signal")]
    pub emit_signal: bool,
    /// Also publish outputs to this path (overrides orchestration.publish.path).
    #[arg(long = "publish-to", value_name = "PATH")]
    pub publish_to: Option<String>,
    /// Wait for a signal file before starting (repeatable): `signal:WORKFLOW.TYPE`, or a
    /// path relative to the project or absolute.
    #[arg(long = "wait-for", value_name = "SIGNAL")]
    pub wait_for: Vec<String>,
    /// Seconds to wait for --wait-for signals (exit code 4 on timeout).
    #[arg(long, default_value_t = 300.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// When nodes start: `dependencies` (default: as soon as their upstream nodes are done)
    /// or `levels` (level by level, like the original). Env: TRIDENT_SCHEDULE.
    #[arg(long, value_name = "dependencies|levels", value_parser = parse_schedule)]
    pub schedule: Option<Schedule>,
    /// Budget in USD: once the run's spend reaches it, no new node starts and the run fails
    /// with BudgetExceeded (resume with a higher budget). Env: TRIDENT_MAX_COST.
    #[arg(long = "max-cost", value_name = "USD", allow_hyphen_values = true)]
    pub max_cost: Option<String>,
    /// Live progress on stderr: `auto` (when stderr is a terminal that no telemetry stream
    /// writes to), `always` or `never`. Env: TRIDENT_PROGRESS.
    #[arg(long, value_enum, value_name = "auto|always|never")]
    pub progress: Option<ProgressMode>,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// The output format of `telemetry tail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TailFormat {
    /// One readable line per event.
    Human,
    /// The events' JSON lines, unchanged.
    Jsonl,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// A telemetry file, or `latest` (the latest run's events.jsonl in --project; the default).
    pub file: Option<String>,
    /// Keep following the file as it grows, by name, across rotation and truncation (like tail -F).
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only these events: a comma-separated list of event names, categories or severities.
    #[arg(long)]
    pub filter: Option<String>,
    /// Only events up to this verbosity, or of this severity or worse (minimal, normal, verbose,
    /// debug, info, warning, error).
    #[arg(long)]
    pub level: Option<String>,
    /// Only this run's events (an id or a unique prefix; its sub-workflows included); without
    /// FILE, that run's events.jsonl.
    #[arg(long)]
    pub run: Option<String>,
    /// human or jsonl (default: human when stdout is a terminal, else jsonl).
    #[arg(long, value_enum)]
    pub format: Option<TailFormat>,
    /// The project whose runs `latest` and --run name.
    #[arg(long, default_value = ".")]
    pub project: PathBuf,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Project folder or manifest file.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The run to watch: `latest` (the default), a run id or a unique prefix of one.
    #[arg(long)]
    pub run: Option<String>,
}
