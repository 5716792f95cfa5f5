//! The fast path of [`EventLine::parse`]: a hand-written scanner for the flat envelope of
//! an event line that reads the few fields the fold uses and steps over everything else
//! (payloads such as `inputs`, `outputs`, a skipped event's whole `data`) by matching
//! strings and brackets, validating as it goes but building nothing.
//!
//! It gives up (`None`) on anything it does not handle exactly as serde_json would: a
//! backslash escape in a key or in a string it keeps, a number of a kept field that is not
//! a plain unsigned integer, `data` before `event`, a repeated field, a wrong type, nesting
//! deeper than 128 skipped levels, and any invalid JSON. The caller then parses the line
//! with serde_json, which gives the same result, or the error message, for those lines.
//! When it does answer, the answer is the one serde_json gives (property-tested below).

use std::borrow::Cow;

use super::event_line::{Data, EventData, EventLine, Text, data_is_read};
use super::timestamp::parse_millis;

/// Skipped values nested deeper than this are left to serde_json.
const MAX_SKIPPED_DEPTH: u32 = 128;

/// The event line of `text`, or `None` when the line needs serde_json (see the module).
pub fn scan(text: &str) -> Option<EventLine<'_>> {
    let mut c = Cursor {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    c.whitespace();
    c.expect(b'{')?;
    let mut timestamp = None;
    let mut seq = None;
    let mut run_id = None;
    let mut parent_run_id = None;
    let mut event: Option<Text<'_>> = None;
    let mut node_id = None;
    let mut data = Data::default();
    // Fields already read (a repeated one is left to serde_json).
    let mut seen = 0u8;
    c.whitespace();
    if c.peek()? == b'}' {
        return None; // no `event`: serde_json's error
    }
    loop {
        c.whitespace();
        let field = c.key(ENVELOPE_KEYS)?;
        c.whitespace();
        match field {
            Envelope::Timestamp => timestamp = c.optional_text()?,
            Envelope::Seq => seq = c.optional_u64()?,
            Envelope::RunId => run_id = c.optional_text()?,
            Envelope::Event => event = Some(Text(Cow::Borrowed(c.plain_string()?))),
            Envelope::NodeId => node_id = c.optional_text()?,
            Envelope::Data => match &event {
                Some(name) if !data_is_read(name) => c.skip_value()?,
                Some(_) => data = c.event_data()?,
                None => return None, // `data` first: serde_json reads it all
            },
            Envelope::ParentRunId => parent_run_id = c.optional_text()?,
            Envelope::Other => c.skip_value()?,
        }
        let bit = match field {
            Envelope::Other => 0,
            known => 1u8 << known as u8,
        };
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        c.whitespace();
        match c.next()? {
            b',' => continue,
            b'}' => break,
            _ => return None,
        }
    }
    c.whitespace();
    if c.at != c.bytes.len() {
        return None; // trailing characters
    }
    Some(EventLine {
        at_ms: timestamp.as_deref().and_then(parse_millis),
        timestamp,
        seq,
        run_id,
        parent_run_id,
        event: event?,
        node_id,
        data,
    })
}

/// The envelope's fields the fold reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Envelope {
    Timestamp,
    Seq,
    RunId,
    Event,
    NodeId,
    Data,
    ParentRunId,
    Other,
}

/// The envelope's keys as Trident writes them (`"name":`), most frequent first; `level`
/// is there to be recognised quickly, as a field the fold skips.
const ENVELOPE_KEYS: &[(&[u8], Envelope)] = &[
    (b"\"timestamp\":", Envelope::Timestamp),
    (b"\"seq\":", Envelope::Seq),
    (b"\"run_id\":", Envelope::RunId),
    (b"\"event\":", Envelope::Event),
    (b"\"level\":", Envelope::Other),
    (b"\"node_id\":", Envelope::NodeId),
    (b"\"data\":", Envelope::Data),
    (b"\"parent_run_id\":", Envelope::ParentRunId),
];

/// The variant of a key table's enum for keys not in the table.
trait OtherKey {
    const OTHER: Self;
}

impl OtherKey for Envelope {
    const OTHER: Envelope = Envelope::Other;
}

impl OtherKey for Field {
    const OTHER: Field = Field::Other;
}

/// The `data` fields the fold reads (see [`EventData`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Type,
    DurationMs,
    InputTokens,
    OutputTokens,
    Model,
    CostUsd,
    Error,
    ErrorType,
    Reason,
    Name,
    Value,
    Count,
    Sink,
    DryRun,
    Attempt,
    FailedNode,
    Other,
}

const DATA_KEYS: &[(&[u8], Field)] = &[
    (b"\"type\":", Field::Type),
    (b"\"duration_ms\":", Field::DurationMs),
    (b"\"input_tokens\":", Field::InputTokens),
    (b"\"output_tokens\":", Field::OutputTokens),
    (b"\"model\":", Field::Model),
    (b"\"cost_usd\":", Field::CostUsd),
    (b"\"error\":", Field::Error),
    (b"\"error_type\":", Field::ErrorType),
    (b"\"reason\":", Field::Reason),
    (b"\"name\":", Field::Name),
    (b"\"value\":", Field::Value),
    (b"\"count\":", Field::Count),
    (b"\"sink\":", Field::Sink),
    (b"\"dry_run\":", Field::DryRun),
    (b"\"attempt\":", Field::Attempt),
    (b"\"failed_node\":", Field::FailedNode),
];

/// A position in the line.
struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    /// An object's key and its colon: one of `keys` (`"name":`, compared whole with the
    /// bytes at the cursor after a check of the first letter, as Trident writes them), or
    /// else read as a string (white space before the colon allowed) and looked up in
    /// `keys`; [`OtherKey::OTHER`] when it is none of them.
    fn key<K: Copy + OtherKey>(&mut self, keys: &[(&[u8], K)]) -> Option<K> {
        let rest = &self.bytes[self.at..];
        let first = *rest.get(1)?;
        for &(literal, key) in keys {
            if literal[1] == first && rest.starts_with(literal) {
                self.at += literal.len();
                return Some(key);
            }
        }
        let name = self.plain_string()?.as_bytes();
        self.whitespace();
        self.expect(b':')?;
        Some(
            keys.iter()
                .find(|(literal, _)| &literal[1..literal.len() - 2] == name)
                .map_or(K::OTHER, |&(_, key)| key),
        )
    }

    /// Skips JSON white space (space, tab, newline, carriage return).
    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// Skips a literal (`null`, `true`, `false`) whose first byte is next.
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// A string without escapes, borrowed; the cursor is on its opening quote.
    fn plain_string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let end = start + plain_run(&self.bytes[start..]);
        if self.bytes.get(end) != Some(&b'"') {
            return None; // an escape, a control character or the end of the line
        }
        self.at = end + 1;
        // Both ends are ASCII quotes, so char boundaries of the (valid UTF-8) line.
        Some(&self.text[start..end])
    }

    /// `null` or a string without escapes.
    fn optional_text(&mut self) -> Option<Option<Text<'a>>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(None);
        }
        Some(Some(Text(Cow::Borrowed(self.plain_string()?))))
    }

    /// `null` or an unsigned integer written plainly (no sign, fraction or exponent).
    fn optional_u64(&mut self) -> Option<Option<u64>> {
        match self.peek()? {
            b'n' => {
                self.literal(b"null")?;
                Some(None)
            }
            b'0' => {
                self.at += 1;
                match self.peek() {
                    Some(b'0'..=b'9' | b'.' | b'e' | b'E') => None,
                    _ => Some(Some(0)),
                }
            }
            b'1'..=b'9' => {
                let mut value: u64 = 0;
                while let Some(d @ b'0'..=b'9') = self.peek() {
                    value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
                    self.at += 1;
                }
                match self.peek() {
                    Some(b'.' | b'e' | b'E') => None,
                    _ => Some(Some(value)),
                }
            }
            _ => None,
        }
    }

    /// `null` or a number as an `f64`, converted by serde_json itself (its rounding).
    fn optional_f64(&mut self) -> Option<Option<f64>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(None);
        }
        let start = self.at;
        self.number()?;
        serde_json::from_str::<f64>(&self.text[start..self.at])
            .ok()
            .map(Some)
    }

    /// `null`, `true` or `false`.
    fn optional_bool(&mut self) -> Option<Option<bool>> {
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None),
            b't' => self.literal(b"true").map(|()| Some(true)),
            b'f' => self.literal(b"false").map(|()| Some(false)),
            _ => None,
        }
    }

    /// Skips a JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.one_or_more_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.one_or_more_digits()?;
        }
        // serde_json reads "01" as an error; so must we (a digit right after the number).
        match self.peek() {
            Some(b'0'..=b'9') => None,
            _ => Some(()),
        }
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
    }

    fn one_or_more_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }

    /// Skips a string (escapes checked as serde_json checks them when it skips one).
    fn skip_string(&mut self) -> Option<()> {
        self.expect(b'"')?;
        loop {
            self.at += plain_run(&self.bytes[self.at..]);
            match self.next()? {
                b'"' => return Some(()),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        let hex = self.bytes.get(self.at..self.at + 4)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        self.at += 4;
                    }
                    _ => return None,
                },
                _ => return None, // a control character
            }
        }
    }

    /// Skips any JSON value, checking its syntax, without recursion.
    fn skip_value(&mut self) -> Option<()> {
        // One bit per open bracket: 1 for an object, 0 for an array.
        let mut stack: u128 = 0;
        let mut depth: u32 = 0;
        loop {
            // A value.
            self.whitespace();
            match self.peek()? {
                b'"' => self.skip_string()?,
                b'n' => self.literal(b"null")?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'-' | b'0'..=b'9' => self.number()?,
                open @ (b'{' | b'[') => {
                    self.at += 1;
                    if depth == MAX_SKIPPED_DEPTH {
                        return None;
                    }
                    depth += 1;
                    let object = open == b'{';
                    stack = (stack << 1) | u128::from(object);
                    self.whitespace();
                    let close = if object { b'}' } else { b']' };
                    if self.peek()? == close {
                        self.at += 1;
                        depth -= 1;
                        stack >>= 1;
                    } else {
                        if object {
                            self.object_key()?;
                        }
                        continue;
                    }
                }
                _ => return None,
            }
            // After a value: a comma and the next member, or the end of its container(s).
            loop {
                if depth == 0 {
                    return Some(());
                }
                self.whitespace();
                let object = stack & 1 == 1;
                match self.next()? {
                    b',' => {
                        if object {
                            self.whitespace();
                            self.object_key()?;
                        }
                        break;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                depth -= 1;
                stack >>= 1;
            }
        }
    }

    /// Skips `"key" :` of an object member.
    fn object_key(&mut self) -> Option<()> {
        self.skip_string()?;
        self.whitespace();
        self.expect(b':')
    }

    /// The `data` of an event whose data the fold reads: `null` or an object (filled in
    /// its box, which is not moved afterwards).
    fn event_data(&mut self) -> Option<Data<'a>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(Data::default());
        }
        self.expect(b'{')?;
        self.whitespace();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(Data::default());
        }
        let mut data = Box::<EventData<'a>>::default();
        let mut seen = 0u32;
        loop {
            self.whitespace();
            let field = self.key(DATA_KEYS)?;
            self.whitespace();
            match field {
                Field::Type => data.node_type = self.optional_text()?,
                Field::DurationMs => data.duration_ms = self.optional_u64()?,
                Field::InputTokens => data.input_tokens = self.optional_u64()?,
                Field::OutputTokens => data.output_tokens = self.optional_u64()?,
                Field::Model => data.model = self.optional_text()?,
                Field::CostUsd => data.cost_usd = self.optional_f64()?,
                Field::Error => data.error = self.optional_text()?,
                Field::ErrorType => data.error_type = self.optional_text()?,
                Field::Reason => data.reason = self.optional_text()?,
                Field::Name => data.name = self.optional_text()?,
                Field::Value => data.value = self.optional_f64()?,
                Field::Count => data.count = self.optional_u64()?,
                Field::Sink => data.sink = self.optional_text()?,
                Field::DryRun => data.dry_run = self.optional_bool()?,
                Field::Attempt => data.attempt = self.optional_u64()?,
                Field::FailedNode => data.failed_node = self.optional_text()?,
                Field::Other => self.skip_value()?,
            }
            let bit = match field {
                Field::Other => 0,
                known => 1u32 << known as u32,
            };
            if seen & bit != 0 {
                return None; // serde_json: duplicate field
            }
            seen |= bit;
            self.whitespace();
            match self.next()? {
                b',' => continue,
                b'}' => return Some(Data::boxed(data)),
                _ => return None,
            }
        }
    }
}

/// Bytes that end a run of plain string content: a quote, a backslash, a control
/// character.
static STOPS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// How many bytes at the start of `bytes` need no attention inside a string: none is a
/// quote, a backslash or a control character. Eight bytes at a time, then byte by byte
/// for the last few of the line.
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        // The lowest flagged byte of each test is a true match (a borrow only moves up).
        let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
        let stop = zero_byte(w ^ (ONES * u64::from(b'"')))
            | zero_byte(w ^ (ONES * u64::from(b'\\')))
            | control;
        if stop != 0 {
            return i + (stop.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + bytes[i..]
        .iter()
        .position(|&b| STOPS[usize::from(b)])
        .unwrap_or(bytes.len() - i)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The scanner either leaves a line to serde_json or reads exactly what serde_json
    /// reads.
    fn agrees(text: &str) -> Result<(), TestCaseError> {
        let serde = EventLine::parse_with_serde(text);
        if let Some(fast) = scan(text) {
            match serde {
                Ok(reference) => prop_assert_eq!(fast, reference, "{}", text),
                Err(e) => prop_assert!(
                    false,
                    "scanner accepted what serde_json refuses ({e}): {text}"
                ),
            }
        }
        Ok(())
    }

    #[test]
    fn trident_lines_take_the_fast_path_and_read_the_same() {
        let lines = [
            r#"{"timestamp":"2026-01-23T10:15:30.123Z","seq":7,"run_id":"r1","parent_run_id":"p","event":"node_completed","level":"INFO","node_id":"n","data":{"type":"prompt","duration_ms":290,"input_tokens":1234,"output_tokens":321,"model":"anthropic/claude-sonnet-4-5","cost_usd":0.008517,"outputs":{"text":"a \"quoted\" \\ word\n","list":[1,-2.5e3,true,false,null,{}]}}}"#,
            r#"{"timestamp":"2026-01-23T10:15:30.123Z","seq":8,"run_id":"r1","event":"checkpoint_saved","level":"INFO","node_id":"n","data":{"completed_nodes":12,"path":"C:\\dir\\file \u00e9"}}"#,
            r#"{"timestamp":"2026-01-23T10:15:30Z","seq":9,"event":"telemetry_dropped","data":{"count":2,"sink":"otlp"}}"#,
            r#"{"timestamp":"2026-01-23T10:15:30Z","seq":10,"run_id":"r1","event":"workflow_started","data":{"name":"demo","dry_run":false,"attempt":2,"inputs":{"q":"¿qué?"}}}"#,
            r#"{"timestamp":"2026-01-23T10:15:30Z","seq":11,"run_id":"r1","event":"timing_metric","node_id":"n","data":{"name":"queue_wait_ms","value":12.5}}"#,
            r#"{"timestamp":"2026-01-23T10:15:30Z","seq":12,"run_id":"r1","event":"node_failed","node_id":"n","data":{"error":"boom","error_type":"ToolError","duration_ms":0,"cost_usd":null}}"#,
            " {\"event\" : \"node_skipped\" , \"node_id\":\"n\",\"data\" : {\"reason\":\"cached_from_checkpoint\"} }\t",
            r#"{"event":"workflow_failed","data":null,"seq":null}"#,
        ];
        for line in lines {
            let fast = scan(line).unwrap_or_else(|| panic!("fast path refused {line}"));
            assert_eq!(fast, EventLine::parse_with_serde(line).unwrap(), "{line}");
        }
        let fast = scan(lines[0]).unwrap();
        assert_eq!((fast.seq, &*fast.event), (Some(7), "node_completed"));
        assert_eq!(fast.data.cost_usd, Some(0.008517));
        assert_eq!(scan(lines[4]).unwrap().data.value, Some(12.5));
    }

    #[test]
    fn lines_it_does_not_handle_go_to_serde_json() {
        for line in [
            r#"{"ev\u0065nt":"node_started"}"#,             // escaped key
            r#"{"event":"node_started","node_id":"a\"b"}"#, // escaped kept string
            r#"{"data":{},"event":"node_started"}"#,        // data first
            r#"{"event":"node_started","seq":1.0}"#,        // not an integer
            r#"{"event":"node_started","seq":-1}"#,
            r#"{"event":"node_started","seq":99999999999999999999}"#,
            r#"{"event":"a","event":"b"}"#, // repeated
            r#"{"event":"node_completed","data":{"model":"m","model":"n"}}"#,
            r#"{"event":"node_completed","data":{"duration_ms":"9"}}"#, // wrong type
            r#"{"event":"node_completed","data":[]}"#,
            r#"{"event":null}"#,
            r#"{}"#,
            r#"[1]"#,
            r#"{"event":"x","data":{"a":01}}"#,
            r#"{"event":"x","data":{"a":1.}}"#,
            r#"{"event":"x","data":{"a":[1,]}}"#,
            r#"{"event":"x","data":{"a":{"b"}}}"#,
            r#"{"event":"x","data":{"a":"\x"}}"#,
            r#"{"event":"x","data":{"a":"\u12g4"}}"#,
            "{\"event\":\"x\",\"data\":\"tab\there\"}",
            r#"{"event":"x","data":[}"#,
            r#"{"event":"x"} x"#,
            r#"{"event":"x""#,
        ] {
            assert!(scan(line).is_none(), "{line}");
        }
        let deep = format!(
            r#"{{"event":"x","data":{}{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(scan(&deep).is_none());
        let ok_deep = format!(
            r#"{{"event":"x","data":{}{}}}"#,
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(scan(&ok_deep).is_some());
    }

    #[test]
    fn plain_runs_stop_at_quotes_backslashes_and_control_characters() {
        for (text, run) in [
            (&b"abcdefghij\"k"[..], 10),
            (b"abcdefgh\\", 8),
            (b"abc\x1fdefghij", 3),
            (b"\x7f\x80\xffabc", 6),
            (b"", 0),
            (b"0123456789abcdef\n", 16),
            (b"0123456789abcdef0123456789\\", 26),
            (b"0123456789abcdef01234567\x01", 24),
            (b"0123456789abcdef0123456789abcdefg", 33),
        ] {
            assert_eq!(plain_run(text), run, "{text:?}");
        }
    }

    /// A JSON string token: usually well formed, sometimes with a raw control character
    /// or a bad escape.
    fn string_token() -> impl Strategy<Value = String> {
        let content = proptest::collection::vec(
            prop_oneof![
                Just("a".to_string()),
                Just("é".to_string()),
                Just("🦀".to_string()),
                Just("\"".to_string()),
                Just("\\".to_string()),
                Just("\n".to_string()),
                Just("/".to_string()),
                Just("\u{1}".to_string()),
                "[a-z0-9 _.:-]{0,12}",
            ],
            0..4,
        )
        .prop_map(|parts| parts.concat());
        prop_oneof![
            30 => "[a-z0-9 _.:/-]{0,16}".prop_map(|s| format!("\"{s}\"")),
            10 => content.clone().prop_map(|s| serde_json::to_string(&s).unwrap()),
            1 => content.prop_map(|s| format!("\"{s}\"")),
            1 => prop_oneof![
                Just(r#""\u00e9""#.to_string()),
                Just(r#""\ud800""#.to_string()),
                Just(r#""\u12G4""#.to_string()),
                Just(r#""\q""#.to_string()),
                Just(r#""abc"#.to_string()),
            ],
        ]
    }

    /// A JSON value token: well formed values of every kind, and some malformed ones.
    fn value_token() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            4 => string_token(),
            2 => any::<u64>().prop_map(|n| n.to_string()),
            2 => any::<i64>().prop_map(|n| n.to_string()),
            2 => any::<f64>().prop_map(|f| serde_json::to_string(&f).unwrap()),
            1 => Just("null".to_string()),
            1 => Just("true".to_string()),
            1 => Just("false".to_string()),
            1 => prop_oneof![
                Just("0".to_string()),
                Just("-0".to_string()),
                Just("1e3".to_string()),
                Just("2E-2".to_string()),
                Just("01".to_string()),
                Just("1.".to_string()),
                Just("-".to_string()),
                Just(".5".to_string()),
                Just("1e".to_string()),
                Just("tru".to_string()),
                Just("nul".to_string()),
                Just("18446744073709551616".to_string()),
            ],
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                8 => proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                8 => proptest::collection::vec((string_token(), inner), 0..4).prop_map(|members| {
                    let members: Vec<String> =
                        members.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
                1 => prop_oneof![
                    Just("[1,]".to_string()),
                    Just("{\"a\"}".to_string()),
                    Just("{\"a\":1,}".to_string()),
                    Just("[}".to_string()),
                ],
            ]
        })
    }

    fn data_key() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => proptest::sample::select(vec![
                "type",
                "duration_ms",
                "input_tokens",
                "output_tokens",
                "model",
                "cost_usd",
                "error",
                "error_type",
                "reason",
                "name",
                "value",
                "count",
                "sink",
                "dry_run",
                "attempt",
                "failed_node",
                "inputs",
            ])
            .prop_map(|k| format!("\"{k}\"")),
            1 => string_token(),
        ]
    }

    /// A value for a field: usually of a type the fold reads.
    fn typed_value() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-z_/]{1,12}".prop_map(|s| format!("\"{s}\"")),
            4 => (0u64..100_000).prop_map(|n| n.to_string()),
            1 => (0.0f64..10.0).prop_map(|f| f.to_string()),
            1 => Just("null".to_string()),
            1 => value_token(),
        ]
    }

    fn data_object() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => proptest::collection::vec((data_key(), typed_value()), 0..6).prop_map(|m| {
                let m: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{{{}}}", m.join(","))
            }),
            1 => value_token(),
        ]
    }

    fn event_member() -> impl Strategy<Value = String> {
        prop_oneof![
            12 => proptest::sample::select(vec![
                "workflow_started",
                "workflow_completed",
                "workflow_failed",
                "node_started",
                "node_completed",
                "node_failed",
                "node_skipped",
                "timing_metric",
                "telemetry_dropped",
                "token_usage",
                "checkpoint_saved",
            ])
            .prop_map(|n| format!("\"{n}\"")),
            1 => value_token(),
        ]
        .prop_map(|v| format!("\"event\":{v}"))
    }

    fn other_member() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => typed_value().prop_map(|v| format!("\"seq\":{v}")),
            3 => typed_value().prop_map(|v| format!("\"timestamp\":{v}")),
            3 => typed_value().prop_map(|v| format!("\"run_id\":{v}")),
            1 => typed_value().prop_map(|v| format!("\"parent_run_id\":{v}")),
            2 => typed_value().prop_map(|v| format!("\"node_id\":{v}")),
            4 => data_object().prop_map(|v| format!("\"data\":{v}")),
            2 => (string_token(), value_token()).prop_map(|(k, v)| format!("{k}:{v}")),
            1 => event_member(),
        ]
    }

    fn whitespace() -> impl Strategy<Value = &'static str> {
        prop_oneof![8 => Just(""), 1 => Just(" "), 1 => Just("\t\r\n ")]
    }

    /// An event line: mostly one `event` first (as Trident writes it), then other
    /// members in any order, repeated or missing at times.
    fn envelope() -> impl Strategy<Value = String> {
        (
            proptest::option::weighted(0.95, event_member()),
            proptest::collection::vec(other_member(), 0..7),
            any::<bool>(),
            proptest::collection::vec(whitespace(), 16),
        )
            .prop_map(|(event, mut members, event_last, ws)| {
                if let Some(event) = event {
                    if event_last {
                        members.push(event);
                    } else {
                        members.insert(0, event);
                    }
                }
                let members: Vec<String> = members
                    .iter()
                    .enumerate()
                    .map(|(i, m)| format!("{}{m}{}", ws[i % 16], ws[(i + 5) % 16]))
                    .collect();
                format!("{}{{{}}}{}", ws[14], members.join(","), ws[15])
            })
    }

    /// The generated lines reach both paths: many are read by the scanner, others are
    /// left to serde_json, and some are invalid (so the properties below test something).
    #[test]
    fn generated_lines_cover_the_fast_path_the_fallback_and_errors() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut fast, mut fallback_ok, mut invalid) = (0, 0, 0);
        for _ in 0..2000 {
            let line = envelope().new_tree(&mut runner).unwrap().current();
            match (scan(&line), EventLine::parse_with_serde(&line)) {
                (Some(_), _) => fast += 1,
                (None, Ok(_)) => fallback_ok += 1,
                (None, Err(_)) => invalid += 1,
            }
        }
        assert!(
            fast > 200 && fallback_ok > 50 && invalid > 200,
            "fast {fast}, fallback {fallback_ok}, invalid {invalid}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn plain_runs_end_at_the_first_stop(
            bytes in proptest::collection::vec(
                prop_oneof![8 => b'a'..=b'z', 1 => Just(b'"'), 1 => Just(b'\\'), 1 => 0u8..0x20, 1 => 0x80u8..=0xff],
                0..64,
            ),
        ) {
            let expected = bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(bytes.len());
            prop_assert_eq!(plain_run(&bytes), expected);
        }

        #[test]
        fn the_scanner_and_serde_json_agree_on_any_envelope(line in envelope()) {
            agrees(&line)?;
        }

        #[test]
        fn the_scanner_and_serde_json_agree_on_damaged_lines(
            line in envelope(),
            cut in any::<prop::sample::Index>(),
            insert in proptest::sample::select(vec!["", "\"", "\\", ",", "}", "]", "{", ":", "1", " ", "\u{0}"]),
        ) {
            let mut at = cut.index(line.len() + 1);
            while !line.is_char_boundary(at) {
                at -= 1;
            }
            agrees(&line[..at])?;
            agrees(&format!("{}{insert}{}", &line[..at], &line[at..]))?;
        }
    }
}
