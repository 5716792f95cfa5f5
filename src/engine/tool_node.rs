//! Tool nodes: run the project's python or shell tool with the gathered inputs (also in
//! dry runs: tools are the project's own local code, as in the original).

use serde_json::{Map, Value};

use super::context::RunContext;
use super::node_error::NodeError;
use crate::tools::run_tool;

/// Run tool `node_id` with its gathered inputs.
pub fn run_tool_node(
    ctx: &RunContext,
    node_id: &str,
    gathered: &Map<String, Value>,
) -> Result<Map<String, Value>, NodeError> {
    let Some(tool) = ctx.project.tools.get(node_id) else {
        return Err(NodeError::runtime("Tool definition not found in project"));
    };
    run_tool(&ctx.project.root, tool, gathered, None)
        .map_err(|e| NodeError::new("ToolError", format!("{} ({})", e.message, e.error_type)))
}
