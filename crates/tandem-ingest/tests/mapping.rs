//! Declarative mappings: the badge-log fixture, CEF input, record envelopes, validation
//! errors, and garbage.

use proptest::prelude::*;
use serde_json::{Value, json};
use tandem_ingest::decode::{DecodeContext, DecodeError};
use tandem_ingest::integrations::mapping::{self, Input, Mapping};
use tandem_model::{Activity as A, Class as C, Event, Outcome as O, Severity, Timestamp};

const BADGE_EVENTS: &str = include_str!("fixtures/mapping/badge-events.jsonl");
const BADGE_MAPPING: &str = include_str!("fixtures/mapping/badge-mapping.json");
const CEF_MAPPING: &str = include_str!("fixtures/mapping/cef-mapping.json");
const CEF_ACCESS: &str = include_str!("fixtures/cef/access-control.log");

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn ctx() -> DecodeContext {
    DecodeContext::new("badge-app", at("2026-03-04T10:00:00Z"))
}

fn mapping_from(v: Value) -> Mapping {
    let m: Mapping = serde_json::from_value(v).unwrap();
    m.validate().unwrap();
    m
}

fn one(m: &Mapping, text: &str) -> Event {
    let mut events = mapping::decode(m, text, &ctx()).unwrap();
    assert_eq!(events.len(), 1);
    events.remove(0)
}

#[test]
fn badge_fixture() {
    let m: Mapping = serde_json::from_str(BADGE_MAPPING).unwrap();
    assert_eq!(m.validate(), Ok(()));
    let lines: Vec<&str> = BADGE_EVENTS.lines().collect();

    let granted = one(&m, lines[0]);
    assert_eq!(
        (
            granted.class,
            granted.activity,
            granted.outcome,
            granted.severity
        ),
        (
            C::PhysicalAccess,
            A::Granted,
            O::Success,
            Severity::Informational
        )
    );
    assert_eq!(granted.time, at("2026-03-04T09:15:01Z"));
    assert_eq!(granted.message, "Badge accepted");
    assert_eq!(granted.actor.badge.as_deref(), Some("40123"));
    assert_eq!(granted.actor.user.as_deref(), Some("Jane Doe"));
    let place = granted.place.as_ref().unwrap();
    assert_eq!(place.door.as_deref(), Some("Lobby East"));
    assert_eq!(place.site.as_deref(), Some("hq"));
    assert_eq!(
        granted.src.as_ref().unwrap().ip,
        Some("10.20.2.14".parse().unwrap())
    );
    assert_eq!(granted.source.vendor.as_deref(), Some("Acme"));
    assert_eq!(granted.source.product.as_deref(), Some("BadgeServer"));
    assert_eq!(granted.labels["site_code"], "HQ1");
    assert_eq!(granted.raw.as_deref(), Some(lines[0]));
    // No `evt.why` and no `default`: no reason.
    assert!(granted.physical.is_none());
    // Unmapped input stays, nested as it was; consumed paths are gone.
    assert_eq!(
        Value::Object(granted.attrs.clone()),
        json!({"evt": {"code": 17}, "panel": "P-03"})
    );

    let denied = one(&m, lines[1]);
    assert_eq!(
        (denied.activity, denied.outcome, denied.severity),
        (A::Denied, O::Failure, Severity::Low)
    );
    assert_eq!(
        denied.physical.as_ref().unwrap().reason.as_deref(),
        Some("expired")
    );
    assert!(denied.actor.user.is_none());

    let forced = one(&m, lines[2]);
    // `FORCED` found in the map ignoring case.
    assert_eq!(
        (forced.activity, forced.severity),
        (A::Forced, Severity::High)
    );
    assert_eq!(forced.outcome, O::Unknown, "not in the outcome map");
    assert!(forced.src.is_none(), "not an IP");
    assert_eq!(forced.attrs["client"], json!({"ip": "not-an-ip"}));

    let heartbeat = one(&m, lines[3]);
    assert_eq!(heartbeat.activity, A::Other, "default");
    assert_eq!(heartbeat.time, ctx().received);
    assert_eq!(heartbeat.labels["time_source"], "received");
    // The unparseable time and the unmapped type stay for the analyst.
    assert_eq!(heartbeat.attrs["ts"], "yesterday");
    assert_eq!(heartbeat.attrs["evt"], json!({"type": "heartbeat"}));
}

#[test]
fn cef_input() {
    let m: Mapping = serde_json::from_str(CEF_MAPPING).unwrap();
    assert_eq!(m.input, Input::Cef);
    m.validate().unwrap();
    let line = CEF_ACCESS.lines().nth(2).unwrap();
    let e = one(&m, line);
    assert_eq!(
        (e.class, e.activity, e.outcome),
        (C::PhysicalAccess, A::Granted, O::Success)
    );
    assert_eq!(e.time, at("2026-03-04T09:16:00Z"), "default CEF time keys");
    assert_eq!(e.actor.user.as_deref(), Some("jdoe"));
    let place = e.place.as_ref().unwrap();
    assert_eq!(place.door.as_deref(), Some("Server Room East"));
    assert_eq!(place.building.as_deref(), Some("HQ-B1"));
    assert_eq!(
        e.physical.as_ref().unwrap().direction.as_deref(),
        Some("in")
    );
    assert_eq!(
        e.source.vendor.as_deref(),
        Some("Lyrix"),
        "from the CEF header"
    );
    // A consumed label consumes its field and the label key.
    assert!(!e.attrs.contains_key("cs2") && !e.attrs.contains_key("cs2Label"));
    assert!(!e.attrs.contains_key("DoorName"));
    assert_eq!(e.attrs["suid"], "Jane Doe");
    assert_eq!(e.attrs["cef.device_product"], "SKUD");

    let err = mapping::decode(&m, "not cef", &ctx()).unwrap_err();
    assert!(err.to_string().contains("no `CEF:` header"));
}

#[test]
fn arrays_and_record_envelopes() {
    let m = mapping_from(json!({
        "records": "value",
        "class": "authentication",
        "activity": "logon",
        "outcome": { "from": "status.errorCode", "map": { "0": "success" }, "default": "failure" },
        "time": { "from": "createdDateTime", "format": "rfc3339" },
        "fields": { "actor.user": "userPrincipalName", "src.ip": "ipAddress" }
    }));
    let text = r#"{"value":[
        {"createdDateTime":"2026-03-04T09:00:00Z","userPrincipalName":"a@example.com","ipAddress":"203.0.113.5","status":{"errorCode":0}},
        {"createdDateTime":"2026-03-04T09:01:00Z","userPrincipalName":"b@example.com","status":{"errorCode":50126}}
    ]}"#;
    let events = mapping::decode(&m, text, &ctx()).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].outcome, O::Success);
    assert_eq!(events[1].outcome, O::Failure);
    // The default does not consume: the unexpected code stays visible.
    assert_eq!(events[1].attrs["status"], json!({"errorCode": 50126}));
    assert!(events[0].attrs.is_empty(), "{:?}", events[0].attrs);
    // Each event's raw is its own record.
    assert!(events[1].raw.as_deref().unwrap().contains("b@example.com"));
    assert!(!events[1].raw.as_deref().unwrap().contains("a@example.com"));

    // A top-level array without `records`.
    let plain = mapping_from(json!({"class": "other"}));
    let events = mapping::decode(&plain, r#"[{"a":1},{"b":2}]"#, &ctx()).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].attrs["b"], 2);

    let err = |m: &Mapping, t: &str| mapping::decode(m, t, &ctx()).unwrap_err().to_string();
    assert!(err(&m, r#"{"value":5}"#).contains("`value` is not an array"));
    assert!(err(&m, r#"{"other":[]}"#).contains("no `value` array"));
    assert!(err(&plain, "[1]").contains("record 0 is not a JSON object"));
    assert!(err(&plain, "42").contains("expected a JSON object or array"));
    assert!(matches!(
        mapping::decode(&plain, "{", &ctx()),
        Err(DecodeError::InvalidJson { .. })
    ));
    assert_eq!(
        mapping::decode(&plain, "  ", &ctx()),
        Err(DecodeError::Empty)
    );
}

#[test]
fn time_formats() {
    let case = |format: &str, value: Value| {
        let m = mapping_from(json!({"time": {"from": "t", "format": format}}));
        one(&m, &json!({"t": value}).to_string()).time
    };
    let t = at("2026-03-04T09:15:01Z");
    assert_eq!(case("auto", json!("2026-03-04T09:15:01Z")), t);
    assert_eq!(case("auto", json!(1_772_615_701_000_i64)), t);
    assert_eq!(case("rfc3339", json!("2026-03-04T10:15:01+01:00")), t);
    assert_eq!(case("epoch_s", json!(1_772_615_701)), t);
    assert_eq!(case("epoch_s", json!("1772615701")), t);
    assert_eq!(case("epoch_ms", json!(1_772_615_701_000_i64)), t);
    assert_eq!(case("epoch_us", json!(1_772_615_701_000_000_i64)), t);
    assert_eq!(case("epoch_ns", json!(1_772_615_701_000_000_000_i64)), t);
    assert_eq!(case("cef", json!("Mar 04 2026 10:15:01 CET")), t);
    assert_eq!(case("%d/%m/%Y %H:%M:%S", json!("04/03/2026 09:15:01")), t);
    assert_eq!(
        case("%d/%m/%Y %H:%M:%S %z", json!("04/03/2026 10:15:01 +0100")),
        t
    );
    // Wrong unit for the value: not parsed, receipt time.
    assert_eq!(case("rfc3339", json!(1_772_615_701)), ctx().received);
    // A bare string is a path with format auto.
    let m = mapping_from(json!({"time": "when"}));
    assert_eq!(one(&m, r#"{"when":"2026-03-04T09:15:01Z"}"#).time, t);
    // No rule: the json format's time keys.
    let m = mapping_from(json!({}));
    let e = one(&m, r#"{"@timestamp":"2026-03-04T09:15:01Z","x":1}"#);
    assert_eq!(e.time, t);
    assert!(!e.attrs.contains_key("@timestamp"));
}

#[test]
fn vocabulary_pass_through_and_targets() {
    let m = mapping_from(json!({
        "class": {"from": "kind"},
        "activity": {"from": "what"},
        "severity": {"from": "level", "map": {"warn": "medium"}},
        "fields": {
            "device.kind": {"value": "reader"},
            "device.hostname": "panel",
            "dst.port": "port",
            "attrs.team": {"value": "facilities"},
            "actor.email": "who.mail"
        }
    }));
    let e = one(
        &m,
        r#"{"kind":"Physical_Access","what":"held_open","level":"WARN","panel":"P-03","port":"70000","who":{"mail":"j@example.com"}}"#,
    );
    assert_eq!(
        (e.class, e.activity, e.severity),
        (C::PhysicalAccess, A::HeldOpen, Severity::Medium)
    );
    let device = e.device.as_ref().unwrap();
    assert_eq!(device.kind, tandem_model::DeviceKind::Reader);
    assert_eq!(device.hostname.as_deref(), Some("P-03"));
    assert!(e.dst.is_none(), "70000 is not a port");
    assert_eq!(e.attrs["port"], "70000");
    assert_eq!(e.attrs["team"], "facilities");
    assert_eq!(e.actor.email.as_deref(), Some("j@example.com"));
    assert!(!e.attrs.contains_key("who"));
    // A pass-through value that is not a Tandem name is left in attrs.
    let e = one(&m, r#"{"kind":"badge","what":"opened"}"#);
    assert_eq!((e.class, e.activity), (C::Other, A::Unknown));
    assert_eq!(e.attrs["kind"], "badge");
    assert_eq!(e.attrs["what"], "opened");
}

#[test]
fn validation_lists_every_problem() {
    let m: Mapping = serde_json::from_value(json!({
        "input": "cef",
        "records": "value",
        "class": "physical",
        "activity": {"from": "t", "map": {"a": "grant"}, "default": "nope"},
        "outcome": {"value": "success", "from": "x"},
        "severity": {"map": {"a": "low"}},
        "time": {"from": "", "format": "dd/mm/yyyy"},
        "fields": {
            "actor.name": "x",
            "device.kind": {"value": "toaster"},
            "src.ip": {"value": "not-an-ip"},
            "src.port": {"from": "p", "map": {"a": "99999"}},
            "labels.": "x",
            "place.door": {"value": "d", "default": "e"},
            "place.site": {"from": " "}
        }
    }))
    .unwrap();
    let err = m.validate().unwrap_err();
    for needle in [
        "`records` only applies",
        "unknown class `physical`",
        "activity (map): unknown activity `grant`",
        "activity (default): unknown activity `nope`",
        "outcome: give either `from` or `value`",
        "severity: needs `from` (a path) or `value`",
        "`time.from` is an empty path",
        "unknown time format `dd/mm/yyyy`",
        "unknown target field `actor.name`",
        "unknown device kind `toaster`",
        "`not-an-ip` is not an IP address",
        "`99999` is not a port",
        "unknown target field `labels.`",
        "fields.\"place.door\": `map` and `default` need `from`",
        "fields.\"place.site\": `from` is an empty path",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in: {err}");
    }
    assert!(err.starts_with("invalid mapping: "));
}

#[test]
fn unknown_keys_are_refused_at_load() {
    let e = serde_json::from_value::<Mapping>(json!({"clas": "other"})).unwrap_err();
    assert!(e.to_string().contains("unknown field `clas`"), "{e}");
    let e = serde_json::from_value::<Mapping>(json!({"activity": {"form": "x"}})).unwrap_err();
    assert!(e.to_string().contains("unknown field `form`"), "{e}");
    let e = serde_json::from_value::<Mapping>(json!({"input": "xml"})).unwrap_err();
    assert!(e.to_string().contains("unknown variant `xml`"), "{e}");
    let e = serde_json::from_value::<Mapping>(json!({"class": 5})).unwrap_err();
    assert!(e.to_string().contains("physical_access"), "{e}");
    let e =
        serde_json::from_value::<Mapping>(json!({"time": {"from": "t", "fmt": "x"}})).unwrap_err();
    assert!(e.to_string().contains("unknown field `fmt`"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn garbage_never_panics(s in "\\PC{0,200}") {
        let json = serde_json::from_str::<Mapping>(BADGE_MAPPING).unwrap();
        let cef = serde_json::from_str::<Mapping>(CEF_MAPPING).unwrap();
        let _ = mapping::decode(&json, &s, &ctx());
        let _ = mapping::decode(&cef, &s, &ctx());
    }

    #[test]
    fn arbitrary_json_with_arbitrary_paths(
        keys in prop::collection::vec("[a-z.0-9]{1,6}", 1..5),
        values in prop::collection::vec(prop_oneof![
            any::<i64>().prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            Just(json!({"x": {"y": [1, {"z": "w"}]}})),
            Just(Value::Null),
        ], 1..5),
        path in "[a-z.0-9]{0,10}",
        format in prop::sample::select(vec!["auto", "rfc3339", "epoch_s", "epoch_ms", "epoch_us", "epoch_ns", "cef", "%Y %j"]),
    ) {
        let m: Mapping = serde_json::from_value(json!({
            "activity": {"from": path.clone(), "map": {"1": "granted"}},
            "time": {"from": path.clone(), "format": format},
            "fields": {"src.port": path.clone(), "device.kind": path.clone(), "place.door": path}
        })).unwrap();
        let object: serde_json::Map<String, Value> = keys.into_iter().zip(values).collect();
        let text = Value::Object(object).to_string();
        let events = mapping::decode(&m, &text, &ctx()).unwrap();
        prop_assert_eq!(events.len(), 1);
    }
}
