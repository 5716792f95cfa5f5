//! Which Python executable runs a project's python tools when `TRIDENT_PYTHON` is not set:
//! the one `python3` on `PATH` would run from the project's folder.
//!
//! - A `python3` that is a program (a virtualenv's symlink, a system interpreter) is used as
//!   found, without running anything.
//! - A pyenv shim is read the way pyenv reads its version: `PYENV_VERSION`, else the nearest
//!   `.python-version` from the project's folder up, else `$PYENV_ROOT/version`; when that
//!   names an installed version with a `bin/python3`, it is used directly. A shim costs
//!   about 100 ms of shell scripts per start, which a run would pay before its first tool.
//! - Any other script (another version manager, `system`, a version prefix pyenv expands,
//!   several versions) is asked once for `sys.executable`, so the interpreter, virtualenv
//!   and version file the script would pick are kept.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Python interpreter looked up on `PATH` when nothing else is said.
pub const PYTHON_PROGRAM: &str = "python3";

/// The variables the search reads, captured once when the run's settings are resolved.
#[derive(Debug, Clone, Default)]
pub struct InterpreterSearch {
    /// `PATH`.
    pub path: Option<OsString>,
    /// `PYENV_VERSION` (pyenv's per-shell version).
    pub pyenv_version: Option<String>,
}

impl InterpreterSearch {
    /// The search over this process's environment (commands without run settings).
    pub fn from_process() -> InterpreterSearch {
        InterpreterSearch::from_vars(|name| std::env::var(name).ok())
    }

    /// The search over the variables `get` returns (a run's resolved environment).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> InterpreterSearch {
        InterpreterSearch {
            path: get("PATH").map(OsString::from),
            pyenv_version: get("PYENV_VERSION").filter(|v| !v.trim().is_empty()),
        }
    }

    /// The executable behind `python3` as seen from `root`, or `python3` itself when that
    /// cannot be found out.
    pub fn resolve(&self, root: &Path) -> OsString {
        let Some(found) = self.on_path(PYTHON_PROGRAM) else {
            return PYTHON_PROGRAM.into();
        };
        let start = script_start(&found);
        if !start.starts_with(b"#!") {
            return found.into_os_string();
        }
        if let Some(real) = self.through_pyenv(&found, &start, root) {
            return real.into_os_string();
        }
        ask_sys_executable(&found, root).unwrap_or_else(|| PYTHON_PROGRAM.into())
    }

    /// The `program` a shell would run: the first executable of that name on `PATH`.
    fn on_path(&self, program: &str) -> Option<PathBuf> {
        crate::path_search::find_on_path(self.path.as_ref()?, program.as_ref())
    }

    /// The interpreter a pyenv `shim` would run from `root`, when pyenv's own files name one
    /// installed version that has it.
    fn through_pyenv(&self, shim: &Path, start: &[u8], root: &Path) -> Option<PathBuf> {
        let shims = shim.parent()?;
        let pyenv_root = shims.parent()?;
        let is_pyenv_shim = shims.file_name()? == "shims"
            && String::from_utf8_lossy(start).contains("libexec/pyenv\" exec");
        if !is_pyenv_shim {
            return None;
        }
        let versions = match &self.pyenv_version {
            Some(set) => set.clone(),
            None => std::fs::read_to_string(version_file(root, pyenv_root)?).ok()?,
        };
        let version = single_version(&versions)?;
        let interpreter = pyenv_root
            .join("versions")
            .join(version)
            .join("bin")
            .join(PYTHON_PROGRAM);
        interpreter.is_file().then_some(interpreter)
    }
}

/// The first bytes of `file` (where a `#!` script names its interpreter); empty when it
/// cannot be read.
fn script_start(file: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut start = Vec::with_capacity(512);
    let _ = std::fs::File::open(file).and_then(|f| f.take(512).read_to_end(&mut start));
    if start.is_empty() {
        // Unreadable: treat it as a script, so it is run rather than trusted blindly.
        start.extend_from_slice(b"#!");
    }
    start
}

/// pyenv's version file for `root`: the nearest `.python-version` from `root` up, else the
/// global `version` file of `pyenv_root`.
fn version_file(root: &Path, pyenv_root: &Path) -> Option<PathBuf> {
    root.ancestors()
        .map(|folder| folder.join(".python-version"))
        .find(|file| file.is_file())
        .or_else(|| Some(pyenv_root.join("version")).filter(|file| file.is_file()))
}

/// The version a version file (or `PYENV_VERSION`) names, when it names exactly one that
/// can be a folder of `versions/` (not `system`, not a path).
fn single_version(text: &str) -> Option<&str> {
    let mut names = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .flat_map(|line| line.split([':', ' ', '\t']))
        .filter(|name| !name.is_empty());
    let first = names.next()?;
    let plain = first != "system" && first != "." && first != ".." && !first.contains(['/', '\\']);
    (plain && names.next().is_none()).then_some(first)
}

/// Runs `script` once from `root` and reads the interpreter it started.
fn ask_sys_executable(script: &Path, root: &Path) -> Option<OsString> {
    Command::new(script)
        .args(["-c", "import sys; sys.stdout.write(sys.executable)"])
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|path| !path.is_empty() && Path::new(path).is_file())
        .map(OsString::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fake pyenv: `root/shims/python3` (a shim script) and installed `versions`.
    fn fake_pyenv(dir: &Path, versions: &[&str]) -> PathBuf {
        let pyenv = dir.join("pyenv");
        std::fs::create_dir_all(pyenv.join("shims")).unwrap();
        let shim = pyenv.join("shims").join("python3");
        std::fs::write(
            &shim,
            format!(
                "#!/usr/bin/env bash\nexec \"{}/libexec/pyenv\" exec \"python3\" \"$@\"\n",
                pyenv.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
        for version in versions {
            let bin = pyenv.join("versions").join(version).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::write(bin.join("python3"), b"\x7fELF").unwrap();
        }
        pyenv
    }

    fn search(pyenv: &Path, version: Option<&str>) -> InterpreterSearch {
        InterpreterSearch {
            path: Some(pyenv.join("shims").into_os_string()),
            pyenv_version: version.map(str::to_string),
        }
    }

    #[test]
    fn pyenv_versions_are_read_like_pyenv_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let pyenv = fake_pyenv(dir.path(), &["3.11.7", "3.12.1"]);
        let project = dir.path().join("work").join("project");
        std::fs::create_dir_all(&project).unwrap();
        let real = |v: &str| {
            pyenv
                .join("versions")
                .join(v)
                .join("bin")
                .join("python3")
                .into_os_string()
        };
        std::fs::write(pyenv.join("version"), "3.11.7\n").unwrap();
        assert_eq!(search(&pyenv, None).resolve(&project), real("3.11.7"));
        // A .python-version above the project wins over the global file...
        std::fs::write(
            dir.path().join("work/.python-version"),
            "# pinned\n3.12.1\n",
        )
        .unwrap();
        assert_eq!(search(&pyenv, None).resolve(&project), real("3.12.1"));
        // ... and PYENV_VERSION over both.
        assert_eq!(
            search(&pyenv, Some("3.11.7")).resolve(&project),
            real("3.11.7")
        );
    }

    #[test]
    fn what_pyenv_would_expand_is_not_guessed() {
        for named in [
            "system",
            "3.11.7:3.12.1",
            "3.11.7 3.12.1",
            "../../elsewhere",
            "# only",
        ] {
            assert!(single_version(named).is_none(), "{named}");
        }
        assert_eq!(single_version("3.11.7\n"), Some("3.11.7"));
        let dir = tempfile::tempdir().unwrap();
        let pyenv = fake_pyenv(dir.path(), &["3.11.7"]);
        // Not installed (or a prefix pyenv would expand, like `3.11`): pyenv itself is
        // asked, and the fake shim cannot answer: plain `python3`.
        for named in ["3.10.0", "3.11"] {
            assert_eq!(
                search(&pyenv, Some(named)).resolve(dir.path()),
                OsString::from(PYTHON_PROGRAM)
            );
        }
    }

    #[test]
    fn a_program_on_path_is_used_as_found() {
        let dir = tempfile::tempdir().unwrap();
        let python = dir.path().join("python3");
        std::fs::write(&python, b"\x7fELF").unwrap();
        std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = InterpreterSearch {
            path: Some(dir.path().as_os_str().to_owned()),
            pyenv_version: None,
        }
        .resolve(dir.path());
        assert_eq!(found, python.into_os_string());
        let nothing = InterpreterSearch::default().resolve(dir.path());
        assert_eq!(nothing, OsString::from(PYTHON_PROGRAM));
    }
}
