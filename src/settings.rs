//! The environment of a run, read once: the process's variables captured before the run,
//! over the project's `.env` values (which never override a variable already set), and the
//! runtime settings resolved from it and validated before any node runs
//! (`TRIDENT_MAX_PARALLEL`, `TRIDENT_RETRY_BASE_MS`, `TRIDENT_PROVIDER_TIMEOUT_SECS`,
//! `TRIDENT_PYTHON`, `TRIDENT_CLAUDE_BIN`, `TRIDENT_MAX_INPUT_SIZE`,
//! `TRIDENT_MAX_OUTPUT_SIZE`, `TRIDENT_TRIGGER_DEPTH`, `TRIDENT_MAX_TRIGGER_DEPTH`, the
//! temporary folder, provider keys and URLs).
//!
//! Raw -> resolved, as the telemetry settings do: a bad value is an error naming the
//! variable and where it came from (the environment or `.env`), exit 2 before the run. The
//! `.env` values are never written into the process environment (`set_var` would race with
//! threads reading it): they are an overlay passed to providers, tools and agents.

use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::error::TridentError;
use crate::output_limit::{
    DEFAULT_MAX_OUTPUT_SIZE, MAX_OUTPUT_SIZE_VAR, MIN_MAX_OUTPUT_SIZE, OutputLimit,
};
use crate::providers::{EnvLookup, ProviderSettings};
use crate::temp_folder::{TMPDIR_VAR, TempFolder};
use crate::trigger_depth::{MAX_TRIGGER_DEPTH_VAR, TRIGGER_DEPTH_VAR, TriggerDepth};

/// Variable: most nodes running at once (default 64).
pub const MAX_PARALLEL_VAR: &str = "TRIDENT_MAX_PARALLEL";
/// Variable: the interpreter for python tools.
pub const PYTHON_VAR: &str = "TRIDENT_PYTHON";
/// The default of [`MAX_PARALLEL_VAR`].
pub const DEFAULT_MAX_PARALLEL: usize = 64;
/// Variable: the largest run input file (`-f`, `--input-from`) read, a size (`64MB`).
pub const MAX_INPUT_SIZE_VAR: &str = "TRIDENT_MAX_INPUT_SIZE";
/// The default of [`MAX_INPUT_SIZE_VAR`]: 64 MB.
pub const DEFAULT_MAX_INPUT_SIZE: u64 = 64 << 20;

/// The variables a run sees: the process environment, then the project's `.env`.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    process: HashMap<String, String>,
    dotenv: IndexMap<String, String>,
}

impl Environment {
    /// The process environment as it is now, over `dotenv` (the project's `.env` values).
    /// A name or value that is not UTF-8 is kept with U+FFFD for its bad bytes (children
    /// still inherit the real one): `std::env::vars` would panic on it.
    pub fn capture(dotenv: &IndexMap<String, String>) -> Environment {
        Environment::from_parts(text_vars(std::env::vars_os()), dotenv.clone())
    }

    /// An environment made of these variables (tests pass their own).
    pub fn from_parts(
        process: HashMap<String, String>,
        dotenv: IndexMap<String, String>,
    ) -> Environment {
        Environment { process, dotenv }
    }

    /// The value of `name`: the process's, else the `.env` one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.process
            .get(name)
            .or_else(|| self.dotenv.get(name))
            .map(String::as_str)
    }

    /// Where `name` comes from, for error messages.
    pub fn source(&self, name: &str) -> &'static str {
        if self.process.contains_key(name) {
            "the environment"
        } else {
            "the project's .env"
        }
    }

    /// The `.env` values the process environment does not hold: what a child process
    /// (tool, agent CLI) needs on top of the environment it inherits.
    pub fn overlay(&self) -> Vec<(String, String)> {
        self.dotenv
            .iter()
            .filter(|(k, _)| !self.process.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Every variable (process and `.env`), for finding secrets to redact.
    pub fn vars(&self) -> impl Iterator<Item = (&String, &String)> {
        self.process.iter().chain(self.dotenv.iter())
    }

    /// Values to keep out of telemetry and served data: the `.env` values and any
    /// variable whose name says key, token, secret, password or credential.
    pub fn secret_values(&self) -> Vec<String> {
        let mut values: Vec<String> = self
            .dotenv
            .values()
            .filter(|v| !v.is_empty())
            .cloned()
            .collect();
        for (key, value) in self.vars() {
            let key = key.to_ascii_uppercase();
            let secret = ["API_KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL"]
                .iter()
                .any(|s| key.contains(s));
            if secret && value.len() >= 4 {
                values.push(value.clone());
            }
        }
        values
    }

    /// A lookup function over this environment (for providers and settings parsers).
    pub fn lookup(self: &Arc<Self>) -> EnvLookup {
        let env = Arc::clone(self);
        Arc::new(move |name: &str| env.get(name).map(str::to_string))
    }
}

/// `vars` as text, bad UTF-8 replaced.
fn text_vars(vars: impl Iterator<Item = (OsString, OsString)>) -> HashMap<String, String> {
    vars.map(|(k, v)| {
        (
            k.to_string_lossy().into_owned(),
            v.to_string_lossy().into_owned(),
        )
    })
    .collect()
}

/// The runtime settings of a run, resolved and validated once.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub env: Arc<Environment>,
    /// Most nodes running at once.
    pub max_parallel: usize,
    /// Provider retry and timeout settings (checked now; providers read them again from
    /// the same environment).
    pub provider: ProviderSettings,
    /// `TRIDENT_PYTHON`, when set.
    pub python: Option<OsString>,
    /// `TRIDENT_MAX_INPUT_SIZE`: the largest input file a run reads, in bytes.
    pub max_input_bytes: u64,
    /// `TRIDENT_MAX_OUTPUT_SIZE`: the most a tool or agent CLI hands over in one piece.
    pub output_limit: OutputLimit,
    /// `TRIDENT_TRIGGER_DEPTH` and `TRIDENT_MAX_TRIGGER_DEPTH`: this run's place in a chain
    /// of fire-and-forget triggered runs, and the chain's limit.
    pub trigger_depth: TriggerDepth,
    /// `TMPDIR`, else `/tmp`: where trident writes its own temporary files.
    pub temp_folder: TempFolder,
}

impl RunSettings {
    /// Resolve and validate every runtime variable of `env`.
    pub fn resolve(env: Environment) -> Result<RunSettings, TridentError> {
        let max_parallel = match env.get(MAX_PARALLEL_VAR).map(str::trim) {
            None | Some("") => DEFAULT_MAX_PARALLEL,
            Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                TridentError::Validation(format!(
                    "{MAX_PARALLEL_VAR} (from {}) must be a positive integer, got '{v}'",
                    env.source(MAX_PARALLEL_VAR)
                ))
            })?,
        };
        let provider = ProviderSettings::from_env(&|name| env.get(name).map(str::to_string))
            .map_err(|e| {
                TridentError::Validation(format!("{e} (set in the environment or the .env)"))
            })?;
        let python = env
            .get(PYTHON_VAR)
            .filter(|p| !p.trim().is_empty())
            .map(OsString::from);
        let max_input_bytes = size_setting(&env, MAX_INPUT_SIZE_VAR, DEFAULT_MAX_INPUT_SIZE, 0)?;
        let output_limit = OutputLimit::new(size_setting(
            &env,
            MAX_OUTPUT_SIZE_VAR,
            DEFAULT_MAX_OUTPUT_SIZE as u64,
            MIN_MAX_OUTPUT_SIZE as u64,
        )?);
        let trigger_depth = TriggerDepth::new(
            count_setting(&env, TRIGGER_DEPTH_VAR, 0)?,
            count_setting(
                &env,
                MAX_TRIGGER_DEPTH_VAR,
                crate::trigger_depth::DEFAULT_MAX_TRIGGER_DEPTH,
            )?,
        );
        let temp_folder = TempFolder::from_var(env.get(TMPDIR_VAR));
        Ok(RunSettings {
            env: Arc::new(env),
            max_parallel,
            provider,
            python,
            max_input_bytes,
            output_limit,
            trigger_depth,
            temp_folder,
        })
    }
}

/// Count variable `name` of `env` (`default` when unset or empty); an error naming the
/// variable and its source when it is not a whole number of 0 or more.
fn count_setting(env: &Environment, name: &str, default: usize) -> Result<usize, TridentError> {
    let Some(value) = env.get(name).map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    value.parse::<usize>().map_err(|_| {
        TridentError::Validation(format!(
            "{name} (from {}) must be a whole number of 0 or more, got '{value}'",
            env.source(name)
        ))
    })
}

/// Size variable `name` of `env` in bytes (`default` when unset or empty); an error naming
/// the variable and its source when it is not a size or is under `minimum`.
fn size_setting(
    env: &Environment,
    name: &str,
    default: u64,
    minimum: u64,
) -> Result<u64, TridentError> {
    let Some(value) = env.get(name).map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    match crate::telemetry::values::parse_size(value) {
        Some(bytes) if bytes >= minimum => Ok(bytes),
        parsed => Err(TridentError::Validation(format!(
            "{name} (from {}) must be a size such as 64MB or 1GB{}, got '{value}'",
            env.source(name),
            match parsed {
                Some(_) => format!(
                    " of at least {}",
                    crate::telemetry::values::format_size(minimum)
                ),
                None => String::new(),
            }
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(process: &[(&str, &str)], dotenv: &[(&str, &str)]) -> Environment {
        let pairs = |p: &[(&str, &str)]| {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        Environment::from_parts(
            pairs(process).into_iter().collect(),
            pairs(dotenv).into_iter().collect(),
        )
    }

    #[test]
    fn dotenv_never_overrides_the_process() {
        let e = env(&[("A", "process")], &[("A", "dotenv"), ("B", "dotenv")]);
        assert_eq!(e.get("A"), Some("process"));
        assert_eq!(e.get("B"), Some("dotenv"));
        assert_eq!(e.overlay(), vec![("B".to_string(), "dotenv".to_string())]);
        assert_eq!(e.source("A"), "the environment");
        assert_eq!(e.source("B"), "the project's .env");
    }

    #[test]
    fn variables_that_are_not_utf8_are_kept_as_text() {
        use std::os::unix::ffi::OsStringExt;
        let vars = text_vars(
            [
                (OsString::from("A"), OsString::from_vec(b"x\xffy".to_vec())),
                (OsString::from_vec(b"B\xff".to_vec()), OsString::from("1")),
            ]
            .into_iter(),
        );
        assert_eq!(vars["A"], "x\u{fffd}y");
        assert_eq!(vars["B\u{fffd}"], "1");
    }

    #[test]
    fn bad_values_name_the_variable_and_its_source() {
        let e = RunSettings::resolve(env(&[], &[(MAX_PARALLEL_VAR, "lots")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("TRIDENT_MAX_PARALLEL (from the project's .env)"),
            "{e}"
        );
        let e = RunSettings::resolve(env(&[("TRIDENT_RETRY_BASE_MS", "soon")], &[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("TRIDENT_RETRY_BASE_MS"), "{e}");
        let ok =
            RunSettings::resolve(env(&[(MAX_PARALLEL_VAR, "8")], &[(PYTHON_VAR, "py")])).unwrap();
        assert_eq!(ok.max_parallel, 8);
        assert_eq!(ok.python, Some(OsString::from("py")));
        assert_eq!(ok.temp_folder, TempFolder::default());
        let tmp = RunSettings::resolve(env(&[], &[("TMPDIR", "/scratch")])).unwrap();
        assert_eq!(tmp.temp_folder.path(), std::path::Path::new("/scratch"));
    }

    #[test]
    fn trigger_depths_are_whole_numbers() {
        let unset = RunSettings::resolve(env(&[], &[])).unwrap();
        assert_eq!(unset.trigger_depth, TriggerDepth::default());
        let set = RunSettings::resolve(env(
            &[(TRIGGER_DEPTH_VAR, "4")],
            &[(MAX_TRIGGER_DEPTH_VAR, " 9 ")],
        ))
        .unwrap();
        assert_eq!(set.trigger_depth, TriggerDepth::new(4, 9));
        for (process, dotenv, expected) in [
            (
                &[(TRIGGER_DEPTH_VAR, "-1")][..],
                &[][..],
                "TRIDENT_TRIGGER_DEPTH (from the environment) must be a whole number of 0 or \
                 more, got '-1'",
            ),
            (
                &[],
                &[(MAX_TRIGGER_DEPTH_VAR, "deep")],
                "TRIDENT_MAX_TRIGGER_DEPTH (from the project's .env) must be a whole number of 0 \
                 or more, got 'deep'",
            ),
        ] {
            let e = RunSettings::resolve(env(process, dotenv))
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected), "{e}");
        }
    }

    #[test]
    fn the_output_limit_is_a_size_of_at_least_one_kilobyte() {
        let ok = RunSettings::resolve(env(&[(MAX_OUTPUT_SIZE_VAR, "2MB")], &[])).unwrap();
        assert_eq!(ok.output_limit.bytes(), 2 << 20);
        let unset = RunSettings::resolve(env(&[], &[])).unwrap();
        assert_eq!(unset.output_limit, OutputLimit::default());
        for (value, expected) in [
            ("big", "must be a size such as 64MB or 1GB, got 'big'"),
            (
                "100",
                "must be a size such as 64MB or 1GB of at least 1KB, got '100'",
            ),
        ] {
            let e = RunSettings::resolve(env(&[], &[(MAX_OUTPUT_SIZE_VAR, value)]))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("TRIDENT_MAX_OUTPUT_SIZE (from the project's .env)")
                    && e.contains(expected),
                "{e}"
            );
        }
    }
}
