//! The spelling of telemetry setting values shared by flags, environment variables and the
//! manifest: booleans, sizes with units, file counts.

/// Accepted boolean spellings, for error messages.
pub const BOOL_ACCEPTED: &str = "true, false, 1, 0, yes, no, on, off";

/// Accepted size spellings, for error messages.
pub const SIZE_ACCEPTED: &str = "a positive number of bytes with an optional unit B, KB, MB or GB (powers of 1024), e.g. 64KB, 10MB";

/// The largest accepted `max_files`.
pub const MAX_FILES_LIMIT: u32 = 1000;

/// Accepted `max_files` spellings, for error messages.
pub const MAX_FILES_ACCEPTED: &str = "a whole number from 0 to 1000";

/// `true/false/1/0/yes/no/on/off`, any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "n" => Some(false),
        _ => None,
    }
}

/// `512`, `512B`, `64KB`, `10 MB`, `1.5GB`, `2k`, `3MiB` (units are powers of 1024).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return None;
    }
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    // Whole numbers exactly (a float loses bytes above 2^53), fractions through f64.
    if let Ok(whole) = number.parse::<u64>() {
        return whole.checked_mul(multiplier).filter(|bytes| *bytes >= 1);
    }
    let value: f64 = number.parse().ok()?;
    let bytes = (value * multiplier as f64).round();
    if !(1.0..=(u64::MAX as f64)).contains(&bytes) {
        return None;
    }
    Some(bytes as u64)
}

/// `bytes` in the largest unit that divides it exactly (`10MB`, `64KB`, `1536B`): what
/// [`parse_size`] reads back as the same number.
pub fn format_size(bytes: u64) -> String {
    for (unit, size) in [("GB", 1u64 << 30), ("MB", 1 << 20), ("KB", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes}B")
}

/// A whole number from 0 to `MAX_FILES_LIMIT` (1000).
pub fn parse_max_files(text: &str) -> Option<u32> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n <= MAX_FILES_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for t in ["true", "TRUE", "1", "yes", "on", " On "] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "0", "no", "off", "OFF"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["", "maybe", "2", "enabled"] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("512B"), Some(512));
        assert_eq!(parse_size("64KB"), Some(64 * 1024));
        assert_eq!(parse_size("64kb"), Some(64 * 1024));
        assert_eq!(parse_size("10MB"), Some(10 * 1024 * 1024));
        assert_eq!(parse_size("10 MB"), Some(10 * 1024 * 1024));
        assert_eq!(parse_size("1GB"), Some(1 << 30));
        assert_eq!(parse_size("1.5KB"), Some(1536));
        assert_eq!(parse_size("2MiB"), Some(2 << 20));
        for bad in [
            "",
            "MB",
            "0",
            "0KB",
            "-1MB",
            "10XB",
            "ten",
            "1.2.3MB",
            ".5MB",
            "10MB extra",
        ] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn max_files() {
        assert_eq!(parse_max_files("0"), Some(0));
        assert_eq!(parse_max_files("5"), Some(5));
        assert_eq!(parse_max_files("1000"), Some(1000));
        for bad in ["-1", "1001", "x", "", "2.5"] {
            assert_eq!(parse_max_files(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn a_formatted_size_parses_back_to_itself(bytes in 1u64..) {
            proptest::prop_assert_eq!(parse_size(&format_size(bytes)), Some(bytes));
        }

        #[test]
        fn any_text_is_a_size_or_none(text in ".{0,24}") {
            let _ = parse_size(&text);
        }
    }

    #[test]
    fn whole_sizes_are_exact_and_overflow_is_refused() {
        assert_eq!(parse_size("9007199254740993"), Some(9_007_199_254_740_993));
        assert_eq!(parse_size("18446744073709551615B"), Some(u64::MAX));
        assert_eq!(parse_size("18446744073709551615KB"), None);
        assert_eq!(format_size(10 << 20), "10MB");
        assert_eq!(format_size(1536), "1536B");
    }
}
