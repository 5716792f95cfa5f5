//! `type: python` tools: call `function` (default `execute`) of the tool's module with the
//! gathered inputs as keyword arguments, in a pooled python worker ([`super::python_pool`]).
//!
//! - A dict result is the node's output; any other result `v` becomes `{"output": v}`.
//! - Values JSON cannot represent are converted as `json.dumps(..., default=str)` would
//!   (sets, dates, objects become their `str()`; tuples become lists; non-string dict keys
//!   become strings), except that NaN and infinities become `null`.
//! - A coroutine function is awaited (on the worker's one event loop, kept between calls),
//!   where the original would have returned the coroutine object.
//! - What the tool prints can never corrupt the result: its stdout goes to stderr. On success
//!   that captured output is passed through to our stderr in one piece, as the original showed
//!   a tool's prints; on failure its last lines (with the traceback) are in the error instead.
//! - An exception raised by the tool fails the node with the original's message
//!   (`Error executing tool <id>: <str(e)>`) and the exception class as `error_type`;
//!   `SystemExit` and `KeyboardInterrupt` raised by a tool fail the node too, and retire the
//!   worker. A tool that kills its interpreter (`os._exit`, a crash) fails its node only.
//! - Module-level state survives between the calls one worker serves (the original kept
//!   modules loaded for the whole run); concurrent calls may land on different workers.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::fields::FieldMap;
use crate::output_limit::{MAX_OUTPUT_SIZE_VAR, OutputLimit};
use crate::project::ToolDef;

use super::error::ToolError;
use super::interpreter::PYTHON_PROGRAM;
use super::module_location::{ModuleLocation, locate_module};
use super::observer::ToolObserver;
use super::passed_output::pass_to_stderr;
use super::python_pool::PythonPool;
use super::python_worker::{CallEnd, CallOutcome, CallRequest, WorkerReply};
use super::tool_env::ToolEnv;

/// The function called when the tool sets no `function:` (or an empty one).
pub const DEFAULT_FUNCTION: &str = "execute";

/// Runs python tool `tool` with `inputs` as keyword arguments on a worker of `pool`; returns
/// the node's output.
pub fn run_python_tool(
    pool: &PythonPool,
    project_root: &Path,
    tool: &ToolDef,
    inputs: &FieldMap,
    timeout: Option<Duration>,
    limit: OutputLimit,
    observer: &dyn ToolObserver,
) -> Result<Map<String, Value>, ToolError> {
    let module = locate_module(project_root, tool)?;
    let root = std::path::absolute(project_root).unwrap_or_else(|_| project_root.to_path_buf());
    let function = function_name(tool);
    let mut worker = pool.checkout(&root).map_err(|error| {
        let interpreter = pool.interpreter(&root);
        if error.kind() == std::io::ErrorKind::NotFound {
            ToolError::new(format!(
                "{} was not found: tool '{}' is a python tool and needs Python 3. Install \
                 python3 (or activate the virtualenv that has it, or set TRIDENT_PYTHON) and \
                 run again",
                interpreter.to_string_lossy(),
                tool.id
            ))
        } else {
            ToolError::new(format!(
                "Could not start {} for tool '{}' (working directory {}): {error}",
                interpreter.to_string_lossy(),
                tool.id,
                root.display()
            ))
        }
    })?;
    let mut env = ToolEnv::new();
    for (name, value) in observer.trace_env() {
        env.set(name, value);
    }
    let request = CallRequest {
        tool_id: &tool.id,
        file: &module.file,
        module: &module.module_name,
        function,
        root: &root,
        kwargs: inputs,
        env: &env,
    };
    let deadline = timeout.and_then(|limit| Instant::now().checked_add(limit));
    let outcome = worker.call(&request, deadline, limit, observer);
    pool.checkin(&root, worker);
    let result = interpret(&tool.id, &module, function, outcome, limit)?;
    Ok(output_object(result))
}

/// The function a python tool calls: `function:`, or [`DEFAULT_FUNCTION`] when unset or empty.
pub fn function_name(tool: &ToolDef) -> &str {
    tool.function
        .as_deref()
        .filter(|name| !name.is_empty())
        .unwrap_or(DEFAULT_FUNCTION)
}

/// A tool's result as a node output: a JSON object as is, anything else as `{"output": value}`.
fn output_object(result: Value) -> Map<String, Value> {
    match result {
        Value::Object(fields) => fields,
        other => Map::from_iter([("output".to_string(), other)]),
    }
}

/// The call's result, or the [`ToolError`] saying why there is none. On success the tool's
/// output goes to our stderr in one block (one `eprint!`, so concurrent tools do not mix).
fn interpret(
    tool_id: &str,
    module: &ModuleLocation,
    function: &str,
    outcome: CallOutcome,
    limit: OutputLimit,
) -> Result<Value, ToolError> {
    let CallOutcome {
        end,
        output,
        output_left_out,
    } = outcome;
    match end {
        CallEnd::Replied(WorkerReply::Success { result }) => {
            pass_to_stderr(tool_id, &output, output_left_out, limit);
            Ok(result)
        }
        CallEnd::Replied(WorkerReply::Failure {
            failure,
            error_type,
            error,
            ..
        }) => Err(
            failure_error(tool_id, module, function, &failure, error_type, error)
                .with_stderr_tail(&output),
        ),
        CallEnd::Died(status) => Err(ToolError::new(format!(
            "Tool '{tool_id}': its {PYTHON_PROGRAM} worker ended ({}) without returning a \
             result (did the tool call os._exit() or crash the interpreter?)",
            status.map_or_else(|| "status unknown".to_string(), |s| s.to_string())
        ))
        .with_stderr_tail(&output)),
        CallEnd::TimedOut(after) => Err(ToolError::new(format!(
            "Tool '{tool_id}' timed out after {after:.1?} and was killed (its `timeout:` under \
             `tools:`)"
        ))
        .with_stderr_tail(&output)),
        CallEnd::TooLarge { bytes, .. } => Err(ToolError::new(format!(
            "Tool '{tool_id}' sent a result or a trident_tool.emit event of {bytes} bytes, over \
             {}: its {PYTHON_PROGRAM} worker was stopped. Write big data to a file and return \
             its path, or raise {MAX_OUTPUT_SIZE_VAR}",
            limit.describe()
        ))
        .with_stderr_tail(&output)),
        CallEnd::Protocol(problem) => Err(ToolError::new(format!(
            "Tool '{tool_id}': the python worker failed: {problem}"
        ))
        .with_stderr_tail(&output)),
    }
}

/// The [`ToolError`] for a failure the worker reported at `stage`.
fn failure_error(
    tool_id: &str,
    module: &ModuleLocation,
    function: &str,
    stage: &str,
    error_type: String,
    error: String,
) -> ToolError {
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
            "Tool '{tool_id}': the python worker failed ({stage}): {error_type}: {error}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::observer::IgnoreReports;
    use crate::tools::test_project::{TestProject, inputs, python_tool};
    use serde_json::json;

    fn run(project: &TestProject, tool: &ToolDef, input: Value) -> Result<Value, ToolError> {
        run_python_tool(
            &PythonPool::new(None),
            project.root(),
            tool,
            &FieldMap::from(inputs(input)),
            Some(Duration::from_secs(60)),
            OutputLimit::default(),
            &IgnoreReports,
        )
        .map(Value::Object)
    }

    #[test]
    fn dict_result_is_the_output_and_kwargs_are_passed() {
        let project = TestProject::new();
        project.write(
            "tools/weather.py",
            "def get_weather(city, units='C'):\n    return {'city': city, 'units': units, 'temp': 21.5}\n",
        );
        let tool = python_tool("weather", "weather", Some("get_weather"));
        let output = run(&project, &tool, json!({"city": "Oslo", "units": "F"})).unwrap();
        assert_eq!(output, json!({"city": "Oslo", "units": "F", "temp": 21.5}));
        // Key order of the Python dict is kept.
        let keys: Vec<_> = output.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["city", "units", "temp"]);
    }

    #[test]
    fn non_dict_results_are_wrapped_in_output() {
        let project = TestProject::new();
        project.write(
            "tools/values.py",
            "def number(): return 42\ndef text(): return 'hi'\ndef nothing(): pass\n\
             def items(n): return list(range(n))\n",
        );
        for (function, input, expected) in [
            ("number", json!({}), json!(42)),
            ("text", json!({}), json!("hi")),
            ("nothing", json!({}), Value::Null),
            ("items", json!({"n": 3}), json!([0, 1, 2])),
        ] {
            let tool = python_tool("v", "values", Some(function));
            assert_eq!(
                run(&project, &tool, input).unwrap(),
                json!({ "output": expected }),
                "{function}"
            );
        }
    }

    #[test]
    fn default_function_is_execute() {
        let project = TestProject::new();
        project.write(
            "tools/echo.py",
            "def execute(**kwargs):\n    return kwargs\n",
        );
        let mut tool = python_tool("echo", "echo", None);
        let input = json!({"a": 1, "b": {"c": [true, null, "x"]}});
        assert_eq!(run(&project, &tool, input.clone()).unwrap(), input);
        tool.function = Some(String::new());
        assert_eq!(run(&project, &tool, input.clone()).unwrap(), input);
    }

    #[test]
    fn prints_in_the_tool_do_not_corrupt_the_result() {
        let project = TestProject::new();
        project.write(
            "tools/noisy.py",
            "import os, sys\nprint('loading', flush=True)\n\
             def execute(x):\n    print('{\"fake\": 1}')\n    sys.stdout.write('partial')\n\
             \x20   os.write(1, b'raw fd write\\n')\n    os.system('echo from a child process')\n\
             \x20   return {'x': x}\n",
        );
        let tool = python_tool("noisy", "noisy", None);
        assert_eq!(
            run(&project, &tool, json!({"x": "y"})).unwrap(),
            json!({"x": "y"})
        );
    }

    #[test]
    fn exception_becomes_error_with_python_message_and_type() {
        let project = TestProject::new();
        project.write(
            "tools/fail.py",
            "def execute(n):\n    print('about to fail')\n    raise ValueError(f'bad n: {n}')\n\
             def bare():\n    raise KeyError()\n",
        );
        let error = run(
            &project,
            &python_tool("fail", "fail", None),
            json!({"n": 7}),
        )
        .unwrap_err();
        assert_eq!(error.error_type, "ValueError");
        assert!(
            error
                .message
                .starts_with("Error executing tool fail: bad n: 7\n"),
            "{}",
            error.message
        );
        // The stderr tail carries the tool's prints and the traceback.
        assert!(error.message.contains("about to fail"));
        assert!(error.message.contains("raise ValueError"));

        let error = run(
            &project,
            &python_tool("fail", "fail", Some("bare")),
            json!({}),
        )
        .unwrap_err();
        assert_eq!(error.error_type, "KeyError");
        assert!(
            error
                .message
                .starts_with("Error executing tool fail: KeyError")
        );
    }

    #[test]
    fn wrong_arguments_are_a_type_error() {
        let project = TestProject::new();
        project.write("tools/strict.py", "def execute(a):\n    return a\n");
        let error = run(&project, &python_tool("s", "strict", None), json!({"b": 1})).unwrap_err();
        assert_eq!(error.error_type, "TypeError");
        assert!(error.message.contains("unexpected keyword argument 'b'"));
    }

    #[test]
    fn system_exit_in_a_tool_is_a_node_failure() {
        let project = TestProject::new();
        project.write(
            "tools/quit.py",
            "import sys\ndef execute():\n    sys.exit(3)\n",
        );
        let error = run(&project, &python_tool("q", "quit", None), json!({})).unwrap_err();
        assert_eq!(error.error_type, "SystemExit");
        assert!(error.message.starts_with("Error executing tool q: 3"));
    }

    #[test]
    fn missing_module_file_is_a_clear_error() {
        let project = TestProject::new();
        let error = run(&project, &python_tool("wx", "weather", None), json!({})).unwrap_err();
        assert_eq!(error.error_type, "ToolError");
        assert!(error.message.contains("tool 'wx'"));
        assert!(error.message.contains("tools/weather.py"));
    }

    #[test]
    fn missing_or_non_callable_function_is_a_clear_error() {
        let project = TestProject::new();
        project.write("tools/m.py", "def other(): pass\nvalue = 3\n");
        let error = run(&project, &python_tool("m", "m", None), json!({})).unwrap_err();
        assert_eq!(error.error_type, "ToolError");
        assert!(
            error
                .message
                .starts_with("Function 'execute' not found in m.py (tool 'm')"),
            "{}",
            error.message
        );
        let error = run(&project, &python_tool("m", "m", Some("value")), json!({})).unwrap_err();
        assert!(error.message.starts_with("'value' in m.py is not callable"));
    }

    #[test]
    fn import_errors_name_the_module_and_keep_the_python_type() {
        let project = TestProject::new();
        project.write("tools/broken.py", "import trident_no_such_module\n");
        project.write("tools/syntax.py", "def execute(:\n");
        let error = run(&project, &python_tool("b", "broken", None), json!({})).unwrap_err();
        assert_eq!(error.error_type, "ModuleNotFoundError");
        assert!(error.message.contains("Error loading tool module"));
        assert!(error.message.contains("broken.py for tool 'b'"));
        assert!(error.message.contains("trident_no_such_module"));
        let error = run(&project, &python_tool("s", "syntax", None), json!({})).unwrap_err();
        assert_eq!(error.error_type, "SyntaxError");
    }

    #[test]
    fn module_under_parent_folder_and_its_sibling_imports() {
        let project = TestProject::new();
        project.write(
            "shared/helper_lib.py",
            "def shout(s):\n    return s.upper()\n",
        );
        project.write(
            "shared/browser.py",
            "import os\nfrom helper_lib import shout\nimport dataclasses\n\
             @dataclasses.dataclass\nclass Page:\n    title: str\n\
             def fetch(url):\n    return {'title': shout(url), 'cwd': os.getcwd(), \
             'page': str(Page('x'))}\n",
        );
        let root = project.root().join("app");
        std::fs::create_dir_all(&root).unwrap();
        let tool = python_tool("browse", "../shared/browser", Some("fetch"));
        let output = run_python_tool(
            &PythonPool::new(None),
            &root,
            &tool,
            &FieldMap::from(inputs(json!({"url": "example.org"}))),
            None,
            OutputLimit::default(),
            &IgnoreReports,
        )
        .unwrap();
        assert_eq!(output["title"], "EXAMPLE.ORG");
        assert_eq!(output["page"], "Page(title='x')");
        // The tool runs in the project root.
        assert_eq!(
            std::fs::canonicalize(output["cwd"].as_str().unwrap()).unwrap(),
            std::fs::canonicalize(&root).unwrap()
        );
    }

    #[test]
    fn non_json_values_become_strings_or_null() {
        let project = TestProject::new();
        project.write(
            "tools/odd.py",
            "import datetime, decimal\nclass Thing:\n    def __str__(self): return 'a thing'\n\
             def execute():\n    return {'when': datetime.date(2024, 5, 1), 'set': {3}, \
             'tuple': (1, 'a'), 'thing': Thing(), 'nan': float('nan'), 'inf': float('inf'), \
             1: 'int key', (2, 3): 'tuple key', 'dec': decimal.Decimal('1.5'), 'bytes': b'ab', \
             'nested': [{'d': datetime.date(2020, 1, 2)}], 'text': 'caf\\u00e9 \\udcff'}\n",
        );
        let output = run(&project, &python_tool("odd", "odd", None), json!({})).unwrap();
        assert_eq!(
            output,
            json!({
                "when": "2024-05-01", "set": "{3}", "tuple": [1, "a"], "thing": "a thing",
                "nan": null, "inf": null, "1": "int key", "(2, 3)": "tuple key", "dec": "1.5",
                "bytes": "b'ab'", "nested": [{"d": "2020-01-02"}], "text": "café ?"
            })
        );
    }

    #[test]
    fn unserialisable_result_is_a_clear_error() {
        let project = TestProject::new();
        project.write(
            "tools/loop.py",
            "def execute():\n    a = []\n    a.append(a)\n    return {'a': a}\n",
        );
        let error = run(&project, &python_tool("loop", "loop", None), json!({})).unwrap_err();
        assert!(
            error
                .message
                .starts_with("Tool 'loop' returned a value that cannot be converted to JSON"),
            "{}",
            error.message
        );
    }

    #[test]
    fn coroutine_functions_are_awaited() {
        let project = TestProject::new();
        project.write(
            "tools/co.py",
            "import asyncio\nasync def execute(x):\n    await asyncio.sleep(0)\n    return x * 2\n",
        );
        let output = run(&project, &python_tool("co", "co", None), json!({"x": 4})).unwrap();
        assert_eq!(output, json!({"output": 8}));
    }

    #[test]
    fn crash_without_a_reply_is_reported() {
        let project = TestProject::new();
        project.write(
            "tools/crash.py",
            "import os\ndef execute():\n    print('going down')\n    os._exit(7)\n",
        );
        let error = run(&project, &python_tool("c", "crash", None), json!({})).unwrap_err();
        assert!(
            error.message.contains("without returning a result"),
            "{}",
            error.message
        );
        assert!(error.message.contains("exit status: 7"));
        assert!(error.message.contains("going down"));
    }

    #[test]
    fn timeout_kills_the_python_process() {
        let project = TestProject::new();
        project.write(
            "tools/slow.py",
            "import time\ndef execute():\n    print('started')\n    time.sleep(30)\n",
        );
        let started = std::time::Instant::now();
        let error = run_python_tool(
            &PythonPool::new(None),
            project.root(),
            &python_tool("slow", "slow", None),
            &FieldMap::default(),
            Some(Duration::from_millis(1500)),
            OutputLimit::default(),
            &IgnoreReports,
        )
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(error.error_type, "ToolError");
        assert!(
            error.message.starts_with("Tool 'slow' timed out after"),
            "{}",
            error.message
        );
        assert!(error.message.contains("started"));
    }

    #[test]
    fn large_inputs_and_outputs_pass_through() {
        let project = TestProject::new();
        project.write(
            "tools/big.py",
            "import sys\ndef execute(text):\n    sys.stderr.write('e' * 200000)\n    \
             return {'length': len(text), 'text': text}\n",
        );
        let text = "x".repeat(2_000_000);
        let output = run(
            &project,
            &python_tool("big", "big", None),
            json!({"text": text}),
        )
        .unwrap();
        assert_eq!(output["length"], 2_000_000);
        assert_eq!(output["text"].as_str().map(str::len), Some(2_000_000));
    }
}
