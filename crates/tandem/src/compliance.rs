//! The compliance module's wiring: the library read from the shipped files and
//! `[compliance] dirs`, the facts only the server knows (retention in force, rules switched
//! on), the evidence tick that snapshots every definition on a schedule (like the SLA tick),
//! and `tandem compliance export`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use tandem_compliance::{Compliance, Facts, Library};
use tandem_store::{RetentionPolicy, SqliteStore};
use tokio::sync::watch;

use crate::client::{Server, agent};

/// `[compliance]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComplianceConfig {
    /// Minutes between evidence snapshots; 0 takes none on a schedule (run them from the
    /// console or the API).
    pub snapshot_minutes: u64,
    /// Directories of catalogue, mapping and evidence files read after the shipped ones: a
    /// file of the same framework (or evidence id) replaces the shipped one.
    pub dirs: Vec<PathBuf>,
}

impl Default for ComplianceConfig {
    fn default() -> Self {
        ComplianceConfig {
            snapshot_minutes: 60,
            dirs: Vec::new(),
        }
    }
}

/// Retention from the configuration, rules from the rule engine.
struct ServerFacts {
    retention: RetentionPolicy,
    rules: Option<Arc<dyn tandem_web::RuleControl>>,
}

impl Facts for ServerFacts {
    fn retention(&self) -> RetentionPolicy {
        self.retention.clone()
    }

    fn rules_enabled(&self) -> Option<u64> {
        let rules = self.rules.as_ref()?;
        let list = rules.list();
        Some(list["rules"].as_array().map_or(0, |r| {
            r.iter().filter(|r| r["enabled"] == true).count() as u64
        }))
    }
}

/// The compliance module over the store; invalid files are logged and left out.
pub fn build(
    config: &crate::config::Config,
    store: Arc<SqliteStore>,
    rules: Option<Arc<dyn tandem_web::RuleControl>>,
) -> Arc<Compliance> {
    let (library, errors) = Library::load(&config.compliance.dirs);
    for e in &errors {
        tracing::error!(error = %e, "compliance file left out");
    }
    Arc::new(Compliance {
        library: Arc::new(library),
        events: store.clone(),
        cases: store.clone(),
        store,
        facts: Arc::new(ServerFacts {
            retention: config.retention.policy(),
            rules,
        }),
        kpis: Arc::new(config.kpis.clone()),
    })
}

/// Snapshots every evidence definition every `minutes`, the first a minute after start.
pub async fn run_ticks(
    compliance: Arc<Compliance>,
    minutes: u64,
    mut shutdown: watch::Receiver<bool>,
) {
    if minutes == 0 {
        return;
    }
    let start = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut interval =
        tokio::time::interval_at(start, std::time::Duration::from_secs(minutes * 60));
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let c = compliance.clone();
        match tokio::task::spawn_blocking(move || c.collect(None, chrono::Utc::now())).await {
            Ok(Ok(taken)) => {
                let passing = taken.iter().filter(|s| s.input.status == "pass").count();
                tracing::info!(
                    snapshots = taken.len(),
                    passing,
                    "compliance evidence snapshot"
                );
            }
            Ok(Err(e)) => tracing::error!(error = %e, "compliance evidence snapshot failed"),
            Err(e) => tracing::error!(error = %e, "compliance evidence snapshot failed"),
        }
    }
}

/// The demo company's Statement of Applicability: owners and statuses for the controls
/// Tandem gathers evidence for, and one control that does not apply. Rows already written
/// (a demo restarted on its data) are left as they are.
pub fn seed_demo(c: &Compliance, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<usize> {
    use tandem_compliance::soa::{self, Edit};
    const ROWS: &[(&str, &str, &str, &str)] = &[
        (
            "A.5.18",
            "hr",
            "partial",
            "Leavers' badges and accounts are revoked from the HR export; timeliness is not measured yet.",
        ),
        (
            "A.5.24",
            "security",
            "implemented",
            "Incidents are run through playbooks with departments' tasks and SLAs in Tandem.",
        ),
        (
            "A.5.25",
            "security",
            "implemented",
            "Detections are triaged in Tandem's alert queue before an incident is opened.",
        ),
        (
            "A.5.26",
            "security",
            "implemented",
            "Playbook tasks per department, with SLA timers and escalation.",
        ),
        (
            "A.5.27",
            "security",
            "partial",
            "Post-incident reviews gate closing high incidents; action items are tracked to done.",
        ),
        (
            "A.5.28",
            "legal",
            "implemented",
            "Evidence files are kept by their SHA-256 beside the incident's append-only timeline.",
        ),
        (
            "A.6.3",
            "hr",
            "planned",
            "Annual awareness training; participation is not recorded in Tandem yet.",
        ),
        (
            "A.6.8",
            "security",
            "planned",
            "Employees report suspicious mail and events; report handling is being set up.",
        ),
        (
            "A.7.2",
            "facilities",
            "implemented",
            "Badge readers on every door of the head office and the data centre.",
        ),
        (
            "A.7.4",
            "facilities",
            "implemented",
            "Cameras on entrances and restricted zones, watched by the control room.",
        ),
        (
            "A.8.15",
            "it",
            "implemented",
            "Security-relevant logs of every system are collected by Tandem.",
        ),
        (
            "A.8.16",
            "security",
            "implemented",
            "Tandem's detections run on every event in the stream.",
        ),
        (
            "A.8.17",
            "it",
            "implemented",
            "Systems synchronise with the company's NTP servers; skew is measured per source.",
        ),
        (
            "A.8.28",
            "it",
            "implemented",
            "Nordlys AS develops no software of its own.",
        ),
    ];
    let framework = "iso27001-2022";
    let stored = c.store.controls(framework)?;
    let mut written = 0;
    for (id, owner, status, why) in ROWS {
        if stored.iter().any(|r| r.control == *id) {
            continue;
        }
        let edit = Edit {
            owner: (*owner).to_owned(),
            applicable: *id != "A.8.28",
            justification: (*why).to_owned(),
            status: (*status).to_owned(),
            version: 0,
        };
        soa::check(framework, id, &edit, &c.library).map_err(|e| anyhow::anyhow!(e))?;
        c.store
            .put_control(&soa::record(framework, id, &edit, "tandem-demo", now))?;
        written += 1;
    }
    Ok(written)
}

#[derive(Args)]
pub struct ComplianceArgs {
    #[command(subcommand)]
    pub action: ComplianceAction,
}

#[derive(Subcommand)]
pub enum ComplianceAction {
    /// Downloads the auditor's bundle from a running server: the Statement of
    /// Applicability, each control's evidence (CSV, JSON, HTML) and a SHA-256 manifest.
    Export {
        /// `iso27001-2022` or `nist-csf-2.0`.
        #[arg(long, default_value = "iso27001-2022")]
        framework: String,
        /// Where to write the zip.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        server: Server,
    },
    /// Checks a bundle's files against its manifest (offline).
    Verify {
        /// The zip `export` wrote.
        bundle: PathBuf,
    },
}

/// `tandem compliance`.
pub fn compliance(args: ComplianceArgs) -> anyhow::Result<()> {
    match args.action {
        ComplianceAction::Export {
            framework,
            out,
            server,
        } => {
            let mut request = agent()
                .get(format!(
                    "{}/api/v1/compliance/export",
                    server.url.trim_end_matches('/')
                ))
                .query("framework", &framework);
            if let Some(t) = &server.token {
                request = request.header("Authorization", format!("Bearer {t}"));
            }
            let response = request
                .call()
                .with_context(|| format!("cannot reach {}", server.url))?;
            if !response.status().is_success() {
                crate::client::json_response(response)?;
                anyhow::bail!("the server refused the export");
            }
            let mut body = response.into_body().into_reader();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut body, &mut bytes)
                .context("the server's answer broke off")?;
            let files = tandem_compliance::export::verify(&bytes)
                .map_err(|e| anyhow::anyhow!("the bundle does not verify: {e}"))?;
            std::fs::write(&out, &bytes)
                .with_context(|| format!("cannot write {}", out.display()))?;
            say!(
                "{}: {files} files, every one matching manifest.sha256",
                out.display()
            );
            Ok(())
        }
        ComplianceAction::Verify { bundle } => {
            let bytes = std::fs::read(&bundle)
                .with_context(|| format!("cannot read {}", bundle.display()))?;
            match tandem_compliance::export::verify(&bytes) {
                Ok(files) => {
                    say!("{}: {files} files match manifest.sha256", bundle.display());
                    Ok(())
                }
                Err(e) => anyhow::bail!("{}: {e}", bundle.display()),
            }
        }
    }
}
