//! Every integration puts the identifiers it reads where identity resolution looks for them:
//! events decoded from each vendor's fixtures resolve to the directory's people, by the method
//! their strongest identifier calls for.

use chrono::Utc;
use std::collections::HashMap;
use tandem_identity::{
    Account, AccountKind, Badge, BadgeStatus, Directory, Person, directory::PERSON,
};
use tandem_ingest::decode::{DecodeContext, Format, MessageDecoder};
use tandem_model::Event;
use tandem_store::DirectoryChange;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tandem-ingest/tests/fixtures"
);

fn decode(format: Format, file: &str, whole: bool) -> Vec<Event> {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{file}")).unwrap();
    let ctx = DecodeContext::new("fixture", Utc::now());
    let mut decoder = MessageDecoder::new(format, None);
    let messages: Vec<&str> = if whole {
        vec![&text]
    } else {
        text.lines().collect()
    };
    messages
        .into_iter()
        .filter(|m| !m.trim().is_empty() && !m.starts_with("# "))
        .flat_map(|m| decoder.decode(m.as_bytes(), &ctx).unwrap_or_default())
        .collect()
}

/// The kind an id from this vendor has in a directory fed by that vendor.
fn uid_kind(vendor: Option<&str>) -> AccountKind {
    match vendor {
        Some("Okta") => AccountKind::OktaId,
        Some("Microsoft") => AccountKind::EntraId,
        _ => AccountKind::Other,
    }
}

/// Builds a directory with one person per distinct identity seen in `events`.
fn directory_for(events: &[Event]) -> Directory {
    let mut people: Vec<Person> = Vec::new();
    let mut owner: HashMap<String, usize> = HashMap::new();
    for e in events {
        let a = &e.actor;
        let ids: Vec<String> = [&a.uid, &a.user, &a.email, &a.badge, &a.face]
            .into_iter()
            .flatten()
            .map(|s| s.to_lowercase())
            .collect();
        if ids.is_empty() {
            continue;
        }
        let i = ids
            .iter()
            .find_map(|id| owner.get(id).copied())
            .unwrap_or_else(|| {
                people.push(Person {
                    id: format!("p{}", people.len()),
                    name: format!("Person {}", people.len()),
                    ..Person::default()
                });
                people.len() - 1
            });
        let p = &mut people[i];
        let kind = if a.uid.as_deref().is_some_and(|u| u.starts_with("S-1-")) {
            AccountKind::Sid
        } else {
            uid_kind(e.source.vendor.as_deref())
        };
        for (value, kind) in [
            (&a.uid, kind),
            (&a.user, AccountKind::Other),
            (&a.email, AccountKind::Email),
        ] {
            if let Some(v) = value {
                p.accounts.push(Account {
                    kind,
                    value: v.clone(),
                });
            }
        }
        if let Some(b) = &a.badge {
            p.badges.push(Badge {
                number: b.clone(),
                facility_code: None,
                valid_from: None,
                valid_to: None,
                status: BadgeStatus::Active,
            });
        }
        if let Some(f) = &a.face {
            p.faces.push(f.clone());
        }
        for id in ids {
            owner.insert(id, i);
        }
    }
    let t = "2000-01-01T00:00:00Z".parse().unwrap();
    let changes: Vec<DirectoryChange> = people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut c = DirectoryChange::state(PERSON, &p.id, t, "test", p).unwrap();
            c.seq = i as u64 + 1;
            c
        })
        .collect();
    let mut dir = Directory::default();
    dir.apply(&changes).unwrap();
    dir
}

fn expected_method(e: &Event) -> &'static str {
    let a = &e.actor;
    let exact_uid = a.uid.as_deref().is_some_and(|u| u.starts_with("S-1-"))
        || matches!(e.source.vendor.as_deref(), Some("Okta" | "Microsoft")) && a.uid.is_some();
    if exact_uid {
        "exact"
    } else if a.uid.is_some() || a.user.is_some() || a.email.is_some() {
        "alias"
    } else if a.badge.is_some() {
        "badge"
    } else {
        "face"
    }
}

#[test]
fn fixtures_of_every_integration_resolve_to_people() {
    let cases = [
        (Format::Okta, "okta/logs-page.json", true),
        (Format::Okta, "okta/event-hook-delivery.json", true),
        (Format::Entra, "entra/graph-page.json", true),
        (Format::Entra, "entra/diagnostic-records.json", true),
        (Format::Windows, "windows/winlogbeat.jsonl", false),
        (Format::Windows, "windows/nxlog.jsonl", false),
        (Format::Cef, "cef/access-control.log", false),
        (Format::Verkada, "verkada/door_granted.json", true),
        (
            Format::Verkada,
            "verkada/door_keycard_entered_rejected.json",
            true,
        ),
        (Format::Syslog, "auth.log", false),
    ];
    for (format, file, whole) in cases {
        let mut events = decode(format, file, whole);
        let with_identity: Vec<&Event> = events
            .iter()
            .filter(|e| {
                let a = &e.actor;
                a.uid.is_some()
                    || a.user.is_some()
                    || a.email.is_some()
                    || a.badge.is_some()
                    || a.face.is_some()
            })
            .collect();
        assert!(!with_identity.is_empty(), "{file}: no event names anyone");
        let dir = directory_for(&events);
        for e in &mut events {
            let expected = expected_method(e);
            let named = e.actor.uid.is_some()
                || e.actor.user.is_some()
                || e.actor.email.is_some()
                || e.actor.badge.is_some()
                || e.actor.face.is_some();
            let gaps = dir.resolve(e);
            if !named {
                continue;
            }
            let p = e
                .actor
                .person
                .as_ref()
                .unwrap_or_else(|| panic!("{file}: unresolved {:?} ({gaps:?})", e.actor));
            assert_eq!(p.method, expected, "{file}: {:?}", e.actor);
        }
    }
}

#[test]
fn frigate_faces_resolve_by_face() {
    let text = std::fs::read_to_string(format!("{FIXTURES}/frigate/messages.txt")).unwrap();
    let ctx = DecodeContext::new("fixture", Utc::now());
    let mut decoder = tandem_ingest::integrations::frigate::FrigateDecoder::new("frigate");
    let mut events: Vec<Event> = text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .flat_map(|(topic, payload)| {
            decoder
                .decode(topic, payload.as_bytes(), &ctx)
                .unwrap_or_default()
        })
        .collect();
    let faces = events.iter().filter(|e| e.actor.face.is_some()).count();
    assert!(faces > 0, "no recognised face in the Frigate fixture");
    let dir = directory_for(&events);
    for e in events.iter_mut().filter(|e| e.actor.face.is_some()) {
        dir.resolve(e);
        assert_eq!(
            e.actor.person.as_ref().map(|p| p.method.as_str()),
            Some("face")
        );
    }
}

/// A camera whose regions are named "door" and "desk" by whoever drew them, at a site whose
/// directory calls the zone "osl-lobby": the event must carry the camera's region apart and
/// leave `place.zone` to the directory, and resolution must fill it.
#[test]
fn frigate_zones_that_differ_from_the_directory_stay_camera_regions() {
    let mut d = tandem_ingest::integrations::frigate::FrigateDecoder::new("frigate");
    let payload = r#"{"type":"new","before":null,"after":{"id":"1772615701.1-abc","camera":"lobby_cam","frame_time":1772615701.5,"label":"person","sub_label":null,"top_score":0.91,"score":0.9,"false_positive":false,"start_time":1772615701.1,"end_time":null,"current_zones":["door","desk"],"entered_zones":["door","desk"],"has_snapshot":true,"has_clip":false}}"#;
    let ctx = DecodeContext::new("hq-nvr", "2026-03-04T10:00:00Z".parse().unwrap());
    let mut events = d
        .decode("frigate/events", payload.as_bytes(), &ctx)
        .unwrap();
    assert_eq!(events.len(), 1);
    let mut e = events.remove(0);
    {
        let place = e.place.as_ref().unwrap();
        assert_eq!(place.zone, None);
        assert_eq!(place.camera_zone.as_deref(), Some("door"));
        assert_eq!(place.ids["zone"], "lobby_cam/door");
        let device = e.device.as_ref().unwrap();
        assert_eq!(
            (device.external_id.as_deref(), device.system.as_deref()),
            (Some("lobby_cam"), Some("frigate"))
        );
    }
    let yaml = "places:\n\
      - { id: osl, kind: site, name: Oslo }\n\
      - { id: osl-lobby, kind: zone, name: Lobby, parent: osl }\n\
      - { id: door, kind: zone, name: Door, parent: osl }\n\
      - { id: osl-lobby-cam, kind: camera, name: Lobby camera, parent: osl-lobby, external_ids: { frigate: lobby_cam } }\n";
    let file = tandem_identity::records::RecordsFile::parse("p.yaml", yaml.as_bytes()).unwrap();
    let mut dir = tandem_identity::Directory::default();
    let mut changes =
        tandem_identity::records::plan(&dir, &file, "t", "2026-01-01T00:00:00Z".parse().unwrap())
            .unwrap()
            .changes;
    for (i, c) in changes.iter_mut().enumerate() {
        c.seq = i as u64 + 1;
    }
    dir.apply(&changes).unwrap();
    let gaps = dir.resolve(&mut e);
    assert!(!gaps.place, "{gaps:?}");
    let place = e.place.unwrap();
    // Not the directory's unrelated zone that happens to be called "door".
    assert_eq!(place.zone.as_deref(), Some("osl-lobby"));
    assert_eq!(place.site.as_deref(), Some("osl"));
    assert_eq!(place.camera_zone.as_deref(), Some("door"));
}
