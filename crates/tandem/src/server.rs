//! Wires the crates into a running server: store, pipeline, HTTP, syslog, retention.

use crate::config::Config;
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use tandem_ingest::decode::Format;
use tandem_pipeline::metrics::IngestMetrics;
use tandem_pipeline::pipeline::{Limits, Pipeline, Source};
use tandem_store::{Account, AccountStore, ApiToken, EventStore, SqliteStore};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Credentials created at first start, shown once.
pub struct FirstAdmin {
    pub user: String,
    pub password: String,
    pub api_token: String,
}

/// A running Tandem.
pub struct Server {
    pub http: SocketAddr,
    pub syslog_udp: Option<SocketAddr>,
    pub syslog_tcp: Option<SocketAddr>,
    pub first_admin: Option<FirstAdmin>,
    /// The key audit checkpoints are signed with (hex), for auditors to pin.
    pub audit_public_key: String,
    pub store: Arc<SqliteStore>,
    pub pipeline: Arc<Pipeline>,
    pub identity: Arc<tandem_identity::Identity>,
    /// Employees' reports (the demo files a few from simulated employees).
    pub reports: Arc<tandem_cases::reports::Reports>,
    /// Compliance catalogues, Statement of Applicability and evidence (the demo fills it).
    pub compliance: Arc<tandem_compliance::Compliance>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    pub async fn start(config: &Config) -> anyhow::Result<Server> {
        let store = Arc::new(
            SqliteStore::open(&config.data_dir, config.store.clone()).with_context(|| {
                format!("cannot open the store in {}", config.data_dir.display())
            })?,
        );
        let reindexed = tandem_cases::reindex_if_needed(store.as_ref())
            .context("cannot reindex the stored alerts and incidents")?;
        if reindexed > 0 {
            tracing::info!(records = reindexed, "alerts and incidents reindexed once");
        }
        let audit_public_key = crate::audit_seal::seal(&config.audit, &config.data_dir, &store)
            .context("cannot seal the audit log")?;
        let limits = Limits {
            max_body_bytes: config.http.max_body_mib * 1024 * 1024,
            max_line_bytes: config.http.max_line_kib * 1024,
            max_future_skew: chrono::Duration::minutes(config.ingest.max_future_skew_minutes),
        };
        let identity = Arc::new(
            tandem_identity::Identity::open(store.clone())
                .context("cannot load the identity directory")?,
        );
        let detector = crate::detection::build(&config.detect, &config.data_dir, store.as_ref())?;
        let mut pipeline = Pipeline::new(store.clone(), limits, Arc::new(IngestMetrics::new()))
            .with_identity(identity.clone());
        if let Some(d) = &detector {
            pipeline = pipeline.with_detector(d.clone());
        }
        let pipeline = Arc::new(pipeline);
        pipeline.load_registered()?;
        for mut source in crate::sources::configured(config)? {
            source.key_sha256 = source
                .key_sha256
                .or_else(|| pipeline.source(&source.name).and_then(|x| x.key_sha256));
            pipeline.register(source)?;
        }
        if pipeline.source(&config.syslog.source).is_none() {
            pipeline.register(Source::new(&config.syslog.source, Format::Syslog))?;
        }
        let subscriptions = crate::sources::subscriptions(config)?;
        for (_, _, source) in &subscriptions {
            pipeline.register(source.clone())?;
        }
        let first_admin = create_first_admin(store.as_ref())?;
        let sso = if config.auth.oidc.enabled() {
            let sso = Arc::new(tandem_web::sso::Sso::new(&config.auth.oidc)?);
            // Read the provider's discovery document now, off the start path, so a wrong
            // issuer shows in the log at once; it is read again when someone signs in.
            let probe = sso.clone();
            tokio::task::spawn_blocking(move || match probe.provider() {
                Ok(_) => tracing::info!(issuer = %probe.issuer(), "single sign-on ready"),
                Err(e) => {
                    tracing::warn!(error = %e, "single sign-on: identity provider not reachable yet")
                }
            });
            Some(sso)
        } else {
            None
        };

        let (shutdown, _) = watch::channel(false);
        let mut tasks = Vec::new();
        let http_listener = TcpListener::bind(&config.http.listen)
            .await
            .with_context(|| format!("cannot listen for HTTP on {}", config.http.listen))?;
        let http = http_listener.local_addr()?;
        let actions = Arc::new(crate::actions::catalog(&config.actions));
        let playbooks = Arc::new(load_playbooks(config, &actions));
        let incidents = crate::incidents::build(
            &config.incidents,
            store.clone(),
            identity.clone(),
            pipeline.clone(),
            playbooks.clone(),
        )?;
        let alerter = Arc::new(
            tandem_cases::alerter::Alerter::new(
                store.clone(),
                config.alerts.clone(),
                incidents.clone(),
                Arc::new(crate::alerting::PipelineAnnounce(pipeline.clone())),
                tandem_cases::risk::directory_criticality(identity.clone()),
            )
            .context("invalid [alerts] configuration")?,
        );
        let cases = tandem_cases::Cases {
            alerter: alerter.clone(),
            incidents,
            playbooks,
        };
        let alarms = Arc::new(
            tandem_cases::alarms::Alarms::new(store.clone(), config.alarms.clone())
                .map_err(|e| anyhow::anyhow!("invalid [alarms] configuration: {e}"))?,
        );
        let reports = Arc::new(tandem_cases::reports::Reports::new(
            store.clone(),
            alerter.clone(),
            config.reports.settings(),
        ));
        let rules = match &detector {
            Some(d) => Some(Arc::new(crate::rule_admin::WebRules(
                tandem_detect::admin::RuleAdmin {
                    detector: d.clone(),
                    settings: Arc::new(crate::rule_admin::StateSettings(store.clone())),
                    base_dirs: crate::detection::rule_dirs(&config.detect, &config.data_dir)?,
                },
            )) as Arc<dyn tandem_web::RuleControl>),
            None => None,
        };
        let compliance = crate::compliance::build(config, store.clone(), rules.clone());
        let state = tandem_web::AppState {
            events: store.clone(),
            accounts: store.clone(),
            audit: store.clone(),
            throttle: Default::default(),
            pipeline: pipeline.clone(),
            identity: identity.clone(),
            hr_columns: Arc::new(config.identity.hr.clone()),
            rules: rules.clone(),
            secure_cookies: config.http.secure_cookies,
            sso,
            public: Arc::new(config.http.public_origin(http)?),
            searches: Arc::new(tandem_web::Searches::new(config.search.limits())),
            files: store.clone(),
            tiles: config.maps.tiles()?.map(Arc::new),
            cases: cases.clone(),
            snapshots: store.clone(),
            clips: config.frigate.clip_links().map(Arc::new),
            alarms: alarms.clone(),
            actions: actions.clone(),
            kpis: Arc::new(config.kpis.clone()),
            outbox: store.clone(),
            notify: Arc::new(config.notify.clone()),
            committee: Arc::new(tandem_cases::committee::Committee::new(store.clone())),
            briefing: Arc::new(config.briefing.clone()),
            reports: Arc::new(
                tandem_web::reports::ReportDesk::new(
                    reports.clone(),
                    config.reports.limits(),
                    config.reports.thank_you_template.clone(),
                )
                .with_email_channel(&config.reports.email_channel),
            ),
            compliance: compliance.clone(),
            training: store.clone(),
        };
        let public_url = state.public.url();
        tasks.push(tokio::spawn(crate::http::serve(
            http_listener,
            tandem_web::router(state),
            http_limits(config),
            pipeline.metrics().clone(),
            shutdown.subscribe(),
        )));
        tasks.push(tokio::spawn(crate::memory::run_sampler(
            pipeline.metrics().clone(),
            shutdown.subscribe(),
        )));

        // Off, findings are stored and shown but become no alert (`[alerts] enabled`).
        if config.alerts.enabled {
            tasks.push(tokio::spawn(crate::alerting::run(
                alerter,
                store.clone(),
                pipeline.clone(),
                shutdown.subscribe(),
            )));
        }
        // Snapshots of the camera events findings name, when Frigate's API is configured.
        if config.frigate.enabled() {
            tasks.push(tokio::spawn(crate::snapshots::run(
                Arc::new(crate::snapshots::Frigate::new(&config.frigate)),
                store.clone(),
                pipeline.clone(),
                shutdown.subscribe(),
            )));
        }
        if config.alarms.enabled {
            tasks.push(tokio::spawn(crate::alarms::run(
                alarms,
                store.clone(),
                identity.clone(),
                pipeline.clone(),
                shutdown.subscribe(),
            )));
        }
        // Response actions: approved runs sent, retried, their answers recorded.
        tasks.push(tokio::spawn(crate::actions::run(
            Arc::new(crate::actions::Runner::new(
                cases.incidents.clone(),
                actions,
                identity.clone(),
                config.actions.clone(),
                public_url,
            )),
            shutdown.subscribe(),
        )));
        // Notifications: case events to channels through the outbox, when channels exist.
        if !config.notify.channels.is_empty() {
            let notifier = tandem_respond::Notifier::new(
                config.notify.clone(),
                &config.http.public_origin(http)?.url(),
                store.clone(),
                store.clone(),
            )?;
            tasks.push(tokio::spawn(crate::notify::run(
                Arc::new(notifier),
                store.clone(),
                pipeline.clone(),
                config.notify.enabled && !config.notify.routes.is_empty(),
                shutdown.subscribe(),
            )));
        }
        // The report-phishing mailbox, polled when `[reports.mailbox]` is configured.
        if let Some(mailbox) = &config.reports.mailbox {
            let client = tandem_mail::imap::Mailbox::new(mailbox.settings()?)
                .context("report-phishing mailbox (reports.mailbox)")?;
            tasks.push(tokio::spawn(crate::mailbox::run(
                client,
                std::time::Duration::from_secs(mailbox.poll_seconds.max(1)),
                crate::mailbox::file_with(reports.clone()),
                shutdown.subscribe(),
            )));
        }
        tasks.push(tokio::spawn(crate::incidents::run_ticks(
            cases.incidents.clone(),
            shutdown.subscribe(),
        )));
        // Compliance evidence measured and snapshotted into its hash chain on a schedule.
        tasks.push(tokio::spawn(crate::compliance::run_ticks(
            compliance.clone(),
            config.compliance.snapshot_minutes,
            shutdown.subscribe(),
        )));
        if let Some(detector) = &detector {
            tasks.push(tokio::spawn(crate::detection::run_ticks(
                detector.clone(),
                identity.clone(),
                store.clone(),
                pipeline.clone(),
                std::time::Duration::from_secs(config.detect.tick_seconds.max(1)),
                shutdown.subscribe(),
            )));
        }
        for (broker, decoder, source) in subscriptions {
            tasks.push(tokio::spawn(tandem_pipeline::mqtt::run(
                broker,
                decoder,
                pipeline.clone(),
                source,
                shutdown.subscribe(),
            )));
        }
        let syslog_source = pipeline
            .source(&config.syslog.source)
            .expect("registered above");
        let mut syslog_udp = None;
        if !config.syslog.udp.is_empty() {
            let socket = UdpSocket::bind(&config.syslog.udp).await.with_context(|| {
                format!("cannot listen for syslog on udp {}", config.syslog.udp)
            })?;
            syslog_udp = Some(socket.local_addr()?);
            tasks.push(tokio::spawn(tandem_pipeline::syslog::serve_udp(
                socket,
                pipeline.clone(),
                syslog_source.clone(),
                shutdown.subscribe(),
            )));
        }
        let mut syslog_tcp = None;
        if !config.syslog.tcp.is_empty() {
            let listener = TcpListener::bind(&config.syslog.tcp)
                .await
                .with_context(|| {
                    format!("cannot listen for syslog on tcp {}", config.syslog.tcp)
                })?;
            syslog_tcp = Some(listener.local_addr()?);
            tasks.push(tokio::spawn(tandem_pipeline::syslog::serve_tcp(
                listener,
                pipeline.clone(),
                syslog_source,
                config.syslog.tcp_limits(),
                shutdown.subscribe(),
            )));
        }

        tasks.push(tokio::spawn(crate::audit_seal::run_checkpoints(
            store.clone(),
            config.audit.clone(),
            config.data_dir.clone(),
            shutdown.subscribe(),
        )));

        if config.retention.max_age_days.is_some() || config.retention.max_size_mib.is_some() {
            let store = store.clone();
            let policy = config.retention.policy();
            let every = std::time::Duration::from_secs(config.retention.check_minutes.max(1) * 60);
            let mut stop = shutdown.subscribe();
            tasks.push(tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                    let store = store.clone();
                    let policy = policy.clone();
                    match tokio::task::spawn_blocking(move || store.apply_retention(&policy)).await
                    {
                        Ok(Ok(r)) if r.segments_deleted > 0 || r.dead_letters_deleted > 0 => {
                            tracing::info!(
                                segments = r.segments_deleted,
                                events = r.events_deleted,
                                dead_letters = r.dead_letters_deleted,
                                "retention applied"
                            )
                        }
                        Ok(Err(e)) => tracing::error!(error = %e, "retention failed"),
                        _ => {}
                    }
                }
            }));
        }
        Ok(Server {
            http,
            syslog_udp,
            syslog_tcp,
            first_admin,
            audit_public_key,
            store,
            pipeline,
            identity,
            reports,
            compliance,
            shutdown,
            tasks,
        })
    }

    /// Stops accepting, lets listeners flush what they hold, then closes the store (which
    /// commits everything queued).
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        // Open live monitors would otherwise keep the HTTP server's graceful shutdown waiting.
        self.pipeline.close_live();
        for task in self.tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), task).await;
        }
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.close()).await??;
        Ok(())
    }
}

/// Files the process keeps open besides connections: the store, its WAL, logs, listeners.
const RESERVED_FDS: u64 = 128;

/// The HTTP listener's bounds, with the soft limit on open files raised to the hard limit
/// first. If even that is too low for both connection limits, the HTTP limit is lowered to
/// fit (with a warning): refusing connections beats running out of descriptors, which once
/// stopped the console answering at all.
fn http_limits(config: &Config) -> crate::http::HttpLimits {
    let mut max_connections = config.http.max_connections.max(1);
    if let Some(fds) = crate::http::raise_fd_limit() {
        let syslog = if config.syslog.tcp.is_empty() {
            0
        } else {
            config.syslog.max_tcp_connections as u64
        };
        let room = fds.saturating_sub(RESERVED_FDS + syslog).max(16);
        if (max_connections as u64) > room {
            tracing::warn!(
                open_files_limit = fds,
                configured = max_connections,
                using = room,
                "the open-files limit is too low for http.max_connections; raise it (ulimit -n, LimitNOFILE=) or lower the setting"
            );
            max_connections = usize::try_from(room).unwrap_or(usize::MAX);
        }
    }
    crate::http::HttpLimits {
        max_connections,
        header_read_timeout: std::time::Duration::from_secs(
            config.http.header_read_timeout_secs.max(1),
        ),
        idle_timeout: std::time::Duration::from_secs(config.http.idle_timeout_secs.max(1)),
    }
}

fn create_first_admin(store: &SqliteStore) -> anyhow::Result<Option<FirstAdmin>> {
    if store.user_count()? > 0 {
        return Ok(None);
    }
    let password = tandem_web::generate_secret("");
    let account = Account {
        name: "admin".into(),
        password_hash: tandem_web::hash_password(&password),
        role: "admin".into(),
    };
    if !store.create_user(&account)? {
        return Ok(None);
    }
    let api_token = tandem_web::generate_secret("tat_");
    store.create_token(&ApiToken {
        sha256: tandem_store::hash_key(&api_token),
        name: "admin (first start)".into(),
        role: "admin".into(),
    })?;
    Ok(Some(FirstAdmin {
        user: account.name,
        password,
        api_token,
    }))
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn termination() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("can install a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// The shipped playbooks and the operator's (`[cases] playbook_dirs`). A file that fails
/// validation at start is left out and logged with its file, line and reason (the shipped
/// playbook of the same id, if any, stays in force); fix it and reload.
fn load_playbooks(
    config: &Config,
    actions: &tandem_respond::actions::Catalog,
) -> tandem_cases::playbook::Playbooks {
    let (playbooks, errors) = tandem_cases::playbook::Playbooks::load_with_actions(
        config.cases.playbook_dirs.clone(),
        actions.names(),
    );
    for e in &errors {
        tracing::warn!(file = %e.file, line = e.line, reason = %e.reason, "playbook refused");
    }
    playbooks
}
