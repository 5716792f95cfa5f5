//! The `--mcp-config` of an agent node: its `mcp_servers` as the CLI's `{"mcpServers": {...}}`
//! document, with `${VAR}` in server `env` values replaced from the environment, written to
//! a private temporary file for the run.
//!
//! The original put this JSON on the command line. Expanded values are often tokens, and a
//! command line is readable by every local user (`ps`, `/proc/*/cmdline`), so we pass the
//! path of a file only its owner can read instead; the CLI accepts either. The file is
//! removed when the run ends.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use super::env::AgentEnv;
use super::error::AgentError;
use crate::project::McpServer;
use crate::temp_folder::{TMPDIR_VAR, TempFolder};

/// The CLI's MCP configuration for these servers.
///
/// Each server becomes `{command, args, env?}`; `env` is left out when empty, as in the
/// original. In `env` values every `${NAME}` is replaced by the variable's value (an unset
/// variable gives an empty string, as in the original, which only expanded values that were
/// one whole `${NAME}`). `command` and `args` are passed as written.
pub fn mcp_config(servers: &IndexMap<String, McpServer>, env: &AgentEnv) -> Value {
    let mut out = Map::new();
    for (name, server) in servers {
        let mut entry = Map::new();
        entry.insert("command".into(), json!(server.command));
        entry.insert("args".into(), json!(server.args));
        if !server.env.is_empty() {
            let vars: Map<String, Value> = server
                .env
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(expand_vars(v, env))))
                .collect();
            entry.insert("env".into(), Value::Object(vars));
        }
        out.insert(name.clone(), Value::Object(entry));
    }
    json!({ "mcpServers": out })
}

/// `text` with every `${NAME}` (NAME: letters, digits, `_`, not starting with a digit)
/// replaced by its value in `env`, or by nothing when unset. Anything else is kept as is.
pub fn expand_vars(text: &str, env: &AgentEnv) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) if is_var_name(&after[..end]) => {
                out.push_str(&env.get(&after[..end]).unwrap_or_default());
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The MCP configuration written to a file readable by its owner only; removed on drop.
#[derive(Debug)]
pub struct McpConfigFile {
    path: PathBuf,
}

impl McpConfigFile {
    /// Writes `config` to a new file in the temporary folder (`TMPDIR`, else `/tmp`).
    pub fn create(config: &Value, env: &AgentEnv, node_id: &str) -> Result<Self, AgentError> {
        let dir = TempFolder::from_var(env.get(TMPDIR_VAR).as_deref());
        let path = dir
            .path()
            .join(format!("trident-mcp-{}.json", uuid::Uuid::new_v4()));
        let failed = |error: std::io::Error| {
            AgentError::cli(format!(
                "Agent '{node_id}': cannot write its MCP server configuration to {}: {error}",
                path.display()
            ))
        };
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(failed)?;
        // Owning the path from here on means it is removed even if the write fails.
        let guard = McpConfigFile { path: path.clone() };
        let text = serde_json::to_vec(config).unwrap_or_default();
        file.write_all(&text).map_err(failed)?;
        Ok(guard)
    }

    /// Where the configuration is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for McpConfigFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(env: &[(&str, &str)]) -> McpServer {
        McpServer {
            command: "npx".into(),
            args: vec!["-y".into(), "@mcp/github".into(), "${NOT_EXPANDED}".into()],
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn expands_variables_anywhere_in_env_values() {
        let env = AgentEnv::from_vars([("GH_TOKEN", "ghp_123"), ("HOST", "example.com")]);
        assert_eq!(expand_vars("${GH_TOKEN}", &env), "ghp_123");
        assert_eq!(
            expand_vars("https://${HOST}/x?t=${GH_TOKEN}", &env),
            "https://example.com/x?t=ghp_123"
        );
        assert_eq!(expand_vars("${MISSING}", &env), "");
        assert_eq!(
            expand_vars("a ${not valid} ${ $x ${", &env),
            "a ${not valid} ${ $x ${"
        );
        assert_eq!(expand_vars("plain", &env), "plain");
    }

    #[test]
    fn builds_the_cli_document() {
        let env = AgentEnv::from_vars([("GH_TOKEN", "ghp_123")]);
        let mut servers = IndexMap::new();
        servers.insert("gh".to_string(), server(&[("TOKEN", "${GH_TOKEN}")]));
        servers.insert("plain".to_string(), server(&[]));
        let config = mcp_config(&servers, &env);
        assert_eq!(
            config,
            json!({"mcpServers": {
                "gh": {"command": "npx", "args": ["-y", "@mcp/github", "${NOT_EXPANDED}"],
                       "env": {"TOKEN": "ghp_123"}},
                "plain": {"command": "npx", "args": ["-y", "@mcp/github", "${NOT_EXPANDED}"]}
            }})
        );
    }

    #[test]
    fn config_file_is_private_and_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let env = AgentEnv::from_vars([("TMPDIR", dir.path())]);
        let config = json!({"mcpServers": {}});
        let file = McpConfigFile::create(&config, &env, "worker").unwrap();
        let path = file.path().to_path_buf();
        assert!(path.starts_with(dir.path()));
        let read: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(read, config);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "mode {mode:o}");
        }
        drop(file);
        assert!(!path.exists());
    }

    #[test]
    fn unwritable_folder_is_a_clear_error() {
        let env = AgentEnv::from_vars([("TMPDIR", "/nonexistent-trident-dir")]);
        let error = McpConfigFile::create(&json!({}), &env, "worker").unwrap_err();
        assert!(
            error.message.contains("Agent 'worker'"),
            "{}",
            error.message
        );
        assert!(error.message.contains("/nonexistent-trident-dir"));
    }
}
