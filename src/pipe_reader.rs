//! Draining a child's output pipe on its own thread into a buffer that can be read at any
//! time (so no pipe ever fills up and blocks the child), keeping everything or only the
//! last bytes. Shared by the tool runners (stdout and stderr) and the agent CLI (stderr).

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Instant;

use crate::tail_buffer::TailBuffer;

/// One output pipe, drained by its own thread.
pub struct PipeReader {
    buffer: Arc<Mutex<TailBuffer>>,
    /// Disconnects when the reading thread ends (end of file or read error).
    done: Receiver<()>,
}

fn lock(buffer: &Mutex<TailBuffer>) -> MutexGuard<'_, TailBuffer> {
    // Only appends and drains run under this lock; a poisoned buffer is still a valid buffer.
    buffer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl PipeReader {
    /// Start draining `pipe` (nothing to drain when `None`), keeping everything, or only the
    /// last `tail` bytes.
    pub fn start(pipe: Option<impl Read + Send + 'static>, tail: Option<usize>) -> PipeReader {
        let buffer = Arc::new(Mutex::new(TailBuffer::new(tail)));
        let (done_sender, done) = mpsc::channel::<()>();
        if let Some(mut pipe) = pipe {
            let buffer = Arc::clone(&buffer);
            thread::spawn(move || {
                let _done_on_drop = done_sender;
                let mut chunk = [0u8; 8192];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(read) => lock(&buffer).push(&chunk[..read]),
                        Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    }
                }
            });
        }
        PipeReader { buffer, done }
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
        std::mem::take(&mut *lock(&self.buffer)).into_tail()
    }

    /// The kept bytes as trimmed text, after waiting (until `deadline` at most) for end of
    /// file; the reader stays usable.
    pub fn snapshot(&self, deadline: Instant) -> String {
        self.wait(deadline);
        String::from_utf8_lossy(lock(&self.buffer).tail())
            .trim()
            .to_string()
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
