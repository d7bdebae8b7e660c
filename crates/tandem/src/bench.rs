//! `tandem bench`: ingest and search speed of this build on this machine.
//!
//! Starts `tandem serve` as a child process on a scratch data directory (so its memory is
//! measured alone), sends simulated events over HTTP from several client threads with
//! durable acknowledgement, then times searches over the resulting store. Prints events/s,
//! acknowledgement latency percentiles, search latency percentiles and the server's peak RSS.

use anyhow::{Context, bail};
use chrono::Utc;
use clap::Args;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod cases;
mod kpis;
mod notify;
mod replay;

#[derive(Args)]
pub struct BenchArgs {
    /// Events to ingest before the search benchmark (10,000,000 when not given); with
    /// `--input`, events to replay (the file's own count when not given).
    #[arg(long)]
    pub events: Option<u64>,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Events per request.
    #[arg(long, default_value_t = 5_000)]
    pub batch: usize,
    /// Scratch data directory (deleted first).
    #[arg(long, default_value = "bench-data")]
    pub data_dir: PathBuf,
    /// Times each search is run.
    #[arg(long, default_value_t = 20)]
    pub search_runs: usize,
    /// Keep the data directory afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Leave the identity directory empty, so events are stored unresolved (the baseline
    /// for the cost of resolution).
    #[arg(long)]
    pub no_directory: bool,
    /// Soak instead: send at a steady `--rate` for `--minutes`, detection as configured, and
    /// print the server's memory every minute, to show it stays flat.
    #[arg(long)]
    pub soak: bool,
    /// Events per second a soak sends.
    #[arg(long, default_value_t = 10_000)]
    pub rate: u64,
    /// How long a soak lasts.
    #[arg(long, default_value_t = 30)]
    pub minutes: u64,
    /// Alerts and incidents instead: seed a store with `--incidents` and `--alerts`, then
    /// time the alert queue, incident pages, their API lists and the SLA check.
    #[arg(long)]
    pub cases: bool,
    /// Incidents `--cases` seeds (tasks from the shipped playbooks, comments, timeline).
    #[arg(long, default_value_t = 10_000)]
    pub incidents: usize,
    /// Alerts `--cases` seeds, spread over the incidents.
    #[arg(long, default_value_t = 100_000)]
    pub alerts: usize,
    /// Percent of the seeded incidents still open (the newest).
    #[arg(long, default_value_t = 20)]
    pub open_share: u32,
    /// Times `--cases` requests each page.
    #[arg(long, default_value_t = 50)]
    pub page_runs: usize,
    /// Times `--cases` runs the SLA check.
    #[arg(long, default_value_t = 10)]
    pub tick_runs: usize,
    /// `--cases`: only seed the data directory, then stop (copy it to time several builds
    /// on the same records with `--seeded`).
    #[arg(long)]
    pub seed_only: bool,
    /// `--cases`: the data directory is already seeded; time it as it is.
    #[arg(long)]
    pub seeded: bool,
    /// The `tandem` binary to start as the server (default: this one), to compare builds.
    #[arg(long)]
    pub server: Option<PathBuf>,
    /// Replay instead: this NDJSON file (one event per line, in `--format`) or `.evtx` file,
    /// replicated to `--events` with fresh record ids, through HTTP ingest with detection on.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// `--input`: Sigma rules to load (repeatable), as `[detect] sigma_dirs`; Tandem's
    /// shipped rules are left out so both sides of `--compare` run the same rules.
    #[arg(long)]
    pub sigma_dir: Vec<PathBuf>,
    /// `--input`: the source format of its lines (`windows`, `tandem`, `syslog`, …).
    #[arg(long, default_value = "windows")]
    pub format: String,
    /// `--input`: a shell command run on the same replicated events after Tandem, for a
    /// side-by-side ratio; `{input}` is replaced by the NDJSON file's path and `{rules}` by
    /// the first `--sigma-dir`.
    #[arg(long)]
    pub compare: Option<String>,
    /// Notifications instead: a burst of `--notify-burst` alerts through one route's
    /// digest, then the latency from a message queued to its delivery attempt at a steady
    /// rate, against a local receiver.
    #[arg(long)]
    pub notify: bool,
    #[arg(long, default_value_t = 10_000)]
    pub notify_burst: usize,
    /// The KPI dashboard's computation instead: seed `--incidents` (as `--cases` does) and
    /// time reading a period's incidents and computing every figure, p50/p90 per period.
    #[arg(long)]
    pub kpis: bool,
}

/// Events the ingest-and-search bench sends when `--events` is not given.
const DEFAULT_EVENTS: u64 = 10_000_000;

pub fn run(_config: crate::config::Config, args: BenchArgs) -> anyhow::Result<()> {
    if args.data_dir.exists() && !args.seeded {
        std::fs::remove_dir_all(&args.data_dir)?;
    }
    if args.input.is_some() {
        let result = replay::run(&args);
        if !args.keep {
            let _ = std::fs::remove_dir_all(&args.data_dir);
        }
        return result;
    }
    if args.notify {
        let result = notify::run(&args);
        let _ = std::fs::remove_dir_all(&args.data_dir);
        return result;
    }
    if args.kpis {
        let result = kpis::run(&args);
        if !args.keep && !args.seed_only {
            let _ = std::fs::remove_dir_all(&args.data_dir);
        }
        return result;
    }
    if args.cases {
        let result = cases::run(&args);
        if !args.keep && !args.seed_only {
            let _ = std::fs::remove_dir_all(&args.data_dir);
        }
        return result;
    }
    let Started {
        mut child,
        url,
        token,
        ..
    } = start_server(&args.data_dir, args.server.as_deref())?;
    let result = if args.soak {
        soak(&args, &url, &token, child.id())
    } else {
        measure(&args, &url, &token, child.id())
    };
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
    if !args.keep {
        let _ = std::fs::remove_dir_all(&args.data_dir);
    }
    result
}

/// A `tandem serve` child and what its first start printed.
struct Started {
    child: Child,
    pid: u32,
    url: String,
    token: String,
    /// The first administrator's password.
    password: Option<String>,
}

impl Started {
    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn start_server(
    data_dir: &std::path::Path,
    server: Option<&std::path::Path>,
) -> anyhow::Result<Started> {
    start_server_with(data_dir, server, &[])
}

/// [`start_server`] with more settings in the environment (`TANDEM_DETECT__SIGMA_DIRS`, …).
fn start_server_with(
    data_dir: &std::path::Path,
    server: Option<&std::path::Path>,
    env: &[(&str, String)],
) -> anyhow::Result<Started> {
    let exe = match server {
        Some(s) => s.to_owned(),
        None => std::env::current_exe()?,
    };
    let mut command = Command::new(exe);
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .arg("serve")
        .env("TANDEM_DATA_DIR", data_dir)
        .env("TANDEM_HTTP__LISTEN", "127.0.0.1:0")
        .env("TANDEM_SYSLOG__UDP", "")
        .env("TANDEM_SYSLOG__TCP", "")
        .env("TANDEM_RETENTION__MAX_AGE_DAYS", "3650")
        .env("TANDEM_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start `tandem serve`")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut url = None;
    let mut token = None;
    let mut password = None;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(u) = line.trim().strip_prefix("console:") {
            url = Some(u.trim().trim_end_matches('/').to_owned());
        }
        if let Some(p) = line.trim().strip_prefix("password:") {
            password = Some(p.trim().to_owned());
        }
        if let Some(t) = line.split("TANDEM_TOKEN=").nth(1) {
            token = Some(t.trim().to_owned());
            break;
        }
    }
    match (url, token) {
        (Some(url), Some(token)) => Ok(Started {
            pid: child.id(),
            child,
            url,
            token,
            password,
        }),
        _ => {
            let _ = child.kill();
            bail!("the server did not start")
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// One request of NDJSON to the bench source, answered once durable.
fn post_batch(
    agent: &ureq::Agent,
    url: &str,
    key: &str,
    body: &[u8],
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    post_batch_to(agent, url, "bench", key, body)
}

/// One request of NDJSON to `source`, answered once durable.
fn post_batch_to(
    agent: &ureq::Agent,
    url: &str,
    source: &str,
    key: &str,
    body: &[u8],
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    agent
        .post(format!("{url}/api/v1/ingest/{source}"))
        .header("Authorization", format!("Bearer {key}"))
        .header("Content-Type", "application/x-ndjson")
        .send(body)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn peak_rss_mib(pid: u32) -> f64 {
    status_mib(pid, "VmHWM:")
}

fn rss_mib(pid: u32) -> f64 {
    status_mib(pid, "VmRSS:")
}

/// A memory figure of `/proc/PID/status`, in MiB.
fn status_mib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_owned))
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The simulated organisation the bench's events come from.
fn org() -> tandem_sim::Org {
    tandem_sim::Org::generate(11, 1000)
}

/// Loads the organisation into the server's identity directory through the import API, as
/// an administrator would, so ingest pays for resolving every event.
fn load_directory(url: &str, token: &str) -> anyhow::Result<()> {
    let org = org();
    let records = serde_json::to_vec(&crate::directory_feed::org_records(&org))?;
    for (path, body) in [
        ("/api/v1/directory/records?file=org.json", records),
        (
            "/api/v1/directory/hr?file=hr.csv",
            org.hr_csv().into_bytes(),
        ),
    ] {
        let mut response = agent()
            .post(format!("{url}{path}"))
            .header("Authorization", format!("Bearer {token}"))
            .send(&body[..])?;
        if !response.status().is_success() {
            bail!(
                "directory import failed: {}",
                response.body_mut().read_to_string()?
            );
        }
    }
    Ok(())
}

/// Distinct simulated events the bench prepares at most (about 450 MB of request bodies);
/// longer runs send them again.
const MAX_DISTINCT_EVENTS: u64 = 1_000_000;

/// Request bodies built from consecutive simulated days ending yesterday (varied, realistic
/// events that move forward in time, as a real organisation's do: detections keep the state a
/// real stream gives them, not the state of one day sent over and over), and one person's
/// account name that occurs in them, for a selective field query. Also says how many days.
fn bodies(batch: usize, events: u64) -> (Vec<Vec<u8>>, String, u32) {
    let mut sim = tandem_sim::Simulator::new(org(), 11);
    let wanted = events.min(MAX_DISTINCT_EVENTS) as usize;
    // A day of the 1,000-person company is about 25,000 HTTP events; start far enough back.
    let days = wanted.div_ceil(20_000).max(1) as i64;
    let yesterday = (Utc::now() - chrono::Duration::days(1))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let mut lines: Vec<String> = Vec::new();
    let mut used = 0;
    for d in (0..days).rev() {
        let day = yesterday - chrono::Duration::days(d);
        lines.extend(
            sim.records_between(day, day + chrono::Duration::hours(24))
                .into_iter()
                .filter(|r| r.http_source().is_some())
                .map(|r| r.payload),
        );
        used += 1;
        if lines.len() >= wanted {
            break;
        }
    }
    let user = sim
        .org()
        .people
        .iter()
        .map(|p| p.username.clone())
        .find(|u| {
            lines
                .iter()
                .any(|l| l.contains(&format!("\"user\":\"{u}\"")))
        })
        .unwrap_or_default();
    let bodies = lines
        .chunks(batch)
        .filter(|c| c.len() == batch)
        .map(|c| (c.join("\n") + "\n").into_bytes())
        .collect();
    (bodies, user, used)
}

/// A bench source, registered through the API like any other; returns its key.
fn bench_source(url: &str, token: &str) -> anyhow::Result<String> {
    let created: serde_json::Value = agent()
        .post(format!("{url}/api/v1/sources"))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(serde_json::json!({"name": "bench", "format": "tandem"}))?
        .body_mut()
        .read_json()?;
    Ok(created["api_key"]
        .as_str()
        .context("no API key")?
        .to_owned())
}

fn measure(args: &BenchArgs, url: &str, token: &str, pid: u32) -> anyhow::Result<()> {
    let key = bench_source(url, token)?;
    if !args.no_directory {
        load_directory(url, token)?;
    }
    let events = args.events.unwrap_or(DEFAULT_EVENTS);
    let (bodies, user, days) = bodies(args.batch, events);
    let bodies = Arc::new(bodies);
    if bodies.is_empty() {
        bail!(
            "the simulation produced too few events for batches of {}",
            args.batch
        );
    }
    println!(
        "ingest: {} events over HTTP ({} distinct, from {days} simulated days), {} clients, {} \
         events per request, durable acks, {}",
        events,
        bodies.len() * args.batch,
        args.clients,
        args.batch,
        if args.no_directory {
            "identity directory empty"
        } else {
            "every event resolved against a directory of 1000 people"
        }
    );
    let requests = events.div_ceil(args.batch as u64);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..args.clients {
        let (bodies, next, key, url) = (bodies.clone(), next.clone(), key.clone(), url.to_owned());
        let batch = args.batch as u64;
        handles.push(std::thread::spawn(move || -> anyhow::Result<Vec<f64>> {
            let agent = agent();
            let mut latencies = Vec::new();
            let mut retry: Vec<u64> = Vec::new();
            loop {
                let i = match retry.pop() {
                    Some(i) => i,
                    None => next.fetch_add(1, Ordering::Relaxed),
                };
                if i >= requests {
                    return Ok(latencies);
                }
                let body = &bodies[i as usize % bodies.len()];
                let t = Instant::now();
                let mut response = post_batch(&agent, &url, &key, body)?;
                if response.status() == 503 {
                    // The store's queue is full: back off and send the same batch again.
                    std::thread::sleep(Duration::from_millis(20));
                    retry.push(i);
                    continue;
                }
                if !response.status().is_success() {
                    bail!(
                        "ingest failed: {} {}",
                        response.status(),
                        response.body_mut().read_to_string()?
                    );
                }
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                if i % 200 == 0 {
                    eprint!("\r  {} / {} events", i * batch, requests * batch);
                }
            }
        }));
    }
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(
            h.join()
                .map_err(|_| anyhow::anyhow!("client thread panicked"))??,
        );
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ingested = latencies.len() as f64 * args.batch as f64;
    latencies.sort_by(f64::total_cmp);
    eprintln!();
    println!(
        "  {:.0} events/s sustained ({:.0} events in {:.1} s); ack latency per {}-event request p50 {:.1} ms, p99 {:.1} ms",
        ingested / elapsed,
        ingested,
        elapsed,
        args.batch,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    println!(
        "  peak RSS of the server after ingest: {:.0} MiB",
        peak_rss_mib(pid)
    );

    // Let sealing finish so searches see the steady state.
    let wait = Instant::now();
    loop {
        let status: serde_json::Value = agent()
            .get(format!("{url}/api/v1/status"))
            .header("Authorization", format!("Bearer {token}"))
            .call()?
            .body_mut()
            .read_json()?;
        if status["segments_sealing"].as_u64() == Some(0)
            || wait.elapsed() > Duration::from_secs(600)
        {
            println!(
                "  store: {} events in {} segments, {:.0} MiB on disk; indexing finished {:.1} s after ingest",
                status["events"],
                status["segments"],
                status["file_bytes"].as_f64().unwrap_or(0.0) / 1048576.0,
                wait.elapsed().as_secs_f64()
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    let user_query = format!("user:{user}");
    let searches = [
        ("field query", user_query.as_str()),
        (
            "field query, two fields",
            "class:authentication AND user:a*",
        ),
        ("field query, many hits", "door:oslo-hq-a-main-entrance"),
        ("free text", "forced"),
        ("free text phrase", "\"person detected\""),
        ("count by", "* | count by class"),
        (
            "count by, json field",
            "class:physical_access | count by place.building",
        ),
        (
            "timechart",
            "class:physical_access | timechart 1h count by activity",
        ),
    ];
    println!(
        "search: {} runs each over the whole store, first page of 50",
        args.search_runs
    );
    for (name, q) in searches {
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..args.search_runs {
            let t = Instant::now();
            let mut response = agent()
                .get(format!("{url}/api/v1/search"))
                .query("q", q)
                .header("Authorization", format!("Bearer {token}"))
                .call()?;
            let body: serde_json::Value = response.body_mut().read_json()?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            total = body["total"].as_u64().unwrap_or(0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "  {name:<24} p50 {:>8.1} ms  p99 {:>8.1} ms  ({total} matches)  {q}",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }
    println!("peak RSS of the server: {:.0} MiB", peak_rss_mib(pid));
    Ok(())
}

/// The server's `tandem_memory_bytes` gauges by holder, from `/metrics`.
fn memory_held(
    agent: &ureq::Agent,
    url: &str,
    token: &str,
) -> anyhow::Result<std::collections::HashMap<String, f64>> {
    let text = agent
        .get(format!("{url}/metrics"))
        .header("Authorization", format!("Bearer {token}"))
        .call()?
        .body_mut()
        .read_to_string()?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("tandem_memory_bytes{holder=\"")?;
            let (holder, value) = rest.split_once("\"} ")?;
            Some((holder.to_owned(), value.trim().parse().ok()?))
        })
        .collect())
}

/// Lowest and highest of `values` and how far apart they are, in percent of the lowest
/// (zeros when there are none).
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let Some(low) = values.iter().copied().reduce(f64::min) else {
        return (0.0, 0.0, 0.0);
    };
    let high = values.iter().copied().fold(low, f64::max);
    let pct = if low > 0.0 {
        (high - low) / low * 100.0
    } else {
        0.0
    };
    (low, high, pct)
}

/// A steady stream for a long time: one request of `--batch` events every `batch / rate`
/// seconds, resent on 503, with the server's resident memory, the rate reached and the
/// acknowledgement latency printed each minute. Memory that keeps growing under a steady
/// load is a leak or an unbounded cache; the summary gives the spread after warm-up.
fn soak(args: &BenchArgs, url: &str, token: &str, pid: u32) -> anyhow::Result<()> {
    let key = bench_source(url, token)?;
    if !args.no_directory {
        load_directory(url, token)?;
    }
    let total = args.rate * args.minutes * 60;
    let (bodies, _, days) = bodies(args.batch, total);
    if bodies.is_empty() {
        bail!(
            "the simulation produced too few events for batches of {}",
            args.batch
        );
    }
    println!(
        "soak: {} events/s for {} min over HTTP ({} events per request, durable acks, {} distinct events from {days} simulated days, detection as configured)",
        args.rate,
        args.minutes,
        args.batch,
        bodies.len() * args.batch
    );
    println!(
        "{:>6} {:>12} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "minute",
        "events",
        "events/s",
        "p99 ms",
        "RSS MiB",
        "low",
        "high",
        "busy",
        "store MiB",
        "Rust MiB",
        "C MiB",
        "C free MiB"
    );
    let interval = Duration::from_secs_f64(args.batch as f64 / args.rate as f64);
    let agent = agent();
    let started = Instant::now();
    let mut sent: u64 = 0;
    let (mut rss, mut floors) = (Vec::new(), Vec::new());
    for minute in 1..=args.minutes {
        let (mut latencies, mut busy, sent_before) = (Vec::new(), 0u64, sent);
        // Resident memory after every answer: one request in flight holds tens of MiB for a
        // moment (its events decoded, their copy for the live feed, rows, database pages), so
        // a single sample a minute lands anywhere between the floor and that peak. The floor
        // of a minute is what the server holds; it is what must stay flat.
        let (mut low, mut high) = (f64::MAX, 0.0f64);
        let minute_end = started + Duration::from_secs(minute * 60);
        let mut i = sent / args.batch as u64;
        while Instant::now() < minute_end {
            let due = started + interval.mul_f64(i as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait.min(minute_end.saturating_duration_since(Instant::now())));
                if Instant::now() >= minute_end {
                    break;
                }
            }
            let body = &bodies[i as usize % bodies.len()];
            let t = Instant::now();
            let mut response = post_batch(&agent, url, &key, body)?;
            match response.status().as_u16() {
                503 => {
                    busy += 1;
                    continue;
                }
                s if !(200..300).contains(&s) => bail!(
                    "ingest failed: {s} {}",
                    response.body_mut().read_to_string()?
                ),
                _ => {}
            }
            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            sent += args.batch as u64;
            i += 1;
            let r = rss_mib(pid);
            (low, high) = (low.min(r), high.max(r));
        }
        latencies.sort_by(f64::total_cmp);
        let now = rss_mib(pid);
        (low, high) = (low.min(now), high.max(now));
        rss.push(now);
        floors.push(low);
        let held = memory_held(&agent, url, token).unwrap_or_default();
        let mib = |holder: &str| held.get(holder).map_or(f64::NAN, |b| b / 1048576.0);
        println!(
            "{minute:>6} {sent:>12} {:>10.0} {:>10.1} {now:>10.0} {low:>8.0} {high:>8.0} {busy:>8} {:>10.0} {:>10.0} {:>10.0} {:>10.0}",
            (sent - sent_before) as f64 / 60.0,
            percentile(&latencies, 0.99),
            mib("store_engine"),
            mib("rust_heap"),
            mib("c_heap_in_use"),
            mib("c_heap_free"),
        );
    }
    let elapsed = started.elapsed().as_secs_f64();
    // The first minutes fill caches and the directory's tables; flatness is judged after.
    let from = rss.len().min(5).min(rss.len().saturating_sub(1));
    let (floor_low, floor_high, floor_spread) = spread(&floors[from..]);
    let (low, high, spread) = spread(&rss[from..]);
    println!(
        "soak: {sent} events in {elapsed:.0} s ({:.0} events/s); from minute {}: RSS held (each minute's low) {floor_low:.0}-{floor_high:.0} MiB, spread {floor_spread:.1} % of the lowest; end-of-minute samples {low:.0}-{high:.0} MiB, spread {spread:.1} %; peak RSS {:.0} MiB",
        sent as f64 / elapsed,
        from + 1,
        peak_rss_mib(pid)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soak_judges_flatness_on_the_memory_held() {
        // A minute's samples swing with the request in flight; its low is what is held.
        let floors = [150.0, 152.0, 149.0, 155.0];
        let (low, high, pct) = spread(&floors);
        assert_eq!((low, high), (149.0, 155.0));
        assert!((pct - 6.0 / 149.0 * 100.0).abs() < 1e-9);
        assert_eq!(spread(&[]), (0.0, 0.0, 0.0));
    }
}
