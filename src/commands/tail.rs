//! `trident telemetry tail [FILE|latest] [-f]`: prints the events of a telemetry file or of
//! a run's `events.jsonl` (`latest` by default), filtered by event, category, severity,
//! level and run, as human lines or as the original JSON lines; with `-f`, keeps following
//! the file by name across rotation and truncation, like `tail -F`.
//!
//! A partial last line is held until complete; a corrupt line is reported on stderr with
//! its line number and skipped; a missing file is an error (exit 2) unless following, which
//! waits for it. Colours only when stdout is a terminal, `NO_COLOR` is unset and `TERM` is not `dumb`.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::cli::{TailArgs, TailFormat};
use crate::error::TridentError;
use crate::eventlog::{FileChange, Follower, Line, locate_run};
use crate::exit::ExitCode;
use crate::telemetry::{EventFilter, EventKind, LevelSetting, Selector, human_line};

/// How often a followed file is checked for new lines.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Which events are printed.
struct TailFilter {
    kinds: Option<EventFilter>,
    run: Option<String>,
}

impl TailFilter {
    fn from_args(args: &TailArgs, run: Option<String>) -> Result<TailFilter, TridentError> {
        let level = match &args.level {
            None => None,
            Some(text) => Some(LevelSetting::parse(text).ok_or_else(|| {
                TridentError::Validation(format!(
                    "--level '{text}' is not a level: use one of {}.",
                    LevelSetting::ACCEPTED
                ))
            })?),
        };
        let selectors = match &args.filter {
            None => Vec::new(),
            Some(list) => Selector::parse_list([list.as_str()]).map_err(|bad| {
                TridentError::Validation(format!(
                    "--filter: '{bad}' is not an event, category or severity; use {}.",
                    Selector::accepted()
                ))
            })?,
        };
        let kinds =
            (level.is_some() || !selectors.is_empty()).then(|| EventFilter::new(level, &selectors));
        Ok(TailFilter { kinds, run })
    }

    fn admits(&self, event: &Map<String, Value>) -> bool {
        if let Some(kinds) = self.kinds {
            let kind = event
                .get("event")
                .and_then(Value::as_str)
                .and_then(EventKind::from_name);
            if !kind.is_some_and(|k| kinds.allows(k)) {
                return false;
            }
        }
        if let Some(run) = &self.run {
            let is = |key: &str| {
                event
                    .get(key)
                    .and_then(Value::as_str)
                    .is_some_and(|id| id.starts_with(run.as_str()))
            };
            if !is("run_id") && !is("parent_run_id") {
                return false;
            }
        }
        true
    }
}

/// Prints one file's events.
struct Printer {
    path: PathBuf,
    filter: TailFilter,
    human: bool,
    colors: bool,
    out: io::Stdout,
}

impl Printer {
    /// Prints `line` if it passes; `Err` only when stdout is gone.
    fn line(&mut self, line: Line<'_>) -> io::Result<()> {
        if line.is_blank() {
            return Ok(());
        }
        let event = match line.parse() {
            Ok(event) => event,
            Err(corrupt) => {
                eprintln!("trident: tail: {}: {corrupt}", self.path.display());
                return Ok(());
            }
        };
        if !self.filter.admits(&event) {
            return Ok(());
        }
        let mut out = self.out.lock();
        if self.human {
            out.write_all(human_line(&event, self.colors).as_bytes())?;
        } else {
            out.write_all(line.bytes)?;
            out.write_all(b"\n")?;
        }
        out.flush()
    }

    fn change(&self, change: &FileChange) {
        let path = self.path.display();
        match change {
            FileChange::Opened => {}
            FileChange::Replaced { unfinished_line } => {
                if let Some(n) = unfinished_line {
                    eprintln!(
                        "trident: tail: {path}: line {n}: incomplete last line of the replaced file; skipped"
                    );
                }
                eprintln!("trident: tail: {path} was replaced (rotated); following the new file");
            }
            FileChange::Truncated => {
                eprintln!("trident: tail: {path} was truncated; reading it from its start")
            }
            FileChange::Removed => {
                eprintln!("trident: tail: {path} was removed; waiting for it to reappear")
            }
        }
    }
}

/// The file to read and the run filter: `FILE`, or a run's events.jsonl in `--project`.
fn target(args: &TailArgs) -> Result<(PathBuf, Option<String>), TridentError> {
    match args.file.as_deref() {
        Some(file) if file != "latest" => Ok((PathBuf::from(file), args.run.clone())),
        _ => {
            let run = args.run.as_deref().unwrap_or("latest");
            let found = locate_run(&args.project, run)?;
            Ok((found.path, None))
        }
    }
}

pub fn tail(args: &TailArgs) -> Result<ExitCode, TridentError> {
    let (path, run) = target(args)?;
    let filter = TailFilter::from_args(args, run)?;
    let stdout_tty = io::stdout().is_terminal();
    let human = match args.format {
        Some(format) => format == TailFormat::Human,
        None => stdout_tty,
    };
    let colors = crate::colour_choice::stdout_colours();
    if !args.follow && !path.is_file() {
        return Err(missing(&path));
    }
    let mut printer = Printer {
        path: path.clone(),
        filter,
        human,
        colors,
        out: io::stdout(),
    };
    let mut follower = Follower::new(&path);
    let mut waiting_said = false;
    loop {
        let mut written = Ok(());
        let changes = follower
            .poll(|line| {
                if written.is_ok() {
                    written = printer.line(line);
                }
            })
            .map_err(|e| read_error(&path, &e))?;
        if let Err(e) = written {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::Success);
            }
            return Err(TridentError::Validation(format!(
                "cannot write to stdout: {e}"
            )));
        }
        for change in &changes {
            printer.change(change);
        }
        if !args.follow {
            break;
        }
        if !follower.is_open() && !waiting_said {
            eprintln!("trident: tail: waiting for {} to appear", path.display());
            waiting_said = true;
        }
        thread::sleep(POLL_INTERVAL);
    }
    if let Some(partial) = follower.pending() {
        eprintln!(
            "trident: tail: {}: line {}: incomplete last line (still being written?); not shown",
            path.display(),
            partial.number
        );
    }
    Ok(ExitCode::Success)
}

fn missing(path: &Path) -> TridentError {
    TridentError::Validation(format!(
        "{}: no such file: give an existing telemetry file, `latest` (with --project PATH), or -f to wait for it.",
        path.display()
    ))
}

fn read_error(path: &Path, e: &io::Error) -> TridentError {
    TridentError::Validation(format!("cannot read {}: {e}", path.display()))
}
