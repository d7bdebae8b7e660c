//! The `[notify]` configuration: channels, the SMTP relay e-mail goes through, routing rules
//! with their quiet hours and digests, and the delivery's retry bounds.

use serde::{Deserialize, Serialize};

use crate::route::{KINDS, QuietHours};

/// Where notifications go and how hard Tandem tries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// Off: case events raise no notification (messages already queued are still sent).
    pub enabled: bool,
    /// Attempts before a message is dead-lettered (shown on the delivery log, sent again
    /// only by hand).
    pub max_attempts: u32,
    /// The first retry waits up to this long; each further one up to twice as long, never
    /// more than `retry_cap_seconds`, with full jitter.
    pub retry_base_seconds: u64,
    pub retry_cap_seconds: u64,
    /// How long one attempt (a webhook request, an SMTP session) may take.
    pub timeout_seconds: u64,
    /// Delivered, digested and dead messages are deleted this many days after their last
    /// change.
    pub retention_days: u32,
    /// A directory with templates overriding the shipped ones, file by file (`slack.json`,
    /// `teams.json`, `webhook.json`, `email_subject.txt`, `email.txt`, `email.html`).
    /// Empty: the shipped templates only.
    pub templates_dir: String,
    pub smtp: SmtpConfig,
    pub channels: Vec<ChannelConfig>,
    pub routes: Vec<RouteConfig>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            enabled: true,
            max_attempts: 8,
            retry_base_seconds: 10,
            retry_cap_seconds: 3600,
            timeout_seconds: 10,
            retention_days: 30,
            templates_dir: String::new(),
            smtp: SmtpConfig::default(),
            channels: Vec::new(),
            routes: Vec::new(),
        }
    }
}

/// How e-mail leaves: one SMTP relay.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// `none` (plain, for a relay on the same host), `starttls` (upgrade on the submission
    /// port, refused if the server does not offer it) or `tls` (implicit TLS, port 465).
    pub tls: SmtpTls,
    /// Empty: no authentication.
    pub username: String,
    pub password: String,
    /// The sender, e.g. `Tandem <tandem@example.org>`.
    pub from: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: String::new(),
            password: String::new(),
            from: "Tandem <tandem@localhost>".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

/// The shape a channel's messages take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// JSON from the `webhook.json` template, POSTed to `webhook_url`.
    Webhook,
    /// A Slack incoming-webhook payload with blocks.
    Slack,
    /// An Adaptive Card in the shape of a Teams workflow ("Post to a channel when a webhook
    /// request is received").
    Teams,
    /// Mail to `to` through `[notify.smtp]`, plain text and HTML.
    Email,
}

impl ChannelKind {
    pub fn code(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Teams => "teams",
            ChannelKind::Email => "email",
        }
    }
}

/// One place messages go.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    pub name: String,
    pub kind: ChannelKind,
    /// Webhook, Slack and Teams: where to POST. A secret (it is the credential): never shown
    /// in the console, redacted by `tandem config`.
    #[serde(default)]
    pub webhook_url: String,
    /// E-mail: the recipients.
    #[serde(default)]
    pub to: Vec<String>,
}

/// Which notifications go to a channel, and how a burst or the night is handled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteConfig {
    /// The channel's name.
    pub channel: String,
    /// Kinds of notification (`alert_opened`, `incident_opened`, `task_assigned`,
    /// `sla_warn`, `sla_breach`, `incident_closed`, …); empty: every kind.
    pub kinds: Vec<String>,
    /// Departments (`facilities`, `security`, …) the case must involve; empty: any.
    pub departments: Vec<String>,
    /// Severities (`low` … `critical`); empty: any.
    pub severities: Vec<String>,
    /// Site ids; empty: any.
    pub sites: Vec<String>,
    /// More than this many messages of the route within `digest_window_seconds` are held
    /// and sent as one digest at the window's end. 0: never digest.
    pub digest_after: u32,
    pub digest_window_seconds: u64,
    /// `HH:MM-HH:MM` in `timezone`: messages are held and sent as a digest when it ends.
    /// Empty: none.
    pub quiet_hours: String,
    /// An IANA zone (`Europe/Oslo`) for `quiet_hours`.
    pub timezone: String,
}

impl Default for RouteConfig {
    fn default() -> Self {
        RouteConfig {
            channel: String::new(),
            kinds: Vec::new(),
            departments: Vec::new(),
            severities: Vec::new(),
            sites: Vec::new(),
            digest_after: 10,
            digest_window_seconds: 300,
            quiet_hours: String::new(),
            timezone: "UTC".into(),
        }
    }
}

/// A configuration that cannot work, said so at start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("notify.channels: two channels are named {0:?}")]
    DuplicateChannel(String),
    #[error("notify.channels: channel {0:?} needs a webhook_url")]
    NoUrl(String),
    #[error("notify.channels: channel {0:?} has no recipients (to)")]
    NoRecipients(String),
    #[error("notify.channels: channel {0:?} sends e-mail, but [notify.smtp] host is not set")]
    NoSmtp(String),
    #[error("notify.smtp.from {0:?} is not a mail address")]
    BadFrom(String),
    #[error("notify.routes[{0}]: no channel named {1:?}")]
    UnknownChannel(usize, String),
    #[error("notify.routes[{0}]: unknown kind {1:?} (known: {known})", known = KINDS.join(", "))]
    UnknownKind(usize, String),
    #[error("notify.routes[{0}]: unknown department {1:?}")]
    UnknownDepartment(usize, String),
    #[error("notify.routes[{0}]: unknown severity {1:?}")]
    UnknownSeverity(usize, String),
    #[error("notify.routes[{0}]: {1}")]
    QuietHours(usize, String),
    #[error("notify: max_attempts must be at least 1")]
    NoAttempts,
}

impl NotifyConfig {
    /// Checks names, kinds and quiet hours.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.max_attempts == 0 {
            return Err(ConfigError::NoAttempts);
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.channels {
            if !seen.insert(c.name.as_str()) {
                return Err(ConfigError::DuplicateChannel(c.name.clone()));
            }
            match c.kind {
                ChannelKind::Email if c.to.is_empty() => {
                    return Err(ConfigError::NoRecipients(c.name.clone()));
                }
                ChannelKind::Email if self.smtp.host.trim().is_empty() => {
                    return Err(ConfigError::NoSmtp(c.name.clone()));
                }
                ChannelKind::Email => {}
                _ if c.webhook_url.trim().is_empty() => {
                    return Err(ConfigError::NoUrl(c.name.clone()));
                }
                _ => {}
            }
        }
        if self.channels.iter().any(|c| c.kind == ChannelKind::Email)
            && self.smtp.from.parse::<lettre::message::Mailbox>().is_err()
        {
            return Err(ConfigError::BadFrom(self.smtp.from.clone()));
        }
        for (i, r) in self.routes.iter().enumerate() {
            if !seen.contains(r.channel.as_str()) {
                return Err(ConfigError::UnknownChannel(i, r.channel.clone()));
            }
            if let Some(k) = r.kinds.iter().find(|k| !KINDS.contains(&k.as_str())) {
                return Err(ConfigError::UnknownKind(i, k.clone()));
            }
            if let Some(d) = r
                .departments
                .iter()
                .find(|d| tandem_model::Department::parse(d).is_none())
            {
                return Err(ConfigError::UnknownDepartment(i, d.clone()));
            }
            if let Some(s) = r
                .severities
                .iter()
                .find(|s| s.parse::<tandem_model::Severity>().is_err())
            {
                return Err(ConfigError::UnknownSeverity(i, s.clone()));
            }
            QuietHours::parse(&r.quiet_hours, &r.timezone)
                .map_err(|e| ConfigError::QuietHours(i, e))?;
        }
        Ok(())
    }

    pub fn channel(&self, name: &str) -> Option<&ChannelConfig> {
        self.channels.iter().find(|c| c.name == name)
    }
}
