//! Parse + normalise throughput of every integration, one thread, from the real vendor samples
//! in `tests/fixtures`.
//!
//! Each row decodes a mix of fixture messages, cycled, through the path production uses
//! ([`MessageDecoder::decode`] for HTTP and syslog sources, [`FrigateDecoder`] and
//! [`iot::decode`] for MQTT, [`decode_evtx`] for `.evtx` uploads), dropping the events: it
//! measures decoding, framing and storage excluded.
//!
//! ```text
//! cargo bench -p tandem-ingest --bench parsers              # full: ≥ 1 s per row, ~20 s
//! cargo bench -p tandem-ingest --bench parsers -- windows   # rows whose name contains `windows`
//! cargo bench -p tandem-ingest --bench parsers -- --quick   # 50 ms per row
//! cargo test -p tandem-ingest --benches                     # smoke test: quick mode
//! ```
//!
//! Without `--bench` on the command line (which `cargo bench` passes) the run is quick, as is
//! any run with `--quick` or `TANDEM_BENCH_QUICK=1`, so `cargo test --all-targets` stays fast
//! while still checking that every row decodes without error. The output is a Markdown table.

use serde_json::Value;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tandem_ingest::decode::{DecodeContext, Format, MessageDecoder};
use tandem_ingest::integrations::frigate::FrigateDecoder;
use tandem_ingest::integrations::iot::{self, IotMapping};
use tandem_ingest::integrations::mapping::Mapping;
use tandem_ingest::integrations::windows::decode_evtx;

#[path = "../tests/support/evtx.rs"]
#[allow(dead_code)] // the tests use parts the benchmark does not
mod evtx_support;

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!("../tests/fixtures/", $path))
    };
}

/// One messages/events count of a pass over a mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pass {
    messages: u64,
    events: u64,
}

/// One row: a mix of messages and how to decode one pass over it.
struct Case {
    name: String,
    /// Distinct messages in the mix.
    samples: usize,
    pass: Box<dyn FnMut() -> Pass>,
}

struct Settings {
    warmup: Duration,
    samples: usize,
    sample_time: Duration,
}

const FULL: Settings = Settings {
    warmup: Duration::from_millis(200),
    samples: 5,
    sample_time: Duration::from_millis(200),
};

const QUICK: Settings = Settings {
    warmup: Duration::ZERO,
    samples: 5,
    sample_time: Duration::from_millis(10),
};

/// The name `--list` gives nextest, so `cargo nextest run --benches` can run quick mode too.
const NEXTEST_NAME: &str = "smoke";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--list") {
        // libtest's listing protocol, as nextest asks for it: one test, not ignored.
        if !has("--ignored") {
            println!("{NEXTEST_NAME}: test");
        }
        return;
    }
    let env_quick = std::env::var("TANDEM_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let quick = has("--quick") || env_quick || !has("--bench");
    let filters: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--") && *a != NEXTEST_NAME)
        .map(String::as_str)
        .collect();
    let settings = if quick { &QUICK } else { &FULL };

    let mut cases = cases();
    cases.retain(|c| filters.is_empty() || filters.iter().any(|f| c.name.contains(f)));
    assert!(!cases.is_empty(), "no benchmark matches {filters:?}");

    println!(
        "tandem-ingest parse+normalise, one thread, {} mode: median of {} × {} ms after {} ms warm-up\n",
        if quick { "quick" } else { "full" },
        settings.samples,
        settings.sample_time.as_millis(),
        settings.warmup.as_millis(),
    );
    if quick {
        println!("(quick mode checks that every row runs; `cargo bench` gives the figures)\n");
    }
    println!("| format | samples | messages/s | events/s | ns/event | spread |");
    println!("|---|--:|--:|--:|--:|--:|");
    for case in &mut cases {
        let r = measure(case, settings);
        println!(
            "| {} | {} | {} | {} | {} | ±{:.0}% |",
            case.name,
            case.samples,
            thousands(r.messages_per_s),
            thousands(r.events_per_s),
            thousands(1e9 / r.events_per_s),
            r.spread * 50.0,
        );
    }
    println!(
        "\nsamples: distinct messages in the mix (cycled); spread: half the min–max range of events/s across samples, relative to the median."
    );
}

struct Measured {
    messages_per_s: f64,
    events_per_s: f64,
    /// (max − min) / median of events/s across samples.
    spread: f64,
}

/// Runs `case` for the warm-up, then `samples` times for at least `sample_time` each. Every
/// pass must give the counts the first one gave: a decode error panics inside the pass, and a
/// pass that stores fewer events (state from earlier passes deduplicating) fails here.
fn measure(case: &mut Case, settings: &Settings) -> Measured {
    let first = (case.pass)();
    assert!(first.events > 0, "{}: the mix gives no events", case.name);
    let check = |p: Pass| assert_eq!(p, first, "{}: a pass gave other counts", case.name);
    let start = Instant::now();
    while start.elapsed() < settings.warmup {
        check((case.pass)());
    }
    let mut rates = Vec::with_capacity(settings.samples);
    for _ in 0..settings.samples {
        let (mut messages, mut events) = (0u64, 0u64);
        let start = Instant::now();
        loop {
            let p = (case.pass)();
            check(p);
            messages += p.messages;
            events += p.events;
            if start.elapsed() >= settings.sample_time {
                break;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        rates.push((messages as f64 / secs, events as f64 / secs));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let events: Vec<f64> = rates.iter().map(|r| r.1).collect();
    let (min, max) = events
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &e| (lo.min(e), hi.max(e)));
    let events_per_s = median(events);
    Measured {
        messages_per_s: median(rates.iter().map(|r| r.0).collect()),
        events_per_s,
        spread: (max - min) / events_per_s,
    }
}

/// `1234567.8` → `1,234,568`.
fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ctx(source: &str) -> DecodeContext {
    DecodeContext::new(source, "2026-03-04T10:00:00Z".parse().unwrap())
}

/// Non-blank lines of a fixture that are not `#` comments.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// A JSON document re-serialised on one line.
fn compact(text: &str) -> String {
    serde_json::from_str::<Value>(text).unwrap().to_string()
}

/// The elements of a JSON array, or of an object's `value` array (a Graph page).
fn elements(text: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(text).unwrap();
    let list = match v {
        Value::Array(list) => list,
        Value::Object(mut map) => match map.remove("value") {
            Some(Value::Array(list)) => list,
            _ => panic!("no `value` array"),
        },
        _ => panic!("not an array"),
    };
    list.iter().map(Value::to_string).collect()
}

/// A row decoding `bodies` with [`MessageDecoder`], a fresh decoder per body, as the HTTP
/// pipeline makes one per request body (Zeek's `#fields` header applies to the rest of its
/// body only).
fn decoder_case(
    name: &str,
    format: Format,
    mapping: Option<Arc<Mapping>>,
    bodies: Vec<Vec<String>>,
) -> Case {
    let ctx = ctx(name);
    let samples = bodies.iter().map(Vec::len).sum();
    let name = name.to_owned();
    let label = name.clone();
    Case {
        name,
        samples,
        pass: Box::new(move || {
            let mut events = 0;
            let mut messages = 0;
            for body in &bodies {
                let mut decoder = MessageDecoder::new(format, mapping.clone());
                for message in body {
                    match decoder.decode(message.as_bytes(), &ctx) {
                        Ok(decoded) => events += black_box(decoded).len() as u64,
                        Err(e) => panic!("{label}: {e}: {message}"),
                    }
                }
                messages += body.len() as u64;
            }
            Pass { messages, events }
        }),
    }
}

fn one_body(name: &str, format: Format, messages: Vec<String>) -> Case {
    decoder_case(name, format, None, vec![messages])
}

/// Every decoded event of `messages`, serialised as Tandem's own format.
fn as_tandem(format: Format, messages: &[String]) -> Vec<String> {
    let ctx = ctx("upstream");
    let mut decoder = MessageDecoder::new(format, None);
    messages
        .iter()
        .flat_map(|m| decoder.decode(m.as_bytes(), &ctx).unwrap())
        .map(|e| serde_json::to_string(&e).unwrap())
        .collect()
}

fn cases() -> Vec<Case> {
    let auth = lines(fixture!("auth.log"));
    let cef = lines(fixture!("cef/access-control.log"));
    let winlogbeat: Vec<String> = lines(fixture!("windows/winlogbeat.jsonl"))
        .into_iter()
        .chain(lines(fixture!("windows/winlogbeat6-sysmon.jsonl")))
        .collect();
    let nxlog = lines(fixture!("windows/nxlog.jsonl"));
    let okta: Vec<String> = [
        fixture!("okta/logevent-docs-example.json"),
        fixture!("okta/failed-login.json"),
        fixture!("okta/account-lock.json"),
        fixture!("okta/proxy-mfa-failure.json"),
        fixture!("okta/reset-password.json"),
        fixture!("okta/lifecycle-deactivate.json"),
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(elements(fixture!("okta/logs-page.json")))
    .collect();
    let verkada: Vec<String> = [
        fixture!("verkada/door_granted.json"),
        fixture!("verkada/door_keycard_entered_rejected.json"),
        fixture!("verkada/door_code_entered_rejected.json"),
        fixture!("verkada/door_forced_open.json"),
        fixture!("verkada/door_held_open.json"),
        fixture!("verkada/door_tailgating.json"),
        fixture!("verkada/door_apb_double_entry.json"),
        fixture!("verkada/door_lockdown.json"),
        fixture!("verkada/door_acu_offline.json"),
        fixture!("verkada/door_tamper.json"),
        fixture!("verkada/alarm_site_state_changed.json"),
        fixture!("verkada/camera_motion_notification.json"),
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    let zeek_json = lines(fixture!("zeek/conn.json"));
    let badges = lines(fixture!("mapping/badge-events.jsonl"));

    // Tandem-to-Tandem forwarding: what upstream collectors made of the other samples.
    let tandem: Vec<String> = [
        as_tandem(Format::Syslog, &auth),
        as_tandem(Format::Syslog, &cef),
        as_tandem(Format::Windows, &winlogbeat),
        as_tandem(Format::Okta, &okta),
        as_tandem(Format::Verkada, &verkada),
        as_tandem(Format::Zeek, &zeek_json),
    ]
    .concat();
    // Any JSON per line: badge logs, Zeek, Entra storage-account exports, NXLog, Verkada.
    let json: Vec<String> = [
        badges.clone(),
        zeek_json.clone(),
        lines(fixture!("entra/storage-blob.jsonl")),
        nxlog.clone(),
        verkada.iter().map(|v| compact(v)).collect(),
    ]
    .concat();

    let mut entra = vec![fixture!("entra/graph-signin.json").to_owned()];
    entra.extend(elements(fixture!("entra/graph-page.json")));
    // The sample sign-in failed in the ways sign-ins usually fail: bad password, MFA
    // required, blocked by Conditional Access, locked out.
    for (code, reason) in [
        (50126, "Invalid username or password."),
        (50074, "Strong Authentication is required."),
        (
            53003,
            "Access has been blocked by Conditional Access policies.",
        ),
        (50053, "Account is locked."),
    ] {
        let mut v: Value = serde_json::from_str(fixture!("entra/graph-signin.json")).unwrap();
        v["status"] = serde_json::json!({"errorCode": code, "failureReason": reason});
        entra.push(v.to_string());
    }

    let zeek_tsv: Vec<Vec<String>> = [
        fixture!("zeek/conn.log"),
        fixture!("zeek/dns.log"),
        fixture!("zeek/conn-mysql-tls13.log"),
        fixture!("zeek/conn-zeek2.log"),
        fixture!("zeek/conn-headerless.log"),
    ]
    .into_iter()
    .map(|f| f.lines().map(str::to_owned).collect())
    .collect();

    let badge_mapping: Mapping =
        serde_json::from_str(fixture!("mapping/badge-mapping.json")).expect("badge mapping parses");
    badge_mapping.validate().expect("badge mapping is valid");

    vec![
        one_body("tandem (own JSON)", Format::Tandem, tandem),
        one_body("json (generic NDJSON)", Format::Json, json),
        one_body("syslog (auth.log)", Format::Syslog, auth),
        one_body("syslog + CEF (access control)", Format::Syslog, cef),
        one_body("windows (Winlogbeat JSON)", Format::Windows, winlogbeat),
        one_body("windows (NXLog JSON)", Format::Windows, nxlog),
        evtx_case(),
        one_body("okta (single events)", Format::Okta, okta),
        one_body("entra (Graph signIn)", Format::Entra, entra),
        one_body("verkada (webhooks)", Format::Verkada, verkada),
        decoder_case("zeek (TSV)", Format::Zeek, None, zeek_tsv),
        one_body("zeek (JSON)", Format::Zeek, zeek_json),
        decoder_case(
            "mapped (badge JSON)",
            Format::Mapped,
            Some(Arc::new(badge_mapping)),
            vec![badges],
        ),
        frigate_case(),
        iot_case(),
    ]
}

/// One `.evtx` upload: a full 64 KiB chunk of 4624/4625 records. A message is the file.
fn evtx_case() -> Case {
    let (file, records) = evtx_support::full_chunk_evtx();
    let ctx = ctx("win-dc");
    Case {
        name: format!("windows (EVTX file, {records} records)"),
        samples: records,
        pass: Box::new(move || {
            let mut events = 0;
            for (id, result) in decode_evtx(&file, &ctx) {
                match result {
                    Ok(e) => {
                        black_box(e);
                        events += 1;
                    }
                    Err(e) => panic!("EVTX record {id}: {e}"),
                }
            }
            Pass {
                messages: 1,
                events,
            }
        }),
    }
}

/// Frigate's documentation messages, one tracked object's and one review's whole life plus
/// status topics. Frigate's decoder stores an object once per change and forgets nothing it
/// still holds, so each pass uses the next of a pool of copies whose object ids, review ids
/// and camera names are unique, and the pool outlasts the decoder's tables (capacity 256,
/// pool 1024 passes): every pass decodes and stores what a first sighting would, and the
/// tables stay full and evicting, as in a long-running decoder.
fn frigate_case() -> Case {
    const POOL: usize = 1024;
    let fixture: Vec<(String, String)> = fixture!("frigate/messages.txt")
        .lines()
        .map(|l| {
            let (topic, payload) = l.split_once(' ').expect("topic and payload");
            (topic.to_owned(), payload.to_owned())
        })
        .collect();
    let samples = fixture.len();
    let unique = |text: &str, k: usize| {
        text.replace("-mxklsc", &format!("-mx{k:04}"))
            .replace("-fqk5ka", &format!("-fq{k:04}"))
            .replace("front_door", &format!("front_door{k}"))
            .replace("front_cam", &format!("front_cam{k}"))
    };
    let pool: Vec<Vec<(String, String)>> = (0..POOL)
        .map(|k| {
            fixture
                .iter()
                .map(|(t, p)| (unique(t, k), unique(p, k)))
                .collect()
        })
        .collect();
    let ctx = ctx("hq-nvr");
    let mut decoder = FrigateDecoder::with_capacity("frigate", 256);
    let mut next = 0;
    Case {
        name: "frigate (MQTT)".to_owned(),
        samples,
        pass: Box::new(move || {
            let messages = &pool[next];
            next = (next + 1) % POOL;
            let mut events = 0;
            for (topic, payload) in messages {
                match decoder.decode(topic, payload.as_bytes(), &ctx) {
                    Ok(decoded) => events += black_box(decoded).len() as u64,
                    Err(e) => panic!("frigate {topic}: {e}"),
                }
            }
            Pass {
                messages: messages.len() as u64,
                events,
            }
        }),
    }
}

/// Tasmota, Zigbee2MQTT and Shelly samples through the fixture's topic rules.
fn iot_case() -> Case {
    let mapping: IotMapping =
        serde_json::from_str(fixture!("iot/mapping.json")).expect("IoT mapping parses");
    mapping.validate().expect("IoT mapping is valid");
    let messages: Vec<(String, String)> = fixture!("iot/messages.txt")
        .lines()
        .map(|l| {
            let (topic, payload) = l.split_once(' ').expect("topic and payload");
            (topic.to_owned(), payload.to_owned())
        })
        .collect();
    let ctx = ctx("site-mqtt");
    Case {
        name: "iot (MQTT)".to_owned(),
        samples: messages.len(),
        pass: Box::new(move || {
            let mut events = 0;
            for (topic, payload) in &messages {
                match iot::decode(&mapping, topic, payload.as_bytes(), &ctx) {
                    Ok(decoded) => events += black_box(decoded).len() as u64,
                    Err(e) => panic!("iot {topic}: {e}"),
                }
            }
            Pass {
                messages: messages.len() as u64,
                events,
            }
        }),
    }
}
