//! Draining a child's output pipe on its own thread into a buffer that can be read at any
//! time (so no pipe ever fills up and blocks the child), keeping everything or only the
//! last bytes. Shared by the tool runners (stdout and stderr) and the agent CLI (stderr).

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Instant;

/// One output pipe, drained by its own thread.
pub struct PipeReader {
    buffer: Arc<Mutex<Vec<u8>>>,
    /// Disconnects when the reading thread ends (end of file or read error).
    done: Receiver<()>,
    /// Keep at most the last this many bytes (`None`: everything).
    tail: Option<usize>,
}

fn lock(buffer: &Mutex<Vec<u8>>) -> MutexGuard<'_, Vec<u8>> {
    // Only appends and drains run under this lock; a poisoned buffer is still a valid buffer.
    buffer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl PipeReader {
    /// Start draining `pipe` (nothing to drain when `None`), keeping everything, or only the
    /// last `tail` bytes.
    pub fn start(pipe: Option<impl Read + Send + 'static>, tail: Option<usize>) -> PipeReader {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let (done_sender, done) = mpsc::channel::<()>();
        if let Some(mut pipe) = pipe {
            let buffer = Arc::clone(&buffer);
            thread::spawn(move || {
                let _done_on_drop = done_sender;
                let mut chunk = [0u8; 8192];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(read) => {
                            let mut kept = lock(&buffer);
                            kept.extend_from_slice(&chunk[..read]);
                            // Trim in halves, not per read, so trimming stays cheap.
                            if let Some(tail) = tail
                                && kept.len() > 2 * tail
                            {
                                let cut = kept.len() - tail;
                                kept.drain(..cut);
                            }
                        }
                        Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    }
                }
            });
        }
        PipeReader { buffer, done, tail }
    }

    /// Wait (until `deadline` at most) for end of file.
    fn wait(&self, deadline: Instant) {
        let _ = self
            .done
            .recv_timeout(deadline.saturating_duration_since(Instant::now()));
    }

    /// Everything kept, after waiting (until `deadline` at most) for end of file.
    pub fn finish(self, deadline: Instant) -> Vec<u8> {
        self.wait(deadline);
        let mut kept = std::mem::take(&mut *lock(&self.buffer));
        if let Some(tail) = self.tail {
            let cut = kept.len().saturating_sub(tail);
            kept.drain(..cut);
        }
        kept
    }

    /// The kept bytes as trimmed text, after waiting (until `deadline` at most) for end of
    /// file; the reader stays usable.
    pub fn snapshot(&self, deadline: Instant) -> String {
        self.wait(deadline);
        let kept = lock(&self.buffer);
        let start = self.tail.map_or(0, |tail| kept.len().saturating_sub(tail));
        String::from_utf8_lossy(&kept[start..]).trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn keeps_everything_or_the_tail() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        let all = PipeReader::start(Some(io::Cursor::new(data.clone())), None);
        assert_eq!(all.finish(Instant::now() + Duration::from_secs(5)), data);
        let tail = PipeReader::start(Some(io::Cursor::new(data.clone())), Some(100));
        assert_eq!(
            tail.finish(Instant::now() + Duration::from_secs(5)),
            data[data.len() - 100..]
        );
        let text = PipeReader::start(Some(io::Cursor::new(b"  hello \n".to_vec())), Some(4096));
        assert_eq!(
            text.snapshot(Instant::now() + Duration::from_secs(5)),
            "hello"
        );
        let none = PipeReader::start(None::<io::Cursor<Vec<u8>>>, None);
        assert!(none.finish(Instant::now()).is_empty());
    }
}
