//! Waiting until one of a few pipes has something to read (`poll(2)`), with a time limit, so
//! one thread can follow a tool's reply channel, its output and its deadline at once.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

/// Which of the watched descriptors are readable (or at end of file / in error: a read will
/// not block and tells which).
pub fn wait_readable(
    fds: &[Option<BorrowedFd<'_>>],
    limit: Option<Duration>,
) -> io::Result<Vec<bool>> {
    let mut polled: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            // A negative descriptor is ignored by poll.
            fd: fd.map_or(-1, |fd| fd.as_raw_fd()),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let timeout_ms = match limit {
        // Round up, so a wait never ends just before its deadline.
        Some(limit) => i32::try_from(limit.as_micros().div_ceil(1000)).unwrap_or(i32::MAX),
        None => -1,
    };
    loop {
        // SAFETY: `polled` is a valid array of `polled.len()` pollfd structures.
        let ready = unsafe {
            libc::poll(
                polled.as_mut_ptr(),
                polled.len() as libc::nfds_t,
                timeout_ms,
            )
        };
        if ready >= 0 {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    Ok(polled
        .iter()
        .map(|p| p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0)
        .collect())
}

/// The time left until `deadline` (`None`: no deadline), capped at `cap`.
pub fn time_left(deadline: Option<Instant>, cap: Option<Duration>) -> Option<Duration> {
    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    match (left, cap) {
        (Some(left), Some(cap)) => Some(left.min(cap)),
        (left, cap) => left.or(cap),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;

    #[test]
    fn reports_the_readable_pipe_and_times_out() {
        let (first_r, mut first_w) = std::io::pipe().unwrap();
        let (second_r, _second_w) = std::io::pipe().unwrap();
        let started = Instant::now();
        let ready = wait_readable(
            &[Some(first_r.as_fd()), Some(second_r.as_fd())],
            Some(Duration::from_millis(30)),
        )
        .unwrap();
        assert_eq!(ready, [false, false]);
        assert!(started.elapsed() >= Duration::from_millis(29));
        first_w.write_all(b"x").unwrap();
        let ready =
            wait_readable(&[Some(first_r.as_fd()), None, Some(second_r.as_fd())], None).unwrap();
        assert_eq!(ready, [true, false, false]);
        drop(first_w);
        assert_eq!(time_left(None, None), None);
        assert_eq!(
            time_left(None, Some(Duration::from_secs(1))),
            Some(Duration::from_secs(1))
        );
    }
}
