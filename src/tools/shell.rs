//! `type: shell` tools: run the tool's `command:` with `sh -c` in the project root.
//!
//! - `{{ name }}` / `{{ a.b }}` placeholders are replaced by the gathered inputs, each quoted as
//!   one shell word (see [`super::command_template`]); a placeholder without a matching input
//!   fails the node rather than running a half-filled command.
//! - Every input is also exported as `TRIDENT_INPUT_<NAME>` (name upper-cased, characters other
//!   than ASCII letters, digits and `_` replaced by `_`), with the same text as the placeholder
//!   gets, unquoted.
//! - stdin is empty (`/dev/null`).
//! - `$TRIDENT_EVENTS` names a file the command may append JSON lines to,
//!   `{"event": NAME, "data": {...}}`: each becomes a `tool_event` as it is written
//!   ([`super::events_file`]).
//! - Output: stdout with surrounding whitespace trimmed. If that text is a JSON object, its
//!   fields are the node's output, plus `output` holding the trimmed text unless the object has
//!   its own `output` field; otherwise the output is `{"output": <trimmed text>}`.
//! - A non-zero exit (or death by a signal) fails the node with the exit code and the last
//!   lines of stderr. On success stderr is passed through to our stderr in one piece (its
//!   last `limit` bytes).
//! - Stdout over the [`OutputLimit`] stops the command and fails the node.

use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::output_limit::{MAX_OUTPUT_SIZE_VAR, OutputLimit};
use crate::project::ToolDef;

use super::command_template::{render_command, shell_text};
use super::error::ToolError;
use super::events_file::{EVENTS_ENV, EventsFile};
use super::observer::ToolObserver;
use super::passed_output::pass_to_stderr;
use super::subprocess::{ProcessFailure, run_to_completion};
use super::tool_env::ToolEnv;

/// The shell that runs commands, looked up on `PATH`.
const SHELL_PROGRAM: &str = "sh";

/// Prefix of the environment variables carrying the inputs.
const INPUT_ENV_PREFIX: &str = "TRIDENT_INPUT_";

/// What every shell tool of a run shares, resolved with the run's settings.
#[derive(Debug, Clone, Copy)]
pub struct ShellSettings<'a> {
    /// Added to each command's environment (the project's `.env` overlay).
    pub base_env: &'a ToolEnv,
    /// `TRIDENT_MAX_OUTPUT_SIZE`.
    pub limit: OutputLimit,
    /// Where each call's `$TRIDENT_EVENTS` file goes (`TMPDIR`, else `/tmp`).
    pub temp_folder: &'a Path,
}

/// Runs shell tool `tool` with `inputs` and the run's `settings`; returns the node's
/// output.
pub fn run_shell_tool(
    project_root: &Path,
    tool: &ToolDef,
    inputs: &Map<String, Value>,
    timeout: Option<Duration>,
    observer: &dyn ToolObserver,
    settings: ShellSettings<'_>,
) -> Result<Map<String, Value>, ToolError> {
    let ShellSettings {
        base_env,
        limit,
        temp_folder,
    } = settings;
    let Some(template) = tool
        .command
        .as_deref()
        .filter(|command| !command.trim().is_empty())
    else {
        return Err(ToolError::new(format!(
            "Shell tool '{}' has no `command:`: add `command: <shell command>` to its entry \
             under `tools:` in the manifest",
            tool.id
        )));
    };
    let command_line = render_command(template, inputs).map_err(|missing| {
        ToolError::new(format!(
            "Shell tool '{}': its command uses {{{{ {} }}}} but the node received no such \
             input (inputs: {}). Map it with an edge into '{}'",
            tool.id,
            missing.path,
            input_names(inputs),
            tool.id
        ))
    })?;

    let mut command = Command::new(SHELL_PROGRAM);
    command
        .arg("-c")
        .arg(&command_line)
        .current_dir(project_root);
    let mut events = EventsFile::create(temp_folder, limit).map_err(|error| {
        ToolError::new(format!(
            "Shell tool '{}': cannot create its $TRIDENT_EVENTS file in {}: {error}",
            tool.id,
            temp_folder.display()
        ))
    })?;
    let mut env = base_env.clone();
    for (name, value) in inputs {
        env.set(input_env_name(name), shell_text(value));
    }
    env.set(EVENTS_ENV, events.path().to_string_lossy());
    for (name, value) in observer.trace_env() {
        env.set(name, value);
    }
    env.apply(&mut command);
    let finished = run_to_completion(command, timeout, limit, observer, Some(&mut events))
        .map_err(|failure| match failure {
            ProcessFailure::Spawn(error) if error.kind() == std::io::ErrorKind::NotFound => {
                ToolError::new(format!(
                    "{SHELL_PROGRAM} was not found on PATH (needed by shell tool '{}'), or the \
                 project root {} does not exist",
                    tool.id,
                    project_root.display()
                ))
            }
            // E2BIG: one argument or variable over the kernel's 128 KB, or all of them over
            // its total.
            ProcessFailure::Spawn(error) if error.raw_os_error() == Some(libc::E2BIG) => {
                ToolError::new(format!(
                    "Shell tool '{}' cannot start: its inputs are too big for a command line \
                     ({error}). Each input is passed in the command and as \
                     {INPUT_ENV_PREFIX}<NAME>, and the system allows at most 128 KB per value: \
                     pass big data in a file (its path as the input), or use a python tool",
                    tool.id
                ))
            }
            ProcessFailure::Spawn(error) => ToolError::new(format!(
                "Could not start {SHELL_PROGRAM} for shell tool '{}' in {}: {error}",
                tool.id,
                project_root.display()
            )),
            ProcessFailure::Wait(error) => ToolError::new(format!(
                "Lost track of the {SHELL_PROGRAM} process of shell tool '{}': {error}",
                tool.id
            )),
            ProcessFailure::TimedOut { after, stderr } => ToolError::new(format!(
                "Shell tool '{}' timed out after {after:.1?} and was killed",
                tool.id
            ))
            .with_stderr_tail(&stderr),
            ProcessFailure::OutputTooLarge {
                read,
                limit,
                stderr,
            } => ToolError::new(format!(
                "Shell tool '{}' printed more than {} on stdout ({read} bytes read) and was \
                     stopped: stdout is the tool's result. Write big data to a file and print \
                     its path, or raise {MAX_OUTPUT_SIZE_VAR}",
                tool.id,
                limit.describe()
            ))
            .with_stderr_tail(&stderr),
        })?;

    if !finished.status.success() {
        return Err(ToolError::new(format!(
            "Shell tool '{}' failed: its command {}",
            tool.id,
            describe_failure(finished.status)
        ))
        .with_stderr_tail(&finished.stderr));
    }
    pass_to_stderr(&tool.id, &finished.stderr, finished.stderr_left_out, limit);
    Ok(output_from_stdout(&finished.stdout))
}

/// `TRIDENT_INPUT_<NAME>` for input `name`.
fn input_env_name(name: &str) -> String {
    let suffix: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{INPUT_ENV_PREFIX}{suffix}")
}

fn input_names(inputs: &Map<String, Value>) -> String {
    if inputs.is_empty() {
        return "none".to_string();
    }
    inputs.keys().cloned().collect::<Vec<_>>().join(", ")
}

fn describe_failure(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exited with code {code}"),
        None => format!("was terminated ({status})"),
    }
}

/// The node output for what a successful command printed.
fn output_from_stdout(stdout: &[u8]) -> Map<String, Value> {
    let text = String::from_utf8_lossy(stdout).trim().to_string();
    let mut output = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    if !output.contains_key("output") {
        output.insert("output".to_string(), Value::String(text));
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::observer::IgnoreReports;
    use crate::tools::test_project::{TestProject, inputs, shell_tool};
    use serde_json::json;

    fn run(project: &TestProject, command: &str, input: Value) -> Result<Value, ToolError> {
        run_shell_tool(
            project.root(),
            &shell_tool("sh_tool", command),
            &inputs(input),
            Some(Duration::from_secs(30)),
            &IgnoreReports,
            ShellSettings {
                base_env: &ToolEnv::new(),
                limit: OutputLimit::default(),
                temp_folder: &std::env::temp_dir(),
            },
        )
        .map(Value::Object)
    }

    #[test]
    fn text_stdout_is_trimmed_into_output() {
        let project = TestProject::new();
        let output = run(
            &project,
            "printf '  hello %s \\n\\n' {{ name }}; echo noise >&2",
            json!({"name": "world"}),
        )
        .unwrap();
        assert_eq!(output, json!({"output": "hello world"}));
    }

    #[test]
    fn json_object_stdout_becomes_fields_plus_output() {
        let project = TestProject::new();
        let output = run(
            &project,
            r#"echo '{"count": 2, "items": ["a", "b"]}'"#,
            json!({}),
        )
        .unwrap();
        assert_eq!(
            output,
            json!({"count": 2, "items": ["a", "b"], "output": r#"{"count": 2, "items": ["a", "b"]}"#})
        );
        let own_output = run(&project, r#"echo '{"output": 5}'"#, json!({})).unwrap();
        assert_eq!(own_output, json!({"output": 5}));
        let array = run(&project, "echo '[1, 2]'", json!({})).unwrap();
        assert_eq!(array, json!({"output": "[1, 2]"}));
    }

    #[test]
    fn runs_in_the_project_root_with_inputs_in_the_environment() {
        let project = TestProject::new();
        project.write("data.txt", "from the project\n");
        let output = run(
            &project,
            r#"cat data.txt; printf '%s|%s|%s' "$TRIDENT_INPUT_USER_NAME" "$TRIDENT_INPUT_COUNT" "$TRIDENT_INPUT_META""#,
            json!({"user-name": "ada", "count": 3, "meta": {"k": "v"}}),
        )
        .unwrap();
        assert_eq!(
            output,
            json!({"output": "from the project\nada|3|{\"k\":\"v\"}"})
        );
    }

    #[test]
    fn non_zero_exit_is_a_failure_with_code_and_stderr() {
        let project = TestProject::new();
        let error = run(
            &project,
            "echo partial; echo 'disk full' >&2; exit 4",
            json!({}),
        )
        .unwrap_err();
        assert_eq!(error.error_type, "ToolError");
        assert!(
            error
                .message
                .starts_with("Shell tool 'sh_tool' failed: its command exited with code 4\n"),
            "{}",
            error.message
        );
        assert!(error.message.contains("disk full"));
    }

    #[test]
    fn inputs_with_quotes_and_substitutions_are_not_executed() {
        let project = TestProject::new();
        let nasty = "it's $(touch pwned1) `touch pwned2`; touch pwned3 \"q\" \n$HOME";
        let output = run(&project, "printf '%s' {{ text }}", json!({"text": nasty})).unwrap();
        assert_eq!(output, json!({"output": nasty.trim()}));
        for file in ["pwned1", "pwned2", "pwned3"] {
            assert!(!project.root().join(file).exists(), "{file} was created");
        }
    }

    #[test]
    fn missing_input_and_missing_command_are_clear_errors() {
        let project = TestProject::new();
        let error = run(&project, "echo {{ who.name }}", json!({"other": 1})).unwrap_err();
        assert!(
            error.message.contains("uses {{ who.name }}")
                && error.message.contains("inputs: other"),
            "{}",
            error.message
        );
        let mut tool = shell_tool("empty", "  ");
        let error = run_shell_tool(
            project.root(),
            &tool,
            &Map::new(),
            None,
            &IgnoreReports,
            ShellSettings {
                base_env: &ToolEnv::new(),
                limit: OutputLimit::default(),
                temp_folder: &std::env::temp_dir(),
            },
        )
        .unwrap_err();
        assert!(
            error
                .message
                .starts_with("Shell tool 'empty' has no `command:`")
        );
        tool.command = None;
        assert!(
            run_shell_tool(
                project.root(),
                &tool,
                &Map::new(),
                None,
                &IgnoreReports,
                ShellSettings {
                    base_env: &ToolEnv::new(),
                    limit: OutputLimit::default(),
                    temp_folder: &std::env::temp_dir(),
                },
            )
            .is_err()
        );
    }

    #[test]
    fn timeout_kills_the_command() {
        let project = TestProject::new();
        let started = std::time::Instant::now();
        let error = run_shell_tool(
            project.root(),
            &shell_tool("slow", "echo working >&2; sleep 30; touch finished"),
            &Map::new(),
            // Long enough for a loaded machine to start bash and print (the message must
            // carry the stderr so far), far shorter than the `sleep`.
            Some(Duration::from_secs(3)),
            &IgnoreReports,
            ShellSettings {
                base_env: &ToolEnv::new(),
                limit: OutputLimit::default(),
                temp_folder: &std::env::temp_dir(),
            },
        )
        .unwrap_err();
        // Killed, not waited for: the sleep would have taken 30 s.
        assert!(started.elapsed() < Duration::from_secs(25));
        assert!(
            error
                .message
                .starts_with("Shell tool 'slow' timed out after")
        );
        assert!(error.message.contains("working"));
        assert!(!project.root().join("finished").exists());
    }

    #[test]
    fn env_names_are_upper_cased_and_sanitised() {
        assert_eq!(input_env_name("city"), "TRIDENT_INPUT_CITY");
        assert_eq!(input_env_name("user-name.x"), "TRIDENT_INPUT_USER_NAME_X");
    }
}
