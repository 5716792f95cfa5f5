//! Ctrl-C and SIGTERM: the top-level run installs a hook that marks its checkpoint and run
//! index `interrupted`, writes `workflow_interrupted` and flushes telemetry; the signal
//! thread (installed by the CLI) runs it, then the process exits with 130.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::context::RunContext;
use crate::artifacts::{RunIndexFile, now_iso};
use crate::telemetry::Event;

type Hook = Box<dyn FnMut(&'static str) + Send>;

/// A replaceable slot for the running workflow's interruption handler.
#[derive(Clone, Default)]
pub struct InterruptHook {
    slot: Arc<Mutex<Option<Hook>>>,
}

impl InterruptHook {
    /// Install `hook`, replacing any previous one.
    pub fn install(&self, hook: impl FnMut(&'static str) + Send + 'static) {
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(hook));
    }

    /// Remove the hook (the run finished normally).
    pub fn clear(&self) {
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Run the hook, if any, with the signal's name (`SIGINT`, `SIGTERM`).
    pub fn fire(&self, signal: &'static str) -> bool {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_mut() {
            Some(hook) => {
                hook(signal);
                true
            }
            None => false,
        }
    }
}

/// Whether `signal` is set to be ignored (`SIG_IGN`), e.g. SIGHUP under `nohup`.
fn signal_ignored(signal: i32) -> bool {
    // SAFETY: a query only (no new action), with a zeroed out-parameter of the right type.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_IGN
    }
}

/// Start the thread that turns SIGINT/SIGTERM/SIGHUP into an orderly interruption: set the flag,
/// run the hook, call `before_exit` with the signal's name (flush telemetry, tell the user),
/// exit 130. A second signal exits at
/// once.
pub fn install_signal_handler(
    runtime: &super::context::Runtime,
    before_exit: impl Fn(&'static str) + Send + 'static,
) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    // SIGHUP too (a closed terminal should leave a resumable run, not a `running` one),
    // unless it is ignored, as under `nohup`: that choice is the caller's to keep.
    let mut wanted = vec![SIGINT, SIGTERM];
    if !signal_ignored(SIGHUP) {
        wanted.push(SIGHUP);
    }
    let Ok(mut signals) = signal_hook::iterator::Signals::new(wanted) else {
        return;
    };
    let flag = runtime.interrupted.clone();
    let hook = runtime.interrupt_hook.clone();
    std::thread::Builder::new()
        .name("trident-signals".into())
        .spawn(move || {
            let Some(signal) = signals.forever().next() else {
                return;
            };
            let name = match signal {
                SIGTERM => "SIGTERM",
                SIGHUP => "SIGHUP",
                _ => "SIGINT",
            };
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            // A second signal while the hook runs exits at once.
            std::thread::spawn(move || {
                if signals.forever().next().is_some() {
                    std::process::exit(130);
                }
            });
            // Give the agent CLIs time to stop what they run (their nodes see the flag and
            // stop them politely, killing what they leave), record the interruption
            // (checkpoint, run index, event), flush it, then kill the tools and anything
            // left (their own process groups) and leave. The run's thread sees the flag and
            // writes nothing more (see `run_workflow`).
            crate::process_group::stop_graceful();
            hook.fire(name);
            before_exit(name);
            crate::process_group::stop_all();
            std::process::exit(130);
        })
        .ok();
}

/// On Ctrl-C / SIGTERM: checkpoint `interrupted` (folded, resumable, with the run's whole
/// spend so far in `total_cost_usd`), run index updated, `workflow_interrupted` emitted. Telemetry is flushed by the caller of the hook.
pub fn install_run_hook(ctx: &RunContext, clock: Instant) {
    let checkpoint = ctx.checkpoint.clone();
    let tel = ctx.tel.clone();
    let index = ctx.store.as_ref().map(|s| RunIndexFile::new(s.base_dir()));
    let run_id = ctx.run_id.clone();
    let name = ctx.project.name.clone();
    let spend = ctx.spend.clone();
    ctx.runtime.interrupt_hook.install(move |signal| {
        {
            let mut cp = checkpoint.lock().unwrap_or_else(|e| e.into_inner());
            cp.state_mut().status = "interrupted".into();
            cp.state_mut().updated_at = now_iso();
            // Everything spent so far, also by nodes that will not complete (a branch loop's
            // finished iterations, a call answered before the signal): the process exits
            // now, so nothing is journaled after this fold and nothing counts twice.
            let spent = spend.total().max(cp.state().total_cost_usd);
            cp.state_mut().total_cost_usd = spent;
            let _ = cp.fold();
        }
        if let Some(index) = &index {
            let _ = index.finish(
                &run_id,
                "interrupted",
                Some(false),
                Some(format!("Interrupted by {signal}")),
                now_iso(),
            );
        }
        tel.emit(None, || Event::WorkflowInterrupted {
            name: name.clone(),
            signal: signal.to_string(),
            duration_ms: clock.elapsed().as_millis() as u64,
        });
    });
}
