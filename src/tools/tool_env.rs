//! [`ToolEnv`]: the variables trident adds to a tool's environment, assembled in one place
//! for every kind of tool (the rest is inherited from trident's own environment).
//!
//! - shell tools: `TRIDENT_INPUT_<NAME>` per input and `TRIDENT_EVENTS` (the file the tool
//!   writes its events to), set on the `sh` process;
//! - python tools: set in the worker's `os.environ` for the duration of the call, then
//!   restored (the worker outlives the call);
//! - every tool: the project's `.env` values the process environment lacks (the run's
//!   overlay, `crate::settings::Environment`), set on the process when it starts.
//!
//! - both: `TRACEPARENT` (and `TRACESTATE`) of the tool node's span when OpenTelemetry
//!   export is on ([`ToolObserver::trace_env`](super::ToolObserver::trace_env)).

use std::process::Command;

/// Extra environment variables for one tool call, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolEnv {
    vars: Vec<(String, String)>,
}

impl ToolEnv {
    /// No extra variables.
    pub fn new() -> ToolEnv {
        ToolEnv::default()
    }

    /// These variables, in order (e.g. the project's `.env` values the process lacks).
    pub fn from_pairs(pairs: &[(String, String)]) -> ToolEnv {
        let mut env = ToolEnv::new();
        for (name, value) in pairs {
            env.set(name.clone(), value.clone());
        }
        env
    }

    /// Adds (or replaces) `name`.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.vars.iter_mut().find(|(n, _)| *n == name) {
            Some(existing) => existing.1 = value,
            None => self.vars.push((name, value)),
        }
    }

    /// The variables as a JSON object (for the python worker's request).
    pub fn vars(&self) -> serde_json::Map<String, serde_json::Value> {
        self.vars
            .iter()
            .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
            .collect()
    }

    /// Sets the variables on a process about to start.
    pub fn apply(&self, command: &mut Command) {
        for (name, value) in &self.vars {
            command.env(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_values_replace_earlier_ones_in_place() {
        let mut env = ToolEnv::new();
        env.set("A", "1");
        env.set("B", "2");
        env.set("A", "3");
        assert_eq!(
            serde_json::Value::Object(env.vars()),
            serde_json::json!({"A": "3", "B": "2"})
        );
    }
}
