//! Tool nodes: run the project's python or shell tool with the gathered inputs (also in
//! dry runs: tools are the project's own local code, as in the original), turning what the
//! tool reports while it runs into telemetry events of the node: its own events become
//! `tool_event`, its printed lines `tool_output` (only computed when the stream wants them).

use serde_json::{Map, Value};

use super::context::RunContext;
use super::node_error::NodeError;
use crate::fields::FieldMap;
use crate::telemetry::{Event, EventKind, RunTelemetry};
use crate::tools::{ToolObserver, ToolReport};

/// Run tool `node_id` with its gathered inputs.
pub fn run_tool_node(
    ctx: &RunContext,
    node_id: &str,
    gathered: &FieldMap,
) -> Result<Map<String, Value>, NodeError> {
    let Some(tool) = ctx.project.tools.get(node_id) else {
        return Err(NodeError::runtime("Tool definition not found in project"));
    };
    let observer = NodeToolObserver {
        tel: &ctx.tel,
        node_id,
    };
    ctx.runtime
        .tools
        .run(&ctx.project.root, tool, gathered, &observer)
        .map_err(|e| NodeError::new("ToolError", format!("{} ({})", e.message, e.error_type)))
}

/// Emits a tool's reports as events of its node, through the run's one telemetry handle.
struct NodeToolObserver<'a> {
    tel: &'a RunTelemetry,
    node_id: &'a str,
}

impl ToolObserver for NodeToolObserver<'_> {
    fn tool_event(&self, report: ToolReport) {
        self.tel.emit(Some(self.node_id), || Event::ToolEvent {
            name: report.name,
            level: report.level,
            data: Value::Object(report.data),
        });
    }

    fn wants_output(&self) -> bool {
        self.tel.wants(EventKind::ToolOutput)
    }

    fn output_line(&self, line: &str) {
        self.tel.emit(Some(self.node_id), || Event::ToolOutput {
            line: line.to_string(),
        });
    }

    fn trace_env(&self) -> Vec<(&'static str, String)> {
        self.tel.trace_env(self.node_id)
    }
}
