//! The `tandem` command: runs the server and talks to it.
//!
//! This crate only wires the library crates together and gives them a command line; the
//! behaviour lives in `tandem-store`, `tandem-ingest`, `tandem-web` and `tandem-sim`.

#[macro_use]
mod terminal;

mod actions;
mod alarms;
mod alerting;
mod alerts_cli;
mod audit_cli;
mod audit_seal;
mod bench;
mod client;
mod compliance;
mod config;
mod demo;
mod detection;
mod directory_cli;
mod directory_feed;
mod http;
mod incidents;
mod kpis_cli;
mod mailbox;
mod memory;
mod notify;
mod playbooks_cli;
mod report_cli;
mod rule_admin;
mod rules_cli;
mod server;
mod snapshots;
mod sources;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// mimalloc instead of the system allocator: ingest allocates and frees millions of small
/// strings per second across threads, and glibc's malloc spent a quarter of the decode
/// threads' time on it (measured with `perf` during `tandem bench`).
///
/// The `system-alloc` feature (off by default) leaves the system allocator in place, so heap
/// profilers that hook `malloc` (heaptrack) see every allocation; see README "Memory over time".
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (the Rust bindings do not name it;
/// a test below checks the number against the option's documented default).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory stays with the process before it is returned to the system, in ms.
/// mimalloc's default (1 s) held the server's peak RSS about 40 MiB higher over a 10 M-event
/// `tandem bench`; returning it at once cost a tenth to a fifth of the ingest rate in page
/// faults. A quarter second keeps the rate and most of the memory.
const PURGE_DELAY_MS: std::ffi::c_long = 250;

#[derive(Parser)]
#[command(
    name = "tandem",
    version,
    about = "IT and physical security from the same facts"
)]
struct Cli {
    /// Configuration file (TOML). Defaults to ./tandem.toml when present.
    #[arg(long, short, global = true, env = "TANDEM_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server: HTTP API and console, syslog listeners, the embedded store.
    Serve,
    /// Runs a server with a fresh store and a simulated organisation sending events to it.
    Demo(demo::DemoArgs),
    /// Sends an NDJSON or CSV file to a running server through the ingest API.
    Ingest(client::IngestArgs),
    /// Searches the event store of a running server.
    Search(client::SearchArgs),
    /// Lists sources with their health, or registers one.
    Sources(client::SourcesArgs),
    /// Lists people, or shows one with accounts, badges, devices and a merged timeline.
    People(directory_cli::PeopleArgs),
    /// Lists places, or shows one with what it contains and its recent events.
    Places(directory_cli::PlacesArgs),
    /// Imports HR exports and places/devices files into the identity directory.
    Directory(directory_cli::DirectoryArgs),
    /// Checks, tests, lists and switches detection rules.
    Rules(rules_cli::RulesArgs),
    /// Checks playbook files offline; lists or reloads a server's playbooks.
    Playbooks(playbooks_cli::PlaybooksArgs),
    /// Lists detection findings, newest first.
    Findings(directory_cli::FindingsArgs),
    /// The alert queue (`--status new`, `--json`); `alerts ack ID`, `alerts close ID`.
    Alerts(alerts_cli::AlertsArgs),
    /// Lists incidents, or shows one with its tasks and timeline.
    Incidents(incidents::IncidentsArgs),
    /// Shared KPIs of a period: MTTD/MTTA/MTTC/MTTR, the weighted index, SLA compliance
    /// (`--json`, `--csv TABLE`).
    Kpis(kpis_cli::KpisArgs),
    /// Reports from a running server: `report briefing --from … --to … --out pack.pdf`, the
    /// security committee's briefing pack.
    Report(report_cli::ReportArgs),
    /// The auditor's export of a framework's Statement of Applicability and evidence
    /// (`compliance export --framework iso27001-2022 --out bundle.zip`), or checks one.
    Compliance(compliance::ComplianceArgs),
    /// Lists input that could not be decoded, with the reason.
    DeadLetters(client::DeadLetterArgs),
    /// Lists the audit log, or verifies its hash chain (`tandem audit verify`).
    Audit(audit_cli::AuditArgs),
    /// Checks the configuration (file plus environment overrides) as `serve` would, sources
    /// and subscriptions included, and prints it with every default, secrets redacted.
    Config,
    /// Prints the SHA-256 of an API key, for `api_key_sha256` in the configuration.
    HashKey { key: String },
    /// Measures ingest and search speed on this machine.
    Bench(bench::BenchArgs),
}

fn main() -> anyhow::Result<()> {
    tune_allocators();
    let cli = Cli::parse();
    let config = config::Config::load(cli.config.as_deref())?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("TANDEM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve => runtime()?.block_on(serve(config)),
        Command::Demo(args) => runtime()?.block_on(demo::run(config, args)),
        Command::Ingest(args) => client::ingest(args),
        Command::Search(args) => client::search(args),
        Command::Sources(args) => client::sources(args),
        Command::DeadLetters(args) => client::dead_letters(args),
        Command::People(args) => directory_cli::people(args),
        Command::Findings(args) => directory_cli::findings(args),
        Command::Alerts(args) => alerts_cli::alerts(args),
        Command::Incidents(args) => incidents::incidents(args),
        Command::Kpis(args) => kpis_cli::kpis(args),
        Command::Report(args) => report_cli::report(args),
        Command::Compliance(args) => compliance::compliance(args),
        Command::Audit(args) => audit_cli::audit(args),
        Command::Rules(args) => rules_cli::rules(args),
        Command::Playbooks(args) => playbooks_cli::playbooks(args),
        Command::Places(args) => directory_cli::places(args),
        Command::Directory(args) => directory_cli::directory(args),
        Command::Config => {
            sources::check(&config)?;
            print!("{}", config.to_toml());
            Ok(())
        }
        Command::HashKey { key } => {
            println!("{}", tandem_store::hash_key(&key));
            Ok(())
        }
        Command::Bench(args) => bench::run(config, args),
    }
}

/// Rust code allocates through mimalloc, whose purge delay is set here. SQLite allocates
/// through glibc, which gives every thread that allocates its own arena and keeps what each
/// one freed, so a server whose request threads come and go holds far more memory than it
/// uses; two arenas are plenty for SQLite's share.
fn tune_allocators() {
    // mimalloc's own variable, when an operator sets it, wins.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of mimalloc's process-wide options, which it allows at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator tuning parameter; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")
}

async fn serve(config: config::Config) -> anyhow::Result<()> {
    let server = server::Server::start(&config).await?;
    print_welcome(&server, &config);
    server::termination().await;
    tracing::info!("shutting down: flushing queued events");
    server.shutdown().await?;
    tracing::info!("stopped");
    Ok(())
}

fn print_welcome(server: &server::Server, config: &config::Config) {
    println!("Tandem is running.");
    println!("  console:     http://{}/", server.http);
    println!("  data:        {}", config.data_dir.display());
    println!(
        "  audit key:   {} (signs the audit checkpoints)",
        server.audit_public_key
    );
    if let Some(a) = server.syslog_udp {
        println!("  syslog udp:  {a}");
    }
    if let Some(a) = server.syslog_tcp {
        println!("  syslog tcp:  {a}");
    }
    if let Some(admin) = &server.first_admin {
        println!();
        println!("First start: an administrator was created. This is shown only once.");
        println!("  user:        {}", admin.user);
        println!("  password:    {}", admin.password);
        println!("  API token:   export TANDEM_TOKEN={}", admin.api_token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_named() {
        // mimalloc 3 documents a default purge delay of 1000 ms; no neighbouring option has it.
        // SAFETY: reads an allocator option.
        let default = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(default, 1000);
    }
}
