//! Time bounds (`from`/`to`, and time literals inside queries) and aggregation spans.
//!
//! Both are small, closed grammars, so they are parsed by hand: the forms people paste from
//! Kibana, Grafana and Splunk URLs (`now-15m`, RFC 3339, epoch milliseconds) all work, and
//! every failure says which forms would have.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};

use crate::ParseError;

const TIME_FORMS: &str = "expected RFC 3339 (2026-11-25T08:00:00Z), a date (2026-11-25), \
     epoch seconds or milliseconds, or a relative time such as now-15m or -24h";

/// Parse one end of a time window, as given to the API's `from`/`to` parameters.
///
/// Accepted forms:
/// - RFC 3339, with `Z` or an offset: `2026-11-25T08:00:00Z`, `2026-11-25T09:00:00+01:00`;
///   a space may replace the `T`;
/// - a date, read as midnight UTC: `2026-11-25`;
/// - a date and time without offset, read as UTC: `2026-11-25T08:00`, `2026-11-25 08:00:00`;
/// - epoch seconds (up to 12 digits) or epoch milliseconds (exactly 13 digits);
/// - `now`, optionally followed by offsets: `now-15m`, `now+1h`, `now-1d+2h`;
/// - a bare offset: `-24h`, `+1h`, or `15m`, which means 15 minutes ago.
///
/// Units are `s`, `m`, `h`, `d` and `w`. `now` is passed in rather than read from the clock
/// so that one request resolves all its bounds against the same instant, and so that tests
/// are deterministic.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use tandem_query::parse_time_bound;
/// let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
/// assert_eq!(parse_time_bound("now-2h", now).unwrap(), Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap());
/// assert_eq!(parse_time_bound("2026-11-24", now).unwrap(), Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap());
/// ```
pub fn parse_time_bound(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ParseError> {
    let lead = s.len() - s.trim_start().len();
    let t = s.trim();
    if t.is_empty() {
        return Err(ParseError::new(format!("expected a time; {TIME_FORMS}"), 0));
    }
    let invalid = || ParseError::new(format!("invalid time `{t}`; {TIME_FORMS}"), lead);

    // `now` and `now±N…`.
    if let Some(head) = t.get(..3)
        && head.eq_ignore_ascii_case("now")
    {
        return apply_offsets(&t[3..], now).map_err(|e| e.offset(lead + 3));
    }
    // Bare offsets: `-24h`, `+1h`.
    if t.starts_with(['-', '+']) {
        return apply_offsets(t, now).map_err(|e| e.offset(lead));
    }
    // All digits: epoch seconds or milliseconds.
    if t.bytes().all(|b| b.is_ascii_digit()) {
        let parsed = match t.len() {
            13 => t
                .parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_millis),
            1..=12 => t
                .parse::<i64>()
                .ok()
                .and_then(|s| DateTime::from_timestamp(s, 0)),
            _ => {
                return Err(ParseError::new(
                    format!(
                        "epoch timestamp `{t}` has {} digits; use seconds (up to 12 digits) \
                         or milliseconds (13 digits)",
                        t.len()
                    ),
                    lead,
                ));
            }
        };
        return parsed.ok_or_else(invalid);
    }
    // `15m`: that long ago.
    if let Some(unit) = t.chars().last()
        && unit_seconds(unit).is_some()
        && t[..t.len() - 1].bytes().all(|b| b.is_ascii_digit())
    {
        return apply_offsets(&format!("-{t}"), now).map_err(|e| ParseError::new(e.message, lead));
    }
    parse_absolute(t).ok_or_else(invalid)
}

/// Absolute date/time forms; `None` when `t` is none of them.
fn parse_absolute(t: &str) -> Option<DateTime<Utc>> {
    // Accept `2026-11-25 08:00:00Z` and `2026-11-25t08:00:00z` as RFC 3339 too.
    let mut norm = t.to_string();
    if norm.len() > 10 && norm.is_char_boundary(10) && norm.is_char_boundary(11) {
        let sep = &norm[10..11];
        if sep == " " || sep == "t" {
            norm.replace_range(10..11, "T");
        }
    }
    if let Some(stripped) = norm.strip_suffix('z') {
        norm = format!("{stripped}Z");
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(&norm) {
        return Some(dt.with_timezone(&Utc));
    }
    // Offset given, seconds omitted: `2026-11-25T08:00Z`, `2026-11-25T08:00+01:00`.
    if let Some(dt) = norm
        .strip_suffix('Z')
        .and_then(|base| NaiveDateTime::parse_from_str(base, "%Y-%m-%dT%H:%M").ok())
    {
        return Some(dt.and_utc());
    }
    if let Ok(dt) = DateTime::parse_from_str(&norm, "%Y-%m-%dT%H:%M%:z") {
        return Some(dt.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(&norm, format) {
            return Some(dt.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|dt| dt.and_utc());
    }
    None
}

/// Seconds in one `unit`.
fn unit_seconds(unit: char) -> Option<i64> {
    match unit {
        's' => Some(1),
        'm' => Some(60),
        'h' => Some(3_600),
        'd' => Some(86_400),
        'w' => Some(604_800),
        _ => None,
    }
}

/// Apply a chain of `±N unit` offsets (possibly empty) to `base`. Error positions are
/// relative to `s`.
fn apply_offsets(s: &str, base: DateTime<Utc>) -> Result<DateTime<Utc>, ParseError> {
    let mut t = base;
    let mut rest = s;
    while !rest.is_empty() {
        let at = s.len() - rest.len();
        let sign = match rest.as_bytes()[0] {
            b'-' => -1,
            b'+' => 1,
            _ => {
                return Err(ParseError::new(
                    format!("expected `+` or `-` and an offset such as 15m, found `{rest}`"),
                    at,
                ));
            }
        };
        rest = &rest[1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let unit = rest[digits..].chars().next();
        let Some(unit_secs) = unit.and_then(unit_seconds).filter(|_| digits > 0) else {
            return Err(ParseError::new(
                "expected an offset such as 15m, 24h or 7d (units s, m, h, d, w)",
                at + 1,
            ));
        };
        let seconds = rest[..digits]
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(unit_secs))
            .and_then(|n| n.checked_mul(sign));
        t = seconds
            .and_then(TimeDelta::try_seconds)
            .and_then(|d| t.checked_add_signed(d))
            .ok_or_else(|| ParseError::new("time offset is out of range", at))?;
        rest = &rest[digits + 1..];
    }
    Ok(t)
}

/// Parse an aggregation span such as `30s`, `5m`, `1h`, `1d` or `1w` into seconds.
///
/// Spans must be positive whole numbers of one unit: bucketing by zero or by a mixed span
/// has no useful meaning, and rejecting it here gives the user a message instead of an
/// empty chart.
///
/// ```
/// assert_eq!(tandem_query::parse_span("15m").unwrap(), 900);
/// assert!(tandem_query::parse_span("0s").is_err());
/// ```
pub fn parse_span(s: &str) -> Result<i64, ParseError> {
    let invalid = || {
        ParseError::new(
            format!("invalid span `{s}`; expected a number and a unit s, m, h, d or w, such as 1h"),
            0,
        )
    };
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let mut unit = s[digits..].chars();
    let (Some(u), None) = (unit.next(), unit.next()) else {
        return Err(invalid());
    };
    let Some(unit_secs) = unit_seconds(u).filter(|_| digits > 0) else {
        return Err(invalid());
    };
    let n = s[..digits].parse::<i64>().ok();
    if n == Some(0) {
        return Err(ParseError::new("span must be greater than zero", 0));
    }
    n.and_then(|n| n.checked_mul(unit_secs))
        .filter(|&secs| TimeDelta::try_seconds(secs).is_some())
        .ok_or_else(|| ParseError::new(format!("span `{s}` is too large"), 0))
}
