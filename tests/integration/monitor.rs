//! `trident monitor`: every route of OBSERVABILITY.md section 6 with a real HTTP client,
//! SSE replay, live follow and resume (`Last-Event-ID`, `?after=`), 100 concurrent SSE
//! clients beside one that never reads, the token, path tricks, `--allow-runs`, bad
//! artifacts (corrupt index and lines, deleted run folders), a port in use, and stopping.

use std::io::Write;
use std::net::TcpStream;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::monitor::{Monitor, SseMessage};
use crate::support::{Fixture, read_text, start_slow_run, wait_until};

/// The `gated` fixture: input -> fetch -> (slow, quick if n > 0) -> output; `slow` waits
/// for the file `go` (then fails if `fail` exists, with the .env secret in its error).
/// The browser test (tests/browser/monitor.mjs) runs the same project.
fn gated() -> Fixture {
    Fixture::new("gated").file(".env", "GATED_API_KEY=gated-secret-value-123\n")
}

/// Runs `gated` to its end as `run_id` (the gate open).
fn finished_run(f: &Fixture, run_id: &str) {
    std::fs::write(f.join("go"), "").unwrap();
    f.run(&["project", "run", "-i", r#"{"n": 2}"#, "--run-id", run_id])
        .code(0);
    std::fs::remove_file(f.join("go")).unwrap();
}

fn wait_child(child: &mut Child) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "the run did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn event_lines(f: &Fixture, run_id: &str) -> Vec<String> {
    read_text(&f.join(&format!(".trident/runs/{run_id}/events.jsonl")))
        .lines()
        .map(str::to_string)
        .collect()
}

fn seq_of(line: &str) -> u64 {
    serde_json::from_str::<Value>(line).unwrap()["seq"]
        .as_u64()
        .unwrap()
}

/// The messages carry exactly these lines, `id:` = seq, nothing else with an id.
fn assert_lines(messages: &[SseMessage], lines: &[String]) {
    let with_id: Vec<&SseMessage> = messages.iter().filter(|m| m.id.is_some()).collect();
    assert_eq!(with_id.len(), lines.len(), "{messages:#?}");
    for (m, line) in with_id.iter().zip(lines) {
        assert_eq!(m.data, *line);
        assert_eq!(m.id.as_deref(), Some(seq_of(line).to_string().as_str()));
        assert_eq!(m.event, None);
    }
}

#[test]
fn monitor_routes_answer_as_the_spec_says() {
    let f = gated();
    finished_run(&f, "run-one");
    let m = Monitor::start(&f, &[]);
    let root = std::path::absolute(f.path()).unwrap().display().to_string();

    assert_eq!(m.get("healthz"), (200, "ok".to_string()));
    let (status, kind, page) = m.get_with("", &[]);
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(page.contains("<title>Trident monitor</title>"));
    assert!(
        !page.contains("src=\"http") && !page.contains("href=\"http"),
        "no CDN"
    );
    let (status, _, shared) = m.get_with("runs/run-one", &[]);
    assert_eq!((status, shared == page), (200, true));
    assert_eq!(m.get("runs/run-two").0, 404);

    let list = m.json("api/runs");
    let run = &list["runs"][0];
    assert_eq!(list["runs"].as_array().unwrap().len(), 1);
    assert_eq!(run["run_id"], "run-one");
    assert_eq!(run["project"], root.as_str());
    assert_eq!(run["name"], "gated");
    assert_eq!(run["status"], "completed");
    assert_eq!(run["attempts"], 1);
    assert!(run["started_at"].is_string() && run["ended_at"].is_string());
    assert!(run["duration_ms"].is_u64());
    assert_eq!(
        run["nodes"],
        serde_json::json!({"succeeded": 5, "failed": 0, "skipped": 0, "cached": 0})
    );
    for key in ["input_tokens", "output_tokens", "cost_usd"] {
        assert!(run[key].is_number(), "{key}: {run}");
    }

    let detail = m.json("api/runs/run-one");
    assert_eq!(detail["run_id"], "run-one");
    assert_eq!(detail["status"], "completed");
    let ids: Vec<&str> = detail["graph"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["input", "fetch", "quick", "slow", "output"]);
    assert_eq!(detail["graph"]["nodes"][1]["type"], "tool");
    let edges = detail["graph"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 5);
    assert_eq!(
        edges[2],
        serde_json::json!({"from": "fetch", "to": "quick", "condition": "n > 0"})
    );
    assert_eq!(
        edges[0],
        serde_json::json!({"from": "input", "to": "fetch"})
    );
    for id in ids {
        let state = &detail["node_states"][id];
        assert_eq!(state["status"], "completed", "{id}: {state}");
        assert!(state["started_at"].is_string() && state["duration_ms"].is_u64());
    }

    // The event stream: the whole history, id = seq, data = the line, then closed.
    let lines = event_lines(&f, "run-one");
    assert!(lines.len() > 20);
    let mut stream = m.sse("api/runs/run-one/events", &[]);
    let all = stream.rest();
    assert_lines(&all, &lines);
    // Resume after a seq: by header, by query; nothing twice, nothing lost.
    let mut resumed = m.sse("api/runs/run-one/events", &[("Last-Event-ID", "7")]);
    assert_lines(&resumed.rest(), &lines[7..]);
    let mut resumed = m.sse("api/runs/run-one/events?after=20", &[]);
    assert_lines(&resumed.rest(), &lines[20..]);
    assert_eq!(m.get("api/runs/run-one/events?after=x").0, 400);

    let (status, kind, metrics) = m.get_with("metrics", &[]);
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    assert!(
        metrics.contains(r#"trident_runs_total{status="completed",workflow="gated"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("trident_node_duration_seconds_bucket"));
    assert!(!metrics.contains("run-one"), "no run id in labels");

    // Read-only without --allow-runs.
    let (status, body) = m.post("api/runs", &format!(r#"{{"project": "{root}"}}"#));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("--allow-runs"), "{body}");
    assert!(!f.join(".trident/runs").read_dir().unwrap().any(|e| {
        let name = e.unwrap().file_name();
        name != "run-one" && name != "manifest.json" && !name.to_string_lossy().starts_with('.')
    }));
}

#[test]
fn unknown_runs_and_path_tricks_are_404() {
    let f = gated();
    finished_run(&f, "run-one");
    std::fs::create_dir_all(f.join(".trident/secret-dir")).unwrap();
    let m = Monitor::start(&f, &[]);
    for path in [
        "api/runs/nope",
        "api/runs/run-on",
        "api/runs/..",
        "api/runs/%2E%2E",
        "api/runs/..%2Fsecret-dir",
        "api/runs/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "api/runs/.%2E/events",
        "api/runs/run-one%2F..%2F..%2Fsecret-dir",
        "api/runs/manifest.json",
        "api/runs/nope/events",
        "runs/..%2F..%2Fetc%2Fpasswd",
        "runs/%2Fetc%2Fpasswd",
        "api/nothing",
    ] {
        let (status, body) = m.get(path);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("root:"), "{path}");
    }
}

#[test]
fn monitor_follows_a_live_run_started_elsewhere_until_it_ends() {
    let f = gated();
    let m = Monitor::start(&f, &[]);
    // No runs yet: an empty list, not an error.
    let list = m.json("api/runs");
    assert_eq!(list["runs"], serde_json::json!([]));
    assert_eq!(list["warnings"], serde_json::json!([]));

    let mut run = start_slow_run(&f, "live-run");
    // Started by another process, listed without restarting the monitor.
    let list = m.json("api/runs");
    assert_eq!(list["runs"][0]["run_id"], "live-run");
    assert_eq!(list["runs"][0]["status"], "running");
    let detail = m.json("api/runs/live-run");
    assert_eq!(detail["node_states"]["slow"]["status"], "running");
    assert_eq!(detail["node_states"]["output"]["status"], "pending");
    assert_eq!(detail["node_states"]["fetch"]["status"], "completed");

    let mut stream = m.sse("api/runs/live-run/events", &[]);
    let mut seen = Vec::new();
    // The history so far, up to the slow node's start.
    loop {
        let message = stream.next_message().expect("stream open");
        let done = message
            .data
            .contains(r#""event":"node_started","level":"INFO","node_id":"slow""#);
        seen.push(message);
        if done {
            break;
        }
    }
    // A second client joins mid-run, resuming after the first one's last id.
    let last = seen.last().unwrap().id.clone().unwrap();
    let mut late = m.sse("api/runs/live-run/events", &[("Last-Event-ID", &last)]);
    std::fs::write(f.join("go"), "").unwrap();
    seen.extend(stream.rest());
    assert_eq!(wait_child(&mut run), 0);
    let lines = event_lines(&f, "live-run");
    assert!(lines.last().unwrap().contains("workflow_completed"));
    assert_lines(&seen, &lines);
    let at = lines
        .iter()
        .position(|l| seq_of(l).to_string() == last)
        .unwrap();
    assert_lines(&late.rest(), &lines[at + 1..]);
    assert_eq!(m.json("api/runs")["runs"][0]["status"], "completed");
    assert_eq!(
        m.json("api/runs/live-run")["node_states"]["slow"]["status"],
        "completed"
    );
}

#[test]
fn a_hundred_sse_clients_and_one_that_never_reads() {
    let f = gated();
    // A big history for the client that never reads: far more than socket buffers hold.
    let big_dir = f.join(".trident/runs/big-run");
    std::fs::create_dir_all(&big_dir).unwrap();
    let mut big =
        std::io::BufWriter::new(std::fs::File::create(big_dir.join("events.jsonl")).unwrap());
    let padding = "x".repeat(900);
    for seq in 1..=40_000 {
        writeln!(
            big,
            r#"{{"timestamp":"2026-01-01T00:00:00.000Z","seq":{seq},"run_id":"big-run","event":"tool_event","level":"INFO","node_id":"n","data":{{"name":"pad","data":{{"p":"{padding}"}}}}}}"#
        )
        .unwrap();
    }
    drop(big);
    let mut m = Monitor::start(&f, &[]);
    let host = m
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stalled = TcpStream::connect(&host).unwrap();
    write!(
        stalled,
        "GET /api/runs/big-run/events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();

    let mut run = start_slow_run(&f, "crowd-run");
    let started = Instant::now();
    let clients: Vec<_> = (0..100)
        .map(|_| {
            let mut stream = m.sse("api/runs/crowd-run/events", &[]);
            let first = stream.next_message().expect("first message");
            (stream, first)
        })
        .collect();
    let readers: Vec<_> = clients
        .into_iter()
        .map(|(mut stream, first)| {
            std::thread::spawn(move || {
                let mut all = vec![first];
                all.extend(stream.rest());
                all
            })
        })
        .collect();
    std::fs::write(f.join("go"), "").unwrap();
    assert_eq!(wait_child(&mut run), 0);
    let lines = event_lines(&f, "crowd-run");
    for reader in readers {
        assert_lines(&reader.join().unwrap(), &lines);
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "100 clients took {:?}",
        started.elapsed()
    );
    // The stalled client is still connected; the server still answers and stops at once.
    assert_eq!(m.get("healthz").0, 200);
    let (status, took) = m.stop_with(libc::SIGTERM, 10);
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(5), "stopping took {took:?}");
    drop(stalled);
}

#[test]
fn keep_alive_comments_flow_while_a_run_is_quiet_and_ctrl_c_ends_streams() {
    let f = gated();
    let mut run = start_slow_run(&f, "quiet-run");
    // `quick` runs beside `slow`: wait until it is done and the file is quiet.
    let events = f.join(".trident/runs/quiet-run/events.jsonl");
    wait_until("quick to be checkpointed", || {
        read_text(&events)
            .contains(r#""event":"checkpoint_saved","level":"INFO","node_id":"quick""#)
    });
    std::thread::sleep(Duration::from_millis(300));
    let mut m = Monitor::start(&f, &["--keep-alive", "0.2"]);
    let mut stream = m.sse("api/runs/quiet-run/events", &[]);
    let lines = event_lines(&f, "quiet-run");
    let got: Vec<SseMessage> = (0..lines.len())
        .filter_map(|_| stream.next_message())
        .collect();
    assert_lines(&got, &lines);
    std::thread::sleep(Duration::from_millis(800));
    let reader = std::thread::spawn(move || {
        let rest = stream.rest();
        (rest, stream.comments)
    });
    let (status, took) = m.stop_with(libc::SIGINT, 10);
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(5), "{took:?}");
    let (rest, comments) = reader.join().unwrap();
    assert!(rest.iter().all(|m| m.id.is_none()), "{rest:?}");
    assert!(comments.iter().any(|c| c == "keep-alive"), "{comments:?}");
    std::fs::write(f.join("go"), "").unwrap();
    assert_eq!(wait_child(&mut run), 0);
}

#[test]
fn a_token_guards_every_route_but_healthz() {
    let f = gated();
    finished_run(&f, "run-one");
    let m = Monitor::start(&f, &["--token", "t0ken-1"]);
    assert_eq!(m.get("healthz"), (200, "ok".to_string()));
    for path in [
        "",
        "runs/run-one",
        "api/runs",
        "api/runs/run-one",
        "api/runs/run-one/events",
        "metrics",
        "api/projects",
    ] {
        let (status, body) = m.get(path);
        assert_eq!(status, 401, "{path}: {body}");
        assert!(body.contains("token"), "{body}");
        assert_eq!(
            m.get_with(path, &[("Authorization", "Bearer wrong")]).0,
            401
        );
        assert_eq!(m.get(&format!("{path}?token=wrong")).0, 401);
        let (status, _, _) = m.get_with(path, &[("Authorization", "Bearer t0ken-1")]);
        assert_eq!(status, 200, "{path}");
        let sep = if path.contains('?') { '&' } else { '?' };
        assert_eq!(m.get(&format!("{path}{sep}token=t0ken-1")).0, 200, "{path}");
    }
    assert_eq!(m.post("api/runs", "{}").0, 401);
    // The page carries no token of its own: it reads it from its URL.
    assert!(!m.get("?token=t0ken-1").1.contains("t0ken-1"));
}

#[test]
fn bad_flags_and_a_busy_port_exit_2_before_serving() {
    let f = gated();
    let out = f.run(&["monitor", ".", "--host", "0.0.0.0"]);
    out.code(2);
    assert!(out.stderr.contains("--token"), "{}", out.stderr);
    let out = f.run(&["monitor", ".", "--host", "not-an-ip"]);
    out.code(2);
    assert!(out.stderr.contains("--host not-an-ip"), "{}", out.stderr);
    let out = f.run(&["monitor", "missing-folder"]);
    out.code(2);
    assert!(out.stderr.contains("missing-folder"), "{}", out.stderr);
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = f.run(&["monitor", ".", "--port", &port]);
    out.code(2);
    assert!(
        out.stderr.contains(&port) && out.stderr.contains("--port"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn allow_runs_starts_a_run_from_the_input_schema() {
    let f = gated();
    std::fs::write(f.join("go"), "").unwrap();
    let m = Monitor::start(&f, &["--allow-runs"]);
    let root = std::path::absolute(f.path()).unwrap().display().to_string();
    let projects = m.json("api/projects");
    assert_eq!(projects["allow_runs"], true);
    assert_eq!(projects["projects"][0]["project"], root.as_str());
    assert_eq!(
        projects["projects"][0]["inputs"]["n"],
        serde_json::json!({"type": "number", "description": "a number", "required": true})
    );

    let (status, body) = m.post(
        "api/runs",
        &format!(r#"{{"project": "{root}", "inputs": {{"n": 5}}}}"#),
    );
    assert_eq!(status, 201, "{body}");
    let run_id = serde_json::from_str::<Value>(&body).unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut stream = m.sse(&format!("api/runs/{run_id}/events"), &[]);
    let messages = stream.rest();
    assert!(
        messages.last().unwrap().data.contains("workflow_completed"),
        "{messages:?}"
    );
    assert_eq!(m.json(&format!("api/runs/{run_id}"))["status"], "completed");
    let outputs = f.read_json(&format!(".trident/runs/{run_id}/outputs.json"));
    assert_eq!(outputs["output"]["n"], 6, "{outputs}");

    // Refusals: the run's own message for a missing required input; bad bodies; projects
    // that are not served.
    let (status, body) = m.post(
        "api/runs",
        &format!(r#"{{"project": "{root}", "inputs": {{}}}}"#),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("n"), "{body}");
    for bad in [
        "not json",
        r#"{"project": 3}"#,
        r#"{"inputs": [1]}"#,
        r#"{"project": "/elsewhere"}"#,
    ] {
        let (status, body) = m.post("api/runs", bad);
        assert_eq!(status, 400, "{bad}: {body}");
    }
    assert_eq!(m.json("api/runs")["runs"].as_array().unwrap().len(), 1);
}

#[test]
fn corrupt_artifacts_are_skipped_and_reported_and_secrets_stay_hidden() {
    let f = gated();
    finished_run(&f, "good-run");
    // A failed run whose error carries the .env secret.
    std::fs::write(f.join("go"), "").unwrap();
    std::fs::write(f.join("fail"), "").unwrap();
    f.run(&["project", "run", "-i", r#"{"n": 2}"#, "--run-id", "bad-run"])
        .code(1);
    // A corrupt line in the good run's history.
    let events = f.join(".trident/runs/good-run/events.jsonl");
    let mut lines = event_lines(&f, "good-run");
    lines.insert(3, "{not json".to_string());
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();
    let m = Monitor::start(&f, &[]);

    let list = m.json("api/runs");
    let text = list.to_string();
    assert!(!text.contains("gated-secret-value-123"), "{text}");
    let bad = list["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run_id"] == "bad-run")
        .unwrap();
    assert_eq!(bad["status"], "failed");
    assert_eq!(bad["nodes"]["failed"], 1);
    let detail = m.json("api/runs/bad-run");
    assert!(
        !detail.to_string().contains("gated-secret-value-123"),
        "{detail}"
    );
    assert!(
        detail["node_states"]["slow"]["error"]
            .as_str()
            .unwrap()
            .contains("[REDACTED]")
    );
    let good = m.json("api/runs/good-run");
    assert!(
        good["warnings"][0].as_str().unwrap().contains("line 4"),
        "{good}"
    );
    let messages = m.sse("api/runs/good-run/events", &[]).rest();
    let warnings: Vec<&SseMessage> = messages
        .iter()
        .filter(|m| m.event.as_deref() == Some("trident_warning"))
        .collect();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].id.is_none() && warnings[0].data.contains("line 4"));
    assert_eq!(
        messages.iter().filter(|m| m.id.is_some()).count(),
        lines.len() - 1
    );
    let sse_text: String = m
        .sse("api/runs/bad-run/events", &[])
        .rest()
        .iter()
        .map(|m| m.data.clone())
        .collect();
    assert!(!sse_text.contains("gated-secret-value-123"));

    // A corrupt run index (and recovery copy): listed from the folders, with a warning.
    std::fs::write(f.join(".trident/runs/manifest.json"), "{broken").unwrap();
    let _ = std::fs::remove_file(f.join(".trident/runs/.manifest.prev.json"));
    let list = m.json("api/runs");
    assert_eq!(list["runs"].as_array().unwrap().len(), 2);
    assert!(
        list["warnings"][0]
            .as_str()
            .unwrap()
            .contains("manifest.json"),
        "{list}"
    );
    assert_eq!(m.get("healthz").0, 200);
}

#[test]
fn a_run_folder_deleted_while_followed_ends_its_stream() {
    let f = gated();
    let mut run = start_slow_run(&f, "doomed-run");
    let m = Monitor::start(&f, &[]);
    let mut stream = m.sse("api/runs/doomed-run/events", &[]);
    let first = stream.next_message().unwrap();
    assert_eq!(first.id.as_deref(), Some("1"));
    let _ = run.kill();
    let _ = run.wait();
    std::fs::remove_dir_all(f.join(".trident/runs/doomed-run")).unwrap();
    let rest = stream.rest();
    let last = rest.last().expect("a closing warning");
    assert_eq!(last.event.as_deref(), Some("trident_warning"), "{rest:?}");
    assert!(last.data.contains("removed"));
    assert!(m.get("api/runs").0 == 200);
}
