//! `tandem demo`: a server with a fresh store and a simulated company sending it events.
//!
//! The simulated past (`--history-hours`) is sent at once, so searches show a full day as soon
//! as the console opens; then the simulation follows the clock (faster with `--speedup`, in
//! which case its clock runs ahead of real time and the demo server accepts future-dated
//! events). Every source speaks its real product's wire format through the real ingest path:
//! Winlogbeat, Entra and Zeek as NDJSON to `/api/v1/ingest`, Okta event-hook deliveries one
//! per request, Verkada webhooks signed with a generated secret, Genetec CEF and Linux
//! auth.log over syslog, and Frigate and Zigbee2MQTT over MQTT. The MQTT broker is the one of
//! the configuration's `[[mqtt]]` entries, else a Mosquitto the demo starts itself, else none
//! (cameras and sensors then post Tandem JSON over HTTP). Type a scenario name and Enter to
//! stage an incident; its ground truth is appended to `ground-truth.jsonl` in the data
//! directory.

use crate::config::{Config, MqttConfig, SourceConfig};
use crate::server::Server;
use anyhow::{Context, bail};
use chrono::Utc;
use clap::Args;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tandem_ingest::integrations::verkada;
use tandem_pipeline::mqtt::BrokerSettings;
use tandem_sim::{
    Emitter, FRIGATE_PREFIX, MqttTarget, Org, ScenarioKind, Simulator, SourceSpec, Via, Wire,
};
use tandem_store::EventStore;
use tandem_store::hash_key;

/// Marks a directory as the demo's own, so it may be wiped at the next start.
const MARKER: &str = ".tandem-demo";

#[derive(Args)]
pub struct DemoArgs {
    /// Data directory for the demo; wiped at start (only if it is a previous demo's).
    #[arg(long, default_value = "demo-data")]
    pub data_dir: PathBuf,
    /// HTTP listen address (default: the configuration's).
    #[arg(long)]
    pub listen: Option<String>,
    /// People in the simulated company.
    #[arg(long, default_value_t = 300)]
    pub people: usize,
    /// Seed of the simulation: same seed, same company and same events.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Hours of simulated history sent at start.
    #[arg(long, default_value_t = 24)]
    pub history_hours: i64,
    /// How much faster than real time the simulation runs once live.
    #[arg(long, default_value_t = 1.0)]
    pub speedup: f64,
    /// Scenarios to stage as soon as the demo is live, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub scenario: Vec<String>,
}

pub async fn run(mut config: Config, args: DemoArgs) -> anyhow::Result<()> {
    let scenarios: Vec<ScenarioKind> = args
        .scenario
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    prepare_data_dir(&args.data_dir)?;
    config.data_dir = args.data_dir.clone();
    if let Some(listen) = &args.listen {
        config.http.listen = listen.clone();
    }
    if args.speedup > 1.0 {
        config.ingest.max_future_skew_minutes = 60 * 24 * 365;
    }
    let org = Org::generate(args.seed, args.people);
    let mut broker = match Broker::choose(&config, &args.data_dir) {
        Ok(b) => b,
        Err(e) => {
            println!("cannot start mosquitto ({e:#}); using HTTP for cameras and sensors");
            None
        }
    };
    let wire = Wire::Vendor {
        mqtt: broker.is_some(),
    };
    let specs = tandem_sim::sources(wire);
    let mut keys = HashMap::new();
    let verkada_secret = tandem_web::generate_secret("vks_");
    for spec in &specs {
        register(
            &mut config,
            spec,
            &org,
            broker.as_ref(),
            &verkada_secret,
            &mut keys,
        )?;
    }
    let server = Server::start(&config).await?;
    for spec in specs.iter().filter(|s| s.via != Via::Syslog) {
        anyhow::ensure!(
            server.pipeline.source(spec.name).is_some(),
            "source `{}` was not registered",
            spec.name
        );
    }
    let (people, records) = crate::directory_feed::load_org(&server.identity, &org)?;
    let ground_truth = args.data_dir.join("ground-truth.jsonl");
    let base_url = format!("http://{}", server.http);
    println!(
        "Tandem demo is running with a simulated company of {} people.",
        args.people
    );
    println!("  console:      {base_url}/");
    if let Some(admin) = &server.first_admin {
        println!("  user:         {}", admin.user);
        println!("  password:     {}", admin.password);
        println!("  API token:    export TANDEM_TOKEN={}", admin.api_token);
    }
    println!(
        "  directory:    {people} people, {records} places and devices (HR export and places file)"
    );
    println!("  ground truth: {}", ground_truth.display());
    match file_demo_reports(&server).await {
        Ok(line) => println!("  reports:      {line}"),
        Err(e) => println!("  reports:      none filed ({e:#})"),
    }
    println!();
    print_sources(&specs, &server, broker.as_ref(), &base_url);
    if broker.is_none() {
        println!(
            "No MQTT broker (no [[mqtt]] in the configuration and no mosquitto installed): camera \
             and sensor events go over HTTP in Tandem format instead."
        );
    }
    println!();
    println!("Type a scenario name and Enter to stage it: {}", names());
    println!("Ctrl-C stops the demo.");

    let stop = Arc::new(AtomicBool::new(false));
    let (inject_tx, inject_rx) = std::sync::mpsc::channel();
    for kind in scenarios {
        let _ = inject_tx.send(kind);
    }
    // Scenario names typed on the terminal.
    {
        let inject_tx = inject_tx.clone();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                match line.parse::<ScenarioKind>() {
                    Ok(kind) => {
                        let _ = inject_tx.send(kind);
                        println!("staging {kind}");
                    }
                    Err(e) => println!("{e}"),
                }
            }
        });
    }
    let secret = verkada_secret.clone();
    let mut emitter = Emitter::new(base_url, keys, server.syslog_udp, server.syslog_tcp)
        .with_signer(
            "verkada",
            Box::new(move |body: &[u8]| {
                let t = Utc::now().timestamp();
                (
                    verkada::SIGNATURE_HEADER.to_owned(),
                    verkada::sign(secret.as_bytes(), t, body),
                )
            }),
        );
    if let Some(b) = &broker {
        emitter = emitter.with_mqtt(MqttTarget {
            host: b.host.clone(),
            port: b.port,
            client_id: "tandem-demo-publisher".into(),
        });
        wait_for_subscriptions(&emitter, &server, &org).await;
    }
    let sim_stop = stop.clone();
    let compliance = server.compliance.clone();
    let (seed, history, speedup) = (args.seed, args.history_hours, args.speedup);
    let simulation = std::thread::spawn(move || -> anyhow::Result<()> {
        let mut sim = Simulator::new(org, seed).with_wire(wire);
        let now = Utc::now();
        let start = now - chrono::Duration::hours(history);
        let mut sent = 0usize;
        let mut t = start;
        // History in one-hour slices keeps each request well under the body limit.
        while t < now && !sim_stop.load(Ordering::Relaxed) {
            let next = (t + chrono::Duration::hours(1)).min(now);
            let records = sim.records_between(t, next);
            sent += records.len();
            emitter
                .send(&records)
                .context("sending simulated history")?;
            t = next;
        }
        println!("history loaded: {sent} simulated events from the last {history} hours");
        // Compliance: the company's Statement of Applicability now, its evidence once live
        // events have flowed for a while (the history was sent late, on purpose: measured
        // at once, every source would look hours behind).
        match crate::compliance::seed_demo(&compliance, Utc::now()) {
            Ok(n) if n > 0 => {
                println!("compliance: {n} controls of the Statement of Applicability filled")
            }
            Ok(_) => {}
            Err(e) => eprintln!("compliance: {e:#}"),
        }
        let measure = compliance.clone();
        let measure_stop = sim_stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(90));
            if measure_stop.load(Ordering::Relaxed) {
                return;
            }
            match measure.collect(None, Utc::now()) {
                Ok(taken) => println!("compliance: {} evidence snapshots taken", taken.len()),
                Err(e) => eprintln!("compliance: {e}"),
            }
        });
        tandem_sim::run_live(
            &mut sim,
            &emitter,
            now,
            speedup,
            &sim_stop,
            &inject_rx,
            Some(&ground_truth),
            &mut |p| {
                for gt in &p.injected {
                    println!("staged {} at {} (scenario {})", gt.kind, gt.start, gt.id);
                }
            },
        )?;
        Ok(())
    });
    crate::server::termination().await;
    stop.store(true, Ordering::Relaxed);
    match tokio::task::spawn_blocking(move || simulation.join()).await? {
        Ok(Err(e)) => eprintln!("simulation stopped: {e:#}"),
        Err(_) => eprintln!("simulation thread panicked"),
        Ok(Ok(())) => {}
    }
    let result = server.shutdown().await;
    if let Some(b) = broker.as_mut() {
        b.stop();
    }
    result
}

/// The MQTT broker the demo publishes to: the configuration's, or one it runs itself.
struct Broker {
    host: String,
    port: u16,
    /// A Mosquitto started (and stopped) by the demo.
    managed: Option<Child>,
}

impl Broker {
    /// The first `[[mqtt]]` entry's broker; else a Mosquitto of our own on a free loopback
    /// port with its persistence in the data directory; else `None`.
    fn choose(config: &Config, data_dir: &Path) -> anyhow::Result<Option<Broker>> {
        if let Some(m) = config.mqtt.first() {
            return Ok(Some(Broker {
                host: m.broker.host.clone(),
                port: m.broker.port,
                managed: None,
            }));
        }
        let Some(program) = find_program("mosquitto") else {
            return Ok(None);
        };
        let dir = std::fs::canonicalize(data_dir)?.join("mosquitto");
        std::fs::create_dir_all(&dir)?;
        // Started as root, Mosquitto drops to the `mosquitto` user, which must be able to
        // write its persistence file here.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n\
                 persistence_location {d}/\nautosave_interval 5\nmax_queued_messages 1000000\n\
                 log_dest file {d}/mosquitto.log\n",
                d = dir.display()
            ),
        )?;
        let mut child = Command::new(&program)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot run {}", program.display()))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "mosquitto exited at start ({status}); see {}",
                    dir.display()
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("mosquitto did not listen on port {port}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Some(Broker {
            host: "127.0.0.1".into(),
            port,
            managed: Some(child),
        }))
    }

    /// Stops a managed broker with SIGTERM (it saves its persistence file), then waits.
    fn stop(&mut self) {
        if let Some(mut child) = self.managed.take() {
            #[cfg(unix)]
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: signalling a child process we started and have not reaped.
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
            }
            #[cfg(not(unix))]
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A program on PATH or in the sbin directories Debian installs daemons to.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Adds `spec` to the configuration the server starts with: an ingest source with a fresh
/// key (kept in `keys` for the emitter), a webhook source with the shared secret, or an MQTT
/// subscription on `broker`. Syslog needs nothing: the server's listener is always there.
fn register(
    config: &mut Config,
    spec: &SourceSpec,
    org: &Org,
    broker: Option<&Broker>,
    webhook_secret: &str,
    keys: &mut HashMap<String, String>,
) -> anyhow::Result<()> {
    let source = |api_key_sha256: Option<String>, webhook_secret: Option<String>| SourceConfig {
        name: spec.name.into(),
        format: spec.format.into(),
        vendor: Some(spec.vendor.into()),
        product: Some(spec.product.into()),
        api_key_sha256,
        webhook_secret,
        mapping: None,
    };
    match spec.via {
        Via::Ingest => {
            let key = tandem_web::generate_secret("tsk_");
            config.sources.push(source(Some(hash_key(&key)), None));
            keys.insert(spec.name.to_owned(), key);
        }
        Via::Webhook => config
            .sources
            .push(source(None, Some(webhook_secret.to_owned()))),
        Via::Syslog => {}
        Via::Mqtt => {
            let b = broker.context("an MQTT source without a broker")?;
            let rules = if spec.format == "iot" {
                Some(
                    toml::Value::try_from(
                        serde_json::json!({ "r": tandem_sim::sensor_rules(org) }),
                    )?
                    .get("r")
                    .cloned()
                    .context("sensor rules")?,
                )
            } else {
                None
            };
            config.mqtt.push(MqttConfig {
                source: spec.name.into(),
                format: spec.format.into(),
                broker: BrokerSettings {
                    host: b.host.clone(),
                    port: b.port,
                    client_id: format!("tandem-demo-{}", spec.name),
                    ..BrokerSettings::default()
                },
                prefix: FRIGATE_PREFIX.into(),
                rules,
            });
        }
    }
    Ok(())
}

/// One line per source: what it is, its format, and how it reaches the server.
fn print_sources(specs: &[SourceSpec], server: &Server, broker: Option<&Broker>, base: &str) {
    println!("Sources (as the real products send them):");
    println!("  {:<9} {:<8} {:<38} how", "source", "format", "product");
    for s in specs {
        let how = match s.via {
            Via::Ingest => format!("POST {base}/api/v1/ingest/{} (Bearer key)", s.name),
            Via::Webhook => format!(
                "POST {base}/api/v1/webhooks/{} (Verkada-Signature, shared secret)",
                s.name
            ),
            Via::Syslog => {
                let at = |a: Option<std::net::SocketAddr>| {
                    a.map(|a| a.to_string()).unwrap_or_else(|| "off".into())
                };
                format!(
                    "syslog udp {} / tcp {}",
                    at(server.syslog_udp),
                    at(server.syslog_tcp)
                )
            }
            Via::Mqtt => {
                let topic = if s.format == "frigate" {
                    "frigate/#"
                } else {
                    "zigbee2mqtt/#"
                };
                match broker {
                    Some(b) => format!(
                        "MQTT {topic} via {}:{}{}",
                        b.host,
                        b.port,
                        if b.managed.is_some() {
                            " (broker managed by the demo)"
                        } else {
                            ""
                        }
                    ),
                    None => "MQTT".into(),
                }
            }
        };
        let product = format!("{} {}", s.vendor, s.product);
        println!("  {:<9} {:<8} {:<38} {how}", s.name, s.format, product);
    }
}

/// Publishes the retained status messages Frigate and Zigbee2MQTT send at connection and
/// waits until both MQTT sources have stored one: then the server's subscriptions are live
/// and nothing the simulation publishes is lost.
async fn wait_for_subscriptions(emitter: &Emitter, server: &Server, org: &Org) {
    if let Err(e) = emitter.send(&tandem_sim::mqtt_hello(org)) {
        println!("MQTT: {e}");
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = server.store.source_stats().is_ok_and(|stats| {
            ["cameras", "sensors"]
                .iter()
                .all(|name| stats.iter().any(|s| s.name == *name && s.events_total > 0))
        });
        if ready {
            return;
        }
        if Instant::now() > deadline {
            println!("MQTT subscriptions not confirmed after 20 s; publishing anyway");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The lure of the demo's phishing campaign: a fake Microsoft 365 password notice.
const DEMO_LURE: &str = "From: Microsoft 365 <no-reply@m365-account-security.example>\r\n\
Reply-To: helpdesk@mail-support.example\r\n\
Subject: Action required: your password expires today\r\n\
Authentication-Results: mx.nordlys.example; spf=fail smtp.mailfrom=m365-account-security.example; dkim=none; dmarc=fail\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n\
<p>Your password expires today. <a href=\"https://m365-account-security.example/keep?u=1\">Keep my password</a></p>\r\n";

/// A few reports from simulated employees, as if filed on `/report`: one phishing campaign
/// reported by three people (one alert, three reporters) and one lost badge.
async fn file_demo_reports(server: &Server) -> anyhow::Result<String> {
    let reports = server.reports.clone();
    let identity = server.identity.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        use tandem_cases::reports::{NewReport, ReportKind, Reporter};
        let dir = identity.snapshot();
        let people: Vec<Reporter> = dir
            .people()
            .into_iter()
            .rev()
            .filter(|p| p.department.is_some())
            .take(4)
            .map(|p| Reporter {
                name: p.name.clone(),
                person: Some(p.id.clone()),
                email: p.email.clone(),
                department: p.department.clone(),
                site: p.home_site.as_deref().map(|s| {
                    dir.find_place(s)
                        .map_or_else(|| s.to_owned(), |k| k.name.clone())
                }),
            })
            .collect();
        anyhow::ensure!(people.len() == 4, "the directory has too few people");
        let now = Utc::now();
        let mut alert = String::new();
        for p in &people[..3] {
            let filed = reports.file(
                NewReport {
                    kind: Some(ReportKind::Phishing),
                    description: "Looks like Microsoft but the sender is odd.".into(),
                    mail: Some(DEMO_LURE.as_bytes().to_vec()),
                    reporter: Some(p.clone()),
                    ..NewReport::default()
                },
                now,
            )?;
            alert = filed.report.alert.unwrap_or_default();
        }
        let badge = reports.file(
            NewReport {
                kind: Some(ReportKind::LostBadge),
                description: "Lost my badge on the way to work.".into(),
                reporter: Some(people[3].clone()),
                ..NewReport::default()
            },
            now,
        )?;
        Ok(format!(
            "a phishing campaign reported by 3 people ({alert}), a lost badge ({})",
            badge.report.id
        ))
    })
    .await?
}

fn names() -> String {
    ScenarioKind::ALL
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Creates the directory, or wipes it when a previous demo left it; refuses anything else.
fn prepare_data_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)?.next().is_none();
        if !empty && !dir.join(MARKER).exists() {
            bail!(
                "{} exists and was not made by `tandem demo`; choose another --data-dir",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join(MARKER),
        "This directory belongs to `tandem demo` and is wiped at its next start.\n",
    )?;
    Ok(())
}
