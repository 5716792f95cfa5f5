//! `trident project run`: resolve flags, inputs and telemetry settings (all refused before
//! anything runs when invalid), wait for signals, run the workflow, print the result.
//!
//! When telemetry writes to stdout, every stdout line is an event: the result, `--verbose`
//! progress and warnings go to stderr instead.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::inputs::run_inputs;
use super::interrupted::InterruptReport;
use super::preflight::check_before_run;
use super::run_observers::RunObservers;
use super::wait::wait_for_signals;
use crate::artifacts::{OutputValue, RunIndexFile, RunOutputs};
use crate::board::{Board, ProgressMode, ProgressSink};
use crate::checks::validate::validate_edge_mappings_with;
use crate::cli::{OutputMode, RunArgs};
use crate::dag::Dag;
use crate::engine::interrupt::install_signal_handler;
use crate::engine::{
    Console, RunOptions, RunOutcome, Runtime, Schedule, TelemetryScope, run_workflow,
};
use crate::error::TridentError;
use crate::exit::ExitCode;
use crate::project::load_project;
use crate::providers::ProviderClients;
use crate::settings::{Environment, RunSettings};
use crate::telemetry::settings::TelemetrySettings;
use crate::telemetry::{
    DestinationOptions, HISTORY_FLUSH_INTERVAL, RunHistorySink, Telemetry, TelemetrySection,
};

/// The run's budget in USD: `--max-cost`, else `TRIDENT_MAX_COST`; a positive number.
fn max_cost(flag: Option<&str>, env: Option<String>) -> Result<Option<f64>, TridentError> {
    let (value, source) = match (flag, env.filter(|v| !v.trim().is_empty())) {
        (Some(v), _) => (v.to_string(), "--max-cost"),
        (None, Some(v)) => (v, "TRIDENT_MAX_COST"),
        (None, None) => return Ok(None),
    };
    match value.trim().parse::<f64>() {
        Ok(usd) if usd.is_finite() && usd > 0.0 => Ok(Some(usd)),
        _ => Err(TridentError::Validation(format!(
            "{source} must be a positive number of US dollars (e.g. 2.50), got '{value}'"
        ))),
    }
}

pub fn run(args: &RunArgs) -> Result<ExitCode, TridentError> {
    let project = load_project(&args.path)?;
    // Every variable the run reads, read once (the process's, over the project's .env)
    // and validated before anything runs.
    let run_settings = RunSettings::resolve(Environment::capture(&project.dotenv))?;
    let environment = run_settings.env.clone();
    let inputs = run_inputs(args, &project.root, run_settings.max_input_bytes)?;
    let cwd = std::env::current_dir().unwrap_or_default();
    let env = |name: &str| environment.get(name).map(str::to_string);
    let settings = TelemetrySettings::resolve(
        &args.telemetry,
        &env,
        TelemetrySection::new(project.telemetry.as_ref(), &project.manifest_path),
        &project.root,
        &cwd,
    )?;
    let progress = ProgressMode::resolve(args.progress, &env)?;
    let observers = RunObservers::resolve(
        &args.metrics,
        &env,
        TelemetrySection::new(project.telemetry.as_ref(), &project.manifest_path),
        &project.root,
        &cwd,
    )?;
    let runtime = Runtime {
        console: Console {
            verbose: args.verbose,
            stdout_is_telemetry: settings.writes_stdout(),
        },
        max_parallel: run_settings.max_parallel,
        tools: crate::tools::ToolRunner::with_env(
            run_settings.python.clone(),
            crate::tools::InterpreterSearch::from_vars(env),
            &environment.overlay(),
        )
        .with_output_limit(run_settings.output_limit)
        .with_temp_folder(run_settings.temp_folder.clone()),
        schedule: Schedule::resolve(args.schedule, &env).map_err(TridentError::Validation)?,
        providers: ProviderClients::new(environment.lookup()),
        env_overlay: Arc::new(environment.overlay()),
        agent_env: Arc::new(crate::agent::AgentEnv::capture(&environment.overlay())),
        output_limit: run_settings.output_limit,
        trigger_depth: run_settings.trigger_depth,
        temp_folder: run_settings.temp_folder.clone(),
        ..Runtime::default()
    };
    let max_cost = max_cost(args.max_cost.as_deref(), env("TRIDENT_MAX_COST"))?;
    let artifact_dir = if args.no_artifacts {
        None
    } else {
        Some(match &args.artifact_dir {
            Some(dir) => std::path::absolute(dir).unwrap_or(dir.clone()),
            None => project.root.join(".trident"),
        })
    };
    let index_base = artifact_dir
        .clone()
        .unwrap_or_else(|| project.root.join(".trident"));
    let index = RunIndexFile::new(&index_base);
    let resume_from = match args.resume.as_deref() {
        // A checkpoint file given by path.
        Some(path) if std::path::Path::new(path).is_file() => Some(path.to_string()),
        Some(id) => {
            let full = index.resolve(id).map_err(|e| {
                TridentError::Validation(format!(
                    "--resume {id}: {e} (in {}).",
                    index_base.join("runs").display()
                ))
            })?;
            if id == "latest" {
                runtime
                    .console
                    .progress(format!("Resuming from latest run: {full}"));
            }
            Some(full)
        }
        None => None,
    };
    if let Some(id) = &args.run_id
        && (id.is_empty() || id.contains(['/', '\\']) || id == "." || id == "..")
    {
        return Err(TridentError::Validation(format!(
            "--run-id '{id}' cannot be used as a folder name: use letters, digits, '-' or '_'."
        )));
    }
    if let Some(id) = &args.run_id
        && resume_from.is_none()
        && (index_base.join("runs").join(id).exists() || index.known_ids().contains(id))
    {
        return Err(TridentError::Validation(format!(
            "--run-id '{id}': a run with this id already exists in {}. Continue it with \
             `--resume {id}`, or choose another id.",
            index_base.join("runs").display()
        )));
    }
    let run_id = args
        .run_id
        .clone()
        .or_else(|| resume_from.clone().filter(|r| !r.ends_with(".json")))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());

    let mut opts = RunOptions {
        entrypoint: args.entrypoint.clone(),
        inputs: std::sync::Arc::new(inputs),
        dry_run: args.dry_run,
        artifact_dir,
        run_id: Some(run_id.clone()),
        resume_from,
        start_from: args.start_from.clone(),
        emit_signals: args.emit_signal,
        publish_to: args.publish_to.clone(),
        max_cost,
        spend: None,
        depth: 0,
        tool_docstrings: Arc::default(),
    };
    let dag = Dag::build(&project)?;
    // Boot a python worker now, while the run is checked and prepared (no tool code runs
    // until a tool node does; a refused run stops it).
    runtime.tools.prewarm(&project.root, project.tools.values());
    let (signatures, signature_cache) = check_before_run(
        args,
        &opts,
        &project,
        &dag,
        &runtime.tools,
        &runtime.console,
    )?;
    opts.tool_docstrings = Arc::new(crate::tools::docstrings(&signatures));
    if args.dry_run || args.verbose {
        let warnings = validate_edge_mappings_with(&project, &dag, &signatures);
        if !warnings.is_empty() {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "⚠ Edge mapping warnings:");
            for w in &warnings {
                let _ = writeln!(err, "  - {}", w.message);
            }
            let _ = writeln!(err);
        }
    }

    let mut telemetry = Telemetry::builder(&settings).secrets(environment.secret_values());
    if !settings.enabled {
        // Nobody reads this stream live: its writer can wake less often.
        telemetry = telemetry.flush_interval(HISTORY_FLUSH_INTERVAL);
    }
    if progress.shows(
        std::io::stderr().is_terminal(),
        args.verbose || (settings.writes_stdout() && std::io::stdout().is_terminal()),
    ) {
        let board = Board::for_dag(&Dag::build(&project)?);
        let colors = settings.colors && std::io::stderr().is_terminal();
        telemetry = telemetry.destination(
            Box::new(ProgressSink::new(board, colors)),
            ProgressSink::options(),
        );
    }
    if let Some(dir) = opts.artifact_dir.as_ref().filter(|_| !args.no_run_events) {
        // The run's own history, whatever the stream settings say.
        telemetry = telemetry.destination(
            Box::new(RunHistorySink::new(dir)),
            DestinationOptions::run_history(),
        );
    }
    let (telemetry, guard) = observers.attach(telemetry).start();
    observers.started(&telemetry);
    {
        let telemetry = telemetry.clone();
        let report = InterruptReport::new(args, &run_id, settings.writes_stdout());
        let clock = Instant::now();
        let observers = observers.clone();
        install_signal_handler(&runtime, move |signal| {
            telemetry.flush_blocking(Duration::from_secs(2));
            observers.before_stream_stops(&telemetry);
            telemetry.flush_blocking(Duration::from_secs(2));
            observers.after_stream_stopped();
            report.print(signal, clock.elapsed());
        });
    }

    if !args.wait_for.is_empty() {
        let tel = telemetry.for_run(&run_id);
        if let Err(e) = wait_for_signals(
            &args.wait_for,
            &project.root,
            args.timeout,
            &tel,
            &runtime.console,
        ) {
            observers.before_stream_stops(&telemetry);
            drop(guard);
            observers.after_stream_stopped();
            return Err(e);
        }
    }

    let result = run_workflow(&project, &opts, TelemetryScope::Root(&telemetry), &runtime);
    if runtime.is_interrupted() {
        // The signal thread is recording the interruption and will exit with 130.
        loop {
            std::thread::park();
        }
    }
    // Stop the python workers (and what they started), let hooks finish, flush and join
    // the telemetry writer, then publish metrics, on every path, before printing the result.
    runtime.tools.shutdown();
    observers.before_stream_stops(&telemetry);
    drop(guard);
    observers.after_stream_stopped();
    let outcome = result?;
    if !outcome.already_completed {
        // The tools' signatures, for the next run of the project (once this one went ahead).
        signature_cache.save();
    }
    if outcome.already_completed {
        let _ = writeln!(
            std::io::stderr().lock(),
            "Run {} already completed: nothing to resume, nothing rewritten. Its outputs are \
             shown below; start a new run without --resume to run again.",
            outcome.run_id
        );
    }
    print_result(args, &outcome, settings.writes_stdout());
    Ok(match &outcome.error {
        Some(e) => e.exit,
        None => ExitCode::Success,
    })
}

fn trace_summary(outcome: &RunOutcome) -> Value {
    let nodes: Vec<Value> = outcome
        .trace
        .nodes
        .iter()
        .map(|n| {
            json!({
                "id": n.id, "start_time": n.start_time, "end_time": n.end_time,
                "model": n.model, "tokens": n.tokens, "skipped": n.skipped,
                "error": n.error, "error_type": n.error_type, "cached": n.cached,
            })
        })
        .collect();
    json!({
        "run_id": outcome.trace.run_id,
        "start_time": outcome.trace.start_time,
        "end_time": outcome.trace.end_time,
        "nodes": nodes,
    })
}

/// Print the result in the `-o` format (to stderr when telemetry owns stdout).
fn print_result(args: &RunArgs, outcome: &RunOutcome, stdout_is_telemetry: bool) {
    let mut errors = String::new();
    // Streamed through a buffer: the outputs can be as big as the inputs. A closed stdout
    // (`| head`) is not an error worth a panic.
    let (mut stdout, mut stderr) = (std::io::stdout().lock(), std::io::stderr().lock());
    let target: &mut dyn Write = if stdout_is_telemetry {
        &mut stderr
    } else {
        &mut stdout
    };
    let mut text = std::io::BufWriter::with_capacity(64 * 1024, target);
    match args.output {
        OutputMode::Json => {
            // The outputs are borrowed, not copied (they can be as big as the inputs).
            #[derive(serde::Serialize)]
            struct JsonResult<'a> {
                success: bool,
                outputs: &'a RunOutputs,
                #[serde(skip_serializing_if = "Option::is_none")]
                error: Option<Value>,
                #[serde(skip_serializing_if = "Option::is_none")]
                trace: Option<Value>,
            }
            let result = JsonResult {
                success: outcome.success(),
                outputs: &outcome.outputs,
                error: outcome.error.as_ref().map(|e| {
                    json!({"node_id": e.node_id, "node_type": e.node_type.as_str(),
                           "message": e.message, "cause_type": e.cause_type})
                }),
                trace: args.trace.then(|| trace_summary(outcome)),
            };
            let _ = serde_json::to_writer_pretty(&mut text, &result);
            let _ = text.write_all(b"\n");
        }
        OutputMode::Text => match &outcome.error {
            Some(e) => errors.push_str(&format!("FAILED: {e}\n")),
            None => {
                // One line per output node: an object as the original's `json.dumps`
                // wrote it (`{"a": 1}`), a string raw, another value as JSON.
                for (_, value) in outcome.outputs.entries() {
                    match value {
                        OutputValue::Value(Value::String(s)) => {
                            let _ = text.write_all(s.as_bytes());
                        }
                        OutputValue::Node(_) | OutputValue::Value(Value::Object(_)) => {
                            let _ = crate::python_json::write_dumps(&mut text, &value);
                        }
                        other => {
                            let _ = serde_json::to_writer(&mut text, &other);
                        }
                    }
                    let _ = text.write_all(b"\n");
                }
            }
        },
        OutputMode::Pretty => {
            let _ = text.write_all(
                (if outcome.success() {
                    "=== Execution Complete ===\n\n"
                } else {
                    "=== Execution FAILED ===\n\n"
                })
                .as_bytes(),
            );
            if args.trace || !outcome.success() {
                let _ = text.write_all(b"Trace:\n");
                for n in &outcome.trace.nodes {
                    let status = if n.error.is_some() {
                        "FAILED"
                    } else if n.cached {
                        "CACHED"
                    } else if n.skipped {
                        "SKIPPED"
                    } else {
                        "OK"
                    };
                    let tokens = if n.tokens.is_empty() {
                        String::new()
                    } else {
                        format!(" ({}+{} tokens)", n.input_tokens(), n.output_tokens())
                    };
                    let error = n
                        .error
                        .as_ref()
                        .map(|e| format!(" - {e}"))
                        .unwrap_or_default();
                    let _ = text
                        .write_all(format!("  [{status}] {}{tokens}{error}\n", n.id).as_bytes());
                }
                let _ = text.write_all(b"\n");
            }
            if let Some(e) = &outcome.error {
                let _ = text.write_all(format!("Error:\n  {e}\n\n").as_bytes());
            }
            let _ = text.write_all(b"Outputs:\n");
            let _ = serde_json::to_writer_pretty(&mut text, &outcome.outputs);
            let _ = text.write_all(b"\n");
        }
    }
    let _ = text.flush();
    drop(text);
    let _ = stderr.write_all(errors.as_bytes());
}
