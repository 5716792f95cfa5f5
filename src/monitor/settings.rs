//! The monitor's settings, resolved once from its flags before anything is bound: the
//! served projects (each found and its secrets collected), the address (a non-loopback
//! host is refused without a token), the token and whether runs may be started.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::error::TridentError;
use crate::project::dotenv::load_dotenv;
use crate::project::find_manifest;
use crate::settings::Environment;
use crate::telemetry::Redactor;

/// Environment variable holding the token when `--token` is not given.
pub const TOKEN_VAR: &str = "TRIDENT_MONITOR_TOKEN";

/// One project whose runs are served.
#[derive(Debug, Clone)]
pub struct ServedProject {
    /// The project's root folder, absolute (the `project` field of the API).
    pub root: PathBuf,
    /// The manifest file.
    pub manifest: PathBuf,
    /// The artifact folder (`<root>/.trident`).
    pub base_dir: PathBuf,
    /// Hides the project's secrets (its `.env` values, secret-looking variables) in the
    /// few strings served from artifacts rather than from the (already redacted) events.
    pub redactor: Redactor,
}

impl ServedProject {
    /// The project at `path` (a folder holding a manifest, or a manifest file).
    pub fn find(path: &Path) -> Result<ServedProject, TridentError> {
        let (manifest, root) = find_manifest(path)?;
        let env = Environment::capture(&load_dotenv(&root)?);
        Ok(ServedProject {
            base_dir: root.join(".trident"),
            root,
            manifest,
            redactor: Redactor::new(true, env.secret_values(), &[]),
        })
    }

    /// The root as the API spells it.
    pub fn root_text(&self) -> String {
        self.root.display().to_string()
    }
}

/// Everything `trident monitor` needs, validated.
#[derive(Debug, Clone)]
pub struct MonitorSettings {
    pub projects: Vec<ServedProject>,
    pub addr: SocketAddr,
    pub token: Option<String>,
    pub allow_runs: bool,
}

/// The raw values of the flags (and the token variable).
#[derive(Debug, Clone, Default)]
pub struct MonitorFlags {
    pub paths: Vec<PathBuf>,
    pub host: String,
    pub port: u16,
    pub token: Option<String>,
    /// The value of [`TOKEN_VAR`], if set.
    pub token_env: Option<String>,
    pub allow_runs: bool,
}

impl MonitorSettings {
    /// Check the flags and find the projects.
    pub fn resolve(flags: &MonitorFlags) -> Result<MonitorSettings, TridentError> {
        let ip = parse_host(&flags.host)?;
        let token = match (&flags.token, &flags.token_env) {
            (Some(t), _) => Some((t.clone(), "--token")),
            (None, Some(t)) => Some((t.clone(), TOKEN_VAR)),
            (None, None) => None,
        };
        if let Some((t, source)) = &token
            && (t.trim().is_empty() || t.chars().any(char::is_whitespace))
        {
            return Err(TridentError::Validation(format!(
                "{source}: the token must be non-empty and without spaces (e.g. --token \
                 \"$(openssl rand -hex 16)\")"
            )));
        }
        let token = token.map(|(t, _)| t);
        if !ip.is_loopback() && token.is_none() {
            return Err(TridentError::Validation(format!(
                "--host {}: not a loopback address, so anyone who can reach it could read the \
                 runs; pass --token T (or set {TOKEN_VAR}) to require a token, or keep the \
                 default --host 127.0.0.1",
                flags.host
            )));
        }
        let paths = if flags.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            flags.paths.clone()
        };
        let mut projects: Vec<ServedProject> = Vec::new();
        for path in &paths {
            let project = ServedProject::find(path)?;
            if !projects.iter().any(|p| p.root == project.root) {
                projects.push(project);
            }
        }
        Ok(MonitorSettings {
            projects,
            addr: SocketAddr::new(ip, flags.port),
            token,
            allow_runs: flags.allow_runs,
        })
    }
}

/// `--host`: an IP address, or `localhost`.
fn parse_host(host: &str) -> Result<IpAddr, TridentError> {
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    host.parse::<IpAddr>().map_err(|_| {
        TridentError::Validation(format!(
            "--host {host}: not an IP address; use e.g. 127.0.0.1 (the default), ::1 or 0.0.0.0 \
             (with --token)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(host: &str, token: Option<&str>) -> MonitorFlags {
        let dir = std::env::temp_dir();
        let project = dir.join(format!("trident-monitor-settings-{}", std::process::id()));
        std::fs::create_dir_all(&project).unwrap();
        std::fs::write(project.join("agent.tml"), "trident: '0.1'\nname: x\n").unwrap();
        MonitorFlags {
            paths: vec![project],
            host: host.into(),
            port: 0,
            token: token.map(str::to_string),
            token_env: None,
            allow_runs: false,
        }
    }

    #[test]
    fn a_public_host_needs_a_token() {
        let err = MonitorSettings::resolve(&flags("0.0.0.0", None)).unwrap_err();
        assert!(err.to_string().contains("--token"), "{err}");
        assert_eq!(err.exit_code(), crate::ExitCode::Validation);
        assert!(MonitorSettings::resolve(&flags("0.0.0.0", Some("t0k"))).is_ok());
        assert!(MonitorSettings::resolve(&flags("localhost", None)).is_ok());
        assert!(MonitorSettings::resolve(&flags("::1", None)).is_ok());
        let err = MonitorSettings::resolve(&flags("my host", None)).unwrap_err();
        assert!(err.to_string().contains("--host my host"), "{err}");
        let err = MonitorSettings::resolve(&flags("127.0.0.1", Some(" "))).unwrap_err();
        assert!(err.to_string().contains("--token"), "{err}");
    }
}
