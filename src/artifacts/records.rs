//! The JSON records of the `.trident/` run store, with the original's field names and order
//! (the monitoring dashboard reads them): run manifest entries, metadata, checkpoints,
//! traces, branch iterations and signals.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::run_outputs::RunOutputs;
use super::shared_fields::SharedFields;
use super::shared_text::SharedText;

/// ISO 8601 UTC timestamp in the original's shape (`2026-01-23T10:15:30.123456+00:00`).
pub fn now_iso() -> String {
    iso(chrono::Utc::now())
}

/// Format a UTC time like [`now_iso`].
pub fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// `.trident/runs/manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunIndex {
    #[serde(default = "index_version")]
    pub version: String,
    #[serde(default)]
    pub runs: Vec<RunEntry>,
}

fn index_version() -> String {
    "1".into()
}

impl Default for RunIndex {
    fn default() -> Self {
        RunIndex {
            version: index_version(),
            runs: Vec::new(),
        }
    }
}

/// One run in the run index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunEntry {
    pub run_id: String,
    pub project_name: String,
    pub entrypoint: Option<String>,
    /// running | completed | failed | interrupted
    pub status: String,
    pub started_at: String,
    #[serde(default)]
    pub ended_at: Option<String>,
    #[serde(default)]
    pub success: Option<bool>,
    #[serde(default)]
    pub error_summary: Option<String>,
    /// How many times the run was started: 1, then one more per `--resume` (an extra field
    /// the original's dashboard ignores).
    #[serde(default = "first_attempt")]
    pub attempts: u64,
}

fn first_attempt() -> u64 {
    1
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `runs/<run_id>/metadata.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunMetadata {
    pub run_id: String,
    pub project_name: String,
    pub project_root: String,
    pub entrypoint: Option<String>,
    #[serde(with = "super::shared_fields")]
    pub inputs: SharedFields,
    /// When the first attempt started (a resume keeps it).
    pub started_at: String,
    pub ended_at: Option<String>,
    pub trident_version: String,
    /// Attempts so far (1 + resumes).
    #[serde(default = "first_attempt")]
    pub attempts: u64,
    /// The process running the current attempt, and its host: `project watch` tells a run
    /// whose process died without a final event from one still going. Absent in older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A completed node in a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointNode {
    #[serde(with = "super::shared_fields")]
    pub outputs: SharedFields,
    pub completed_at: String,
    /// When the node started (absent in checkpoints of older runtimes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub cost_usd: Option<f64>,
    #[serde(default)]
    pub num_turns: u64,
}

/// `runs/<run_id>/checkpoint.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    pub run_id: String,
    pub project_name: String,
    pub started_at: String,
    pub updated_at: String,
    /// running | interrupted | completed | failed
    pub status: String,
    #[serde(default)]
    pub completed_nodes: IndexMap<String, CheckpointNode>,
    #[serde(default)]
    pub pending_nodes: Vec<String>,
    #[serde(default)]
    pub total_cost_usd: f64,
    #[serde(default, with = "super::shared_fields")]
    pub inputs: SharedFields,
    #[serde(default)]
    pub entrypoint: Option<String>,
    #[serde(default)]
    pub branch_states: IndexMap<String, u64>,
    /// Agent nodes that failed after their Claude session started (max turns, an error
    /// result): their session, cost and turns, so `--resume` continues the session. Not in
    /// the original's checkpoints; absent when empty.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub failed_nodes: IndexMap<String, CheckpointNode>,
    /// Whether the run is a `--dry-run` (mocked model and agent calls); `None` in
    /// checkpoints of older runtimes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// Attempts so far (1 + resumes).
    #[serde(default = "first_attempt")]
    pub attempts: u64,
    /// What the run started from (inputs and project files), to refuse or warn on a resume
    /// that would mix two different runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<RunFingerprint>,
}

/// A checkpoint's record of what its run started from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunFingerprint {
    /// A hash of the run's inputs (the inputs themselves are in the checkpoint).
    pub inputs: String,
    /// Hashes of the manifest, prompt files and tool modules, per node.
    pub project: ProjectFingerprint,
}

/// Hashes of a project's files: the manifest as a whole, and per node what defines it (its
/// definition, incoming edges, prompt file, tool module).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectFingerprint {
    pub manifest: String,
    pub nodes: IndexMap<String, String>,
}

impl ProjectFingerprint {
    /// Nodes whose hash differs between `self` (then) and `now`, added or removed, in
    /// `now`'s order then the removed ones.
    pub fn changed_nodes(&self, now: &ProjectFingerprint) -> Vec<String> {
        let mut changed: Vec<String> = now
            .nodes
            .iter()
            .filter(|(id, hash)| self.nodes.get(*id) != Some(*hash))
            .map(|(id, _)| id.clone())
            .collect();
        changed.extend(
            self.nodes
                .keys()
                .filter(|id| !now.nodes.contains_key(*id))
                .cloned(),
        );
        changed
    }
}

/// Token counts of a node (`{"input": n, "output": m}`, empty when not applicable; prompt
/// nodes add [`CACHE_READ_TOKENS`] and [`CACHE_WRITE_TOKENS`] when the API reported some).
pub type Tokens = IndexMap<String, u64>;

/// The `tokens` key of input tokens read from the prompt cache.
pub const CACHE_READ_TOKENS: &str = "cache_read_input_tokens";
/// The `tokens` key of input tokens written to the prompt cache.
pub const CACHE_WRITE_TOKENS: &str = "cache_creation_input_tokens";

/// One node in `trace.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeTrace {
    pub id: String,
    pub start_time: String,
    pub end_time: Option<String>,
    #[serde(with = "super::shared_fields")]
    pub input: SharedFields,
    #[serde(with = "super::shared_fields")]
    pub output: SharedFields,
    pub model: Option<String>,
    pub tokens: Tokens,
    pub skipped: bool,
    pub error: Option<String>,
    pub error_type: Option<String>,
    pub cost_usd: Option<f64>,
    pub session_id: Option<String>,
    pub num_turns: u64,
    /// Restored from the checkpoint by a resume (original times kept); absent otherwise.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cached: bool,
    /// A prompt node's rendered prompt (absent for other nodes).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::shared_text"
    )]
    pub prompt: Option<SharedText>,
    /// Agent nodes: the tool calls the Claude CLI refused (`tool_name`, `tool_input`,
    /// `reason`). Absent when there were none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permission_denials: Vec<Value>,
    /// Prompt nodes: the model that answered and why it stopped, as the provider said
    /// (reported in `node_completed`; not written to trace.json).
    #[serde(skip)]
    pub response_model: Option<String>,
    /// See [`response_model`](NodeTrace::response_model).
    #[serde(skip)]
    pub finish_reason: Option<String>,
}

impl NodeTrace {
    /// A trace entry starting now.
    pub fn start(id: &str) -> NodeTrace {
        NodeTrace {
            id: id.to_string(),
            start_time: now_iso(),
            end_time: None,
            input: SharedFields::default(),
            output: SharedFields::default(),
            model: None,
            tokens: Tokens::new(),
            skipped: false,
            error: None,
            error_type: None,
            cost_usd: None,
            session_id: None,
            num_turns: 0,
            cached: false,
            prompt: None,
            permission_denials: Vec::new(),
            response_model: None,
            finish_reason: None,
        }
    }

    /// Input tokens (0 when none were reported).
    pub fn input_tokens(&self) -> u64 {
        self.tokens.get("input").copied().unwrap_or(0)
    }

    /// Output tokens (0 when none were reported).
    pub fn output_tokens(&self) -> u64 {
        self.tokens.get("output").copied().unwrap_or(0)
    }

    /// Executed in this attempt without error and not skipped (cached nodes are not).
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && !self.skipped && !self.cached
    }
}

/// `runs/<run_id>/trace.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trace {
    pub run_id: String,
    pub start_time: String,
    pub end_time: Option<String>,
    pub error: Option<String>,
    pub nodes: Vec<NodeTrace>,
}

/// `runs/<run_id>/branches/<branch>/iteration_<n>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BranchIteration {
    pub branch_id: String,
    pub iteration: u64,
    #[serde(with = "super::shared_fields")]
    pub inputs: SharedFields,
    /// The sub-workflow's outputs, pointing at its output nodes' maps.
    pub outputs: RunOutputs,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub success: bool,
    pub error: Option<String>,
}

/// `.trident/signals/<workflow>.<type>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Signal {
    pub signal_type: String,
    pub run_id: String,
    pub timestamp: String,
    pub workflow: String,
    #[serde(default)]
    pub outputs_path: Option<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}
