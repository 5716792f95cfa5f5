//! Splitting an event file into numbered lines: bytes are fed in any chunks, complete lines
//! come out with their 1-based line number, and a partial last line is held until its
//! newline arrives (a writer may be in the middle of it). Each line then parses into an
//! event or a [`CorruptLine`] that names its line number.

use std::fmt;

use serde_json::{Map, Value};

use super::event_line::EventLine;

/// One complete line (without its newline) and its 1-based number in the file.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub number: u64,
    pub bytes: &'a [u8],
}

impl<'a> Line<'a> {
    /// The line as an event, its fields borrowed (see [`EventLine`]).
    pub fn event(&self) -> Result<EventLine<'a>, CorruptLine> {
        EventLine::parse(self.bytes).map_err(|e| CorruptLine {
            number: self.number,
            reason: if e.is_data() {
                "not an event object".to_string()
            } else {
                format!("invalid JSON ({e})")
            },
        })
    }

    /// The line as an event: a JSON object with an `event` name.
    pub fn parse(&self) -> Result<Map<String, Value>, CorruptLine> {
        let corrupt = |reason: String| CorruptLine {
            number: self.number,
            reason,
        };
        match serde_json::from_slice::<Value>(self.bytes) {
            Ok(Value::Object(event)) if event.get("event").is_some_and(Value::is_string) => {
                Ok(event)
            }
            Ok(_) => Err(corrupt("not an event object".to_string())),
            Err(e) => Err(corrupt(format!("invalid JSON ({e})"))),
        }
    }

    /// Whether the line holds nothing but white space (skipped quietly).
    pub fn is_blank(&self) -> bool {
        self.bytes.iter().all(u8::is_ascii_whitespace)
    }
}

/// A line that is not an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptLine {
    pub number: u64,
    pub reason: String,
}

impl fmt::Display for CorruptLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}; skipped", self.number, self.reason)
    }
}

/// Turns chunks of bytes into numbered complete lines.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    next_number: u64,
}

impl LineSplitter {
    /// A splitter at the start of a file.
    pub fn new() -> LineSplitter {
        LineSplitter {
            partial: Vec::new(),
            next_number: 1,
        }
    }

    /// Feeds the next bytes of the file; calls `on_line` for each line they complete.
    pub fn feed(&mut self, mut bytes: &[u8], mut on_line: impl FnMut(Line<'_>)) {
        while let Some(end) = memchr::memchr(b'\n', bytes) {
            let number = self.next_number;
            self.next_number += 1;
            if self.partial.is_empty() {
                on_line(Line {
                    number,
                    bytes: trim_cr(&bytes[..end]),
                });
            } else {
                self.partial.extend_from_slice(&bytes[..end]);
                let whole = std::mem::take(&mut self.partial);
                on_line(Line {
                    number,
                    bytes: trim_cr(&whole),
                });
            }
            bytes = &bytes[end + 1..];
        }
        self.partial.extend_from_slice(bytes);
    }

    /// The partial last line held back, with the number it will have.
    pub fn pending(&self) -> Option<Line<'_>> {
        (!self.partial.is_empty()).then_some(Line {
            number: self.next_number,
            bytes: &self.partial,
        })
    }

    /// Starts again at line 1 (the file was truncated or replaced).
    pub fn reset(&mut self) {
        self.partial.clear();
        self.next_number = 1;
    }
}

/// The complete lines of `bytes` (a partial line after the last newline is left out),
/// numbered from `first_number`.
pub fn whole_lines(bytes: &[u8], first_number: u64) -> impl Iterator<Item = Line<'_>> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', bytes)
        .enumerate()
        .map(move |(i, end)| {
            let line = Line {
                number: first_number + i as u64,
                bytes: trim_cr(&bytes[start..end]),
            };
            start = end + 1;
            line
        })
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(splitter: &mut LineSplitter, bytes: &[u8]) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        splitter.feed(bytes, |l| {
            out.push((l.number, String::from_utf8_lossy(l.bytes).into_owned()))
        });
        out
    }

    #[test]
    fn lines_are_numbered_across_chunks_and_a_partial_line_is_held() {
        let mut s = LineSplitter::new();
        assert_eq!(collect(&mut s, b"a\nb"), [(1, "a".to_string())]);
        assert_eq!(s.pending().unwrap().bytes, b"b");
        assert_eq!(collect(&mut s, b"c"), []);
        assert_eq!(
            collect(&mut s, b"d\r\ne\n"),
            [(2, "bcd".to_string()), (3, "e".to_string())]
        );
        assert!(s.pending().is_none());
        let whole: Vec<(u64, &[u8])> = whole_lines(b"a\r\nb\n\nc", 5)
            .map(|l| (l.number, l.bytes))
            .collect();
        assert_eq!(whole, [(5, &b"a"[..]), (6, &b"b"[..]), (7, &b""[..])]);
        s.reset();
        assert_eq!(collect(&mut s, b"x\n"), [(1, "x".to_string())]);
    }

    #[test]
    fn corrupt_lines_name_their_number() {
        let ok = Line {
            number: 1,
            bytes: br#"{"seq":1,"event":"node_started"}"#,
        };
        assert_eq!(ok.parse().unwrap()["seq"], 1);
        assert_eq!(ok.event().unwrap().seq, Some(1));
        let bad = Line {
            number: 7,
            bytes: b"{\"seq\":",
        };
        let err = bad.parse().unwrap_err();
        assert_eq!(err.number, 7);
        assert!(err.to_string().starts_with("line 7: invalid JSON"), "{err}");
        let not_event = Line {
            number: 2,
            bytes: b"[1,2]",
        };
        assert_eq!(
            not_event.parse().unwrap_err().to_string(),
            "line 2: not an event object; skipped"
        );
        assert_eq!(
            not_event.event().unwrap_err(),
            not_event.parse().unwrap_err()
        );
        assert!(
            bad.event()
                .unwrap_err()
                .to_string()
                .starts_with("line 7: invalid JSON")
        );
        assert!(
            Line {
                number: 3,
                bytes: b"  "
            }
            .is_blank()
        );
    }
}
