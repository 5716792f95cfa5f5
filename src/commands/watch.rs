//! `trident project watch [PATH] [--run ID|latest]`: a live board of one run, read from its
//! `events.jsonl` as the run writes it: a line per node (pending, running with elapsed
//! time, completed with duration, tokens and cost, failed with the whole error, skipped,
//! cached) and the run's totals. Drawn in place when stdout is a terminal; otherwise the
//! board once, then a line per node change and the final summary. Exits when the run ends,
//! with its outcome as `project run` exits: 0 completed, 1 failed, 130 interrupted. A run
//! whose process died without a final event (its `metadata.json` `pid` is gone on this
//! host) is shown as interrupted and exits 130 too.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use console::Term;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::artifacts::liveness::process_is_gone;
use crate::artifacts::{RunMetadata, read_watched_json};
use crate::board::{Board, BoardText, NodeStatus, RunStatus};
use crate::cli::WatchArgs;
use crate::dag::Dag;
use crate::error::TridentError;
use crate::eventlog::{Follower, locate_run};
use crate::exit::ExitCode;
use crate::project::load_project;

/// How often the run's file is checked for new events.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// How often the run's process is checked while the run has not ended.
const LIVENESS_INTERVAL: Duration = Duration::from_millis(500);

/// Tells whether the process running the watched run is gone, from the `pid` and `host`
/// its `metadata.json` records (read again on each check: a resume records its own).
struct Liveness {
    metadata: PathBuf,
    next_check: Instant,
}

impl Liveness {
    fn new(events: &std::path::Path) -> Liveness {
        Liveness {
            metadata: events.with_file_name("metadata.json"),
            next_check: Instant::now() + LIVENESS_INTERVAL,
        }
    }

    /// Whether the run's process is known to be gone (checked at most every
    /// [`LIVENESS_INTERVAL`]; a run without a recorded pid, or from another host, is never
    /// judged).
    fn process_is_gone(&mut self) -> bool {
        if Instant::now() < self.next_check {
            return false;
        }
        self.next_check = Instant::now() + LIVENESS_INTERVAL;
        // Read like every reader of a watched artifact (a torn file falls back to its copy).
        let Ok(metadata) = read_watched_json::<RunMetadata>(&self.metadata) else {
            return false;
        };
        metadata
            .pid
            .and_then(|pid| process_is_gone(pid, metadata.host.as_deref()))
            .unwrap_or(false)
    }
}

/// Reads what is new and, when the run has not ended but its process is gone, reads once
/// more (its last lines) and marks it died. Returns the nodes whose status changed.
fn step(
    follower: &mut Follower,
    board: &mut Board,
    liveness: &mut Liveness,
) -> Result<Vec<usize>, TridentError> {
    let mut changed = catch_up(follower, board)?;
    if !board.is_finished() && liveness.process_is_gone() {
        changed.extend(catch_up(follower, board)?);
        board.mark_process_died();
    }
    Ok(changed)
}

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

/// The run's outcome as `project run` exits with it.
fn outcome(board: &Board) -> ExitCode {
    match board.run().status {
        Some(RunStatus::Completed) => ExitCode::Success,
        Some(RunStatus::Interrupted) => ExitCode::Interrupted,
        _ => ExitCode::Runtime,
    }
}

pub fn watch(args: &WatchArgs) -> Result<ExitCode, TridentError> {
    let found = locate_run(&args.path, args.run.as_deref().unwrap_or("latest"))?;
    let mut board = initial_board(args);
    let mut follower = Follower::new(&found.path);
    let mut liveness = Liveness::new(&found.path);
    if io::stdout().is_terminal() {
        let colors = crate::colour_choice::stdout_colours();
        watch_in_place(&mut follower, &mut liveness, board, colors)
    } else {
        watch_plain(&mut follower, &mut liveness, &mut board)
    }
}

/// A terminal: the whole board, redrawn in place.
fn watch_in_place(
    follower: &mut Follower,
    liveness: &mut Liveness,
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
            step(follower, &mut board, liveness)?;
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
fn watch_plain(
    follower: &mut Follower,
    liveness: &mut Liveness,
    board: &mut Board,
) -> Result<ExitCode, TridentError> {
    let text = BoardText::new(false);
    let mut out = io::stdout();
    let mut first = true;
    loop {
        let changed = step(follower, board, liveness)?;
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
