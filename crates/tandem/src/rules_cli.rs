//! `tandem rules`: check and test Sigma rules offline, list and switch them on a server.

use crate::client::{Server, agent, get, json_response};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::collections::HashSet;
use std::path::PathBuf;
use tandem_detect::sigma::SigmaRules;
use tandem_ingest::decode::{DecodeContext, Format, MessageDecoder};

#[derive(Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub action: RulesAction,
}

#[derive(Subcommand)]
pub enum RulesAction {
    /// Loads rule directories or files and lists every rule that cannot be used, with why
    /// (no server needed).
    Check {
        /// Rule directories or files; Tandem's shipped rules are always included.
        paths: Vec<PathBuf>,
    },
    /// Runs rules against an events file and shows the hits (no server needed).
    Test {
        /// A rule file or directory.
        rules: PathBuf,
        /// Events in a source format (one per line, or one JSON document).
        events: PathBuf,
        /// The events' format (`windows`, `okta`, `syslog`, `tandem`, …).
        #[arg(long, default_value = "tandem")]
        format: String,
    },
    /// Lists the server's rules with their ATT&CK tags, state and hits.
    List {
        #[command(flatten)]
        server: Server,
    },
    /// Switches a Sigma rule on.
    Enable {
        id: String,
        #[command(flatten)]
        server: Server,
    },
    /// Switches a Sigma rule off (remembered across restarts; correlation state is kept).
    Disable {
        id: String,
        #[command(flatten)]
        server: Server,
    },
    /// Makes the server read its rule directories again.
    Reload {
        #[command(flatten)]
        server: Server,
    },
}

fn shipped_dir() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    tandem_detect::shipped::install(dir.path())?;
    Ok(dir)
}

fn post(server: &Server, path: &str) -> anyhow::Result<serde_json::Value> {
    let mut request = agent().post(format!("{}{path}", server.url.trim_end_matches('/')));
    if let Some(t) = &server.token {
        request = request.header("Authorization", format!("Bearer {t}"));
    }
    json_response(
        request
            .send_empty()
            .with_context(|| format!("cannot reach {}", server.url))?,
    )
}

pub fn rules(args: RulesArgs) -> anyhow::Result<()> {
    match args.action {
        RulesAction::Check { paths } => {
            let shipped = shipped_dir()?;
            let mut dirs = vec![shipped.path().to_owned()];
            dirs.extend(paths);
            let (_rules, report) = SigmaRules::load(&dirs, &HashSet::new());
            say!(
                "{} files: {} detection rules and {} correlation rules loaded, {} filters; {} could not be used",
                report.files,
                report.detection_rules,
                report.correlation_rules,
                report.filters,
                report.issues.len()
            );
            for issue in &report.issues {
                say!(
                    "  {}{}: {}",
                    issue.path.display(),
                    issue
                        .rule
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default(),
                    issue.reason
                );
            }
            if !report.issues.is_empty() {
                std::process::exit(1);
            }
        }
        RulesAction::Test {
            rules,
            events,
            format,
        } => {
            let format: Format = format.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            let (set, report) = SigmaRules::load(std::slice::from_ref(&rules), &HashSet::new());
            for issue in &report.issues {
                say!(
                    "rule not loaded: {}: {}",
                    issue.path.display(),
                    issue.reason
                );
            }
            let text = std::fs::read(&events)
                .with_context(|| format!("cannot read {}", events.display()))?;
            let ctx = DecodeContext::new("rules-test", chrono::Utc::now());
            let mut decoder = MessageDecoder::new(format, None);
            let whole = format.takes_whole_documents()
                && serde_json::from_slice::<serde::de::IgnoredAny>(&text).is_ok();
            let messages: Vec<&[u8]> = if whole {
                vec![&text[..]]
            } else {
                text.split(|b| *b == b'\n').collect()
            };
            let (mut seen, mut hits) = (0usize, 0usize);
            for (i, m) in messages.iter().enumerate() {
                match decoder.decode(m, &ctx) {
                    Ok(decoded) => {
                        for e in decoded {
                            seen += 1;
                            for f in set.evaluate(&e) {
                                hits += 1;
                                say!(
                                    "line {}: {} [{}] {}",
                                    i + 1,
                                    f.rule_title,
                                    f.severity,
                                    f.summary
                                );
                            }
                        }
                    }
                    Err(tandem_ingest::decode::DecodeError::Empty) => {}
                    Err(e) => say!("line {}: not decoded: {e}", i + 1),
                }
            }
            say!(
                "{hits} hits in {seen} events ({} rules)",
                set.detection_rule_count()
            );
        }
        RulesAction::List { server } => {
            let v = get(&server, "/api/v1/rules", &[])?;
            say!(
                "{:<38} {:<8} {:<8} {:>6}  TITLE / TAGS",
                "ID",
                "ENGINE",
                "ENABLED",
                "HITS"
            );
            for r in v["rules"].as_array().cloned().unwrap_or_default() {
                let tags: Vec<&str> = r["tags"]
                    .as_array()
                    .map(|t| t.iter().filter_map(|x| x.as_str()).collect())
                    .unwrap_or_default();
                say!(
                    "{:<38} {:<8} {:<8} {:>6}  {} {}",
                    r["id"].as_str().unwrap_or(""),
                    r["engine"].as_str().unwrap_or(""),
                    r["enabled"].as_bool().unwrap_or(true),
                    r["hits"].as_u64().unwrap_or(0),
                    r["title"].as_str().unwrap_or(""),
                    tags.join(" ")
                );
            }
        }
        RulesAction::Enable { id, server } => {
            post(&server, &format!("/api/v1/rules/{id}/enable"))?;
            say!("rule {id} enabled");
        }
        RulesAction::Disable { id, server } => {
            post(&server, &format!("/api/v1/rules/{id}/disable"))?;
            say!("rule {id} disabled");
        }
        RulesAction::Reload { server } => {
            let v = post(&server, "/api/v1/rules/reload")?;
            say!(
                "{} detection and {} correlation rules loaded, {} could not be used",
                v["detection_rules"],
                v["correlation_rules"],
                v["issues"].as_array().map_or(0, Vec::len)
            );
        }
    }
    Ok(())
}
