//! Times as the console shows them: in the zone the signed-in user chose (UTC unless they
//! chose otherwise), with the zone's abbreviation, and the UTC time on hover, so two people
//! comparing notes across offices can always agree on the instant.
//!
//! A time is handed to templates as a small object (`datetime`, `utc`, `text`, and the local
//! `day` and `clock` for pages that group by day) and written by the `when` filter as
//! `<time datetime="…Z" title="… UTC">…</time>`. The live monitor's stream sends the same
//! object with each row, formatted on the server in the reader's zone, so the rows its script
//! adds read exactly like the rows the page came with.
//!
//! Which zone: the one the user chose; with `site`, an event's time is read in the zone of
//! the site it happened at ([`Zone::for_event`]), a time about a place (a door's last event)
//! in that place's site's zone ([`Zone::for_place`]), and a time that belongs to no place (an
//! audit entry, a token's creation, a chart's axis) in UTC ([`Zone::plain`]).

use chrono::{DateTime, Utc};
use jiff::tz::TimeZone;
use serde::Serialize;
use tandem_identity::Directory;
use tandem_model::Event;

/// What a user chose in their settings.
#[derive(Clone, Debug)]
pub enum Zone {
    /// One zone for every time (UTC by default).
    Fixed(TimeZone),
    /// Each event in its site's own zone (from the directory); UTC where none is known.
    Site,
}

impl Default for Zone {
    fn default() -> Self {
        Zone::Fixed(TimeZone::UTC)
    }
}

impl Zone {
    /// Reads a stored or submitted choice: `UTC`, `site` or an IANA name the system's
    /// zoneinfo knows; `None` for anything else.
    pub fn parse(s: &str) -> Option<Zone> {
        match s.trim() {
            "" | "UTC" | "utc" => Some(Zone::default()),
            "site" => Some(Zone::Site),
            name => TimeZone::get(name).ok().map(Zone::Fixed),
        }
    }

    /// The zone for a time that belongs to no place (an audit entry, a token's creation).
    pub fn plain(&self) -> TimeZone {
        match self {
            Zone::Fixed(tz) => tz.clone(),
            Zone::Site => TimeZone::UTC,
        }
    }

    /// The zone for a time of `e`: with `site`, the zone of the nearest place the event
    /// names that has one (sites carry it).
    pub fn for_event(&self, dir: &Directory, e: &Event) -> TimeZone {
        match &e.place {
            Some(p) => self.for_places(dir, p.most_specific()),
            None => self.plain(),
        }
    }

    /// The zone for a time about the place `id` (a door's last event, a floor's map): with
    /// `site`, the zone of that place or the nearest place above it that has one.
    pub fn for_place(&self, dir: &Directory, id: &str) -> TimeZone {
        self.for_places(dir, std::iter::once(id))
    }

    /// The zone for a time about these places (most specific first), as [`Zone::for_place`]
    /// for the first one whose zone is known; UTC with `site` when none is.
    pub fn for_places<'a>(
        &self,
        dir: &Directory,
        mut ids: impl Iterator<Item = &'a str>,
    ) -> TimeZone {
        match self {
            Zone::Fixed(tz) => tz.clone(),
            Zone::Site => ids
                .find_map(|id| dir.lineage(id).iter().find_map(|p| p.time_zone.clone()))
                .and_then(|name| TimeZone::get(&name).ok())
                .unwrap_or(TimeZone::UTC),
        }
    }
}

/// How a zone is named under a chart or in a column heading: its IANA name (`Europe/Oslo`),
/// or `UTC`.
pub fn zone_label(tz: &TimeZone) -> String {
    match tz.iana_name() {
        Some("Etc/UTC") | None => "UTC".to_owned(),
        Some(name) => name.to_owned(),
    }
}

/// `t` read in `tz`, formatted with a `strftime` pattern (`%Z` names the zone); the UTC
/// reading if `t` lies outside what the zone library can represent.
pub fn local(t: DateTime<Utc>, tz: &TimeZone, pattern: &str) -> String {
    jiff::Timestamp::from_microsecond(t.timestamp_micros())
        .map(|ts| ts.to_zoned(tz.clone()).strftime(pattern).to_string())
        .unwrap_or_else(|_| t.format(pattern.replace("%Z", "UTC").as_str()).to_string())
}

/// A time for a template (written by the [`when`] filter) or for the live stream's rows.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The instant, `2026-12-07T08:00:00Z`, for `<time datetime>`.
    pub datetime: String,
    /// The UTC reading, `2026-12-07 08:00:00 UTC`, the hover title.
    pub utc: String,
    /// The reading in the reader's zone with its abbreviation, `2026-12-07 09:00:00 CET`.
    pub text: String,
    /// The local day, `2026-12-07`, for pages that group by day.
    pub day: String,
    /// The local time of day, `09:00:00 CET`.
    pub clock: String,
}

/// `t` for a template, read in `tz`.
pub fn stamp(t: DateTime<Utc>, tz: &TimeZone) -> Stamp {
    Stamp {
        datetime: t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        utc: format!("{} UTC", t.format("%Y-%m-%d %H:%M:%S")),
        text: local(t, tz, "%Y-%m-%d %H:%M:%S %Z"),
        day: local(t, tz, "%Y-%m-%d"),
        clock: local(t, tz, "%H:%M:%S %Z"),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The `when` template filter: a [`stamp`] as a `<time>` element; any other value as
/// escaped text. `|when("clock")` shows only the time of day and `|when("day")` only the
/// date (both local), with the full UTC reading on hover all the same.
pub fn when(v: minijinja::Value, part: Option<&str>) -> minijinja::Value {
    let field = |k: &str| {
        v.get_attr(k)
            .ok()
            .filter(|x| !x.is_undefined() && !x.is_none())
            .map(|x| x.to_string())
    };
    let shown = match part {
        Some("clock") => field("clock"),
        Some("day") => field("day"),
        _ => field("text"),
    };
    match (field("datetime"), field("utc"), shown) {
        (Some(at), Some(utc), Some(text)) => minijinja::Value::from_safe_string(format!(
            "<time datetime=\"{}\" title=\"{}\">{}</time>",
            escape(&at),
            escape(&utc),
            escape(&text)
        )),
        _ if v.is_undefined() || v.is_none() => minijinja::Value::from(""),
        _ => minijinja::Value::from_safe_string(escape(&v.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn html(t: DateTime<Utc>, zone: &str) -> String {
        let Some(Zone::Fixed(tz)) = Zone::parse(zone) else {
            panic!("{zone} is a zone");
        };
        when(
            minijinja::Value::from(minijinja::value::Serde(stamp(t, &tz))),
            None,
        )
        .to_string()
    }

    #[test]
    fn oslo_shows_winter_and_summer_time_with_utc_on_hover() {
        let winter = Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap();
        assert_eq!(
            html(winter, "Europe/Oslo"),
            "<time datetime=\"2026-12-07T08:00:00Z\" title=\"2026-12-07 08:00:00 UTC\">\
             2026-12-07 09:00:00 CET</time>"
        );
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 23, 30, 0).unwrap();
        assert_eq!(
            html(summer, "Europe/Oslo"),
            "<time datetime=\"2026-07-01T23:30:00Z\" title=\"2026-07-01 23:30:00 UTC\">\
             2026-07-02 01:30:00 CEST</time>"
        );
        assert_eq!(
            html(winter, "UTC"),
            "<time datetime=\"2026-12-07T08:00:00Z\" title=\"2026-12-07 08:00:00 UTC\">\
             2026-12-07 08:00:00 UTC</time>"
        );
    }

    #[test]
    fn only_known_zones_are_accepted() {
        assert!(matches!(Zone::parse("site"), Some(Zone::Site)));
        assert!(Zone::parse("Europe/Nowhere").is_none());
        assert!(Zone::parse("../../etc/passwd").is_none());
    }

    #[test]
    fn plain_text_is_escaped() {
        assert_eq!(
            when(minijinja::Value::from("<b>"), None).to_string(),
            "&lt;b&gt;"
        );
    }

    #[test]
    fn a_late_evening_in_new_york_is_the_next_day_in_utc() {
        let t = Utc.with_ymd_and_hms(2026, 12, 8, 2, 30, 0).unwrap();
        let Some(Zone::Fixed(tz)) = Zone::parse("America/New_York") else {
            panic!("a zone");
        };
        let v = minijinja::Value::from(minijinja::value::Serde(stamp(t, &tz)));
        assert_eq!(
            when(v.clone(), Some("clock")).to_string(),
            "<time datetime=\"2026-12-08T02:30:00Z\" title=\"2026-12-08 02:30:00 UTC\">\
             21:30:00 EST</time>"
        );
        assert!(
            when(v, Some("day"))
                .to_string()
                .contains(">2026-12-07</time>")
        );
        assert_eq!(zone_label(&tz), "America/New_York");
        assert_eq!(zone_label(&TimeZone::UTC), "UTC");
    }
}
