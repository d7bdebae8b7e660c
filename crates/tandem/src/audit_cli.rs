//! `tandem audit`: read the audit log of a running server, and verify its hash chain here,
//! on the caller's machine, so an auditor need not trust the server's own answer.

use crate::client::{Server, get};
use anyhow::Context;
use clap::{Args, Subcommand};
use tandem_store::{AuditRecord, verify_audit_chain};

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
    /// Fetches every entry and recomputes the hash chain; exits with an error at the first
    /// entry that was changed, removed or reordered.
    Verify {
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
            println!(
                "{:>6} {:<20} {:<16} {:<22} TARGET",
                "SEQ", "TIME", "WHO", "ACTION"
            );
            for r in all.iter().rev().take(limit) {
                println!(
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
        AuditCommand::Verify { server } => {
            let all = fetch_all(&server)?;
            match verify_audit_chain(&all) {
                Ok(n) => {
                    let last = all.last().map_or("-", |r| r.hash.as_str());
                    println!("audit log intact: {n} entries, last hash {last}");
                    Ok(())
                }
                Err(b) => anyhow::bail!(
                    "audit log broken at entry {}: {} ({} entries fetched)",
                    b.seq,
                    b.reason,
                    all.len()
                ),
            }
        }
    }
}
