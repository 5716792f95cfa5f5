//! The Claude CLI's `stream-json` output lines, and the JSON an agent's final text may hold:
//! typed messages, a notice, or an error reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trident::parsers::{agent_result_json, agent_stream_line};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        let _ = agent_stream_line(line);
    }
    let _ = agent_result_json(text);
});
