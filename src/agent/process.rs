//! The running Claude CLI: started in its own process group, its stdout read line by line on
//! a thread as the lines arrive (handed over through a bounded channel), the last few KB of
//! its stderr kept by another thread for error messages, its stdin (when the prompt goes
//! there) written by a third, and the whole group killed and the child reaped on timeout,
//! interruption or drop, so no CLI, tool process or zombie outlives the node.
//!
//! The own process group means a Ctrl-C at the terminal reaches trident, not the CLI: the
//! CLI is listed in `crate::process_group` while alive, for `stop_all` on the way out, and
//! `run_agent_cancellable` stops it when asked. Tool processes behave the same way.

use std::io::{self, BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread;
use std::time::{Duration, Instant};

use crate::pipe_reader::PipeReader;
use crate::process_group;

/// Stderr bytes kept for error messages (the end of it, where the reason usually is).
pub const STDERR_TAIL: usize = 4096;
/// Longest stdout line read; a longer one is skipped (bounds memory whatever the CLI prints).
pub const MAX_LINE: usize = 64 * 1024 * 1024;
/// Lines read ahead of the consumer before the reader waits (and the CLI with it).
const LINE_QUEUE: usize = 256;
/// Longest pause between two checks of the child once its stdout has closed.
const MAX_POLL_PAUSE: Duration = Duration::from_millis(50);

/// One item of the CLI's stdout.
#[derive(Debug)]
pub enum StdoutItem {
    /// A line (without its end of line; invalid UTF-8 replaced).
    Line(String),
    /// A line over [`MAX_LINE`] bytes, skipped; `head` is its beginning.
    TooLong { bytes: usize, head: String },
    /// Reading failed; nothing more will come.
    ReadError(String),
}

/// What waiting for the next stdout item gave.
#[derive(Debug)]
pub enum Next {
    Item(StdoutItem),
    /// Stdout closed: the CLI (and everything it started) is done writing.
    Closed,
    /// Nothing within the wait.
    Idle,
}

/// A started CLI process.
pub struct AgentProcess {
    child: Child,
    lines: Receiver<StdoutItem>,
    stderr: PipeReader,
    /// Set once the child has been waited for (it can no longer become a zombie).
    status: Option<ExitStatus>,
    /// Its process group (its pid), while it is in the registry of running CLIs.
    group: Option<i32>,
    /// Kills the group if trident dies, or when the node is done with the CLI.
    _watch: crate::death_watch::DeathWatch,
}

impl AgentProcess {
    /// Starts `command` in a new process group, with `stdin` as its whole input (`None`:
    /// no input at all).
    pub fn spawn(command: Command, stdin: Option<String>) -> io::Result<AgentProcess> {
        let process_group::GroupChild {
            mut child,
            group,
            watch,
        } = process_group::spawn(command, stdin.map(String::into_bytes))?;
        let (sender, lines) = mpsc::sync_channel(LINE_QUEUE);
        if let Some(stdout) = child.stdout.take() {
            thread::spawn(move || read_lines(stdout, sender));
        }
        let stderr = PipeReader::start(child.stderr.take(), Some(STDERR_TAIL));
        Ok(AgentProcess {
            child,
            lines,
            stderr,
            status: None,
            group,
            _watch: watch,
        })
    }

    /// The next stdout item, waiting at most `wait`.
    pub fn next(&self, wait: Duration) -> Next {
        match self.lines.recv_timeout(wait) {
            Ok(item) => Next::Item(item),
            Err(RecvTimeoutError::Timeout) => Next::Idle,
            Err(RecvTimeoutError::Disconnected) => Next::Closed,
        }
    }

    /// The exit status, if the CLI has exited (never blocks).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.child.try_wait()?;
            if self.status.is_some() {
                self.forget();
            }
        }
        Ok(self.status)
    }

    /// Takes the CLI out of the registry of running CLIs (it has exited or is being killed).
    fn forget(&mut self) {
        if let Some(group) = self.group.take() {
            process_group::unregister(group);
        }
    }

    /// Waits for the CLI to exit, until `deadline` at most (`None`: it was still running);
    /// without a deadline, as long as it takes.
    pub fn wait_until(&mut self, deadline: Option<Instant>) -> io::Result<Option<ExitStatus>> {
        let Some(deadline) = deadline else {
            if self.status.is_none() {
                self.status = Some(self.child.wait()?);
                self.forget();
            }
            return Ok(self.status);
        };
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(Some(status));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(MAX_POLL_PAUSE);
        }
    }

    /// Kills the CLI's whole process group and reaps the CLI.
    pub fn kill(&mut self) {
        if self.status.is_some() {
            // Reaped: its pid (and group id) may belong to someone else by now. Anything it
            // left behind in the group still holds our pipes; the reader threads end with it.
            return;
        }
        if let Some(group) = self.group {
            process_group::kill_group(group);
        }
        let _ = self.child.kill();
        self.forget();
        self.status = self.child.wait().ok();
    }

    /// The process id (also its process group id).
    #[cfg(test)]
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The end of what the CLI wrote to stderr, waiting until `deadline` at most for the
    /// pipe to close.
    pub fn stderr_tail(&self, deadline: Instant) -> String {
        self.stderr.snapshot(deadline)
    }
}

impl Drop for AgentProcess {
    /// An early return (error, panic) never leaves the CLI running or unreaped.
    fn drop(&mut self) {
        if self.status.is_none() {
            self.kill();
        }
    }
}

fn read_lines(stdout: impl Read, sender: SyncSender<StdoutItem>) {
    let mut reader = BufReader::new(stdout);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buffer);
        let item = match read {
            Ok(0) => return,
            Ok(_) if buffer.len() > MAX_LINE && buffer.last() != Some(&b'\n') => {
                let mut bytes = buffer.len();
                let rest = reader.skip_until(b'\n');
                bytes += rest.unwrap_or(0);
                let head = String::from_utf8_lossy(&buffer[..200]).into_owned();
                StdoutItem::TooLong { bytes, head }
            }
            Ok(_) => {
                while matches!(buffer.last(), Some(b'\n' | b'\r')) {
                    buffer.pop();
                }
                StdoutItem::Line(String::from_utf8_lossy(&buffer).into_owned())
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => StdoutItem::ReadError(error.to_string()),
        };
        let stop = matches!(item, StdoutItem::ReadError(_));
        // The receiver is gone when the run has ended (timeout, failure): stop reading.
        if sender.send(item).is_err() || stop {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        command
    }

    fn collect(process: &AgentProcess) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            match process.next(Duration::from_secs(10)) {
                Next::Item(StdoutItem::Line(line)) => lines.push(line),
                Next::Item(other) => lines.push(format!("{other:?}")),
                Next::Closed => return lines,
                Next::Idle => panic!("no output within 10 s"),
            }
        }
    }

    #[test]
    fn lines_arrive_as_they_are_written() {
        let mut process = AgentProcess::spawn(sh("echo one; sleep 2; echo two"), None).unwrap();
        let started = Instant::now();
        match process.next(Duration::from_secs(5)) {
            Next::Item(StdoutItem::Line(line)) => assert_eq!(line, "one"),
            other => panic!("{other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "first line was held back"
        );
        assert_eq!(collect(&process), ["two"]);
        assert!(
            process
                .wait_until(Some(Instant::now() + Duration::from_secs(5)))
                .unwrap()
                .unwrap()
                .success()
        );
    }

    #[test]
    fn stdin_crlf_invalid_utf8_and_stderr_tail() {
        let mut process = AgentProcess::spawn(
            sh("cat; printf 'a\\r\\n\\377b\\nlast'; head -c 10000 /dev/zero | tr '\\0' x >&2; echo END >&2"),
            Some("from stdin\n".into()),
        )
        .unwrap();
        assert_eq!(collect(&process), ["from stdin", "a", "\u{fffd}b", "last"]);
        process
            .wait_until(Some(Instant::now() + Duration::from_secs(5)))
            .unwrap();
        let tail = process.stderr_tail(Instant::now() + Duration::from_secs(5));
        assert!(tail.ends_with("xxEND"), "{}", &tail[tail.len() - 10..]);
        assert!(tail.len() <= STDERR_TAIL);
    }

    #[test]
    fn kill_stops_the_whole_group_and_reaps() {
        let mut process = AgentProcess::spawn(sh("sleep 30 & sleep 30; echo never"), None).unwrap();
        let started = Instant::now();
        process.kill();
        assert!(process.try_wait().unwrap().is_some(), "reaped");
        // The background `sleep` held stdout: it closes only if the whole group died.
        assert!(matches!(process.next(Duration::from_secs(5)), Next::Closed));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn live_clis_are_registered_until_reaped() {
        let mut process = AgentProcess::spawn(sh("sleep 30"), None).unwrap();
        let group = i32::try_from(process.id()).unwrap();
        assert!(process_group::is_registered(group));
        process.kill();
        assert!(!process_group::is_registered(group));
        let mut quick = AgentProcess::spawn(sh("exit 0"), None).unwrap();
        let group = i32::try_from(quick.id()).unwrap();
        assert!(quick.wait_until(None).unwrap().is_some());
        assert!(!process_group::is_registered(group));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn drop_kills_a_running_cli() {
        let process = AgentProcess::spawn(sh("sleep 30"), None).unwrap();
        let pid = process.id();
        drop(process);
        // Reaped: no such process (not even a zombie) any more.
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    }
}
