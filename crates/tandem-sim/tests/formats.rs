//! Vendor rendering round trip: every record the simulator sends in a vendor format decodes,
//! with Tandem's own decoder for that format, into the facts the simulation meant.

use std::collections::{BTreeMap, HashSet};
use tandem_ingest::decode::{DecodeContext, Format, MessageDecoder};
use tandem_ingest::integrations::{entra, frigate, iot, okta, verkada, windows};
use tandem_model::{Activity, Class, Event, Outcome, Timestamp};
use tandem_sim::{Channel, Org, Record, ScenarioKind, Simulator, Wire, sensor_rules};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn vendor_sim() -> Simulator {
    Simulator::new(Org::generate(42, 200), 42).with_wire(Wire::Vendor { mqtt: true })
}

/// Decodes records the way the server does for each channel; keeps decoder state (Frigate
/// object tracking) across records like one subscription does.
struct Decoders {
    frigate: frigate::FrigateDecoder,
    iot: iot::IotMapping,
    syslog: MessageDecoder,
    zeek: MessageDecoder,
}

impl Decoders {
    fn new(org: &Org) -> Decoders {
        let rules = serde_json::json!({ "rules": sensor_rules(org) });
        Decoders {
            frigate: frigate::FrigateDecoder::new("frigate"),
            iot: serde_json::from_value(rules).unwrap(),
            syslog: MessageDecoder::new(Format::Syslog, None),
            zeek: MessageDecoder::new(Format::Zeek, None),
        }
    }

    fn decode(&mut self, r: &Record) -> Vec<Event> {
        let ctx = DecodeContext::new(r.channel_name(), r.time);
        let p = r.payload.as_str();
        let result = match &r.channel {
            Channel::Http { source } => match source.as_str() {
                "windows" => windows::decode(p, &ctx),
                "entra" => entra::decode(p, &ctx),
                "zeek" => self.zeek.decode(p.as_bytes(), &ctx),
                _ => Ok(r.event().into_iter().collect()),
            },
            Channel::Document { source } => {
                assert_eq!(source, "okta");
                okta::decode(p, &ctx)
            }
            Channel::Webhook { source } => {
                assert_eq!(source, "verkada");
                verkada::decode(p, &ctx)
            }
            Channel::Syslog { .. } => self.syslog.decode(p.as_bytes(), &ctx),
            Channel::Mqtt { topic, .. } if topic.starts_with("frigate/") => {
                self.frigate.decode(topic, p.as_bytes(), &ctx)
            }
            Channel::Mqtt { topic, .. } => iot::decode(&self.iot, topic, p.as_bytes(), &ctx),
        };
        result.unwrap_or_else(|e| panic!("{:?} does not decode: {e}\n{p}", r.channel))
    }
}

fn close(a: Timestamp, b: Timestamp) -> bool {
    (a - b).num_milliseconds().abs() <= 1_000
}

fn door(e: &Event) -> Option<&str> {
    e.place.as_ref()?.door.as_deref()
}

fn camera(e: &Event) -> Option<&str> {
    e.place.as_ref()?.camera.as_deref()
}

/// Whether `got` says what `fact` meant: class, activity, time, and who/where.
fn same_facts(fact: &Event, got: &Event, org: &Org) -> bool {
    if got.class != fact.class || got.activity != fact.activity || !close(got.time, fact.time) {
        return false;
    }
    if fact.class == Class::Authentication && got.outcome != fact.outcome {
        return false;
    }
    match fact.source.name.as_str() {
        "workstations" => {
            got.actor.user == fact.actor.user
                && got.device.as_ref().and_then(|d| d.hostname.as_deref())
                    == fact.device.as_ref().and_then(|d| d.hostname.as_deref())
        }
        "idp" => {
            let p = org
                .person_by_username(fact.actor.user.as_deref().unwrap())
                .unwrap();
            let who = got.actor.user.as_deref().or(got.actor.email.as_deref());
            who == Some(p.email.as_str()) || who == Some(p.upn.as_str())
        }
        "badges" => {
            matches!(fact.activity, Activity::Forced | Activity::HeldOpen)
                || got.outcome == fact.outcome
                    && got.actor.badge == fact.actor.badge
                    && door(got) == door(fact)
                    && got.physical.as_ref().and_then(|p| p.direction.as_deref())
                        == fact.physical.as_ref().and_then(|p| p.direction.as_deref())
        }
        "cameras" => {
            camera(got) == camera(fact)
                && got
                    .physical
                    .as_ref()
                    .and_then(|p| p.detection.as_ref())
                    .map(|d| &d.label)
                    == fact
                        .physical
                        .as_ref()
                        .and_then(|p| p.detection.as_ref())
                        .map(|d| &d.label)
        }
        "sensors" => {
            got.device.as_ref().and_then(|d| d.hostname.as_deref())
                == fact.device.as_ref().and_then(|d| d.hostname.as_deref())
                && got.attrs.get("metric") == fact.attrs.get("metric")
                && got.attrs.get("value") == fact.attrs.get("value")
                && door(got) == door(fact)
        }
        "network" => {
            let ep = |e: &Event| {
                (
                    e.src.as_ref().map(|s| (s.ip, s.port)),
                    e.dst.as_ref().map(|s| (s.ip, s.port)),
                )
            };
            ep(got) == ep(fact)
        }
        _ => got.actor.user == fact.actor.user,
    }
}

#[test]
fn every_vendor_record_decodes_to_what_the_simulation_meant() {
    let mut sim = vendor_sim();
    let org = sim.org().clone();
    let from = ts("2026-11-25T00:00:00Z");
    let to = ts("2026-11-26T00:00:00Z");
    let facts = sim.facts_between(from, to);
    let mut decoders = Decoders::new(&org);
    let mut per_source: BTreeMap<String, usize> = BTreeMap::new();
    let mut channels: HashSet<String> = HashSet::new();
    for fact in &facts {
        let records = sim.render(fact);
        if fact.activity == Activity::Taken {
            assert!(records.is_empty(), "door-opened has no vendor form");
            continue;
        }
        assert!(!records.is_empty(), "{fact:?} renders to nothing");
        let decoded: Vec<Event> = records
            .iter()
            .flat_map(|r| {
                channels.insert(r.channel_name().to_owned());
                decoders.decode(r)
            })
            .collect();
        assert!(
            decoded.iter().any(|got| same_facts(fact, got, &org)),
            "{} {} {} at {}:\nfact {fact:#?}\nrecords {records:#?}\ndecoded {decoded:#?}",
            fact.source.name,
            fact.class,
            fact.activity,
            fact.time
        );
        if fact.class == Class::VideoDetection {
            let objects = decoded
                .iter()
                .filter(|e| {
                    e.activity == Activity::Detect
                        && e.attrs.get("frigate.kind").and_then(|v| v.as_str()) == Some("object")
                })
                .count() as u32;
            let count = fact
                .physical
                .as_ref()
                .unwrap()
                .detection
                .as_ref()
                .unwrap()
                .count;
            assert_eq!(Some(objects), count, "one Frigate object per person");
        }
        *per_source.entry(fact.source.name.clone()).or_default() += 1;
    }
    println!("facts checked per source: {per_source:?}");
    for s in [
        "badges",
        "cameras",
        "workstations",
        "idp",
        "network",
        "sensors",
        "vpn",
    ] {
        assert!(per_source.get(s).copied().unwrap_or(0) > 0, "no {s} facts");
    }
    for c in [
        "windows", "okta", "entra", "verkada", "zeek", "syslog", "cameras", "sensors", "vpn",
    ] {
        assert!(channels.contains(c), "nothing sent to {c}: {channels:?}");
    }
}

#[test]
fn special_windows_and_idp_forms_appear() {
    let mut sim = vendor_sim();
    let records = sim.records_between(ts("2026-11-24T00:00:00Z"), ts("2026-11-27T00:00:00Z"));
    let has = |needle: &str| records.iter().any(|r| r.payload.contains(needle));
    for needle in [
        "\"event_id\":\"4624\"",
        "\"event_id\":\"4634\"",
        "\"event_id\":\"4625\"",
        "\"event_id\":\"4672\"",
        "user.session.start",
        "user.authentication.sso",
        "\"result\":\"FAILURE\"",
        "com.okta.event_hook",
        "\"errorCode\":0",
        "CEF:0|Genetec|Security Center",
        "door_keycard_entered_accepted",
        "\"type\":\"end\"",
        "\"conn_state\":\"SF\"",
        "\"contact\":false",
        "\"temperature\":",
    ] {
        assert!(has(needle), "no record with {needle}");
    }
    assert!(
        records
            .iter()
            .any(|r| r.mqtt_topic() == Some("frigate/reviews")),
        "Frigate reviews"
    );
}

#[test]
fn vendor_output_is_deterministic_and_windows_compose() {
    let (a, b) = (ts("2026-11-25T06:00:00Z"), ts("2026-11-25T12:00:00Z"));
    let one = vendor_sim().records_between(a, b);
    let mut sim = vendor_sim();
    let mut parts = sim.records_between(a, ts("2026-11-25T09:13:00Z"));
    parts.extend(sim.records_between(ts("2026-11-25T09:13:00Z"), b));
    assert_eq!(one, parts);
    assert!(one.windows(2).all(|w| w[0].time <= w[1].time));
}

#[test]
fn mqtt_fallback_sends_cameras_and_sensors_as_tandem_json() {
    let mut sim = Simulator::new(Org::generate(42, 60), 42).with_wire(Wire::Vendor { mqtt: false });
    let records = sim.records_between(ts("2026-11-25T06:00:00Z"), ts("2026-11-25T12:00:00Z"));
    assert!(records.iter().all(|r| r.mqtt_topic().is_none()));
    for s in ["cameras", "sensors"] {
        let mine: Vec<&Record> = records.iter().filter(|r| r.channel_name() == s).collect();
        assert!(!mine.is_empty(), "{s}");
        assert!(
            mine.iter().all(|r| r.event().is_some()),
            "{s} in Tandem JSON"
        );
    }
}

#[test]
fn scenarios_in_vendor_formats_match_their_truth_and_decode() {
    let mut sim = vendor_sim();
    let org = sim.org().clone();
    let mut decoders = Decoders::new(&org);
    for k in ScenarioKind::ALL {
        let (records, gt) = sim.inject(*k, ts("2026-11-25T09:30:00Z"));
        assert_eq!(records.len(), gt.markers.len(), "{k}");
        assert!(!records.is_empty());
        for (r, m) in records.iter().zip(&gt.markers) {
            assert_eq!((r.time, r.channel_name()), (m.time, m.channel.as_str()));
        }
        let events: Vec<Event> = records.iter().flat_map(|r| decoders.decode(r)).collect();
        match k {
            ScenarioKind::Tailgate => {
                let door = gt.place.door.clone().unwrap();
                let grants = events
                    .iter()
                    .filter(|e| e.activity == Activity::Granted && door_is(e, &door))
                    .count();
                let people = events
                    .iter()
                    .filter(|e| {
                        e.activity == Activity::Detect
                            && e.attrs.get("frigate.kind").and_then(|v| v.as_str())
                                == Some("object")
                    })
                    .count();
                assert_eq!((grants, people), (1, 2));
            }
            ScenarioKind::ForcedDoor => {
                assert!(events.iter().any(|e| e.activity == Activity::Forced));
            }
            ScenarioKind::TerminatedBadgeUsed => {
                let badge = &gt.people[0].badge;
                assert!(events.iter().any(|e| {
                    e.activity == Activity::Granted
                        && e.outcome == Outcome::Success
                        && e.actor.badge.as_ref() == Some(badge)
                }));
            }
            ScenarioKind::AfterHoursServerRoomThenSudo => {
                assert!(events.iter().any(|e| {
                    e.class == Class::DeviceTelemetry
                        && e.attrs.get("value") == Some(&serde_json::Value::Bool(false))
                }));
                assert!(records.iter().any(|r| r.payload.contains("COMMAND=")));
            }
            ScenarioKind::VpnAbroadWhileOnSite => {
                assert!(events.iter().any(|e| e.class == Class::TunnelActivity));
            }
        }
    }
}

fn door_is(e: &Event, id: &str) -> bool {
    door(e) == Some(id)
}
