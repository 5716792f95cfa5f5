//! The environment an agent run sees, read once: where the `claude` binary is
//! (`TRIDENT_CLAUDE_BIN`, else `PATH`), the values `${VAR}` in MCP settings expand to, and the
//! variables handed to the CLI (all of ours except `ANTHROPIC_API_KEY`, unless the node
//! passes it through with `pass_api_key: true`).
//!
//! Everything else in this module takes an [`AgentEnv`] instead of reading the process
//! environment, so tests can give each run its own `PATH` and variables without touching the
//! process-global environment that parallel tests share.

use crate::path_search::{find_on_path, is_executable_file};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use super::error::AgentError;

/// Overrides the Claude CLI to run: a path (`/opt/claude/bin/claude`) or a name looked up
/// on `PATH`.
pub const CLAUDE_BIN_ENV: &str = "TRIDENT_CLAUDE_BIN";

/// Removed from the CLI's environment so it uses the user's Claude subscription login
/// instead of billing the API key per token (as the original runtime does).
pub const REMOVED_FROM_CHILD: &str = "ANTHROPIC_API_KEY";

/// How to get the CLI, for the "not found" message.
pub const INSTALL_HINT: &str = "npm install -g @anthropic-ai/claude-code";

/// A snapshot of environment variables.
#[derive(Debug, Clone, Default)]
pub struct AgentEnv {
    vars: Vec<(OsString, OsString)>,
}

impl AgentEnv {
    /// The environment of this process over `overlay` (the project's `.env` values): a
    /// variable the process has wins. Read once, with the run's settings.
    pub fn capture(overlay: &[(String, String)]) -> AgentEnv {
        let mut vars: Vec<(OsString, OsString)> = overlay
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect();
        // Later definitions win (see `get_os`).
        vars.extend(std::env::vars_os());
        AgentEnv { vars }
    }

    /// An environment made of exactly these variables.
    #[cfg(test)]
    pub fn from_vars<K: Into<OsString>, V: Into<OsString>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> AgentEnv {
        AgentEnv {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    fn get_os(&self, name: &str) -> Option<&OsStr> {
        // The last definition wins, as when a list of pairs is applied in order.
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_os_str())
    }

    /// A variable's value as text (invalid UTF-8 replaced), `None` when unset.
    pub fn get(&self, name: &str) -> Option<String> {
        self.get_os(name).map(|v| v.to_string_lossy().into_owned())
    }

    /// The variables the Claude CLI is started with: all of these but `ANTHROPIC_API_KEY`
    /// (kept when `pass_api_key`).
    pub fn child_vars(&self, pass_api_key: bool) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .filter(move |(k, _)| pass_api_key || k != REMOVED_FROM_CHILD)
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }

    /// The Claude CLI to run: `TRIDENT_CLAUDE_BIN` (a path, or a name searched on `PATH`),
    /// else `claude` on `PATH`.
    pub fn claude_program(&self) -> Result<PathBuf, AgentError> {
        let overridden = self.get_os(CLAUDE_BIN_ENV).filter(|v| !v.is_empty());
        let Some(wanted) = overridden else {
            return self.search_path(OsStr::new("claude")).ok_or_else(|| {
                AgentError::cli(format!(
                    "Claude CLI not found: no executable `claude` on PATH. Agent nodes run \
                     through the Claude Code CLI; install it with: {INSTALL_HINT} (or set \
                     {CLAUDE_BIN_ENV} to the path of the `claude` executable)."
                ))
            });
        };
        let as_path = Path::new(wanted);
        if as_path.components().count() > 1 {
            if is_executable_file(as_path) {
                return Ok(as_path.to_path_buf());
            }
            return Err(AgentError::cli(format!(
                "Claude CLI not found: {CLAUDE_BIN_ENV} is '{}', which is not an executable \
                 file. Point it at the `claude` executable, or unset it to use `claude` from \
                 PATH (install with: {INSTALL_HINT}).",
                as_path.display()
            )));
        }
        self.search_path(wanted).ok_or_else(|| {
            AgentError::cli(format!(
                "Claude CLI not found: {CLAUDE_BIN_ENV} is '{}', and no executable of that name \
                 is on PATH. Install the CLI with: {INSTALL_HINT}, or set {CLAUDE_BIN_ENV} to \
                 its full path.",
                as_path.display()
            ))
        })
    }

    /// The first executable file named `name` in the folders of `PATH`.
    fn search_path(&self, name: &OsStr) -> Option<PathBuf> {
        find_on_path(self.get_os("PATH")?, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executable(dir: &Path, name: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn finds_claude_on_path_first_match_wins() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        executable(second.path(), "claude");
        let wanted = executable(first.path(), "claude");
        let path = std::env::join_paths([first.path(), second.path()]).unwrap();
        let env = AgentEnv::from_vars([("PATH", path)]);
        assert_eq!(env.claude_program().unwrap(), wanted);
    }

    #[test]
    fn non_executable_files_are_not_the_cli() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("claude"), "not executable").unwrap();
        let env = AgentEnv::from_vars([("PATH", dir.path())]);
        let error = env.claude_program().unwrap_err();
        assert!(error.message.contains(INSTALL_HINT), "{}", error.message);
        assert_eq!(error.error_type, "CLIAgentError");
    }

    #[test]
    fn missing_cli_says_how_to_install() {
        let env = AgentEnv::from_vars([("PATH", "/nonexistent-trident-dir")]);
        let error = env.claude_program().unwrap_err();
        assert!(
            error
                .message
                .contains("npm install -g @anthropic-ai/claude-code"),
            "{}",
            error.message
        );
        let no_path = AgentEnv::from_vars(Vec::<(String, String)>::new());
        assert!(no_path.claude_program().is_err());
    }

    #[test]
    fn override_by_path_or_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let fake = executable(dir.path(), "my-claude");
        let by_path = AgentEnv::from_vars([(CLAUDE_BIN_ENV, fake.as_os_str())]);
        assert_eq!(by_path.claude_program().unwrap(), fake);
        let by_name = AgentEnv::from_vars([
            (OsString::from(CLAUDE_BIN_ENV), OsString::from("my-claude")),
            (OsString::from("PATH"), dir.path().as_os_str().to_owned()),
        ]);
        assert_eq!(by_name.claude_program().unwrap(), fake);
        let broken = AgentEnv::from_vars([(CLAUDE_BIN_ENV, "/no/such/claude")]);
        let error = broken.claude_program().unwrap_err();
        assert!(error.message.contains("/no/such/claude"));
        assert!(error.message.contains(CLAUDE_BIN_ENV));
    }

    #[test]
    fn child_environment_lacks_the_api_key() {
        let env = AgentEnv::from_vars([
            ("ANTHROPIC_API_KEY", "sk-ant-secret"),
            ("HOME", "/home/u"),
            ("ANTHROPIC_BASE_URL", "http://x"),
        ]);
        let names: Vec<_> = env.child_vars(false).map(|(k, _)| k.to_owned()).collect();
        assert_eq!(names, ["HOME", "ANTHROPIC_BASE_URL"]);
        let passed: Vec<_> = env.child_vars(true).map(|(k, _)| k.to_owned()).collect();
        assert_eq!(passed, ["ANTHROPIC_API_KEY", "HOME", "ANTHROPIC_BASE_URL"]);
        assert_eq!(env.get("HOME").as_deref(), Some("/home/u"));
        assert_eq!(env.get("NOPE"), None);
    }
}
