//! What tools send back: the python worker's length-prefixed frames (split into chunks at
//! every 7th byte) and the lines of a tool's events file (`{"event", "data", "level"}`).
//! Frames beyond the size limit are refused with their length, never allocated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trident::parsers::{FrameReader, tool_event_line};

fuzz_target!(|data: &[u8]| {
    let mut reader = FrameReader::default();
    for chunk in data.chunks(7) {
        reader.push(chunk);
        while let Ok(Some(message)) = reader.next_message() {
            let _ = message.len();
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines() {
            let _ = tool_event_line(line);
        }
    }
});
