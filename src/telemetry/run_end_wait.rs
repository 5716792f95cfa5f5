//! Waits a consumer asks for before a top-level run's last event (`workflow_completed` or
//! `workflow_failed`) is queued: the hooks report their failures as events of the run
//! (`hook_failed`), and those of hooks fired by earlier events belong before the run's
//! last event. The emitting thread first waits for the writer to hand every earlier event
//! to its destinations (so the hooks have them), then runs each wait; the wait bounds
//! itself. `workflow_interrupted` waits for nothing: an interruption stops at once.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How long the writer gets to hand the earlier events over before the waits run.
pub(crate) const HAND_OVER_TIMEOUT: Duration = Duration::from_secs(2);

/// One consumer's wait (bounded by the consumer).
#[derive(Clone)]
pub struct RunEndWait(Arc<dyn Fn() + Send + Sync>);

impl fmt::Debug for RunEndWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RunEndWait")
    }
}

impl RunEndWait {
    /// A wait running `wait`, which must return within a bound of its own.
    pub fn new(wait: impl Fn() + Send + Sync + 'static) -> RunEndWait {
        RunEndWait(Arc::new(wait))
    }

    /// Runs the wait.
    pub(crate) fn run(&self) {
        (self.0)()
    }
}
