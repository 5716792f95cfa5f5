//! [`PythonPool`]: the python workers of one trident invocation, shared by its runs and
//! sub-workflows. Workers start lazily and go back to the pool after each call; the last one
//! returned is the first one reused, so a chain of tools keeps hitting one warm worker.
//!
//! The pool grows up to the number of python tools running at once (a level's concurrency),
//! but only when waiting would cost more than starting: a call that finds no idle worker while
//! others are busy waits for one to come back, up to the time a worker takes to boot (measured
//! on the first workers: interpreter start and first import), and only then starts a new one;
//! at most one worker per core starts at a time. A level of quick tools is thus served by a
//! few warm workers instead of booting one interpreter per node, while slow (I/O-bound) tools
//! still end up with one worker each, a boot time later.
//!
//! Module state survives between the calls one worker serves. Concurrent calls land on
//! different workers, each with its own copy of the module's state.
//!
//! The interpreter is resolved once per project folder: `TRIDENT_PYTHON` when given, else the
//! real executable behind `python3` on `PATH` (see `tools/interpreter.rs`: a version
//! manager's shim is resolved once, without paying its start-up on every worker).
//!
//! Dropping the pool (or [`PythonPool::shutdown`]) stops every idle worker and all it started.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::interpreter::InterpreterSearch;
use super::python_worker::PythonWorker;
use super::tool_env::ToolEnv;

/// Which workers can serve a project: its interpreter and its folder.
type PoolKey = (OsString, PathBuf);

/// Idle workers by interpreter, and resolved interpreters by project folder.
#[derive(Debug, Default)]
pub struct PythonPool {
    /// `TRIDENT_PYTHON`, when set.
    explicit: Option<OsString>,
    /// How `python3` is found otherwise.
    search: InterpreterSearch,
    /// Variables every worker starts with (the run's `.env` overlay).
    base_env: ToolEnv,
    /// One slot per project folder, filled once (concurrent askers wait for the first).
    interpreters: Mutex<HashMap<PathBuf, Arc<OnceLock<OsString>>>>,
    workers: Mutex<Workers>,
    /// Signalled when a worker comes back or a start slot frees up.
    changed: Condvar,
    /// Most workers starting at once (the number of cores).
    max_starting: usize,
}

#[derive(Debug, Default)]
struct Workers {
    idle: HashMap<PoolKey, Vec<PythonWorker>>,
    starting: usize,
    /// Checked out and not back yet.
    busy: usize,
    /// Average boot time of the workers so far (`None` before the first one).
    boot_time: Option<Duration>,
}

/// Assumed boot time before one was measured: generous, so a busy machine where the first
/// interpreter is slow to boot does not start a crowd of them at once.
const FIRST_BOOT_GUESS: Duration = Duration::from_secs(1);

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Only inserts, removals and counts run under these locks; a poisoned map is still valid.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl PythonPool {
    /// A pool running `explicit` (`TRIDENT_PYTHON`) when given, else the interpreter behind
    /// `python3`.
    pub fn new(explicit: Option<OsString>) -> PythonPool {
        PythonPool::with_env(explicit, InterpreterSearch::from_process(), ToolEnv::new())
    }

    /// [`PythonPool::new`] finding `python3` with `search`, whose workers start with
    /// `base_env` added to their environment.
    pub fn with_env(
        explicit: Option<OsString>,
        search: InterpreterSearch,
        base_env: ToolEnv,
    ) -> PythonPool {
        PythonPool {
            explicit: explicit.filter(|p| !p.is_empty()),
            search,
            base_env,
            interpreters: Mutex::default(),
            workers: Mutex::default(),
            changed: Condvar::new(),
            max_starting: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// The interpreter python tools of the project at `root` run with.
    pub fn interpreter(&self, root: &Path) -> OsString {
        if let Some(explicit) = &self.explicit {
            return explicit.clone();
        }
        let slot = Arc::clone(
            lock(&self.interpreters)
                .entry(root.to_path_buf())
                .or_default(),
        );
        slot.get_or_init(|| self.search.resolve(root)).clone()
    }

    /// An idle worker for the project at `root`, or a new one (see the module header for
    /// when a call waits instead of starting one).
    pub fn checkout(&self, root: &Path) -> io::Result<PythonWorker> {
        let key = (self.interpreter(root), root.to_path_buf());
        let mut workers = lock(&self.workers);
        let mut waiting_since: Option<Instant> = None;
        loop {
            if let Some(worker) = workers.idle.get_mut(&key).and_then(Vec::pop) {
                workers.busy += 1;
                return Ok(worker);
            }
            let now = Instant::now();
            let others_coming = workers.busy + workers.starting > 0;
            // Re-read each time: the first boot time may have been measured meanwhile.
            let grow_at =
                *waiting_since.get_or_insert(now) + workers.boot_time.unwrap_or(FIRST_BOOT_GUESS);
            let slot_free = workers.starting < self.max_starting.max(1);
            if slot_free && (!others_coming || now >= grow_at) {
                workers.starting += 1;
                workers.busy += 1;
                drop(workers);
                let started = PythonWorker::start(&key.0, root, &self.base_env);
                let mut workers = lock(&self.workers);
                workers.starting -= 1;
                if started.is_err() {
                    workers.busy -= 1;
                }
                drop(workers);
                // A start slot is free: a waiting call may start the next worker.
                self.changed.notify_all();
                return started;
            }
            let wait = if slot_free {
                grow_at.saturating_duration_since(now)
            } else {
                // No slot: a start ending or a worker coming back wakes us.
                Duration::from_secs(3600)
            };
            workers = self
                .changed
                .wait_timeout(workers, wait)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// Starts one worker for the project at `root` now, unless one is idle or starting
    /// already, so the interpreter boots while trident prepares the run. Runs no tool code.
    /// A worker that cannot start is left for the first call to report.
    pub fn prewarm(&self, root: &Path) {
        let key = (self.interpreter(root), root.to_path_buf());
        {
            let mut workers = lock(&self.workers);
            if workers.starting > 0 || workers.idle.get(&key).is_some_and(|w| !w.is_empty()) {
                return;
            }
            workers.starting += 1;
        }
        let started = PythonWorker::start(&key.0, root, &self.base_env);
        let mut workers = lock(&self.workers);
        workers.starting -= 1;
        if let Ok(worker) = started {
            workers.idle.entry(key).or_default().push(worker);
        }
        drop(workers);
        self.changed.notify_all();
    }

    /// Returns a worker after a call: kept when it can serve again, stopped otherwise.
    pub fn checkin(&self, root: &Path, mut worker: PythonWorker) {
        let key = (self.interpreter(root), root.to_path_buf());
        let mut workers = lock(&self.workers);
        workers.busy = workers.busy.saturating_sub(1);
        // The measure runs to the end of the worker's first call, so a slow first call would
        // overstate it: never count more than the first guess.
        if let Some(boot) = worker.take_boot_time().map(|b| b.min(FIRST_BOOT_GUESS)) {
            workers.boot_time = Some(match workers.boot_time {
                Some(average) => (average * 3 + boot) / 4,
                None => boot,
            });
        }
        if worker.reusable() {
            workers.idle.entry(key).or_default().push(worker);
            drop(workers);
            self.changed.notify_one();
        } else {
            drop(workers);
            worker.stop();
            // One fewer worker coming back: waiting calls re-check whether to start one.
            self.changed.notify_all();
        }
    }

    /// How many workers are idle (tests and benchmarks).
    pub fn idle_count(&self) -> usize {
        lock(&self.workers).idle.values().map(Vec::len).sum()
    }

    /// Stops every idle worker (and everything they started).
    pub fn shutdown(&self) {
        let idle = std::mem::take(&mut lock(&self.workers).idle);
        for worker in idle.into_values().flatten() {
            worker.stop();
        }
    }
}

impl Drop for PythonPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_reused_and_stopped_at_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let pool = PythonPool::new(None);
        let worker = pool.checkout(dir.path()).unwrap();
        pool.checkin(dir.path(), worker);
        assert_eq!(pool.idle_count(), 1);
        let again = pool.checkout(dir.path()).unwrap();
        assert_eq!(pool.idle_count(), 0);
        pool.checkin(dir.path(), again);
        pool.prewarm(dir.path());
        assert_eq!(pool.idle_count(), 1, "an idle worker is enough");
        pool.shutdown();
        assert_eq!(pool.idle_count(), 0);
    }
}
