//! One agent run, start to end: find the CLI, build its command, start it, read its
//! stream-json lines as they arrive (turn and tool events go out at once; malformed lines are
//! skipped with an `agent_output_skipped` warning), enforce the node's timeout, and turn the
//! final `result` line, the exit status and stderr into an [`AgentOutcome`] or an
//! [`AgentError`] that names the node.

use std::time::{Duration, Instant};

use super::command::{CommandSpec, build_command};
use super::env::{AgentEnv, INSTALL_HINT};
use super::error::AgentError;
use super::events::{AgentEvents, truncate_text};
use super::output::{node_output, result_failure};
use super::process::{AgentProcess, Next, StdoutItem};
use super::stream::{ResultMessage, StreamMessage, parse_line};
use super::turns::TurnTracker;
use super::{AgentOutcome, AgentRequest};
use crate::telemetry::Event;

/// Seconds an agent may run when its node sets no `timeout:`.
pub const DEFAULT_TIMEOUT_SECS: f64 = 1800.0;

/// How often the run checks for cancellation and for a CLI that exited while something it
/// started still holds its stdout.
const POLL: Duration = Duration::from_millis(100);
/// How long stdout may stay open after the CLI has exited (a leftover background process
/// holding it) before we stop reading, and how long we wait for stderr to close.
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// Runs the agent of `req` with the environment `env`, sending its events to `events`;
/// `cancelled` is polled (every 100 ms) and stops the CLI when it returns true.
pub fn run_agent_in(
    env: &AgentEnv,
    req: &AgentRequest<'_>,
    cancelled: &dyn Fn() -> bool,
    mut events: AgentEvents<'_>,
) -> Result<AgentOutcome, AgentError> {
    let node_id = req.node_id;
    let program = env.claude_program()?;
    let timeout = timeout_of(node_id, req.node.timeout_secs)?;
    let command = build_command(
        CommandSpec {
            program,
            node_id,
            node: req.node,
            prompt: req.prompt,
            rendered_prompt: crate::template::render(&req.prompt.body, req.inputs),
            project_root: req.project_root,
            resume_session: req.resume_session,
        },
        env,
    )?;
    let started = Instant::now();
    let mut child = command.to_command(env);
    child.envs(req.telemetry.trace_env(node_id));
    let mut process =
        AgentProcess::spawn(child, command.stdin_prompt.clone()).map_err(|error| {
            let hint = if error.kind() == std::io::ErrorKind::NotFound {
                format!(" Install the Claude CLI with: {INSTALL_HINT}")
            } else {
                String::new()
            };
            AgentError::cli(format!(
                "Agent '{node_id}': cannot start the Claude CLI {} in {}: {error}.{hint}",
                command.program.display(),
                command.cwd.display()
            ))
        })?;
    // A timeout too large to add to `now` is no timeout at all.
    let deadline = started.checked_add(timeout);
    let timed_out = |process: &mut AgentProcess| {
        process.kill();
        AgentError::cli(format!(
            "Agent '{node_id}' timed out after {} s (the node's `timeout`, default {} s); the \
             Claude CLI was stopped.",
            seconds(timeout),
            seconds(Duration::from_secs_f64(DEFAULT_TIMEOUT_SECS))
        ))
    };

    let mut reader = StreamReader::default();
    let mut exited = None;
    let mut pipe_deadline = None;
    loop {
        if cancelled() {
            process.kill();
            return Err(AgentError::cli(format!(
                "Agent '{node_id}' was interrupted; the Claude CLI was stopped."
            )));
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Err(timed_out(&mut process));
        }
        if pipe_deadline.is_some_and(|d| now >= d) {
            break;
        }
        let wait = deadline.map_or(POLL, |d| (d - now).min(POLL));
        match process.next(wait) {
            Next::Item(item) => reader.item(item, &mut events),
            Next::Closed => break,
            Next::Idle if exited.is_none() => {
                exited = process.try_wait().map_err(|e| wait_failed(node_id, e))?;
                if exited.is_some() {
                    pipe_deadline = Some(Instant::now() + PIPE_GRACE);
                }
            }
            Next::Idle => {}
        }
    }
    let status = match exited {
        Some(status) => status,
        None => {
            // Stdout closed; the CLI is finishing. Wait for it, within the timeout.
            match process
                .wait_until(deadline)
                .map_err(|e| wait_failed(node_id, e))?
            {
                Some(status) => status,
                None => return Err(timed_out(&mut process)),
            }
        }
    };
    let stderr = process.stderr_tail(Instant::now() + PIPE_GRACE);
    // The CLI is done with its `--mcp-config` file: remove it now.
    drop(command.mcp_file);

    if let Some(result) = &reader.result
        && let Some(error) = result_failure(node_id, req.node, result)
    {
        return Err(error);
    }
    if !status.success() {
        return Err(AgentError::cli(format!(
            "Agent '{node_id}' CLI execution failed ({}): {}",
            exit_description(status),
            if stderr.is_empty() {
                "no error output"
            } else {
                &stderr
            }
        )));
    }
    let Some(result) = reader.result else {
        let stderr = if stderr.is_empty() {
            String::new()
        } else {
            format!(": {stderr}")
        };
        return Err(AgentError::cli(format!(
            "Agent '{node_id}': the Claude CLI exited without its final `result` line (read \
             {} lines, skipped {} as malformed){stderr}",
            reader.lines, reader.skipped
        )));
    };
    let output = node_output(node_id, req.prompt, &result)?;
    let usage = result.usage;
    let fallback = reader.turns.total_usage();
    Ok(AgentOutcome {
        output,
        input_tokens: usage.input_tokens.or(fallback.input_tokens).unwrap_or(0),
        output_tokens: usage.output_tokens.or(fallback.output_tokens).unwrap_or(0),
        cost_usd: result.total_cost_usd,
        session_id: result.session_id.or(reader.session_id),
        num_turns: result.num_turns.unwrap_or(reader.turns.turns()),
        model: reader.model,
    })
}

/// The state built from the stdout lines read so far.
#[derive(Default)]
struct StreamReader {
    turns: TurnTracker,
    /// The session id from the first line that gave one (fallback for the result's).
    session_id: Option<String>,
    /// The model the CLI reported first (init line or a message).
    model: Option<String>,
    /// The last `result` line.
    result: Option<ResultMessage>,
    lines: u64,
    skipped: u64,
}

impl StreamReader {
    fn item(&mut self, item: StdoutItem, events: &mut AgentEvents<'_>) {
        self.lines += 1;
        let line = match item {
            StdoutItem::Line(line) => line,
            StdoutItem::TooLong { bytes, head } => {
                return self.skip(events, &head, format!("line of {bytes} bytes is too long"));
            }
            StdoutItem::ReadError(error) => {
                return self.skip(
                    events,
                    "",
                    format!("reading the CLI's output failed: {error}"),
                );
            }
        };
        let message = match parse_line(&line) {
            Ok(Some(message)) => message,
            Ok(None) => return,
            Err(reason) => return self.skip(events, &line, reason),
        };
        match message {
            StreamMessage::Init { session_id, model } => {
                self.note_session(session_id);
                self.model = self.model.take().or(model);
            }
            StreamMessage::Assistant(message) => {
                self.note_session(message.session_id.clone());
                self.model = self.model.take().or_else(|| message.model.clone());
                self.turns.assistant(&message, events);
            }
            StreamMessage::User => self.turns.close(events),
            StreamMessage::Result(result) => {
                self.turns.close(events);
                self.result = Some(result);
            }
            StreamMessage::Other { .. } => {}
        }
    }

    fn note_session(&mut self, session_id: Option<String>) {
        if self.session_id.is_none() {
            self.session_id = session_id;
        }
    }

    fn skip(&mut self, events: &mut AgentEvents<'_>, line: &str, error: String) {
        self.skipped += 1;
        events.emit(|| Event::AgentOutputSkipped {
            line: truncate_text(line),
            error,
        });
    }
}

/// The node's timeout (`timeout:` in seconds, else [`DEFAULT_TIMEOUT_SECS`]).
fn timeout_of(node_id: &str, timeout_secs: Option<f64>) -> Result<Duration, AgentError> {
    let secs = timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS);
    match Duration::try_from_secs_f64(secs) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(AgentError::cli(format!(
            "Agent '{node_id}' has an invalid timeout ({secs}): expected a positive number of \
             seconds, e.g. `timeout: 600`."
        ))),
    }
}

fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0}")
    } else {
        format!("{secs}")
    }
}

fn exit_description(status: std::process::ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit {code}");
    }
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return format!("killed by signal {signal}");
    }
    status.to_string()
}

fn wait_failed(node_id: &str, error: std::io::Error) -> AgentError {
    AgentError::cli(format!(
        "Agent '{node_id}': waiting for the Claude CLI failed: {error}"
    ))
}
