//! Live progress of `trident project run` on stderr: one more telemetry destination (node
//! and lifecycle events, JSON Lines) folded into a [`Board`] and drawn by `indicatif` —
//! a line per running node with its elapsed time, then done/failed/skipped/total, tokens
//! and cost so far. Redrawn in place ten times a second; cleared when the writer stops, so
//! the result printed afterwards is unchanged.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use console::Term;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::model::Board;
use super::render::BoardText;
use crate::error::TridentError;
use crate::eventlog::LineSplitter;
use crate::telemetry::sink::Sink;
use crate::telemetry::{Category, DestinationOptions, EventFilter, Format, Selector};

/// When `project run` draws live progress on stderr (`--progress`, `TRIDENT_PROGRESS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// When stderr is a terminal, no telemetry stream writes to that terminal and
    /// `--verbose` does not print there.
    Auto,
    /// Always (even over a telemetry stream, or when stderr is not a terminal).
    Always,
    /// Never.
    Never,
}

impl ProgressMode {
    /// The flag if given, else `TRIDENT_PROGRESS`, else `auto`; a bad value in the
    /// environment is an error naming it.
    pub fn resolve(
        flag: Option<ProgressMode>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ProgressMode, TridentError> {
        if let Some(mode) = flag {
            return Ok(mode);
        }
        let Some(value) = env("TRIDENT_PROGRESS").filter(|v| !v.trim().is_empty()) else {
            return Ok(ProgressMode::Auto);
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(ProgressMode::Auto),
            "always" | "on" | "true" | "1" => Ok(ProgressMode::Always),
            "never" | "off" | "false" | "0" => Ok(ProgressMode::Never),
            _ => Err(TridentError::Validation(format!(
                "TRIDENT_PROGRESS must be auto, always or never, got '{value}'"
            ))),
        }
    }

    /// Whether progress is drawn, given where stderr goes and who else writes there.
    pub fn shows(self, stderr_is_terminal: bool, terminal_is_busy: bool) -> bool {
        match self {
            ProgressMode::Always => true,
            ProgressMode::Never => false,
            ProgressMode::Auto => stderr_is_terminal && !terminal_is_busy,
        }
    }
}

/// How often the board is redrawn (elapsed times move on between events).
const REDRAW: Duration = Duration::from_millis(100);

fn lock(board: &Mutex<Board>) -> MutexGuard<'_, Board> {
    board.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Draws a run's progress on stderr.
pub struct ProgressSink {
    board: Arc<Mutex<Board>>,
    lines: LineSplitter,
    bar: ProgressBar,
}

impl ProgressSink {
    /// A progress display of `board` (the run's nodes, see [`Board::for_dag`]), drawn on
    /// stderr; `colors` styles the symbols. The drawing starts with the first event.
    pub fn new(board: Board, colors: bool) -> Self {
        let board = Arc::new(Mutex::new(board));
        let text = BoardText::new(colors);
        let shared = Arc::clone(&board);
        let style = ProgressStyle::with_template("{board}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .with_key(
                "board",
                move |_: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                    let now = chrono::Utc::now().timestamp_millis();
                    let width = usize::from(Term::stderr().size().1).max(20);
                    let lines = text.progress(&lock(&shared), now);
                    let shown: Vec<String> = lines
                        .iter()
                        .map(|l| console::truncate_str(l, width - 1, "…").into_owned())
                        .collect();
                    let _ = out.write_str(&shown.join("\n"));
                },
            );
        // Drawn on stderr even when it is not a terminal (`--progress always`).
        let target = ProgressDrawTarget::term_like_with_hz(Box::new(Term::stderr()), 10);
        let bar = ProgressBar::with_draw_target(None, target).with_style(style);
        ProgressSink {
            board,
            lines: LineSplitter::new(),
            bar,
        }
    }

    /// What the progress display needs: node and lifecycle events, JSON Lines.
    pub fn options() -> DestinationOptions {
        let selectors = [
            Selector::Category(Category::Lifecycle),
            Selector::Category(Category::Node),
        ];
        DestinationOptions::new(EventFilter::new(None, &selectors), Format::Jsonl)
    }
}

impl Sink for ProgressSink {
    fn describe(&self) -> String {
        "progress".to_string()
    }

    fn open(&mut self, _run_id: &str) -> io::Result<()> {
        self.bar.enable_steady_tick(REDRAW);
        Ok(())
    }

    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        let mut board = lock(&self.board);
        self.lines.feed(lines, |line| {
            // A line that is not an event changes nothing.
            let _ = board.apply_line(line.bytes);
        });
        Ok(())
    }

    fn close(&mut self) -> io::Result<()> {
        self.bar.finish_and_clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_the_environment_then_auto() {
        let none = |_: &str| None;
        let env = |v: &'static str| move |_: &str| Some(v.to_string());
        assert_eq!(
            ProgressMode::resolve(None, &none).unwrap(),
            ProgressMode::Auto
        );
        assert_eq!(
            ProgressMode::resolve(None, &env("never")).unwrap(),
            ProgressMode::Never
        );
        assert_eq!(
            ProgressMode::resolve(Some(ProgressMode::Always), &env("never")).unwrap(),
            ProgressMode::Always
        );
        let err = ProgressMode::resolve(None, &env("sometimes")).unwrap_err();
        assert!(err.to_string().contains("TRIDENT_PROGRESS"), "{err}");
        assert_eq!(err.exit_code(), crate::ExitCode::Validation);
    }

    #[test]
    fn auto_draws_only_on_a_free_terminal() {
        assert!(ProgressMode::Auto.shows(true, false));
        assert!(!ProgressMode::Auto.shows(false, false));
        assert!(!ProgressMode::Auto.shows(true, true));
        assert!(ProgressMode::Always.shows(false, true));
        assert!(!ProgressMode::Never.shows(true, false));
    }

    #[test]
    fn the_sink_folds_its_lines_into_the_board() {
        let mut sink = ProgressSink::new(Board::with_nodes([("a", "tool")]), false);
        sink.write_lines(
            b"{\"timestamp\":\"2026-01-23T10:00:00.000Z\",\"seq\":1,\"run_id\":\"r\",\"event\":\"node_started\",\"node_id\":\"a\",\"data\":{}}\nnot json\n{\"partial",
        )
        .unwrap();
        assert_eq!(
            lock(&sink.board).nodes()[0].status,
            crate::board::NodeStatus::Running
        );
        sink.close().unwrap();
    }
}
