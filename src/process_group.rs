//! The child process groups alive right now (python and shell tools, Claude CLI agents), so
//! that an interrupted trident can stop them before it exits ([`stop_all`]), and the one
//! libc call std does not offer: signalling a whole process group ([`kill_group`]).
//!
//! Each child runs in its own process group (so a timeout can kill everything it started),
//! which also means a Ctrl-C at the terminal does not reach it, and a `process::exit` leaves
//! it running (an agent spending the user's subscription with nobody reading its output).
//! The interruption path calls [`stop_all`] before exiting. This is process-wide state on
//! purpose: it mirrors the process's own children, and nothing else writes to it.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::death_watch::DeathWatch;

static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());
/// The groups of [`RUNNING`] that get [`INTERRUPT_WAIT`] to stop (Claude CLIs).
static GRACEFUL: Mutex<Vec<i32>> = Mutex::new(Vec::new());

fn running() -> std::sync::MutexGuard<'static, Vec<i32>> {
    // Only pushes and removals run under this lock; a poisoned list is still a valid list.
    RUNNING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A child leading its own process group, listed in the registry while alive.
pub struct GroupChild {
    pub child: Child,
    /// The group id (the child's pid): call [`unregister`] with it once the child exited.
    pub group: Option<i32>,
    /// Kills the group if trident dies (or when dropped); [`DeathWatch::disarm`] once the
    /// child ended normally to leave what it started running.
    pub watch: DeathWatch,
}

/// Start `command` (its stdio already set) as the leader of a new process group, with a
/// [`DeathWatch`], and record it.
pub fn start(mut command: Command) -> std::io::Result<GroupChild> {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let watch = DeathWatch::arm(&mut command)?;
    let child = command.spawn()?;
    // The command holds copies of the pipes and descriptors given to the child: close them
    // now, so the child's end of file is seen when the child closes its own.
    drop(command);
    let group = i32::try_from(child.id()).ok();
    if let Some(group) = group {
        register(group);
    }
    Ok(GroupChild {
        child,
        group,
        watch,
    })
}

/// Start `command` as the leader of a new process group ([`start`]), with piped stdout and
/// stderr and `stdin` as its whole standard input (written by a thread, so a large input
/// cannot deadlock; `None`: no stdin at all).
pub fn spawn(mut command: Command, stdin: Option<Vec<u8>>) -> std::io::Result<GroupChild> {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut started = start(command)?;
    if let (Some(data), Some(mut pipe)) = (stdin, started.child.stdin.take()) {
        // A child that exits without reading everything makes this fail with a broken pipe;
        // that is the child's business and shows up in its exit status or reply.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    Ok(started)
}

/// Records a started child (the leader of process group `group`).
pub fn register(group: i32) {
    running().push(group);
}

/// Forgets a child once it has exited (its id may be reused after it is reaped).
pub fn unregister(group: i32) {
    running().retain(|g| *g != group);
    graceful().retain(|g| *g != group);
}

/// Marks a registered child as one that is asked to stop (`SIGTERM`) and given time before
/// an interrupted trident exits: a Claude CLI, which then stops the commands it runs in
/// sessions of their own.
pub fn mark_graceful(group: i32) {
    graceful().push(group);
}

fn graceful() -> std::sync::MutexGuard<'static, Vec<i32>> {
    GRACEFUL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether `group` is listed (tests only: the list is shared by every test of the process,
/// so no test may stop them all).
#[cfg(test)]
pub fn is_registered(group: i32) -> bool {
    running().contains(&group)
}

/// How long [`stop_graceful`] waits for the graceful children to be done (a little longer
/// than the 5 s an agent node gives its CLI between `SIGTERM` and `SIGKILL`).
pub const INTERRUPT_WAIT: Duration = Duration::from_secs(6);

/// The first step of an interruption: asks every graceful child (Claude CLIs) to stop with
/// `SIGTERM`, then waits until each has been reaped and unregistered by its node (which
/// also kills what the CLI left running), [`INTERRUPT_WAIT`] at most. Returns how many there
/// were. [`stop_all`] then kills whatever is left.
pub fn stop_graceful() -> usize {
    let groups = graceful().clone();
    for group in &groups {
        terminate_group(*group);
    }
    let deadline = Instant::now() + INTERRUPT_WAIT;
    while Instant::now() < deadline && groups.iter().any(|g| running().contains(g)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    groups.len()
}

/// Kills (`SIGKILL`) the process group of every running tool and agent and returns how many
/// there were. For the Ctrl-C / SIGTERM path, just before exiting.
pub fn stop_all() -> usize {
    let groups = running().clone();
    for group in &groups {
        kill_group(*group);
    }
    groups.len()
}

/// Sends `SIGKILL` to process group `group`.
pub fn kill_group(group: i32) {
    signal_group(group, signal::SIGKILL);
}

/// Sends `SIGTERM` to process group `group` (a polite request to stop).
pub fn terminate_group(group: i32) {
    signal_group(group, signal::SIGTERM);
}

/// Sends `SIGKILL` to the one process `pid`.
pub fn kill_process(pid: i32) {
    #[cfg(unix)]
    if pid > 0 {
        let _ = signal::kill(pid, signal::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = pid;
}

fn signal_group(group: i32, sig: i32) {
    #[cfg(unix)]
    if group > 0 {
        // ESRCH (nothing left in the group) is the only expected failure and is harmless.
        let _ = signal::kill(-group, sig);
    }
    #[cfg(not(unix))]
    let _ = (group, sig);
}

#[cfg(unix)]
mod signal {
    //! The one libc call std does not offer: signalling a whole process group.

    /// `SIGKILL` has the number 9 on every Unix.
    pub const SIGKILL: i32 = 9;
    /// `SIGTERM` has the number 15 on every Unix.
    pub const SIGTERM: i32 = 15;

    unsafe extern "C" {
        // `pid_t` is a 32-bit signed integer on every Unix Rust supports. Sending a signal
        // touches no memory of ours, so calling it cannot break memory safety.
        pub safe fn kill(pid: i32, signal: i32) -> i32;
    }
}
