//! CEF: the access-control fixture end to end, the spec's escaping examples, and garbage.

use proptest::prelude::*;
use tandem_ingest::decode::{DecodeContext, DecodeError};
use tandem_ingest::integrations::cef::{self, CefRecord};
use tandem_model::{Activity as A, Class as C, Event, Outcome as O, Severity, Timestamp};

const ACCESS: &str = include_str!("fixtures/cef/access-control.log");
const ESCAPING: &str = include_str!("fixtures/cef/escaping.log");

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn ctx() -> DecodeContext {
    DecodeContext::new("hq-badges", at("2026-03-04T10:00:00Z"))
}

fn decode(line: &str) -> Event {
    let mut events = cef::decode(line, &ctx()).unwrap();
    assert_eq!(events.len(), 1);
    events.remove(0)
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.trim().is_empty()).collect()
}

fn door(e: &Event) -> Option<&str> {
    e.place.as_ref()?.door.as_deref()
}

fn reason(e: &Event) -> Option<&str> {
    e.physical.as_ref()?.reason.as_deref()
}

#[test]
fn fixture_classes_and_activities() {
    // (class, activity, outcome, physical.reason) per line, in order.
    let expected: &[(C, A, O, Option<&str>)] = &[
        (C::PhysicalAccess, A::Granted, O::Success, None),
        (C::PhysicalAccess, A::Denied, O::Failure, Some("expired")),
        (C::PhysicalAccess, A::Granted, O::Success, None),
        (C::PhysicalAccess, A::Denied, O::Failure, Some("wrong_pin")),
        (C::PhysicalAccess, A::Granted, O::Success, None),
        (C::PhysicalAccess, A::Denied, O::Failure, Some("expired")),
        (
            C::PhysicalAccess,
            A::Denied,
            O::Failure,
            Some("anti_passback"),
        ),
        (C::PhysicalAccess, A::Forced, O::Unknown, None),
        (C::PhysicalAccess, A::HeldOpen, O::Unknown, None),
        (C::PhysicalAccess, A::RequestToExit, O::Success, None),
        (C::PhysicalAccess, A::Duress, O::Unknown, None),
        (C::PhysicalAccess, A::Tamper, O::Unknown, None),
        (C::DeviceStatus, A::Offline, O::Unknown, None),
        (C::DeviceStatus, A::Online, O::Unknown, None),
        (C::Other, A::Unknown, O::Unknown, None),
        (C::Other, A::Unknown, O::Unknown, None),
    ];
    let lines = lines(ACCESS);
    assert_eq!(lines.len(), expected.len());
    for (n, (line, want)) in lines.iter().zip(expected).enumerate() {
        let e = decode(line);
        let got = (e.class, e.activity, e.outcome, reason(&e));
        assert_eq!(got, *want, "line {}: {line}", n + 1);
        assert_eq!(e.source.name, "hq-badges");
        assert_eq!(e.raw.as_deref(), Some(*line));
        assert!(e.observed_time.is_some());
    }
}

#[test]
fn ccure_card_admitted() {
    let e = decode(lines(ACCESS)[0]);
    assert_eq!(e.time, at("2026-03-04T09:15:01Z"));
    assert_eq!(e.source.vendor.as_deref(), Some("Software House"));
    assert_eq!(e.source.product.as_deref(), Some("C-CURE"));
    assert_eq!(e.actor.user.as_deref(), Some("Jane Doe"));
    assert_eq!(e.actor.uid.as_deref(), Some(r"CORP\jdoe"));
    assert_eq!(e.actor.badge.as_deref(), Some("40123"));
    assert_eq!(door(&e), Some("HQ Lobby East"));
    assert_eq!(e.severity, Severity::Low);
    assert_eq!(
        e.src.as_ref().unwrap().ip,
        Some("10.20.2.14".parse().unwrap())
    );
    // The syslog header names the sending host.
    assert_eq!(
        e.device.as_ref().unwrap().hostname.as_deref(),
        Some("ccure-01")
    );
    // Labelled custom fields: under CEF names and under their labels.
    assert_eq!(e.attrs["cs1"], "HQ Lobby East");
    assert_eq!(e.attrs["Door"], "HQ Lobby East");
    assert_eq!(e.attrs["City"], "Lyon");
    assert_eq!(e.attrs["cef.name"], "Card Admitted");
}

#[test]
fn lyrix_direction_and_building() {
    let e = decode(lines(ACCESS)[2]);
    let place = e.place.as_ref().unwrap();
    assert_eq!(place.door.as_deref(), Some("Server Room East"));
    assert_eq!(place.building.as_deref(), Some("HQ-B1"));
    assert_eq!(
        e.physical.as_ref().unwrap().direction.as_deref(),
        Some("in")
    );
    assert_eq!(e.actor.user.as_deref(), Some("jdoe"));
    assert_eq!(
        e.device.as_ref().unwrap().hostname.as_deref(),
        Some("skud-01")
    );
    assert_eq!(e.time, at("2026-03-04T09:16:00Z"));
}

#[test]
fn honeywell_without_syslog_header() {
    let e = decode(lines(ACCESS)[3]);
    assert_eq!(e.actor.user.as_deref(), Some("Doe, Jane"));
    assert_eq!(e.actor.badge.as_deref(), Some("40123"));
    assert_eq!(e.message, "Data Center Door 2");
    assert_eq!(e.severity, Severity::Medium);
    assert!(e.device.is_none());
}

#[test]
fn genetec_cef_dates_labels_and_5424_header() {
    let e = decode(lines(ACCESS)[4]);
    assert_eq!(e.time, at("2026-03-04T09:17:30.25Z"));
    assert_eq!(e.actor.user.as_deref(), Some("Jane Doe"), "from Cardholder");
    assert_eq!(e.actor.badge.as_deref(), Some("40123"), "from Credential");
    let place = e.place.as_ref().unwrap();
    assert_eq!(place.site.as_deref(), Some("HQ"));
    assert_eq!(place.door.as_deref(), Some("Lobby Turnstile 3"));
    assert_eq!(place.reader.as_deref(), Some("RDR-L3-IN"));
    assert_eq!(
        e.physical.as_ref().unwrap().direction.as_deref(),
        Some("in")
    );
    assert_eq!(
        e.device.as_ref().unwrap().hostname.as_deref(),
        Some("sc-01")
    );

    let forced = decode(lines(ACCESS)[7]);
    assert_eq!(door(&forced), Some("Loading Dock"));
    assert_eq!(forced.severity, Severity::High);
}

#[test]
fn lenel_duress_tamper_and_reader_status() {
    let duress = decode(lines(ACCESS)[10]);
    assert_eq!(duress.severity, Severity::Critical);
    assert_eq!(
        duress.place.as_ref().unwrap().reader.as_deref(),
        Some("Vault Reader")
    );
    let offline = decode(lines(ACCESS)[12]);
    assert_eq!(
        offline.place.as_ref().unwrap().reader.as_deref(),
        Some("Vault Reader")
    );
    assert_eq!(
        offline.device.as_ref().unwrap().hostname.as_deref(),
        Some("lnl-2220-01")
    );
    assert_eq!(offline.time, at("2026-03-04T09:20:00Z"));
}

#[test]
fn non_access_cef_keeps_everything() {
    let e = decode(lines(ACCESS)[14]);
    assert_eq!(e.severity, Severity::Critical);
    assert_eq!(e.message, "worm successfully stopped");
    assert_eq!(e.attrs["src"], "10.0.0.1");
    assert_eq!(e.attrs["spt"], "1232");
    assert!(e.place.is_none() && e.physical.is_none());
    // No rt/end/start: the syslog header time, year nearest the receipt time.
    assert_eq!(e.time, at("2025-09-19T08:26:10Z"));
    let proxy = decode(lines(ACCESS)[15]);
    assert_eq!(proxy.actor.user.as_deref(), Some("alice"));
    assert_eq!(proxy.attrs["request"], "http://example.com/");
}

#[test]
fn spec_escaping_examples() {
    let records: Vec<CefRecord> = lines(ESCAPING)
        .iter()
        .map(|l| cef::parse(l).unwrap())
        .collect();
    assert_eq!(records[0].name, "detected a | in message");
    assert_eq!(records[0].get("act"), Some("blocked a |"));
    assert_eq!(records[1].name, r"detected a \ in packet");
    assert_eq!(records[1].get("act"), Some(r"blocked a \"));
    assert_eq!(records[2].get("act"), Some("blocked a ="));
    assert_eq!(records[2].get("dst"), Some("1.1.1.1"));
    assert_eq!(records[3].severity, "High");
    assert_eq!(records[3].signature_id, "machine:20");
    assert_eq!(
        records[3].get("msg"),
        Some("Detected a threat.\n No action needed.")
    );
    assert_eq!(
        records[3].get("filePath"),
        Some(r"C:\Program Files\ArcSight")
    );
    let e = decode(lines(ESCAPING)[3]);
    assert_eq!(e.severity, Severity::High);
}

#[test]
fn escaping_edge_cases() {
    let p = |s: &str| cef::parse(s).unwrap();
    // Values with spaces end at the next ` key=`; an escaped `=` does not start a key.
    let r = p(r"CEF:0|v|p|1|id|n|3|msg=a b\=c d=e f  g=h");
    assert_eq!(
        r.extensions,
        [
            ("msg".to_owned(), "a b=c".to_owned()),
            ("d".to_owned(), "e f".to_owned()),
            ("g".to_owned(), "h".to_owned()),
        ]
    );
    // An unescaped `=` not preceded by ` key` stays in the value (URLs from lax senders).
    let r = p("CEF:0|v|p|1|id|n|3|request=http://x/?a=b&c=d cs1=x");
    assert_eq!(r.get("request"), Some("http://x/?a=b&c=d"));
    // Escaped backslash at the end of a value, then a key.
    let r = p(r"CEF:0|v|p|1|id|n|3|path=C:\\ next=1");
    assert_eq!(r.get("path"), Some(r"C:\"));
    assert_eq!(r.get("next"), Some("1"));
    // Unknown escapes are kept; a trailing lone backslash too.
    let r = p(r"CEF:0|v|p|1|id|n|3|a=x\ty b=z\");
    assert_eq!(r.get("a"), Some(r"x\ty"));
    assert_eq!(r.get("b"), Some(r"z\"));
    // Header: escaped pipe and backslash; other escapes kept.
    let r = p(r"CEF:1|V\|x|P\\y|1\n|id|n|Very-High|");
    assert_eq!((r.version.as_str(), r.device_vendor.as_str()), ("1", "V|x"));
    assert_eq!(r.device_product, r"P\y");
    assert_eq!(r.device_version, r"1\n");
    assert_eq!(r.severity, "Very-High");
    // Empty values and repeated keys.
    let r = p("CEF:0|v|p|1|id|n|3|a= b=2 a=3");
    assert_eq!(r.get("a"), Some(""));
    assert_eq!(r.extensions.len(), 3);
    let e = decode("CEF:0|v|p|1|id|n|3|a=1 a=2");
    assert_eq!(e.attrs["a"], serde_json::json!(["1", "2"]));
    // Pipes in extension values need no escape.
    assert_eq!(p("CEF:0|v|p|1|id|n|3|x=a|b").get("x"), Some("a|b"));
    // Non-ASCII is fine anywhere.
    let r = p("CEF:0|Société|Contrôle|1|id|Accès refusé|3|cs1Label=Porte cs1=Entrée nord");
    assert_eq!(r.get("cs1"), Some("Entrée nord"));
}

#[test]
fn long_key_names_are_understood() {
    let e = decode(
        "CEF:0|v|p|1|AccessDenied|Access denied|5|sourceUserName=jdoe deviceCustomString1Label=Door deviceCustomString1=Lab 1 deviceCustomString2Label=Reason deviceCustomString2=Card suspended",
    );
    assert_eq!(e.actor.user.as_deref(), Some("jdoe"));
    assert_eq!(door(&e), Some("Lab 1"));
    assert_eq!(reason(&e), Some("suspended"));
    assert_eq!(e.activity, A::Denied);
}

#[test]
fn errors_name_the_problem() {
    let err = |s: &str| cef::decode(s, &ctx()).unwrap_err();
    assert_eq!(err(""), DecodeError::Empty);
    assert_eq!(err("  \n"), DecodeError::Empty);
    for (line, needle) in [
        ("<13>Mar  4 09:00:00 host app: hello", "no `CEF:` header"),
        ("CEF:0|a|b|c", "4 of the 7"),
        (
            "CEF:0|a|b|c|d|e|5|not a pair",
            "does not start with `key=value`",
        ),
    ] {
        let msg = err(line).to_string();
        assert!(msg.contains(needle), "{line}: {msg}");
    }
}

#[test]
fn time_sources() {
    let e = decode("CEF:0|v|p|1|id|n|3|end=Mar 04 2026 08:00:00 CET start=1");
    assert_eq!(e.time, at("2026-03-04T07:00:00Z"));
    let e = decode("CEF:0|v|p|1|id|n|3|rt=2026-03-04T09:00:00Z");
    assert_eq!(e.time, at("2026-03-04T09:00:00Z"));
    let e = decode("CEF:0|v|p|1|id|n|3|rt=whenever");
    assert_eq!(e.time, ctx().received);
    assert_eq!(e.labels["time_source"], "received");
    assert_eq!(e.attrs["rt"], "whenever");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn garbage_never_panics(s in "\\PC{0,200}") {
        let _ = cef::parse(&s);
        let _ = cef::decode(&s, &ctx());
    }

    #[test]
    fn cef_shaped_garbage_never_panics(
        prefix in prop::sample::select(vec![
            "", "<134>", "<134>Mar  4 09:15:01 host ", "<134>1 2026-03-04T09:15:01Z h a - - - ", "x: ",
        ]),
        header in "[a-z|\\\\ ]{0,30}",
        ext in "([a-zA-Z0-9]{1,6}=[^=]{0,12} ?|\\\\[=\\\\nr|]|[= \\\\])*",
    ) {
        let line = format!("{prefix}CEF:0|{header}|{ext}");
        let _ = cef::parse(&line);
        if let Ok(events) = cef::decode(&line, &ctx()) {
            prop_assert_eq!(events.len(), 1);
        }
    }

    #[test]
    fn escaped_values_round_trip(value in "[^\\r\\n]{0,40}") {
        // Escape per the spec, then parse back.
        let escaped = value.replace('\\', "\\\\").replace('=', "\\=");
        let line = format!("CEF:0|v|p|1|id|n|3|msg={escaped} k=1");
        let r = cef::parse(&line).unwrap();
        prop_assert_eq!(r.get("msg"), Some(value.trim_end_matches(' ')));
        prop_assert_eq!(r.get("k"), Some("1"));
    }
}

/// Access-control systems often name a door only by their own id (Genetec's door GUID,
/// a controller's external id): the event must keep those ids, under the system they belong
/// to, and still count as physical access.
#[test]
fn an_access_event_naming_the_door_only_by_id() {
    let line = "<134>1 2026-03-04T09:20:00Z sc-01 SecurityCenter - - - CEF:0|Genetec|Security Center|5.12|AccessGranted|Access granted|2|rt=1772616000000 cs1Label=Door GUID cs1=0A9B8C7D-0000-4000-8000-00000000D001 cs2Label=Reader ID cs2=rdr-77 cs4Label=Credential cs4=40123";
    let e = decode(line);
    assert_eq!((e.class, e.activity), (C::PhysicalAccess, A::Granted));
    let place = e.place.as_ref().unwrap();
    assert_eq!(place.door, None);
    assert_eq!(place.system.as_deref(), Some("genetec"));
    assert_eq!(place.ids["door"], "0A9B8C7D-0000-4000-8000-00000000D001");
    assert_eq!(place.ids["reader"], "rdr-77");

    // No door field at all, only the spec's `deviceExternalId` and a door number.
    let line = "CEF:0|Lenel|OnGuard|8.0|1|Access Denied|5|rt=1772616010000 deviceExternalId=panel-3 cs1Label=Door Number cs1=12 cs4Label=Badge ID cs4=40777";
    let e = decode(line);
    assert_eq!((e.class, e.activity), (C::PhysicalAccess, A::Denied));
    let place = e.place.as_ref().unwrap();
    assert_eq!(place.system.as_deref(), Some("lenel"));
    assert_eq!(place.ids["door"], "12");
    assert_eq!(place.ids["device"], "panel-3");
    let device = e.device.as_ref().unwrap();
    assert_eq!(
        (device.external_id.as_deref(), device.system.as_deref()),
        (Some("panel-3"), Some("lenel"))
    );
}

#[test]
fn access_control_systems_have_stable_names() {
    for (vendor, system) in [
        ("Genetec", "genetec"),
        ("Genetec Inc.", "genetec"),
        ("LenelS2", "lenel"),
        ("Lenel", "lenel"),
        ("Software House", "ccure"),
        ("Acme Doors", "acmedoors"),
    ] {
        assert_eq!(cef::system_of(vendor), system, "{vendor}");
    }
}

/// A controller's own messages (its case opened, its link to the server lost) are device
/// status, and carry the controller's id so resolution can find it and its door.
#[test]
fn controller_tamper_and_offline_name_the_controller() {
    let tamper = decode(
        "CEF:0|Genetec|Security Center|5.12|UnitTamper|Controller tamper|7|dvchost=sc-01 cs1Label=Controller GUID cs1=5D1C0000-0000-4000-8000-00000000A002",
    );
    assert_eq!(
        (tamper.class, tamper.activity),
        (C::DeviceStatus, A::Tamper)
    );
    let place = tamper.place.as_ref().unwrap();
    assert_eq!(place.ids["device"], "5D1C0000-0000-4000-8000-00000000A002");
    assert_eq!(place.system.as_deref(), Some("genetec"));

    let offline = decode(
        "CEF:0|Genetec|Security Center|5.12|UnitOffline|Controller offline|5|dvchost=sc-01 cs1Label=Controller GUID cs1=5D1C0000-0000-4000-8000-00000000A001",
    );
    assert_eq!(
        (offline.class, offline.activity),
        (C::DeviceStatus, A::Offline)
    );
    assert_eq!(
        offline.place.as_ref().unwrap().ids["device"],
        "5D1C0000-0000-4000-8000-00000000A001"
    );
    // Tamper protection switched off in an antivirus is still nobody's door.
    let av = decode("CEF:0|Acme|Endpoint|1.0|100|Tamper protection off|5|dvchost=ws-1");
    assert_eq!(av.class, C::Other);
}
