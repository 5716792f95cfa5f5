//! JSON text written the way the original's Python `json.dumps` wrote it, so that the raw
//! `text` of a json prompt's output (the structured-output tool input) reads the same as
//! before: `", "` and `": "` separators, non-ASCII characters escaped as `\uXXXX`
//! (`ensure_ascii`), and floats in Python's `repr` form (`1e-05`, `1e+16`, `100.0`). `-o text`
//! prints output objects this way too, and `--wait-for` timeouts in seconds as floats.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{Formatter, Serializer};

/// `value` as Python's `json.dumps(value)` would print it.
pub fn dumps(value: &Value) -> String {
    let mut out = Vec::new();
    match write_dumps(&mut out, value) {
        // The formatter writes ASCII only, so the bytes are always UTF-8.
        Ok(()) => String::from_utf8(out).unwrap_or_else(|_| value.to_string()),
        Err(_) => value.to_string(),
    }
}

/// Writes `value` to `out` as Python's `json.dumps(value)` would print it (streamed: the
/// value can be as big as a run's inputs).
pub fn write_dumps<T: Serialize + ?Sized>(out: &mut impl Write, value: &T) -> io::Result<()> {
    let mut serializer = Serializer::with_formatter(out, PythonFormatter);
    value.serialize(&mut serializer).map_err(io::Error::from)
}

/// A serde_json formatter with Python's default `json.dumps` layout.
struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(python_float_repr(value).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Quotes, backslashes and control characters never reach here (serde_json escapes
        // them as Python does); everything outside printable ASCII is escaped like
        // `ensure_ascii`, as UTF-16 code units in lowercase hex.
        for ch in fragment.chars() {
            if (' '..='~').contains(&ch) {
                writer.write_all(&[ch as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

/// Python's `repr(float)`: the shortest round-tripping digits, positional when the decimal
/// exponent is in -4..16, else scientific with a signed exponent of at least two digits.
pub fn python_float_repr(value: f64) -> String {
    if !value.is_finite() {
        // JSON values cannot hold these; kept total anyway.
        return value.to_string();
    }
    let scientific = format!("{value:e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return value.to_string();
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return value.to_string();
    };
    let sign = if mantissa.starts_with('-') { "-" } else { "" };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exponent) {
        let whole_digits = exponent + 1;
        if whole_digits <= 0 {
            let zeros = "0".repeat(whole_digits.unsigned_abs() as usize);
            format!("{sign}0.{zeros}{digits}")
        } else {
            let whole_digits = whole_digits as usize;
            if whole_digits >= digits.len() {
                let zeros = "0".repeat(whole_digits - digits.len());
                format!("{sign}{digits}{zeros}.0")
            } else {
                let (whole, fraction) = digits.split_at(whole_digits);
                format!("{sign}{whole}.{fraction}")
            }
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{sign}{mantissa}e{exponent_sign}{:02}",
            exponent.unsigned_abs()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uses_python_separators_and_key_order() {
        let value = json!({"b": [1, 2, {"c": null}], "a": true, "s": "x"});
        assert_eq!(
            dumps(&value),
            r#"{"b": [1, 2, {"c": null}], "a": true, "s": "x"}"#
        );
        assert_eq!(dumps(&json!({})), "{}");
        assert_eq!(dumps(&json!([])), "[]");
    }

    #[test]
    fn escapes_like_ensure_ascii() {
        let value = json!("café \u{1F600} \"q\" \\ \n\t\u{7f}\u{1}");
        assert_eq!(
            dumps(&value),
            r#""caf\u00e9 \ud83d\ude00 \"q\" \\ \n\t\u007f\u0001""#
        );
    }

    #[test]
    fn writes_floats_like_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (100.0, "100.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345e20, "1.2345e+20"),
            (123.456, "123.456"),
            (-0.0, "-0.0"),
        ];
        for (value, expected) in cases {
            assert_eq!(python_float_repr(value), expected, "{value}");
        }
        assert_eq!(dumps(&json!({"x": 3.0, "n": 3})), r#"{"x": 3.0, "n": 3}"#);
    }
}
