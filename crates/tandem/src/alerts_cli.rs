//! `tandem alerts`: the alert queue from the command line, and acknowledging or closing an
//! alert.

use crate::client::{Server, agent, get, json_response};
use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

#[derive(Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub action: Option<AlertsAction>,
    /// Only alerts in these states (`new`, `acknowledged`, `in_progress`, `closed`; commas).
    #[arg(long)]
    pub status: Option<String>,
    /// Only alerts at least this severe.
    #[arg(long)]
    pub severity: Option<String>,
    /// Prints the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[command(flatten)]
    pub server: Server,
}

#[derive(Subcommand)]
pub enum AlertsAction {
    /// Acknowledges an alert.
    Ack { id: String },
    /// Closes an alert with a resolution.
    Close {
        id: String,
        /// `true_positive`, `false_positive`, `benign`, `duplicate` or `indeterminate`.
        #[arg(long, default_value = "true_positive")]
        resolution: String,
    },
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

pub fn alerts(args: AlertsArgs) -> anyhow::Result<()> {
    match &args.action {
        Some(AlertsAction::Ack { id }) => change(&args, id, json!({"status": "acknowledged"})),
        Some(AlertsAction::Close { id, resolution }) => change(
            &args,
            id,
            json!({"status": "closed", "resolution": resolution}),
        ),
        None => list(&args),
    }
}

fn list(args: &AlertsArgs) -> anyhow::Result<()> {
    let mut query = vec![("limit", args.limit.to_string())];
    if let Some(s) = &args.status {
        query.push(("status", s.clone()));
    }
    if let Some(s) = &args.severity {
        query.push(("severity", s.clone()));
    }
    let v = get(&args.server, "/api/v1/alerts", &query)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    say!(
        "{:<9} {:<13} {:<9} {:>5} {:<20} TITLE",
        "ID",
        "STATUS",
        "SEVERITY",
        "COUNT",
        "LAST SEEN"
    );
    for a in v["alerts"].as_array().cloned().unwrap_or_default() {
        say!(
            "{:<9} {:<13} {:<9} {:>5} {:<20} {}",
            s(&a, "id"),
            s(&a, "status"),
            s(&a, "severity"),
            a["count"].as_u64().unwrap_or(0),
            s(&a, "last_seen").get(..19).unwrap_or(s(&a, "last_seen")),
            s(&a, "title")
        );
    }
    say!("{} alerts", v["total"]);
    Ok(())
}

/// Reads the alert's current version, then changes it from that version.
fn change(args: &AlertsArgs, id: &str, mut body: Value) -> anyhow::Result<()> {
    if urlencoding(id) != id || id.is_empty() {
        anyhow::bail!("`{id}` is not an alert id (ALR-<n>)");
    }
    let path = format!("/api/v1/alerts/{id}");
    let current = get(&args.server, &path, &[])?;
    body["base_version"] = current["alert"]["version"].clone();
    let mut request = agent().patch(format!("{}{path}", args.server.url.trim_end_matches('/')));
    if let Some(t) = &args.server.token {
        request = request.header("Authorization", format!("Bearer {t}"));
    }
    let v = json_response(
        request
            .send_json(&body)
            .with_context(|| format!("cannot reach {}", args.server.url))?,
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let a = &v["alert"];
        say!("{} is {}", s(a, "id"), s(a, "status"));
    }
    Ok(())
}

/// An alert id as one path segment; ids are `ALR-<n>`, so anything else is refused here.
fn urlencoding(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}
