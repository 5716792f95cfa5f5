//! `--wait-for`: block until every signal file exists (polling), or time out (exit 4).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::artifacts::Signal;
use crate::engine::Console;
use crate::error::TridentError;
use crate::telemetry::{Event, RunTelemetry};

/// `signal:WORKFLOW.TYPE` -> `.trident/signals/WORKFLOW.TYPE`; other paths relative to the
/// project root unless absolute.
pub fn resolve_signal_path(spec: &str, project_root: &Path) -> PathBuf {
    if let Some(name) = spec.strip_prefix("signal:") {
        return project_root.join(".trident").join("signals").join(name);
    }
    let p = Path::new(spec);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        project_root.join(p)
    }
}

/// Wait for all `specs`, reporting each as `signal_received`.
pub fn wait_for_signals(
    specs: &[String],
    project_root: &Path,
    timeout: f64,
    tel: &RunTelemetry,
    console: &Console,
) -> Result<(), TridentError> {
    if !timeout.is_finite() || timeout < 0.0 {
        return Err(TridentError::Validation(format!(
            "--timeout must be a number of seconds >= 0, got {timeout}"
        )));
    }
    let start = Instant::now();
    let mut pending: Vec<(String, PathBuf)> = specs
        .iter()
        .map(|s| (s.clone(), resolve_signal_path(s, project_root)))
        .collect();
    console.progress(format!("Waiting for {} signal(s)...", pending.len()));
    let poll = Duration::from_millis(100);
    loop {
        pending.retain(|(spec, path)| {
            let ready = std::fs::read(path)
                .ok()
                .and_then(|b| serde_json::from_slice::<Signal>(&b).ok())
                .is_some();
            if ready {
                console.progress(format!("Signal found: {}", path.display()));
                tel.emit(None, || Event::SignalReceived {
                    signal: spec.clone(),
                    path: path.display().to_string(),
                    waited_ms: start.elapsed().as_millis() as u64,
                });
            }
            !ready
        });
        if pending.is_empty() {
            console.progress("All signals received, proceeding with execution");
            return Ok(());
        }
        if start.elapsed().as_secs_f64() >= timeout {
            let missing: Vec<String> = pending
                .iter()
                .map(|(_, p)| p.display().to_string())
                .collect();
            return Err(TridentError::Timeout(format!(
                "Timed out after {}s waiting for signals: {}",
                crate::python_json::python_float_repr(timeout),
                missing.join(", ")
            )));
        }
        std::thread::sleep(poll);
    }
}
