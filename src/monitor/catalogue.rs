//! The runs of the served projects, read from their artifacts at each request (so runs
//! started by any process appear): the run index, else the run folders, each run summed
//! up from its `events.jsonl` (else trace.json / checkpoint) by `analysis::show_run`.
//! Summaries are cached per run and recomputed only when one of its files changed (size or
//! modification time), so polling the list costs a few `stat`s per run.
//!
//! Run ids from URLs are checked here: a safe charset first, then they must be a run of a
//! served project; anything else is "not found".

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use serde::Serialize;

use super::settings::ServedProject;
use crate::analysis::{ProjectShape, RunReport, ShownRun, show_run};
use crate::artifacts::watched::WatchedReadError;
use crate::artifacts::{RunIndex, RunIndexFile, read_watched_json};

/// Node counts of a run, as the API names them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NodeTotals {
    pub succeeded: u64,
    pub failed: u64,
    pub skipped: u64,
    pub cached: u64,
}

/// One run in `GET /api/runs`.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    /// The project's root, absolute.
    pub project: String,
    pub name: Option<String>,
    /// As in the run index: `running`, `completed`, `failed`, `interrupted`.
    pub status: &'static str,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub attempts: u64,
    pub duration_ms: Option<u64>,
    pub nodes: NodeTotals,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    /// The run's error, redacted (failed runs).
    pub error: Option<String>,
    /// Problems met reading the run's files (corrupt lines skipped...).
    pub warnings: Vec<String>,
}

impl RunSummary {
    /// The summary of a shown run of `project`.
    pub fn of(project: &ServedProject, shown: &ShownRun) -> RunSummary {
        let r: &RunReport = &shown.report;
        RunSummary {
            run_id: r.run_id.clone(),
            project: project.root_text(),
            name: r.name.clone(),
            status: r.status.as_str(),
            started_at: r.started_at.clone(),
            ended_at: r.ended_at.clone(),
            attempts: r.attempts.max(1),
            duration_ms: r.duration_ms,
            nodes: NodeTotals {
                succeeded: r.counts.completed,
                failed: r.counts.failed,
                skipped: r.counts.skipped,
                cached: r.counts.cached,
            },
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            cost_usd: r.cost_usd,
            error: r
                .error
                .as_deref()
                .map(|e| project.redactor.text(e).into_owned()),
            warnings: line_warnings(shown),
        }
    }
}

/// The lines of a run's events.jsonl that were skipped, as warnings.
pub fn line_warnings(shown: &ShownRun) -> Vec<String> {
    shown
        .skipped_lines
        .iter()
        .map(|l| {
            let file = Path::new(&l.file)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| l.file.clone());
            format!("{file} line {}: {}; skipped", l.line, l.problem)
        })
        .collect()
}

/// `GET /api/runs`: newest first, plus what could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct RunList {
    pub runs: Vec<RunSummary>,
    pub warnings: Vec<String>,
}

/// Where a run lives: its project (an index into the served projects) and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunRef {
    pub project: usize,
    pub run_id: String,
}

/// Size and modification time of each file of the run a summary is read from, and the
/// run's entry in the run index (as JSON): the summary is read again when one changed.
type Fingerprint = (Vec<(u64, u128)>, Option<String>);

/// A project's runs as the run index and the runs folder list them.
#[derive(Debug, Default)]
pub struct ProjectRuns {
    /// Index order, then folders missing from the index.
    pub ids: Vec<String>,
    /// The index entry of each indexed run, as JSON.
    pub entries: HashMap<String, String>,
    /// Set when the index cannot be read.
    pub warning: Option<String>,
}

/// The served projects' runs.
#[derive(Debug)]
pub struct Catalogue {
    projects: Vec<ServedProject>,
    cache: Mutex<HashMap<RunRef, (Fingerprint, Arc<RunSummary>)>>,
}

/// Whether `id` may name a run folder: 1 to 128 letters, digits, `-`, `_` or `.`, not
/// starting with a dot (no `..`, no `/`, no hidden folders).
pub fn valid_run_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn file_states(base: &Path, run_id: &str) -> Vec<(u64, u128)> {
    let run_dir = base.join("runs").join(run_id);
    let files = [
        run_dir.join("events.jsonl"),
        run_dir.join("checkpoint.json"),
        run_dir.join("checkpoint.journal"),
        run_dir.join("trace.json"),
        run_dir.join("metadata.json"),
    ];
    files
        .iter()
        .map(|f| match std::fs::metadata(f) {
            Ok(m) => (
                m.len(),
                m.modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos()),
            ),
            Err(_) => (u64::MAX, 0),
        })
        .collect()
}

impl Catalogue {
    /// The catalogue of these projects.
    pub fn new(projects: Vec<ServedProject>) -> Catalogue {
        Catalogue {
            projects,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The served projects.
    pub fn projects(&self) -> &[ServedProject] {
        &self.projects
    }

    /// A project's runs: ids (index order, then folders missing from the index), index
    /// entries, and a warning when its run index cannot be read.
    pub fn runs_of(&self, project: usize) -> ProjectRuns {
        let served = &self.projects[project];
        let index = RunIndexFile::new(&served.base_dir);
        // A torn index is read from its recovery copy; only one that cannot be read at all
        // is reported.
        let (entries, warning) = match read_watched_json::<RunIndex>(index.path()) {
            Ok(read) => (read.runs, None),
            Err(WatchedReadError::Invalid(e)) => (
                Vec::new(),
                Some(format!(
                    "{}: not a valid run index ({e}); runs are listed from their folders",
                    index.path().display()
                )),
            ),
            Err(WatchedReadError::Missing(_)) => (Vec::new(), None),
        };
        let mut ids = index.known_ids();
        ids.retain(|id| valid_run_id(id));
        ProjectRuns {
            ids,
            entries: entries
                .iter()
                .map(|e| {
                    (
                        e.run_id.clone(),
                        serde_json::to_string(e).unwrap_or_default(),
                    )
                })
                .collect(),
            warning,
        }
    }

    /// Every run of every served project, newest first.
    pub fn list(&self) -> RunList {
        let mut runs = Vec::new();
        let mut warnings = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for project in 0..self.projects.len() {
            let found = self.runs_of(project);
            warnings.extend(found.warning);
            for run_id in found.ids {
                let entry = found.entries.get(&run_id).cloned();
                let run = RunRef { project, run_id };
                seen.insert(run.clone());
                if let Some(summary) = self.summary(&run, entry) {
                    runs.push(summary);
                }
            }
        }
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|run, _| seen.contains(run));
        }
        runs.sort_by(|a, b| {
            b.started_at
                .cmp(&a.started_at)
                .then_with(|| b.run_id.cmp(&a.run_id))
        });
        RunList {
            runs: runs.iter().map(|s| (**s).clone()).collect(),
            warnings,
        }
    }

    /// The summary of one run (cached until its files or its index entry change); `None`
    /// when its folder is gone.
    pub fn summary(&self, run: &RunRef, index_entry: Option<String>) -> Option<Arc<RunSummary>> {
        let project = &self.projects[run.project];
        let print = (file_states(&project.base_dir, &run.run_id), index_entry);
        if let Ok(cache) = self.cache.lock()
            && let Some((known, summary)) = cache.get(run)
            && *known == print
        {
            return Some(Arc::clone(summary));
        }
        if !project.base_dir.join("runs").join(&run.run_id).is_dir() {
            return None;
        }
        let shown = show_run(&project.base_dir, &run.run_id, None);
        let summary = Arc::new(RunSummary::of(project, &shown));
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(run.clone(), (print, Arc::clone(&summary)));
        }
        Some(summary)
    }

    /// The run named by `run_id` (an exact id) in a served project; `None` for an id that
    /// is malformed or names no run.
    pub fn find(&self, run_id: &str) -> Option<RunRef> {
        if !valid_run_id(run_id) {
            return None;
        }
        (0..self.projects.len()).find_map(|project| {
            let served = &self.projects[project];
            let known = served.base_dir.join("runs").join(run_id).is_dir()
                || self.runs_of(project).ids.iter().any(|id| id == run_id);
            known.then(|| RunRef {
                project,
                run_id: run_id.to_string(),
            })
        })
    }

    /// The full report of a run (with the project's shape when it loads).
    pub fn report(&self, run: &RunRef, shape: Option<&ProjectShape>) -> ShownRun {
        show_run(&self.projects[run.project].base_dir, &run.run_id, shape)
    }

    /// The project a run belongs to.
    pub fn project(&self, run: &RunRef) -> &ServedProject {
        &self.projects[run.project]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_checked_before_any_path_is_built() {
        for good in ["0194ab12-3c4d", "run_1", "a.b"] {
            assert!(valid_run_id(good), "{good}");
        }
        for bad in [
            "",
            "..",
            ".hidden",
            "../etc",
            "a/b",
            "a\\b",
            "a b",
            "é",
            &"x".repeat(129),
        ] {
            assert!(!valid_run_id(bad), "{bad}");
        }
    }
}
