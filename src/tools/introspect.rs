//! Static introspection of tools, for `validate`, `--dry-run` and pre-flight checks: the
//! inputs a tool expects, without running any of the project's code.
//!
//! Python tools are read with Python's own parser (`ast`, `introspect.py`), **one**
//! interpreter for all the tools of a project, never importing a module (importing runs its
//! top-level code: network calls, slow imports, side effects). Shell tools: the input names
//! their command's `{{ }}` placeholders use.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::project::ToolDef;

use super::command_template::placeholder_names;
use super::module_location::locate_module;
use super::python::function_name;
use super::python_pool::PythonPool;
use super::signature_cache::{CacheKey, SignatureCache};

/// The introspection script; see its header.
const INTROSPECT_SCRIPT: &str = include_str!("introspect.py");

/// How long parsing every module may take (a huge or pathological file must not hang
/// validation).
const INTROSPECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// A python tool function's signature, read from its source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolSignature {
    /// Parameter names in declaration order, without `*args`/`**kwargs`.
    pub parameters: Vec<String>,
    /// The parameters without a default value.
    pub required: Vec<String>,
    /// Whether it takes `**kwargs` (then any input name is accepted).
    pub var_keyword: bool,
    /// The function's docstring (indentation cleaned, trimmed; `None` when it has none or
    /// it is blank): the tool's description when the manifest gives none.
    pub docstring: Option<String>,
}

/// What static introspection found out about one python tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// The function is defined at the module's top level with this signature.
    Known(ToolSignature),
    /// The tool may well work, but its signature cannot be read without running code (the
    /// name is imported or assigned, or is a class), or Python could not be run.
    Unknown(String),
    /// The tool cannot work as declared: the message names the tool, the file and the fix
    /// (missing module file, syntax error, no such function).
    Problem(String),
}

/// One reply of `introspect.py`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum Reply {
    Ok {
        parameters: Vec<String>,
        required: Vec<String>,
        var_keyword: bool,
        #[serde(default)]
        doc: Option<String>,
    },
    Unknown {
        detail: String,
    },
    Problem {
        kind: String,
        detail: String,
    },
}

/// The signatures of every python tool in `tools` (by tool id), read statically with one run
/// of `interpreter`. Non-python tools are left out.
pub fn python_signatures<'a>(
    interpreter: &OsStr,
    project_root: &Path,
    tools: impl IntoIterator<Item = &'a ToolDef>,
) -> HashMap<String, SignatureCheck> {
    python_signatures_cached(interpreter, project_root, tools, None).0
}

/// Signatures read by [`python_signatures_cached`] that its cache did not hold yet: saved
/// by the caller once the run goes ahead (a refused run writes nothing).
#[derive(Debug, Default)]
pub struct SignatureCacheUpdate(Option<SignatureCache<Reply>>);

impl SignatureCacheUpdate {
    /// Writes the new signatures into the cache (when there are any).
    pub fn save(self) {
        if let Some(cache) = self.0 {
            cache.save();
        }
    }
}

/// [`python_signatures`], reusing the replies kept in `cache_folder` for modules unchanged
/// since (`.trident/cache/python-signatures.json`, keyed by the module's hash): no
/// interpreter starts when every module is known.
pub fn python_signatures_cached<'a>(
    interpreter: &OsStr,
    project_root: &Path,
    tools: impl IntoIterator<Item = &'a ToolDef>,
    cache_folder: Option<&Path>,
) -> (HashMap<String, SignatureCheck>, SignatureCacheUpdate) {
    let mut cache = cache_folder.map(SignatureCache::<Reply>::load);
    let mut checks = HashMap::new();
    let mut known = Vec::new();
    let mut pending = Vec::new();
    for tool in tools.into_iter().filter(|t| t.tool_type == "python") {
        match locate_module(project_root, tool) {
            Ok(module) => {
                let key = cache
                    .as_ref()
                    .and_then(|_| CacheKey::new(interpreter, &module.file, function_name(tool)));
                let cached = key
                    .as_ref()
                    .and_then(|key| cache.as_ref().and_then(|cache| cache.get(key)));
                match cached {
                    Some(reply) => known.push((tool, module, reply)),
                    None => pending.push((tool, module, key)),
                }
            }
            Err(error) => {
                checks.insert(tool.id.clone(), SignatureCheck::Problem(error.message));
            }
        }
    }
    for (tool, module, reply) in known {
        checks.insert(
            tool.id.clone(),
            check_from(tool, &module.declared, Ok(&reply)),
        );
    }
    if pending.is_empty() {
        return (checks, SignatureCacheUpdate::default());
    }
    let request: Vec<serde_json::Value> = pending
        .iter()
        .map(|(tool, module, _)| {
            serde_json::json!({"file": module.file, "function": function_name(tool)})
        })
        .collect();
    let replies = run_script(interpreter, project_root, &serde_json::Value::from(request));
    for (index, (tool, module, key)) in pending.into_iter().enumerate() {
        let reply = match &replies {
            Ok(replies) => replies
                .get(index)
                .ok_or_else(|| "no reply from the introspection".to_string()),
            Err(why) => Err(why.clone()),
        };
        if let (Ok(reply), Some(key), Some(cache)) = (&reply, key, cache.as_mut()) {
            cache.put(key, (*reply).clone());
        }
        let reply = match &reply {
            Ok(reply) => Ok(*reply),
            Err(why) => Err(why.as_str()),
        };
        checks.insert(tool.id.clone(), check_from(tool, &module.declared, reply));
    }
    (checks, SignatureCacheUpdate(cache))
}

/// The check one introspection reply (or the reason there is none) says.
fn check_from(tool: &ToolDef, declared: &str, reply: Result<&Reply, &str>) -> SignatureCheck {
    match reply {
        Ok(Reply::Ok {
            parameters,
            required,
            var_keyword,
            doc,
        }) => SignatureCheck::Known(ToolSignature {
            parameters: parameters.clone(),
            required: required.clone(),
            var_keyword: *var_keyword,
            docstring: doc
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_string),
        }),
        Ok(Reply::Unknown { detail }) => {
            SignatureCheck::Unknown(format!("tool '{}': {detail} in {declared}", tool.id))
        }
        Ok(Reply::Problem { kind, detail }) => {
            SignatureCheck::Problem(problem_message(tool, declared, kind, detail))
        }
        Err(why) => SignatureCheck::Unknown(why.to_string()),
    }
}

/// The docstrings of the python tools whose signature was read, by tool id: what their
/// spans' `gen_ai.tool.description` says when the manifest's `tools:` entry has no
/// `description:`.
pub fn docstrings(python: &HashMap<String, SignatureCheck>) -> HashMap<String, String> {
    python
        .iter()
        .filter_map(|(id, check)| match check {
            SignatureCheck::Known(ToolSignature {
                docstring: Some(doc),
                ..
            }) => Some((id.clone(), doc.clone())),
            _ => None,
        })
        .collect()
}

/// The parameter names of every tool of `tools` whose inputs are known (python: parameters
/// read statically, all with one interpreter; shell: the command's placeholder names). A tool
/// that takes `**kwargs`, or whose signature cannot be read, is left out (any input goes).
pub fn tool_parameters<'a>(
    pool: &PythonPool,
    project_root: &Path,
    tools: impl IntoIterator<Item = &'a ToolDef> + Clone,
) -> HashMap<String, Vec<String>> {
    let python = python_signatures(&pool.interpreter(project_root), project_root, tools.clone());
    parameters_from(&python, tools)
}

/// [`tool_parameters`] from signatures already read with [`python_signatures`] (so one
/// interpreter run serves both the pre-flight checks and the edge-mapping check).
pub fn parameters_from<'a>(
    python: &HashMap<String, SignatureCheck>,
    tools: impl IntoIterator<Item = &'a ToolDef>,
) -> HashMap<String, Vec<String>> {
    let mut parameters = HashMap::new();
    for tool in tools {
        let names = match tool.tool_type.as_str() {
            "python" => match python.get(&tool.id) {
                Some(SignatureCheck::Known(signature)) if !signature.var_keyword => {
                    Some(signature.parameters.clone())
                }
                _ => None,
            },
            "shell" => tool.command.as_deref().map(placeholder_names),
            _ => None,
        };
        if let Some(names) = names {
            parameters.insert(tool.id.clone(), names);
        }
    }
    parameters
}

fn problem_message(tool: &ToolDef, declared: &str, kind: &str, detail: &str) -> String {
    let function = function_name(tool);
    match kind {
        "missing_function" => format!(
            "Tool '{}': {declared} defines no function '{function}' at its top level: define it \
             there, or set `function:` under `tools:` to the function to call (default: execute)",
            tool.id
        ),
        "syntax_error" => format!(
            "Tool '{}': {declared} is not valid Python ({detail}): fix the module",
            tool.id
        ),
        _ => format!("Tool '{}': cannot read {declared}: {detail}", tool.id),
    }
}

/// Runs the script once over every request; `Err` says why there are no replies.
fn run_script(
    interpreter: &OsStr,
    project_root: &Path,
    request: &serde_json::Value,
) -> Result<Vec<Reply>, String> {
    let mut command = Command::new(interpreter);
    // Isolated and without `site`: the script needs only the standard library, and site
    // packages' `.pth` files can cost tens of milliseconds at every start.
    command
        .args(["-I", "-S", "-c"])
        .arg(INTROSPECT_SCRIPT)
        .arg(request.to_string())
        .current_dir(project_root)
        .stdin(Stdio::null());
    let finished = super::subprocess::run_to_completion(
        command,
        Some(INTROSPECTION_TIMEOUT),
        crate::output_limit::OutputLimit::default(),
        &super::observer::IgnoreReports,
        None,
    )
    .map_err(|failure| {
        format!(
            "could not run {} to read python tool signatures: {failure:?}",
            interpreter.to_string_lossy()
        )
    })?;
    if !finished.status.success() {
        return Err(format!(
            "{} could not read python tool signatures ({}): {}",
            interpreter.to_string_lossy(),
            finished.status,
            String::from_utf8_lossy(&finished.stderr).trim()
        ));
    }
    serde_json::from_slice(&finished.stdout)
        .map_err(|error| format!("unreadable introspection reply: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::test_project::{TestProject, python_tool, shell_tool};

    fn signatures(project: &TestProject, tools: &[ToolDef]) -> HashMap<String, SignatureCheck> {
        let pool = PythonPool::new(None);
        python_signatures(&pool.interpreter(project.root()), project.root(), tools)
    }

    #[test]
    fn parameters_are_read_without_running_the_module() {
        let project = TestProject::new();
        project.write(
            "tools/geo.py",
            "open('ran', 'w').write('the module ran')\nimport nonexistent_dependency\n\
             def lookup(city, country='NO', *args, units, scale=1, **kwargs):\n    \
             \"\"\"Looks a city up.\n\n    Returns its coordinates.\n    \"\"\"\n    pass\n\
             async def execute(a, /, b=2):\n    pass\n\
             def blank():\n    '   '\n",
        );
        let checks = signatures(
            &project,
            &[
                python_tool("l", "geo", Some("lookup")),
                python_tool("e", "geo", None),
                python_tool("b", "geo", Some("blank")),
            ],
        );
        assert_eq!(
            checks["l"],
            SignatureCheck::Known(ToolSignature {
                parameters: vec![
                    "city".into(),
                    "country".into(),
                    "units".into(),
                    "scale".into()
                ],
                required: vec!["city".into(), "units".into()],
                var_keyword: true,
                docstring: Some("Looks a city up.\n\nReturns its coordinates.".into()),
            })
        );
        assert_eq!(
            checks["e"],
            SignatureCheck::Known(ToolSignature {
                parameters: vec!["a".into(), "b".into()],
                required: vec!["a".into()],
                var_keyword: false,
                docstring: None,
            })
        );
        // A blank docstring says nothing; only documented functions describe their tool.
        assert!(matches!(&checks["b"], SignatureCheck::Known(s) if s.docstring.is_none()));
        assert_eq!(
            docstrings(&checks),
            HashMap::from([(
                "l".to_string(),
                "Looks a city up.\n\nReturns its coordinates.".to_string()
            )])
        );
        assert!(!project.root().join("ran").exists(), "module code was run");
    }

    #[test]
    fn problems_and_unknowns_are_told_apart() {
        let project = TestProject::new();
        project.write("tools/broken.py", "def execute(:\n");
        project.write(
            "tools/ok.py",
            "from helpers import imported\nassigned = make()\nclass Klass: pass\n\
             try:\n    def guarded(x): pass\nexcept Exception:\n    pass\n",
        );
        let checks = signatures(
            &project,
            &[
                python_tool("missing_file", "nothing_here", None),
                python_tool("syntax", "broken", None),
                python_tool("no_function", "ok", Some("absent")),
                python_tool("imported", "ok", Some("imported")),
                python_tool("assigned", "ok", Some("assigned")),
                python_tool("class", "ok", Some("Klass")),
                python_tool("guarded", "ok", Some("guarded")),
                shell_tool("shell", "echo hi"),
            ],
        );
        let problem = |id: &str| match &checks[id] {
            SignatureCheck::Problem(message) => message.clone(),
            other => panic!("{id}: {other:?}"),
        };
        assert!(problem("missing_file").contains("tools/nothing_here.py does not exist"));
        assert!(problem("syntax").contains("broken.py is not valid Python (line 1"));
        assert!(problem("no_function").contains("defines no function 'absent'"));
        for id in ["imported", "assigned", "class"] {
            assert!(
                matches!(checks[id], SignatureCheck::Unknown(_)),
                "{id}: {:?}",
                checks[id]
            );
        }
        assert!(matches!(checks["guarded"], SignatureCheck::Known(_)));
        assert!(!checks.contains_key("shell"));
    }

    #[test]
    fn tool_parameters_of_python_and_shell_tools() {
        let project = TestProject::new();
        project.write(
            "tools/t.py",
            "def execute(a, b=1):\n    pass\ndef loose(**kw):\n    pass\n",
        );
        let tools = [
            python_tool("p", "t", None),
            python_tool("loose", "t", Some("loose")),
            shell_tool(
                "s",
                "grep {{ pattern }} {{file.path}} | head -n {{n}} {{ pattern }}",
            ),
        ];
        let got = tool_parameters(&PythonPool::new(None), project.root(), &tools);
        assert_eq!(got["p"], ["a", "b"]);
        assert!(!got.contains_key("loose"));
        assert_eq!(got["s"], ["pattern", "file", "n"]);
    }
}
