//! Durable checkpoints: `checkpoint.json` in the original's shape, plus an append-only
//! journal beside it (`checkpoint.journal`, one JSON line per completed node or branch
//! iteration) so every completed node is on disk at once without rewriting the whole file.
//!
//! The journal is folded into `checkpoint.json` (rewritten in place after its recovery copy,
//! see [`super::watched`], so file watchers see every fold; then the journal is truncated)
//! within [`FOLD_INTERVAL`] of a change (the engine's checkpoint folder thread), when a
//! node fails, on interruption and at the end of the run. Readers that only know
//! `checkpoint.json` see the state at most that old; `--resume` reads both, so a crash or
//! Ctrl-C loses nothing already done. Replaying a journal line twice is harmless (it is an
//! upsert).

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::records::{Checkpoint, CheckpointNode, now_iso};
use super::watched::{read_watched_json, write_watched_json};

/// The buffer a journal line is written through (most lines fit: one `write` each).
const JOURNAL_BUFFER: usize = 64 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum JournalLine {
    Node {
        node: String,
        data: CheckpointNode,
    },
    Branch {
        branch: String,
        iteration: u64,
    },
    Failed {
        failed: String,
        data: CheckpointNode,
    },
}

/// The checkpoint of a running workflow, in memory and (when artifacts are on) on disk.
#[derive(Debug)]
pub struct CheckpointStore {
    state: Checkpoint,
    json_path: Option<PathBuf>,
    journal: Option<File>,
    /// Something was recorded since the last fold.
    dirty: bool,
    /// The ids of `state.pending_nodes` not completed yet (kept in step per node).
    pending: HashSet<String>,
    /// `json_path` as text (reported in `checkpoint_saved`, absolute like every path of the
    /// events), computed once.
    path_text: String,
}

/// How stale `checkpoint.json` may get while a run goes on. Folding after every node or
/// level would rewrite a growing file a thousand times in a thousand-node chain
/// (quadratic); the journal already makes every node durable, so a fold only refreshes what
/// plain readers (the dashboard) see.
pub const FOLD_INTERVAL: Duration = Duration::from_millis(200);

fn journal_path(json_path: &Path) -> PathBuf {
    json_path.with_file_name("checkpoint.journal")
}

impl CheckpointStore {
    /// A checkpoint kept in memory only (`--no-artifacts`).
    pub fn in_memory(state: Checkpoint) -> CheckpointStore {
        CheckpointStore {
            pending: pending_set(&state),
            state,
            json_path: None,
            journal: None,
            dirty: false,
            path_text: String::new(),
        }
    }

    /// Start persisting `state` at `json_path` (written now; any old journal is replaced).
    pub fn create(state: Checkpoint, json_path: &Path) -> std::io::Result<CheckpointStore> {
        let mut store = CheckpointStore {
            pending: pending_set(&state),
            state,
            json_path: Some(json_path.to_path_buf()),
            journal: None,
            dirty: false,
            path_text: json_path.display().to_string(),
        };
        store.fold()?;
        Ok(store)
    }

    /// Read a checkpoint (from its recovery copy when a crash tore it) and replay its
    /// journal.
    pub fn load(json_path: &Path) -> Result<Checkpoint, String> {
        use super::watched::WatchedReadError;
        let mut state: Checkpoint = read_watched_json(json_path).map_err(|e| match e {
            WatchedReadError::Missing(e) => format!("cannot read {}: {e}", json_path.display()),
            WatchedReadError::Invalid(e) => {
                format!("{} is not a valid checkpoint: {e}", json_path.display())
            }
        })?;
        if let Ok(text) = std::fs::read_to_string(journal_path(json_path)) {
            for line in text.lines() {
                // A torn last line (crash mid-write) is ignored.
                match serde_json::from_str::<JournalLine>(line) {
                    Ok(JournalLine::Node { node, data }) => {
                        apply_node(&mut state, node, data);
                    }
                    Ok(JournalLine::Branch { branch, iteration }) => {
                        state.branch_states.insert(branch, iteration);
                    }
                    Ok(JournalLine::Failed { failed, data }) => {
                        apply_failed(&mut state, failed, data);
                    }
                    Err(_) => {}
                }
            }
        }
        settle(&mut state);
        Ok(state)
    }

    /// The current state (`pending_nodes` as of the last fold; see [`Self::pending_count`]).
    pub fn state(&self) -> &Checkpoint {
        &self.state
    }

    /// How many nodes of `pending_nodes` are not completed yet.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Mutable access to the state (status, pending nodes...); call [`Self::fold`] to persist.
    pub fn state_mut(&mut self) -> &mut Checkpoint {
        &mut self.state
    }

    /// Where `checkpoint.json` lives, as text (empty in memory).
    pub fn path_text(&self) -> &str {
        &self.path_text
    }

    /// Where `checkpoint.json` lives, if persisted.
    pub fn path(&self) -> Option<&Path> {
        self.json_path.as_deref()
    }

    fn append(&mut self, line: &JournalLine) -> std::io::Result<()> {
        self.dirty = true;
        let Some(json_path) = &self.json_path else {
            return Ok(());
        };
        if self.journal.is_none() {
            self.journal = Some(
                File::options()
                    .create(true)
                    .append(true)
                    .open(journal_path(json_path))?,
            );
        }
        let Some(journal) = &self.journal else {
            return Ok(());
        };
        // Streamed (a node's output can be as big as the run's inputs): a line is written
        // in one call when it fits the buffer; a crash in the middle of a longer one leaves
        // a torn last line, which loading ignores.
        let mut out = std::io::BufWriter::with_capacity(JOURNAL_BUFFER, journal);
        serde_json::to_writer(&mut out, line)?;
        out.write_all(b"\n")?;
        out.flush()
    }

    /// Record a completed node (journal append: durable at once).
    pub fn record_node(&mut self, id: &str, data: CheckpointNode) -> std::io::Result<()> {
        let line = JournalLine::Node {
            node: id.to_string(),
            data,
        };
        let result = self.append(&line);
        self.pending.remove(id);
        if let JournalLine::Node { node, data } = line {
            apply_node(&mut self.state, node, data);
        }
        result
    }

    /// Record an agent node that failed with a session (its cost counts in
    /// `total_cost_usd`; `--resume` continues its session).
    pub fn record_failed(&mut self, id: &str, data: CheckpointNode) -> std::io::Result<()> {
        let line = JournalLine::Failed {
            failed: id.to_string(),
            data,
        };
        let result = self.append(&line);
        if let JournalLine::Failed { failed, data } = line {
            apply_failed(&mut self.state, failed, data);
        }
        result
    }

    /// Record the last completed iteration of a branch.
    pub fn record_branch(&mut self, id: &str, iteration: u64) -> std::io::Result<()> {
        self.state.branch_states.insert(id.to_string(), iteration);
        self.state.updated_at = now_iso();
        self.append(&JournalLine::Branch {
            branch: id.to_string(),
            iteration,
        })
    }

    /// [`fold`](Self::fold) if anything was recorded since the last fold. Returns the
    /// bytes written (0 when there was nothing to fold).
    pub fn fold_if_dirty(&mut self) -> std::io::Result<u64> {
        if !self.dirty {
            return Ok(0);
        }
        self.fold()
    }

    /// Write `checkpoint.json` (in place, after its recovery copy) with everything recorded, then empty the
    /// journal. Returns the bytes written (0 in memory).
    pub fn fold(&mut self) -> std::io::Result<u64> {
        self.dirty = false;
        settle(&mut self.state);
        let Some(json_path) = self.json_path.clone() else {
            return Ok(0);
        };
        let written = write_watched_json(&json_path, &self.state)?;
        self.journal = None;
        File::create(journal_path(&json_path))?;
        Ok(written)
    }
}

/// Record a completed node. `pending_nodes` and `updated_at` are brought up to date when
/// the state is read or folded (`settle`), not per node: that keeps recording O(1).
impl CheckpointStore {
    /// The final fold of a finished run: `checkpoint.json` holds everything, so the journal
    /// file is removed. Returns the bytes written.
    pub fn finish(&mut self) -> std::io::Result<u64> {
        let written = self.fold()?;
        if let Some(json_path) = &self.json_path {
            let _ = std::fs::remove_file(journal_path(json_path));
        }
        Ok(written)
    }
}

fn apply_node(state: &mut Checkpoint, id: String, data: CheckpointNode) {
    if let Some(cost) = data.cost_usd {
        state.total_cost_usd += cost;
    }
    state.failed_nodes.shift_remove(&id);
    state.completed_nodes.insert(id, data);
}

fn apply_failed(state: &mut Checkpoint, id: String, data: CheckpointNode) {
    if let Some(cost) = data.cost_usd {
        state.total_cost_usd += cost;
    }
    state.failed_nodes.insert(id, data);
}

fn pending_set(state: &Checkpoint) -> HashSet<String> {
    state
        .pending_nodes
        .iter()
        .filter(|p| !state.completed_nodes.contains_key(*p))
        .cloned()
        .collect()
}

/// Drop completed nodes from `pending_nodes` (all of them once the run completed: the nodes
/// it skipped are not still to run, and the original wrote `[]` then) and stamp `updated_at`.
fn settle(state: &mut Checkpoint) {
    if state.status == "completed" {
        state.pending_nodes.clear();
    } else {
        let completed = &state.completed_nodes;
        state.pending_nodes.retain(|p| !completed.contains_key(p));
    }
    state.updated_at = now_iso();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            run_id: "r".into(),
            project_name: "p".into(),
            started_at: now_iso(),
            updated_at: now_iso(),
            status: "running".into(),
            completed_nodes: Default::default(),
            pending_nodes: vec!["a".into(), "b".into()],
            total_cost_usd: 0.0,
            inputs: Default::default(),
            entrypoint: Some("input".into()),
            branch_states: Default::default(),
            dry_run: Some(false),
            attempts: 1,
            fingerprint: None,
            failed_nodes: Default::default(),
        }
    }

    #[test]
    fn failed_agents_keep_session_and_cost_through_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.json");
        let mut store = CheckpointStore::create(checkpoint(), &path).unwrap();
        store.record_node("a", node(Some(0.5))).unwrap();
        let mut failed = node(Some(0.25));
        failed.session_id = Some("sess-1".into());
        failed.num_turns = 3;
        store.record_failed("b", failed).unwrap();
        let loaded = CheckpointStore::load(&path).unwrap();
        assert_eq!(loaded.total_cost_usd, 0.75);
        assert_eq!(
            loaded.failed_nodes["b"].session_id.as_deref(),
            Some("sess-1")
        );
        assert_eq!(loaded.failed_nodes["b"].num_turns, 3);
        assert!(!loaded.completed_nodes.contains_key("b"));
        assert_eq!(loaded.pending_nodes, ["b"], "a failed node is still to run");
        // Completing it later drops it from failed_nodes.
        store.record_node("b", node(Some(0.1))).unwrap();
        assert!(store.state().failed_nodes.is_empty());
    }

    #[test]
    fn a_completed_run_has_no_pending_nodes() {
        // "b" was skipped (never recorded); once the run completed it is not still to run.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.json");
        let mut store = CheckpointStore::create(checkpoint(), &path).unwrap();
        store.record_node("a", node(None)).unwrap();
        store.state_mut().status = "completed".into();
        store.finish().unwrap();
        let loaded = CheckpointStore::load(&path).unwrap();
        assert!(
            loaded.pending_nodes.is_empty(),
            "{:?}",
            loaded.pending_nodes
        );
        // A failed run keeps what is still to run, for --resume.
        let mut store = CheckpointStore::create(checkpoint(), &path).unwrap();
        store.record_node("a", node(None)).unwrap();
        store.state_mut().status = "failed".into();
        store.finish().unwrap();
        assert_eq!(CheckpointStore::load(&path).unwrap().pending_nodes, ["b"]);
    }

    fn node(cost: Option<f64>) -> CheckpointNode {
        CheckpointNode {
            outputs: Default::default(),
            completed_at: now_iso(),
            started_at: None,
            session_id: None,
            cost_usd: cost,
            num_turns: 0,
        }
    }

    #[test]
    fn journal_survives_without_fold_and_fold_empties_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.json");
        let mut store = CheckpointStore::create(checkpoint(), &path).unwrap();
        store.record_node("a", node(Some(0.5))).unwrap();
        store.record_branch("loop", 2).unwrap();
        // Crash here: checkpoint.json is stale, the journal has the rest.
        let loaded = CheckpointStore::load(&path).unwrap();
        assert!(loaded.completed_nodes.contains_key("a"));
        assert_eq!(loaded.pending_nodes, vec!["b".to_string()]);
        assert_eq!(loaded.total_cost_usd, 0.5);
        assert_eq!(loaded.branch_states["loop"], 2);
        store.fold().unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("checkpoint.journal")).unwrap(),
            ""
        );
        let loaded = CheckpointStore::load(&path).unwrap();
        assert_eq!(loaded.total_cost_usd, 0.5);
    }

    #[test]
    fn torn_journal_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.json");
        let mut store = CheckpointStore::create(checkpoint(), &path).unwrap();
        store.record_node("a", node(None)).unwrap();
        let mut f = File::options()
            .append(true)
            .open(dir.path().join("checkpoint.journal"))
            .unwrap();
        f.write_all(b"{\"node\":\"b\",\"da").unwrap();
        let loaded = CheckpointStore::load(&path).unwrap();
        assert_eq!(loaded.completed_nodes.len(), 1);
    }

    #[test]
    fn a_torn_checkpoint_is_recovered_from_its_copy_and_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.json");
        let mut store = CheckpointStore::create(checkpoint(), &path).unwrap();
        store.record_node("a", node(Some(0.5))).unwrap();
        store.fold().unwrap();
        store.record_node("b", node(Some(0.25))).unwrap();
        // kill -9 while a fold rewrote checkpoint.json: torn, garbage or emptied.
        for torn in [&b"{\n  \"run_id\": \"r\",\n  \"proj"[..], b"\0\0\0", b""] {
            std::fs::write(&path, torn).unwrap();
            let loaded = CheckpointStore::load(&path).unwrap();
            assert_eq!(
                loaded.completed_nodes.keys().collect::<Vec<_>>(),
                ["a", "b"]
            );
            assert_eq!(loaded.total_cost_usd, 0.75);
        }
    }
}
