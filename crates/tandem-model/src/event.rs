//! The normalised event.

use crate::{
    Activity, Actor, Class, Device, Endpoint, Outcome, Physical, Place, Severity, Timestamp,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ulid::Ulid;

/// Raw forms longer than this are cut (at a character boundary) and flagged
/// [`Event::raw_truncated`]. Large enough for any real log line or webhook body, small enough
/// that one hostile source cannot fill the store.
pub const RAW_CAP: usize = 16 * 1024;

/// The top-level fields of [`Event`]'s JSON form, written once: the `tandem` decoder moves
/// every other key into `attrs`, and search reads a field named here from the event itself
/// rather than from `attrs`. Kept in step with the struct by a test.
pub const EVENT_FIELDS: &[&str] = &[
    "id",
    "time",
    "observed_time",
    "ingest_time",
    "source",
    "class",
    "activity",
    "outcome",
    "severity",
    "message",
    "actor",
    "physical",
    "place",
    "src",
    "dst",
    "device",
    "labels",
    "attrs",
    "raw",
    "raw_truncated",
];

/// Whether a dotted field name (`actor.user`, `place`) starts with one of [`EVENT_FIELDS`].
pub fn is_event_field(name: &str) -> bool {
    EVENT_FIELDS.contains(&name.split('.').next().unwrap_or(name))
}

/// Which configured source sent an event, and the product behind it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceRef {
    /// The integration id: the name the source is configured under (`hq-badges`).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
}

/// One thing that happened, in Tandem's normalised form.
///
/// Three times are kept apart because they answer different questions: [`Event::time`] is when
/// it happened according to the source (what detections and timelines use),
/// [`Event::observed_time`] is when a collector first saw it (syslog receipt, webhook arrival),
/// and [`Event::ingest_time`] is when Tandem stored it. The gap between them shows clock skew and
/// pipeline delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(default = "Ulid::generate")]
    pub id: Ulid,
    /// When it happened, per the source.
    pub time: Timestamp,
    /// When a collector first saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_time: Option<Timestamp>,
    /// When Tandem accepted it; set by the ingest pipeline.
    #[serde(default = "chrono::Utc::now")]
    pub ingest_time: Timestamp,
    #[serde(default)]
    pub source: SourceRef,
    pub class: Class,
    #[serde(default = "unknown_activity")]
    pub activity: Activity,
    #[serde(default)]
    pub outcome: Outcome,
    #[serde(default)]
    pub severity: Severity,
    /// One human-readable line.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "Actor::is_empty")]
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical: Option<Physical>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<Endpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst: Option<Endpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
    /// Short tags set by sources, the pipeline or an operator (`env=prod`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Vendor fields that have no place above, kept under their own names (e.g. Windows
    /// EventData) so rules and searches can still use them.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub attrs: serde_json::Map<String, serde_json::Value>,
    /// The event as received, capped at [`RAW_CAP`] bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub raw_truncated: bool,
}

fn unknown_activity() -> Activity {
    Activity::Unknown
}

impl Event {
    /// A new event from `source` with a fresh id, stamped as ingested now.
    pub fn new(source: &str, class: Class, activity: Activity, time: Timestamp) -> Event {
        Event {
            id: Ulid::generate(),
            time,
            observed_time: None,
            ingest_time: chrono::Utc::now(),
            source: SourceRef {
                name: source.to_owned(),
                ..SourceRef::default()
            },
            class,
            activity,
            outcome: Outcome::Unknown,
            severity: Severity::Informational,
            message: String::new(),
            actor: Actor::default(),
            physical: None,
            place: None,
            src: None,
            dst: None,
            device: None,
            labels: BTreeMap::new(),
            attrs: serde_json::Map::new(),
            raw: None,
            raw_truncated: false,
        }
    }

    /// Keeps `raw` as the event's raw form, cut to [`RAW_CAP`] bytes at a character boundary.
    pub fn set_raw(&mut self, raw: &str) {
        if raw.len() <= RAW_CAP {
            self.raw = Some(raw.to_owned());
            self.raw_truncated = false;
        } else {
            let mut end = RAW_CAP;
            while !raw.is_char_boundary(end) {
                end -= 1;
            }
            self.raw = Some(raw[..end].to_owned());
            self.raw_truncated = true;
        }
    }

    /// The place, created empty on first use.
    pub fn place_mut(&mut self) -> &mut Place {
        self.place.get_or_insert_with(Place::default)
    }

    /// The physical-access detail, created empty on first use.
    pub fn physical_mut(&mut self) -> &mut Physical {
        self.physical.get_or_insert_with(Physical::default)
    }

    /// The device, created empty on first use.
    pub fn device_mut(&mut self) -> &mut Device {
        self.device.get_or_insert_with(Device::default)
    }

    /// The source endpoint, created empty on first use.
    pub fn src_mut(&mut self) -> &mut Endpoint {
        self.src.get_or_insert_with(Endpoint::default)
    }

    /// The destination endpoint, created empty on first use.
    pub fn dst_mut(&mut self) -> &mut Endpoint {
        self.dst.get_or_insert_with(Endpoint::default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_fields_match_the_struct() {
        let mut e = Event::new(
            "s",
            Class::Other,
            Activity::Other,
            at("2026-01-01T00:00:00Z"),
        );
        e.observed_time = Some(e.time);
        e.message = "m".into();
        e.actor.user = Some("u".into());
        e.physical_mut();
        e.place_mut();
        e.src_mut();
        e.dst_mut();
        e.device_mut();
        e.labels.insert("k".into(), "v".into());
        e.attrs.insert("k".into(), 1.into());
        e.set_raw("r");
        e.raw_truncated = true;
        let v = serde_json::to_value(&e).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut known = EVENT_FIELDS.to_vec();
        keys.sort_unstable();
        known.sort_unstable();
        assert_eq!(keys, known);
        assert!(is_event_field("actor.user") && is_event_field("raw"));
        assert!(!is_event_field("winlog.event_id") && !is_event_field("actors"));
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn raw_is_capped_at_a_char_boundary() {
        let mut e = Event::new(
            "s",
            Class::Other,
            Activity::Other,
            at("2026-01-01T00:00:00Z"),
        );
        let long = "é".repeat(RAW_CAP);
        e.set_raw(&long);
        let kept = e.raw.as_deref().unwrap();
        assert!(kept.len() <= RAW_CAP && kept.len() >= RAW_CAP - 1);
        assert!(e.raw_truncated);
        e.set_raw("short");
        assert!(!e.raw_truncated);
    }

    #[test]
    fn minimal_json_gets_defaults() {
        let e: Event =
            serde_json::from_str(r#"{"time":"2026-11-25T08:00:00Z","class":"authentication"}"#)
                .unwrap();
        assert_eq!(e.activity, Activity::Unknown);
        assert_eq!(e.outcome, Outcome::Unknown);
        assert!(e.actor.is_empty());
    }

    #[test]
    fn missing_time_is_a_clear_error() {
        let err = serde_json::from_str::<Event>(r#"{"class":"authentication"}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `time`"), "{err}");
    }

    #[test]
    fn empty_parts_are_left_out_of_json() {
        let e = Event::new(
            "s",
            Class::Authentication,
            Activity::Logon,
            at("2026-01-01T00:00:00Z"),
        );
        let v = serde_json::to_value(&e).unwrap();
        // Sorted: whether serde_json keeps insertion order depends on features other crates
        // in a build enable.
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "activity",
                "class",
                "id",
                "ingest_time",
                "outcome",
                "severity",
                "source",
                "time"
            ]
        );
    }
}
