//! The guard that ends a stream: on drop (or [`TelemetryGuard::finish`]) it asks the writer
//! to write everything still queued, flush every sink and stop, then joins the thread.
//!
//! Drop runs on every exit path that unwinds, including `?` errors; `std::process::exit`
//! skips destructors, so call `finish` before it. The wait is bounded (a stdout reader that
//! never reads must not hang the process forever): after [`SHUTDOWN_TIMEOUT`] the guard
//! gives up with a notice.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::emitter::Core;
use super::notice::Notices;

/// How long the guard waits for the writer to finish.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Keeps the writer thread alive; ends the stream when dropped.
#[must_use = "dropping the guard ends the telemetry stream"]
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    core: Option<Arc<Core>>,
    worker: Option<JoinHandle<()>>,
    notices: Option<Notices>,
    timeout: Duration,
}

impl TelemetryGuard {
    /// A guard with nothing to stop.
    pub fn disabled() -> TelemetryGuard {
        TelemetryGuard::default()
    }

    pub(crate) fn new(
        core: Arc<Core>,
        worker: JoinHandle<()>,
        notices: Notices,
        timeout: Duration,
    ) -> TelemetryGuard {
        TelemetryGuard {
            core: Some(core),
            worker: Some(worker),
            notices: Some(notices),
            timeout,
        }
    }

    /// Writes everything, flushes and stops the writer; returns whether it finished in
    /// time. Events emitted afterwards are ignored.
    pub fn finish(mut self) -> bool {
        self.shutdown()
    }

    fn shutdown(&mut self) -> bool {
        let Some(core) = self.core.take() else {
            return true;
        };
        let stopped = core.queue.close(self.timeout);
        if stopped {
            if let Some(worker) = self.worker.take() {
                let _ = worker.join();
            }
        } else if let Some(notices) = &self.notices {
            notices.warn(&format!(
                "the writer did not finish within {}s; the last events may be missing",
                self.timeout.as_secs()
            ));
        }
        stopped
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.shutdown();
    }
}
