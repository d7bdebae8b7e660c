//! Employees' reports: a phishing mail, a suspicious payment request, a tailgater, a lost
//! badge or device, a suspicious USB or IoT device, anything else. Each becomes an alert in the
//! triage queue (phishing reports of one campaign fold into one alert with a reporter count),
//! and stays a record of its own ([`Report`], kind `report` in the store) that the reporter
//! follows through an unguessable tracking link: its status, the responders' questions and
//! their answers, and at the end a thank-you with the outcome in plain words.
//!
//! An anonymous report keeps nothing that identifies the reporter: no name, no address, no
//! IP (the web layer rate-limits by address in memory and never hands it here). The tracking
//! token is kept only as its SHA-256 ([`tandem_store::hash_key`]), like API tokens.
//!
//! A phishing simulation (recognised by [`tandem_mail::SimulationMarkers`]) raises no alert:
//! the report is closed at once, the reporter credited with "well spotted, this was a drill",
//! so drills never count among real alerts.

use crate::alerter::{Alerter, NewAlert};
use crate::timeline::entry;
use crate::{Alert, CaseError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use tandem_mail::{MailAnalysis, SimulationMarkers};
use tandem_model::{Severity, Timestamp};
use tandem_store::{CaseCommit, CaseKind, CaseQuery, CaseRecord, CaseStore, CaseWrite, StoreError};

#[cfg(test)]
mod tests;

/// What an employee reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Phishing,
    PaymentRequest,
    Tailgater,
    LostBadge,
    LostDevice,
    SuspiciousDevice,
    Other,
}

impl ReportKind {
    pub const ALL: [ReportKind; 7] = [
        ReportKind::Phishing,
        ReportKind::PaymentRequest,
        ReportKind::Tailgater,
        ReportKind::LostBadge,
        ReportKind::LostDevice,
        ReportKind::SuspiciousDevice,
        ReportKind::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ReportKind::Phishing => "phishing",
            ReportKind::PaymentRequest => "payment_request",
            ReportKind::Tailgater => "tailgater",
            ReportKind::LostBadge => "lost_badge",
            ReportKind::LostDevice => "lost_device",
            ReportKind::SuspiciousDevice => "suspicious_device",
            ReportKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<ReportKind> {
        ReportKind::ALL.into_iter().find(|k| k.code() == s)
    }

    /// In the reporter's words.
    pub fn label(self) -> &'static str {
        match self {
            ReportKind::Phishing => "A suspicious e-mail (phishing)",
            ReportKind::PaymentRequest => "A suspicious payment or data request",
            ReportKind::Tailgater => "Someone followed me in, or an unknown person",
            ReportKind::LostBadge => "My badge is lost or stolen",
            ReportKind::LostDevice => "A lost or stolen laptop or phone",
            ReportKind::SuspiciousDevice => "A suspicious USB stick or device",
            ReportKind::Other => "Something else",
        }
    }

    /// How urgent the alert starts: a lost badge opens doors until it is suspended.
    pub fn severity(self) -> Severity {
        match self {
            ReportKind::LostBadge | ReportKind::Tailgater | ReportKind::PaymentRequest => {
                Severity::High
            }
            ReportKind::Phishing | ReportKind::LostDevice | ReportKind::SuspiciousDevice => {
                Severity::Medium
            }
            ReportKind::Other => Severity::Low,
        }
    }

    /// The few questions that matter for this kind: `(field, question)`; answers are kept
    /// under the field name.
    pub fn questions(self) -> &'static [(&'static str, &'static str)] {
        match self {
            ReportKind::Phishing => &[("clicked", "Did you click a link or open an attachment?")],
            ReportKind::PaymentRequest => &[
                ("requester", "Who asked (name, company or address)?"),
                ("paid", "Has anything been paid or sent already?"),
            ],
            ReportKind::Tailgater => &[
                ("place", "Where (building, door or floor)?"),
                ("when", "When (date and time)?"),
            ],
            ReportKind::LostBadge => &[
                ("badge", "Badge number, if you know it"),
                (
                    "employee_number",
                    "Your employee number (if you are not signed in)",
                ),
            ],
            ReportKind::LostDevice => &[
                (
                    "device",
                    "Which device (laptop, phone; its name if you know it)?",
                ),
                ("where_lost", "Where and when did you last have it?"),
            ],
            ReportKind::SuspiciousDevice => &[("place", "Where is it?")],
            ReportKind::Other => &[],
        }
    }

    fn rule(self) -> String {
        format!("report.{}", self.code())
    }

    /// The tags its alert starts with: `report:<kind>` in the shipped playbooks' vocabulary
    /// (a payment request is `report:payment_fraud`, whose playbook gives Finance its tasks),
    /// and the physical tags the tailgating and lost-badge playbooks select.
    pub fn alert_tags(self) -> Vec<String> {
        let tags: &[&str] = match self {
            ReportKind::Phishing => &["report:phishing"],
            ReportKind::PaymentRequest => &["report:payment_fraud"],
            ReportKind::Tailgater => &["report:tailgater", "physical.tailgating"],
            ReportKind::LostBadge => &["report:lost_badge", "physical.lost_credential"],
            ReportKind::LostDevice => &["report:lost_device"],
            ReportKind::SuspiciousDevice => &["report:suspicious_device"],
            ReportKind::Other => &["report:other"],
        };
        tags.iter().map(|t| (*t).to_owned()).collect()
    }
}

/// Where a report is, as the reporter sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Filed, not looked at yet.
    Received,
    /// A responder is on it (asked a question, or took the alert).
    InProgress,
    Closed,
}

impl ReportStatus {
    pub fn code(self) -> &'static str {
        match self {
            ReportStatus::Received => "received",
            ReportStatus::InProgress => "in_progress",
            ReportStatus::Closed => "closed",
        }
    }

    /// In the reporter's words.
    pub fn label(self) -> &'static str {
        match self {
            ReportStatus::Received => "Received: the security team will look at it soon",
            ReportStatus::InProgress => "Being looked into",
            ReportStatus::Closed => "Closed",
        }
    }
}

/// Who reported, when they chose to say so.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reporter {
    /// The console user name, or the forwarder's address for mailbox reports.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

/// One message the reporter sees on the tracking page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportMessage {
    pub time: Timestamp,
    /// `responder`, `reporter`, or `tandem` for what Tandem did on the reporter's behalf.
    pub from: String,
    pub text: String,
}

/// A report as stored (the `doc` of a [`CaseRecord`] of kind `report`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `RPT-<n>`.
    pub id: String,
    pub version: u64,
    pub kind: ReportKind,
    pub status: ReportStatus,
    pub opened: Timestamp,
    pub updated: Timestamp,
    /// `None`: anonymous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<Reporter>,
    /// What happened, in the reporter's words (shown as text, never as markup).
    pub description: String,
    /// Answers to the kind's questions, by field.
    #[serde(default)]
    pub answers: BTreeMap<String, String>,
    /// The reported mail, read without rendering it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailAnalysis>,
    /// The alert the report raised or joined; none for a drill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    /// A phishing simulation the reporter spotted.
    #[serde(default)]
    pub simulation: bool,
    #[serde(default)]
    pub messages: Vec<ReportMessage>,
    /// The thank-you with the outcome, once closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// SHA-256 of the tracking token.
    pub token_hash: String,
    /// The badge suspension the reporter confirmed (a lost badge): the incident and the
    /// response action run that carries it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspension: Option<Suspension>,
    /// The directory place the reporter named (a tailgater's door or zone), when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// When it happened, as the reporter gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_at: Option<Timestamp>,
}

/// A badge suspension asked for from a lost-badge report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suspension {
    pub incident: String,
    pub run: String,
    /// The badge as the action names it (`badge 4411`).
    pub badge: String,
    pub time: Timestamp,
}

impl Report {
    fn to_record(&self) -> CaseRecord {
        let mut entities: Vec<String> = Vec::new();
        if let Some(p) = self.reporter.as_ref().and_then(|r| r.person.as_ref()) {
            entities.push(format!("person:{p}"));
        }
        if let Some(m) = &self.mail {
            entities.extend(m.campaign_keys.iter().map(|k| format!("campaign:{k}")));
        }
        CaseRecord {
            kind: CaseKind::Report,
            id: self.id.clone(),
            version: self.version,
            status: self.status.code().to_owned(),
            resolution: self.simulation.then(|| "simulation".to_owned()),
            severity: self.kind.severity().uid().min(255) as u8,
            key: Some(self.token_hash.clone()),
            parent: self.alert.clone(),
            departments: self
                .reporter
                .as_ref()
                .and_then(|r| r.department.clone())
                .into_iter()
                .collect(),
            entities,
            rules: vec![self.kind.rule()],
            sites: self
                .reporter
                .as_ref()
                .and_then(|r| r.site.clone())
                .into_iter()
                .collect(),
            opened: self.opened,
            updated: self.updated,
            tags: self
                .simulation
                .then(|| "simulation".to_owned())
                .into_iter()
                .collect(),
            due: None,
            items: Vec::new(),
            doc: serde_json::to_value(self).unwrap_or_default(),
        }
    }

    pub fn from_record(record: &CaseRecord) -> Result<Report, CaseError> {
        let mut r = Report::deserialize(&record.doc)
            .map_err(|e| CaseError::Refused(format!("{} is unreadable: {e}", record.id)))?;
        r.version = record.version;
        Ok(r)
    }

    /// How many people reported the same campaign (this report's alert's count).
    pub fn is_anonymous(&self) -> bool {
        self.reporter.is_none()
    }
}

/// How reports are taken (`[reports]` in the server's configuration).
#[derive(Debug, Clone, Default)]
pub struct ReportsSettings {
    pub simulation: SimulationMarkers,
    /// The words a spotted drill closes with.
    pub drill_message: String,
}

/// What a reporter sends.
#[derive(Debug, Clone, Default)]
pub struct NewReport {
    pub kind: Option<ReportKind>,
    pub description: String,
    pub answers: BTreeMap<String, String>,
    /// The reported mail's raw bytes (an `.eml`, or pasted headers).
    pub mail: Option<Vec<u8>>,
    /// `None`: anonymous.
    pub reporter: Option<Reporter>,
    /// The directory place the answers name, resolved by the caller (which holds the
    /// directory): the alert is about it, and its events around [`NewReport::seen_at`] are
    /// where a responder looks first.
    pub place: Option<String>,
    pub seen_at: Option<Timestamp>,
}

/// A filed report and the tracking token, shown to the reporter once and never kept.
#[derive(Debug, Clone)]
pub struct Filed {
    pub report: Report,
    pub token: String,
}

/// Most characters of a description, an answer or a message.
pub const MAX_TEXT: usize = 4_000;

/// Reports filed, followed and closed.
pub struct Reports {
    store: Arc<dyn CaseStore>,
    alerter: Arc<Alerter>,
    settings: ReportsSettings,
}

impl Reports {
    pub fn new(
        store: Arc<dyn CaseStore>,
        alerter: Arc<Alerter>,
        settings: ReportsSettings,
    ) -> Reports {
        Reports {
            store,
            alerter,
            settings,
        }
    }

    pub fn settings(&self) -> &ReportsSettings {
        &self.settings
    }

    /// Files a report: analyses its mail, raises or joins its alert (none for a drill), and
    /// stores it with the hash of a new tracking token.
    pub fn file(&self, new: NewReport, now: Timestamp) -> Result<Filed, CaseError> {
        let kind = new
            .kind
            .ok_or_else(|| CaseError::Refused("choose what you are reporting".into()))?;
        let description = clean(&new.description);
        let mail = new
            .mail
            .as_deref()
            .filter(|m| !m.iter().all(u8::is_ascii_whitespace))
            .map(|raw| tandem_mail::analyse(raw, &self.settings.simulation));
        if description.is_empty()
            && mail.is_none()
            && new.answers.values().all(|v| v.trim().is_empty())
        {
            return Err(CaseError::Refused(
                "tell us briefly what happened (or attach the e-mail)".into(),
            ));
        }
        let answers: BTreeMap<String, String> = kind
            .questions()
            .iter()
            .filter_map(|(field, _)| {
                let v = clean(new.answers.get(*field)?);
                (!v.is_empty()).then(|| ((*field).to_owned(), v))
            })
            .collect();
        let n = self.store.allocate_case_numbers(CaseKind::Report, 1)?;
        let id = format!("RPT-{n}");
        let token = new_token();
        let simulation = mail.as_ref().is_some_and(|m| m.is_simulation);
        let mut report = Report {
            id: id.clone(),
            version: 1,
            kind,
            status: ReportStatus::Received,
            opened: now,
            updated: now,
            reporter: new.reporter,
            description,
            answers,
            mail,
            alert: None,
            simulation,
            messages: Vec::new(),
            outcome: None,
            token_hash: tandem_store::hash_key(&token),
            suspension: None,
            place: new.place,
            seen_at: new.seen_at,
        };
        let mut timeline = vec![entry(
            &id,
            now,
            "reporter",
            "opened",
            serde_json::json!({ "kind": kind.code() }),
        )];
        if simulation {
            report.status = ReportStatus::Closed;
            report.outcome = Some(self.settings.drill_message.clone());
            timeline.push(entry(
                &id,
                now,
                crate::PRODUCT_ACTOR,
                "closed",
                serde_json::json!({ "simulation": true }),
            ));
        } else {
            report.alert = Some(self.raise_or_join(&report, now)?);
        }
        let mut commit = CaseCommit {
            writes: vec![CaseWrite::Insert(report.to_record())],
            timeline,
            findings: Vec::new(),
        };
        self.store.commit_cases(&mut commit)?;
        Ok(Filed { report, token })
    }

    /// Files a phishing report from a mail forwarded to the report-phishing mailbox: `raw`
    /// is the original message (the forwarded attachment), `forwarder` the address that
    /// forwarded it. Returns the report's id.
    pub fn file_forwarded_phishing(
        &self,
        raw: &[u8],
        forwarder: &str,
        now: Timestamp,
    ) -> Result<String, CaseError> {
        let forwarder = clean(forwarder).to_lowercase();
        let reporter = (!forwarder.is_empty()).then(|| Reporter {
            name: forwarder.clone(),
            email: Some(forwarder.clone()),
            ..Reporter::default()
        });
        let filed = self.file(
            NewReport {
                kind: Some(ReportKind::Phishing),
                description: "Forwarded to the report-phishing mailbox".into(),
                mail: Some(raw.to_vec()),
                reporter,
                ..NewReport::default()
            },
            now,
        )?;
        Ok(filed.report.id)
    }

    /// The alert a report raises, or for a phishing report the open alert of the same
    /// campaign (a shared sender, subject or link), its reporter count one more.
    fn raise_or_join(&self, report: &Report, now: Timestamp) -> Result<String, CaseError> {
        if let Some(m) = &report.mail
            && !m.campaign_keys.is_empty()
        {
            let mut q = CaseQuery::new(CaseKind::Report);
            q.entities = m
                .campaign_keys
                .iter()
                .map(|k| format!("campaign:{k}"))
                .collect();
            q.not_statuses = vec![ReportStatus::Closed.code().into()];
            q.limit = 20;
            for r in self.store.cases(&q)?.records {
                let Some(alert_id) = r.parent.clone() else {
                    continue;
                };
                if self.join(&alert_id, report, now)? {
                    return Ok(alert_id);
                }
            }
        }
        let who = match &report.reporter {
            Some(r) => {
                let mut s = format!("Reported by {}", r.name);
                if let Some(d) = &r.department {
                    s.push_str(&format!(", {d}"));
                }
                if let Some(site) = &r.site {
                    s.push_str(&format!(", at {site}"));
                }
                s
            }
            None => "Reported anonymously".to_owned(),
        };
        let mut summary = format!("{who} ({}). ", report.id);
        if let Some(m) = &report.mail {
            if let Some(s) = &m.subject {
                summary.push_str(&format!("Subject: {s}. "));
            }
            if let Some(f) = &m.from {
                summary.push_str(&format!("From: {f}. "));
            }
        }
        for (k, v) in &report.answers {
            summary.push_str(&format!("{k}: {v}. "));
        }
        summary.push_str(&report.description);
        let title = match (&report.mail, report.kind) {
            (Some(m), ReportKind::Phishing) => format!(
                "Phishing reported: {}",
                m.subject.as_deref().unwrap_or("(no subject)")
            ),
            (_, k) => format!("Employee report: {}", k.label()),
        };
        // The reporter is what the alert is about only when it is their own badge or device;
        // a witness to a phishing mail or a tailgater is not, and must not pull the alert
        // into every incident about them.
        let mut entities: Vec<String> = report
            .reporter
            .as_ref()
            .and_then(|r| r.person.as_ref())
            .filter(|_| matches!(report.kind, ReportKind::LostBadge | ReportKind::LostDevice))
            .map(|p| vec![format!("person:{p}")])
            .unwrap_or_default();
        if let Some(place) = &report.place {
            entities.push(format!("place:{place}"));
        }
        let alert = self.alerter.raise(
            &NewAlert {
                title: truncate(&title, 200),
                severity: report.kind.severity(),
                entities,
                summary: truncate(&summary, 3_900),
                tags: report.kind.alert_tags(),
            },
            "reports",
            now,
        )?;
        Ok(alert.id)
    }

    /// The alert's count and summary say one more person reported it; false when the alert
    /// is closed (a new campaign alert is raised instead).
    fn join(&self, alert_id: &str, report: &Report, now: Timestamp) -> Result<bool, CaseError> {
        for _ in 0..5 {
            let Some(rec) = self.store.case(CaseKind::Alert, alert_id)? else {
                return Ok(false);
            };
            let mut a = Alert::from_record(&rec)?;
            if a.status == crate::AlertStatus::Closed {
                return Ok(false);
            }
            a.count += 1;
            a.last_seen = now;
            a.version += 1;
            a.summary = truncate(
                &format!(
                    "Reported by {} people. Latest: {} ({}).",
                    a.count,
                    report
                        .reporter
                        .as_ref()
                        .map_or("anonymous", |r| r.name.as_str()),
                    report.id
                ),
                3_900,
            );
            let mut commit = CaseCommit {
                writes: vec![CaseWrite::Update(a.to_record(rec.opened))],
                timeline: vec![entry(
                    alert_id,
                    now,
                    "reports",
                    "reported_again",
                    serde_json::json!({ "report": report.id, "reporters": a.count }),
                )],
                findings: Vec::new(),
            };
            match self.store.commit_cases(&mut commit) {
                Err(StoreError::Conflict { .. }) => continue,
                r => r?,
            }
            return Ok(true);
        }
        Ok(false)
    }

    pub fn get(&self, id: &str) -> Result<Report, CaseError> {
        let rec = self
            .store
            .case(CaseKind::Report, id)?
            .ok_or_else(|| CaseError::NotFound {
                kind: "report",
                id: id.to_owned(),
            })?;
        Report::from_record(&rec)
    }

    /// The report a tracking token opens; `None` for any token that opens none (the caller
    /// answers alike for a wrong and a missing token).
    pub fn by_token(&self, token: &str) -> Result<Option<Report>, CaseError> {
        if token.len() < 20 || token.len() > 100 {
            return Ok(None);
        }
        let mut q = CaseQuery::new(CaseKind::Report);
        q.key = Some(tandem_store::hash_key(token));
        q.limit = 1;
        match self.store.cases(&q)?.records.first() {
            Some(r) => Report::from_record(r).map(Some),
            None => Ok(None),
        }
    }

    /// Reports, newest first (drills included, marked).
    pub fn list(&self, limit: usize, offset: usize) -> Result<(u64, Vec<Report>), CaseError> {
        let mut q = CaseQuery::new(CaseKind::Report);
        q.limit = limit.clamp(1, 500);
        q.offset = offset;
        let page = self.store.cases(&q)?;
        let reports = page
            .records
            .iter()
            .map(Report::from_record)
            .collect::<Result<_, _>>()?;
        Ok((page.total, reports))
    }

    /// Reports filed since `from`, newest first, at most `limit`: what the KPIs read.
    pub fn filed_since(&self, from: Timestamp, limit: usize) -> Result<Vec<Report>, CaseError> {
        let mut q = CaseQuery::new(CaseKind::Report);
        q.opened_since = Some(from);
        q.limit = limit;
        self.store
            .cases(&q)?
            .records
            .iter()
            .map(Report::from_record)
            .collect()
    }

    /// Reports about an alert (the reports that raised or joined it).
    pub fn of_alert(&self, alert_id: &str) -> Result<Vec<Report>, CaseError> {
        let mut q = CaseQuery::new(CaseKind::Report);
        q.parent = Some(alert_id.to_owned());
        q.limit = 200;
        self.store
            .cases(&q)?
            .records
            .iter()
            .map(Report::from_record)
            .collect()
    }

    /// How many reports were drills the reporter spotted, and how many were real: what the
    /// report-rate figures count.
    pub fn counts(&self) -> Result<(u64, u64), CaseError> {
        let mut q = CaseQuery::new(CaseKind::Report);
        q.limit = 1;
        let all = self.store.cases(&q)?.total;
        q.tag = Some("simulation".into());
        let drills = self.store.cases(&q)?.total;
        Ok((drills, all - drills))
    }

    /// A responder asks the reporter something; the report is then in progress.
    pub fn ask(
        &self,
        id: &str,
        actor: &str,
        text: &str,
        now: Timestamp,
    ) -> Result<Report, CaseError> {
        self.update(id, actor, now, "asked", |r| {
            if r.status == ReportStatus::Closed {
                return Err(CaseError::Refused(format!("{} is closed", r.id)));
            }
            let text = clean(text);
            if text.is_empty() {
                return Err(CaseError::Refused("write the question".into()));
            }
            r.messages.push(ReportMessage {
                time: now,
                from: "responder".into(),
                text,
            });
            r.status = ReportStatus::InProgress;
            Ok(())
        })
    }

    /// The reporter answers on the tracking page (the token proved who they are).
    pub fn answer(&self, token: &str, text: &str, now: Timestamp) -> Result<Report, CaseError> {
        let report = self.by_token(token)?.ok_or_else(|| CaseError::NotFound {
            kind: "report",
            id: "(tracking link)".into(),
        })?;
        self.update(&report.id, "reporter", now, "answered", |r| {
            if r.status == ReportStatus::Closed {
                return Err(CaseError::Refused(
                    "this report is closed; thank you".into(),
                ));
            }
            let text = clean(text);
            if text.is_empty() {
                return Err(CaseError::Refused("write your answer".into()));
            }
            if r.messages.len() >= 200 {
                return Err(CaseError::Refused(
                    "this conversation is too long; please call the security team".into(),
                ));
            }
            r.messages.push(ReportMessage {
                time: now,
                from: "reporter".into(),
                text,
            });
            Ok(())
        })
    }

    /// Whether the reporter may suspend a badge from this report: a lost badge, reported
    /// under a name the directory knows, open, not suspended yet.
    pub fn may_suspend(report: &Report) -> bool {
        report.kind == ReportKind::LostBadge
            && report.status != ReportStatus::Closed
            && report.suspension.is_none()
            && report.reporter.as_ref().is_some_and(|r| r.person.is_some())
    }

    /// Records the badge suspension the reporter confirmed, and tells them on the tracking
    /// page.
    pub fn record_suspension(
        &self,
        id: &str,
        suspension: Suspension,
        now: Timestamp,
    ) -> Result<Report, CaseError> {
        self.update(id, "reporter", now, "badge_suspension", |r| {
            if r.suspension.is_some() {
                return Err(CaseError::Refused("the badge suspension was asked for already".into()));
            }
            r.messages.push(ReportMessage {
                time: now,
                from: "tandem".into(),
                text: format!(
                    "As you confirmed, {} is being suspended now: it will no longer open doors. Ask the security desk for a new one.",
                    suspension.badge
                ),
            });
            r.suspension = Some(suspension.clone());
            Ok(())
        })
    }

    /// The alert a report raised, for the response that follows it.
    pub fn alerter(&self) -> &Alerter {
        &self.alerter
    }

    /// Closes the report with the thank-you the reporter reads (written from the template,
    /// edited by the responder).
    pub fn close(
        &self,
        id: &str,
        actor: &str,
        outcome: &str,
        now: Timestamp,
    ) -> Result<Report, CaseError> {
        self.update(id, actor, now, "closed", |r| {
            if r.status == ReportStatus::Closed {
                return Err(CaseError::Refused(format!("{} is already closed", r.id)));
            }
            let outcome = clean(outcome);
            if outcome.is_empty() {
                return Err(CaseError::Refused(
                    "write the outcome the reporter will read".into(),
                ));
            }
            r.outcome = Some(outcome);
            r.status = ReportStatus::Closed;
            Ok(())
        })
    }

    fn update(
        &self,
        id: &str,
        actor: &str,
        now: Timestamp,
        what: &str,
        change: impl Fn(&mut Report) -> Result<(), CaseError>,
    ) -> Result<Report, CaseError> {
        for _ in 0..5 {
            let mut r = self.get(id)?;
            change(&mut r)?;
            r.version += 1;
            r.updated = now;
            let mut commit = CaseCommit {
                writes: vec![CaseWrite::Update(r.to_record())],
                timeline: vec![entry(
                    id,
                    now,
                    actor,
                    what,
                    serde_json::json!({ "status": r.status.code() }),
                )],
                findings: Vec::new(),
            };
            match self.store.commit_cases(&mut commit) {
                Err(StoreError::Conflict { .. }) => continue,
                res => res?,
            }
            return Ok(r);
        }
        Err(CaseError::Refused(format!(
            "{id} is changing too fast; try again"
        )))
    }
}

/// Free text as kept: control characters (but line breaks) removed, trimmed, bounded.
/// Markup is kept as the reporter wrote it; every page shows it escaped, as text.
fn clean(s: &str) -> String {
    let s: String = s
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect();
    truncate(s.trim(), MAX_TEXT)
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

/// 32 random bytes as 43 URL-safe characters: about 256 bits, unguessable.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % 64] as char)
        .collect()
}
