//! The one configuration file, with environment overrides.
//!
//! Every setting has a default, so an empty file (or none) runs a working single-node Tandem.
//! Any setting can be overridden by an environment variable named after its path:
//! `TANDEM_` + the path with sections joined by `__`, e.g. `TANDEM_HTTP__LISTEN=0.0.0.0:8080`
//! or `TANDEM_STORE__SYNCHRONOUS=normal`. Values are read as TOML when they parse as TOML
//! (numbers, booleans, arrays) and as strings otherwise. `tandem config` prints the result.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tandem_store::{RetentionPolicy, StoreConfig};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Everything Tandem keeps lives under this directory.
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub syslog: SyslogConfig,
    pub ingest: IngestConfig,
    pub store: StoreConfig,
    pub retention: RetentionConfig,
    /// What one search may cost.
    pub search: SearchConfig,
    /// Sources known at start (more can be added with `tandem sources add` or the API).
    pub sources: Vec<SourceConfig>,
    /// MQTT subscriptions (Frigate, IoT telemetry).
    pub mqtt: Vec<MqttConfig>,
    pub identity: IdentityConfig,
    pub detect: crate::detection::DetectConfig,
    /// How people sign in to the console besides local passwords.
    pub auth: AuthConfig,
    /// The audit log's keys and signed checkpoints.
    pub audit: AuditConfig,
    /// The console's maps (`[maps]`).
    pub maps: MapsConfig,
    /// What findings become (`[alerts]`): dedup and folding, suppression, risk.
    pub alerts: tandem_cases::alerter::AlertsConfig,
    /// Alerts and incidents (`[cases]`).
    pub cases: CasesConfig,
    /// The control room's alarm queue (`[alarms]`): which kinds must be acknowledged
    /// before they clear, the longest snooze.
    pub alarms: tandem_cases::alarms::AlarmPolicy,
    /// Incidents: grouping lookback, evidence size (`[incidents]`).
    pub incidents: tandem_cases::incidents::IncidentsConfig,
    /// The Frigate video recorder whose event snapshots findings show (`[frigate]`).
    pub frigate: FrigateConfig,
    /// Response actions (`[actions]`): definitions, connections, retries.
    pub actions: ActionsConfig,
    /// How the shared KPIs count (`[kpis]`): resolutions left out, reopened incidents,
    /// severity weights, what makes a source healthy, and training (what counts, the CSV's
    /// columns).
    pub kpis: tandem_cases::kpi::KpiConfig,
    /// How the security committee's briefing pack is printed to PDF (`[briefing]`): the
    /// Chromium program and how long it may take.
    pub briefing: tandem_web::briefing::BriefingConfig,
    /// Notifications (`[notify]`): channels, routes, quiet hours, digests, retries.
    pub notify: tandem_respond::NotifyConfig,
    /// Employees' reports (`[reports]`): the public report page's limits, phishing
    /// simulation markers, the thank-you template.
    pub reports: ReportsConfig,
    /// Compliance evidence (`[compliance]`): how often it is snapshotted, extra catalogue
    /// and evidence files.
    pub compliance: crate::compliance::ComplianceConfig,
    /// Log filter, e.g. `info` or `tandem=debug,info`.
    pub log: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            http: HttpConfig::default(),
            syslog: SyslogConfig::default(),
            ingest: IngestConfig::default(),
            store: StoreConfig::default(),
            retention: RetentionConfig::default(),
            search: SearchConfig::default(),
            sources: Vec::new(),
            mqtt: Vec::new(),
            identity: IdentityConfig::default(),
            detect: crate::detection::DetectConfig::default(),
            auth: AuthConfig::default(),
            audit: AuditConfig::default(),
            maps: MapsConfig::default(),
            alerts: Default::default(),
            cases: CasesConfig::default(),
            alarms: Default::default(),
            incidents: Default::default(),
            frigate: FrigateConfig::default(),
            actions: ActionsConfig::default(),
            kpis: Default::default(),
            briefing: Default::default(),
            notify: Default::default(),
            reports: ReportsConfig::default(),
            compliance: Default::default(),
            log: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: String,
    /// Set when Tandem is served over HTTPS (by a reverse proxy), so cookies are `Secure`.
    pub secure_cookies: bool,
    pub max_body_mib: usize,
    pub max_line_kib: usize,
    /// Tandem's address as people and clients reach it (`https://tandem.example.com`, with
    /// a path if a proxy serves it under one). Absolute URLs Tandem hands out (SCIM
    /// `Location` and `meta.location`) are built from it, never from the request's `Host`.
    /// Empty: `http://` (or `https://` with `secure_cookies`) and the address Tandem listens on.
    pub public_url: String,
    /// Reverse proxies (IP addresses or CIDRs) whose `X-Forwarded-Proto` and
    /// `X-Forwarded-Host` are believed in place of `public_url`; from anyone else those
    /// headers are ignored. Empty: believed from no one.
    pub trusted_proxies: Vec<String>,
    /// Connections served at once. Further clients wait in the listen queue until one closes,
    /// so idle or stalled clients cannot take every file descriptor.
    pub max_connections: usize,
    /// A client must send a request's headers within this many seconds of connecting (or of
    /// its previous answer, on a kept-alive connection); otherwise the connection is closed.
    pub header_read_timeout_secs: u64,
    /// A connection on which nothing is received or sent for this many seconds is closed,
    /// also in the middle of a request (a stalled upload, a client that stopped reading).
    pub idle_timeout_secs: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".into(),
            secure_cookies: false,
            max_body_mib: 32,
            max_line_kib: 1024,
            public_url: String::new(),
            trusted_proxies: Vec::new(),
            max_connections: 1024,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 120,
        }
    }
}

impl HttpConfig {
    /// The public URL and trusted proxies, checked; `bound` is the address the HTTP
    /// listener got (the default public URL).
    pub fn public_origin(
        &self,
        bound: std::net::SocketAddr,
    ) -> anyhow::Result<tandem_web::PublicOrigin> {
        let url = if self.public_url.trim().is_empty() {
            if bound.ip().is_unspecified() {
                tracing::warn!(
                    listen = %bound,
                    "[http] public_url is not set and Tandem listens on every address; SCIM answers will name {bound}: set public_url to the address clients use"
                );
            }
            let scheme = if self.secure_cookies { "https" } else { "http" };
            format!("{scheme}://{bound}")
        } else {
            self.public_url.clone()
        };
        Ok(tandem_web::PublicOrigin::new(&url, &self.trusted_proxies)?)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyslogConfig {
    /// UDP listen address; empty to disable.
    pub udp: String,
    /// TCP listen address (newline or octet-counting framing); empty to disable.
    pub tcp: String,
    /// The source name syslog events are recorded under.
    pub source: String,
    /// TCP connections served at once; further ones are closed as soon as they are accepted
    /// (counted in `tandem_connections_refused_total{path="syslog_tcp"}`).
    pub max_tcp_connections: usize,
    /// A TCP connection that delivers no complete message for this many seconds is closed;
    /// a message it had begun is kept as a dead letter. Senders reconnect when they next
    /// have something to send.
    pub tcp_idle_timeout_secs: u64,
    /// Longest syslog message over TCP, in KiB. A longer frame is skipped, without being
    /// buffered, and kept as a dead letter; it also bounds what one connection can make the
    /// server hold, whatever length a frame announces.
    pub max_message_kib: usize,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            udp: "127.0.0.1:5514".into(),
            tcp: "127.0.0.1:5514".into(),
            source: "syslog".into(),
            max_tcp_connections: 256,
            tcp_idle_timeout_secs: 60,
            max_message_kib: 64,
        }
    }
}

impl SyslogConfig {
    /// The TCP listener's bounds.
    pub fn tcp_limits(&self) -> tandem_pipeline::syslog::TcpLimits {
        tandem_pipeline::syslog::TcpLimits {
            max_connections: self.max_tcp_connections.max(1),
            idle_timeout: std::time::Duration::from_secs(self.tcp_idle_timeout_secs.max(1)),
            max_message_bytes: self.max_message_kib.max(1) * 1024,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Events dated further ahead of their receipt than this are dead-lettered.
    pub max_future_skew_minutes: i64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_future_skew_minutes: 60,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Events older than this are deleted, a whole segment at a time.
    pub max_age_days: Option<u64>,
    /// Oldest segments are deleted while the database is larger than this.
    pub max_size_mib: Option<u64>,
    /// How often the policy is applied.
    pub check_minutes: u64,
}

impl RetentionConfig {
    pub fn policy(&self) -> RetentionPolicy {
        RetentionPolicy {
            max_age_days: self.max_age_days,
            max_size_mib: self.max_size_mib,
        }
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            max_age_days: Some(90),
            max_size_mib: None,
            check_minutes: 10,
        }
    }
}

/// Keys that make the audit log tamper-evident against someone who can write its database,
/// and where the signed checkpoints of its head go (docs/configuration.md#audit).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// The file holding the MAC key and the checkpoint signing key, made (mode 0600) at first
    /// start; relative to `data_dir`. Keep it out of the database's backups.
    pub key_file: PathBuf,
    /// Both keys as 64 hex characters each, instead of the file (a secret from the
    /// environment: `TANDEM_AUDIT__MAC_KEY`, `TANDEM_AUDIT__SIGNING_KEY`).
    pub mac_key: String,
    pub signing_key: String,
    /// Minutes between signed checkpoints of the log's head (only when it grew).
    pub checkpoint_minutes: u64,
    /// Checkpoints are appended here, one JSON object per line; relative to `data_dir`.
    /// Better on another disk or machine than the database.
    pub checkpoint_file: PathBuf,
    /// A syslog receiver (`host:port`, UDP) each checkpoint is also sent to; empty: none.
    pub checkpoint_syslog: String,
    /// A URL each checkpoint is also POSTed to as JSON; empty: none.
    pub checkpoint_webhook: String,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            key_file: PathBuf::from("audit.key"),
            mac_key: String::new(),
            signing_key: String::new(),
            checkpoint_minutes: 5,
            checkpoint_file: PathBuf::from("audit-checkpoints.jsonl"),
            checkpoint_syslog: String::new(),
            checkpoint_webhook: String::new(),
        }
    }
}

/// What one search may cost: searches from the console, the API and rule tests.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// Longest one search may run, in milliseconds, before it is stopped and answered with
    /// an error (HTTP 422). Stops one query from keeping a core busy for minutes.
    pub time_limit_ms: u64,
    /// Most searches one user may run at the same time; more are answered 429. Abandoned
    /// searches are stopped when their client goes away, and count until they have stopped.
    pub max_concurrent_per_user: usize,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            time_limit_ms: 10_000,
            max_concurrent_per_user: 4,
        }
    }
}

impl SearchConfig {
    pub fn limits(&self) -> tandem_web::SearchLimits {
        tandem_web::SearchLimits {
            time_limit: std::time::Duration::from_millis(self.time_limit_ms),
            per_user: self.max_concurrent_per_user.max(1),
        }
    }
}

/// Alerts and incidents.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CasesConfig {
    /// Directories of playbooks of the operator's own (`*.yaml`, `*.yml`), read after the
    /// shipped set: a playbook with the id of a shipped one replaces it. Reread with
    /// `POST /api/v1/playbooks/reload`; a reload that finds an invalid file changes nothing.
    /// Paths are relative to the working directory. Empty (the default): the shipped set.
    pub playbook_dirs: Vec<PathBuf>,
}

/// Response actions: where definitions of the operator's own are, the systems they go
/// to, and how a failed request is retried.
/// The public report page (`/report`) and what becomes of reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportsConfig {
    /// Largest upload (the reported `.eml` and the form together), in MiB: a mail with a
    /// large attachment fits, a flood does not.
    pub max_upload_mib: usize,
    /// Reports one address may file per hour (the address is counted in memory only, never
    /// stored with a report).
    pub per_address_per_hour: u32,
    /// Reports one signed-in person may file per hour.
    pub per_person_per_hour: u32,
    /// A form sent back sooner than this many seconds after it was shown is taken for a bot
    /// (with the hidden honeypot field, instead of a CAPTCHA).
    pub min_fill_seconds: u64,
    /// Phishing simulations: a header the simulation tool adds (empty: none).
    pub simulation_header: String,
    /// The header's value (empty: any value).
    pub simulation_header_value: String,
    /// Phishing simulations: the simulation tool's sender domains.
    pub simulation_sender_domains: Vec<String>,
    /// Phishing simulations: text found in the simulation's links.
    pub simulation_url_patterns: Vec<String>,
    /// What a reporter who spotted a drill reads.
    pub drill_message: String,
    /// The thank-you a responder starts from when closing a report (MiniJinja; `kind`,
    /// `id` and `outcome` are known). The responder edits it before it is sent.
    pub thank_you_template: String,
    /// An e-mail channel of `[[notify.channels]]` whose relay and sender also e-mail the
    /// thank-you to a reporter whose address is known (its own recipients are not used for
    /// these). Empty: the thank-you is shown on the tracking page only.
    pub email_channel: String,
    /// The report-phishing mailbox, polled over IMAP when configured (`[reports.mailbox]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<MailboxConfig>,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            max_upload_mib: 25,
            per_address_per_hour: 20,
            per_person_per_hour: 30,
            min_fill_seconds: 3,
            simulation_header: String::new(),
            simulation_header_value: String::new(),
            simulation_sender_domains: Vec::new(),
            simulation_url_patterns: Vec::new(),
            drill_message: tandem_web::reports::DEFAULT_DRILL_MESSAGE.into(),
            thank_you_template: tandem_web::reports::DEFAULT_THANK_YOU.into(),
            email_channel: String::new(),
            mailbox: None,
        }
    }
}

impl ReportsConfig {
    /// The settings the reports stage works with.
    pub fn settings(&self) -> tandem_cases::reports::ReportsSettings {
        let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        tandem_cases::reports::ReportsSettings {
            simulation: tandem_mail::SimulationMarkers {
                header_name: non_empty(&self.simulation_header),
                header_value: non_empty(&self.simulation_header_value),
                sender_domains: self.simulation_sender_domains.clone(),
                url_patterns: self.simulation_url_patterns.clone(),
            },
            drill_message: self.drill_message.clone(),
        }
    }

    /// The web's limits for the report page.
    pub fn limits(&self) -> tandem_web::reports::ReportLimits {
        tandem_web::reports::ReportLimits {
            max_upload_bytes: self.max_upload_mib.max(1) * 1024 * 1024,
            per_address_per_hour: self.per_address_per_hour,
            per_person_per_hour: self.per_person_per_hour,
            min_fill_seconds: self.min_fill_seconds,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionsConfig {
    /// Directories of action definitions of the operator's own (`*.yaml`), read after the
    /// shipped set: one with the id of a shipped action replaces it.
    pub dirs: Vec<PathBuf>,
    /// The systems actions go to: name, base URL and the headers holding their secrets
    /// (redacted by `tandem config`, masked in dry runs, never shown in the console).
    pub connections: Vec<tandem_respond::actions::Connection>,
    /// Attempts before a run fails (the first included).
    pub max_attempts: u32,
    /// The first retry waits up to this long (full jitter), doubling each time.
    pub retry_base_seconds: u64,
    /// The longest wait between attempts.
    pub retry_max_seconds: u64,
    /// How long one request may take.
    pub timeout_seconds: u64,
}

impl Default for ActionsConfig {
    fn default() -> Self {
        ActionsConfig {
            dirs: Vec::new(),
            connections: Vec::new(),
            max_attempts: 5,
            retry_base_seconds: 10,
            retry_max_seconds: 600,
            timeout_seconds: 15,
        }
    }
}

/// Hides what an action connection holds: every header value, and the base URL when it is
/// itself a secret (a webhook URL).
fn redact_connections(value: &mut toml::Value) {
    let Some(list) = value
        .get_mut("actions")
        .and_then(|a| a.get_mut("connections"))
        .and_then(|c| c.as_array_mut())
    else {
        return;
    };
    for c in list.iter_mut().filter_map(|c| c.as_table_mut()) {
        if let Some(h) = c.get_mut("headers").and_then(|h| h.as_table_mut()) {
            for (_, v) in h.iter_mut() {
                *v = toml::Value::String(REDACTED.to_owned());
            }
        }
        if c.get("secret_url").and_then(|v| v.as_bool()) == Some(true) {
            c.insert("base_url".into(), toml::Value::String(REDACTED.to_owned()));
        }
    }
}

/// The console's maps. The site overview is drawn from the sites' coordinates and needs
/// nothing from outside; a deployment with a tile server of its own (or a licence for a
/// public one) can draw the sites on its tiles instead.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MapsConfig {
    /// A tile server's URL template, `{z}`, `{x}` and `{y}` standing for the zoom and the
    /// tile (the "XYZ" scheme of OpenStreetMap and most servers), e.g.
    /// `https://tiles.example.net/{z}/{x}/{y}.png`. Browsers fetch the tiles themselves, and
    /// the console's Content-Security-Policy allows images from that origin only while this is
    /// set. Empty (the default): no tiles and no request anywhere else.
    pub tile_url: String,
    /// The credit the tile server's terms ask for, shown under the map
    /// (e.g. `© OpenStreetMap contributors`).
    pub tile_attribution: String,
}

impl MapsConfig {
    /// The tile server, checked; `None` when none is configured.
    pub fn tiles(&self) -> anyhow::Result<Option<tandem_web::Tiles>> {
        if self.tile_url.trim().is_empty() {
            return Ok(None);
        }
        tandem_web::Tiles::new(self.tile_url.trim(), self.tile_attribution.trim())
            .map(Some)
            .map_err(|e| anyhow::anyhow!("invalid configuration: maps.tile_url: {e}"))
    }
}

/// The Frigate video recorder (NVR) whose camera events arrive over MQTT (`[[mqtt]]`,
/// `format = "frigate"`). With its HTTP API's address, Tandem fetches the snapshot of every
/// camera event a finding names, once, and the console shows it on the finding and the event,
/// with a link to the clip.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrigateConfig {
    /// Base URL of Frigate's HTTP API as Tandem reaches it, e.g. `http://frigate.lan:5000`
    /// (its `/api/events/<id>/snapshot.jpg` is fetched). Empty (the default): no snapshots.
    pub url: String,
    /// Base URL the console's clip links use, when browsers reach Frigate at another address
    /// than the server does. Empty: `url`.
    pub public_url: String,
    /// Seconds one snapshot fetch may take, connection and body included.
    pub timeout_secs: u64,
    /// Largest snapshot accepted, in KiB; a bigger answer is refused and nothing is kept.
    pub max_snapshot_kib: u64,
    /// Tries per snapshot before giving up on it (a snapshot Frigate has not written yet, a
    /// recorder restarting); at least 1.
    pub attempts: u32,
    /// Whether Frigate draws the bounding box on the snapshot (`?bbox=1`).
    pub bounding_box: bool,
    /// Whether the console links each snapshot to its clip on Frigate
    /// (`/api/events/<id>/clip.mp4`).
    pub link_clips: bool,
}

impl Default for FrigateConfig {
    fn default() -> Self {
        FrigateConfig {
            url: String::new(),
            public_url: String::new(),
            timeout_secs: 10,
            max_snapshot_kib: 2048,
            attempts: 3,
            bounding_box: false,
            link_clips: true,
        }
    }
}

impl FrigateConfig {
    /// Whether snapshots are fetched.
    pub fn enabled(&self) -> bool {
        !self.url.trim().is_empty()
    }

    /// The console's clip links, when configured.
    pub fn clip_links(&self) -> Option<tandem_web::ClipLinks> {
        if !self.enabled() || !self.link_clips {
            return None;
        }
        let base = if self.public_url.trim().is_empty() {
            &self.url
        } else {
            &self.public_url
        };
        Some(tandem_web::ClipLinks::new(base))
    }

    fn check(&self) -> anyhow::Result<()> {
        for (key, url) in [("url", &self.url), ("public_url", &self.public_url)] {
            let url = url.trim();
            if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
                bail!(
                    "invalid configuration: frigate.{key}: `{url}` is not an http:// or https:// URL"
                );
            }
        }
        if self.max_snapshot_kib == 0 {
            bail!("invalid configuration: frigate.max_snapshot_kib must be at least 1");
        }
        Ok(())
    }
}

/// The report-phishing mailbox: the mailbox employees' "Report phishing" buttons forward to,
/// which Tandem polls over IMAP, filing each forwarded message's original as a phishing report
/// from the employee who forwarded it (see docs/reports.md). Configured by its section being
/// present; `host` and `username` and one of `password` or `password_file` are then required.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailboxConfig {
    /// The IMAP server's name (checked against its certificate) or address.
    pub host: String,
    /// Its port; 0 (the default): 993 with `tls = "implicit"`, 143 otherwise.
    pub port: u16,
    /// `implicit` (TLS from the first byte, IMAPS), `starttls` (upgraded before logging in),
    /// or `none`, accepted only towards a loopback address (a local relay).
    pub tls: MailboxTls,
    /// PEM file of the certificate authorities the server's certificate is checked against,
    /// for a server with a private authority. Empty (the default): the public authorities.
    pub ca_file: PathBuf,
    pub username: String,
    /// The mailbox's password (redacted by `tandem config`); or
    pub password: String,
    /// a file holding it (one line; read at start), kept out of the configuration.
    pub password_file: PathBuf,
    /// The folder reports arrive in.
    pub folder: String,
    /// Where filed messages are moved (made if missing). Empty (the default): they stay in
    /// `folder`, marked seen.
    pub processed_folder: String,
    /// Seconds between two polls.
    pub poll_seconds: u64,
    /// Larger messages are refused unread and flagged, in MiB (the report page's upload
    /// limit, 25 MB, by default).
    pub max_message_mib: u64,
    /// Messages taken in one poll; the rest wait for the next.
    pub max_per_poll: usize,
    /// Tries to file one message before it is flagged and left for a person.
    pub max_attempts: u32,
    /// Seconds one step with the server (connecting, a command, a fetch) may take.
    pub timeout_seconds: u64,
}

/// How the connection to the report-phishing mailbox is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailboxTls {
    Implicit,
    Starttls,
    None,
}

impl Default for MailboxConfig {
    fn default() -> Self {
        MailboxConfig {
            host: String::new(),
            port: 0,
            tls: MailboxTls::Implicit,
            ca_file: PathBuf::new(),
            username: String::new(),
            password: String::new(),
            password_file: PathBuf::new(),
            folder: "INBOX".into(),
            processed_folder: String::new(),
            poll_seconds: 60,
            max_message_mib: 25,
            max_per_poll: 50,
            max_attempts: 5,
            timeout_seconds: 30,
        }
    }
}

impl MailboxConfig {
    fn check(&self) -> anyhow::Result<()> {
        let fail = |what: &str| bail!("invalid configuration: reports.mailbox.{what}");
        if self.host.trim().is_empty() {
            return fail("host is required");
        }
        if self.username.trim().is_empty() {
            return fail("username is required");
        }
        match (
            self.password.is_empty(),
            self.password_file.as_os_str().is_empty(),
        ) {
            (true, true) => return fail("password or password_file is required"),
            (false, false) => return fail("password and password_file: give one, not both"),
            _ => {}
        }
        if self.folder.trim().is_empty() {
            return fail("folder must name a folder");
        }
        if self.tls == MailboxTls::None {
            // The same rule the client enforces, said at start rather than at the first poll.
            tandem_mail::imap::Mailbox::new(self.settings_with_password(String::new()))
                .map_err(|e| anyhow::anyhow!("invalid configuration: reports.mailbox.tls: {e}"))?;
        }
        if self.poll_seconds == 0 || self.max_message_mib == 0 || self.max_per_poll == 0 {
            return fail("poll_seconds, max_message_mib and max_per_poll must be at least 1");
        }
        Ok(())
    }

    /// The client's settings, the password read from `password_file` when that is set.
    pub fn settings(&self) -> anyhow::Result<tandem_mail::imap::MailboxSettings> {
        let password = if self.password_file.as_os_str().is_empty() {
            self.password.clone()
        } else {
            let text = std::fs::read_to_string(&self.password_file).with_context(|| {
                format!(
                    "cannot read reports.mailbox.password_file {}",
                    self.password_file.display()
                )
            })?;
            text.trim_end_matches(['\r', '\n']).to_owned()
        };
        Ok(self.settings_with_password(password))
    }

    fn settings_with_password(&self, password: String) -> tandem_mail::imap::MailboxSettings {
        use tandem_mail::imap::Security;
        let security = match self.tls {
            MailboxTls::Implicit => Security::Tls,
            MailboxTls::Starttls => Security::StartTls,
            MailboxTls::None => Security::Plain,
        };
        let port = match (self.port, security) {
            (0, Security::Tls) => 993,
            (0, _) => 143,
            (p, _) => p,
        };
        let optional = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        tandem_mail::imap::MailboxSettings {
            host: self.host.trim().to_owned(),
            port,
            security,
            username: self.username.clone(),
            password,
            folder: self.folder.clone(),
            processed_folder: optional(&self.processed_folder),
            ca_file: (!self.ca_file.as_os_str().is_empty()).then(|| self.ca_file.clone()),
            max_message_bytes: self.max_message_mib.saturating_mul(1024 * 1024),
            max_per_poll: self.max_per_poll.max(1),
            max_attempts: self.max_attempts.max(1),
            timeout: std::time::Duration::from_secs(self.timeout_seconds.max(1)),
        }
    }
}

/// The identity directory's feeds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// HR CSV columns, value mappings and file format (`[identity.hr]`, docs/configuration.md);
    /// defaults match a plain UTF-8 comma-separated export.
    pub hr: tandem_identity::hr::HrColumns,
}

/// Console sign-in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Single sign-on through an OpenID Connect provider (`[auth.oidc]`, docs/console.md);
    /// off while `issuer` is empty.
    pub oidc: tandem_web::sso::OidcConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    /// `tandem`, `json`, `csv`, `syslog`, `windows`, `okta`, `entra`, `cef`, `verkada`,
    /// `zeek` or `mapped` (MQTT sources are declared under `[[mqtt]]`).
    pub format: String,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub product: Option<String>,
    /// SHA-256 (hex) of the source's API key; print one with `tandem hash-key`.
    #[serde(default)]
    pub api_key_sha256: Option<String>,
    /// Shared secret of a signed-webhook source (`verkada`), as set in the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// Field mapping of a `mapped` source (see docs/integrations/mapping.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<toml::Value>,
}

/// An MQTT subscription feeding one source.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// The source its events are stored under.
    pub source: String,
    /// `frigate` or `iot`.
    pub format: String,
    #[serde(default)]
    pub broker: tandem_pipeline::mqtt::BrokerSettings,
    /// Frigate's topic prefix.
    #[serde(default = "frigate_prefix")]
    pub prefix: String,
    /// Topic rules of an `iot` subscription (see docs/integrations/iot-mqtt.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<toml::Value>,
}

fn frigate_prefix() -> String {
    "frigate".into()
}

impl Config {
    /// Reads `path` (if given, it must exist; if not, `tandem.toml` is used when present)
    /// and applies `TANDEM_*` environment overrides.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p)
                .with_context(|| format!("cannot read config file {}", p.display()))?,
            None if Path::new("tandem.toml").exists() => std::fs::read_to_string("tandem.toml")?,
            None => String::new(),
        };
        let mut value: toml::Table =
            toml::from_str(&text).context("config file is not valid TOML")?;
        apply_env(&mut value, std::env::vars())?;
        let config: Config = toml::Value::Table(value)
            .try_into()
            .context("invalid configuration")?;
        // A mapping to no status or an unknown encoding stops the start, not every import.
        config
            .identity
            .hr
            .check()
            .map_err(|e| anyhow::anyhow!("invalid configuration: identity.hr: {e}"))?;
        config.maps.tiles()?;
        config.frigate.check()?;
        config
            .kpis
            .check()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        config
            .notify
            .check()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        if let Some(mailbox) = &config.reports.mailbox {
            mailbox.check()?;
        }
        Ok(config)
    }

    /// The configuration as `tandem config` prints it: every secret replaced by
    /// [`REDACTED`], so the output can be pasted into a support ticket.
    pub fn to_toml(&self) -> String {
        let printed = toml::Value::try_from(self).and_then(|mut value| {
            redact_secrets(&mut value);
            redact_connections(&mut value);
            toml::to_string_pretty(&value)
        });
        printed.unwrap_or_else(|e| format!("# cannot print configuration: {e}"))
    }
}

/// What a secret is printed as.
pub const REDACTED: &str = "<redacted>";

/// Whether a setting named `key` holds a secret. Decided by name rather than listed field by
/// field, so a secret added to any section later (a webhook secret, a broker password, a
/// signing key) is hidden without anyone remembering to list it. Paths to secret files and
/// digests of keys are not secrets.
fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    let named = key.contains("secret")
        || key.contains("password")
        || key.contains("token")
        || key.ends_with("_key")
        || key == "key"
        // A webhook URL is the credential: whoever has it can post to the channel.
        || key == "webhook_url";
    named && !key.ends_with("_file") && !key.ends_with("_sha256") && !key.ends_with("_path")
}

fn redact_secrets(value: &mut toml::Value) {
    match value {
        toml::Value::Table(table) => {
            for (key, v) in table.iter_mut() {
                match v {
                    toml::Value::String(s) if is_secret(key) && !s.is_empty() => {
                        *s = REDACTED.to_owned();
                    }
                    _ => redact_secrets(v),
                }
            }
        }
        toml::Value::Array(items) => items.iter_mut().for_each(redact_secrets),
        _ => {}
    }
}

/// Applies `TANDEM_SECTION__KEY=value` variables onto the parsed file.
fn apply_env(
    table: &mut toml::Table,
    vars: impl Iterator<Item = (String, String)>,
) -> anyhow::Result<()> {
    for (key, raw) in vars {
        let Some(path) = key.strip_prefix("TANDEM_") else {
            continue;
        };
        // Variables used by the command line rather than the server.
        if matches!(path, "CONFIG" | "URL" | "TOKEN") {
            continue;
        }
        let parts: Vec<String> = path.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if parts.iter().any(String::is_empty) {
            bail!("environment variable {key}: empty path segment");
        }
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.clone()));
        let mut node = &mut *table;
        for part in &parts[..parts.len() - 1] {
            let entry = node
                .entry(part.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            node = match entry {
                toml::Value::Table(t) => t,
                _ => bail!("environment variable {key}: `{part}` is not a section"),
            };
        }
        node.insert(parts[parts.len() - 1].clone(), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> anyhow::Result<Config> {
        let mut table: toml::Table = toml::from_str(text)?;
        apply_env(
            &mut table,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )?;
        Ok(toml::Value::Table(table).try_into()?)
    }

    #[test]
    fn frigate_snapshots_are_off_until_a_url_is_given_and_clip_links_use_the_public_one() {
        let c = load("", &[]).unwrap();
        assert!(!c.frigate.enabled());
        assert!(c.frigate.clip_links().is_none());
        let c = load(
            "[frigate]\nurl = \"http://10.0.5.2:5000\"\npublic_url = \"https://nvr.example.com/\"\n",
            &[],
        )
        .unwrap();
        assert!(c.frigate.enabled());
        assert_eq!(c.frigate.max_snapshot_kib, 2048);
        assert_eq!(
            c.frigate.clip_links().unwrap().clip("1.2-abc"),
            "https://nvr.example.com/api/events/1.2-abc/clip.mp4"
        );
        let c = load("[frigate]\nurl = \"frigate:5000\"\n", &[]).unwrap();
        let e = c.frigate.check().unwrap_err().to_string();
        assert!(e.contains("frigate.url"), "{e}");
    }

    #[test]
    fn kpi_weights_and_resolutions_are_read_and_a_negative_weight_is_refused() {
        let c = load(
            "[kpis]\nexclude_resolutions = [\"false_positive\"]\n[kpis.weights]\ncritical = 20.0\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            c.kpis.exclude_resolutions,
            [tandem_cases::Resolution::FalsePositive]
        );
        assert_eq!(c.kpis.weights.critical, 20.0);
        assert!(load("[kpis]\nexclude_resolutions = [\"maybe\"]\n", &[]).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tandem.toml");
        std::fs::write(&path, "[kpis.weights]\nlow = -1.0\n").unwrap();
        let e = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(e.contains("kpis.weights.low"), "{e}");
        std::fs::write(&path, "[kpis]\nmax_refused_share = 2.0\n").unwrap();
        let e = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(e.contains("kpis.max_refused_share"), "{e}");
    }

    #[test]
    fn the_training_csv_columns_are_mapped_in_configuration() {
        let c = load(
            "[kpis.training]\ncourses = [\"awareness\"]\n[kpis.training.columns]\nperson = \"Employee ID\"\nkind = \"\"\nkind_default = \"policy\"\ndate_format = \"%d.%m.%Y\"\n",
            &[],
        )
        .unwrap();
        let t = &c.kpis.training;
        assert_eq!(t.courses, ["awareness"]);
        assert_eq!(t.columns.person, "Employee ID");
        assert_eq!(t.columns.kind, "");
        assert_eq!(t.columns.kind_default, tandem_store::TrainingKind::Policy);
        assert_eq!(t.columns.item, "item", "unset columns keep their defaults");
        assert!(load("[kpis.training.columns]\nperson_id = \"x\"\n", &[]).is_err());
    }

    #[test]
    fn the_report_mailbox_is_off_until_configured_and_its_password_is_hidden() {
        assert!(load("", &[]).unwrap().reports.mailbox.is_none());
        let c = load(
            "[reports.mailbox]\nhost = \"imap.nordlys.example\"\nusername = \"report-phishing\"\npassword = \"imap-pass-1\"\n",
            &[("TANDEM_REPORTS__MAILBOX__PROCESSED_FOLDER", "Filed")],
        )
        .unwrap();
        let m = c.reports.mailbox.clone().unwrap();
        m.check().unwrap();
        let s = m.settings().unwrap();
        assert_eq!((s.port, s.folder.as_str()), (993, "INBOX"));
        assert_eq!(s.processed_folder.as_deref(), Some("Filed"));
        assert_eq!(s.max_message_bytes, 25 * 1024 * 1024);
        let printed = c.to_toml();
        assert!(!printed.contains("imap-pass-1"), "{printed}");
        assert!(printed.contains("[reports.mailbox]"), "{printed}");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pass");
        std::fs::write(&file, "from-a-file\n").unwrap();
        let m = MailboxConfig {
            password: String::new(),
            password_file: file,
            tls: MailboxTls::Starttls,
            ..m
        };
        let s = m.settings().unwrap();
        assert_eq!((s.password.as_str(), s.port), ("from-a-file", 143));
    }

    #[test]
    fn a_report_mailbox_without_what_it_needs_is_refused_at_start() {
        for (text, says) in [
            (
                "[reports.mailbox]\nusername = \"u\"\npassword = \"p\"\n",
                "host is required",
            ),
            (
                "[reports.mailbox]\nhost = \"h\"\npassword = \"p\"\n",
                "username is required",
            ),
            (
                "[reports.mailbox]\nhost = \"h\"\nusername = \"u\"\n",
                "password or password_file",
            ),
            (
                "[reports.mailbox]\nhost = \"imap.nordlys.example\"\nusername = \"u\"\npassword = \"p\"\ntls = \"none\"\n",
                "only allowed to a loopback address",
            ),
        ] {
            let e = load(text, &[])
                .unwrap()
                .reports
                .mailbox
                .unwrap()
                .check()
                .unwrap_err();
            assert!(e.to_string().contains(says), "{text}: {e}");
        }
        let e = load("[reports.mailbox]\ntls = \"ssl\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("unknown variant"), "{e}");
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = load("", &[]).unwrap();
        assert_eq!(c.http.listen, "127.0.0.1:8080");
        assert_eq!(c.retention.policy().max_age_days, Some(90));
    }

    #[test]
    fn environment_overrides_file() {
        let c = load(
            "data_dir = \"/var/lib/tandem\"\n[http]\nlisten = \"127.0.0.1:1\"\n",
            &[
                ("TANDEM_HTTP__LISTEN", "0.0.0.0:9000"),
                ("TANDEM_STORE__SEGMENT_ROWS", "1000"),
                ("TANDEM_STORE__SYNCHRONOUS", "normal"),
            ],
        )
        .unwrap();
        assert_eq!(c.http.listen, "0.0.0.0:9000");
        assert_eq!(c.store.segment_rows, 1000);
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/tandem"));
    }

    #[test]
    fn alerting_is_on_unless_switched_off_in_the_file_or_environment() {
        assert!(load("", &[]).unwrap().alerts.enabled);
        assert!(
            !load("[alerts]\nenabled = false\n", &[])
                .unwrap()
                .alerts
                .enabled
        );
        let c = load("", &[("TANDEM_ALERTS__ENABLED", "false")]).unwrap();
        assert!(!c.alerts.enabled);
    }

    #[test]
    fn unknown_settings_are_refused() {
        let err = load("[http]\nlisen = \"x\"\n", &[]).unwrap_err();
        assert!(format!("{err:#}").contains("lisen"), "{err:#}");
    }

    #[test]
    fn single_sign_on_reads_from_file_and_environment_and_hides_its_secret() {
        let c = load(
            "[auth.oidc]\nissuer = \"https://idp.example\"\nclient_id = \"tandem\"\n\n[[auth.oidc.roles]]\ngroup = \"sec-analysts\"\nrole = \"soc_analyst\"\n",
            &[
                ("TANDEM_AUTH__OIDC__CLIENT_SECRET", "s3cret-value"),
                (
                    "TANDEM_AUTH__OIDC__ROLES",
                    "[{group = \"tandem-admins\", role = \"admin\"}]",
                ),
            ],
        )
        .unwrap();
        let oidc = &c.auth.oidc;
        assert!(oidc.enabled());
        assert_eq!(oidc.client_secret, "s3cret-value");
        assert_eq!(oidc.roles.len(), 1, "the environment replaces the list");
        assert_eq!(oidc.roles[0].group, "tandem-admins");
        assert_eq!(oidc.groups_claim, "groups");
        assert_eq!(oidc.scopes, ["openid", "profile", "email"]);
        assert!(!c.to_toml().contains("s3cret-value"));
        assert!(!Config::default().auth.oidc.enabled());
        let err = load("[auth.oidc]\ngroup_claim = \"x\"\n", &[]).unwrap_err();
        assert!(format!("{err:#}").contains("group_claim"), "{err:#}");
    }

    #[test]
    fn printed_config_hides_every_secret() {
        let c = load(
            "[[sources]]\nname = \"doors\"\nformat = \"verkada\"\nwebhook_secret = \"whsec-value\"\napi_key_sha256 = \"abc123\"\n\n[[mqtt]]\nsource = \"cams\"\nformat = \"frigate\"\n[mqtt.broker]\nusername = \"tandem\"\npassword = \"broker-pass\"\n",
            &[("TANDEM_AUTH__OIDC__CLIENT_SECRET_FILE", "/run/secrets/oidc")],
        )
        .unwrap();
        let printed = c.to_toml();
        for secret in ["whsec-value", "broker-pass"] {
            assert!(!printed.contains(secret), "{secret} printed:\n{printed}");
        }
        assert_eq!(printed.matches(REDACTED).count(), 2, "{printed}");
        // What is not a secret stays readable: who connects, where the secret file is, the
        // digest of a key.
        for shown in ["tandem", "/run/secrets/oidc", "abc123"] {
            assert!(printed.contains(shown), "{shown} hidden:\n{printed}");
        }
        let again: Config = toml::from_str(&printed).unwrap();
        assert_eq!(again.sources[0].webhook_secret.as_deref(), Some(REDACTED));
    }

    #[test]
    fn printed_config_hides_action_connection_secrets() {
        let c = load(
            "[[actions.connections]]\nname = \"okta\"\nbase_url = \"https://corp.okta.com\"\nheaders = { Authorization = \"SSWS okta-token-value\" }\n\n[[actions.connections]]\nname = \"slack\"\nbase_url = \"https://hooks.slack.com/services/T0/B0/hook-secret\"\nsecret_url = true\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.actions.max_attempts, 5);
        let printed = c.to_toml();
        for secret in ["okta-token-value", "hook-secret"] {
            assert!(!printed.contains(secret), "{secret} printed:\n{printed}");
        }
        assert!(printed.contains("https://corp.okta.com"), "{printed}");
    }

    #[test]
    fn connection_bounds_have_defaults_and_read_from_the_environment() {
        let c = load("", &[]).unwrap();
        assert_eq!(c.http.max_connections, 1024);
        assert_eq!(c.http.header_read_timeout_secs, 10);
        assert_eq!(c.http.idle_timeout_secs, 120);
        let tcp = c.syslog.tcp_limits();
        assert_eq!(tcp.max_connections, 256);
        assert_eq!(tcp.idle_timeout, std::time::Duration::from_secs(60));
        assert_eq!(tcp.max_message_bytes, 64 * 1024);
        let c = load(
            "",
            &[
                ("TANDEM_SYSLOG__MAX_TCP_CONNECTIONS", "4"),
                ("TANDEM_SYSLOG__TCP_IDLE_TIMEOUT_SECS", "0"),
                ("TANDEM_HTTP__MAX_CONNECTIONS", "8"),
            ],
        )
        .unwrap();
        assert_eq!(c.http.max_connections, 8);
        assert_eq!(c.syslog.tcp_limits().max_connections, 4);
        // Zero would close every connection at once; the least is a second.
        assert_eq!(
            c.syslog.tcp_limits().idle_timeout,
            std::time::Duration::from_secs(1)
        );
    }

    #[test]
    fn printed_config_reads_back() {
        let c = Config::default();
        let again: Config = toml::from_str(&c.to_toml()).unwrap();
        assert_eq!(again.to_toml(), c.to_toml());
    }
}
