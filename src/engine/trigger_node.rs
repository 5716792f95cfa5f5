//! Trigger nodes: start another workflow. `wait` runs it in-process (its events share this
//! stream, with parent ids) and outputs its flattened outputs; `fire-and-forget` starts a
//! detached `trident project run` and outputs its pid.

use std::process::{Command, Stdio};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::branch_node::check_condition;
use super::budget::nested_budget_error;
use super::context::{RunContext, RunOptions, TelemetryScope};
use super::node_error::NodeError;
use super::run::run_workflow;
use super::spend::{Spend, roll_up};
use crate::artifacts::NodeTrace;
use crate::fields::FieldMap;
use crate::project::{TriggerMode, load_project};
use crate::telemetry::ConditionKind;

/// What a trigger node produced.
pub struct TriggerResult {
    pub output: Map<String, Value>,
    pub skipped: bool,
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}

fn trigger_error(message: String) -> NodeError {
    NodeError::new("TridentError", message)
}

/// Inputs whose JSON is longer than this reach a fire-and-forget run in a file (`-f`), not
/// on its command line: Linux refuses a single argument over 128 KiB (`MAX_ARG_STRLEN`).
const MAX_INPUTS_ARGUMENT: usize = 64 * 1024;

/// The flag and value that give a fire-and-forget run its `inputs`: `-i JSON` as the
/// original passes them, or, when too long for a command line, `-f FILE` with the JSON
/// written beside this run's artifacts (`triggers/<node>.inputs.json`, kept with the run) or,
/// without artifacts, into a new file of the system's temporary folder (kept: the detached
/// run reads it when it starts, after this node has ended).
fn inputs_arguments(
    ctx: &RunContext,
    node_id: &str,
    inputs: &FieldMap,
) -> Result<(&'static str, std::ffi::OsString), NodeError> {
    let text = serde_json::to_string(inputs).unwrap_or_default();
    if text.len() <= MAX_INPUTS_ARGUMENT {
        return Ok(("-i", text.into()));
    }
    let written = match &ctx.store {
        Some(store) => {
            let folder = store.run_dir().join("triggers");
            let path = folder.join(format!("{node_id}.inputs.json"));
            std::fs::create_dir_all(&folder)
                .and_then(|()| std::fs::write(&path, &text))
                .map(|()| path)
        }
        None => write_new_temporary(ctx.runtime.temp_folder.path(), node_id, &text),
    };
    let path = written.map_err(|e| {
        trigger_error(format!(
            "Failed to trigger workflow: could not write its inputs ({} bytes) to a file: {e}",
            text.len()
        ))
    })?;
    Ok(("-f", path.into_os_string()))
}

/// A new file `trident-<node>-<pid>-<n>.inputs.json` in `folder` (the temporary folder)
/// holding `text`.
fn write_new_temporary(
    folder: &std::path::Path,
    node_id: &str,
    text: &str,
) -> std::io::Result<std::path::PathBuf> {
    use std::io::Write;
    let safe_node: String = node_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    for n in 0u32.. {
        let path = folder.join(format!(
            "trident-{safe_node}-{}-{n}.inputs.json",
            std::process::id()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                file.write_all(text.as_bytes())?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free file name left"))
}

/// Run trigger `node_id` with its gathered inputs.
/// A `wait` trigger adds its run's spend and tokens to `trace` (see [`roll_up`]), also
/// when it fails.
pub fn run_trigger(
    ctx: &RunContext,
    node_id: &str,
    gathered: &Arc<FieldMap>,
    trace: &mut NodeTrace,
) -> Result<TriggerResult, NodeError> {
    let Some(trigger) = ctx.project.triggers.get(node_id) else {
        return Err(NodeError::runtime(format!(
            "Trigger definition not found: {node_id}"
        )));
    };
    if let Some(condition) = trigger.condition.as_ref() {
        let run = check_condition(ctx, node_id, ConditionKind::Trigger, condition, gathered)
            .map_err(|e| {
                trigger_error(format!(
                    "Failed to evaluate trigger condition: {condition} ({e})"
                ))
            })?;
        if !run {
            ctx.runtime
                .console
                .progress(format!("  Trigger {node_id} skipped (condition false)"));
            return Ok(TriggerResult {
                output: object(json!({"triggered": false, "status": "skipped", "output": {}})),
                skipped: true,
            });
        }
    }
    if ctx.opts.dry_run {
        ctx.runtime.console.progress(format!(
            "  [DRY RUN] Would trigger: {}",
            trigger.workflow_path
        ));
        return Ok(TriggerResult {
            output: object(json!({"triggered": false, "status": "dry_run", "output": {}})),
            skipped: false,
        });
    }
    let path = ctx.project.root.join(&trigger.workflow_path);
    if !path.exists() {
        return Err(trigger_error(format!(
            "Trigger workflow not found: {}",
            path.display()
        )));
    }
    // Passed on shared (the triggered run holds the same map, not a copy).
    let inputs = if trigger.pass_outputs {
        Arc::clone(gathered)
    } else {
        Arc::default()
    };
    match trigger.mode {
        TriggerMode::FireAndForget => {
            let chain = ctx
                .runtime
                .trigger_depth
                .next_run_env(node_id)
                .map_err(trigger_error)?;
            ctx.runtime.console.progress(format!(
                "  Triggering workflow (fire-and-forget): {}",
                trigger.workflow_path
            ));
            let exe = std::env::current_exe()
                .map_err(|e| trigger_error(format!("Failed to trigger workflow: {e}")))?;
            let mut cmd = Command::new(exe);
            cmd.arg("project").arg("run").arg(&path);
            // The parent's `.env` values reach the triggered run as they would a tool.
            cmd.envs(ctx.runtime.env_overlay.iter().map(|(k, v)| (k, v)));
            if !inputs.is_empty() {
                let (flag, value) = inputs_arguments(ctx, node_id, &inputs)?;
                cmd.arg(flag).arg(value);
            }
            if trigger.emit_signal {
                cmd.arg("--emit-signal");
            }
            // The triggered run joins this run's trace and exports where this run does.
            cmd.envs(ctx.tel.triggered_run_env(node_id));
            // Its place in the chain of fire-and-forget runs, and the chain's limit.
            cmd.envs(chain);
            {
                use std::os::unix::process::CommandExt;
                cmd.process_group(0);
            }
            let child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| trigger_error(format!("Failed to trigger workflow: {e}")))?;
            let pid = child.id();
            // The child is detached; a thread reaps it so it never lingers as a zombie.
            std::thread::spawn(move || {
                let mut child = child;
                let _ = child.wait();
            });
            ctx.runtime
                .console
                .progress(format!("  Triggered workflow (PID: {pid})"));
            Ok(TriggerResult {
                output: object(
                    json!({"triggered": true, "status": "success", "pid": pid, "output": {}}),
                ),
                skipped: false,
            })
        }
        TriggerMode::Wait => {
            ctx.runtime.console.progress(format!(
                "  Triggering workflow (waiting): {}",
                trigger.workflow_path
            ));
            let depth = ctx.opts.nested_depth(node_id).map_err(trigger_error)?;
            let sub_project = load_project(&path)
                .map_err(|e| trigger_error(format!("Triggered workflow failed: {e}")))?;
            let account = Spend::nested_in(&ctx.spend);
            let sub_opts = RunOptions {
                inputs,
                dry_run: ctx.opts.dry_run,
                artifact_dir: ctx
                    .store
                    .as_ref()
                    .map(|s| s.run_dir().join("triggers").join(node_id)),
                emit_signals: trigger.emit_signal,
                max_cost: ctx.opts.max_cost,
                spend: Some(account.clone()),
                depth,
                ..RunOptions::default()
            };
            let scope = TelemetryScope::Child {
                parent: &ctx.tel,
                node_id,
            };
            let sub = run_workflow(&sub_project, &sub_opts, scope, ctx.runtime)
                .map_err(|e| trigger_error(format!("Triggered workflow failed: {e}")))?;
            roll_up(trace, &account, &sub.trace);
            if let Some(error) = sub.error {
                if let Some(budget) = nested_budget_error(ctx, node_id, &error) {
                    return Err(budget);
                }
                return Err(trigger_error(format!("Triggered workflow failed: {error}")));
            }
            ctx.runtime
                .console
                .progress("  Triggered workflow completed successfully");
            let mut output = object(json!({"triggered": true, "status": "success"}));
            output.insert("output".into(), Value::Object(sub.outputs.flatten()));
            Ok(TriggerResult {
                output,
                skipped: false,
            })
        }
    }
}
