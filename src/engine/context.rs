//! What a run needs to know while its nodes execute: the project and its DAG, the options,
//! its telemetry handle, its artifact store and checkpoint, and the process-wide runtime
//! (console, interruption, schedule, provider clients).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::console::Console;
use super::interrupt::InterruptHook;
use super::schedule::Schedule;
use super::spend::Spend;
use crate::artifacts::{CheckpointStore, RunStore, SharedFields};
use crate::dag::Dag;
use crate::project::Project;
use crate::providers::ProviderClients;
use crate::telemetry::{RunTelemetry, Telemetry};

/// How to run a workflow (the `trident project run` flags, resolved).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub entrypoint: Option<String>,
    /// The run's inputs, shared with its records (never copied per node).
    pub inputs: SharedFields,
    pub dry_run: bool,
    /// Artifact folder; `None` = `--no-artifacts`.
    pub artifact_dir: Option<PathBuf>,
    pub run_id: Option<String>,
    /// A run id or a checkpoint path.
    pub resume_from: Option<String>,
    pub start_from: Option<String>,
    pub emit_signals: bool,
    pub publish_to: Option<String>,
    /// `--max-cost`: no node starts once the run's spend reaches this many USD (a
    /// sub-workflow gets its parent's, checked against the outermost run's spend).
    pub max_cost: Option<f64>,
    /// A sub-workflow's spend account, nested in its parent run's (set by branch and
    /// trigger nodes, which read it back); `None` for a top-level run.
    pub spend: Option<Arc<Spend>>,
    /// How many in-process sub-workflow runs enclose this one (0: a top-level run); bounded
    /// by [`crate::project::recursion::MAX_WORKFLOW_DEPTH`].
    pub depth: usize,
    /// The python tools' docstrings by tool id, read by the pre-flight's static
    /// introspection: a tool node's description when its `tools:` entry has no
    /// `description:` (empty for sub-workflows, whose tools are not introspected).
    pub tool_docstrings: Arc<HashMap<String, String>>,
}

impl RunOptions {
    /// The depth of a sub-workflow started by this run, or the error of the node that
    /// would start it when that is deeper than the bound.
    pub fn nested_depth(&self, node_id: &str) -> Result<usize, String> {
        let max = crate::project::recursion::MAX_WORKFLOW_DEPTH;
        if self.depth >= max {
            return Err(format!(
                "Node '{node_id}' would start a sub-workflow nested {} levels deep (at most \
                 {max}): a workflow that runs itself through branch or trigger nodes did not \
                 stop. Make the `condition:` that should end the recursion false in time.",
                self.depth + 1
            ));
        }
        Ok(self.depth + 1)
    }
}

/// Process-wide state shared by a run and its sub-workflows.
#[derive(Clone, Default)]
pub struct Runtime {
    pub console: Console,
    /// Set on Ctrl-C / SIGTERM: no new node starts.
    pub interrupted: Arc<AtomicBool>,
    /// Installed by the top-level run; called by the signal handler.
    pub interrupt_hook: InterruptHook,
    /// Most nodes of one run (or sub-workflow run) running at once.
    pub max_parallel: usize,
    /// Runs tool nodes; owns the python workers shared by the run and its sub-workflows.
    pub tools: crate::tools::ToolRunner,
    /// When a node may start.
    pub schedule: Schedule,
    /// One provider client (and connection pool) per provider endpoint, shared by every
    /// prompt node of the run and its sub-workflows.
    pub providers: ProviderClients,
    /// The project's `.env` values the process environment lacks: added to the
    /// environment of fire-and-forget triggered runs (tools get them from `tools`).
    pub env_overlay: Arc<Vec<(String, String)>>,
    /// The environment of agent CLIs (the process's over the `.env` values), read once
    /// before the run (empty by default).
    pub agent_env: Arc<crate::agent::AgentEnv>,
    /// `TRIDENT_MAX_OUTPUT_SIZE`: the longest agent CLI line read (tools get it from `tools`).
    pub output_limit: crate::output_limit::OutputLimit,
    /// This process's place in a chain of fire-and-forget triggered runs (the same for its
    /// sub-workflows: they run in this process), and the chain's limit.
    pub trigger_depth: crate::trigger_depth::TriggerDepth,
    /// `TMPDIR`, else `/tmp`: where trident's own temporary files go (tools get it from
    /// `tools`).
    pub temp_folder: crate::temp_folder::TempFolder,
}

impl Runtime {
    /// Whether an interruption was requested.
    pub fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}

/// Where a run's telemetry handle comes from.
pub enum TelemetryScope<'a> {
    /// A top-level run.
    Root(&'a Telemetry),
    /// A sub-workflow started by `node_id` of the parent run.
    Child {
        parent: &'a RunTelemetry,
        node_id: &'a str,
    },
}

impl TelemetryScope<'_> {
    /// The handle for run `run_id`.
    pub fn handle(&self, run_id: &str) -> RunTelemetry {
        match self {
            TelemetryScope::Root(t) => t.for_run(run_id),
            TelemetryScope::Child { parent, node_id } => parent.child(run_id, node_id),
        }
    }

    /// Whether this is a top-level run.
    pub fn is_root(&self) -> bool {
        matches!(self, TelemetryScope::Root(_))
    }
}

/// The state of one running workflow, shared by its concurrently running nodes.
pub struct RunContext<'a> {
    pub project: &'a Project,
    pub dag: &'a Dag,
    pub opts: &'a RunOptions,
    pub runtime: &'a Runtime,
    pub run_id: String,
    pub tel: RunTelemetry,
    pub store: Option<RunStore>,
    pub checkpoint: Arc<Mutex<CheckpointStore>>,
    /// Session ids of agents completed in the run being resumed.
    pub resume_sessions: HashMap<String, String>,
    /// The run's spend so far (prompt and agent nodes, earlier attempts and sub-workflows
    /// included).
    pub spend: Arc<Spend>,
    /// Models already reported as `price_unknown` in this run.
    pub unpriced_models: Mutex<HashSet<String>>,
}
