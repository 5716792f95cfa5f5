//! Line formats: JSON Lines (the default, machine-readable) and human (for a terminal).
//!
//! Both run on the writer thread, turning one queued record into one complete line; both
//! read an event's fields through the same visitor, so the two formats cannot disagree on
//! what an event holds. Redaction and truncation are applied here, while formatting.

pub(crate) mod human;
pub(crate) mod jsonl;
pub(crate) mod raw_payload;

pub use human::human_line;

use super::clock::TimestampText;
use super::event::Event;
use super::policy::PayloadPolicy;
use super::record::RunScope;

/// The `format` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One JSON object per line.
    #[default]
    Jsonl,
    /// `[2026-01-23 10:15:30.123] [INFO] NODE_COMPLETED run=0194ab12 node=greet ...`.
    Human,
}

impl Format {
    /// Every accepted spelling, for error messages.
    pub const ACCEPTED: &'static str = "jsonl, human";

    /// Parses a format name (case-insensitive; `json` is accepted for `jsonl`).
    pub fn parse(text: &str) -> Option<Format> {
        match text.trim().to_ascii_lowercase().as_str() {
            "jsonl" | "json" | "jsonlines" | "json-lines" => Some(Format::Jsonl),
            "human" | "text" => Some(Format::Human),
            _ => None,
        }
    }

    /// The setting's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Human => "human",
        }
    }
}

/// One event with its envelope, as the writer hands it to a destination: formatted into a
/// line, or typed to a sink that [takes events](super::Sink::takes_events).
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// Milliseconds since the Unix epoch (the line's `timestamp`).
    pub unix_millis: u64,
    /// The destination's own `seq` for this event.
    pub seq: u64,
    /// The run (and parent run) the event belongs to.
    pub scope: &'a RunScope,
    /// The node, for node events.
    pub node_id: Option<&'a str>,
    /// The event and its data.
    pub event: &'a Event,
}

/// Formats lines in one encoding (a format, with or without colours).
#[derive(Debug)]
pub(crate) struct LineFormatter {
    format: Format,
    colors: bool,
    time: TimestampText,
}

impl LineFormatter {
    /// A formatter; `colors` only matters for the human format.
    pub fn new(format: Format, colors: bool) -> LineFormatter {
        LineFormatter {
            format,
            colors: colors && format == Format::Human,
            time: TimestampText::default(),
        }
    }

    /// Appends one line (with its `\n`) to `out`.
    pub fn write(&mut self, envelope: &Envelope<'_>, policy: &PayloadPolicy, out: &mut Vec<u8>) {
        match self.format {
            Format::Jsonl => jsonl::write_line(envelope, &mut self.time, policy, out),
            Format::Human => human::write_line(envelope, &mut self.time, policy, self.colors, out),
        }
    }
}
