//! A stand-in HTTP endpoint for tests (a Pushgateway, a webhook receiver): it records every
//! request (method, path, headers, body as text) and answers each with the next scripted
//! [`Answer`] (a status, optionally after a delay), `200` once the script is used up. It
//! binds `127.0.0.1` on a free port and stops when dropped. Built on `tiny_http`.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A request the endpoint received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    /// The value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// One scripted answer.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    pub status: u16,
    pub delay: Duration,
}

#[derive(Default)]
struct State {
    script: VecDeque<Answer>,
    requests: Vec<Recorded>,
}

/// A running endpoint.
pub struct HttpRecorder {
    server: Arc<tiny_http::Server>,
    state: Arc<Mutex<State>>,
    worker: Option<JoinHandle<()>>,
    port: u16,
}

impl HttpRecorder {
    /// Starts an endpoint on a free port of 127.0.0.1.
    pub fn start() -> HttpRecorder {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let worker = {
            let server = Arc::clone(&server);
            let state = Arc::clone(&state);
            std::thread::spawn(move || serve(&server, &state))
        };
        HttpRecorder {
            server,
            state,
            worker: Some(worker),
            port,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Queues an answer with `status`.
    pub fn answer(&self, status: u16) -> &Self {
        self.answer_after(status, Duration::ZERO)
    }

    /// Queues an answer with `status` sent after `delay`.
    pub fn answer_after(&self, status: u16, delay: Duration) -> &Self {
        self.state
            .lock()
            .unwrap()
            .script
            .push_back(Answer { status, delay });
        self
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }
}

impl Drop for HttpRecorder {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn serve(server: &tiny_http::Server, state: &Mutex<State>) {
    // One request at a time is enough: Trident's senders run one attempt at a time.
    while let Ok(mut request) = server.recv() {
        let mut body = String::new();
        let _ = request.as_reader().read_to_string(&mut body);
        let recorded = Recorded {
            method: request.method().as_str().to_string(),
            path: request.url().to_string(),
            headers: request
                .headers()
                .iter()
                .map(|h| {
                    (
                        h.field.as_str().as_str().to_ascii_lowercase(),
                        h.value.as_str().to_string(),
                    )
                })
                .collect(),
            body,
        };
        let answer = {
            let mut state = state.lock().unwrap();
            state.requests.push(recorded);
            state.script.pop_front().unwrap_or(Answer {
                status: 200,
                delay: Duration::ZERO,
            })
        };
        if !answer.delay.is_zero() {
            // Answer late on another thread so the next request is not held up.
            std::thread::spawn(move || {
                std::thread::sleep(answer.delay);
                let _ = request.respond(tiny_http::Response::empty(answer.status));
            });
        } else {
            let _ = request.respond(tiny_http::Response::empty(answer.status));
        }
    }
}
