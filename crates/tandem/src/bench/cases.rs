//! `tandem bench --cases`: the alert queue, incident pages and the SLA check over a store
//! holding many alerts and incidents.
//!
//! Seeds a fresh data directory with incidents (tasks from the shipped playbooks, comments,
//! timeline entries) and alerts linked to them, written as the alerts and incidents stages
//! write them (their own types and `to_record`, bulk `commit_cases` transactions), then starts
//! `tandem serve` on it and requests each page and API list signed in, printing p50/p95/max
//! per route, the time of the SLA check, the seed time and the server's memory.

use anyhow::{Context, bail};
use chrono::{Duration as Span, Utc};
use std::time::Instant;
use tandem_cases::alert::AlertRule;
use tandem_cases::incident::{Comment, Milestones, Observable, SlaState, Tlp};
use tandem_cases::{Alert, AlertStatus, Incident, IncidentStatus, Resolution, TaskState};
use tandem_model::{Department, Entities, Severity, Ulid};
use tandem_store::{
    CaseCommit, CaseKind, CaseStore, CaseWrite, EventStore, SqliteStore, TimelineEntry,
};

use super::{BenchArgs, agent, peak_rss_mib, percentile, rss_mib};

/// Detections the seeded alerts come from (native and Sigma), so per-rule lists vary.
const RULES: [(&str, &str, &str); 12] = [
    (
        "native.terminated_access",
        "Terminated person's badge used",
        "native",
    ),
    ("native.tailgating", "Tailgating at a door", "native"),
    ("native.impossible_travel", "Impossible travel", "native"),
    (
        "native.remote_while_on_site",
        "Remote login while on site",
        "native",
    ),
    ("native.forced_door", "Door forced open", "native"),
    (
        "native.after_hours_privileged",
        "After-hours entry then privileged activity",
        "native",
    ),
    (
        "native.new_external_destination",
        "New external destination",
        "native",
    ),
    ("native.camera_offline", "Camera offline", "native"),
    ("sigma.brute_force", "Many failed logins", "sigma"),
    (
        "sigma.admin_group_change",
        "Member added to an admin group",
        "sigma",
    ),
    (
        "sigma.suspicious_powershell",
        "Suspicious PowerShell",
        "sigma",
    ),
    ("sigma.mfa_fatigue", "MFA push fatigue", "sigma"),
];

const SITES: [&str; 4] = ["oslo-hq", "bergen", "stockholm", "london"];

/// People the seeded alerts are about.
const PEOPLE: usize = 2_000;

/// Records written per transaction while seeding.
const SEED_BATCH: usize = 500;

fn severity_of(i: usize) -> Severity {
    [
        Severity::Low,
        Severity::Medium,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ][i % 5]
}

fn entry(
    case: &str,
    time: tandem_model::Timestamp,
    kind: &str,
    detail: serde_json::Value,
) -> TimelineEntry {
    TimelineEntry {
        seq: 0,
        case_id: case.to_owned(),
        time,
        actor: "analyst-7".into(),
        kind: kind.into(),
        detail,
    }
}

/// What the seeding wrote.
pub struct Seeded {
    pub incidents: usize,
    pub open_incidents: usize,
    pub alerts: usize,
    pub timeline: usize,
    pub seconds: f64,
}

/// Writes `incidents` incidents and `alerts` alerts (spread evenly over the incidents) into
/// a fresh store in `data_dir`. The newest `open_share` percent of incidents are still open.
pub fn seed(
    data_dir: &std::path::Path,
    incidents: usize,
    alerts: usize,
    open_share: u32,
) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let store = SqliteStore::open(data_dir, Default::default()).context("cannot open the store")?;
    let playbooks = tandem_cases::playbook::shipped();
    if playbooks.is_empty() {
        bail!("no shipped playbooks");
    }
    let first_incident = store.allocate_case_numbers(CaseKind::Incident, incidents as u64)?;
    let first_alert = store.allocate_case_numbers(CaseKind::Alert, alerts as u64)?;
    let now = Utc::now();
    let open_from = incidents - incidents * open_share.min(100) as usize / 100;
    let per_incident = alerts.div_ceil(incidents.max(1)).max(1);
    // Incidents over the last year, the newest a few minutes old.
    let spacing = Span::minutes((365 * 24 * 60 / incidents.max(1)).max(1) as i64);
    let mut commit = CaseCommit::default();
    let mut seeded = Seeded {
        incidents,
        open_incidents: incidents - open_from,
        alerts: 0,
        timeline: 0,
        seconds: 0.0,
    };
    let flush = |commit: &mut CaseCommit, force: bool, seeded: &mut Seeded| -> anyhow::Result<()> {
        if commit.writes.len() >= SEED_BATCH || (force && !commit.writes.is_empty()) {
            seeded.timeline += commit.timeline.len();
            store.commit_cases(commit)?;
            *commit = CaseCommit::default();
        }
        Ok(())
    };
    let mut alert_no = first_alert;
    for i in 0..incidents {
        let open = i >= open_from;
        let severity = severity_of(i);
        let opened = now - spacing * (incidents - i) as i32;
        let pb = &playbooks[i % playbooks.len()];
        let id = format!("INC-{}", first_incident + i as u64);
        let person = format!("p-{:05}", i % PEOPLE);
        let site = SITES[i % SITES.len()].to_owned();
        let mut tasks = pb.tasks_for(severity, opened);
        for (n, t) in tasks.iter_mut().enumerate() {
            // Closed incidents have every task done; open ones their first.
            if !open || n == 0 {
                t.state = TaskState::Done;
                t.opened = Some(opened);
                t.done = Some(opened + Span::minutes(30));
                t.sla_state = SlaState::Met;
                continue;
            }
            // What the SLA check has already said about an old open task.
            if let (Some(sla), Some(start)) = (t.sla, t.opened) {
                if start + Span::minutes(sla.warn_minutes.into()) < now {
                    t.sla_warned = Some(start + Span::minutes(sla.warn_minutes.into()));
                    t.sla_state = SlaState::Warned;
                }
                if start + Span::minutes(sla.breach_minutes.into()) < now {
                    t.sla_breached = Some(start + Span::minutes(sla.breach_minutes.into()));
                    t.sla_state = SlaState::Breached;
                }
            }
        }
        let mut alert_ids = Vec::new();
        let status = if open {
            [
                IncidentStatus::New,
                IncidentStatus::Acknowledged,
                IncidentStatus::InProgress,
                IncidentStatus::Contained,
            ][i % 4]
        } else {
            IncidentStatus::Closed
        };
        for k in 0..per_incident {
            if seeded.alerts >= alerts {
                break;
            }
            let n = seeded.alerts;
            let (rule_id, title, engine) = RULES[n % RULES.len()];
            let aid = format!("ALR-{alert_no}");
            alert_no += 1;
            let seen = opened - Span::minutes((per_incident - k) as i64);
            let alert_status = if open {
                [
                    AlertStatus::New,
                    AlertStatus::Acknowledged,
                    AlertStatus::InProgress,
                ][n % 3]
            } else {
                AlertStatus::Closed
            };
            let alert = Alert {
                id: aid.clone(),
                version: 1,
                title: title.to_owned(),
                summary: format!("{title} for {person} at {site}"),
                severity: severity_of(n),
                status: alert_status,
                resolution: (!open).then(|| {
                    [
                        Resolution::TruePositive,
                        Resolution::FalsePositive,
                        Resolution::Benign,
                    ][n % 3]
                }),
                assignee: n.is_multiple_of(4).then(|| format!("analyst-{}", n % 7)),
                rules: vec![AlertRule {
                    rule_id: rule_id.to_owned(),
                    title: title.to_owned(),
                    engine: engine.to_owned(),
                    findings: 1 + (n % 3) as u64,
                }],
                dedup_key: format!("{rule_id}|{person}|{n}"),
                other_keys: Vec::new(),
                count: 1 + (n % 3) as u64,
                suppressed: 0,
                first_seen: seen,
                last_seen: seen,
                entities: Entities {
                    persons: vec![person.clone()],
                    devices: vec![format!("d-{:05}", n % 3_000)],
                    sites: vec![site.clone()],
                    ..Entities::default()
                },
                place: None,
                evidence: vec![Ulid::generate(), Ulid::generate()],
                tags: vec!["attack.t1078".into()],
                incident: Some(id.clone()),
                risk: 10.0 + (n % 5) as f64 * 10.0,
                suppress_key: None,
                raised_by: None,
            };
            commit.writes.push(CaseWrite::Insert(alert.to_record(seen)));
            commit.findings.push((Ulid::generate(), aid.clone()));
            commit.timeline.push(entry(
                &aid,
                seen,
                "opened",
                serde_json::json!({"rule": rule_id}),
            ));
            commit.timeline.push(entry(
                &aid,
                seen,
                "incident",
                serde_json::json!({"incident": id}),
            ));
            if alert_status != AlertStatus::New {
                commit.timeline.push(entry(
                    &aid,
                    seen + Span::minutes(5),
                    "status",
                    serde_json::json!({"from": "new", "to": alert_status.code()}),
                ));
            }
            alert_ids.push(aid);
            seeded.alerts += 1;
        }
        let comments: Vec<Comment> = (0..3)
            .map(|c| Comment {
                author: format!("analyst-{}", (i + c) % 7),
                time: opened + Span::minutes(10 * (c as i64 + 1)),
                text: format!(
                    "Checked the evidence ({c}); @security please look at the door logs."
                ),
                mentions: vec![Department::Security],
                task: None,
            })
            .collect();
        let incident = Incident {
            id: id.clone(),
            version: 1,
            title: format!("{} ({person})", pb.title),
            summary: format!("Seeded incident {i} of the bench"),
            playbook: pb.id.clone(),
            severity,
            status,
            resolution: (!open).then_some(Resolution::TruePositive),
            impact: String::new(),
            tlp: Tlp::default(),
            assignees: vec![format!("analyst-{}", i % 7)],
            alerts: alert_ids,
            events: Vec::new(),
            observables: vec![
                Observable {
                    kind: "person".into(),
                    value: person.clone(),
                },
                Observable {
                    kind: "ip".into(),
                    value: format!("10.{}.{}.{}", i % 200, (i / 200) % 250, i % 250),
                },
            ],
            entities: Entities {
                persons: vec![person.clone()],
                sites: vec![site.clone()],
                ..Entities::default()
            },
            tasks,
            comments,
            evidence: Vec::new(),
            review: None,
            milestones: Milestones {
                occurred: Some(opened - Span::minutes(20)),
                detected: Some(opened),
                acknowledged: Some(opened + Span::minutes(5)),
                contained: (!open).then(|| opened + Span::hours(2)),
                resolved: (!open).then(|| opened + Span::hours(3)),
                closed: (!open).then(|| opened + Span::hours(4)),
            },
            merged_into: None,
            origin: "alert".into(),
            reopened: 0,
            actions: Vec::new(),
        };
        let updated = if open {
            opened + Span::minutes(30)
        } else {
            opened + Span::hours(4)
        };
        commit
            .writes
            .push(CaseWrite::Insert(incident.to_record(opened, updated)));
        commit.timeline.push(entry(
            &id,
            opened,
            "opened",
            serde_json::json!({"origin": "alert", "playbook": pb.id}),
        ));
        for c in &incident.comments {
            commit.timeline.push(entry(
                &id,
                c.time,
                "comment",
                serde_json::json!({"text": c.text}),
            ));
        }
        commit.timeline.push(entry(
            &id,
            opened + Span::minutes(30),
            "task_completed",
            serde_json::json!({"task": incident.tasks.first().map(|t| t.id.clone())}),
        ));
        if !open {
            commit.timeline.push(entry(
                &id,
                updated,
                "status",
                serde_json::json!({"from": "resolved", "to": "closed"}),
            ));
        }
        flush(&mut commit, false, &mut seeded)?;
    }
    flush(&mut commit, true, &mut seeded)?;
    store.close()?;
    seeded.seconds = started.elapsed().as_secs_f64();
    Ok(seeded)
}

/// A console session: the `tandem_session=…` cookie and its CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

fn sign_in(url: &str, user: &str, password: &str) -> anyhow::Result<Session> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut resp = agent.get(format!("{url}/login")).call()?;
    let login_cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("tandem_login="))
        .and_then(|c| c.split(';').next())
        .context("the sign-in page set no cookie")?
        .to_owned();
    let body = resp.body_mut().read_to_string()?;
    let marker = "name=\"login_csrf\" value=\"";
    let start = body.find(marker).context("no login_csrf field")? + marker.len();
    let end = body[start..].find('"').context("no end of login_csrf")? + start;
    let token = body[start..end].to_owned();
    let resp = agent
        .post(format!("{url}/login"))
        .header("Cookie", &login_cookie)
        .send_form([
            ("username", user),
            ("password", password),
            ("login_csrf", &token),
        ])?;
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("tandem_session="))
        .and_then(|c| c.split(';').next())
        .with_context(|| format!("{user} could not sign in ({})", resp.status()))?
        .to_owned();
    let secret = cookie.trim_start_matches("tandem_session=");
    Ok(Session {
        csrf: tandem_store::hash_key(&format!("csrf:{secret}")),
        cookie,
    })
}

/// Times `runs` requests of `path`; fails on an answer other than 200.
fn time_route(
    url: &str,
    path: &str,
    auth: (&str, &str),
    runs: usize,
) -> anyhow::Result<(Vec<f64>, usize)> {
    let agent = agent();
    let mut times = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let mut resp = agent
            .get(format!("{url}{path}"))
            .header(auth.0, auth.1)
            .call()?;
        let body = resp
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_string()?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        if resp.status() != 200 {
            bail!(
                "{path} answered {}: {}",
                resp.status(),
                body.chars().take(300).collect::<String>()
            );
        }
        bytes = body.len();
    }
    times.sort_by(f64::total_cmp);
    Ok((times, bytes))
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if !args.seeded {
        println!(
            "cases: seeding {} incidents ({} % open) and {} alerts into a fresh store",
            args.incidents, args.open_share, args.alerts
        );
        let seeded = seed(&args.data_dir, args.incidents, args.alerts, args.open_share)?;
        println!(
            "  seeded {} incidents ({} open), {} alerts, {} timeline entries in {:.1} s",
            seeded.incidents, seeded.open_incidents, seeded.alerts, seeded.timeline, seeded.seconds
        );
        if args.seed_only {
            return Ok(());
        }
    }
    let server = super::start_server(&args.data_dir, args.server.as_deref())?;
    let result = measure(args, &server);
    server.stop();
    result
}

fn measure(args: &BenchArgs, server: &super::Started) -> anyhow::Result<()> {
    let url = server.url.as_str();
    let bearer = format!("Bearer {}", server.token);
    let admin_password = server
        .password
        .as_deref()
        .context("the server printed no administrator password")?;
    let admin = sign_in(url, "admin", admin_password)?;
    // A Security responder, added as an administrator would.
    let responder_password = tandem_web::generate_secret("");
    let resp = agent()
        .post(format!("{url}/settings/users"))
        .header("Cookie", &admin.cookie)
        .send_form([
            ("name", "bench-responder"),
            ("role", "responder:security"),
            ("password", responder_password.as_str()),
            ("csrf", admin.csrf.as_str()),
        ])?;
    if !resp.status().is_success() && !resp.status().is_redirection() {
        bail!("cannot add the responder: {}", resp.status());
    }
    let responder = sign_in(url, "bench-responder", &responder_password)?;
    println!("  server started; RSS {:.0} MiB", rss_mib(server.pid));

    // The newest incident and alert.
    let newest = |list: &str| -> anyhow::Result<String> {
        let listed: serde_json::Value = agent()
            .get(format!("{url}/api/v1/{list}?limit=1"))
            .header("Authorization", &bearer)
            .call()?
            .body_mut()
            .read_json()?;
        Ok(listed[list][0]["id"]
            .as_str()
            .with_context(|| format!("no {list} listed"))?
            .to_owned())
    };
    let incident = newest("incidents")?;
    let alert = newest("alerts")?;

    let routes: Vec<(String, bool)> = vec![
        ("/alerts".into(), false),
        ("/alerts?status=new".into(), false),
        (format!("/alerts/{alert}"), false),
        ("/incidents".into(), false),
        (format!("/incidents/{incident}"), false),
        ("/tasks".into(), true),
        ("/action-items".into(), false),
        ("/api/v1/alerts".into(), false),
        ("/api/v1/alerts?assignee=analyst-0".into(), false),
        ("/api/v1/incidents".into(), false),
    ];
    println!(
        "  {} runs per route, signed in (/tasks as bench-responder, responder:security); ms",
        args.page_runs
    );
    println!(
        "  {:<42} {:>8} {:>8} {:>8} {:>10}",
        "route", "p50", "p95", "max", "bytes"
    );
    for (path, as_responder) in &routes {
        let auth = if path.starts_with("/api/") {
            ("Authorization", bearer.as_str())
        } else if *as_responder {
            ("Cookie", responder.cookie.as_str())
        } else {
            ("Cookie", admin.cookie.as_str())
        };
        let (times, bytes) = time_route(url, path, auth, args.page_runs)?;
        println!(
            "  {:<42} {:>8.1} {:>8.1} {:>8.1} {:>10}",
            path,
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            times.last().copied().unwrap_or(0.0),
            bytes
        );
    }

    let open: serde_json::Value = agent()
        .get(format!("{url}/api/v1/incidents?status=open&limit=1"))
        .header("Authorization", &bearer)
        .call()?
        .body_mut()
        .read_json()?;
    let open = open["total"].as_u64().unwrap_or(0);
    // The SLA check the server runs every minute, asked for over the API.
    let mut ticks = Vec::new();
    let mut last = serde_json::Value::Null;
    for _ in 0..args.tick_runs {
        let t = Instant::now();
        let mut resp = agent()
            .post(format!("{url}/api/v1/incidents/sla-check"))
            .header("Authorization", &bearer)
            .send_json(serde_json::json!({}))?;
        let body = resp.body_mut().read_to_string()?;
        ticks.push(t.elapsed().as_secs_f64() * 1000.0);
        if !resp.status().is_success() {
            bail!("the SLA check answered {}: {body}", resp.status());
        }
        last = serde_json::from_str(&body).unwrap_or_default();
    }
    let first = ticks.first().copied().unwrap_or(0.0);
    ticks.sort_by(f64::total_cmp);
    println!(
        "  SLA check over {} open incidents: first {first:.1} ms, p50 {:.1} ms, max {:.1} ms ({} runs; last warned {}, breached {})",
        open,
        percentile(&ticks, 0.5),
        ticks.last().copied().unwrap_or(0.0),
        args.tick_runs,
        last["report"]["warned"].as_array().map_or(0, Vec::len),
        last["report"]["breached"].as_array().map_or(0, Vec::len),
    );
    println!(
        "  server RSS {:.0} MiB, peak {:.0} MiB",
        rss_mib(server.pid),
        peak_rss_mib(server.pid)
    );
    Ok(())
}
