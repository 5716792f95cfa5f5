//! Redaction: what counts as a secret in a telemetry payload and how it is hidden.
//!
//! Three rules, applied on the writer thread (never on the emitting thread):
//! - a payload key that names a secret (`api_key`, `password`, `authorization`,
//!   `access_token`, `client_secret`, `private_key`... but not `input_tokens`) has its value
//!   replaced by `"[REDACTED]"`, plus any extra key names from the manifest;
//! - a substring that looks like a credential (`sk-...`, `Bearer ...`, GitHub, Slack, AWS and
//!   Google key shapes) is replaced by `[REDACTED]`, so a whole-credential string becomes
//!   exactly `"[REDACTED]"` and an error message keeps its words but loses the key;
//! - any occurrence of a secret value handed over at start (the project's `.env` values,
//!   API-key environment variables) is replaced the same way.

use std::borrow::Cow;

/// The replacement text.
pub const REDACTED: &str = "[REDACTED]";

/// Secret values shorter than this are not redacted by value: `.env` files hold short
/// non-secrets (`dev`, `us`, `1`) whose every occurrence would otherwise vanish.
pub const MIN_SECRET_LEN: usize = 4;

/// `.env` values that are configuration words, not secrets: never redacted by value (numbers
/// are skipped too), so `DEBUG=true` does not blank every `true` of every payload.
const NOT_SECRETS: &[&str] = &[
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "none",
    "null",
    "nil",
    "debug",
    "info",
    "warn",
    "warning",
    "error",
    "trace",
    "prod",
    "production",
    "dev",
    "development",
    "staging",
    "local",
    "localhost",
    "json",
    "yaml",
    "text",
    "http",
    "https",
    "utf-8",
    "utf8",
];

/// Credential shapes: a prefix, then at least `min_tail` token characters.
const CREDENTIAL_PREFIXES: &[(&str, usize)] = &[
    ("sk-", 4),
    ("ghp_", 10),
    ("gho_", 10),
    ("ghs_", 10),
    ("ghu_", 10),
    ("github_pat_", 10),
    ("xoxb-", 10),
    ("xoxp-", 10),
    ("xoxa-", 10),
    ("xoxr-", 10),
    ("AKIA", 16),
    ("AIza", 30),
];

/// Words that make a key secret wherever they appear in it.
const SECRET_WORDS: &[&str] = &[
    "secret",
    "secrets",
    "password",
    "passwords",
    "passwd",
    "passphrase",
    "credential",
    "credentials",
    "authorization",
    "apikey",
    "privatekey",
    "cookie",
];

/// Words that make a key secret when they end it (`x_auth`, `session_token`).
const SECRET_LAST_WORDS: &[&str] = &["token", "auth", "pwd", "jwt"];

/// Words that make `<word>_key` secret (`api_key`, `private_key`...).
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "private",
    "secret",
    "access",
    "signing",
    "encryption",
    "client",
    "master",
    "session",
    "license",
];

/// Decides what is secret; cheap to share (built once at start).
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    enabled: bool,
    /// Secret values, longest first so a longer secret wins over its own prefix.
    secrets: Vec<String>,
    /// Extra key names (normalised: lower case, words joined by `_`).
    extra_keys: Vec<String>,
    /// Bytes that can start a match (secret values, credential prefixes, `bearer`), so a
    /// string is scanned once and most positions are skipped after one table lookup.
    starts: StartBytes,
}

/// For each byte, what a match starting with it can be (bits [`SECRET_START`],
/// [`CREDENTIAL_START`], [`BEARER_START`]; 0: nothing starts with it).
#[derive(Debug, Clone)]
struct StartBytes([u8; 256]);

/// The first byte of a secret value.
const SECRET_START: u8 = 1;
/// The first byte of a credential prefix (`sk-`, `ghp_`...).
const CREDENTIAL_START: u8 = 2;
/// `b` or `B` (`Bearer ...`).
const BEARER_START: u8 = 4;

impl Default for StartBytes {
    fn default() -> Self {
        let mut set = [0u8; 256];
        for (prefix, _) in CREDENTIAL_PREFIXES {
            set[usize::from(prefix.as_bytes()[0])] |= CREDENTIAL_START;
        }
        set[usize::from(b'b')] |= BEARER_START;
        set[usize::from(b'B')] |= BEARER_START;
        StartBytes(set)
    }
}

impl Redactor {
    /// A redactor; `secrets` shorter than [`MIN_SECRET_LEN`], purely numeric, or common
    /// configuration words (`true`, `debug`, `production`...) are ignored.
    pub fn new(enabled: bool, secrets: Vec<String>, extra_keys: &[String]) -> Redactor {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| s.chars().count() >= MIN_SECRET_LEN)
            .filter(|s| !s.chars().all(|c| c.is_ascii_digit() || c == '.'))
            .filter(|s| !NOT_SECRETS.contains(&s.to_ascii_lowercase().as_str()))
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        let extra_keys = extra_keys.iter().map(|k| normalise_key(k)).collect();
        let mut starts = StartBytes::default();
        for secret in &secrets {
            starts.0[usize::from(secret.as_bytes()[0])] |= SECRET_START;
        }
        Redactor {
            enabled,
            secrets,
            extra_keys,
            starts,
        }
    }

    /// A redactor that changes nothing.
    pub fn off() -> Redactor {
        Redactor::default()
    }

    /// Whether redaction is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether the value under payload key `key` must be hidden.
    pub fn is_secret_key(&self, key: &str) -> bool {
        if !self.enabled {
            return false;
        }
        // Most keys are already in normal form (`input_tokens`): no copy then.
        let normal = if is_normal_key(key) {
            Cow::Borrowed(key)
        } else {
            Cow::Owned(normalise_key(key))
        };
        if self.extra_keys.iter().any(|k| *k == *normal) {
            return true;
        }
        let (mut before_last, mut last): (&[u8], &[u8]) = (b"", b"");
        for word in normal.as_bytes().split(|b| *b == b'_') {
            if word.is_empty() {
                continue;
            }
            if SECRET_WORDS.iter().any(|w| w.as_bytes() == word) {
                return true;
            }
            (before_last, last) = (last, word);
        }
        SECRET_LAST_WORDS.iter().any(|w| w.as_bytes() == last)
            || (last == b"key" && KEY_QUALIFIERS.iter().any(|w| w.as_bytes() == before_last))
    }

    /// `text` with every credential-looking substring and every secret value replaced by
    /// `[REDACTED]`; borrowed when nothing matched.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.enabled || text.len() < 4 {
            return Cow::Borrowed(text);
        }
        let bytes = text.as_bytes();
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for (at, byte) in bytes.iter().enumerate() {
            let starts = self.starts.0[usize::from(*byte)];
            if starts == 0 {
                continue;
            }
            let rest = &bytes[at..];
            // Longest secret first; a secret is whole UTF-8, so `at` is a char boundary.
            if starts & SECRET_START != 0
                && let Some(secret) = self.secrets.iter().find(|s| rest.starts_with(s.as_bytes()))
            {
                spans.push((at, at + secret.len()));
                continue;
            }
            if starts & (CREDENTIAL_START | BEARER_START) == 0
                || (at > 0 && bytes[at - 1].is_ascii_alphanumeric())
            {
                continue;
            }
            let credential = match starts & CREDENTIAL_START {
                0 => None,
                _ => credential_at(bytes, at),
            };
            let found = match credential {
                None if starts & BEARER_START != 0 => bearer_at(bytes, at),
                other => other,
            };
            if let Some(end) = found {
                spans.push((at, end));
            }
        }
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in spans {
            if end <= at {
                continue;
            }
            if start >= at {
                out.push_str(&text[at..start]);
                out.push_str(REDACTED);
            }
            at = end;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }
}

/// Whether `key` is its own [`normalise_key`]: lower-case ASCII words joined by single `_`.
fn is_normal_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    if bytes.first() == Some(&b'_') || bytes.last() == Some(&b'_') {
        return false;
    }
    // One pass: lower-case letters and digits, words joined by single underscores.
    let mut after_underscore = false;
    for &b in bytes {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => after_underscore = false,
            b'_' if !after_underscore => after_underscore = true,
            _ => return false,
        }
    }
    !bytes.is_empty()
}

/// Lower case, camelCase split, every run of non-alphanumerics turned into one `_`.
fn normalise_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut prev_lower = false;
    for c in key.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && prev_lower {
                out.push('_');
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            out.extend(c.to_lowercase());
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The end of a credential (`prefix` + at least `min_tail` token characters) at `at`.
fn credential_at(bytes: &[u8], at: usize) -> Option<usize> {
    let rest = &bytes[at..];
    CREDENTIAL_PREFIXES.iter().find_map(|(prefix, min_tail)| {
        // The first byte alone rules out most prefixes, without a comparison call.
        if rest.first() != prefix.as_bytes().first() || !rest.starts_with(prefix.as_bytes()) {
            return None;
        }
        let tail = rest[prefix.len()..]
            .iter()
            .take_while(|b| is_token_byte(**b))
            .count();
        (tail >= *min_tail).then_some(at + prefix.len() + tail)
    })
}

/// The end of `Bearer <token>` at `at`: the token at least 3 characters after `Bearer` or
/// `BEARER` (the usual spellings), at least 6 after other spellings (`bearer of news`).
fn bearer_at(bytes: &[u8], at: usize) -> Option<usize> {
    const WORD: &[u8] = b"bearer";
    let rest = &bytes[at..];
    if rest.len() <= WORD.len() || !rest[..WORD.len()].eq_ignore_ascii_case(WORD) {
        return None;
    }
    let spaces = rest[WORD.len()..]
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .count();
    if spaces == 0 {
        return None;
    }
    let token_start = WORD.len() + spaces;
    let token = rest[token_start..]
        .iter()
        .take_while(|b| is_token_byte(**b) || matches!(**b, b'.' | b'~' | b'+' | b'/' | b'='))
        .count();
    let usual = &rest[..WORD.len()] == b"Bearer" || &rest[..WORD.len()] == b"BEARER";
    let min = if usual { 3 } else { 6 };
    (token >= min).then_some(at + token_start + token)
}

/// Values of environment variables whose names look like they hold credentials
/// (`*_API_KEY`, `*_TOKEN`, `*_SECRET*`, `*PASSWORD*`...), to hand to `Telemetry::start`.
pub fn secret_env_values<I, K, V>(vars: I) -> Vec<String>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let probe = Redactor::new(true, Vec::new(), &[]);
    vars.into_iter()
        .filter(|(k, _)| {
            let k = k.as_ref();
            probe.is_secret_key(k) || k.to_ascii_uppercase().ends_with("_KEY")
        })
        .map(|(_, v)| v.as_ref().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> Redactor {
        Redactor::new(
            true,
            vec![
                "hunter2-pass".into(),
                "abc".into(),
                "true".into(),
                "8080".into(),
                "s3cr".into(),
            ],
            &["customer_email".into()],
        )
    }

    #[test]
    fn secret_keys() {
        let r = on();
        for key in [
            "api_key",
            "apiKey",
            "OPENAI_API_KEY",
            "x-api-key",
            "secret",
            "client_secret",
            "password",
            "db_password",
            "Authorization",
            "access_token",
            "token",
            "refresh_token",
            "credentials",
            "private_key",
            "customerEmail",
            "customer-email",
        ] {
            assert!(r.is_secret_key(key), "{key}");
        }
        for key in [
            "input_tokens",
            "output_tokens",
            "max_tokens",
            "token_usage",
            "tokens",
            "key",
            "monkey",
            "name",
            "topic",
        ] {
            assert!(!r.is_secret_key(key), "{key}");
        }
        assert!(!Redactor::off().is_secret_key("api_key"));
        assert!(
            r.is_secret_key("customer_email"),
            "extra key already normal"
        );
    }

    #[test]
    fn keys_taken_as_normal_are_their_own_normal_form() {
        for key in [
            "api_key", "a1_b2", "x", "_x", "x_", "a__b", "apiKey", "A", "é", "x-y", "",
        ] {
            if is_normal_key(key) {
                assert_eq!(normalise_key(key), key);
            }
        }
        assert!(is_normal_key("input_tokens") && !is_normal_key("a__b") && !is_normal_key(""));
    }

    #[test]
    fn credential_shapes() {
        let r = on();
        assert_eq!(r.text("sk-ant-api03-abcdefgh"), REDACTED);
        assert_eq!(r.text("Bearer abcdef123456"), REDACTED);
        assert_eq!(
            r.text("401 from API: invalid key sk-proj-1234567890 given"),
            "401 from API: invalid key [REDACTED] given"
        );
        assert_eq!(
            r.text("header Authorization: bearer eyJhbGciOi.x.y"),
            "header Authorization: [REDACTED]"
        );
        assert_eq!(r.text("token ghp_abcdefghijklmnop"), "token [REDACTED]");
        assert_eq!(r.text("AKIAABCDEFGHIJKLMNOP"), REDACTED);
        // Not credentials.
        for plain in [
            "risk-assessment",
            "task-manager",
            "sk-",
            "Bearer",
            "bearer of news",
            "sk-abc",
        ] {
            assert_eq!(r.text(plain), plain, "{plain}");
        }
    }

    #[test]
    fn secret_values_anywhere() {
        let r = on();
        assert_eq!(r.text("hunter2-pass"), REDACTED);
        assert_eq!(r.text("pw=hunter2-pass;x"), "pw=[REDACTED];x");
        assert_eq!(r.text("hunter2-pass hunter2-pass"), "[REDACTED] [REDACTED]");
        assert_eq!(r.text("key s3cr!"), "key [REDACTED]!");
        // Short secrets, numbers and configuration words are ignored.
        assert_eq!(r.text("abcdef"), "abcdef");
        assert_eq!(r.text("true on port 8080"), "true on port 8080");
        assert!(matches!(r.text("nothing to see"), Cow::Borrowed(_)));
        assert_eq!(
            Redactor::off().text("sk-ant-api03-abcdefgh"),
            "sk-ant-api03-abcdefgh"
        );
    }

    #[test]
    fn overlapping_spans_merge() {
        let r = Redactor::new(
            true,
            vec!["sk-ant-secretvalue".into(), "secretvalue".into()],
            &[],
        );
        assert_eq!(r.text("x sk-ant-secretvalue y"), "x [REDACTED] y");
    }

    #[test]
    fn unicode_is_safe() {
        let r = on();
        assert_eq!(r.text("héllo wörld — Bearer ✓"), "héllo wörld — Bearer ✓");
        assert_eq!(r.text("ключ sk-abcdef123 ключ"), "ключ [REDACTED] ключ");
    }

    #[test]
    fn env_values() {
        let vars = [
            ("ANTHROPIC_API_KEY", "sk-ant-xyz"),
            ("GITHUB_TOKEN", "ghp_x"),
            ("DB_PASSWORD", "pw"),
            ("HOME", "/root"),
            ("PATH", "/bin"),
            ("EMPTY_SECRET", ""),
        ];
        assert_eq!(secret_env_values(vars), vec!["sk-ant-xyz", "ghp_x", "pw"]);
    }
}
