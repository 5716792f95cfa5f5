//! How deep a chain of fire-and-forget triggered runs is, and how deep it may go.
//!
//! A `mode: fire-and-forget` trigger starts a detached `trident project run`: it never nests
//! in this process, so [`crate::project::recursion::MAX_WORKFLOW_DEPTH`] cannot see it, and a
//! workflow that triggers itself (or A -> B -> A) behind a condition that stays true would
//! start processes without end. Each triggered run is told its depth in the chain
//! ([`TRIGGER_DEPTH_VAR`], set by trident on the child's command only, read once with the
//! run's settings); the trigger node that would start a run deeper than the limit
//! ([`MAX_TRIGGER_DEPTH_VAR`], default 32 like the in-process bound) fails instead. The limit
//! of the run that started the chain is handed down with the depth, so one chain has one
//! limit whatever the `.env` files of the workflows it passes through say.

/// Variable set by trident on a fire-and-forget triggered run: how many fire-and-forget
/// triggers led to it (unset: 0, a run started by hand).
pub const TRIGGER_DEPTH_VAR: &str = "TRIDENT_TRIGGER_DEPTH";
/// Variable: the deepest fire-and-forget chain (default [`DEFAULT_MAX_TRIGGER_DEPTH`]).
pub const MAX_TRIGGER_DEPTH_VAR: &str = "TRIDENT_MAX_TRIGGER_DEPTH";
/// The default of [`MAX_TRIGGER_DEPTH_VAR`]: the in-process nesting bound.
pub const DEFAULT_MAX_TRIGGER_DEPTH: usize = crate::project::recursion::MAX_WORKFLOW_DEPTH;

/// This run's place in a chain of fire-and-forget triggered runs, and the chain's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriggerDepth {
    depth: usize,
    max: usize,
}

impl Default for TriggerDepth {
    /// A run started by hand, with the default limit.
    fn default() -> Self {
        TriggerDepth {
            depth: 0,
            max: DEFAULT_MAX_TRIGGER_DEPTH,
        }
    }
}

impl TriggerDepth {
    /// A run `depth` fire-and-forget triggers down a chain limited to `max`.
    pub fn new(depth: usize, max: usize) -> TriggerDepth {
        TriggerDepth { depth, max }
    }

    /// How many fire-and-forget triggers led to this run.
    pub fn depth(self) -> usize {
        self.depth
    }

    /// The deepest run the chain may start.
    pub fn max(self) -> usize {
        self.max
    }

    /// The variables of the run that fire-and-forget trigger `node_id` would start (its
    /// depth and the chain's limit), or the node's error when that run would be deeper
    /// than the limit.
    pub fn next_run_env(self, node_id: &str) -> Result<[(&'static str, String); 2], String> {
        let next = self.depth + 1;
        if next > self.max {
            return Err(format!(
                "Node '{node_id}' would start a fire-and-forget run {next} triggers deep (at \
                 most {}, {MAX_TRIGGER_DEPTH_VAR}): a workflow that triggers itself through \
                 fire-and-forget triggers did not stop. Make the `condition:` that should end \
                 the recursion false in time, or raise {MAX_TRIGGER_DEPTH_VAR}.",
                self.max
            ));
        }
        Ok([
            (TRIGGER_DEPTH_VAR, next.to_string()),
            (MAX_TRIGGER_DEPTH_VAR, self.max.to_string()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_hands_the_next_its_depth_and_the_chain_limit() {
        let first = TriggerDepth::default();
        assert_eq!((first.depth(), first.max()), (0, 32));
        let env = first.next_run_env("again").unwrap();
        assert_eq!(
            env,
            [
                ("TRIDENT_TRIGGER_DEPTH", "1".to_string()),
                ("TRIDENT_MAX_TRIGGER_DEPTH", "32".to_string())
            ]
        );
    }

    #[test]
    fn the_run_at_the_limit_cannot_trigger_another() {
        assert!(TriggerDepth::new(2, 3).next_run_env("again").is_ok());
        let error = TriggerDepth::new(3, 3).next_run_env("again").unwrap_err();
        assert!(
            error.starts_with(
                "Node 'again' would start a fire-and-forget run 4 triggers deep (at most 3, \
                 TRIDENT_MAX_TRIGGER_DEPTH)"
            ),
            "{error}"
        );
        assert!(TriggerDepth::new(0, 0).next_run_env("again").is_err());
    }
}
