//! Whether the process running a run's current attempt is still alive. A run records its
//! process id and host in `metadata.json` (`pid`, `host`); `trident project watch` checks it
//! to tell a run still going from one whose process died without a final event (`kill -9`,
//! a crash, a lost machine).

/// This process's id and the host it runs on (recorded in the run's metadata).
pub fn this_process() -> (u32, Option<String>) {
    (std::process::id(), host_name())
}

/// The host's name, when the system gives one.
pub fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).into_owned();
    (!name.is_empty()).then_some(name)
}

/// Whether process `pid` recorded on `host` is gone: `Some(true)` when it is known to be
/// (same host, no such process), `Some(false)` when it exists, `None` when this cannot be
/// told from here (another host, or no host recorded).
pub fn process_is_gone(pid: u32, host: Option<&str>) -> Option<bool> {
    let here = host_name();
    if host.is_none() || here.as_deref() != host {
        return None;
    }
    let pid = libc::pid_t::try_from(pid).ok().filter(|p| *p > 0)?;
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let rc = unsafe { libc::kill(pid, 0) };
    if rc == 0 {
        return Some(false);
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::ESRCH) => Some(true),
        // EPERM: it exists, owned by someone else.
        _ => Some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_an_exited_child_is_gone() {
        let (pid, host) = this_process();
        assert_eq!(process_is_gone(pid, host.as_deref()), Some(false));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let child_pid = child.id();
        child.wait().unwrap();
        assert_eq!(process_is_gone(child_pid, host.as_deref()), Some(true));
        assert_eq!(process_is_gone(pid, Some("another-host.invalid")), None);
        assert_eq!(process_is_gone(pid, None), None);
    }
}
