//! Running hooks off the run's threads: a queue of `HookJob`s served by at most
//! [`MAX_CONCURRENT`] worker threads, started on demand. A failure (non-zero exit, timeout,
//! HTTP error, a command that cannot start) becomes a `hook_failed` event in the run's
//! stream and, the first time a hook fails, one warning on stderr; it never changes the
//! run's outcome. [`HookRunner::finish`] waits for pending hooks at most the longest hook
//! timeout.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use super::command::run_command;
use super::config::{Hook, HookAction};
use super::job::HookJob;
use super::webhook::post_event;
use crate::delivery::DeliveryClient;
use crate::telemetry::{Event, Notices, Telemetry};

/// Hooks running at once, at most.
pub const MAX_CONCURRENT: usize = 4;

/// Hook runs that may wait for a worker; more are dropped (and reported).
pub const QUEUE_CAPACITY: usize = 1024;

/// How long `finish` waits, past the hooks' cut-off, for a killed hook to be reaped and
/// reported.
const REPORT_GRACE: Duration = Duration::from_millis(500);

/// Runs the hooks of one invocation. Cheap to clone; clones share the queue.
#[derive(Clone)]
pub struct HookRunner {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for HookRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookRunner")
            .field("hooks", &self.shared.hooks.len())
            .finish()
    }
}

struct Shared {
    hooks: Vec<Hook>,
    root: PathBuf,
    /// One HTTP client for every webhook of the run (kept-alive connections, one host
    /// lookup).
    webhooks: DeliveryClient,
    state: Mutex<State>,
    changed: Condvar,
    telemetry: OnceLock<Telemetry>,
    notices: Notices,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<HookJob>,
    workers: usize,
    busy: usize,
    /// Set by `finish`: no hook runs past this time.
    end: Option<Instant>,
    /// Which hooks already printed their warning.
    warned: Vec<bool>,
}

impl HookRunner {
    /// A runner for `hooks`, whose commands run in `root`; warnings go to `notices`.
    pub fn new(hooks: Vec<Hook>, root: PathBuf, notices: Notices) -> HookRunner {
        let warned = vec![false; hooks.len()];
        HookRunner {
            shared: Arc::new(Shared {
                hooks,
                root,
                webhooks: DeliveryClient::new(),
                state: Mutex::new(State {
                    warned,
                    ..State::default()
                }),
                changed: Condvar::new(),
                telemetry: OnceLock::new(),
                notices,
            }),
        }
    }

    /// The hooks.
    pub fn hooks(&self) -> &[Hook] {
        &self.shared.hooks
    }

    /// The stream `hook_failed` events are written to (set once it is started).
    pub fn report_to(&self, telemetry: Telemetry) {
        let _ = self.shared.telemetry.set(telemetry);
    }

    /// Queues `job`; never blocks.
    pub fn submit(&self, job: HookJob) {
        let mut state = self.shared.lock();
        if state.end.is_some_and(|end| Instant::now() >= end) {
            drop(state);
            self.shared
                .failed(&job, "not run: the run had already ended".to_string());
            return;
        }
        if state.jobs.len() >= QUEUE_CAPACITY {
            drop(state);
            self.shared.failed(
                &job,
                format!("dropped: {QUEUE_CAPACITY} hook runs were already waiting"),
            );
            return;
        }
        state.jobs.push_back(job);
        let idle = state.workers - state.busy;
        if idle < state.jobs.len() && state.workers < MAX_CONCURRENT {
            let shared = Arc::clone(&self.shared);
            let spawned = std::thread::Builder::new()
                .name("trident-hook".to_string())
                .spawn(move || shared.work());
            match spawned {
                Ok(_) => state.workers += 1,
                Err(e) if state.workers == 0 => {
                    let lost: Vec<HookJob> = state.jobs.drain(..).collect();
                    drop(state);
                    for job in lost {
                        self.shared
                            .failed(&job, format!("cannot start a hook thread: {e}"));
                    }
                    return;
                }
                Err(_) => {}
            }
        }
        self.shared.changed.notify_one();
    }

    /// The longest hook timeout.
    fn longest_timeout(&self) -> Duration {
        self.shared
            .hooks
            .iter()
            .map(|h| h.timeout)
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// Waits until the hooks queued so far have run (and reported their failures), at most
    /// the longest hook timeout and a moment to reap what was killed; new hooks are still
    /// accepted. Run before a run's last event, so that the `hook_failed` of hooks fired by
    /// earlier events comes before it.
    pub fn settle(&self) {
        let wait_until = Instant::now() + self.longest_timeout() + REPORT_GRACE;
        let state = self.shared.lock();
        drop(
            self.shared
                .wait_while(state, wait_until, |s| !s.jobs.is_empty() || s.busy > 0),
        );
    }

    /// [`HookRunner::settle`] as a function that does not keep the runner alive (the
    /// telemetry stream holds it, and the runner holds the stream).
    pub fn settle_fn(&self) -> impl Fn() + Send + Sync + 'static {
        let shared = Arc::downgrade(&self.shared);
        move || {
            if let Some(shared) = shared.upgrade() {
                HookRunner { shared }.settle();
            }
        }
    }

    /// Waits for queued and running hooks, at most the longest hook timeout (and a moment
    /// to reap what was killed); hooks that could not start by then are reported as
    /// failed. Call before the telemetry stream stops, so their `hook_failed` events are
    /// written.
    pub fn finish(&self) {
        let end = Instant::now() + self.longest_timeout();
        let mut state = self.shared.lock();
        state.end = Some(end);
        self.shared.changed.notify_all();
        let mut state = self
            .shared
            .wait_while(state, end + REPORT_GRACE, |s| s.workers > 0);
        let abandoned: Vec<HookJob> = state.jobs.drain(..).collect();
        drop(state);
        for job in abandoned {
            self.shared.failed(
                &job,
                "not run: the run ended before a hook worker was free".to_string(),
            );
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Only queue bookkeeping runs under this lock; a poisoned state is still valid.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits on `state` while `busy` says so, until `wait_until` at the latest.
    fn wait_while<'a>(
        &self,
        mut state: MutexGuard<'a, State>,
        wait_until: Instant,
        busy: impl Fn(&State) -> bool,
    ) -> MutexGuard<'a, State> {
        while busy(&state) {
            let now = Instant::now();
            if now >= wait_until {
                break;
            }
            state = match self.changed.wait_timeout(state, wait_until - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        state
    }

    fn work(&self) {
        loop {
            let (job, end) = {
                let mut state = self.lock();
                loop {
                    if let Some(job) = state.jobs.pop_front() {
                        state.busy += 1;
                        break (job, state.end);
                    }
                    if state.end.is_some() {
                        state.workers -= 1;
                        self.changed.notify_all();
                        return;
                    }
                    state = match self.changed.wait(state) {
                        Ok(guard) => guard,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                }
            };
            self.run(&job, end);
            let mut state = self.lock();
            state.busy -= 1;
            self.changed.notify_all();
        }
    }

    fn run(&self, job: &HookJob, end: Option<Instant>) {
        let Some(hook) = self.hooks.get(job.hook) else {
            return;
        };
        let now = Instant::now();
        let mut deadline = now + hook.timeout;
        if let Some(end) = end {
            if now >= end {
                self.failed(
                    job,
                    "not run: the run ended before a hook worker was free".into(),
                );
                return;
            }
            deadline = deadline.min(end);
        }
        let result = match &hook.action {
            HookAction::Run { command } => run_command(
                command,
                &self.root,
                job,
                deadline.saturating_duration_since(now),
            ),
            HookAction::Webhook { url, headers } => {
                post_event(&self.webhooks, url, headers, job, deadline)
            }
        };
        if let Err(error) = result {
            self.failed(job, error);
        }
    }

    /// Reports a failure of `job`'s hook: a `hook_failed` event, and the hook's first
    /// failure also on stderr.
    fn failed(&self, job: &HookJob, error: String) {
        let Some(hook) = self.hooks.get(job.hook) else {
            return;
        };
        let first = {
            let mut state = self.lock();
            !std::mem::replace(&mut state.warned[job.hook], true)
        };
        if first {
            self.notices.warn(&format!(
                "hook {} ({}) failed on {}: {error} (the run goes on; later failures of this \
                 hook are reported as hook_failed events only)",
                hook.number,
                hook.describe(),
                job.event
            ));
        }
        if let Some(telemetry) = self.telemetry.get() {
            telemetry
                .for_run(&job.run_id)
                .emit(job.node_id.as_deref(), || Event::HookFailed {
                    hook: format!("hook {} ({})", hook.number, hook.describe()),
                    error,
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{Selector, TelemetrySettings};

    fn hook(command: &str, timeout_ms: u64) -> Hook {
        Hook {
            number: 1,
            selectors: Selector::parse_list(["node_failed"]).unwrap(),
            action: HookAction::Run {
                command: command.to_string(),
            },
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    fn job(n: usize) -> HookJob {
        HookJob {
            hook: 0,
            line: format!("{{\"n\":{n}}}").into_bytes(),
            event: "node_failed".into(),
            run_id: "r".into(),
            node_id: Some(format!("n{n}")),
        }
    }

    #[test]
    fn runs_every_job_at_most_four_at_once() {
        let dir = tempfile::tempdir().unwrap();
        // Each run records its start, waits a little, records its end.
        let script = "echo start >> log; sleep 0.2; echo end >> log";
        let (notices, lines) = Notices::capture();
        let runner = HookRunner::new(vec![hook(script, 10_000)], dir.path().into(), notices);
        for n in 0..8 {
            runner.submit(job(n));
        }
        runner.finish();
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
        let mut running = 0;
        let mut most = 0;
        for line in log.lines() {
            running += if line == "start" { 1 } else { -1 };
            most = most.max(running);
        }
        assert_eq!(log.lines().filter(|l| *l == "end").count(), 8);
        assert!(most <= MAX_CONCURRENT as i32, "{most} at once");
        assert!(lines.lock().unwrap().is_empty());
    }

    #[test]
    fn failures_become_events_and_one_warning() {
        let dir = tempfile::tempdir().unwrap();
        let (telemetry, guard, memory) = Telemetry::in_memory(&TelemetrySettings::on());
        let (notices, lines) = Notices::capture();
        let runner = HookRunner::new(vec![hook("exit 4", 5_000)], dir.path().into(), notices);
        runner.report_to(telemetry);
        runner.submit(job(1));
        runner.submit(job(2));
        runner.finish();
        drop(guard);
        let events = memory.events_named("hook_failed");
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0]["data"]["hook"], "hook 1 (run exit 4)");
        assert_eq!(events[0]["data"]["error"], "exited with status 4");
        assert_eq!(events[0]["level"], "WARNING");
        assert!(events.iter().any(|e| e["node_id"] == "n2"));
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("hook 1 (run exit 4) failed on node_failed"));
    }

    #[test]
    fn settle_waits_for_the_hooks_so_far_and_keeps_accepting_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let script = "sleep 0.2; echo $TRIDENT_NODE_ID >> log";
        let runner = HookRunner::new(
            vec![hook(script, 10_000)],
            dir.path().into(),
            Notices::capture().0,
        );
        runner.submit(job(1));
        runner.submit(job(2));
        runner.settle_fn()();
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
        assert_eq!(log.lines().count(), 2, "{log}");
        // Not ended: a later event's hook still runs.
        runner.submit(job(3));
        runner.finish();
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
        assert!(log.lines().any(|l| l == "n3"), "{log}");
    }

    #[test]
    fn a_hanging_hook_is_bounded_by_its_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let (notices, lines) = Notices::capture();
        let runner = HookRunner::new(vec![hook("sleep 60", 300)], dir.path().into(), notices);
        let started = Instant::now();
        runner.submit(job(1));
        runner.finish();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let lines = lines.lock().unwrap();
        assert!(lines[0].contains("timed out"), "{lines:?}");
    }
}
