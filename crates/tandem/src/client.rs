//! Command-line clients of a running server's HTTP API.

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;

#[derive(Args)]
pub struct Server {
    /// Base URL of the Tandem server.
    #[arg(long, env = "TANDEM_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// API token (printed at first start).
    #[arg(long, env = "TANDEM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Reads a response body as JSON, turning an error status into the server's message.
pub(crate) fn json_response(
    mut response: ureq::http::Response<ureq::Body>,
) -> anyhow::Result<Value> {
    let status = response.status();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    let value: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    if !status.is_success() {
        let message = value
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| value.to_string());
        let caret = value
            .get("caret")
            .and_then(Value::as_str)
            .map(|c| format!("\n{c}"))
            .unwrap_or_default();
        bail!("{} {message}{caret}", status.as_u16());
    }
    Ok(value)
}

pub(crate) fn get(server: &Server, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
    let mut request = agent().get(format!("{}{path}", server.url.trim_end_matches('/')));
    for (k, v) in query {
        request = request.query(k, v);
    }
    if let Some(t) = &server.token {
        request = request.header("Authorization", format!("Bearer {t}"));
    }
    json_response(
        request
            .call()
            .with_context(|| format!("cannot reach {}", server.url))?,
    )
}

#[derive(Args)]
pub struct IngestArgs {
    /// NDJSON or CSV file (`-` for standard input).
    pub file: PathBuf,
    /// The registered source to ingest as.
    #[arg(long)]
    pub source: String,
    /// The source's API key.
    #[arg(long, env = "TANDEM_SOURCE_KEY", hide_env_values = true)]
    pub key: String,
    #[arg(long, env = "TANDEM_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Bytes per request.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    pub chunk_bytes: usize,
}

/// Sends a file in chunks cut at record boundaries; CSV chunks repeat the header row.
pub fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    let (reader, total): (Box<dyn Read>, u64) = if args.file.as_os_str() == "-" {
        (Box::new(std::io::stdin()), 0)
    } else {
        let f = std::fs::File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        (Box::new(f), len)
    };
    let ext = |x: &str| {
        args.file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case(x))
    };
    let is_csv = ext("csv");
    // An `.evtx` file or a `.json` document (an Okta log page, a Graph export) only makes
    // sense whole; cutting it at line breaks would break it.
    let whole = ext("evtx") || ext("json");
    let bar = if total > 0 {
        ProgressBar::new(total)
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let url = format!(
        "{}/api/v1/ingest/{}",
        args.url.trim_end_matches('/'),
        args.source
    );
    let agent = agent();
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut header = Vec::new();
    if is_csv {
        reader.read_until(b'\n', &mut header)?;
        bar.inc(header.len() as u64);
    }
    let (mut accepted, mut rejected) = (0u64, 0u64);
    let mut errors: Vec<String> = Vec::new();
    let mut chunk = Vec::with_capacity(args.chunk_bytes + 4096);
    let mut line = Vec::new();
    let mut quotes_open = false;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n > 0 {
            bar.inc(n as u64);
            if is_csv {
                // A quoted CSV field may hold newlines: only cut where quotes are balanced.
                quotes_open ^= line.iter().filter(|&&b| b == b'"').count() % 2 == 1;
            }
            chunk.extend_from_slice(&line);
        }
        let full = chunk.len() >= args.chunk_bytes && !quotes_open && !whole;
        if (full || n == 0) && !chunk.is_empty() {
            let mut body = header.clone();
            body.append(&mut chunk);
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&body)?;
            let response = agent
                .post(&url)
                .header("Authorization", format!("Bearer {}", args.key))
                .header("Content-Encoding", "gzip")
                .header(
                    "Content-Type",
                    if is_csv {
                        "text/csv"
                    } else {
                        "application/x-ndjson"
                    },
                )
                .send(&gz.finish()?)
                .with_context(|| format!("cannot reach {}", args.url))?;
            let report = json_response(response)?;
            accepted += report["accepted"].as_u64().unwrap_or(0);
            rejected += report["rejected"].as_u64().unwrap_or(0);
            if let Some(list) = report["errors"].as_array() {
                for e in list.iter().take(20usize.saturating_sub(errors.len())) {
                    errors.push(format!(
                        "line {} of a chunk: {}",
                        e["line"],
                        e["error"].as_str().unwrap_or("")
                    ));
                }
            }
            bar.set_message(format!("{accepted} accepted, {rejected} rejected"));
        }
        if n == 0 {
            break;
        }
    }
    bar.finish();
    say!("{accepted} events stored, {rejected} rejected (kept as dead letters)");
    for e in &errors {
        say!("  {e}");
    }
    Ok(())
}

#[derive(Args)]
pub struct SearchArgs {
    /// The query, e.g. `user:alice AND class:authentication | count by src.ip`.
    pub query: String,
    #[arg(long)]
    pub from: Option<String>,
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print the raw JSON answer.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: Server,
}

pub fn search(args: SearchArgs) -> anyhow::Result<()> {
    let mut query = vec![("q", args.query.clone()), ("limit", args.limit.to_string())];
    if let Some(f) = &args.from {
        query.push(("from", f.clone()));
    }
    if let Some(t) = &args.to {
        query.push(("to", t.clone()));
    }
    let result = get(&args.server, "/api/v1/search", &query)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
        return Ok(());
    }
    match result["kind"].as_str() {
        Some("events") => {
            let events = result["events"].as_array().cloned().unwrap_or_default();
            say!(
                "{} events{}",
                result["total"],
                if events.len() < result["total"].as_u64().unwrap_or(0) as usize {
                    format!(", newest {} shown", events.len())
                } else {
                    String::new()
                }
            );
            for e in events {
                let who = e["actor"]["user"]
                    .as_str()
                    .or(e["actor"]["badge"].as_str())
                    .unwrap_or("-");
                let message = e["message"]
                    .as_str()
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .unwrap_or_else(|| {
                        format!(
                            "{} {}",
                            e["class"].as_str().unwrap_or(""),
                            e["activity"].as_str().unwrap_or("")
                        )
                    });
                say!(
                    "{}  {:<18} {:<8} {:<16} {}",
                    e["time"].as_str().unwrap_or(""),
                    e["activity"].as_str().unwrap_or(""),
                    e["outcome"].as_str().unwrap_or(""),
                    who,
                    message
                );
            }
        }
        _ => {
            let by: Vec<String> = result["by"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|v| v.as_str().unwrap_or("").to_owned())
                        .collect()
                })
                .unwrap_or_default();
            if let Some(buckets) = result["buckets"].as_array() {
                for b in buckets {
                    let counts: Vec<String> = b["counts"]
                        .as_array()
                        .map(|c| {
                            c.iter()
                                .map(|p| format!("{}={}", display(&p[0]), p[1]))
                                .collect()
                        })
                        .unwrap_or_default();
                    say!(
                        "{}  {}",
                        b["start"].as_str().unwrap_or(""),
                        counts.join("  ")
                    );
                }
            } else {
                say!("{}\tcount", by.join("\t"));
                for row in result["rows"].as_array().cloned().unwrap_or_default() {
                    let keys: Vec<String> = row[0]
                        .as_array()
                        .map(|k| k.iter().map(display).collect())
                        .unwrap_or_default();
                    say!("{}\t{}", keys.join("\t"), row[1]);
                }
            }
        }
    }
    Ok(())
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

#[derive(Args)]
pub struct SourcesArgs {
    #[command(subcommand)]
    pub action: Option<SourcesAction>,
    #[command(flatten)]
    pub server: Server,
}

#[derive(clap::Subcommand)]
pub enum SourcesAction {
    /// Registers a source and prints its API key (shown once).
    Add {
        name: String,
        /// Any format that needs only an API key: `tandem`, `json`, `csv`, `syslog`, `windows`,
        /// `okta`, `entra`, `cef` or `zeek`. Signed (`verkada`), `mapped` and MQTT (`frigate`,
        /// `iot`) sources are declared in tandem.toml.
        #[arg(long, default_value = "json")]
        format: String,
        #[arg(long)]
        vendor: Option<String>,
        #[arg(long)]
        product: Option<String>,
    },
}

pub fn sources(args: SourcesArgs) -> anyhow::Result<()> {
    if let Some(SourcesAction::Add {
        name,
        format,
        vendor,
        product,
    }) = args.action
    {
        let mut request = agent().post(format!(
            "{}/api/v1/sources",
            args.server.url.trim_end_matches('/')
        ));
        if let Some(t) = &args.server.token {
            request = request.header("Authorization", format!("Bearer {t}"));
        }
        let body = serde_json::json!({"name": name, "format": format, "vendor": vendor, "product": product});
        let created = json_response(
            request
                .send_json(&body)
                .with_context(|| format!("cannot reach {}", args.server.url))?,
        )?;
        say!(
            "source `{}` registered",
            created["name"].as_str().unwrap_or("")
        );
        say!(
            "API key (shown once): {}",
            created["api_key"].as_str().unwrap_or("")
        );
        return Ok(());
    }
    let list = get(&args.server, "/api/v1/sources", &[])?;
    say!(
        "{:<16} {:<8} {:<26} {:>10} {:>12} {:>8}",
        "SOURCE",
        "FORMAT",
        "LAST EVENT",
        "EVENTS/MIN",
        "EVENTS",
        "DEAD"
    );
    for s in list.as_array().cloned().unwrap_or_default() {
        say!(
            "{:<16} {:<8} {:<26} {:>10.1} {:>12} {:>8}",
            s["name"].as_str().unwrap_or(""),
            s["format"].as_str().unwrap_or("-"),
            s["last_event_time"].as_str().unwrap_or("never"),
            s["events_per_minute"].as_f64().unwrap_or(0.0),
            s["events_total"].as_u64().unwrap_or(0),
            s["dead_letters_total"].as_u64().unwrap_or(0),
        );
    }
    Ok(())
}

#[derive(Args)]
pub struct DeadLetterArgs {
    #[arg(long)]
    pub source: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[command(flatten)]
    pub server: Server,
}

pub fn dead_letters(args: DeadLetterArgs) -> anyhow::Result<()> {
    let mut query = vec![("limit", args.limit.to_string())];
    if let Some(s) = &args.source {
        query.push(("source", s.clone()));
    }
    let list = get(&args.server, "/api/v1/dead-letters", &query)?;
    for d in list.as_array().cloned().unwrap_or_default() {
        say!(
            "{}  {}  {}",
            d["time"].as_str().unwrap_or(""),
            d["source"].as_str().unwrap_or(""),
            d["reason"].as_str().unwrap_or("")
        );
        let raw = d["raw"].as_str().unwrap_or("");
        say!("    {}", raw.chars().take(200).collect::<String>());
    }
    Ok(())
}
