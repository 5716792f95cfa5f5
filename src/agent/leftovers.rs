//! The processes a Claude CLI started, found so that none outlives its node.
//!
//! The CLI runs each Bash tool command in its own session (`setsid`), so killing the CLI's
//! process group does not reach them, and a command's background processes are orphaned as
//! soon as its shell exits. So the CLI is made a child subreaper (Linux
//! `PR_SET_CHILD_SUBREAPER`, kept across `exec`): orphans of anything it started become its
//! children instead of init's, and while the CLI lives, everything it started is in its
//! process tree. [`Leftovers::note_descendants`] walks that tree (from `/proc`) and
//! remembers each process (pid and start time, so a reused pid is never mistaken for it),
//! its session and its process group; [`Leftovers::kill_all`] then kills whatever of that
//! is still alive, including processes that joined a noted session or group later. The
//! runner notes the tree when the CLI reports its result (just before it exits normally)
//! and right before stopping it; trident's own session and group are never noted.
//!
//! Elsewhere than Linux nothing is noted (no `/proc`): only the CLI's group is stopped.

use std::collections::HashSet;

/// A process, told apart from a later one with the same pid by its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ProcessId {
    pid: i32,
    /// Clock ticks after boot (`/proc/PID/stat` field 22).
    start: u64,
}

/// One line of the process table.
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: ProcessId,
    ppid: i32,
    pgid: i32,
    sid: i32,
}

/// What a CLI started, as noted so far.
#[derive(Debug, Default)]
pub struct Leftovers {
    processes: HashSet<ProcessId>,
    sessions: HashSet<i32>,
    groups: HashSet<i32>,
}

impl Leftovers {
    /// Notes every living descendant of process `root` (not `root` itself), with their
    /// sessions and groups (except trident's own).
    pub fn note_descendants(&mut self, root: i32) {
        let table = process_table();
        let (own_sid, own_pgid) = own_session_and_group();
        let mut parents = vec![root];
        let mut seen = HashSet::new();
        while let Some(parent) = parents.pop() {
            for entry in table.iter().filter(|e| e.ppid == parent) {
                if !seen.insert(entry.id.pid) {
                    continue;
                }
                parents.push(entry.id.pid);
                self.processes.insert(entry.id);
                if entry.sid != own_sid {
                    self.sessions.insert(entry.sid);
                }
                if entry.pgid != own_pgid {
                    self.groups.insert(entry.pgid);
                }
            }
        }
    }

    /// Kills (`SIGKILL`) every noted process still alive and every process in a noted
    /// session or group; returns how many were killed.
    pub fn kill_all(&self) -> usize {
        if self.processes.is_empty() {
            return 0;
        }
        let own_pid = std::process::id() as i32;
        let mut killed = 0;
        for entry in process_table() {
            let noted = self.processes.contains(&entry.id)
                || self.sessions.contains(&entry.sid)
                || self.groups.contains(&entry.pgid);
            if noted && entry.id.pid != own_pid {
                crate::process_group::kill_process(entry.id.pid);
                killed += 1;
            }
        }
        killed
    }
}

#[cfg(target_os = "linux")]
fn process_table() -> Vec<Entry> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let entry = entry.ok()?;
        let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
        parse_stat(pid, &stat)
    })
    .collect()
}

#[cfg(not(target_os = "linux"))]
fn process_table() -> Vec<Entry> {
    Vec::new()
}

/// Reads `/proc/PID/stat`: `pid (comm) state ppid pgrp session ... starttime ...`; the
/// command name may hold spaces and parentheses, so fields are counted after the last `)`.
fn parse_stat(pid: i32, stat: &str) -> Option<Entry> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state (3), ppid (4), pgrp (5), session (6) ... starttime (22).
    let field = |n: usize| fields.get(n - 3)?.parse::<i64>().ok();
    if fields.first() == Some(&"Z") {
        return None; // a zombie is dead already; only its parent can reap it
    }
    Some(Entry {
        id: ProcessId {
            pid,
            start: u64::try_from(field(22)?).ok()?,
        },
        ppid: i32::try_from(field(4)?).ok()?,
        pgid: i32::try_from(field(5)?).ok()?,
        sid: i32::try_from(field(6)?).ok()?,
    })
}

fn own_session_and_group() -> (i32, i32) {
    #[cfg(unix)]
    {
        // SAFETY: getsid(0) and getpgrp() only read this process's ids and cannot fail.
        unsafe { (libc::getsid(0), libc::getpgrp()) }
    }
    #[cfg(not(unix))]
    (0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_names() {
        let line = "4242 (my (odd) name) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 \
                    987654 1000 10 18446744073709551615";
        let entry = parse_stat(4242, line).unwrap();
        assert_eq!(entry.ppid, 17);
        assert_eq!((entry.pgid, entry.sid), (4242, 4242));
        assert_eq!(entry.id.start, 987654);
        let zombie = line.replace(") S ", ") Z ");
        assert!(parse_stat(4242, &zombie).is_none());
        assert!(parse_stat(1, "garbage").is_none());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn processes_in_their_own_session_are_found_and_killed() {
        use std::process::{Command, Stdio};
        use std::time::{Duration, Instant};
        // A shell that starts a `sleep` in a new session (as the CLI's Bash tool does), then
        // waits.
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg("setsid sleep 30 & echo ready; wait")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(shell.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let root = shell.id() as i32;
        let mut leftovers = Leftovers::default();
        leftovers.note_descendants(root);
        let noted: Vec<i32> = leftovers.processes.iter().map(|p| p.pid).collect();
        assert!(!noted.is_empty());
        let (own_sid, own_pgid) = own_session_and_group();
        assert!(!leftovers.sessions.contains(&own_sid));
        assert!(!leftovers.groups.contains(&own_pgid));
        assert!(leftovers.kill_all() >= 1);
        let _ = shell.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        for pid in noted {
            while std::path::Path::new(&format!("/proc/{pid}")).exists()
                && parse_stat(
                    pid,
                    &std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default(),
                )
                .is_some()
            {
                assert!(Instant::now() < deadline, "process {pid} survived");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}
