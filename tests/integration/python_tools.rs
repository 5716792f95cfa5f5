//! Python tools in persistent workers, and what tools report while they run: module state
//! across calls, a 200-wide level, every fault failing only its node, prints kept off stdout,
//! stdin at end of file, `emit` / `$TRIDENT_EVENTS` events live and in order, `tool_output`
//! lines, timeouts, and no tool process left behind (after a run, an error, a timeout, SIGTERM
//! or `kill -9` of trident), checked in the process table.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Fixture, read_text, trace_node, wait_until};

const HEADER: &str = "trident: \"0.1\"\nname: tools\nnodes:\n  input:\n    type: input\n";

fn events(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A unique value put in trident's environment, inherited by every tool process it starts:
/// finding it in `/proc/*/environ` finds the processes of one test.
fn marker() -> String {
    format!("issue8-{}", uuid_like())
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{nanos:x}-{}", std::process::id())
}

/// Live (non-zombie) processes whose environment holds `TRIDENT_TEST_MARK=<mark>`.
#[cfg(target_os = "linux")]
fn processes_marked(mark: &str) -> Vec<String> {
    let needle = format!("TRIDENT_TEST_MARK={mark}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let status = read_text(&entry.path().join("status"));
        if status.contains("State:\tZ") {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|b| *b == 0)
            .any(|var| var == needle.as_bytes())
        {
            let cmdline = read_text(&entry.path().join("cmdline")).replace('\0', " ");
            found.push(format!(
                "{name}: {}",
                cmdline.chars().take(80).collect::<String>()
            ));
        }
    }
    found
}

#[cfg(target_os = "linux")]
fn assert_none_left(mark: &str, after: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_marked(mark);
        if left.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "tool processes left {after}: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn module_state_survives_between_calls_of_a_run() {
    let f = Fixture::empty()
        .file(
            "agent.tml",
            &format!(
                "{HEADER}tools:\n  c1: {{type: python, module: counter}}\n  c2: {{type: python, module: counter}}\n  c3: {{type: python, module: counter}}\n\
                 edges:\n  a: {{from: input, to: c1}}\n  b: {{from: c1, to: c2}}\n  c: {{from: c2, to: c3}}\n"
            ),
        )
        .file(
            "tools/counter.py",
            "import os\nCALLS = 0\nIMPORTS = globals().get('IMPORTS', 0) + 1\n\
             def execute(**_):\n    global CALLS\n    CALLS += 1\n    \
             return {'calls': CALLS, 'imports': IMPORTS, 'pid': os.getpid()}\n",
        );
    let out = f.run(&["project", "run", "-i", "{}", "-o", "json"]);
    out.code(0);
    let trace = f.run_file("trace.json");
    let calls: Vec<Value> = ["c1", "c2", "c3"]
        .iter()
        .map(|id| trace_node(&trace, id)["output"].clone())
        .collect();
    assert_eq!(
        calls.iter().map(|c| c["calls"].clone()).collect::<Vec<_>>(),
        [json!(1), json!(2), json!(3)]
    );
    assert!(
        calls
            .iter()
            .all(|c| c["imports"] == 1 && c["pid"] == calls[0]["pid"])
    );
}

#[test]
fn two_hundred_tools_in_one_level_all_get_their_own_result() {
    let mut manifest = format!("{HEADER}tools:\n");
    let mut module = String::from("import os, time\n");
    let mut edges = String::from("edges:\n");
    for i in 0..200 {
        writeln!(
            manifest,
            "  t{i}: {{type: python, module: wide, function: f{i}}}"
        )
        .unwrap();
        writeln!(
            edges,
            "  e{i}: {{from: input, to: t{i}, mapping: {{x: x}}}}"
        )
        .unwrap();
        writeln!(
            module,
            "def f{i}(x):\n    time.sleep(0.2)\n    return {{'r': x * {i}, 'pid': os.getpid()}}"
        )
        .unwrap();
    }
    let f = Fixture::empty()
        .file("agent.tml", &format!("{manifest}{edges}"))
        .file("tools/wide.py", &module)
        .env("TRIDENT_MAX_PARALLEL", "16");
    let out = f.run(&["project", "run", "-i", r#"{"x": 3}"#, "-o", "json"]);
    out.code(0);
    let trace = f.run_file("trace.json");
    let mut pids = std::collections::HashSet::new();
    for i in 0..200 {
        let output = trace_node(&trace, &format!("t{i}"))["output"].clone();
        assert_eq!(output["r"], json!(3 * i), "t{i}");
        pids.insert(output["pid"].as_i64().unwrap());
    }
    // Each call waits 0.2 s: waiting for a busy worker costs more than booting one, so the
    // pool grows.
    assert!(pids.len() > 1, "calls ran concurrently on several workers");
    assert!(
        pids.len() <= 16,
        "no more workers than the level's concurrency: {}",
        pids.len()
    );
}

/// A level of faulty tools, each followed (in id order, one at a time) by a healthy one.
#[test]
fn every_fault_fails_only_its_node_and_later_tools_still_run() {
    let faults = [
        ("a_raise", "raise ValueError('bad input')", "ValueError"),
        ("b_exit", "os._exit(3)", "ToolError"),
        ("c_segv", "import ctypes; ctypes.string_at(0)", "ToolError"),
        ("d_sysexit", "sys.exit(4)", "SystemExit"),
        (
            "e_interrupt",
            "raise KeyboardInterrupt()",
            "KeyboardInterrupt",
        ),
        ("f_timeout", "time.sleep(30)", "ToolError"),
    ];
    let mut manifest = format!("{HEADER}tools:\n");
    let mut module = String::from("import os, sys, time\nSTATE = []\n");
    let mut edges = String::from("edges:\n");
    for (id, body, _) in faults {
        let timeout = if id == "f_timeout" {
            ", timeout: 1"
        } else {
            ""
        };
        writeln!(
            manifest,
            "  {id}: {{type: python, module: faults, function: {id}{timeout}}}"
        )
        .unwrap();
        writeln!(
            manifest,
            "  {id}_ok: {{type: python, module: faults, function: ok}}"
        )
        .unwrap();
        writeln!(
            edges,
            "  {id}: {{from: input, to: {id}}}\n  {id}_ok: {{from: input, to: {id}_ok}}"
        )
        .unwrap();
        writeln!(module, "def {id}():\n    print('before {id}')\n    {body}").unwrap();
    }
    writeln!(
        module,
        "def ok():\n    STATE.append(1)\n    return {{'pid': os.getpid(), 'calls': len(STATE)}}"
    )
    .unwrap();
    let mark = marker();
    let f = Fixture::empty()
        .file("agent.tml", &format!("{manifest}{edges}"))
        .file("tools/faults.py", &module)
        .env("TRIDENT_MAX_PARALLEL", "1")
        // One level, one node at a time, every node run despite the failures: the
        // original's level semantics (by default no node starts after a failure).
        .env("TRIDENT_SCHEDULE", "levels")
        .env("TRIDENT_TEST_MARK", &mark);
    let started = std::time::Instant::now();
    let out = f.run(&["project", "run", "-i", "{}", "-o", "json"]);
    out.code(1);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the timeout held"
    );
    let trace = f.run_file("trace.json");
    for (id, _, error_type) in faults {
        let node = trace_node(&trace, id);
        assert_eq!(node["error_type"], "ToolError", "{id}");
        let error = node["error"].as_str().unwrap();
        assert!(error.ends_with(&format!("({error_type})")), "{id}: {error}");
        assert!(
            error.contains(&format!("before {id}")),
            "{id}: its prints: {error}"
        );
        let ok = trace_node(&trace, &format!("{id}_ok"));
        assert!(ok["error"].is_null(), "{id}_ok failed: {}", ok["error"]);
    }
    let error_of = |id: &str| {
        trace_node(&trace, id)["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(error_of("a_raise").starts_with("Error executing tool a_raise: bad input"));
    assert!(
        error_of("b_exit").contains("exit status: 3"),
        "{}",
        error_of("b_exit")
    );
    assert!(
        error_of("c_segv").contains("signal: 11"),
        "{}",
        error_of("c_segv")
    );
    assert!(error_of("f_timeout").starts_with("Tool 'f_timeout' timed out after 1.0"));
    // Each fault retired its worker: the healthy tool after it got a fresh one.
    let state_after = |id: &str| trace_node(&trace, &format!("{id}_ok"))["output"]["calls"].clone();
    assert_eq!(state_after("a_raise"), 1, "a raising tool keeps its worker");
    for id in ["b_exit", "c_segv", "d_sysexit", "e_interrupt", "f_timeout"] {
        assert_eq!(
            state_after(id),
            1,
            "{id}: a new worker (fresh module state)"
        );
    }
    #[cfg(target_os = "linux")]
    assert_none_left(&mark, "after a failed run with a timeout");
}

#[test]
fn prints_stay_off_stdout_and_stdin_is_at_end_of_file() {
    let f = Fixture::empty()
        .file(
            "agent.tml",
            &format!("{HEADER}tools:\n  noisy: {{type: python, module: noisy}}\n  sh: {{type: shell, command: 'cat; echo shell-stdin-done'}}\nedges:\n  a: {{from: input, to: noisy}}\n  b: {{from: noisy, to: sh}}\n"),
        )
        .file(
            "tools/noisy.py",
            "import os, sys\nprint('import noise')\n\
             def execute():\n    print('print noise')\n    os.write(1, b'fd noise\\n')\n    \
             os.system('echo child noise')\n    data = sys.stdin.read()\n    \
             try:\n        input()\n        eof = False\n    except EOFError:\n        eof = True\n    \
             raw = os.read(0, 10)\n    return {'stdin': data, 'eof': eof, 'raw': raw.decode()}\n",
        );
    let out = f.run(&["project", "run", "-i", "{}", "-o", "json"]);
    out.code(0);
    let result = out.json();
    assert_eq!(
        result["outputs"]["output"], "shell-stdin-done",
        "{}",
        out.stdout
    );
    let trace = f.run_file("trace.json");
    assert_eq!(
        trace_node(&trace, "noisy")["output"],
        json!({"stdin": "", "eof": true, "raw": ""})
    );
    for noise in ["import noise", "print noise", "fd noise", "child noise"] {
        assert!(!out.stdout.contains(noise), "{noise} reached stdout");
        assert!(
            out.stderr.contains(noise),
            "{noise} is on stderr: {}",
            out.stderr
        );
    }
}

/// A tool that emits two events, then sleeps: a reader of the telemetry file sees both, in
/// order, while the tool still runs.
#[test]
fn emitted_events_are_written_live_and_in_order() {
    let mark = marker();
    let manifest = format!(
        "{HEADER}{}",
        r#"tools:
  fetch: {type: python, module: fetch}
  sh:
    type: shell
    command: |
      echo '{"event": "shell_step", "data": {"n": 1}}' >> "$TRIDENT_EVENTS"; sleep 1; echo done
edges:
  a: {from: input, to: fetch}
  b: {from: fetch, to: sh}
"#
    );
    let f = Fixture::empty()
        .file("agent.tml", &manifest)
        .file(
            "tools/fetch.py",
            "import time\nfrom trident_tool import emit\n\
             def execute():\n    emit('rows_fetched', count=120, api_key='sk-abcdefghijklmnop')\n    \
             emit('slow_page', level='warning', page=2, when=time)\n    \
             time.sleep(2)\n    return {'ok': True}\n",
        )
        .env("TRIDENT_TEST_MARK", &mark);
    let mut child = f
        .command(&[
            "project",
            "run",
            "-i",
            "{}",
            "--telemetry",
            "--telemetry-file",
            "events.jsonl",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let file = f.join("events.jsonl");
    wait_until("both tool events", || {
        read_text(&file).matches("\"event\":\"tool_event\"").count() >= 2
    });
    let seen = events(&read_text(&file));
    assert!(
        !seen
            .iter()
            .any(|e| e["event"] == "node_completed" && e["node_id"] == "fetch"),
        "the tool is still running"
    );
    assert!(child.try_wait().unwrap().is_none());
    let tool_events: Vec<&Value> = seen.iter().filter(|e| e["event"] == "tool_event").collect();
    assert_eq!(tool_events[0]["node_id"], "fetch");
    assert_eq!(tool_events[0]["level"], "INFO");
    assert_eq!(
        tool_events[0]["data"],
        json!({"name": "rows_fetched", "data": {"count": 120, "api_key": "[REDACTED]"}})
    );
    assert_eq!(tool_events[1]["level"], "WARNING");
    assert_eq!(tool_events[1]["data"]["name"], "slow_page");
    assert_eq!(tool_events[1]["data"]["data"]["page"], 2);
    assert!(
        tool_events[1]["data"]["data"]["when"]
            .as_str()
            .unwrap()
            .starts_with("<module")
    );
    wait_until("the shell tool's event", || {
        read_text(&file).contains("shell_step")
    });
    let seen = events(&read_text(&file));
    assert!(
        !seen
            .iter()
            .any(|e| e["event"] == "node_completed" && e["node_id"] == "sh"),
        "the shell tool is still running"
    );
    assert!(child.wait().unwrap().success());
    let seen = events(&read_text(&file));
    let shell = seen
        .iter()
        .find(|e| e["event"] == "tool_event" && e["node_id"] == "sh")
        .unwrap();
    assert_eq!(
        shell["data"],
        json!({"name": "shell_step", "data": {"n": 1}})
    );
    #[cfg(target_os = "linux")]
    assert_none_left(&mark, "after a successful run");
}

#[test]
fn tool_output_lines_at_debug_and_the_custom_filter() {
    let f = Fixture::empty()
        .file(
            "agent.tml",
            &format!("{HEADER}tools:\n  p: {{type: python, module: p}}\n  s: {{type: shell, command: 'echo to-stderr >&2; echo out'}}\nedges:\n  a: {{from: input, to: p}}\n  b: {{from: p, to: s}}\n"),
        )
        .file(
            "tools/p.py",
            "from trident_tool import emit\ndef execute():\n    print('line one')\n    print('line two')\n    emit('done', level='debug')\n    return 1\n",
        );
    let out = f.run(&[
        "project",
        "run",
        "-i",
        "{}",
        "--telemetry",
        "--telemetry-level",
        "debug",
    ]);
    out.code(0);
    let seen = events(&out.stdout);
    let lines: Vec<(&str, &str)> = seen
        .iter()
        .filter(|e| e["event"] == "tool_output")
        .map(|e| {
            assert_eq!(e["level"], "DEBUG");
            (
                e["node_id"].as_str().unwrap(),
                e["data"]["line"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [("p", "line one"), ("p", "line two"), ("s", "to-stderr")]
    );

    let out = f.run(&[
        "project",
        "run",
        "-i",
        "{}",
        "--telemetry",
        "--telemetry-filter",
        "custom",
    ]);
    out.code(0);
    let seen = events(&out.stdout);
    assert_eq!(seen.len(), 1, "{}", out.stdout);
    assert_eq!(seen[0]["event"], "tool_event");
    assert_eq!(seen[0]["level"], "DEBUG");
    // Outside debug, no tool_output is written.
    let out = f.run(&[
        "project",
        "run",
        "-i",
        "{}",
        "--telemetry",
        "--telemetry-level",
        "verbose",
    ]);
    assert!(!out.stdout.contains("tool_output"));
}

#[test]
fn invalid_tool_timeout_is_refused_before_the_run() {
    let f = Fixture::empty().file(
        "agent.tml",
        &format!("{HEADER}tools:\n  t: {{type: shell, command: 'touch ran', timeout: soon}}\nedges:\n  a: {{from: input, to: t}}\n"),
    );
    let out = f.run(&["project", "run", "-i", "{}"]);
    out.code(2);
    assert!(
        out.stderr.contains("Tool 't' has `timeout: soon`"),
        "{}",
        out.stderr
    );
    assert!(!f.join("ran").exists());
}

#[test]
fn validate_reads_signatures_without_running_tool_code() {
    let f = Fixture::empty()
        .file(
            "agent.tml",
            &format!("{HEADER}    schema:\n      city: {{type: string, description: c}}\ntools:\n  w: {{type: python, module: w}}\nedges:\n  a: {{from: input, to: w, mapping: {{town: city}}}}\n"),
        )
        .file(
            "tools/w.py",
            "open('imported', 'w').write('x')\ndef execute(city, units='C'):\n    pass\n",
        );
    let out = f.run(&["project", "validate"]);
    out.code(0);
    assert!(
        out.stdout.contains(
            "Target field 'town' not expected by 'w' (tool). Expected inputs: ['city', 'units']"
        ),
        "{}",
        out.stdout
    );
    assert!(!f.join("imported").exists(), "validate ran the module");
}

#[cfg(target_os = "linux")]
mod no_orphans {
    use super::*;

    fn slow_project(mark: &str) -> Fixture {
        Fixture::empty()
            .file(
                "agent.tml",
                &format!("{HEADER}tools:\n  py: {{type: python, module: slow}}\n  sh: {{type: shell, command: 'sleep 60 & sleep 60; echo never'}}\nedges:\n  a: {{from: input, to: py}}\n  b: {{from: input, to: sh}}\n"),
            )
            .file(
                "tools/slow.py",
                "import subprocess, time\ndef execute():\n    subprocess.Popen(['sleep', '60'])\n    \
                 open('started', 'w').write('1')\n    time.sleep(60)\n",
            )
            .env("TRIDENT_TEST_MARK", mark)
    }

    fn start(f: &Fixture, mark: &str) -> std::process::Child {
        let child = f
            .command(&["project", "run", "-i", "{}"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_until("the tools to start", || f.join("started").exists());
        // trident, the worker and its child, sh and its two sleeps are running.
        wait_until("the tool processes", || processes_marked(mark).len() >= 6);
        child
    }

    fn fixture() -> (Fixture, String) {
        let mark = marker();
        (slow_project(&mark), mark)
    }

    #[test]
    fn sigterm_stops_every_tool_process() {
        let (f, mark) = fixture();
        let mut child = start(&f, &mark);
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        assert_eq!(child.wait().unwrap().code(), Some(130));
        assert_none_left(&mark, "after SIGTERM");
    }

    #[test]
    fn kill_9_of_trident_leaves_no_tool_process() {
        let (f, mark) = fixture();
        let mut child = start(&f, &mark);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_none_left(&mark, "after kill -9 of trident");
    }
}

#[test]
fn signatures_read_before_a_run_are_kept_until_the_module_changes() {
    let f = Fixture::empty()
        .file(
            "agent.tml",
            &format!(
                "{HEADER}tools:\n  step: {{type: python, module: step}}\n\
                 edges:\n  a: {{from: input, to: step, mapping: {{x: x}}}}\n"
            ),
        )
        .file("tools/step.py", "def other(x):\n    return {'y': x}\n");
    // A refused first run writes nothing, not even the cache.
    f.run(&["project", "run", "-i", r#"{"x": 1}"#]).code(2);
    assert!(!f.join(".trident").exists());
    std::fs::write(
        f.join("tools/step.py"),
        "def execute(x):\n    return {'y': x + 1}\n",
    )
    .unwrap();
    f.run(&["project", "run", "-i", r#"{"x": 1}"#]).code(0);
    f.run(&["project", "run", "-i", r#"{"x": 1}"#]).code(0);
    let cache = f.join(".trident/cache/python-signatures.json");
    let kept: Value = serde_json::from_str(&read_text(&cache)).unwrap();
    let entry = kept["entries"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(entry["reply"]["parameters"], json!(["x"]));
    // The module loses its function: the kept signature is not trusted, the run is refused
    // before any node runs, naming the tool.
    std::fs::write(
        f.join("tools/step.py"),
        "def other(x):\n    return {'y': x}\n",
    )
    .unwrap();
    let refused = f.run(&["project", "run", "-i", r#"{"x": 1}"#]);
    refused.code(2);
    assert!(refused.stderr.contains("step"), "{}", refused.stderr);
    assert!(refused.stderr.contains("execute"), "{}", refused.stderr);
}
