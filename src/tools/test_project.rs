//! Test fixtures for the tool runners: a throw-away project folder and tool definitions.

use std::path::Path;

use crate::project::ToolDef;

/// A temporary project root, deleted when dropped.
pub struct TestProject {
    dir: tempfile::TempDir,
}

impl TestProject {
    pub fn new() -> TestProject {
        TestProject {
            dir: tempfile::tempdir().expect("create a temporary project folder"),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `relative` under the root, creating folders as needed.
    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.root().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create fixture folder");
        }
        std::fs::write(&path, contents).expect("write fixture file");
    }
}

/// A `type: python` tool with `module:` and optionally `function:`.
pub fn python_tool(id: &str, module: &str, function: Option<&str>) -> ToolDef {
    ToolDef {
        outputs: Default::default(),
        id: id.to_string(),
        tool_type: "python".to_string(),
        path: None,
        module: Some(module.to_string()),
        function: function.map(str::to_string),
        command: None,
        description: String::new(),
        timeout: None,
    }
}

/// A `type: shell` tool with `command:`.
pub fn shell_tool(id: &str, command: &str) -> ToolDef {
    ToolDef {
        outputs: Default::default(),
        id: id.to_string(),
        tool_type: "shell".to_string(),
        path: None,
        module: None,
        function: None,
        command: Some(command.to_string()),
        description: String::new(),
        timeout: None,
    }
}

/// A JSON object literal as a map, for tool inputs.
pub fn inputs(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("test inputs must be an object, got {other}"),
    }
}
