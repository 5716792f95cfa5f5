//! The temporary folder trident writes its own short-lived files to (a shell tool's
//! `$TRIDENT_EVENTS` file, a fire-and-forget run's big inputs without artifacts, an agent's
//! MCP configuration): `TMPDIR` when set and not empty, else `/tmp`, the rule of
//! `std::env::temp_dir` on Unix. A run resolves it once with its settings (from the process
//! environment over the project's `.env`) and passes it down, so nothing reads the process
//! environment while nodes run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The variable naming the temporary folder.
pub const TMPDIR_VAR: &str = "TMPDIR";

/// Where temporary files go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempFolder(Arc<Path>);

impl Default for TempFolder {
    /// `/tmp` (what `TMPDIR` unset means).
    fn default() -> Self {
        TempFolder::from_var(None)
    }
}

impl TempFolder {
    /// The folder `tmpdir` (the value of `TMPDIR`) names: itself when not empty, else `/tmp`.
    pub fn from_var(tmpdir: Option<&str>) -> TempFolder {
        let folder = match tmpdir {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => PathBuf::from("/tmp"),
        };
        TempFolder(folder.into())
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpdir_when_set_and_not_empty_else_slash_tmp() {
        assert_eq!(
            TempFolder::from_var(Some("/var/tmp/x")).path(),
            Path::new("/var/tmp/x")
        );
        assert_eq!(TempFolder::from_var(Some("")).path(), Path::new("/tmp"));
        assert_eq!(TempFolder::from_var(None), TempFolder::default());
        assert_eq!(TempFolder::default().path(), Path::new("/tmp"));
    }
}
