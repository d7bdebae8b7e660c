//! Times as the console shows them: in the zone the signed-in user chose (UTC unless they
//! chose otherwise), with the zone's abbreviation, and the UTC time on hover, so two people
//! comparing notes across offices can always agree on the instant.
//!
//! A time is handed to templates as a small object (`datetime`, `utc`, `text`) and written
//! by the `when` filter as `<time datetime="…Z" title="… UTC">…</time>`.

use chrono::{DateTime, Utc};
use jiff::tz::TimeZone;
use serde_json::{Value, json};
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
        match self {
            Zone::Fixed(tz) => tz.clone(),
            Zone::Site => e
                .place
                .as_ref()
                .and_then(|p| {
                    p.most_specific()
                        .find_map(|id| dir.lineage(id).iter().find_map(|p| p.time_zone.clone()))
                })
                .and_then(|name| TimeZone::get(&name).ok())
                .unwrap_or(TimeZone::UTC),
        }
    }
}

/// `t` for a template: the instant (`datetime`), the UTC reading (`utc`, the hover title)
/// and the reading in `tz` with its abbreviation (`text`).
pub fn stamp(t: DateTime<Utc>, tz: &TimeZone) -> Value {
    let utc = format!("{} UTC", t.format("%Y-%m-%d %H:%M:%S"));
    let text = jiff::Timestamp::from_microsecond(t.timestamp_micros())
        .map(|ts| {
            ts.to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        })
        .unwrap_or_else(|_| utc.clone());
    json!({
        "datetime": t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "utc": utc,
        "text": text,
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The `when` template filter: a [`stamp`] as a `<time>` element; any other value as
/// escaped text.
pub fn when(v: minijinja::Value) -> minijinja::Value {
    let field = |k: &str| {
        v.get_attr(k)
            .ok()
            .filter(|x| !x.is_undefined() && !x.is_none())
            .map(|x| x.to_string())
    };
    match (field("datetime"), field("utc"), field("text")) {
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
        when(crate::pages::investigate::page_value(&stamp(t, &tz))).to_string()
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
        assert_eq!(when(minijinja::Value::from("<b>")).to_string(), "&lt;b&gt;");
    }
}
