//! `tandem bench --notify`: what notifications cost. A burst of alerts through a route with
//! a digest (how many messages the channel gets), then alerts at a steady rate (the latency
//! from a message queued to its delivery attempt, p50/p99), against a receiver in this
//! process. Prints, asserts nothing.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tandem_respond::config::{ChannelConfig, ChannelKind, RouteConfig};
use tandem_respond::route::Notice;
use tandem_respond::{Notifier, NotifyConfig};
use tandem_store::{EventStore, OutboxStore, SqliteStore, StoreConfig};

use super::BenchArgs;

/// Requests the receiver got: idempotency key and when it arrived.
type Log = Arc<Mutex<Vec<(String, Instant)>>>;

fn receiver() -> anyhow::Result<(String, Log)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    let log: Log = Arc::default();
    let shared = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let log = shared.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(match stream.try_clone() {
                    Ok(s) => s,
                    Err(_) => return,
                });
                loop {
                    let (mut key, mut length) = (String::new(), 0usize);
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((n, v)) = line.split_once(':') {
                            match n.trim().to_ascii_lowercase().as_str() {
                                "idempotency-key" => key = v.trim().to_owned(),
                                "content-length" => length = v.trim().parse().unwrap_or(0),
                                _ => {}
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    log.lock().unwrap().push((key, Instant::now()));
                    let mut out = &stream;
                    if out
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok((url, log))
}

fn notice(i: usize) -> Notice {
    Notice {
        kind: "alert_opened".into(),
        case_id: format!("ALR-{i}"),
        title: format!("Bench alert {i}"),
        summary: "Raised by tandem bench --notify".into(),
        severity: "high".into(),
        departments: vec!["security".into()],
        sites: Vec::new(),
        task: None,
        path: format!("/alerts/ALR-{i}"),
        time: chrono::Utc::now(),
        key: format!("bench:{i}"),
    }
}

/// Runs the delivery worker's loop until `stop`.
fn worker(notifier: Arc<Notifier>, stop: Arc<std::sync::atomic::AtomicBool>) {
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let now = chrono::Utc::now();
        let _ = notifier.fold_released(now);
        while matches!(notifier.deliver_due(chrono::Utc::now()), Ok(n) if n >= 200) {}
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let (url, log) = receiver()?;
    let store = Arc::new(SqliteStore::open(&args.data_dir, StoreConfig::default())?);
    let window = 5;
    let digest_after = 10;
    let config = NotifyConfig {
        channels: vec![
            ChannelConfig {
                name: "burst".into(),
                kind: ChannelKind::Slack,
                webhook_url: format!("{url}/burst"),
                to: Vec::new(),
            },
            ChannelConfig {
                name: "steady".into(),
                kind: ChannelKind::Webhook,
                webhook_url: format!("{url}/steady"),
                to: Vec::new(),
            },
        ],
        routes: vec![
            RouteConfig {
                channel: "burst".into(),
                digest_after,
                digest_window_seconds: window,
                ..Default::default()
            },
            RouteConfig {
                channel: "steady".into(),
                digest_after: 0,
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    // The burst goes to the first route only, the steady alerts to the second.
    let burst_notifier = Arc::new(Notifier::new(
        NotifyConfig {
            routes: config.routes[..1].to_vec(),
            ..config.clone()
        },
        "http://tandem.example",
        store.clone(),
        store.clone(),
    )?);
    let steady_notifier = Arc::new(Notifier::new(
        NotifyConfig {
            routes: config.routes[1..].to_vec(),
            ..config.clone()
        },
        "http://tandem.example",
        store.clone(),
        store.clone(),
    )?);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let w = {
        let (n, s) = (burst_notifier.clone(), stop.clone());
        std::thread::spawn(move || worker(n, s))
    };

    // The burst.
    let started = Instant::now();
    let notices: Vec<Notice> = (0..args.notify_burst).map(notice).collect();
    for chunk in notices.chunks(1_000) {
        let entries = burst_notifier.plan(chunk, chrono::Utc::now())?;
        store.enqueue(&entries, None)?;
    }
    let queued = started.elapsed();
    std::thread::sleep(Duration::from_secs(window + 3));
    let burst_messages = log.lock().unwrap().len();
    println!(
        "notify burst: {} alerts queued in {:.2} s -> {} messages to the channel (digest_after {digest_after}, window {window} s)",
        args.notify_burst,
        queued.as_secs_f64(),
        burst_messages
    );

    // Steady state: 20 alerts a second for 15 s, each message timed from queued to its
    // delivery attempt reaching the receiver.
    let mut queued_at: HashMap<String, Instant> = HashMap::new();
    for i in 0..300 {
        let entries = steady_notifier.plan(&[notice(1_000_000 + i)], chrono::Utc::now())?;
        let t = Instant::now();
        store.enqueue(&entries, None)?;
        for e in entries {
            queued_at.insert(e.id, t);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = w.join();
    let mut latencies: Vec<Duration> = log
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(k, at)| queued_at.get(k).map(|q| at.saturating_duration_since(*q)))
        .collect();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "notify steady: {} of 300 delivered; queued -> delivery attempt p50 {:.1} ms, p99 {:.1} ms",
        latencies.len(),
        pct(0.50),
        pct(0.99)
    );
    store.close()?;
    Ok(())
}
