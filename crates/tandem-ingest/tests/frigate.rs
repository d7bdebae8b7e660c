//! Frigate MQTT messages, decoded from the documentation examples in `fixtures/frigate`.

use proptest::prelude::*;
use serde_json::json;
use tandem_ingest::decode::{DecodeContext, DecodeError};
use tandem_ingest::integrations::frigate::FrigateDecoder;
use tandem_model::{Activity, Class, DeviceKind, Event, Severity, Timestamp};

const MESSAGES: &str = include_str!("fixtures/frigate/messages.txt");

fn ctx() -> DecodeContext {
    DecodeContext::new("hq-nvr", "2026-03-04T10:00:00Z".parse().unwrap())
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// The fixture as (topic, payload) pairs.
fn messages() -> Vec<(&'static str, &'static str)> {
    MESSAGES
        .lines()
        .map(|l| l.split_once(' ').expect("topic and payload"))
        .collect()
}

fn decode(d: &mut FrigateDecoder, topic: &str, payload: &str) -> Vec<Event> {
    d.decode(topic, payload.as_bytes(), &ctx())
        .unwrap_or_else(|e| panic!("{topic} {payload}: {e}"))
}

fn one(d: &mut FrigateDecoder, topic: &str, payload: &str) -> Event {
    let mut events = decode(d, topic, payload);
    assert_eq!(events.len(), 1, "{topic} {payload}");
    events.remove(0)
}

#[test]
fn documentation_messages_in_order() {
    let mut d = FrigateDecoder::new("frigate");
    // (class, activity) stored per fixture line, or None for nothing stored.
    let expected: &[Option<(Class, Activity)>] = &[
        Some((Class::VideoDetection, Activity::Detect)),
        Some((Class::VideoDetection, Activity::Update)),
        None, // only the box and score moved
        Some((Class::VideoDetection, Activity::End)),
        Some((Class::VideoDetection, Activity::Detect)),
        Some((Class::VideoDetection, Activity::Update)),
        Some((Class::VideoDetection, Activity::End)),
        None, // face result for an object that has ended
        None, // plate result for an object that has ended
        None, // generative-AI description
        Some((Class::DeviceStatus, Activity::Online)),
        Some((Class::DeviceStatus, Activity::Online)),
        Some((Class::DeviceStatus, Activity::Online)),
        None, // first recordings state is ON: a baseline
        Some((Class::DeviceStatus, Activity::Other)),
        Some((Class::DeviceStatus, Activity::Offline)),
        Some((Class::DeviceStatus, Activity::Offline)),
        None, // object count
        None, // stats
    ];
    let msgs = messages();
    assert_eq!(msgs.len(), expected.len());
    let mut stored = Vec::new();
    for ((topic, payload), want) in msgs.iter().zip(expected) {
        let events = decode(&mut d, topic, payload);
        let got = events.first().map(|e| (e.class, e.activity));
        assert_eq!(got, *want, "{topic} {}", &payload[..payload.len().min(60)]);
        for e in &events {
            assert_eq!(e.source.vendor.as_deref(), Some("Frigate"));
            assert_eq!(e.source.product.as_deref(), Some("Frigate NVR"));
            assert_eq!(e.source.name, "hq-nvr");
            assert_eq!(e.raw.as_deref(), Some(*payload));
        }
        stored.push(events);
    }

    let new = &stored[0][0];
    assert_eq!(new.time, at("2020-12-04T23:19:15.475377Z"));
    let det = new.physical.as_ref().unwrap().detection.as_ref().unwrap();
    assert_eq!(det.label, "person");
    assert_eq!(det.sub_label, None);
    assert!((det.score - 0.958_984_4).abs() < 1e-6);
    assert_eq!(det.zones, ["driveway"]);
    let place = new.place.as_ref().unwrap();
    assert_eq!(place.camera.as_deref(), Some("front_door"));
    // Frigate's zone is a region of the camera's picture, not the directory's zone.
    assert_eq!(place.camera_zone.as_deref(), Some("driveway"));
    assert_eq!(place.zone, None);
    assert_eq!(place.system.as_deref(), Some("frigate"));
    assert_eq!(place.ids["camera"], "front_door");
    assert_eq!(place.ids["zone"], "front_door/driveway");
    let device = new.device.as_ref().unwrap();
    assert_eq!(
        (device.hostname.as_deref(), device.kind),
        (Some("front_door"), DeviceKind::Camera)
    );
    assert!(new.actor.face.is_none());
    assert_eq!(new.attrs["id"], json!("1607123955.475377-mxklsc"));
    assert_eq!(new.attrs["type"], json!("new"));
    assert!(!new.attrs.contains_key("thumbnail"));
    assert_eq!(new.message, "person detected by front_door in driveway");

    let update = &stored[1][0];
    assert_eq!(update.time, at("2020-12-04T23:19:22.082975Z"));
    assert_eq!(update.actor.face.as_deref(), Some("John Smith"));
    let det = update
        .physical
        .as_ref()
        .unwrap()
        .detection
        .as_ref()
        .unwrap();
    assert_eq!(det.sub_label.as_deref(), Some("John Smith"));
    assert_eq!(det.zones, ["yard", "driveway"]);
    assert_eq!(
        update.place.as_ref().unwrap().camera_zone.as_deref(),
        Some("yard")
    );
    assert_eq!(
        update.attrs["changed"],
        json!(["sub_label", "entered_zones"])
    );
    assert_eq!(update.attrs["sub_label"], json!(["John Smith", 0.79]));

    let end = &stored[3][0];
    assert_eq!(end.time, at("2020-12-04T23:19:35.52Z"));
    assert_eq!(end.attrs["start_time"], json!(1607123955.475377));
    assert_eq!(end.attrs["end_time"], json!(1607123975.52));
    let duration = end.attrs["duration"].as_f64().unwrap();
    assert!((duration - 20.044623).abs() < 1e-3, "{duration}");
    // Zones at the end: current ones are gone, so the entered ones.
    let det = end.physical.as_ref().unwrap().detection.as_ref().unwrap();
    assert_eq!(det.zones, ["yard", "driveway"]);
    assert!(
        end.message.contains("left front_door") && end.message.contains("after 20.0 s"),
        "{}",
        end.message
    );

    let review_new = &stored[4][0];
    assert_eq!(review_new.attrs["frigate.kind"], json!("review"));
    assert_eq!(review_new.time, at("2024-06-21T16:25:29.308396Z"));
    assert_eq!(review_new.severity, Severity::Informational);
    let review_update = &stored[5][0];
    assert_eq!(review_update.severity, Severity::Low);
    assert_eq!(review_update.attrs["changed"], json!(["severity"]));
    let det = review_update
        .physical
        .as_ref()
        .unwrap()
        .detection
        .as_ref()
        .unwrap();
    assert_eq!(
        (det.label.as_str(), det.sub_label.as_deref()),
        ("person", Some("Bob"))
    );
    assert_eq!(
        review_update.place.as_ref().unwrap().camera_zone.as_deref(),
        Some("front_yard")
    );
    let review_end = &stored[6][0];
    assert_eq!(
        review_end.attrs["duration"].as_f64().map(|d| d.round()),
        Some(29.0)
    );

    let available = &stored[10][0];
    let device = available.device.as_ref().unwrap();
    assert_eq!(
        (device.hostname.as_deref(), device.kind),
        (Some("frigate"), DeviceKind::Server)
    );
    assert_eq!(
        available.labels.get("time_source").map(String::as_str),
        Some("received")
    );
    let status = &stored[11][0];
    assert_eq!(status.attrs["role"], json!("detect"));
    assert_eq!(
        status.device.as_ref().unwrap().hostname.as_deref(),
        Some("front_door")
    );
    let recordings_off = &stored[14][0];
    assert_eq!(recordings_off.attrs["feature"], json!("recordings"));
    assert_eq!(recordings_off.attrs["state"], json!("OFF"));
    assert_eq!(recordings_off.severity, Severity::Low);
    assert_eq!(stored[15][0].severity, Severity::Low);
}

#[test]
fn every_message_delivered_twice_is_stored_once() {
    let mut d = FrigateDecoder::new("frigate");
    for (topic, payload) in messages() {
        let _first = decode(&mut d, topic, payload);
        let again = decode(&mut d, topic, payload);
        assert!(
            again.is_empty(),
            "redelivered {topic} stored again: {again:?}"
        );
    }
}

#[test]
fn recognitions_on_a_live_object() {
    let msgs = messages();
    let mut d = FrigateDecoder::new("frigate");
    one(&mut d, msgs[0].0, msgs[0].1); // new
    let face = one(&mut d, msgs[7].0, msgs[7].1);
    assert_eq!(
        (face.class, face.activity),
        (Class::VideoDetection, Activity::Update)
    );
    assert_eq!(face.actor.face.as_deref(), Some("John"));
    assert_eq!(face.time, at("2020-12-04T23:19:18.748393Z"));
    let det = face.physical.as_ref().unwrap().detection.as_ref().unwrap();
    assert_eq!(
        (det.label.as_str(), det.sub_label.as_deref()),
        ("person", Some("John"))
    );
    assert!((det.score - 0.95).abs() < 1e-6);
    // The same result again (Frigate publishes after every attempt): nothing new.
    assert!(decode(&mut d, msgs[7].0, msgs[7].1).is_empty());
    // A plate name is a new sub_label.
    let plate = one(&mut d, msgs[8].0, msgs[8].1);
    assert!(plate.actor.face.is_none());
    assert_eq!(plate.attrs["plate"], json!("123ABC"));
    assert_eq!(
        plate
            .physical
            .unwrap()
            .detection
            .unwrap()
            .sub_label
            .as_deref(),
        Some("John's Car")
    );
}

#[test]
fn a_recognition_before_the_first_sighting_does_not_hide_it() {
    let msgs = messages();
    let mut d = FrigateDecoder::new("frigate");
    let face = one(&mut d, msgs[7].0, msgs[7].1);
    assert_eq!(face.physical.unwrap().detection.unwrap().label, "face");
    let new = one(&mut d, msgs[0].0, msgs[0].1);
    assert_eq!(new.activity, Activity::Detect);
}

#[test]
fn an_update_for_an_unseen_object_is_its_first_sighting() {
    let msgs = messages();
    let mut d = FrigateDecoder::new("frigate");
    let e = one(&mut d, msgs[1].0, msgs[1].1);
    assert_eq!(e.activity, Activity::Detect);
    assert_eq!(e.attrs["type"], json!("update"));
    assert_eq!(e.actor.face.as_deref(), Some("John Smith"));
    // And an end for an object never seen is still stored, once.
    let end = one(&mut d, msgs[3].0, msgs[3].1);
    assert_eq!(end.activity, Activity::End);
}

#[test]
fn becoming_a_true_positive_is_an_update() {
    let mut d = FrigateDecoder::new("frigate");
    let obj = |fp: bool, frame: f64| {
        json!({"type":"update","after":{"id":"1.0-abc","camera":"gate","label":"car",
            "false_positive":fp,"frame_time":frame,"start_time":1.0e9,"current_zones":[],"entered_zones":[]}})
        .to_string()
    };
    one(&mut d, "frigate/events", &obj(true, 1.0e9));
    let e = one(&mut d, "frigate/events", &obj(false, 1.0e9 + 1.0));
    assert_eq!(e.activity, Activity::Update);
    assert_eq!(e.attrs["changed"], json!(["false_positive"]));
    assert!(decode(&mut d, "frigate/events", &obj(false, 1.0e9 + 2.0)).is_empty());
}

#[test]
fn memory_is_bounded() {
    let mut d = FrigateDecoder::with_capacity("frigate", 8);
    let msg = |id: usize, kind: &str| {
        json!({"type":kind,"after":{"id":format!("{id}.0-x"),"camera":"c","label":"person","start_time":1.0e9,"end_time":if kind == "end" {json!(1.0e9 + 5.0)} else {json!(null)}}})
        .to_string()
    };
    for id in 0..1000 {
        one(&mut d, "frigate/events", &msg(id, "new"));
        if id % 2 == 0 {
            one(&mut d, "frigate/events", &msg(id, "end"));
        }
        d.decode(&format!("frigate/cam{id}/status/detect"), b"online", &ctx())
            .unwrap();
        assert!(d.tracked() <= 5 * 8, "{} entries", d.tracked());
    }
    // An evicted live object comes back as a first sighting; a recent one is still known.
    assert_eq!(
        one(&mut d, "frigate/events", &msg(1, "update")).activity,
        Activity::Detect
    );
    assert!(decode(&mut d, "frigate/events", &msg(999, "update")).is_empty());
    // Recently ended ids are still recognised: a redelivered end stores nothing.
    assert!(decode(&mut d, "frigate/events", &msg(998, "end")).is_empty());
}

#[test]
fn prefix_routing_and_errors() {
    let mut d = FrigateDecoder::new("nvr1/");
    let err = d.decode("frigate/events", b"{}", &ctx()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "topic `frigate/events` is not under the Frigate prefix `nvr1`"
    );
    // JPEG snapshots are binary: ignored before any UTF-8 check.
    assert!(
        d.decode(
            "nvr1/front/person/snapshot",
            &[0xff, 0xd8, 0xff, 0xe0],
            &ctx()
        )
        .unwrap()
        .is_empty()
    );
    assert_eq!(
        d.decode("nvr1/events", b"\xff", &ctx()).unwrap_err(),
        DecodeError::InvalidUtf8 { at: 0 }
    );
    let err = d
        .decode("nvr1/events", br#"{"type":"new"}"#, &ctx())
        .unwrap_err();
    assert_eq!(err.to_string(), "events message has no `after` object");
    let err = d
        .decode(
            "nvr1/events",
            br#"{"type":"gone","after":{"id":"1"}}"#,
            &ctx(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("unknown `type` `gone`"), "{err}");
    let err = d
        .decode("nvr1/events", br#"{"type":"new","after":{}}"#, &ctx())
        .unwrap_err();
    assert_eq!(err.to_string(), "events message has no `id`");
    let long = format!(r#"{{"type":"new","after":{{"id":"{}"}}}}"#, "x".repeat(500));
    assert!(d.decode("nvr1/events", long.as_bytes(), &ctx()).is_err());
    let err = d.decode("nvr1/available", b"maybe", &ctx()).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected online, offline or stopped"),
        "{err}"
    );
    assert!(matches!(
        d.decode("nvr1/events", b"[1]", &ctx()),
        Err(DecodeError::Invalid(_))
    ));
    assert!(matches!(
        d.decode("nvr1/reviews", b"{", &ctx()),
        Err(DecodeError::InvalidJson { .. })
    ));
    // Frigate's `stopped` (clean shutdown) is offline too.
    let e = one(&mut d, "nvr1/available", "stopped");
    assert_eq!(
        (e.activity, e.attrs["state"].clone()),
        (Activity::Offline, json!("stopped"))
    );
    // A camera turned off in Frigate, and a stream disabled.
    let e = one(&mut d, "nvr1/gate/enabled/state", "OFF");
    assert_eq!(e.activity, Activity::Offline);
    let e = one(&mut d, "nvr1/gate/status/record", "disabled");
    assert_eq!(e.activity, Activity::Offline);
    // A feature toggle first seen OFF is stored.
    let e = one(&mut d, "nvr1/gate/detect/state", "OFF");
    assert_eq!((e.activity, e.severity), (Activity::Other, Severity::Low));
    let e = one(&mut d, "nvr1/gate/detect/state", "ON");
    assert_eq!(e.severity, Severity::Informational);
}

proptest! {
    #[test]
    fn garbage_never_panics(
        msgs in prop::collection::vec((
            prop::sample::select(vec![
                "frigate/events", "frigate/reviews", "frigate/tracked_object_update",
                "frigate/available", "frigate/cam/status/detect", "frigate/cam/enabled/state",
                "frigate/cam/recordings/state", "frigate/cam/person/snapshot", "frigate",
                "frigate/", "other/events", "frigate/a/b/c/d",
            ]),
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..64),
                envelope().prop_map(|v| v.to_string().into_bytes()),
                "(online|offline|ON|OFF|stopped|disabled|[ -~]{0,8})".prop_map(String::into_bytes),
            ],
        ), 0..16),
        capacity in 1usize..4,
    ) {
        let mut d = FrigateDecoder::with_capacity("frigate", capacity);
        for (topic, payload) in &msgs {
            let _ = d.decode(topic, payload, &ctx());
            prop_assert!(d.tracked() <= 5 * capacity);
        }
    }
}

/// events/reviews-shaped JSON with random field values.
fn envelope() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-z0-9.\\-]{0,12}".prop_map(serde_json::Value::from),
        Just(json!(["John", 0.7])),
        Just(json!(["a", "b"])),
    ];
    let key = prop::sample::select(vec![
        "id",
        "camera",
        "label",
        "sub_label",
        "score",
        "top_score",
        "frame_time",
        "start_time",
        "end_time",
        "current_zones",
        "entered_zones",
        "false_positive",
        "severity",
        "data",
        "recognized_license_plate",
        "name",
        "plate",
        "timestamp",
    ]);
    let after = prop::collection::btree_map(key, leaf.clone(), 0..12);
    (
        prop::sample::select(vec!["new", "update", "end", "face", "lpr", "x"]),
        after,
        prop::sample::select(vec!["1.0-a", "2.0-b"]),
    )
        .prop_map(|(kind, mut after, id)| {
            after.entry("id").or_insert(json!(id));
            let after: serde_json::Map<String, serde_json::Value> =
                after.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            let mut top = after.clone();
            top.insert("type".into(), json!(kind));
            top.insert("after".into(), serde_json::Value::Object(after));
            serde_json::Value::Object(top)
        })
}
