//! Local wall-clock time at a site, without a time-zone database.
//!
//! `chrono-tz` is not a dependency of Tandem (it would add the whole IANA database to every
//! build for the one detection that needs local hours), so sites' IANA names are looked up in
//! a fixed table of standard offsets and daylight-saving rules. The rules are exact for the
//! zones listed from 2007 on (EU since 1996, US since 2007, Australia since 2008, New Zealand
//! since 2007); zones not in the table can be written as a fixed offset (`UTC+02:00`,
//! `+0530`, `Etc/GMT-2` in the POSIX-inverted sign convention) and otherwise count as UTC —
//! the callers say so in the finding.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use tandem_model::Timestamp;

/// Daylight-saving rule of a zone.
#[derive(Clone, Copy)]
enum Dst {
    None,
    /// Last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC.
    Eu,
    /// Second Sunday of March 02:00 local to first Sunday of November 02:00 local.
    Us,
    /// First Sunday of October 02:00 standard to first Sunday of April 03:00 daylight.
    AuSouth,
    /// Last Sunday of September 02:00 standard to first Sunday of April 03:00 daylight.
    Nz,
}

/// `(IANA name, standard offset in minutes east of UTC, rule)`.
const ZONES: &[(&str, i32, Dst)] = &[
    ("UTC", 0, Dst::None),
    ("Etc/UTC", 0, Dst::None),
    ("GMT", 0, Dst::None),
    ("Etc/GMT", 0, Dst::None),
    ("Europe/London", 0, Dst::Eu),
    ("Europe/Dublin", 0, Dst::Eu),
    ("Europe/Lisbon", 0, Dst::Eu),
    ("Atlantic/Reykjavik", 0, Dst::None),
    ("Europe/Oslo", 60, Dst::Eu),
    ("Europe/Stockholm", 60, Dst::Eu),
    ("Europe/Copenhagen", 60, Dst::Eu),
    ("Europe/Berlin", 60, Dst::Eu),
    ("Europe/Paris", 60, Dst::Eu),
    ("Europe/Amsterdam", 60, Dst::Eu),
    ("Europe/Brussels", 60, Dst::Eu),
    ("Europe/Luxembourg", 60, Dst::Eu),
    ("Europe/Madrid", 60, Dst::Eu),
    ("Europe/Rome", 60, Dst::Eu),
    ("Europe/Vienna", 60, Dst::Eu),
    ("Europe/Zurich", 60, Dst::Eu),
    ("Europe/Prague", 60, Dst::Eu),
    ("Europe/Warsaw", 60, Dst::Eu),
    ("Europe/Budapest", 60, Dst::Eu),
    ("Europe/Belgrade", 60, Dst::Eu),
    ("Europe/Zagreb", 60, Dst::Eu),
    ("Europe/Ljubljana", 60, Dst::Eu),
    ("Europe/Bratislava", 60, Dst::Eu),
    ("Europe/Malta", 60, Dst::Eu),
    ("Africa/Lagos", 60, Dst::None),
    ("Europe/Helsinki", 120, Dst::Eu),
    ("Europe/Tallinn", 120, Dst::Eu),
    ("Europe/Riga", 120, Dst::Eu),
    ("Europe/Vilnius", 120, Dst::Eu),
    ("Europe/Athens", 120, Dst::Eu),
    ("Europe/Bucharest", 120, Dst::Eu),
    ("Europe/Sofia", 120, Dst::Eu),
    ("Europe/Kyiv", 120, Dst::Eu),
    ("Europe/Kiev", 120, Dst::Eu),
    ("Africa/Johannesburg", 120, Dst::None),
    ("Europe/Istanbul", 180, Dst::None),
    ("Europe/Moscow", 180, Dst::None),
    ("Africa/Nairobi", 180, Dst::None),
    ("Asia/Riyadh", 180, Dst::None),
    ("Asia/Dubai", 240, Dst::None),
    ("Asia/Karachi", 300, Dst::None),
    ("Asia/Kolkata", 330, Dst::None),
    ("Asia/Calcutta", 330, Dst::None),
    ("Asia/Bangkok", 420, Dst::None),
    ("Asia/Jakarta", 420, Dst::None),
    ("Asia/Ho_Chi_Minh", 420, Dst::None),
    ("Asia/Singapore", 480, Dst::None),
    ("Asia/Shanghai", 480, Dst::None),
    ("Asia/Hong_Kong", 480, Dst::None),
    ("Asia/Taipei", 480, Dst::None),
    ("Asia/Manila", 480, Dst::None),
    ("Australia/Perth", 480, Dst::None),
    ("Asia/Tokyo", 540, Dst::None),
    ("Asia/Seoul", 540, Dst::None),
    ("Australia/Brisbane", 600, Dst::None),
    ("Australia/Sydney", 600, Dst::AuSouth),
    ("Australia/Melbourne", 600, Dst::AuSouth),
    ("Australia/Canberra", 600, Dst::AuSouth),
    ("Australia/Hobart", 600, Dst::AuSouth),
    ("Pacific/Auckland", 720, Dst::Nz),
    ("America/Sao_Paulo", -180, Dst::None),
    ("America/Argentina/Buenos_Aires", -180, Dst::None),
    ("America/Halifax", -240, Dst::Us),
    ("America/New_York", -300, Dst::Us),
    ("America/Toronto", -300, Dst::Us),
    ("America/Detroit", -300, Dst::Us),
    ("America/Bogota", -300, Dst::None),
    ("America/Lima", -300, Dst::None),
    ("America/Chicago", -360, Dst::Us),
    ("America/Mexico_City", -360, Dst::None),
    ("America/Denver", -420, Dst::Us),
    ("America/Phoenix", -420, Dst::None),
    ("America/Los_Angeles", -480, Dst::Us),
    ("America/Vancouver", -480, Dst::Us),
    ("America/Anchorage", -540, Dst::Us),
    ("Pacific/Honolulu", -600, Dst::None),
];

/// The `n`th (1-based) `weekday` of `month`, or the last one when `n` is 0.
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
    if n == 0 {
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        }
        .unwrap_or_default();
        let last = next - Duration::days(1);
        let back = (7 + last.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
        return last - Duration::days(i64::from(back));
    }
    let fwd = (7 + weekday.num_days_from_monday() - first.weekday().num_days_from_monday()) % 7;
    first + Duration::days(i64::from(fwd) + 7 * i64::from(n - 1))
}

/// A UTC instant from a local date, an hour and an offset in minutes.
fn instant(day: NaiveDate, hour: u32, offset_minutes: i32) -> Timestamp {
    let local = day.and_hms_opt(hour, 0, 0).unwrap_or_default();
    Utc.from_utc_datetime(&local) - Duration::minutes(i64::from(offset_minutes))
}

fn in_dst(rule: Dst, std: i32, t: Timestamp) -> bool {
    let y = t.year();
    match rule {
        Dst::None => false,
        Dst::Eu => {
            let start = instant(nth_weekday(y, 3, Weekday::Sun, 0), 1, 0);
            let end = instant(nth_weekday(y, 10, Weekday::Sun, 0), 1, 0);
            t >= start && t < end
        }
        Dst::Us => {
            let start = instant(nth_weekday(y, 3, Weekday::Sun, 2), 2, std);
            let end = instant(nth_weekday(y, 11, Weekday::Sun, 1), 2, std + 60);
            t >= start && t < end
        }
        Dst::AuSouth => {
            let end = instant(nth_weekday(y, 4, Weekday::Sun, 1), 3, std + 60);
            let start = instant(nth_weekday(y, 10, Weekday::Sun, 1), 2, std);
            t < end || t >= start
        }
        Dst::Nz => {
            let end = instant(nth_weekday(y, 4, Weekday::Sun, 1), 3, std + 60);
            let start = instant(nth_weekday(y, 9, Weekday::Sun, 0), 2, std);
            t < end || t >= start
        }
    }
}

/// `UTC+02:00`, `GMT-5`, `+0530`, `Etc/GMT-2` (POSIX sign: that one is UTC+2).
fn fixed_offset(tz: &str) -> Option<i32> {
    let s = tz.trim();
    let (posix, rest) = if let Some(r) = s.strip_prefix("Etc/GMT") {
        (true, r)
    } else if let Some(r) = s.strip_prefix("UTC").or_else(|| s.strip_prefix("GMT")) {
        (false, r)
    } else {
        (false, s)
    };
    let sign = match rest.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = if digits.len() <= 2 {
        (digits.parse::<i32>().ok()?, 0)
    } else {
        let (h, m) = digits.split_at(digits.len() - 2);
        (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?)
    };
    if h > 14 || m > 59 {
        return None;
    }
    let minutes = sign * (h * 60 + m);
    Some(if posix { -minutes } else { minutes })
}

/// The offset from UTC in minutes in force in `tz` at `t`, if `tz` is known (see the module
/// docs for what is).
pub fn utc_offset_minutes(tz: &str, t: Timestamp) -> Option<i32> {
    if let Some(&(_, std, rule)) = ZONES.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(tz)) {
        return Some(std + if in_dst(rule, std, t) { 60 } else { 0 });
    }
    fixed_offset(tz)
}

/// Wall-clock time in `tz` at `t`, and whether the zone was known (`false`: UTC was used).
pub fn local_time(tz: Option<&str>, t: Timestamp) -> (NaiveDateTime, bool) {
    match tz.and_then(|z| utc_offset_minutes(z, t)) {
        Some(m) => ((t + Duration::minutes(i64::from(m))).naive_utc(), true),
        None => (t.naive_utc(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn eu_summer_time_switches_at_one_utc() {
        // 2026: last Sunday of March is the 29th, of October the 25th.
        assert_eq!(
            utc_offset_minutes("Europe/Oslo", at("2026-03-29T00:59:00Z")),
            Some(60)
        );
        assert_eq!(
            utc_offset_minutes("Europe/Oslo", at("2026-03-29T01:00:00Z")),
            Some(120)
        );
        assert_eq!(
            utc_offset_minutes("Europe/Oslo", at("2026-10-25T00:59:00Z")),
            Some(120)
        );
        assert_eq!(
            utc_offset_minutes("Europe/Oslo", at("2026-10-25T01:00:00Z")),
            Some(60)
        );
        assert_eq!(
            utc_offset_minutes("Europe/London", at("2026-07-01T12:00:00Z")),
            Some(60)
        );
    }

    #[test]
    fn us_and_southern_rules() {
        // 2026: DST from March 8 to November 1.
        assert_eq!(
            utc_offset_minutes("America/New_York", at("2026-03-08T06:59:00Z")),
            Some(-300)
        );
        assert_eq!(
            utc_offset_minutes("America/New_York", at("2026-03-08T07:00:00Z")),
            Some(-240)
        );
        assert_eq!(
            utc_offset_minutes("America/New_York", at("2026-11-01T05:59:00Z")),
            Some(-240)
        );
        assert_eq!(
            utc_offset_minutes("America/New_York", at("2026-11-01T06:00:00Z")),
            Some(-300)
        );
        assert_eq!(
            utc_offset_minutes("Australia/Sydney", at("2026-01-15T00:00:00Z")),
            Some(660)
        );
        assert_eq!(
            utc_offset_minutes("Australia/Sydney", at("2026-07-15T00:00:00Z")),
            Some(600)
        );
        assert_eq!(
            utc_offset_minutes("Pacific/Auckland", at("2026-12-15T00:00:00Z")),
            Some(780)
        );
    }

    #[test]
    fn fixed_offsets_and_unknown_zones() {
        let t = at("2026-07-01T00:00:00Z");
        assert_eq!(utc_offset_minutes("UTC+02:00", t), Some(120));
        assert_eq!(utc_offset_minutes("+0530", t), Some(330));
        assert_eq!(utc_offset_minutes("Etc/GMT-2", t), Some(120));
        assert_eq!(utc_offset_minutes("Mars/Olympus_Mons", t), None);
        let (local, known) = local_time(Some("Mars/Olympus_Mons"), t);
        assert!(!known);
        assert_eq!(local, t.naive_utc());
    }
}
