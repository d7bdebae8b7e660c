//! `tandem kpis`: the shared KPIs of a period from a running server
//! (`GET /api/v1/kpis`), as a table, the server's JSON, or one table as CSV.

use crate::client::{Server, get};
use clap::Args;
use serde_json::Value;

#[derive(Args)]
pub struct KpisArgs {
    /// Start of the period: `2025-03-01`, RFC 3339 or `now-30d` (90 days before `--to` when
    /// not given).
    #[arg(long)]
    pub from: Option<String>,
    /// End of the period, exclusive (now when not given).
    #[arg(long)]
    pub to: Option<String>,
    /// Group by: severity, department, type, site, month (comma-separated).
    #[arg(long, default_value = "severity")]
    pub by: String,
    /// Print the server's JSON.
    #[arg(long)]
    pub json: bool,
    /// Print one table as CSV: overall, severity, department, type, site, month, sla,
    /// overdue, excluded.
    #[arg(long, value_name = "TABLE")]
    pub csv: Option<String>,
    #[command(flatten)]
    pub server: Server,
}

/// A duration in seconds, in words.
fn d(v: &Value) -> String {
    match v.as_f64() {
        None => "-".into(),
        Some(s) if s < 60.0 => format!("{s:.0}s"),
        Some(s) if s < 3600.0 => format!("{:.0}m", s / 60.0),
        Some(s) if s < 86_400.0 => format!("{:.1}h", s / 3600.0),
        Some(s) => format!("{:.1}d", s / 86_400.0),
    }
}

/// A median with its p90 and how many incidents have the milestone.
fn stat(v: &Value) -> String {
    format!("{}/{} n={}", d(&v["median"]), d(&v["p90"]), v["n"])
}

fn row(label: &str, g: &Value) {
    say!(
        "{:<24} {:>6} {:>7} {:<16} {:<16} {:<16} {:<16} {:>8}",
        label,
        g["incidents"],
        g["index"],
        stat(&g["mttd"]),
        stat(&g["mtta"]),
        stat(&g["mttc"]),
        stat(&g["mttr"]),
        d(&g["weighted_mttr"])
    );
}

/// `tandem kpis`.
pub fn kpis(args: KpisArgs) -> anyhow::Result<()> {
    let mut query = vec![("by", args.by.clone())];
    if let Some(f) = &args.from {
        query.push(("from", f.clone()));
    }
    if let Some(t) = &args.to {
        query.push(("to", t.clone()));
    }
    if let Some(table) = &args.csv {
        query.push(("format", "csv".into()));
        query.push(("table", table.clone()));
        let v = get(&args.server, "/api/v1/kpis", &query)?;
        // CSV is for programs and spreadsheets: printed as the server wrote it.
        print!("{}", v.as_str().unwrap_or_default());
        return Ok(());
    }
    let v = get(&args.server, "/api/v1/kpis", &query)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    say!(
        "Incidents detected from {} to {}{}",
        s(&v["window"]["from"]),
        s(&v["window"]["to"]),
        v["scope"]
            .as_str()
            .map(|d| format!(" with a task for {d}"))
            .unwrap_or_default()
    );
    say!(
        "{:<24} {:>6} {:>7} {:<16} {:<16} {:<16} {:<16} {:>8}",
        "GROUP",
        "COUNT",
        "INDEX",
        "MTTD med/p90",
        "MTTA med/p90",
        "MTTC med/p90",
        "MTTR med/p90",
        "W-MTTR"
    );
    row("all", &v["overall"]);
    for by in args.by.split(',').map(str::trim) {
        for g in v["by"][by].as_array().cloned().unwrap_or_default() {
            row(&format!("{by} {}", s(&g["label"])), &g);
        }
    }
    let sla = v["sla"].as_array().cloned().unwrap_or_default();
    if !sla.is_empty() {
        say!();
        say!(
            "{:<12} {:<24} {:>6} {:>6} {:>10}",
            "DEPARTMENT",
            "TASK",
            "JUDGED",
            "MET",
            "COMPLIANCE"
        );
        for r in sla {
            say!(
                "{:<12} {:<24} {:>6} {:>6} {:>10}",
                s(&r["department"]),
                r["task"]
                    .as_str()
                    .filter(|t| !t.is_empty())
                    .unwrap_or("(all)"),
                r["judged"],
                r["met"],
                r["compliance"]
                    .as_f64()
                    .map(|c| format!("{:.0}%", c * 100.0))
                    .unwrap_or_else(|| "-".into())
            );
        }
    }
    let overdue = v["overdue"].as_array().map(Vec::len).unwrap_or(0);
    say!();
    say!("{overdue} tasks overdue now");
    for e in v["excluded"].as_array().cloned().unwrap_or_default() {
        say!("excluded: {} {}", e["incidents"], s(&e["resolution"]));
    }
    say!("Definitions: GET /api/v1/kpis (\"definitions\") or docs/kpis.md");
    Ok(())
}
