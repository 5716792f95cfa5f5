//! W3C trace context for OpenTelemetry export: the `TRACEPARENT`/`TRACESTATE` a run is
//! started with, and the trace and span ids of a run's spans.
//!
//! Every id is derived from ids the stream already carries (run id, attempt, node id), so
//! the exporter (a sink reading the stream) and the engine (passing `TRACEPARENT` to a
//! tool, an agent CLI or a triggered run) agree on a node's span without sharing any
//! state: the trace id of an attempt is a hash of the top-level run id and the attempt
//! number (or the incoming `TRACEPARENT`'s trace id), a span id a hash of the trace id, the
//! run id and the node id. A resumed attempt can so link to the previous attempt's root.

use std::fmt::Write as _;

/// A remote span context: a parsed `traceparent` (and `tracestate`) header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    /// The 16-byte trace id.
    pub trace_id: [u8; 16],
    /// The 8-byte id of the parent span.
    pub span_id: [u8; 8],
    /// Trace flags (bit 0: sampled).
    pub flags: u8,
    /// The vendor-specific `tracestate`, passed on as given.
    pub state: Option<String>,
}

/// The environment variable carrying the W3C `traceparent` header value.
pub const TRACEPARENT_ENV: &str = "TRACEPARENT";
/// The environment variable carrying the W3C `tracestate` header value.
pub const TRACESTATE_ENV: &str = "TRACESTATE";

impl TraceParent {
    /// Parses `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`; `None` when malformed
    /// or when an id is all zeros (the W3C rules: an invalid header starts a new trace).
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<TraceParent> {
        let parts: Vec<&str> = traceparent.trim().split('-').collect();
        let [version, trace, span, flags, ..] = parts.as_slice() else {
            return None;
        };
        if version.len() != 2 || *version == "ff" || (*version == "00" && parts.len() != 4) {
            return None;
        }
        let trace_id: [u8; 16] = hex_bytes(trace)?;
        let span_id: [u8; 8] = hex_bytes(span)?;
        let [flags] = hex_bytes::<1>(flags)?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(TraceParent {
            trace_id,
            span_id,
            flags,
            state: tracestate
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        })
    }

    /// The `traceparent` header value (version 00).
    pub fn header(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            hex(&self.trace_id),
            hex(&self.span_id),
            self.flags
        )
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn hex_bytes<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

/// FNV-1a over `parts` (separated, so `("ab","c")` and `("a","bc")` differ) from `seed`.
fn fnv(seed: u64, parts: &[&[u8]]) -> u64 {
    let mut hash = seed;
    for part in parts {
        for b in part.iter().chain(std::iter::once(&0xffu8)) {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    // A final avalanche so that similar inputs give unrelated-looking ids.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash
}

const SEED_A: u64 = 0xcbf2_9ce4_8422_2325;
const SEED_B: u64 = 0x6c62_272e_07bb_0142;

/// The trace id of attempt `attempt` (1, 2...) of top-level run `root_run_id`, when no
/// `TRACEPARENT` was given.
pub fn derived_trace_id(root_run_id: &str, attempt: u64) -> [u8; 16] {
    let attempt = attempt.to_string();
    let parts: [&[u8]; 3] = [b"trace", root_run_id.as_bytes(), attempt.as_bytes()];
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&fnv(SEED_A, &parts).to_be_bytes());
    id[8..].copy_from_slice(&fnv(SEED_B, &parts).to_be_bytes());
    if id == [0; 16] {
        id[15] = 1;
    }
    id
}

/// The attempt number of a run: the `attempt` its `workflow_started` reports, else 1 for a
/// first run and 2 for a resumed one.
pub fn attempt_of(resumed: bool, reported: Option<u64>) -> u64 {
    reported.unwrap_or(if resumed { 2 } else { 1 })
}

/// Which span of a run or node an id is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanPart<'a> {
    /// The run's `invoke_workflow` span (no node).
    Run,
    /// A node's span.
    Node(&'a str),
    /// Turn `n` (1, 2...) of an agent node.
    AgentTurn(&'a str, u64),
    /// Tool call `n` (1, 2...) of an agent node.
    AgentTool(&'a str, u64),
}

/// The span id of `part` of attempt `attempt` of run `run_id` in trace `trace_id`. An
/// attempt after the first is part of the id, so that the attempts of a run resumed under
/// the same incoming `TRACEPARENT` (one trace) never share span ids; a first attempt's ids
/// do not depend on it.
pub fn span_id(trace_id: &[u8; 16], run_id: &str, attempt: u64, part: SpanPart<'_>) -> [u8; 8] {
    let (kind, node, n): (&[u8], &str, u64) = match part {
        SpanPart::Run => (b"run", "", 0),
        SpanPart::Node(node) => (b"node", node, 0),
        SpanPart::AgentTurn(node, n) => (b"turn", node, n),
        SpanPart::AgentTool(node, n) => (b"tool", node, n),
    };
    let n = n.to_le_bytes();
    let later = attempt.to_le_bytes();
    let parts: [&[u8]; 6] = [
        trace_id,
        run_id.as_bytes(),
        kind,
        node.as_bytes(),
        &n,
        &later,
    ];
    let used = if attempt > 1 { 6 } else { 5 };
    let hash = fnv(SEED_A, &parts[..used]);
    let id = if hash == 0 { 1 } else { hash };
    id.to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_w3c_headers() {
        let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parent = TraceParent::parse(text, Some(" vendor=x ")).unwrap();
        assert_eq!(hex(&parent.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(hex(&parent.span_id), "00f067aa0ba902b7");
        assert_eq!(parent.flags, 1);
        assert_eq!(parent.state.as_deref(), Some("vendor=x"));
        assert_eq!(parent.header(), text);
    }

    #[test]
    fn invalid_headers_are_ignored() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(TraceParent::parse(bad, None), None, "{bad:?}");
        }
        // A later version may add fields.
        assert!(
            TraceParent::parse(
                "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
                None
            )
            .is_some()
        );
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let t1 = derived_trace_id("run-1", 1);
        assert_eq!(t1, derived_trace_id("run-1", 1));
        assert_ne!(t1, derived_trace_id("run-1", 2));
        assert_ne!(t1, derived_trace_id("run-2", 1));
        let a = span_id(&t1, "run-1", 1, SpanPart::Node("a"));
        assert_eq!(a, span_id(&t1, "run-1", 1, SpanPart::Node("a")));
        let others = [
            span_id(&t1, "run-1", 1, SpanPart::Run),
            span_id(&t1, "run-1", 1, SpanPart::Node("b")),
            span_id(&t1, "run-2", 1, SpanPart::Node("a")),
            span_id(&t1, "run-1", 1, SpanPart::AgentTurn("a", 1)),
            span_id(&t1, "run-1", 1, SpanPart::AgentTool("a", 1)),
            span_id(&t1, "run-1", 1, SpanPart::AgentTurn("a", 2)),
        ];
        assert!(others.iter().all(|o| *o != a));
        // A later attempt of the same run in the same trace has its own ids.
        assert_ne!(span_id(&t1, "run-1", 2, SpanPart::Node("a")), a);
        assert_ne!(
            span_id(&t1, "run-1", 2, SpanPart::Run),
            span_id(&t1, "run-1", 1, SpanPart::Run)
        );
    }
}
