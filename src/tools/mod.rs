//! Tool nodes: running the project's `python` and `shell` tools, and reading the inputs a
//! tool expects. [`ToolRunner`] runs one tool with the inputs gathered for its node and returns
//! the node's output object; [`introspect`] reads tool signatures statically (validation and
//! pre-flight checks). Failures are [`ToolError`]s naming the tool.
//!
//! **`python` tools** (`python.rs`; workers: `python_pool.rs`, `python_worker.rs`,
//! `worker.py`). `function` (default `execute`) of the module file is called with the inputs
//! as keyword arguments in a long-lived python worker process (one interpreter each, started
//! lazily and reused for the whole invocation), working directory the project root, with the
//! module's folder and the project root first on `sys.path`. The module file is found as the
//! original does (`module_location.rs`): `module:` (else `path:`), `.py` appended if missing,
//! `tools/<value>` unless the value starts with `../` or `/`.
//! - A dict result is the output; anything else `v` becomes `{"output": v}`. Values JSON cannot
//!   hold become their `str()` (`default=str`); NaN and infinities become `null`.
//! - The tool's prints (Python, C level, child processes) go to stderr, never into the result.
//!   On success that output is passed through to ours in one block per call; on failure its
//!   last 10 lines (with the traceback) end the error message.
//! - An exception raised by the tool: message `Error executing tool <id>: <str(e)>` as in the
//!   original, `error_type` = the exception class (`ValueError`). Exceptions while importing the
//!   module keep their class too; every other failure (missing file or function, no python,
//!   timeout, a crashed interpreter) has `error_type` `ToolError`.
//! - Modules are imported once per worker and kept: module state survives between calls, as
//!   in the original; coroutine functions are awaited.
//! - `from trident_tool import emit; emit("rows_fetched", count=120)` reports an event
//!   (`tool_event`) at once.
//!
//! **`shell` tools** (`shell.rs`, `command_template.rs`, `events_file.rs`). `command:` is run
//! with `sh -c` in the project root, stdin empty; `{{ name }}` placeholders are replaced by
//! input values, each quoted as one shell word; inputs are also in `TRIDENT_INPUT_<NAME>`;
//! JSON lines appended to `$TRIDENT_EVENTS` become `tool_event`s as they are written.
//!
//! **Both**: a tool's `timeout:` (seconds) kills its whole process group when exceeded (no
//! limit when absent); every tool process dies with trident, even on `kill -9`
//! ([`crate::death_watch`]); what a tool prints is also reported line by line to the
//! [`ToolObserver`] (`tool_output` events at `debug`).
//!
//! **Sizes** ([`OutputLimit`], `TRIDENT_MAX_OUTPUT_SIZE`): a result (shell stdout, python
//! return value) or one event over the limit fails the node before it is held whole; of what
//! a tool prints for people only the last `limit` bytes are kept (`passed_output.rs`).

mod command_template;
mod error;
pub(crate) mod events_file;
pub(crate) mod frame;
mod interpreter;
pub mod introspect;
mod module_location;
pub mod observer;
mod passed_output;
mod python;
mod python_pool;
mod python_worker;
mod readiness;
mod shell;
mod signature_cache;
pub(crate) mod subprocess;
#[cfg(test)]
mod test_project;
mod tool_env;

use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::fields::FieldMap;
use crate::output_limit::OutputLimit;
use crate::project::ToolDef;
use crate::temp_folder::TempFolder;
use tool_env::ToolEnv;

pub use command_template::shell_quote;
pub use error::ToolError;
pub use events_file::{EVENTS_ENV, INVALID_EVENT};
pub use interpreter::InterpreterSearch;
pub use introspect::{SignatureCacheUpdate, SignatureCheck, ToolSignature, docstrings};
pub use module_location::{ModuleLocation, locate_module};
pub use observer::{IgnoreReports, ToolObserver, ToolReport};
pub use python_pool::PythonPool;

/// Runs tools for one trident invocation: owns the python worker pool shared by the runs and
/// sub-workflows of the invocation. Cheap to clone. The workers stop when the last clone is
/// dropped, or at [`shutdown`](ToolRunner::shutdown).
#[derive(Debug, Clone, Default)]
pub struct ToolRunner {
    python: Arc<PythonPool>,
    /// Variables added to every tool's environment (the run's `.env` overlay).
    base_env: ToolEnv,
    /// The most bytes a tool hands over in one piece.
    output_limit: OutputLimit,
    /// Where a shell tool's `$TRIDENT_EVENTS` file goes.
    temp_folder: TempFolder,
}

impl ToolRunner {
    /// A runner whose python tools use `python` (`TRIDENT_PYTHON`) when given, else the
    /// interpreter behind `python3` on `PATH`.
    pub fn new(python: Option<OsString>) -> ToolRunner {
        ToolRunner::with_env(python, InterpreterSearch::from_process(), &[])
    }

    /// [`ToolRunner::new`] finding `python3` with `search` (the run's `PATH`), whose tools
    /// get `overlay` (the project's `.env` values the process environment lacks) added to
    /// their environment.
    pub fn with_env(
        python: Option<OsString>,
        search: InterpreterSearch,
        overlay: &[(String, String)],
    ) -> ToolRunner {
        let base_env = ToolEnv::from_pairs(overlay);
        ToolRunner {
            python: Arc::new(PythonPool::with_env(python, search, base_env.clone())),
            base_env,
            output_limit: OutputLimit::default(),
            temp_folder: TempFolder::default(),
        }
    }

    /// This runner with `folder` (`TMPDIR`, resolved with the run's settings) for its
    /// temporary files.
    pub fn with_temp_folder(mut self, folder: TempFolder) -> ToolRunner {
        self.temp_folder = folder;
        self
    }

    /// This runner with `limit` (`TRIDENT_MAX_OUTPUT_SIZE`) on what a tool hands over.
    pub fn with_output_limit(mut self, limit: OutputLimit) -> ToolRunner {
        self.output_limit = limit;
        self
    }

    /// Runs tool `tool` of the project at `project_root` with the gathered `inputs`; returns
    /// the node's output object. Past the tool's `timeout:` its processes are killed and the
    /// node fails. What the tool reports goes to `observer` as it happens.
    pub fn run(
        &self,
        project_root: &Path,
        tool: &ToolDef,
        inputs: &FieldMap,
        observer: &dyn ToolObserver,
    ) -> Result<Map<String, Value>, ToolError> {
        match tool.tool_type.as_str() {
            "python" => python::run_python_tool(
                &self.python,
                project_root,
                tool,
                inputs,
                tool.timeout,
                self.output_limit,
                observer,
            ),
            // A shell command renders its inputs into text: they are read (parsed) here.
            "shell" => shell::run_shell_tool(
                project_root,
                tool,
                inputs.map(),
                tool.timeout,
                observer,
                shell::ShellSettings {
                    base_env: &self.base_env,
                    limit: self.output_limit,
                    temp_folder: self.temp_folder.path(),
                },
            ),
            other => Err(ToolError::new(format!(
                "Tool '{}' has unsupported type '{other}': use `type: python` or `type: shell`",
                tool.id
            ))),
        }
    }

    /// Starts a python worker for `project_root` ahead of the first python tool (when
    /// `tools` has one), so the interpreter boots while the run is being prepared.
    pub fn prewarm<'a>(&self, project_root: &Path, tools: impl IntoIterator<Item = &'a ToolDef>) {
        if tools.into_iter().any(|tool| tool.tool_type == "python") {
            let root =
                std::path::absolute(project_root).unwrap_or_else(|_| project_root.to_path_buf());
            // On a thread: finding the interpreter may take a shim's 100 ms.
            let pool = Arc::clone(&self.python);
            std::thread::spawn(move || pool.prewarm(&root));
        }
    }

    /// The python worker pool (its interpreter resolution serves introspection too).
    pub fn python(&self) -> &PythonPool {
        &self.python
    }

    /// The signatures of the python tools among `tools`, read statically (never importing
    /// a module) with one interpreter run for all of them: for pre-flight checks (module file
    /// exists, defines the function, its parameters). See [`SignatureCheck`].
    /// Replies kept in `cache_folder` (a run's `.trident/cache`) serve modules unchanged
    /// since they were read; the new ones are saved by [`SignatureCacheUpdate::save`].
    pub fn python_signatures<'a>(
        &self,
        project_root: &Path,
        tools: impl IntoIterator<Item = &'a ToolDef>,
        cache_folder: Option<&Path>,
    ) -> (
        std::collections::HashMap<String, SignatureCheck>,
        SignatureCacheUpdate,
    ) {
        introspect::python_signatures_cached(
            &self.python.interpreter(project_root),
            project_root,
            tools,
            cache_folder,
        )
    }

    /// Stops every idle python worker (and everything it started).
    pub fn shutdown(&self) {
        self.python.shutdown();
    }
}

/// The parameter names of every tool whose inputs are known (see
/// [`introspect::tool_parameters`]), read with one interpreter for the whole project.
pub fn tool_parameters<'a>(
    runner: &ToolRunner,
    project_root: &Path,
    tools: impl IntoIterator<Item = &'a ToolDef> + Clone,
) -> std::collections::HashMap<String, Vec<String>> {
    introspect::tool_parameters(runner.python(), project_root, tools)
}

#[cfg(test)]
mod tests {
    use super::test_project::{TestProject, inputs, python_tool, shell_tool};
    use super::*;
    use serde_json::json;

    #[test]
    fn dispatches_on_tool_type() {
        let project = TestProject::new();
        project.write("tools/add.py", "def execute(a, b):\n    return a + b\n");
        let input = FieldMap::from(inputs(json!({"a": 2, "b": 3})));
        let runner = ToolRunner::default();
        let python = runner.run(
            project.root(),
            &python_tool("add", "add", None),
            &input,
            &IgnoreReports,
        );
        assert_eq!(Value::Object(python.unwrap()), json!({"output": 5}));
        let shell = runner.run(
            project.root(),
            &shell_tool("add", "expr {{a}} + {{b}}"),
            &input,
            &IgnoreReports,
        );
        assert_eq!(Value::Object(shell.unwrap()), json!({"output": "5"}));
    }

    #[test]
    fn unknown_tool_type_is_an_error() {
        let project = TestProject::new();
        let mut tool = shell_tool("web", "true");
        tool.tool_type = "http".into();
        let error = ToolRunner::default()
            .run(project.root(), &tool, &FieldMap::default(), &IgnoreReports)
            .unwrap_err();
        assert!(error.message.contains("unsupported type 'http'"));
        assert_eq!(error.error_type, "ToolError");
    }
}
