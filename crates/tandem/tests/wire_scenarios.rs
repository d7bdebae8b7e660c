//! A simulated company's ordinary day and every staged scenario, sent to a running server the
//! way the products send them: signed Verkada webhooks and Okta event hooks over HTTP,
//! Winlogbeat, Entra and Zeek with source keys, Frigate and Zigbee2MQTT through a real
//! Mosquitto, auth.log and Genetec CEF over syslog UDP and TCP. What a user sees through the
//! API must be every scenario's finding (right rule, person and door) and no other paging
//! finding; for every scenario one alert listing every detection that fired on it, and one
//! incident opened from the right shipped playbook with tasks for the right departments.

#[path = "../../tandem-detect/tests/shared/scenario_rules.rs"]
mod scenario_rules;
mod support;

use scenario_rules::{PAGING, rule_of};

use chrono::{Duration, Utc};
use serde_json::Value;
use std::time::Instant;
use support::{TestServer, vendors};
use tandem_sim::{GroundTruth, Org, Record, ScenarioKind, Simulator, Wire};
use tandem_testkit::Mosquitto;

fn findings(server: &TestServer, q: &str) -> Vec<Value> {
    let (status, body) = server.get(
        "/api/v1/findings",
        &[
            ("q", q),
            ("from", "2026-01-01T00:00:00Z"),
            ("limit", "1000"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            // The finding's own event id, which the alert that took it lists.
            let mut finding = f["finding"].clone();
            finding["event_id"] = f["id"].clone();
            finding
        })
        .collect()
}

fn time_of(f: &Value) -> chrono::DateTime<Utc> {
    f["time"].as_str().unwrap().parse().unwrap()
}

fn named(f: &Value, what: &str, v: &str) -> bool {
    f["entities"][what]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x == v))
}

/// Whether finding `f` is part of what `gt` staged: its rule, in its time, naming its people
/// (a terminated badge used at two doors raises at both).
fn part_of(f: &Value, gt: &GroundTruth) -> bool {
    f["rule_id"] == rule_of(gt.kind)
        && time_of(f) >= gt.start - Duration::minutes(5)
        && time_of(f) <= gt.end + Duration::minutes(5)
        && gt
            .people
            .iter()
            .all(|p| named(f, "persons", &p.employee_number))
}

/// Whether finding `f` is the one `gt` should raise: part of it, and naming its door.
fn explains(f: &Value, gt: &GroundTruth) -> bool {
    part_of(f, gt) && gt.place.door.as_ref().is_none_or(|d| named(f, "places", d))
}

/// The shipped playbook a scenario's incident must follow and the departments its tasks go
/// to, in the playbook's order (`crates/tandem-cases/playbooks/`).
fn playbook_of(kind: ScenarioKind) -> (&'static str, &'static [&'static str]) {
    match kind {
        ScenarioKind::Tailgate => ("tailgating", &["security", "facilities"]),
        ScenarioKind::TerminatedBadgeUsed => {
            ("terminated-access", &["security", "hr", "facilities", "it"])
        }
        ScenarioKind::ForcedDoor => ("forced-door", &["security", "facilities", "legal"]),
        ScenarioKind::VpnAbroadWhileOnSite | ScenarioKind::AfterHoursServerRoomThenSudo => (
            "account-compromise",
            &["security", "it", "facilities", "legal"],
        ),
    }
}

/// Every detection that fires on a scenario, as its one alert lists them (sorted): the native
/// detection, and the shipped Sigma rule for the same situation where there is one.
fn rules_of(kind: ScenarioKind) -> &'static [&'static str] {
    match kind {
        // Sigma: Door Forced Open.
        ScenarioKind::ForcedDoor => &[
            "de6eab26-7e2c-4351-9d80-42aec4b2f6b5",
            "tandem.forced_door_with_person",
        ],
        // Sigma: Door Opened For A Terminated Person.
        ScenarioKind::TerminatedBadgeUsed => &[
            "7adade80-686e-4e02-bd31-c66ca37aa4f9",
            "tandem.terminated_access",
        ],
        ScenarioKind::Tailgate => &["tandem.tailgating"],
        ScenarioKind::VpnAbroadWhileOnSite => &["tandem.remote_login_while_on_site"],
        ScenarioKind::AfterHoursServerRoomThenSudo => {
            &["tandem.after_hours_restricted_then_privileged"]
        }
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Every alert naming `rule`, whatever its status.
fn alerts_of_rule(server: &TestServer, rule: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let offset = out.len().to_string();
        let (status, body) = server.get(
            "/api/v1/alerts",
            &[("rule", rule), ("limit", "500"), ("offset", &offset)],
        );
        assert_eq!(status, 200, "{body}");
        let page = body["alerts"].as_array().cloned().unwrap_or_default();
        let n = page.len();
        out.extend(page);
        if n < 500 {
            return out;
        }
    }
}

/// An alert as its page shows it: the alert, and the ids of the findings it took.
fn alert(server: &TestServer, id: &str) -> (Value, Vec<String>) {
    let (status, body) = server.get(&format!("/api/v1/alerts/{id}"), &[]);
    assert_eq!(status, 200, "{body}");
    (body["alert"].clone(), strings(&body["findings"]))
}

/// The findings that are one situation with what `gt` staged: the scenario's own findings,
/// and every finding of any detection sharing an evidence event with one of them.
fn situation<'a>(all: &'a [Value], gt: &GroundTruth) -> Vec<&'a Value> {
    let own: Vec<&Value> = all.iter().filter(|f| part_of(f, gt)).collect();
    let evidence: Vec<String> = own.iter().flat_map(|f| strings(&f["evidence"])).collect();
    all.iter()
        .filter(|f| part_of(f, gt) || strings(&f["evidence"]).iter().any(|e| evidence.contains(e)))
        .collect()
}

/// The alerts holding any of `situation`'s findings (by every rule among them), each with
/// the findings it took, once every one of those findings is in an alert joined to an
/// incident (alerts and incidents are made after the commit: poll with a deadline).
fn alerts_of_situation(
    server: &TestServer,
    situation: &[&Value],
    what: &str,
) -> Vec<(Value, Vec<String>)> {
    let ids: Vec<String> = situation
        .iter()
        .map(|f| f["event_id"].as_str().unwrap().to_owned())
        .collect();
    let mut rules: Vec<&str> = situation
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    rules.sort();
    rules.dedup();
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let mut holders: Vec<(Value, Vec<String>)> = Vec::new();
        for rule in &rules {
            for a in alerts_of_rule(server, rule) {
                let id = a["id"].as_str().unwrap();
                if holders.iter().any(|(h, _)| h["id"] == id) {
                    continue;
                }
                let (a, taken) = alert(server, id);
                if taken.iter().any(|f| ids.contains(f)) {
                    holders.push((a, taken));
                }
            }
        }
        let settled = ids
            .iter()
            .all(|f| holders.iter().any(|(_, taken)| taken.contains(f)))
            && holders.iter().all(|(a, _)| a["incident"].is_string());
        if settled {
            return holders;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: findings {ids:?} never all reached alerts with incidents: {holders:#?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

#[test]
fn a_day_and_every_scenario_through_the_real_transports() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let org = Org::generate(11, 150);
    let config = dir.path().join("tandem.toml");
    std::fs::write(&config, vendors::sources_toml(&org, broker.port)).unwrap();
    let server = TestServer::start(
        &dir.path().join("data"),
        None,
        &[
            ("TANDEM_CONFIG", config.to_str().unwrap()),
            // The simulated day lies in the past; keep it however long ago that is.
            ("TANDEM_RETENTION__MAX_AGE_DAYS", "36500"),
            ("TANDEM_STORE__SYNCHRONOUS", "normal"),
        ],
    );

    // The directory through the API, as an operator loads it; the products sending.
    vendors::load_directory(&server, &org);
    let emitter = vendors::emitter(&server, &org, broker.port);

    // A Wednesday (Oslo and Stockholm UTC+1, London UTC+0) and every scenario on it.
    let mut sim = Simulator::new(org, 11).with_wire(Wire::Vendor { mqtt: true });
    let from: chrono::DateTime<Utc> = "2026-11-25T00:00:00Z".parse().unwrap();
    let mut records = sim.records_between(from, from + Duration::days(1));
    let mut truths = Vec::new();
    for (kind, at) in [
        (ScenarioKind::AfterHoursServerRoomThenSudo, "01:30"),
        (ScenarioKind::ForcedDoor, "03:00"),
        (ScenarioKind::Tailgate, "08:40"),
        (ScenarioKind::TerminatedBadgeUsed, "10:00"),
        (ScenarioKind::VpnAbroadWhileOnSite, "12:30"),
    ] {
        let (recs, gt) = sim.inject(kind, format!("2026-11-25T{at}:00Z").parse().unwrap());
        records.extend(recs);
        truths.push(gt);
    }
    records.sort_by_key(|r| r.time);
    // Delivered a minute of the day at a time, as sources stream: each product's records in
    // order on its own channel, the channels a little apart from each other.
    let mut sent = 0;
    for slice in records
        .chunk_by(|a: &Record, b: &Record| a.time.timestamp() / 60 == b.time.timestamp() / 60)
    {
        let report = emitter.send(slice).unwrap();
        assert_eq!(report.rejected, 0, "{report:?}");
        sent += slice.len();
    }
    assert!(sent > 5_000, "{sent}");

    // Syslog has no acknowledgement: wait until its last records are in.
    let last_badge = records
        .iter()
        .rev()
        .find(|r| r.payload.contains("CEF:0|Genetec"))
        .unwrap()
        .time;
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, page) = server.get(
            "/api/v1/search",
            &[
                ("q", "source:syslog AND class:physical_access"),
                ("from", &last_badge.to_rfc3339()),
                ("to", &(last_badge + Duration::seconds(1)).to_rfc3339()),
            ],
        );
        if page["total"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the last CEF record never arrived"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // Nothing was refused or dead-lettered on the way.
    let (_, sources) = server.get("/api/v1/sources", &[]);
    for s in sources.as_array().unwrap() {
        assert_eq!(s["dead_letters_total"], 0, "{s}");
    }

    // Every scenario's finding, as the API shows it; windows close on later events or the
    // detection tick, so allow them a moment.
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    let found = loop {
        let all = findings(&server, "");
        let missing: Vec<&GroundTruth> = truths
            .iter()
            .filter(|gt| !all.iter().any(|f| explains(f, gt)))
            .collect();
        if missing.is_empty() {
            break all;
        }
        assert!(
            Instant::now() < deadline,
            "not found: {:?}\nfindings: {all:#?}",
            missing.iter().map(|gt| &gt.kind).collect::<Vec<_>>()
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let extra: Vec<&Value> = found
        .iter()
        .filter(|f| PAGING.iter().any(|r| f["rule_id"] == *r))
        .filter(|f| !truths.iter().any(|gt| part_of(f, gt)))
        .collect();
    assert!(
        extra.is_empty(),
        "paging findings nobody staged: {extra:#?}"
    );

    // Every scenario is ONE alert listing every detection that fired on it (native and
    // Sigma folded together), joined to ONE incident opened from the scenario's shipped
    // playbook, with tasks for the departments that playbook names.
    let mut scenario_incidents: Vec<String> = Vec::new();
    for gt in &truths {
        let what = format!("{:?}", gt.kind);
        let situation = situation(&found, gt);
        let holders = alerts_of_situation(&server, &situation, &what);
        let summary: Vec<(&Value, &Value, &Value)> = holders
            .iter()
            .map(|(a, _)| (&a["id"], &a["rules"], &a["incident"]))
            .collect();
        assert_eq!(
            holders.len(),
            1,
            "{what}: one situation, one alert: {summary:#?}"
        );
        let (alert, _) = &holders[0];
        let mut fired: Vec<String> = situation
            .iter()
            .map(|f| f["rule_id"].as_str().unwrap().to_owned())
            .collect();
        fired.sort();
        fired.dedup();
        let mut listed: Vec<String> = alert["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["rule_id"].as_str().unwrap().to_owned())
            .collect();
        listed.sort();
        assert_eq!(
            listed, fired,
            "{what}: the alert lists every detection that fired"
        );
        assert_eq!(listed, rules_of(gt.kind), "{what}: {alert:#}");
        let incident = alert["incident"].as_str().unwrap().to_owned();
        let (status, body) = server.get(&format!("/api/v1/incidents/{incident}"), &[]);
        assert_eq!(status, 200, "{body}");
        let inc = &body["incident"];
        let (playbook, departments) = playbook_of(gt.kind);
        assert_eq!(inc["playbook"], playbook, "{what}: {inc:#}");
        assert_eq!(inc["origin"], "alert", "{what}: {inc:#}");
        let mut seen: Vec<String> = Vec::new();
        for t in inc["tasks"].as_array().unwrap() {
            let d = t["department"].as_str().unwrap().to_owned();
            if !seen.contains(&d) {
                seen.push(d);
            }
        }
        assert_eq!(seen, departments, "{what}: {inc:#}");
        assert_eq!(
            strings(&inc["alerts"]),
            [alert["id"].as_str().unwrap()],
            "{what}: {inc:#}"
        );
        assert!(
            !scenario_incidents.contains(&incident),
            "{what} joined another scenario's {incident}: {inc:#}"
        );
        scenario_incidents.push(incident);
    }

    // The ordinary day opens no incident of its own from a paging detection: any incident
    // besides the scenarios' comes from the other detections only.
    let (status, body) = server.get("/api/v1/incidents", &[("limit", "500")]);
    assert_eq!(status, 200, "{body}");
    for inc in body["incidents"].as_array().unwrap() {
        let id = inc["id"].as_str().unwrap();
        if scenario_incidents.iter().any(|s| s == id) {
            continue;
        }
        let (_, detail) = server.get(&format!("/api/v1/incidents/{id}"), &[]);
        for a in strings(&detail["incident"]["alerts"]) {
            let (a, _) = alert(&server, &a);
            let paging: Vec<&Value> = a["rules"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| PAGING.iter().any(|p| r["rule_id"] == *p))
                .collect();
            assert!(
                paging.is_empty(),
                "{id}: an incident nobody staged, from {paging:#?}"
            );
        }
    }
    server.terminate();
}
