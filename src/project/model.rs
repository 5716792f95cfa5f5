//! The in-memory model of a loaded Trident project: manifest, nodes, edges, tools, prompts.
//!
//! Everything here is plain data produced by `project::load`; the DAG (`crate::dag`) and the
//! engine (`crate::engine`) read it and never mutate it.

use crate::expr::ParsedCondition;
use std::path::PathBuf;

use indexmap::IndexMap;
use serde_json::Value;

/// The kind of a node in the DAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Input,
    Prompt,
    Output,
    Tool,
    Agent,
    Branch,
    Trigger,
}

impl NodeKind {
    /// The name used in artifacts, telemetry and messages (`"prompt"`, `"tool"`...).
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Input => "input",
            NodeKind::Prompt => "prompt",
            NodeKind::Output => "output",
            NodeKind::Tool => "tool",
            NodeKind::Agent => "agent",
            NodeKind::Branch => "branch",
            NodeKind::Trigger => "trigger",
        }
    }
}

impl std::fmt::Display for NodeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field of an input node's schema or a prompt's output schema: `(type, description)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaField {
    pub field_type: String,
    pub description: String,
}

/// An input node (`type: input`), or an implicit one created for an undefined edge source.
#[derive(Debug, Clone, Default)]
pub struct InputNode {
    pub id: String,
    pub schema: IndexMap<String, SchemaField>,
    /// Schema fields marked `required: true` (a run without them is refused).
    pub required: Vec<String>,
}

/// An output node (`type: output`), or an implicit one created for an undefined edge target.
#[derive(Debug, Clone)]
pub struct OutputNode {
    pub id: String,
    pub format: String,
}

/// A declared input of a prompt file.
#[derive(Debug, Clone)]
pub struct PromptInput {
    pub name: String,
    pub field_type: String,
    pub description: String,
    pub required: bool,
    pub default: Value,
}

/// Output format of a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

/// A parsed `.prompt` file (frontmatter + template body).
#[derive(Debug, Clone)]
pub struct PromptFile {
    pub id: String,
    pub name: String,
    pub description: String,
    pub model: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u64>,
    pub inputs: IndexMap<String, PromptInput>,
    pub output_format: OutputFormat,
    /// Output schema fields (json prompts). Read from `output.schema` (or `output.fields`).
    pub output_fields: IndexMap<String, SchemaField>,
    pub body: String,
    pub path: PathBuf,
}

/// A tool from the manifest's `tools:` section.
#[derive(Debug, Clone)]
pub struct ToolDef {
    pub id: String,
    /// `python` or `shell` (others are refused at validation).
    pub tool_type: String,
    pub path: Option<String>,
    pub module: Option<String>,
    pub function: Option<String>,
    /// Shell tools: the command template (`{{ input }}` placeholders).
    pub command: Option<String>,
    pub description: String,
    /// `timeout:` in seconds: past it the tool is killed and its node fails (`None`: no limit).
    pub timeout: Option<std::time::Duration>,
    /// Declared output fields (`outputs:`, the form of a prompt's `output.schema`); empty
    /// when the tool declares none (its outputs are then not checked).
    pub outputs: IndexMap<String, SchemaField>,
}

/// An MCP server an agent node may use.
#[derive(Debug, Clone)]
pub struct McpServer {
    pub command: String,
    pub args: Vec<String>,
    pub env: IndexMap<String, String>,
}

/// An agent node, executed through the Claude CLI.
#[derive(Debug, Clone)]
pub struct AgentNode {
    pub id: String,
    pub prompt_path: String,
    /// Empty means every tool is allowed.
    pub allowed_tools: Vec<String>,
    pub mcp_servers: IndexMap<String, McpServer>,
    pub max_turns: u64,
    pub permission_mode: String,
    pub cwd: Option<String>,
    pub execution_mode: String,
    /// Seconds before a hung CLI is killed (`timeout:` on the node).
    pub timeout_secs: Option<f64>,
    /// `model:` on the node (`anthropic/NAME` or an alias), passed as `--model`; overrides
    /// the prompt's `model:`.
    pub model: Option<String>,
    /// `pass_api_key: true`: hand `ANTHROPIC_API_KEY` to the CLI (default: removed, so the
    /// CLI uses the user's Claude login).
    pub pass_api_key: bool,
}

/// A branch node: runs a sub-workflow, optionally in a loop.
#[derive(Debug, Clone)]
pub struct BranchNode {
    pub id: String,
    pub workflow_path: String,
    pub condition: Option<ParsedCondition>,
    pub loop_while: Option<ParsedCondition>,
    pub max_iterations: u64,
}

/// How a trigger node runs its workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerMode {
    FireAndForget,
    Wait,
}

/// A trigger node: starts another workflow.
#[derive(Debug, Clone)]
pub struct TriggerNode {
    pub id: String,
    pub workflow_path: String,
    pub mode: TriggerMode,
    pub pass_outputs: bool,
    pub emit_signal: bool,
    pub condition: Option<ParsedCondition>,
}

/// One `target_input: source_expression` mapping of an edge.
#[derive(Debug, Clone)]
pub struct EdgeMapping {
    pub target: String,
    pub source: String,
}

/// An edge between two nodes.
#[derive(Debug, Clone)]
pub struct Edge {
    pub id: String,
    pub from: String,
    pub to: String,
    pub mappings: Vec<EdgeMapping>,
    pub condition: Option<ParsedCondition>,
}

/// The manifest's `orchestration:` section.
#[derive(Debug, Clone, Default)]
pub struct Orchestration {
    pub publish_path: Option<String>,
    pub publish_alias: Option<String>,
    pub export_path: Option<String>,
    pub signals_enabled: bool,
    pub signals_dir: String,
    /// The raw section (schedule, depends_on...).
    pub raw: Value,
}

impl Orchestration {
    /// The signals folder of a project rooted at `root` (`orchestration.signals.directory`,
    /// relative to the root unless absolute; default `.trident/signals`).
    pub fn signals_dir(orchestration: Option<&Orchestration>, root: &std::path::Path) -> PathBuf {
        let dir = orchestration
            .map(|o| o.signals_dir.as_str())
            .filter(|d| !d.is_empty())
            .unwrap_or(".trident/signals");
        root.join(dir)
    }
}

/// Project-wide defaults (`defaults:`).
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub model: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u64>,
    pub execution_mode: Option<String>,
}

/// A loaded project.
#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    /// The folder holding the manifest (absolute).
    pub root: PathBuf,
    /// The manifest file (absolute).
    pub manifest_path: PathBuf,
    pub version: String,
    pub description: String,
    pub defaults: Defaults,
    pub entrypoints: Vec<String>,
    pub inputs: IndexMap<String, InputNode>,
    pub outputs: IndexMap<String, OutputNode>,
    pub prompts: IndexMap<String, PromptFile>,
    pub tools: IndexMap<String, ToolDef>,
    pub agents: IndexMap<String, AgentNode>,
    pub branches: IndexMap<String, BranchNode>,
    pub triggers: IndexMap<String, TriggerNode>,
    pub edges: IndexMap<String, Edge>,
    pub orchestration: Option<Orchestration>,
    /// The raw `telemetry:` section of the manifest, resolved by `telemetry::settings`.
    pub telemetry: Option<Value>,
    /// The project's `.env` (an overlay of the run's environment; its values are redacted
    /// from telemetry).
    pub dotenv: IndexMap<String, String>,
    /// Nodes created for edge endpoints declared nowhere (implicit inputs and outputs).
    pub implicit_nodes: Vec<String>,
    /// Model prices: the manifest's `pricing:` over the built-in table.
    pub pricing: crate::pricing::PriceTable,
}

impl Project {
    /// Every node id with its kind, in the original's registration order. When one id has
    /// several definitions the later kind wins, as in the original (an agent's prompt file
    /// is also found in `prompts/`: the agent wins).
    pub fn all_nodes(&self) -> IndexMap<String, NodeKind> {
        let mut nodes = IndexMap::new();
        let groups: [(Vec<&String>, NodeKind); 7] = [
            (self.inputs.keys().collect(), NodeKind::Input),
            (self.prompts.keys().collect(), NodeKind::Prompt),
            (self.outputs.keys().collect(), NodeKind::Output),
            (self.tools.keys().collect(), NodeKind::Tool),
            (self.agents.keys().collect(), NodeKind::Agent),
            (self.branches.keys().collect(), NodeKind::Branch),
            (self.triggers.keys().collect(), NodeKind::Trigger),
        ];
        for (ids, kind) in groups {
            for id in ids {
                nodes.insert(id.clone(), kind);
            }
        }
        nodes
    }
}
