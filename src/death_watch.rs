//! Children that die with trident: a tiny watcher process per child process group that kills
//! the group when trident goes away, even by `kill -9` (when no code of ours runs).
//!
//! How: before the child `exec`s (in `pre_exec`, already leader of its own process group),
//! it double-forks a watcher that keeps only the read end of a pipe whose write end trident
//! holds, and blocks reading it. When trident exits, however it exits, the kernel closes that
//! write end: the read returns end of file and the watcher sends `SIGKILL` to the whole group
//! (the child and everything it started). [`DeathWatch::disarm`] writes one byte instead, and
//! the watcher leaves quietly: a shell tool that finished keeps the background processes it
//! meant to leave, as before.
//!
//! Why not `PR_SET_PDEATHSIG`: Linux ties it to the *thread* that forked (level threads end
//! long before a pooled python worker does), it kills only the child and not what the child
//! started, and macOS has no equivalent. The watcher is a forked copy of trident, never
//! `exec`ed, sleeping in `read`, reparented to init (so no tool ever sees it as its child).

use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Command;

/// The trident end of one watcher's pipe. Dropping it (or trident's death) makes the watcher
/// kill the group; [`disarm`](DeathWatch::disarm) lets the group live on.
#[derive(Debug)]
pub struct DeathWatch {
    armed: Option<std::io::PipeWriter>,
}

impl DeathWatch {
    /// Arms `command`: when it is spawned (in its own process group), a watcher is started
    /// beside it. Fails only when a pipe cannot be created.
    pub fn arm(command: &mut Command) -> io::Result<DeathWatch> {
        let (reader, writer) = std::io::pipe()?;
        let reader = OwnedFd::from(reader);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            let read_fd = reader.as_raw_fd();
            // SAFETY: the closure runs in the forked child before `exec` and only makes
            // async-signal-safe calls (fork, waitpid, close, read, kill, _exit).
            unsafe {
                command.pre_exec(move || {
                    let _keep_open_until_exec = &reader;
                    start_watcher(read_fd)
                });
            }
        }
        #[cfg(not(unix))]
        drop(reader);
        Ok(DeathWatch {
            armed: Some(writer),
        })
    }

    /// The child ended as expected: let the watcher exit without killing anything.
    pub fn disarm(mut self) {
        if let Some(mut writer) = self.armed.take() {
            // A watcher already gone (its group was killed) makes this fail: nothing to do.
            let _ = writer.write_all(b"d");
        }
    }
}

/// In the child (after fork, before exec): double-fork the watcher, reap the intermediate
/// process, return to let the child `exec`.
#[cfg(unix)]
fn start_watcher(read_fd: i32) -> io::Result<()> {
    // SAFETY: fork/waitpid/_exit in a freshly forked child; see `watch`.
    unsafe {
        let middle = libc::fork();
        if middle < 0 {
            return Err(io::Error::last_os_error());
        }
        if middle == 0 {
            if libc::fork() == 0 {
                watch(read_fd);
            }
            libc::_exit(0);
        }
        let mut status = 0;
        while libc::waitpid(middle, &mut status, 0) < 0
            && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
        {}
    }
    Ok(())
}

/// The watcher: close everything but the pipe (so it holds no output pipe, and no copy of
/// the write end), wait for a byte or end of file, and on end of file kill the group.
#[cfg(unix)]
unsafe fn watch(read_fd: i32) -> ! {
    // SAFETY: only async-signal-safe calls; this process never returns from here.
    unsafe {
        close_all_but(read_fd);
        let mut byte = 0u8;
        let read = loop {
            let n = libc::read(read_fd, (&mut byte as *mut u8).cast(), 1);
            if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break n;
        };
        if read <= 0 {
            libc::kill(-libc::getpgrp(), libc::SIGKILL);
        }
        libc::_exit(0)
    }
}

/// Closes every file descriptor except `keep`.
#[cfg(unix)]
unsafe fn close_all_but(keep: i32) {
    // SAFETY: closing descriptors of this (watcher) process only.
    unsafe {
        #[cfg(target_os = "linux")]
        {
            let below = keep as libc::c_uint;
            let low_ok = keep == 0
                || libc::syscall(libc::SYS_close_range, 0 as libc::c_uint, below - 1, 0) == 0;
            let high_ok =
                libc::syscall(libc::SYS_close_range, below + 1, libc::c_uint::MAX, 0) == 0;
            if low_ok && high_ok {
                return;
            }
        }
        let limit = match libc::sysconf(libc::_SC_OPEN_MAX) {
            n if n > 0 => n.min(65_536) as i32,
            _ => 4096,
        };
        for fd in 0..limit {
            if fd != keep {
                libc::close(fd);
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn alive(pid: i32) -> bool {
        // Signal 0 checks existence; a zombie still counts, so reap first where needed.
        unsafe { libc::kill(pid, 0) == 0 }
    }

    fn wait_gone(pid: i32) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !alive(pid) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn spawn_sleeper(script: &str) -> (std::process::Child, DeathWatch) {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new("sh");
        command.arg("-c").arg(script).process_group(0);
        command.stdout(std::process::Stdio::piped());
        let watch = DeathWatch::arm(&mut command).unwrap();
        let child = command.spawn().unwrap();
        drop(command);
        (child, watch)
    }

    #[test]
    fn dropping_the_watch_kills_the_group() {
        let (mut child, watch) = spawn_sleeper("sleep 30 & echo $!; wait");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let grandchild: i32 = line.trim().parse().unwrap();
        drop(watch);
        let status = child.wait().unwrap();
        assert!(status.code().is_none(), "killed by a signal: {status:?}");
        assert!(wait_gone(grandchild), "the background sleep survived");
    }

    #[test]
    fn disarming_leaves_the_group_alone() {
        let (mut child, watch) = spawn_sleeper("exit 0");
        assert!(child.wait().unwrap().success());
        watch.disarm();
        // The child's stdout was not held open by the watcher: end of file at once.
        let mut rest = Vec::new();
        std::io::Read::read_to_end(&mut child.stdout.take().unwrap(), &mut rest).unwrap();
        assert!(rest.is_empty());
    }
}
