//! Watching and reading runs: `telemetry tail` (filters, formats, corrupt and partial
//! lines, `-f` across rotation and truncation, unknown runs), `project watch` following a
//! run in progress to its exit code, and `project run --progress`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{Fixture, jsonl_events, read_text, start_slow_run, wait_until};

/// input -> slow -> output; `slow` waits for the file `go`, then fails if `fail` exists.
fn slowpoke() -> Fixture {
    Fixture::empty()
        .file(
            "agent.tml",
            r#"trident: "0.1"
name: slowpoke
nodes:
  input: {type: input, schema: {n: {type: number, description: n}}}
  output: {type: output}
tools:
  slow: {type: python, module: steps, function: slow}
edges:
  a: {from: input, to: slow, mapping: {n: n}}
  b: {from: slow, to: output, mapping: {n: n}}
"#,
        )
        .file(
            "tools/steps.py",
            r#"import os, time

def slow(n):
    while not os.path.exists("go"):
        time.sleep(0.02)
    if os.path.exists("fail"):
        raise RuntimeError("told to fail\nsecond line of the error")
    return {"n": n + 1}
"#,
        )
}

/// Waits for `child` at most `secs`, killing it (and failing) past that.
fn wait_exit(child: &mut Child, secs: u64) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {secs}s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn watch_follows_a_run_in_progress_and_exits_with_its_code() {
    let f = slowpoke();
    let mut run = start_slow_run(&f, "w1");
    let mut watch = f
        .command(&["project", "watch", "--run", "w1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        watch.try_wait().unwrap().is_none(),
        "still following the run"
    );
    std::fs::write(f.join("go"), "").unwrap();
    let status = wait_exit(&mut watch, 30);
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut watch.stdout.take().unwrap(), &mut stdout).unwrap();
    assert_eq!(status.code(), Some(0), "{stdout}");
    assert!(wait_exit(&mut run, 30).success());
    // The board first (slow running), then its change, then the summary.
    assert!(
        stdout.contains("slow") && stdout.contains("running"),
        "{stdout}"
    );
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("slowpoke w1: completed"), "{stdout}");
    assert!(last.contains("3/3 done"), "{stdout}");
}

#[test]
fn watch_exits_1_with_the_whole_error_of_a_failed_run() {
    let f = slowpoke().file("fail", "");
    let mut run = start_slow_run(&f, "w2");
    let mut watch = f
        .command(&["project", "watch", ".", "--run", "w2"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::fs::write(f.join("go"), "").unwrap();
    let status = wait_exit(&mut watch, 30);
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut watch.stdout.take().unwrap(), &mut stdout).unwrap();
    assert_eq!(status.code(), Some(1), "{stdout}");
    assert_eq!(wait_exit(&mut run, 30).code(), Some(1));
    assert!(stdout.contains("told to fail"), "{stdout}");
    assert!(
        stdout.contains("second line of the error"),
        "the whole error: {stdout}"
    );
    assert!(
        stdout.lines().last().unwrap().contains(": failed"),
        "{stdout}"
    );
    // A finished run: the board at once, same exit code.
    let again = f.run(&["project", "watch", "--run", "latest"]);
    again.code(1);
    assert!(again.stdout.contains("✗ slow"), "{}", again.stdout);
}

/// Output and exit code of a `project watch` that ends.
fn watch_result(watch: &mut Child) -> (Option<i32>, String) {
    let status = wait_exit(watch, 30);
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut watch.stdout.take().unwrap(), &mut stdout).unwrap();
    (status.code(), stdout)
}

#[test]
fn watch_of_an_interrupted_run_exits_130_as_the_run_does() {
    let f = slowpoke();
    let mut run = start_slow_run(&f, "w3");
    let mut watch = f
        .command(&["project", "watch", "--run", "w3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = i32::try_from(run.id()).unwrap();
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    assert_eq!(wait_exit(&mut run, 30).code(), Some(130));
    let (code, stdout) = watch_result(&mut watch);
    assert_eq!(code, Some(130), "{stdout}");
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("slowpoke w3: interrupted"), "{stdout}");
    assert!(
        !stdout.contains("failed"),
        "never shown as failed: {stdout}"
    );
    // Nor by `project runs` (the index says `success: false`, as the original wrote it).
    let runs = f.run(&["project", "runs"]);
    runs.code(0);
    assert!(
        runs.stdout.contains("Status: interrupted\n") && !runs.stdout.contains("failed"),
        "{}",
        runs.stdout
    );
}

#[test]
fn watch_of_a_run_whose_process_died_reports_it_and_exits_130() {
    let f = slowpoke();
    let mut run = start_slow_run(&f, "w4");
    let metadata: serde_json::Value =
        serde_json::from_str(&read_text(&f.join(".trident/runs/w4/metadata.json"))).unwrap();
    assert_eq!(metadata["pid"], run.id(), "{metadata}");
    assert!(metadata["host"].is_string(), "{metadata}");
    let mut watch = f
        .command(&["project", "watch", "--run", "w4"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(watch.try_wait().unwrap().is_none(), "following the run");
    // kill -9: no final event is ever written.
    run.kill().unwrap();
    run.wait().unwrap();
    let (code, stdout) = watch_result(&mut watch);
    assert_eq!(code, Some(130), "{stdout}");
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("slowpoke w4: interrupted"), "{stdout}");
    assert!(
        last.contains("its process died without a final event"),
        "{stdout}"
    );
    // Watched again later: the same verdict at once.
    let again = f.run(&["project", "watch", "--run", "w4"]);
    again.code(130);
    assert!(again.stdout.contains("process died"), "{}", again.stdout);
}

#[test]
fn watch_of_an_unknown_run_names_the_closest_ids() {
    let f = Fixture::new("hello");
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name": "x"}"#,
        "--run-id",
        "abc-1",
    ])
    .code(0);
    let out = f.run(&["project", "watch", "--run", "abd"]);
    out.code(2);
    assert!(
        out.stderr
            .contains("--run abd: no run id is or starts with it"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("abc-1"), "{}", out.stderr);
}

fn hello_run(run_id: &str) -> Fixture {
    let f = Fixture::new("hello");
    f.run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name": "Ada"}"#,
        "--run-id",
        run_id,
    ])
    .code(0);
    f
}

#[test]
fn tail_prints_the_latest_run_filtered_by_event_level_and_run() {
    let f = hello_run("t1");
    let all = f.run(&["telemetry", "tail"]);
    all.code(0);
    let events = jsonl_events(&all.stdout);
    assert_eq!(
        all.stdout,
        read_text(&f.join(".trident/runs/t1/events.jsonl"))
    );
    assert!(events.len() > 5);
    let only = f.run(&[
        "telemetry",
        "tail",
        "latest",
        "--filter",
        "node_completed,workflow_completed",
    ]);
    let names: Vec<String> = jsonl_events(&only.stdout)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n == "node_completed" || n == "workflow_completed")
    );
    assert_eq!(names.last().unwrap(), "workflow_completed");
    let minimal = f.run(&["telemetry", "tail", "--level", "minimal", "--run", "t1"]);
    assert_eq!(jsonl_events(&minimal.stdout).len(), 2, "{}", minimal.stdout);
    let human = f.run(&[
        "telemetry",
        "tail",
        "--format",
        "human",
        "--level",
        "minimal",
    ]);
    assert!(
        human.stdout.contains("[INFO] WORKFLOW_STARTED run=t1"),
        "{}",
        human.stdout
    );
    assert!(!human.stdout.contains('\x1b'), "no colours off a terminal");
    let other_run = f.run(&[
        "telemetry",
        "tail",
        ".trident/runs/t1/events.jsonl",
        "--run",
        "zzz",
    ]);
    assert_eq!(other_run.stdout, "", "--run filters a named file");
}

#[test]
fn tail_refuses_bad_input_with_exit_2() {
    let f = hello_run("t1");
    let unknown = f.run(&["telemetry", "tail", "--run", "t2"]);
    unknown.code(2);
    assert!(
        unknown.stderr.contains("the closest are: t1"),
        "{}",
        unknown.stderr
    );
    let missing = f.run(&["telemetry", "tail", "nope.jsonl"]);
    missing.code(2);
    assert!(
        missing.stderr.contains("nope.jsonl: no such file"),
        "{}",
        missing.stderr
    );
    let level = f.run(&["telemetry", "tail", "--level", "loud"]);
    level.code(2);
    assert!(level.stderr.contains("--level 'loud'"), "{}", level.stderr);
    let filter = f.run(&["telemetry", "tail", "--filter", "nodez"]);
    filter.code(2);
    assert!(
        filter.stderr.contains("--filter: 'nodez'"),
        "{}",
        filter.stderr
    );
    let empty = Fixture::empty();
    let none = empty.run(&["telemetry", "tail"]);
    none.code(2);
    assert!(none.stderr.contains("No runs found"), "{}", none.stderr);
}

const LINE_1: &str = r#"{"timestamp":"2026-01-23T10:15:30.123Z","seq":1,"run_id":"0194ab12-7c3d","event":"workflow_started","level":"INFO","data":{"name":"demo","entrypoint":"input","dry_run":false,"attempt":1}}"#;
const LINE_3: &str = r#"{"timestamp":"2026-01-23T10:15:30.456Z","seq":3,"run_id":"0194ab12-7c3d","event":"node_completed","level":"INFO","node_id":"greet","data":{"type":"prompt","duration_ms":333,"input_tokens":12,"output_tokens":40,"model":"m","cost_usd":0.0012}}"#;
const LINE_4: &str = r#"{"timestamp":"2026-01-23T10:15:31.000Z","seq":4,"run_id":"0194ab12-7c3d","event":"node_failed","level":"ERROR","node_id":"fetch","data":{"type":"tool","error":"boom","error_type":"ToolError","duration_ms":5}}"#;
const LINE_5: &str = r#"{"timestamp":"2026-01-23T10:15:32.000Z","seq":5,"run_id":"0194ab12-7c3d","event":"workflow_completed","level":"INFO","data":{"name":"demo","duration_ms":1877,"nodes":{"succeeded":2,"skipped":0,"failed":0},"input_tokens":12,"output_tokens":40,"cost_usd":0.0012}}"#;

#[test]
fn tail_skips_corrupt_lines_by_number_and_holds_a_partial_last_line() {
    let f = Fixture::empty().file(
        "run.jsonl",
        &format!("{LINE_1}\nnot json at all\n{LINE_3}\n{LINE_4}\n{LINE_5}\n{{\"seq\":6,\"ev"),
    );
    let out = f.run(&["telemetry", "tail", "run.jsonl", "--format", "human"]);
    out.code(0);
    insta::assert_snapshot!(out.stdout, @r#"
    [2026-01-23 10:15:30.123] [INFO] WORKFLOW_STARTED run=0194ab12 name=demo entrypoint=input dry_run=false attempt=1
    [2026-01-23 10:15:30.456] [INFO] NODE_COMPLETED run=0194ab12 node=greet type=prompt duration=333ms tokens=12+40 model=m cost_usd=0.0012
    [2026-01-23 10:15:31.000] [ERROR] NODE_FAILED run=0194ab12 node=fetch type=tool error=boom error_type=ToolError duration=5ms
    [2026-01-23 10:15:32.000] [INFO] WORKFLOW_COMPLETED run=0194ab12 name=demo duration=1877ms succeeded=2 skipped=0 failed=0 tokens=12+40 cost_usd=0.0012
    "#);
    assert!(
        out.stderr.contains("run.jsonl: line 2: invalid JSON"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("line 6: incomplete last line"),
        "{}",
        out.stderr
    );
}

/// Lines printed by a child, as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn append(path: &std::path::Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[test]
fn tail_f_follows_across_partial_lines_rotation_and_truncation() {
    let f = Fixture::empty().file("run.jsonl", &format!("{LINE_1}\n"));
    let path = f.join("run.jsonl");
    let mut tail = f
        .command(&["telemetry", "tail", "run.jsonl", "-f", "--format", "jsonl"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut tail);
    let next = || lines.recv_timeout(Duration::from_secs(10)).expect("a line");
    assert_eq!(next(), LINE_1);
    // Half a line is held back until its end arrives.
    let (head, rest) = LINE_3.split_at(40);
    append(&path, head);
    assert!(lines.recv_timeout(Duration::from_millis(300)).is_err());
    append(&path, &format!("{rest}\n"));
    assert_eq!(next(), LINE_3);
    // Rotation: the old file is renamed, a new one starts under the same name.
    std::fs::rename(&path, f.join("run.jsonl.1")).unwrap();
    append(&path, &format!("{LINE_4}\n"));
    assert_eq!(next(), LINE_4);
    // Truncation: read again from the start.
    std::fs::write(&path, format!("{LINE_5}\n")).unwrap();
    assert_eq!(next(), LINE_5);
    // Notices are printed after the lines read in the same poll.
    std::thread::sleep(Duration::from_millis(300));
    let _ = tail.kill();
    let output = tail.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("was replaced (rotated)"), "{stderr}");
    assert!(stderr.contains("was truncated"), "{stderr}");
}

#[test]
fn progress_draws_on_stderr_only_and_never_changes_stdout() {
    let f = slowpoke();
    let mut run = f
        .command(&[
            "project",
            "run",
            "-i",
            r#"{"n": 1}"#,
            "--run-id",
            "p1",
            "-o",
            "json",
            "--progress",
            "always",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let events = f.join(".trident/runs/p1/events.jsonl");
    wait_until("the slow node to start", || {
        read_text(&events).contains("\"node_id\":\"slow\"")
    });
    std::thread::sleep(Duration::from_millis(400));
    std::fs::write(f.join("go"), "").unwrap();
    assert!(wait_exit(&mut run, 30).success());
    let output = run.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("slow"), "a line per running node: {stderr}");
    assert!(stderr.contains("running"), "{stderr}");
    assert!(stderr.contains("/3 done"), "the counts: {stderr}");
    let stdout: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        stdout["outputs"]["output"]["n"], 2,
        "the result is unchanged"
    );

    let quiet = Fixture::new("hello");
    let out = quiet.run(&["project", "run", "--dry-run", "-i", r#"{"name": "x"}"#]);
    out.code(0);
    assert!(
        !out.stderr.contains("done"),
        "auto: stderr is not a terminal: {}",
        out.stderr
    );
    let bad = quiet.env("TRIDENT_PROGRESS", "sometimes").run(&[
        "project",
        "run",
        "--dry-run",
        "-i",
        r#"{"name": "x"}"#,
    ]);
    bad.code(2);
    assert!(bad.stderr.contains("TRIDENT_PROGRESS"), "{}", bad.stderr);
}
