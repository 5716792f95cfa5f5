//! [`PythonPool`]: the python workers of one trident invocation, shared by its runs and
//! sub-workflows. Workers start lazily, one per concurrently running python tool (so a level
//! grows the pool up to its concurrency), and go back to the pool after each call; the last
//! one returned is the first one reused, so a chain of tools keeps hitting one warm worker.
//!
//! Module state survives between the calls one worker serves. Concurrent calls land on
//! different workers, each with its own copy of the module's state.
//!
//! The interpreter is resolved once per project folder: `TRIDENT_PYTHON` when given, else the
//! real executable behind `python3` on `PATH` (`sys.executable`). Version managers such as
//! pyenv put a shell-script shim first on `PATH` that costs about 100 ms per start; resolving
//! it once keeps the interpreter (and virtualenv, or `.python-version`) the shim would pick.
//!
//! Dropping the pool (or [`PythonPool::shutdown`]) stops every idle worker and all it started.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::python_worker::PythonWorker;
use super::tool_env::ToolEnv;

/// The Python interpreter looked up on `PATH` when nothing else is said.
pub const PYTHON_PROGRAM: &str = "python3";

/// Idle workers by interpreter, and resolved interpreters by project folder.
#[derive(Debug, Default)]
pub struct PythonPool {
    /// `TRIDENT_PYTHON`, when set.
    explicit: Option<OsString>,
    /// Variables every worker starts with (the run's `.env` overlay).
    base_env: ToolEnv,
    interpreters: Mutex<HashMap<PathBuf, OsString>>,
    idle: Mutex<HashMap<(OsString, PathBuf), Vec<PythonWorker>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Only inserts and removals run under these locks; a poisoned map is still a valid map.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl PythonPool {
    /// A pool running `explicit` (`TRIDENT_PYTHON`) when given, else the interpreter behind
    /// `python3`.
    pub fn new(explicit: Option<OsString>) -> PythonPool {
        PythonPool::with_env(explicit, ToolEnv::new())
    }

    /// [`PythonPool::new`] whose workers start with `base_env` added to their environment.
    pub fn with_env(explicit: Option<OsString>, base_env: ToolEnv) -> PythonPool {
        PythonPool {
            explicit: explicit.filter(|p| !p.is_empty()),
            base_env,
            interpreters: Mutex::default(),
            idle: Mutex::default(),
        }
    }

    /// The interpreter python tools of the project at `root` run with.
    pub fn interpreter(&self, root: &Path) -> OsString {
        if let Some(explicit) = &self.explicit {
            return explicit.clone();
        }
        if let Some(found) = lock(&self.interpreters).get(root) {
            return found.clone();
        }
        let resolved = resolve_python3(root);
        lock(&self.interpreters).insert(root.to_path_buf(), resolved.clone());
        resolved
    }

    /// An idle worker for the project at `root`, or a new one.
    pub fn checkout(&self, root: &Path) -> io::Result<PythonWorker> {
        let interpreter = self.interpreter(root);
        let key = (interpreter, root.to_path_buf());
        if let Some(worker) = lock(&self.idle).get_mut(&key).and_then(Vec::pop) {
            return Ok(worker);
        }
        PythonWorker::start(&key.0, root, &self.base_env)
    }

    /// Returns a worker after a call: kept when it can serve again, stopped otherwise.
    pub fn checkin(&self, root: &Path, worker: PythonWorker) {
        if !worker.reusable() {
            worker.stop();
            return;
        }
        let key = (self.interpreter(root), root.to_path_buf());
        lock(&self.idle).entry(key).or_default().push(worker);
    }

    /// How many workers are idle (tests and benchmarks).
    pub fn idle_count(&self) -> usize {
        lock(&self.idle).values().map(Vec::len).sum()
    }

    /// Stops every idle worker (and everything they started).
    pub fn shutdown(&self) {
        let idle = std::mem::take(&mut *lock(&self.idle));
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

/// The executable behind `python3` as seen from `root`, or `python3` itself when that
/// cannot be found out.
fn resolve_python3(root: &Path) -> OsString {
    Command::new(PYTHON_PROGRAM)
        .args(["-c", "import sys; sys.stdout.write(sys.executable)"])
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|path| !path.is_empty() && Path::new(path).is_file())
        .map(OsString::from)
        .unwrap_or_else(|| PYTHON_PROGRAM.into())
}
