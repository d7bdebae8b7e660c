//! `tandem audit`: read the audit log of a running server, and verify its hash chain here,
//! on the caller's machine, so an auditor need not trust the server's own answer.

use crate::client::{Server, get};
use anyhow::Context;
use clap::{Args, Subcommand};
use tandem_store::{AuditCheckpoint, AuditRecord, verify_audit_chain, verify_checkpoints};

#[derive(Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Prints the newest entries.
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        server: Server,
    },
    /// Fetches every entry and recomputes the hash chain here; asks the server whether every
    /// entry's MAC matches its key; and, with `--checkpoints`, holds the log against signed
    /// checkpoints exported earlier, which catches entries deleted from the end and a log
    /// rewritten by someone holding the database but not the keys. Exits with an error at
    /// the first entry that fails.
    Verify {
        /// A checkpoint file (one JSON checkpoint per line), as the server exports it to
        /// `audit.checkpoint_file`, syslog or a webhook.
        #[arg(long)]
        checkpoints: Option<std::path::PathBuf>,
        /// The public key checkpoints must be signed with (hex, printed at server start).
        /// Without it, the key the log itself names is used.
        #[arg(long)]
        public_key: Option<String>,
        #[command(flatten)]
        server: Server,
    },
}

/// Entries per request (the API's most).
const PAGE: usize = 10_000;

/// Every entry, oldest first, paging through the API.
fn fetch_all(server: &Server) -> anyhow::Result<Vec<AuditRecord>> {
    let mut all: Vec<AuditRecord> = Vec::new();
    loop {
        let after = all.last().map_or(0, |r| r.seq);
        let page = get(
            server,
            "/api/v1/audit",
            &[("after", after.to_string()), ("limit", PAGE.to_string())],
        )?;
        let entries: Vec<AuditRecord> = serde_json::from_value(page["entries"].clone())
            .context("the server's audit entries are not in the expected shape")?;
        let last_page = entries.len() < PAGE;
        all.extend(entries);
        if last_page {
            return Ok(all);
        }
    }
}

pub fn audit(args: AuditArgs) -> anyhow::Result<()> {
    match args.command {
        AuditCommand::List { limit, server } => {
            let all = fetch_all(&server)?;
            say!(
                "{:>6} {:<20} {:<16} {:<22} TARGET",
                "SEQ",
                "TIME",
                "WHO",
                "ACTION"
            );
            for r in all.iter().rev().take(limit) {
                say!(
                    "{:>6} {:<20} {:<16} {:<22} {}",
                    r.seq,
                    r.time.format("%Y-%m-%d %H:%M:%S"),
                    r.entry.actor,
                    r.entry.action,
                    r.entry.target
                );
            }
            Ok(())
        }
        AuditCommand::Verify {
            checkpoints,
            public_key,
            server,
        } => {
            let all = fetch_all(&server)?;
            let n = verify_audit_chain(&all).map_err(|b| {
                anyhow::anyhow!(
                    "audit log broken at entry {}: {} ({} entries fetched)",
                    b.seq,
                    b.reason,
                    all.len()
                )
            })?;
            let last = all.last().map_or("-", |r| r.hash.as_str());
            say!("audit log intact: {n} entries, last hash {last}");

            let check = get(&server, "/api/v1/audit/verify", &[])?;
            if check["intact"] == false {
                anyhow::bail!(
                    "the server finds the audit log broken at entry {}: {}",
                    check["broken_at"],
                    check["reason"].as_str().unwrap_or("")
                );
            }
            if check["keyed"] == true {
                say!("MACs: every keyed entry matches the server's audit key");
            }

            if let Some(path) = checkpoints {
                let cps = read_checkpoints(&path)?;
                let report =
                    verify_checkpoints(&all, &cps, public_key.as_deref()).map_err(|b| {
                        anyhow::anyhow!("checkpoint check failed at entry {}: {}", b.seq, b.reason)
                    })?;
                say!(
                    "checkpoints: {} verified from {}; the newest{} covers entries 1 to {}; {} entries after it rest on the chain and MACs alone",
                    report.checkpoints,
                    path.display(),
                    report
                        .newest
                        .map(|t| format!(" ({})", t.format("%Y-%m-%d %H:%M:%S UTC")))
                        .unwrap_or_default(),
                    report.covered_to,
                    n.saturating_sub(report.covered_to)
                );
            }
            Ok(())
        }
    }
}

/// Every checkpoint in a file, one JSON object per line (blank lines skipped). A line that is
/// not a checkpoint is an error: a verification that skips what it cannot read proves nothing.
fn read_checkpoints(path: &std::path::Path) -> anyhow::Result<Vec<AuditCheckpoint>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| {
                format!("{} line {}: not an audit checkpoint", path.display(), i + 1)
            })
        })
        .collect()
}
