//! The inputs a tool expects, for validating the edge mappings into it: a python tool's
//! function parameters, or the input names a shell tool's command uses.

use std::path::Path;
use std::time::Duration;

use crate::project::ToolDef;

use super::command_template::placeholder_names;
use super::module_location::locate_module;
use super::python::function_name;
use super::python_process::{PythonFunction, function_parameters};

/// How long importing a python tool module to read its signature may take. Import runs the
/// module's top-level code, which must not be able to hang validation.
const PYTHON_INTROSPECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// The parameter names of a tool, or `None` when they cannot be determined.
///
/// - `python`: the parameters of `function` (default `execute`) in declaration order, without
///   `*args`/`**kwargs`, read by importing the module in a `python3` subprocess (its output
///   is discarded). `None` when the module file is missing, `python3` is unavailable, the
///   import fails or takes longer than 30 s, or the function is missing or not callable.
/// - `shell`: the input names the command's `{{ }}` placeholders use, in order of first use
///   (`None` without a `command:`).
/// - any other type: `None`.
pub fn tool_parameters(project_root: &Path, tool: &ToolDef) -> Option<Vec<String>> {
    match tool.tool_type.as_str() {
        "python" => {
            let module = locate_module(project_root, tool).ok()?;
            let target = PythonFunction {
                tool_id: &tool.id,
                module: &module,
                function: function_name(tool),
            };
            function_parameters(project_root, target, Some(PYTHON_INTROSPECTION_TIMEOUT)).ok()
        }
        "shell" => tool.command.as_deref().map(placeholder_names),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::test_project::{TestProject, python_tool, shell_tool};

    #[test]
    fn python_parameters_in_order_without_var_args() {
        let project = TestProject::new();
        project.write(
            "tools/geo.py",
            "print('import-time noise')\n\
             def lookup(city, country='NO', *args, units, **kwargs):\n    pass\n\
             def execute():\n    pass\n",
        );
        assert_eq!(
            tool_parameters(project.root(), &python_tool("g", "geo", Some("lookup"))),
            Some(vec!["city".into(), "country".into(), "units".into()])
        );
        assert_eq!(
            tool_parameters(project.root(), &python_tool("g", "geo", None)),
            Some(vec![])
        );
    }

    #[test]
    fn python_parameters_unknown_when_they_cannot_be_read() {
        let project = TestProject::new();
        project.write("tools/bad.py", "raise RuntimeError('no import')\n");
        project.write("tools/ok.py", "x = 1\n");
        for tool in [
            python_tool("a", "missing", None),
            python_tool("b", "bad", None),
            python_tool("c", "ok", None),
            python_tool("d", "ok", Some("x")),
        ] {
            assert_eq!(tool_parameters(project.root(), &tool), None, "{}", tool.id);
        }
    }

    #[test]
    fn shell_parameters_are_the_placeholder_names() {
        let project = TestProject::new();
        let tool = shell_tool(
            "s",
            "grep {{ pattern }} {{file.path}} | head -n {{n}} {{ pattern }}",
        );
        assert_eq!(
            tool_parameters(project.root(), &tool),
            Some(vec!["pattern".into(), "file".into(), "n".into()])
        );
        let mut no_command = tool.clone();
        no_command.command = None;
        assert_eq!(tool_parameters(project.root(), &no_command), None);
        let mut other = tool;
        other.tool_type = "http".into();
        assert_eq!(tool_parameters(project.root(), &other), None);
    }
}
