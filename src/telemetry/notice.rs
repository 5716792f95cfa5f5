//! Operator notices about telemetry itself (a disabled sink, dropped events): one line on
//! stderr each, `trident: telemetry: ...`. Replaceable, so tests can capture them.

use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex};

use super::queue::lock;

/// Where telemetry warnings go.
#[derive(Clone)]
pub struct Notices {
    target: Arc<dyn Fn(&str) + Send + Sync>,
}

impl fmt::Debug for Notices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Notices")
    }
}

impl Default for Notices {
    fn default() -> Self {
        Notices::stderr()
    }
}

impl Notices {
    /// The prefix of every notice.
    pub const PREFIX: &'static str = "trident: telemetry: ";

    /// Notices written to stderr (a failing stderr is ignored: telemetry never panics).
    pub fn stderr() -> Notices {
        Notices {
            target: Arc::new(|line: &str| {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }),
        }
    }

    /// Notices collected in memory, and the shared list they go to.
    pub fn capture() -> (Notices, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let notices = Notices {
            target: Arc::new(move |line: &str| lock(&sink).push(line.to_string())),
        };
        (notices, lines)
    }

    /// Reports `message`, prefixed with `trident: telemetry: `.
    pub fn warn(&self, message: &str) {
        (self.target)(&format!("{}{message}", Notices::PREFIX));
    }
}
