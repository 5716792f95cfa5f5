//! `GET /api/runs/{run_id}/events`: a run's `events.jsonl` as Server-Sent Events. Each
//! event line is one message, `id:` its `seq`, `data:` the line exactly as written; the
//! history is replayed (after `Last-Event-ID` / `?after=SEQ` when given), then the file is
//! followed by name until the run ends, and the stream closes.
//!
//! Every client has its own [`Follower`] and reads the file only when its connection asks
//! for more: a slow or stalled client holds no lock and no buffer beyond its own, so it
//! never delays another client, the run or the server's exit (shutdown ends every stream).
//!
//! The run has ended when the file is read to its end and the run's last lifecycle event
//! is `workflow_completed`, `workflow_failed` or `workflow_interrupted` (a resume appends a
//! new `workflow_started`, so a resumed run is followed again). A run without such an event
//! ends when the run index has said so for a few seconds with nothing new written (a run
//! without events.jsonl, an artifact folder of the original runtime). A corrupt line is
//! skipped and reported by a `trident_warning` message (no `id:`); a run folder deleted
//! while followed ends the stream with one too.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::response::sse::Event;
use futures_util::Stream;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use crate::artifacts::RunIndexFile;
use crate::eventlog::{FileChange, Follower, Line};

/// How long the run index must say a run has ended, with nothing new written, before a
/// stream of a run that wrote no final event closes.
const INDEX_GRACE: Duration = Duration::from_secs(3);

/// At most about this much of the file is read (and held) per client at a time.
const READ_LIMIT: u64 = 256 * 1024;

/// The events that end a run.
const FINAL_EVENTS: [&str; 3] = [
    "workflow_completed",
    "workflow_failed",
    "workflow_interrupted",
];

/// What one stream follows.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    pub run_id: String,
    /// The artifact folder (`.trident`) of the run's project.
    pub base_dir: PathBuf,
    /// Only events with a greater `seq` are sent.
    pub after: u64,
    /// How often the file is checked for new lines.
    pub poll: Duration,
}

/// The envelope fields a stream needs from a line.
#[derive(Deserialize)]
struct Head<'a> {
    seq: Option<u64>,
    #[serde(borrow)]
    event: Option<&'a str>,
    #[serde(borrow)]
    run_id: Option<&'a str>,
}

struct State {
    spec: StreamSpec,
    follower: Follower,
    index: RunIndexFile,
    queue: VecDeque<Event>,
    /// The run's last lifecycle event ended it.
    ended: bool,
    /// When the run index was first seen saying the run has ended (nothing new since).
    index_ended_since: Option<Instant>,
    last_index_check: Option<Instant>,
    done: bool,
    shutdown: watch::Receiver<bool>,
}

fn warning(text: String) -> Event {
    Event::default()
        .event("trident_warning")
        .data(json!({ "warning": text }).to_string())
}

impl State {
    fn take_line(&mut self, line: Line<'_>) {
        if line.is_blank() {
            return;
        }
        let head = std::str::from_utf8(line.bytes)
            .ok()
            .and_then(|text| serde_json::from_str::<Head>(text).ok().map(|h| (text, h)));
        let Some((text, head)) = head else {
            self.queue.push_back(warning(format!(
                "events.jsonl line {}: not a JSON event; skipped",
                line.number
            )));
            return;
        };
        if head.run_id == Some(self.spec.run_id.as_str()) {
            match head.event {
                Some("workflow_started") => self.ended = false,
                Some(e) if FINAL_EVENTS.contains(&e) => self.ended = true,
                _ => {}
            }
        }
        match head.seq {
            Some(seq) if seq > self.spec.after => {
                self.queue
                    .push_back(Event::default().id(seq.to_string()).data(text));
            }
            Some(_) => {}
            None => self.queue.push_back(warning(format!(
                "events.jsonl line {}: no seq; skipped",
                line.number
            ))),
        }
    }

    /// Read what is new; decide whether the stream is over.
    fn read(&mut self) {
        let mut lines: Vec<(u64, Vec<u8>)> = Vec::new();
        let polled = self.follower.poll_limited(READ_LIMIT, |line| {
            lines.push((line.number, line.bytes.to_vec()))
        });
        let got_lines = !lines.is_empty();
        for (number, bytes) in &lines {
            self.take_line(Line {
                number: *number,
                bytes,
            });
        }
        match polled {
            Ok(changes) => {
                if changes.contains(&FileChange::Removed) {
                    self.queue.push_back(warning(
                        "the run's events.jsonl was removed; the stream ends".to_string(),
                    ));
                    self.done = true;
                    return;
                }
            }
            Err(e) => {
                self.queue
                    .push_back(warning(format!("cannot read the run's events.jsonl: {e}")));
                self.done = true;
                return;
            }
        }
        if got_lines {
            self.index_ended_since = None;
            return;
        }
        if self.ended {
            self.done = true;
            return;
        }
        self.check_index();
    }

    /// The run index's word on a run that wrote no final event (checked once a second).
    fn check_index(&mut self) {
        let now = Instant::now();
        if self
            .last_index_check
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        self.last_index_check = Some(now);
        let run_dir = self.spec.base_dir.join("runs").join(&self.spec.run_id);
        let entry = self
            .index
            .load()
            .runs
            .into_iter()
            .find(|r| r.run_id == self.spec.run_id);
        let over = match entry {
            Some(e) => e.status != "running",
            None => !run_dir.is_dir(),
        };
        if !over {
            self.index_ended_since = None;
            return;
        }
        let since = *self.index_ended_since.get_or_insert(now);
        if !self.follower.is_open() || now.duration_since(since) >= INDEX_GRACE {
            self.done = true;
        }
    }
}

/// The messages of one client's stream.
pub fn event_stream(
    spec: StreamSpec,
    shutdown: watch::Receiver<bool>,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    let path = spec
        .base_dir
        .join("runs")
        .join(&spec.run_id)
        .join("events.jsonl");
    let state = State {
        follower: Follower::new(path),
        index: RunIndexFile::new(&spec.base_dir),
        spec,
        queue: VecDeque::new(),
        ended: false,
        index_ended_since: None,
        last_index_check: None,
        done: false,
        shutdown,
    };
    futures_util::stream::unfold(state, |mut state| async move {
        loop {
            if *state.shutdown.borrow() {
                return None;
            }
            if let Some(event) = state.queue.pop_front() {
                return Some((Ok(event), state));
            }
            if state.done {
                return None;
            }
            state.read();
            if !state.queue.is_empty() || state.done {
                continue;
            }
            let poll = state.spec.poll;
            tokio::select! {
                () = tokio::time::sleep(poll) => {}
                _ = state.shutdown.changed() => return None,
            }
        }
    })
}
