//! What the web needs around employees' reports beside `tandem_cases::reports`: the public
//! page's limits, the rate limits per address and per signed-in person, the form token that
//! tells a person from a bot without a CAPTCHA, and the thank-you template.
//!
//! The address a report came from is counted here, in memory, for the hour of its rate
//! window, and never handed to the report: an anonymous report stores nothing that
//! identifies its reporter.

use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tandem_cases::reports::{Report, Reports};

/// What a reporter who spotted a drill reads.
pub const DEFAULT_DRILL_MESSAGE: &str = "Well spotted: this was a drill. The e-mail was a \
phishing exercise sent by the security team, and you did exactly the right thing by reporting it. \
Thank you!";

/// The thank-you a responder starts from when closing a report.
pub const DEFAULT_THANK_YOU: &str = "Thank you for reporting this ({{ id }}). \
We looked into it and {{ outcome }}. Reports like yours help keep everyone safe; please keep \
them coming.";

/// The page's limits (`[reports]`).
#[derive(Debug, Clone)]
pub struct ReportLimits {
    pub max_upload_bytes: usize,
    pub per_address_per_hour: u32,
    pub per_person_per_hour: u32,
    pub min_fill_seconds: u64,
}

impl Default for ReportLimits {
    fn default() -> Self {
        ReportLimits {
            max_upload_bytes: 25 * 1024 * 1024,
            per_address_per_hour: 20,
            per_person_per_hour: 30,
            min_fill_seconds: 3,
        }
    }
}

/// The reports stage as the web holds it.
pub struct ReportDesk {
    pub reports: Arc<Reports>,
    pub limits: ReportLimits,
    /// MiniJinja source of the thank-you a close starts from.
    pub thank_you_template: String,
    /// The e-mail channel whose relay e-mails the thank-you to a known reporter.
    pub email_channel: Option<String>,
    windows: Mutex<HashMap<String, VecDeque<Instant>>>,
    /// Signs the time a form was shown, so a bot cannot claim it waited.
    form_key: [u8; 32],
}

/// Why a report was not taken before it reached the reports stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turned {
    /// Too many reports from this address or person in the last hour.
    RateLimited,
    /// The honeypot was filled or the form came back too fast: a bot, most likely.
    Bot,
}

impl ReportDesk {
    pub fn new(
        reports: Arc<Reports>,
        limits: ReportLimits,
        thank_you_template: String,
    ) -> ReportDesk {
        let mut form_key = [0u8; 32];
        getrandom::fill(&mut form_key).expect("the operating system provides randomness");
        ReportDesk {
            reports,
            limits,
            thank_you_template,
            email_channel: None,
            windows: Mutex::new(HashMap::new()),
            form_key,
        }
    }

    /// E-mails thank-yous through `channel` (empty: none).
    pub fn with_email_channel(mut self, channel: &str) -> ReportDesk {
        self.email_channel = Some(channel.trim().to_owned()).filter(|c| !c.is_empty());
        self
    }

    /// The thank-you to `report`'s reporter as an outbox message for the e-mail channel,
    /// when the reporter's address is known and a channel is set; kind `report_status`,
    /// queued once per report.
    pub fn thank_you_mail(
        &self,
        report: &Report,
        console_url: &str,
    ) -> Option<tandem_store::OutboxEntry> {
        let channel = self.email_channel.clone()?;
        let to = report.reporter.as_ref()?.email.clone()?;
        let outcome = report.outcome.clone()?;
        let now = chrono::Utc::now();
        let text = format!(
            "{outcome}\n\nYour report {id} is closed. You can still read it on the link you kept when you sent it.\n",
            id = report.id
        );
        let html = format!(
            "<p>{}</p><p>Your report {} is closed. You can still read it on the link you kept when you sent it.</p>",
            escape(&outcome).replace('\n', "<br>"),
            escape(&report.id)
        );
        let payload = tandem_respond::channels::Payload::Email {
            subject: format!("Your report {}: thank you", report.id),
            text,
            html,
            to: vec![to],
        };
        Some(tandem_store::OutboxEntry {
            id: tandem_model::Ulid::generate().to_string(),
            created: now,
            channel,
            kind: "report_status".into(),
            group: format!("report:{}", report.id),
            dedup_key: format!("report_status:{}:closed", report.id),
            case_id: Some(report.id.clone()),
            summary: format!("{} closed: the thank-you to its reporter", report.id),
            link: format!("{console_url}/reports/{}", report.id),
            payload: serde_json::to_string(&payload).ok()?,
            state: tandem_store::OutboxState::Pending,
            attempts: 0,
            next_attempt: now,
            last_status: None,
            last_answer: String::new(),
            delivered: None,
            digest: None,
            updated: now,
        })
    }

    /// Counts one report against `key` (`addr:<ip>` or `person:<name>`); false when the
    /// hour's allowance is used up.
    pub fn allow(&self, key: &str, per_hour: u32, now: Instant) -> bool {
        let hour = Duration::from_secs(3600);
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if w.len() > 50_000 {
            w.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < hour));
        }
        let q = w.entry(key.to_owned()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= hour) {
            q.pop_front();
        }
        if q.len() >= per_hour as usize {
            return false;
        }
        q.push_back(now);
        true
    }

    /// The hidden value a form carries: when it was shown, signed.
    pub fn form_token(&self, now_ms: i64) -> String {
        format!("{now_ms}.{}", self.sign(now_ms))
    }

    /// Whether a form came back from a person: the honeypot empty, the token genuine and
    /// at least `min_fill_seconds` old (and at most a day).
    pub fn check_form(&self, token: &str, honeypot: &str, now_ms: i64) -> Result<(), Turned> {
        if !honeypot.trim().is_empty() {
            return Err(Turned::Bot);
        }
        let Some((ms, mac)) = token.split_once('.') else {
            return Err(Turned::Bot);
        };
        let Ok(shown) = ms.parse::<i64>() else {
            return Err(Turned::Bot);
        };
        if self.sign(shown) != mac {
            return Err(Turned::Bot);
        }
        let age = now_ms - shown;
        if age < (self.limits.min_fill_seconds as i64) * 1000 || age > 86_400_000 {
            return Err(Turned::Bot);
        }
        Ok(())
    }

    fn sign(&self, ms: i64) -> String {
        let mut h = Sha256::new();
        h.update(self.form_key);
        h.update(ms.to_be_bytes());
        h.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The thank-you for `report`, from the template; the template's own text when it does
    /// not render (a responder's typo must not block closing).
    pub fn thank_you(&self, report: &Report) -> String {
        let mut env = minijinja::Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        let ctx = minijinja::context! {
            id => report.id.clone(),
            kind => report.kind.label(),
            outcome => "found it was phishing; we have blocked the sender and removed the mail from other inboxes",
        };
        env.render_str(&self.thank_you_template, ctx)
            .unwrap_or_else(|_| self.thank_you_template.clone())
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desk() -> ReportDesk {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            tandem_store::SqliteStore::open(dir.path(), tandem_store::StoreConfig::default())
                .unwrap(),
        );
        let alerter = Arc::new(
            tandem_cases::alerter::Alerter::new(
                store.clone(),
                Default::default(),
                Arc::new(tandem_cases::alerter::NoIncidents),
                Arc::new(tandem_cases::Silent),
                Arc::new(|_: &str| tandem_identity::Criticality::default()),
            )
            .unwrap(),
        );
        let reports = Arc::new(Reports::new(store, alerter, Default::default()));
        std::mem::forget(dir);
        ReportDesk::new(reports, ReportLimits::default(), DEFAULT_THANK_YOU.into())
    }

    #[test]
    fn a_form_sent_back_at_once_or_with_the_honeypot_filled_is_a_bot() {
        let d = desk();
        let t = d.form_token(1_000_000);
        assert_eq!(d.check_form(&t, "", 1_000_500), Err(Turned::Bot));
        assert_eq!(d.check_form(&t, "http://spam", 1_010_000), Err(Turned::Bot));
        assert_eq!(d.check_form("2000.forged", "", 1_010_000), Err(Turned::Bot));
        assert_eq!(d.check_form(&t, "", 1_010_000), Ok(()));
    }

    #[test]
    fn the_hourly_allowance_is_per_key() {
        let d = desk();
        let now = Instant::now();
        assert!(d.allow("addr:10.0.0.1", 2, now));
        assert!(d.allow("addr:10.0.0.1", 2, now));
        assert!(!d.allow("addr:10.0.0.1", 2, now));
        assert!(d.allow("addr:10.0.0.2", 2, now));
        assert!(d.allow("addr:10.0.0.1", 2, now + Duration::from_secs(3601)));
    }
}
