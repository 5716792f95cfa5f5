//! The running Claude CLI: started in its own process group (and, on Linux, as a child
//! subreaper: see `leftovers`), its stdout read line by line on a thread as the lines arrive
//! (handed over through a channel bounded in lines and in bytes: lines read ahead of the
//! consumer hold at most about twice the output limit), the last few KB of its stderr kept
//! by another thread for error messages, its stdin (when the prompt goes there) written by a
//! third.
//!
//! Stopping it ([`AgentProcess::stop`], on timeout, interruption or drop) is polite first:
//! `SIGTERM` to its group, so the CLI can stop the commands it runs in sessions of their own;
//! `SIGKILL` to the group after [`STOP_GRACE`] at most; then every process it started that
//! is still alive is killed ([`AgentProcess::kill_leftovers`], also called after a normal
//! exit), and the CLI is reaped. So no CLI, tool process or zombie outlives the node.
//!
//! The own process group means a Ctrl-C at the terminal reaches trident, not the CLI: the
//! CLI is listed in `crate::process_group` while alive, for `stop_all` on the way out, and
//! `run_agent_cancellable` stops it when asked. Tool processes behave the same way.

use std::io::{self, BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::leftovers::Leftovers;
use crate::output_limit::OutputLimit;
use crate::pipe_reader::PipeReader;
use crate::process_group;

/// Stderr bytes kept for error messages (the end of it, where the reason usually is).
pub const STDERR_TAIL: usize = 4096;
/// Lines read ahead of the consumer before the reader waits (and the CLI with it).
const LINE_QUEUE: usize = 256;
/// Longest pause between two checks of the child once its stdout has closed.
const MAX_POLL_PAUSE: Duration = Duration::from_millis(50);
/// How long a stopped CLI gets between `SIGTERM` and `SIGKILL` to stop what it runs.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// One item of the CLI's stdout.
#[derive(Debug)]
pub enum StdoutItem {
    /// A line (without its end of line; invalid UTF-8 replaced).
    Line(String),
    /// A line over the [`OutputLimit`], skipped unread into memory; `head` is its beginning.
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

/// Bytes of stdout lines read but not yet taken by the consumer, and whether the consumer is
/// gone. The reader waits while a line would take them over the budget (unless nothing is in
/// flight: one line always passes), so a CLI writing many long lines cannot fill memory.
#[derive(Default)]
struct InFlight {
    state: Mutex<(usize, bool)>,
    changed: Condvar,
}

impl InFlight {
    /// Waits until `bytes` more fit in `budget`; false when the consumer is gone.
    fn acquire(&self, bytes: usize, budget: usize) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !state.1 && state.0 > 0 && state.0 + bytes > budget {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.0 += bytes;
        !state.1
    }

    fn release(&self, bytes: usize) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 = state.0.saturating_sub(bytes);
        self.changed.notify_all();
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.changed.notify_all();
    }
}

impl StdoutItem {
    /// The bytes it holds.
    fn size(&self) -> usize {
        match self {
            StdoutItem::Line(line) => line.len(),
            StdoutItem::TooLong { head, .. } => head.len(),
            StdoutItem::ReadError(error) => error.len(),
        }
    }
}

/// A started CLI process.
pub struct AgentProcess {
    child: Child,
    lines: Receiver<StdoutItem>,
    in_flight: Arc<InFlight>,
    stderr: PipeReader,
    /// Set once the child has been waited for (it can no longer become a zombie).
    status: Option<ExitStatus>,
    /// Its process group (its pid), while it is in the registry of running CLIs.
    group: Option<i32>,
    /// Kills the group if trident dies, or when the node is done with the CLI.
    _watch: crate::death_watch::DeathWatch,
    /// What it started, as noted so far.
    leftovers: Leftovers,
}

impl AgentProcess {
    /// Starts `command` in a new process group, with `stdin` as its whole input (`None`:
    /// no input at all); stdout lines over `limit` are skipped (bounding memory whatever the
    /// CLI prints).
    pub fn spawn(
        mut command: Command,
        stdin: Option<String>,
        limit: OutputLimit,
    ) -> io::Result<AgentProcess> {
        become_subreaper(&mut command);
        let process_group::GroupChild {
            mut child,
            group,
            watch,
        } = process_group::spawn(command, stdin.map(String::into_bytes))?;
        if let Some(group) = group {
            // Ctrl-C gives it time to stop what it runs (see `process_group::stop_graceful`).
            process_group::mark_graceful(group);
        }
        let (sender, lines) = mpsc::sync_channel(LINE_QUEUE);
        let in_flight = Arc::new(InFlight::default());
        if let Some(stdout) = child.stdout.take() {
            let in_flight = Arc::clone(&in_flight);
            thread::spawn(move || read_lines(stdout, limit.bytes(), &in_flight, sender));
        }
        let stderr = PipeReader::start(child.stderr.take(), Some(STDERR_TAIL));
        Ok(AgentProcess {
            child,
            lines,
            in_flight,
            stderr,
            status: None,
            group,
            _watch: watch,
            leftovers: Leftovers::default(),
        })
    }

    /// Notes the processes the CLI has started so far (see `leftovers`); call while it
    /// runs, e.g. when it reports its result, just before it exits.
    pub fn note_descendants(&mut self) {
        if self.status.is_none() {
            self.leftovers.note_descendants(self.child.id() as i32);
        }
    }

    /// Kills every process the CLI started (as noted) that is still alive; returns how many.
    pub fn kill_leftovers(&self) -> usize {
        self.leftovers.kill_all()
    }

    /// After the CLI has exited: kills what it left running and takes it out of the
    /// registry of running CLIs.
    pub fn finish(&mut self) {
        self.kill_leftovers();
        self.forget();
    }

    /// The next stdout item, waiting at most `wait`.
    pub fn next(&self, wait: Duration) -> Next {
        match self.lines.recv_timeout(wait) {
            Ok(item) => {
                self.in_flight.release(item.size());
                Next::Item(item)
            }
            Err(RecvTimeoutError::Timeout) => Next::Idle,
            Err(RecvTimeoutError::Disconnected) => Next::Closed,
        }
    }

    /// The exit status, if the CLI has exited (never blocks).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.child.try_wait()?;
        }
        Ok(self.status)
    }

    /// Takes the CLI out of the registry of running CLIs, once it has exited and what it left
    /// running has been killed (an interrupted trident waits for that before exiting).
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

    /// Stops the CLI: `SIGTERM` to its group, up to `grace` for it to exit, `SIGKILL` to
    /// the group, then everything it started that is still alive; reaps the CLI.
    pub fn stop(&mut self, grace: Duration) {
        if self.status.is_none() {
            self.note_descendants();
            if let Some(group) = self.group {
                process_group::terminate_group(group);
            }
            let deadline = Instant::now() + grace;
            let mut next_note = Instant::now() + Duration::from_millis(100);
            while self.status.is_none() && Instant::now() < deadline {
                if self.try_wait().ok().flatten().is_some() {
                    break;
                }
                if Instant::now() >= next_note {
                    // What it starts while stopping (its cleanup) is noted too.
                    self.note_descendants();
                    next_note = Instant::now() + Duration::from_millis(100);
                }
                thread::sleep(Duration::from_millis(10));
            }
            if self.status.is_none() {
                self.note_descendants();
                if let Some(group) = self.group {
                    process_group::kill_group(group);
                }
                let _ = self.child.kill();
                self.status = self.child.wait().ok();
            }
        }
        // Reaped: its pid (and group id) may belong to someone else by now, so only what
        // was noted, by pid and start time, or by session and group, is killed.
        self.kill_leftovers();
        self.forget();
    }

    /// [`stop`](Self::stop) without a grace period: `SIGKILL` at once.
    pub fn kill(&mut self) {
        self.stop(Duration::ZERO);
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
        // A reader waiting for room stops: nobody will take its lines.
        self.in_flight.close();
        if self.status.is_none() {
            self.kill();
        }
        self.forget();
    }
}

/// Makes the CLI a child subreaper once started (Linux; see `leftovers`): orphans of what it
/// starts become its children, so they stay in its process tree.
fn become_subreaper(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the forked child before exec and only calls prctl,
        // which is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

fn read_lines(
    stdout: impl Read,
    max_line: usize,
    in_flight: &InFlight,
    sender: SyncSender<StdoutItem>,
) {
    let mut reader = BufReader::new(stdout);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        let read = (&mut reader)
            .take(max_line as u64 + 1)
            .read_until(b'\n', &mut buffer);
        let item = match read {
            Ok(0) => return,
            Ok(_) if buffer.len() > max_line && buffer.last() != Some(&b'\n') => {
                let mut bytes = buffer.len();
                let rest = reader.skip_until(b'\n');
                bytes += rest.unwrap_or(0);
                let head = String::from_utf8_lossy(&buffer[..buffer.len().min(200)]).into_owned();
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
        // Lines read ahead hold at most about twice the longest line accepted.
        if !in_flight.acquire(item.size(), max_line.saturating_mul(2)) {
            return;
        }
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
        let mut process = AgentProcess::spawn(
            sh("echo one; sleep 6; echo two"),
            None,
            OutputLimit::default(),
        )
        .unwrap();
        let started = Instant::now();
        match process.next(Duration::from_secs(5)) {
            Next::Item(StdoutItem::Line(line)) => assert_eq!(line, "one"),
            other => panic!("{other:?}"),
        }
        // Long before the `sleep` ends, whatever the machine's load.
        assert!(
            started.elapsed() < Duration::from_secs(5),
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
            OutputLimit::default(),
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
        let mut process = AgentProcess::spawn(
            sh("sleep 30 & sleep 30; echo never"),
            None,
            OutputLimit::default(),
        )
        .unwrap();
        let started = Instant::now();
        process.kill();
        assert!(process.try_wait().unwrap().is_some(), "reaped");
        // The background `sleep` held stdout: it closes only if the whole group died.
        assert!(matches!(process.next(Duration::from_secs(5)), Next::Closed));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn stop_is_polite_then_kills_what_escaped_into_other_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("cleaned");
        // Like the CLI: runs a command in a session of its own (whose orphan is re-parented
        // to it, the subreaper), and cleans up on SIGTERM before exiting.
        let script = format!(
            "trap 'touch {}; exit 0' TERM; setsid sh -c '(sleep 40 &); sleep 41' & echo started; \
             while :; do sleep 0.05; done",
            marker.display()
        );
        let mut process = AgentProcess::spawn(sh(&script), None, OutputLimit::default()).unwrap();
        assert!(
            matches!(process.next(Duration::from_secs(10)), Next::Item(StdoutItem::Line(l)) if l == "started")
        );
        std::thread::sleep(Duration::from_millis(300));
        let sleeps = sleeping_descendants(process.id() as i32);
        assert_eq!(
            sleeps.len(),
            2,
            "both sleeps are in the CLI's tree: {sleeps:?}"
        );
        process.stop(Duration::from_secs(5));
        assert!(
            marker.exists(),
            "SIGTERM came first: the CLI could clean up"
        );
        // SIGKILL is delivered asynchronously: give it a moment.
        let deadline = Instant::now() + Duration::from_secs(3);
        for pid in sleeps {
            while alive(pid) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(10));
            }
            assert!(!alive(pid), "process {pid} outlived the agent");
        }
    }

    #[cfg(target_os = "linux")]
    fn sleeping_descendants(root: i32) -> Vec<i32> {
        let mut found = Vec::new();
        let mut parents = vec![root];
        while let Some(parent) = parents.pop() {
            for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
                let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
                    continue;
                };
                let ppid: i32 = rest
                    .split(' ')
                    .nth(1)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                if ppid == parent {
                    parents.push(pid);
                    let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                    if cmdline == b"sleep\x0040\x00" || cmdline == b"sleep\x0041\x00" {
                        found.push(pid);
                    }
                }
            }
        }
        found
    }

    #[cfg(target_os = "linux")]
    fn alive(pid: i32) -> bool {
        // Gone, or a zombie waiting for its (re)parent.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat[stat.rfind(')').unwrap() + 2..].starts_with('Z'))
    }

    #[test]
    fn live_clis_are_registered_until_reaped() {
        let mut process =
            AgentProcess::spawn(sh("sleep 30"), None, OutputLimit::default()).unwrap();
        let group = i32::try_from(process.id()).unwrap();
        assert!(process_group::is_registered(group));
        process.kill();
        assert!(!process_group::is_registered(group));
        let mut quick = AgentProcess::spawn(sh("exit 0"), None, OutputLimit::default()).unwrap();
        let group = i32::try_from(quick.id()).unwrap();
        assert!(quick.wait_until(None).unwrap().is_some());
        assert!(
            process_group::is_registered(group),
            "until its leftovers are gone"
        );
        quick.finish();
        assert!(!process_group::is_registered(group));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn drop_kills_a_running_cli() {
        let process = AgentProcess::spawn(sh("sleep 30"), None, OutputLimit::default()).unwrap();
        let pid = process.id();
        drop(process);
        // Reaped: no such process (not even a zombie) any more.
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn a_line_over_the_limit_is_skipped_and_the_next_one_read() {
        let process = AgentProcess::spawn(
            sh("echo first; head -c 5000 /dev/zero | tr '\\0' x; echo; echo after"),
            None,
            OutputLimit::new(2048),
        )
        .unwrap();
        let mut items = Vec::new();
        while let Next::Item(item) = process.next(Duration::from_secs(10)) {
            items.push(item);
        }
        assert!(matches!(&items[0], StdoutItem::Line(l) if l == "first"));
        match &items[1] {
            StdoutItem::TooLong { bytes, head } => {
                assert_eq!(*bytes, 5001);
                assert_eq!(head.len(), 200);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&items[2], StdoutItem::Line(l) if l == "after"));
        assert_eq!(items.len(), 3);
    }

    #[test]
    fn lines_read_ahead_are_bounded_in_bytes_and_a_dropped_consumer_frees_the_reader() {
        let in_flight = Arc::new(InFlight::default());
        assert!(
            in_flight.acquire(100, 150),
            "nothing in flight: one line always passes"
        );
        let waiting = {
            let in_flight = Arc::clone(&in_flight);
            thread::spawn(move || in_flight.acquire(100, 150))
        };
        thread::sleep(Duration::from_millis(100));
        assert!(!waiting.is_finished(), "a second line waits for room");
        in_flight.release(100);
        assert!(waiting.join().unwrap());
        let blocked = {
            let in_flight = Arc::clone(&in_flight);
            thread::spawn(move || in_flight.acquire(100, 150))
        };
        thread::sleep(Duration::from_millis(50));
        in_flight.close();
        assert!(!blocked.join().unwrap(), "closed: the reader stops");
    }
}
