//! Opening schedules of restricted places: per weekday, local time spans to the minute.
//!
//! Real schedules are rarely whole hours or the same every day (`Mon–Fri 07:30–18:45,
//! Sat 09:00–13:00`), so a place's `allowed_hours` is a weekly schedule. A places file may
//! write it three ways, all read into the same [`AllowedHours`]:
//!
//! ```yaml
//! allowed_hours: "mon-fri 07:30-18:45; sat 09:00-13:00"       # text
//! allowed_hours: { mon-fri: "07:30-18:45", sat: [09:00-13:00] } # per day
//! allowed_hours: { from_hour: 7, to_hour: 19 }                  # whole hours on weekdays (older form)
//! ```
//!
//! A span whose end is before its start runs past midnight into the next day
//! (`22:00-06:00`); `00:00-24:00` is the whole day; days not named are closed. It is written
//! back (and shown) in the text form, with runs of identical days joined (`mon-fri`).

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};
use std::fmt;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTES_PER_DAY: u16 = 24 * 60;

/// One span of a day, in minutes since local midnight: `from` inclusive, `to` exclusive.
/// `to < from` runs past midnight into the next day; `to` may be 1440 (`24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub from: u16,
    pub to: u16,
}

/// When entering a restricted place is expected, in the site's local time: spans per weekday,
/// Monday first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "serde_json::Value", into = "String")]
pub struct AllowedHours {
    days: [Vec<Span>; 7],
}

impl AllowedHours {
    /// Whole hours, `from_hour..to_hour`, on weekdays (and weekends with `weekends`): the
    /// schedule older places files wrote. `from_hour > to_hour` runs past midnight, equal
    /// hours are the whole day.
    pub fn whole_hours(from_hour: u8, to_hour: u8, weekends: bool) -> Result<Self, String> {
        if from_hour > 24 || to_hour > 24 {
            return Err(format!(
                "allowed hours {from_hour}-{to_hour}: hours go from 0 to 24"
            ));
        }
        let span = if from_hour % 24 == to_hour % 24 {
            Span {
                from: 0,
                to: MINUTES_PER_DAY,
            }
        } else {
            Span {
                from: u16::from(from_hour % 24) * 60,
                to: u16::from(to_hour) * 60,
            }
        };
        let mut h = AllowedHours::default();
        let days = if weekends { 7 } else { 5 };
        for d in h.days.iter_mut().take(days) {
            d.push(span);
        }
        Ok(h)
    }

    /// The spans of a weekday (`chrono::Weekday::num_days_from_monday`).
    pub fn day(&self, weekday: chrono::Weekday) -> &[Span] {
        &self.days[weekday.num_days_from_monday() as usize]
    }

    /// Whether local wall-clock time `t` lies inside the schedule. A date in `holidays` is
    /// closed: its own spans do not apply (a night span that began the evening before still
    /// runs into it).
    pub fn allows(&self, t: NaiveDateTime, holidays: &[NaiveDate]) -> bool {
        let minute = (t.hour() * 60 + t.minute()) as u16;
        let today = t.date();
        let wd = today.weekday().num_days_from_monday() as usize;
        if !holidays.contains(&today) {
            let open = self.days[wd].iter().any(|s| {
                if s.from < s.to {
                    minute >= s.from && minute < s.to
                } else {
                    minute >= s.from
                }
            });
            if open {
                return true;
            }
        }
        let Some(yesterday) = today.pred_opt() else {
            return false;
        };
        if holidays.contains(&yesterday) {
            return false;
        }
        self.days[(wd + 6) % 7]
            .iter()
            .any(|s| s.to < s.from && minute < s.to)
    }

    fn parse_days(days: &str) -> Result<Vec<usize>, String> {
        let mut out = Vec::new();
        let day = |s: &str| {
            let s = s.trim().to_ascii_lowercase();
            DAYS.iter()
                .position(|d| s.get(..3) == Some(*d) && is_day_name(&s))
                .ok_or_else(|| format!("`{s}` is not a day (mon, tue, … sun)"))
        };
        for part in days.split(',') {
            let part = part.trim();
            if part.eq_ignore_ascii_case("daily") || part.eq_ignore_ascii_case("every day") {
                out.extend(0..7);
            } else if let Some((a, b)) = part.split_once('-') {
                let (a, b) = (day(a)?, day(b)?);
                let mut d = a;
                loop {
                    out.push(d);
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            } else {
                out.push(day(part)?);
            }
        }
        Ok(out)
    }

    fn parse_spans(spans: &str) -> Result<Vec<Span>, String> {
        spans
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(parse_span)
            .collect()
    }

    /// Sets `days` to `spans`, refusing a day given twice.
    fn set(&mut self, days: &str, spans: Vec<Span>) -> Result<(), String> {
        if spans.is_empty() {
            return Err(format!("`{days}` has no time spans (like 07:30-18:45)"));
        }
        for d in Self::parse_days(days)? {
            if !self.days[d].is_empty() {
                return Err(format!("{} is given twice", DAYS[d]));
            }
            self.days[d] = spans.clone();
        }
        Ok(())
    }

    fn from_value(v: serde_json::Value) -> Result<Self, String> {
        use serde_json::Value;
        match v {
            Value::String(s) => s.parse(),
            Value::Object(map) if map.contains_key("from_hour") || map.contains_key("to_hour") => {
                let hour = |k: &str| -> Result<u8, String> {
                    map.get(k)
                        .and_then(Value::as_u64)
                        .and_then(|h| u8::try_from(h).ok())
                        .ok_or_else(|| format!("allowed_hours: `{k}` should be an hour, 0 to 24"))
                };
                let weekends = match map.get("weekends") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => return Err("allowed_hours: `weekends` is true or false".into()),
                };
                if let Some(k) = map
                    .keys()
                    .find(|k| !["from_hour", "to_hour", "weekends"].contains(&k.as_str()))
                {
                    return Err(format!(
                        "allowed_hours: unknown key `{k}` next to from_hour/to_hour"
                    ));
                }
                Self::whole_hours(hour("from_hour")?, hour("to_hour")?, weekends)
            }
            Value::Object(map) => {
                let mut h = AllowedHours::default();
                for (days, spans) in map {
                    let spans = match spans {
                        Value::String(s) => Self::parse_spans(&s)?,
                        Value::Array(items) => {
                            let mut out = Vec::new();
                            for i in items {
                                let s = i.as_str().ok_or_else(|| {
                                    format!("`{days}`: spans are text like \"07:30-18:45\"")
                                })?;
                                out.extend(Self::parse_spans(s)?);
                            }
                            out
                        }
                        _ => {
                            return Err(format!(
                                "`{days}`: spans are text like \"07:30-18:45\" or a list of them"
                            ));
                        }
                    };
                    h.set(&days, spans)?;
                }
                Ok(h)
            }
            _ => Err(
                "allowed_hours is text (\"mon-fri 07:30-18:45; sat 09:00-13:00\") or a map of days \
                 to spans"
                    .into(),
            ),
        }
    }
}

fn is_day_name(s: &str) -> bool {
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    FULL.iter().any(|f| f.starts_with(s))
}

/// `07:30-18:45`, `7-19`, `22:00-06:00`, `00:00-24:00` (en dash accepted).
fn parse_span(s: &str) -> Result<Span, String> {
    let (a, b) = s
        .split_once('-')
        .or_else(|| s.split_once('–'))
        .ok_or_else(|| format!("`{s}` is not a time span like 07:30-18:45"))?;
    let time = |t: &str| -> Result<u16, String> {
        let t = t.trim();
        let (h, m) = t.split_once(':').unwrap_or((t, "0"));
        let (h, m) = (h.trim().parse::<u16>(), m.trim().parse::<u16>());
        match (h, m) {
            (Ok(h), Ok(m)) if m < 60 && (h < 24 || (h == 24 && m == 0)) => Ok(h * 60 + m),
            _ => Err(format!(
                "`{t}` in `{s}` is not a time of day (00:00 to 24:00)"
            )),
        }
    };
    let (from, to) = (time(a)?, time(b)?);
    if from == to || from == MINUTES_PER_DAY {
        return Err(format!(
            "`{s}` is empty (write 00:00-24:00 for the whole day)"
        ));
    }
    Ok(Span { from, to })
}

impl std::str::FromStr for AllowedHours {
    type Err = String;

    /// `mon-fri 07:30-18:45; sat 09:00-13:00`: entries separated by `;`, each a list of days
    /// (`mon`, `mon-fri`, `sat,sun`, `daily`) and comma-separated spans.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut h = AllowedHours::default();
        for entry in s
            .split(['\n', ';'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            // The days end where the first digit begins.
            let cut = entry
                .find(|c: char| c.is_ascii_digit())
                .ok_or_else(|| format!("`{entry}` has no time span (like mon-fri 07:30-18:45)"))?;
            let (days, spans) = entry.split_at(cut);
            let days = days.trim().trim_end_matches(':').trim();
            if days.is_empty() {
                return Err(format!(
                    "`{entry}` names no days (like mon-fri 07:30-18:45)"
                ));
            }
            h.set(days, Self::parse_spans(spans)?)?;
        }
        Ok(h)
    }
}

impl TryFrom<serde_json::Value> for AllowedHours {
    type Error = String;

    fn try_from(v: serde_json::Value) -> Result<Self, String> {
        AllowedHours::from_value(v)
    }
}

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

impl fmt::Display for AllowedHours {
    /// The text form, runs of days with the same spans joined: `mon-fri 07:30-18:45; sat
    /// 09:00-13:00`; `closed` when no day has a span.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        let mut d = 0;
        while d < 7 {
            let mut end = d;
            while end + 1 < 7 && self.days[end + 1] == self.days[d] {
                end += 1;
            }
            if !self.days[d].is_empty() {
                let days = match end - d {
                    0 => DAYS[d].to_owned(),
                    6 => "daily".to_owned(),
                    _ => format!("{}-{}", DAYS[d], DAYS[end]),
                };
                let spans: Vec<String> = self.days[d]
                    .iter()
                    .map(|s| format!("{}-{}", hhmm(s.from), hhmm(s.to)))
                    .collect();
                parts.push(format!("{days} {}", spans.join(", ")));
            }
            d = end + 1;
        }
        if parts.is_empty() {
            f.write_str("closed")
        } else {
            f.write_str(&parts.join("; "))
        }
    }
}

impl From<AllowedHours> for String {
    fn from(h: AllowedHours) -> String {
        h.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn hours(s: &str) -> AllowedHours {
        s.parse().unwrap()
    }

    // 2026-11-23 is a Monday.
    #[test]
    fn to_the_minute_per_day() {
        let h = hours("mon-fri 07:30-18:45; sat 09:00-13:00");
        assert!(!h.allows(local("2026-11-23 07:29"), &[]));
        assert!(h.allows(local("2026-11-23 07:30"), &[]));
        assert!(h.allows(local("2026-11-27 18:44"), &[]));
        assert!(!h.allows(local("2026-11-27 18:45"), &[]));
        assert!(h.allows(local("2026-11-28 12:59"), &[]));
        assert!(!h.allows(local("2026-11-28 13:00"), &[]));
        assert!(
            !h.allows(local("2026-11-29 10:00"), &[]),
            "Sunday is closed"
        );
        assert_eq!(h.to_string(), "mon-fri 07:30-18:45; sat 09:00-13:00");
    }

    #[test]
    fn holidays_close_the_day_but_not_last_nights_shift() {
        let h = hours("daily 22:00-06:00");
        let christmas = [NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()];
        assert!(h.allows(local("2026-12-24 23:00"), &christmas));
        assert!(
            h.allows(local("2026-12-25 05:00"), &christmas),
            "the night of the 24th runs into the 25th"
        );
        assert!(!h.allows(local("2026-12-25 23:00"), &christmas));
        assert!(!h.allows(local("2026-12-26 05:00"), &christmas));
        assert!(!h.allows(local("2026-12-24 12:00"), &christmas));
    }

    #[test]
    fn every_written_form_reads_the_same() {
        let text: AllowedHours =
            serde_json::from_value(serde_json::json!("Mon-Fri 07:30-18:45; Sat 09:00-13:00"))
                .unwrap();
        let map: AllowedHours = serde_json::from_value(
            serde_json::json!({"mon-fri": "07:30-18:45", "sat": ["09:00-13:00"]}),
        )
        .unwrap();
        assert_eq!(text, map);
        let legacy: AllowedHours =
            serde_json::from_value(serde_json::json!({"from_hour": 7, "to_hour": 19})).unwrap();
        assert_eq!(legacy, hours("mon-fri 07:00-19:00"));
        let all: AllowedHours = serde_json::from_value(
            serde_json::json!({"from_hour": 0, "to_hour": 0, "weekends": true}),
        )
        .unwrap();
        assert_eq!(all.to_string(), "daily 00:00-24:00");
        // Written back as text, and read again.
        let back = serde_json::to_value(&text).unwrap();
        assert_eq!(
            back,
            serde_json::json!("mon-fri 07:30-18:45; sat 09:00-13:00")
        );
        assert_eq!(serde_json::from_value::<AllowedHours>(back).unwrap(), text);
        let split = hours("mon,wed 08:00-12:00, 13:00-17:00");
        assert_eq!(
            split.to_string(),
            "mon 08:00-12:00, 13:00-17:00; wed 08:00-12:00, 13:00-17:00"
        );
    }

    #[test]
    fn mistakes_are_named() {
        for (bad, says) in [
            ("mon-fri 07:30-25:00", "not a time of day"),
            ("mon-fri 07:30", "not a time span"),
            ("funday 07:30-18:45", "not a day"),
            ("mon-fri 07:30-18:45; fri 09:00-13:00", "fri is given twice"),
            ("07:30-18:45", "names no days"),
            ("mon 09:00-09:00", "is empty"),
        ] {
            let e = bad.parse::<AllowedHours>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!(
            serde_json::from_value::<AllowedHours>(serde_json::json!({"from_hour": 7, "to": 9}))
                .is_err()
        );
        assert!(serde_json::from_value::<AllowedHours>(serde_json::json!(7)).is_err());
    }
}
