//! One long-lived python worker process (`worker.py`, embedded, passed to `python -c`): how it
//! is started, how one tool call goes through it, and how it is stopped.
//!
//! The worker leads its own process group, with a [`DeathWatch`] (it dies with trident, even
//! on `kill -9`), stdin `/dev/null`, and stdout and stderr both on one output pipe. Requests
//! and replies travel on two private pipes (see `worker.py` for the protocol). During a call,
//! the calling thread follows the reply pipe, the output pipe and the deadline with `poll`:
//! the tool's events and printed lines reach the [`ToolObserver`] as they happen.
//!
//! A worker that dies during a call, overruns its timeout, or asks to be retired (after
//! `SystemExit`/`KeyboardInterrupt`) is killed with its whole group and reaped; the pool
//! starts a fresh one for the next call. So is one that sends a message (its result, an
//! event) over the call's [`OutputLimit`], refused from its length before it is read; of
//! what the tool prints only the last `limit` bytes are kept.

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::frame::{FrameReader, encode};
use super::observer::{OutputLines, ToolObserver, ToolReport};
use super::readiness::{time_left, wait_readable};
use super::tool_env::ToolEnv;
use crate::death_watch::DeathWatch;
use crate::fields::FieldMap;
use crate::output_limit::OutputLimit;
use crate::tail_buffer::TailBuffer;
use crate::telemetry::Level;

/// The worker script; see its header for the protocol.
const WORKER_SCRIPT: &str = include_str!("worker.py");

/// How long to wait for the end-of-call marker on the output pipe once the reply is in. The
/// worker writes it before the reply, so it is normally already there.
const MARKER_GRACE: Duration = Duration::from_secs(1);

/// How long to read what a dead worker (or a killed one) still had in the output pipe.
const DRAIN_GRACE: Duration = Duration::from_millis(200);

/// One call for a worker.
#[derive(Debug)]
pub struct CallRequest<'a> {
    pub tool_id: &'a str,
    pub file: &'a Path,
    pub module: &'a str,
    pub function: &'a str,
    pub root: &'a Path,
    /// Streamed to the worker as JSON (inputs held as text are not parsed here).
    pub kwargs: &'a FieldMap,
    /// Variables set in the worker's environment for this call only.
    pub env: &'a ToolEnv,
}

/// A [`CallRequest`] as the worker reads it (borrowed: the inputs are not copied).
#[derive(Serialize)]
struct WireRequest<'a> {
    tool: &'a str,
    file: &'a Path,
    module: &'a str,
    function: &'a str,
    root: &'a Path,
    kwargs: &'a FieldMap,
    env: Map<String, Value>,
}

impl<'a> From<&'a CallRequest<'a>> for WireRequest<'a> {
    fn from(request: &'a CallRequest<'a>) -> Self {
        WireRequest {
            tool: request.tool_id,
            file: request.file,
            module: request.module,
            function: request.function,
            root: request.root,
            kwargs: request.kwargs,
            env: request.env.vars(),
        }
    }
}

/// How a call ended.
#[derive(Debug)]
pub enum CallEnd {
    /// The worker replied: `{"result": ...}` or a failure it caught.
    Replied(WorkerReply),
    /// The worker died before replying (`os._exit`, a crash, a kill).
    Died(Option<ExitStatus>),
    /// The deadline passed; the worker and its group were killed.
    TimedOut(Duration),
    /// The worker announced a message of `bytes`, over `limit`; it was killed.
    TooLarge { bytes: usize, limit: OutputLimit },
    /// The channel broke or carried garbage.
    Protocol(String),
}

/// The final message of a call.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum WorkerReply {
    Success {
        result: Value,
    },
    Failure {
        failure: String,
        #[serde(rename = "type")]
        error_type: String,
        error: String,
        #[serde(default)]
        retire: bool,
    },
}

/// What one call produced: how it ended and what the tool printed (its last `limit` bytes).
#[derive(Debug)]
pub struct CallOutcome {
    pub end: CallEnd,
    pub output: Vec<u8>,
    /// How many printed bytes came before `output`.
    pub output_left_out: u64,
}

impl CallOutcome {
    fn new(end: CallEnd, output: TailBuffer) -> CallOutcome {
        CallOutcome {
            end,
            output_left_out: output.left_out(),
            output: output.into_tail(),
        }
    }
}

/// One message on the reply pipe.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Message {
    Event {
        event: String,
        level: String,
        #[serde(default)]
        data: Map<String, Value>,
    },
    Done(Value),
}

/// A running worker process.
pub struct PythonWorker {
    child: Child,
    group: Option<i32>,
    requests: std::io::PipeWriter,
    replies: std::io::PipeReader,
    output: std::io::PipeReader,
    sentinel: Vec<u8>,
    /// Output bytes read after the last end-of-call marker (a leftover background writer).
    carried_output: Vec<u8>,
    replies_buffer: FrameReader,
    /// Set when the worker must not serve another call.
    spent: bool,
    watch: Option<DeathWatch>,
    started: Instant,
    /// How long the worker took to become useful (start to end of its first call), until
    /// taken by [`take_boot_time`](PythonWorker::take_boot_time).
    boot_time: Option<Duration>,
    booted: bool,
}

impl std::fmt::Debug for PythonWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PythonWorker")
            .field("pid", &self.child.id())
            .field("spent", &self.spent)
            .finish()
    }
}

impl PythonWorker {
    /// Starts a worker running `interpreter` in `root` with environment `env`.
    pub fn start(interpreter: &OsStr, root: &Path, env: &ToolEnv) -> io::Result<PythonWorker> {
        let (request_r, request_w) = std::io::pipe()?;
        let (reply_r, reply_w) = std::io::pipe()?;
        let (output_r, output_w) = std::io::pipe()?;
        let request_r = OwnedFd::from(request_r);
        let reply_w = OwnedFd::from(reply_w);
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let mut command = Command::new(interpreter);
        command
            .arg("-c")
            .arg(WORKER_SCRIPT)
            .arg(request_r.as_raw_fd().to_string())
            .arg(reply_w.as_raw_fd().to_string())
            .arg(&nonce)
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::from(output_w.try_clone()?))
            .stderr(Stdio::from(output_w));
        env.apply(&mut command);
        pass_descriptors(&mut command, [request_r, reply_w]);
        let started = crate::process_group::start(command)?;
        Ok(PythonWorker {
            child: started.child,
            group: started.group,
            requests: request_w,
            replies: reply_r,
            output: output_r,
            sentinel: format!("\u{0}\u{1e}trident-call-end-{nonce}\u{1e}\u{0}").into_bytes(),
            carried_output: Vec::new(),
            replies_buffer: FrameReader::default(),
            spent: false,
            watch: Some(started.watch),
            started: Instant::now(),
            boot_time: None,
            booted: false,
        })
    }

    /// Whether the worker can serve another call.
    pub fn reusable(&self) -> bool {
        !self.spent
    }

    /// From its start to the end of its first call (interpreter boot, first import), once:
    /// `None` before that call ended and after the first time it was taken.
    pub fn take_boot_time(&mut self) -> Option<Duration> {
        self.boot_time.take()
    }

    /// Runs one call, until `deadline` at most, taking in messages of `limit` bytes at most.
    pub fn call(
        &mut self,
        request: &CallRequest<'_>,
        deadline: Option<Instant>,
        limit: OutputLimit,
        observer: &dyn ToolObserver,
    ) -> CallOutcome {
        let started = Instant::now();
        let mut lines = OutputLines::new(observer);
        let mut output = TailBuffer::new(Some(limit.bytes()));
        let carried = std::mem::take(&mut self.carried_output);
        output.push(&carried);
        lines.feed(&carried);
        drop(carried);
        self.replies_buffer.set_limit(limit.bytes());
        let payload = match serde_json::to_vec(&WireRequest::from(request)) {
            Ok(payload) => payload,
            Err(error) => {
                return CallOutcome::new(
                    CallEnd::Protocol(format!("cannot encode its inputs as JSON: {error}")),
                    output,
                );
            }
        };
        if self.requests.write_all(&encode(&payload)).is_err() {
            // The worker is gone: its exit status says why.
            self.spent = true;
            let status = self.drain_and_reap(&mut output, &mut lines);
            lines.finish();
            return CallOutcome::new(CallEnd::Died(status), output);
        }

        let mut reply: Option<Value> = None;
        let mut marker_seen = false;
        let mut output_open = true;
        let mut marker_deadline: Option<Instant> = None;
        let mut chunk = vec![0u8; 64 * 1024];
        let end = loop {
            if reply.is_some() && (marker_seen || !output_open) {
                break None;
            }
            let limit_at = match (deadline, marker_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if limit_at.is_some_and(|at| Instant::now() >= at) {
                if reply.is_some() {
                    // The reply is in; the marker never came (the tool replaced fd 2?).
                    self.spent = true;
                    break None;
                }
                self.kill();
                self.drain_and_reap(&mut output, &mut lines);
                break Some(CallEnd::TimedOut(started.elapsed()));
            }
            let watched = [
                if reply.is_none() {
                    Some(self.replies.as_fd())
                } else {
                    None
                },
                if output_open {
                    Some(self.output.as_fd())
                } else {
                    None
                },
            ];
            let ready = match wait_readable(&watched, time_left(limit_at, None)) {
                Ok(ready) => ready,
                Err(error) => break Some(CallEnd::Protocol(format!("poll failed: {error}"))),
            };
            if ready[1] {
                match read_some(&mut self.output, &mut chunk) {
                    Some(read) => {
                        let bytes = &chunk[..read];
                        if let Some(position) = find(bytes, &self.sentinel, output.held_mut()) {
                            // Everything before the marker is this call's; anything after
                            // belongs to whatever the tool left running.
                            let (mine, rest) =
                                split_at_marker(output.held_mut(), bytes, position, &self.sentinel);
                            lines.feed(&mine);
                            self.carried_output.extend_from_slice(&rest);
                            marker_seen = true;
                        } else if marker_seen {
                            // Bounded like the call's own output (the next call keeps a tail).
                            if !limit.exceeded_by(self.carried_output.len()) {
                                self.carried_output.extend_from_slice(bytes);
                            }
                        } else {
                            output.push(bytes);
                            lines.feed(bytes);
                        }
                    }
                    None => output_open = false,
                }
            }
            if ready[0] {
                match read_some(&mut self.replies, &mut chunk) {
                    Some(read) => self.replies_buffer.push(&chunk[..read]),
                    None => {
                        // Its reply channel closed: the worker is dead or dying. Whatever it
                        // started goes with it.
                        let status = self.exit_status_within(DRAIN_GRACE);
                        self.kill();
                        let reaped = self.drain_and_reap(&mut output, &mut lines);
                        break Some(CallEnd::Died(status.or(reaped)));
                    }
                }
                loop {
                    let message = match self.replies_buffer.next_message() {
                        Ok(Some(message)) => message,
                        Ok(None) => break,
                        Err(bytes) => {
                            self.kill();
                            self.drain_and_reap(&mut output, &mut lines);
                            lines.finish();
                            return CallOutcome::new(CallEnd::TooLarge { bytes, limit }, output);
                        }
                    };
                    match serde_json::from_slice::<Message>(&message) {
                        Ok(Message::Event { event, level, data }) => {
                            observer.tool_event(ToolReport {
                                name: event,
                                level: parse_level(&level),
                                data,
                            });
                        }
                        Ok(Message::Done(value)) => {
                            reply = Some(value);
                            marker_deadline = Some(Instant::now() + MARKER_GRACE);
                        }
                        Err(error) => {
                            self.kill();
                            self.drain_and_reap(&mut output, &mut lines);
                            lines.finish();
                            return CallOutcome::new(
                                CallEnd::Protocol(format!("unreadable message: {error}")),
                                output,
                            );
                        }
                    }
                }
            }
        };
        lines.finish();
        if !self.booted {
            self.booted = true;
            self.boot_time = Some(self.started.elapsed());
        }
        if let Some(end) = end {
            return CallOutcome::new(end, output);
        }
        let end = match reply.map(serde_json::from_value::<WorkerReply>) {
            Some(Ok(reply)) => {
                if let WorkerReply::Failure { retire: true, .. } = reply {
                    self.spent = true;
                }
                CallEnd::Replied(reply)
            }
            Some(Err(error)) => {
                self.spent = true;
                CallEnd::Protocol(format!("unreadable reply: {error}"))
            }
            None => CallEnd::Protocol("no reply".into()),
        };
        CallOutcome::new(end, output)
    }

    /// The worker's exit status if it exits within `limit` (it closed its reply channel, so
    /// it is normally on its way out).
    fn exit_status_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                _ => return None,
            }
        }
    }

    /// Kills the worker's process group.
    fn kill(&mut self) {
        self.spent = true;
        if let Some(group) = self.group {
            crate::process_group::kill_group(group);
        }
        let _ = self.child.kill();
    }

    /// After the worker died or was killed: read what is left in the output pipe (briefly),
    /// reap the worker and return its exit status.
    fn drain_and_reap(
        &mut self,
        output: &mut TailBuffer,
        lines: &mut OutputLines<'_>,
    ) -> Option<ExitStatus> {
        let until = Instant::now() + DRAIN_GRACE;
        let mut chunk = vec![0u8; 64 * 1024];
        while let Ok(ready) =
            wait_readable(&[Some(self.output.as_fd())], time_left(Some(until), None))
        {
            if !ready[0] {
                break;
            }
            match read_some(&mut self.output, &mut chunk) {
                Some(read) => {
                    output.push(&chunk[..read]);
                    lines.feed(&chunk[..read]);
                }
                None => break,
            }
        }
        self.reap()
    }

    /// Waits for the worker process and takes it out of the registry.
    fn reap(&mut self) -> Option<ExitStatus> {
        let status = self.child.wait().ok();
        if let Some(group) = self.group.take() {
            crate::process_group::unregister(group);
        }
        status
    }

    /// Stops the worker and everything it started, and reaps it.
    pub fn stop(mut self) {
        self.stop_in_place();
    }

    fn stop_in_place(&mut self) {
        if self.group.is_none() {
            return;
        }
        self.kill();
        self.reap();
        // The group is gone: dropping the watch now kills nothing of anyone else's.
        drop(self.watch.take());
    }
}

impl Drop for PythonWorker {
    fn drop(&mut self) {
        self.stop_in_place();
    }
}

/// The level a tool gave to an event (`INFO` when unreadable).
fn parse_level(text: &str) -> Level {
    match text {
        "DEBUG" => Level::Debug,
        "WARNING" => Level::Warning,
        "ERROR" => Level::Error,
        _ => Level::Info,
    }
}

/// One read; `None` at end of file or on error.
fn read_some(pipe: &mut impl Read, chunk: &mut [u8]) -> Option<usize> {
    loop {
        match pipe.read(chunk) {
            Ok(0) => return None,
            Ok(read) => return Some(read),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
}

/// Where `marker` ends up in `earlier ++ bytes` (an index into that concatenation), looking
/// only where it could start within `bytes` or straddle the boundary.
fn find(bytes: &[u8], marker: &[u8], earlier: &[u8]) -> Option<usize> {
    let overlap = earlier.len().min(marker.len() - 1);
    let start = earlier.len() - overlap;
    let mut window = earlier[start..].to_vec();
    window.extend_from_slice(bytes);
    window
        .windows(marker.len())
        .position(|w| w == marker)
        .map(|at| start + at)
}

/// Splits `earlier ++ bytes` at the marker found at `position`: `earlier` keeps what comes
/// before it; returns (the new part of it, what comes after the marker).
fn split_at_marker(
    earlier: &mut Vec<u8>,
    bytes: &[u8],
    position: usize,
    marker: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    let old_len = earlier.len();
    earlier.extend_from_slice(bytes);
    let rest = earlier[position + marker.len()..].to_vec();
    earlier.truncate(position);
    let mine = if position > old_len {
        earlier[old_len..].to_vec()
    } else {
        Vec::new()
    };
    (mine, rest)
}

/// Lets the child inherit `fds` under their own numbers: they are close-on-exec in trident,
/// so other children never get them; in this child the flag is cleared just before `exec`.
fn pass_descriptors(command: &mut Command, fds: [OwnedFd; 2]) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let raw: Vec<i32> = fds.iter().map(|fd| fd.as_raw_fd()).collect();
        // SAFETY: fcntl on descriptors this child owns, between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let _keep_open_until_exec = &fds;
                for fd in &raw {
                    if libc::fcntl(*fd, libc::F_SETFD, 0) < 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_is_found_across_reads_and_split_out() {
        let marker = b"<END>";
        let mut output = b"hello <E".to_vec();
        let bytes = b"ND>late";
        let position = find(bytes, marker, &output).unwrap();
        let (mine, rest) = split_at_marker(&mut output, bytes, position, marker);
        assert_eq!(output, b"hello ");
        assert!(mine.is_empty());
        assert_eq!(rest, b"late");

        let mut output = b"a".to_vec();
        let bytes = b"bc<END>";
        let position = find(bytes, marker, &output).unwrap();
        let (mine, rest) = split_at_marker(&mut output, bytes, position, marker);
        assert_eq!(output, b"abc");
        assert_eq!(mine, b"bc");
        assert!(rest.is_empty());
        assert_eq!(find(b"xyz", marker, b""), None);
    }

    #[test]
    fn levels_from_the_wire() {
        assert_eq!(parse_level("WARNING"), Level::Warning);
        assert_eq!(parse_level("bogus"), Level::Info);
    }
}
