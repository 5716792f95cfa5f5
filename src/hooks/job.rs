//! One event to hand to one hook: what a hook worker needs, read from the event's jsonl
//! line once, when the hook sink matches it.

/// An event queued for a hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookJob {
    /// Index of the hook in the run's hook list.
    pub hook: usize,
    /// The event's jsonl line (without the newline).
    pub line: Vec<u8>,
    /// The event name (`node_failed`).
    pub event: String,
    pub run_id: String,
    pub node_id: Option<String>,
}
