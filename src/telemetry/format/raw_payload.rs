//! Writing a payload held as JSON text (a big input not parsed, see
//! [`crate::fields::FieldMap`]) into an event line exactly as
//! [`write_value`](super::jsonl::write_value) writes the same value parsed: secret keys
//! hidden, strings redacted and truncated. The text is streamed through serde_json's
//! reader; no tree is built, so an event carrying a 50 MB input costs the line, not a
//! parsed copy ten times its size.

use std::borrow::Cow;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::jsonl::write_str;
use crate::telemetry::policy::PayloadPolicy;
use crate::telemetry::redact::REDACTED;

/// Appends `raw` (checked JSON text) as [`write_value`](super::jsonl::write_value) appends
/// its parsed value.
pub(crate) fn write_raw(out: &mut Vec<u8>, raw: &RawValue, policy: &PayloadPolicy) {
    let mut reader = serde_json::Deserializer::from_str(raw.get());
    let start = out.len();
    if (Writer { out, policy }).deserialize(&mut reader).is_err() {
        // Text is checked when it is read, so this does not happen; write a valid value.
        out.truncate(start);
        out.extend_from_slice(b"null");
    }
}

/// Writes the value it is given as it is read.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    policy: &'a PayloadPolicy,
}

impl<'de> DeserializeSeed<'de> for Writer<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Writer<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        let _ = serde_json::to_writer(&mut *self.out, &v);
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        let _ = serde_json::to_writer(&mut *self.out, &v);
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        let _ = serde_json::to_writer(&mut *self.out, &v);
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        write_str(self.out, &self.policy.text(v));
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        self.out.push(b'[');
        let mut first = true;
        loop {
            let at = self.out.len();
            if !first {
                self.out.push(b',');
            }
            let item = Writer {
                out: &mut *self.out,
                policy: self.policy,
            };
            if items.next_element_seed(item)?.is_none() {
                self.out.truncate(at);
                break;
            }
            first = false;
        }
        self.out.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        self.out.push(b'{');
        let mut first = true;
        while let Some(key) = entries.next_key::<Cow<'de, str>>()? {
            if !first {
                self.out.push(b',');
            }
            first = false;
            write_str(self.out, &key);
            self.out.push(b':');
            if self.policy.redactor().is_secret_key(&key) {
                // Hidden unless it is null (as for a parsed value).
                if entries.next_value_seed(NullOrOther)? {
                    self.out.extend_from_slice(b"null");
                } else {
                    write_str(self.out, REDACTED);
                }
            } else {
                entries.next_value_seed(Writer {
                    out: &mut *self.out,
                    policy: self.policy,
                })?;
            }
        }
        self.out.push(b'}');
        Ok(())
    }
}

/// Reads past a value, answering whether it was `null`.
struct NullOrOther;

impl<'de> DeserializeSeed<'de> for NullOrOther {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_option(NullOrOther)
    }
}

impl<'de> Visitor<'de> for NullOrOther {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_none<E>(self) -> Result<bool, E> {
        Ok(true)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        serde::Deserialize::deserialize(deserializer).map(|_: IgnoredAny| false)
    }
}
