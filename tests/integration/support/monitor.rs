//! A `trident monitor` process for tests: started on a free port (the URL read from its
//! first stdout line), queried with ureq, its event streams read message by message as
//! they arrive, and stopped (SIGTERM) or killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::Fixture;

/// A running monitor.
pub struct Monitor {
    child: Child,
    /// `http://127.0.0.1:PORT/`.
    pub base: String,
    agent: ureq::Agent,
}

/// One SSE message (or `None` fields when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseMessage {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

/// An event stream being read.
pub struct SseStream {
    reader: BufReader<Box<dyn Read + Send>>,
    /// Comment lines (`: ...`) seen so far.
    pub comments: Vec<String>,
}

impl SseStream {
    /// The next message; `None` when the server closed the stream.
    pub fn next_message(&mut self) -> Option<SseMessage> {
        let mut message = SseMessage {
            id: None,
            event: None,
            data: String::new(),
        };
        let mut fields = 0;
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if fields > 0 {
                    return Some(message);
                }
                continue;
            }
            if let Some(comment) = line.strip_prefix(':') {
                self.comments.push(comment.trim().to_string());
                continue;
            }
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            fields += 1;
            match name {
                "id" => message.id = Some(value.to_string()),
                "event" => message.event = Some(value.to_string()),
                "data" => {
                    if !message.data.is_empty() {
                        message.data.push('\n');
                    }
                    message.data.push_str(value);
                }
                _ => {}
            }
        }
    }

    /// Every message until the server closes the stream.
    pub fn rest(&mut self) -> Vec<SseMessage> {
        std::iter::from_fn(|| self.next_message()).collect()
    }
}

impl Monitor {
    /// `trident monitor PROJECT --port 0 EXTRA...` in `f`.
    pub fn start(f: &Fixture, extra: &[&str]) -> Monitor {
        let project = f.path().display().to_string();
        let mut args = vec!["monitor", project.as_str(), "--port", "0"];
        args.extend_from_slice(extra);
        let mut child = f
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start trident monitor");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in the monitor's first line: {first:?}"))
            .to_string();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Monitor { child, base, agent }
    }

    /// The URL of `path` (which starts without a slash).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    /// GET `path` with these headers: status, content type and body.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
        let mut request = self.agent.get(self.url(path));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let mut response = request.call().expect("GET");
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        (status, kind, body)
    }

    /// GET `path`: status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        let (status, _, body) = self.get_with(path, &[]);
        (status, body)
    }

    /// GET `path` as JSON (asserting 200).
    pub fn json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
    }

    /// POST `body` (JSON text) to `path`: status and body.
    pub fn post(&self, path: &str, body: &str) -> (u16, String) {
        let mut response = self
            .agent
            .post(self.url(path))
            .header("content-type", "application/json")
            .send(body.as_bytes())
            .expect("POST");
        let status = response.status().as_u16();
        (
            status,
            response.body_mut().read_to_string().unwrap_or_default(),
        )
    }

    /// Open an event stream (asserting 200 and `text/event-stream`).
    pub fn sse(&self, path: &str, headers: &[(&str, &str)]) -> SseStream {
        let mut request = self.agent.get(self.url(path));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.call().expect("GET events");
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        let reader: Box<dyn Read + Send> = Box::new(response.into_body().into_reader());
        SseStream {
            reader: BufReader::new(reader),
            comments: Vec::new(),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send `signal`, then wait at most `secs` for the exit.
    pub fn stop_with(&mut self, signal: i32, secs: u64) -> (ExitStatus, Duration) {
        let started = Instant::now();
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(self.child.id() as i32, signal);
        }
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(secs) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the monitor did not stop within {secs}s of signal {signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
