//! Running one shell tool process to completion on the calling thread: its stdout and stderr
//! read as they come (so no pipe can fill up and deadlock), its stderr lines and its
//! `$TRIDENT_EVENTS` file reported live to a [`ToolObserver`], an optional timeout that kills
//! the whole process tree, and the child always reaped (no zombies).
//!
//! The child leads a new process group (so a timeout kills what it started too: a pipeline,
//! helper processes) with a [`crate::death_watch::DeathWatch`], so it dies with trident even on
//! `kill -9`. stdin is `/dev/null` (or given bytes, for event hooks). A Ctrl-C at the terminal reaches trident but not the tool;
//! the interruption path stops it.
//!
//! Memory stays bounded by an [`OutputLimit`]: stdout (the result) over it stops the process
//! ([`ProcessFailure::OutputTooLarge`]); of stderr only the last `limit` bytes are kept.

use std::io::{self, Read};
use std::os::fd::AsFd;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus};
use std::time::{Duration, Instant};

use super::events_file::EventsFile;
use super::observer::{OutputLines, ToolObserver};
use super::readiness::{time_left, wait_readable};
use crate::output_limit::OutputLimit;
use crate::tail_buffer::TailBuffer;

/// How long, after the tool process has ended, its stdout/stderr may stay open before we stop
/// reading them. Pipes close when the process exits unless something it left running in the
/// background still holds them; such output is collected for this long only, so a leftover
/// background process cannot hang the run.
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// How often the child's exit and the events file are checked while its pipes stay quiet.
const TICK: Duration = Duration::from_millis(10);

/// What a finished tool process produced.
#[derive(Debug)]
pub struct FinishedProcess {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    /// The end of stderr: its last `limit` bytes.
    pub stderr: Vec<u8>,
    /// How many bytes of stderr came before [`stderr`](FinishedProcess::stderr).
    pub stderr_left_out: u64,
}

/// Why a tool process produced no [`FinishedProcess`].
#[derive(Debug)]
pub enum ProcessFailure {
    /// The program could not be started (`NotFound`: it is not on `PATH`).
    Spawn(io::Error),
    /// Waiting for the child failed.
    Wait(io::Error),
    /// The deadline passed; the process tree was killed and reaped.
    TimedOut { after: Duration, stderr: Vec<u8> },
    /// Stdout grew past the limit (`read` bytes so far); the process tree was killed and
    /// reaped.
    OutputTooLarge {
        read: usize,
        limit: OutputLimit,
        stderr: Vec<u8>,
    },
}

/// Runs `command` (stdin empty) and returns its exit status and captured output, killing it
/// once `timeout` has elapsed or once its stdout is over `limit`. Stderr lines and the
/// events in `events` go to `observer` as they come.
pub fn run_to_completion(
    command: Command,
    timeout: Option<Duration>,
    limit: OutputLimit,
    observer: &dyn ToolObserver,
    events: Option<&mut EventsFile>,
) -> Result<FinishedProcess, ProcessFailure> {
    run_with_stdin(command, None, timeout, limit, observer, events)
}

/// [`run_to_completion`] with `stdin` as the child's whole standard input (written by a
/// thread; `None`: `/dev/null`), as event hooks get their event line.
pub fn run_with_stdin(
    command: Command,
    stdin: Option<Vec<u8>>,
    timeout: Option<Duration>,
    output_limit: OutputLimit,
    observer: &dyn ToolObserver,
    mut events: Option<&mut EventsFile>,
) -> Result<FinishedProcess, ProcessFailure> {
    let started = Instant::now();
    // A timeout too large to add to `now` is no timeout at all.
    let deadline = timeout.and_then(|limit| started.checked_add(limit));
    let crate::process_group::GroupChild {
        mut child,
        group,
        watch,
    } = crate::process_group::spawn(command, stdin).map_err(ProcessFailure::Spawn)?;
    let mut stdout_pipe: Option<ChildStdout> = child.stdout.take();
    let mut stderr_pipe: Option<ChildStderr> = child.stderr.take();
    let mut stdout = Vec::new();
    let mut stderr = TailBuffer::new(Some(output_limit.bytes()));
    let mut lines = OutputLines::new(observer);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut status: Option<ExitStatus> = None;
    let mut pipes_deadline: Option<Instant> = None;
    let result = loop {
        if let Some(events) = events.as_deref_mut() {
            events.poll(observer);
        }
        if status.is_none() {
            match child.try_wait() {
                Ok(Some(exited)) => {
                    status = Some(exited);
                    pipes_deadline = Some(Instant::now() + PIPE_GRACE);
                }
                Ok(None) => {}
                Err(error) => break Err(ProcessFailure::Wait(error)),
            }
        }
        if status.is_some()
            && (stdout_pipe.is_none() && stderr_pipe.is_none()
                || pipes_deadline.is_some_and(|at| Instant::now() >= at))
        {
            break Ok(());
        }
        if status.is_none() && deadline.is_some_and(|at| Instant::now() >= at) {
            kill_process_tree(&mut child, group);
            let _ = child.wait();
            break Err(ProcessFailure::TimedOut {
                after: started.elapsed(),
                stderr: Vec::new(),
            });
        }
        let limit = time_left(pipes_deadline.or(deadline), Some(TICK));
        let watched = [
            stdout_pipe.as_ref().map(AsFd::as_fd),
            stderr_pipe.as_ref().map(AsFd::as_fd),
        ];
        let ready = match wait_readable(&watched, limit) {
            Ok(ready) => ready,
            Err(error) => break Err(ProcessFailure::Wait(error)),
        };
        if ready[0] {
            match read_some(&mut stdout_pipe, &mut chunk) {
                Some(read) => stdout.extend_from_slice(&chunk[..read]),
                None => stdout_pipe = None,
            }
            if output_limit.exceeded_by(stdout.len()) {
                kill_process_tree(&mut child, group);
                let _ = child.wait();
                break Err(ProcessFailure::OutputTooLarge {
                    read: stdout.len(),
                    limit: output_limit,
                    stderr: Vec::new(),
                });
            }
        }
        if ready[1] {
            match read_some(&mut stderr_pipe, &mut chunk) {
                Some(read) => {
                    stderr.push(&chunk[..read]);
                    lines.feed(&chunk[..read]);
                }
                None => stderr_pipe = None,
            }
        }
        if stdout_pipe.is_none() && stderr_pipe.is_none() && status.is_none() {
            // Both pipes closed: the child is exiting; wait for it (bounded by its deadline).
            match wait_until(&mut child, deadline, group) {
                Ok(Some(exited)) => status = Some(exited),
                Ok(None) => {
                    break Err(ProcessFailure::TimedOut {
                        after: started.elapsed(),
                        stderr: Vec::new(),
                    });
                }
                Err(error) => break Err(ProcessFailure::Wait(error)),
            }
        }
    };
    lines.finish();
    if let Some(events) = events {
        events.finish(observer);
    }
    if let Some(group) = group {
        crate::process_group::unregister(group);
    }
    match (result, status) {
        (Ok(()), Some(status)) => {
            // Ended by itself: what it left running in the background may stay.
            watch.disarm();
            Ok(FinishedProcess {
                status,
                stdout,
                stderr_left_out: stderr.left_out(),
                stderr: stderr.into_tail(),
            })
        }
        (Err(ProcessFailure::TimedOut { after, .. }), _) => Err(ProcessFailure::TimedOut {
            after,
            stderr: stderr.into_tail(),
        }),
        (Err(ProcessFailure::OutputTooLarge { read, limit, .. }), _) => {
            Err(ProcessFailure::OutputTooLarge {
                read,
                limit,
                stderr: stderr.into_tail(),
            })
        }
        (Err(failure), _) => Err(failure),
        (Ok(()), None) => Err(ProcessFailure::Wait(io::Error::other("no exit status"))),
    }
}

/// One read from `pipe` into `chunk`: how many bytes; `None` at end of file (or on a read
/// error).
fn read_some<R: Read>(pipe: &mut Option<R>, chunk: &mut [u8]) -> Option<usize> {
    let reader = pipe.as_mut()?;
    loop {
        match reader.read(chunk) {
            Ok(0) => return None,
            Ok(read) => return Some(read),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
}

/// Waits for `child` to exit; past `deadline` kills its process tree, reaps it and returns
/// `None`.
fn wait_until(
    child: &mut Child,
    deadline: Option<Instant>,
    group: Option<i32>,
) -> io::Result<Option<ExitStatus>> {
    let Some(deadline) = deadline else {
        return child.wait().map(Some);
    };
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            kill_process_tree(child, group);
            child.wait()?;
            return Ok(None);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(TICK * 5);
    }
}

/// Kills `child` and every process still in its process group.
fn kill_process_tree(child: &mut Child, group: Option<i32>) {
    if let Some(group) = group {
        crate::process_group::kill_group(group);
    }
    // Already dead (or killed just above) is fine: the caller reaps it either way.
    let _ = child.kill();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::observer::IgnoreReports;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        command
    }

    #[test]
    fn captures_stdout_stderr_and_status() {
        let finished = run_to_completion(
            sh("echo out; echo err >&2; exit 3"),
            None,
            OutputLimit::default(),
            &IgnoreReports,
            None,
        )
        .expect("sh runs");
        assert_eq!(finished.stdout, b"out\n");
        assert_eq!(finished.stderr, b"err\n");
        assert_eq!(finished.status.code(), Some(3));
    }

    #[test]
    fn large_outputs_do_not_deadlock_and_stdin_is_empty() {
        let finished = run_to_completion(
            sh("cat; head -c 1048576 /dev/zero; head -c 300000 /dev/zero >&2"),
            Some(Duration::from_secs(30)),
            OutputLimit::default(),
            &IgnoreReports,
            None,
        )
        .expect("sh runs");
        assert_eq!(finished.stdout.len(), 1 << 20);
        assert_eq!(finished.stderr.len(), 300_000);
    }

    #[test]
    fn timeout_kills_the_whole_process_tree() {
        let started = Instant::now();
        // `sleep` runs as a grandchild holding the pipes: it must die too. The timeout leaves
        // a loaded machine time to run the `echo` first (300 ms did not, under parallel
        // builds); the kill still comes long before the 30 s sleep ends.
        let failure = run_to_completion(
            sh("echo before >&2; sleep 30; echo never"),
            Some(Duration::from_secs(3)),
            OutputLimit::default(),
            &IgnoreReports,
            None,
        )
        .expect_err("must time out");
        assert!(started.elapsed() < Duration::from_secs(20));
        match failure {
            ProcessFailure::TimedOut { after, stderr } => {
                assert!(after >= Duration::from_secs(3));
                assert_eq!(stderr, b"before\n");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn background_process_holding_the_pipes_does_not_hang() {
        let started = Instant::now();
        let finished = run_to_completion(
            sh("echo done; sleep 5 &"),
            None,
            OutputLimit::default(),
            &IgnoreReports,
            None,
        )
        .expect("sh runs");
        assert_eq!(finished.stdout, b"done\n");
        assert!(started.elapsed() < PIPE_GRACE + Duration::from_secs(3));
    }

    #[test]
    fn missing_program_is_a_spawn_failure() {
        let failure = run_to_completion(
            Command::new("trident-no-such-program"),
            None,
            OutputLimit::default(),
            &IgnoreReports,
            None,
        )
        .expect_err("cannot start");
        assert!(
            matches!(failure, ProcessFailure::Spawn(ref error) if error.kind() == io::ErrorKind::NotFound)
        );
    }

    #[test]
    fn stdout_over_the_limit_stops_the_process_and_stderr_keeps_its_end() {
        let limit = OutputLimit::new(4096);
        let started = Instant::now();
        // Without the limit this would print for 30 s.
        let failure = run_to_completion(
            sh("echo start >&2; sleep 0.3; while :; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxx; done"),
            Some(Duration::from_secs(30)),
            limit,
            &IgnoreReports,
            None,
        )
        .expect_err("over the limit");
        assert!(started.elapsed() < Duration::from_secs(10));
        match failure {
            ProcessFailure::OutputTooLarge {
                read,
                limit: l,
                stderr,
            } => {
                assert!(read > 4096 && read <= 4096 + 64 * 1024, "{read}");
                assert_eq!(l, limit);
                assert_eq!(stderr, b"start\n");
            }
            other => panic!("unexpected {other:?}"),
        }
        let finished = run_to_completion(
            sh("head -c 10000 /dev/zero | tr '\\0' a >&2; printf end >&2; echo ok"),
            None,
            limit,
            &IgnoreReports,
            None,
        )
        .expect("sh runs");
        assert_eq!(finished.stdout, b"ok\n");
        assert_eq!(finished.stderr.len(), 4096);
        assert!(finished.stderr.ends_with(b"aaend"));
        assert_eq!(finished.stderr_left_out, 10_003 - 4096);
    }
}
