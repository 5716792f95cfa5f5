//! The bounded queue between emitting threads and the writer thread, and the stream's
//! ordering: an internal sequence number and time stamps are assigned here, under the same
//! short lock that appends the event, so line order and time order always agree (each
//! destination then numbers its own lines' `seq`, see `destination`).
//!
//! Emitters never wait for the writer: they append to a vector and only wake the writer when
//! it is idle, when an event is urgent (ERROR, lifecycle) or when the queue is half full.
//! Otherwise the writer drains on a short tick, swapping the whole vector out at once. A full
//! queue drops the event, counts it (its `seq` is still consumed, so a gap shows the loss)
//! and the writer reports the count (per destination, from the dropped kinds) in a
//! `telemetry_dropped` event as soon as it drains.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::catalogue::EventKind;
use super::clock::Clock;
use super::event::Event;
use super::record::{NodeId, Record, RunScope, ScopeId};

/// How long an idle writer sleeps before checking again (it is woken at once by events).
const IDLE_WAIT: Duration = Duration::from_millis(250);

/// Locks, ignoring poisoning: telemetry state stays usable even if a thread panicked.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The runs known to one stream, indexed by [`ScopeId`].
#[derive(Debug, Default)]
pub(crate) struct ScopeTable {
    scopes: Mutex<Vec<Arc<RunScope>>>,
}

impl ScopeTable {
    /// Adds a run scope and returns its index.
    pub fn register(&self, scope: RunScope) -> ScopeId {
        let mut scopes = lock(&self.scopes);
        scopes.push(Arc::new(scope));
        ScopeId::try_from(scopes.len() - 1).unwrap_or(ScopeId::MAX)
    }

    /// Appends to `known` the scopes it does not have yet (for the writer's cache).
    pub fn extend(&self, known: &mut Vec<Arc<RunScope>>) {
        let scopes = lock(&self.scopes);
        if let Some(new) = scopes.get(known.len()..) {
            known.extend(new.iter().cloned());
        }
    }
}

/// Events lost to a full queue since the previous report, with the report's own place in
/// the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DropReport {
    pub seq: u64,
    pub stamp: u64,
    pub count: u64,
    /// How many of the dropped events were of each kind, by [`EventKind::index`]: each
    /// destination counts (and shows as a `seq` gap) only the ones its filter wanted.
    pub by_kind: [u64; 64],
}

impl DropReport {
    /// How many of the dropped events `wants` would have kept.
    pub fn count_for(&self, wants: impl Fn(EventKind) -> bool) -> u64 {
        EventKind::ALL
            .into_iter()
            .filter(|k| wants(*k))
            .map(|k| self.by_kind[k.index()])
            .sum()
    }
}

/// What the writer got from one [`EventQueue::next_batch`] call.
#[derive(Debug)]
pub(crate) struct Batch {
    /// Every event with `seq <= upto` is in this batch, was dropped, or was written earlier.
    pub upto: u64,
    pub dropped: Option<DropReport>,
    /// The stream is shutting down: drain and stop.
    pub closing: bool,
}

#[derive(Debug)]
struct QueueState {
    pending: Vec<Record>,
    seq: u64,
    last_stamp: u64,
    dropped: u64,
    dropped_by_kind: [u64; 64],
    dropped_total: u64,
    writer_idle: bool,
    urgent: bool,
    closing: bool,
    written_seq: u64,
    flush_waiters: usize,
    writer_done: bool,
}

/// The queue, its ordering counters and the writer's wake-up signals.
#[derive(Debug)]
pub(crate) struct EventQueue {
    state: Mutex<QueueState>,
    wake_writer: Condvar,
    progress: Condvar,
    capacity: usize,
    clock: Clock,
    scopes: ScopeTable,
}

impl EventQueue {
    /// A queue holding at most `capacity` events (at least 2).
    pub fn new(capacity: usize, clock: Clock) -> EventQueue {
        let capacity = capacity.max(2);
        EventQueue {
            state: Mutex::new(QueueState {
                pending: Vec::with_capacity(capacity.min(1024)),
                seq: 0,
                last_stamp: 0,
                dropped: 0,
                dropped_by_kind: [0; 64],
                dropped_total: 0,
                writer_idle: false,
                urgent: false,
                closing: false,
                written_seq: 0,
                flush_waiters: 0,
                writer_done: false,
            }),
            wake_writer: Condvar::new(),
            progress: Condvar::new(),
            capacity,
            clock,
            scopes: ScopeTable::default(),
        }
    }

    /// The stream's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The stream's run scopes.
    pub fn scopes(&self) -> &ScopeTable {
        &self.scopes
    }

    /// Appends an event from an emitting thread; never blocks beyond the short lock.
    #[inline]
    pub fn push(&self, scope: ScopeId, node_id: Option<NodeId>, event: Event, urgent: bool) {
        let now = self.clock.now();
        let kind = event.kind();
        let mut st = lock(&self.state);
        if st.closing {
            return;
        }
        st.seq += 1;
        let stamp = now.max(st.last_stamp);
        st.last_stamp = stamp;
        let len = st.pending.len();
        if len >= self.capacity {
            st.dropped += 1;
            st.dropped_by_kind[kind.index()] += 1;
            st.dropped_total += 1;
            let wake = !st.urgent || st.writer_idle;
            st.urgent = true;
            st.writer_idle = false;
            drop(st);
            if wake {
                self.wake_writer.notify_one();
            }
            return;
        }
        st.pending.push(Record {
            stamp,
            scope,
            node_id,
            event,
        });
        let hurry = urgent || len + 1 == self.capacity / 2;
        let wake = st.writer_idle || (hurry && !st.urgent);
        st.writer_idle = false;
        st.urgent |= hurry;
        drop(st);
        if wake {
            self.wake_writer.notify_one();
        }
    }

    /// Appends an event produced by the writer itself (a loss report); ignores the bound
    /// so a report is never lost.
    pub fn push_internal(&self, scope: ScopeId, event: Event) {
        let now = self.clock.now();
        let mut st = lock(&self.state);
        st.seq += 1;
        let stamp = now.max(st.last_stamp);
        st.last_stamp = stamp;
        st.pending.push(Record {
            stamp,
            scope,
            node_id: None,
            event,
        });
    }

    /// Writer side: waits until there is something to write and the tick has passed (or at
    /// once for urgent events, flush requests and shutdown), then swaps the queued events
    /// into `out` (which must be empty).
    pub fn next_batch(&self, out: &mut Vec<Record>, tick: Duration) -> Batch {
        let mut deadline = Instant::now() + tick;
        let mut st = lock(&self.state);
        loop {
            if st.closing {
                break;
            }
            let has_work = !st.pending.is_empty() || st.dropped > 0;
            let now = Instant::now();
            if has_work {
                if st.urgent || now >= deadline {
                    break;
                }
                st = self
                    .wake_writer
                    .wait_timeout(st, deadline - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                continue;
            }
            if st.urgent {
                // A flush request with nothing left to write.
                st.urgent = false;
                st.written_seq = st.seq;
                if st.flush_waiters > 0 {
                    self.progress.notify_all();
                }
                continue;
            }
            if now < deadline {
                // Events may still come this tick: wait without asking to be woken, so a
                // steady stream costs one wake-up per tick, not one per event.
                st = self
                    .wake_writer
                    .wait_timeout(st, deadline - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                continue;
            }
            // A whole tick without events: sleep until the next one wakes us.
            st.writer_idle = true;
            st = self
                .wake_writer
                .wait_timeout(st, IDLE_WAIT)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            st.writer_idle = false;
            // Whatever woke an idle writer is written at once.
            deadline = Instant::now();
        }
        std::mem::swap(&mut st.pending, out);
        st.urgent = false;
        let dropped = if st.dropped > 0 {
            st.seq += 1;
            let stamp = self.clock.now().max(st.last_stamp);
            st.last_stamp = stamp;
            let count = std::mem::take(&mut st.dropped);
            let by_kind = std::mem::replace(&mut st.dropped_by_kind, [0; 64]);
            Some(DropReport {
                seq: st.seq,
                stamp,
                count,
                by_kind,
            })
        } else {
            None
        };
        Batch {
            upto: st.seq,
            dropped,
            closing: st.closing,
        }
    }

    /// Writer side: everything up to `upto` is written and flushed.
    pub fn mark_written(&self, upto: u64) {
        let mut st = lock(&self.state);
        st.written_seq = st.written_seq.max(upto);
        if st.flush_waiters > 0 {
            self.progress.notify_all();
        }
    }

    /// Writer side: nothing is queued and no loss is waiting to be reported.
    pub fn is_drained(&self) -> bool {
        let st = lock(&self.state);
        st.pending.is_empty() && st.dropped == 0
    }

    /// Writer side: the writer has stopped (normally or not); flushers stop waiting.
    pub fn writer_finished(&self) {
        let mut st = lock(&self.state);
        st.writer_done = true;
        st.closing = true;
        self.progress.notify_all();
    }

    /// Waits until every event emitted before the call is written, at most `timeout`.
    /// Returns whether that happened.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = lock(&self.state);
        let target = st.seq;
        if st.written_seq >= target {
            return true;
        }
        if st.writer_done {
            return false;
        }
        st.urgent = true;
        st.writer_idle = false;
        self.wake_writer.notify_one();
        st.flush_waiters += 1;
        while st.written_seq < target && !st.writer_done {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = self
                .progress
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        st.flush_waiters -= 1;
        st.written_seq >= target
    }

    /// Asks the writer to drain and stop, and waits for it at most `timeout`. Returns
    /// whether the writer has stopped.
    pub fn close(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = lock(&self.state);
        st.closing = true;
        self.wake_writer.notify_one();
        st.flush_waiters += 1;
        while !st.writer_done {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = self
                .progress
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        st.flush_waiters -= 1;
        st.writer_done
    }

    /// Events dropped because the queue was full, since start.
    pub fn dropped_total(&self) -> u64 {
        lock(&self.state).dropped_total
    }

    /// The last `seq` assigned.
    pub fn last_seq(&self) -> u64 {
        lock(&self.state).seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::NodeKind;

    fn started() -> Event {
        Event::node_started(NodeKind::Prompt)
    }

    #[test]
    fn seq_and_stamps_are_assigned_in_queue_order() {
        let q = EventQueue::new(16, Clock::start());
        for _ in 0..5 {
            q.push(0, None, started(), false);
        }
        let mut out = Vec::new();
        let batch = q.next_batch(&mut out, Duration::ZERO);
        assert_eq!(batch.upto, 5);
        assert!(batch.dropped.is_none());
        assert_eq!(out.len(), 5);
        assert!(out.windows(2).all(|w| w[0].stamp <= w[1].stamp));
    }

    #[test]
    fn a_full_queue_drops_counts_and_reports() {
        let q = EventQueue::new(4, Clock::start());
        for _ in 0..10 {
            q.push(0, None, started(), false);
        }
        assert_eq!(q.dropped_total(), 6);
        let mut out = Vec::new();
        let batch = q.next_batch(&mut out, Duration::ZERO);
        assert_eq!(out.len(), 4);
        let report = batch.dropped.expect("a drop report");
        assert_eq!(report.count, 6);
        assert_eq!(report.count_for(|k| k == EventKind::NodeStarted), 6);
        assert_eq!(report.count_for(|k| k == EventKind::NodeFailed), 0);
        assert_eq!(report.seq, 11, "the report comes after every dropped seq");
        assert_eq!(batch.upto, 11);
        out.clear();
        q.push(0, None, started(), false);
        let batch = q.next_batch(&mut out, Duration::ZERO);
        assert!(batch.dropped.is_none());
        assert_eq!(batch.upto, 12);
    }

    #[test]
    fn flush_with_no_writer_times_out_quietly() {
        let q = EventQueue::new(4, Clock::start());
        assert!(
            q.flush(Duration::from_millis(1)),
            "nothing emitted: flushed"
        );
        q.push(0, None, started(), false);
        assert!(!q.flush(Duration::from_millis(20)));
        q.writer_finished();
        assert!(!q.flush(Duration::from_secs(5)));
        assert!(q.close(Duration::from_secs(5)));
    }

    #[test]
    fn scopes_are_indexed_in_order() {
        let t = ScopeTable::default();
        let scope = |id: &str| RunScope {
            run_id: id.into(),
            root_run_id: id.into(),
            ..RunScope::default()
        };
        assert_eq!(t.register(scope("a")), 0);
        assert_eq!(t.register(scope("b")), 1);
        let mut known = Vec::new();
        t.extend(&mut known);
        assert_eq!(known.len(), 2);
        assert_eq!(t.register(scope("c")), 2);
        t.extend(&mut known);
        assert_eq!(known[2].run_id, "c");
    }
}
