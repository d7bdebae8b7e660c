//! The notifications engine over the outbox: case events in, messages queued (routed,
//! held for quiet hours or folded into digests), then delivered with retries.
//!
//! Three steps, each restart-safe on its own, which the binary runs:
//! - [`Notifier::take`]: the notices a chunk of case events stands for, through every
//!   route that takes them, queued with the reader's cursor in one transaction;
//! - [`Notifier::fold_released`]: held messages whose window or quiet hours ended become
//!   one digest per group, queued in the same transaction that marks them folded;
//! - [`Notifier::deliver_due`]: due messages sent, each attempt's answer recorded, retried
//!   with jittered exponential backoff, dead after `max_attempts`.
//!
//! Digests: a route sends at most `digest_after` messages on their own per
//! `digest_window_seconds`; past that, messages are held until the window's end and sent as
//! one digest, so a burst of 500 alerts is a handful of messages, not 500.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tandem_model::{Event, Ulid};
use tandem_store::{
    CaseStore, OutboxAttempt, OutboxEntry, OutboxGroupState, OutboxState, OutboxStore, StoreError,
};

use crate::channels::{self, Payload, Sender};
use crate::config::{ChannelConfig, NotifyConfig};
use crate::http::backoff;
use crate::route::{Notice, QuietHours, kind_title, matches};
use crate::templates::{DigestItem, MessageContext, TemplateError, Templates};

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("invalid [notify] configuration: {0}")]
    Config(String),
}

/// What the binary holds: configuration, templates, the sender and the store.
pub struct Notifier {
    config: NotifyConfig,
    quiet: Vec<QuietHours>,
    templates: Templates,
    sender: Sender,
    outbox: Arc<dyn OutboxStore>,
    cases: Arc<dyn CaseStore>,
    /// The console's public URL, without a trailing slash.
    base: String,
}

/// Messages a delivery round takes at most.
const ROUND: usize = 200;

impl Notifier {
    pub fn new(
        config: NotifyConfig,
        base_url: &str,
        outbox: Arc<dyn OutboxStore>,
        cases: Arc<dyn CaseStore>,
    ) -> Result<Notifier, NotifyError> {
        config
            .check()
            .map_err(|e| NotifyError::Config(e.to_string()))?;
        let quiet = config
            .routes
            .iter()
            .map(|r| QuietHours::parse(&r.quiet_hours, &r.timezone))
            .collect::<Result<_, _>>()
            .map_err(NotifyError::Config)?;
        let dir = (!config.templates_dir.trim().is_empty())
            .then(|| std::path::PathBuf::from(&config.templates_dir));
        let templates = Templates::load(dir.as_deref())?;
        let sender = Sender::new(&config.smtp, Duration::from_secs(config.timeout_seconds))
            .map_err(NotifyError::Config)?;
        Ok(Notifier {
            config,
            quiet,
            templates,
            sender,
            outbox,
            cases,
            base: base_url.trim_end_matches('/').to_owned(),
        })
    }

    pub fn config(&self) -> &NotifyConfig {
        &self.config
    }

    /// Queues what `events` stand for, with `cursor` in the same transaction. Returns the
    /// number of messages newly queued.
    pub fn take(
        &self,
        events: &[Event],
        cursor: (&str, &str),
        now: DateTime<Utc>,
    ) -> Result<usize, NotifyError> {
        let mut notices = Vec::new();
        if self.config.enabled && !self.config.routes.is_empty() {
            for e in events {
                notices.extend(crate::source::notices(self.cases.as_ref(), e)?);
            }
        }
        let entries = self.plan(&notices, now)?;
        Ok(self.outbox.enqueue(&entries, Some(cursor))?)
    }

    /// The outbox rows for `notices`: one per notice and route that takes it, pending, or
    /// held for a digest.
    pub fn plan(
        &self,
        notices: &[Notice],
        now: DateTime<Utc>,
    ) -> Result<Vec<OutboxEntry>, NotifyError> {
        let mut groups: HashMap<String, OutboxGroupState> = HashMap::new();
        let mut out = Vec::new();
        for notice in notices {
            for (i, route) in self.config.routes.iter().enumerate() {
                if !matches(route, notice) {
                    continue;
                }
                let Some(channel) = self.config.channel(&route.channel) else {
                    continue;
                };
                let group = format!("route{i}:{}", channel.name);
                let window = chrono::Duration::seconds(route.digest_window_seconds as i64);
                let state = match groups.get_mut(&group) {
                    Some(s) => s,
                    None => {
                        let s = self.outbox.group_state(&group, now - window)?;
                        groups.entry(group.clone()).or_insert(s)
                    }
                };
                let quiet_end = self.quiet[i].end_after(now);
                let hold_until = if let Some(end) = quiet_end {
                    Some(state.held_until.map_or(end, |h| h.max(end)))
                } else if let Some(h) = state.held_until {
                    Some(h)
                } else if route.digest_after > 0 && state.sent_since >= route.digest_after as u64 {
                    Some(self.quiet[i].adjust(now + window))
                } else {
                    None
                };
                let ctx = MessageContext::single(notice, &self.base);
                let (state_code, next, payload) = match hold_until {
                    Some(until) => {
                        state.held_until = Some(until);
                        let item = DigestItem {
                            kind: notice.kind.clone(),
                            kind_title: kind_title(&notice.kind).into(),
                            case_id: notice.case_id.clone(),
                            title: notice.title.clone(),
                            severity: notice.severity.clone(),
                            link: ctx.link.clone(),
                            time: ctx.time.clone(),
                        };
                        let payload = serde_json::to_string(&item)
                            .map_err(|e| NotifyError::Config(e.to_string()))?;
                        (OutboxState::Held, until, payload)
                    }
                    None => {
                        state.sent_since += 1;
                        let payload = channels::render(&self.templates, channel.kind, &ctx)?;
                        (OutboxState::Pending, now, to_json(&payload))
                    }
                };
                out.push(OutboxEntry {
                    id: Ulid::generate().to_string(),
                    created: now,
                    channel: channel.name.clone(),
                    kind: notice.kind.clone(),
                    group,
                    dedup_key: format!("{}:route{i}:{}", notice.key, channel.name),
                    case_id: Some(notice.case_id.clone()),
                    summary: notice.headline(),
                    link: ctx.link,
                    payload,
                    state: state_code,
                    attempts: 0,
                    next_attempt: next,
                    last_status: None,
                    last_answer: String::new(),
                    delivered: None,
                    digest: None,
                    updated: now,
                });
            }
        }
        Ok(out)
    }

    /// Folds every group's released held messages into one digest each. Returns the number
    /// of digests queued.
    pub fn fold_released(&self, now: DateTime<Utc>) -> Result<usize, NotifyError> {
        let mut queued = 0;
        for group in self.outbox.released_groups(now)? {
            let held: Vec<OutboxEntry> = self
                .outbox
                .held(&group)?
                .into_iter()
                .filter(|e| e.next_attempt <= now)
                .collect();
            let Some(first) = held.first() else { continue };
            let channel_name = first.channel.clone();
            let items: Vec<DigestItem> = held
                .iter()
                .map(|e| {
                    serde_json::from_str(&e.payload).unwrap_or_else(|_| DigestItem {
                        kind: e.kind.clone(),
                        kind_title: kind_title(&e.kind).into(),
                        case_id: e.case_id.clone().unwrap_or_default(),
                        title: e.summary.clone(),
                        severity: String::new(),
                        link: e.link.clone(),
                        time: e.created.to_rfc3339(),
                    })
                })
                .collect();
            let all_alerts = items.iter().all(|i| i.case_id.starts_with("ALR-"));
            let link = format!(
                "{}{}",
                self.base,
                if all_alerts { "/alerts" } else { "/incidents" }
            );
            let ctx = MessageContext::digest(&items, link.clone(), now);
            let payload = match self.config.channel(&channel_name) {
                Some(channel) => to_json(&channels::render(&self.templates, channel.kind, &ctx)?),
                // Queued, and dead-lettered by delivery with the reason.
                None => String::new(),
            };
            let digest = OutboxEntry {
                id: Ulid::generate().to_string(),
                created: now,
                channel: channel_name,
                kind: "digest".into(),
                group: group.clone(),
                dedup_key: format!("digest:{}", first.id),
                case_id: None,
                summary: ctx.headline.clone(),
                link,
                payload,
                state: OutboxState::Pending,
                attempts: 0,
                next_attempt: now,
                last_status: None,
                last_answer: String::new(),
                delivered: None,
                digest: None,
                updated: now,
            };
            let ids: Vec<String> = held.iter().map(|e| e.id.clone()).collect();
            self.outbox.fold_digest(&digest, &ids)?;
            queued += 1;
        }
        Ok(queued)
    }

    /// Attempts every due message once. Returns how many were attempted.
    pub fn deliver_due(&self, now: DateTime<Utc>) -> Result<usize, NotifyError> {
        let due = self.outbox.due(now, ROUND)?;
        for entry in &due {
            let attempt = self.attempt(entry);
            self.outbox.record_attempt(&attempt)?;
            match attempt.state {
                OutboxState::Dead => tracing::warn!(
                    id = %entry.id, channel = %entry.channel, status = ?attempt.status,
                    answer = %attempt.answer, "notify: message dead-lettered"
                ),
                OutboxState::Pending => tracing::info!(
                    id = %entry.id, channel = %entry.channel, status = ?attempt.status,
                    attempts = attempt.attempts, retry_at = %attempt.next_attempt,
                    "notify: delivery failed; retrying"
                ),
                _ => {}
            }
        }
        Ok(due.len())
    }

    /// One attempt at `entry` and what to record.
    fn attempt(&self, entry: &OutboxEntry) -> OutboxAttempt {
        let outcome = match (self.config.channel(&entry.channel), payload(entry)) {
            (None, _) => channels::Outcome {
                delivered: false,
                retry: false,
                status: None,
                answer: format!("channel {:?} is no longer configured", entry.channel),
            },
            (_, Err(reason)) => channels::Outcome {
                delivered: false,
                retry: false,
                status: None,
                answer: reason,
            },
            (Some(channel), Ok(payload)) => self.send(channel, &payload, &entry.id),
        };
        let now = Utc::now();
        let attempts = entry.attempts.saturating_add(1);
        let state = if outcome.delivered {
            OutboxState::Delivered
        } else if outcome.retry && attempts < self.config.max_attempts {
            OutboxState::Pending
        } else {
            OutboxState::Dead
        };
        let wait = backoff(
            attempts,
            Duration::from_secs(self.config.retry_base_seconds),
            Duration::from_secs(self.config.retry_cap_seconds.max(1)),
            fastrand::f64(),
        );
        OutboxAttempt {
            id: entry.id.clone(),
            state,
            attempts,
            next_attempt: now + chrono::Duration::from_std(wait).unwrap_or_default(),
            status: outcome.status,
            answer: outcome.answer,
            time: now,
        }
    }

    fn send(&self, channel: &ChannelConfig, payload: &Payload, key: &str) -> channels::Outcome {
        self.sender.send(channel, payload, key)
    }

    /// When the next message falls due (pending or held).
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>, NotifyError> {
        Ok(self.outbox.next_due()?)
    }

    /// Deletes finished messages older than `retention_days`.
    pub fn purge(&self, now: DateTime<Utc>) -> Result<u64, NotifyError> {
        let days = chrono::Duration::days(i64::from(self.config.retention_days));
        Ok(self.outbox.purge_outbox(now - days)?)
    }
}

fn to_json(payload: &Payload) -> String {
    serde_json::to_string(payload).unwrap_or_default()
}

fn payload(entry: &OutboxEntry) -> Result<Payload, String> {
    serde_json::from_str(&entry.payload)
        .map_err(|e| format!("the queued message is unreadable ({e}); it cannot be sent"))
}
