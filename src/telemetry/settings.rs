//! Telemetry settings, resolved once before a run: command-line flags over environment
//! variables over the manifest's `telemetry:` section over defaults, setting by setting.
//!
//! Each source is parsed into a `Layer` (every value validated, whichever source wins, so a
//! typo is never silently ignored), the layers are combined, then defaults fill the gaps.
//! An invalid value is a `TridentError::Validation` (exit code 2) naming the flag, variable
//! or manifest key and listing the accepted values.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::args::TelemetryArgs;
use super::filter::{EventFilter, LevelSetting, Selector};
use super::format::Format;
use super::otlp::settings::{OtlpSettings, OtlpSwitch, SWITCH_ACCEPTED};
use super::section::TelemetrySection;
use super::values::{
    BOOL_ACCEPTED, MAX_FILES_ACCEPTED, SIZE_ACCEPTED, parse_bool, parse_max_files, parse_size,
};
use crate::TridentError;

/// Rotated files kept when `max_size` is set and `max_files` is not.
pub const DEFAULT_MAX_FILES: u32 = 5;

/// Environment variable names.
pub mod env_vars {
    pub const ENABLED: &str = "TRIDENT_TELEMETRY_ENABLED";
    pub const FORMAT: &str = "TRIDENT_TELEMETRY_FORMAT";
    pub const FILE: &str = "TRIDENT_TELEMETRY_FILE";
    pub const STDOUT: &str = "TRIDENT_TELEMETRY_STDOUT";
    pub const LEVEL: &str = "TRIDENT_TELEMETRY_LEVEL";
    pub const FILTER: &str = "TRIDENT_TELEMETRY_FILTER";
    pub const MAX_SIZE: &str = "TRIDENT_TELEMETRY_MAX_SIZE";
    pub const MAX_FILES: &str = "TRIDENT_TELEMETRY_MAX_FILES";
    pub const REDACT: &str = "TRIDENT_TELEMETRY_REDACT";
    pub const OTLP: &str = "TRIDENT_TELEMETRY_OTLP";
}

/// The keys accepted in the manifest's `telemetry:` section.
pub const MANIFEST_KEYS: [&str; 10] = [
    "enabled",
    "format",
    "file",
    "stdout",
    "level",
    "filter",
    "max_size",
    "max_files",
    "redact",
    "otlp",
];

/// Keys of the manifest's `telemetry:` section that other consumers of events read and
/// check themselves (`crate::metrics::settings`, `crate::hooks::config`).
pub const CONSUMER_KEYS: [&str; 3] = ["metrics_file", "metrics_push", "hooks"];

/// Resolved, validated telemetry settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetrySettings {
    /// Whether telemetry is on (default off).
    pub enabled: bool,
    /// Line format (default jsonl).
    pub format: Format,
    /// The file to append to, absolute or relative to the process's current directory
    /// (may contain `{run_id}`).
    pub file: Option<PathBuf>,
    /// Whether lines also go to stdout (default: when no file is set).
    pub stdout: bool,
    /// The level, if set anywhere (`None` means `normal`, see [`EventFilter::new`]).
    pub level: Option<LevelSetting>,
    /// `--telemetry-filter` selectors (empty: no filter).
    pub filter: Vec<Selector>,
    /// Rotate the file before it grows past this many bytes.
    pub max_size: Option<u64>,
    /// Rotated files kept.
    pub max_files: u32,
    /// Whether secrets are redacted (default on).
    pub redact: bool,
    /// Extra payload key names to redact (manifest `redact: [..]`).
    pub redact_keys: Vec<String>,
    /// OpenTelemetry export, when on (`--telemetry-otlp`, `TRIDENT_TELEMETRY_OTLP`,
    /// `telemetry.otlp`); turns telemetry on by itself.
    pub otlp: Option<OtlpSettings>,
    /// Whether colours are allowed at all (`NO_COLOR` unset, `TERM` not `dumb`); they are
    /// used only for the human format on a terminal.
    pub colors: bool,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        TelemetrySettings {
            enabled: false,
            format: Format::Jsonl,
            file: None,
            stdout: true,
            level: None,
            filter: Vec::new(),
            max_size: None,
            max_files: DEFAULT_MAX_FILES,
            redact: true,
            redact_keys: Vec::new(),
            otlp: None,
            colors: true,
        }
    }
}

impl TelemetrySettings {
    /// The defaults with telemetry on (to stdout).
    pub fn on() -> TelemetrySettings {
        TelemetrySettings {
            enabled: true,
            ..TelemetrySettings::default()
        }
    }

    /// Resolves the settings: `args` over `env` over `manifest` (the raw `telemetry:`
    /// section) over defaults. A relative file from the manifest is relative to
    /// `project_root`; from a flag or the environment, to `cwd`.
    pub fn resolve(
        args: &TelemetryArgs,
        env: &dyn Fn(&str) -> Option<String>,
        manifest: TelemetrySection<'_>,
        project_root: &Path,
        cwd: &Path,
    ) -> Result<TelemetrySettings, TridentError> {
        let cli = Layer::from_args(args, cwd)?;
        let environment = Layer::from_env(env, cwd)?;
        let manifest = Layer::from_manifest(manifest.value, project_root)
            .map_err(|e| manifest.in_manifest(e))?;
        let layer = cli.combine(environment).combine(manifest);

        let colors = crate::colour_choice::colours_allowed(
            env("NO_COLOR").as_deref(),
            env("TERM").as_deref(),
        );

        let otlp = OtlpSettings::resolve(layer.otlp.as_ref(), env)?;
        // OTLP on turns telemetry on by itself; only `--no-telemetry` overrides it.
        let enabled = match args.enabled() {
            Some(false) => false,
            _ => layer.enabled.unwrap_or(false) || otlp.is_some(),
        };
        let settings = TelemetrySettings {
            enabled,
            format: layer.format.unwrap_or_default(),
            // stdout is the default destination only when neither a file nor OTLP is set.
            stdout: layer
                .stdout
                .unwrap_or(layer.file.is_none() && otlp.is_none()),
            file: layer.file,
            level: layer.level,
            filter: layer.filter.unwrap_or_default(),
            max_size: layer.max_size,
            max_files: layer.max_files.unwrap_or(DEFAULT_MAX_FILES),
            redact: layer.redact.unwrap_or(true),
            redact_keys: layer.redact_keys,
            otlp,
            colors,
        };
        if settings.enabled
            && !settings.stdout
            && settings.file.is_none()
            && settings.otlp.is_none()
        {
            return Err(TridentError::Validation(
                "telemetry is on but has nowhere to go: stdout is turned off \
                 (--no-telemetry-stdout, TRIDENT_TELEMETRY_STDOUT or telemetry.stdout) and no \
                 file is set (--telemetry-file, TRIDENT_TELEMETRY_FILE or telemetry.file)"
                    .to_string(),
            ));
        }
        Ok(settings)
    }

    /// Whether telemetry is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether telemetry writes to stdout (the CLI then moves its own output to stderr).
    pub fn writes_stdout(&self) -> bool {
        self.enabled && self.stdout
    }

    /// Whether payload strings are kept whole (`debug` verbosity).
    pub fn keeps_payloads_whole(&self) -> bool {
        self.level.is_some_and(LevelSetting::keeps_payloads_whole)
    }

    /// The event filter these settings describe.
    pub fn event_filter(&self) -> EventFilter {
        EventFilter::new(self.level, &self.filter)
    }

    /// The variables a `fire-and-forget` run is started with so that its telemetry is this
    /// run's, however this run got it (flags, variables or its manifest): variables come
    /// before the triggered project's manifest. The OpenTelemetry settings are added by
    /// the trace context (`RunTelemetry::triggered_run_env`); extra `redact` keys of the
    /// manifest have no variable and are not passed on.
    pub fn triggered_run_env(&self) -> Vec<(&'static str, String)> {
        let on_off = |on: bool| if on { "on" } else { "off" }.to_string();
        let mut vars = vec![(env_vars::ENABLED, on_off(self.enabled))];
        if self.otlp.is_none() {
            vars.push((env_vars::OTLP, on_off(false)));
        }
        if !self.enabled {
            return vars;
        }
        vars.push((env_vars::FORMAT, self.format.as_str().to_string()));
        vars.push((env_vars::STDOUT, on_off(self.stdout)));
        if let Some(file) = &self.file {
            vars.push((env_vars::FILE, file.display().to_string()));
        }
        if let Some(level) = self.level {
            vars.push((env_vars::LEVEL, level.as_str().to_string()));
        }
        if !self.filter.is_empty() {
            let list: Vec<&str> = self.filter.iter().map(|s| s.as_str()).collect();
            vars.push((env_vars::FILTER, list.join(",")));
        }
        if let Some(size) = self.max_size {
            vars.push((env_vars::MAX_SIZE, size.to_string()));
        }
        vars.push((env_vars::MAX_FILES, self.max_files.to_string()));
        vars.push((env_vars::REDACT, on_off(self.redact)));
        vars
    }
}

/// Where a value came from, as named in error messages.
#[derive(Debug, Clone, Copy)]
enum Origin {
    Flag(&'static str),
    Env(&'static str),
    Manifest(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "{flag}"),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::Manifest(key) => write!(f, "`telemetry.{key}` in the manifest"),
        }
    }
}

impl Origin {
    /// `what` is wrong with this source's value, then `detail`: `invalid value "x" for
    /// --flag (accepted: ...)`; for a manifest key `telemetry.key: invalid value "x"
    /// (accepted: ...)`, the manifest's path being put in front by `resolve`.
    fn error(self, what: String, detail: &str) -> TridentError {
        TridentError::Validation(match self {
            Origin::Manifest(key) => format!("telemetry.{key}: {what}{detail}"),
            other => format!("{what} for {other}{detail}"),
        })
    }
}

fn invalid(origin: Origin, value: &str, accepted: &str) -> TridentError {
    origin.error(
        format!("invalid value {value:?}"),
        &format!(" (accepted: {accepted})"),
    )
}

/// One source's settings; `None` where the source says nothing.
#[derive(Debug, Default)]
struct Layer {
    enabled: Option<bool>,
    format: Option<Format>,
    file: Option<PathBuf>,
    stdout: Option<bool>,
    level: Option<LevelSetting>,
    filter: Option<Vec<Selector>>,
    max_size: Option<u64>,
    max_files: Option<u32>,
    redact: Option<bool>,
    redact_keys: Vec<String>,
    otlp: Option<OtlpSwitch>,
}

impl Layer {
    /// This layer, with `lower` filling what it leaves unset.
    fn combine(self, lower: Layer) -> Layer {
        let mut redact_keys = self.redact_keys;
        redact_keys.extend(lower.redact_keys);
        Layer {
            enabled: self.enabled.or(lower.enabled),
            format: self.format.or(lower.format),
            file: self.file.or(lower.file),
            stdout: self.stdout.or(lower.stdout),
            level: self.level.or(lower.level),
            filter: self.filter.or(lower.filter),
            max_size: self.max_size.or(lower.max_size),
            max_files: self.max_files.or(lower.max_files),
            redact: self.redact.or(lower.redact),
            redact_keys,
            otlp: self.otlp.or(lower.otlp),
        }
    }

    /// Parses the text values every source can give (flags, variables, manifest strings).
    fn text(
        &mut self,
        setting: Setting,
        text: &str,
        origin: Origin,
        base: &Path,
    ) -> Result<(), TridentError> {
        match setting {
            Setting::Enabled => {
                self.enabled =
                    Some(parse_bool(text).ok_or_else(|| invalid(origin, text, BOOL_ACCEPTED))?)
            }
            Setting::Stdout => {
                self.stdout =
                    Some(parse_bool(text).ok_or_else(|| invalid(origin, text, BOOL_ACCEPTED))?)
            }
            Setting::Format => {
                self.format = Some(
                    Format::parse(text).ok_or_else(|| invalid(origin, text, Format::ACCEPTED))?,
                )
            }
            Setting::File => self.file = Some(parse_file(text, origin, base)?),
            Setting::Level => {
                self.level = Some(
                    LevelSetting::parse(text)
                        .ok_or_else(|| invalid(origin, text, LevelSetting::ACCEPTED))?,
                )
            }
            Setting::Filter => self.filter = Some(parse_filter([text], origin)?),
            Setting::MaxSize => {
                self.max_size =
                    Some(parse_size(text).ok_or_else(|| invalid(origin, text, SIZE_ACCEPTED))?)
            }
            Setting::MaxFiles => {
                self.max_files = Some(
                    parse_max_files(text)
                        .ok_or_else(|| invalid(origin, text, MAX_FILES_ACCEPTED))?,
                )
            }
            Setting::Redact => {
                self.redact =
                    Some(parse_bool(text).ok_or_else(|| invalid(origin, text, "on, off"))?)
            }
            Setting::Otlp => {
                self.otlp = Some(
                    OtlpSwitch::parse(text)
                        .ok_or_else(|| invalid(origin, text, SWITCH_ACCEPTED))?,
                )
            }
        }
        Ok(())
    }

    fn from_args(args: &TelemetryArgs, cwd: &Path) -> Result<Layer, TridentError> {
        let mut layer = Layer {
            enabled: args.enabled(),
            stdout: args.stdout(),
            ..Layer::default()
        };
        if let Some(file) = &args.telemetry_file {
            if file.as_os_str().is_empty() {
                return Err(invalid(Origin::Flag("--telemetry-file"), "", "a file path"));
            }
            layer.file = Some(check_file(
                cwd.join(file),
                Origin::Flag("--telemetry-file"),
            )?);
        }
        let texts = [
            (
                Setting::Format,
                &args.telemetry_format,
                "--telemetry-format",
            ),
            (Setting::Level, &args.telemetry_level, "--telemetry-level"),
            (
                Setting::Filter,
                &args.telemetry_filter,
                "--telemetry-filter",
            ),
            (
                Setting::MaxSize,
                &args.telemetry_max_size,
                "--telemetry-max-size",
            ),
            (
                Setting::MaxFiles,
                &args.telemetry_max_files,
                "--telemetry-max-files",
            ),
            (
                Setting::Redact,
                &args.telemetry_redact,
                "--telemetry-redact",
            ),
            (Setting::Otlp, &args.telemetry_otlp, "--telemetry-otlp"),
        ];
        for (setting, value, flag) in texts {
            if let Some(text) = value {
                layer.text(setting, text, Origin::Flag(flag), cwd)?;
            }
        }
        Ok(layer)
    }

    fn from_env(env: &dyn Fn(&str) -> Option<String>, cwd: &Path) -> Result<Layer, TridentError> {
        let mut layer = Layer::default();
        let vars = [
            (Setting::Enabled, env_vars::ENABLED),
            (Setting::Format, env_vars::FORMAT),
            (Setting::File, env_vars::FILE),
            (Setting::Stdout, env_vars::STDOUT),
            (Setting::Level, env_vars::LEVEL),
            (Setting::Filter, env_vars::FILTER),
            (Setting::MaxSize, env_vars::MAX_SIZE),
            (Setting::MaxFiles, env_vars::MAX_FILES),
            (Setting::Redact, env_vars::REDACT),
            (Setting::Otlp, env_vars::OTLP),
        ];
        for (setting, var) in vars {
            // An empty variable is the same as an unset one.
            if let Some(text) = env(var).filter(|v| !v.trim().is_empty()) {
                layer.text(setting, &text, Origin::Env(var), cwd)?;
            }
        }
        Ok(layer)
    }

    fn from_manifest(section: Option<&Value>, root: &Path) -> Result<Layer, TridentError> {
        let mut layer = Layer::default();
        let map = match section {
            None | Some(Value::Null) => return Ok(layer),
            Some(Value::Bool(on)) => {
                layer.enabled = Some(*on);
                return Ok(layer);
            }
            Some(Value::Object(map)) => map,
            Some(other) => {
                return Err(TridentError::Validation(format!(
                    "telemetry: expected a mapping with keys {} (or true/false), found {}",
                    MANIFEST_KEYS.join(", "),
                    compact(other)
                )));
            }
        };
        for (key, value) in map {
            if CONSUMER_KEYS.contains(&key.as_str()) {
                continue;
            }
            let Some(setting) = Setting::from_key(key) else {
                return Err(TridentError::Validation(format!(
                    "telemetry.{key}: unknown key (accepted: {}, {})",
                    MANIFEST_KEYS.join(", "),
                    CONSUMER_KEYS.join(", ")
                )));
            };
            let origin = Origin::Manifest(setting.key());
            match (setting, value) {
                (_, Value::Null) => {}
                (Setting::Enabled, Value::Bool(b)) => layer.enabled = Some(*b),
                (Setting::Stdout, Value::Bool(b)) => layer.stdout = Some(*b),
                (Setting::Redact, Value::Bool(b)) => layer.redact = Some(*b),
                (Setting::Otlp, Value::Bool(b)) => {
                    layer.otlp = Some(if *b { OtlpSwitch::On } else { OtlpSwitch::Off })
                }
                (Setting::Redact, Value::Array(items)) => {
                    let mut keys = Vec::new();
                    for item in items {
                        match item.as_str().map(str::trim) {
                            Some(k) if !k.is_empty() => keys.push(k.to_string()),
                            _ => {
                                return Err(invalid(
                                    origin,
                                    &compact(item),
                                    "on, off, or a list of extra key names to redact",
                                ));
                            }
                        }
                    }
                    layer.redact = Some(true);
                    layer.redact_keys = keys;
                }
                (Setting::Filter, Value::Array(items)) => {
                    let mut texts = Vec::new();
                    for item in items {
                        match item.as_str() {
                            Some(t) => texts.push(t),
                            None => {
                                return Err(invalid(origin, &compact(item), &Selector::accepted()));
                            }
                        }
                    }
                    layer.filter = Some(parse_filter(texts, origin)?);
                }
                (Setting::MaxSize | Setting::MaxFiles, Value::Number(n)) => {
                    layer.text(setting, &n.to_string(), origin, root)?
                }
                (_, Value::String(text)) => layer.text(setting, text, origin, root)?,
                (_, other) => return Err(invalid(origin, &compact(other), setting.accepted())),
            }
        }
        Ok(layer)
    }
}

/// The settings, for dispatching parsers and naming manifest keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setting {
    Enabled,
    Format,
    File,
    Stdout,
    Level,
    Filter,
    MaxSize,
    MaxFiles,
    Redact,
    Otlp,
}

impl Setting {
    const ALL: [Setting; 10] = [
        Setting::Enabled,
        Setting::Format,
        Setting::File,
        Setting::Stdout,
        Setting::Level,
        Setting::Filter,
        Setting::MaxSize,
        Setting::MaxFiles,
        Setting::Redact,
        Setting::Otlp,
    ];

    fn key(self) -> &'static str {
        MANIFEST_KEYS[Setting::ALL.iter().position(|s| *s == self).unwrap_or(0)]
    }

    fn from_key(key: &str) -> Option<Setting> {
        Setting::ALL.into_iter().find(|s| s.key() == key)
    }

    fn accepted(self) -> &'static str {
        match self {
            Setting::Enabled | Setting::Stdout => BOOL_ACCEPTED,
            Setting::Format => Format::ACCEPTED,
            Setting::File => "a file path",
            Setting::Level => LevelSetting::ACCEPTED,
            Setting::Filter => "a comma-separated string or a list of selectors",
            Setting::MaxSize => SIZE_ACCEPTED,
            Setting::MaxFiles => MAX_FILES_ACCEPTED,
            Setting::Redact => "on, off, or a list of extra key names to redact",
            Setting::Otlp => SWITCH_ACCEPTED,
        }
    }
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn parse_filter<'a>(
    items: impl IntoIterator<Item = &'a str>,
    origin: Origin,
) -> Result<Vec<Selector>, TridentError> {
    Selector::parse_list(items).map_err(|bad| {
        origin.error(
            format!("invalid selector {bad:?}"),
            &format!(" (accepted: {})", Selector::accepted()),
        )
    })
}

fn parse_file(text: &str, origin: Origin, base: &Path) -> Result<PathBuf, TridentError> {
    if text.trim().is_empty() {
        return Err(invalid(origin, text, "a file path"));
    }
    check_file(base.join(text), origin)
}

/// Refuses a path that is an existing folder (the one file error knowable before the run;
/// permissions and full disks are handled while writing, without stopping the run).
fn check_file(path: PathBuf, origin: Origin) -> Result<PathBuf, TridentError> {
    if path.is_dir() {
        return Err(origin.error(
            format!("invalid value {:?}", path.display().to_string()),
            ": it is a folder (accepted: a file path)",
        ));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;
    use crate::telemetry::catalogue::{EventKind, Level, Verbosity};

    struct Case {
        args: TelemetryArgs,
        env: HashMap<&'static str, &'static str>,
        manifest: Option<Value>,
    }

    impl Case {
        fn new() -> Case {
            Case {
                args: TelemetryArgs::default(),
                env: HashMap::new(),
                manifest: None,
            }
        }
        fn env(mut self, k: &'static str, v: &'static str) -> Case {
            self.env.insert(k, v);
            self
        }
        fn manifest(mut self, v: Value) -> Case {
            self.manifest = Some(v);
            self
        }
        fn args(mut self, f: impl FnOnce(&mut TelemetryArgs)) -> Case {
            f(&mut self.args);
            self
        }
        fn resolve(&self) -> Result<TelemetrySettings, TridentError> {
            let env = |k: &str| self.env.get(k).map(|v| v.to_string());
            TelemetrySettings::resolve(
                &self.args,
                &env,
                TelemetrySection::new(self.manifest.as_ref(), Path::new("/project/agent.tml")),
                Path::new("/project"),
                Path::new("/cwd"),
            )
        }
        fn ok(&self) -> TelemetrySettings {
            self.resolve().expect("valid settings")
        }
        fn err(&self) -> String {
            match self.resolve() {
                Err(TridentError::Validation(msg)) => msg,
                other => panic!("expected a validation error, got {other:?}"),
            }
        }
    }

    #[test]
    fn defaults() {
        let s = Case::new().ok();
        assert_eq!(s, TelemetrySettings::default());
        assert!(!s.enabled());
        assert!(!s.writes_stdout());
        assert!(s.redact);
        assert_eq!(s.format, Format::Jsonl);
        assert_eq!(
            s.event_filter(),
            EventFilter::new(Some(LevelSetting::Verbosity(Verbosity::Normal)), &[])
        );
        let on = Case::new().args(|a| a.telemetry = true).ok();
        assert!(on.writes_stdout());
        assert_eq!(TelemetrySettings::on(), on);
    }

    #[test]
    fn a_triggered_run_inherits_the_settings_however_they_were_given() {
        let parent = Case::new()
            .manifest(json!({
                "enabled": true, "format": "human", "file": "logs/{run_id}.log",
                "level": "warning", "filter": "node,agent_turn_started,error",
                "max_size": "1MB", "max_files": 3, "redact": false,
            }))
            .args(|a| a.telemetry_stdout = true)
            .ok();
        let vars: HashMap<&str, String> = parent.triggered_run_env().into_iter().collect();
        assert_eq!(vars["TRIDENT_TELEMETRY_OTLP"], "off");
        // Variables come before the triggered project's own manifest.
        let env = |k: &str| vars.get(k).cloned();
        let child = TelemetrySettings::resolve(
            &TelemetryArgs::default(),
            &env,
            TelemetrySection::new(
                Some(&json!({"enabled": false, "level": "debug", "otlp": "on", "format": "jsonl"})),
                Path::new("/elsewhere/agent.tml"),
            ),
            Path::new("/elsewhere"),
            Path::new("/cwd"),
        )
        .unwrap();
        assert_eq!(child, parent);
        assert_eq!(
            child.file.as_deref(),
            Some(Path::new("/project/logs/{run_id}.log"))
        );

        // Off stays off, whatever the triggered project says.
        let vars = Case::new().ok().triggered_run_env();
        let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        let child = TelemetrySettings::resolve(
            &TelemetryArgs::default(),
            &env,
            TelemetrySection::new(
                Some(&json!({"enabled": true, "otlp": "on"})),
                Path::new("/elsewhere/agent.tml"),
            ),
            Path::new("/elsewhere"),
            Path::new("/cwd"),
        )
        .unwrap();
        assert_eq!(child, TelemetrySettings::default());
    }

    #[test]
    fn enabled_precedence() {
        let m = json!({"enabled": true});
        assert!(Case::new().manifest(m.clone()).ok().enabled);
        assert!(
            !Case::new()
                .manifest(m.clone())
                .env("TRIDENT_TELEMETRY_ENABLED", "0")
                .ok()
                .enabled
        );
        assert!(
            Case::new()
                .manifest(m.clone())
                .env("TRIDENT_TELEMETRY_ENABLED", "no")
                .args(|a| a.telemetry = true)
                .ok()
                .enabled
        );
        assert!(
            !Case::new()
                .env("TRIDENT_TELEMETRY_ENABLED", "yes")
                .args(|a| a.no_telemetry = true)
                .ok()
                .enabled
        );
        assert!(Case::new().manifest(json!(true)).ok().enabled);
        assert!(
            Case::new()
                .env("TRIDENT_TELEMETRY_ENABLED", "on")
                .ok()
                .enabled
        );
    }

    #[test]
    fn format_precedence() {
        let m = json!({"format": "human"});
        assert_eq!(Case::new().manifest(m.clone()).ok().format, Format::Human);
        assert_eq!(
            Case::new()
                .manifest(m.clone())
                .env("TRIDENT_TELEMETRY_FORMAT", "jsonl")
                .ok()
                .format,
            Format::Jsonl
        );
        assert_eq!(
            Case::new()
                .manifest(m)
                .env("TRIDENT_TELEMETRY_FORMAT", "jsonl")
                .args(|a| a.telemetry_format = Some("human".into()))
                .ok()
                .format,
            Format::Human
        );
    }

    #[test]
    fn file_precedence_and_relative_paths() {
        let m = json!({"file": "logs/t.jsonl"});
        let s = Case::new().manifest(m.clone()).ok();
        assert_eq!(s.file, Some(PathBuf::from("/project/logs/t.jsonl")));
        assert!(!s.stdout, "a file turns stdout off by default");
        let s = Case::new()
            .manifest(m.clone())
            .env("TRIDENT_TELEMETRY_FILE", "e.jsonl")
            .ok();
        assert_eq!(s.file, Some(PathBuf::from("/cwd/e.jsonl")));
        let s = Case::new()
            .manifest(m)
            .env("TRIDENT_TELEMETRY_FILE", "e.jsonl")
            .args(|a| a.telemetry_file = Some("/abs/{run_id}.jsonl".into()))
            .ok();
        assert_eq!(s.file, Some(PathBuf::from("/abs/{run_id}.jsonl")));
    }

    #[test]
    fn stdout_precedence() {
        let file = json!({"file": "t.jsonl", "stdout": true});
        assert!(Case::new().manifest(file.clone()).ok().stdout);
        assert!(
            !Case::new()
                .manifest(file.clone())
                .env("TRIDENT_TELEMETRY_STDOUT", "false")
                .ok()
                .stdout
        );
        assert!(
            Case::new()
                .manifest(file)
                .env("TRIDENT_TELEMETRY_STDOUT", "false")
                .args(|a| a.telemetry_stdout = true)
                .ok()
                .stdout
        );
        let s = Case::new()
            .args(|a| {
                a.telemetry = true;
                a.telemetry_file = Some("x.jsonl".into());
                a.telemetry_stdout = true;
            })
            .ok();
        assert!(s.writes_stdout());
    }

    #[test]
    fn level_precedence_and_original_spellings() {
        let m = json!({"level": "minimal"});
        let level = |c: Case| c.ok().level;
        assert_eq!(level(Case::new()), None);
        assert_eq!(
            level(Case::new().manifest(m.clone())),
            Some(LevelSetting::Verbosity(Verbosity::Minimal))
        );
        assert_eq!(
            level(
                Case::new()
                    .manifest(m.clone())
                    .env("TRIDENT_TELEMETRY_LEVEL", "verbose")
            ),
            Some(LevelSetting::Verbosity(Verbosity::Verbose))
        );
        assert_eq!(
            level(
                Case::new()
                    .manifest(m)
                    .env("TRIDENT_TELEMETRY_LEVEL", "verbose")
                    .args(|a| a.telemetry_level = Some("error".into()))
            ),
            Some(LevelSetting::Floor(Level::Error))
        );
        assert_eq!(
            level(Case::new().args(|a| a.telemetry_level = Some("info".into()))),
            Some(LevelSetting::Verbosity(Verbosity::Normal))
        );
        assert_eq!(
            level(Case::new().args(|a| a.telemetry_level = Some("warning".into()))),
            Some(LevelSetting::Floor(Level::Warning))
        );
        let debug = Case::new()
            .args(|a| a.telemetry_level = Some("debug".into()))
            .ok();
        assert!(debug.keeps_payloads_whole());
        assert!(!Case::new().ok().keeps_payloads_whole());
    }

    #[test]
    fn filter_precedence_and_forms() {
        let m = json!({"filter": ["node", "error"]});
        let s = Case::new().manifest(m.clone()).ok();
        assert!(s.event_filter().allows(EventKind::NodeStarted));
        assert!(s.event_filter().allows(EventKind::WorkflowFailed));
        assert!(!s.event_filter().allows(EventKind::WorkflowStarted));
        let s = Case::new()
            .manifest(m.clone())
            .env("TRIDENT_TELEMETRY_FILTER", "agent")
            .ok();
        assert_eq!(
            s.filter,
            vec![Selector::Category(crate::telemetry::Category::Agent)]
        );
        let s = Case::new()
            .manifest(m)
            .env("TRIDENT_TELEMETRY_FILTER", "agent")
            .args(|a| a.telemetry_filter = Some("node_failed".into()))
            .ok();
        assert_eq!(s.filter, vec![Selector::Event(EventKind::NodeFailed)]);
        let s = Case::new()
            .manifest(json!({"filter": "node, lifecycle"}))
            .ok();
        assert_eq!(s.filter.len(), 2);
    }

    #[test]
    fn rotation_precedence() {
        let m = json!({"max_size": "1MB", "max_files": 2});
        let s = Case::new().manifest(m.clone()).ok();
        assert_eq!((s.max_size, s.max_files), (Some(1 << 20), 2));
        let s = Case::new()
            .manifest(m.clone())
            .env("TRIDENT_TELEMETRY_MAX_SIZE", "64KB")
            .env("TRIDENT_TELEMETRY_MAX_FILES", "3")
            .ok();
        assert_eq!((s.max_size, s.max_files), (Some(64 << 10), 3));
        let s = Case::new()
            .manifest(m)
            .env("TRIDENT_TELEMETRY_MAX_SIZE", "64KB")
            .env("TRIDENT_TELEMETRY_MAX_FILES", "3")
            .args(|a| {
                a.telemetry_max_size = Some("10MB".into());
                a.telemetry_max_files = Some("4".into());
            })
            .ok();
        assert_eq!((s.max_size, s.max_files), (Some(10 << 20), 4));
        let s = Case::new().manifest(json!({"max_size": 4096})).ok();
        assert_eq!((s.max_size, s.max_files), (Some(4096), DEFAULT_MAX_FILES));
    }

    #[test]
    fn redact_precedence_and_extra_keys() {
        let m = json!({"redact": ["ssn", "email"]});
        let s = Case::new().manifest(m.clone()).ok();
        assert!(s.redact);
        assert_eq!(s.redact_keys, vec!["ssn", "email"]);
        assert!(!Case::new().manifest(json!({"redact": "off"})).ok().redact);
        assert!(!Case::new().manifest(json!({"redact": false})).ok().redact);
        assert!(
            !Case::new()
                .manifest(m.clone())
                .env("TRIDENT_TELEMETRY_REDACT", "off")
                .ok()
                .redact
        );
        assert!(
            Case::new()
                .manifest(json!({"redact": false}))
                .env("TRIDENT_TELEMETRY_REDACT", "off")
                .args(|a| a.telemetry_redact = Some("on".into()))
                .ok()
                .redact
        );
    }

    #[test]
    fn no_color() {
        assert!(Case::new().ok().colors);
        assert!(!Case::new().env("NO_COLOR", "1").ok().colors);
        assert!(Case::new().env("NO_COLOR", "").ok().colors);
        assert!(!Case::new().env("TERM", "dumb").ok().colors);
    }

    #[test]
    fn empty_env_values_are_unset() {
        let s = Case::new()
            .env("TRIDENT_TELEMETRY_FORMAT", "")
            .env("TRIDENT_TELEMETRY_LEVEL", " ")
            .ok();
        assert_eq!(s.format, Format::Jsonl);
        assert_eq!(s.level, None);
    }

    #[test]
    fn invalid_values_name_their_source_and_the_accepted_values() {
        let e = Case::new()
            .args(|a| a.telemetry_format = Some("xml".into()))
            .err();
        assert_eq!(
            e,
            "invalid value \"xml\" for --telemetry-format (accepted: jsonl, human)"
        );
        let e = Case::new().env("TRIDENT_TELEMETRY_FORMAT", "xml").err();
        assert!(
            e.contains("TRIDENT_TELEMETRY_FORMAT") && e.contains("jsonl, human"),
            "{e}"
        );
        let e = Case::new().manifest(json!({"format": "xml"})).err();
        assert_eq!(
            e,
            "/project/agent.tml: telemetry.format: invalid value \"xml\" (accepted: jsonl, human)"
        );
        let e = Case::new().manifest(json!({"filter": "nodez"})).err();
        assert!(
            e.starts_with("/project/agent.tml: telemetry.filter: invalid selector \"nodez\""),
            "{e}"
        );

        let e = Case::new()
            .args(|a| a.telemetry_level = Some("loud".into()))
            .err();
        assert!(e.contains("--telemetry-level"), "{e}");
        assert!(
            e.contains("minimal, normal, verbose, debug, info, warning, error"),
            "{e}"
        );
        let e = Case::new().env("TRIDENT_TELEMETRY_LEVEL", "trace").err();
        assert!(
            e.contains("TRIDENT_TELEMETRY_LEVEL") && e.contains("minimal"),
            "{e}"
        );

        let e = Case::new()
            .args(|a| a.telemetry_filter = Some("node,nodez".into()))
            .err();
        assert!(
            e.contains("\"nodez\"") && e.contains("--telemetry-filter"),
            "{e}"
        );
        assert!(
            e.contains("node_failed") && e.contains("lifecycle") && e.contains("warning"),
            "{e}"
        );
        let e = Case::new().env("TRIDENT_TELEMETRY_FILTER", "bogus").err();
        assert!(e.contains("TRIDENT_TELEMETRY_FILTER"), "{e}");

        let e = Case::new()
            .args(|a| a.telemetry_max_size = Some("10XB".into()))
            .err();
        assert!(
            e.contains("--telemetry-max-size") && e.contains("KB, MB"),
            "{e}"
        );
        let e = Case::new().env("TRIDENT_TELEMETRY_MAX_SIZE", "0").err();
        assert!(e.contains("TRIDENT_TELEMETRY_MAX_SIZE"), "{e}");
        let e = Case::new().manifest(json!({"max_size": true})).err();
        assert!(e.contains("telemetry.max_size"), "{e}");

        let e = Case::new()
            .args(|a| a.telemetry_max_files = Some("many".into()))
            .err();
        assert!(
            e.contains("--telemetry-max-files") && e.contains("0 to 1000"),
            "{e}"
        );
        let e = Case::new().manifest(json!({"max_files": -1})).err();
        assert!(e.contains("telemetry.max_files"), "{e}");

        let e = Case::new()
            .args(|a| a.telemetry_redact = Some("maybe".into()))
            .err();
        assert!(
            e.contains("--telemetry-redact") && e.contains("on, off"),
            "{e}"
        );
        let e = Case::new().env("TRIDENT_TELEMETRY_ENABLED", "maybe").err();
        assert!(
            e.contains("TRIDENT_TELEMETRY_ENABLED") && e.contains(BOOL_ACCEPTED),
            "{e}"
        );
        let e = Case::new().env("TRIDENT_TELEMETRY_STDOUT", "2").err();
        assert!(e.contains("TRIDENT_TELEMETRY_STDOUT"), "{e}");
        let e = Case::new().manifest(json!({"enabled": "sometimes"})).err();
        assert!(e.contains("telemetry.enabled"), "{e}");
        let e = Case::new().manifest(json!({"redact": [1]})).err();
        assert!(e.contains("telemetry.redact"), "{e}");
    }

    #[test]
    fn invalid_values_are_refused_even_when_overridden_or_off() {
        // A lower layer's typo is still reported: nothing invalid is silently ignored.
        let e = Case::new()
            .env("TRIDENT_TELEMETRY_FORMAT", "xml")
            .args(|a| a.telemetry_format = Some("jsonl".into()))
            .err();
        assert!(e.contains("TRIDENT_TELEMETRY_FORMAT"), "{e}");
        assert!(
            Case::new()
                .args(|a| a.telemetry_level = Some("x".into()))
                .resolve()
                .is_err()
        );
    }

    #[test]
    fn manifest_shape_errors() {
        let e = Case::new().manifest(json!({"fromat": "jsonl"})).err();
        assert!(
            e.contains("telemetry.fromat") && e.contains("format"),
            "{e}"
        );
        let e = Case::new().manifest(json!("yes please")).err();
        assert!(
            e.starts_with("/project/agent.tml: telemetry: expected a mapping"),
            "{e}"
        );
        assert!(Case::new().manifest(Value::Null).resolve().is_ok());
        assert!(
            Case::new()
                .manifest(json!({"level": null}))
                .resolve()
                .is_ok()
        );
    }

    #[test]
    fn nowhere_to_write_is_refused() {
        let e = Case::new()
            .args(|a| {
                a.telemetry = true;
                a.no_telemetry_stdout = true;
            })
            .err();
        assert!(e.contains("nowhere"), "{e}");
        // ...but only when telemetry is on.
        assert!(
            Case::new()
                .args(|a| a.no_telemetry_stdout = true)
                .resolve()
                .is_ok()
        );
    }

    #[test]
    fn a_folder_is_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let args = TelemetryArgs {
            telemetry_file: Some(dir.path().to_path_buf()),
            ..TelemetryArgs::default()
        };
        let err = TelemetrySettings::resolve(
            &args,
            &|_| None,
            TelemetrySection::absent(),
            Path::new("/"),
            Path::new("/"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("--telemetry-file"), "{err}");
        assert_eq!(err.exit_code(), crate::ExitCode::Validation);
    }
}
