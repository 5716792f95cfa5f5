//! One agent run, start to end: find the CLI, build its command, start it, read its
//! stream-json lines as they arrive (turn, tool, retry and permission events go out at once;
//! malformed lines are skipped with an `agent_output_skipped` warning; other lines become
//! `agent_notice` events), enforce the node's timeout, and turn the last `result` line, the
//! exit status and stderr into an [`AgentOutcome`] or an [`AgentError`] that names the node
//! and keeps what the run reported (session, cost, turns, tokens).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::command::{CommandSpec, build_command};
use super::env::{AgentEnv, INSTALL_HINT};
use super::error::AgentError;
use super::events::{AgentEvents, truncate_text, truncate_value};
use super::output::{node_output, result_failure};
use super::process::{AgentProcess, Next, STOP_GRACE, StdoutItem};
use super::stream::{ApiError, PermissionDenial, ResultMessage, StreamMessage, parse_line};
use super::turns::TurnTracker;
use super::{AgentOutcome, AgentRequest, AgentStats};
use crate::output_limit::MAX_OUTPUT_SIZE_VAR;
use crate::telemetry::Event;

/// Seconds an agent may run when its node sets no `timeout:`.
pub const DEFAULT_TIMEOUT_SECS: f64 = 1800.0;

/// How often the run checks for cancellation and for a CLI that exited while something it
/// started still holds its stdout.
const POLL: Duration = Duration::from_millis(100);
/// How long stdout may stay open after the CLI has exited (a leftover background process
/// holding it) before we stop reading, and how long we wait for stderr to close.
const PIPE_GRACE: Duration = Duration::from_secs(2);
/// How often the processes the CLI started are noted while it runs (see `leftovers`).
const NOTE_EVERY: Duration = Duration::from_secs(1);
/// The `provider` of the `provider_retry` events of the CLI's API calls.
const RETRY_PROVIDER: &str = "anthropic";

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
    let mut child = command.to_command(env, req.node.pass_api_key);
    child.envs(req.telemetry.trace_env(node_id));
    let mut process = AgentProcess::spawn(child, command.stdin_prompt.clone(), req.output_limit)
        .map_err(|error| {
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
    let mut reader = StreamReader::default();
    let stopped = |process: &mut AgentProcess, reader: &StreamReader, message: String| {
        process.stop(STOP_GRACE);
        reader.fail(AgentError::cli(message))
    };
    let timed_out = |process: &mut AgentProcess, reader: &StreamReader| {
        stopped(
            process,
            reader,
            format!(
                "Agent '{node_id}' timed out after {} s (the node's `timeout`, default {} s); \
                 the Claude CLI and everything it started were stopped.",
                seconds(timeout),
                seconds(Duration::from_secs_f64(DEFAULT_TIMEOUT_SECS))
            ),
        )
    };

    let mut exited = None;
    let mut pipe_deadline = None;
    let mut next_note = Instant::now() + NOTE_EVERY;
    loop {
        if cancelled() {
            return Err(stopped(
                &mut process,
                &reader,
                format!(
                    "Agent '{node_id}' was interrupted; the Claude CLI and everything it started \
                     were stopped."
                ),
            ));
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Err(timed_out(&mut process, &reader));
        }
        if pipe_deadline.is_some_and(|d| now >= d) {
            break;
        }
        if exited.is_none() && now >= next_note {
            process.note_descendants();
            next_note = now + NOTE_EVERY;
        }
        let wait = deadline.map_or(POLL, |d| (d - now).min(POLL));
        match process.next(wait) {
            Next::Item(item) => {
                if reader.item(item, &mut events) {
                    // A result: the CLI is about to exit; note what it leaves running.
                    process.note_descendants();
                }
            }
            Next::Closed => break,
            Next::Idle if exited.is_none() => {
                exited = process
                    .try_wait()
                    .map_err(|e| reader.fail(wait_failed(node_id, e)))?;
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
                .map_err(|e| reader.fail(wait_failed(node_id, e)))?
            {
                Some(status) => status,
                None => return Err(timed_out(&mut process, &reader)),
            }
        }
    };
    // Nothing the agent started outlives the node, even after a normal exit.
    process.finish();
    let stderr = process.stderr_tail(Instant::now() + PIPE_GRACE);
    // The CLI is done with its `--mcp-config` file: remove it now.
    drop(command.mcp_file);

    if let Some(result) = &reader.result
        && let Some(error) =
            result_failure(node_id, req.node, result, reader.last_api_error.as_ref())
    {
        return Err(reader.fail(error));
    }
    if !status.success() {
        return Err(reader.fail(AgentError::cli(format!(
            "Agent '{node_id}' CLI execution failed ({}): {}",
            exit_description(status),
            if stderr.is_empty() {
                "no error output"
            } else {
                &stderr
            }
        ))));
    }
    let Some(result) = &reader.result else {
        let stderr = if stderr.is_empty() {
            String::new()
        } else {
            format!(": {stderr}")
        };
        let too_long = if reader.too_long > 0 {
            format!(
                "; {} of them longer than {}: raise {MAX_OUTPUT_SIZE_VAR} to read them",
                reader.too_long,
                req.output_limit.describe()
            )
        } else {
            String::new()
        };
        return Err(reader.fail(AgentError::cli(format!(
            "Agent '{node_id}': the Claude CLI exited without its final `result` line (read \
             {} lines, skipped {} as malformed{too_long}){stderr}",
            reader.lines, reader.skipped
        ))));
    };
    let output = node_output(node_id, req.prompt, result).map_err(|e| reader.fail(e))?;
    Ok(AgentOutcome {
        output,
        stats: reader.stats(),
    })
}

/// The state built from the stdout lines read so far.
#[derive(Default)]
struct StreamReader {
    turns: TurnTracker,
    /// The session id from the first line that gave one (fallback for the result's).
    session_id: Option<String>,
    /// The model the CLI reported at start (`init`).
    init_model: Option<String>,
    /// The model of the agent's first real (not CLI-made) message: what the API used.
    api_model: Option<String>,
    /// Every `result` line, in order (two with background subagents).
    results: Vec<ResultMessage>,
    /// The last one.
    result: Option<ResultMessage>,
    /// The last API failure the CLI reported as a message.
    last_api_error: Option<ApiError>,
    /// Tool calls the CLI refused, and the ids of those already reported.
    denials: Vec<PermissionDenial>,
    denied_ids: HashSet<String>,
    lines: u64,
    skipped: u64,
    /// Of the skipped lines, those over the output limit.
    too_long: u64,
}

impl StreamReader {
    /// Reads one stdout item; true when it was a `result` line.
    fn item(&mut self, item: StdoutItem, events: &mut AgentEvents<'_>) -> bool {
        self.lines += 1;
        let line = match item {
            StdoutItem::Line(line) => line,
            StdoutItem::TooLong { bytes, head } => {
                self.too_long += 1;
                self.skip(
                    events,
                    &head,
                    format!(
                        "line of {bytes} bytes is over the output limit ({MAX_OUTPUT_SIZE_VAR})"
                    ),
                );
                return false;
            }
            StdoutItem::ReadError(error) => {
                self.skip(
                    events,
                    "",
                    format!("reading the CLI's output failed: {error}"),
                );
                return false;
            }
        };
        let message = match parse_line(&line) {
            Ok(Some(message)) => message,
            Ok(None) => return false,
            Err(reason) => {
                self.skip(events, &line, reason);
                return false;
            }
        };
        match message {
            StreamMessage::Init { session_id, model } => {
                self.note_session(session_id);
                self.init_model = self.init_model.take().or(model);
            }
            StreamMessage::Assistant(message) => {
                self.note_session(message.session_id.clone());
                if message.parent_tool_use_id.is_none() && self.api_model.is_none() {
                    self.api_model = message
                        .model
                        .clone()
                        .filter(|m| !m.is_empty() && !m.starts_with('<'));
                }
                if let Some(error) = &message.api_error {
                    self.last_api_error = Some(error.clone());
                }
                self.turns.assistant(&message, events);
            }
            StreamMessage::MessageDelta {
                message_id,
                parent_tool_use_id,
                usage,
            } => {
                self.turns
                    .final_usage(message_id.as_deref(), parent_tool_use_id.as_deref(), usage)
            }
            StreamMessage::Partial => {}
            StreamMessage::User { parent_tool_use_id } => {
                self.turns.close(parent_tool_use_id.as_deref(), events)
            }
            StreamMessage::ApiRetry {
                attempt,
                status,
                error,
                delay_ms,
            } => events.emit(|| Event::ProviderRetry {
                provider: RETRY_PROVIDER.into(),
                attempt,
                status,
                error,
                delay_ms,
            }),
            StreamMessage::PermissionDenied(denial) => self.denied(denial, events),
            StreamMessage::Result(result) => {
                self.turns.close_all(events);
                events.emit(|| Event::AgentNotice {
                    kind: "result".into(),
                    detail: result_detail(&result, self.results.len()),
                });
                for denial in &result.permission_denials {
                    self.denied(denial.clone(), events);
                }
                self.results.push(result.clone());
                self.result = Some(result);
                return true;
            }
            StreamMessage::Notice { kind, detail } => events.emit(|| Event::AgentNotice {
                kind,
                detail: truncate_value(&detail),
            }),
        }
        false
    }

    /// A refused tool call: reported once (by tool call id), kept for the trace.
    fn denied(&mut self, denial: PermissionDenial, events: &mut AgentEvents<'_>) {
        if let Some(id) = &denial.tool_use_id
            && !self.denied_ids.insert(id.clone())
        {
            // Reported already (the line as it happened); the result adds the input.
            if let Some(known) = self
                .denials
                .iter_mut()
                .find(|d| d.tool_use_id.as_ref() == Some(id))
            {
                known.tool_input = known.tool_input.take().or(denial.tool_input);
                known.message = known.message.take().or(denial.message);
            }
            return;
        }
        events.emit(|| Event::AgentPermissionDenied {
            tool_name: denial.tool_name.clone(),
            tool_input: denial.tool_input.as_ref().map(truncate_value),
            reason: denial.message.clone(),
        });
        self.denials.push(denial);
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

    /// What the run reported: the results' session, costs and `modelUsage` (which cover
    /// the whole session, subagents included; with two result lines, the largest), their
    /// turns added up, the API's model.
    fn stats(&self) -> AgentStats {
        let last = self.results.last();
        let max_u64 =
            |f: &dyn Fn(&ResultMessage) -> Option<u64>| self.results.iter().filter_map(f).max();
        let fallback = self.turns.total_usage();
        let tokens = |f: fn(&super::stream::Usage) -> Option<u64>| {
            max_u64(&|r| r.model_usage_total().as_ref().and_then(f))
                .or_else(|| max_u64(&|r| f(&r.usage)))
                .or(f(&fallback))
                .unwrap_or(0)
        };
        let num_turns: Option<u64> = self
            .results
            .iter()
            .filter_map(|r| r.num_turns)
            .reduce(|a, b| a + b);
        AgentStats {
            input_tokens: tokens(|u| u.input_tokens),
            output_tokens: tokens(|u| u.output_tokens),
            cost_usd: self
                .results
                .iter()
                .filter_map(|r| r.total_cost_usd)
                .reduce(f64::max),
            session_id: last
                .and_then(|r| r.session_id.clone())
                .or_else(|| self.session_id.clone()),
            model: self
                .api_model
                .clone()
                .or_else(|| {
                    last.and_then(|r| r.model_usage.first())
                        .map(|m| m.model.clone())
                })
                .or_else(|| self.init_model.clone()),
            num_turns: num_turns.unwrap_or_else(|| self.turns.turns()),
            permission_denials: self.denials.iter().map(denial_value).collect(),
        }
    }

    /// `error`, keeping what the run reported when its session had started.
    fn fail(&self, error: AgentError) -> AgentError {
        let stats = self.stats();
        if stats.session_id.is_some() || !self.results.is_empty() {
            error.with_stats(stats)
        } else {
            error
        }
    }
}

/// The trace.json form of a refused tool call.
fn denial_value(denial: &PermissionDenial) -> Value {
    let mut value = json!({"tool_name": denial.tool_name});
    if let Some(input) = &denial.tool_input {
        value["tool_input"] = truncate_value(input);
    }
    if let Some(reason) = &denial.message {
        value["reason"] = Value::String(reason.clone());
    }
    value
}

/// The fields of a result line that no other event carries, for its `agent_notice`.
fn result_detail(result: &ResultMessage, index: usize) -> Value {
    let mut detail = json!({
        "subtype": result.subtype,
        "is_error": result.is_error,
        "result_index": index,
    });
    let fields = [
        (
            "terminal_reason",
            result.terminal_reason.clone().map(Value::from),
        ),
        ("stop_reason", result.stop_reason.clone().map(Value::from)),
        ("api_error_status", result.api_error_status.map(Value::from)),
        ("num_turns", result.num_turns.map(Value::from)),
        ("duration_ms", result.duration_ms.map(Value::from)),
        ("duration_api_ms", result.duration_api_ms.map(Value::from)),
        ("total_cost_usd", result.total_cost_usd.map(Value::from)),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            detail[key] = value;
        }
    }
    detail
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
