//! The program a command name runs: the first executable file of that name in the folders
//! of a `PATH` value, as a shell finds it (empty entries skipped). Used for the Claude CLI
//! and for `python3`, with the `PATH` of the run's resolved environment.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The first executable file named `name` in the folders of `path`.
pub fn find_on_path(path: &OsStr, name: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable_file(candidate))
}

/// Whether `path` is a file this user may execute.
#[cfg(unix)]
pub fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `path` is a file (no permission bits to check here).
#[cfg(not(unix))]
pub fn is_executable_file(path: &Path) -> bool {
    path.is_file()
}
