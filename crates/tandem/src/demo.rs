//! `tandem demo`: a server with a fresh store and a simulated company sending it events.
//!
//! The simulated past (`--history-hours`) is sent at once, so searches show a full day as soon
//! as the console opens; then the simulation follows the clock (faster with `--speedup`, in
//! which case its clock runs ahead of real time and the demo server accepts future-dated
//! events). Everything goes through the real ingest paths: HTTP NDJSON with per-source keys
//! and syslog over UDP and TCP. Type a scenario name and Enter to stage an incident; its
//! ground truth is appended to `ground-truth.jsonl` in the data directory.

use crate::config::Config;
use crate::server::Server;
use anyhow::{Context, bail};
use chrono::Utc;
use clap::Args;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tandem_ingest::decode::Format;
use tandem_ingest::pipeline::{Source, hash_key};
use tandem_sim::{Emitter, HTTP_SOURCES, Org, ScenarioKind, Simulator};

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
    let server = Server::start(&config).await?;
    let org = Org::generate(args.seed, args.people);
    let (people, records) = crate::directory_feed::load_org(&server.identity, &org)?;
    let mut keys = HashMap::new();
    for spec in HTTP_SOURCES {
        let key = tandem_web::generate_secret("tsk_");
        let format: Format = spec.format.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut source = Source::new(spec.name, format);
        source.vendor = Some(spec.vendor.into());
        source.product = Some(spec.product.into());
        source.key_sha256 = Some(hash_key(&key));
        server.pipeline.register(source)?;
        keys.insert(spec.name.to_owned(), key);
    }
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
    let emitter = Emitter::new(base_url, keys, server.syslog_udp, server.syslog_tcp);
    let sim_stop = stop.clone();
    let (seed, history, speedup) = (args.seed, args.history_hours, args.speedup);
    let simulation = std::thread::spawn(move || -> anyhow::Result<()> {
        let mut sim = Simulator::new(org, seed);
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
    server.shutdown().await
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
