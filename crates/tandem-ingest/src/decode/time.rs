//! Timestamps as JSON and CSV sources write them.
//!
//! Accepted: RFC 3339 (`2026-11-25T08:01:02.5Z`, `2026-11-25 08:01:02+01:00`), the same without
//! an offset (taken as UTC: a source that omits the zone almost always logs UTC, and guessing a
//! local zone would make the result depend on the machine Tandem runs on), and Unix epoch
//! numbers in seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude
//! (`1795593662`, `1795593662123`): no real log is from before 1973 in milliseconds or after
//! 5138 in seconds, so the ranges do not overlap.

use chrono::{DateTime, NaiveDateTime, Utc};
use tandem_model::Timestamp;

/// What an unparseable time is expected to look like, for error messages.
pub(crate) const EXPECTED: &str =
    "expected RFC 3339 like 2026-11-25T08:01:02Z or Unix epoch seconds/milliseconds";

/// Parses a timestamp written as text.
pub(crate) fn parse_str(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    if let Ok(n) = s.parse::<i64>() {
        return from_epoch_int(n);
    }
    if s.bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return s.parse::<f64>().ok().and_then(from_epoch);
    }
    None
}

/// Units per second for an epoch number of this magnitude.
fn units_per_second(magnitude: f64) -> i64 {
    match magnitude {
        x if x < 1e11 => 1,
        x if x < 1e14 => 1_000,
        x if x < 1e17 => 1_000_000,
        _ => 1_000_000_000,
    }
}

/// Converts an integral Unix epoch number exactly.
pub(crate) fn from_epoch_int(n: i64) -> Option<Timestamp> {
    let per_second = units_per_second(n.unsigned_abs() as f64);
    let nanos = n.rem_euclid(per_second) * (1_000_000_000 / per_second);
    DateTime::from_timestamp(n.div_euclid(per_second), u32::try_from(nanos).ok()?)
}

/// Converts a fractional Unix epoch number, in whichever unit its magnitude implies.
pub(crate) fn from_epoch(n: f64) -> Option<Timestamp> {
    if !n.is_finite() {
        return None;
    }
    let seconds = n / units_per_second(n.abs()) as f64;
    let whole = seconds.floor();
    // Microsecond rounding: finer digits of an f64 epoch are noise.
    let micros = ((seconds - whole) * 1e6).round().clamp(0.0, 999_999.0) as u32;
    // `as` saturates; out-of-range seconds make `from_timestamp` return None.
    DateTime::from_timestamp(whole as i64, micros * 1000)
}

/// Converts a JSON value (string or number) to a timestamp.
pub(crate) fn from_json(v: &serde_json::Value) -> Option<Timestamp> {
    match v {
        serde_json::Value::String(s) => parse_str(s),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => from_epoch_int(i),
            None => n.as_f64().and_then(from_epoch),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::test_support::at;

    #[test]
    fn text_forms() {
        let t = at("2026-11-25T08:01:02Z");
        assert_eq!(parse_str("2026-11-25T08:01:02Z"), Some(t));
        assert_eq!(parse_str("2026-11-25T09:01:02+01:00"), Some(t));
        assert_eq!(parse_str("2026-11-25 08:01:02Z"), Some(t));
        assert_eq!(parse_str("2026-11-25T08:01:02"), Some(t));
        assert_eq!(parse_str("2026-11-25 08:01:02"), Some(t));
        assert_eq!(parse_str(" 1795593662 "), Some(t));
        assert_eq!(
            parse_str("2026-11-25T08:01:02.250Z"),
            Some(at("2026-11-25T08:01:02.25Z"))
        );
        assert_eq!(parse_str("yesterday"), None);
        assert_eq!(parse_str("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_str(""), None);
        assert_eq!(parse_str("-"), None);
    }

    #[test]
    fn epoch_units_by_magnitude() {
        let t = at("2026-11-25T08:01:02Z");
        assert_eq!(from_epoch(1_795_593_662.0), Some(t));
        assert_eq!(from_epoch(1_795_593_662_000.0), Some(t));
        assert_eq!(from_epoch(1_795_593_662_000_000.0), Some(t));
        assert_eq!(
            from_epoch(1_795_593_662.5),
            Some(at("2026-11-25T08:01:02.5Z"))
        );
        assert_eq!(from_epoch(f64::NAN), None);
        assert_eq!(from_epoch(1e300), None);
        assert_eq!(
            from_epoch_int(i64::MIN),
            Some(at("1677-09-21T00:12:43.145224192Z"))
        );
        assert_eq!(
            from_epoch_int(i64::MAX),
            Some(at("2262-04-11T23:47:16.854775807Z"))
        );
        assert_eq!(from_epoch_int(-1), Some(at("1969-12-31T23:59:59Z")));
        let ns = serde_json::json!(1_795_593_662_123_456_789_i64);
        assert_eq!(from_json(&ns), Some(at("2026-11-25T08:01:02.123456789Z")));
        assert_eq!(
            from_json(&serde_json::json!(1_795_593_662_123_u64)),
            Some(at("2026-11-25T08:01:02.123Z"))
        );
        assert_eq!(from_json(&serde_json::json!(true)), None);
    }
}
