//! Agent nodes against the real Claude Code CLI (installed by `.ci/run` from npm), talking to
//! a fake streaming Messages API on 127.0.0.1 (see `support::fake_claude_api`). Each test
//! prints a visible SKIPPED line when the CLI is not installed.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::fake_claude_api::{
    ApiReply, FakeClaudeApi, body_text, first_user_text, model_turns, real_claude_cli,
};
use crate::support::{Fixture, Out, trace_node};

/// A project whose agent `worker` has the node settings `node_extra` (YAML lines) and the
/// prompt `prompt` (a text prompt with `model: anthropic/claude-fake-1`).
fn project(node_extra: &str, prompt: &str) -> Fixture {
    let extra: String = node_extra.lines().map(|l| format!("    {l}\n")).collect();
    Fixture::empty()
        .file(
            "agent.tml",
            &format!(
                "trident: \"0.1\"\nname: real-agents\nnodes:\n  input: {{type: input}}\n  worker:\n    \
                 type: agent\n    prompt: prompts/worker.prompt\n{extra}  output: {{type: output}}\n\
                 edges:\n  a: {{from: input, to: worker, mapping: {{task: task}}}}\n  b: {{from: worker, \
                 to: output, mapping: {{answer: text}}}}\n"
            ),
        )
        .file(
            "prompts/worker.prompt",
            &format!(
                "---\nid: worker\nmodel: anthropic/claude-fake-1\ninput:\n  task: {{type: string}}\n---\n{prompt}\n"
            ),
        )
}

/// The project with the CLI `cli` pointed at `api` (its home under the project).
fn with_cli(f: Fixture, api: &FakeClaudeApi, cli: &Path) -> Fixture {
    let home = f.join("home");
    std::fs::create_dir_all(&home).unwrap();
    api.cli_env(cli, &home)
        .into_iter()
        .fold(f, |f, (k, v)| f.env(&k, &v))
}

fn run(f: &Fixture, extra: &[&str]) -> Out {
    let mut args = vec![
        "project",
        "run",
        "-i",
        r#"{"task": "work"}"#,
        "-o",
        "json",
        "--telemetry",
        "--telemetry-file",
        "events.jsonl",
        "--telemetry-level",
        "debug",
    ];
    args.extend_from_slice(extra);
    f.run(&args)
}

fn events(f: &Fixture) -> Vec<Value> {
    std::fs::read_to_string(f.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

#[test]
fn real_cli_turn_tokens_model_retries_and_notices() {
    let Some(cli) = real_claude_cli("real_cli_turn_tokens_model_retries_and_notices") else {
        return;
    };
    let first = std::sync::atomic::AtomicBool::new(true);
    let api = FakeClaudeApi::start(move |req| {
        if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return ApiReply::Error {
                status: 529,
                kind: "overloaded_error",
            };
        }
        match model_turns(req) {
            0 => ApiReply::tool(
                "toolu_1",
                "Bash",
                json!({"command": "echo hi", "description": "say hi"}),
            )
            .tokens(120, 40),
            _ => ApiReply::text("All done.").tokens(130, 60),
        }
    });
    let f = with_cli(
        project("allowed_tools: [Bash]", "Do {{ task }}."),
        &api,
        &cli,
    );
    let out = run(&f, &[]);
    out.code(0);
    assert_eq!(out.json()["outputs"]["output"]["answer"], "All done.");
    let events = events(&f);
    // A turn's output tokens are the final count (message_delta), not message_start's 1.
    let completed = named(&events, "agent_turn_completed");
    let outputs: Vec<&Value> = completed
        .iter()
        .map(|e| &e["data"]["output_tokens"])
        .collect();
    assert_eq!(outputs, [&json!(40), &json!(60)], "{completed:?}");
    // The CLI's retry of the 529 is a provider_retry event.
    let retries = named(&events, "provider_retry");
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert_eq!(retries[0]["data"]["status"], 529);
    assert_eq!(retries[0]["data"]["attempt"], 1);
    assert!(retries[0]["data"]["delay_ms"].as_u64().unwrap() > 0);
    // The prompt's model reached the API (`--model`) and is what trace.json records.
    for request in api.requests() {
        assert_eq!(request.model(), Some("claude-fake-1"));
    }
    let trace = f.run_file("trace.json");
    let worker = trace_node(&trace, "worker");
    assert_eq!(worker["model"], "claude-fake-1");
    assert_eq!(worker["tokens"], json!({"input": 250, "output": 100}));
    assert_eq!(worker["num_turns"], 2);
    assert!(worker["session_id"].as_str().is_some_and(|s| !s.is_empty()));
    // Result fields nothing else carries, as an agent_notice (DEBUG).
    let notices = named(&events, "agent_notice");
    let result = notices
        .iter()
        .find(|e| e["data"]["kind"] == "result")
        .expect("result notice");
    assert_eq!(result["level"], "DEBUG");
    assert_eq!(result["data"]["detail"]["terminal_reason"], "completed");
}

/// A fake API whose agent runs one Bash command that starts a background process orphaned
/// at once, one in a session of its own and a foreground wait (the CLI runs the command in a
/// session of its own too), writing their pids to `pids`; `first` numbers the sleeps.
#[cfg(target_os = "linux")]
fn api_starting_three_sleeps(pids: &Path, first: u32) -> FakeClaudeApi {
    let command = format!(
        "(sleep {a} & echo $! >> {p}); setsid sleep {b} & echo $! >> {p}; echo $$ >> {p}; sleep {c}",
        a = first,
        b = first + 1,
        c = first + 2,
        p = pids.display()
    );
    FakeClaudeApi::start(move |req| match model_turns(req) {
        0 => ApiReply::tool(
            "toolu_1",
            "Bash",
            json!({"command": command, "description": "wait"}),
        ),
        _ => ApiReply::text("never"),
    })
}

/// Asserts that none of the pids listed in `pids` (three) is alive, within 5 s.
#[cfg(target_os = "linux")]
fn assert_all_stopped(pids: &Path, after: &str) {
    let pids: Vec<i32> = crate::support::read_text(pids)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(pids.len(), 3, "the Bash command ran: {pids:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    for pid in pids {
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !alive(pid),
            "process {pid} started by the agent outlived {after}"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn real_cli_timeout_stops_every_process_the_agent_started() {
    let Some(cli) = real_claude_cli("real_cli_timeout_stops_every_process_the_agent_started")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let api = api_starting_three_sleeps(&pids, 3001);
    let f = with_cli(
        project("allowed_tools: [Bash]\ntimeout: 15", "Do {{ task }}."),
        &api,
        &cli,
    );
    let started = Instant::now();
    let out = run(&f, &[]);
    out.code(1);
    assert!(
        out.stdout.contains("timed out after 15 s"),
        "{}",
        out.stdout
    );
    assert!(started.elapsed() < Duration::from_secs(40));
    assert_all_stopped(&pids, "the node's timeout");
}

#[cfg(target_os = "linux")]
#[test]
fn real_cli_ctrl_c_stops_every_process_the_agent_started() {
    let Some(cli) = real_claude_cli("real_cli_ctrl_c_stops_every_process_the_agent_started") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let api = api_starting_three_sleeps(&pids, 3011);
    let f = with_cli(
        project("allowed_tools: [Bash]", "Do {{ task }}."),
        &api,
        &cli,
    );
    let mut child = f
        .command(&[
            "project",
            "run",
            "-i",
            r#"{"task": "work"}"#,
            "--run-id",
            "c1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::support::wait_until("the agent's Bash command", || {
        crate::support::read_text(&pids).lines().count() == 3
    });
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert_all_stopped(&pids, "Ctrl-C");
    assert_eq!(
        f.read_json(".trident/runs/c1/checkpoint.json")["status"],
        "interrupted"
    );
}

#[cfg(target_os = "linux")]
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat[stat.rfind(')').unwrap() + 2..].starts_with('Z'))
}

#[test]
fn real_cli_rejected_credentials_exit_3_naming_the_status() {
    let Some(cli) = real_claude_cli("real_cli_rejected_credentials_exit_3_naming_the_status")
    else {
        return;
    };
    let api = FakeClaudeApi::start(|_| ApiReply::Error {
        status: 401,
        kind: "authentication_error",
    });
    let f = with_cli(project("", "Do {{ task }}."), &api, &cli);
    let out = run(&f, &[]);
    out.code(3);
    let error = out.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(error.contains("HTTP 401"), "{error}");
    assert!(
        error.contains("rejected the Claude CLI's credentials"),
        "{error}"
    );
    assert!(!error.contains("(success)"), "{error}");
    // Its retries were visible as they happened.
    let events = events(&f);
    let retries = named(&events, "provider_retry");
    assert!(!retries.is_empty());
    assert!(retries.iter().all(|e| e["data"]["status"] == 401));
}

#[test]
fn real_cli_without_login_says_how_and_pass_api_key_works() {
    let Some(cli) = real_claude_cli("real_cli_without_login_says_how_and_pass_api_key_works")
    else {
        return;
    };
    let api = FakeClaudeApi::start(|_| ApiReply::text("Hello with a key."));
    // Only an API key: trident removes it from the CLI's environment.
    let f = with_cli(project("", "Do {{ task }}."), &api, &cli)
        .env("ANTHROPIC_AUTH_TOKEN", "")
        .env("ANTHROPIC_API_KEY", "sk-ant-fake-key");
    let out = run(&f, &[]);
    out.code(3);
    let error = out.json()["error"]["message"].as_str().unwrap().to_string();
    for hint in [
        "not logged in",
        "ANTHROPIC_AUTH_TOKEN",
        "apiKeyHelper",
        "pass_api_key: true",
    ] {
        assert!(error.contains(hint), "{hint}: {error}");
    }
    assert!(
        api.requests().is_empty(),
        "the CLI had no credentials to call with"
    );

    // `pass_api_key: true` hands the key to the CLI.
    let manifest = std::fs::read_to_string(f.join("agent.tml"))
        .unwrap()
        .replace(
            "prompt: prompts/worker.prompt\n",
            "prompt: prompts/worker.prompt\n    pass_api_key: true\n",
        );
    let f = f.file("agent.tml", &manifest);
    let out = run(&f, &[]);
    out.code(0);
    assert_eq!(
        out.json()["outputs"]["output"]["answer"],
        "Hello with a key."
    );
    let request = api.requests().pop().unwrap();
    assert_eq!(request.header("x-api-key"), Some("sk-ant-fake-key"));
}

#[test]
fn real_cli_failed_agent_keeps_its_session_and_resumes_it() {
    let Some(cli) = real_claude_cli("real_cli_failed_agent_keeps_its_session_and_resumes_it")
    else {
        return;
    };
    let api = FakeClaudeApi::start(|req| {
        if body_text(req).contains("toolu_resume_me") && model_turns(req) >= 1 {
            // The resumed session: the earlier tool call is in the conversation.
            return ApiReply::text("Finished after resuming.");
        }
        ApiReply::tool(
            "toolu_resume_me",
            "Bash",
            json!({"command": "echo step", "description": "step"}),
        )
    });
    let f = with_cli(
        project("allowed_tools: [Bash]\nmax_turns: 1", "Do {{ task }}."),
        &api,
        &cli,
    );
    let out = run(&f, &["--run-id", "first"]);
    out.code(1);
    let error = out.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(error.contains("max_turns limit (1)"), "{error}");
    let trace = f.read_json(".trident/runs/first/trace.json");
    let worker = trace_node(&trace, "worker");
    let session = worker["session_id"]
        .as_str()
        .expect("session kept")
        .to_string();
    assert!(worker["cost_usd"].as_f64().unwrap() > 0.0);
    assert!(worker["num_turns"].as_u64().unwrap() >= 1);
    assert!(worker["tokens"]["output"].as_u64().unwrap() > 0);
    let checkpoint = f.read_json(".trident/runs/first/checkpoint.json");
    assert_eq!(checkpoint["failed_nodes"]["worker"]["session_id"], session);
    let failed_events = events(&f);
    assert!(
        named(&failed_events, "cost_incurred")
            .iter()
            .any(|e| e["node_id"] == "worker")
    );

    std::fs::remove_file(f.join("events.jsonl")).unwrap();
    let out = run(&f, &["--resume", "first"]);
    out.code(0);
    assert_eq!(
        out.json()["outputs"]["output"]["answer"],
        "Finished after resuming."
    );
    let trace = f.read_json(".trident/runs/first/trace.json");
    assert_eq!(trace_node(&trace, "worker")["session_id"], session);
    // The checkpoint's total and the run's reported cost agree after the resume.
    let checkpoint = f.read_json(".trident/runs/first/checkpoint.json");
    let events = events(&f);
    let completed = named(&events, "workflow_completed");
    let reported = completed[0]["data"]["cost_usd"].as_f64().unwrap();
    let total = checkpoint["total_cost_usd"].as_f64().unwrap();
    assert!((reported - total).abs() < 1e-9, "{reported} vs {total}");
    assert!(total > 0.0);
}

#[test]
fn real_cli_subagents_are_marked_and_counted() {
    let Some(cli) = real_claude_cli("real_cli_subagents_are_marked_and_counted") else {
        return;
    };
    let api = FakeClaudeApi::start(|req| {
        if first_user_text(req).contains("SUBTASK-7") {
            return ApiReply::text("sub result").tokens(11, 7);
        }
        match model_turns(req) {
            0 => ApiReply::tool(
                "toolu_sub",
                "Agent",
                json!({"description": "helper", "prompt": "SUBTASK-7 look around",
                    "subagent_type": "general-purpose"}),
            )
            .tokens(100, 20),
            1 => ApiReply::text("interim answer").tokens(101, 21),
            _ => ApiReply::text("final answer").tokens(102, 22),
        }
    });
    let f = with_cli(project("", "Do {{ task }}."), &api, &cli);
    let out = run(&f, &[]);
    out.code(0);
    let events = events(&f);
    let results = named(&events, "agent_notice")
        .into_iter()
        .filter(|e| e["data"]["kind"] == "result")
        .count();
    // The background subagent makes the CLI print two results: the last one is the answer.
    assert_eq!(results, 2);
    assert_eq!(out.json()["outputs"]["output"]["answer"], "final answer");
    // Subagent turns are marked as such.
    let sub_turns: Vec<&Value> = named(&events, "agent_turn_started")
        .into_iter()
        .filter(|e| e["data"]["subagent"] == "toolu_sub")
        .collect();
    assert!(!sub_turns.is_empty(), "{events:?}");
    // Totals include the subagent: every token the API sent.
    let (input, output) = api.tokens_sent();
    let trace = f.run_file("trace.json");
    let worker = trace_node(&trace, "worker");
    assert_eq!(worker["tokens"], json!({"input": input, "output": output}));
    let costs: Vec<f64> = named(&events, "cost_incurred")
        .iter()
        .map(|e| e["data"]["cost_usd"].as_f64().unwrap())
        .collect();
    assert_eq!(costs.len(), 1, "the session's cost, counted once");
    assert_eq!(worker["cost_usd"].as_f64(), Some(costs[0]));
}

#[test]
fn real_cli_denied_tool_calls_are_reported() {
    let Some(cli) = real_claude_cli("real_cli_denied_tool_calls_are_reported") else {
        return;
    };
    let api = FakeClaudeApi::start(|req| match model_turns(req) {
        0 => ApiReply::tool(
            "toolu_deny",
            "Bash",
            json!({"command": "touch made-by-agent", "description": "make a file"}),
        ),
        _ => ApiReply::text("Could not."),
    });
    let f = with_cli(
        project("permission_mode: default", "Do {{ task }}."),
        &api,
        &cli,
    );
    let out = run(&f, &[]);
    out.code(0);
    assert!(!f.join("made-by-agent").exists());
    let events = events(&f);
    let denied = named(&events, "agent_permission_denied");
    assert_eq!(denied.len(), 1, "{events:?}");
    assert_eq!(denied[0]["level"], "WARNING");
    assert_eq!(denied[0]["data"]["tool_name"], "Bash");
    let trace = f.run_file("trace.json");
    let denials = &trace_node(&trace, "worker")["permission_denials"];
    assert_eq!(denials[0]["tool_name"], "Bash");
    assert_eq!(denials[0]["tool_input"]["command"], "touch made-by-agent");
}

/// Not the CLI's: the manifest checks that need no CLI at all.
#[test]
fn permission_modes_are_checked_before_agents_run() {
    let f = project("permission_mode: acceptAll", "Do it.");
    let out = f.run(&["project", "validate"]);
    out.code(2);
    assert!(
        out.stderr.contains("acceptAll") && out.stderr.contains("acceptEdits"),
        "{}",
        out.stderr
    );
    let f = project("permission_mode: bypassPermissions", "Do it.");
    // Under root too: loading, validating, drawing and a dry run start no agent.
    f.run(&["project", "validate"]).code(0);
    f.run(&["project", "graph"]).code(0);
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "--no-artifacts",
        "-i",
        r#"{"task": "x"}"#,
    ])
    .code(0);
    let out = f.run(&["project", "run", "-i", r#"{"task": "x"}"#]);
    if running_as_root() {
        out.code(2);
        assert!(out.stderr.contains("root"), "{}", out.stderr);
        assert!(!f.join(".trident").exists(), "refused before the run");
    } else {
        assert_ne!(out.code, 2, "{}", out.stderr);
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}
