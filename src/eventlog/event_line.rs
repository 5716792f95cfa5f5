//! One line of a telemetry file, read for the fold: the envelope and the few `data` fields
//! the fold uses, borrowed from the line where possible. Every other field (payloads such
//! as `inputs` and `outputs` included) is skipped without being built, and so is the whole
//! `data` of events whose data the fold never reads (when `event` comes before `data`, as
//! Trident writes it): `telemetry stats` reads millions of lines.

use std::borrow::Cow;

use serde::Deserialize;

use super::timestamp::parse_millis;

/// The parts of an event line the fold reads.
#[derive(Debug, PartialEq)]
pub struct EventLine<'a> {
    pub timestamp: Option<Text<'a>>,
    /// `timestamp` in milliseconds since the Unix epoch, when it is RFC 3339 (parsed with
    /// the line, on the thread that parses it).
    pub at_ms: Option<i64>,
    pub seq: Option<u64>,
    pub run_id: Option<Text<'a>>,
    pub parent_run_id: Option<Text<'a>>,
    pub event: Text<'a>,
    pub node_id: Option<Text<'a>>,
    /// Empty for events whose data the fold does not read (see [`data_is_read`]).
    pub data: Data<'a>,
}

/// The `data` of an event line: boxed when there is any (a line is small to move between
/// the threads that parse and the one that folds), read as an [`EventData`].
#[derive(Debug, Default)]
pub struct Data<'a>(Option<Box<EventData<'a>>>);

impl PartialEq for Data<'_> {
    /// The same fields (an empty box equals no box).
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

/// The data of an event without any.
static NO_DATA: EventData<'static> = EventData {
    node_type: None,
    duration_ms: None,
    input_tokens: None,
    output_tokens: None,
    model: None,
    cost_usd: None,
    error: None,
    error_type: None,
    reason: None,
    name: None,
    value: None,
    count: None,
    sink: None,
    dry_run: None,
    attempt: None,
    failed_node: None,
};

impl<'a> Data<'a> {
    /// `data`, boxed unless it is empty.
    pub fn new(data: EventData<'a>) -> Data<'a> {
        Data((data != NO_DATA).then(|| Box::new(data)))
    }

    /// `data`, already boxed.
    pub fn boxed(data: Box<EventData<'a>>) -> Data<'a> {
        Data(Some(data))
    }
}

impl<'a> std::ops::Deref for Data<'a> {
    type Target = EventData<'a>;
    fn deref(&self) -> &EventData<'a> {
        self.0.as_deref().unwrap_or(&NO_DATA)
    }
}

/// Whether the fold reads the `data` of event `name` (run and node lifecycle, queue waits,
/// loss reports); other events' `data` is skipped.
pub fn data_is_read(name: &str) -> bool {
    name.starts_with("workflow_")
        || name.starts_with("node_")
        || matches!(name, "timing_metric" | "telemetry_dropped")
}

/// The `data` fields the fold reads (all optional; their meaning depends on the event).
#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct EventData<'a> {
    #[serde(borrow, rename = "type")]
    pub node_type: Option<Text<'a>>,
    pub duration_ms: Option<u64>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    #[serde(borrow)]
    pub model: Option<Text<'a>>,
    pub cost_usd: Option<f64>,
    #[serde(borrow)]
    pub error: Option<Text<'a>>,
    #[serde(borrow)]
    pub error_type: Option<Text<'a>>,
    #[serde(borrow)]
    pub reason: Option<Text<'a>>,
    /// Project name (`workflow_*`) or metric name (`timing_metric`).
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    pub value: Option<f64>,
    pub count: Option<u64>,
    #[serde(borrow)]
    pub sink: Option<Text<'a>>,
    pub dry_run: Option<bool>,
    /// `workflow_started`: the attempt (1, 2...).
    pub attempt: Option<u64>,
    #[serde(borrow)]
    pub failed_node: Option<Text<'a>>,
}

/// A string of the line: borrowed when it has no escapes (the usual case), owned otherwise.
/// (serde borrows a `Cow` only as a field of its own, not inside an `Option`.)
#[derive(Debug, PartialEq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> serde::de::Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

impl<'a> EventLine<'a> {
    /// Parse one line (without its newline). The line is checked as UTF-8 once, as a
    /// whole, rather than string by string; then read by the fast envelope scanner
    /// ([`super::envelope_scan`]), or by serde_json when the scanner leaves it (escaped
    /// keys, odd types, invalid JSON: the error comes from serde_json).
    pub fn parse(line: &'a [u8]) -> Result<EventLine<'a>, serde_json::Error> {
        let text = std::str::from_utf8(line).map_err(|e| {
            <serde_json::Error as serde::de::Error>::custom(format!("not UTF-8 text ({e})"))
        })?;
        match super::envelope_scan::scan(text) {
            Some(event) => Ok(event),
            None => Self::parse_with_serde(text),
        }
    }

    /// Parse one line with serde_json alone (the fallback of [`EventLine::parse`], and
    /// the reference its fast path is tested against).
    pub fn parse_with_serde(text: &'a str) -> Result<EventLine<'a>, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for EventLine<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(LineVisitor)
    }
}

/// Reads the envelope's fields in any order; `data` is skipped when `event`, already
/// read, names an event whose data the fold does not use.
struct LineVisitor;

impl<'de> serde::de::Visitor<'de> for LineVisitor {
    type Value = EventLine<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> Result<EventLine<'de>, A::Error> {
        use serde::de::{Error, IgnoredAny};
        let mut timestamp = None;
        let mut seq = None;
        let mut run_id = None;
        let mut parent_run_id = None;
        let mut event: Option<Text<'de>> = None;
        let mut node_id = None;
        let mut data = Data::default();
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match &*key {
                "timestamp" => timestamp = map.next_value()?,
                "seq" => seq = map.next_value()?,
                "run_id" => run_id = map.next_value()?,
                "parent_run_id" => parent_run_id = map.next_value()?,
                "event" => event = Some(map.next_value()?),
                "node_id" => node_id = map.next_value()?,
                "data" => match &event {
                    Some(name) if !data_is_read(name) => {
                        map.next_value::<IgnoredAny>()?;
                    }
                    _ => {
                        data = Data::new(
                            map.next_value::<Option<EventData<'de>>>()?
                                .unwrap_or_default(),
                        )
                    }
                },
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let event = event.ok_or_else(|| A::Error::missing_field("event"))?;
        Ok(EventLine {
            at_ms: timestamp.as_deref().and_then(parse_millis),
            timestamp,
            seq,
            run_id,
            parent_run_id,
            event,
            node_id,
            data,
        })
    }
}
