//! A minimal Linux inotify watcher over raw `libc` calls (the crate already depends on
//! libc): watches files by inode, as a dashboard's file watcher does, and drains what
//! happened to them without blocking.

use std::collections::HashMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// An inotify instance and the files it watches.
pub struct Inotify {
    fd: i32,
    watched: HashMap<i32, PathBuf>,
}

/// One event: the watched path and the inotify mask.
#[derive(Debug, Clone)]
pub struct FileEvent {
    pub path: PathBuf,
    pub mask: u32,
}

impl FileEvent {
    /// The file's content changed (`IN_MODIFY`) or a writer closed it (`IN_CLOSE_WRITE`).
    pub fn is_write(&self) -> bool {
        self.mask & (libc::IN_MODIFY | libc::IN_CLOSE_WRITE) != 0
    }

    /// The watched inode went away (replaced by a rename, deleted) or the watch ended.
    pub fn is_gone(&self) -> bool {
        self.mask & (libc::IN_DELETE_SELF | libc::IN_MOVE_SELF | libc::IN_IGNORED) != 0
    }
}

impl Inotify {
    pub fn new() -> Inotify {
        // SAFETY: plain syscall; the result is checked.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(
            fd >= 0,
            "inotify_init1: {}",
            std::io::Error::last_os_error()
        );
        Inotify {
            fd,
            watched: HashMap::new(),
        }
    }

    /// Watch the inode `path` names now (writes, close after write, deletion, replacement).
    pub fn watch_file(&mut self, path: &Path) {
        let c = CString::new(path.as_os_str().as_bytes()).unwrap();
        let mask = libc::IN_MODIFY
            | libc::IN_CLOSE_WRITE
            | libc::IN_DELETE_SELF
            | libc::IN_MOVE_SELF
            | libc::IN_ATTRIB;
        // SAFETY: `c` is a valid NUL-terminated path; the result is checked.
        let wd = unsafe { libc::inotify_add_watch(self.fd, c.as_ptr(), mask) };
        assert!(
            wd >= 0,
            "inotify_add_watch {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        );
        self.watched.insert(wd, path.to_path_buf());
    }

    /// Whether `path` is watched.
    pub fn watches(&self, path: &Path) -> bool {
        self.watched.values().any(|p| p == path)
    }

    /// Every event queued so far.
    pub fn drain(&mut self) -> Vec<FileEvent> {
        let mut events = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: `buf` is writable for its whole length.
            let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return events;
            }
            let mut at = 0usize;
            let header = std::mem::size_of::<libc::inotify_event>();
            while at + header <= n as usize {
                // SAFETY: the kernel wrote whole events; read_unaligned copes with alignment.
                let event: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buf[at..].as_ptr().cast()) };
                if let Some(path) = self.watched.get(&event.wd) {
                    events.push(FileEvent {
                        path: path.clone(),
                        mask: event.mask,
                    });
                }
                at += header + event.len as usize;
            }
        }
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        // SAFETY: `fd` is ours and closed once.
        unsafe { libc::close(self.fd) };
    }
}
