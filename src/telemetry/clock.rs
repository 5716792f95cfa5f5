//! Event time: a monotonic clock anchored to the wall clock once, at start, and the text
//! forms of a timestamp (RFC 3339 `2026-01-23T10:15:30.123Z`, human `2026-01-23 10:15:30.123`).
//!
//! Events are stamped with nanoseconds since the anchor (`Instant`), so a wall-clock jump
//! during a run cannot reorder the stream; the wall-clock date is only computed when the
//! writer formats a line, cached per second.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The anchor shared by every handle of one telemetry stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    anchor: Instant,
    anchor_unix_nanos: u64,
}

impl Clock {
    /// Anchors now.
    pub fn start() -> Clock {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Clock {
            anchor: Instant::now(),
            anchor_unix_nanos: u64::try_from(unix.as_nanos()).unwrap_or(u64::MAX),
        }
    }

    /// Nanoseconds since the anchor.
    #[inline]
    pub fn now(&self) -> u64 {
        u64::try_from(self.anchor.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The Unix time in milliseconds of a stamp returned by [`now`](Self::now).
    pub fn unix_millis(&self, stamp: u64) -> u64 {
        self.anchor_unix_nanos.saturating_add(stamp) / 1_000_000
    }
}

/// Formats timestamps, recomputing the calendar date only when the second changes.
#[derive(Debug)]
pub(crate) struct TimestampText {
    second: u64,
    /// `YYYY-MM-DDTHH:MM:SS` of `second`.
    prefix: [u8; 19],
}

impl Default for TimestampText {
    fn default() -> Self {
        TimestampText {
            second: u64::MAX,
            prefix: [b'0'; 19],
        }
    }
}

impl TimestampText {
    fn prefix_for(&mut self, unix_millis: u64) -> &mut [u8; 19] {
        let second = unix_millis / 1000;
        if second != self.second {
            self.second = second;
            self.prefix = calendar_text(second);
        }
        &mut self.prefix
    }

    /// Appends `2026-01-23T10:15:30.123Z`.
    pub fn rfc3339(&mut self, unix_millis: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(self.prefix_for(unix_millis));
        push_millis(unix_millis, out);
        out.push(b'Z');
    }

    /// Appends `2026-01-23 10:15:30.123`.
    pub fn human(&mut self, unix_millis: u64, out: &mut Vec<u8>) {
        let prefix = *self.prefix_for(unix_millis);
        out.extend_from_slice(&prefix[..10]);
        out.push(b' ');
        out.extend_from_slice(&prefix[11..]);
        push_millis(unix_millis, out);
    }
}

fn push_millis(unix_millis: u64, out: &mut Vec<u8>) {
    let ms = unix_millis % 1000;
    out.extend_from_slice(&[
        b'.',
        b'0' + (ms / 100) as u8,
        b'0' + (ms / 10 % 10) as u8,
        b'0' + (ms % 10) as u8,
    ]);
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) for a Unix second.
fn calendar_text(second: u64) -> [u8; 19] {
    let days = (second / 86_400) as i64;
    let rem = second % 86_400;
    let (year, month, day) = civil_from_days(days);
    let (h, m, s) = (rem / 3600, rem / 60 % 60, rem % 60);
    let mut out = [0u8; 19];
    let year = year.clamp(0, 9999) as u64;
    let digits = |n: u64, width: usize, at: &mut [u8]| {
        let mut n = n;
        for i in (0..width).rev() {
            at[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    digits(year, 4, &mut out[0..4]);
    out[4] = b'-';
    digits(month, 2, &mut out[5..7]);
    out[7] = b'-';
    digits(day, 2, &mut out[8..10]);
    out[10] = b'T';
    digits(h, 2, &mut out[11..13]);
    out[13] = b':';
    digits(m, 2, &mut out[14..16]);
    out[16] = b':';
    digits(s, 2, &mut out[17..19]);
    out
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc(ms: u64) -> String {
        let mut out = Vec::new();
        TimestampText::default().rfc3339(ms, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats_like_chrono() {
        for ms in [
            0u64,
            1_769_163_330_123,
            951_782_400_000, // 2000-02-29
            4_102_444_799_999,
            1_709_251_199_001, // 2024-02-29T23:59:59
        ] {
            let expected = chrono::DateTime::from_timestamp_millis(ms as i64)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            assert_eq!(rfc(ms), expected);
        }
        assert_eq!(rfc(1_769_163_330_123), "2026-01-23T10:15:30.123Z");
    }

    #[test]
    fn human_form_and_cache() {
        let mut text = TimestampText::default();
        let mut out = Vec::new();
        text.human(1_769_163_330_123, &mut out);
        out.push(b'|');
        text.human(1_769_163_330_999, &mut out);
        out.push(b'|');
        text.rfc3339(1_769_163_331_000, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2026-01-23 10:15:30.123|2026-01-23 10:15:30.999|2026-01-23T10:15:31.000Z"
        );
    }

    #[test]
    fn clock_is_monotonic() {
        let clock = Clock::start();
        let a = clock.now();
        let b = clock.now();
        assert!(b >= a);
        assert!(clock.unix_millis(b) >= clock.unix_millis(a));
    }
}
