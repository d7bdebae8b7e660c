//! Seeding and time-zone helpers shared by the generator, the simulator and the scenarios.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use tandem_model::Timestamp;

/// SplitMix64 finaliser: turns related inputs (seed, day number, person index) into unrelated
/// seeds, so that one person's day never depends on how many random numbers another used.
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(0x632B_E59B_D9B4_E019);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a: a stable string hash (std's `DefaultHasher` may change between Rust releases, which
/// would silently change every simulated key fingerprint).
pub(crate) fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// A seeded generator for one (seed, stream) pair.
pub(crate) fn rng(seed: u64, stream: u64) -> fastrand::Rng {
    fastrand::Rng::with_seed(mix(seed, stream))
}

/// Days since 1970-01-01, used as a per-day random stream number.
pub(crate) fn day_number(d: NaiveDate) -> u64 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    (d - epoch).num_days() as u64
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("valid date");
    let mut d = next - Duration::days(1);
    while d.weekday() != Weekday::Sun {
        d -= Duration::days(1);
    }
    d
}

/// Whether EU summer time is in force at `t`: from 01:00 UTC on the last Sunday of March to
/// 01:00 UTC on the last Sunday of October, the same instant in every EU/UK zone.
pub(crate) fn eu_summer_time(t: Timestamp) -> bool {
    let y = t.year();
    let start = Utc.from_utc_datetime(&last_sunday(y, 3).and_hms_opt(1, 0, 0).expect("time"));
    let end = Utc.from_utc_datetime(&last_sunday(y, 10).and_hms_opt(1, 0, 0).expect("time"));
    t >= start && t < end
}

/// Midnight-based local time of day from minutes (may exceed 24 h; rolls into the next day).
pub(crate) fn at_minutes(d: NaiveDate, minutes: f64) -> NaiveDateTime {
    let ms = (minutes * 60_000.0).round() as i64;
    d.and_time(NaiveTime::MIN) + Duration::milliseconds(ms)
}

/// Cuts sub-millisecond precision, so that times survive a JSON round trip unchanged.
pub(crate) fn trunc_ms(t: Timestamp) -> Timestamp {
    let ms = t.timestamp_millis();
    Utc.timestamp_millis_opt(ms).single().unwrap_or(t)
}

/// Cuts to whole seconds: RFC 3164 syslog has no fractions, so syslog records are stamped on
/// the second their line shows.
pub(crate) fn trunc_s(t: Timestamp) -> Timestamp {
    Utc.timestamp_opt(t.timestamp(), 0).single().unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summer_time_edges_2026() {
        // 2026: summer time from 29 March to 25 October.
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        assert!(!eu_summer_time(t("2026-03-29T00:59:59Z")));
        assert!(eu_summer_time(t("2026-03-29T01:00:00Z")));
        assert!(eu_summer_time(t("2026-10-25T00:59:59Z")));
        assert!(!eu_summer_time(t("2026-10-25T01:00:00Z")));
    }

    #[test]
    fn mix_spreads_neighbours() {
        assert_ne!(mix(1, 2), mix(1, 3));
        assert_ne!(mix(1, 2), mix(2, 1));
    }
}
