//! `tandem report briefing`: the security committee's briefing pack from a running server
//! (`GET /api/v1/committee/briefing`), written to a file: a PDF printed by the server's
//! headless Chromium, or the printable HTML page when the server cannot print (it says why,
//! and so does this command).

use crate::client::{Server, agent};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub report: Report,
}

#[derive(Subcommand)]
pub enum Report {
    /// The security committee's briefing pack: KPIs since the last meeting with trends,
    /// notable incidents, SLA misses by department, open action items, the next chair.
    Briefing(BriefingArgs),
}

#[derive(Args)]
pub struct BriefingArgs {
    /// Start of the period: `2025-03-01`, RFC 3339 or `now-30d` (the last meeting's date when
    /// not given).
    #[arg(long)]
    pub from: Option<String>,
    /// End of the period, exclusive (now when not given).
    #[arg(long)]
    pub to: Option<String>,
    /// The file to write: a PDF, or the printable HTML page when the name ends in `.html`.
    /// When the server cannot print (no Chromium), the page is written beside it as `.html`.
    #[arg(long, default_value = "briefing.pdf")]
    pub out: PathBuf,
    #[command(flatten)]
    pub server: Server,
}

/// `tandem report …`.
pub fn report(args: ReportArgs) -> anyhow::Result<()> {
    match args.report {
        Report::Briefing(b) => briefing(b),
    }
}

fn briefing(args: BriefingArgs) -> anyhow::Result<()> {
    let html = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    let url = format!(
        "{}/api/v1/committee/briefing",
        args.server.url.trim_end_matches('/')
    );
    let mut request = agent()
        .get(&url)
        .query("format", if html { "html" } else { "pdf" });
    for (k, v) in [("from", &args.from), ("to", &args.to)] {
        if let Some(v) = v {
            request = request.query(k, v);
        }
    }
    if let Some(t) = &args.server.token {
        request = request.header("Authorization", format!("Bearer {t}"));
    }
    let mut response = request
        .call()
        .with_context(|| format!("cannot reach {}", args.server.url))?;
    let status = response.status();
    let unavailable = response
        .headers()
        .get("tandem-pdf-unavailable")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    response
        .body_mut()
        .as_reader()
        .read_to_end(&mut body)
        .context("reading the briefing pack")?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(300).collect());
        bail!("{} {message}", status.as_u16());
    }
    let out = match &unavailable {
        Some(_) if !html => args.out.with_extension("html"),
        _ => args.out.clone(),
    };
    write(&out, &body)?;
    match unavailable {
        Some(why) if !html => {
            eprintln!("{}", crate::terminal::escape(&format!("No PDF: {why}.")));
            say!("Wrote the printable page to {}", out.display());
        }
        _ => say!("Wrote the briefing pack to {}", out.display()),
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
