//! The checkpoint folder: one thread per run (with artifacts) that folds the checkpoint
//! journal into `checkpoint.json` whenever something was recorded, at most every
//! [`FOLD_INTERVAL`], so readers of `checkpoint.json` (the dashboard) are never more than
//! that behind, even while a long node runs, and a chain of a thousand quick levels does
//! not rewrite the file a thousand times.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::console::Console;
use crate::artifacts::CheckpointStore;
use crate::artifacts::checkpoint::FOLD_INTERVAL;

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
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(FOLD_INTERVAL) {
                    let result = checkpoint
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .fold_if_dirty();
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
