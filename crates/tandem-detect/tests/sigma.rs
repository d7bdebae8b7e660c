//! Sigma over Tandem events: the SigmaHQ corpus loads, community rules fire on events decoded
//! from the ingest fixtures (and near misses do not), routing keeps rules of other products
//! away, correlation state survives export and import, and the view never panics.

use proptest::prelude::*;
use rsigma_eval::Event as _;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;
use tandem_detect::sigma::{
    LoadReport, LogSource, RuleKind, SigmaCorrelator, SigmaRules, SigmaView, logsource_of,
    logsources_of,
};
use tandem_ingest::decode::{DecodeContext, Format, MessageDecoder};
use tandem_model::{
    Activity, Class, Device, DeviceKind, Event, Outcome, PersonRef, Place, Severity, Timestamp,
};

const INGEST_FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tandem-ingest/tests/fixtures"
);
const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");

/// SigmaHQ's `rules/` folder: `TANDEM_SIGMA_CORPUS` when set, or else `shared/sigma/rules`
/// beside the project or beside any directory above it (`../shared/sigma/rules` from the
/// root, as on the development machines).
fn corpus_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TANDEM_SIGMA_CORPUS") {
        return Some(PathBuf::from(p)).filter(|p| p.is_dir());
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/sigma/rules"))
        .find(|p| p.is_dir())
}

/// Under CI (`CI` set, as CI services do) a missing corpus fails the test: a test that
/// skips itself there proves nothing. On a developer's machine it is skipped with a note.
fn corpus_missing() {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "the SigmaHQ corpus was not found (set TANDEM_SIGMA_CORPUS to its rules/ folder); \
         under CI the corpus tests must run"
    );
    eprintln!("SigmaHQ corpus not found (TANDEM_SIGMA_CORPUS, ../shared/sigma/rules); skipped");
}

/// The corpus and the shipped rules, loaded once for every test of this file.
fn full() -> Option<&'static (SigmaRules, LoadReport)> {
    static FULL: OnceLock<Option<(SigmaRules, LoadReport)>> = OnceLock::new();
    FULL.get_or_init(|| {
        let corpus = corpus_dir()?;
        Some(SigmaRules::load(
            &[corpus, PathBuf::from(SHIPPED)],
            &HashSet::new(),
        ))
    })
    .as_ref()
}

macro_rules! corpus_or_skip {
    () => {
        match full() {
            Some(f) => f,
            None => {
                corpus_missing();
                return;
            }
        }
    };
}

fn shipped() -> SigmaRules {
    let (rules, report) = SigmaRules::load(&[PathBuf::from(SHIPPED)], &HashSet::new());
    assert!(report.issues.is_empty(), "{:#?}", report.issues);
    rules
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn ctx() -> DecodeContext {
    let mut c = DecodeContext::new("fixture", at("2026-03-04T10:00:00Z"));
    c.default_year = Some(2026);
    c
}

/// Decodes a fixture file: whole (one document) or line by line, `#` comment lines skipped.
fn decode(format: Format, file: &str, whole: bool) -> Vec<Event> {
    let text = std::fs::read_to_string(format!("{INGEST_FIXTURES}/{file}")).unwrap();
    decode_text(format, &text, whole)
}

fn decode_text(format: Format, text: &str, whole: bool) -> Vec<Event> {
    let mut decoder = MessageDecoder::new(format, None);
    let messages: Vec<&str> = if whole {
        vec![text]
    } else {
        text.lines().collect()
    };
    messages
        .into_iter()
        .filter(|m| !m.trim().is_empty() && !m.starts_with('#'))
        .flat_map(|m| decoder.decode(m.as_bytes(), &ctx()).unwrap_or_default())
        .collect()
}

fn syslog(line: &str) -> Event {
    let mut v = decode_text(Format::Syslog, line, false);
    assert_eq!(v.len(), 1, "{line}");
    v.remove(0)
}

fn fired(rules: &SigmaRules, e: &Event) -> Vec<String> {
    rules.evaluate(e).into_iter().map(|f| f.rule_id).collect()
}

fn fixture_events() -> Vec<(String, Event)> {
    let mut out = Vec::new();
    for (format, file, whole) in [
        (Format::Windows, "windows/winlogbeat.jsonl", false),
        (Format::Windows, "windows/nxlog.jsonl", false),
        (Format::Windows, "windows/winlogbeat6-sysmon.jsonl", false),
        (Format::Syslog, "auth.log", false),
        (Format::Okta, "okta/account-lock.json", true),
        (Format::Okta, "okta/failed-login.json", true),
        (Format::Okta, "okta/lifecycle-deactivate.json", true),
        (Format::Okta, "okta/logevent-docs-example.json", true),
        (Format::Okta, "okta/logs-page.json", true),
        (Format::Okta, "okta/proxy-mfa-failure.json", true),
        (Format::Okta, "okta/reset-password.json", true),
        (Format::Okta, "okta/event-hook-delivery.json", true),
        (Format::Entra, "entra/diagnostic-records.json", true),
        (Format::Entra, "entra/graph-page.json", true),
        (Format::Entra, "entra/graph-signin.json", true),
        (Format::Entra, "entra/signinlogs-row-objects.json", true),
        (Format::Entra, "entra/signinlogs-rows-strings.json", true),
        (Format::Entra, "entra/storage-blob.jsonl", true),
        (Format::Zeek, "zeek/conn.log", false),
        (Format::Zeek, "zeek/dns.log", false),
        (Format::Zeek, "zeek/conn.json", false),
    ] {
        for e in decode(format, file, whole) {
            out.push((file.to_owned(), e));
        }
    }
    for f in std::fs::read_dir(format!("{INGEST_FIXTURES}/verkada")).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            let name = format!("verkada/{}", p.file_name().unwrap().to_string_lossy());
            for e in decode(Format::Verkada, &name, true) {
                out.push((name.clone(), e));
            }
        }
    }
    out
}

/// Every hit on every fixture, for choosing assertions: `cargo test --test sigma -- --ignored
/// dump --nocapture`.
#[test]
#[ignore]
fn dump_fixture_hits() {
    let (rules, _) = corpus_or_skip!();
    for (file, e) in fixture_events() {
        let ls = logsource_of(&e);
        let hits: Vec<String> = rules
            .evaluate(&e)
            .into_iter()
            .map(|f| format!("{} [{}] {}", f.rule_id, f.severity, f.summary))
            .collect();
        println!(
            "{file} {:?}/{:?}/{:?} {} {}: routed {} hits {hits:#?}",
            ls.product,
            ls.service,
            ls.category,
            e.class,
            e.activity,
            rules.routed_rule_count(&e)
        );
    }
}

fn ids(rules: &SigmaRules, e: &Event) -> Vec<String> {
    fired(rules, e)
}

/// The Windows fixture line whose EventID and field match, with `edit` applied to its
/// `winlog.event_data`: real collector output, one field changed to make a positive case.
fn winlogbeat_line(nth_with: (&str, usize), edit: &[(&str, &str)]) -> Event {
    let text =
        std::fs::read_to_string(format!("{INGEST_FIXTURES}/windows/winlogbeat.jsonl")).unwrap();
    let line = text
        .lines()
        .filter(|l| l.contains(&format!("\"event_id\":\"{}\"", nth_with.0)))
        .nth(nth_with.1)
        .unwrap();
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    for (k, val) in edit {
        v["winlog"]["event_data"][*k] = serde_json::Value::from(*val);
    }
    let mut events = decode_text(Format::Windows, &v.to_string(), false);
    events.remove(0)
}

#[test]
fn corpus_loads_and_every_rule_is_compiled_or_explained() {
    let (rules, report) = corpus_or_skip!();
    let infos = rules.rules();
    let detections = infos
        .iter()
        .filter(|i| i.kind == RuleKind::Detection)
        .count();
    println!(
        "files {} detection rules {} compiled {} correlations {} issues {}",
        report.files,
        detections,
        report.detection_rules,
        report.correlation_rules,
        report.issues.len()
    );
    for (reason, n) in report.reasons() {
        println!("  {n:4}  {reason}");
    }
    // Every rule read is either evaluated or listed with its reason.
    let listed: HashSet<&str> = report
        .issues
        .iter()
        .filter_map(|i| i.rule.as_deref())
        .collect();
    for i in &infos {
        assert!(
            i.enabled || listed.contains(i.id.as_str()),
            "{} ({}) is neither loaded nor explained",
            i.id,
            i.path.display()
        );
    }
    assert!(report.files >= 3141, "{}", report.files);
    assert!(report.detection_rules >= 3100, "{}", report.detection_rules);
    assert!(report.issues.len() <= 10, "{:#?}", report.issues);
    assert_eq!(report.correlation_rules, 1, "the shipped correlation");
    assert_eq!(rules.detection_rule_count(), report.detection_rules);
}

#[test]
fn windows_security_rules_fire_on_winlogbeat_events() {
    let (rules, _) = corpus_or_skip!();
    const PUBLIC_FAIL: &str = "f88e112a-21aa-44bd-9b01-6ee2a2bbbed1"; // Failed Logon From Public IP
    const REASONS: &str = "9eb99343-d336-4020-a3cd-67f3819e68ee"; // Suspicious Failed Logon Reasons
    const RDP_LOCAL: &str = "51e33403-2a37-4d66-a574-1fda1782cc31"; // RDP Login from Localhost
    const CLEARED: &str = "d99b79d2-0a6f-4f46-ad8b-260b6e17f982"; // Security Eventlog Cleared
    const USER_CREATED: &str = "66b6be3d-55d0-4f47-9855-d69df21740ea"; // Local User Creation

    // 4625 from private addresses, as logged: not "from a public IP".
    for n in 0..2 {
        let e = winlogbeat_line(("4625", n), &[]);
        assert!(
            !ids(rules, &e).contains(&PUBLIC_FAIL.to_owned()),
            "{:?}",
            ids(rules, &e)
        );
    }
    let e = winlogbeat_line(("4625", 1), &[("IpAddress", "203.0.113.50")]);
    let findings = rules.evaluate(&e);
    let f = findings
        .iter()
        .find(|f| f.rule_id == PUBLIC_FAIL)
        .expect("public-IP failure");
    assert_eq!(f.engine, "sigma");
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.evidence, vec![e.id]);
    assert_eq!(f.time, e.time);
    assert!(
        f.entities.users.contains(&"alice".to_owned()),
        "{:?}",
        f.entities
    );
    assert!(
        f.entities.ips.contains(&"203.0.113.50".to_owned()),
        "{:?}",
        f.entities
    );
    assert!(
        f.summary.starts_with("Failed Logon From Public IP"),
        "{}",
        f.summary
    );
    assert!(
        f.tags.iter().any(|t| t.starts_with("attack.")),
        "{:?}",
        f.tags
    );

    // Locked out (0xc0000234) is not one of the suspicious reasons; outside logon hours is.
    let e = winlogbeat_line(("4625", 0), &[]);
    assert!(!ids(rules, &e).contains(&REASONS.to_owned()));
    let e = winlogbeat_line(("4625", 0), &[("Status", "0xC000006F")]);
    assert!(
        ids(rules, &e).contains(&REASONS.to_owned()),
        "{:?}",
        ids(rules, &e)
    );

    // 4624 from 127.0.0.1 is an interactive logon (type 2); type 10 would be RDP to itself.
    let e = winlogbeat_line(("4624", 0), &[]);
    assert!(!ids(rules, &e).contains(&RDP_LOCAL.to_owned()));
    let e = winlogbeat_line(("4624", 0), &[("LogonType", "10")]);
    assert!(
        ids(rules, &e).contains(&RDP_LOCAL.to_owned()),
        "{:?}",
        ids(rules, &e)
    );

    let all: Vec<String> = decode(Format::Windows, "windows/winlogbeat.jsonl", false)
        .iter()
        .flat_map(|e| ids(rules, e))
        .collect();
    assert!(all.contains(&CLEARED.to_owned()), "{all:?}");
    assert!(all.contains(&USER_CREATED.to_owned()), "{all:?}");
}

#[test]
fn okta_rules_fire_on_system_log_events() {
    let (rules, _) = corpus_or_skip!();
    const PROXY: &str = "bde30855-5c53-4c18-ae90-1ff79ebc9578"; // session start via anonymising proxy
    const POLICY_RULE: &str = "0c97c1d3-4057-45c9-b148-1de94b631931"; // policy rule modified or deleted

    let proxied = decode(Format::Okta, "okta/proxy-mfa-failure.json", true);
    assert!(ids(rules, &proxied[0]).contains(&PROXY.to_owned()));
    // The same event type without the proxy flag.
    let plain = decode(Format::Okta, "okta/logevent-docs-example.json", true);
    assert!(!ids(rules, &plain[0]).contains(&PROXY.to_owned()));

    let text = std::fs::read_to_string(format!("{INGEST_FIXTURES}/okta/logs-page.json")).unwrap();
    let page = decode_text(Format::Okta, &text, true);
    assert!(
        page.iter()
            .all(|e| !ids(rules, e).contains(&POLICY_RULE.to_owned()))
    );
    // The page's policy evaluation, as a policy-rule update.
    let edited = text.replace("\"policy.evaluate_sign_on\"", "\"policy.rule.update\"");
    let page = decode_text(Format::Okta, &edited, true);
    assert!(
        page.iter()
            .any(|e| ids(rules, e).contains(&POLICY_RULE.to_owned()))
    );
}

#[test]
fn azure_signin_rules_fire_on_entra_rows() {
    let (rules, _) = corpus_or_skip!();
    const LOCKOUT: &str = "2b7d6fc0-71ac-4cf7-8ed1-b5788ee5257a";
    const CA_BLOCK: &str = "9a60e676-26ac-44c3-814b-0c2a8b977adf";
    const SINGLE_FACTOR: &str = "28eea407-28d7-4e42-b0be-575d5ba60b2c";
    let rows = decode(Format::Entra, "entra/signinlogs-rows-strings.json", true);
    let hits: Vec<Vec<String>> = rows.iter().map(|e| ids(rules, e)).collect();
    let result_type = |e: &Event| e.attrs["ResultType"].as_str().unwrap().to_owned();
    for (e, h) in rows.iter().zip(&hits) {
        match result_type(e).as_str() {
            "50053" => assert!(h.contains(&LOCKOUT.to_owned()), "{h:?}"),
            "53003" => assert!(h.contains(&CA_BLOCK.to_owned()), "{h:?}"),
            _ => assert!(!h.contains(&LOCKOUT.to_owned()) && !h.contains(&CA_BLOCK.to_owned())),
        }
    }
    assert!(hits.iter().flatten().any(|h| h == LOCKOUT));
    let blob = decode(Format::Entra, "entra/storage-blob.jsonl", true);
    let h: Vec<String> = blob.iter().flat_map(|e| ids(rules, e)).collect();
    assert!(h.contains(&SINGLE_FACTOR.to_owned()), "{h:?}");
}

#[test]
fn linux_rules_fire_on_auth_log_lines() {
    let (rules, _) = corpus_or_skip!();
    const PRIV_USER: &str = "0ac15ec3-d24f-4246-aa2a-3077bb1cf90e"; // Privileged User Account Creation
    const ACCOUNT_DISCOVERY: &str = "b45e3d6f-42c6-47d8-a478-df6bd6cf534c"; // Local System Accounts Discovery

    // The fixture's useradd (UID 1001) is routine; a UID 0 user is not.
    let auth = decode(Format::Syslog, "auth.log", false);
    assert!(auth.len() > 20);
    for e in &auth {
        assert!(
            !ids(rules, e).contains(&PRIV_USER.to_owned()),
            "{}",
            e.message
        );
    }
    let e = syslog(
        "Mar  4 09:16:10 web-1 useradd[2340]: new user: name=john, UID=0, GID=0, home=/home/john, shell=/bin/bash, from=/dev/pts/0",
    );
    assert_eq!(logsource_of(&e).product.as_deref(), Some("linux"));
    assert!(
        ids(rules, &e).contains(&PRIV_USER.to_owned()),
        "{:?}",
        ids(rules, &e)
    );

    // A sudo that ran `cat /etc/shadow` is a process creation; the fixture's refused one is not.
    let refused = auth
        .iter()
        .find(|e| {
            e.attrs.get("sudo.command").and_then(|v| v.as_str()) == Some("/usr/bin/cat /etc/shadow")
        })
        .unwrap();
    assert_eq!(refused.outcome, Outcome::Failure);
    assert_eq!(logsource_of(refused).category, None);
    assert!(!ids(rules, refused).contains(&ACCOUNT_DISCOVERY.to_owned()));
    let ran = syslog(
        "Mar  4 09:18:00 web-1 sudo:    alice : TTY=pts/1 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow",
    );
    let ls = logsource_of(&ran);
    assert_eq!(
        (
            ls.product.as_deref(),
            ls.service.as_deref(),
            ls.category.as_deref()
        ),
        (Some("linux"), Some("sudo"), Some("process_creation"))
    );
    let findings = rules.evaluate(&ran);
    let f = findings
        .iter()
        .find(|f| f.rule_id == ACCOUNT_DISCOVERY)
        .expect("account discovery");
    assert!(f.summary.contains("alice"), "{}", f.summary);
}

#[test]
fn shipped_rules_fire_on_verkada_events() {
    let rules = shipped();
    let hit = |file: &str| -> Vec<String> {
        decode(Format::Verkada, file, true)
            .iter()
            .flat_map(|e| ids(&rules, e))
            .collect()
    };
    assert_eq!(
        hit("verkada/door_forced_open.json"),
        ["de6eab26-7e2c-4351-9d80-42aec4b2f6b5"]
    );
    assert_eq!(
        hit("verkada/door_tamper.json"),
        ["dadb4f3b-e045-4efd-a924-067ab8076cd9"]
    );
    assert_eq!(
        hit("verkada/door_apb_double_entry.json"),
        ["e9f8753a-8bae-46d1-aa57-d4244adbd6ef"]
    );
    assert_eq!(
        hit("verkada/door_acu_offline.json"),
        ["ed150b44-3f42-4c32-8240-5663359b5592"]
    );
    // A single denial only feeds the correlation; a grant is nothing.
    assert!(hit("verkada/door_keycard_entered_rejected.json").is_empty());
    assert!(hit("verkada/door_granted.json").is_empty());

    let f = rules
        .evaluate(&decode(Format::Verkada, "verkada/door_forced_open.json", true)[0])
        .remove(0);
    assert_eq!(f.severity, Severity::High);
    assert!(f.tags.contains(&"physical.forced_entry".to_owned()));
    assert!(
        f.entities.places.contains(&"HQ Lobby East".to_owned()),
        "{:?}",
        f.entities
    );
    assert!(
        f.dedup_key.starts_with("sigma:de6eab26-"),
        "{}",
        f.dedup_key
    );

    // Tandem-taxonomy fields: a terminated person let in; a camera going offline.
    let mut e = badge(
        "hq-door-1",
        "2026-03-04T22:00:00Z",
        "40123",
        Activity::Granted,
    );
    e.actor.person = Some(PersonRef {
        id: "p-7".into(),
        name: Some("Bjørn Lie".into()),
        method: "badge".into(),
        confidence: 1.0,
        status: Some("terminated".into()),
        department: None,
    });
    let f = rules.evaluate(&e);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule_id, "7adade80-686e-4e02-bd31-c66ca37aa4f9");
    assert_eq!(f[0].entities.persons, ["p-7"]);
    assert!(f[0].summary.contains("Bjørn Lie"), "{}", f[0].summary);
    let mut cam = Event::new(
        "hq-nvr",
        Class::DeviceStatus,
        Activity::Offline,
        at("2026-03-04T22:00:00Z"),
    );
    cam.device = Some(Device {
        hostname: Some("lobby-cam-1".into()),
        kind: DeviceKind::Camera,
        ..Device::default()
    });
    assert_eq!(ids(&rules, &cam), ["4499e8a8-9724-480b-bf27-2f63e065de4d"]);
    cam.device.as_mut().unwrap().kind = DeviceKind::Iot;
    assert!(ids(&rules, &cam).is_empty());
}

fn badge(door: &str, t: &str, card: &str, activity: Activity) -> Event {
    let mut e = Event::new("hq-badges", Class::PhysicalAccess, activity, at(t));
    e.outcome = if activity == Activity::Denied {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    e.actor.badge = Some(card.into());
    e.place = Some(Place {
        site: Some("hq".into()),
        door: Some(door.into()),
        ..Place::default()
    });
    if activity == Activity::Denied {
        e.physical_mut().reason = Some("no_access_to_door".into());
    }
    e
}

#[test]
fn routing_keeps_other_products_rules_away() {
    let (rules, _) = corpus_or_skip!();
    let infos = rules.rules();
    let expected = |product: &str, service: Option<&str>, category: Option<&str>| {
        infos
            .iter()
            .filter(|i| i.enabled && i.kind == RuleKind::Detection)
            .filter(|i| i.product.as_deref() == Some(product))
            .filter(|i| i.service.is_none() || i.service.as_deref() == service)
            .filter(|i| i.category.is_none() || i.category.as_deref() == category)
            .count()
    };

    let e = badge("hq-door-1", "2026-03-04T10:00:00Z", "1", Activity::Denied);
    let before = rules.stats();
    rules.evaluate(&e);
    let after = rules.stats();
    let tandem_rules = expected("tandem", None, Some("physical_access"));
    assert_eq!(tandem_rules, 7);
    assert_eq!(rules.routed_rule_count(&e), tandem_rules);
    // Other tests evaluate concurrently, so the counters only bound this event's share.
    assert!(after.events > before.events);

    let win = winlogbeat_line(("4625", 0), &[]);
    let routed = rules.routed_rule_count(&win);
    assert_eq!(routed, expected("windows", Some("security"), None));
    let windows_total = infos
        .iter()
        .filter(|i| i.enabled && i.product.as_deref() == Some("windows"))
        .count();
    assert!(routed * 10 < windows_total, "{routed} of {windows_total}");

    let sysmon = decode(Format::Windows, "windows/winlogbeat6-sysmon.jsonl", false).remove(0);
    let ls = logsource_of(&sysmon);
    assert_eq!(ls.category.as_deref(), Some("network_connection"));
    assert_eq!(
        rules.routed_rule_count(&sysmon),
        expected("windows", Some("sysmon"), Some("network_connection"))
    );
}

/// Whether a rule's log source fits one of an event's: every dimension the rule sets is the
/// event's (what docs/detection/sigma.md says routing does), written out here rule by rule
/// rather than through the routing index.
fn fits(rule: &LogSource, event: &[LogSource]) -> bool {
    let dim = |r: &Option<String>, e: &Option<String>| match (r, e) {
        (None, _) => true,
        (Some(r), Some(e)) => r.eq_ignore_ascii_case(e),
        (Some(_), None) => false,
    };
    event.iter().any(|e| {
        dim(&rule.product, &e.product)
            && dim(&rule.service, &e.service)
            && dim(&rule.category, &e.category)
    })
}

/// Two simulated morning hours of the demo's company, every source as its product sends it (MQTT
/// cameras and sensors aside), decoded as the server decodes it.
fn demo_events() -> Vec<Event> {
    use tandem_sim::{Channel, Org, Simulator, Wire};
    let org = Org::generate(7, 200);
    let mut sim = Simulator::new(org, 7).with_wire(Wire::Vendor { mqtt: false });
    let formats: std::collections::HashMap<String, Format> =
        tandem_sim::sources(Wire::Vendor { mqtt: false })
            .into_iter()
            .filter_map(|s| Some((s.name.to_owned(), s.format.parse().ok()?)))
            .collect();
    let from = at("2026-03-04T06:00:00Z");
    let records = sim.records_between(from, from + chrono::Duration::hours(2));
    let mut out = Vec::new();
    for r in records {
        let format = match &r.channel {
            Channel::Syslog { .. } => Format::Syslog,
            Channel::Mqtt { .. } => continue,
            _ => match formats.get(r.channel_name()) {
                Some(f) => *f,
                None => continue,
            },
        };
        let whole = !matches!(r.channel, Channel::Http { .. } | Channel::Syslog { .. });
        out.extend(decode_text(format, &r.payload, whole));
    }
    out
}

/// Routing never keeps a rule away from an event it should see: over the demo's events and
/// the Windows, Linux, Okta, Entra, Zeek and Verkada fixtures (and the Sysmon fixture under
/// every Sysmon event id), the rules that fire through routing are exactly the rules that
/// fire when every rule is evaluated and kept when its log source fits the event's; and no
/// Windows rule that pins the event down by `EventID`, `Channel` or `Provider_Name` and
/// matches is kept away by a service or category the table got wrong.
#[test]
fn routing_never_drops_a_rule_that_would_have_matched() {
    let (rules, _) = corpus_or_skip!();
    let mut events: Vec<Event> = fixture_events().into_iter().map(|(_, e)| e).collect();
    let sysmon = decode(Format::Windows, "windows/winlogbeat.jsonl", false)
        .into_iter()
        .find(|e| e.source.product.as_deref() == Some("Sysmon"))
        .unwrap();
    for id in 1..=30u64 {
        let mut e = sysmon.clone();
        e.attrs["winlog"]["event_id"] = id.into();
        events.push(e);
    }
    let demo = demo_events();
    assert!(demo.len() > 1000, "{}", demo.len());
    assert!(demo.iter().any(|e| e.attrs.contains_key("winlog")));
    events.extend(demo);

    let (mut routed_hits, mut pinned) = (0, 0);
    for e in &events {
        let mut routed: Vec<String> = rules.matches(e).rule_ids().map(str::to_owned).collect();
        routed.sort();
        let sources = logsources_of(e);
        let unrouted = rules.matches_unrouted(e);
        let mut fitting: Vec<String> = unrouted
            .iter()
            .filter(|h| fits(&h.logsource, &sources))
            .map(|h| h.rule.clone())
            .collect();
        fitting.sort();
        assert_eq!(routed, fitting, "{sources:?}: {}", e.message);
        routed_hits += routed.len();
        if e.attrs.contains_key("winlog") {
            for h in &unrouted {
                let pins = h
                    .fields
                    .iter()
                    .any(|f| matches!(f.as_str(), "EventID" | "Channel" | "Provider_Name"));
                if pins && h.logsource.product.as_deref() == Some("windows") {
                    pinned += 1;
                    assert!(
                        routed.contains(&h.rule),
                        "{} ({:?}) matches {sources:?} by {:?} but is not routed: {}",
                        h.rule,
                        h.logsource,
                        h.fields,
                        e.message
                    );
                }
            }
        }
    }
    assert!(routed_hits > 0 && pinned > 0, "{routed_hits} {pinned}");
}

#[test]
fn rule_sets_are_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    fn owned<T: Send>() {}
    shared::<SigmaRules>();
    owned::<SigmaCorrelator>();
}

#[test]
fn routing_counters_add_up() {
    let rules = shipped();
    let e = badge("hq-door-1", "2026-03-04T10:00:00Z", "1", Activity::Denied);
    let win = winlogbeat_line(("4625", 0), &[]);
    for _ in 0..3 {
        rules.evaluate(&e);
        rules.evaluate(&win);
    }
    let s = rules.stats();
    assert_eq!(s.events, 6);
    assert_eq!(s.rules_routed, 3 * 7, "only the badge events reach rules");
    assert_eq!(
        s.matches, 3,
        "the denial matches its (correlation-only) rule"
    );
}

#[test]
fn correlation_state_survives_export_reload_and_import() {
    let rules = shipped();
    let mut c = SigmaCorrelator::new(&rules);
    assert_eq!(c.correlation_count(), 1);
    let feed = |c: &mut SigmaCorrelator, rules: &SigmaRules, e: &Event| {
        let m = rules.matches(e);
        assert!(
            rules.findings(e, &m).is_empty(),
            "single denials are not findings"
        );
        c.observe(e, &m)
    };
    let mut ids = Vec::new();
    for (i, t) in ["10:00:00", "10:01:00", "10:02:00"].iter().enumerate() {
        let e = badge(
            "server-room",
            &format!("2026-03-04T{t}Z"),
            &format!("{i}"),
            Activity::Denied,
        );
        ids.push(e.id);
        assert!(feed(&mut c, &rules, &e).is_empty());
        // Other doors count separately.
        let other = badge("lobby", &format!("2026-03-04T{t}Z"), "9", Activity::Denied);
        assert!(feed(&mut c, &rules, &other).is_empty());
    }
    let state = c.export_state();
    drop(c);

    // A restart with a reloaded rule set: windows continue from the saved state.
    let reloaded = shipped();
    let mut fresh = SigmaCorrelator::new(&reloaded);
    let mut restored = SigmaCorrelator::new(&reloaded);
    restored.import_state(state).unwrap();
    assert!(restored.group_count() >= 2);
    let mut out = Vec::new();
    let mut fresh_out = Vec::new();
    for (i, t) in ["10:03:00", "10:04:00"].iter().enumerate() {
        let e = badge(
            "server-room",
            &format!("2026-03-04T{t}Z"),
            &format!("{}", i + 3),
            Activity::Denied,
        );
        ids.push(e.id);
        out.extend(feed(&mut restored, &reloaded, &e));
        fresh_out.extend(feed(&mut fresh, &reloaded, &e));
    }
    assert!(
        fresh_out.is_empty(),
        "without the state there are only two denials"
    );
    assert_eq!(out.len(), 1, "{out:#?}");
    let f = &out[0];
    assert_eq!(f.rule_id, "159158c4-bf5d-4ed6-86b8-ac26e64aac27");
    assert_eq!(f.engine, "sigma_correlation");
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.time, at("2026-03-04T10:04:00Z"));
    assert_eq!(f.evidence, ids, "every denial in the window, oldest first");
    assert!(
        f.entities.places.contains(&"server-room".to_owned()),
        "{:?}",
        f.entities
    );
    assert_eq!(
        f.dedup_key,
        "sigma_correlation:159158c4-bf5d-4ed6-86b8-ac26e64aac27:door=server-room"
    );
    assert!(
        f.summary
            .contains("5 matching events within 10 min for door server-room"),
        "{}",
        f.summary
    );
    assert!(f.tags.contains(&"attack.t1078".to_owned()));

    // Garbage is refused, not half-imported.
    assert!(
        restored
            .import_state(serde_json::json!({"windows": 3}))
            .is_err()
    );
}

#[test]
fn correlation_windows_use_event_time() {
    let rules = shipped();
    let mut c = SigmaCorrelator::new(&rules);
    // Five denials twelve minutes apart in event time, fed in a burst: never five in 10 minutes.
    for (i, m) in [0, 3, 6, 9, 12].iter().enumerate() {
        let e = badge(
            "server-room",
            &format!("2026-03-04T10:{m:02}:00Z"),
            &format!("{i}"),
            Activity::Denied,
        );
        let m = rules.matches(&e);
        assert!(c.observe(&e, &m).is_empty());
    }
}

/// Hits kept in the open correlation windows of an exported state (`windows`: per
/// correlation, a list of `[group, window]`; a window's hit lists are its arrays).
fn window_entries(state: &serde_json::Value) -> usize {
    fn hits(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::Array(a) => a.len(),
            serde_json::Value::Object(o) => o.values().map(hits).sum(),
            _ => 0,
        }
    }
    state["windows"]
        .as_object()
        .into_iter()
        .flat_map(|w| w.values())
        .filter_map(|groups| groups.as_array())
        .flatten()
        .map(|pair| hits(&pair[1]))
        .sum()
}

/// Backfilled logs arrive newest first: every denial is older than the one before, so the
/// newest stays at the front of the sliding window and nothing older ever leaves it by age.
/// The window must stay bounded anyway (it grew by every event before).
#[test]
fn a_correlation_window_stays_bounded_when_time_goes_back() {
    let rules = shipped();
    let mut c = SigmaCorrelator::new(&rules);
    let start = at("2026-03-04T12:00:00Z");
    let mut fired = 0;
    for i in 0..3_000 {
        let t = start - chrono::Duration::seconds(i);
        let e = badge(
            "server-room",
            &t.to_rfc3339(),
            &format!("{}", i % 7),
            Activity::Denied,
        );
        let m = rules.matches(&e);
        fired += c.observe(&e, &m).len();
    }
    assert!(fired > 0, "five denials within ten minutes still fire");
    let entries = window_entries(&c.export_state());
    assert!(
        entries <= tandem_detect::sigma::MAX_GROUP_ENTRIES,
        "{entries} hits kept in one door's window"
    );
}

#[test]
fn loading_reports_bad_rules_and_honours_disabled() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "title: Bad Regex\nid: 11111111-1111-1111-1111-111111111111\nlogsource:\n    product: tandem\n    category: physical_access\ndetection:\n    sel:\n        door|re: '(['\n    condition: sel\n---\ntitle: Orphan\nid: 22222222-2222-2222-2222-222222222222\ncorrelation:\n    type: event_count\n    rules:\n        - no-such-rule\n    timespan: 1m\n    condition:\n        gte: 2\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("broken.yaml"), "title: [unclosed\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a rule").unwrap();
    let disabled: HashSet<String> = ["Door Forced Open".to_owned()].into();
    let (rules, report) =
        SigmaRules::load(&[dir.path().to_owned(), PathBuf::from(SHIPPED)], &disabled);
    println!("{:#?}", report.issues);
    assert_eq!(report.disabled, 1);
    assert!(report.issues.iter().any(|i| i.rule.as_deref()
        == Some("11111111-1111-1111-1111-111111111111")
        && i.reason.starts_with("compile:")));
    assert!(report.issues.iter().any(|i| i.rule.as_deref()
        == Some("22222222-2222-2222-2222-222222222222")
        && i.reason.contains("no-such-rule")));
    assert!(
        report
            .issues
            .iter()
            .any(|i| i.path.ends_with("broken.yaml") && i.reason.starts_with("parse:"))
    );
    let infos = rules.rules();
    let forced = infos
        .iter()
        .find(|i| i.title == "Door Forced Open")
        .unwrap();
    assert!(!forced.enabled);
    let corr = infos
        .iter()
        .find(|i| i.kind == RuleKind::Correlation && i.enabled)
        .unwrap();
    assert_eq!(corr.id, "159158c4-bf5d-4ed6-86b8-ac26e64aac27");
    let e = decode(Format::Verkada, "verkada/door_forced_open.json", true).remove(0);
    assert!(rules.evaluate(&e).is_empty());
}

/// A draft written in the console, tried on stored events handed over newest first (as a
/// search returns them): the detection fires once per matching event, the correlation once
/// over the three, and a door the rule does not name raises nothing.
#[test]
fn a_draft_rule_replays_over_past_events_in_time_order() {
    let draft = "title: Server Room Denial\nid: 33333333-3333-3333-3333-333333333333\nname: srv_denied\nlevel: low\nlogsource:\n    product: tandem\n    category: physical_access\ndetection:\n    sel:\n        activity: denied\n        door: server-room\n    condition: sel\n---\ntitle: Repeated Server Room Denials\nid: 44444444-4444-4444-4444-444444444444\nlevel: high\ncorrelation:\n    type: event_count\n    rules:\n        - srv_denied\n    group-by:\n        - door\n    timespan: 5m\n    condition:\n        gte: 3\n    generate: true\n";
    let (rules, report) = SigmaRules::from_text("draft", draft);
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    assert_eq!((report.detection_rules, report.correlation_rules), (1, 1));
    let mut stored: Vec<Event> = (0..3)
        .map(|i| {
            badge(
                "server-room",
                &format!("2026-03-04T10:0{i}:00Z"),
                &format!("{i}"),
                Activity::Denied,
            )
        })
        .collect();
    stored.push(badge(
        "lobby",
        "2026-03-04T10:01:30Z",
        "9",
        Activity::Denied,
    ));
    stored.reverse();
    let findings = rules.replay(&stored);
    let titles: Vec<&str> = findings.iter().map(|f| f.rule_title.as_str()).collect();
    assert_eq!(
        titles
            .iter()
            .filter(|t| **t == "Server Room Denial")
            .count(),
        3,
        "{titles:?}"
    );
    assert_eq!(
        titles
            .iter()
            .filter(|t| **t == "Repeated Server Room Denials")
            .count(),
        1,
        "{titles:?}"
    );

    let (_, bad) = SigmaRules::from_text("draft", "title: [unclosed\n");
    assert!(
        bad.issues[0].reason.starts_with("parse:"),
        "{:?}",
        bad.issues
    );
    assert_eq!(bad.issues[0].path, PathBuf::from("draft"));
}

#[test]
fn view_maps_vendor_and_tandem_names() {
    let win = winlogbeat_line(("4625", 1), &[]);
    let v = SigmaView::new(&win);
    assert_eq!(v.get_field("EventID").unwrap().as_i64(), Some(4625));
    assert_eq!(
        v.get_field("Channel").unwrap().as_str().unwrap(),
        "Security"
    );
    assert_eq!(
        v.get_field("TargetUserName").unwrap().as_str().unwrap(),
        "alice"
    );
    assert_eq!(
        v.get_field("targetusername").unwrap().as_str().unwrap(),
        "alice"
    );
    assert_eq!(
        v.get_field("actor.user").unwrap().as_str().unwrap(),
        "alice"
    );
    assert_eq!(
        v.get_field("class").unwrap().as_str().unwrap(),
        "authentication"
    );
    assert!(v.get_field("NoSuchField").is_none());

    let okta = decode(Format::Okta, "okta/proxy-mfa-failure.json", true).remove(0);
    let v = SigmaView::new(&okta);
    assert_eq!(
        v.get_field("eventtype").unwrap().as_str().unwrap(),
        "user.session.start"
    );
    assert_eq!(
        v.get_field("actor.alternateId").unwrap().as_str().unwrap(),
        "homer.simpson@duff.com"
    );
    assert_eq!(logsource_of(&okta).service.as_deref(), Some("okta"));

    let zeek = decode(Format::Zeek, "zeek/conn.log", false).remove(0);
    let v = SigmaView::new(&zeek);
    assert!(v.get_field("id.orig_h").is_some());
    assert_eq!(logsource_of(&zeek).service.as_deref(), Some("conn"));

    let e = badge(
        "server-room",
        "2026-03-07T23:30:00Z",
        "40123",
        Activity::Denied,
    );
    let v = SigmaView::new(&e);
    assert_eq!(
        v.get_field("door").unwrap().as_str().unwrap(),
        "server-room"
    );
    assert_eq!(
        v.get_field("reason").unwrap().as_str().unwrap(),
        "no_access_to_door"
    );
    assert_eq!(v.get_field("badge").unwrap().as_str().unwrap(), "40123");
    assert_eq!(v.get_field("hour_utc").unwrap().as_i64(), Some(23));
    assert_eq!(v.get_field("weekday_utc").unwrap().as_str().unwrap(), "sat");
    assert_eq!(v.get_field("place.site").unwrap().as_str().unwrap(), "hq");
    let ls = logsource_of(&e);
    assert_eq!(
        (ls.product.as_deref(), ls.category.as_deref()),
        (Some("tandem"), Some("physical_access"))
    );
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        any::<String>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        any::<bool>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map("[a-zA-Z. _]{0,8}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn view_never_panics(
        attrs in prop::collection::btree_map("[a-zA-Z._ ]{0,12}", json_value(), 0..6),
        names in prop::collection::vec("[a-zA-Z._ \\[\\]0-9|]{0,20}", 1..20),
        shape in 0..6usize,
    ) {
        let classes = [Class::Authentication, Class::PhysicalAccess, Class::Other, Class::VideoDetection, Class::NetworkActivity, Class::ProcessActivity];
        let mut e = Event::new("p", classes[shape], Activity::Other, at("2026-03-04T10:00:00Z"));
        e.attrs = attrs.clone().into_iter().collect();
        match shape {
            0 => { e.attrs.insert("winlog".into(), serde_json::json!({"event_id": 4688, "channel": "Security"})); e.attrs.insert("event_data".into(), serde_json::Value::Object(attrs.into_iter().collect())); }
            2 => e.source.vendor = Some("Okta".into()),
            4 => { e.source.product = Some("Zeek".into()); }
            5 => { e.attrs.insert("syslog.appname".into(), "sudo".into()); e.attrs.insert("sudo.command".into(), "".into()); e.outcome = Outcome::Success; }
            _ => {}
        }
        let v = SigmaView::new(&e);
        for n in &names {
            let _ = v.get_field(n);
        }
        let _ = v.all_string_values();
        let _ = v.to_json();
        let _ = logsource_of(&e);
        if let Some((rules, _)) = full() {
            let _ = rules.evaluate(&e);
        }
    }
}

/// Detection throughput on one core with the whole corpus loaded, over the Windows, Linux and
/// Okta fixture events: `cargo test --release -p tandem-detect --test sigma -- --ignored
/// throughput --nocapture`.
#[test]
#[ignore]
fn throughput() {
    let (rules, _) = corpus_or_skip!();
    let mut mix: Vec<Event> = Vec::new();
    mix.extend(decode(Format::Windows, "windows/winlogbeat.jsonl", false));
    mix.extend(decode(Format::Windows, "windows/nxlog.jsonl", false));
    mix.extend(decode(
        Format::Windows,
        "windows/winlogbeat6-sysmon.jsonl",
        false,
    ));
    mix.extend(decode(Format::Syslog, "auth.log", false));
    for f in [
        "account-lock",
        "failed-login",
        "lifecycle-deactivate",
        "logevent-docs-example",
        "logs-page",
        "proxy-mfa-failure",
        "reset-password",
    ] {
        mix.extend(decode(Format::Okta, &format!("okta/{f}.json"), true));
    }
    let routed: usize = mix.iter().map(|e| rules.routed_rule_count(e)).sum();
    for e in &mix {
        rules.evaluate(e);
    }
    let rounds = 2000;
    let start = std::time::Instant::now();
    let mut findings = 0usize;
    for _ in 0..rounds {
        for e in &mix {
            findings += rules.evaluate(e).len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let n = rounds * mix.len();
    println!(
        "{} rules loaded; mix of {} events ({} findings per round); {n} evaluations in {secs:.2}s = {:.0} events/s on one core; {:.1} rules routed per event on average",
        rules.detection_rule_count(),
        mix.len(),
        findings / rounds,
        n as f64 / secs,
        routed as f64 / mix.len() as f64,
    );
}

/// A Sigma finding says what its rule looks for and what matched in words, names the door
/// as the directory does, and keeps no selection names: it reads like a native finding.
#[test]
fn a_sigma_finding_reads_like_a_native_one() {
    use tandem_identity::{Directory, PlaceKind, PlaceRecord};
    use tandem_store::{ChangeBody, DirectoryChange};
    let rules = shipped();
    let door = PlaceRecord {
        id: "osl-srv-door".into(),
        kind: PlaceKind::Door,
        name: "Server room door".into(),
        ..PlaceRecord::default()
    };
    let mut change = DirectoryChange::new(
        "place",
        "osl-srv-door",
        at("2020-01-01T00:00:00Z"),
        "test",
        ChangeBody::State(serde_json::to_value(door).unwrap()),
    );
    change.seq = 1;
    let mut dir = Directory::default();
    dir.apply(&[change]).unwrap();

    let e = badge(
        "osl-srv-door",
        "2026-03-04T10:00:00Z",
        "10077",
        Activity::Forced,
    );
    let m = rules.matches(&e);
    let f = rules.findings_in(&e, &m, Some(&dir));
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(f.rule_title, "Door Forced Open");
    assert_eq!(
        f.summary,
        "Door Forced Open — badge 10077 at Server room door: activity is forced"
    );
    assert_eq!(
        f.detail["description"],
        "A door opened without a grant or a request-to-exit."
    );
    assert_eq!(f.detail["conditions"], "activity is forced");
    assert!(!f.detail.contains_key("selections"), "{:?}", f.detail);
    // Without a directory the door is named as the event names it.
    let f = rules.findings(&e, &m);
    assert!(
        f[0].summary.contains("at osl-srv-door: activity is forced"),
        "{}",
        f[0].summary
    );
}
