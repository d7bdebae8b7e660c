//! The incidents stage in the server: what it is built from (the store, the playbooks in
//! force, the pipeline that announces its changes, the directory's sites for business hours),
//! the SLA check once a minute, and `tandem incidents`.

use crate::client::{Server, get};
use clap::Args;
use serde_json::Value;
use std::sync::Arc;
use tandem_cases::incidents::{Incidents, IncidentsConfig, PlaybookSource, SiteCalendar};
use tandem_identity::Identity;
use tandem_identity::hours::AllowedHours;
use tandem_model::Timestamp;
use tandem_pipeline::pipeline::Pipeline;
use tandem_store::SqliteStore;
use tokio::sync::watch;

/// Sites' time zones, holidays and hours from the identity directory.
struct DirectoryCalendar(Arc<Identity>);

impl SiteCalendar for DirectoryCalendar {
    fn utc_offset_minutes(&self, site: &str, t: Timestamp) -> Option<i32> {
        let dir = self.0.snapshot();
        let zone = dir.place(site)?.time_zone.clone()?;
        tandem_detect::native::utc_offset_minutes(&zone, t)
    }

    fn business_hours(&self, site: &str) -> Option<AllowedHours> {
        self.0.snapshot().place(site)?.allowed_hours.clone()
    }

    fn holidays(&self, site: &str) -> Vec<chrono::NaiveDate> {
        self.0
            .snapshot()
            .place(site)
            .map(|p| p.holidays.clone())
            .unwrap_or_default()
    }
}

/// The incidents stage for `serve`, taking its playbooks from the set in force at each use, so
/// a reload applies to the next incident opened.
pub fn build(
    config: &IncidentsConfig,
    store: Arc<SqliteStore>,
    identity: Arc<Identity>,
    pipeline: Arc<Pipeline>,
    in_force: Arc<tandem_cases::playbook::Playbooks>,
) -> anyhow::Result<Arc<Incidents>> {
    let playbooks: PlaybookSource = Arc::new(move || in_force.current());
    Ok(Arc::new(Incidents::new(
        store.clone(),
        store,
        playbooks,
        Arc::new(crate::alerting::PipelineAnnounce(pipeline)),
        Arc::new(DirectoryCalendar(identity)),
        config.clone(),
    )))
}

/// Runs the SLA check once a minute until shutdown.
pub async fn run_ticks(incidents: Arc<Incidents>, mut shutdown: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(60));
    interval.tick().await;
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let incidents = incidents.clone();
        match tokio::task::spawn_blocking(move || incidents.tick(chrono::Utc::now())).await {
            Ok(Ok(r))
                if !r.warned.is_empty() || !r.breached.is_empty() || !r.overdue.is_empty() =>
            {
                tracing::info!(
                    warned = r.warned.len(),
                    breached = r.breached.len(),
                    overdue = r.overdue.len(),
                    "incident SLA check"
                )
            }
            Ok(Err(e)) => tracing::error!(error = %e, "incident SLA check failed"),
            _ => {}
        }
    }
}

#[derive(Args)]
pub struct IncidentsArgs {
    /// One incident (`INC-4`) with its tasks and timeline; without it, the list.
    pub id: Option<String>,
    /// Only these statuses (`open`, `new`, `closed`, comma-separated).
    #[arg(long)]
    pub status: Option<String>,
    /// Print the server's JSON.
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[command(flatten)]
    pub server: Server,
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// `tandem incidents [ID]`.
pub fn incidents(args: IncidentsArgs) -> anyhow::Result<()> {
    if let Some(id) = &args.id {
        let v = get(&args.server, &format!("/api/v1/incidents/{id}"), &[])?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&v)?);
            return Ok(());
        }
        print_one(&v);
        return Ok(());
    }
    let mut query = vec![("limit", args.limit.to_string())];
    if let Some(st) = args.status {
        query.push(("status", st));
    }
    let v = get(&args.server, "/api/v1/incidents", &query)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    say!(
        "{:<9} {:<9} {:<12} {:<6} {:<28} TITLE",
        "ID",
        "SEVERITY",
        "STATUS",
        "TASKS",
        "DEPARTMENTS"
    );
    for i in v["incidents"].as_array().cloned().unwrap_or_default() {
        let departments: Vec<&str> = i["departments"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        say!(
            "{:<9} {:<9} {:<12} {:<6} {:<28} {}",
            s(&i, "id"),
            s(&i, "severity"),
            s(&i, "status"),
            format!("{}/{}", i["tasks_open"], i["tasks"]),
            departments.join(","),
            s(&i, "title")
        );
    }
    say!("{} incidents", v["total"]);
    Ok(())
}

fn print_one(v: &Value) {
    let i = &v["incident"];
    say!("{}  {}", s(i, "id"), s(i, "title"));
    say!(
        "severity {}  status {}  playbook {}  version {}",
        s(i, "severity"),
        s(i, "status"),
        s(i, "playbook"),
        i["version"]
    );
    if let Some(m) = i["milestones"].as_object() {
        let set: Vec<String> = m
            .iter()
            .filter_map(|(k, t)| t.as_str().map(|t| format!("{k} {t}")))
            .collect();
        say!("milestones: {}", set.join(", "));
    }
    say!();
    say!(
        "{:<24} {:<11} {:<12} {:<10} ASSIGNEE",
        "TASK",
        "DEPARTMENT",
        "STATE",
        "SLA"
    );
    for t in i["tasks"].as_array().cloned().unwrap_or_default() {
        say!(
            "{:<24} {:<11} {:<12} {:<10} {}",
            s(&t, "id"),
            s(&t, "department"),
            s(&t, "state"),
            if t["sla"].is_null() {
                "-"
            } else {
                s(&t, "sla_state")
            },
            s(&t, "assignee")
        );
    }
    say!();
    say!("timeline:");
    for e in v["timeline"].as_array().cloned().unwrap_or_default() {
        say!(
            "  {:<20} {:<12} {:<16} {}",
            s(&e, "time").get(..19).unwrap_or(s(&e, "time")),
            s(&e, "actor"),
            s(&e, "kind"),
            e["detail"]
        );
    }
}
