//! The checkpoint folder: one thread per run (with artifacts) that folds the checkpoint
//! journal into `checkpoint.json` whenever something was recorded, at most every
//! [`FOLD_INTERVAL`], so readers of `checkpoint.json` (the dashboard) are never more than
//! that behind, even while a long node runs, and a chain of a thousand quick levels does
//! not rewrite the file a thousand times. A big checkpoint takes long to write (and holds
//! the store's lock meanwhile): the pause after a fold is at least [`PAUSE_PER_FOLD_TIME`]
//! times what that fold took, so folding costs at most about a tenth of the run however
//! big the checkpoint grows (a fixed interval made a 100 000-node run quadratic).

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::console::Console;
use crate::artifacts::CheckpointStore;
use crate::artifacts::checkpoint::FOLD_INTERVAL;

/// The pause after a fold, in multiples of the time that fold took (when longer than
/// [`FOLD_INTERVAL`]).
pub const PAUSE_PER_FOLD_TIME: u32 = 9;

/// How long to wait before the next fold, after one that took `took`.
fn pause_after(took: Duration) -> Duration {
    FOLD_INTERVAL.max(took.saturating_mul(PAUSE_PER_FOLD_TIME))
}

/// The running folder thread; [`CheckpointFolder::stop`] ends it.
pub struct CheckpointFolder {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl CheckpointFolder {
    /// Start folding `checkpoint` (a no-op folder when it is not persisted).
    pub fn start(
        checkpoint: &Arc<Mutex<CheckpointStore>>,
        persisted: bool,
        console: &Console,
    ) -> CheckpointFolder {
        if !persisted {
            return CheckpointFolder {
                stop: None,
                thread: None,
            };
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let checkpoint = Arc::clone(checkpoint);
        let console = *console;
        let thread = std::thread::Builder::new()
            .name("trident-checkpoint".into())
            .spawn(move || {
                let mut warned = false;
                let mut pause = FOLD_INTERVAL;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(pause) {
                    let started = Instant::now();
                    let result = checkpoint
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .fold_if_dirty();
                    pause = pause_after(started.elapsed());
                    if let Err(e) = result
                        && !warned
                    {
                        warned = true;
                        console.warn(format!("could not write the checkpoint: {e}"));
                    }
                }
            })
            .ok();
        CheckpointFolder {
            stop: Some(stop),
            thread,
        }
    }

    /// Stop the thread and wait for it (the run then does its final fold itself).
    pub fn stop(mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_folds_are_spaced_out_in_proportion() {
        assert_eq!(pause_after(Duration::from_millis(1)), FOLD_INTERVAL);
        assert_eq!(
            pause_after(Duration::from_millis(500)),
            Duration::from_millis(4500)
        );
    }
}
