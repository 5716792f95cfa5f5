//! One run of the embedded Python runner (`runner.py`, passed to `python3 -c`, never written to
//! disk) against a tool module: calling its function with keyword arguments, or listing the
//! function's parameters. Turns every way that can go wrong into a [`ToolError`].
//!
//! The process runs in the project root, with the module's folder and the project root at the
//! front of `sys.path`, `python3` found on `PATH` (so an activated virtualenv is used) and the
//! environment inherited. Its reply is one JSON document on the original stdout, which the
//! runner takes for itself before any tool code runs; the tool's own stdout is sent to stderr.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::ToolError;
use super::module_location::ModuleLocation;
use super::subprocess::{FinishedProcess, ProcessFailure, run_to_completion};

/// The Python interpreter, looked up on `PATH`.
const PYTHON_PROGRAM: &str = "python3";

/// The runner script; see its header for the protocol.
const RUNNER_SCRIPT: &str = include_str!("runner.py");

/// The tool function one runner process works on.
#[derive(Debug, Clone, Copy)]
pub struct PythonFunction<'a> {
    pub tool_id: &'a str,
    pub module: &'a ModuleLocation,
    pub function: &'a str,
}

/// A successful call: the function's JSON-ready return value and everything the tool wrote to
/// stdout or stderr.
#[derive(Debug)]
pub struct PythonCall {
    pub result: Value,
    pub stderr: Vec<u8>,
}

/// Calls `target` with `kwargs` as keyword arguments.
pub fn call_function(
    project_root: &Path,
    target: PythonFunction<'_>,
    kwargs: &Map<String, Value>,
    timeout: Option<Duration>,
) -> Result<PythonCall, ToolError> {
    let stdin = serde_json::to_vec(kwargs).map_err(|error| {
        ToolError::new(format!(
            "Tool '{}': cannot encode its inputs as JSON: {error}",
            target.tool_id
        ))
    })?;
    run_runner(project_root, target, "call", stdin, timeout)
}

/// The names of `target`'s parameters, in declaration order, without `*args`/`**kwargs`.
/// Importing the module runs its top-level code, hence the `timeout`.
pub fn function_parameters(
    project_root: &Path,
    target: PythonFunction<'_>,
    timeout: Option<Duration>,
) -> Result<Vec<String>, ToolError> {
    let call = run_runner(project_root, target, "params", Vec::new(), timeout)?;
    serde_json::from_value(call.result).map_err(|error| {
        ToolError::new(format!(
            "Tool '{}': unexpected parameter list from the python runner: {error}",
            target.tool_id
        ))
    })
}

/// The runner's reply document.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RunnerReply {
    Success {
        result: Value,
    },
    Failure {
        failure: String,
        #[serde(rename = "type")]
        error_type: String,
        error: String,
    },
}

/// The Python interpreter to run for tools in `project_root`: `TRIDENT_PYTHON` if set,
/// else the real executable behind `python3` on `PATH`, resolved once per project folder
/// (`sys.executable`). Version managers such as pyenv put a shell-script shim first on
/// `PATH` that costs about 100 ms per start; resolving it once keeps the interpreter (and
/// virtualenv, or `.python-version`) the shim would pick, without paying that on every
/// tool call. Falls back to `python3` when the resolution fails.
fn interpreter(project_root: &Path) -> std::ffi::OsString {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    if let Some(explicit) = std::env::var_os("TRIDENT_PYTHON").filter(|p| !p.is_empty()) {
        return explicit;
    }
    static RESOLVED: OnceLock<Mutex<HashMap<std::path::PathBuf, std::ffi::OsString>>> =
        OnceLock::new();
    let cache = RESOLVED.get_or_init(Default::default);
    if let Some(found) = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(project_root)
    {
        return found.clone();
    }
    let resolved = Command::new(PYTHON_PROGRAM)
        .args(["-c", "import sys; sys.stdout.write(sys.executable)"])
        .current_dir(project_root)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|path| !path.is_empty() && Path::new(path).is_file())
        .map(std::ffi::OsString::from)
        .unwrap_or_else(|| PYTHON_PROGRAM.into());
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(project_root.to_path_buf(), resolved.clone());
    resolved
}

fn run_runner(
    project_root: &Path,
    target: PythonFunction<'_>,
    mode: &str,
    stdin: Vec<u8>,
    timeout: Option<Duration>,
) -> Result<PythonCall, ToolError> {
    let root_for_sys_path =
        std::path::absolute(project_root).unwrap_or_else(|_| project_root.to_path_buf());
    let mut command = Command::new(interpreter(project_root));
    command
        .arg("-c")
        .arg(RUNNER_SCRIPT)
        .arg(mode)
        .arg(&target.module.file)
        .arg(&target.module.module_name)
        .arg(target.function)
        .arg(&root_for_sys_path)
        .current_dir(project_root);
    let finished =
        run_to_completion(command, Some(stdin), timeout).map_err(|failure| match failure {
            ProcessFailure::Spawn(error) if error.kind() == std::io::ErrorKind::NotFound => {
                ToolError::new(format!(
                    "{PYTHON_PROGRAM} was not found on PATH: tool '{}' is a python tool and \
                     needs Python 3. Install python3 (or activate the virtualenv that has it) \
                     and run again",
                    target.tool_id
                ))
            }
            ProcessFailure::Spawn(error) => ToolError::new(format!(
                "Could not start {PYTHON_PROGRAM} for tool '{}' (working directory {}): {error}",
                target.tool_id,
                project_root.display()
            )),
            ProcessFailure::Wait(error) => ToolError::new(format!(
                "Lost track of the {PYTHON_PROGRAM} process of tool '{}': {error}",
                target.tool_id
            )),
            ProcessFailure::TimedOut { after, stderr } => ToolError::new(format!(
                "Tool '{}' timed out after {after:.1?} and was killed",
                target.tool_id
            ))
            .with_stderr_tail(&stderr),
        })?;
    interpret_reply(target, finished)
}

fn interpret_reply(
    target: PythonFunction<'_>,
    finished: FinishedProcess,
) -> Result<PythonCall, ToolError> {
    let FinishedProcess {
        status,
        stdout,
        stderr,
    } = finished;
    if stdout.iter().all(u8::is_ascii_whitespace) {
        return Err(ToolError::new(format!(
            "Tool '{}': the {PYTHON_PROGRAM} process ended ({status}) without returning a \
             result (did the tool call os._exit() or crash the interpreter?)",
            target.tool_id
        ))
        .with_stderr_tail(&stderr));
    }
    let reply: RunnerReply = serde_json::from_slice(&stdout).map_err(|error| {
        ToolError::new(format!(
            "Tool '{}': unreadable reply from the python runner ({status}): {error}",
            target.tool_id
        ))
        .with_stderr_tail(&stderr)
    })?;
    match reply {
        RunnerReply::Success { result } => Ok(PythonCall { result, stderr }),
        RunnerReply::Failure {
            failure,
            error_type,
            error,
        } => Err(failure_error(target, &failure, error_type, error).with_stderr_tail(&stderr)),
    }
}

/// The [`ToolError`] for a failure the runner reported at `stage`.
fn failure_error(
    target: PythonFunction<'_>,
    stage: &str,
    error_type: String,
    error: String,
) -> ToolError {
    let PythonFunction {
        tool_id,
        module,
        function,
    } = target;
    // `raise ValueError()` has an empty message; the class name is the next best thing.
    let error = if error.is_empty() {
        error_type.clone()
    } else {
        error
    };
    match stage {
        "load" => ToolError::python_exception(
            error_type,
            format!(
                "Error loading tool module {} for tool '{tool_id}': {error}",
                module.file.display()
            ),
        ),
        "missing_function" => ToolError::new(format!(
            "Function '{function}' not found in {} (tool '{tool_id}'): define it there, or set \
             `function:` under `tools:` to the function to call (default: execute)",
            module.declared
        )),
        "not_callable" => ToolError::new(format!(
            "'{function}' in {} is not callable (tool '{tool_id}')",
            module.declared
        )),
        "call" => ToolError::python_exception(
            error_type,
            format!("Error executing tool {tool_id}: {error}"),
        ),
        "result" => ToolError::new(format!(
            "Tool '{tool_id}' returned a value that cannot be converted to JSON: \
             {error_type}: {error}"
        )),
        _ => ToolError::new(format!(
            "Tool '{tool_id}': the python runner failed ({stage}): {error_type}: {error}"
        )),
    }
}
