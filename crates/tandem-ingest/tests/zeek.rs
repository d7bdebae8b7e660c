//! Zeek conn.log (TSV and JSON) and other Zeek logs, decoded from the fixtures in
//! `fixtures/zeek` (sources in its README).

use proptest::prelude::*;
use serde_json::json;
use tandem_ingest::decode::{DecodeContext, DecodeError};
use tandem_ingest::integrations::zeek::ZeekDecoder;
use tandem_model::{Activity, Class, Event, Outcome};

fn ctx() -> DecodeContext {
    DecodeContext::new("zeek-sensor", "2026-03-04T10:00:00Z".parse().unwrap())
}

/// Every event of a whole file, failing on any line error.
fn decode_all(decoder: &mut ZeekDecoder, text: &str) -> Vec<Event> {
    text.lines()
        .flat_map(|line| {
            decoder
                .decode_line(line, &ctx())
                .unwrap_or_else(|e| panic!("{line}: {e}"))
        })
        .collect()
}

fn ip(s: &str) -> Option<std::net::IpAddr> {
    Some(s.parse().unwrap())
}

#[test]
fn tsv_conn_log_with_header() {
    let events = decode_all(
        &mut ZeekDecoder::default(),
        include_str!("fixtures/zeek/conn.log"),
    );
    assert_eq!(events.len(), 2);
    let http = &events[1];
    assert_eq!(http.class, Class::NetworkActivity);
    assert_eq!(
        (http.activity, http.outcome),
        (Activity::Traffic, Outcome::Success)
    );
    assert_eq!(
        http.time,
        "2020-06-05T14:39:59.430166Z"
            .parse::<tandem_model::Timestamp>()
            .unwrap()
    );
    let src = http.src.as_ref().unwrap();
    let dst = http.dst.as_ref().unwrap();
    assert_eq!((src.ip, src.port), (ip("192.168.4.76"), Some(46378)));
    assert_eq!((dst.ip, dst.port), (ip("31.3.245.133"), Some(80)));
    assert_eq!(http.source.vendor.as_deref(), Some("Zeek"));
    assert_eq!(http.source.product.as_deref(), Some("Zeek"));
    let a = &http.attrs;
    assert_eq!(a["id.orig_h"], json!("192.168.4.76"));
    assert_eq!(a["id.resp_p"], json!(80));
    assert_eq!(a["orig_bytes"], json!(77));
    assert_eq!(a["resp_pkts"], json!(4));
    assert_eq!(a["duration"], json!(0.254115));
    assert_eq!(a["history"], json!("ShADadFf"));
    assert_eq!(a["service"], json!("http"));
    assert_eq!(a["_path"], json!("conn"));
    // `-` (unset) fields are left out.
    assert!(!a.contains_key("local_orig") && !a.contains_key("tunnel_parents"));
    assert!(
        http.message.contains("SF") && http.message.contains("31.3.245.133:80"),
        "{}",
        http.message
    );
    assert!(
        http.raw
            .as_deref()
            .unwrap()
            .starts_with("1591367999.430166\tCLqEx41jYPOdfHF586")
    );
    assert!(!http.labels.contains_key("time_source"));
}

#[test]
fn tsv_and_json_of_the_same_trace_agree() {
    let tsv = decode_all(
        &mut ZeekDecoder::default(),
        include_str!("fixtures/zeek/conn.log"),
    );
    let json_lines: Vec<&str> = include_str!("fixtures/zeek/conn.json")
        .lines()
        .take(2)
        .collect();
    let mut decoder = ZeekDecoder::default();
    for (t, line) in tsv.iter().zip(json_lines) {
        let j = &decoder.decode_line(line, &ctx()).unwrap()[0];
        assert_eq!(
            (t.class, t.activity, t.outcome),
            (j.class, j.activity, j.outcome)
        );
        assert_eq!((&t.src, &t.dst), (&j.src, &j.dst));
        assert_eq!(t.time, j.time);
        for key in [
            "orig_bytes",
            "resp_bytes",
            "orig_pkts",
            "resp_ip_bytes",
            "history",
            "conn_state",
        ] {
            assert_eq!(t.attrs[key], j.attrs[key], "{key}");
        }
    }
}

#[test]
fn json_conn_states_and_corelight_extras() {
    let mut decoder = ZeekDecoder::default();
    let events = decode_all(&mut decoder, include_str!("fixtures/zeek/conn.json"));
    assert_eq!(events.len(), 5);
    let rej = &events[2];
    assert_eq!(
        (rej.activity, rej.outcome),
        (Activity::Refuse, Outcome::Failure)
    );
    assert_eq!(rej.dst.as_ref().unwrap().port, Some(110));

    let corelight = &events[3];
    assert_eq!(corelight.activity, Activity::Refuse);
    assert_eq!(
        corelight.time,
        "2023-05-06T08:38:58.383864Z"
            .parse::<tandem_model::Timestamp>()
            .unwrap()
    );
    assert_eq!(
        corelight.device.as_ref().unwrap().hostname.as_deref(),
        Some("ip-172-16-53-100.us-east-2.compute.internal")
    );
    assert_eq!(
        corelight.attrs["tunnel_parents"],
        json!(["CfbukZ3Nhg6McNWQn6"])
    );
    assert_eq!(
        corelight.attrs["community_id"],
        json!("1:IXVNH/Omr6aWHMvW9Qyw+8TjWsM=")
    );

    // A dns.log record without `_path`: kept, as other network activity.
    let dns = &events[4];
    assert_eq!(
        (dns.class, dns.activity),
        (Class::NetworkActivity, Activity::Other)
    );
    assert_eq!(dns.attrs["query"], json!("testmyids.com"));
    assert_eq!(dns.dst.as_ref().unwrap().port, Some(53));
}

#[test]
fn headerless_lines_use_the_default_conn_columns() {
    let events = decode_all(
        &mut ZeekDecoder::default(),
        include_str!("fixtures/zeek/conn-headerless.log"),
    );
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].attrs["resp_bytes"], json!(295));
    assert_eq!(events[1].attrs["uid"], json!("CLqEx41jYPOdfHF586"));
    // Zeek 7 adds `ip_proto` as a 22nd column.
    let mut d = ZeekDecoder::default();
    let line = "1591367999.430166\tC1\t10.0.0.1\t5\t10.0.0.2\t22\ttcp\t-\t-\t-\t-\tS0\tT\tF\t0\tS\t1\t60\t0\t0\t-\t6";
    let e = &d.decode_line(line, &ctx()).unwrap()[0];
    assert_eq!((e.activity, e.outcome), (Activity::Fail, Outcome::Failure));
    assert_eq!(e.attrs["ip_proto"], json!(6));
    assert_eq!(e.attrs["local_orig"], json!(true));
    let err = d.decode_line("1\t2\t3", &ctx()).unwrap_err();
    assert!(err.to_string().contains("no `#fields` header"), "{err}");
}

#[test]
fn a_separator_line_starts_a_new_file() {
    // Zeek 2.x layout (no local_resp, `table[string]` sets) then a current file.
    let text = format!(
        "{}{}",
        include_str!("fixtures/zeek/conn-zeek2.log"),
        include_str!("fixtures/zeek/conn.log")
    );
    let events = decode_all(&mut ZeekDecoder::default(), &text);
    assert_eq!(events.len(), 4);
    let s0_udp = &events[1];
    assert_eq!(s0_udp.attrs["conn_state"], json!("S0"));
    // UDP S0 is a one-way flow, not a failed connection.
    assert_eq!(
        (s0_udp.activity, s0_udp.outcome),
        (Activity::Traffic, Outcome::Unknown)
    );
    // `(empty)` set → empty array.
    assert_eq!(s0_udp.attrs["tunnel_parents"], json!([]));
    assert!(!events[0].attrs.contains_key("service"));
    assert!(!events[3].attrs.contains_key("local_resp"));
}

#[test]
fn zeek_test_baseline_with_extra_column_and_canonified_times() {
    let events = decode_all(
        &mut ZeekDecoder::default(),
        include_str!("fixtures/zeek/conn-mysql-tls13.log"),
    );
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.attrs["protocol_id"], json!(6));
    assert_eq!(e.attrs["service"], json!("ssl,mysql"));
    assert_eq!(e.attrs["local_orig"], json!(false));
    // `XXXXXXXXXX.XXXXXX` is no time: receipt time, labelled, value kept as text.
    assert_eq!(e.time, ctx().received);
    assert_eq!(
        e.labels.get("time_source").map(String::as_str),
        Some("received")
    );
    assert_eq!(e.attrs["ts"], json!("XXXXXXXXXX.XXXXXX"));
}

#[test]
fn other_logs_are_kept_by_path() {
    let events = decode_all(
        &mut ZeekDecoder::default(),
        include_str!("fixtures/zeek/dns.log"),
    );
    assert_eq!(events.len(), 2);
    let e = &events[1];
    assert_eq!(
        (e.class, e.activity, e.outcome),
        (Class::NetworkActivity, Activity::Other, Outcome::Unknown)
    );
    assert_eq!(e.attrs["_path"], json!("dns"));
    assert_eq!(e.attrs["answers"], json!(["31.3.245.133"]));
    assert_eq!(e.attrs["TTLs"], json!([3600.0]));
    assert_eq!(e.attrs["RA"], json!(true));
    assert!(!events[0].attrs.contains_key("rtt"));
    assert!(
        e.message.starts_with("dns udp 192.168.4.76:36844"),
        "{}",
        e.message
    );
}

#[test]
fn states_and_escapes() {
    let mut d = ZeekDecoder::default();
    for line in [
        "#separator \\x09",
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tconn_state\thistory\tservice",
        "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tstring\tstring",
    ] {
        assert!(d.decode_line(line, &ctx()).unwrap().is_empty());
    }
    let cases = [
        ("REJ", "tcp", Activity::Refuse, Outcome::Failure),
        ("S0", "tcp", Activity::Fail, Outcome::Failure),
        ("RSTO", "tcp", Activity::Reset, Outcome::Success),
        ("RSTR", "tcp", Activity::Reset, Outcome::Success),
        ("RSTOS0", "tcp", Activity::Fail, Outcome::Failure),
        ("SH", "tcp", Activity::Fail, Outcome::Failure),
        ("OTH", "tcp", Activity::Traffic, Outcome::Unknown),
        ("S1", "tcp", Activity::Traffic, Outcome::Success),
    ];
    for (state, proto, activity, outcome) in cases {
        let line = format!("1.5\tC\t2001:db8::1\t5000\t2001:db8::2\t443\t{proto}\t{state}\tS\t-");
        let e = &d.decode_line(&line, &ctx()).unwrap()[0];
        assert_eq!((e.activity, e.outcome), (activity, outcome), "{state}");
        assert!(e.message.contains("[2001:db8::2]:443"), "{}", e.message);
    }
    // An escaped separator inside a value, and ICMP "ports" (type/code) kept out of src/dst.
    let e = &d
        .decode_line(
            "1.5\tC\t10.0.0.1\t8\t10.0.0.2\t0\ticmp\tOTH\t-\ta\\x09b",
            &ctx(),
        )
        .unwrap()[0];
    assert_eq!(e.attrs["service"], json!("a\tb"));
    assert_eq!(e.src.as_ref().unwrap().port, None);
    assert_eq!(e.attrs["id.orig_p"], json!(8));
    let err = d.decode_line("1.5\tC", &ctx()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line has 2 fields but the `#fields` header names 10"
    );
    assert_eq!(d.decode_line("  ", &ctx()).unwrap_err(), DecodeError::Empty);
    assert!(matches!(
        d.decode_line("{\"ts\":", &ctx()),
        Err(DecodeError::InvalidJson { .. })
    ));
    assert!(matches!(d.decode_line("{}", &ctx()), Ok(v) if v.len() == 1));
}

#[test]
fn custom_separators() {
    let mut d = ZeekDecoder::default();
    for line in [
        "#separator \\x7c",
        "#set_separator|;",
        "#empty_field|EMPTY",
        "#unset_field|NONE",
        "#path|conn",
        "#fields|ts|id.orig_h|id.resp_h|proto|tunnel_parents|service",
    ] {
        d.decode_line(line, &ctx()).unwrap();
    }
    let e = &d
        .decode_line("1.0|10.0.0.1|10.0.0.2|udp|a;b|NONE", &ctx())
        .unwrap()[0];
    assert_eq!(e.attrs["tunnel_parents"], json!(["a", "b"]));
    assert!(!e.attrs.contains_key("service"));
    let e = &d
        .decode_line("1.0|10.0.0.1|10.0.0.2|udp|EMPTY|-", &ctx())
        .unwrap()[0];
    assert_eq!(e.attrs["tunnel_parents"], json!([]));
    assert_eq!(e.attrs["service"], json!("-"));
}

proptest! {
    #[test]
    fn garbage_never_panics(lines in prop::collection::vec(
        prop_oneof![
            "#[a-z_]{0,12}[ \t]?[ -~\t]{0,40}",
            "[0-9.]{0,12}(\t[ -~]{0,12}){0,24}",
            "\\{[ -~]{0,80}",
            "\\PC{0,80}",
        ],
        0..12,
    )) {
        let mut d = ZeekDecoder::default();
        for line in &lines {
            let _ = d.decode_line(line, &ctx());
        }
    }

    #[test]
    fn garbage_json_never_panics(v in json_value()) {
        let _ = ZeekDecoder::default().decode_line(&v.to_string(), &ctx());
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let key = prop::sample::select(vec![
        "ts",
        "uid",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "proto",
        "conn_state",
        "_path",
        "_system_name",
        "id",
        "orig_bytes",
        "duration",
    ]);
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "[ -~]{0,20}".prop_map(serde_json::Value::from),
        Just(json!("10.0.0.1")),
        Just(json!("icmp")),
    ];
    let value = leaf.prop_recursive(2, 16, 4, |inner| {
        prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()))
    });
    prop::collection::btree_map(key, value, 0..10).prop_map(|m| {
        serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    })
}
