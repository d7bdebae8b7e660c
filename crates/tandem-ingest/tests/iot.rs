//! Generic IoT telemetry over MQTT: topic matching, mapping validation, and the Tasmota,
//! Zigbee2MQTT and Shelly samples in `fixtures/iot` decoded with `fixtures/iot/mapping.json`.

use proptest::prelude::*;
use serde_json::{Value, json};
use tandem_ingest::decode::{DecodeContext, DecodeError};
use tandem_ingest::integrations::iot::{IotMapping, decode, topic_matches};
use tandem_model::{Activity, Class, DeviceKind, Event};

fn ctx() -> DecodeContext {
    DecodeContext::new("site-mqtt", "2026-03-04T10:00:00Z".parse().unwrap())
}

fn mapping() -> IotMapping {
    let m: IotMapping = serde_json::from_str(include_str!("fixtures/iot/mapping.json")).unwrap();
    m.validate().unwrap();
    m
}

fn messages() -> Vec<(&'static str, &'static str)> {
    include_str!("fixtures/iot/messages.txt")
        .lines()
        .map(|l| l.split_once(' ').unwrap())
        .collect()
}

fn host(e: &Event) -> Option<&str> {
    e.device.as_ref()?.hostname.as_deref()
}

/// (metric, value) of telemetry events.
fn readings(events: &[Event]) -> Vec<(String, Value)> {
    events
        .iter()
        .map(|e| {
            assert_eq!(
                (e.class, e.activity),
                (Class::DeviceTelemetry, Activity::Reading)
            );
            (
                e.attrs["metric"].as_str().unwrap().to_owned(),
                e.attrs["value"].clone(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, Value)]) -> Vec<(String, Value)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[test]
fn topic_filter_table() {
    // (filter, topic, matches): MQTT 3.1.1 §4.7 and its examples.
    let table = [
        ("sport/tennis/player1/#", "sport/tennis/player1", true),
        (
            "sport/tennis/player1/#",
            "sport/tennis/player1/ranking",
            true,
        ),
        (
            "sport/tennis/player1/#",
            "sport/tennis/player1/score/wimbledon",
            true,
        ),
        ("sport/#", "sport", true),
        ("#", "sport/tennis", true),
        ("#", "/", true),
        ("sport/tennis/#", "sport/tennisplayer", false),
        ("sport/tennis#", "sport/tennis", false),
        ("sport/tennis/#/ranking", "sport/tennis/x/ranking", false),
        ("sport/tennis/+", "sport/tennis/player1", true),
        ("sport/tennis/+", "sport/tennis/player1/tournament", false),
        ("sport/+", "sport", false),
        ("sport/+", "sport/", true),
        ("+/+", "/finance", true),
        ("/+", "/finance", true),
        ("+", "/finance", false),
        ("+", "sport", true),
        ("sport/+/player1", "sport/tennis/player1", true),
        ("sport+", "sport+", false),
        ("+/tennis/#", "sport/tennis", true),
        ("ACCOUNTS", "Accounts", false),
        ("a/b", "a/b", true),
        ("a/b", "a/b/", false),
        ("#", "$SYS/broker/uptime", false),
        ("+/monitor/Clients", "$SYS/monitor/Clients", false),
        ("$SYS/#", "$SYS/monitor/Clients", true),
        ("$SYS/monitor/+", "$SYS/monitor/Clients", true),
        ("a/+", "a/+", false),
        ("a/#", "a/#", false),
        ("", "a", false),
        ("a", "", false),
        ("#/a", "x/a", false),
    ];
    for (filter, topic, want) in table {
        assert_eq!(topic_matches(filter, topic), want, "{filter} vs {topic}");
    }
}

#[test]
fn mapping_subscriptions_and_validation() {
    let m = mapping();
    assert_eq!(m.subscriptions().len(), m.rules.len());
    assert_eq!(m.subscriptions()[0], "tele/+/SENSOR");
    let mut dup = m.clone();
    dup.rules.push(dup.rules[0].clone());
    assert_eq!(dup.subscriptions(), m.subscriptions());

    let bad = |json: Value| -> String {
        let m: IotMapping = serde_json::from_value(json).unwrap();
        m.validate().unwrap_err()
    };
    assert_eq!(bad(json!({"rules": []})), "IoT mapping has no rules");
    assert_eq!(
        bad(json!({"rules": [{"topic": "a/#/b"}]})),
        "rule 1 (`a/#/b`): `#` must be a whole level and the last one"
    );
    assert!(
        bad(json!({"rules": [{"topic": "a/+", "device": "{3}"}]})).contains("`device` template")
    );
    assert!(
        bad(json!({"rules": [{"topic": "a/+", "device": "{x}"}]}))
            .contains("not `{topic}` or a level number")
    );
    assert!(
        bad(json!({"rules": [{"topic": "a", "metrics": {"t": "temp"}}]}))
            .contains("must be empty or start with `/`")
    );
    assert!(
        bad(json!({"rules": [{"topic": "a", "mode": "status", "metrics": {"t": "/t"}}]}))
            .contains("do not apply")
    );
    assert!(
        bad(json!({"rules": [{"topic": "a", "online": ["yes"]}]})).contains("only apply to mode")
    );
    assert!(
        bad(
            json!({"rules": [{"topic": "a", "mode": "status", "online": ["x"], "offline": ["X"]}]})
        )
        .contains("both online and offline")
    );
    assert!(
        bad(json!({"rules": [{"topic": "a", "read": "number", "metrics": {"t": "/t"}}]}))
            .contains("cannot be combined")
    );
    // `{9}` is fine under `#`, where a topic can be that deep.
    let ok: IotMapping = serde_json::from_value(
        json!({"rules": [{"topic": "a/#", "device": "{9}", "kind": "network"}]}),
    )
    .unwrap();
    ok.validate().unwrap();
    assert_eq!(ok.rules[0].kind, DeviceKind::Network);
    // Unknown keys are configuration mistakes, not silently ignored.
    assert!(
        serde_json::from_value::<IotMapping>(json!({"rules": [{"topic": "a", "devce": "x"}]}))
            .is_err()
    );
}

#[test]
fn vendor_samples() {
    let m = mapping();
    let msgs = messages();
    let run = |i: usize| -> Vec<Event> {
        let (topic, payload) = msgs[i];
        let events = decode(&m, topic, payload.as_bytes(), &ctx())
            .unwrap_or_else(|e| panic!("{topic}: {e}"));
        for e in &events {
            assert_eq!(e.raw.as_deref(), Some(payload));
            assert_eq!(e.attrs["topic"], json!(topic));
            assert_eq!(e.source.name, "site-mqtt");
        }
        events
    };

    // Tasmota DHT22: one event per reading, timed by the payload's `Time`.
    let e = run(0);
    assert_eq!(
        readings(&e),
        pairs(&[
            ("DHT22.Temperature", json!(23.9)),
            ("DHT22.Humidity", json!(34.1))
        ])
    );
    assert_eq!(host(&e[0]), Some("tasmota"));
    assert_eq!(e[0].device.as_ref().unwrap().kind, DeviceKind::Iot);
    assert_eq!(e[0].place.as_ref().unwrap().site.as_deref(), Some("hq"));
    assert_eq!(
        e[0].time,
        "2017-02-12T16:11:12Z"
            .parse::<tandem_model::Timestamp>()
            .unwrap()
    );
    assert!(!e[0].labels.contains_key("time_source"));
    assert_eq!(e[0].message, "tasmota DHT22.Temperature = 23.9");
    // SCD40: `TempUnit` excluded.
    let e = run(1);
    assert_eq!(e.len(), 5);
    assert!(readings(&e).iter().all(|(m, _)| m.starts_with("SCD40.")));
    // A switch state is text.
    assert_eq!(readings(&run(2)), pairs(&[("Switch1", json!("ON"))]));
    // LWT.
    let e = run(3);
    assert_eq!(
        (e[0].class, e[0].activity),
        (Class::DeviceStatus, Activity::Online)
    );
    assert_eq!(e[0].attrs["state"], json!("Online"));
    assert_eq!(host(&e[0]), Some("tasmota"));
    assert_eq!(
        e[0].labels.get("time_source").map(String::as_str),
        Some("received")
    );
    assert_eq!(run(4)[0].activity, Activity::Offline);

    // Zigbee2MQTT: device defaults to the friendly name the `+` matched.
    let e = run(5);
    assert_eq!(host(&e[0]), Some("0x00158d0001a2b3c4"));
    assert_eq!(
        readings(&e),
        pairs(&[("temperature", json!(27.34)), ("humidity", json!(44.72))])
    );
    assert_eq!(readings(&run(6)), pairs(&[("occupancy", json!(true))]));
    let e = run(7);
    assert_eq!(
        readings(&e),
        pairs(&[("battery", json!(91)), ("contact", json!(false))])
    );
    let place = e[1].place.as_ref().unwrap();
    assert_eq!(
        (place.zone.as_deref(), place.door.as_deref()),
        (Some("lobby"), Some("front-door"))
    );
    assert_eq!(host(&e[1]), Some("front_door_contact"));
    let e = run(8);
    assert_eq!(
        (e[0].activity, host(&e[0])),
        (Activity::Online, Some("hall_motion"))
    );
    assert_eq!(run(9)[0].activity, Activity::Offline);

    // Shelly Gen1 and Gen2.
    let e = run(10);
    assert_eq!(readings(&e), pairs(&[("temperature", json!(21.5))]));
    assert_eq!(host(&e[0]), Some("shellyht-6FA2D3"));
    let e = run(11);
    assert_eq!(
        (e[0].activity, host(&e[0])),
        (Activity::Offline, Some("shellyht-6FA2D3"))
    );
    let e = run(12);
    assert_eq!(readings(&e), pairs(&[("temperature", json!(19.8))]));
    assert_eq!(host(&e[0]), Some("shellyplusht-b8d61a8b17cc"));
    assert_eq!(run(13)[0].activity, Activity::Online);
}

#[test]
fn decode_errors_name_the_topic() {
    let m = mapping();
    let err = decode(&m, "$SYS/status/uptime", b"12", &ctx()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no IoT mapping rule matches topic `$SYS/status/uptime`"
    );
    let err = decode(&m, "tele/x/LWT", b"Rebooting", &ctx()).unwrap_err();
    assert!(
        err.to_string()
            .contains("status `Rebooting` on `tele/x/LWT` is neither"),
        "{err}"
    );
    let err = decode(&m, "shellies/x/sensor/temperature", b"warm", &ctx()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "payload on `shellies/x/sensor/temperature` is not a number: warm"
    );
    let err = decode(&m, "zigbee2mqtt/front_door_contact", b"open", &ctx()).unwrap_err();
    assert!(err.to_string().contains("is not JSON"), "{err}");
    let err = decode(&m, "zigbee2mqtt/front_door_contact", br#"{"x":1}"#, &ctx()).unwrap_err();
    assert!(
        err.to_string().contains("none of the rule's metrics"),
        "{err}"
    );
    let err = decode(
        &m,
        "zigbee2mqtt/hall_motion/availability",
        br#"{"x":1}"#,
        &ctx(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("has none of the keys"), "{err}");
    assert_eq!(
        decode(&m, "tele/x/SENSOR", b"\xc3\x28", &ctx()).unwrap_err(),
        DecodeError::InvalidUtf8 { at: 0 }
    );
    // A retained message being cleared: nothing to store.
    assert!(decode(&m, "tele/x/LWT", b"", &ctx()).unwrap().is_empty());
    assert!(
        decode(&m, "tele/x/SENSOR", b"  ", &ctx())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn status_words_and_pointers() {
    let m: IotMapping = serde_json::from_value(json!({"rules": [
        {"topic": "plant/+/state", "mode": "status", "state": "/avail/now", "online": ["running"], "offline": ["on"]},
        {"topic": "plant/+/lwt", "mode": "status", "kind": "network", "site": "{1}"},
        {"topic": "plant/+/raw", "read": "text"},
        {"topic": "plant/+/auto"},
        {"topic": "plant/+/json", "read": "json", "time": "/ts"}
    ]})).unwrap();
    m.validate().unwrap();
    let one = |topic: &str, payload: &str| {
        let mut v = decode(&m, topic, payload.as_bytes(), &ctx()).unwrap();
        assert_eq!(v.len(), 1, "{topic}");
        v.remove(0)
    };
    assert_eq!(
        one("plant/p1/state", r#"{"avail":{"now":"RUNNING"}}"#).activity,
        Activity::Online
    );
    // A configured word wins over the default meaning of `on`.
    assert_eq!(
        one("plant/p1/state", r#"{"avail":{"now":"on"}}"#).activity,
        Activity::Offline
    );
    assert!(decode(&m, "plant/p1/state", b"running", &ctx()).is_err());
    let e = one("plant/p1/lwt", r#"{"state":"ON"}"#);
    assert_eq!(e.activity, Activity::Online);
    assert_eq!(e.device.as_ref().unwrap().kind, DeviceKind::Network);
    assert_eq!(e.place.as_ref().unwrap().site.as_deref(), Some("plant"));
    assert_eq!(one("plant/p1/lwt", "false").activity, Activity::Offline);
    assert_eq!(
        one("plant/p1/lwt", r#"{"online":true}"#).activity,
        Activity::Online
    );
    assert_eq!(one("plant/p1/raw", "12.5").attrs["value"], json!("12.5"));
    let e = one("plant/p1/auto", "12.5");
    assert_eq!(
        (e.attrs["metric"].clone(), e.attrs["value"].clone()),
        (json!("auto"), json!(12.5))
    );
    assert_eq!(one("plant/p1/auto", "open").attrs["value"], json!("open"));
    let e = one("plant/p1/json", r#"{"ts":1795593662,"v":[1]}"#);
    assert_eq!(e.attrs["metric"], json!("v.0"));
    assert_eq!(
        e.time,
        "2026-11-25T08:01:02Z"
            .parse::<tandem_model::Timestamp>()
            .unwrap()
    );
    assert!(decode(&m, "plant/p1/json", b"not json", &ctx()).is_err());
}

proptest! {
    #[test]
    fn topic_matching_never_panics_and_topics_match_themselves(
        filter in "[a-z+#/$]{0,12}",
        topic in "[a-z/$]{0,12}",
    ) {
        let _ = topic_matches(&filter, &topic);
        if !topic.is_empty() {
            prop_assert!(topic_matches(&topic, &topic));
            if !topic.starts_with('$') {
                prop_assert!(topic_matches("#", &topic));
            }
        }
    }

    #[test]
    fn garbage_never_panics(
        topic in "(tele/[a-z]{0,4}/(SENSOR|LWT)|zigbee2mqtt/[a-z/]{0,8}|shellies/x/(sensor/t|online)|[a-z+#/$]{0,10})",
        payload in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..48),
            "[ -~]{0,40}".prop_map(String::into_bytes),
            json_value().prop_map(|v| v.to_string().into_bytes()),
        ],
    ) {
        let _ = decode(&mapping(), &topic, &payload, &ctx());
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[ -~]{0,10}".prop_map(Value::from),
    ];
    leaf.prop_recursive(12, 200, 12, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..12).prop_map(Value::Array),
            prop::collection::btree_map("(Time|state|contact|tC|[A-Za-z]{1,6})", inner, 0..12)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
