//! Whole agent runs against a fake `claude`: a shell script written by each test into its
//! own folder (first on that run's `PATH`), which records its arguments, environment, working
//! folder and stdin, then plays a scripted stream-json session with pauses.
//!
//! Script lines: JSON (printed as is), `sleep S`, `stderr TEXT`, `exit N`, `hang` (a
//! background `sleep 30` whose pid is recorded, then wait for it).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use super::command::tests::{agent_node, prompt_file};
use super::*;
use crate::project::McpServer;
use crate::telemetry::Event;

const FAKE_CLAUDE: &str = r#"#!/bin/sh
d="$(dirname "$0")"
printf '%s\0' "$@" > "$d/argv"
env > "$d/env"
pwd > "$d/cwd"
prev=""
for a in "$@"; do
  if [ "$prev" = "--mcp-config" ]; then cat "$a" > "$d/mcp"; fi
  prev="$a"
done
cat > "$d/stdin"
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    "sleep "*) sleep "${line#sleep }" ;;
    "stderr "*) printf '%s\n' "${line#stderr }" >&2 ;;
    "exit "*) exit "${line#exit }" ;;
    hang) sleep 30 & echo $! > "$d/hang_pid"; wait ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$d/script"
"#;

/// A fake CLI in its own folder.
struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new(script: &[String]) -> Fake {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("claude");
        std::fs::write(&bin, FAKE_CLAUDE).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.path().join("script"), script.join("\n")).unwrap();
        Fake { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `PATH` with the fake first; an API key that must not reach it; a variable for MCP.
    fn env(&self) -> AgentEnv {
        let path = format!("{}:/usr/local/bin:/usr/bin:/bin", self.path().display());
        AgentEnv::from_vars([
            ("PATH", path.as_str()),
            ("ANTHROPIC_API_KEY", "sk-ant-must-not-leak"),
            ("TRIDENT_TEST_MARKER", "kept"),
            ("GH_TOKEN", "ghp_expanded"),
            ("TMPDIR", self.path().to_str().unwrap()),
        ])
    }

    fn recorded(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(name)).unwrap_or_default()
    }

    fn argv(&self) -> Vec<String> {
        self.recorded("argv")
            .split_terminator('\0')
            .map(str::to_string)
            .collect()
    }
}

/// An event, with when it was received.
struct Seen {
    at: Instant,
    event: Event,
}

struct Run {
    result: Result<AgentOutcome, AgentError>,
    events: Vec<Seen>,
    ended: Instant,
    took: Duration,
}

impl Run {
    /// The events but `agent_notice` (see [`Run::notices`]), described.
    fn names(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|s| !matches!(s.event, Event::AgentNotice { .. }))
            .map(|s| describe(&s.event))
            .collect()
    }

    /// The `agent_notice` events as (kind, detail).
    fn notices(&self) -> Vec<(String, Value)> {
        self.events
            .iter()
            .filter_map(|s| match &s.event {
                Event::AgentNotice { kind, detail } => Some((kind.clone(), detail.clone())),
                _ => None,
            })
            .collect()
    }

    fn ok(&self) -> &AgentOutcome {
        match &self.result {
            Ok(outcome) => outcome,
            Err(error) => panic!("agent failed: {}", error.message),
        }
    }

    fn err(&self) -> &AgentError {
        match &self.result {
            Ok(outcome) => panic!("agent succeeded: {outcome:?}"),
            Err(error) => error,
        }
    }
}

fn describe(event: &Event) -> String {
    let tag = |subagent: &Option<String>| {
        subagent
            .as_ref()
            .map_or_else(String::new, |s| format!(" [{s}]"))
    };
    match event {
        Event::AgentTurnStarted {
            turn_number,
            subagent,
        } => format!("turn_started {turn_number}{}", tag(subagent)),
        Event::AgentTurnCompleted {
            turn_number,
            tool_calls,
            input_tokens,
            output_tokens,
            subagent,
        } => format!(
            "turn_completed {turn_number} tools={tool_calls} in={input_tokens:?} \
             out={output_tokens:?}{}",
            tag(subagent)
        ),
        Event::AgentToolCalled {
            tool_name,
            tool_input,
            subagent,
        } => format!("tool_called {tool_name} {tool_input}{}", tag(subagent)),
        Event::ProviderRetry {
            provider,
            attempt,
            status,
            error,
            delay_ms,
        } => format!("retry {provider} #{attempt} {status:?} {error} {delay_ms}ms"),
        Event::AgentPermissionDenied {
            tool_name,
            tool_input,
            reason,
        } => format!("denied {tool_name} {tool_input:?} {reason:?}"),
        Event::AgentOutputSkipped { line, error } => format!("skipped {line:?}: {error}"),
        other => format!("{other:?}"),
    }
}

struct Setup<'a> {
    env: AgentEnv,
    node: AgentNode,
    prompt: PromptFile,
    inputs: Map<String, Value>,
    root: PathBuf,
    resume: Option<&'a str>,
    cancel_after: Option<Duration>,
    output_limit: crate::output_limit::OutputLimit,
}

impl<'a> Setup<'a> {
    fn new(fake: &'a Fake) -> Setup<'a> {
        Setup {
            env: fake.env(),
            node: agent_node("worker"),
            prompt: prompt_file(OutputFormat::Text, &[], "Summarise {{ topic }}."),
            inputs: json!({"topic": "rust"}).as_object().unwrap().clone(),
            root: fake.path().to_path_buf(),
            resume: None,
            cancel_after: None,
            output_limit: crate::output_limit::OutputLimit::default(),
        }
    }

    fn json_prompt(mut self, fields: &[(&str, &str)]) -> Self {
        self.prompt = prompt_file(OutputFormat::Json, fields, "Report on {{ topic }} as JSON.");
        self
    }

    fn run(&self) -> Run {
        let telemetry = RunTelemetry::disabled();
        let req = AgentRequest {
            node: &self.node,
            prompt: &self.prompt,
            inputs: &self.inputs,
            project_root: &self.root,
            resume_session: self.resume,
            telemetry: &telemetry,
            node_id: "worker",
            output_limit: self.output_limit,
        };
        let mut events = Vec::new();
        let mut sink = |event| {
            events.push(Seen {
                at: Instant::now(),
                event,
            })
        };
        let started = Instant::now();
        let cancel_after = self.cancel_after;
        let cancelled = move || cancel_after.is_some_and(|after| started.elapsed() >= after);
        let result = run::run_agent_in(&self.env, &req, &cancelled, AgentEvents::to(&mut sink));
        let ended = Instant::now();
        Run {
            result,
            events,
            ended,
            took: ended - started,
        }
    }
}

fn line(value: Value) -> String {
    value.to_string()
}

fn init() -> String {
    line(
        json!({"type": "system", "subtype": "init", "session_id": "sess-42", "tools": ["Read"],
        "model": "claude-sonnet-4-5"}),
    )
}

fn assistant(id: &str, content: Value, usage: Value) -> String {
    line(json!({"type": "assistant", "session_id": "sess-42",
        "message": {"id": id, "role": "assistant", "content": content, "usage": usage}}))
}

fn tool_result() -> String {
    line(json!({"type": "user", "message": {"role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "file text"}]}}))
}

fn result(text: &str, extra: Value) -> String {
    let mut value = json!({"type": "result", "subtype": "success", "is_error": false,
        "result": text, "session_id": "sess-42", "num_turns": 2, "total_cost_usd": 0.0123,
        "usage": {"input_tokens": 1200, "output_tokens": 340, "cache_read_input_tokens": 9000}});
    if let (Value::Object(base), Value::Object(more)) = (&mut value, extra) {
        base.extend(more);
    }
    line(value)
}

/// A two-turn session: a response that reads a file, then the answer; pauses between lines.
fn session(final_text: &str, result_extra: Value) -> Vec<String> {
    vec![
        init(),
        "sleep 0.05".into(),
        assistant(
            "msg_1",
            json!([{"type": "text", "text": "Let me read it."}]),
            json!({"input_tokens": 100, "output_tokens": 5}),
        ),
        assistant(
            "msg_1",
            json!([{"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "notes.md"}}]),
            json!({"input_tokens": 100, "output_tokens": 20}),
        ),
        "sleep 0.6".into(),
        tool_result(),
        assistant(
            "msg_2",
            json!([{"type": "text", "text": final_text}]),
            json!({"input_tokens": 150, "output_tokens": 30}),
        ),
        "sleep 0.05".into(),
        result(final_text, result_extra),
    ]
}

#[test]
fn text_session_events_outputs_and_metrics() {
    let fake = Fake::new(&session("Rust is a language.", json!({})));
    let run = Setup::new(&fake).run();
    let outcome = run.ok();
    assert_eq!(
        *outcome,
        AgentOutcome {
            output: json!({"text": "Rust is a language."})
                .as_object()
                .unwrap()
                .clone(),
            stats: AgentStats {
                input_tokens: 1200,
                output_tokens: 340,
                cost_usd: Some(0.0123),
                session_id: Some("sess-42".into()),
                num_turns: 2,
                model: Some("claude-sonnet-4-5".into()),
                permission_denials: vec![],
            },
        }
    );
    assert_eq!(
        run.names(),
        [
            "turn_started 1",
            r#"tool_called Read {"file_path":"notes.md"}"#,
            "turn_completed 1 tools=1 in=Some(100) out=Some(20)",
            "turn_started 2",
            "turn_completed 2 tools=0 in=Some(150) out=Some(30)",
        ]
    );
    // Real time: the first turn was reported while the agent was still working (it paused
    // 0.6 s after the tool call), not when it finished.
    let first = &run.events[1];
    assert!(
        run.ended - first.at >= Duration::from_millis(500),
        "tool event reported only {:?} before the end",
        run.ended - first.at
    );
    // The prompt was rendered and passed after -p; the API key did not reach the CLI.
    let argv = fake.argv();
    assert_eq!(
        argv[..5],
        [
            "-p",
            "Summarise rust.",
            "--output-format",
            "stream-json",
            "--verbose"
        ]
    );
    let env = fake.recorded("env");
    assert!(env.contains("TRIDENT_TEST_MARKER=kept"));
    assert!(!env.contains("ANTHROPIC_API_KEY"), "{env}");
}

#[test]
fn every_option_reaches_the_cli() {
    let fake = Fake::new(&[result("{\"summary\": \"ok\"}", json!({}))]);
    std::fs::create_dir(fake.path().join("work")).unwrap();
    let mut setup = Setup::new(&fake).json_prompt(&[("summary", "string")]);
    setup.node.max_turns = 7;
    setup.node.permission_mode = "bypassPermissions".into();
    setup.node.allowed_tools = vec!["Read".into(), "Bash(git:*)".into()];
    setup.node.cwd = Some("work".into());
    let mut servers = IndexMap::new();
    servers.insert(
        "github".to_string(),
        McpServer {
            command: "npx".into(),
            args: vec!["-y".into(), "@modelcontextprotocol/server-github".into()],
            env: [("GITHUB_TOKEN".to_string(), "${GH_TOKEN}".to_string())]
                .into_iter()
                .collect(),
        },
    );
    setup.node.mcp_servers = servers;
    setup.resume = Some("sess-previous");
    let run = setup.run();
    assert_eq!(
        Value::Object(run.ok().output.clone()),
        json!({"summary": "ok"})
    );

    let argv = fake.argv();
    let after = |flag: &str| {
        let at = argv
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("no {flag} in {argv:?}"));
        argv[at + 1].clone()
    };
    assert_eq!(argv[..2], ["-p", "Report on rust as JSON."]);
    assert_eq!(after("--output-format"), "stream-json");
    assert!(argv.contains(&"--verbose".to_string()));
    let schema: Value = serde_json::from_str(&after("--json-schema")).unwrap();
    assert_eq!(schema["required"], json!(["summary"]));
    assert_eq!(after("--max-turns"), "7");
    assert_eq!(after("--permission-mode"), "bypassPermissions");
    assert_eq!(after("--allowedTools"), "Read,Bash(git:*)");
    assert_eq!(after("--resume"), "sess-previous");
    let mcp_path = PathBuf::from(after("--mcp-config"));
    let mcp: Value = serde_json::from_str(&fake.recorded("mcp")).unwrap();
    assert_eq!(
        mcp,
        json!({"mcpServers": {"github": {"command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-github"],
            "env": {"GITHUB_TOKEN": "ghp_expanded"}}}})
    );
    assert!(
        !mcp_path.exists(),
        "the MCP config file is removed after the run"
    );
    let cwd = PathBuf::from(fake.recorded("cwd").trim());
    assert_eq!(
        cwd.canonicalize().unwrap(),
        fake.path().join("work").canonicalize().unwrap()
    );
    assert!(!fake.recorded("env").contains("sk-ant-must-not-leak"));
}

#[test]
fn json_outputs_structured_fenced_and_embedded() {
    let fields = [("title", "string"), ("count", "integer")];
    let cases = [
        (
            result("", json!({"structured_output": {"title": "S", "count": 1}})),
            json!({"title": "S", "count": 1}),
        ),
        (
            result(
                "Done:\n```json\n{\"title\": \"F\", \"count\": 2}\n```",
                json!({}),
            ),
            json!({"title": "F", "count": 2}),
        ),
        (
            result(
                "The result is {\"title\": \"E\", \"count\": 3} as asked.",
                json!({}),
            ),
            json!({"title": "E", "count": 3}),
        ),
    ];
    for (line, expected) in cases {
        let fake = Fake::new(&[line]);
        let run = Setup::new(&fake).json_prompt(&fields).run();
        assert_eq!(Value::Object(run.ok().output.clone()), expected);
    }
    let fake = Fake::new(&[result("Sorry, no JSON today.", json!({}))]);
    let run = Setup::new(&fake).json_prompt(&fields).run();
    assert!(
        run.err().message.contains("returned invalid JSON"),
        "{}",
        run.err().message
    );
}

#[test]
fn is_error_result_fails_the_node() {
    let fake = Fake::new(&[
        init(),
        line(
            json!({"type": "result", "subtype": "success", "is_error": true,
            "result": "Invalid API key · Please run /login", "session_id": "sess-42"}),
        ),
        "exit 1".into(),
    ]);
    let run = Setup::new(&fake).run();
    let error = run.err();
    assert_eq!(
        error.message,
        "Agent 'worker' CLI reported an error: Invalid API key · Please run /login"
    );
    assert_eq!(error.error_type, "CLIAgentError");
    assert_eq!(
        error.stats.as_ref().unwrap().session_id.as_deref(),
        Some("sess-42"),
        "a failed agent keeps its session"
    );
}

#[test]
fn max_turns_exhausted_fails_the_node() {
    let fake = Fake::new(&[
        init(),
        assistant(
            "m1",
            json!([{"type": "tool_use", "name": "Bash", "input": {"command": "ls"}}]),
            json!({}),
        ),
        tool_result(),
        line(
            json!({"type": "result", "subtype": "error_max_turns", "is_error": false,
            "session_id": "sess-42", "num_turns": 2, "total_cost_usd": 0.01}),
        ),
    ]);
    let mut setup = Setup::new(&fake);
    setup.node.max_turns = 1;
    let run = setup.run();
    assert_eq!(
        run.err().message,
        "Agent 'worker' reached its max_turns limit (1) after 2 turns without finishing; raise \
         `max_turns` on the node or give it a smaller task."
    );
    assert_eq!(run.names()[0], "turn_started 1");
}

#[test]
fn non_zero_exit_reports_stderr() {
    let fake = Fake::new(&[
        "stderr Error: unknown option '--frobnicate'".into(),
        "exit 2".into(),
    ]);
    let run = Setup::new(&fake).run();
    assert_eq!(
        run.err().message,
        "Agent 'worker' CLI execution failed (exit 2): Error: unknown option '--frobnicate'"
    );
    let silent = Fake::new(&["exit 3".into()]);
    let run = Setup::new(&silent).run();
    assert_eq!(
        run.err().message,
        "Agent 'worker' CLI execution failed (exit 3): no error output"
    );
    let success_then_crash = Fake::new(&[result("fine", json!({})), "exit 1".into()]);
    assert!(Setup::new(&success_then_crash).run().result.is_err());
}

#[test]
fn malformed_lines_are_skipped_with_a_warning() {
    let fake = Fake::new(&[
        init(),
        "this is not json".into(),
        "[1, 2]".into(),
        "".into(),
        line(json!({"type": "stream_event", "event": {}})),
        assistant(
            "m1",
            json!([{"type": "text", "text": "hi"}]),
            json!({"output_tokens": 1}),
        ),
        result("hi", json!({"session_id": null})),
    ]);
    let run = Setup::new(&fake).run();
    let outcome = run.ok();
    assert_eq!(Value::Object(outcome.output.clone()), json!({"text": "hi"}));
    assert_eq!(
        outcome.stats.session_id.as_deref(),
        Some("sess-42"),
        "session id from the init line"
    );
    let names = run.names();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(
        names[0].starts_with("skipped \"this is not json\": not JSON"),
        "{}",
        names[0]
    );
    assert_eq!(names[1], "skipped \"[1, 2]\": not a JSON object");
    assert_eq!(names[2], "turn_started 1");
    assert_eq!(names[3], "turn_completed 1 tools=0 in=None out=Some(1)");
}

#[test]
fn missing_result_line_is_a_failure() {
    let fake = Fake::new(&[init(), "stderr connection reset".into()]);
    let run = Setup::new(&fake).run();
    assert_eq!(
        run.err().message,
        "Agent 'worker': the Claude CLI exited without its final `result` line (read 1 lines, \
         skipped 0 as malformed): connection reset"
    );
}

#[test]
fn a_line_over_the_output_limit_is_skipped_and_named_when_the_result_is_lost() {
    let big = "x".repeat(5000);
    // A long assistant line is skipped, the run goes on to its result.
    let fake = Fake::new(&[
        init(),
        assistant("m1", json!([{"type": "text", "text": big}]), json!({})),
        result("done", json!({})),
    ]);
    let mut setup = Setup::new(&fake);
    setup.output_limit = crate::output_limit::OutputLimit::new(2048);
    let run = setup.run();
    assert!(
        run.names()
            .iter()
            .any(|n| n.contains("is over the output limit (TRIDENT_MAX_OUTPUT_SIZE)")),
        "{:?}",
        run.names()
    );
    assert_eq!(run.ok().output["text"], "done");
    // A result line over the limit: the failure says which setting reads it.
    let fake = Fake::new(&[init(), result(&big, json!({}))]);
    let mut setup = Setup::new(&fake);
    setup.output_limit = crate::output_limit::OutputLimit::new(2048);
    let run = setup.run();
    let message = &run.err().message;
    assert!(
        message.contains(
            "skipped 1 as malformed; 1 of them longer than 2KB \
             (TRIDENT_MAX_OUTPUT_SIZE): raise TRIDENT_MAX_OUTPUT_SIZE to read them"
        ),
        "{message}"
    );
}

#[test]
fn missing_cli_says_how_to_install() {
    let fake = Fake::new(&[]);
    let mut setup = Setup::new(&fake);
    setup.env = AgentEnv::from_vars([("PATH", "/nonexistent-trident-bin")]);
    let run = setup.run();
    assert!(
        run.err()
            .message
            .contains("npm install -g @anthropic-ai/claude-code"),
        "{}",
        run.err().message
    );
    assert_eq!(run.err().error_type, "CLIAgentError");
}

fn process_gone(pid: &str) -> bool {
    // Gone, or a zombie waiting for a reaper that is not us (an orphan re-parented to init).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.is_empty()
        || stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
}

#[cfg(target_os = "linux")]
#[test]
fn hung_cli_is_killed_at_the_timeout() {
    let fake = Fake::new(&[
        init(),
        assistant(
            "m1",
            json!([{"type": "tool_use", "name": "Bash", "input": {"command": "sleep"}}]),
            json!({}),
        ),
        "hang".into(),
    ]);
    let mut setup = Setup::new(&fake);
    setup.node.timeout_secs = Some(1.0);
    let run = setup.run();
    assert_eq!(
        run.err().message,
        "Agent 'worker' timed out after 1 s (the node's `timeout`, default 1800 s); the Claude \
         CLI and everything it started were stopped."
    );
    assert!(
        run.took >= Duration::from_secs(1) && run.took < Duration::from_secs(5),
        "{:?}",
        run.took
    );
    // The turn in progress was reported before the hang; it never completed.
    assert_eq!(
        run.names()[..2],
        ["turn_started 1", r#"tool_called Bash {"command":"sleep"}"#]
    );
    let hang_pid = fake.recorded("hang_pid");
    let hang_pid = hang_pid.trim();
    assert!(!hang_pid.is_empty());
    let deadline = Instant::now() + Duration::from_secs(3);
    while !process_gone(hang_pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        process_gone(hang_pid),
        "the CLI's own child survived the timeout"
    );
}

#[test]
fn cancellation_stops_the_cli() {
    let fake = Fake::new(&["hang".into()]);
    let mut setup = Setup::new(&fake);
    setup.cancel_after = Some(Duration::from_millis(300));
    let run = setup.run();
    assert_eq!(
        run.err().message,
        "Agent 'worker' was interrupted; the Claude CLI and everything it started were stopped."
    );
    assert!(run.took < Duration::from_secs(3), "{:?}", run.took);
}

#[test]
fn prompt_looking_like_an_option_goes_on_stdin() {
    let fake = Fake::new(&[result("ok", json!({}))]);
    let mut setup = Setup::new(&fake);
    setup.prompt.body = "- first, summarise {{ topic }}".into();
    setup.run().ok();
    assert_eq!(fake.argv()[..2], ["-p", "--output-format"]);
    assert_eq!(fake.recorded("stdin"), "- first, summarise rust");
}

#[test]
fn invalid_timeout_and_cwd_fail_before_starting() {
    let fake = Fake::new(&[result("ok", json!({}))]);
    let mut setup = Setup::new(&fake);
    setup.node.timeout_secs = Some(-5.0);
    assert!(setup.run().err().message.contains("invalid timeout (-5)"));
    setup.node.timeout_secs = Some(f64::NAN);
    assert!(setup.run().result.is_err());
    setup.node.timeout_secs = None;
    setup.node.cwd = Some("missing-dir".into());
    assert!(setup.run().err().message.contains("missing-dir"));
    assert!(fake.argv().is_empty(), "the CLI was never started");
}

#[test]
fn usage_falls_back_to_the_turns() {
    let fake = Fake::new(&[
        assistant(
            "m1",
            json!([]),
            json!({"input_tokens": 10, "output_tokens": 3}),
        ),
        line(json!({"type": "result", "subtype": "success", "is_error": false, "result": "x"})),
    ]);
    let outcome = Setup::new(&fake).run().result.unwrap().stats;
    assert_eq!(
        (
            outcome.input_tokens,
            outcome.output_tokens,
            outcome.num_turns,
            outcome.cost_usd,
            outcome.session_id
        ),
        (10, 3, 1, None, Some("sess-42".to_string()))
    );
}

#[test]
fn events_reach_real_telemetry_while_the_agent_works() {
    use crate::telemetry::{Telemetry, TelemetrySettings};
    let (telemetry, _guard, memory) = Telemetry::in_memory(&TelemetrySettings::on());
    let run_telemetry = telemetry.for_run("run-1");
    let fake = Fake::new(&session("Done.", json!({})));
    let setup = Setup::new(&fake);
    let req = AgentRequest {
        node: &setup.node,
        prompt: &setup.prompt,
        inputs: &setup.inputs,
        project_root: &setup.root,
        resume_session: None,
        telemetry: &run_telemetry,
        node_id: "worker",
        output_limit: crate::output_limit::OutputLimit::default(),
    };
    std::thread::scope(|scope| {
        let agent = scope.spawn(|| run_agent_cancellable(&req, &setup.env, &|| false));
        // The CLI pauses 0.6 s after its tool call: the event must be readable before the end.
        let deadline = Instant::now() + Duration::from_secs(5);
        while memory.events_named("agent_tool_called").is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!memory.events_named("agent_tool_called").is_empty());
        assert!(
            !agent.is_finished(),
            "the tool event arrived only after the agent ended"
        );
        let outcome = agent.join().unwrap().unwrap();
        assert_eq!(outcome.output["text"], "Done.");
    });
    assert!(telemetry.flush_blocking(Duration::from_secs(5)));
    let events = memory.events();
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(
        names,
        [
            "agent_turn_started",
            "agent_tool_called",
            "agent_turn_completed",
            "agent_turn_started",
            "agent_turn_completed",
        ]
    );
    assert!(events.iter().all(|e| e["node_id"] == "worker"));
    assert_eq!(events[1]["data"]["tool_name"], "Read");
    assert_eq!(events[1]["data"]["tool_input"]["file_path"], "notes.md");
    assert_eq!(events[2]["data"]["turn_number"], 1);
    assert_eq!(events[2]["data"]["tool_calls"], 1);
    assert_eq!(events[4]["data"]["output_tokens"], 30);
}

/// A line as the real CLI prints it with `--include-partial-messages` (see `stream`).
fn delta(message_id: &str, parent: Option<&str>, output_tokens: u64) -> String {
    line(json!({"type": "stream_event", "api_message_id": message_id,
        "parent_tool_use_id": parent, "session_id": "sess-42",
        "event": {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                  "usage": {"output_tokens": output_tokens}}}))
}

fn model_assistant(id: &str, parent: Option<&str>, content: Value) -> String {
    line(
        json!({"type": "assistant", "session_id": "sess-42", "parent_tool_use_id": parent,
        "message": {"id": id, "model": "claude-api-model", "role": "assistant",
                    "content": content, "usage": {"input_tokens": 100, "output_tokens": 1}}}),
    )
}

#[test]
fn final_usage_retries_denials_and_notices_as_the_real_cli_prints_them() {
    let fake = Fake::new(&[
        init(),
        line(json!({"type": "system", "subtype": "status", "status": "requesting", "uuid": "u1"})),
        line(
            json!({"type": "system", "subtype": "api_retry", "attempt": 1, "max_retries": 10,
            "retry_delay_ms": 1237, "error_status": 529, "error": "overloaded"}),
        ),
        line(json!({"type": "stream_event", "event": {"type": "message_start"}})),
        model_assistant(
            "m1",
            None,
            json!([{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "touch x"}}]),
        ),
        delta("m1", None, 50),
        line(
            json!({"type": "system", "subtype": "permission_denied", "tool_name": "Bash",
            "tool_use_id": "t1", "message": "touch needs approval"}),
        ),
        tool_result(),
        model_assistant("m2", None, json!([{"type": "text", "text": "Could not."}])),
        delta("m2", None, 51),
        line(json!({"type": "rate_limit_event", "rate_limit_info": {"status": "allowed_warning"}})),
        result(
            "Could not.",
            json!({"modelUsage": {"claude-api-model": {"inputTokens": 201, "outputTokens": 101,
                "costUSD": 0.0123}},
                "permission_denials": [{"tool_name": "Bash", "tool_use_id": "t1",
                    "tool_input": {"command": "touch x"}}],
                "terminal_reason": "completed", "stop_reason": "end_turn"}),
        ),
    ]);
    let run = Setup::new(&fake).run();
    let stats = &run.ok().stats;
    assert_eq!(
        run.names(),
        [
            "retry anthropic #1 Some(529) overloaded 1237ms",
            "turn_started 1",
            r#"tool_called Bash {"command":"touch x"}"#,
            r#"denied Bash None Some("touch needs approval")"#,
            "turn_completed 1 tools=1 in=Some(100) out=Some(50)",
            "turn_started 2",
            "turn_completed 2 tools=0 in=Some(100) out=Some(51)",
        ]
    );
    let notices = run.notices();
    let kinds: Vec<&str> = notices.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["system/status", "rate_limit_event", "result"]);
    assert_eq!(notices[0].1, json!({"status": "requesting"}));
    assert_eq!(notices[2].1["terminal_reason"], "completed");
    assert_eq!(notices[2].1["stop_reason"], "end_turn");
    // Totals from modelUsage; the model the API answered with, not the init line's.
    assert_eq!((stats.input_tokens, stats.output_tokens), (201, 101));
    assert_eq!(stats.model.as_deref(), Some("claude-api-model"));
    assert_eq!(
        stats.permission_denials,
        [
            json!({"tool_name": "Bash", "tool_input": {"command": "touch x"},
            "reason": "touch needs approval"})
        ]
    );
    let argv = fake.argv();
    assert!(argv.contains(&"--include-partial-messages".to_string()));
}

#[test]
fn subagents_are_marked_and_two_results_give_the_last_answer_and_whole_costs() {
    let sub = Some("toolu_A");
    let fake = Fake::new(&[
        init(),
        model_assistant(
            "m1",
            None,
            json!([{"type": "tool_use", "id": "toolu_A", "name": "Agent",
                "input": {"prompt": "help", "subagent_type": "general-purpose"}}]),
        ),
        delta("m1", None, 10),
        line(json!({"type": "user", "parent_tool_use_id": null, "message": {"content": []}})),
        model_assistant("s1", sub, json!([{"type": "text", "text": "sub answer"}])),
        model_assistant("m2", None, json!([{"type": "text", "text": "interim"}])),
        delta("s1", sub, 7),
        result(
            "interim",
            json!({"num_turns": 2, "total_cost_usd": 0.01,
                "modelUsage": {"claude-api-model": {"inputTokens": 300, "outputTokens": 20}}}),
        ),
        model_assistant(
            "m3",
            None,
            json!([{"type": "text", "text": "final answer"}]),
        ),
        result(
            "final answer",
            json!({"num_turns": 1, "total_cost_usd": 0.02,
                "modelUsage": {"claude-api-model": {"inputTokens": 400, "outputTokens": 30},
                               "claude-haiku": {"inputTokens": 50, "outputTokens": 5}}}),
        ),
    ]);
    let run = Setup::new(&fake).run();
    let outcome = run.ok();
    assert_eq!(outcome.output["text"], "final answer");
    let stats = &outcome.stats;
    assert_eq!(
        stats.cost_usd,
        Some(0.02),
        "the session's cost, counted once"
    );
    assert_eq!((stats.input_tokens, stats.output_tokens), (450, 35));
    assert_eq!(stats.num_turns, 3, "the agent's own turns of both results");
    assert_eq!(
        run.names(),
        [
            "turn_started 1",
            r#"tool_called Agent {"prompt":"help","subagent_type":"general-purpose"}"#,
            "turn_completed 1 tools=1 in=Some(100) out=Some(10)",
            "turn_started 1 [toolu_A]",
            "turn_started 2",
            "turn_completed 2 tools=0 in=Some(100) out=Some(1)",
            "turn_completed 1 tools=0 in=Some(100) out=Some(7) [toolu_A]",
            "turn_started 3",
            "turn_completed 3 tools=0 in=Some(100) out=Some(1)",
        ]
    );
}

#[test]
fn a_failed_agent_keeps_its_session_cost_turns_and_tokens() {
    let fake = Fake::new(&[
        init(),
        model_assistant(
            "m1",
            None,
            json!([{"type": "tool_use", "id": "t1", "name": "Bash",
            "input": {"command": "ls"}}]),
        ),
        tool_result(),
        line(
            json!({"type": "result", "subtype": "error_max_turns", "is_error": true,
            "session_id": "sess-42", "num_turns": 2, "total_cost_usd": 0.05,
            "terminal_reason": "max_turns", "errors": ["Reached maximum number of turns (1)"],
            "modelUsage": {"claude-api-model": {"inputTokens": 120, "outputTokens": 60}}}),
        ),
        "exit 1".into(),
    ]);
    let mut setup = Setup::new(&fake);
    setup.node.max_turns = 1;
    let run = setup.run();
    let error = run.err();
    assert!(
        error.message.contains("max_turns limit (1)"),
        "{}",
        error.message
    );
    assert!(!error.api_failure);
    let stats = error.stats.as_ref().expect("stats kept");
    assert_eq!(stats.session_id.as_deref(), Some("sess-42"));
    assert_eq!(stats.cost_usd, Some(0.05));
    assert_eq!(stats.num_turns, 2);
    assert_eq!((stats.input_tokens, stats.output_tokens), (120, 60));
}

#[test]
fn api_failures_are_provider_failures_that_name_the_status() {
    let fake = Fake::new(&[
        init(),
        line(
            json!({"type": "assistant", "session_id": "sess-42", "error": "authentication_failed",
            "is_api_error_message": true, "api_error_status": 401,
            "message": {"id": "x", "model": "<synthetic>",
                "content": [{"type": "text", "text": "Not logged in · Please run /login"}]}}),
        ),
        line(
            json!({"type": "result", "subtype": "success", "is_error": true,
            "result": "Not logged in · Please run /login", "session_id": "sess-42",
            "api_error_status": 401, "terminal_reason": "api_error", "total_cost_usd": 0}),
        ),
        "exit 1".into(),
    ]);
    let run = Setup::new(&fake).run();
    let error = run.err();
    assert!(error.api_failure, "exit 3");
    assert!(error.message.contains("HTTP 401"), "{}", error.message);
    assert!(!error.message.contains("(success)"), "{}", error.message);
    assert_eq!(
        error.stats.as_ref().unwrap().model,
        Some("claude-sonnet-4-5".into()),
        "the CLI-made `<synthetic>` message is not the model"
    );
}

#[test]
fn pass_api_key_hands_the_key_to_the_cli() {
    let fake = Fake::new(&[result("ok", json!({}))]);
    let mut setup = Setup::new(&fake);
    setup.node.pass_api_key = true;
    setup.run().ok();
    assert!(
        fake.recorded("env")
            .contains("ANTHROPIC_API_KEY=sk-ant-must-not-leak")
    );
}
