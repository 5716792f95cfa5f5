//! Where a python tool's module file is, from the `module:` (or `path:`) of its manifest entry,
//! resolved exactly as the original runtime does:
//!
//! - `module:` wins over `path:`; an empty value counts as absent;
//! - `.py` is appended unless the value already ends with it;
//! - a value starting with `../` or `/` is a path from the project root (so `/...` is absolute),
//!   with `..` and symbolic links resolved;
//! - anything else is looked up under the project's `tools/` folder (`weather` is
//!   `tools/weather.py`, `sub/geo` is `tools/sub/geo.py`; `./x` is `tools/./x.py`).
//!
//! The Python module name is the value without `.py`, with `/` replaced by `.`
//! (`sub/geo` -> `sub.geo`, `../shared/browser` -> `...shared.browser`), as in the original.

use std::path::{Component, Path, PathBuf};

use crate::project::ToolDef;

use super::error::ToolError;

/// The module file of a python tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleLocation {
    /// The manifest value with `.py` appended (`weather.py`, `../shared/browser.py`).
    pub declared: String,
    /// The absolute path of the file (it exists).
    pub file: PathBuf,
    /// The name the module is imported under.
    pub module_name: String,
}

/// Finds the module file of python tool `tool`; fails when neither `module:` nor `path:` is
/// set or the file does not exist.
pub fn locate_module(project_root: &Path, tool: &ToolDef) -> Result<ModuleLocation, ToolError> {
    let Some(value) = non_empty(&tool.module).or_else(|| non_empty(&tool.path)) else {
        return Err(ToolError::new(format!(
            "Tool '{}' has no module or path specified: add `module: <name>` (for \
             tools/<name>.py) to its entry under `tools:` in the manifest",
            tool.id
        )));
    };
    let declared = if value.ends_with(".py") {
        value.to_string()
    } else {
        format!("{value}.py")
    };
    let outside_tools_folder = declared.starts_with("../") || declared.starts_with('/');
    let joined = if outside_tools_folder {
        project_root.join(&declared)
    } else {
        project_root.join("tools").join(&declared)
    };
    if !joined.exists() {
        return Err(ToolError::new(format!(
            "Tool module not found for tool '{}': {} does not exist. A plain `module:` name is \
             looked up as tools/<name>.py under the project root; a value starting with ../ or \
             / is a path from the project root. Create the file or fix the tool's `module:`/\
             `path:` under `tools:` in the manifest",
            tool.id,
            display_path(&joined, outside_tools_folder).display()
        )));
    }
    let file = if outside_tools_folder {
        std::fs::canonicalize(&joined)
    } else {
        // Like the original, the tools/ path is used as is (symbolic links kept); it only has
        // to be absolute because the runner's working directory is the project root.
        std::path::absolute(&joined)
    }
    .map_err(|error| {
        ToolError::new(format!(
            "Tool '{}': cannot resolve module path {}: {error}",
            tool.id,
            joined.display()
        ))
    })?;
    let module_name = declared
        .strip_suffix(".py")
        .unwrap_or(&declared)
        .replace('/', ".");
    Ok(ModuleLocation {
        declared,
        file,
        module_name,
    })
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|value| !value.is_empty())
}

/// The path to show for a missing file: `..` folded away when the original would resolve it.
fn display_path(joined: &Path, resolve: bool) -> PathBuf {
    let absolute = std::path::absolute(joined).unwrap_or_else(|_| joined.to_path_buf());
    if !resolve {
        return absolute;
    }
    let mut folded = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                folded.pop();
            }
            Component::CurDir => {}
            other => folded.push(other),
        }
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::test_project::{TestProject, python_tool};

    #[test]
    fn plain_name_is_under_tools_and_gets_py() {
        let project = TestProject::new();
        project.write("tools/weather.py", "");
        let location = locate_module(project.root(), &python_tool("w", "weather", None)).unwrap();
        assert_eq!(location.declared, "weather.py");
        assert_eq!(location.module_name, "weather");
        assert_eq!(location.file, project.root().join("tools/weather.py"));
        assert!(location.file.is_absolute());
    }

    #[test]
    fn nested_name_with_extension_becomes_a_dotted_module_name() {
        let project = TestProject::new();
        project.write("tools/sub/geo.py", "");
        let location =
            locate_module(project.root(), &python_tool("g", "sub/geo.py", None)).unwrap();
        assert_eq!(location.module_name, "sub.geo");
        assert_eq!(location.file, project.root().join("tools/sub/geo.py"));
    }

    #[test]
    fn parent_relative_and_absolute_paths_are_from_the_project_root() {
        let project = TestProject::new();
        project.write("shared/browser.py", "");
        let root = project.root().join("app");
        std::fs::create_dir_all(&root).unwrap();
        let parent = locate_module(&root, &python_tool("b", "../shared/browser", None)).unwrap();
        let expected = std::fs::canonicalize(project.root().join("shared/browser.py")).unwrap();
        assert_eq!(parent.file, expected);
        // As in the original: `../shared/browser` with every `/` made a `.`.
        assert_eq!(parent.module_name, "...shared.browser");

        let absolute = expected.to_string_lossy().into_owned();
        let location = locate_module(&root, &python_tool("b", &absolute, None)).unwrap();
        assert_eq!(location.file, expected);
    }

    #[test]
    fn module_wins_over_path_and_empty_counts_as_absent() {
        let project = TestProject::new();
        project.write("tools/a.py", "");
        project.write("tools/b.py", "");
        let mut tool = python_tool("t", "a", None);
        tool.path = Some("b".into());
        assert_eq!(
            locate_module(project.root(), &tool).unwrap().declared,
            "a.py"
        );
        tool.module = Some(String::new());
        assert_eq!(
            locate_module(project.root(), &tool).unwrap().declared,
            "b.py"
        );
        tool.path = None;
        let error = locate_module(project.root(), &tool).unwrap_err();
        assert!(
            error
                .message
                .contains("Tool 't' has no module or path specified")
        );
        assert_eq!(error.error_type, "ToolError");
    }

    #[test]
    fn missing_file_names_the_tool_the_path_and_the_fix() {
        let project = TestProject::new();
        let error = locate_module(project.root(), &python_tool("wx", "weather", None)).unwrap_err();
        assert!(error.message.contains("tool 'wx'"), "{}", error.message);
        assert!(error.message.contains("tools/weather.py does not exist"));
        assert!(error.message.contains("fix the tool's `module:`"));

        let error =
            locate_module(project.root(), &python_tool("wx", "../gone/x", None)).unwrap_err();
        let parent = project.root().parent().unwrap().join("gone/x.py");
        assert!(
            error.message.contains(&parent.display().to_string()),
            "{}",
            error.message
        );
    }
}
