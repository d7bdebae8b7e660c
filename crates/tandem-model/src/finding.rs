//! A detection's output: what fired, on which evidence, about whom.

use crate::{Activity, Class, Event, Outcome, Place, Severity, Timestamp, Ulid};
use serde::{Deserialize, Serialize};

/// The people, devices, places and addresses a finding is about (directory ids where the
/// evidence resolved, raw identifiers otherwise), so findings can be joined to a person's
/// timeline and weighed by the alerts stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Entities {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub persons: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub places: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Every site the evidence happened at (directory ids), the finding's own site first. A
    /// finding can span sites (a badge in Oslo, then one in London): `site:` searches and the
    /// live monitor's site filter match any of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<String>,
    /// Every building the evidence happened in, the finding's own building first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buildings: Vec<String>,
}

/// A rule's hit. Stored as an [`Event`] of class `detection_finding` (OCSF 2004), so findings
/// are searched, retained and shown like every other event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id: a Sigma rule's `id`, or `tandem.<name>` for native detections.
    pub rule_id: String,
    pub rule_title: String,
    /// `sigma`, `sigma_correlation` or `native`.
    pub engine: String,
    pub severity: Severity,
    /// ATT&CK and physical-security tags (`attack.t1078`, `attack.initial_access`,
    /// `physical.tailgating`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// When it happened: the time of the latest evidence event.
    pub time: Timestamp,
    /// One sentence for people: "Badge 10077 of Bjørn Lie (terminated 2026-03-01) used at
    /// Server room door".
    pub summary: String,
    /// Ids of the events that make the case, oldest first.
    pub evidence: Vec<Ulid>,
    #[serde(default)]
    pub entities: Entities,
    /// Where it happened: site, building, floor, zone and door (directory ids where the
    /// directory knows them) of the evidence in the batch that raised it, else of the first
    /// place it names. Every site and building of the evidence is in [`Entities::sites`] and
    /// [`Entities::buildings`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    /// Findings with the same key describe the same situation; the alerts stage merges them.
    pub dedup_key: String,
    /// For scored detections (behaviour baselines): how unusual, 0.0–1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// Rule-specific detail (distances, windows, counts).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub detail: serde_json::Map<String, serde_json::Value>,
}

/// The source name findings are stored under.
pub const FINDINGS_SOURCE: &str = "tandem-detect";

impl Finding {
    /// The finding as a `detection_finding` event: `message` is the summary, the actor the
    /// first person, the place the finding's [`Finding::place`] (its site the first of
    /// [`Entities::sites`] when the place names none), and `attrs.finding` the whole finding.
    ///
    /// Entries of [`Entities::places`] are never copied into the place: they mix doors,
    /// zones, cameras and sites, and only the detector, which has the directory, knows which
    /// is which.
    pub fn to_event(&self) -> Event {
        let mut e = Event::new(
            FINDINGS_SOURCE,
            Class::DetectionFinding,
            Activity::Detect,
            self.time,
        );
        e.severity = self.severity;
        e.outcome = Outcome::Unknown;
        e.message = self.summary.clone();
        e.source.vendor = Some("Tandem".into());
        e.source.product = Some("Tandem detection".into());
        if let Some(p) = self.entities.persons.first() {
            e.actor.person = Some(crate::PersonRef {
                id: p.clone(),
                name: None,
                method: "finding".into(),
                confidence: 1.0,
                status: None,
                department: None,
            });
        }
        if let Some(u) = self.entities.users.first() {
            e.actor.user = Some(u.clone());
        }
        if let Some(place) = &self.place {
            e.place = Some(place.clone());
        }
        if let Some(site) = self.entities.sites.first() {
            e.place_mut().site.get_or_insert_with(|| site.clone());
        }
        if let Some(building) = self.entities.buildings.first() {
            e.place_mut()
                .building
                .get_or_insert_with(|| building.clone());
        }
        e.labels.insert("rule.id".into(), self.rule_id.clone());
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(self) {
            e.attrs
                .insert("finding".into(), serde_json::Value::Object(map));
        }
        e
    }

    /// Every site an event is at: its own `place.site` and, for a stored finding, each site
    /// its evidence spans (`attrs.finding.entities.sites`), read without decoding the whole
    /// finding. Filters by site (the live monitor's) match an event on any of them.
    pub fn sites_of(event: &Event) -> impl Iterator<Item = &str> {
        let own = event.place.as_ref().and_then(|p| p.site.as_deref());
        let spanned = (event.class == Class::DetectionFinding)
            .then(|| {
                event
                    .attrs
                    .get("finding")?
                    .get("entities")?
                    .get("sites")?
                    .as_array()
            })
            .flatten()
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str);
        own.into_iter().chain(spanned)
    }

    /// Reads a finding back from its event.
    pub fn from_event(event: &Event) -> Option<Finding> {
        serde_json::from_value(event.attrs.get("finding")?.clone()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding() -> Finding {
        Finding {
            rule_id: "tandem.impossible_travel_badge".into(),
            rule_title: "Impossible travel".into(),
            engine: "native".into(),
            severity: Severity::High,
            tags: Vec::new(),
            time: "2026-03-04T08:40:00Z".parse().unwrap(),
            summary: "badge at two sites".into(),
            evidence: Vec::new(),
            entities: Entities::default(),
            place: None,
            dedup_key: "k".into(),
            score: None,
            detail: serde_json::Map::new(),
        }
    }

    #[test]
    fn the_event_is_placed_where_the_finding_is_and_spans_its_sites() {
        let mut f = finding();
        f.entities.places = vec!["osl-a-server-door".into(), "osl".into(), "lon".into()];
        f.entities.sites = vec!["osl".into(), "lon".into()];
        f.entities.buildings = vec!["osl-a".into()];
        f.place = Some(Place {
            site: Some("osl".into()),
            zone: Some("osl-a-server-room".into()),
            door: Some("osl-a-server-door".into()),
            ..Place::default()
        });
        let e = f.to_event();
        let p = e.place.as_ref().unwrap();
        assert_eq!(p.site.as_deref(), Some("osl"));
        assert_eq!(p.building.as_deref(), Some("osl-a"));
        assert_eq!(p.zone.as_deref(), Some("osl-a-server-room"));
        assert_eq!(p.door.as_deref(), Some("osl-a-server-door"));
        assert_eq!(
            Finding::sites_of(&e).collect::<Vec<_>>(),
            ["osl", "osl", "lon"]
        );
        assert_eq!(Finding::from_event(&e).unwrap(), f);
    }

    #[test]
    fn places_of_unknown_kind_are_never_written_as_a_zone() {
        let mut f = finding();
        f.entities.places = vec!["osl".into(), "Server room door".into()];
        let e = f.to_event();
        assert!(e.place.is_none(), "{:?}", e.place);
        assert_eq!(Finding::sites_of(&e).count(), 0);
    }

    #[test]
    fn findings_stored_before_sites_existed_still_read() {
        let stored = r#"{"rule_id":"tandem.tailgating","rule_title":"Tailgating","engine":"native",
            "severity":"medium","time":"2026-03-04T08:40:00Z","summary":"two in on one badge",
            "evidence":[],"entities":{"places":["osl-a-server-door"]},"dedup_key":"k"}"#;
        let back: Finding = serde_json::from_str(stored).unwrap();
        assert_eq!(back.entities.places, ["osl-a-server-door"]);
        assert!(back.entities.sites.is_empty() && back.place.is_none());
    }
}
