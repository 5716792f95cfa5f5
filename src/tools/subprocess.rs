//! Running one tool process to completion: stdin written and stdout/stderr read on their own
//! threads (so no pipe can fill up and deadlock), an optional timeout that kills the whole
//! process tree, and the child always reaped (no zombies).
//!
//! On Unix the child leads a new process group, so a timeout kills what it started too (a
//! shell's pipeline, a Python tool's helper processes) with one `kill(-pgid, SIGKILL)`. The
//! flip side: a Ctrl-C at the terminal reaches trident but not the tool; the tool then runs to
//! its end (or its timeout), like any node of the level in flight.

use crate::pipe_reader::PipeReader;
use std::io::{self};
use std::process::{Child, Command, ExitStatus};

use std::thread;
use std::time::{Duration, Instant};

/// How long, after the tool process has ended, its stdout/stderr may stay open before we stop
/// reading them. Pipes close when the process exits unless something it left running in the
/// background still holds them; such output is collected for this long only, so a leftover
/// background process cannot hang the run.
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// Longest pause between two checks of a child that has a deadline.
const MAX_POLL_PAUSE: Duration = Duration::from_millis(50);

/// What a finished tool process produced.
#[derive(Debug)]
pub struct FinishedProcess {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
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
}

/// Runs `command` with `stdin` as its whole standard input (`None`: no stdin at all) and
/// returns its exit status and captured output, killing it once `timeout` has elapsed.
pub fn run_to_completion(
    command: Command,
    stdin: Option<Vec<u8>>,
    timeout: Option<Duration>,
) -> Result<FinishedProcess, ProcessFailure> {
    let started = Instant::now();
    // A timeout too large to add to `now` is no timeout at all.
    let deadline = timeout.and_then(|limit| started.checked_add(limit));
    let (mut child, group) =
        crate::process_group::spawn(command, stdin).map_err(ProcessFailure::Spawn)?;
    let stdout = PipeReader::start(child.stdout.take(), None);
    let stderr = PipeReader::start(child.stderr.take(), None);

    let exited = wait_until(&mut child, deadline);
    if let Some(group) = group {
        crate::process_group::unregister(group);
    }
    let exited = exited.map_err(ProcessFailure::Wait)?;
    let pipes_deadline = Instant::now() + PIPE_GRACE;
    match exited {
        Some(status) => Ok(FinishedProcess {
            status,
            stdout: stdout.finish(pipes_deadline),
            stderr: stderr.finish(pipes_deadline),
        }),
        None => Err(ProcessFailure::TimedOut {
            after: started.elapsed(),
            stderr: stderr.finish(pipes_deadline),
        }),
    }
}

/// Waits for `child` to exit; past `deadline` kills its process tree, reaps it and returns
/// `None`.
fn wait_until(child: &mut Child, deadline: Option<Instant>) -> io::Result<Option<ExitStatus>> {
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
            kill_process_tree(child);
            child.wait()?;
            return Ok(None);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(MAX_POLL_PAUSE);
    }
}

/// Kills `child` and, on Unix, every process still in its process group.
fn kill_process_tree(child: &mut Child) {
    #[cfg(unix)]
    if let Ok(group) = i32::try_from(child.id()) {
        crate::process_group::kill_group(group);
    }
    // Already dead (or killed just above) is fine: the caller reaps it either way.
    let _ = child.kill();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        command
    }

    #[test]
    fn captures_stdout_stderr_and_status() {
        let finished =
            run_to_completion(sh("echo out; echo err >&2; exit 3"), None, None).expect("sh runs");
        assert_eq!(finished.stdout, b"out\n");
        assert_eq!(finished.stderr, b"err\n");
        assert_eq!(finished.status.code(), Some(3));
    }

    #[test]
    fn large_stdin_and_outputs_do_not_deadlock() {
        let input = vec![b'x'; 1 << 20];
        let finished = run_to_completion(
            sh("cat; head -c 300000 /dev/zero >&2"),
            Some(input.clone()),
            Some(Duration::from_secs(30)),
        )
        .expect("sh runs");
        assert_eq!(finished.stdout, input);
        assert_eq!(finished.stderr.len(), 300_000);
    }

    #[test]
    fn timeout_kills_the_whole_process_tree() {
        let started = Instant::now();
        // `sleep` runs as a grandchild holding the pipes: it must die too.
        let failure = run_to_completion(
            sh("echo before >&2; sleep 30; echo never"),
            None,
            Some(Duration::from_millis(300)),
        )
        .expect_err("must time out");
        assert!(started.elapsed() < Duration::from_secs(5));
        match failure {
            ProcessFailure::TimedOut { after, stderr } => {
                assert!(after >= Duration::from_millis(300));
                assert_eq!(stderr, b"before\n");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn background_process_holding_the_pipes_does_not_hang() {
        let started = Instant::now();
        let finished = run_to_completion(sh("echo done; sleep 5 &"), None, None).expect("sh runs");
        assert_eq!(finished.stdout, b"done\n");
        assert!(started.elapsed() < PIPE_GRACE + Duration::from_secs(3));
    }

    #[test]
    fn missing_program_is_a_spawn_failure() {
        let failure = run_to_completion(Command::new("trident-no-such-program"), None, None)
            .expect_err("cannot start");
        assert!(
            matches!(failure, ProcessFailure::Spawn(ref error) if error.kind() == io::ErrorKind::NotFound)
        );
    }
}
