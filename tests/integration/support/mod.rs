//! Test support: fixture projects copied into temp folders, and a runner for the `trident`
//! binary with an isolated environment.
#![allow(dead_code)]

pub mod fake_claude_api;
pub mod fake_llm;
pub mod http_recorder;
pub mod inotify;
pub mod monitor;
pub mod otlp_receiver;
pub mod prompt_dag;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// A project in a temp folder: copied from `tests/integration/fixtures/<name>` and/or
/// written file by file.
pub struct Fixture {
    dir: tempfile::TempDir,
    envs: Vec<(String, String)>,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The output of one `trident` invocation.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Stdout parsed as one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Assert the exit code, showing the output when it differs.
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Fixture {
    /// An empty project folder.
    pub fn empty() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            envs: Vec::new(),
        }
    }

    /// A copy of fixture project `name`.
    pub fn new(name: &str) -> Fixture {
        let f = Fixture::empty();
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/integration/fixtures")
            .join(name);
        copy_dir(&src, f.path());
        f
    }

    /// The `hello` fixture with its default model replaced by `model`.
    pub fn hello_with_model(model: &str) -> Fixture {
        let f = Fixture::new("hello");
        let manifest = std::fs::read_to_string(f.join("agent.tml"))
            .unwrap()
            .replace("anthropic/claude-test", model);
        f.file("agent.tml", &manifest)
    }

    /// The `hello` fixture with `tail` (YAML sections) appended to its manifest.
    pub fn hello_with_manifest_tail(tail: &str) -> Fixture {
        let f = Fixture::new("hello");
        let manifest = std::fs::read_to_string(f.join("agent.tml")).unwrap();
        f.file("agent.tml", &format!("{manifest}\n{tail}"))
    }

    /// Write (or replace) a file of the project.
    pub fn file(self, rel: &str, content: &str) -> Fixture {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    /// Set an environment variable for every invocation.
    pub fn env(mut self, key: &str, value: &str) -> Fixture {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Point both providers at a fake server.
    pub fn llm(mut self, fake: &fake_llm::FakeLlm) -> Fixture {
        self.envs.extend(fake.env());
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }

    /// A `trident` command running in the project folder with a clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trident"));
        cmd.args(args).current_dir(self.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("TRIDENT_")
                || key.ends_with("_API_KEY")
                || key.ends_with("_BASE_URL")
                || key == "NO_COLOR"
                || key.starts_with("OTEL_")
                || key == "TRACEPARENT"
                || key == "TRACESTATE"
            {
                cmd.env_remove(key);
            }
        }
        cmd.env("TRIDENT_RETRY_BASE_MS", "5");
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Run `trident args...` to completion.
    pub fn run(&self, args: &[&str]) -> Out {
        let output = self.command(args).output().expect("run trident");
        Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Read a JSON file of the project.
    pub fn read_json(&self, rel: &str) -> Value {
        let text =
            std::fs::read_to_string(self.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
    }

    /// The only run id in `.trident/runs/manifest.json` (the last one).
    pub fn last_run_id(&self) -> String {
        let index = self.read_json(".trident/runs/manifest.json");
        index["runs"].as_array().unwrap().last().unwrap()["run_id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A file of the last run (`trace.json`, `checkpoint.json`...).
    pub fn run_file(&self, name: &str) -> Value {
        let id = self.last_run_id();
        self.read_json(&format!(".trident/runs/{id}/{name}"))
    }
}

/// Poll `ready` every 20 ms until it holds; panic naming `what` after 20 s.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A file's text, empty when it does not exist (yet).
pub fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The node ids of a trace.json value, in order.
pub fn trace_ids(trace: &Value) -> Vec<&str> {
    trace["nodes"]
        .as_array()
        .map(|nodes| nodes.iter().filter_map(|n| n["id"].as_str()).collect())
        .unwrap_or_default()
}

/// The entry of node `id` in a trace.json value.
pub fn trace_node(trace: &Value, id: &str) -> Value {
    trace["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["id"] == id))
        .unwrap_or_else(|| panic!("no node {id} in the trace"))
        .clone()
}

/// The events of a JSON Lines file (every line must be one JSON object).
pub fn jsonl_events(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The `seq` of each event.
pub fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

/// Starts the fixture's project as `run_id` (input `{"n": 1}`) and waits until its node
/// `slow` has started (the `gated` and `slowpoke` fixtures hold it there).
pub fn start_slow_run(f: &Fixture, run_id: &str) -> std::process::Child {
    let run = f
        .command(&["project", "run", "-i", r#"{"n": 1}"#, "--run-id", run_id])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let events = f.join(&format!(".trident/runs/{run_id}/events.jsonl"));
    wait_until("the slow node to start", || {
        read_text(&events).contains(r#""event":"node_started","level":"INFO","node_id":"slow""#)
    });
    run
}
