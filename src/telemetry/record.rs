//! One queued event: the envelope fixed at emission (time stamp, run scope, node id)
//! and the typed event, as it travels from an emitting thread to the writer.
//!
//! Kept small and allocation-free on the emitting side: the run scope is an index into the
//! stream's scope table (no shared reference count bouncing between cores) and short node
//! ids are stored inline.

use std::sync::Arc;

use super::event::Event;

/// The runs a stream has seen: root runs and sub-workflow runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunScope {
    /// The run's id (as in `.trident/runs/<run_id>`).
    pub run_id: String,
    /// For a sub-workflow: the run that started it.
    pub parent_run_id: Option<String>,
    /// For a sub-workflow: the node of the parent run that started it.
    pub parent_node_id: Option<String>,
    /// The top-level run of the invocation (used for `{run_id}` in the file path).
    pub root_run_id: String,
}

/// Index of a [`RunScope`] in the stream's scope table.
pub(crate) type ScopeId = u32;

/// A node id, inline when short.
#[derive(Debug, Clone)]
pub(crate) enum NodeId {
    Inline {
        len: u8,
        bytes: [u8; NodeId::INLINE],
    },
    Heap(Box<str>),
}

impl NodeId {
    const INLINE: usize = 30;

    /// Copies `id`.
    #[inline]
    pub fn new(id: &str) -> NodeId {
        if id.len() <= NodeId::INLINE {
            let mut bytes = [0u8; NodeId::INLINE];
            bytes[..id.len()].copy_from_slice(id.as_bytes());
            NodeId::Inline {
                len: id.len() as u8,
                bytes,
            }
        } else {
            NodeId::Heap(id.into())
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        match self {
            // The bytes were copied from a `&str` whole, so they are valid UTF-8.
            NodeId::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            NodeId::Heap(s) => s,
        }
    }
}

/// One event with its envelope, waiting for the writer.
#[derive(Debug)]
pub(crate) struct Record {
    /// Nanoseconds since the stream's clock anchor.
    pub stamp: u64,
    pub scope: ScopeId,
    pub node_id: Option<NodeId>,
    pub event: Event,
}

/// The scope table as seen by the writer: a local copy refreshed when an unknown index
/// shows up.
#[derive(Debug, Default)]
pub(crate) struct ScopeCache {
    scopes: Vec<Arc<RunScope>>,
    unknown: RunScope,
}

impl ScopeCache {
    /// The scope with index `id`, refreshing from `table` if needed.
    pub fn get(&mut self, id: ScopeId, table: &super::queue::ScopeTable) -> &RunScope {
        let index = id as usize;
        if index >= self.scopes.len() {
            table.extend(&mut self.scopes);
        }
        match self.scopes.get(index) {
            Some(scope) => scope,
            None => &self.unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_inline_and_heap() {
        for id in ["", "greet", "é-node", &"n".repeat(30), &"long".repeat(20)] {
            assert_eq!(NodeId::new(id).as_str(), id);
        }
        assert!(matches!(NodeId::new("greet"), NodeId::Inline { .. }));
        assert!(matches!(NodeId::new(&"x".repeat(31)), NodeId::Heap(_)));
    }
}
