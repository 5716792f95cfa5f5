//! `trident project watch [PATH] [--run ID|latest]`: a live board of one run, read from its
//! `events.jsonl` as the run writes it: a line per node (pending, running with elapsed
//! time, completed with duration, tokens and cost, failed with the whole error, skipped,
//! cached) and the run's totals. Drawn in place when stdout is a terminal; otherwise the
//! board once, then a line per node change and the final summary. Exits when the run ends,
//! with its outcome: 0 completed, 1 failed or interrupted.

use std::io::{self, IsTerminal, Write};
use std::thread;
use std::time::Duration;

use console::Term;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::board::{Board, BoardText, NodeStatus, RunStatus};
use crate::cli::WatchArgs;
use crate::dag::Dag;
use crate::error::TridentError;
use crate::eventlog::{Follower, locate_run};
use crate::exit::ExitCode;
use crate::project::load_project;

/// How often the run's file is checked for new events.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The board with the project's nodes (all pending) when the project loads; else empty
/// (nodes then appear as their events arrive).
fn initial_board(args: &WatchArgs) -> Board {
    load_project(&args.path)
        .and_then(|project| Dag::build(&project))
        .map(|dag| Board::for_dag(&dag))
        .unwrap_or_default()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Reads what is new in the file into the board; returns the nodes whose status changed.
fn catch_up(follower: &mut Follower, board: &mut Board) -> Result<Vec<usize>, TridentError> {
    let before: Vec<NodeStatus> = board.nodes().iter().map(|n| n.status).collect();
    let path = follower.path().display().to_string();
    follower
        .poll(|line| {
            if line.is_blank() {
                return;
            }
            if let Err(corrupt) = line.event().map(|event| board.apply(&event)) {
                eprintln!("trident: watch: {path}: {corrupt}");
            }
        })
        .map_err(|e| TridentError::Validation(format!("cannot read {path}: {e}")))?;
    Ok(board
        .nodes()
        .iter()
        .enumerate()
        .filter(|(i, n)| before.get(*i) != Some(&n.status))
        .map(|(i, _)| i)
        .collect())
}

fn outcome(board: &Board) -> ExitCode {
    match board.run().status {
        Some(RunStatus::Completed) => ExitCode::Success,
        _ => ExitCode::Runtime,
    }
}

pub fn watch(args: &WatchArgs) -> Result<ExitCode, TridentError> {
    let found = locate_run(&args.path, args.run.as_deref().unwrap_or("latest"))?;
    let mut board = initial_board(args);
    let mut follower = Follower::new(&found.path);
    if io::stdout().is_terminal() {
        let colors = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        watch_in_place(&mut follower, board, colors)
    } else {
        watch_plain(&mut follower, &mut board)
    }
}

/// A terminal: the whole board, redrawn in place.
fn watch_in_place(
    follower: &mut Follower,
    board: Board,
    colors: bool,
) -> Result<ExitCode, TridentError> {
    let shared = std::sync::Arc::new(std::sync::Mutex::new(board));
    let text = BoardText::new(colors);
    let drawn = std::sync::Arc::clone(&shared);
    let style = ProgressStyle::with_template("{board}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key(
            "board",
            move |_: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                let board = drawn.lock().unwrap_or_else(|e| e.into_inner());
                let width = usize::from(Term::stdout().size().1).max(20);
                let lines: Vec<String> = text
                    .board(&board, now_ms())
                    .iter()
                    .map(|l| console::truncate_str(l, width - 1, "…").into_owned())
                    .collect();
                let _ = out.write_str(&lines.join("\n"));
            },
        );
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout_with_hz(10))
        .with_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    loop {
        let finished = {
            let mut board = shared.lock().unwrap_or_else(|e| e.into_inner());
            catch_up(follower, &mut board)?;
            board.is_finished()
        };
        if finished {
            bar.tick();
            bar.abandon();
            let board = shared.lock().unwrap_or_else(|e| e.into_inner());
            return Ok(outcome(&board));
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// Not a terminal: the board once, then a line per node change, then the summary.
fn watch_plain(follower: &mut Follower, board: &mut Board) -> Result<ExitCode, TridentError> {
    let text = BoardText::new(false);
    let mut out = io::stdout();
    let mut first = true;
    loop {
        let changed = catch_up(follower, board)?;
        let now = now_ms();
        let widths = crate::board::render::Widths::of(board.nodes().iter());
        let mut lines = Vec::new();
        if first {
            first = false;
            for node in board.nodes() {
                lines.extend(text.node_lines(node, &widths, now));
            }
        } else {
            for i in changed {
                lines.extend(text.node_lines(&board.nodes()[i], &widths, now));
            }
        }
        if board.is_finished() {
            lines.push(text.summary(board, now));
        }
        if !lines.is_empty() {
            let mut block = lines.join("\n");
            block.push('\n');
            if let Err(e) = out.write_all(block.as_bytes()).and_then(|()| out.flush()) {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    return Ok(outcome(board));
                }
                return Err(TridentError::Validation(format!(
                    "cannot write to stdout: {e}"
                )));
            }
        }
        if board.is_finished() {
            return Ok(outcome(board));
        }
        thread::sleep(POLL_INTERVAL);
    }
}
