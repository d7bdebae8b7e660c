//! `tandem demo` as a newcomer runs it: a server, a simulated company, scenarios on demand.

mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Stops the demo even when an assertion fails half-way.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_demo_fills_a_fresh_store_through_the_real_paths_and_stages_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let child = support::tandem()
        .args([
            "demo",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            // Three days always include a working day, whatever day the test runs on.
            "--history-hours",
            "72",
            "--people",
            "80",
            "--scenario",
            "tailgate",
        ])
        .env("TANDEM_SYSLOG__UDP", "127.0.0.1:0")
        .env("TANDEM_SYSLOG__TCP", "127.0.0.1:0")
        .env("TANDEM_LOG", "warn")
        .env("TANDEM_DETECT__TICK_SECONDS", "2")
        .env_remove("TANDEM_CONFIG")
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let child = &mut child.0;
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut output = Vec::new();
    let wait_for = |output: &mut Vec<String>, needle: &str| -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                output.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
        }
        panic!("the demo never printed `{needle}`:\n{}", output.join("\n"));
    };
    let url = wait_for(&mut output, "console:")
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let password = wait_for(&mut output, "password:")
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    let token = wait_for(&mut output, "TANDEM_TOKEN=")
        .split("TANDEM_TOKEN=")
        .nth(1)
        .unwrap()
        .to_owned();
    // Simulated employees' reports: one phishing campaign from three people, a lost badge.
    let reports = wait_for(&mut output, "reports:");
    assert!(
        reports.contains("a phishing campaign reported by 3 people (ALR-")
            && reports.contains("a lost badge (RPT-4)"),
        "{reports}"
    );
    wait_for(&mut output, "history loaded");
    wait_for(
        &mut output,
        "compliance: 14 controls of the Statement of Applicability filled",
    );
    wait_for(&mut output, "staged tailgate");

    let agent = support::TestServer::agent();
    let get = |path: &str, q: &str| -> Value {
        agent
            .get(format!("{url}{path}"))
            .query("q", q)
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    };
    // The simulated company's Statement of Applicability is filled.
    let controls = get("/api/v1/compliance/controls", "");
    let control = |id: &str| {
        controls["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(control("A.7.2")["soa"]["owner"], "facilities");
    assert_eq!(control("A.8.28")["state"], "not_applicable");
    // HTTP batches are acknowledged before the demo goes on; syslog has no acknowledgement,
    // so its last batches may still be on their way.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sources = get("/api/v1/sources", "");
        let counts: Vec<(String, u64, u64)> = [
            "windows", "okta", "entra", "verkada", "zeek", "vpn", "syslog", "cameras", "sensors",
        ]
        .iter()
        .map(|name| {
            let s = sources
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == *name);
            let s = s.unwrap_or_else(|| panic!("no source {name}: {sources}"));
            (
                name.to_string(),
                s["events_total"].as_u64().unwrap(),
                s["dead_letters_total"].as_u64().unwrap(),
            )
        })
        .collect();
        assert!(counts.iter().all(|c| c.2 == 0), "dead letters: {counts:?}");
        if counts.iter().all(|c| c.1 > 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a source sent nothing: {counts:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let total = |q: &str| get("/api/v1/search", q)["total"].as_u64().unwrap();
    // Each integration's events arrive normalised, and people resolve across them.
    for q in [
        "class:authentication AND source:syslog",
        "class:authentication AND source:windows AND person:*",
        "class:authentication AND source:okta AND person:*",
        "class:authentication AND source:entra AND person:*",
        "class:physical_access AND source:syslog AND person:*",
        "class:physical_access AND source:verkada AND person:*",
        "class:physical_access AND person:*",
        "class:video_detection AND source:cameras",
        "class:device_telemetry AND source:sensors",
        "class:network_activity AND source:zeek",
    ] {
        assert!(total(q) > 0, "nothing for {q}");
    }
    assert!(
        get(
            "/api/v1/search",
            "class:physical_access AND activity:granted"
        )["total"]
            .as_u64()
            .unwrap()
            > 0
    );

    // The staged tailgate: its ground truth names the door, and the store holds its events.
    let truth_path = data.join("ground-truth.jsonl");
    let deadline = Instant::now() + Duration::from_secs(20);
    let truth: Value = loop {
        if let Some(line) = std::fs::read_to_string(&truth_path)
            .ok()
            .and_then(|t| t.lines().next().map(str::to_owned))
        {
            break serde_json::from_str(&line).unwrap();
        }
        assert!(Instant::now() < deadline, "no ground truth written");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(truth["kind"], "tailgate");
    let door = truth["place"]["door"].as_str().unwrap();
    let start: chrono::DateTime<chrono::Utc> = truth["start"].as_str().unwrap().parse().unwrap();
    let window = |q: &str| -> u64 {
        agent
            .get(format!("{url}/api/v1/search"))
            .query("q", q)
            .query("from", (start - chrono::Duration::seconds(1)).to_rfc3339())
            .query("to", (start + chrono::Duration::seconds(4)).to_rfc3339())
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap()
            .body_mut()
            .read_json::<Value>()
            .unwrap()["total"]
            .as_u64()
            .unwrap()
    };
    // One grant, and Frigate tracks two people at that door's camera (plus its review).
    let deadline = Instant::now() + Duration::from_secs(20);
    while window(&format!(
        "door:{door} AND class:video_detection AND activity:detect"
    )) < 2
        || window(&format!(
            "door:{door} AND class:physical_access AND activity:granted"
        )) != 1
    {
        assert!(
            Instant::now() < deadline,
            "the tailgate's camera detection never arrived"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // A scenario typed on the terminal is staged too.
    writeln!(child.stdin.as_mut().unwrap(), "forced_door").unwrap();
    wait_for(&mut output, "staged forced_door");

    // Both staged scenarios raise their detections, as findings in the store.
    for rule in ["tandem.tailgating", "tandem.forced_door_with_person"] {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let found = get("/api/v1/findings", &format!("finding.rule_id:{rule}"));
            if found["total"].as_u64().unwrap_or(0) >= 1 {
                assert!(
                    !found["findings"][0]["finding"]["evidence"]
                        .as_array()
                        .unwrap()
                        .is_empty(),
                    "{found}"
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no {rule} finding for the staged scenario"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    // Each staged scenario is one alert (the forced door's lists the shipped Sigma rule
    // beside the native detection) and one incident from its shipped playbook, with tasks
    // for the departments that playbook names. Alerts and incidents are made after the
    // commit: wait for them.
    let api = |path: &str, query: &[(&str, &str)]| -> Value {
        let mut req = agent
            .get(format!("{url}{path}"))
            .header("Authorization", format!("Bearer {token}"));
        for (k, v) in query {
            req = req.query(*k, *v);
        }
        req.call().unwrap().body_mut().read_json().unwrap()
    };
    let mut incidents = Vec::new();
    for (rule, rules, playbook, departments) in [
        (
            "tandem.tailgating",
            &["tandem.tailgating"][..],
            "tailgating",
            &["security", "facilities"][..],
        ),
        (
            "tandem.forced_door_with_person",
            // Sigma: Door Forced Open.
            &[
                "de6eab26-7e2c-4351-9d80-42aec4b2f6b5",
                "tandem.forced_door_with_person",
            ][..],
            "forced-door",
            &["security", "facilities", "legal"][..],
        ),
    ] {
        let deadline = Instant::now() + Duration::from_secs(60);
        let alert = loop {
            let list = api("/api/v1/alerts", &[("rule", rule)]);
            let alerts = list["alerts"].as_array().cloned().unwrap_or_default();
            if let [a] = alerts.as_slice()
                && a["incident"].is_string()
                && a["rules"]
                    .as_array()
                    .is_some_and(|r| r.len() == rules.len())
            {
                break a.clone();
            }
            assert!(alerts.len() <= 1, "one alert for {rule}: {list:#}");
            assert!(
                Instant::now() < deadline,
                "no alert with an incident for {rule}: {list:#}"
            );
            std::thread::sleep(Duration::from_millis(250));
        };
        let mut listed: Vec<&str> = alert["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["rule_id"].as_str().unwrap())
            .collect();
        listed.sort();
        assert_eq!(listed, rules, "{alert:#}");
        let id = alert["incident"].as_str().unwrap().to_owned();
        let inc = api(&format!("/api/v1/incidents/{id}"), &[]);
        assert_eq!(inc["incident"]["playbook"], playbook, "{inc:#}");
        assert_eq!(inc["incident"]["alerts"], serde_json::json!([alert["id"]]));
        let mut seen: Vec<&str> = Vec::new();
        for t in inc["incident"]["tasks"].as_array().unwrap() {
            let d = t["department"].as_str().unwrap();
            if !seen.contains(&d) {
                seen.push(d);
            }
        }
        assert_eq!(seen, departments, "{inc:#}");
        incidents.push(id);
    }
    assert_ne!(incidents[0], incidents[1]);
    let list = api("/api/v1/incidents", &[]);
    for id in &incidents {
        assert!(
            list["incidents"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["id"] == id.as_str()),
            "{id} not listed: {list:#}"
        );
    }

    // The printed credentials open the console.
    let login = support::post_login(&url, &[("username", "admin"), ("password", &password)]);
    assert_eq!(login.status().as_u16(), 303);
    let cookie = login
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut page = agent
        .get(format!("{url}/search?q=class%3Aphysical_access&range=24h"))
        .header("Cookie", &cookie)
        .call()
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.body_mut().read_to_string().unwrap();
    assert!(
        html.contains("physical_access") && html.contains("<svg"),
        "{}",
        &html[..html.len().min(2000)]
    );

    // The console's incident list shows both.
    let mut page = agent
        .get(format!("{url}/incidents"))
        .header("Cookie", &cookie)
        .call()
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.body_mut().read_to_string().unwrap();
    for id in &incidents {
        assert!(
            html.contains(&format!("href=\"/incidents/{id}\"")),
            "{id} not on /incidents:\n{html}"
        );
    }

    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    assert!(child.wait().unwrap().success());
}

#[test]
fn the_demo_refuses_a_directory_it_did_not_make() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.txt"), "keep me").unwrap();
    let out = support::tandem()
        .args([
            "demo",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("TANDEM_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("was not made by `tandem demo`"));
    assert!(dir.path().join("precious.txt").exists());
}
