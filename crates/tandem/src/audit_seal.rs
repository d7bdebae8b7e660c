//! Sealing the audit log at start and exporting signed checkpoints of its head.
//!
//! The store MACs every entry once it has the keys ([`SqliteStore::seal_audit`]); this module
//! finds the keys (the environment, or a 0600 key file it makes at first start) and, every
//! `audit.checkpoint_minutes`, signs the log's head and sends the checkpoint where someone
//! who can write the database cannot reach: a file (ideally on another disk), the server's
//! own log, and optionally a syslog receiver and a webhook. `tandem audit verify
//! --checkpoints FILE` holds the log against them.

use crate::config::AuditConfig;
use anyhow::Context;
use chrono::Utc;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tandem_store::{AuditCheckpoint, AuditKeys, AuditSealed, AuditStore, SqliteStore};
use tokio::sync::watch;

/// Gives the store its audit keys. Returns the public key checkpoints are signed with.
pub fn seal(config: &AuditConfig, data_dir: &Path, store: &SqliteStore) -> anyhow::Result<String> {
    let (keys, fresh) = if !config.mac_key.is_empty() || !config.signing_key.is_empty() {
        let keys = AuditKeys::from_hex(&config.mac_key, &config.signing_key)
            .context("audit.mac_key and audit.signing_key")?;
        let empty = store.audit_log(0, 1)?.is_empty();
        (keys, empty)
    } else {
        AuditKeys::load_or_create(&under(data_dir, &config.key_file))?
    };
    let public_key = keys.public_key();
    match store.seal_audit(keys, fresh)? {
        AuditSealed::Keyed(seq) => {
            tracing::info!(
                seq,
                public_key,
                "audit log keyed: entries from here on are MACed"
            )
        }
        AuditSealed::Already => {}
    }
    let check = store.verify_audit()?;
    if !check.intact {
        tracing::error!(
            broken_at = check.broken_at,
            reason = check.reason.as_deref().unwrap_or(""),
            "the audit log does not verify: it was changed outside Tandem"
        );
    }
    Ok(public_key)
}

/// Signs and exports a checkpoint whenever the log's head moved, every
/// `checkpoint_minutes`, once at start and once at shutdown.
pub async fn run_checkpoints(
    store: Arc<SqliteStore>,
    config: AuditConfig,
    data_dir: PathBuf,
    mut stop: watch::Receiver<bool>,
) {
    let every = std::time::Duration::from_secs(config.checkpoint_minutes.max(1) * 60);
    let config = Arc::new(config);
    let mut last: Option<u64> = None;
    loop {
        let (store2, config2, dir) = (store.clone(), config.clone(), data_dir.clone());
        let done = tokio::task::spawn_blocking(move || checkpoint(&store2, &config2, &dir, last));
        match done.await {
            Ok(Ok(seq)) => last = seq.or(last),
            Ok(Err(e)) => tracing::error!(error = format!("{e:#}"), "audit checkpoint failed"),
            Err(e) => tracing::error!(error = %e, "audit checkpoint failed"),
        }
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            // One more pass after the stop signal: the entries of the last minutes.
            _ = stop.wait_for(|s| *s) => {}
        }
    }
}

/// Signs the head when it is not `last` and the log verifies; returns the head signed.
fn checkpoint(
    store: &SqliteStore,
    config: &AuditConfig,
    data_dir: &Path,
    last: Option<u64>,
) -> anyhow::Result<Option<u64>> {
    let Some(keys) = store.audit_keys() else {
        return Ok(None);
    };
    let head = store.recent_audit(1)?.pop();
    let seq = head.as_ref().map_or(0, |r| r.seq);
    if last == Some(seq) {
        return Ok(None);
    }
    // A log changed outside Tandem is not vouched for; the checkpoints before the change
    // stay the evidence.
    let check = store.verify_audit()?;
    if !check.intact {
        anyhow::bail!(
            "not signing a checkpoint: the audit log breaks at entry {}: {}",
            check.broken_at.unwrap_or(0),
            check.reason.unwrap_or_default()
        );
    }
    let cp = keys.checkpoint(head.as_ref(), Utc::now());
    export(&cp, config, data_dir)?;
    Ok(Some(seq))
}

fn export(cp: &AuditCheckpoint, config: &AuditConfig, data_dir: &Path) -> anyhow::Result<()> {
    let line = serde_json::to_string(cp)?;
    tracing::info!(target: "tandem::audit", checkpoint = %line, "audit checkpoint");
    let path = under(data_dir, &config.checkpoint_file);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.write_all(format!("{line}\n").as_bytes())?;
    file.sync_data()?;
    // The outside sinks are best effort: the file and the log above already hold it.
    if !config.checkpoint_syslog.is_empty() {
        let message = format!(
            "<110>1 {} {} tandem - audit-checkpoint - {line}",
            cp.time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            hostname()
        );
        let sent = send_udp(&config.checkpoint_syslog, message.as_bytes());
        if let Err(e) = sent {
            tracing::warn!(error = %e, to = config.checkpoint_syslog, "audit checkpoint not sent to syslog");
        }
    }
    if !config.checkpoint_webhook.is_empty() {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(10)))
            .build()
            .into();
        if let Err(e) = agent
            .post(&config.checkpoint_webhook)
            .header("Content-Type", "application/json")
            .send(line.as_bytes())
        {
            tracing::warn!(error = %e, "audit checkpoint not posted to the webhook");
        }
    }
    Ok(())
}

fn send_udp(to: &str, message: &[u8]) -> std::io::Result<usize> {
    use std::net::{ToSocketAddrs, UdpSocket};
    let addr = to
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let local = if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    UdpSocket::bind(local)?.send_to(message, addr)
}

fn under(data_dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        data_dir.join(path)
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "-".into())
}
