//! The one check the scheduler makes before it starts any node (cached nodes included):
//! once it says stop, no new node starts, the nodes already running finish, and the run
//! ends (under `--schedule levels` a failure lets the level in flight finish, as in the
//! original). Every reason to stop a run early belongs here, so the scheduler stays one loop.
//! (The `--max-cost` budget is checked as a node starts, by `budget.rs`: the refused node
//! fails with `BudgetExceeded`, which closes this gate like any failure.)

use super::context::RunContext;

/// Why no new node may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// A node of this run failed.
    Failed,
    /// Ctrl-C, SIGTERM or SIGHUP: the signal thread records the interruption.
    Interrupted,
}

/// The gate of one run.
pub struct StartGate<'r, 'a> {
    ctx: &'r RunContext<'a>,
    failed: bool,
}

impl<'r, 'a> StartGate<'r, 'a> {
    /// An open gate for `ctx`.
    pub fn new(ctx: &'r RunContext<'a>) -> Self {
        StartGate { ctx, failed: false }
    }

    /// A node failed: close the gate for good.
    pub fn node_failed(&mut self) {
        self.failed = true;
    }

    /// `Some(reason)` when no new node may start. `level_in_flight`: the node belongs to a
    /// level that has started (`--schedule levels`), which, as in the original, finishes
    /// despite a failure; only the next level is stopped.
    pub fn check(&self, level_in_flight: bool) -> Option<Stop> {
        if self.failed && !level_in_flight {
            Some(Stop::Failed)
        } else if self.ctx.runtime.is_interrupted() {
            Some(Stop::Interrupted)
        } else {
            None
        }
    }
}
