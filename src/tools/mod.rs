//! Tool nodes: running the project's `python` and `shell` tools in subprocesses, and reading
//! the inputs a tool expects. [`run_tool`] runs one tool with the inputs gathered for its node
//! and returns the node's output object; [`tool_parameters`] lists the inputs it expects (for
//! edge validation). Failures are [`ToolError`]s naming the tool.
//!
//! **`python` tools** (`python.rs`, `python_process.rs`, `runner.py`). `function` (default
//! `execute`) of the module file is called with the inputs as keyword arguments by
//! `python3 -c <embedded runner>` (from `PATH`, so an activated virtualenv is used), working
//! directory the project root, with the module's folder and the project root first on
//! `sys.path`. The module file is found as the original does (`module_location.rs`): `module:`
//! (else `path:`), `.py` appended if missing, `tools/<value>` unless the value starts with `../`
//! or `/` (then a path from the project root / absolute path).
//! - A dict result is the output; anything else `v` becomes `{"output": v}`. Values JSON cannot
//!   hold become their `str()` (`default=str`); NaN and infinities become `null`.
//! - The tool's prints (Python, C level, child processes) go to stderr, never into the result.
//!   On success that stderr is passed through to ours in one block (the original showed a
//!   tool's prints); on failure its last 10 lines (with the traceback) end the error message.
//! - An exception raised by the tool: message `Error executing tool <id>: <str(e)>` as in the
//!   original, `error_type` = the exception class (`ValueError`). Exceptions while importing the
//!   module keep their class too; every other failure (missing file or function, no `python3`,
//!   timeout, crash) has `error_type` `ToolError`.
//! - Coroutine functions are awaited. Each call is a fresh interpreter: module state does not
//!   persist between calls (the original kept modules loaded for the run).
//!
//! **`shell` tools** (`shell.rs`, `command_template.rs`). `command:` is run with `sh -c` in the
//! project root, stdin empty.
//! - `{{ name }}` / `{{ a.b }}` / `{{ list.0 }}` are replaced by input values, each quoted as
//!   one shell word (`'...'`, `'` as `'\''`), so no value can inject shell syntax; don't quote
//!   placeholders yourself. Strings are inserted as is, `null` as empty, anything else as
//!   compact JSON. A placeholder with no matching input fails the node.
//! - Each input is also in the environment as `TRIDENT_INPUT_<NAME>` (upper-cased, characters
//!   other than letters, digits and `_` made `_`), same text, unquoted.
//! - stdout, trimmed, is `{"output": text}`; if it is a JSON object, its fields plus
//!   `output` = the text (unless the object has its own `output`). A non-zero exit fails the
//!   node with the exit code and the last stderr lines; on success stderr is passed through.
//!
//! **Both** (`subprocess.rs`): stdin is written and stdout/stderr read on separate threads (no
//! pipe deadlock); the child is always reaped. A timeout kills the tool's whole process group
//! (it runs in its own group on Unix, so a terminal Ctrl-C does not reach it directly). Output
//! that background processes left behind by a finished tool still write is read for 2 s at most.

mod command_template;
mod error;
mod introspect;
mod module_location;
mod python;
mod python_process;
mod shell;
mod subprocess;
#[cfg(test)]
mod test_project;

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::project::ToolDef;

pub use command_template::shell_quote;
pub use error::ToolError;
pub use introspect::tool_parameters;
pub use module_location::{ModuleLocation, locate_module};

/// Runs tool `tool` of the project at `project_root` with the gathered `inputs`; returns the
/// node's output object. `timeout`, when given, bounds the tool's run: past it the tool's
/// processes are killed and the node fails.
pub fn run_tool(
    project_root: &Path,
    tool: &ToolDef,
    inputs: &Map<String, Value>,
    timeout: Option<Duration>,
) -> Result<Map<String, Value>, ToolError> {
    match tool.tool_type.as_str() {
        "python" => python::run_python_tool(project_root, tool, inputs, timeout),
        "shell" => shell::run_shell_tool(project_root, tool, inputs, timeout),
        other => Err(ToolError::new(format!(
            "Tool '{}' has unsupported type '{other}': use `type: python` or `type: shell`",
            tool.id
        ))),
    }
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
        let input = inputs(json!({"a": 2, "b": 3}));
        let python = run_tool(
            project.root(),
            &python_tool("add", "add", None),
            &input,
            None,
        );
        assert_eq!(Value::Object(python.unwrap()), json!({"output": 5}));
        let shell = run_tool(
            project.root(),
            &shell_tool("add", "expr {{a}} + {{b}}"),
            &input,
            None,
        );
        assert_eq!(Value::Object(shell.unwrap()), json!({"output": "5"}));
    }

    #[test]
    fn unknown_tool_type_is_an_error() {
        let project = TestProject::new();
        let mut tool = shell_tool("web", "true");
        tool.tool_type = "http".into();
        let error = run_tool(project.root(), &tool, &Map::new(), None).unwrap_err();
        assert!(error.message.contains("unsupported type 'http'"));
        assert_eq!(error.error_type, "ToolError");
    }
}
