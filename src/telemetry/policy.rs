//! What every payload string goes through before it is written: redaction, then truncation
//! to [`MAX_PAYLOAD_CHARS`] characters (except at `debug` verbosity).

use std::borrow::Cow;

use super::redact::Redactor;

/// Payload strings longer than this many characters are cut outside `debug` verbosity.
pub const MAX_PAYLOAD_CHARS: usize = 1000;

/// Redaction plus truncation, as configured for one stream.
#[derive(Debug, Clone, Default)]
pub struct PayloadPolicy {
    redactor: Redactor,
    max_chars: Option<usize>,
}

impl PayloadPolicy {
    /// A policy; `max_chars` `None` keeps strings whole.
    pub fn new(redactor: Redactor, max_chars: Option<usize>) -> PayloadPolicy {
        PayloadPolicy {
            redactor,
            max_chars,
        }
    }

    /// A policy that changes nothing.
    pub fn passthrough() -> PayloadPolicy {
        PayloadPolicy::default()
    }

    /// The longest text kept whole (`None`: no limit, as at `debug`).
    pub fn max_chars(&self) -> Option<usize> {
        self.max_chars
    }

    /// The redactor (for key checks).
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// `text` redacted, then truncated.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.redactor.text(text) {
            Cow::Borrowed(b) => truncate(b, self.max_chars),
            Cow::Owned(o) => match truncate(&o, self.max_chars) {
                Cow::Borrowed(_) => Cow::Owned(o),
                Cow::Owned(cut) => Cow::Owned(cut),
            },
        }
    }
}

/// `text` cut to `max_chars` characters plus a `...[truncated N chars]` marker saying how
/// many were removed; borrowed when it fits.
pub fn truncate(text: &str, max_chars: Option<usize>) -> Cow<'_, str> {
    let Some(max) = max_chars else {
        return Cow::Borrowed(text);
    };
    // A string of at most `max` bytes has at most `max` characters: no need to count.
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let Some((cut, _)) = text.char_indices().nth(max) else {
        return Cow::Borrowed(text);
    };
    let removed = text[cut..].chars().count();
    Cow::Owned(format!("{}...[truncated {removed} chars]", &text[..cut]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_long_strings_with_a_marker() {
        let long = "x".repeat(1500);
        let cut = truncate(&long, Some(MAX_PAYLOAD_CHARS));
        assert_eq!(cut.len(), 1000 + "...[truncated 500 chars]".len());
        assert!(cut.ends_with("...[truncated 500 chars]"));
        assert_eq!(truncate(&long, None), long);
        assert_eq!(truncate("short", Some(3)), "sho...[truncated 2 chars]");
        assert_eq!(truncate("exact", Some(5)), "exact");
    }

    #[test]
    fn counts_characters_not_bytes() {
        let s = "é".repeat(10);
        assert_eq!(truncate(&s, Some(10)), s);
        assert_eq!(truncate(&s, Some(4)), "éééé...[truncated 6 chars]");
    }

    #[test]
    fn redacts_before_truncating() {
        let policy = PayloadPolicy::new(Redactor::new(true, vec![], &[]), Some(20));
        let text = format!("key sk-abcdefghijkl {}", "y".repeat(30));
        let out = policy.text(&text);
        assert!(out.starts_with("key [REDACTED] yyyyy"), "{out}");
        assert!(out.contains("...[truncated"));
        assert!(!out.contains("sk-abc"));
    }
}
